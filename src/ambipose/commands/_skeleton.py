"""The `--fit-skeleton` / `--lateral` options shared by lift, video and evaluate."""

from __future__ import annotations

import argparse

from ..errors import InputError


def add_skeleton_arguments(p: argparse.ArgumentParser, track: str) -> None:
    p.add_argument("--fit-skeleton", action="store_true",
                   help=f"after lifting, fit one skeleton to {track}: constant, left/right-symmetric bone "
                        "lengths (the track's medians), joints moved along their camera rays (docs/skeleton_fit.md)")
    p.add_argument("--lateral", type=float, default=None, metavar="WEIGHT",
                   help="with --fit-skeleton: let joints leave their rays at this cost (noisy detections; "
                        "0.03 on Stacked Hourglass); default: keep the 2D")


def skeleton_options(args: argparse.Namespace) -> dict | None:
    """fit_skeleton keyword arguments from the parsed options, or None without --fit-skeleton."""
    if args.lateral is not None and not args.fit_skeleton:
        raise InputError("--lateral needs --fit-skeleton")
    if args.lateral is not None and not args.lateral > 0:
        raise InputError(f"--lateral must be > 0, got {args.lateral}")
    if not args.fit_skeleton:
        return None
    return {} if args.lateral is None else {"lateral_weight": args.lateral}
