"""Array files: plain .npy / .npz / .csv arrays (T, J, 2|3) and VideoPose3D custom
`data_2d_custom_*.npz` files (pickled dicts, read with a restricted unpickler)."""

from __future__ import annotations

import csv
import math
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ..joint_maps import LAYOUT_NUM_JOINTS
from ..safe_npz import load_npz_restricted
from .common import _number, _Raw, _resolve_layout, _split_xy

# Keys tried, in order, for the poses in a plain .npz file.
NPZ_KEYS: tuple[str, ...] = ("keypoints", "poses_2d", "positions_2d")
# Errors numpy / zipfile / zlib raise for corrupt or truncated .npy / .npz files.
# (RuntimeError: an encrypted zip member.)
_NPZ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError,
               KeyError, MemoryError, NotImplementedError, TypeError, SyntaxError, RuntimeError)
# Plain-array column counts (csv) -> (joints, values per joint).
_CSV_COLUMNS = {LAYOUT_NUM_JOINTS[lay] * d: (LAYOUT_NUM_JOINTS[lay], d)
                for lay in ("h36m17", "body25", "halpe26", "mediapipe33") for d in (2, 3)}
_FRAME_COLUMN_NAMES = {"", "frame", "frame_id", "frame_idx", "index", "idx", "t", "time"}


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


def vp3d_videos(p: Path) -> tuple[dict, list[str]]:
    """A VideoPose3D custom file loaded once (restricted unpickler) and its video names in file order."""
    d = load_npz_restricted(p)
    try:
        pos = d["positions_2d"].item()
    except (KeyError, AttributeError, ValueError) as e:
        raise InputError(f"{p}: not a readable VideoPose3D custom file ({type(e).__name__}: "
                         f"{_short(e)})") from None
    if not isinstance(pos, dict) or not pos:
        raise InputError(f"{p}: 'positions_2d' is {type(pos).__name__}, expected a non-empty dict "
                         f"{{video: {{'custom': [array]}}}}")
    return d, list(pos)


def _read_vp3d(p: Path, layout: str, track: int | str | None,
               loaded: tuple[dict, list[str]] | None = None) -> _Raw:
    """VideoPose3D `data_2d_custom_*.npz`: pickled dicts, read with a restricted unpickler that
    refuses anything but containers, numbers, strings and arrays (`data/safe_npz.py`).
    `loaded`: what `vp3d_videos` returned for the file (reading many videos of one file)."""
    d, videos = loaded if loaded is not None else vp3d_videos(p)
    pos = d["positions_2d"].item()  # a non-empty dict: checked by vp3d_videos
    try:
        meta = d["metadata"].item() if "metadata" in d else {}
    except (AttributeError, ValueError) as e:
        raise InputError(f"{p}: not a readable VideoPose3D custom file ({type(e).__name__}: "
                         f"{_short(e)})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{p}: 'metadata' is {type(meta).__name__}, expected a dict")
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


def write_vp3d(path: str | Path, tracks: list[tuple[str, np.ndarray, tuple[int, int]]], layout: str = "h36m") -> None:
    """Write 2D tracks as one VideoPose3D custom npz (atomically): `positions_2d[name]['custom'] =
    [(T, 17, 2) float32 pixels]`, `metadata` with `layout_name` and each video's width and height.

    The file is what `read_keypoint_tracks` (and so `train --data-2d`) reads as many tracks, and
    what VideoPose3D's own custom-video pipeline reads."""
    from ...io import atomic_path
    from ..skeleton import NUM_JOINTS

    if layout not in ("h36m", "coco"):
        raise ValueError(f"layout must be h36m or coco, not {layout!r}")
    names = [n for n, _, _ in tracks]
    if len(set(names)) != len(names) or not names:
        raise ValueError("track names must be unique and there must be at least one track")
    positions, video_meta = {}, {}
    for name, poses, (w, h) in tracks:
        poses = np.asarray(poses, dtype=np.float32)
        if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 2) or not np.isfinite(poses).all():
            raise ValueError(f"{name}: expected finite (T, {NUM_JOINTS}, 2) pixels, got {poses.shape}")
        positions[name] = {"custom": [poses]}
        video_meta[name] = {"w": int(w), "h": int(h)}
    # VideoPose3D's Human3.6M-17 symmetry: left (4-6, 11-13) and right (1-3, 14-16) joints.
    meta = {"layout_name": layout, "num_joints": NUM_JOINTS,
            "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]], "video_metadata": video_meta}
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, positions_2d=np.array(positions, dtype=object), metadata=np.array(meta, dtype=object))
