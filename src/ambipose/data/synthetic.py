"""A procedurally generated walking person in the Human3.6M 17-joint order (no recorded data).

Used for demos, smoke tests and visualisation tests where the real Human3.6M data is absent.

Frames and units
- world frame (`walking_sequence`): X, Y horizontal, Z up, millimetres; the floor is Z = 0.
- camera frame (`synthetic_clip`): X right, Y down, Z forward (optical axis), millimetres.
- pixels: image coordinates, origin top-left, pinhole projection without distortion.

The body is built as a kinematic chain of unit directions times fixed bone lengths, so every bone
has exactly the same length in every frame (the skeleton is rigid; only the joint angles move).
"""

from __future__ import annotations

import numpy as np

from .skeleton import NUM_JOINTS

# Bone lengths in millimetres, roughly the Human3.6M training-subject averages.
HIP_HALF_WIDTH = 130.0
THIGH = 450.0
SHIN = 450.0
SPINE = 230.0  # Hip (root) -> Spine
THORAX = 250.0  # Spine -> Thorax
NECK = 115.0  # Thorax -> Neck/Nose (the nose lies in front of the spine line)
HEAD = 115.0  # Neck/Nose -> Head (top)
SHOULDER_HALF_WIDTH = 150.0
UPPER_ARM = 290.0
FOREARM = 250.0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _sagittal(down: np.ndarray, fwd: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Unit direction in the sagittal plane: `down` rotated towards `fwd` by `angle` (rad), (T, 3)."""
    a = angle[:, None]
    return down * np.cos(a) + fwd * np.sin(a)


def walking_sequence(
    frames: int = 120, fps: float = 50.0, seed: int = 0, bone_scale: float = 1.0
) -> np.ndarray:
    """A person walking slowly around a circle (so the body turns and views vary).

    Args:
        frames: number of frames T (>= 1).
        fps: frame rate in Hz; sets the time step of the gait cycle (about 1.1 s per stride).
        seed: seeds the small per-sequence variations (gait phase, cadence, amplitudes, start
            heading); the same seed always gives the same sequence.
        bone_scale: multiplies every bone length (1.0 = an adult of about 1.75 m).

    Returns:
        (T, 17, 3) joint positions in the world frame (X, Y horizontal, Z up), millimetres,
        Human3.6M 17-joint order. Feet are near Z = 0; the root (Hip) is about 0.9 m high.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    rng = np.random.default_rng(seed)
    s = float(bone_scale)
    t = np.arange(frames, dtype=np.float64) / fps  # seconds

    # Gait: one stride (two steps) every ~1.1 s; phase 0 = right thigh at mid-swing.
    stride_s = 1.1 * rng.uniform(0.9, 1.1)
    phase = 2 * np.pi * t / stride_s + rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.9, 1.1)

    # Path: a circle of radius ~1 m about the world origin, walked anticlockwise (seen from above);
    # the heading is the tangent, so the body turns at the path's angular speed (~25 deg/s).
    radius = 1000.0 * rng.uniform(0.8, 1.2)
    omega = np.deg2rad(25.0) * rng.uniform(0.8, 1.2)  # rad/s
    theta = omega * t + rng.uniform(0, 2 * np.pi)
    up = np.array([0.0, 0.0, 1.0])
    fwd = np.stack([-np.sin(theta), np.cos(theta), np.zeros_like(theta)], axis=-1)  # tangent
    # Right-handed frame with Z up: the person's right is forward x up.
    right = np.cross(fwd, up)
    up_t = np.broadcast_to(up, fwd.shape)

    # Pelvis: small yaw rotation with the stride and a vertical bob twice per stride.
    pelvis_yaw = np.deg2rad(5.0) * amp * np.sin(phase)
    p_right = right * np.cos(pelvis_yaw)[:, None] + fwd * np.sin(pelvis_yaw)[:, None]
    root_height = 900.0 * s + 15.0 * s * np.cos(2 * phase)
    root = np.stack([radius * np.cos(theta), radius * np.sin(theta), np.zeros_like(t)], axis=-1)
    root = root + up_t * root_height[:, None]

    pose = np.zeros((frames, NUM_JOINTS, 3))
    pose[:, 0] = root

    def leg(hip_idx: int, side: float, leg_phase: np.ndarray) -> None:
        # Hip flexion: thigh swings +-20 deg about 5 deg forward; the knee bends most in swing,
        # i.e. while the thigh moves forward (cos > 0).
        hip_flex = np.deg2rad(5.0 + 20.0 * amp * np.sin(leg_phase))
        knee_flex = np.deg2rad(8.0 + 50.0 * amp * (0.5 + 0.5 * np.cos(leg_phase)) ** 3)
        hip = root + side * HIP_HALF_WIDTH * s * p_right
        knee = hip + THIGH * s * _sagittal(-up_t, fwd, hip_flex)
        ankle = knee + SHIN * s * _sagittal(-up_t, fwd, hip_flex - knee_flex)
        pose[:, hip_idx], pose[:, hip_idx + 1], pose[:, hip_idx + 2] = hip, knee, ankle

    leg(1, +1.0, phase)  # RHip, RKnee, RAnkle
    leg(4, -1.0, phase + np.pi)  # LHip, LKnee, LAnkle

    # Trunk leans ~6 deg forward with a slight counter-rotation of the shoulders.
    lean = np.deg2rad(6.0 + 1.5 * np.cos(2 * phase))
    trunk = _sagittal(up_t, fwd, lean)
    pose[:, 7] = root + SPINE * s * trunk
    pose[:, 8] = pose[:, 7] + THORAX * s * trunk
    # The nose is forward of the spine line; the head top is back above it.
    pose[:, 9] = pose[:, 8] + NECK * s * _sagittal(up_t, fwd, np.full_like(t, np.deg2rad(40.0)))
    pose[:, 10] = pose[:, 9] + HEAD * s * _sagittal(up_t, fwd, np.full_like(t, np.deg2rad(-15.0)))

    shoulder_yaw = -0.8 * pelvis_yaw
    s_right = right * np.cos(shoulder_yaw)[:, None] + fwd * np.sin(shoulder_yaw)[:, None]

    def arm(sh_idx: int, side: float, arm_phase: np.ndarray) -> None:
        # Shoulder flexion swings +-15 deg; the elbow bends more when the arm is forward.
        sh_flex = np.deg2rad(15.0 * amp * np.sin(arm_phase))
        el_flex = np.deg2rad(15.0 + 10.0 * amp * (0.5 + 0.5 * np.sin(arm_phase)))
        abduct = np.deg2rad(8.0)  # keeps the hands clear of the thighs
        out = side * s_right
        upper = np.cos(abduct) * _sagittal(-up_t, fwd, sh_flex) + np.sin(abduct) * out
        fore = np.cos(abduct) * _sagittal(-up_t, fwd, sh_flex + el_flex) + np.sin(abduct) * out
        shoulder = pose[:, 8] + side * SHOULDER_HALF_WIDTH * s * s_right
        elbow = shoulder + UPPER_ARM * s * _unit(upper)
        wrist = elbow + FOREARM * s * _unit(fore)
        pose[:, sh_idx], pose[:, sh_idx + 1], pose[:, sh_idx + 2] = shoulder, elbow, wrist

    # Arms swing in anti-phase with the leg on the same side.
    arm(11, -1.0, phase)  # LShoulder, LElbow, LWrist: forward with the right leg
    arm(14, +1.0, phase + np.pi)  # RShoulder, RElbow, RWrist
    return pose


def look_at_rotation(cam_pos: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World (Z up) -> camera (X right, Y down, Z forward) rotation R (3, 3) looking at `target`.

    Rows of R are the camera axes in world coordinates; x_cam = R @ (x_world - cam_pos).
    """
    z = _unit(np.asarray(target, float) - np.asarray(cam_pos, float))
    x = _unit(np.cross(z, np.array([0.0, 0.0, 1.0])))  # right = forward x world-up
    y = np.cross(z, x)  # down
    return np.stack([x, y, z])


def synthetic_clip(
    frames: int = 120,
    seed: int = 0,
    camera_distance_mm: float = 5000.0,
    image_size: tuple[int, int] = (1000, 1000),
    focal: float = 1150.0,
    fps: float = 50.0,
    camera_height_mm: float = 1500.0,
) -> dict:
    """A walking person seen by one pinhole camera, as the lifter would receive it.

    The camera stands `camera_distance_mm` horizontally from the centre of the walking circle,
    `camera_height_mm` above the floor, looking at a point 0.9 m above the circle's centre
    (Human3.6M-like geometry). The camera's azimuth depends on `seed`.

    Returns a dict:
        poses_3d: (T, 17, 3) camera frame (X right, Y down, Z forward), millimetres.
        poses_2d: (T, 17, 2) pixels (origin top-left), pinhole projection with focal length
            `focal` px and the principal point at the image centre.
        image_size: (width, height) in pixels.
        fps: frame rate in Hz.
        focal: focal length in pixels; principal_point: (2,) pixels.
        R: (3, 3) world -> camera rotation; cam_pos: (3,) camera centre in world mm.
        poses_world: (T, 17, 3) world frame (Z up), millimetres.
    """
    w, h = int(image_size[0]), int(image_size[1])
    world = walking_sequence(frames=frames, fps=fps, seed=seed)
    az = np.random.default_rng(seed + 1_000_003).uniform(0, 2 * np.pi)
    cam_pos = np.array(
        [camera_distance_mm * np.cos(az), camera_distance_mm * np.sin(az), camera_height_mm]
    )
    R = look_at_rotation(cam_pos, np.array([0.0, 0.0, 900.0]))
    cam = (world - cam_pos) @ R.T
    c = np.array([w / 2.0, h / 2.0])
    uv = focal * cam[..., :2] / cam[..., 2:3] + c
    return {
        "poses_3d": cam,
        "poses_2d": uv,
        "image_size": (w, h),
        "fps": float(fps),
        "focal": float(focal),
        "principal_point": c,
        "R": R,
        "cam_pos": cam_pos,
        "poses_world": world,
    }


def random_poses(n: int, seed: int = 0, spread: float = 0.04) -> "torch.Tensor":
    """Random normalised root-centred 2D poses (n, 17, 2): root (joint 0) at the origin, other
    joints N(0, spread^2), i.e. about the size of a person at the canonical depth (head-root
    distance ~1/D = 0.1)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 17, 2, generator=g) * spread
    x[:, 0] = 0.0
    return x
