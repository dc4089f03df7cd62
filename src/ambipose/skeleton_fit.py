"""One skeleton per track: constant, left/right-symmetric bone lengths fitted after lifting.

A single-frame lifter chooses every frame's depths on its own, so one person's bones stretch and
shrink from frame to frame (6.7 % on average on Human3.6M for the shipped model) and the left
forearm is not the right one. Over a track the person is one person. `fit_skeleton` takes the
track's bone lengths (the median of each bone over the frames, then the mean of a left bone and its
right twin) and moves every joint along its camera ray, as little as it can, until the frame's
bones have those lengths. With `lateral_weight` the joints may also leave their rays (a
correction of the 2D), at that cost per squared unit of displacement.

This is an offline step over a whole track (it reads every frame before it changes one), so its
figures are reported apart from the single-frame headline (docs/results.md). Works in the lifter's
units and camera frame: x right, y down, z forward from the camera; the root sits on the optical
axis, at depth `root_depth`, because inputs are root-centred.
"""

from __future__ import annotations

import numpy as np
import torch

from .data.skeleton import BONE_CHILD, BONE_PARENT, LR_BONE_PAIRS, bone_lengths

# For each bone, its mirror-image twin (itself for the midline bones).
_TWIN = np.arange(len(BONE_CHILD))
for _left, _right in LR_BONE_PAIRS:
    _TWIN[_left], _TWIN[_right] = _right, _left


def track_bone_lengths(poses_3d: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (16,): each bone's median length over the track, left and right averaged
    (same units as the input; bones ordered as `skeleton.BONES`)."""
    if poses_3d.ndim != 3 or poses_3d.shape[1:] != (17, 3) or len(poses_3d) == 0:
        raise ValueError(f"poses must be (T, 17, 3) with T >= 1, got {poses_3d.shape}")
    med = np.median(bone_lengths(poses_3d), axis=0)
    return 0.5 * (med + med[_TWIN])


def fit_skeleton(poses_3d: np.ndarray, root_depth: np.ndarray, lengths: np.ndarray | None = None,
                 depth_weight: float = 0.01, lateral_weight: float | None = None, iters: int = 15,
                 chunk: int = 4096) -> np.ndarray:
    """Refit a lifted track to one skeleton.

    poses_3d: (T, 17, 3) root-centred, camera frame, model units (`LiftResult.poses_3d_units`).
    root_depth: (T,) the root's camera-frame depth, same units (`LiftResult.root_depth`).
    lengths: (16,) bone lengths to fit; default `track_bone_lengths(poses_3d)`.
    depth_weight: cost of moving a joint along its ray, per squared unit, against the squared
        length errors (small: the lengths win, the depths give way).
    lateral_weight: None keeps every joint on its ray (the 2D is trusted); a number lets it move
        sideways at that cost per squared unit.
    Returns (T, 17, 3) root-centred, camera frame, same units. Every frame is its own small
    least-squares problem (17 depths, plus 34 sideways moves with `lateral_weight`), solved for
    `chunk` frames at once by `iters` Levenberg-Marquardt steps.
    """
    if poses_3d.ndim != 3 or poses_3d.shape[1:] != (17, 3):
        raise ValueError(f"poses must be (T, 17, 3), got {poses_3d.shape}")
    if root_depth.shape != (len(poses_3d),):
        raise ValueError(f"root_depth must be ({len(poses_3d)},), got {root_depth.shape}")
    if not (root_depth + poses_3d[:, :, 2].min(axis=1) > 0).all():
        raise ValueError("joints at or behind the camera: not a lifted track (root_depth wrong?)")
    target = torch.as_tensor(track_bone_lengths(poses_3d) if lengths is None else lengths, dtype=torch.float64)
    if target.shape != (len(BONE_CHILD),) or not bool((target > 0).all()):
        raise ValueError(f"lengths must be {len(BONE_CHILD)} positive numbers")
    out = np.empty_like(poses_3d)
    for i in range(0, len(poses_3d), chunk):
        cam = torch.as_tensor(poses_3d[i : i + chunk], dtype=torch.float64).clone()
        cam[..., 2] += torch.as_tensor(root_depth[i : i + chunk], dtype=torch.float64)[:, None]
        fitted = _fit_chunk(cam, target, depth_weight, lateral_weight, iters)
        out[i : i + chunk] = (fitted - fitted[:, :1]).numpy()
    return out


def _fit_chunk(cam: torch.Tensor, target: torch.Tensor, depth_weight: float, lateral_weight: float | None,
               iters: int) -> torch.Tensor:
    """cam: (B, 17, 3) camera frame -> (B, 17, 3) camera frame, bones near `target` (16,).

    Unknowns per frame: the 17 depths z along the rays, and with `lateral_weight` the 17 image-plane
    moves (u, v) of the rays; joint i sits at (x_i + u_i, y_i + v_i, 1) z_i. Cost: squared bone
    length errors + depth_weight |z - z0|^2 + lateral_weight |(u, v) z0|^2. The bone Jacobian is
    written out (d|b|/dz_c = e . ray_c for the bone's unit vector e, minus the parent's term).
    """
    b, n = cam.shape[:2]
    z0 = cam[..., 2]  # (B, 17) depths, > 0
    ray0 = cam / z0[..., None]  # (B, 17, 3): (x, y, 1), the image-plane point at depth 1
    lateral = lateral_weight is not None
    # the anchor terms: a diagonal weight and the starting values (z0, then zero moves)
    weight = torch.cat([torch.full_like(z0, depth_weight)]
                       + ([lateral_weight * z0.square().repeat_interleave(2, dim=1)] if lateral else []), dim=1)
    start = torch.cat([z0] + ([torch.zeros_like(z0).repeat(1, 2)] if lateral else []), dim=1)  # (B, P)
    # (16, 17): +1 at each bone's child, -1 at its parent; gathers become small matrix products
    incidence = torch.zeros(len(BONE_CHILD), n, dtype=cam.dtype)
    incidence[torch.arange(len(BONE_CHILD)), torch.as_tensor(BONE_CHILD)] = 1.0
    incidence[torch.arange(len(BONE_PARENT)), torch.as_tensor(BONE_PARENT)] = -1.0

    def unpack(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = q[:, :n]
        ray = ray0 if not lateral else torch.cat([ray0[..., :2] + q[:, n:].view(b, n, 2), ray0[..., 2:]], dim=-1)
        return z, ray

    def cost_of(q: torch.Tensor) -> torch.Tensor:
        z, ray = unpack(q)
        err = torch.linalg.vector_norm(incidence @ (ray * z[..., None]), dim=-1) - target
        return err.square().sum(1) + (weight * (q - start).square()).sum(1)

    params = start.clone()
    cost = cost_of(params)
    damping = torch.full_like(cost, 1e-3)
    for _ in range(iters):  # Levenberg-Marquardt, one damping per frame
        z, ray = unpack(params)
        vec = incidence @ (ray * z[..., None])  # (B, 16, 3) bone vectors
        length = torch.linalg.vector_norm(vec, dim=-1).clamp_min(1e-9)
        e = vec / length[..., None]  # unit bone vectors
        err = length - target  # (B, 16)
        # d|b|/dz_j = e_b . ray_j * (child - parent)_bj
        jac = (e @ ray.transpose(1, 2)) * incidence  # (B, 16, 17)
        if lateral:  # d|b|/du_j = e_bx z_j (child - parent)_bj, likewise v with e_by
            moves = (e[..., :2, None] * (incidence * z[:, None, :])[:, :, None, :])  # (B, 16, 2, 17)
            jac = torch.cat([jac, moves.transpose(2, 3).reshape(b, len(BONE_CHILD), 2 * n)], dim=2)
        grad = (jac.transpose(1, 2) @ err[..., None])[..., 0] + weight * (params - start)
        lhs = jac.transpose(1, 2) @ jac  # (B, P, P); the diagonal terms are added in place
        diagonal = lhs.diagonal(dim1=1, dim2=2)
        diagonal.add_(weight).mul_(1.0 + damping[:, None])
        trial = params - torch.linalg.solve(lhs, grad[..., None])[..., 0]
        new_cost = cost_of(trial)
        better = new_cost < cost
        params = torch.where(better[:, None], trial, params)
        cost = torch.where(better, new_cost, cost)
        damping = torch.where(better, damping * 0.3, damping * 10.0).clamp(1e-9, 1e9)
    z, ray = unpack(params)
    return ray * z[..., None]


def with_exact_lengths(poses_3d: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(T, 17, 3) root-centred -> the same with every bone exactly `lengths` (16,) long, its
    direction kept, built from the root outwards. `fit_skeleton` brings the lengths close (a few
    mm off where the rays resist); this makes them constant, as an animation skeleton is."""
    p = np.asarray(poses_3d, dtype=np.float64)
    out = np.zeros_like(p)
    for b, (child, parent) in enumerate(zip(BONE_CHILD, BONE_PARENT)):
        v = p[:, child] - p[:, parent]
        out[:, child] = out[:, parent] + v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12) * lengths[b]
    return out.astype(np.asarray(poses_3d).dtype)
