"""Speed of the lifter and of training, against the machine's own fp32 matmul rate.

Three measurements (`run_bench`):

1. inference: the PoseModel (scale module + lifter, eval mode) at batch 1, 64 and 1024, poses/s
   (median of repeated timed calls after warm-up), under several variants (autograd modes,
   BatchNorm folding, torch.compile, thread count, ONNX Runtime; bf16 / TF32 on CUDA), plus
   the single-pose latency (ms, median and p90);
2. training: one iterative cycle of the full method (`lifter_steps` lifter steps + 1 scale step)
   through `Trainer.train_step` on random normalised poses, in frame pairs/s, and the share of
   step time spent in `Trainer.batch()` (data loading);
3. the fp32 matmul rate (GFLOP/s, an n x n x n product, median of repeats): the reference every
   figure is expressed as a fraction of. It is sampled throughout the run, interleaved with the
   measurements, and each section uses the samples taken while it ran (the machine's load may
   change under a long benchmark).

FLOPs are counted analytically from the nn.Linear layers (2 * in * out per sample and layer);
BatchNorm, ReLU, the projection and the losses are ignored (well under 1 % at width >= 256).
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

import numpy as np
import torch
from torch import nn

from .config import ExperimentConfig, ModelConfig, TrainConfig
from .data.sampler import PoseFrames
from .data.synthetic import random_poses  # noqa: F401  (re-exported: tests and tools import it from here)
from .models.networks import Discriminator
from .models.pose_model import PoseModel
from .settings import machine_info
from .training.data import REFERENCE_HEAD_ROOT_MM, TrainingData
from .training.loop import Batch, Trainer

INFERENCE_BATCHES = (1, 64, 1024)
TARGET_INFERENCE = 0.85  # batch-1024 inference, fraction of the matmul rate
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


# ---- FLOP counting ---------------------------------------------------------------------------
def linear_flops(module: nn.Module | None) -> int:
    """FLOPs of one forward pass for one sample through every nn.Linear in `module`: 2*in*out."""
    if module is None:
        return 0
    return sum(2 * m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear))


def inference_flops(model: PoseModel) -> int:
    """FLOPs per pose of PoseModel.forward: scale module (if any) + lifter."""
    return linear_flops(model.lifter) + linear_flops(model.scale)


def training_flops(cfg: ExperimentConfig) -> dict[str, float]:
    """FLOPs per sample of the batch for each kind of step and per frame pair of one iterative
    cycle, with backward = 2 x forward (input and weight gradients) where weights train and
    1 x forward (input gradient only) where frozen weights pass a gradient through.

    Lifter step: the lifter runs 2 lifts per cycle and 2 cycles (frames t and t+k) = 4 forwards,
    trained (x3); the frozen scale module 2 forwards without gradient (x1); the frozen
    discriminator 1 forward in the generator loss (x2: input gradient only), and its own update
    (2 forwards, x3) every `disc_every` lifter steps. Scale step: the scale module 3 forwards
    (frames t, t+k and the bone frame l; x3), the frozen lifter the same 4 cycle lifts plus the
    lift of frame l, passing gradients to the scales (x2), the frozen discriminator 1 forward (x2).
    With the scale on the 3D output the scale step skips the cycle (its losses do not reach s):
    2 scale forwards (x3) and 2 lifts without gradient (x1).
    """
    m = PoseModel(cfg.model, cfg.loss.prior_mean)
    f_lift, f_scale = linear_flops(m.lifter), linear_flops(m.scale)
    unsup = cfg.train.objective == "unsupervised"
    f_disc = linear_flops(Discriminator.from_config(cfg.model)) if unsup and cfg.loss.w_adv > 0 else 0
    lifts = 4 if cfg.loss.w_tmc > 0 else 2
    lifter_step = 3 * lifts * f_lift + 2 * f_scale + 2 * f_disc + 2 * 3 * f_disc / cfg.train.disc_every
    if m.scale is None:
        scale_step = 0.0
    elif cfg.model.scale == "3d":
        scale_step = 3 * 2 * f_scale + 2 * f_lift
    else:
        scale_step = 3 * 3 * f_scale + 2 * (lifts + 1) * f_lift + 2 * f_disc
    n = cfg.train.lifter_steps
    cycle = n * lifter_step + scale_step
    steps = n + (1 if m.scale is not None else 0)
    return {"lifter_step": float(lifter_step), "scale_step": float(scale_step), "cycle": float(cycle),
            "per_pair": cycle / steps, "lifter_forward": float(f_lift), "scale_forward": float(f_scale),
            "disc_forward": float(f_disc)}


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


# ---- inference variants ----------------------------------------------------------------------
@dataclass
class Variant:
    """One way of running inference. `build` makes the callable x (B, 17, 2) -> (B, 17, 3) (and
    may raise: torch.compile without a compiler, ONNX Runtime missing); `setting` is entered
    around building and timing (thread count, TF32)."""

    name: str
    build: Callable[[], Callable[[torch.Tensor], Any]]
    exact: bool = True  # fp32 results (False: bf16 / TF32 rounding)
    setting: Callable[[], ContextManager] = contextlib.nullcontext
    note: str = ""
    host_input: bool = False  # takes a CPU tensor whatever the device (ONNX Runtime)


def _call(module: Callable, grad_mode: Callable[[], ContextManager], autocast: torch.dtype | None = None,
          device_type: str = "cpu") -> Callable[[torch.Tensor], Any]:
    def run(x: torch.Tensor) -> Any:
        with grad_mode(), (torch.autocast(device_type, dtype=autocast) if autocast else contextlib.nullcontext()):
            return module(x)
    return run


def inference_variants(model: PoseModel, device: torch.device, compile: bool = True) -> list[Variant]:
    """The variants tried; the model is in eval mode on `device`."""
    from .models.fuse import fuse_for_inference

    fused = fuse_for_inference(model)
    dt = device.type
    out = [
        Variant("eager, no_grad", lambda: _call(model, torch.no_grad)),
        Variant("eager, inference_mode", lambda: _call(model, torch.inference_mode)),
        Variant("fused BN, inference_mode", lambda: _call(fused, torch.inference_mode),
                note="BatchNorm folded into the Linear layers, Dropout removed"),
    ]
    if compile:
        # dynamic=False: one static graph per batch size (a dynamic-shape graph, what torch.compile
        # switches to after a second shape, ran slower than eager here).
        out.append(Variant("fused BN + torch.compile", lambda: _call(torch.compile(fused, dynamic=False), torch.inference_mode),
                           note="inductor, static shapes; compile time not in the figures"))
    if dt == "cpu" and torch.get_num_threads() > 1:
        out.append(Variant("fused BN, 1 thread", lambda: _call(fused, torch.inference_mode),
                           setting=lambda: _threads(1)))
    if dt == "cpu":
        out.append(Variant("ONNX Runtime (fused BN)", lambda: _onnxruntime_runner(model),
                           note="CPUExecutionProvider, the file `ambipose export` writes", host_input=True))
    if dt == "cuda":
        out.append(Variant("fused BN, TF32", lambda: _call(fused, torch.inference_mode), exact=False,
                           setting=lambda: _tf32(True)))
        out.append(Variant("fused BN, bf16 autocast", lambda: _call(fused, torch.inference_mode, torch.bfloat16, "cuda"),
                           exact=False))
    return out


def _onnxruntime_runner(model: PoseModel) -> Callable[[torch.Tensor], Any]:
    import onnxruntime as ort

    from .export import INPUT_NAME, write_export

    with tempfile.TemporaryDirectory() as tmp:
        path = write_export(model, "onnx", Path(tmp) / "model.onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(None, {INPUT_NAME: x.numpy()})[0]


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


def bench_inference(model: PoseModel, s: BenchSettings, flops_per_pose: int, probe: MatmulProbe) -> dict[str, Any]:
    """Time every variant at every batch size; pick the fastest exact variant per batch.

    Per batch size the variants are timed round-robin (rotating the order every round), with a
    matmul sample every `matmul_every_s`, so that load from other processes changes every
    variant's figures and the reference alike rather than favouring whichever ran in a quiet
    moment.
    """
    device = torch.device(s.device)
    rows: list[dict[str, Any]] = []
    live: list[tuple[Variant, Callable, dict[str, Any]]] = []
    for v in inference_variants(model, device, s.compile):
        row: dict[str, Any] = {"name": v.name, "exact": v.exact, "note": v.note, "batches": {}}
        rows.append(row)
        try:
            with v.setting():
                t0 = time.perf_counter()
                live.append((v, v.build(), row))
                row["build_s"] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 (a variant that cannot run is a result, not a failure)
            row["error"] = _short_error(e)
    matmul_per_batch = {}
    for b in s.batches:
        x = random_poses(b, seed=1).to(device)
        inputs = {id(fn): (x.cpu() if v.host_input else x) for v, fn, _ in live}
        for entry in list(live):  # warm-up; under torch.compile the first call compiles this shape
            v, fn, row = entry
            try:
                with v.setting():
                    t0 = time.perf_counter()
                    fn(inputs[id(fn)])
                    _sync(device)
                    row.setdefault("first_call_s", {})[str(b)] = time.perf_counter() - t0
                    fn(inputs[id(fn)])
            except Exception as e:  # noqa: BLE001
                row["error"] = _short_error(e)
                live.remove(entry)
        if not live:
            break
        samples: dict[int, list[float]] = {id(fn): [] for _, fn, _ in live}
        mm: list[float] = []
        budget, start, last_mm, rnd = s.seconds_per_case * len(live), time.perf_counter(), -math.inf, 0
        while True:
            k = rnd % len(live)
            for v, fn, _ in live[k:] + live[:k]:
                with v.setting():
                    t0 = time.perf_counter()
                    fn(inputs[id(fn)])
                    _sync(device)
                    samples[id(fn)].append(time.perf_counter() - t0)
            if time.perf_counter() - last_mm >= s.matmul_every_s:
                mm.append(probe.sample())
                last_mm = time.perf_counter()
            rnd += 1
            if rnd >= s.max_rounds or (rnd >= s.min_rounds and time.perf_counter() - start >= budget):
                break
        rate = probe.gflops(mm)
        matmul_per_batch[str(b)] = rate
        for _, fn, row in live:
            times = samples[id(fn)]
            med = statistics.median(times)
            pps = b / med
            row["batches"][str(b)] = {
                "poses_per_s": pps, "median_ms": 1e3 * med, "p90_ms": 1e3 * percentile(times, 90),
                "gflops": pps * flops_per_pose / 1e9, "fraction_of_matmul": pps * flops_per_pose / 1e9 / rate,
                "matmul_gflops": rate, "repeats": len(times)}
    best = {}
    for b in s.batches:
        ok = [r for r in rows if r["exact"] and str(b) in r["batches"]]
        if ok:
            r = max(ok, key=lambda r: r["batches"][str(b)]["poses_per_s"])
            best[str(b)] = {"variant": r["name"], **r["batches"][str(b)]}
    out: dict[str, Any] = {"flops_per_pose": flops_per_pose, "variants": rows, "best": best,
                           "matmul_gflops": matmul_per_batch}
    if "1" in best:
        out["latency_ms"] = {"variant": best["1"]["variant"], "median": best["1"]["median_ms"], "p90": best["1"]["p90_ms"]}
    return out


def _short_error(e: BaseException) -> str:
    msg = str(e).strip()
    return f"{type(e).__name__}: {msg.splitlines()[0][:200]}" if msg else type(e).__name__


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


# ---- the whole benchmark ---------------------------------------------------------------------
def run_bench(s: BenchSettings, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """All three measurements; returns the JSON-ready result (see module docstring)."""
    device = torch.device(s.device)
    result: dict[str, Any] = {"settings": dict(vars(s)), "machine": machine_info(device)}
    log(f"matmul {s.matmul_n}^3 ...")
    probe = MatmulProbe(device, s.matmul_n)
    time_calls(probe.sample, device, 1.0 if s.quick else 3.0, warmup=0, min_repeats=5)
    start_rate = probe.gflops()
    torch.manual_seed(0)
    model = PoseModel(ModelConfig(width=s.width, blocks=s.blocks)).to(device).eval()
    result["model"] = {"width": s.width, "blocks": s.blocks, "parameters": sum(p.numel() for p in model.parameters()),
                       "lifter_mflops": linear_flops(model.lifter) / 1e6, "scale_mflops": linear_flops(model.scale) / 1e6}
    log("inference ...")
    result["inference"] = bench_inference(model, s, inference_flops(model), probe)
    log("training ...")
    result["training"] = bench_training(s, probe)
    result["matmul"] = {"n": s.matmul_n, "gflops": probe.gflops(), "gflops_at_start": start_rate,
                        "gflops_min": 2 * s.matmul_n**3 / max(probe.all) / 1e9,
                        "gflops_max": 2 * s.matmul_n**3 / min(probe.all) / 1e9, "samples": len(probe.all)}
    result["machine"]["load_average_1min_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    inf = result["inference"]["best"].get(str(max(s.batches)), {})
    result["targets"] = {
        f"inference_batch_{max(s.batches)}": _target(inf.get("fraction_of_matmul"), TARGET_INFERENCE),
        "training": _target(result["training"]["fraction_of_matmul"], TARGET_TRAINING),
    }
    return result


def _target(measured: float | None, target: float) -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": measured is not None and measured >= target}


def format_report(r: dict[str, Any]) -> str:
    """The result as a readable plain-text table."""
    m, mach, inf, tr = r["model"], r["machine"], r["inference"], r["training"]
    rate = r["matmul"]["gflops"]
    load = mach.get("load_average_1min")
    busy = load is not None and mach["cpu_count"] and load > 0.5 * mach["cpu_count"] and mach["device"] == "cpu"
    lines = [
        f"ambipose bench: PoseModel width {m['width']}, {m['blocks']} blocks, {m['parameters'] / 1e6:.1f} M parameters "
        f"(lifter {m['lifter_mflops']:.1f} + scale {m['scale_mflops']:.1f} MFLOP per pose)",
        f"machine: {mach['device']}" + (f" ({mach['gpu']})" if "gpu" in mach else f", {mach['cpu']}, {mach['torch_threads']} threads")
        + f", torch {mach['torch']}" + (f", load average {load:.1f} on {mach['cpu_count']} cores" if load is not None else "")
        + (" (BUSY: other processes share the CPU, figures are lower bounds)" if busy else ""),
        f"fp32 matmul {r['matmul']['n']}^3: {rate:.1f} GFLOP/s (median of {r['matmul']['samples']} samples taken "
        f"throughout; range {r['matmul']['gflops_min']:.1f}-{r['matmul']['gflops_max']:.1f}); each section is "
        "compared with the rate sampled while it ran",
        "",
        "inference, poses/s (GFLOP/s, % of matmul rate)",
    ]
    batches = [str(b) for b in r["settings"]["batches"]]
    name_w = max(len(v["name"]) for v in inf["variants"]) + 2
    lines.append("variant".ljust(name_w) + "".join(f"batch {b}".rjust(26) for b in batches))
    for v in inf["variants"]:
        cells = []
        for b in batches:
            c = v["batches"].get(b)
            cells.append((f"{c['poses_per_s']:,.0f} ({c['gflops']:.1f}, {100 * c['fraction_of_matmul']:.0f}%)" if c else "-").rjust(26))
        tag = "" if v["exact"] else "  [reduced precision]"
        lines.append(v["name"].ljust(name_w) + "".join(cells) + tag + (f"  failed: {v['error']}" if "error" in v else ""))
    lines.append("matmul rate meanwhile".ljust(name_w)
                 + "".join(f"{inf['matmul_gflops'][b]:.1f} GFLOP/s".rjust(26) if b in inf["matmul_gflops"] else "-".rjust(26)
                           for b in batches))
    for b, best in inf["best"].items():
        lines.append(f"best at batch {b}: {best['variant']}")
    if "latency_ms" in inf:
        lat = inf["latency_ms"]
        lines.append(f"single-pose latency ({lat['variant']}): median {lat['median']:.3f} ms, p90 {lat['p90']:.3f} ms")
    steps = ", ".join(f"{k} step {v:.3f} s" for k, v in tr["step_seconds"].items())
    lines += [
        "",
        f"training: full method, iterative cycle ({tr['lifter_steps']} lifter + 1 scale step), batch {tr['batch']}, "
        f"{tr['cycles']} cycle(s) timed, {tr.get('precision', 'fp32')} layers",
        f"  {steps}",
        f"  {tr['pairs_per_s']:,.0f} frame pairs/s = {tr['gflops']:.1f} GFLOP/s = {100 * tr['fraction_of_matmul']:.0f}% "
        f"of the matmul rate meanwhile ({tr['matmul_gflops']:.1f} GFLOP/s; {tr['flops']['per_pair'] / 1e6:.0f} MFLOP per pair)",
        *([f"  bf16 matmul rate {tr['bf16_matmul_gflops']:.1f} GFLOP/s: the step reaches "
           f"{100 * tr['fraction_of_bf16_matmul']:.0f}% of it (the target below compares with fp32)"]
          if "bf16_matmul_gflops" in tr else []),
        f"  data loading (Trainer.batch): {100 * tr['data_share']:.2f}% of the time, compute {100 - 100 * tr['data_share']:.2f}%",
        "",
        "targets:",
    ]
    for k, t in r["targets"].items():
        meas = "n/a" if t["measured"] is None else f"{100 * t['measured']:.0f}%"
        lines.append(f"  {k}: >= {100 * t['target']:.0f}% of matmul rate: measured {meas}: {'met' if t['met'] else 'NOT met'}")
    return "\n".join(lines)
