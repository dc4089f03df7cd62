"""`ambipose figures`: the paper's analysis figures (Fig. 3, 4, 5) and training curves."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "figures",
        help="draw Fig. 3 (reference scale), Fig. 5 (scale over time), Fig. 4 (skeletons) and training curves",
        description="Draws every figure whose inputs are given and says which it skipped and why. Fig. 3 needs only "
                    "the Human3.6M data; Fig. 5 needs --scale-models; Fig. 4 needs --checkpoint; training curves need "
                    "--runs (or a log.csv beside --checkpoint).",
    )
    p.add_argument("--checkpoint", default=None, help="model for the qualitative panel (Fig. 4), e.g. runs/cpu_budget/model.pt")
    p.add_argument("--scale-models", nargs="+", default=None, metavar="NAME=PATH",
                   help="checkpoints whose predicted scales Fig. 5 plots, e.g. 'bone only=runs/a/model.pt'")
    p.add_argument("--runs", nargs="+", default=None, metavar="RUN",
                   help="run folders (or log.csv files) to draw training curves for")
    p.add_argument("--sequences", nargs="+", default=None, metavar="S/ACTION/CAMERA",
                   help="test videos for Fig. 3 (all) and Fig. 5 (the first); default 'S9/Walking 1/54138969' "
                        "'S11/Sitting 1/54138969'")
    p.add_argument("--frames", type=int, default=8, help="skeletons in the qualitative panel (default 8)")
    p.add_argument("--input", choices=["gt", "sh"], default="gt", help="2D input (default gt)")
    p.add_argument("--out", default="docs/figures", help="output folder (default docs/figures)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..reproduce import DEFAULT_SEQUENCES, build_figures, parse_named_paths

    result = build_figures(
        args.out, checkpoint=args.checkpoint, scale_models=parse_named_paths(args.scale_models),
        runs=args.runs, input_2d=args.input, sequences=tuple(args.sequences or DEFAULT_SEQUENCES),
        n_frames=args.frames, device=args.device,
    )
    for path in result["written"]:
        print(f"wrote {path}")
    print(f"{len(result['written'])} figure(s) written, {len(result['skipped'])} skipped")
    return 0
