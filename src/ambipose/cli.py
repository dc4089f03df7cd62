"""`ambipose` command line. Thin: each subcommand lives in `ambipose/commands/<name>.py` and
defines `register(subparsers)`; heavy imports happen inside each command's `run`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings

from . import __version__, commands
from .errors import AmbiposeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ambipose",
        description="Unsupervised monocular 3D human pose estimation from 2D keypoints.",
    )
    parser.add_argument("--version", action="version", version=f"ambipose {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def one_line_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        print(f"ambipose {args.command}: warning: {message}", file=sys.stderr)

    previous, warnings.showwarning = warnings.showwarning, one_line_warning
    try:
        return int(args.func(args) or 0)
    except AmbiposeError as e:
        print(f"ambipose {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable output, full disk, a folder where a file was expected, ...
        where = f"{e.filename}: " if e.filename else ""
        print(f"ambipose {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ambipose {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
