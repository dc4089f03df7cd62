"""The full predictor: optional scale module Phi_S in front of (or behind) the lifter Phi_G."""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..data.skeleton import root_centre
from .cycle import Cycle, view_synthesis
from .networks import Lifter, ScaleModule, lift_to_3d


class PoseModel(nn.Module):
    """Normalised root-centred 2D (B, 17, 2) -> root-centred 3D (B, 17, 3) in model units,
    camera frame (X right, Y down, Z forward). A canonical person has head-root length ~1."""

    def __init__(self, cfg: ModelConfig, prior_mean: float = 1.0):
        super().__init__()
        self.depth = cfg.depth
        self.scale_mode = cfg.scale
        self.lifter = Lifter(cfg.width, cfg.blocks, cfg.dropout, cfg.correct_2d)
        # No dropout in Phi_S: dropout noise would let it meet the KL prior's spread without
        # looking at the pose.
        self.scale = ScaleModule(cfg.width, cfg.scale_blocks, 0.0, init=prior_mean) if cfg.scale in ("2d", "3d") else None

    def scales(self, poses_2d: torch.Tensor, sref: torch.Tensor | None = None) -> torch.Tensor:
        """Per-frame scale s (B,): 1 when the module is off, S_2D^ref in 'reference' mode."""
        if self.scale_mode == "reference":
            if sref is None:
                raise ValueError("scale mode 'reference' needs the ground-truth reference scale")
            return sref
        if self.scale is None:
            return poses_2d.new_ones(len(poses_2d))
        return self.scale(poses_2d)

    def lifter_input(self, poses_2d: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The 2D pose the lifter sees: scaled in '2d'/'reference' mode, unchanged otherwise."""
        return poses_2d * s[:, None, None] if self.scale_mode in ("2d", "reference") else poses_2d

    def lift(self, lifter_in: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Root-centred 3D (B, 17, 3); in '3d' mode the scale multiplies the lifted pose."""
        pose = root_centre(lift_to_3d(lifter_in, self.lifter(lifter_in), self.depth))
        return pose * s[:, None, None] if self.scale_mode == "3d" else pose

    def lift_camera(self, lifter_in: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The 3D before root-centring (B, 17, 3): camera frame, every joint on the ray of its
        (lifter input) 2D point, or of the corrected point with `model.correct_2d`; the root on
        the optical axis; times s in '3d' mode (a scale about the camera keeps the rays). Equal
        to `lift` plus the root up to rounding; `lift` keeps its own order of operations so
        training repeats bit for bit."""
        pose = lift_to_3d(lifter_in, self.lifter(lifter_in), self.depth)
        return pose * s[:, None, None] if self.scale_mode == "3d" else pose

    def lift_with_root(self, poses_2d: torch.Tensor, sref: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`forward` and where the root sits: (root-centred 3D (B, 17, 3), the root's depth on the
        optical axis (B,), the scale s (B,)), model units, camera frame. What the skeleton fit
        needs (it moves joints along their camera rays, which start at the camera, not the root)."""
        s = self.scales(poses_2d, sref)
        cam = self.lift_camera(self.lifter_input(poses_2d, s), s)  # (B, 17, 3)
        return cam - cam[:, :1], cam[:, 0, 2], s

    def cycle(self, lifter_in: torch.Tensor, rotations: torch.Tensor, clip: float | None = None) -> Cycle:
        """The self-supervision forward pass on the lifter's input (B, 17, 2) (already scaled):
        lift, rotate by (B, 3, 3), project, lift again, rotate back, project."""
        return view_synthesis(self.lifter, lifter_in, rotations, self.depth, clip)

    def forward(self, poses_2d: torch.Tensor, sref: torch.Tensor | None = None) -> torch.Tensor:
        s = self.scales(poses_2d, sref)
        return self.lift(self.lifter_input(poses_2d, s), s)


def upgrade_state_dict(state: dict[str, torch.Tensor], prior_mean: float) -> dict[str, torch.Tensor]:
    """Weights as floats, with `scale.log_init` added for checkpoints written before the scale
    module stored its prior offset (they took it from the config's `loss.prior_mean`)."""
    out = {k: v.float() for k, v in state.items()}
    if any(k.startswith("scale.") for k in out) and "scale.log_init" not in out:
        out["scale.log_init"] = torch.tensor(float(prior_mean)).log()
    return out


def with_new_heads(state: dict[str, torch.Tensor], model: PoseModel) -> dict[str, torch.Tensor]:
    """`state` completed with `model`'s 2D-correction head where the state has none: a run
    resumed with `model.correct_2d` newly on (e.g. to add a self-training round) starts the head
    at its initial zeros, so the model's output is unchanged until the stage trains it."""
    if model.lifter.xy is None or "lifter.xy.weight" in state:
        return state
    return {**state, **{f"lifter.xy.{k}": v.detach().clone() for k, v in model.lifter.xy.state_dict().items()}}
