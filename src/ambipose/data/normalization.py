"""2D normalisation of the paper (Sec. 3.1) and the reference scale S_2D^ref (Eq. 3).

All functions take root-centred or raw pixel poses (..., 17, 2) and return *normalised* poses:
root at the origin, unitless, such that a person at the canonical depth D has a head-root
distance of about 1/D.

- "universal": one dataset-wide constant c (pixels): x = (u - u_root) / c, with c chosen so that
  the mean head-root distance over the dataset is 1/D. Keeps the relative size of people.
- "step-wise": each pose divided by its own head-root distance times D (size information lost).
- "none": root-centred pixels divided by a fixed 1000 px (a unit change only).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .skeleton import HEAD, ROOT, head_root_length, root_centre

DEFAULT_DEPTH = 10.0
NONE_DIVISOR = 1000.0
MODES = ("universal", "step-wise", "none")


def universal_constant(poses_2d: Iterable[np.ndarray] | np.ndarray, depth: float = DEFAULT_DEPTH) -> float:
    """c in pixels such that mean(|head - root|) / c == 1 / depth over all given poses (..., 17, 2)."""
    if isinstance(poses_2d, np.ndarray):
        poses_2d = [poses_2d]
    total, count = 0.0, 0
    for p in poses_2d:
        for i in range(0, len(p), 65536):  # chunks: long inputs need no float64 copy of the whole
            h = head_root_length(np.asarray(p[i : i + 65536], dtype=np.float64))
            total += float(h.sum())
            count += h.size
    if count == 0 or total <= 0:
        raise ValueError("cannot compute a normalisation constant from no poses")
    return float(total / count * depth)


# Mean 2D length of body segments as a share of the mean head-root length, in Human3.6M's
# ground-truth 2D (training subjects, every 4th frame, all cameras): (joints a, joints b, share),
# each end the mean of its joints. They size a track whose Head is absent in every frame.
SEGMENT_SHARES: tuple[tuple[tuple[int, ...], tuple[int, ...], float], ...] = (
    ((ROOT,), (11, 14), 0.657),  # root -> shoulders' midpoint
    ((1,), (2,), 0.614), ((4,), (5,), 0.609),  # thighs
    ((2,), (3,), 0.630), ((5,), (6,), 0.634),  # shins
    ((11,), (12,), 0.405), ((14,), (15,), 0.399),  # upper arms
    ((12,), (13,), 0.322), ((15,), (16,), 0.323),  # forearms
)


def head_root_estimate(poses_2d: np.ndarray, absent: Iterable[int] = ()) -> float:
    """Mean head-root length (pixels) of a track (..., 17, 2): measured where the Head is seen,
    else estimated from the segments whose joints are all seen (`SEGMENT_SHARES`, a ratio of sums
    so that long, less foreshortened segments count most)."""
    absent = set(int(j) for j in absent)
    p = np.asarray(poses_2d, dtype=np.float64)
    if HEAD not in absent:
        return float(head_root_length(p).mean())
    total, share = 0.0, 0.0
    for a, b, r in SEGMENT_SHARES:
        if absent.isdisjoint(a + b):
            total += float(np.linalg.norm(p[..., list(a), :].mean(-2) - p[..., list(b), :].mean(-2), axis=-1).mean())
            share += r
    if share == 0.0:
        raise ValueError("no body segment is visible to size the pose")
    return total / share


def normalise(poses_2d: np.ndarray, mode: str, constant: float | None = None, depth: float = DEFAULT_DEPTH) -> np.ndarray:
    """Pixels (..., 17, 2) -> normalised root-centred poses (..., 17, 2), float32."""
    x = root_centre(np.asarray(poses_2d, dtype=np.float64))
    if mode == "universal":
        if constant is None or not constant > 0:
            raise ValueError("universal normalisation needs a positive constant")
        x = x / constant
    elif mode == "step-wise":
        h = head_root_length(x)[..., None, None]
        x = x / (np.maximum(h, 1e-6) * depth)
    elif mode == "none":
        x = x / NONE_DIVISOR
    else:
        raise ValueError(f"unknown normalisation {mode!r}; choose one of {MODES}")
    return x.astype(np.float32)


def reference_scale(poses_3d_cam: np.ndarray, constant: float, focal: float, depth: float = DEFAULT_DEPTH) -> np.ndarray:
    """S_2D^ref per frame (our form of the paper's Eq. 3), from ground-truth 3D.

    The scale s that maps a universally normalised 2D pose x onto the 2D pose the same person
    would have if resized to a head-root length of 1 and placed at depth D (unit focal length):
    s = c * Z_root / (f * D * |X_head - X_root|), with c the universal constant (pixels), f the
    focal length (pixels), Z_root the root depth and the head-root length in the same unit.
    Evaluation and ablation only: it needs 3D.
    """
    p = np.asarray(poses_3d_cam, dtype=np.float64)
    z_root = p[..., ROOT, 2]
    h3 = head_root_length(p)
    return (constant * z_root / (focal * depth * h3)).astype(np.float32)
