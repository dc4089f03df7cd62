"""What every 2D reader shares: the result type `Keypoints2D`, the raw sequence `_Raw` a reader
returns, JSON loading and value checks, and `_finish`: validation, mapping to the Human3.6M-17
order, gap filling and the jump report, for all formats."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ..joint_maps import JOINT_MAPS, LAYOUT_NUM_JOINTS, describe_rule, to_h36m17
from ..skeleton import JOINT_NAMES, NUM_JOINTS, ROOT, head_root_length, root_centre

# |coordinate| above this is treated as corrupt: no image is a million pixels wide, and float32
# (the output type) resolves coordinates this large to worse than 0.1 px anyway.
MAX_ABS_COORD = 1e6
# Every valid coordinate within +-this -> the file holds normalised coordinates, not pixels
# (a whole person inside 1.5 x 1.5 pixels is not a real detection).
NORMALISED_LIMIT = 1.5


@dataclass
class Keypoints2D:
    """A 2D keypoint sequence in the Human3.6M-17 joint order (`skeleton.JOINT_NAMES`).

    Attributes:
        poses: (T, 17, 2) float32, pixels (or normalised, usually [0, 1], when `units` says so);
            finite everywhere: absent joints are filled (see `missing`).
        scores: (T, 17) float32 confidences clipped to [0, 1] (a synthesised joint has the minimum
            of its sources'), or None where the format has none.
        missing: (T, 17) bool, True for joints that were absent, NaN or below the confidence
            threshold in the file and were filled by interpolation over time.
        image_size: (width, height) in pixels when the file says, else None.
        fps: frames per second when the file says, else None.
        units: "pixels" or "normalised".
        source: the path that was read.
        layout: the file's joint layout: "h36m17" | "coco17" | "body25" | "halpe26" | "mediapipe33".
        absent: joints absent (or below the threshold) in *every* frame, e.g. the legs of an
            upper-body clip: their rows of `poses` hold the root's 2D (the encoding of a hidden
            joint for the lifter, `training/augment.py`) and `missing` is True for them
            throughout. A model trained with hidden joints fills them in 3D (`lift_io`).
    """

    poses: np.ndarray
    scores: np.ndarray | None
    missing: np.ndarray
    image_size: tuple[int, int] | None
    fps: float | None
    units: str
    source: str
    layout: str
    absent: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.poses)


@dataclass
class _Raw:
    """A sequence in its source layout before mapping / filling."""

    points: np.ndarray            # (T, J, 2) float64; NaN = absent
    scores: np.ndarray | None     # (T, J) float64 raw confidences, or None
    layout: str
    zero_is_missing: bool = False  # OpenPose / COCO write (0, 0) for "not detected"
    image_size: tuple[int, int] | None = None
    fps: float | None = None


# --------------------------------------------------------------------------------------------
# Shared helpers


def _resolve_layout(p: Path, joints: int, layout: str, default17: str) -> str:
    """Layout from the joint count, checked against an explicit `layout`."""
    if layout != "auto":
        if LAYOUT_NUM_JOINTS[layout] != joints:
            raise InputError(f"{p}: layout {layout} has {LAYOUT_NUM_JOINTS[layout]} joints but the "
                             f"file has {joints}")
        return layout
    by_count = {17: default17, 25: "body25", 26: "halpe26", 33: "mediapipe33"}
    if joints not in by_count:
        raise InputError(f"{p}: {joints} joints per frame; expected 17 (COCO / Human3.6M), "
                         f"25 (BODY_25), 26 (Halpe) or 33 (MediaPipe)")
    return by_count[joints]


def _floats(p: Path, value: Any, what: str) -> np.ndarray:
    """A JSON list of numbers (null -> NaN) -> float64 (n,); InputError for anything else."""
    if not isinstance(value, list):
        raise InputError(f"{p}: {what} is {_type_name(value)}, expected a list of numbers")
    out = np.empty(len(value), dtype=np.float64)
    for i, v in enumerate(value):
        if v is None:
            out[i] = np.nan
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                out[i] = float(v)
            except OverflowError:
                raise InputError(f"{p}: {what}[{i}] is too large a number") from None
        else:
            raise InputError(f"{p}: {what}[{i}] is {_type_name(v)}, expected a number")
    return out


def _type_name(v: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             type(None): "null", int: "a number", float: "a number"}
    return names.get(type(v), type(v).__name__)


def _number(v: Any) -> float | None:
    """A JSON scalar number as float, else None."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            f = float(v)
        except OverflowError:
            return None
        return f if math.isfinite(f) else None
    return None


def _split_xy(p: Path, arr: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(..., J, 2|3) numbers -> points (..., J, 2), scores (..., J) | None; checks dtype."""
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{p}: {what} has dtype {arr.dtype}, expected numbers")
    if arr.shape[-1] not in (2, 3):
        raise InputError(f"{p}: {what} has {arr.shape[-1]} values per joint, expected 2 (x, y) "
                         f"or 3 (x, y, score)")
    a = arr.astype(np.float64)
    return a[..., :2], (a[..., 2] if a.shape[-1] == 3 else None)


# --------------------------------------------------------------------------------------------
# Validation, mapping and gap filling (all formats)


def _finish(p: Path, raw: _Raw, min_score: float, max_missing: float) -> Keypoints2D:
    pts, sc = raw.points, raw.scores
    if pts.shape[0] == 0:
        raise InputError(f"{p}: empty sequence (0 frames)")
    if np.isinf(pts).any():
        raise InputError(f"{p}: contains infinite coordinates")
    absent = np.isnan(pts).any(axis=-1)
    if raw.zero_is_missing:
        absent |= (pts == 0).all(axis=-1)
    if sc is not None:
        sc = np.where(np.isnan(sc), 0.0, sc)  # a NaN confidence is no confidence
        absent |= ~(sc >= min_score)
    pts = pts.copy() if not pts.flags.writeable else pts
    pts[absent] = np.nan  # in place: long inputs get no second full-size copy
    biggest = _max_abs(pts)
    if biggest > MAX_ABS_COORD:
        raise InputError(f"{p}: coordinates up to {biggest:.3g}, beyond "
                         f"+-{MAX_ABS_COORD:g}: corrupt file?")
    # A frame whose joints all sit on one point (all zeros: "nobody detected") is no pose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no valid joint: all-NaN slices
        spread = np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)  # (T, 2)
    seen = (~np.isnan(pts).any(axis=-1)).sum(axis=1)  # valid joints per frame
    degenerate = (seen >= 2) & ~(np.nan_to_num(spread, nan=0.0) > 0).any(axis=-1)
    pts[degenerate] = np.nan
    if degenerate.all():
        raise InputError(f"{p}: every frame has all joints on one point (e.g. all zeros): no pose to lift")
    if degenerate.any():
        warnings.warn(f"{p}: {int(degenerate.sum())} of {len(pts)} frames have all joints on one point "
                      f"(e.g. all zeros); treated as missing and filled from their neighbours", stacklevel=3)
    poses, out_sc = to_h36m17(pts, sc, raw.layout)
    missing = np.isnan(poses).any(axis=-1)

    T = len(poses)
    frac = missing.mean()
    if frac > max_missing:
        raise InputError(f"{p}: {100 * frac:.0f}% of the joints are absent or below "
                         f"min_score={min_score:g} (at most {100 * max_missing:.0f}% allowed)")
    never = np.nonzero(missing.all(axis=0))[0]
    if ROOT in never:
        src = describe_rule(raw.layout, JOINT_MAPS[raw.layout][ROOT])
        raise InputError(f"{p}: joint {JOINT_NAMES[ROOT]} (from {raw.layout} {src}) is absent or below "
                         f"min_score={min_score:g} in all {T} frames: the hips are needed to place the body")
    gaps = missing.copy()
    gaps[:, never] = False  # joints never seen are not interpolated: they get the root's 2D below
    _fill_gaps(poses, gaps)
    poses[:, never] = poses[:, ROOT : ROOT + 1]

    _report_jumps(p, poses)
    # After filling, every coordinate is finite; missing joints were interpolated from valid ones,
    # so the largest magnitude is that of a valid coordinate.
    units = "normalised" if _max_abs(poses) <= NORMALISED_LIMIT else "pixels"
    scores = None if out_sc is None else np.clip(out_sc, 0.0, 1.0).astype(np.float32)
    return Keypoints2D(
        poses=poses.astype(np.float32), scores=scores, missing=missing,
        image_size=raw.image_size, fps=raw.fps, units=units, source=str(p), layout=raw.layout,
        absent=tuple(int(j) for j in never),
    )


def _report_jumps(p: Path, poses: np.ndarray) -> None:
    """One warning for frames where the person (hip) or one of its joints relative to the hip moves
    by more than the median head-hip length from one frame to the next: a switch to another person
    in a multi-person file, or a detection error that would go straight into the 3D. (T, 17, 2)."""
    if len(poses) < 3:
        return
    size = np.median(head_root_length(poses))
    if not size > 0:
        return
    centred = root_centre(poses)
    move = np.linalg.norm(np.diff(poses[:, ROOT], axis=0), axis=-1)  # (T-1,)
    reshape = np.linalg.norm(np.diff(centred, axis=0), axis=-1).max(axis=1)  # (T-1,) worst joint
    jumps = np.nonzero((move > size) | (reshape > size))[0] + 1
    if len(jumps):
        warnings.warn(f"{p}: {len(jumps)} of {len(poses)} frames jump by more than a head-hip length from the frame "
                      f"before (first frames {jumps[:5].tolist()}): another person (pass --track) or detection "
                      f"errors (try --smooth)", stacklevel=3)


def _max_abs(arr: np.ndarray, chunk: int = 65536) -> float:
    """Largest finite |value| of (T, ...), NaN ignored, in chunks of frames (no full-size copy)."""
    best = 0.0
    for i in range(0, len(arr), chunk):
        a = np.abs(arr[i : i + chunk])
        if np.isfinite(a).any():
            best = max(best, float(np.nanmax(a)))
    return best


def _fill_gaps(poses: np.ndarray, missing: np.ndarray) -> None:
    """In place: linear interpolation over time per joint; edges take the nearest valid value."""
    t = np.arange(len(poses))
    for j in range(NUM_JOINTS):
        m = missing[:, j]
        if m.any():
            for d in range(poses.shape[-1]):
                poses[m, j, d] = np.interp(t[m], t[~m], poses[~m, j, d])


# --------------------------------------------------------------------------------------------
# JSON (COCO family and OpenPose)


def _load_json(p: Path) -> Any:
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not JSON (not UTF-8 text)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{p}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise InputError(f"{p}: not usable JSON (nested too deeply)") from None


def _norm_track(v: Any) -> Any:
    """Track ids compare as numbers when they are numbers (1 == 1.0 == [1] == "1", as typed on a
    command line)."""
    if isinstance(v, list) and len(v) == 1:
        v = v[0]
    n = _number(v)
    if n is None and isinstance(v, str):
        try:
            n = _number(float(v))
        except ValueError:
            return v
    return n
