"""Adapting to a new domain from its 2D alone (issue #33): many tracks in one 2D file (a
VideoPose3D custom npz), `evaluate --dataset mocap --write-2d`, training on every track of it,
and the plausibility watch over the self-training stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ambipose.cli import main
from ambipose.data.formats import read_keypoint_tracks, read_keypoints
from ambipose.data.formats.arrays import write_vp3d
from ambipose.data.synthetic import synthetic_clip
from test_robustness import _walker_mm, _write_mocap


def _tracks() -> list[tuple[str, np.ndarray, tuple[int, int]]]:
    return [(f"clip{i}.cam", synthetic_clip(20 + 5 * i, seed=i)["poses_2d"].astype(np.float32), (1000, 1002))
            for i in range(3)]


def test_many_tracks_round_trip_through_one_videopose3d_file(tmp_path):
    path = tmp_path / "tracks.npz"
    write_vp3d(path, _tracks())
    got = read_keypoint_tracks(path)
    assert [n for n, _ in got] == ["clip0.cam", "clip1.cam", "clip2.cam"]
    for (name, poses, size), (_, kp) in zip(_tracks(), got):
        np.testing.assert_allclose(kp.poses, poses, atol=1e-4)  # Human3.6M order kept, not remapped
        assert kp.layout == "h36m17" and kp.image_size == size and not kp.missing.any()
    # `lift` reads one track of it: the first, or the one asked for.
    assert len(read_keypoints(path)) == 20 and len(read_keypoints(path, track="clip2.cam")) == 30
    # A single-track file is one track named by the file.
    single = tmp_path / "one.npy"
    np.save(single, _tracks()[0][1])
    assert [n for n, _ in read_keypoint_tracks(single)] == ["one.npy"]
    with pytest.raises(ValueError, match="unique"):
        write_vp3d(tmp_path / "dup.npz", _tracks()[:1] * 2)
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary file left


def test_write_2d_gives_a_domain_s_2d_and_training_reads_every_track(tmp_path, capsys):
    folder = _write_mocap(tmp_path / "m", {"walk_a": _walker_mm(60), "walk_b": _walker_mm(60, seed=12)})
    out = tmp_path / "val_2d.npz"
    assert main(["evaluate", "--dataset", "mocap", "--root", str(folder), "--split", "val", "--cameras", "varied",
                 "--write-2d", str(out)]) == 0
    assert "16 tracks, 480 frames of 2D" in capsys.readouterr().out  # 2 clips x 8 cameras x 30 frames
    tracks = read_keypoint_tracks(out)
    assert len(tracks) == 16 and {n.split(".")[0] for n, _ in tracks} == {"walk_a", "walk_b"}
    few = tmp_path / "few.npz"
    assert main(["evaluate", "--dataset", "mocap", "--root", str(folder), "--split", "val", "--cameras", "varied",
                 "--write-2d", str(few), "--max-frames", "45"]) == 0
    assert sum(len(kp) for _, kp in read_keypoint_tracks(few)) == 45  # whole tracks, the last one cut
    assert main(["evaluate", "--dataset", "h36m", "--write-2d", str(few)]) == 2
    assert "use it with --dataset mocap" in capsys.readouterr().err

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("name: tiny\nmodel: {width: 32, blocks: 1, disc_blocks: 1}\n"
                   "loss: {tmc_offset: 1, bone_min_offset: 2}\n"
                   "train: {epochs: 1, iters_per_epoch: 3, batch_size: 32, threads: 1}\n")
    assert main(["train", "--config", str(cfg), "--data-2d", str(out), "--out", str(tmp_path / "run"),
                 "--no-progress"]) == 0
    assert "(480 frames in 16 tracks, no 3D)" in capsys.readouterr().out


def test_the_plausibility_watch_also_judges_the_self_training_stage(tmp_path, capsys):
    walk = tmp_path / "walk.npz"
    write_vp3d(walk, _tracks())
    base = tmp_path / "base.yaml"
    base.write_text("name: b\nmodel: {width: 32, blocks: 1, disc_blocks: 1, correct_2d: true}\n"
                    "loss: {tmc_offset: 1, bone_min_offset: 2}\n"
                    "train: {epochs: 1, iters_per_epoch: 5, batch_size: 32, threads: 1}\n"
                    "self_training: {steps: 3, batch_size: 32, augment: 0.5}\n")
    assert main(["train", "--config", str(base), "--data-2d", str(walk), "--out", str(tmp_path / "base"),
                 "--no-progress"]) == 0
    init = tmp_path / "base" / "model.pt"
    # Fine-tuning a model that carries a trained 2D-correction head with adversarial epochs only
    # is allowed: the head is kept (frozen), not refused as an untrainable new head.
    adv = tmp_path / "adv.yaml"
    adv.write_text("name: adv\nloss: {tmc_offset: 1, bone_min_offset: 2}\n"
                   "train: {epochs: 1, iters_per_epoch: 2, batch_size: 32, threads: 1, keep_best: true}\n")
    assert main(["train", "--config", str(adv), "--data-2d", str(walk), "--init", str(init),
                 "--out", str(tmp_path / "adv"), "--no-progress"]) == 0
    start = torch.load(init, weights_only=True)["model"]
    # A sane round makes the 3D more plausible and ships; a wrecking learning rate is caught and
    # the initial weights ship instead.
    for lr, kept in (("3.0e-3", "self-training round 1 of 1"), ("0.5", "the initial weights")):
        ft = tmp_path / f"ft{lr}.yaml"
        ft.write_text("name: ft\nloss: {tmc_offset: 1, bone_min_offset: 2}\n"
                      "train: {epochs: 0, batch_size: 32, threads: 1, keep_best: true}\n"
                      f"self_training: {{steps: 40, batch_size: 32, lr: {lr}, augment: 0.5}}\n")
        capsys.readouterr()
        assert main(["train", "--config", str(ft), "--data-2d", str(walk), "--init", str(init),
                     "--out", str(tmp_path / lr), "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert "self-training round 1: 3D plausibility on the training 2D" in out
        assert f"kept the most plausible weights: {kept}" in out
        best = torch.load(tmp_path / lr / "best.pt", weights_only=True)["model"]
        shipped = torch.load(tmp_path / lr / "model.pt", weights_only=True)["model"]
        assert all(torch.equal(shipped[k], v) for k, v in best.items())
        same_as_start = all(torch.equal(shipped[k], start[k]) for k in start)
        assert same_as_start == (kept == "the initial weights")


def test_a_round_never_builds_on_epochs_the_watch_rejects(tmp_path, capsys):
    """With 1,000 frames of mocap 2D the adversarial epochs degraded the 3D and the round after
    them looked plausible anyway (its skeletons are fitted by construction): it must start from
    the most plausible weights so far instead."""
    walk = tmp_path / "walk.npz"
    write_vp3d(walk, _tracks())
    base = tmp_path / "base.yaml"
    base.write_text("name: b\nmodel: {width: 32, blocks: 1, disc_blocks: 1}\nloss: {tmc_offset: 1, bone_min_offset: 2}\n"
                    "train: {epochs: 1, iters_per_epoch: 5, batch_size: 32, threads: 1}\n")
    assert main(["train", "--config", str(base), "--data-2d", str(walk), "--out", str(tmp_path / "base"),
                 "--no-progress"]) == 0
    wreck = tmp_path / "wreck.yaml"  # epochs at an absurd learning rate, then a sane round
    wreck.write_text("name: w\nloss: {tmc_offset: 1, bone_min_offset: 2}\n"
                     "train: {epochs: 2, iters_per_epoch: 5, batch_size: 32, threads: 1, lr: 0.1, keep_best: true,"
                     " disc_warmup_steps: 2}\n"
                     "self_training: {steps: 20, batch_size: 32, lr: 3.0e-3, augment: 0.5}\n")
    capsys.readouterr()
    assert main(["train", "--config", str(wreck), "--data-2d", str(walk), "--init", str(tmp_path / "base" / "model.pt"),
                 "--out", str(tmp_path / "ft"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "less plausible than with the initial weights" not in out  # (that is the warning, on stderr)
    assert ("self-training round 1: the weights it would start from are less plausible than the initial ones"
            in out and "it starts from the most plausible weights so far (the initial weights)" in out), out


def test_a_round_takes_at_most_max_passes_over_little_2d(tmp_path, capsys):
    from ambipose.config import config_from_dict
    from ambipose.errors import InputError
    from ambipose.training.self_training import round_steps

    assert round_steps(4000, None, 1000, 1024) == 4000
    assert round_steps(4000, 150, 30_808, 1024) == 4000  # plenty of 2D: the cap does not bind
    assert round_steps(4000, 150, 1000, 1024) == 146  # 150 passes over 1,000 frames
    assert round_steps(4000, 0.001, 10, 1024) == 1
    with pytest.raises(InputError, match="max_passes must be > 0"):
        config_from_dict({"self_training": {"steps": 10, "max_passes": 0}})
    walk = tmp_path / "walk.npz"
    write_vp3d(walk, _tracks())  # 75 frames
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: c\nmodel: {width: 32, blocks: 1, disc_blocks: 1}\nloss: {tmc_offset: 1, bone_min_offset: 2}\n"
                   "train: {epochs: 1, iters_per_epoch: 2, batch_size: 32, threads: 1}\n"
                   "self_training: {steps: 50, batch_size: 32, augment: 0.5, max_passes: 4}\n")
    assert main(["train", "--config", str(cfg), "--data-2d", str(walk), "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "then self-training (1 x 9 steps" in out and "9 steps (capped at 4 passes over the frames)" in out
    rows = (tmp_path / "r" / "log.csv").read_text().splitlines()
    assert rows[-2].split(",")[1] == str(2 + 9)  # the round's last logged step: 2 epoch steps + 9
