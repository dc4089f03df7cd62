"""Losses of the paper (Eqs. 4-13) and of Chen et al. 2019, on torch tensors.

Shapes: 2D poses (B, 17, 2) normalised root-centred; 3D poses (B, 17, 3) model units
(a canonical person has head-root length about 1), camera frame, root-centred unless noted.
Distances are squared Euclidean per joint, averaged over joints and batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .data.rotation import invert, rotate
from .data.skeleton import BONE_CHILD, BONE_PARENT
from .models.networks import lift_to_3d


def sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over batch and joints of the squared Euclidean distance: (B, J, C) -> ()."""
    return ((a - b) ** 2).sum(-1).mean()


def project(points: torch.Tensor) -> torch.Tensor:
    """Unit-focal perspective projection (B, J, 3) -> (B, J, 2). Depth is clamped at 1 (as the
    lifter's own Z_i = max(1, .)) so a joint rotated towards the camera cannot divide by ~0."""
    return points[..., :2] / points[..., 2:3].clamp_min(1.0)


def root_centre(poses: torch.Tensor) -> torch.Tensor:
    return poses - poses[:, :1]


def bone_lengths(poses: torch.Tensor) -> torch.Tensor:
    """(B, 17, 3) -> (B, 16)."""
    return (poses[:, BONE_CHILD] - poses[:, BONE_PARENT]).norm(dim=-1)


@dataclass
class Cycle:
    """Intermediate poses of one lift -> rotate -> project -> lift -> rotate back -> project cycle."""

    pose_3d: torch.Tensor  # (B, 17, 3) lifted from the input, root-centred
    rotated_3d: torch.Tensor  # (B, 17, 3) R @ pose_3d, root-centred
    rotated_2d: torch.Tensor  # (B, 17, 2) projection of the rotated pose at depth D (the "fake" 2D)
    relifted_3d: torch.Tensor  # (B, 17, 3) lifted from rotated_2d, root-centred
    back_2d: torch.Tensor  # (B, 17, 2) relifted pose rotated back and projected


def lift(lifter: nn.Module, poses_2d: torch.Tensor, depth: float) -> torch.Tensor:
    """Normalised 2D (B, 17, 2) -> root-centred 3D (B, 17, 3)."""
    return root_centre(lift_to_3d(poses_2d, lifter(poses_2d), depth))


def cycle(lifter: nn.Module, poses_2d: torch.Tensor, rotations: torch.Tensor, depth: float) -> Cycle:
    """Chen et al.'s view-synthesis cycle for inputs (B, 17, 2) and rotations (B, 3, 3)."""
    offset = poses_2d.new_tensor([0.0, 0.0, depth])
    pose_3d = lift(lifter, poses_2d, depth)
    rotated_3d = rotate(pose_3d, rotations)
    rotated_2d = project(rotated_3d + offset)
    relifted_3d = lift(lifter, rotated_2d, depth)
    back_2d = project(rotate(relifted_3d, invert(rotations)) + offset)
    return Cycle(pose_3d, rotated_3d, rotated_2d, relifted_3d, back_2d)


def lifter_losses(c_t: Cycle, c_tk: Cycle | None, inputs_t: torch.Tensor, rotations: torch.Tensor,
                  disc: nn.Module | None) -> dict[str, torch.Tensor]:
    """L2D (Eq. 6), L3D (Eq. 7), generator LSGAN loss (Eq. 8) and the multi-view motion
    consistency L_tmc (Eq. 10) between frames t and t+k seen through the same rotation.

    L_tmc: the motion of the pose lifted in the original view, rotated into the new view,
    must equal the motion of the poses re-lifted in the new view.
    """
    out = {
        "loss_2d": sq_dist(c_t.back_2d, inputs_t),
        "loss_3d": sq_dist(c_t.relifted_3d, c_t.rotated_3d),
    }
    if disc is not None:
        out["loss_adv"] = ((disc(c_t.rotated_2d) - 1.0) ** 2).mean()
    if c_tk is not None:
        motion_view1 = rotate(c_tk.pose_3d - c_t.pose_3d, rotations)
        motion_view2 = c_tk.relifted_3d - c_t.relifted_3d
        out["loss_tmc"] = sq_dist(motion_view2, motion_view1)
    return out


def discriminator_loss(disc: nn.Module, real_2d: torch.Tensor, fake_2d: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss: real -> 1, fake -> 0."""
    return ((disc(real_2d) - 1.0) ** 2).mean() + (disc(fake_2d.detach()) ** 2).mean()


def kl_gaussian(scales: torch.Tensor, prior_mean: float, prior_std: float) -> torch.Tensor:
    """Eq. 12: KL( N(mean(s), std(s)) || N(mu, sigma) ) over a batch of scales (B,)."""
    m, sd = scales.mean(), scales.std().clamp_min(1e-6)
    return torch.log(prior_std / sd) + (sd**2 + (m - prior_mean) ** 2) / (2 * prior_std**2) - 0.5


def bone_consistency(pose_t: torch.Tensor, pose_tl: torch.Tensor) -> torch.Tensor:
    """Eq. 13: squared difference of the 16 bone lengths of one person at t and t+l."""
    return ((bone_lengths(pose_t) - bone_lengths(pose_tl)) ** 2).mean()
