"""The procedural walking person: rigid, upright, correctly handed, in view and deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambipose.data.skeleton import LEFT_JOINTS, RIGHT_JOINTS, bone_lengths, head_root_length
from ambipose.data.synthetic import synthetic_clip, walking_sequence

FRAMES = 60


def body_axes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame unit (up, right, forward) of the body from poses (T, 17, 3), any proper frame."""
    up = p[:, 8] - p[:, 0]
    right = p[:, 1] - p[:, 4]  # RHip - LHip
    fwd = np.cross(up, right)  # right-handed: forward = up x right
    n = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    return n(up), n(right), n(fwd)


@pytest.mark.parametrize("seed", [0, 3])
def test_bones_are_rigid(seed: int) -> None:
    for p in (walking_sequence(FRAMES, seed=seed), synthetic_clip(FRAMES, seed=seed)["poses_3d"]):
        bl = bone_lengths(p)
        assert np.all(bl.std(0) / bl.mean(0) < 1e-6)


def test_bone_lengths_are_human36m_like() -> None:
    bl = bone_lengths(walking_sequence(10)).mean(0)
    # BONES order: children 1..16 -> RHip, RKnee, RAnkle, LHip, LKnee, LAnkle, Spine, Thorax, ...
    assert bl[1] == pytest.approx(450, abs=1) and bl[2] == pytest.approx(450, abs=1)  # thigh, shin
    assert bl[11] == pytest.approx(290, abs=1) and bl[12] == pytest.approx(250, abs=1)  # arm
    assert 600 < head_root_length(walking_sequence(10)).mean() < 720


def test_bone_scale_scales_bones() -> None:
    a, b = walking_sequence(10, seed=1), walking_sequence(10, seed=1, bone_scale=0.9)
    np.testing.assert_allclose(bone_lengths(b), 0.9 * bone_lengths(a), rtol=1e-9)


def test_world_frame_upright_on_floor() -> None:
    p = walking_sequence(FRAMES)
    assert np.all(p[:, 10, 2] > p[:, 0, 2] + 500)  # head well above hip (Z up)
    assert np.all(p[:, [3, 6], 2].min(1) < 150)  # one foot near the floor every frame
    assert p[..., 2].min() > -50  # nothing far below it


def test_handedness_and_gait() -> None:
    p = walking_sequence(FRAMES)
    up, right, fwd = body_axes(p)
    # Shoulders on the same sides as the hips.
    assert np.all(np.einsum("ti,ti->t", p[:, 14] - p[:, 11], right) > 0)
    # Knees bend forward.
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        mid = (p[:, hip] + p[:, ankle]) / 2
        assert np.all(np.einsum("ti,ti->t", p[:, knee] - mid, fwd) > 0)
    # The person walks forwards, and turns (the heading changes by more than 20 degrees).
    vel = np.diff(p[:, 0], axis=0)
    assert np.all(np.einsum("ti,ti->t", vel, fwd[1:]) > 0)
    assert np.degrees(np.arccos(np.clip(fwd[0] @ fwd[-1], -1, 1))) > 20


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clip_in_image_upright_and_handed(seed: int) -> None:
    clip = synthetic_clip(FRAMES, seed=seed)
    p3, p2 = clip["poses_3d"], clip["poses_2d"]
    w, h = clip["image_size"]
    assert p3.shape == (FRAMES, 17, 3) and p2.shape == (FRAMES, 17, 2)
    assert clip["fps"] == 50.0
    assert np.all(p3[..., 2] > 1000)  # in front of the camera
    assert np.all((p2[..., 0] > 0) & (p2[..., 0] < w) & (p2[..., 1] > 0) & (p2[..., 1] < h))
    assert np.all(p2[:, 10, 1] < p2[:, 0, 1])  # head above hip in the image (y down)
    assert np.all(p3[:, 10, 1] < p3[:, 0, 1])  # and in the camera frame (Y down)
    # Projection is the pinhole model stated in the docstring.
    np.testing.assert_allclose(
        p2, clip["focal"] * p3[..., :2] / p3[..., 2:3] + clip["principal_point"], atol=1e-9
    )
    # A person facing the camera shows their left side on the image's right, and vice versa.
    _, _, fwd = body_axes(p3)
    facing = fwd[:, 2] < -0.3
    away = fwd[:, 2] > 0.3
    dx = p2[:, LEFT_JOINTS[0], 0] - p2[:, RIGHT_JOINTS[0], 0]  # LHip - RHip in the image
    assert np.all(dx[facing] > 0) and np.all(dx[away] < 0)


def test_deterministic_and_seed_dependent() -> None:
    a, b = synthetic_clip(20, seed=5), synthetic_clip(20, seed=5)
    for k in ("poses_3d", "poses_2d"):
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.allclose(a["poses_3d"], synthetic_clip(20, seed=6)["poses_3d"])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        walking_sequence(0)
    with pytest.raises(ValueError):
        walking_sequence(5, fps=0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), frames=st.integers(1, 40), fps=st.sampled_from([10.0, 25.0, 50.0]))
def test_any_seed_is_rigid_and_in_view(seed: int, frames: int, fps: float) -> None:
    clip = synthetic_clip(frames, seed=seed, fps=fps)
    bl = bone_lengths(clip["poses_3d"])
    assert np.all(bl.std(0) <= 1e-6 * bl.mean(0))
    w, h = clip["image_size"]
    uv = clip["poses_2d"]
    assert np.all((uv[..., 0] > 0) & (uv[..., 0] < w) & (uv[..., 1] > 0) & (uv[..., 1] < h))
