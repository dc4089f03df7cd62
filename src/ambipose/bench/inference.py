"""Inference speed of the PoseModel at batch 1, 64 and 1024 under several variants."""

from __future__ import annotations

import contextlib
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager

import torch

from ..data.synthetic import random_poses
from ..models.pose_model import PoseModel
from .timing import INFERENCE_BATCHES, BenchSettings, MatmulProbe, _sync, _tf32, _threads, percentile



TARGET_INFERENCE = 0.85  # batch-1024 inference, fraction of the matmul rate


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
    from ..models.fuse import fuse_for_inference

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

    from ..export import INPUT_NAME, write_export

    with tempfile.TemporaryDirectory() as tmp:
        path = write_export(model, "onnx", Path(tmp) / "model.onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(None, {INPUT_NAME: x.numpy()})[0]


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
