"""Pose metrics. Inputs are (N, J, 3) arrays in millimetres, root-centred or not (see each).

All functions return per-frame values (N,) so callers can average per frame or per action;
`mean` helpers are left to the caller on purpose (both averages are reported).
"""

from __future__ import annotations

import numpy as np

from ..data.skeleton import root_centre

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.linspace(0.0, 150.0, 31)  # as the official MPI-INF-3DHP script


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} must both be (N, J, 3)")


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Root-aligned per-joint Euclidean errors (N, J), mm."""
    _check(pred, gt)
    return np.linalg.norm(root_centre(pred) - root_centre(gt), axis=-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Protocol 1: mean per-joint position error after root alignment, per frame (N,), mm."""
    return joint_errors(pred, gt).mean(-1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = True) -> np.ndarray:
    """Best similarity transform of each pred onto its gt (rotation, uniform scale, translation;
    reflections excluded). (N, J, 3) -> aligned pred (N, J, 3)."""
    _check(pred, gt)
    mu_p, mu_g = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mu_p, gt - mu_g
    h = np.einsum("nji,njk->nik", p, g)  # (N, 3, 3) = p^T g
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    # Flip the last singular direction where needed so the result is a proper rotation.
    s[:, -1] *= d
    u[:, :, -1] *= d[:, None]
    r = np.einsum("nij,njk->nik", u, vt)  # rotation applied as p @ r
    if scale:
        k = s.sum(-1) / np.maximum((p**2).sum((1, 2)), 1e-12)
    else:
        k = np.ones(len(p))
    return k[:, None, None] * np.einsum("nji,nik->njk", p, r) + mu_g


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Protocol 2: MPJPE after Procrustes alignment (rotation, uniform scale, translation), (N,) mm."""
    aligned = procrustes_align(pred, gt, scale=True)
    return np.linalg.norm(aligned - gt, axis=-1).mean(-1)


def n_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MPJPE after the best uniform scale of the root-aligned pred (Rhodin et al. 2018), (N,) mm."""
    p, g = root_centre(pred), root_centre(gt)
    k = (p * g).sum((1, 2)) / np.maximum((p * p).sum((1, 2)), 1e-12)
    return np.linalg.norm(k[:, None, None] * p - g, axis=-1).mean(-1)


def mpjve(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint velocity error between consecutive frames of one sequence, (N-1,) mm/frame."""
    _check(pred, gt)
    vp, vg = np.diff(root_centre(pred), axis=0), np.diff(root_centre(gt), axis=0)
    return np.linalg.norm(vp - vg, axis=-1).mean(-1)


def pck_from_errors(err: np.ndarray, threshold: float = PCK_THRESHOLD_MM) -> np.ndarray:
    """Joint errors (N, J) mm -> percentage of joints strictly below `threshold`, per frame (N,)."""
    return (err < threshold).mean(-1) * 100.0


def auc_from_errors(err: np.ndarray, thresholds: np.ndarray = AUC_THRESHOLDS_MM) -> np.ndarray:
    """Joint errors (N, J) mm -> mean PCK over `thresholds`, per frame (N,), percent."""
    return np.stack([pck_from_errors(err, t) for t in thresholds], -1).mean(-1)


def pck(pred: np.ndarray, gt: np.ndarray, threshold: float = PCK_THRESHOLD_MM) -> np.ndarray:
    """Percentage of root-aligned joints with error strictly below `threshold` mm (as the official
    `mpii_compute_3d_pck.m`), over all given joints, per frame (N,), in percent. The official
    3DHP benchmark scores 14 joints: see `evaluation.mpi3dhp_eval`."""
    return pck_from_errors(joint_errors(pred, gt), threshold)


def auc(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray = AUC_THRESHOLDS_MM) -> np.ndarray:
    """Area under the PCK curve: mean PCK over the 31 thresholds 0, 5, ..., 150 mm (strict `<`,
    as the official MPI-INF-3DHP script, so a perfect pose scores 100 * 30/31), per frame (N,), %."""
    return auc_from_errors(joint_errors(pred, gt), thresholds)


def depth_mirror(poses: np.ndarray) -> np.ndarray:
    """The depth-negated pose about its root (Z -> -Z, camera frame): the solution that a lifter
    trained without a cue for the sign of depth may converge to. (N, J, 3) -> (N, J, 3)."""
    out = root_centre(poses).copy()
    out[..., 2] *= -1
    return out


def mirror_fractions(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """Mirror diagnostic: (mean PA-MPJPE of the depth-mirrored prediction in mm, fraction of frames
    where the mirrored prediction has a lower PA-MPJPE than the prediction). A fraction near 0 is a
    lifter that got the sign of depth right; near 1, one that learnt the mirrored world."""
    pa, pa_m = pa_mpjpe(pred, gt), pa_mpjpe(depth_mirror(pred), gt)
    return float(pa_m.mean()), float((pa_m < pa).mean())
