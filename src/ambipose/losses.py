"""Losses of the paper (Eqs. 4-13) and of Chen et al. 2019: pure `(prediction, target) -> loss`
functions on torch tensors. The poses they compare come from `models.cycle.view_synthesis`.

Shapes: 2D poses (B, 17, 2) normalised root-centred; 3D poses (B, 17, 3) model units (a
canonical person has head-root length about 1), camera frame, root-centred.

Distances are Euclidean per joint (not squared), averaged over joints and batch, as in the
authors' code: with squared distances the cycle's pull fades as its errors shrink while the
adversarial term does not, and the adversarial term then wins.
"""

from __future__ import annotations

import torch

from .data.skeleton import bone_lengths, bone_vectors  # noqa: F401 - bone_lengths: numpy or torch


def joint_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over batch and joints of the Euclidean distance per joint: (B, J, C) x2 -> ()."""
    return (a - b).norm(dim=-1).mean()


def sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over batch and joints of the squared Euclidean distance: (B, J, C) x2 -> ()."""
    return ((a - b) ** 2).sum(-1).mean()


def loss_2d(back_2d: torch.Tensor, input_2d: torch.Tensor) -> torch.Tensor:
    """Eq. 6: the re-lifted pose, rotated back and projected, against the input (B, 17, 2)."""
    return joint_dist(back_2d, input_2d)


def loss_3d(relifted_3d: torch.Tensor, rotated_3d: torch.Tensor) -> torch.Tensor:
    """Eq. 7: the pose lifted from the synthetic view against the rotated first lift (B, 17, 3)."""
    return joint_dist(relifted_3d, rotated_3d)


def generator_adv(fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 8, the lifter's side of LSGAN: synthetic views should score 1. (B,) -> ()."""
    return ((fake_scores - 1.0) ** 2).mean()


def discriminator_adv(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss: real -> 1, fake -> 0. Scores (B,) each -> ()."""
    return ((real_scores - 1.0) ** 2).mean() + (fake_scores**2).mean()


def motion_consistency(pose_t: torch.Tensor, pose_k: torch.Tensor, relifted_t: torch.Tensor,
                       relifted_k: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Eq. 10, L_tmc: the motion between frames t and t+k lifted in the original view, rotated
    into the new view (same rotation for both frames), must equal the motion of the two poses
    re-lifted from the new view. A static clip (pose_t == pose_k) with a consistent lifter gives 0.

    pose_*: (B, 17, 3) first lifts; relifted_*: (B, 17, 3) lifts from the synthetic views;
    rotations: (B, 3, 3)."""
    motion_view1 = (pose_k - pose_t) @ rotations.transpose(-1, -2)
    motion_view2 = relifted_k - relifted_t
    return joint_dist(motion_view2, motion_view1)


def kl_gaussian(scales: torch.Tensor, prior_mean: float, prior_std: float) -> torch.Tensor:
    """Eq. 12: KL( N(mean(s), std(s)) || N(mu, sigma) ) over a batch of scales (B,)."""
    m, sd = scales.mean(), scales.std().clamp_min(1e-6)
    return torch.log(prior_std / sd) + (sd**2 + (m - prior_mean) ** 2) / (2 * prior_std**2) - 0.5


def bone_consistency(pose_t: torch.Tensor, pose_l: torch.Tensor) -> torch.Tensor:
    """Eq. 13: the bone vectors of one person at t and at a frame l about a second or more away
    (B, 17, 3) x2 -> (), Euclidean per bone, as the authors' code. Only the scale module is
    trained by it, so it can only change the poses' sizes: it makes one person equally big in
    every frame of a video. A static clip gives 0."""
    return joint_dist(bone_vectors(pose_t), bone_vectors(pose_l))
