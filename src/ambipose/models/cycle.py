"""Chen et al.'s view-synthesis cycle: lift, rotate, project, lift again, rotate back, project.

All poses here are in the lifter's normalised frame: 2D (B, 17, 2) root-centred normalised
image coordinates (unit focal length, canonical root depth D), 3D (B, 17, 3) root-centred in
model units (a canonical person has head-root length about 1), camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.rotation import invert, rotate
from ..data.skeleton import root_centre
from .networks import lift_to_3d


def project(points: torch.Tensor, clip: float | None = None) -> torch.Tensor:
    """Unit-focal perspective projection (B, J, 3) -> (B, J, 2). Depth is clamped at 1 (as the
    lifter's own Z_i = max(1, .)) so a joint rotated towards the camera cannot divide by ~0, and
    with `clip` each coordinate is clamped to [-clip, clip]: a synthetic view never feeds the
    lifter a joint far outside any real image (the authors clamp the same way)."""
    xy = points[..., :2] / points[..., 2:3].clamp_min(1.0)
    return xy if clip is None else xy.clamp(-clip, clip)


def lift(lifter: nn.Module, poses_2d: torch.Tensor, depth: float) -> torch.Tensor:
    """Normalised 2D (B, 17, 2) -> root-centred 3D (B, 17, 3)."""
    return root_centre(lift_to_3d(poses_2d, lifter(poses_2d), depth))


@dataclass
class Cycle:
    """Intermediate poses of one lift -> rotate -> project -> lift -> rotate back -> project cycle."""

    pose_3d: torch.Tensor  # (B, 17, 3) lifted from the input, root-centred
    rotated_3d: torch.Tensor  # (B, 17, 3) R @ pose_3d, root-centred
    rotated_2d: torch.Tensor  # (B, 17, 2) projection of the rotated pose at depth D (the "fake" 2D)
    relifted_3d: torch.Tensor  # (B, 17, 3) lifted from rotated_2d, root-centred
    back_2d: torch.Tensor  # (B, 17, 2) relifted pose rotated back and projected


def view_synthesis(lifter: nn.Module, poses_2d: torch.Tensor, rotations: torch.Tensor, depth: float,
                   clip: float | None = None) -> Cycle:
    """The cycle for inputs (B, 17, 2) and rotations (B, 3, 3); `clip` bounds the synthetic 2D."""
    offset = poses_2d.new_tensor([0.0, 0.0, depth])
    pose_3d = lift(lifter, poses_2d, depth)
    rotated_3d = rotate(pose_3d, rotations)
    rotated_2d = project(rotated_3d + offset, clip)
    relifted_3d = lift(lifter, rotated_2d, depth)
    back_2d = project(rotate(relifted_3d, invert(rotations)) + offset)
    return Cycle(pose_3d, rotated_3d, rotated_2d, relifted_3d, back_2d)
