"""skeleton_fit: one constant, symmetric skeleton per track, joints moved along their rays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ambipose.data.skeleton import BONE_CHILD, bone_lengths, root_centre
from ambipose.data.synthetic import synthetic_clip
from ambipose.skeleton_fit import fit_skeleton, track_bone_lengths


def _track(frames: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A walking person, root-centred, in metres, root 5 m in front of the camera on its axis."""
    q = root_centre(synthetic_clip(frames, seed=seed)["poses_3d"]) / 1000.0
    return q.astype(np.float32), np.full(len(q), 5.0, dtype=np.float32)


def _camera(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    cam = q.astype(np.float64).copy()
    cam[..., 2] += r[:, None]
    return cam


def _along_rays(q: np.ndarray, r: np.ndarray, rel: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Move every joint along its camera ray by a random relative depth change (a lifter's error)."""
    cam = _camera(q, r)
    cam *= 1.0 + rel * np.random.default_rng(seed).standard_normal(cam.shape[:2])[..., None]
    return (cam - cam[:, :1]).astype(np.float32), cam[:, 0, 2].astype(np.float32)


def _variation(poses: np.ndarray) -> float:
    b = bone_lengths(poses)
    return float((b.std(0) / b.mean(0)).mean())


def test_track_lengths_are_medians_made_symmetric() -> None:
    q, _ = _track()
    true = bone_lengths(q)[0]
    assert np.allclose(track_bone_lengths(q), true, atol=1e-5)
    stretched = q.copy()
    stretched[:, 13] = q[:, 12] + 1.5 * (q[:, 13] - q[:, 12])  # left forearm 1.5x (left wrist moved)
    left, right = list(BONE_CHILD).index(13), list(BONE_CHILD).index(16)  # the forearms
    lengths = track_bone_lengths(stretched)
    assert lengths[left] == pytest.approx(lengths[right], rel=1e-6)
    assert lengths[left] == pytest.approx(1.25 * true[left], rel=1e-4)
    others = [b for b in range(len(true)) if b not in (left, right)]
    assert np.allclose(lengths[others], true[others], atol=1e-5)


def test_a_constant_skeleton_is_left_alone() -> None:
    q, r = _track()
    assert np.abs(fit_skeleton(q, r) - q).max() < 1e-4


def test_depth_errors_along_the_rays_are_undone() -> None:
    q, r = _track()
    noisy, r_noisy = _along_rays(q, r, rel=0.02)
    fitted = fit_skeleton(noisy, r_noisy, lengths=track_bone_lengths(q))
    before = np.linalg.norm(noisy - q, axis=-1).mean()
    after = np.linalg.norm(fitted - q, axis=-1).mean()
    assert after < 0.5 * before
    # Every joint stays on the ray of its 2D point. The output is root-centred, (x z, y z, z - z_root)
    # with the root on the optical axis: recover z_root from one joint's ray, then check them all.
    ray_in = (lambda c: c[..., :2] / c[..., 2:])(_camera(noisy, r_noisy))
    r_fit = fitted[:, 8, 0] / ray_in[:, 8, 0] - fitted[:, 8, 2]  # thorax: z_8 - (z_8 - z_root)
    assert np.allclose((lambda c: c[..., :2] / c[..., 2:])(_camera(fitted, r_fit)), ray_in, atol=1e-4)


def test_default_lengths_make_the_bones_constant() -> None:
    q, r = _track()
    noisy, r_noisy = _along_rays(q, r, rel=0.03, seed=2)
    before, after = _variation(noisy), _variation(fit_skeleton(noisy, r_noisy))
    assert before > 0.02 and after < 0.4 * before  # some bones cannot reach their length on the rays


def test_lateral_freedom_corrects_the_2d() -> None:
    """2D errors (sideways, 2 cm) at the right depths: kept on their rays, the joints must take
    wrong depths to reach the lengths (worse than no fit); free to move sideways, they get closer
    to the truth than the input."""
    q, r = _track()
    rng = np.random.default_rng(3)
    noisy = q + np.concatenate([0.02 * rng.standard_normal(q.shape[:2] + (2,)), np.zeros(q.shape[:2] + (1,))], -1)
    noisy = root_centre(noisy).astype(np.float32)
    lengths = track_bone_lengths(q)
    err = lambda p: float(np.linalg.norm(p - q, axis=-1).mean())  # noqa: E731
    on_rays = fit_skeleton(noisy, r, lengths=lengths)
    free = fit_skeleton(noisy, r, lengths=lengths, lateral_weight=0.01)
    assert err(free) < 0.8 * err(noisy) < err(on_rays)
    assert np.abs(bone_lengths(free) - lengths).mean() < 0.1 * np.abs(bone_lengths(noisy) - lengths).mean()


def test_bad_input_is_refused() -> None:
    q, r = _track(5)
    with pytest.raises(ValueError, match="T, 17, 3"):
        fit_skeleton(q[:, :16], r)
    with pytest.raises(ValueError, match="root_depth"):
        fit_skeleton(q, r[:3])
    with pytest.raises(ValueError, match="behind the camera"):
        fit_skeleton(q, np.zeros_like(r))
    with pytest.raises(ValueError, match="positive"):
        fit_skeleton(q, r, lengths=np.zeros(16))


def test_the_lifters_root_depth_puts_joints_on_their_rays() -> None:
    """LiftResult.root_depth: root-centred output + (0, 0, root_depth) is the camera frame, where
    every joint lies on the ray of its normalised 2D point, or of the corrected point for a model
    with the 2D-correction head (scale on the 3D output)."""
    from ambipose.inference import PoseLifter

    lifter = PoseLifter.from_checkpoint()
    assert lifter.cfg.model.scale == "3d"
    clip = synthetic_clip(20)
    x = lifter.normalise(clip["poses_2d"])
    res = lifter.lift_normalised(x)
    cam = _camera(res.poses_3d_units, res.root_depth)
    assert (cam[..., 2] > 0).all()
    rays = x
    if lifter.cfg.model.correct_2d:  # the shipped model moves each joint's 2D first (model.correct_2d)
        import torch

        with torch.no_grad():
            rays = x + lifter.model.lifter(torch.from_numpy(x))[1].numpy()
        assert not np.allclose(rays, x, atol=1e-5)
    assert np.allclose(cam[..., :2] / cam[..., 2:], rays, atol=1e-5)


def test_lift_fit_skeleton_gives_one_skeleton(tmp_path: Path, capsys) -> None:
    """`ambipose lift --fit-skeleton` (shipped model): the bones stop varying, the meta says so."""
    from ambipose.cli import main

    np.save(tmp_path / "walk.npy", synthetic_clip(80, seed=4)["poses_2d"].astype(np.float32))
    assert main(["lift", str(tmp_path / "walk.npy"), "--out", str(tmp_path / "plain.npz"), "--quiet"]) == 0
    assert main(["lift", str(tmp_path / "walk.npy"), "--out", str(tmp_path / "fit.npz"), "--quiet",
                 "--fit-skeleton"]) == 0
    plain, fit = (np.load(tmp_path / f"{n}.npz") for n in ("plain", "fit"))
    assert _variation(fit["poses_3d"]) < 0.4 * _variation(plain["poses_3d"])  # 3.2 % -> 1.0 %
    meta = json.loads(str(fit["meta"]))
    assert meta["skeleton_fit"] == {}
    lifted, fitted = meta["skeleton_fit_effect"]["bone_length_variation_pct"]  # in %
    assert lifted == pytest.approx(100 * _variation(plain["poses_3d"]), abs=0.01) and fitted < 0.4 * lifted
    assert json.loads(str(plain["meta"]))["skeleton_fit"] is None


@pytest.mark.parametrize("args, expect", [
    (["lift", "{p}", "--out", "{o}", "--lateral", "0.03"], "--lateral needs --fit-skeleton"),
    (["lift", "{p}", "--out", "{o}", "--fit-skeleton", "--lateral", "-1"], "--lateral must be > 0"),
    (["evaluate", "--baseline", "zero-depth", "--fit-skeleton"], "baselines"),
])
def test_skeleton_options_are_checked(tmp_path: Path, capsys, args: list[str], expect: str) -> None:
    from ambipose.cli import main

    np.save(tmp_path / "walk.npy", synthetic_clip(20, seed=4)["poses_2d"].astype(np.float32))
    fill = lambda a: a.replace("{p}", str(tmp_path / "walk.npy")).replace("{o}", str(tmp_path / "o.npz"))  # noqa: E731
    assert main([fill(a) for a in args]) == 2
    assert expect in capsys.readouterr().err


def test_bone_length_plot(tmp_path: Path) -> None:
    from ambipose.errors import AmbiposeError
    from ambipose.viz.plots import plot_bone_lengths

    q, r = _track(30)
    noisy, r_noisy = _along_rays(q, r, rel=0.03)
    out = plot_bone_lengths({"lifted": noisy * 1000, "one skeleton": fit_skeleton(noisy, r_noisy) * 1000},
                            tmp_path / "bones.png", fps=50.0)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(AmbiposeError, match="T, 17, 3"):
        plot_bone_lengths({"bad": q[:, :, :2]}, tmp_path / "bad.png")


@pytest.mark.data
def test_one_skeleton_per_video_lowers_the_error_on_human36m(h36m) -> None:
    """Real data: on two test videos (every 10th frame, GT 2D) the shipped model's PA-MPJPE falls
    with one skeleton per video, and the result records the setting."""
    from ambipose.data.h36m import load_h36m
    from ambipose.evaluation.h36m_eval import evaluate_checkpoint
    from ambipose.inference import PoseLifter

    lifter = PoseLifter.from_checkpoint()
    seqs = load_h36m("test", "gt", stride=10, subjects=("S9",))[:2]
    plain = evaluate_checkpoint(lifter, "gt", "global", stride=10, progress=False, sequences=seqs)
    fitted = evaluate_checkpoint(lifter, "gt", "global", stride=10, progress=False, sequences=seqs, skeleton={})
    assert fitted["skeleton_fit"] == {} and plain["skeleton_fit"] is None
    assert fitted["pa_mpjpe"] < plain["pa_mpjpe"] - 1.0
