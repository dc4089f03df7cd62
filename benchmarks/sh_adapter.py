"""What the 2D keypoint adapter (`data.adapt_2d`) does to Stacked Hourglass detections and to lifters.

On Human3.6M S9 + S11 (test subjects: the adapter never saw their 2D; every `--stride`-th 50 fps
frame) it prints:

- the mean root-relative 2D error against the annotated 2D (the 3D projected), in pixels, per
  joint, of the raw detections and of the adapted ones;
- for each `--checkpoint`: MPJPE / PA-MPJPE (global scale, mm) on the raw detections and on the
  adapted ones. A checkpoint that carries its own adapter always lifts adapted detections (one
  row); one without (e.g. the GT-trained shipped model) is run on both, so lifters trained on raw
  detections, on adapted ones and on clean 2D are compared on the same input.

The adapter comes from `--adapter-from`, a checkpoint trained with `data.adapt_2d`.

    python benchmarks/sh_adapter.py --adapter-from runs/cpu_budget_sh_adapted/model.pt \
        --checkpoint runs/cpu_budget_sh_adapted/model.pt --checkpoint shipped --stride 5 --json out/sh_adapter.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    from ambipose.data.h36m import load_h36m
    from ambipose.data.skeleton import JOINT_NAMES
    from ambipose.errors import InputError
    from ambipose.evaluation.h36m_eval import evaluate_checkpoint
    from ambipose.inference import PoseLifter
    from ambipose.io import atomic_write_text
    from ambipose.models.keypoint_adapter import KeypointAdapter, root_relative_error_px, stored_adapter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adapter-from", required=True, help="a checkpoint trained with data.adapt_2d")
    ap.add_argument("--checkpoint", action="append", default=[], help="a model to evaluate ('shipped': the packaged one); repeatable")
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    try:
        entry = stored_adapter(args.adapter_from)
    except InputError as e:
        raise SystemExit(str(e)) from None
    adapter = KeypointAdapter.from_state(entry, args.adapter_from)
    raw = load_h36m("test", "sh", stride=args.stride)
    gt = {s.name: s.poses_2d for s in load_h36m("test", "gt", stride=args.stride)}
    adapted = [replace(s, poses_2d=adapter.adapt(s.poses_2d)) for s in raw]

    out: dict = {"adapter_from": args.adapter_from, "adapter_meta": entry["meta"], "stride": args.stride}
    for name, seqs in (("raw", raw), ("adapted", adapted)):
        e = np.concatenate([root_relative_error_px(s.poses_2d, gt[s.name]) for s in seqs])  # (N, 17) px
        out[f"px_error_{name}"] = float(e.mean())
        out[f"px_error_{name}_per_joint"] = dict(zip(JOINT_NAMES, map(float, e.mean(0))))
        print(f"root-relative 2D error, {name:7s} detections: {e.mean():5.2f} px  "
              + " ".join(f"{j}={v:.1f}" for j, v in zip(JOINT_NAMES, e.mean(0)) if v > 0))

    out["models"] = []
    for ck in args.checkpoint:
        lifter = PoseLifter.from_checkpoint(None if ck == "shipped" else ck)
        inputs = [("own adapter", raw)] if lifter.adapter is not None else [("raw", raw), ("adapted", adapted)]
        for label, seqs in inputs:
            r = evaluate_checkpoint(lifter, "sh", "global", args.stride, progress=False, sequences=seqs)
            row = {"checkpoint": ck, "input": label, **{k: r[k] for k in ("mpjpe", "pa_mpjpe", "action_mean_mpjpe",
                                                                           "action_mean_pa_mpjpe", "mirror_fraction") if k in r}}
            out["models"].append(row)
            print(f"{ck:40s} SH {label:11s}: MPJPE {r['mpjpe']:6.1f}  PA-MPJPE {r['pa_mpjpe']:5.1f}  "
                  f"(actions {r['action_mean_mpjpe']:.1f} / {r['action_mean_pa_mpjpe']:.1f})")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(out, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
