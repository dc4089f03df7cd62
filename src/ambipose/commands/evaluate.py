"""`ambipose evaluate`: Protocol 1/2 and N-MPJPE on Human3.6M S9/S11 (or MPI-INF-3DHP)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint (or a trivial baseline) on Human3.6M S9/S11")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="model file (runs/<name>/model.pt or last.pt)")
    src.add_argument("--baseline", choices=["zero-depth", "mean-pose"], help="evaluate a trivial floor instead")
    p.add_argument("--input", choices=["gt", "sh"], default="gt", help="2D input: projected ground truth or Stacked Hourglass")
    p.add_argument("--scale", choices=["global", "per-frame-gt"], default="global", help="scale protocol (see docs/evaluation.md)")
    p.add_argument("--stride", type=int, default=1, help="evaluate every n-th test frame (1 = all 50 fps frames)")
    p.add_argument("--json", default=None, help="write the full result (per action, all metrics) here")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import InputError
    from ..evaluation.h36m_eval import evaluate_baseline, evaluate_checkpoint
    from ..evaluation.protocols import format_table
    from ..inference import PoseLifter
    from ..io import atomic_write_text
    from ..training.run import pick_device

    if args.stride < 1:
        raise InputError("--stride must be >= 1")
    if args.baseline:
        result = evaluate_baseline(args.baseline, args.input, args.scale, args.stride)
        title = f"baseline {args.baseline}, {args.input} 2D"
    else:
        lifter = PoseLifter.from_checkpoint(args.checkpoint, pick_device(args.device))
        result = evaluate_checkpoint(lifter, args.input, args.scale, args.stride)
        title = f"{args.checkpoint}, {args.input} 2D"
    print(format_table(result, title))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
