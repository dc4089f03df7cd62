"""The self-training stage: pseudo-labels (one skeleton per video) and the fine-tuning rounds."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from ambipose.config import config_from_dict
from ambipose.data.normalization import normalise, universal_constant
from ambipose.data.sampler import PoseFrames
from ambipose.data.synthetic import synthetic_clip
from ambipose.data.skeleton import bone_lengths
from ambipose.errors import InputError
from ambipose.evaluation.plausibility import plausibility
from ambipose.models.checkpoint import load_checkpoint
from ambipose.training.self_training import pseudo_labels

from ambipose.training.data import TrainingData
from test_training import make_trainer


STAGE = {"steps": 8, "batch_size": 32}


def walking_data(n_seq: int = 3, length: int = 60) -> TrainingData:
    """Walking people seen by pinhole cameras (`synthetic_clip`), normalised as for training."""
    clips = [synthetic_clip(length, seed=i) for i in range(n_seq)]
    px = [c["poses_2d"] - c["principal_point"] for c in clips]
    constant = universal_constant(px, 10.0)
    x = [normalise(p, "universal", constant, 10.0).astype(np.float32) for p in px]
    frames = PoseFrames.from_sequences(x, [c["poses_3d"] - c["poses_3d"][:, :1] for c in clips])
    return TrainingData(frames, {"mode": "universal", "constant": constant, "depth": 10.0}, 650.0, "walking")


def _bone_cv(poses: np.ndarray) -> float:
    """Mean coefficient of variation of the 16 bones over one track, %."""
    b = bone_lengths(poses)
    return float((b.std(0) / b.mean(0)).mean() * 100)


def test_pseudo_labels_have_one_skeleton_per_video_on_the_input_rays(tmp_path):
    tr = make_trainer(tmp_path, walking_data())
    tr.fit(max_steps=4)
    frames = tr.frames
    labels = pseudo_labels(tr.model, frames).numpy()  # (N, 17, 3)
    with torch.no_grad():
        tr.model.eval()
        lifted = tr.model(frames.poses_2d).numpy()
    seq = frames.seq_index.numpy()
    assert labels.shape == lifted.shape and np.allclose(labels[:, 0], 0)
    for i in np.unique(seq):
        # The model's own bones stretch over the video; the labels' do not.
        assert _bone_cv(lifted[seq == i]) > 1.0
        assert _bone_cv(labels[seq == i]) < 0.25 * _bone_cv(lifted[seq == i])
    # Joints stay on their rays: with the root back at some depth z on the optical axis, every
    # label joint lies on its input ray r: label_xy = r (label_z + z). Solve z per frame (least
    # squares) and check the residual.
    s = tr.model.scales(frames.poses_2d)
    cam = tr.model.lift_camera(tr.model.lifter_input(frames.poses_2d, s), s).detach().numpy()
    r = cam[..., :2] / cam[..., 2:]  # (N, 17, 2) rays of the lifted joints (the fit's starting point)
    lxy, lz = labels[..., :2], labels[..., 2:]
    z = ((r * (lxy - r * lz)).sum((1, 2)) / (r * r).sum((1, 2)))[:, None, None]  # (N, 1, 1)
    assert np.all(lz + z > 0)
    residual = np.abs(lxy - r * (lz + z))  # model units
    assert residual.max() < 1e-3 * np.abs(lxy).max()


def test_lateral_weight_lets_the_fit_leave_the_rays(tmp_path):
    tr = make_trainer(tmp_path, walking_data())
    tr.fit(max_steps=4)
    on_rays = pseudo_labels(tr.model, tr.frames)
    lateral = pseudo_labels(tr.model, tr.frames, lateral_weight=0.01)
    assert not torch.allclose(on_rays, lateral)
    seq = tr.frames.seq_index.numpy()
    assert _bone_cv(lateral.numpy()[seq == 0]) < _bone_cv(on_rays.numpy()[seq == 0]) + 0.5


def test_the_stage_fine_tunes_toward_one_skeleton_and_ships_it(tmp_path):
    data = walking_data()
    tr = make_trainer(tmp_path, data, self_training={"steps": 60, "batch_size": 64, "lr": 3e-3, "rounds": 2})
    tr.fit()
    assert tr.self_training_rounds == 2 and tr.step == 12 + 2 * 60
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    st = [float(r["loss_self"]) for r in rows if r["kind"] == "self-training"]
    assert len(st) == 2 * 30 and np.mean(st[-5:]) < np.mean(st[:5])  # it learns the labels
    assert sum(r["kind"] == "validation" for r in rows) == 2 + 2  # after each epoch and each round
    # What ships is the fine-tuned model (the average restarts from it).
    assert all(torch.equal(a, b) for a, b in zip(tr.final_model.state_dict().values(), tr.model.state_dict().values()))
    # Its single-frame 3D has steadier bones than the model before the stage.
    before = make_trainer(tmp_path / "before", data)
    before.fit()
    x, seq = data.frames.poses_2d, data.frames.seq_index.numpy()
    with torch.no_grad():
        p0 = before.final_model.eval()(x).double().numpy()
        p1 = tr.final_model.eval()(x).double().numpy()
    assert plausibility(p1, seq)["bone_cv_pct"] < plausibility(p0, seq)["bone_cv_pct"]


def test_a_run_cut_inside_the_stage_resumes_bit_identically(tmp_path):
    data = walking_data()
    full = make_trainer(tmp_path / "full", data, self_training=STAGE)
    full.fit()
    cut = make_trainer(tmp_path / "cut", data, self_training=STAGE)
    cut.fit(max_steps=12 + 5)  # the main epochs and 5 steps of the stage
    assert load_checkpoint(cut.last_path)["self_training_rounds"] == 0
    resumed = make_trainer(tmp_path / "cut", data, self_training=STAGE)
    assert resumed.resume() and resumed.step == 12
    resumed.fit()
    a, b = full.final_model.state_dict(), resumed.final_model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_checkpoint(resumed.last_path)["self_training_rounds"] == 1


@pytest.mark.parametrize("bad, match", [
    ({"self_training": {"steps": -1}}, "steps must be >= 0"),
    ({"self_training": {"rounds": 0}}, "rounds must be >= 1"),
    ({"self_training": {"lr": 0.0}}, "lr must be > 0"),
    ({"self_training": {"lateral_weight": 0.0}}, "lateral_weight must be > 0"),
    ({"self_training": {"steps": 10}, "train": {"objective": "supervised"}}, "stage of unsupervised"),
    ({"self_training": {"step": 10}}, "unknown key"),
])
def test_bad_stage_settings_are_named(bad, match):
    with pytest.raises(InputError, match=match):
        config_from_dict(bad)


def test_the_stage_is_off_by_default():
    assert config_from_dict({}).self_training.steps == 0


def test_resuming_with_another_config_names_what_changed(tmp_path, capsys):
    from ambipose.training.run import config_changes

    old = config_from_dict({"name": "a"}).to_dict()
    new = config_from_dict({"name": "a", "self_training": {"steps": 10}, "train": {"epochs": 3}}).to_dict()
    assert config_changes(old, new) == ["train.epochs: 200 -> 3", "self_training.steps: 0 -> 10"]
    assert config_changes(old, old) == []
    del old["self_training"]  # a checkpoint from before the stage existed
    assert config_changes(old, new) == ["train.epochs: 200 -> 3"]


def test_run_training_notes_a_changed_config_on_resume(tmp_path, capsys):
    from ambipose.training.run import run_training

    data = walking_data()
    first = make_trainer(tmp_path, data, train={"epochs": 1})
    run_training(first.cfg, tmp_path, trainer=first, progress=False)
    more = make_trainer(tmp_path, data, train={"epochs": 2}, self_training=STAGE)
    run_training(more.cfg, tmp_path, resume=True, trainer=more, progress=False)
    out = capsys.readouterr().out
    assert "note: resuming with settings that differ" in out
    assert "train.epochs: 1 -> 2" in out and "self_training.steps: 0 -> 8" in out
    assert load_checkpoint(tmp_path / "last.pt")["self_training_rounds"] == 1


# ---- the 2D-correction head (model.correct_2d) ---------------------------------------------

XY = {"steps": 40, "batch_size": 64, "lr": 3e-3, "lateral_weight": 0.01}


def test_the_correction_head_starts_at_zero_and_moves_joints_off_their_rays():
    from ambipose.models.cycle import project
    from ambipose.models.networks import Lifter, lift_to_3d

    torch.manual_seed(0)
    plain, corr = Lifter(64, 1, 0.0), Lifter(64, 1, 0.0, correct_2d=True)
    missing = corr.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["xy.bias", "xy.weight"]
    x = 0.1 * torch.randn(5, 17, 2)
    plain.eval(), corr.eval()
    d, dxy = corr(x)  # (B, 17), (B, 17, 2)
    assert d.shape == (5, 17) and torch.equal(dxy, torch.zeros(5, 17, 2))
    assert torch.equal(lift_to_3d(x, (d, dxy), 10.0), lift_to_3d(x, plain(x), 10.0))  # the depth-only lift
    # With a correction, every joint projects onto the corrected point, not the input's.
    with torch.no_grad():
        corr.xy.bias.normal_(0.0, 0.01)
    d, dxy = corr(x)
    assert torch.equal(dxy[:, 0], torch.zeros(5, 2))  # the root stays on the optical axis
    assert torch.allclose(project(lift_to_3d(x, (d, dxy), 10.0)), x + dxy, atol=1e-6)
    assert not torch.allclose(project(lift_to_3d(x, (d, dxy), 10.0)), x, atol=1e-4)


def test_the_correction_head_learns_only_in_the_stage(tmp_path):
    data = walking_data()
    tr = make_trainer(tmp_path, data, model={"correct_2d": True}, self_training=XY)
    tr.fit(max_steps=12)  # the main epochs: adversarial and cycle losses
    assert torch.count_nonzero(tr.model.lifter.xy.weight) == 0 and torch.count_nonzero(tr.final_model.lifter.xy.bias) == 0
    tr.fit()  # the stage: the labels leave the rays, and the head learns to follow them
    assert tr.self_training_rounds == 1
    moved = tr.final_model.eval()(data.frames.poses_2d)
    with torch.no_grad():
        _, dxy = tr.final_model.lifter(data.frames.poses_2d)
    assert dxy.abs().max() > 1e-4 and torch.isfinite(moved).all()


def test_a_run_resumed_with_the_correction_head_starts_it_at_zero(tmp_path):
    data = walking_data()
    plain = make_trainer(tmp_path, data)
    plain.fit()
    with torch.no_grad():
        before = plain.final_model.eval()(data.frames.poses_2d)
    more = make_trainer(tmp_path, data, model={"correct_2d": True}, self_training=XY)
    assert more.resume() and more.step == 12
    assert torch.count_nonzero(more.final_model.lifter.xy.weight) == 0
    with torch.no_grad():
        assert torch.allclose(more.final_model.eval()(data.frames.poses_2d), before)
    more.fit()
    assert more.self_training_rounds == 1


def test_the_correction_head_survives_fusing_and_inference(tmp_path):
    from ambipose.inference import PoseLifter
    from ambipose.models.fuse import fuse_for_inference

    data = walking_data()
    tr = make_trainer(tmp_path, data, model={"correct_2d": True}, self_training=XY)
    tr.fit()
    model = tr.final_model.eval()
    x = data.frames.poses_2d[:50]
    with torch.no_grad():
        assert torch.allclose(fuse_for_inference(model)(x), model(x), atol=1e-5)
    lifter = PoseLifter(load_checkpoint(tmp_path / "last.pt"), "cpu")
    assert lifter.model.lifter.xy is not None


@pytest.mark.parametrize("stage", [{}, {"steps": 10}])
def test_the_correction_head_needs_a_stage_with_lateral_labels(stage):
    with pytest.raises(InputError, match="correct_2d is trained only by the self-training stage"):
        config_from_dict({"model": {"correct_2d": True}, "self_training": stage})
    # ...unless the head comes trained with the weights (--init, a stored model): kept, frozen.
    assert config_from_dict({"model": {"correct_2d": True}, "self_training": stage}, weights_given=True).model.correct_2d


@pytest.mark.parametrize("model, loss", [({}, {}), ({"scale": "3d", "disc_kcs": True}, {"disc_noise": 0.01, "scale_relative": True})])
def test_the_main_epochs_repeat_the_depth_only_run_bit_for_bit(tmp_path, model, loss):
    data = walking_data()
    plain = make_trainer(tmp_path / "plain", data, model=model, loss=loss)
    plain.fit()
    corr = make_trainer(tmp_path / "corr", data, model={**model, "correct_2d": True}, loss=loss, self_training=XY)
    corr.fit(max_steps=12)
    a, b = plain.final_model.state_dict(), corr.final_model.state_dict()
    assert set(b) - set(a) == {"lifter.xy.weight", "lifter.xy.bias"}
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_correction_head_leaves_the_depth_heads_gradients_bit_identical():
    """At the recipe's width and batch (where a strided gradient would change the matmul's
    summation order): forward and every trunk/depth-head gradient equal to the depth-only lifter's."""
    from ambipose.models.networks import Lifter, lift_to_3d

    torch.manual_seed(0)
    plain = Lifter(512, 2, 0.25)
    torch.manual_seed(0)
    corr = Lifter(512, 2, 0.25, correct_2d=True)
    x = 0.1 * torch.randn(512, 17, 2)
    outs = []
    for m in (plain, corr):
        torch.manual_seed(1)  # the same dropout masks
        y = lift_to_3d(x, m(x), 10.0)
        y.square().sum().backward()
        outs.append(y)
    assert torch.equal(outs[0], outs[1])
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(plain.mlp.parameters(), corr.mlp.parameters()))


def _norm_stats(model: torch.nn.Module) -> list[torch.Tensor]:
    return [t.clone() for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)
            for t in (m.running_mean, m.running_var)]


@pytest.mark.parametrize("frozen", [False, True])
def test_freeze_norm_stats_keeps_batchnorm_statistics_in_the_stage(tmp_path, frozen):
    """train.freeze_norm_stats holds in the self-training rounds too (configs/robust_ft2.yaml: a
    second augmented round collapsed while BatchNorm normalised the mixed batches by their own
    statistics); the weights still learn."""
    data = walking_data()
    tr = make_trainer(tmp_path, data, train={"epochs": 1, "freeze_norm_stats": frozen},
                      self_training={"steps": 6, "batch_size": 32, "augment": 0.5})
    tr.train_step(0)
    stats, weights = _norm_stats(tr.model), [p.detach().clone() for p in tr.model.parameters()]
    tr.final_model.load_state_dict(tr.model.state_dict())
    tr.self_training_round()
    kept = all(torch.equal(a, b) for a, b in zip(stats, _norm_stats(tr.model)))
    assert kept == frozen
    assert any(not torch.equal(a, b) for a, b in zip(weights, tr.model.parameters()))
