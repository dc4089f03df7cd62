"""Export: BatchNorm folding, ONNX and TorchScript files that reproduce PyTorch to 1e-5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ambipose.bench import random_poses
from ambipose.cli import main
from ambipose.config import config_from_dict
from ambipose.errors import InputError
from ambipose.export import export_checkpoint, fuse_for_inference, read_metadata, run_exported
from ambipose.inference import PoseLifter
from ambipose.models.pose_model import PoseModel
from ambipose.models.checkpoint import save_checkpoint

TOL = 1e-5  # model units; outputs are O(1), so this is ~10 float32 ulps of accumulated rounding
NORMALISATION = {"mode": "universal", "constant": 1234.5, "depth": 10.0}
MM_PER_UNIT = 646.25


def tiny_model(scale: str = "2d", seed: int = 0, correct_2d: bool = False) -> tuple[PoseModel, dict]:
    """A width-64, 1-block PoseModel with non-trivial BatchNorm statistics, scale head and (with
    `correct_2d`) 2D-correction head (a fresh one has mean 0 / var 1 statistics and zero heads,
    which would hide mistakes)."""
    raw = {"name": "tiny", "model": {"width": 64, "blocks": 1, "scale": scale, "correct_2d": correct_2d}}
    if correct_2d:
        raw["self_training"] = {"steps": 10, "lateral_weight": 0.03}
    cfg = config_from_dict(raw)
    torch.manual_seed(seed)
    model = PoseModel(cfg.model, cfg.loss.prior_mean)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 0.25)
                m.weight.copy_(1 + 0.2 * torch.randn(m.num_features, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=g))
        if model.scale is not None:
            model.scale.mlp.head.weight.copy_(0.05 * torch.randn(model.scale.mlp.head.weight.shape, generator=g))
        if model.lifter.xy is not None:
            model.lifter.xy.weight.copy_(0.01 * torch.randn(model.lifter.xy.weight.shape, generator=g))
    return model.eval(), cfg.to_dict()


def write_tiny_checkpoint(path: Path, scale: str = "2d", correct_2d: bool = False) -> PoseModel:
    """model.pt in the layout training/run.py writes."""
    model, cfg = tiny_model(scale, correct_2d=correct_2d)
    save_checkpoint(path, {"config": cfg, "normalisation": NORMALISATION, "mm_per_unit": MM_PER_UNIT,
                           "model": model.state_dict(), "epoch": 3, "step": 300, "seconds": 12.5})
    return model


def reference(model: PoseModel, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.eval()(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("scale", ["2d", "3d", "off"])
def test_fuse_for_inference_is_equivalent(scale: str) -> None:
    model, _ = tiny_model(scale)
    fused = fuse_for_inference(model)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Dropout)) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules()), "the input model must stay as it was"
    assert not any(p.requires_grad for p in fused.parameters())
    x = random_poses(257, seed=3)
    with torch.inference_mode():
        np.testing.assert_allclose(fused(x).numpy(), model(x).numpy(), atol=TOL, rtol=0)


@pytest.mark.parametrize("fmt, scale", [("onnx", "2d"), ("onnx", "3d"), ("onnx", "off"), ("torchscript", "2d"), ("torchscript", "off")])
def test_export_matches_pytorch(tmp_path: Path, fmt: str, scale: str) -> None:
    model = write_tiny_checkpoint(tmp_path / "model.pt", scale)
    out = export_checkpoint(tmp_path / "model.pt", fmt, tmp_path / f"model.{fmt}")
    for batch in (1, 7, 300):  # dynamic batch axis: any B, not only the traced one
        x = random_poses(batch, seed=batch).numpy()
        got = run_exported(out, x, fmt)
        assert got.shape == (batch, 17, 3)
        np.testing.assert_allclose(got, reference(model, x), atol=TOL, rtol=0)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_model_with_the_2d_correction_exports_and_fuses(tmp_path: Path, fmt: str) -> None:
    model = write_tiny_checkpoint(tmp_path / "model.pt", "3d", correct_2d=True)
    x = random_poses(40, seed=4).numpy()
    ref = reference(model, x)
    with torch.inference_mode():
        _, dxy = model.lifter(torch.from_numpy(x))
    assert dxy.abs().max() > 1e-3  # the head is live: joints leave their input rays
    np.testing.assert_allclose(run_exported(export_checkpoint(tmp_path / "model.pt", fmt, tmp_path / "m.bin"), x, fmt),
                               ref, atol=TOL, rtol=0)
    np.testing.assert_allclose(PoseLifter.from_checkpoint(tmp_path / "model.pt").lift_normalised(x).poses_3d_units,
                               ref, atol=TOL, rtol=0)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_metadata_travels_with_the_file(tmp_path: Path, fmt: str) -> None:
    write_tiny_checkpoint(tmp_path / "model.pt")
    meta = read_metadata(export_checkpoint(tmp_path / "model.pt", fmt, tmp_path / "m.bin"), fmt)
    assert float(meta["ambipose.mm_per_unit"]) == MM_PER_UNIT
    assert float(meta["ambipose.normalisation_constant"]) == NORMALISATION["constant"]
    assert float(meta["ambipose.depth"]) == NORMALISATION["depth"]
    assert json.loads(meta["ambipose.normalisation"]) == NORMALISATION
    assert json.loads(meta["ambipose.config"])["model"]["width"] == 64


def test_onnx_metadata_props_and_dynamic_batch(tmp_path: Path) -> None:
    import onnx

    write_tiny_checkpoint(tmp_path / "model.pt")
    proto = onnx.load(str(export_checkpoint(tmp_path / "model.pt", "onnx", tmp_path / "model.onnx")))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["ambipose.mm_per_unit"] == repr(MM_PER_UNIT)
    assert props["ambipose.normalisation_mode"] == "universal"
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "poses_2d" and out.name == "poses_3d"
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim[1:]] == [17, 2]
    assert not any(n.op_type == "BatchNormalization" for n in proto.graph.node)


def test_unfused_export_also_matches(tmp_path: Path) -> None:
    model = write_tiny_checkpoint(tmp_path / "model.pt")
    out = export_checkpoint(tmp_path / "model.pt", "torchscript", tmp_path / "m.pt", fuse=False)
    x = random_poses(33, seed=5).numpy()
    np.testing.assert_allclose(run_exported(out, x), reference(model, x), atol=TOL, rtol=0)


def test_cli_export_checks_against_pytorch(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_tiny_checkpoint(tmp_path / "model.pt")
    out = tmp_path / "deploy" / "model.onnx"
    assert main(["export", "--checkpoint", str(tmp_path / "model.pt"), "--format", "onnx", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and "mm_per_unit 646.25" in text
    diff = float(text.split("max |exported - PyTorch| = ")[1].split()[0])
    assert diff < TOL
    # the exported model lifts what PoseLifter lifts, in model units
    x = random_poses(16, seed=8).numpy()
    lifter = PoseLifter.from_checkpoint(tmp_path / "model.pt")
    np.testing.assert_allclose(run_exported(out, x), lifter.lift_normalised(x).poses_3d_units, atol=TOL, rtol=0)


def test_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    write_tiny_checkpoint(tmp_path / "model.pt")
    with pytest.raises(InputError, match="unknown export format 'tflite'"):
        export_checkpoint(tmp_path / "model.pt", "tflite", tmp_path / "m.tflite")
    with pytest.raises(SystemExit) as e:  # argparse refuses it on the command line
        main(["export", "--checkpoint", str(tmp_path / "model.pt"), "--format", "tflite", "--out", "x"])
    assert e.value.code == 2


@pytest.mark.parametrize("content, match", [
    (None, "checkpoint not found"),
    (b"not a checkpoint", "model.pt: "),  # checkpoint.py's one-line reason (refused / not readable)
])
def test_bad_checkpoint_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                              content: bytes | None, match: str) -> None:
    ckpt = tmp_path / "model.pt"
    if content is not None:
        ckpt.write_bytes(content)
    out = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--format", "onnx", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_weights_that_do_not_fit_the_config(tmp_path: Path) -> None:
    model, cfg = tiny_model()
    cfg["model"]["width"] = 128
    save_checkpoint(tmp_path / "model.pt", {"config": cfg, "normalisation": NORMALISATION, "model": model.state_dict()})
    with pytest.raises(InputError, match="do not match its config"):
        export_checkpoint(tmp_path / "model.pt", "onnx", tmp_path / "m.onnx")


def test_reference_scale_model_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    write_tiny_checkpoint(tmp_path / "model.pt", scale="reference")
    with pytest.raises(InputError, match="reference"):
        export_checkpoint(tmp_path / "model.pt", "onnx", tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_help_renders(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main(["export", "--help"])
    assert e.value.code == 0 and "--format {onnx,torchscript}" in capsys.readouterr().out
