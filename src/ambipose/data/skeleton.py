"""The Human3.6M 17-joint skeleton used everywhere in ambipose (root = hip = 0, head = 10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    import torch

    Poses = Union[np.ndarray, torch.Tensor]

JOINT_NAMES: tuple[str, ...] = (
    "Hip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Spine", "Thorax",
    "Neck/Nose", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
)
NUM_JOINTS = 17
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
ROOT = 0
HEAD = 10
LEFT_JOINTS: tuple[int, ...] = (4, 5, 6, 11, 12, 13)
RIGHT_JOINTS: tuple[int, ...] = (1, 2, 3, 14, 15, 16)
# (child, parent) for each of the 16 bones.
BONES: tuple[tuple[int, int], ...] = tuple((j, p) for j, p in enumerate(PARENTS) if p >= 0)
BONE_CHILD = np.array([c for c, _ in BONES])
BONE_PARENT = np.array([p for _, p in BONES])
# (left bone, right bone) indices into BONES of the paired limbs: hip, knee, ankle, shoulder,
# elbow, wrist (each bone named by its child joint).
LR_BONE_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (int(np.flatnonzero(BONE_CHILD == left)[0]), int(np.flatnonzero(BONE_CHILD == right)[0]))
    for left, right in zip(LEFT_JOINTS, RIGHT_JOINTS))

# Stacked Hourglass 16-joint order -> index in the 17 order (no Neck/Nose in SH).
SH16_TO_H36M17 = np.array([3, 2, 1, 4, 5, 6, 0, 7, 8, 10, 16, 15, 14, 11, 12, 13])
SPINE, THORAX, NECK_NOSE = 7, 8, 9
# Neck/Nose lies on average 0.42 of the way from Thorax to Head in Human3.6M's ground-truth 2D
# (measured on the training subjects, all cameras); used to synthesise it where a detector lacks it.
NECK_FRACTION = 0.42
# Two of Stacked Hourglass's 16 joints are MPII landmarks, not Human3.6M's (measured on the training
# subjects' detections against their ground-truth 2D, every 2nd frame, all cameras; never S9/S11):
# - its "Spine" (MPII thorax) sits 0.87 of the way from Hip to Thorax, Human3.6M's Spine 0.48 of
#   the way (least squares), so the detector's joint is dropped and Spine is synthesised there;
# - its "Head" (MPII head top) lies above Human3.6M's Head: the latter is 0.62 of the way from the
#   detected Thorax to the detected head top (median over frames).
# Taking the detector's joints as they are put the test Spine 46 px (median) and Head 23 px from the
# ground truth; with the two corrections 7 px and 4 px.
SPINE_FRACTION = 0.48
SH_HEAD_FRACTION = 0.62


# The geometry helpers below take numpy arrays or torch tensors alike (same indexing; the
# Euclidean norm is numpy's or torch's), so the training loop, the model and the evaluation
# share one definition of each.


def _length(vectors: Poses) -> Poses:
    """Euclidean norm over the last axis, numpy or torch."""
    if isinstance(vectors, np.ndarray):
        return np.linalg.norm(vectors, axis=-1)
    return vectors.norm(dim=-1)


def bone_vectors(poses: Poses) -> Poses:
    """Child minus parent for each bone: (..., 17, D) -> (..., 16, D) (numpy or torch)."""
    return poses[..., BONE_CHILD, :] - poses[..., BONE_PARENT, :]


def bone_lengths(poses: Poses) -> Poses:
    """Bone lengths of poses (..., 17, D) -> (..., 16), in the poses' unit (numpy or torch)."""
    return _length(bone_vectors(poses))


def head_root_length(poses: Poses) -> Poses:
    """Distance head (10) to root (0): (..., 17, D) -> (...) (numpy or torch)."""
    return _length(poses[..., HEAD, :] - poses[..., ROOT, :])


def root_centre(poses: Poses) -> Poses:
    """Subtract the root joint: (..., 17, D) -> (..., 17, D) (numpy or torch)."""
    return poses - poses[..., ROOT : ROOT + 1, :]


def flip_lr(poses: np.ndarray) -> np.ndarray:
    """Swap left and right joints (no coordinate change): (..., 17, D)."""
    out = poses.copy()
    out[..., LEFT_JOINTS + RIGHT_JOINTS, :] = poses[..., RIGHT_JOINTS + LEFT_JOINTS, :]
    return out


def sh16_to_h36m17(poses_sh: np.ndarray) -> np.ndarray:
    """Stacked Hourglass 16 joints (..., 16, 2) -> Human3.6M 17 joints (..., 17, 2).

    Pixels in, pixels out. Joint definitions are corrected where SH's (MPII's) differ from
    Human3.6M's (see `SPINE_FRACTION`, `SH_HEAD_FRACTION`): Head is pulled from the head top towards
    Thorax, Spine is synthesised on Hip-Thorax, and Neck/Nose (missing in SH) is synthesised as the
    point `NECK_FRACTION` of the way from Thorax to the corrected Head.
    """
    if poses_sh.shape[-2] != 16:
        raise ValueError(f"expected 16 Stacked Hourglass joints, got {poses_sh.shape[-2]}")
    out = np.zeros(poses_sh.shape[:-2] + (17, poses_sh.shape[-1]), dtype=poses_sh.dtype)
    out[..., SH16_TO_H36M17, :] = poses_sh
    hip, thorax = out[..., ROOT, :], out[..., THORAX, :]
    out[..., HEAD, :] = thorax + SH_HEAD_FRACTION * (out[..., HEAD, :] - thorax)
    out[..., SPINE, :] = hip + SPINE_FRACTION * (thorax - hip)
    out[..., NECK_NOSE, :] = thorax + NECK_FRACTION * (out[..., HEAD, :] - thorax)
    return out
