"""Issue #33: adapt the shipped model to a new domain from that domain's 2D alone, as a user would,
and measure it on the domain's held-out 3D.

For each amount of 2D (every `val` view, and subsets of whole tracks: 5,000 and 1,000 frames):
1. `ambipose evaluate --dataset mocap --split val --write-2d F [--max-frames N]`: the val clips'
   2D by the benchmark's protocol (the four S9 cameras, every 2nd frame), no 3D;
2. `ambipose train --config <config> --data-2d F --init <model> --out <runs>/<variant>`: the
   user's command; the run keeps its most plausible weights (no 3D is read to choose);
3. the adapted model on mocap `test` (S9 cameras; the `varied` cameras too) and on Human3.6M
   (GT 2D, `global`: how much is forgotten), beside the starting model. The `val` 3D is scored
   too, as a learning-curve figure only: nothing is chosen with it.

    python benchmarks/adapt_mocap.py --json docs/results/adapt_mocap.json

Prints one table and the training time of each variant (2-core CPU: see the log).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

from ambipose.data.mocap import load_mocap
from ambipose.evaluation.h36m_eval import evaluate_checkpoint
from ambipose.evaluation.mocap_eval import evaluate_mocap
from ambipose.inference import DEFAULT_CHECKPOINT, PoseLifter
from ambipose.io import atomic_write_text
from ambipose.models.checkpoint import load_checkpoint

KEYS = ("mpjpe", "n_mpjpe", "pa_mpjpe", "pa_mpjpe_limbs", "pck", "auc")


def score(lifter: PoseLifter, h36m_stride: int) -> dict:
    def predict(px):
        return lifter.lift(px, constant=lifter.adapt_constant(px)).poses_3d_units

    out = {}
    for split in ("test", "val"):
        clips = load_mocap(split)
        for cams in ("s9", "varied") if split == "test" else ("s9",):
            r = evaluate_mocap(predict, clips, lifter.mm_per_unit, cams, progress=False)
            out[f"{split}_{cams}"] = {k: r[k] for k in KEYS} | {"per_content": r["per_content"]}
    r = evaluate_checkpoint(lifter, "gt", "global", h36m_stride, progress=False)
    out["h36m_gt"] = {k: r[k] for k in ("mpjpe", "pa_mpjpe", "frames")}
    return out


def _cli(*args: str) -> str:
    """Run `ambipose ...` as a user would; its output goes to our stdout and is returned."""
    proc = subprocess.run([sys.executable, "-m", "ambipose.cli", *args], capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"ambipose {' '.join(args)} failed (exit {proc.returncode})")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="configs/own_2d.yaml", help="the fine-tuning recipe")
    ap.add_argument("--init", default="shipped", help="the starting model ('shipped' or a file)")
    ap.add_argument("--frames", default="all,5000,1000", help="amounts of val 2D: 'all' and/or frame counts")
    ap.add_argument("--runs", default="runs/adapt_mocap", help="folder for the 2D files and the runs")
    ap.add_argument("--reuse", action="store_true", help="score runs already in --runs instead of training again")
    ap.add_argument("--h36m-stride", type=int, default=5, help="every n-th Human3.6M test frame (1 = all)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    init = str(DEFAULT_CHECKPOINT) if args.init == "shipped" else args.init
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    results = {"zero-shot": score(PoseLifter.from_checkpoint(init), args.h36m_stride)}
    print("scored the starting model", flush=True)
    minutes = {}
    for amount in args.frames.split(","):
        name = f"val_{amount}"
        f2d, out = runs / f"{name}.npz", runs / name
        if not args.reuse:
            _cli("evaluate", "--dataset", "mocap", "--split", "val", "--write-2d", str(f2d),
                 *(() if amount == "all" else ("--max-frames", amount)))
            t0 = time.perf_counter()
            log = _cli("train", "--config", args.config, "--data-2d", str(f2d), "--init", init, "--out", str(out),
                       "--overwrite", "--no-progress")
            minutes[name] = (time.perf_counter() - t0) / 60
            (runs / f"{name}.log").write_text(log)
        results[name] = score(PoseLifter.from_checkpoint(out / "model.pt"), args.h36m_stride)
        # Training time as the run measured it (last.pt: every step, also when keep_best shipped
        # earlier weights); the wall time of this script's call when it trained here.
        results[name]["train_minutes"] = load_checkpoint(out / "last.pt")["seconds"] / 60
        if name in minutes:
            results[name]["wall_minutes"] = minutes[name]
        print(f"scored {name}", flush=True)

    zs = results["zero-shot"]["test_s9"]["pa_mpjpe"]
    print("\n| model | 2D frames | test PA-MPJPE | PA limbs | MPJPE | PCK@150 | varied PA | val PA (curve only) "
          "| H36M MPJPE / PA | train min |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        t, v = r["test_s9"], r["test_varied"]
        change = "" if name == "zero-shot" else f" ({100 * (t['pa_mpjpe'] / zs - 1):+.1f} %)"
        print(f"| {name} | {name.removeprefix('val_') if name != 'zero-shot' else '-'} | {t['pa_mpjpe']:.1f}{change} "
              f"| {t['pa_mpjpe_limbs']:.1f} | {t['mpjpe']:.1f} | {t['pck']:.1f} | {v['pa_mpjpe']:.1f} "
              f"| {r['val_s9']['pa_mpjpe']:.1f} | {r['h36m_gt']['mpjpe']:.1f} / {r['h36m_gt']['pa_mpjpe']:.1f} "
              f"| {r.get('train_minutes', float('nan')):.1f} |")
    if args.json:
        atomic_write_text(args.json, json.dumps({"config": args.config, "init": args.init,
                                                 "h36m_stride": args.h36m_stride, "results": results}, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
