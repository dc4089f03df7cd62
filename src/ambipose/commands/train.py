"""`ambipose train`: train one experiment from its YAML config."""

from __future__ import annotations

import argparse

from ..train_options import add_train_arguments, config_from_args, default_run_dir  # noqa: F401 - public here too


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config (Human3.6M or your own 2D keypoints)")
    add_train_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..training.run import run_training

    cfg = config_from_args(args)
    out = Path(args.out or default_run_dir(args, cfg.name))
    run_training(cfg, out, resume=args.resume, device=args.device, init=args.init, progress=not args.no_progress,
                 overwrite=args.overwrite)
    return 0
