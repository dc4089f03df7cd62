"""Geometry identities: projection round trips, rotation inverses, rigid bones under rotation."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ambipose.data import camera, skeleton
from ambipose.data.rotation import invert, random_rotation, rotate, rotation_matrix
from ambipose.losses import bone_lengths as torch_bone_lengths

finite = st.floats(-2.0, 2.0, allow_nan=False, width=32)
angles = st.floats(-math.pi, math.pi, allow_nan=False)


def _cam(rng: np.random.Generator) -> camera.Camera:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return camera.Camera("x", q, rng.normal(size=3) * 1000, np.array([1145.0, 1144.0]), np.array([512.0, 515.0]),
                         np.array([-0.2, 0.24, -0.003]), np.array([-0.0014, -0.001]), 1000, 1000)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (5, 2), elements=finite), arrays(np.float64, (5,), elements=st.floats(0.5, 50.0)))
def test_unit_focal_project_unproject_round_trip(xy, depth):
    p3 = camera.unproject_unit_focal(xy, depth)
    np.testing.assert_allclose(camera.project_unit_focal(p3), xy, atol=1e-9)
    np.testing.assert_allclose(p3[..., 2], depth)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_world_camera_round_trip(seed):
    rng = np.random.default_rng(seed)
    cam = _cam(rng)
    pts = rng.normal(size=(17, 3))
    np.testing.assert_allclose(cam.camera_to_world(cam.world_to_camera(pts)), pts, atol=1e-9)
    # Distances are preserved (rigid transform).
    d0 = np.linalg.norm(pts[1:] - pts[:-1], axis=-1)
    c = cam.world_to_camera(pts)
    np.testing.assert_allclose(np.linalg.norm(c[1:] - c[:-1], axis=-1), d0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (7, 2), elements=st.floats(-0.3, 0.3)))
def test_pixels_normalised_round_trip_and_no_distortion_identity(xy):
    cam = _cam(np.random.default_rng(0))
    np.testing.assert_allclose(cam.pixels_to_normalised(cam.normalised_to_pixels(xy)), xy, atol=1e-9)
    np.testing.assert_allclose(camera.distort_normalised(xy, np.zeros(3), np.zeros(2)), xy)


def test_distorted_projection_matches_reference_formula():
    # 3d-pose-baseline's project_point_radial, written out for one point.
    cam = _cam(np.random.default_rng(1))
    x_cam = np.array([[0.3, -0.2, 4.0]])
    x, y = 0.3 / 4.0, -0.2 / 4.0
    r2 = x * x + y * y
    k, p = cam.k, cam.p
    radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
    tan = p[0] * y + p[1] * x
    xd = x * (radial + tan) + p[1] * r2
    yd = y * (radial + tan) + p[0] * r2
    expected = np.array([[cam.f[0] * xd + cam.c[0], cam.f[1] * yd + cam.c[1]]])
    np.testing.assert_allclose(cam.project(x_cam), expected, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(angles, angles, angles)
def test_rotation_is_orthonormal_and_inverse_is_transpose(a, e, r):
    R = rotation_matrix(torch.tensor([a]), torch.tensor([e]), torch.tensor([r])).double()
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(R @ invert(R), eye[None], atol=1e-6, rtol=0)
    assert abs(torch.det(R).item() - 1.0) < 1e-6


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_rotate_then_inverse_and_bones_invariant(seed):
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn(4, 17, 3, generator=g, dtype=torch.float64)
    R = random_rotation(4, math.pi, math.pi / 2, math.pi / 4, generator=g, dtype=torch.float64)
    rotated = rotate(pts, R)
    torch.testing.assert_close(rotate(rotated, invert(R)), pts, atol=1e-9, rtol=0)
    torch.testing.assert_close(torch_bone_lengths(rotated), torch_bone_lengths(pts), atol=1e-9, rtol=0)


def test_random_rotation_respects_ranges():
    g = torch.Generator().manual_seed(0)
    R = random_rotation(2000, azimuth_range=math.pi, elevation_range=0.0, roll_range=0.0, generator=g)
    # Pure azimuth: the Y (vertical) axis is left fixed.
    torch.testing.assert_close(R[:, :, 1], torch.tensor([0.0, 1.0, 0.0]).expand(2000, 3), atol=1e-6, rtol=0)
    azim = torch.atan2(R[:, 0, 2], R[:, 0, 0])
    assert azim.min() < -2.5 and azim.max() > 2.5  # covers the full circle


def test_skeleton_tables_consistent():
    assert len(skeleton.JOINT_NAMES) == len(skeleton.PARENTS) == 17
    assert skeleton.JOINT_NAMES[skeleton.HEAD] == "Head" and skeleton.PARENTS[skeleton.ROOT] == -1
    assert len(skeleton.BONES) == 16
    for left, right in zip(skeleton.LEFT_JOINTS, skeleton.RIGHT_JOINTS):
        assert skeleton.JOINT_NAMES[left][1:] == skeleton.JOINT_NAMES[right][1:]
    poses = np.random.default_rng(0).normal(size=(3, 17, 3))
    np.testing.assert_allclose(skeleton.flip_lr(skeleton.flip_lr(poses)), poses)


def test_sh16_mapping_and_joint_definition_corrections():
    sh = np.random.default_rng(0).normal(size=(16, 2))
    out = skeleton.sh16_to_h36m17(sh)
    for i, j in enumerate(skeleton.SH16_TO_H36M17):
        if j not in (skeleton.SPINE, skeleton.HEAD):  # copied as detected
            np.testing.assert_array_equal(out[j], sh[i])
    hip, thorax, head_top = sh[6], sh[8], sh[9]
    # MPII's head top is pulled towards the thorax; its "spine" (MPII thorax) is replaced.
    np.testing.assert_allclose(out[skeleton.HEAD], thorax + skeleton.SH_HEAD_FRACTION * (head_top - thorax))
    np.testing.assert_allclose(out[skeleton.SPINE], hip + skeleton.SPINE_FRACTION * (thorax - hip))
    np.testing.assert_allclose(out[skeleton.NECK_NOSE], thorax + skeleton.NECK_FRACTION * (out[skeleton.HEAD] - thorax))


def test_skeleton_geometry_is_one_definition_for_numpy_and_torch():
    """root_centre, head_root_length and bone_lengths take numpy arrays and torch tensors (with
    gradients) alike and agree; the model's and the losses' versions are these."""
    from ambipose import losses
    from ambipose.evaluation import metrics

    poses = np.random.default_rng(1).normal(size=(2, 5, 17, 3))  # any leading axes
    t = torch.from_numpy(poses).requires_grad_(True)
    for fn in (skeleton.root_centre, skeleton.head_root_length, skeleton.bone_lengths):
        np.testing.assert_allclose(fn(t).detach().numpy(), fn(poses), rtol=1e-12, atol=1e-12)
    centred = skeleton.root_centre(poses)
    assert np.all(centred[..., skeleton.ROOT, :] == 0)
    np.testing.assert_allclose(skeleton.head_root_length(poses),
                               np.linalg.norm(poses[..., 10, :] - poses[..., 0, :], axis=-1))
    skeleton.head_root_length(t).sum().backward()  # differentiable on tensors
    assert t.grad is not None and torch.isfinite(t.grad).all()
    assert losses.bone_lengths is skeleton.bone_lengths
    np.testing.assert_allclose(metrics.mpjpe(poses[0] + 5.0, poses[0]), 0.0, atol=1e-12)  # root-aligned
