"""`ambipose reproduce`: the paper's ablations (Table 3, Table 4, Fig. 5, Fig. 6) end to end."""

from __future__ import annotations

import argparse
import shlex

from ..config import ABLATION_TABLES as TABLE_CHOICES  # the tables reproduce/paper.py defines


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="train (what is missing), evaluate and tabulate one of the paper's ablations beside the paper's figures",
        description="For every row of the table: train into <runs>/<budget>/<table>/<row> (resumed, skipped when "
                    "model.pt exists), evaluate on Human3.6M S9/S11 under both scale protocols (cached beside the "
                    "model), and write <out>/<table>_<budget>.md and .json (fig6 also a PNG; fig5 the Fig. 3 and Fig. 5 "
                    "PNGs in <out>/fig5_<budget>/).",
    )
    p.add_argument("table", choices=TABLE_CHOICES, help="which table or figure")
    p.add_argument("--budget", default="cpu",
                   help="compute budget from configs/budgets.yaml: paper, cpu, ablation or smoke (default cpu)")
    p.add_argument("--runs", default="runs", help="root of the run folders (default runs/)")
    p.add_argument("--input", choices=["gt", "sh"], default="gt",
                   help="2D input for training and test: ground truth or Stacked Hourglass detections (default gt)")
    p.add_argument("--stride", type=int, default=None, help="evaluate every n-th test frame (default: the budget's eval_stride)")
    p.add_argument("--out", default="docs/results", help="where the Markdown/JSON (and PNG) go (default docs/results)")
    p.add_argument("--rows", action="append", default=None, metavar="ROW[,ROW...]",
                   help="train only these rows (comma list, or repeat the flag); every row with a model is still reported")
    p.add_argument("--seeds", type=int, default=None,
                   help="train every row with seeds 0..N-1 and report mean ± half range (default: the budget's count "
                        "for this table, else 1)")
    p.add_argument("--no-train", action="store_true", help="train nothing; report the rows whose models exist")
    p.add_argument("--configs", default=None, help="configs folder holding budgets.yaml and <table>/ (default ./configs)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def canonical_command(args: argparse.Namespace) -> str:
    """The command in canonical form (every option spelled out) for the results table."""
    parts = ["ambipose", "reproduce", args.table, "--budget", args.budget, "--runs", args.runs,
             "--input", args.input, "--out", args.out]
    if args.stride is not None:
        parts += ["--stride", str(args.stride)]
    if args.rows:
        parts += ["--rows", ",".join(args.rows)]
    if args.seeds is not None:
        parts += ["--seeds", str(args.seeds)]
    if args.no_train:
        parts.append("--no-train")
    if args.configs:
        parts += ["--configs", args.configs]
    if args.device != "auto":
        parts += ["--device", args.device]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    from ..reproduce import reproduce_table

    rows = [r for item in (args.rows or []) for r in item.split(",") if r] or None
    report = reproduce_table(
        args.table, budget=args.budget, runs=args.runs, input_2d=args.input, stride=args.stride, out=args.out,
        rows=rows, seeds=args.seeds, train=not args.no_train, device=args.device, progress=not args.no_progress,
        configs_dir=args.configs, command=canonical_command(args),
    )
    done = sum(1 for r in report["rows"] if r.get("ours"))
    failed = [r["row"] for r in report["rows"] if r.get("status") == "failed"]
    print(f"{report['title']}: {done} of {len(report['rows'])} rows evaluated"
          + (f"; training failed for {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
