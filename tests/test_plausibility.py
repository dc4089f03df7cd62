"""The no-3D quality signals and the fine-tuning watch built on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ambipose.cli import main
from ambipose.data.skeleton import PARENTS
from ambipose.data.synthetic import synthetic_clip
from ambipose.evaluation.plausibility import (bone_length_variation, depth_span, left_right_asymmetry,
                                              plausibility, plausibility_score)


def _rigid_clip(frames: int = 40) -> np.ndarray:
    """A symmetric T-ish pose turning about the vertical axis: bones rigid, left = right."""
    pose = np.zeros((17, 3))
    pose[[1, 4]] = [[-1, 0, 0], [1, 0, 0]]
    pose[[2, 5]] = pose[[1, 4]] + [0, 4, 0]
    pose[[3, 6]] = pose[[2, 5]] + [0, 4, 0]
    pose[7], pose[8], pose[9], pose[10] = [0, -2, 0], [0, -4, 0], [0, -5, 0], [0, -6, 0]
    pose[[11, 14]] = pose[8] + [[1.5, 0, 0], [-1.5, 0, 0]]
    pose[[12, 15]] = pose[[11, 14]] + [[2.5, 0, 1], [-2.5, 0, 1]]
    pose[[13, 16]] = pose[[12, 15]] + [[2.5, 0, 0], [-2.5, 0, 0]]
    out = []
    for a in np.linspace(0, np.pi, frames):
        c, s = np.cos(a), np.sin(a)
        out.append(pose @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]]).T)
    return np.array(out)


def test_rigid_symmetric_skeleton_scores_zero():
    clip = _rigid_clip()
    assert bone_length_variation(clip) == pytest.approx(0.0, abs=1e-9)
    assert left_right_asymmetry(clip) == pytest.approx(0.0, abs=1e-9)
    assert plausibility_score(plausibility(clip)) == pytest.approx(0.0, abs=1e-9)


def test_hand_made_values():
    clip = _rigid_clip(2)
    # One bone (left shin, child 6) 10 % longer in the second frame only: that bone's CV over the
    # two frames is std/mean of (4, 4.4) = 0.2 / 4.2; averaged over 16 bones.
    stretched = clip.copy()
    stretched[1, 6] = stretched[1, 5] + 1.1 * (clip[1, 6] - clip[1, 5])
    assert bone_length_variation(stretched) == pytest.approx(100 * (0.2 / 4.2) / 16)
    # Left forearm (child 13) 20 % longer than the right in every frame: |L-R|/mean = 0.5/2.75
    # for one of the six pairs.
    lopsided = clip.copy()
    lopsided[:, 13] = clip[:, 12] + 1.2 * (clip[:, 13] - clip[:, 12])
    assert left_right_asymmetry(lopsided) == pytest.approx(100 * (0.5 / 2.75) / 6)
    # Depth span in head-root lengths: frame 0 spans z in [0, 1], head-root length 6.
    assert depth_span(clip[:1]) == pytest.approx(1 / 6)
    flat = clip.copy()
    flat[..., 2] = 0
    assert depth_span(flat) == 0.0


def test_sequences_are_judged_separately():
    a, b = _rigid_clip(10), 2.0 * _rigid_clip(10)  # two people of different sizes, each rigid
    both = np.concatenate([a, b])
    seq = np.repeat([0, 1], 10)
    assert bone_length_variation(both, seq) == pytest.approx(0.0, abs=1e-9)
    assert bone_length_variation(both) > 10  # as one sequence they would look elastic


TINY = """
name: tiny_ft
model: {width: 32, blocks: 1, disc_blocks: 1}
loss: {tmc_offset: 1, bone_min_offset: 2}
train: {epochs: 3, iters_per_epoch: 5, batch_size: 32, threads: 1, log_every: 1, lr: LR, keep_best: true,
        disc_warmup_steps: 3}
"""


def test_fine_tuning_logs_signals_keeps_the_most_plausible_epoch_and_warns(tmp_path, capsys):
    walk = tmp_path / "walk.npy"
    np.save(walk, synthetic_clip(frames=60, seed=3)["poses_2d"].astype(np.float32))
    base = tmp_path / "base.yaml"
    base.write_text(TINY.replace("LR", "1.0e-3").replace("keep_best: true", "keep_best: false"))
    assert main(["train", "--config", str(base), "--data-2d", str(walk), "--out", str(tmp_path / "base"),
                 "--no-progress"]) == 0
    init = tmp_path / "base" / "model.pt"
    # An absurd learning rate wrecks the lifter within an epoch: the watch must notice, warn,
    # and ship the initial weights rather than the wreck.
    wild = tmp_path / "wild.yaml"
    wild.write_text(TINY.replace("LR", "0.1"))
    capsys.readouterr()
    assert main(["train", "--config", str(wild), "--data-2d", str(walk), "--init", str(init),
                 "--out", str(tmp_path / "ft"), "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "3D plausibility on the training 2D" in cap.out and "(initial weights:" in cap.out
    assert "less plausible than with the initial weights" in cap.err
    rows = (tmp_path / "ft" / "log.csv").read_text().splitlines()
    assert rows[1].startswith("0,0,validation,")  # the starting weights, before any step
    assert sum(",validation," in r for r in rows) == 4  # initial + 3 epochs
    assert any(",disc-warmup," in r for r in rows)

    shipped = torch.load(tmp_path / "ft" / "model.pt", weights_only=True)["model"]
    best = torch.load(tmp_path / "ft" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(shipped[k], best[k]) for k in best)
    # The wrecked epochs lose to the starting weights, which ship unchanged.
    assert "kept the most plausible weights: the initial weights" in cap.out
    start = torch.load(init, weights_only=True)["model"]
    assert all(torch.equal(shipped[k], start[k]) for k in start)
