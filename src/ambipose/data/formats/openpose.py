"""OpenPose output: a folder of per-frame `*_keypoints.json` files (or one such file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .common import _floats, _load_json, _norm_track, _Raw, _resolve_layout, _type_name


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
