"""Quality signals of predicted 3D that need no 3D ground truth: a person's bones keep their
length over time, left and right limbs are equally long, and a body is not deeper than it is tall.
They watch unsupervised fine-tuning on a user's clip, where no 3D exists.

All functions take root-centred poses (T, 17, 3) in any one unit (mm, or model units).
"""

from __future__ import annotations

import numpy as np

from ..data.skeleton import LR_BONE_PAIRS, bone_lengths, head_root_length


def bone_length_variation(poses: np.ndarray, seq_index: np.ndarray | None = None) -> float:
    """Coefficient of variation (std / mean) of each bone's length over the frames of each
    sequence, averaged over bones and sequences, in %. 0 for a rigid skeleton."""
    lengths = bone_lengths(np.asarray(poses, np.float64))  # (T, 16)
    seq = np.zeros(len(lengths), np.int64) if seq_index is None else np.asarray(seq_index)
    cvs = []
    for s in np.unique(seq):
        L = lengths[seq == s]
        if len(L) >= 2:
            cvs.append(L.std(axis=0) / np.maximum(L.mean(axis=0), 1e-9))
    return float(100 * np.mean(cvs)) if cvs else float("nan")


def left_right_asymmetry(poses: np.ndarray) -> float:
    """Mean relative difference |L - R| / mean(L, R) of the six paired limb bones, in %."""
    lengths = bone_lengths(np.asarray(poses, np.float64))
    l, r = lengths[:, [a for a, _ in LR_BONE_PAIRS]], lengths[:, [b for _, b in LR_BONE_PAIRS]]
    return float(100 * np.mean(np.abs(l - r) / np.maximum((l + r) / 2, 1e-9)))


def depth_span(poses: np.ndarray) -> float:
    """Median over frames of the pose's extent along the camera's Z axis, in units of its own
    head-root length (a standing person: about 0.3-0.8; a flat pose: 0)."""
    p = np.asarray(poses, np.float64)
    span = p[..., 2].max(axis=-1) - p[..., 2].min(axis=-1)
    return float(np.median(span / np.maximum(head_root_length(p), 1e-9)))


def plausibility(poses: np.ndarray, seq_index: np.ndarray | None = None) -> dict[str, float]:
    """All three signals: {"bone_cv_pct", "asymmetry_pct", "depth_span"} (see the functions)."""
    return {"bone_cv_pct": bone_length_variation(poses, seq_index),
            "asymmetry_pct": left_right_asymmetry(poses),
            "depth_span": depth_span(poses)}


def plausibility_score(signals: dict[str, float]) -> float:
    """One number to rank checkpoints by (lower is better): bone variation plus asymmetry, in %."""
    return signals["bone_cv_pct"] + signals["asymmetry_pct"]


# Mean 3D bone lengths (mm, `skeleton.BONES` order) of the Human3.6M training subjects (S1, S5, S6,
# S7, S8; all frames of the 10 fps training file): the reference proportions of a person.
REFERENCE_BONES_MM = np.array([134.5, 449.9, 445.9, 134.5, 449.9, 445.9, 239.3, 255.4, 116.3, 115.0,
                               149.3, 280.4, 249.6, 149.3, 280.4, 249.6])


def proportion_error(poses: np.ndarray) -> np.ndarray:
    """Per frame (T,): mean over the 16 bones of |log(share of the skeleton's length / the
    reference's share)|, scale-free. People of other builds and skeletons with other joint
    definitions stay well under 0.35 (docs/evaluation.md); 2D that is not a person in the
    Human3.6M joint order, lifted, lands far above."""
    lengths = bone_lengths(np.asarray(poses, np.float64))  # (T, 16)
    share = lengths / np.maximum(lengths.sum(-1, keepdims=True), 1e-9)
    ref = REFERENCE_BONES_MM / REFERENCE_BONES_MM.sum()
    return np.abs(np.log(np.maximum(share, 1e-6) / ref)).mean(-1)
