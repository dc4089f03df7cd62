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

The readers live by format family: `coco` (COCO / MMPose / Detectron2 / AlphaPose JSON),
`openpose`, `arrays` (npy / npz / csv and VideoPose3D custom npz); `common` holds the result type
and the validation and gap filling every format shares.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..joint_maps import LAYOUTS
from .arrays import NPZ_KEYS  # noqa: F401 - public constant
from .arrays import _is_pickled, _open_npz, _plain_array, _read_csv, _read_npy, _read_npz, _read_vp3d, vp3d_videos
from .coco import _coco_json
from .common import MAX_ABS_COORD, NORMALISED_LIMIT  # noqa: F401 - public constants
from .common import Keypoints2D, _finish, _load_json, _Raw
from .openpose import _openpose_frames, _read_openpose

__all__ = ["Keypoints2D", "read_keypoints", "read_keypoint_tracks", "FORMATS", "LAYOUTS"]

FORMATS: tuple[str, ...] = ("auto", "coco", "openpose", "vp3d", "npy", "npz", "csv")


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


def read_keypoint_tracks(path: str | Path, min_score: float = 0.3, max_missing: float = 0.5
                         ) -> list[tuple[str, Keypoints2D]]:
    """Every track of a 2D keypoint file, as (name, Keypoints2D) in file order.

    A VideoPose3D custom npz holds one track per video (`ambipose evaluate --dataset mocap
    --write-2d` writes such a file): each becomes a track, named by its video. Any other file
    `read_keypoints` reads is one track, named by the file. Used for training on many clips,
    where each track is one person seen by one camera (temporal losses and the one-skeleton fit
    never cross tracks)."""
    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".npz":
        with _open_npz(p, allow_pickle=False) as d:
            multi = {"positions_2d", "metadata"} <= set(d.files) and _is_pickled(p, d, "positions_2d")
        if multi:
            loaded = vp3d_videos(p)
            return [(str(v), _finish(p, _read_vp3d(p, "auto", v, loaded), min_score, max_missing)) for v in loaded[1]]
    return [(p.name, read_keypoints(p, min_score=min_score, max_missing=max_missing))]


def _detect_format(p: Path) -> str:
    if p.is_dir():
        return "openpose"
    suffix = p.suffix.lower()
    known = {".json": "auto-json", ".npz": "npz", ".npy": "npy", ".csv": "csv"}
    if suffix not in known:
        raise InputError(f"{p}: unknown file type {suffix or '(no extension)'!r}: expected .json, "
                         f".npz, .npy, .csv or an OpenPose folder (or pass format=)")
    return known[suffix]


def _read_json_file(p: Path, layout: str, track: int | str | None, openpose_ok: bool) -> _Raw:
    """A .json file: COCO-style / MMPose, or (if `openpose_ok`) one OpenPose frame."""
    value = _load_json(p)
    if openpose_ok and isinstance(value, dict) and "people" in value:
        return _openpose_frames(p, [(p, value)], layout, track)
    return _coco_json(p, value, layout, track)


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
