"""Inference: a trained checkpoint as a `PoseLifter` that maps pixel 2D keypoints to 3D.

Output frame: camera frame of the input view (X right, Y down, Z forward), root-centred
(hip at the origin), millimetres under the global scale protocol (`mm_per_unit`, fixed at
training time from the training subjects: no test ground truth involved).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from .progress import progress_bar

from .config import config_from_dict, migrate_stored_config
from .data.normalization import head_root_estimate, normalise, universal_constant
from .data.skeleton import HEAD
from .errors import InputError
from .models.checkpoint import load_checkpoint
from .models.fuse import fuse_for_inference
from .models.keypoint_adapter import KeypointAdapter, stored_adapter
from .models.pose_model import PoseModel, upgrade_state_dict

DEFAULT_CHECKPOINT = Path(__file__).parent / "assets" / "ambipose_h36m.pt"


@dataclass
class LiftResult:
    poses_3d_units: np.ndarray  # (T, 17, 3) float32, root-centred, camera frame, model units
    scales: np.ndarray  # (T,) per-frame scale s from Phi_S (1 where the module is off)
    mm_per_unit: float  # the global scale protocol's constant
    root_depth: np.ndarray | None = None  # (T,) the root's camera-frame depth, model units (skeleton_fit)

    @property
    def poses_3d_mm(self) -> np.ndarray:
        """(T, 17, 3) millimetres under the global scale protocol (computed on access)."""
        return self.poses_3d_units * np.float32(self.mm_per_unit)


class PoseLifter:
    """A trained model plus the normalisation it was trained with."""

    def __init__(self, state: dict, device: str | torch.device = "cpu", source: str = "<memory>"):
        try:
            self.cfg = config_from_dict(migrate_stored_config(state["config"]), f"{source} (stored config)", weights_given=True)
            self.model = PoseModel(self.cfg.model, self.cfg.loss.prior_mean)
            self.model.load_state_dict(upgrade_state_dict(state["model"], self.cfg.loss.prior_mean))
        except (RuntimeError, KeyError, TypeError) as e:
            raise InputError(f"{source}: checkpoint weights do not match its config ({str(e).splitlines()[0][:200]})") from None
        self.device = torch.device(device)
        # BatchNorm folded into the Linear layers: same outputs, fewer kernels (docs/performance.md).
        self.model = fuse_for_inference(self.model).to(self.device)
        self.normalisation = dict(state["normalisation"])
        # Trained on detections moved to Human3.6M's joints (data.adapt_2d): move every input alike.
        self.adapter: KeypointAdapter | None = None
        self.adapter_meta: dict = {}
        if state.get("adapter_2d") is not None:
            self._set_adapter(state["adapter_2d"], source)
        self.mm_per_unit = float(state.get("mm_per_unit") or 1.0)
        self.source = source

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, device: str | torch.device = "cpu") -> "PoseLifter":
        path = Path(path) if path else DEFAULT_CHECKPOINT
        if path == DEFAULT_CHECKPOINT and not path.exists():
            raise InputError(f"{path}: the shipped checkpoint is missing from this installation")
        return cls(load_checkpoint(path), device, str(path))

    def _set_adapter(self, entry: dict, source: str) -> None:
        self.adapter = KeypointAdapter.from_state(entry, source).to(torch.float32)
        self.adapter_meta = dict(entry.get("meta", {}))

    def use_keypoint_adapter(self, path: str | Path) -> None:
        """Move every input through the 2D keypoint adapter stored in another checkpoint (one trained
        with data.adapt_2d), e.g. to give a GT-trained model Stacked Hourglass detections moved to
        Human3.6M's joints. Replaces this model's own adapter, if any."""
        self._set_adapter(stored_adapter(path), str(path))
        self.adapter_meta["from"] = str(path)

    @property
    def adapter_detector(self) -> str | None:
        """The detector whose keypoints the model's 2D adapter was fitted for ("sh"), or None."""
        return None if self.adapter is None else str(self.adapter_meta.get("detector", "unknown"))

    @property
    def lifts_partial_2d(self) -> bool:
        """Trained with hidden joints (`self_training.augment_mask`): lifts tracks whose joints are
        absent in every frame (given as the root's 2D) and fills them in 3D."""
        st = self.cfg.self_training
        return st.steps > 0 and st.augment > 0 and st.augment_mask > 0

    @property
    def depth(self) -> float:
        return float(self.normalisation["depth"])

    def normalise(self, poses_2d: np.ndarray, constant: float | None = None) -> np.ndarray:
        """Pixels (T, 17, 2) -> normalised (T, 17, 2) as at training time (through the model's 2D
        keypoint adapter first, if it has one).

        For universal normalisation `constant` defaults to the training data's; for footage from
        another camera pass `adapt_constant(poses_2d)` (what `ambipose lift` does by default).
        """
        if self.adapter is not None:
            poses_2d = self.adapter.adapt(poses_2d)
        mode = self.normalisation["mode"]
        c = constant if constant is not None else self.normalisation.get("constant")
        return normalise(poses_2d, mode, c, self.depth)

    def adapt_constant(self, poses_2d: np.ndarray, absent: tuple[int, ...] = ()) -> float:
        """Universal constant for new footage: the dataset-wide rule (mean head-root = 1/D) applied
        to this input, so camera distance and resolution of the new footage do not matter. With
        the Head among the joints `absent` in every frame, its length is estimated from the
        visible segments (`normalization.head_root_estimate`)."""
        if self.adapter is not None:
            poses_2d = self.adapter.adapt(poses_2d)
        try:
            if HEAD in absent:
                c = head_root_estimate(poses_2d, absent) * self.depth
                if not c > 0:
                    raise ValueError("zero size")
                return c
            return universal_constant(poses_2d, self.depth)
        except ValueError:
            raise InputError("the input's head and hip coincide in every frame: cannot normalise it "
                             "(is the joint layout right? see --layout)") from None

    def lift_normalised(self, x: np.ndarray, sref: np.ndarray | None = None, batch_size: int = 4096,
                        progress: bool = False) -> LiftResult:
        """Normalised 2D (T, 17, 2) -> LiftResult, in batches with an optional progress bar."""
        return self._lift_batches(x, lambda chunk: chunk, sref, batch_size, progress)

    def lift(self, poses_2d_px: np.ndarray, constant: float | None = None, batch_size: int = 4096,
             progress: bool = False) -> LiftResult:
        """Pixels (T, 17, 2) -> LiftResult. Normalised batch by batch, so memory beyond the input
        and the (T, 17, 3) float32 output stays bounded by the batch size."""
        return self._lift_batches(poses_2d_px, lambda chunk: self.normalise(chunk, constant), None, batch_size, progress)

    @torch.inference_mode()
    def _lift_batches(self, poses: np.ndarray, prepare, sref: np.ndarray | None, batch_size: int,
                      progress: bool) -> LiftResult:
        if poses.ndim != 3 or poses.shape[1:] != (17, 2):
            raise InputError(f"2D poses must be (T, 17, 2), got {poses.shape}")
        if len(poses) == 0:
            raise InputError("no frames to lift")
        if batch_size < 1:
            raise InputError("batch size must be >= 1")
        out = np.empty((len(poses), 17, 3), dtype=np.float32)
        scales = np.empty(len(poses), dtype=np.float32)
        root_depth = np.empty(len(poses), dtype=np.float32)
        for i in progress_bar(range(0, len(poses), batch_size), progress, desc="lifting", unit="batch"):
            x = prepare(poses[i : i + batch_size])
            if not np.isfinite(x).all():
                raise InputError(f"2D poses contain NaN or inf (frames {i}..{i + len(x) - 1})")
            xb = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            sb = None if sref is None else torch.from_numpy(np.ascontiguousarray(sref[i : i + batch_size], dtype=np.float32)).to(self.device)
            pose, root, s = self.model.lift_with_root(xb, sb)
            out[i : i + len(x)] = pose.cpu().numpy()
            root_depth[i : i + len(x)] = root.cpu().numpy()
            scales[i : i + len(x)] = s.cpu().numpy()
        return LiftResult(out, scales, self.mm_per_unit, root_depth)
