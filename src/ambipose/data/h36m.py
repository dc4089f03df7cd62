"""Human3.6M readers: the shared npz layout and VideoPose3D's npz files.

Both give a list of `Sequence`s: one subject, action and camera, frames in time order.
- 2D: pixels (ground truth = 3D projected through the real camera with distortion, or
  Stacked Hourglass / CPN detections).
- 3D: camera frame (X right, Y down, Z forward), millimetres.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..settings import h36m_root
from .camera import Camera, load_h36m_cameras
from .safe_npz import load_npz_restricted
from .sequence import Sequence, action_class  # noqa: F401 - Sequence's old home
from .skeleton import NUM_JOINTS, sh16_to_h36m17

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")

# VideoPose3D / Human3.6M 32-joint skeleton -> our 17 joints.
H36M32_TO_17 = np.array([0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27])


def _load_npz(path: Path) -> np.lib.npyio.NpzFile:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: not a readable npz file ({e})") from None


def _check_poses(path: Path, key: str, arr: np.ndarray, joints: int, dims: int) -> np.ndarray:
    if arr.ndim != 3 or arr.shape[1] != joints or arr.shape[2] != dims:
        raise InputError(f"{path}: '{key}' has shape {arr.shape}, expected (T, {joints}, {dims})")
    if len(arr) == 0:
        raise InputError(f"{path}: '{key}' is an empty sequence")
    if not np.isfinite(arr).all():
        raise InputError(f"{path}: '{key}' contains NaN or inf coordinates")
    return arr


def load_h36m(
    split: str,
    input_2d: str = "gt",
    root: str | Path | None = None,
    subjects: tuple[str, ...] | None = None,
    cameras: tuple[str, ...] = CAMERA_IDS,
    stride: int = 1,
) -> list[Sequence]:
    """Read the shared Human3.6M npz files (see ../shared/data/README.md).

    split: "train" (S1,S5,S6,S7,S8 at 10 fps) or "test" (S9,S11 at 50 fps).
    input_2d: "gt" (3D projected through the camera, distorted) or "sh" (Stacked Hourglass).
    stride: keep every stride-th frame.
    """
    root = Path(root) if root is not None else h36m_root()
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if input_2d not in ("gt", "sh"):
        raise ValueError(f"input_2d must be 'gt' or 'sh', not {input_2d!r}")
    tag = "train_S1_S5_S6_S7_S8_10fps" if split == "train" else "test_S9_S11_50fps"
    p3 = root / f"h36m_3d17_{tag}.npz"
    p2 = root / f"h36m_sh2d16_{tag}.npz"
    cams = load_h36m_cameras(root / "h36m_cameras.json")
    d3 = _load_npz(p3)
    d2 = _load_npz(p2) if input_2d == "sh" else None
    fps = float(d3["meta/fps"]) if "meta/fps" in d3.files else (10.0 if split == "train" else 50.0)
    wanted = subjects or (TRAIN_SUBJECTS if split == "train" else TEST_SUBJECTS)
    out: list[Sequence] = []
    for key in sorted(k for k in d3.files if not k.startswith("meta/")):
        subject, action = key.split("/", 1)
        if subject not in wanted:
            continue
        world = _check_poses(p3, key, d3[key], NUM_JOINTS, 3).astype(np.float64)  # metres
        for cam_id in cameras:
            cam = cams[subject][cam_id]
            x_cam = cam.world_to_camera(world, unit_scale=1000.0) * 1000.0  # mm
            if input_2d == "gt":
                p2d = cam.project(x_cam)
            else:
                k2 = f"{key}/{cam_id}"
                if k2 not in d2.files:
                    # Known gap: S11 "Directions" camera 54138969 has no video in Human3.6M.
                    warnings.warn(f"{p2}: no detections for '{k2}'; that video is skipped", stacklevel=2)
                    continue
                p2d = sh16_to_h36m17(_check_poses(p2, k2, d2[k2], 16, 2).astype(np.float64))
                if len(p2d) != len(x_cam):
                    raise InputError(f"{p2}: '{k2}' has {len(p2d)} frames, 3D has {len(x_cam)}")
            out.append(_make_seq(subject, action, cam, p2d[::stride], x_cam[::stride], fps / stride))
    if not out:
        raise InputError(f"{p3}: no sequences for subjects {wanted}")
    return out


def _make_seq(subject: str, action: str, cam: Camera, p2d: np.ndarray, p3d: np.ndarray | None, fps: float) -> Sequence:
    return Sequence(
        subject=subject, action=action, camera=cam.id,
        poses_2d=p2d.astype(np.float32),
        poses_3d=None if p3d is None else p3d.astype(np.float32),
        fps=fps, res_w=cam.res_w, res_h=cam.res_h, focal=float(np.mean(cam.f)),
        # World Z (up) in this camera's frame: the axis the view synthesis turns people about.
        meta={"world_up": cam.R[:, 2].astype(np.float32)},
    )


def load_videopose3d(
    path_3d: str | Path,
    path_2d: str | Path,
    cameras_json: str | Path | None = None,
    subjects: tuple[str, ...] | None = None,
    stride: int = 1,
) -> list[Sequence]:
    """Read VideoPose3D's files: `data_3d_h36m.npz` (`positions_3d`: subject -> action -> (N, 32|17, 3)
    world metres) and `data_2d_h36m_gt.npz` / `data_2d_h36m_cpn_ft_h36m_dbb.npz` (`positions_2d`:
    subject -> action -> list of 4 (N, 17, 2) pixel arrays, cameras in `CAMERA_IDS` order).

    These files hold pickled Python objects; they are read with a restricted unpickler that
    admits only containers, numbers, strings and arrays (`data/safe_npz.py`).
    """
    path_3d, path_2d = Path(path_3d), Path(path_2d)
    try:
        pos3 = load_npz_restricted(path_3d)["positions_3d"].item()
    except (KeyError, ValueError, AttributeError):
        raise InputError(f"{path_3d}: no readable 'positions_3d' (not a VideoPose3D 3D file)") from None
    try:
        pos2 = load_npz_restricted(path_2d)["positions_2d"].item()
    except (KeyError, ValueError, AttributeError):
        raise InputError(f"{path_2d}: no readable 'positions_2d' (not a VideoPose3D 2D file)") from None
    # The cameras after the untrusted files: a crafted file is refused whatever else is missing.
    cams = load_h36m_cameras(cameras_json or h36m_root() / "h36m_cameras.json")
    if not isinstance(pos3, dict) or not isinstance(pos2, dict):
        raise InputError(f"{path_3d}: positions are not a subject -> action dictionary")
    try:
        out = _videopose3d_sequences(pos3, pos2, cams, path_3d, path_2d, subjects, stride)
    except InputError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as e:
        raise InputError(f"{path_3d} / {path_2d}: unexpected structure for VideoPose3D files "
                         f"({type(e).__name__}: {str(e)[:120]})") from None
    if not out:
        raise InputError(f"{path_3d}: no sequences found")
    return out


def _videopose3d_sequences(pos3: dict, pos2: dict, cams: dict, path_3d: Path, path_2d: Path,
                           subjects: tuple[str, ...] | None, stride: int) -> list[Sequence]:
    out: list[Sequence] = []
    for subject in sorted(pos3):
        if subjects and subject not in subjects:
            continue
        if subject not in pos2:
            raise InputError(f"{path_2d}: subject {subject} missing")
        for action in sorted(pos3[subject]):
            world = np.asarray(pos3[subject][action], dtype=np.float64)
            if world.ndim == 3 and world.shape[1] == 32:
                world = world[:, H36M32_TO_17]
            world = _check_poses(path_3d, f"{subject}/{action}", world, NUM_JOINTS, 3)
            if action not in pos2[subject]:
                raise InputError(f"{path_2d}: {subject}/{action} missing")
            views = pos2[subject][action]
            for cam_id, p2d in zip(CAMERA_IDS, views):
                p2d = _check_poses(path_2d, f"{subject}/{action}/{cam_id}", np.asarray(p2d, dtype=np.float64)[..., :2], NUM_JOINTS, 2)
                if cam_id not in cams.get(subject, {}):
                    raise InputError(f"{path_2d}: no calibration for {subject} camera {cam_id} in the camera file")
                cam = cams[subject][cam_id]
                x_cam = cam.world_to_camera(world, unit_scale=1000.0) * 1000.0
                n = min(len(p2d), len(x_cam))  # VideoPose3D's CPN files can be a few frames longer
                out.append(_make_seq(subject, action, cam, p2d[:n:stride], x_cam[:n:stride], 50.0 / stride))
    return out
