"""Nothing lost when a run is killed: SIGKILL in the middle of an epoch, resume, and the final
weights equal those of an uninterrupted run with the same seed, bit for bit (CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ambipose.data.synthetic import synthetic_clip
from ambipose.models.checkpoint import load_checkpoint

YAML = """
name: killme
model: {width: 48, blocks: 1, disc_blocks: 1}
train: {epochs: 3, iters_per_epoch: 60, batch_size: 32, threads: 1, log_every: 5}
"""


def _train(cfg: Path, data: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ambipose.cli", "train", "--config", str(cfg), "--data-2d", str(data),
                             "--out", str(out), "--no-progress", "--device", "cpu", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("no SIGKILL on this platform")
    data = tmp_path / "walk.npy"
    np.save(data, synthetic_clip(frames=80, seed=5)["poses_2d"].astype(np.float32))
    cfg = tmp_path / "killme.yaml"
    cfg.write_text(YAML)

    ref = _train(cfg, data, tmp_path / "ref")
    assert ref.wait(timeout=300) == 0, ref.stdout.read()

    victim = _train(cfg, data, tmp_path / "victim")
    last = tmp_path / "victim" / "last.pt"
    deadline = time.time() + 240
    while not last.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert last.exists(), "first epoch checkpoint never appeared"
    time.sleep(0.3)  # well inside epoch 2
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    state = load_checkpoint(last)  # the checkpoint on disk is whole, not torn
    assert state["epoch"] in (1, 2) and not (tmp_path / "victim" / "model.pt").exists()
    leftovers = [p.name for p in (tmp_path / "victim").iterdir() if ".tmp" in p.name]
    # A kill during a checkpoint write can leave at most a temporary file, never a torn last.pt.
    assert len(leftovers) <= 1

    resumed = _train(cfg, data, tmp_path / "victim", "--resume")
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert "resumed from" in out

    a = load_checkpoint(tmp_path / "ref" / "model.pt")["model"]
    b = load_checkpoint(tmp_path / "victim" / "model.pt")["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run differs from the uninterrupted one"
    # The log has no duplicated steps after the resume.
    # (The end of each epoch adds a validation row at the same step as the last training row.)
    rows = [line.split(",") for line in (tmp_path / "victim" / "log.csv").read_text().splitlines()[1:]]
    keys = [(int(r[1]), r[2] == "validation") for r in rows]
    assert keys == sorted(set(keys))
