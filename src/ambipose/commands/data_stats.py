"""`ambipose data-stats`: what the Human3.6M data holds, and the constants derived from it."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data-stats", help="summarise the Human3.6M data (sequences, frames, normalisation constant, S_2D^ref)")
    p.add_argument("--input", choices=["gt", "sh"], default="gt", help="2D input: ground-truth projection or Stacked Hourglass")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from ..data.h36m import load_h36m
    from ..data.normalization import DEFAULT_DEPTH, reference_scale, universal_constant
    from ..data.skeleton import head_root_length
    from ..io import atomic_write_text
    from ..settings import h36m_root

    print(f"data: {h36m_root()}")
    stats: dict = {"root": str(h36m_root()), "input_2d": args.input, "splits": {}}
    train = load_h36m("train", args.input)
    constant = universal_constant([s.poses_2d for s in train])
    for split, seqs in (("train", train), ("test", load_h36m("test", args.input))):
        frames = sum(len(s) for s in seqs)
        h3 = np.concatenate([head_root_length(s.poses_3d) for s in seqs])
        sref = np.concatenate([reference_scale(s.poses_3d, constant, s.focal) for s in seqs])
        entry = {
            "sequences": len({(s.subject, s.action) for s in seqs}),
            "videos": len(seqs),
            "cameras": len({s.camera for s in seqs}),
            "frames_per_camera": frames // max(1, len({s.camera for s in seqs})),
            "poses": frames,
            "fps": seqs[0].fps,
            "mean_head_root_mm": float(h3.mean()),
            "sref_mean": float(sref.mean()),
            "sref_std": float(sref.std()),
        }
        stats["splits"][split] = entry
        print(f"{split:5s}: {entry['sequences']} sequences x {entry['cameras']} cameras = {entry['videos']} videos, "
              f"{entry['frames_per_camera']} frames per camera at {entry['fps']:g} fps ({entry['poses']} 2D poses)")
        print(f"       mean head-root length {entry['mean_head_root_mm']:.1f} mm; "
              f"S_2D^ref mean {entry['sref_mean']:.3f}, std {entry['sref_std']:.3f}")
    stats["universal_constant_px"] = constant
    stats["depth_D"] = DEFAULT_DEPTH
    print(f"universal normalisation constant (train, {args.input} 2D): {constant:.1f} px "
          f"(mean head-root = {constant / DEFAULT_DEPTH:.1f} px -> 1/D with D = {DEFAULT_DEPTH:g})")
    if args.json:
        atomic_write_text(args.json, json.dumps(stats, indent=2))
    return 0
