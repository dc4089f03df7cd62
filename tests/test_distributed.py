"""Data-parallel training: 2 CPU processes (gloo on 127.0.0.1) against in-process references.

What must hold, and how exactly:
- after every step all ranks hold bit-identical weights, buffers and optimiser states;
- the gradient a 2-process step applies is the mean of the gradients of the two slices of the
  global batch (computed here in one process with `Trainer(rank=r, world_size=2)`): equal to
  float rounding (measured 4e-8 relative; tolerance 1e-5);
- a 2-process run matches a 1-process run with the same global batch up to BatchNorm: each
  process normalises with the statistics of its own slice (and the KL prior of the scale step
  uses each slice's scale mean and spread). Without BatchNorm the two agree to 1e-7
  (`test_slices_average_to_the_global_batch_without_batchnorm`). With it, at 256 samples per
  process, measured over seeds 0-3: the first lifter gradient differs by 8-15 % (this seed:
  10 %), the change of the predictions over one cycle by 5-9 % (this seed: 6 %). Tolerances:
  20 % and 12 %, twice this seed's value. A rank training alone on its slice without averaging
  differs by 18-45 % and 10-26 % (this seed: 25 % and 15 %), so it fails both.
Dropout (lifter and discriminator) is 0 so that the runs draw no random masks (masks differ per rank by design).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch import nn

from ambipose.bench import random_poses, random_training_data
from ambipose.config import ExperimentConfig, config_from_dict
from ambipose.models.pose_model import PoseModel
from ambipose.models.checkpoint import load_checkpoint
from ambipose.training.distributed import free_port, spawn_cpu
from ambipose.training.loop import Trainer

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")

STEPS = 5  # one iterative cycle: 4 lifter steps, then 1 scale step
BATCH = 512  # global; 256 per process keeps BatchNorm's per-process statistics close to global ones


def tiny_config(batch: int = BATCH, seed: int = 0) -> ExperimentConfig:
    return config_from_dict({
        "name": "ddp-test",
        "model": {"width": 64, "blocks": 1, "dropout": 0.0, "disc_dropout": 0.0},
        "train": {"batch_size": batch, "disc_every": 1, "ema_decay": 0.0, "iters_per_epoch": 100, "epochs": 1, "threads": 1, "log_every": 1, "seed": seed},
    })


def adam_first_grad(state: dict, opt: str) -> torch.Tensor:
    """The gradient of the first optimiser step, read back from Adam's state: after one step
    exp_avg = (1 - beta1) * grad with beta1 = 0.5."""
    st = state["optim"][opt]["state"]
    return torch.cat([st[k]["exp_avg"].flatten() / 0.5 for k in sorted(st)])


def run_steps(trainer: Trainer, steps: int) -> Trainer:
    """`steps` more steps, as Trainer.fit takes them within an epoch (the step index decides
    lifter or scale step)."""
    for _ in range(steps):
        trainer.train_step(trainer.step % trainer.iters)
        trainer.step += 1
    return trainer


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def predictions(model_state: dict, cfg: ExperimentConfig, x: torch.Tensor) -> torch.Tensor:
    """Training-mode forward (batch statistics of x, not running ones) on fixed poses (B, 17, 2)."""
    m = PoseModel(cfg.model, cfg.loss.prior_mean)
    m.load_state_dict(model_state)
    with torch.no_grad():
        return m.train()(x)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cfg = tiny_config()
    data = random_training_data(2000, 10, seed=10)
    out = tmp_path_factory.mktemp("ddp")
    spawn_cpu(2, cfg, out, data, max_steps=STEPS, save_at=(1, STEPS))
    states = {(r, s): load_checkpoint(out / f"rank{r}_step{s}.pt") for r in (0, 1) for s in (1, STEPS)}
    return {"cfg": cfg, "data": data, "states": states, "out": out}


def _flat_state(st: dict) -> dict[str, torch.Tensor]:
    flat = {f"model.{k}": v for k, v in st["model"].items()}
    flat.update({f"disc.{k}": v for k, v in (st["disc"] or {}).items()})
    for name, o in st["optim"].items():
        for i, s in o["state"].items():
            flat.update({f"optim.{name}.{i}.{k}": v for k, v in s.items() if torch.is_tensor(v)})
    return flat


@pytest.mark.parametrize("step", [1, STEPS])
def test_ranks_hold_identical_state(ddp_run: dict, step: int) -> None:
    a, b = (_flat_state(ddp_run["states"][(r, step)]) for r in (0, 1))
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"ranks disagree after step {step}: {differ[:5]}"


@pytest.mark.parametrize("opt", ["lifter", "disc"])
def test_applied_gradient_is_the_mean_of_the_slices(ddp_run: dict, tmp_path: Path, opt: str) -> None:
    cfg, data = ddp_run["cfg"], ddp_run["data"]
    slices = [adam_first_grad(run_steps(Trainer(cfg, tmp_path / f"r{r}", data=data, progress=False, rank=r, world_size=2), 1).state(), opt)
              for r in (0, 1)]
    got = adam_first_grad(ddp_run["states"][(0, 1)], opt)
    assert rel(got, (slices[0] + slices[1]) / 2) < 1e-5


def test_slices_average_to_the_global_batch_without_batchnorm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the comparison with one process needs a tolerance: with BatchNorm replaced by identity,
    the mean of the slice gradients *is* the global-batch gradient."""
    import ambipose.models.networks as networks

    monkeypatch.setattr(networks.nn, "BatchNorm1d", lambda width: nn.Identity())
    cfg, data = tiny_config(batch=32), random_training_data(500, 5, seed=1)
    one = adam_first_grad(run_steps(Trainer(cfg, tmp_path / "one", data=data, progress=False), 1).state(), "lifter")
    two = [adam_first_grad(run_steps(Trainer(cfg, tmp_path / f"r{r}", data=data, progress=False, rank=r, world_size=2), 1).state(), "lifter")
           for r in (0, 1)]
    assert rel((two[0] + two[1]) / 2, one) < 1e-5


def test_matches_one_process_with_the_same_global_batch(ddp_run: dict, tmp_path: Path) -> None:
    cfg, data, states = ddp_run["cfg"], ddp_run["data"], ddp_run["states"]
    single = Trainer(cfg, tmp_path / "one", data=data, progress=False)
    init = copy.deepcopy(single.model.state_dict())
    run_steps(single, 1)
    # The tolerances and why: see the module docstring (BatchNorm statistics per process).
    assert rel(adam_first_grad(states[(0, 1)], "lifter"), adam_first_grad(single.state(), "lifter")) < 0.20
    run_steps(single, STEPS - 1)  # steps 2..5, the last one the scale step
    x = random_poses(512, seed=99)
    y0, y1 = predictions(init, cfg, x), predictions(single.model.state_dict(), cfg, x)
    y2 = predictions(states[(0, STEPS)]["model"], cfg, x)
    assert rel(y2 - y0, y1 - y0) < 0.12  # relative to how far one cycle moves the predictions


def test_torchrun_entry_point(tmp_path: Path) -> None:
    """`torchrun -m ambipose.training.distributed` end to end: 2 CPU processes, own 2D file."""
    from ambipose.data.synthetic import synthetic_clip
    from ambipose.inference import PoseLifter

    np.save(tmp_path / "kp.npy", np.concatenate([synthetic_clip(60, seed=s)["poses_2d"] for s in range(3)]))
    (tmp_path / "cfg.yaml").write_text(
        "name: ddp-e2e\nmodel: {width: 64, blocks: 1}\n"
        "train: {batch_size: 32, epochs: 1, iters_per_epoch: 3, threads: 1, log_every: 1}\n")
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def launch() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
             "--master_addr=127.0.0.1", f"--master_port={free_port()}",
             "-m", "ambipose.training.distributed", "--config", str(tmp_path / "cfg.yaml"), "--out", str(out),
             "--data-2d", str(tmp_path / "kp.npy"), "--device", "cpu", "--no-progress", "--overwrite"],
            capture_output=True, text=True, timeout=120, env=env)

    def report(p: subprocess.CompletedProcess) -> str:
        # the rank's own last words (gloo's "what():" line) come before torchrun's summary
        said = [ln for ln in p.stderr.splitlines() if re.search(r"terminate|what\(\)|Error|error:", ln)]
        return p.stdout[-1500:] + "\n".join(said[:20]) + p.stderr[-1500:]

    proc = launch()
    if proc.returncode != 0 and "done:" in proc.stdout and (out / "model.pt").is_file():
        # Training finished and rank 0 wrote the model; a rank died while gloo tore its TCP pairs
        # down (a race inside torch's teardown, seen once in CI on 2026-11-29, never here in 45 tries
        # under load; cf. pytorch/gloo#388). Run once more: a real fault fails twice.
        proc = launch()
    assert proc.returncode == 0, report(proc)
    assert "2 processes x 16 samples" in proc.stdout
    lifter = PoseLifter.from_checkpoint(out / "model.pt")
    assert lifter.cfg.name == "ddp-e2e"
    rows = (out / "log.csv").read_text().strip().splitlines()
    # header + one row per step + the epoch's validation row (plausibility), by rank 0 only
    assert len(rows) == 1 + 3 + 1 and rows[-1].startswith("1,3,validation,")
    assert (out / "last.pt").is_file()


def test_the_self_training_stage_runs_on_two_processes(tmp_path: Path) -> None:
    """The stage after the main epochs: each process fine-tunes on its slice of the global batch
    with averaged gradients, and the rounds end with rank 0's weights everywhere."""
    raw = tiny_config(batch=64).to_dict()
    raw["train"].update(iters_per_epoch=5, log_every=5)
    raw["self_training"] = {"steps": 6, "rounds": 2, "batch_size": 64}
    spawn_cpu(2, config_from_dict(raw), tmp_path, random_training_data(500, 5, seed=2))
    st = load_checkpoint(tmp_path / "last.pt")
    assert st["self_training_rounds"] == 2 and st["step"] == 5 + 2 * 6
    assert (tmp_path / "model.pt").exists()
    assert all(torch.isfinite(v).all() for v in st["model"].values() if v.is_floating_point())
