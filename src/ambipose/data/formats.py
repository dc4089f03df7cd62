"""Readers for 2D keypoint files: detector outputs and plain arrays -> `Keypoints2D`.

`read_keypoints(path)` reads
- COCO keypoint JSON (MMPose, Detectron2, AlphaPose results lists; COCO-style
  {"annotations", "images"} files; MMPose 1.x {"instance_info": [{"frame_id", "instances"}]}),
- an OpenPose folder of per-frame `*_keypoints.json` files (or one such file),
- VideoPose3D custom `data_2d_custom_*.npz` files (pickled dicts, read with a restricted unpickler),
- plain arrays in .npy / .npz / .csv,
and returns the poses in the Human3.6M-17 order (see `joint_maps`), with every absent or
low-confidence joint filled by linear interpolation over time and flagged in `missing`.
The rules are described in docs/formats.md. Every problem with the file raises
`InputError("<path>: <problem>")`.
"""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .safe_npz import load_npz_restricted
from .joint_maps import JOINT_MAPS, LAYOUT_NUM_JOINTS, LAYOUTS, describe_rule, to_h36m17
from .skeleton import JOINT_NAMES, NUM_JOINTS, ROOT, head_root_length, root_centre

__all__ = ["Keypoints2D", "read_keypoints", "FORMATS", "LAYOUTS"]

FORMATS: tuple[str, ...] = ("auto", "coco", "openpose", "vp3d", "npy", "npz", "csv")
# Keys tried, in order, for the poses in a plain .npz file.
NPZ_KEYS: tuple[str, ...] = ("keypoints", "poses_2d", "positions_2d")
# |coordinate| above this is treated as corrupt: no image is a million pixels wide, and float32
# (the output type) resolves coordinates this large to worse than 0.1 px anyway.
MAX_ABS_COORD = 1e6
# Every valid coordinate within +-this -> the file holds normalised coordinates, not pixels
# (a whole person inside 1.5 x 1.5 pixels is not a real detection).
NORMALISED_LIMIT = 1.5
# Errors numpy / zipfile / zlib raise for corrupt or truncated .npy / .npz files.
# (RuntimeError: an encrypted zip member.)
_NPZ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError,
               KeyError, MemoryError, NotImplementedError, TypeError, SyntaxError, RuntimeError)
# Plain-array column counts (csv) -> (joints, values per joint).
_CSV_COLUMNS = {LAYOUT_NUM_JOINTS[lay] * d: (LAYOUT_NUM_JOINTS[lay], d)
                for lay in ("h36m17", "body25", "halpe26", "mediapipe33") for d in (2, 3)}
_FRAME_COLUMN_NAMES = {"", "frame", "frame_id", "frame_idx", "index", "idx", "t", "time"}


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
    """

    poses: np.ndarray
    scores: np.ndarray | None
    missing: np.ndarray
    image_size: tuple[int, int] | None
    fps: float | None
    units: str
    source: str
    layout: str

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
# Entry point


def read_keypoints(
    path: str | Path,
    format: str = "auto",
    layout: str = "auto",
    min_score: float = 0.3,
    track: int | str | None = None,
    max_missing: float = 0.5,
    allow_pickle: bool = True,
) -> Keypoints2D:
    """Read a 2D keypoint file and return it in the Human3.6M-17 order.

    Args:
        path: a file, or for OpenPose a folder of `*_keypoints.json` files.
        format: one of `FORMATS`; "auto" picks by extension (.json, .npz, .npy, .csv, folder)
            and, for .json / .npz, by content.
        layout: joint layout of the file, one of `LAYOUTS` or "auto" (inferred from the joint
            count and the format: 17 joints are COCO-17 in JSON / VideoPose3D files and
            Human3.6M-17 in plain arrays).
        min_score: joints with a confidence below this are treated as missing. Compared with the
            file's raw scores (Detectron2's scores are heatmap logits and may exceed 1).
        track: which person / video: COCO-style JSON `track_id` (or AlphaPose `idx`), OpenPose
            `person_id`, VideoPose3D video name (str) or index (int). None: the highest-scoring
            person in each frame / the first video.
        max_missing: raise if more than this fraction of all T x 17 joints is missing.
        allow_pickle: VideoPose3D custom files hold pickled dicts. They are unpickled by a
            restricted unpickler that admits only containers, numbers, strings and arrays (a
            crafted file cannot run code); pass False to refuse pickled files altogether.

    Raises:
        InputError: "<path>: <problem>" for anything wrong with the file or the request.
        ValueError: `min_score` / `max_missing` out of range (a programming error).
    """
    if not 0.0 <= max_missing <= 1.0:
        raise ValueError(f"max_missing must be in [0, 1], got {max_missing}")
    if not math.isfinite(min_score):
        raise ValueError(f"min_score must be finite, got {min_score}")
    p = Path(path)
    if format not in FORMATS:
        raise InputError(f"{p}: unknown format {format!r} (expected one of {', '.join(FORMATS)})")
    if layout != "auto" and layout not in LAYOUTS:
        raise InputError(f"{p}: unknown layout {layout!r} (expected auto, {', '.join(LAYOUTS)})")
    if not p.exists():
        raise InputError(f"{p}: file not found")
    fmt = _detect_format(p) if format == "auto" else format
    if p.is_dir() and fmt != "openpose":
        raise InputError(f"{p}: is a folder; only OpenPose output (*_keypoints.json files) is read "
                         f"from a folder")
    if fmt == "openpose":
        raw = _read_openpose(p, layout, track)
    elif fmt in ("coco", "auto-json"):
        raw = _read_json_file(p, layout, track, openpose_ok=fmt == "auto-json")
    elif fmt in ("vp3d", "npz"):
        raw = _read_npz(p, layout, track, fmt, allow_pickle)
    elif fmt == "npy":
        raw = _read_npy(p, layout)
    else:  # csv
        raw = _read_csv(p, layout)
    return _finish(p, raw, min_score, max_missing)


def _detect_format(p: Path) -> str:
    if p.is_dir():
        return "openpose"
    suffix = p.suffix.lower()
    known = {".json": "auto-json", ".npz": "npz", ".npy": "npy", ".csv": "csv"}
    if suffix not in known:
        raise InputError(f"{p}: unknown file type {suffix or '(no extension)'!r}: expected .json, "
                         f".npz, .npy, .csv or an OpenPose folder (or pass format=)")
    return known[suffix]


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
    if len(never):
        j = int(never[0])
        src = describe_rule(raw.layout, JOINT_MAPS[raw.layout][j])
        raise InputError(f"{p}: joint {JOINT_NAMES[j]} (from {raw.layout} {src}) is absent or below "
                         f"min_score={min_score:g} in all {T} frames")
    _fill_gaps(poses, missing)

    _report_jumps(p, poses)
    # After filling, every coordinate is finite; missing joints were interpolated from valid ones,
    # so the largest magnitude is that of a valid coordinate.
    units = "normalised" if _max_abs(poses) <= NORMALISED_LIMIT else "pixels"
    scores = None if out_sc is None else np.clip(out_sc, 0.0, 1.0).astype(np.float32)
    return Keypoints2D(
        poses=poses.astype(np.float32), scores=scores, missing=missing,
        image_size=raw.image_size, fps=raw.fps, units=units, source=str(p), layout=raw.layout,
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
# JSON: COCO-style lists, MMPose, OpenPose


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


def _read_json_file(p: Path, layout: str, track: int | str | None, openpose_ok: bool) -> _Raw:
    """A .json file: COCO-style / MMPose, or (if `openpose_ok`) one OpenPose frame."""
    value = _load_json(p)
    if openpose_ok and isinstance(value, dict) and "people" in value:
        return _openpose_frames(p, [(p, value)], layout, track)
    return _coco_json(p, value, layout, track)


def _coco_json(p: Path, value: Any, layout: str, track: int | str | None) -> _Raw:
    """COCO-family JSON -> frames. Collects (frame key, instance) pairs, then selects per frame."""
    instances: list[tuple[Any, dict]] = []
    frame_keys: list[Any] = []      # every frame the file declares, even without instances
    image_size: tuple[int, int] | None = None
    if isinstance(value, dict) and "annotations" in value:
        anns = value["annotations"]
        if not isinstance(anns, list):
            raise InputError(f"{p}: 'annotations' is {_type_name(anns)}, expected a list")
        images = value.get("images", [])
        if not isinstance(images, list):
            raise InputError(f"{p}: 'images' is {_type_name(images)}, expected a list")
        sizes = set()
        for i, im in enumerate(images):
            if not isinstance(im, dict) or "id" not in im:
                raise InputError(f"{p}: images[{i}] is not an object with an 'id'")
            frame_keys.append(_frame_key(p, im["id"], f"images[{i}].id"))
            w, h = _number(im.get("width")), _number(im.get("height"))
            if w and h and w > 0 and h > 0:
                sizes.add((int(w), int(h)))
        if len(sizes) == 1:
            image_size = sizes.pop()
        for i, a in enumerate(anns):
            instances.append((_instance_frame(p, a, f"annotations[{i}]"), a))
    elif isinstance(value, dict) and "instance_info" in value:
        _mmpose_frames(p, value["instance_info"], "instance_info", instances, frame_keys)
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) and "instances" in v for v in value):
            _mmpose_frames(p, value, "the list", instances, frame_keys)
        else:
            for i, a in enumerate(value):
                instances.append((_instance_frame(p, a, f"instance {i}"), a))
    else:
        raise InputError(f"{p}: JSON top level is {_type_name(value)}; expected a list of keypoint "
                         f"instances, {{'annotations': [...]}}, {{'instance_info': [...]}} or an "
                         f"OpenPose frame {{'people': [...]}}")
    if not instances and not frame_keys:
        raise InputError(f"{p}: empty sequence (no keypoint instances)")

    # Decode every instance once: (points (J, 2), scores (J,) | None).
    decoded = [(_instance_points(p, inst, f"instance {i}"), inst)
               for i, (_, inst) in enumerate(instances)]
    joints = {pt.shape[0] for (pt, _), _ in decoded}
    if len(joints) > 1:
        raise InputError(f"{p}: instances have different joint counts {sorted(joints)}")
    n_joints = joints.pop() if joints else LAYOUT_NUM_JOINTS["coco17" if layout == "auto" else layout]
    lay = _resolve_layout(p, n_joints, layout, default17="coco17")

    frames = _frame_order(p, frame_keys + [k for k, _ in instances])
    index = {k: i for i, k in enumerate(frames)}
    groups: list[list[tuple[tuple[np.ndarray, np.ndarray | None], dict]]] = [[] for _ in frames]
    for (key, _), dec in zip(instances, decoded):
        groups[index[key]].append(dec)

    if track is not None:
        tracked = [(d, inst) for g in groups for d, inst in g if _track_of(inst) is not None]
        if not tracked:
            raise InputError(f"{p}: track {track!r} requested but no instance has a 'track_id' "
                             f"(or 'idx')")
        present = {_track_of(inst) for _, inst in tracked}
        if _norm_track(track) not in present:
            raise InputError(f"{p}: track {track!r} not found (tracks: "
                             f"{', '.join(map(str, sorted(present, key=str)[:20]))})")
    T = len(frames)
    points = np.full((T, n_joints, 2), np.nan)
    scores = np.full((T, n_joints), np.nan)
    has_scores = any(s is not None for (_, s), _ in decoded)
    for t, g in enumerate(groups):
        if track is not None:
            g = [(d, inst) for d, inst in g if _track_of(inst) == _norm_track(track)]
        if not g:
            continue  # no person in this frame: all joints missing
        (pt, sc), _ = max(g, key=lambda di: _instance_score(*di))  # first wins ties
        points[t] = pt
        scores[t] = sc if sc is not None else (1.0 if has_scores else np.nan)
    return _Raw(points, scores if has_scores else None, lay, zero_is_missing=True,
                image_size=image_size)


def _mmpose_frames(p: Path, frames: Any, what: str, instances: list, frame_keys: list) -> None:
    """MMPose 1.x: [{"frame_id": k, "instances": [{"keypoints": [[x, y]], "keypoint_scores"}]}]."""
    if not isinstance(frames, list):
        raise InputError(f"{p}: {what} is {_type_name(frames)}, expected a list of frames")
    for i, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("instances"), list):
            raise InputError(f"{p}: {what}[{i}] is not an object with an 'instances' list")
        key = (_frame_key(p, fr["frame_id"], f"{what}[{i}].frame_id") if "frame_id" in fr
               else _frame_key(p, i, ""))
        frame_keys.append(key)
        for inst in fr["instances"]:
            if not isinstance(inst, dict):
                raise InputError(f"{p}: {what}[{i}].instances holds {_type_name(inst)}, expected "
                                 f"objects")
            instances.append((key, inst))


def _instance_frame(p: Path, inst: Any, what: str) -> Any:
    if not isinstance(inst, dict):
        raise InputError(f"{p}: {what} is {_type_name(inst)}, expected an object with 'keypoints'")
    for k in ("image_id", "frame_id", "frame"):
        if k in inst:
            return _frame_key(p, inst[k], f"{what}.{k}")
    raise InputError(f"{p}: {what} has no 'image_id', 'frame_id' or 'frame'")


def _frame_key(p: Path, v: Any, what: str) -> tuple[int, float, str]:
    """Sort key of a frame id: numbers by value; strings (AlphaPose "12.jpg") by their last number."""
    num = _number(v)
    if num is not None:
        return (0, num, "")
    if isinstance(v, str):
        digits = re.findall(r"\d+", v)
        return (0, float(digits[-1]), v) if digits else (1, 0.0, v)
    raise InputError(f"{p}: {what} is {_type_name(v)}, expected a number or a string")


def _frame_order(p: Path, keys: list[tuple[int, float, str]]) -> list[tuple[int, float, str]]:
    """Distinct frame keys in time order; integer gaps are re-inserted as empty frames.

    Result lists omit frames without detections; re-inserting them keeps time uniform. Ids spread
    more thinly than 1 in 2 (e.g. COCO dataset image ids) are not frame numbers: kept as given.
    """
    frames = sorted(set(keys))
    if frames and all(k[0] == 0 and k[2] == "" and k[1].is_integer() for k in frames):
        first, last = frames[0][1], frames[-1][1]
        span = last - first + 1  # may be inf for absurd ids: then it is never <= 2 * n
        if span > len(frames):
            if span <= 2 * len(frames):
                return [(0, float(n), "") for n in range(int(first), int(last) + 1)]
            warnings.warn(f"{p}: frame ids have large gaps ({len(frames)} ids over {span:.0f}); "
                          f"frames are kept in id order without re-inserting the gaps", stacklevel=4)
    return frames


def _instance_points(p: Path, inst: dict, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """One COCO/MMPose instance -> points (J, 2), scores (J,) | None."""
    if "keypoints" not in inst:
        raise InputError(f"{p}: {what} has no 'keypoints'")
    kp = inst["keypoints"]
    if isinstance(kp, list) and kp and all(isinstance(v, list) for v in kp):
        # MMPose 1.x: [[x, y], ...] (+ "keypoint_scores") or [[x, y, s], ...].
        rows = [_floats(p, v, f"{what}.keypoints[{i}]") for i, v in enumerate(kp)]
        if len({len(r) for r in rows}) != 1:
            raise InputError(f"{p}: {what}.keypoints rows have different lengths")
        pts, sc = _split_xy(p, np.stack(rows), f"{what}.keypoints")
    else:
        flat = _floats(p, kp, f"{what}.keypoints")
        if len(flat) == 0 or len(flat) % 3:
            raise InputError(f"{p}: {what}.keypoints has {len(flat)} values, expected "
                             f"[x, y, score] per joint (a multiple of 3)")
        a = flat.reshape(-1, 3)
        pts, sc = a[:, :2], a[:, 2]
    if "keypoint_scores" in inst:
        sc = _floats(p, inst["keypoint_scores"], f"{what}.keypoint_scores")
        if len(sc) != len(pts):
            raise InputError(f"{p}: {what}.keypoint_scores has {len(sc)} values for {len(pts)} "
                             f"joints")
    return pts, sc


def _instance_score(dec: tuple[np.ndarray, np.ndarray | None], inst: dict) -> float:
    """Ranking score: the instance `score` (MMPose 1.x: `bbox_score`), else the mean joint score,
    else 0."""
    s = _number(inst.get("score", inst.get("bbox_score")))
    if s is not None:
        return s
    sc = dec[1]
    if sc is not None and np.isfinite(sc).any():
        return float(np.nanmean(np.where(np.isfinite(sc), sc, np.nan)))
    return 0.0


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


def _track_of(inst: dict) -> Any:
    for k in ("track_id", "idx", "person_id"):
        if k in inst:
            return _norm_track(inst[k])
    return None


def _read_openpose(p: Path, layout: str, track: int | str | None) -> _Raw:
    if p.is_file():
        value = _load_json(p)
        if not isinstance(value, dict) or "people" not in value:
            raise InputError(f"{p}: not an OpenPose keypoints file (no 'people' list)")
        return _openpose_frames(p, [(p, value)], layout, track)
    files = list(p.glob("*_keypoints.json"))
    if not files:
        raise InputError(f"{p}: no OpenPose *_keypoints.json files in this folder")
    numbered: dict[int, Path] = {}
    for f in files:
        m = re.search(r"(\d+)_keypoints\.json$", f.name)
        if m is None:
            raise InputError(f"{f}: no frame number before '_keypoints.json'; cannot order frames")
        n = int(m.group(1))
        if n in numbered:
            raise InputError(f"{p}: two files for frame {n} ({numbered[n].name}, {f.name}); "
                             f"one folder must hold one video")
        numbered[n] = f
    frames = [(numbered[n], _load_json(numbered[n])) for n in sorted(numbered)]
    return _openpose_frames(p, frames, layout, track)


def _openpose_frames(p: Path, frames: list[tuple[Path, Any]], layout: str,
                     track: int | str | None) -> _Raw:
    """OpenPose frames [(file, json)] -> _Raw. No person (or no tracked person) -> all missing."""
    per_frame: list[tuple[np.ndarray, np.ndarray] | None] = []
    n_joints: int | None = None
    seen_tracks: set = set()
    for f, value in frames:
        if not isinstance(value, dict) or not isinstance(value.get("people"), list):
            raise InputError(f"{f}: not an OpenPose keypoints file (no 'people' list)")
        best: tuple[float, np.ndarray] | None = None
        for i, person in enumerate(value["people"]):
            if not isinstance(person, dict):
                raise InputError(f"{f}: people[{i}] is {_type_name(person)}, expected an object")
            flat = _floats(f, person.get("pose_keypoints_2d", []), f"people[{i}].pose_keypoints_2d")
            if len(flat) == 0:
                continue  # OpenPose writes [] for a person without body keypoints
            if len(flat) % 3:
                raise InputError(f"{f}: people[{i}].pose_keypoints_2d has {len(flat)} values, "
                                 f"expected [x, y, c] per joint")
            a = flat.reshape(-1, 3)
            if n_joints is None:
                n_joints = len(a)
                if n_joints == 18 and layout == "auto":
                    raise InputError(f"{f}: 18 joints (OpenPose COCO-18 model) are not supported; "
                                     f"run OpenPose with the BODY_25 model")
                _resolve_layout(f, n_joints, layout, default17="coco17")
            elif len(a) != n_joints:
                raise InputError(f"{f}: people[{i}] has {len(a)} joints, earlier frames {n_joints}")
            if track is not None:
                pid = _norm_track(person.get("person_id"))
                seen_tracks.add(pid)
                if pid != _norm_track(track):
                    continue
            score = float(np.nansum(a[:, 2]))  # OpenPose has no person score: total confidence
            if best is None or score > best[0]:
                best = (score, a)
        per_frame.append(None if best is None else (best[1][:, :2], best[1][:, 2]))
    if not per_frame:
        raise InputError(f"{p}: empty sequence (0 frames)")
    if n_joints is None:
        raise InputError(f"{p}: no person detected in any of the {len(per_frame)} frames")
    if track is not None and all(fr is None for fr in per_frame):
        raise InputError(f"{p}: person_id {track!r} not found (ids: "
                         f"{', '.join(map(str, sorted(seen_tracks, key=str)[:20]))})")
    lay = _resolve_layout(p, n_joints, layout, default17="coco17")
    points = np.full((len(per_frame), n_joints, 2), np.nan)
    scores = np.zeros((len(per_frame), n_joints))
    for t, fr in enumerate(per_frame):
        if fr is not None:
            points[t], scores[t] = fr
    return _Raw(points, scores, lay, zero_is_missing=True)


# --------------------------------------------------------------------------------------------
# npz / npy: VideoPose3D custom files and plain arrays


def _check_npy_header(p: Path, fp: Any, available: int, what: str) -> None:
    """Refuse a .npy stream whose header declares more data than the file holds.

    `what` prefixes the problem in messages: "" for a .npy file, "'key' is " for an npz member.

    numpy allocates the declared size before reading, so a corrupt header could otherwise ask for
    terabytes (or, worse, a few gigabytes that succeed).
    """
    fmt = np.lib.format
    start = fp.tell()
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            return  # rare v3 headers: np.load reports problems itself
    except _NPZ_ERRORS as e:
        raise InputError(f"{p}: {what}not a readable .npy array ({_short(e)})") from None
    if dtype.hasobject:
        return  # pickled: the loader decides
    need = math.prod(shape) * dtype.itemsize
    have = available - (fp.tell() - start)
    if need > have:
        raise InputError(f"{p}: {what}truncated or corrupt (header declares {need} bytes, "
                         f"{max(have, 0)} present)")


def _read_npy(p: Path, layout: str) -> _Raw:
    try:
        with open(p, "rb") as fp:
            _check_npy_header(p, fp, p.stat().st_size, "")
        arr = np.load(p, allow_pickle=False)
    except InputError:
        raise
    except _NPZ_ERRORS as e:
        raise InputError(f"{p}: not a readable .npy array ({_short(e)})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{p}: not a .npy array")
    return _plain_array(p, arr, "the array", layout)


def _short(e: BaseException) -> str:
    s = str(e).splitlines()[0] if str(e) else type(e).__name__
    return s[:160]


def _open_npz(p: Path, allow_pickle: bool) -> Any:
    if not zipfile.is_zipfile(p):  # np.load would also accept .npy / pickle bytes here
        raise InputError(f"{p}: not a readable .npz file (not a zip archive)")
    try:
        return np.load(p, allow_pickle=allow_pickle)
    except _NPZ_ERRORS as e:
        raise InputError(f"{p}: not a readable .npz file ({_short(e)})") from None


def _npz_member(p: Path, d: Any, key: str) -> Any:
    """One array of an open npz, with header / truncation checks; InputError on corruption."""
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            info = z.getinfo(key + ".npy" if key + ".npy" in names else key)
            with z.open(info) as fp:
                _check_npy_header(p, fp, info.file_size, f"'{key}' is ")
        arr = d[key]
        if not isinstance(arr, np.ndarray):
            raise InputError(f"{p}: '{key}' is not a .npy array")
        return arr
    except InputError:
        raise
    except _NPZ_ERRORS as e:
        msg = _short(e)
        if "allow_pickle" in msg or "pickled" in msg:
            raise InputError(f"{p}: '{key}' holds pickled Python objects, not a numeric array"
                             + ("; this looks like a VideoPose3D file: use format='vp3d'"
                                if key == "positions_2d" else "")) from None
        raise InputError(f"{p}: '{key}' is truncated or corrupt ({msg})") from None


def _read_npz(p: Path, layout: str, track: int | str | None, fmt: str, allow_pickle: bool) -> _Raw:
    d = _open_npz(p, allow_pickle=False)
    with d:
        files = list(d.files)
        if fmt == "vp3d" or (fmt == "npz" and {"positions_2d", "metadata"} <= set(files)
                             and _is_pickled(p, d, "positions_2d")):
            if "positions_2d" not in files:
                raise InputError(f"{p}: no 'positions_2d' (keys: {', '.join(files) or 'none'}); "
                                 f"not a VideoPose3D custom file")
            if not allow_pickle:
                raise InputError(f"{p}: VideoPose3D custom files hold pickled objects; refusing "
                                 f"with allow_pickle=False")
            return _read_vp3d(p, layout, track)
        key = next((k for k in NPZ_KEYS if k in files), None)
        if key is None:
            arrays = [k for k in files if k not in ("scores", "fps", "image_size")]
            if len(arrays) != 1:
                raise InputError(f"{p}: cannot tell which array holds the keypoints (keys: "
                                 f"{', '.join(files) or 'none'}); name it one of "
                                 f"{', '.join(NPZ_KEYS)}")
            key = arrays[0]
        arr = _npz_member(p, d, key)
        raw = _plain_array(p, arr, f"'{key}'", layout)
        if "scores" in files:
            if raw.scores is not None:
                raise InputError(f"{p}: scores given twice (a third column in '{key}' and 'scores')")
            sc = _npz_member(p, d, "scores")
            if sc.shape != raw.points.shape[:2] or not np.issubdtype(sc.dtype, np.number) \
                    or np.iscomplexobj(sc):
                raise InputError(f"{p}: 'scores' has shape {sc.shape} / dtype {sc.dtype}, expected "
                                 f"numbers of shape {raw.points.shape[:2]}")
            raw.scores = sc.astype(np.float64)
        if "fps" in files:
            fps = _npz_member(p, d, "fps")
            f = _number(fps.item()) if fps.size == 1 and fps.dtype.kind in "iuf" else None
            if f is None or f <= 0:
                raise InputError(f"{p}: 'fps' must be one positive number")
            raw.fps = f
        if "image_size" in files:
            size = _npz_member(p, d, "image_size")
            if size.shape != (2,) or size.dtype.kind not in "iuf" or not (size > 0).all() \
                    or not np.isfinite(size).all():
                raise InputError(f"{p}: 'image_size' must be two positive numbers (width, height)")
            raw.image_size = (int(size[0]), int(size[1]))
        return raw


def _is_pickled(p: Path, d: Any, key: str) -> bool:
    try:
        _npz_member(p, d, key)
        return False
    except InputError as e:
        if "pickled" in str(e):
            return True
        raise


def _read_vp3d(p: Path, layout: str, track: int | str | None) -> _Raw:
    """VideoPose3D `data_2d_custom_*.npz`: pickled dicts, read with a restricted unpickler that
    refuses anything but containers, numbers, strings and arrays (`data/safe_npz.py`)."""
    d = load_npz_restricted(p)
    try:
        pos = d["positions_2d"].item()
        meta = d["metadata"].item() if "metadata" in d else {}
    except (KeyError, AttributeError, ValueError) as e:
        raise InputError(f"{p}: not a readable VideoPose3D custom file ({type(e).__name__}: "
                         f"{_short(e)})") from None
    if not isinstance(pos, dict) or not pos:
        raise InputError(f"{p}: 'positions_2d' is {type(pos).__name__}, expected a non-empty dict "
                         f"{{video: {{'custom': [array]}}}}")
    if not isinstance(meta, dict):
        raise InputError(f"{p}: 'metadata' is {type(meta).__name__}, expected a dict")
    videos = list(pos)
    if isinstance(track, str) and track not in pos and track.isdigit():
        track = int(track)  # "1" from a command line: an index, unless a video is named so
    if track is None:
        video = videos[0]
    elif isinstance(track, int) and not isinstance(track, bool):
        if not 0 <= track < len(videos):
            raise InputError(f"{p}: video index {track} out of range ({len(videos)} videos)")
        video = videos[track]
    elif track in pos:
        video = track
    else:
        raise InputError(f"{p}: video {track!r} not found (videos: "
                         f"{', '.join(map(str, videos[:20]))})")
    entry = pos[video]
    seq = entry.get("custom") if isinstance(entry, dict) else None
    if not isinstance(seq, (list, tuple)) or not seq or not isinstance(seq[0], np.ndarray):
        raise InputError(f"{p}: positions_2d[{video!r}] is not {{'custom': [array (N, 17, 2)]}}")
    arr = seq[0]
    what = f"positions_2d[{video!r}]['custom'][0]"
    if arr.ndim != 3:
        raise InputError(f"{p}: {what} has shape {arr.shape}, expected (T, J, 2)")
    pts, sc = _split_xy(p, arr, what)
    names = {"coco": "coco17", "h36m": "h36m17"}
    name = meta.get("layout_name")
    if layout == "auto" and name is not None and name not in names:
        raise InputError(f"{p}: metadata layout_name {name!r} is not supported (coco, h36m); pass "
                         f"layout=")
    lay = _resolve_layout(p, arr.shape[1], layout if layout != "auto" else names.get(name, "auto"),
                          default17="coco17")
    image_size = None
    vm = meta.get("video_metadata")
    info = vm.get(video) if isinstance(vm, dict) else None
    if isinstance(info, dict):
        w, h = _number(info.get("w")), _number(info.get("h"))
        if w and h and w > 0 and h > 0:
            image_size = (int(w), int(h))
    return _Raw(pts, sc, lay, image_size=image_size)


def _plain_array(p: Path, arr: np.ndarray, what: str, layout: str) -> _Raw:
    """(T, J, 2|3) numbers -> _Raw; J = 17 is Human3.6M-17 unless `layout` says coco17."""
    if arr.ndim != 3:
        raise InputError(f"{p}: {what} has shape {arr.shape}, expected (T, J, 2) or (T, J, 3)")
    pts, sc = _split_xy(p, arr, what)
    lay = _resolve_layout(p, arr.shape[1], layout, default17="h36m17")
    if layout == "auto" and lay == "h36m17":
        _check_h36m_order(p, pts)
    return _Raw(pts, sc, lay)


def _upright_share(pts: np.ndarray, top: list[int], hips: list[int], feet: list[int]) -> float:
    """Share of frames (with those joints present) where the top joint is above the hips and the
    feet below them in image coordinates (y down): (T, J, 2) -> [0, 1]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y_top = np.nanmean(pts[:, top, 1], axis=1)
        y_hip = np.nanmean(pts[:, hips, 1], axis=1)
        y_feet = np.nanmean(pts[:, feet, 1], axis=1)
    ok = np.isfinite(y_top) & np.isfinite(y_hip) & np.isfinite(y_feet)
    if ok.sum() < 10:  # too few frames to judge
        return 1.0
    return float(((y_top < y_hip) & (y_feet > y_hip))[ok].mean())


def _check_h36m_order(p: Path, pts: np.ndarray) -> None:
    """17 joints in a plain array are taken as Human3.6M-17 unless --layout says otherwise. COCO-17
    arrays read that way come out upside down; refuse those with the fix, and warn when the
    person is not upright in most frames either way (y pointing up, or a wrong layout)."""
    h36m = _upright_share(pts, [10], [0], [3, 6])  # head, hip (root), ankles
    if h36m >= 0.2:  # random joint positions score about 0.25
        return
    coco = _upright_share(pts, [0], [11, 12], [15, 16])  # nose, hips, ankles
    if coco >= 0.8:
        raise InputError(f"{p}: read as Human3.6M-17 order the head is below the hip in "
                         f"{100 * (1 - h36m):.0f}% of frames, but as COCO-17 the person is upright in "
                         f"{100 * coco:.0f}%: pass --layout coco17 (or --layout h36m17 to insist)")
    warnings.warn(f"{p}: read as Human3.6M-17 order the person is upright in only {100 * h36m:.0f}% of "
                  f"frames (image y must point down; pass --layout to name the joint order)", stacklevel=4)


def keypoints_from_array(array: np.ndarray, layout: str = "auto", min_score: float = 0.3,
                         max_missing: float = 0.5, name: str = "<array>",
                         image_size: tuple[int, int] | None = None, fps: float | None = None) -> Keypoints2D:
    """An in-memory (T, J, 2) or (T, J, 3) array (x, y[, confidence]) -> Keypoints2D, exactly as
    `read_keypoints` treats a plain .npy file (same layouts, missing-joint filling, checks).
    NaN marks an absent joint. image_size (width, height) in pixels and fps, where known, are kept."""
    if layout != "auto" and layout not in LAYOUTS:
        raise InputError(f"{name}: unknown layout {layout!r} (expected auto, {', '.join(LAYOUTS)})")
    arr = np.asarray(array)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    p = Path(name)
    raw = _plain_array(p, arr.astype(np.float64), "the array", layout)
    raw.image_size, raw.fps = image_size, fps
    return _finish(p, raw, min_score, max_missing)


# --------------------------------------------------------------------------------------------
# CSV


def _read_csv(p: Path, layout: str) -> _Raw:
    """One row per frame: x0, y0[, s0], x1, y1[, s1], ...; optional header; optional frame column."""
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a text CSV file (not UTF-8)") from None
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines:
        raise InputError(f"{p}: empty sequence (no rows)")
    first = lines[0][1]
    delim = next((c for c in (",", ";", "\t") if c in first), None)
    try:
        rows = [(n, next(csv.reader([ln], delimiter=delim)) if delim else ln.split())
                for n, ln in lines]
    except csv.Error as e:
        raise InputError(f"{p}: not a readable CSV file ({e})") from None
    header: list[str] | None = None
    if not all(_is_number(c) for c in rows[0][1]):
        header = [c.strip().lower() for c in rows[0][1]]
        rows = rows[1:]
    if not rows:
        raise InputError(f"{p}: empty sequence (a header but no data rows)")
    ncols = len(rows[0][1])
    for n, r in rows:
        if len(r) != ncols:
            raise InputError(f"{p}: line {n} has {len(r)} columns, the first data row {ncols}")
    drop_first = (header is not None and header[0] in _FRAME_COLUMN_NAMES
                  and _csv_shape(ncols - 1, layout) is not None)
    shape = _csv_shape(ncols - 1 if drop_first else ncols, layout)
    if shape is None:
        want = (f"{LAYOUT_NUM_JOINTS[layout] * 2} or {LAYOUT_NUM_JOINTS[layout] * 3}"
                if layout != "auto" else ", ".join(map(str, sorted(_CSV_COLUMNS))))
        raise InputError(f"{p}: {ncols} columns per row; expected {want} (x, y[, score] per joint)")
    J, D = shape
    data = np.empty((len(rows), J * D))
    for t, (n, r) in enumerate(rows):
        cells = r[1:] if drop_first else r
        for c, cell in enumerate(cells):
            v = cell.strip()
            if not v:
                data[t, c] = np.nan  # empty cell: joint missing
                continue
            try:
                data[t, c] = float(v)
            except ValueError:
                raise InputError(f"{p}: line {n} column {c + 1 + drop_first}: {v[:30]!r} is not a "
                                 f"number") from None
    return _plain_array(p, data.reshape(len(rows), J, D), "the table", layout)


def _is_number(cell: str) -> bool:
    v = cell.strip()
    if not v:
        return True  # empty = missing value, not a header name
    try:
        float(v)
        return True
    except ValueError:
        return False


def _csv_shape(ncols: int, layout: str) -> tuple[int, int] | None:
    if layout != "auto":
        J = LAYOUT_NUM_JOINTS[layout]
        return (J, ncols // J) if ncols in (2 * J, 3 * J) else None
    return _CSV_COLUMNS.get(ncols)

