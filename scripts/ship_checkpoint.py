"""Make the shipped checkpoint (src/ambipose/assets/ambipose_h36m.pt) from a training run.

Usage: python scripts/ship_checkpoint.py runs/cpu_budget/model.pt [--eval out/eval_full_gt_global.json ...]
Records how it was trained (config, steps, time, machine) and the evaluations given.
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import date
from pathlib import Path

import torch

from ambipose.inference import DEFAULT_CHECKPOINT
from ambipose.models.checkpoint import compact_checkpoint, load_checkpoint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--eval", nargs="*", default=[], help="evaluation JSONs from `ambipose evaluate --json`")
    ap.add_argument("--out", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--command", default=None, help="the training command (default: train --config configs/<name>.yaml)")
    ap.add_argument("--note", default=None, help="one line on how the run relates to others (e.g. what --init was)")
    args = ap.parse_args()
    st = load_checkpoint(args.model)
    evals = []
    for p in args.eval:
        r = json.loads(Path(p).read_text())
        evals.append({k: r.get(k) for k in ("input_2d", "scale_protocol", "stride", "frames", "mpjpe", "pa_mpjpe",
                                            "n_mpjpe", "action_mean_mpjpe", "action_mean_pa_mpjpe",
                                            "mirror_fraction", "smoothing_window")})
    provenance = {
        "trained_from": args.model, "config_name": st["config"]["name"], "steps": st.get("step"),
        "training_minutes": round(float(st.get("seconds", 0.0)) / 60, 1),
        "training_command": args.command or f"ambipose train --config configs/{st['config']['name']}.yaml",
        "note": args.note,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads visible, torch {torch.__version__}",
        "date": date.today().isoformat(), "data": "Human3.6M S1,S5,S6,S7,S8 (2D only used by the losses; "
        "3D of the training subjects only for the global mm-per-unit constant and the logged "
        "validation curves, never for a gradient)", "evaluations": evals,
    }
    out = compact_checkpoint(args.model, args.out, provenance)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
