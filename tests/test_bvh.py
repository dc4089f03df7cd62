"""BVH export (bvh.py, world.py): read back by an independent BVH reader (bvhio) and by Blender's
own importer (bpy), upright and grounded on Human3.6M, the root's path on the walker, continuous
rotations, and the command line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from ambipose import bvh
from ambipose.data.formats import keypoints_from_array
from ambipose.data.skeleton import BONES
from ambipose.data.synthetic import synthetic_clip
from ambipose.inference import PoseLifter
from ambipose.lift_io import LiftedClip, lift_keypoints, read_result, write_result
from ambipose.world import ANKLE_HEIGHT_MM, angle_between, elevation_error_deg, to_world

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def lifter() -> PoseLifter:
    return PoseLifter.from_checkpoint(None)


def _lift(lifter, poses_2d, image_size, fps) -> LiftedClip:
    kp = keypoints_from_array(poses_2d, layout="h36m17", image_size=image_size, fps=fps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lift_keypoints(lifter, kp, skeleton={}, progress=False)


@pytest.fixture(scope="module")
def walker(lifter):
    d = synthetic_clip(frames=200, seed=0, fps=50.0)
    return d, _lift(lifter, d["poses_2d"], d["image_size"], 50.0)


@pytest.fixture(scope="module")
def h36m_walk(h36m, lifter):
    from ambipose.data.h36m import load_h36m

    seq = next(s for s in load_h36m("test", subjects=("S9",), cameras=("54138969",)) if s.action == "Walking")
    return seq, _lift(lifter, seq.poses_2d[:400], (seq.res_w, seq.res_h), seq.fps)


def _read_bvhio(path: Path) -> tuple[list[str], np.ndarray, float]:
    """(joint names, (T, J + 1, 3) world positions in mm with the Head's end site last, frame time)
    by bvhio's own forward kinematics."""
    import bvhio
    from pyglm import glm

    tree = bvhio.readAsHierarchy(str(path))
    raw = bvhio.readAsBvh(str(path))
    head_end = next(entry[0] for entry in raw.Root.layout() if entry[0].Name == "Head").EndSite
    joints = [entry[0] for entry in tree.layout()]
    head = next(j for j in joints if j.Name == "Head")
    frames = []
    for f in range(raw.FrameCount):
        tree.loadPose(f)
        frames.append([list(j.PositionWorld) for j in joints] + [list(head.pointToWorld(glm.vec3(head_end)))])
    return [j.Name for j in joints], 1000.0 * np.asarray(frames), raw.FrameTime


def _require_bpy() -> None:
    """Blender as a module (the `blender` extra, CPython 3.11 wheels only): CI must have it."""
    if importlib.util.find_spec("bpy") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bpy is missing under CI=true: `make test` installs the `blender` extra")
        pytest.skip("bpy (Blender as a module) is not installed: pip install -e '.[blender]'")


def _bvh_joint_positions(world_17: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (T, 23, 3): where each BVH joint should be, then the head top."""
    return np.concatenate([world_17[:, [h[2] for h in bvh.HIERARCHY]], world_17[:, [10]]], axis=1)


# --- rotations and angles on hand-made cases ---------------------------------------------------


def test_smallest_rotation_maps_and_is_a_rotation():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    a[0], b[0] = (0, 1, 0), (0, -1, 0)  # opposite
    a[1], b[1] = (1, 0, 0), (1, 0, 0)  # equal
    r = np.stack([bvh.smallest_rotation(a[i], b[i : i + 1])[0] for i in range(50)])
    au, bu = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(np.einsum("tij,tj->ti", r, au), bu, atol=1e-9)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    np.testing.assert_allclose(r[1], np.eye(3), atol=1e-12)
    # the smallest rotation: its axis is perpendicular to both vectors
    angle = np.degrees(np.arccos(np.clip((np.trace(r[2:], axis1=1, axis2=2) - 1) / 2, -1, 1)))
    np.testing.assert_allclose(angle, np.degrees(np.arccos(np.clip((au[2:] * bu[2:]).sum(1), -1, 1))), atol=1e-6)


def test_euler_zxy_round_trip_and_both_solutions():
    rng = np.random.default_rng(1)
    angles = rng.uniform(-170, 170, size=(100, 3))
    angles[:, 1] = rng.uniform(-89, 89, size=100)
    m = bvh.euler_to_matrix(angles)
    both = bvh.euler_zxy(m)
    np.testing.assert_allclose(both[:, 0], angles, atol=1e-6)
    np.testing.assert_allclose(bvh.euler_to_matrix(both[:, 1]), m, atol=1e-9)  # the other triple, same rotation


def test_unwrap_keeps_angles_continuous_through_the_wrap():
    z = np.linspace(0, 720, 200)  # two whole turns about Z
    m = bvh.euler_to_matrix(np.stack([z, np.zeros_like(z), np.zeros_like(z)], -1))
    out = bvh.unwrap_euler(bvh.euler_zxy(m))
    assert np.abs(np.diff(out, axis=0)).max() < 5.0
    np.testing.assert_allclose(out[:, 0], z, atol=1e-6)


# --- the written file against the 3D -----------------------------------------------------------


def _check_file_matches_3d(export: bvh.BvhExport):
    names, pos, frame_time = _read_bvhio(export.path)
    assert names == list(bvh.NAMES)
    assert pos.shape[0] == len(export.world.joints)
    assert frame_time == pytest.approx(1.0 / export.motion.fps, rel=1e-6)
    # bvhio reads Y up in the file's unit (metres): every joint within 1 mm, every frame
    err = np.linalg.norm(pos - _bvh_joint_positions(export.world.joints), axis=-1)
    assert err.max() < 1.0, err.max()
    # one skeleton: bone lengths constant over the frames
    lengths = np.linalg.norm(pos[:, 2:5] - pos[:, 1:4], axis=-1)  # right thigh, shin
    assert np.ptp(lengths, axis=0).max() < 0.5


def test_walker_bvh_read_back_by_bvhio_matches_the_3d(walker, tmp_path):
    _, clip = walker
    export = clip.to_bvh(tmp_path / "walker.bvh")
    assert export.motion.fps == 50.0
    _check_file_matches_3d(export)
    # the exported 3D is the lift: rotated into the world, bone lengths already one skeleton
    fitted = clip.poses_3d - clip.poses_3d[:, :1]
    world = export.world.joints - export.world.joints[:, :1]
    np.testing.assert_allclose(world @ export.world.rotation, fitted, atol=0.05)


def test_h36m_clip_bvh_matches_and_rotates_continuously(h36m_walk, tmp_path):
    _, clip = h36m_walk
    export = clip.to_bvh(tmp_path / "walk.bvh")
    _check_file_matches_3d(export)
    # no joint's rotation jumps by more than 30 degrees between frames unless the 3D does: a bone
    # (or the pelvis) of the lifted 3D turning by more than 20 degrees in that frame
    world_rot = bvh.world_rotations(export.motion)  # (T, J, 3, 3) from the written angles
    rel = np.einsum("tjab,tjac->tjbc", world_rot[:-1], world_rot[1:])
    jump = np.degrees(np.arccos(np.clip((np.trace(rel, axis1=2, axis2=3) - 1) / 2, -1, 1))).max(1)  # (T-1,)
    p = export.world.joints
    dirs = np.stack([p[:, c] - p[:, par] for c, par in BONES], 1)  # (T, 16, 3)
    turn = angle_between(dirs[1:], dirs[:-1]).max(1)
    assert np.all((jump <= 30.0) | (turn > 20.0)), (jump.max(), turn[jump > 30.0])
    # and the written angles have no whole-turn jumps
    assert np.abs(np.diff(export.motion.euler_deg, axis=0)).max() < 180.0


def test_blender_imports_the_bvh(h36m_walk, tmp_path):
    """Blender's own BVH importer: bone count, frame range and joint positions (Blender's Z-up frame)."""
    _require_bpy()
    _, clip = h36m_walk
    export = clip.to_bvh(tmp_path / "walk.bvh")
    frames = [1, 150, len(clip.poses_3d)]
    r = subprocess.run([sys.executable, str(HERE / "blender_import.py"), str(export.path), ",".join(map(str, frames))],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(next(line for line in r.stdout.splitlines() if line.startswith("BLENDER_JSON "))[13:])
    assert doc["bones"] == list(bvh.NAMES)
    assert doc["frame_start"] == 1 and doc["frame_end"] - doc["frame_start"] + 1 in (len(clip.poses_3d), len(clip.poses_3d) + 1)
    assert doc["fps"] == pytest.approx(export.motion.fps)
    expected = _bvh_joint_positions(export.world.joints)
    for f in frames:
        got = np.array([doc["heads"][str(f)][name] for name in bvh.NAMES]) * 1000.0  # Blender: Z up, metres
        want = expected[f - 1, :-1][:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0])  # (x, y, z) Y up -> (x, -z, y)
        assert np.abs(got - want).max() < 1.0, (f, np.abs(got - want).max())


def test_blender_renders_the_bvh_headless(walker, tmp_path):
    """scripts/blender_render.py (the README's picture): Cycles on the CPU, both sides' limbs drawn."""
    _require_bpy()
    from PIL import Image

    _, clip = walker
    export = clip.to_bvh(tmp_path / "w.bvh")
    png = tmp_path / "w.png"
    r = subprocess.run([sys.executable, str(HERE.parent / "scripts" / "blender_render.py"), str(export.path), str(png),
                        "--frame", "50", "--size", "160", "100", "--samples", "4"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    red = (rgb[..., 0] > rgb[..., 2] + 60).sum()  # right limbs
    blue = (rgb[..., 2] > rgb[..., 0] + 60).sum()  # left limbs
    assert red > 20 and blue > 20, (red, blue)


# --- upright, grounded, the root's path -------------------------------------------------------


def test_upright_and_grounded_on_human36m(h36m, lifter, tmp_path):
    """On Human3.6M test clips (world frame known): the exported vertical within a few degrees of
    the true one, and the planted foot at the height it truly has."""
    from ambipose.data.camera import load_h36m_cameras
    from ambipose.data.h36m import load_h36m

    cams = load_h36m_cameras(h36m / "h36m_cameras.json")
    seqs = load_h36m("test", cameras=("54138969", "60457274"))[::8]
    angles, feet = [], []
    for s in seqs:
        p2, p3 = s.poses_2d[::2][:600], s.poses_3d[::2][:600]
        export = _lift(lifter, p2, (s.res_w, s.res_h), s.fps / 2).to_bvh(tmp_path / "c.bvh")
        angles.append(elevation_error_deg(export.world.up_camera, s.meta["world_up"]))
        true_world = cams[s.subject][s.camera].camera_to_world(p3, unit_scale=1.0)  # mm, Z up, floor at 0
        low = true_world[:, [3, 6], 2].min(1)
        lower = np.where(true_world[:, 3, 2] < true_world[:, 6, 2], 3, 6)
        ankle = true_world[np.arange(len(p3)), lower]
        speed = np.r_[0.0, np.linalg.norm(np.diff(ankle, axis=0), axis=1)] * s.fps / 2  # mm/s
        planted = (speed < 200.0) & (low < np.median(low) + 30.0)
        feet.append(float(np.median(export.world.joints[planted][:, [3, 6], 1].min(1) - low[planted])))
    print(f"{len(seqs)} clips: vertical off by {np.median(angles):.1f} degrees (median), planted foot "
          f"{np.median(np.abs(feet)):.0f} mm from its true height (median)")
    assert np.median(angles) < 6.0
    assert np.median(np.abs(feet)) < 30.0


def test_root_path_exact_from_the_true_depth():
    """With the walker's own camera-frame 3D, root position and camera elevation, the world frame
    reproduces the walker's path (up to the heading, which the camera does not give)."""
    d = synthetic_clip(frames=150, seed=2, fps=50.0)
    cam = d["poses_3d"]
    elevation = float(np.degrees(np.arcsin(-d["R"][2, 2])))  # world Z (up) . camera Z = -sin(elevation)
    w = to_world(cam - cam[:, :1], cam[:, 0], elevation_deg=elevation, fps=50.0)
    true = d["poses_world"]
    got = np.stack([w.joints[..., 0], -w.joints[..., 2], w.joints[..., 1]], -1)  # Y up -> Z up
    got_path, true_path = got[:, 0, :2] - got[0, 0, :2], true[:, 0, :2] - true[0, 0, :2]
    u, _, vt = np.linalg.svd(got_path.T @ true_path)
    rot = (u @ vt).T
    np.testing.assert_allclose(got_path @ rot.T, true_path, atol=1.0)
    # heights above the floor as the walker has them, up to the ankle-height convention
    offset = np.median(true[:, [3, 6], 2].min(1)) - ANKLE_HEIGHT_MM
    assert np.abs(got[..., 2] + offset - true[..., 2]).max() < 80.0  # the floor follows a 1-s running median


def test_walker_root_path_from_the_lift(walker, tmp_path):
    """End to end, the lifter's depth and scale: the path within 20 % of its extent (median)."""
    d, clip = walker
    w = clip.to_bvh(tmp_path / "w.bvh").world
    got = np.stack([w.joints[:, 0, 0], -w.joints[:, 0, 2]], -1)
    true = d["poses_world"][:, 0, :2]
    got, true = got - got[0], true - true[0]
    u, _, vt = np.linalg.svd(got.T @ true)
    err = np.linalg.norm(got @ (u @ vt) - true, axis=1)
    extent = np.linalg.norm(true - true.mean(0), axis=1).max() * 2
    print(f"root path: median error {np.median(err):.0f} mm over a path {extent:.0f} mm across")
    assert np.median(err) < 0.2 * extent


def test_in_place_and_old_results(walker, tmp_path):
    _, clip = walker
    still = clip.to_bvh(tmp_path / "s.bvh", in_place=True)
    assert not still.world.has_trajectory
    np.testing.assert_allclose(still.world.joints[:, 0, [0, 2]], 0.0, atol=1e-3)
    old = LiftedClip(clip.poses_2d, clip.poses_3d, clip.scales, clip.missing, dict(clip.meta), clip.inferred)
    with pytest.warns(UserWarning, match="no root position"):
        assert not old.to_bvh(tmp_path / "o.bvh").world.has_trajectory
    given = clip.to_bvh(tmp_path / "g.bvh", elevation_deg=20.0)
    assert given.world.elevation_source == "given" and given.world.elevation_deg == 20.0


def test_result_files_keep_the_root_path(walker, tmp_path):
    _, clip = walker
    for suffix in (".npz", ".json"):
        back = read_result(write_result(clip, tmp_path / f"r{suffix}"))
        np.testing.assert_allclose(back.root_camera, clip.root_camera, atol=0.06)


# --- the command line ----------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ambipose.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_lift_writes_bvh_and_refuses_bad_options(tmp_path):
    d = synthetic_clip(frames=80, seed=1, fps=50.0)
    np.save(tmp_path / "w.npy", d["poses_2d"].astype(np.float32))
    r = _cli("lift", "w.npy", "--out", "w.npz", "--bvh", "w.bvh", "--fps", "50", "--image-size", "1000", "1000",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote w.bvh: 80 frames at 50 fps, 22 joints, metres, Y up" in r.stdout
    text = (tmp_path / "w.bvh").read_text()
    assert text.startswith("HIERARCHY\nROOT Hips") and "Frames: 80" in text and "Frame Time: 0.02000000" in text
    assert read_result(tmp_path / "w.npz").meta["skeleton_fit"] == {}  # --bvh fitted one skeleton
    for bad, message in ((["--fps", "50"], "--fps: only with --bvh"),
                         (["--bvh", "w.txt"], "must end in .bvh"),
                         (["--bvh", "w.bvh", "--elevation", "95"], "within +-89 degrees")):
        r = _cli("lift", "w.npy", "--out", "x.npz", *bad, cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_elevation_is_assumed_where_nobody_stands(walker):
    """A track with bent knees throughout (a sitting person) says nothing about the vertical: the
    assumed tilt is used, and said."""
    from ambipose.world import ASSUMED_ELEVATION_DEG, estimate_elevation, standing_frames

    _, clip = walker
    sitting = clip.poses_3d.copy()
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):  # thighs forward (towards the camera, -Z), shins down
        thigh = np.linalg.norm(sitting[:, knee] - sitting[:, hip], axis=-1)[:, None]
        sitting[:, knee] = sitting[:, hip] + thigh * np.array([0.0, 0.0, -1.0])
        shin = np.linalg.norm(clip.poses_3d[:, ankle] - clip.poses_3d[:, knee], axis=-1)[:, None]
        sitting[:, ankle] = sitting[:, knee] + shin * np.array([0.0, 1.0, 0.0])
    assert estimate_elevation(clip.poses_3d) is not None  # the walker: straight legs in a quarter of the frames
    assert not standing_frames(sitting).any() and estimate_elevation(sitting) is None
    w = to_world(sitting)
    assert w.elevation_source == "assumed" and w.elevation_deg == ASSUMED_ELEVATION_DEG


def test_view_world_page_and_its_errors(walker, tmp_path):
    from ambipose.viz.html import extract_data

    _, clip = walker
    write_result(clip, tmp_path / "w.npz")
    r = _cli("view", "w.npz", "--out", "w.html", "--world", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = extract_data((tmp_path / "w.html").read_text())
    path, poses = np.array(data["world_path"]), np.array(data["poses_3d"])
    assert path.shape == (len(clip.poses_3d), 3)
    # display axes are Y down: the floor is y = 0 and the ankles stand just above it (y < 0)
    assert np.median(poses[:, [3, 6], 1].max(1)) == pytest.approx(-ANKLE_HEIGHT_MM, abs=15.0)
    assert _cli("view", "w.npz", "--out", "c.html", cwd=tmp_path).returncode == 0  # the camera-frame page
    assert extract_data((tmp_path / "c.html").read_text())["world_path"] is None
    for bad, message in ((["--out", "w.gif", "--world"], "--world is a view of the HTML page"),
                         (["--out", "w.html", "--elevation", "10"], "--elevation: only with --world")):
        r = _cli("view", "w.npz", *bad, cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr, r.stderr
