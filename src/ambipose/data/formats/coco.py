"""COCO-family keypoint JSON: MMPose (0.x results lists and 1.x `instance_info`), Detectron2 and
AlphaPose results lists, COCO-style {"annotations", "images"} files."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ..joint_maps import LAYOUT_NUM_JOINTS
from .common import _floats, _norm_track, _number, _Raw, _resolve_layout, _split_xy, _type_name


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



def _track_of(inst: dict) -> Any:
    for k in ("track_id", "idx", "person_id"):
        if k in inst:
            return _norm_track(inst[k])
    return None
