"""The `--bvh` options shared by lift and video: an animation file beside the result."""

from __future__ import annotations

import argparse

from ..errors import InputError


def add_bvh_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("animation (BVH) output, docs/bvh.md")
    g.add_argument("--bvh", default=None, metavar="OUT.bvh",
                   help="also write a BVH file: one skeleton (implies --fit-skeleton), joint rotations, metres, "
                        "Y up, feet on the floor, the root's path through the scene")
    g.add_argument("--in-place", action="store_true", help="with --bvh: keep the root above the origin (no path)")
    g.add_argument("--elevation", type=float, default=None, metavar="DEG",
                   help="with --bvh: how far the camera looks down, in degrees (default: estimated from the 3D "
                        "where the person stands straight, else 13)")
    g.add_argument("--fps", type=float, default=None,
                   help="with --bvh: frame rate of the file (default: the input's, else 30)")


def check_bvh_options(args: argparse.Namespace) -> None:
    """Refuse BVH-only options without --bvh; --bvh turns --fit-skeleton on (one skeleton per track)."""
    if args.bvh is None:
        used = [flag for flag, on in (("--in-place", args.in_place), ("--elevation", args.elevation is not None),
                                      ("--fps", args.fps is not None)) if on]
        if used:
            raise InputError(f"{', '.join(used)}: only with --bvh")
        return
    if not args.bvh.lower().endswith(".bvh"):
        raise InputError(f"{args.bvh}: a BVH file must end in .bvh")
    if args.elevation is not None and not -89.0 < args.elevation < 89.0:
        raise InputError(f"--elevation must be within +-89 degrees, got {args.elevation}")
    if args.fps is not None and not args.fps > 0:
        raise InputError(f"--fps must be > 0, got {args.fps}")
    args.fit_skeleton = True


def write_bvh_output(args: argparse.Namespace, clip) -> str | None:
    """Write the BVH when asked; returns the summary line."""
    if args.bvh is None:
        return None
    return clip.to_bvh(args.bvh, elevation_deg=args.elevation, in_place=args.in_place, fps=args.fps).summary()
