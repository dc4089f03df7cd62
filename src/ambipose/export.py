"""Deployable forms of a trained model: BatchNorm folded into the Linear layers, ONNX, TorchScript.

Every exported model maps *normalised* root-centred 2D poses (B, 17, 2) to root-centred 3D poses
(B, 17, 3) in model units (camera frame, X right, Y down, Z forward), exactly as
`PoseModel.forward` does in eval mode. Normalising pixels and converting units to millimetres stay
outside the graph; the constants they need (normalisation mode and constant, depth D,
`mm_per_unit`) travel with the file: ONNX `metadata_props`, or `ambipose.json` inside the
TorchScript archive:

    x = (u - u_root) / constant          # pixels (B, 17, 2) -> normalised (universal mode)
    pose_mm = model(x) * mm_per_unit     # (B, 17, 3) millimetres, global scale protocol
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .data.skeleton import root_centre
from .errors import AmbiposeError, InputError
from .inference import PoseLifter
from .io import atomic_path
from .models.checkpoint import load_checkpoint
from .models.fuse import fuse_for_inference  # noqa: F401 - public here too (docs/performance.md)
from .models.networks import lift_to_3d
from .models.pose_model import PoseModel

FORMATS = ("onnx", "torchscript")
ONNX_OPSET = 17
INPUT_NAME, OUTPUT_NAME = "poses_2d", "poses_3d"


# ---- the graph that gets exported ------------------------------------------------------------
class ExportablePoseModel(nn.Module):
    """`PoseModel.forward` for export: one input, and no Python that depends on the batch size
    (PoseModel uses `len(x)` when the scale module is off, which tracing would freeze), so the
    traced graph is valid for any batch.

    forward: normalised 2D (B, 17, 2) -> root-centred 3D (B, 17, 3) in model units.
    """

    def __init__(self, model: PoseModel):
        super().__init__()
        if model.scale_mode == "reference":
            raise InputError("scale mode 'reference' needs the ground-truth scale of every frame; "
                             "such a model cannot be exported (it is an evaluation ceiling, not a predictor)")
        self.lifter, self.scale = model.lifter, model.scale
        self.depth, self.scale_mode = float(model.depth), model.scale_mode

    def forward(self, poses_2d: torch.Tensor) -> torch.Tensor:
        x = poses_2d
        s = self.scale(x) if self.scale is not None else None
        if s is not None and self.scale_mode == "2d":
            x = x * s[:, None, None]
        pose = lift_to_3d(x, self.lifter(x), self.depth)
        pose = root_centre(pose)
        if s is not None and self.scale_mode == "3d":
            pose = pose * s[:, None, None]
        return pose


def export_metadata(state: dict) -> dict[str, str]:
    """String metadata stored with an exported model: how to normalise its input and scale its
    output to millimetres, and the full training config (JSON)."""
    norm = dict(state["normalisation"])
    return {
        "ambipose.version": __version__,
        "ambipose.input": f"{INPUT_NAME}: float32 (B, 17, 2) normalised root-centred 2D, Human3.6M joint order",
        "ambipose.output": f"{OUTPUT_NAME}: float32 (B, 17, 3) root-centred 3D, model units, camera frame; "
                           "multiply by mm_per_unit for millimetres",
        "ambipose.normalisation": json.dumps(norm),
        "ambipose.normalisation_mode": str(norm.get("mode")),
        "ambipose.normalisation_constant": "" if norm.get("constant") is None else repr(float(norm["constant"])),
        "ambipose.depth": repr(float(norm.get("depth", state["config"]["model"]["depth"]))),
        "ambipose.mm_per_unit": repr(float(state.get("mm_per_unit") or 1.0)),
        "ambipose.epoch": str(state.get("epoch", "")),
        "ambipose.step": str(state.get("step", "")),
        "ambipose.config": json.dumps(state["config"]),
    }


def model_from_state(state: dict, source: str = "<memory>") -> PoseModel:
    """The PoseModel of a checkpoint dict (eval mode, CPU). Raises InputError if weights and
    config do not match."""
    return PoseLifter(state, "cpu", source).model.eval()


# ---- writers ---------------------------------------------------------------------------------
def export_model(state: dict, fmt: str, out: str | Path, fuse: bool = True, opset: int = ONNX_OPSET,
                 source: str = "<memory>") -> Path:
    """Write the checkpoint dict `state` (the layout of `model.pt`) as `fmt` ("onnx" or
    "torchscript") to `out`, atomically, with `export_metadata(state)`. Returns `out`."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    if state.get("adapter_2d") is not None:
        raise InputError(f"{source}: this model moves its input through a 2D keypoint adapter (data.adapt_2d) that "
                         f"an exported graph would leave out; export supports models without one")
    return write_export(model_from_state(state, source), fmt, out, export_metadata(state), fuse, opset)


def write_export(model: PoseModel, fmt: str, out: str | Path, meta: dict[str, str] | None = None,
                 fuse: bool = True, opset: int = ONNX_OPSET) -> Path:
    """Write a PoseModel (its eval-mode forward) as `fmt` to `out`, atomically. Returns `out`."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    net = ExportablePoseModel(fuse_for_inference(model) if fuse else copy.deepcopy(model).eval()).eval()
    example = torch.zeros(2, 17, 2)  # the traced graph holds no batch-size constants: any B works
    out = Path(out)
    if fmt == "onnx":
        _write_onnx(net, example, meta or {}, out, opset)
    else:
        _write_torchscript(net, example, meta or {}, out)
    return out


def export_checkpoint(checkpoint: str | Path, fmt: str, out: str | Path, fuse: bool = True,
                      opset: int = ONNX_OPSET) -> Path:
    """`export_model` for a checkpoint file (model.pt or last.pt)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    return export_model(load_checkpoint(checkpoint), fmt, out, fuse, opset, source=str(checkpoint))


def _write_onnx(net: nn.Module, example: torch.Tensor, meta: dict[str, str], out: Path, opset: int) -> None:
    try:
        import onnx
    except ImportError:
        raise AmbiposeError("ONNX export needs the 'onnx' package: pip install 'ambipose[export]'") from None
    with atomic_path(out) as tmp, warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript (not a dependency); for this static MLP both give the same graph.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, (example,), str(tmp), dynamo=False, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], opset_version=opset, do_constant_folding=True,
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
        proto = onnx.load(str(tmp))
        onnx.helper.set_model_props(proto, meta)
        proto.doc_string = f"ambipose PoseModel: {INPUT_NAME} (B, 17, 2) -> {OUTPUT_NAME} (B, 17, 3)"
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))


def _write_torchscript(net: nn.Module, example: torch.Tensor, meta: dict[str, str], out: Path) -> None:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still works
        traced = torch.jit.trace(net, (example,))
        with atomic_path(out) as tmp:
            torch.jit.save(traced, str(tmp), _extra_files={"ambipose.json": json.dumps(meta)})


# ---- readers (checks and tests) --------------------------------------------------------------
def run_exported(path: str | Path, poses_2d: Any, fmt: str | None = None) -> Any:
    """Run an exported file on normalised 2D poses (numpy (B, 17, 2) float32) -> (B, 17, 3) numpy.
    `fmt` defaults to the file's suffix (.onnx or anything else = TorchScript); ONNX needs
    onnxruntime."""
    import numpy as np

    path = Path(path)
    x = np.ascontiguousarray(poses_2d, dtype=np.float32)
    if (fmt or ("onnx" if path.suffix.lower() == ".onnx" else "torchscript")) == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu")(torch.from_numpy(x)).numpy()


def read_metadata(path: str | Path, fmt: str | None = None) -> dict[str, str]:
    """The `export_metadata` dict stored in an exported ONNX or TorchScript file."""
    path = Path(path)
    if (fmt or ("onnx" if path.suffix.lower() == ".onnx" else "torchscript")) == "onnx":
        import onnx

        return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    files = {"ambipose.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    return json.loads(files["ambipose.json"])
