"""Training: one step of each kind moves only what it should; resume is exact; NaN stops the run;
a tiny end-to-end train + evaluate on the real data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ambipose.config import config_from_dict
from ambipose.data.sampler import PoseFrames
from ambipose.models.checkpoint import load_checkpoint
from ambipose.training.data import TrainingData
from ambipose.training.loop import Trainer, TrainingDiverged

TINY = {"model": {"width": 32, "blocks": 1, "disc_blocks": 1},
        "train": {"epochs": 2, "iters_per_epoch": 6, "batch_size": 16, "log_every": 2, "threads": 1}}


def synthetic_data(n_seq=3, length=40, seed=0) -> TrainingData:
    """Random-walk 2D poses, normalised so the head-root distance is about 1/D."""
    rng = np.random.default_rng(seed)
    seqs, poses3d = [], []
    for _ in range(n_seq):
        base = rng.normal(size=(1, 17, 2)) * 0.05
        walk = np.cumsum(rng.normal(size=(length, 17, 2)) * 0.002, axis=0)
        x = (base + walk).astype(np.float32)
        x -= x[:, :1]
        seqs.append(x)
        poses3d.append(np.concatenate([x, rng.normal(size=(length, 17, 1)) * 0.05], -1) * 5000)
    frames = PoseFrames.from_sequences(seqs, poses3d, [np.full(length, 1.0, np.float32) for _ in seqs])
    return TrainingData(frames, {"mode": "universal", "constant": 1000.0, "depth": 10.0}, 650.0, "synthetic")


def make_trainer(tmp_path, data=None, **over) -> Trainer:
    raw = {k: dict(v) for k, v in TINY.items()}
    for section, vals in over.items():
        raw.setdefault(section, {}).update(vals)
    return Trainer(config_from_dict(raw), tmp_path, data=data or synthetic_data(), progress=False)


def _params(m: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in m.parameters()]


def _changed(before, m) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, m.parameters()))


def test_lifter_step_freezes_scale_and_scale_step_freezes_lifter(tmp_path):
    tr = make_trainer(tmp_path)
    lif, sca = _params(tr.model.lifter), _params(tr.model.scale)
    disc = _params(tr.disc)
    kind, losses = tr.train_step(0)
    assert kind == "lifter" and {"loss_2d", "loss_3d", "loss_adv", "loss_tmc"} <= set(losses)
    assert "loss_disc" not in losses and not _changed(disc, tr.disc)  # one update every 3rd lifter step
    assert _changed(lif, tr.model.lifter) and not _changed(sca, tr.model.scale)
    kinds = [tr.train_step(i) for i in (1, 2)]
    assert "loss_disc" in kinds[-1][1] and _changed(disc, tr.disc)
    lif, sca, disc = _params(tr.model.lifter), _params(tr.model.scale), _params(tr.disc)
    kind, losses = tr.train_step(4)  # 4 lifter steps, then the scale step
    # Eq. 13: the scale module also learns from the lifter's losses, through the frozen lifter.
    assert kind == "scale" and {"loss_kl", "loss_bone", "loss_2d", "loss_3d", "loss_adv", "loss_tmc"} <= set(losses)
    assert _changed(sca, tr.model.scale) and not _changed(lif, tr.model.lifter) and not _changed(disc, tr.disc)


def test_scale_step_learns_from_lifter_losses(tmp_path):
    """With L_kl and L_bone switched off the scale step still moves the scale module (Eq. 13)."""
    tr = make_trainer(tmp_path, loss={"w_kl": 0.0, "w_bone": 0.0})
    sca = _params(tr.model.scale)
    assert tr.train_step(4)[0] == "scale"
    assert _changed(sca, tr.model.scale)


def test_with_the_scale_on_the_3d_output_the_cycle_losses_do_not_reach_the_scale(tmp_path):
    """Why the 3D placement's scale step skips the cycle: its losses have no gradient in s, so the
    step is L_kl + L_bone alone, and it still trains only the scale module."""
    tr = make_trainer(tmp_path, model={"scale": "3d"})
    b = tr.batch()
    s_t, s_k = tr.model.scales(b.x_t), tr.model.scales(b.x_k)
    _, total, _ = tr._cycle_losses(b, s_t, s_k, relative=True)
    assert torch.autograd.grad(total, [s_t, s_k], allow_unused=True) == (None, None)
    lif, sca = _params(tr.model.lifter), _params(tr.model.scale)
    kind, losses = tr.train_step(4)
    assert kind == "scale" and set(losses) >= {"loss_kl", "loss_bone"} and "loss_2d" not in losses
    assert _changed(sca, tr.model.scale) and not _changed(lif, tr.model.lifter)


def test_validation_diagnostics_are_logged(tmp_path):
    tr = make_trainer(tmp_path)
    tr.fit()
    rows = (tmp_path / "log.csv").read_text().splitlines()
    header = rows[0].split(",")
    val = [dict(zip(header, r.split(","))) for r in rows[1:] if ",validation," in r]
    assert len(val) == 2  # one per epoch
    for r in val:
        assert float(r["val_mpjpe"]) > 0 and float(r["val_pa_mpjpe"]) > 0
        assert 0.0 <= float(r["val_mirror_fraction"]) <= 1.0


def test_joint_schedule_trains_both(tmp_path):
    tr = make_trainer(tmp_path, train={"schedule": "joint"})
    lif, sca = _params(tr.model.lifter), _params(tr.model.scale)
    kind, losses = tr.train_step(0)
    assert kind == "joint" and "loss_kl" in losses and "loss_tmc" in losses
    assert _changed(lif, tr.model.lifter) and _changed(sca, tr.model.scale)


def test_chen2019_and_supervised_baselines_step(tmp_path):
    tr = make_trainer(tmp_path / "a", model={"scale": "off"}, loss={"w_tmc": 0.0, "w_kl": 0.0, "w_bone": 0.0})
    kinds = {tr.train_step(i)[0] for i in range(5)}
    assert kinds == {"lifter"}  # no scale module: every step is a lifter step
    assert "loss_tmc" not in tr.train_step(0)[1]
    sup = make_trainer(tmp_path / "b", model={"scale": "off"}, train={"objective": "supervised"})
    assert sup.disc is None and "loss_sup" in sup.train_step(0)[1]


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    data = synthetic_data()
    full = make_trainer(tmp_path / "full", data)
    full.fit()
    half = make_trainer(tmp_path / "half", data, train={"epochs": 1})
    half.fit()
    resumed = make_trainer(tmp_path / "half", data)
    assert resumed.resume() and resumed.epoch == 1
    resumed.fit()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    st = load_checkpoint(tmp_path / "half" / "last.pt")
    assert st["epoch"] == 2 and st["step"] == 12


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    tr = make_trainer(tmp_path)
    tr.fit(max_steps=6)  # one epoch -> last.pt
    good = load_checkpoint(tr.last_path)["step"]
    orig = tr.unsupervised_step

    def poisoned(*a, **k):
        out = orig(*a, **k)
        out["loss_3d"] = math.nan
        return out

    monkeypatch.setattr(tr, "unsupervised_step", poisoned)
    with pytest.raises(TrainingDiverged, match="non-finite.*last good checkpoint"):
        tr.fit()
    assert load_checkpoint(tr.last_path)["step"] == good


def test_same_seed_same_weights(tmp_path):
    data = synthetic_data()
    a = make_trainer(tmp_path / "a", data)
    b = make_trainer(tmp_path / "b", data)
    a.fit(max_steps=5)
    b.fit(max_steps=5)
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))


@pytest.mark.data
def test_tiny_end_to_end_train_and_evaluate_on_h36m(h36m, tmp_path):
    from ambipose.evaluation.h36m_eval import evaluate_checkpoint
    from ambipose.inference import PoseLifter
    from ambipose.training.run import run_training

    cfg = config_from_dict({"name": "tiny", "data": {"train_stride": 20, "cameras": ["54138969"]},
                            "model": {"width": 64, "blocks": 1, "disc_blocks": 1},
                            "train": {"epochs": 1, "iters_per_epoch": 10, "batch_size": 64, "threads": 1}})
    final = run_training(cfg, tmp_path, device="cpu", progress=False)
    lifter = PoseLifter.from_checkpoint(final)
    assert 100 < lifter.mm_per_unit < 5000
    from ambipose.data.h36m import load_h36m

    seqs = load_h36m("test", "gt", subjects=("S11",), cameras=("54138969",), stride=200)
    res = evaluate_checkpoint(lifter, "gt", "global", sequences=seqs, progress=False)
    assert res["frames"] == sum(len(s) for s in seqs)
    assert {"mpjpe", "pa_mpjpe", "n_mpjpe", "per_action", "scale_protocol"} <= set(res)
    # An untrained-ish model is bad but finite; the alignments only remove error (PA: rotation,
    # scale and translation; N: the scale alone), so PA-MPJPE <= N-MPJPE <= MPJPE on average.
    assert 0 < res["pa_mpjpe"] <= res["n_mpjpe"] <= res["mpjpe"] < 2000


def test_tensorboard_scalars_when_installed(tmp_path, monkeypatch):
    import sys
    import types

    calls = []

    class FakeWriter:
        def __init__(self, logdir):
            calls.append(("init", logdir))

        def add_scalar(self, tag, value, step):
            calls.append((tag, value, step))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=FakeWriter))
    tr = make_trainer(tmp_path)
    tr.fit(max_steps=2)
    assert calls[0] == ("init", str(tmp_path / "tb"))
    assert any(c[0] == "loss_3d" and c[2] == 2 for c in calls[1:])


def _bn_stats(m: torch.nn.Module) -> list[torch.Tensor]:
    return [b.detach().clone() for n, b in m.named_buffers() if "running_" in n]


def test_disc_warmup_moves_only_the_discriminator_and_frozen_norm_stats_stay(tmp_path):
    tr = make_trainer(tmp_path, train={"disc_warmup_steps": 2, "freeze_norm_stats": True})
    lif, disc, bn = _params(tr.model.lifter), _params(tr.disc), _bn_stats(tr.model)
    for it in range(2):
        kind, losses = tr.train_step(it)
        tr.step += 1
        assert kind == "disc-warmup" and "loss_disc" in losses
    assert not _changed(lif, tr.model.lifter) and _changed(disc, tr.disc)
    assert all(torch.equal(a, b) for a, b in zip(bn, _bn_stats(tr.model)))
    assert tr.train_step(2)[0] == "lifter"
    assert _changed(lif, tr.model.lifter)  # the weights learn ...
    assert all(torch.equal(a, b) for a, b in zip(bn, _bn_stats(tr.model)))  # ... the statistics stay
    free = make_trainer(tmp_path / "free")
    bn = _bn_stats(free.model)
    free.train_step(0)
    assert not all(torch.equal(a, b) for a, b in zip(bn, _bn_stats(free.model)))  # by default they adapt


def test_scale_relative_makes_the_scale_step_blind_to_a_uniform_shrink(tmp_path):
    """Multiplying every scale by one factor leaves the relative L_bone unchanged, while the plain
    one shrinks with it: the scale step gains nothing by shrinking every pose (3D placement)."""
    tr = make_trainer(tmp_path, model={"scale": "3d"})
    tr.model.eval()  # no dropout noise between the calls
    b = tr.batch()
    pose_t = tr.model.lift(b.x_t, torch.ones(len(b.x_t)))  # unscaled; _scale_losses applies s_t
    orig = tr.model.scales

    def bone(factor: float, relative: bool) -> float:
        tr.model.scales = lambda x, sref=None: factor * orig(x, sref)
        try:
            return float(tr._scale_losses(b, tr.model.scales(b.x_t), pose_t, relative=relative)["loss_bone"].detach())
        finally:
            tr.model.scales = orig

    assert bone(1.0, False) > 0
    assert bone(0.5, False) == pytest.approx(0.5 * bone(1.0, False), rel=1e-5)
    assert bone(0.5, True) == pytest.approx(bone(1.0, True), rel=1e-5)


def test_instance_noise_blurs_what_the_discriminator_sees_and_only_when_set(tmp_path):
    """loss.disc_noise adds fresh Gaussian noise to every pose the discriminator scores; off, the
    score is the discriminator's own (and no random numbers are drawn)."""
    x = synthetic_data().frames.poses_2d[:16]
    plain = make_trainer(tmp_path / "plain")
    plain.disc.eval()  # no dropout: the scores then differ only through the noise
    state = plain.gen.get_state()
    assert torch.equal(plain._score(x), plain.disc(x)) and torch.equal(state, plain.gen.get_state())
    noisy = make_trainer(tmp_path / "noisy", loss={"disc_noise": 0.05})
    noisy.disc.load_state_dict(plain.disc.state_dict())
    noisy.disc.eval()
    a, b = noisy._score(x), noisy._score(x)
    assert not torch.allclose(a, b) and not torch.allclose(a, plain.disc(x))
    # Same seed, same noise: a run stays reproducible.
    again = make_trainer(tmp_path / "again", loss={"disc_noise": 0.05})
    again.disc.load_state_dict(plain.disc.state_dict())
    again.disc.eval()
    assert torch.equal(again._score(x), a)


def _mlp_dtypes(net: torch.nn.Module) -> set:
    """The compute dtypes of the MLPs inside `net` (None = fp32)."""
    from ambipose.models.networks import ResidualMLP

    return {m.compute_dtype for m in net.modules() if isinstance(m, ResidualMLP)}


def test_bf16_precision_runs_the_live_networks_in_bf16_and_validates_and_saves_fp32(tmp_path):
    from ambipose.models.networks import full_precision

    tr = make_trainer(tmp_path, train={"precision": "bf16", "ema_decay": 0.0})
    assert _mlp_dtypes(tr.model) == _mlp_dtypes(tr.disc) == {torch.bfloat16}
    x = tr.frames.poses_2d[:16]
    tr.model.eval()
    low = tr.model.lifter(x)
    with full_precision(tr.model):
        high = tr.model.lifter(x)
        assert _mlp_dtypes(tr.model) == {None}
    assert _mlp_dtypes(tr.model) == {torch.bfloat16}  # restored
    # The layers really ran in bf16 (results differ), only by bf16 rounding, and hand back fp32.
    assert low.dtype == high.dtype == torch.float32 and not torch.equal(low, high)
    assert (low - high).abs().max() < 0.05 * high.abs().max()
    # Validation (here the live model: EMA off) runs in fp32, as inference does.
    idx = torch.arange(16)
    with full_precision(tr.model):
        expected = tr.model(tr.frames.poses_2d[idx])
    assert torch.equal(tr._predict(idx), expected)
    tr.model.train()
    tr.fit()  # every loss finite (fit raises otherwise)
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in tr.model.parameters())
    st = load_checkpoint(tmp_path / "last.pt")
    assert all(v.dtype == torch.float32 for v in st["model"].values() if v.is_floating_point())


def test_bf16_precision_leaves_the_averaged_model_in_fp32(tmp_path):
    tr = make_trainer(tmp_path, train={"precision": "bf16"})
    assert _mlp_dtypes(tr.ema) == {None} and _mlp_dtypes(tr.model) == {torch.bfloat16}
