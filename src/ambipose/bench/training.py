"""Training speed: one iterative cycle through `Trainer.train_step` on random normalised poses."""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

import torch

from ..config import ExperimentConfig, ModelConfig, TrainConfig
from ..data.sampler import PoseFrames
from ..data.synthetic import random_poses
from ..training.data import REFERENCE_HEAD_ROOT_MM, TrainingData
from ..training.loop import Batch, Trainer
from .flops import training_flops
from .timing import BenchSettings, MatmulProbe, _sync, time_calls


TARGET_TRAINING = 0.60


# ---- synthetic inputs ------------------------------------------------------------------------
def random_training_data(frames: int = 10_000, sequences: int = 20, seed: int = 0, depth: float = 10.0) -> TrainingData:
    """TrainingData of `sequences` equal-length random sequences (no dataset needed): enough for
    the Trainer's pair sampler; the poses have no temporal structure (speed only)."""
    per = max(frames // sequences, 4)
    x = random_poses(per * sequences, seed).numpy()
    seqs = [x[i * per:(i + 1) * per] for i in range(sequences)]
    return TrainingData(PoseFrames.from_sequences(seqs), {"mode": "universal", "constant": 1000.0, "depth": depth},
                        REFERENCE_HEAD_ROOT_MM, f"random poses ({len(x)} frames)")


# ---- training --------------------------------------------------------------------------------
class _TimedTrainer(Trainer):
    """Trainer that adds up the time spent drawing batches (index sampling and gathering)."""

    data_seconds = 0.0

    def batch(self) -> Batch:
        _sync(self.device)
        t0 = time.perf_counter()
        b = super().batch()
        _sync(self.device)
        self.data_seconds += time.perf_counter() - t0
        return b


def bench_config(s: BenchSettings) -> ExperimentConfig:
    """The full method (defaults of configs/full.yaml: iterative schedule, scale in 2D, all
    losses) at the benchmark's width, depth and batch."""
    return ExperimentConfig(name="bench", model=ModelConfig(width=s.width, blocks=s.blocks),
                            train=TrainConfig(batch_size=s.train_batch, iters_per_epoch=1000, precision=s.precision))


def bench_training(s: BenchSettings, probe: MatmulProbe) -> dict[str, Any]:
    """Frame pairs/s of `s.cycles` iterative cycles after one warm-up step of each kind; a
    reference matmul before the first and after every timed step (not counted in the time)."""
    cfg = bench_config(s)
    flops = training_flops(cfg)
    device = torch.device(s.device)
    n = cfg.train.lifter_steps
    with tempfile.TemporaryDirectory() as tmp:
        tr = _TimedTrainer(cfg, tmp, device=s.device, data=random_training_data(depth=cfg.model.depth), progress=False)
        tr.train_step(0)  # warm-up: one step of each kind (allocations, kernel selection)
        tr.train_step(n)
        _sync(device)
        tr.data_seconds = 0.0
        mm = [probe.sample()]
        step_times: dict[str, list[float]] = {}
        for _ in range(s.cycles):
            for it in range(n + 1):
                t0 = time.perf_counter()
                kind, _ = tr.train_step(it)
                _sync(device)
                step_times.setdefault(kind, []).append(time.perf_counter() - t0)
                mm.append(probe.sample())
    total = sum(sum(v) for v in step_times.values())
    pairs = s.cycles * (n + 1) * s.train_batch
    pps = pairs / total
    gflops = pps * flops["per_pair"] / 1e9
    rate = probe.gflops(mm)
    low = {}
    if s.precision != "fp32":  # the matrix unit the layers ran on, for context (targets use fp32)
        bf = MatmulProbe(device, s.matmul_n, torch.bfloat16)
        time_calls(bf.sample, device, 1.0, warmup=0, min_repeats=5)
        low = {"bf16_matmul_gflops": bf.gflops(), "fraction_of_bf16_matmul": gflops / bf.gflops()}
    return {
        "precision": s.precision, **low,
        "batch": s.train_batch, "cycles": s.cycles, "lifter_steps": n, "seconds": total,
        "step_seconds": {k: statistics.median(v) for k, v in step_times.items()},
        "pairs_per_s": pps, "gflops": gflops, "fraction_of_matmul": gflops / rate, "matmul_gflops": rate,
        "data_seconds": tr.data_seconds, "data_share": tr.data_seconds / total,
        "flops": flops,
    }
