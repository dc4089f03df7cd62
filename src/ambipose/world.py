"""From the camera frame to a world frame for animation: upright (Y up), on the floor, with the
root's path through the scene.

A lift is root-centred in the camera frame (X right, Y down, Z forward, mm). Animation tools want
the person standing on a floor in a frame whose Y axis is the world's vertical. Three unknowns:

1. **The world's vertical in the camera frame.** Video is rarely shot with a level camera. We
   assume no roll (the horizon is level in the image) and estimate the camera's elevation (how far
   it looks down) from the lifted 3D: the body's long axis (from the ankles' midpoint, or the hip
   where the legs were inferred, to the thorax) is close to vertical in most frames of most
   footage, so the median over frames of its tilt towards the camera is the camera's elevation.
   The lifter learnt Human3.6M's cameras (10-16 degrees down), so this estimate is only as good as
   its depth; `elevation_deg` overrides it.
2. **Where the root is.** The lifter puts the root on the optical axis at a depth per frame
   (`LiftResult.root_depth`); its 2D position and the universal normalisation constant c (the
   clip's effective focal length in pixels, `normalization.universal_constant`) place it off the
   axis: X = (u - cx) / c * Z with the principal point (cx, cy) at the image centre. The path is in
   the model's global scale (the average Human3.6M adult): sideways motion is as good as the
   size estimate, motion towards or away from the camera only as good as the per-frame depth,
   which a single-frame lifter gets from apparent size; expect it to be noisy (docs/bvh.md).
3. **Where the floor is.** Y = 0 is put where the lower ankle's height is `ANKLE_HEIGHT_MM`
   (Human3.6M's training subjects' median) in the median frame, over the clip for a root kept in
   place, over a running 1-second window under a moving root (its height drifts with the depth
   noise): right for footage with a foot on the ground most of the time, too high for clips spent
   mostly in the air.

World axes: Y up; X the camera's right made horizontal; Z = X x Y, towards the camera, so a
person facing the camera faces +Z (the BVH convention). Units mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.rotation import tilted_up

# The median over frames of the lower ankle joint's height above the floor, Human3.6M training
# subjects (S1, S5, S6, S7, S8, every frame at 10 fps; 77.1 mm): the ankle joint sits above the sole.
ANKLE_HEIGHT_MM = 77.0
_ANKLES, _THORAX, _ROOT = (3, 6), 8, 0
# Standing straight, for the elevation estimate. Chosen on the Human3.6M *training* subjects'
# lifts (every 4th video, every 2nd frame): knees beyond 150 / 160 / 165 degrees gave median errors
# of 2.4 / 2.5 / 2.3 degrees; with 160 degrees, requiring 10 % of the frames let two sitting clips
# through with errors of 42 and 85 degrees, 20 % none (worst 8.2, median 2.3, 47 of 146 clips
# assumed). Checked on the test subjects in tests/test_world.py and docs/bvh.md.
STRAIGHT_KNEE_DEG, STRAIGHT_HIP_DEG, MIN_STANDING_SHARE = 160.0, 140.0, 0.2
# A camera looking down by this much when the track says nothing (training's `rotation.assumed_tilt_deg`).
ASSUMED_ELEVATION_DEG = 13.0
FLOOR_WINDOW_S = 1.0  # the floor under a moving root: running median over this many seconds


@dataclass
class WorldPoses:
    """A track in the world frame (module docstring): `joints` (T, 17, 3) mm, Y up, floor at Y = 0."""

    joints: np.ndarray  # (T, 17, 3) mm, world frame
    up_camera: np.ndarray  # (3,) the world's vertical in the camera frame (unit)
    elevation_deg: float  # how far the camera looks down (positive = down)
    elevation_source: str  # "estimated" (from the 3D), "assumed" (ASSUMED_ELEVATION_DEG) or "given"
    rotation: np.ndarray  # (3, 3) camera frame -> world frame: p_world = rotation @ p_cam
    has_trajectory: bool  # False: the root stays above the origin


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angles in degrees between vectors u and v (..., 3), unit or not."""
    cos = (u * v).sum(-1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The angle at b (T,) in degrees between b->a and b->c, points (T, 3)."""
    return angle_between(a - b, c - b)


def standing_frames(poses_3d: np.ndarray) -> np.ndarray:
    """(T,) bool: frames whose legs are straight (both knees opened beyond `STRAIGHT_KNEE_DEG`,
    both hips beyond `STRAIGHT_HIP_DEG` between thigh and trunk), where the ankles' midpoint ->
    thorax line is close to the vertical. Input (T, 17, 3), any frame and unit."""
    p = np.asarray(poses_3d, dtype=np.float64)
    ok = np.ones(len(p), dtype=bool)
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        ok &= _angle_deg(p[:, hip], p[:, knee], p[:, ankle]) > STRAIGHT_KNEE_DEG
        ok &= _angle_deg(p[:, _THORAX], p[:, hip], p[:, knee]) > STRAIGHT_HIP_DEG
    return ok


def estimate_elevation(poses_3d: np.ndarray) -> float | None:
    """The camera's elevation in degrees (positive = looking down) from a lifted track (T, 17, 3),
    camera frame: the median, over the frames in which the person stands straight
    (`standing_frames`), of the tilt towards the camera of the ankles' midpoint -> thorax line.
    None when fewer than `MIN_STANDING_SHARE` of the frames stand (sitting, lying, legs unseen).
    Assumes no roll; its accuracy on Human3.6M is in docs/bvh.md."""
    p = np.asarray(poses_3d, dtype=np.float64)
    standing = standing_frames(p)
    if standing.mean() < MIN_STANDING_SHARE:
        return None
    axis = p[standing, _THORAX] - p[standing][:, list(_ANKLES)].mean(1)  # (S, 3), up the body
    # The camera frame's up is (0, -cos e, -sin e) for a camera looking down by e.
    return float(np.median(np.degrees(np.arctan2(-axis[:, 2], -axis[:, 1]))))


def camera_to_world(up_camera: np.ndarray) -> np.ndarray:
    """(3, 3) rotation taking camera-frame vectors to the world frame (Y = `up_camera`, X = the
    camera's X made horizontal, Z = X x Y)."""
    y = np.asarray(up_camera, dtype=np.float64)
    y = y / np.linalg.norm(y)
    x = np.array([1.0, 0.0, 0.0]) - y[0] * y
    x /= np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)])


def root_path_camera(root_2d_px: np.ndarray, root_depth_mm: np.ndarray, constant_px: float,
                     principal_px: np.ndarray) -> np.ndarray:
    """The root's camera-frame position (T, 3) mm from its 2D (T, 2) pixels, its depth (T,) mm,
    the clip's universal constant (the effective focal length, pixels) and the principal point."""
    xy = (np.asarray(root_2d_px, np.float64) - np.asarray(principal_px, np.float64)) / constant_px
    z = np.asarray(root_depth_mm, np.float64)
    return np.concatenate([xy * z[:, None], z[:, None]], axis=1)


def floor_height(joints: np.ndarray, fps: float | None = None) -> np.ndarray:
    """(T,) the floor's height under each frame of world-frame joints (T, 17, 3): where the lower
    ankle's height, minus `ANKLE_HEIGHT_MM`, has its median over the clip, or with `fps` its running
    median over `FLOOR_WINDOW_S` (so the floor follows the slow vertical drift of a noisy root path
    while a jump, shorter than half the window, leaves the ground)."""
    low = joints[:, list(_ANKLES), 1].min(1) - ANKLE_HEIGHT_MM  # (T,)
    if fps is None:
        return np.full(len(low), float(np.median(low)))
    half = max(1, int(round(FLOOR_WINDOW_S * fps / 2)))
    padded = np.pad(low, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)  # (T, window)
    return np.median(windows, axis=1)


def to_world(poses_3d: np.ndarray, root_camera: np.ndarray | None = None, elevation_deg: float | None = None,
             legs_seen: bool = True, fps: float = 30.0) -> WorldPoses:
    """Root-centred camera-frame 3D (T, 17, 3) mm -> `WorldPoses`.

    root_camera: (T, 3) the root's camera-frame position in mm (`root_path_camera`); None keeps the
        root above the origin. The path starts above the origin either way.
    fps: frames per second, for the floor's running median (`floor_height`) under a moving root.
    elevation_deg: the camera's elevation (positive = looking down); None estimates it
        (`estimate_elevation`), or assumes `ASSUMED_ELEVATION_DEG` where the track cannot tell
        (too few standing frames, or legs that were inferred: `legs_seen` False).
    """
    p = np.asarray(poses_3d, dtype=np.float64)
    source = "given"
    if elevation_deg is None:
        estimate = estimate_elevation(p) if legs_seen else None
        elevation_deg, source = (estimate, "estimated") if estimate is not None else (ASSUMED_ELEVATION_DEG, "assumed")
    if not -89.0 < elevation_deg < 89.0:
        raise ValueError(f"camera elevation must be within +-89 degrees, got {elevation_deg:.1f}")
    up = np.asarray(tilted_up(elevation_deg))
    rot = camera_to_world(up)
    joints = p @ rot.T
    if root_camera is not None:
        path = np.asarray(root_camera, np.float64) @ rot.T
        path[:, [0, 2]] -= path[0, [0, 2]]  # heights: the floor below sets them
        joints = joints + path[:, None]
    joints[..., 1] -= floor_height(joints, fps if root_camera is not None else None)[:, None]
    return WorldPoses(joints.astype(np.float32), up, float(elevation_deg), source, rot, root_camera is not None)


def elevation_error_deg(up_estimated: np.ndarray, up_true: np.ndarray) -> float:
    """Angle in degrees between two vertical directions (3,) (unit or not)."""
    return float(angle_between(np.asarray(up_estimated, np.float64), np.asarray(up_true, np.float64)))
