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

import os
from typing import Any, Callable

import torch

from ..config import ModelConfig
from ..data.synthetic import random_poses  # noqa: F401  (re-exported: tests and tools import it from here)
from ..models.pose_model import PoseModel
from ..settings import machine_info
from .flops import inference_flops, linear_flops, training_flops  # noqa: F401 - public
from .inference import TARGET_INFERENCE, bench_inference
from .timing import BenchSettings, MatmulProbe, time_calls  # noqa: F401 - public
from .training import TARGET_TRAINING, bench_training, random_training_data  # noqa: F401 - public


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
