"""Timing: repeated calls after warm-up, percentiles, the fp32 matmul rate every figure is
expressed against, thread / TF32 switches, and the benchmark's settings."""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch


INFERENCE_BATCHES = (1, 64, 1024)


# ---- timing ----------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], device: torch.device, budget_s: float = 2.0, warmup: int = 2,
               min_repeats: int = 3, max_repeats: int = 300) -> list[float]:
    """Seconds per call of `fn` (synchronised on CUDA): `warmup` untimed calls, then as many timed
    calls as fit in about `budget_s` (within [min_repeats, max_repeats])."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
        n = len(times)
        if n >= max_repeats or (n >= min_repeats and time.perf_counter() - start >= budget_s):
            return times


def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


class MatmulProbe:
    """The reference: fp32 n x n x n matmul (TF32 off), sampled throughout the run. On a machine
    whose load changes while the benchmark runs, each section is compared with the rate measured
    while it ran, not with one figure from the start."""

    def __init__(self, device: torch.device, n: int = 2048, dtype: torch.dtype = torch.float32):
        self.device, self.n = device, n
        g = torch.Generator(device="cpu").manual_seed(0)
        self.a, self.b = (torch.randn(n, n, generator=g).to(device, dtype) for _ in range(2))
        self.c = torch.empty(n, n, device=device, dtype=dtype)
        self.all: list[float] = []
        for _ in range(2):  # warm-up
            self.sample()
        self.all.clear()

    def sample(self) -> float:
        """Seconds of one product."""
        with _tf32(False):
            _sync(self.device)
            t0 = time.perf_counter()
            torch.mm(self.a, self.b, out=self.c)
            _sync(self.device)
        dt = time.perf_counter() - t0
        self.all.append(dt)
        return dt

    def gflops(self, times: list[float] | None = None) -> float:
        """GFLOP/s from the median of `times` (default: every sample so far)."""
        return 2 * self.n**3 / statistics.median(times or self.all) / 1e9


@contextlib.contextmanager
def _tf32(on: bool) -> Iterator[None]:
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = on
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass
class BenchSettings:
    """Sizes and time budgets. `quick`: short budgets, a 1024^3 matmul, no torch.compile."""

    width: int = 1024
    blocks: int = 5
    train_batch: int = 1024
    device: str = "cpu"
    quick: bool = False
    compile: bool = True
    cycles: int = 1  # timed training cycles (after one warm-up step of each kind)
    precision: str = "fp32"  # training arithmetic (train.precision): fp32 or bf16 (autocast)
    batches: tuple[int, ...] = INFERENCE_BATCHES
    seconds_per_case: float = 3.0  # inference timing budget per variant and batch size
    min_rounds: int = 3
    max_rounds: int = 300
    matmul_n: int = 2048
    matmul_every_s: float = 1.0  # inference: one reference matmul per this much time

    def __post_init__(self) -> None:
        if self.quick:
            self.compile = False
            self.seconds_per_case = min(self.seconds_per_case, 0.5)
            self.matmul_n = 1024
            self.matmul_every_s = 0.2
