"""Lifting the 2D users have: new views of pseudo-labels (training/augment.py), joints absent from
a whole track, the off-Human3.6M benchmark (data/mocap.py, evaluation/mocap_eval.py) and the
is-it-a-person check."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from ambipose.config import config_from_dict
from ambipose.data.formats import keypoints_from_array
from ambipose.data.mocap import load_mocap, look_at_camera, project_clip, varied_cameras
from ambipose.data.normalization import head_root_estimate
from ambipose.data.skeleton import LR_BONE_PAIRS, bone_lengths, head_root_length
from ambipose.data.synthetic import synthetic_clip
from ambipose.errors import InputError
from ambipose.evaluation.mocap_eval import frame_metrics, zero_depth
from ambipose.evaluation.plausibility import proportion_error
from ambipose.inference import PoseLifter
from ambipose.lift_io import PROPORTION_LIMIT, lift_keypoints, read_result, write_result
from ambipose.models.checkpoint import save_checkpoint
from ambipose.training.augment import (MISSING_VALUE, augment, forward_kinematics, mask_joints, project_view,
                                       scale_proportions)
from test_self_training import walking_data
from test_training import make_trainer


def _poses(n: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Root-centred walker poses in model units (head-root ~1), root depths, world-up vectors."""
    c = synthetic_clip(n, seed=3)
    p = torch.tensor(c["poses_3d"] - c["poses_3d"][:, :1], dtype=torch.float32) / 650.0
    return p, torch.full((n,), 9.0), torch.tensor([0.0, -1.0, 0.0]).expand(n, 3)


def test_forward_kinematics_rebuilds_the_pose_from_its_bones():
    p, _, _ = _poses()
    from ambipose.data.skeleton import PARENTS

    parents = [max(q, 0) for q in PARENTS]
    assert torch.allclose(forward_kinematics(p - p[:, parents]), p, atol=1e-6)


def test_proportions_change_left_and_right_alike():
    p, _, _ = _poses()
    q = scale_proportions(p, torch.Generator().manual_seed(0), 0.12)
    b0, b1 = bone_lengths(p), bone_lengths(q)
    ratio = b1 / b0  # (B, 16)
    for left, right in LR_BONE_PAIRS:
        assert torch.allclose(ratio[:, left], ratio[:, right], atol=1e-4)
    assert (ratio - 1).abs().max() > 0.1  # something changed
    assert torch.allclose(q[:, 0], torch.zeros(3))


def test_augmented_input_is_the_projection_of_its_target():
    p, depth, up = _poses()
    g = torch.Generator().manual_seed(1)
    x, y = augment(p, depth, up, g, mask_prob=0.0)
    assert x.shape == (64, 17, 2) and y.shape == (64, 17, 3) and torch.allclose(y[:, 0], torch.zeros(3))
    # Some depth along the optical axis puts every target joint on its input ray.
    for i in range(0, 64, 9):
        zs = torch.linspace(5.0, 15.0, 2001)
        err = torch.stack([(project_view(y[i : i + 1], z[None]) - x[i : i + 1]).abs().max() for z in zs])
        assert err.min() < 2e-4
    # Deterministic per generator; other draws differ.
    x2, y2 = augment(p, depth, up, torch.Generator().manual_seed(1), mask_prob=0.0)
    x3, _ = augment(p, depth, up, torch.Generator().manual_seed(2), mask_prob=0.0)
    assert torch.equal(x, x2) and torch.equal(y, y2) and not torch.equal(x, x3)


def test_hidden_joints_sit_at_the_root_and_never_the_root_itself():
    x = torch.randn(4000, 17, 2) + 3.0
    xm, hidden = mask_joints(x, torch.Generator().manual_seed(0), prob=0.5)
    assert not hidden[:, 0].any()
    assert 0.35 < hidden.any(1).float().mean() < 0.55
    assert torch.all(xm[hidden] == MISSING_VALUE) and torch.equal(xm[~hidden], x[~hidden])
    legs = hidden[:, [2, 3, 5, 6]].all(1) & ~hidden[:, [12, 13, 15, 16]].any(1)
    assert legs.any()  # the upper-body pattern is among them


def test_config_checks_the_augmentation_settings():
    with pytest.raises(InputError, match="shares in"):
        config_from_dict({"self_training": {"steps": 5, "augment": 1.5}})
    with pytest.raises(InputError, match="lateral_weight null"):
        config_from_dict({"self_training": {"steps": 5, "augment": 0.5, "lateral_weight": 0.03}})
    with pytest.raises(InputError, match="train.epochs must be >= 1"):
        config_from_dict({"train": {"epochs": 0}})
    assert config_from_dict({"train": {"epochs": 0}, "self_training": {"steps": 5}}).train.epochs == 0


def _partial_model(tmp_path, augment_mask: float = 0.5):
    """A tiny model trained by an augmented stage (its config says it lifts partial 2D)."""
    data = walking_data()
    tr = make_trainer(tmp_path, data, self_training={"steps": 6, "batch_size": 32, "augment": 0.5,
                                                     "augment_mask": augment_mask})
    tr.fit()
    path = tmp_path / "model.pt"
    save_checkpoint(path, tr.model_file_state())
    return PoseLifter.from_checkpoint(path)


def test_an_augmented_stage_trains_and_its_model_lifts_a_track_without_legs(tmp_path):
    lifter = _partial_model(tmp_path)
    assert lifter.lifts_partial_2d
    clip = synthetic_clip(40, seed=5)
    arr = clip["poses_2d"].copy()
    arr[:, [2, 3, 5, 6]] = np.nan  # the legs out of frame in every frame
    kp = keypoints_from_array(arr, layout="h36m17", name="upper.npy")
    assert kp.absent == (2, 3, 5, 6)
    with pytest.warns(UserWarning, match="inferred in 3D from the other joints: RKnee, RAnkle, LKnee, LAnkle"):
        res = lift_keypoints(lifter, kp, progress=False)
    assert np.isfinite(res.poses_3d).all() and res.inferred[:, [2, 3, 5, 6]].all() and res.inferred.sum() == 160
    assert res.meta["inferred_joints"] == ["RKnee", "RAnkle", "LKnee", "LAnkle"]
    for suffix in (".npz", ".json"):
        back = read_result(write_result(res, tmp_path / f"r{suffix}"))
        assert np.array_equal(back.inferred, res.inferred)


def test_a_model_without_hidden_joint_training_refuses_absent_joints(tmp_path):
    lifter = _partial_model(tmp_path, augment_mask=0.0)
    assert not lifter.lifts_partial_2d
    arr = synthetic_clip(20, seed=6)["poses_2d"].copy()
    arr[:, 3] = np.nan
    kp = keypoints_from_array(arr, layout="h36m17", name="noankle.npy")
    with pytest.raises(InputError, match="RAnkle absent .* in all 20 frames; this model .* not trained to lift partial 2D"):
        lift_keypoints(lifter, kp, progress=False)


def test_head_root_estimate_without_the_head():
    p = synthetic_clip(100, seed=7)["poses_2d"]
    measured = float(head_root_length(p).mean())
    assert head_root_estimate(p) == pytest.approx(measured)
    est = head_root_estimate(p, absent=(9, 10))
    assert 0.8 < est / measured < 1.25  # the walker is built with roughly Human3.6M's proportions
    assert 0.7 < head_root_estimate(p, absent=(9, 10, 2, 3, 5, 6)) / measured < 1.4
    with pytest.raises(ValueError, match="no body segment"):
        head_root_estimate(p, absent=tuple(range(1, 17)))


def test_random_points_are_not_a_person_and_the_walker_is():
    lifter = PoseLifter.from_checkpoint(None)
    walker = synthetic_clip(60, seed=8)["poses_2d"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = lift_keypoints(lifter, keypoints_from_array(walker, layout="h36m17"), progress=False)
    assert res.meta["implausible_frames_pct"] == 0.0
    rng = np.random.default_rng(0)
    noise = rng.normal(500.0, 100.0, (50, 17, 2))
    with pytest.warns(UserWarning, match="do not lift to a person's bone proportions"):
        res = lift_keypoints(lifter, keypoints_from_array(noise, layout="h36m17"), progress=False)
    assert res.meta["implausible_frames_pct"] > 50.0
    assert (proportion_error(res.poses_3d) > PROPORTION_LIMIT).mean() > 0.5


def test_frame_metrics_on_hand_made_cases():
    gt = synthetic_clip(5, seed=9)["poses_3d"]
    gt = gt - gt[:, :1]
    m = frame_metrics(gt, gt)
    for k in ("mpjpe", "n_mpjpe", "pa_mpjpe", "pa_mpjpe_limbs"):
        assert np.allclose(m[k], 0.0, atol=1e-6)
    assert np.allclose(m["pck"], 100.0) and np.allclose(m["auc"], 100.0 * 30 / 31)
    m2 = frame_metrics(2.0 * gt, gt)
    assert np.allclose(m2["pa_mpjpe"], 0.0, atol=1e-6) and np.allclose(m2["n_mpjpe"], 0.0, atol=1e-6)
    assert np.allclose(m2["mpjpe"], np.linalg.norm(gt, axis=-1).mean(-1))
    moved = gt.copy()
    moved[:, 10] += 100.0  # only the head: the limbs' score does not see it
    m3 = frame_metrics(moved, gt)
    assert np.allclose(m3["pa_mpjpe_limbs"], 0.0, atol=1e-6) and (m3["pa_mpjpe"] > 1.0).all()


def test_zero_depth_floor_is_flat_with_unit_head_root():
    p = synthetic_clip(30, seed=10)["poses_2d"]
    flat = zero_depth(p)
    assert np.all(flat[..., 2] == 0) and head_root_length(flat).mean() == pytest.approx(1.0, rel=1e-5)


def test_look_at_camera_centres_its_target_and_keeps_up_up():
    cam = look_at_camera("c", np.array([3000.0, -2000.0, 2500.0]), np.array([0.0, 0.0, 1000.0]), 1000.0)
    target = cam.world_to_camera(np.array([0.0, 0.0, 1000.0]), unit_scale=1.0)
    assert np.allclose(cam.project(target, distort=False), cam.c)
    head, feet = (cam.project(cam.world_to_camera(np.array([0.0, 0.0, z]), unit_scale=1.0), distort=False)
                  for z in (1700.0, 0.0))
    assert head[1] < feet[1]  # image Y is down
    assert np.allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-12) and np.linalg.det(cam.R) == pytest.approx(1.0)


def _write_mocap(folder, clips: dict, units: str = "mm", split: str = "val"):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "clips.npz", **clips)
    seqs = {k: {"content": "walk", "style": "normal", "frames": len(v), "fps": 30.0, "split": split} for k, v in clips.items()}
    (folder / "sequences.json").write_text(json.dumps({"units": units, "sequences": seqs}))
    return folder


def _walker_mm(n: int = 30, seed: int = 11) -> np.ndarray:
    """A walker in a world frame with Z up, mm, feet near z = 0."""
    p = synthetic_clip(n, seed=seed)["poses_3d"]  # camera frame, Y down
    w = np.stack([p[..., 0], p[..., 2], -p[..., 1]], -1)
    w[..., 2] -= w[..., 2].min()
    return w


def test_mocap_reader_and_the_varied_cameras(tmp_path):
    folder = _write_mocap(tmp_path / "m", {"walk_a": _walker_mm(), "walk_b": _walker_mm(seed=12)})
    clips = load_mocap("val", folder)
    assert [c.name for c in clips] == ["walk_a", "walk_b"] and clips[0].poses_3d.shape == (30, 17, 3)
    with pytest.raises(InputError, match="no clips in split 'test'"):
        load_mocap("test", folder)
    views = project_clip(clips[0], "varied", stride=2)
    assert len(views) == len(varied_cameras(clips[0].poses_3d)) == 8
    for v in views:
        assert v.poses_2d.shape == (15, 17, 2) and (v.poses_3d[..., 2] > 1000).all()
        assert (v.poses_2d[:, 10, 1] < v.poses_2d[:, 3, 1]).all()  # head above the ankle in every image
    bad = _write_mocap(tmp_path / "metres", {"walk_a": _walker_mm() / 1000.0})
    with pytest.raises(InputError, match="in millimetres"):
        load_mocap("val", bad)
    shape = _write_mocap(tmp_path / "shape", {"walk_a": _walker_mm()[:, :16]})
    with pytest.raises(InputError, match=r"expected \(T, 17, 3\)"):
        load_mocap("val", shape)
    with pytest.raises(InputError, match="no mocap file"):
        load_mocap("val", tmp_path)
    (shape / "sequences.json").unlink()
    with pytest.raises(InputError, match="sequences.json: not found"):
        load_mocap("val", shape)


@pytest.mark.data
def test_mocap_benchmark_on_the_shared_clips(h36m, tmp_path, capsys):
    from ambipose.cli import main

    out = tmp_path / "m.json"
    assert main(["evaluate", "--checkpoint", "src/ambipose/assets/ambipose_h36m.pt", "--dataset", "mocap",
                 "--split", "val", "--stride", "30", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| **all** |" in text and "zero-depth floor" in text and "| walk |" in text
    r = json.loads(out.read_text())
    assert r["split"] == "val" and r["cameras"] == "s9" and set(r["per_camera"]) == {"54138969", "55011271", "58860488", "60457274"}
    # A trained lifter beats the flat pose off Human3.6M.
    assert r["pa_mpjpe"] < r["zero_depth"]["pa_mpjpe"] and r["pa_mpjpe_limbs"] < r["zero_depth"]["pa_mpjpe_limbs"]
    assert 0 < r["pck"] <= 100 and 0 < r["auc"] < 100


def test_detector_noise_moves_joints_but_not_the_root_and_scales_with_the_setting():
    p, depth, up = _poses(256)
    x0, y0 = augment(p, depth, up, torch.Generator().manual_seed(4), mask_prob=0.0)
    x1, y1 = augment(p, depth, up, torch.Generator().manual_seed(4), mask_prob=0.0, noise=0.1)
    assert torch.equal(y0, y1)  # the target stays clean
    assert torch.all(x1[:, 0] == 0)
    d = (x1 - x0)[:, 1:].norm(dim=-1).mean() / (y0[:, 10] - y0[:, 0]).norm(dim=-1).div(depth).mean()
    assert 0.02 < d < 0.1  # mean displacement: a few per cent of the head-root length


def test_init_keeps_the_checkpoint_model_but_may_add_the_correction_head(tmp_path, capsys):
    from ambipose.train_options import _init_model_section

    tr = make_trainer(tmp_path, walking_data())  # a model without the head
    ckpt = tmp_path / "base.pt"
    save_checkpoint(ckpt, tr.model_file_state())
    width = tr.cfg.model.width
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"model:\n  width: {width + 64}\n  correct_2d: true\n")
    model = _init_model_section(str(cfg), str(ckpt))
    assert model["correct_2d"] is True and model["width"] == width  # the head added, the width kept
    assert "2D-correction head is added at zero" in capsys.readouterr().out
    cfg.write_text(f"model:\n  width: {width + 64}\n")
    assert not _init_model_section(str(cfg), str(ckpt)).get("correct_2d")


def test_the_correction_head_may_learn_from_augmented_views():
    ok = config_from_dict({"model": {"correct_2d": True}, "self_training": {"steps": 5, "augment": 0.5}})
    assert ok.model.correct_2d
    with pytest.raises(InputError, match="lateral_weight or self_training.augment"):
        config_from_dict({"model": {"correct_2d": True}, "self_training": {"steps": 5}})


def test_a_joint_missing_in_most_frames_is_inferred_not_interpolated(tmp_path):
    lifter = _partial_model(tmp_path)
    arr = synthetic_clip(40, seed=13)["poses_2d"].copy()
    arr[:30, 16] = np.nan  # the right wrist seen in 10 of 40 frames
    arr[:5, 13] = np.nan  # the left wrist missing in 5: interpolated as before
    kp = keypoints_from_array(arr, layout="h36m17", name="wrist.npy")
    assert kp.absent == ()
    with pytest.warns(UserWarning, match="more than half of the frames, inferred in 3D from the other joints: RWrist$"):
        res = lift_keypoints(lifter, kp, progress=False)
    assert res.inferred[:, 16].all() and not res.inferred[:, 13].any()


def test_encode_absent_hides_joints_at_the_root_but_synthesises_a_neck_between_thorax_and_head():
    from ambipose.data.skeleton import NECK_FRACTION
    from ambipose.lift_io import encode_absent

    px = synthetic_clip(5, seed=14)["poses_2d"]
    out = encode_absent(px, (3, 9))
    assert np.array_equal(out[:, 3], px[:, 0]) and np.array_equal(out[:, 2], px[:, 2])
    np.testing.assert_allclose(out[:, 9], px[:, 8] + NECK_FRACTION * (px[:, 10] - px[:, 8]))
    both = encode_absent(px, (9, 10))  # no head to place it against: hidden
    assert np.array_equal(both[:, 9], px[:, 0]) and np.array_equal(both[:, 10], px[:, 0])
    assert np.array_equal(px, synthetic_clip(5, seed=14)["poses_2d"])  # the input is not changed


def test_mocap_evaluation_refuses_options_that_do_not_apply(capsys):
    from ambipose.cli import main

    assert main(["evaluate", "--baseline", "zero-depth", "--dataset", "mocap", "--fit-skeleton"]) == 2
    assert "--fit-skeleton is for a model" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", "x.pt", "--dataset", "mocap", "--input", "sh"]) == 2
    assert "--input sh" in capsys.readouterr().err
