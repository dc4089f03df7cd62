"""`ambipose bench`: inference and training speed against the machine's fp32 matmul rate."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure inference and training speed (poses/s, frame pairs/s, %% of matmul rate)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    p.add_argument("--json", default=None, help="also write the full result here (JSON)")
    p.add_argument("--quick", action="store_true", help="short timing budgets, 1024^3 matmul, no torch.compile (a smoke run)")
    p.add_argument("--width", type=int, default=1024, help="lifter width (default 1024, the paper's)")
    p.add_argument("--blocks", type=int, default=5, help="residual blocks (default 5, the paper's)")
    p.add_argument("--train-batch", type=int, default=1024, help="training batch size (default 1024, the paper's)")
    p.add_argument("--cycles", type=int, default=1, help="timed training cycles (default 1)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="training arithmetic of the layers (train.precision; bf16 = autocast, needs AMX or a GPU to pay)")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant (slow to compile on CPU)")
    p.add_argument("--seconds", type=float, default=None,
                   help="timing budget per inference measurement (default 3, or 0.5 with --quick)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    import torch

    from ..bench import BenchSettings, format_report, run_bench
    from ..errors import InputError
    from ..io import atomic_write_text
    from ..settings import pick_device

    for name in ("width", "blocks", "cycles"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be >= 1")
    if args.seconds is not None and not args.seconds > 0:
        raise InputError("--seconds must be > 0")
    if args.train_batch < 2:
        raise InputError("--train-batch must be >= 2 (BatchNorm needs a batch)")
    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    s = BenchSettings(width=args.width, blocks=args.blocks, train_batch=args.train_batch, device=device,
                      quick=args.quick, compile=not args.no_compile, cycles=args.cycles,
                      precision=args.precision)
    if args.seconds is not None:
        s.seconds_per_case = args.seconds
    result = run_bench(s, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_report(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
