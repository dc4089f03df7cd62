"""BVH export: the 17 lifted joints as joint rotations of one constant skeleton, for Blender,
Unity, MotionBuilder and retargeting tools.

The hierarchy (`HIERARCHY`) uses the names retargeting tools recognise (Hips, Spine, Neck, Head,
LeftUpLeg, LeftLeg, LeftFoot, LeftShoulder, LeftArm, LeftForeArm, LeftHand, ...). Where a
Human3.6M joint has several children (the hip: both legs and the spine; the thorax: neck and both
shoulders) each child bone gets its own joint at the parent's position with a zero offset
(RHipJoint, LHipJoint, LowerBack; Neck, LeftShoulder, RightShoulder), as the CMU motion-capture
BVH files do, so every bone turns on its own and every joint lands exactly where the 3D has it.

Rest pose: a T-pose facing +Z with Y up (legs straight down, arms straight out sideways, spine
and neck straight up), bone lengths the track's (constant: one skeleton per track). Rotations:
the Hips joint carries the pelvis's frame (Y along hip -> spine, X from the right hip to the
left); every other joint turns its bone from its rest direction onto the 3D's by the smallest
rotation in its parent's frame (no twist about the bone: the 17 joints do not show it). Joints
with no bone to aim (the feet, the hands, Spine1) keep their parent's orientation; the feet and
hands end in nominal end sites. Channels: the root's position then Zrotation Xrotation Yrotation
(the local rotation is Rz @ Rx @ Ry), Euler angles in degrees unwrapped over time (no jumps of
360 degrees, and of the two equivalent angle triples the one nearer the previous frame).
Positions are written in metres, Blender's unit (its importer's default scale gives a person of
the right size); internally everything is millimetres.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.skeleton import BONE_CHILD, bone_lengths
from .errors import InputError
from .io import atomic_write_text
from .world import WorldPoses, to_world

_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
_NEG = lambda v: tuple(-c for c in v)  # noqa: E731

# (name, parent name, Human3.6M joint it sits at, joint its bone aims at or None, rest direction
# of that bone). Parents come before their children.
HIERARCHY: tuple[tuple[str, str | None, int, int | None, tuple[float, float, float] | None], ...] = (
    ("Hips", None, 0, None, None),
    ("RHipJoint", "Hips", 0, 1, _NEG(_X)),
    ("RightUpLeg", "RHipJoint", 1, 2, _NEG(_Y)),
    ("RightLeg", "RightUpLeg", 2, 3, _NEG(_Y)),
    ("RightFoot", "RightLeg", 3, None, None),
    ("LHipJoint", "Hips", 0, 4, _X),
    ("LeftUpLeg", "LHipJoint", 4, 5, _NEG(_Y)),
    ("LeftLeg", "LeftUpLeg", 5, 6, _NEG(_Y)),
    ("LeftFoot", "LeftLeg", 6, None, None),
    ("LowerBack", "Hips", 0, 7, _Y),
    ("Spine", "LowerBack", 7, 8, _Y),
    ("Spine1", "Spine", 8, None, None),
    ("Neck", "Spine1", 8, 9, _Y),
    ("Head", "Neck", 9, 10, _Y),
    ("LeftShoulder", "Spine1", 8, 11, _X),
    ("LeftArm", "LeftShoulder", 11, 12, _X),
    ("LeftForeArm", "LeftArm", 12, 13, _X),
    ("LeftHand", "LeftForeArm", 13, None, None),
    ("RightShoulder", "Spine1", 8, 14, _NEG(_X)),
    ("RightArm", "RightShoulder", 14, 15, _NEG(_X)),
    ("RightForeArm", "RightArm", 15, 16, _NEG(_X)),
    ("RightHand", "RightForeArm", 16, None, None),
)
NAMES = tuple(h[0] for h in HIERARCHY)
PARENT = tuple(-1 if h[1] is None else NAMES.index(h[1]) for h in HIERARCHY)
# Nominal end sites in the rest pose (mm): feet forward and down to the floor, hands along the forearm.
END_SITES = {"RightFoot": (0.0, -60.0, 130.0), "LeftFoot": (0.0, -60.0, 130.0),
             "LeftHand": (80.0, 0.0, 0.0), "RightHand": (-80.0, 0.0, 0.0)}
HEAD_TOP = "HeadTop"  # the end site of Head: Human3.6M's Head joint (10)
CHANNELS = "Zrotation Xrotation Yrotation"


@dataclass
class BvhMotion:
    """A skeleton and its motion, millimetres and degrees (see the module docstring).

    offsets: (J, 3) each joint's rest offset from its parent (the root's: zero).
    head_top: (3,) the Head joint's end site offset (Human3.6M's Head point).
    root_position: (T, 3) the Hips joint's world position.
    rotations: (T, J, 3, 3) each joint's local rotation (rest -> posed, in its parent's frame).
    euler_deg: (T, J, 3) the same as Z, X, Y angles (local = Rz @ Rx @ Ry), unwrapped over time.
    """

    offsets: np.ndarray
    head_top: np.ndarray
    root_position: np.ndarray
    rotations: np.ndarray
    euler_deg: np.ndarray
    fps: float

    @property
    def frames(self) -> int:
        return len(self.root_position)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def smallest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations taking unit vectors a (3,) or (T, 3) onto b (T, 3) by the smallest angle
    (about a x b). Opposite vectors: half a turn about an axis perpendicular to a."""
    b = _unit(np.asarray(b, np.float64))
    a = np.broadcast_to(_unit(np.asarray(a, np.float64)), b.shape)
    v, c = np.cross(a, b), (a * b).sum(-1)
    k = np.zeros(b.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 0] = -v[..., 2], v[..., 1], v[..., 2]
    k[..., 1, 2], k[..., 2, 0], k[..., 2, 1] = -v[..., 0], -v[..., 1], v[..., 0]
    opposite = c < -1.0 + 1e-9
    r = np.eye(3) + k + (k @ k) / np.maximum(1.0 + c, 1e-9)[..., None, None]
    if opposite.any():
        helper = np.where(np.abs(a[opposite, :1]) < 0.9, np.array(_X), np.array(_Y))
        axis = _unit(np.cross(a[opposite], helper))
        r[opposite] = 2.0 * axis[:, :, None] * axis[:, None, :] - np.eye(3)
    return r


def euler_zxy(rot: np.ndarray) -> np.ndarray:
    """(T, 3, 3) -> (T, 2, 3) the two (z, x, y) angle triples in degrees with rot = Rz @ Rx @ Ry."""
    x = np.arcsin(np.clip(rot[:, 2, 1], -1.0, 1.0))
    y = np.arctan2(-rot[:, 2, 0], rot[:, 2, 2])
    z = np.arctan2(-rot[:, 0, 1], rot[:, 1, 1])
    first = np.degrees(np.stack([z, x, y], -1))
    second = first * np.array([1.0, -1.0, 1.0]) + np.array([180.0, 180.0, 180.0])  # (z + pi, pi - x, y + pi)
    return np.stack([first, second], 1)


def unwrap_euler(both: np.ndarray) -> np.ndarray:
    """(T, 2, 3) equivalent angle triples per frame -> (T, 3): frame by frame, the triple (either
    one, each angle moved by whole turns) nearest the previous frame's."""
    out = np.empty((len(both), 3))
    out[0] = (both[0, 0] + 180.0) % 360.0 - 180.0
    for t in range(1, len(both)):
        cand = both[t] + 360.0 * np.round((out[t - 1] - both[t]) / 360.0)  # (2, 3)
        out[t] = cand[np.argmin(np.abs(cand - out[t - 1]).sum(-1))]
    return out


def euler_to_matrix(euler_deg: np.ndarray) -> np.ndarray:
    """(..., 3) Z, X, Y angles in degrees -> (..., 3, 3) Rz @ Rx @ Ry."""
    z, x, y = np.radians(np.moveaxis(np.asarray(euler_deg, np.float64), -1, 0))
    cz, sz, cx, sx, cy, sy = np.cos(z), np.sin(z), np.cos(x), np.sin(x), np.cos(y), np.sin(y)
    one, zero = np.ones_like(z), np.zeros_like(z)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(z.shape + (3, 3))
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(z.shape + (3, 3))
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(z.shape + (3, 3))
    return rz @ rx @ ry


def bone_lengths_of(joints: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (len(HIERARCHY),) the median length (mm) of each joint's bone (0 where it aims
    at nothing)."""
    by_child = np.zeros(17)  # every aimed bone is a Human3.6M bone, named by its child joint
    by_child[BONE_CHILD] = np.median(bone_lengths(joints), axis=0)
    return np.array([0.0 if aim is None else by_child[aim] for _, _, _, aim, _ in HIERARCHY])


def solve(joints: np.ndarray, fps: float) -> BvhMotion:
    """World-frame joints (T, 17, 3) mm (Y up; `world.to_world`) -> `BvhMotion` whose forward
    kinematics puts every joint on its 3D bone direction at the track's median bone length (exactly
    the 3D where its bone lengths are constant, as after `--fit-skeleton`)."""
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (17, 3) or len(p) == 0:
        raise ValueError(f"joints must be (T, 17, 3) with T >= 1, got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("joints contain NaN or inf")
    t = len(p)
    lengths = bone_lengths_of(p)
    offsets = np.zeros((len(HIERARCHY), 3))
    world = np.zeros((t, len(HIERARCHY), 3, 3))
    local = np.zeros_like(world)
    for i, (_, parent, at, aim, rest) in enumerate(HIERARCHY):
        if parent is None:  # the pelvis's frame: Y up the spine, X from the right hip to the left
            y = _unit(p[:, 7] - p[:, 0])
            x = _unit(p[:, 4] - p[:, 1])
            x = _unit(x - (x * y).sum(-1, keepdims=True) * y)
            world[:, i] = np.stack([x, y, np.cross(x, y)], -1)  # columns: the rest axes in the world
            local[:, i] = world[:, i]
            continue
        j = PARENT[i]
        parent_aim, parent_rest = HIERARCHY[j][3], HIERARCHY[j][4]
        if at != HIERARCHY[j][2]:  # sits at the end of the parent's bone
            assert parent_aim == at
            offsets[i] = np.asarray(parent_rest) * lengths[j]
        if aim is None:
            local[:, i] = np.eye(3)
        else:
            direction = np.einsum("tji,tj->ti", world[:, j], p[:, aim] - p[:, at])  # in the parent's frame
            local[:, i] = smallest_rotation(np.asarray(rest), direction)
        world[:, i] = world[:, j] @ local[:, i]
    head = NAMES.index("Head")
    head_top = np.asarray(HIERARCHY[head][4]) * lengths[head]
    euler = np.stack([unwrap_euler(euler_zxy(local[:, i])) for i in range(len(HIERARCHY))], 1)
    return BvhMotion(offsets, head_top, p[:, 0].copy(), local, euler, float(fps))


def _kinematics(motion: BvhMotion, from_euler: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics: (T, J, 3) world positions (mm) and (T, J, 3, 3) world rotations of the
    BVH joints, from the Euler angles as written (or the rotation matrices)."""
    rot = euler_to_matrix(motion.euler_deg) if from_euler else motion.rotations
    t, n = motion.frames, len(HIERARCHY)
    pos, world = np.zeros((t, n, 3)), np.zeros((t, n, 3, 3))
    for i in range(n):
        j = PARENT[i]
        if j < 0:
            pos[:, i], world[:, i] = motion.root_position, rot[:, i]
        else:
            pos[:, i] = pos[:, j] + world[:, j] @ motion.offsets[i]
            world[:, i] = world[:, j] @ rot[:, i]
    return pos, world


def forward_kinematics(motion: BvhMotion, from_euler: bool = True) -> np.ndarray:
    """(T, J, 3) world positions (mm) of the BVH joints, from the Euler angles as written (or the
    rotation matrices)."""
    return _kinematics(motion, from_euler)[0]


def world_rotations(motion: BvhMotion) -> np.ndarray:
    """(T, J, 3, 3) each BVH joint's world rotation, from the Euler angles as written."""
    return _kinematics(motion)[1]


def h36m_joints(motion: BvhMotion) -> np.ndarray:
    """(T, 17, 3) the Human3.6M joints of the motion's forward kinematics (mm, world frame)."""
    pos, world = _kinematics(motion)
    out = np.zeros((motion.frames, 17, 3))
    for i, (_, _, at, _, _) in enumerate(HIERARCHY):
        out[:, at] = pos[:, i]
    head = NAMES.index("Head")
    out[:, 10] = pos[:, head] + world[:, head] @ motion.head_top
    return out


def bvh_text(motion: BvhMotion, scale: float = 0.001) -> str:
    """The BVH file's text; `scale` converts millimetres to the file's unit (0.001: metres)."""
    fmt = lambda v: " ".join(f"{c * scale:.6f}" for c in v)  # noqa: E731
    lines = ["HIERARCHY"]
    children = {i: [k for k in range(len(HIERARCHY)) if PARENT[k] == i] for i in range(len(HIERARCHY))}

    def emit(i: int, depth: int) -> None:
        pad = "  " * depth
        name = NAMES[i]
        if PARENT[i] < 0:
            lines.extend([f"ROOT {name}", "{", f"  OFFSET {fmt((0.0, 0.0, 0.0))}",
                          f"  CHANNELS 6 Xposition Yposition Zposition {CHANNELS}"])
        else:
            lines.extend([f"{pad}JOINT {name}", f"{pad}{{", f"{pad}  OFFSET {fmt(motion.offsets[i])}",
                          f"{pad}  CHANNELS 3 {CHANNELS}"])
        for k in children[i]:
            emit(k, depth + 1)
        end = END_SITES.get(name, motion.head_top if name == "Head" else None)
        if end is not None:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {fmt(end)}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    lines.extend(["MOTION", f"Frames: {motion.frames}", f"Frame Time: {1.0 / motion.fps:.8f}"])
    for t in range(motion.frames):
        values = [f"{c * scale:.6f}" for c in motion.root_position[t]]
        values += [f"{a:.4f}" for a in motion.euler_deg[t].reshape(-1)]
        lines.append(" ".join(values))
    return "\n".join(lines) + "\n"


def write_bvh(motion: BvhMotion, path: str | Path) -> Path:
    """Write the motion as a BVH file in metres (atomically)."""
    return atomic_write_text(Path(path), bvh_text(motion))


@dataclass
class BvhExport:
    """What `export_clip` wrote: the file, its motion (mm, world frame) and the world placement."""

    path: Path
    motion: BvhMotion
    world: WorldPoses
    max_offset_mm: float  # largest distance of a written joint from the world-frame 3D

    def summary(self) -> str:
        w = self.world
        root = "the root's path from its depth and 2D position" if w.has_trajectory else "the root kept above the origin"
        return (f"wrote {self.path}: {self.motion.frames} frames at {self.motion.fps:g} fps, {len(HIERARCHY)} joints, "
                f"metres, Y up; camera elevation {w.elevation_deg:.1f} degrees ({w.elevation_source}); {root}; "
                f"joints within {self.max_offset_mm:.1f} mm of the 3D")


DEFAULT_FPS = 30.0


def world_of_clip(clip, elevation_deg: float | None = None, fps: float = DEFAULT_FPS,
                  in_place: bool = False) -> WorldPoses:
    """A `LiftedClip` in the world frame (`world.to_world`): its root's path unless `in_place` or
    the result has none (warned), the elevation estimated where it is None."""
    source = clip.meta.get("source", "the clip")
    root = None
    if not in_place:
        if clip.root_camera is None:
            warnings.warn(f"{source}: this result has no root position (an older result, or a model without "
                          f"universal normalisation): the root is kept in place", stacklevel=3)
        else:
            root = clip.root_camera
    inferred = clip.inferred if clip.inferred is not None else np.zeros((len(clip.poses_3d), 17), bool)
    legs_seen = not inferred[:, [2, 3, 5, 6]].any()
    try:
        return to_world(clip.poses_3d, root, elevation_deg, legs_seen, float(fps))
    except ValueError as e:
        raise InputError(f"{source}: {e}") from None


def export_clip(clip, path: str | Path, elevation_deg: float | None = None, in_place: bool = False,
                fps: float | None = None) -> BvhExport:
    """A `LiftedClip` -> a BVH file (module docstring; the world frame: `world_of_clip`).

    elevation_deg: the camera's elevation (positive = looking down); None estimates it from the 3D.
    in_place: keep the root above the origin instead of giving it the clip's path.
    fps: the file's frame rate; default the clip's (`meta["fps"]`), else 30 (warned).
    """
    path = Path(path)
    if path.suffix.lower() != ".bvh":
        raise InputError(f"{path}: a BVH file must end in .bvh")
    source = clip.meta.get("source", "the clip")
    if fps is None:
        fps = clip.meta.get("fps")
        if not fps:
            warnings.warn(f"{source}: the input states no frame rate; the BVH says {DEFAULT_FPS:g} fps "
                          f"(give the right one with --fps)", stacklevel=2)
            fps = DEFAULT_FPS
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate must be a positive number, got {fps}")
    if clip.meta.get("skeleton_fit") is None:
        warnings.warn(f"{source}: the lift has no single skeleton (its bone lengths change from frame to frame); "
                      f"the BVH uses each bone's median length, so joints move off the lifted 3D: lift with "
                      f"--fit-skeleton", stacklevel=2)
    try:
        world = world_of_clip(clip, elevation_deg, float(fps), in_place)
        motion = solve(world.joints, float(fps))
    except ValueError as e:
        raise InputError(f"{source}: cannot export BVH: {e}") from None
    offset = float(np.linalg.norm(h36m_joints(motion) - world.joints, axis=-1).max())
    write_bvh(motion, path)
    return BvhExport(path, motion, world, offset)
