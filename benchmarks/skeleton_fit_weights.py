"""Choose `--fit-skeleton`'s weights on the training subjects, and time the fit.

Lifts every `--stride`-th frame of Human3.6M S1, S5, S6, S7, S8 (the subjects the model trained
on, without their 3D) with a checkpoint, fits one skeleton per video under each setting, and
prints MPJPE / PA-MPJPE (mm, `global` scale) against the 3D, which is read only to score. The
test subjects (S9, S11) are never read: the settings `docs/skeleton_fit.md` recommends come from
this table. Also times the fit on one whole training video (every frame the file holds; median of 3 runs each, on
the rays and with lateral moves): at stride 100 the videos are a few frames long and the fixed
cost per call would dominate.

    python benchmarks/skeleton_fit_weights.py --checkpoint runs/cpu_budget_kcs/model.pt --stride 100 \\
        --json docs/results/skeleton_fit_weights.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

SETTINGS = {  # input -> [(label, fit_skeleton keyword arguments)]
    "gt": [("rays, depth weight 0.003", {"depth_weight": 0.003}), ("rays, depth weight 0.01", {}),
           ("rays, depth weight 0.03", {"depth_weight": 0.03}), ("lateral 0.1", {"lateral_weight": 0.1})],
    "sh": [("rays", {}), ("lateral 0.01", {"lateral_weight": 0.01}), ("lateral 0.03", {"lateral_weight": 0.03}),
           ("lateral 0.1", {"lateral_weight": 0.1}), ("lateral 0.3", {"lateral_weight": 0.3})],
}


def main() -> None:
    from ambipose.data.h36m import load_h36m
    from ambipose.data.skeleton import root_centre
    from ambipose.evaluation.metrics import mpjpe, pa_mpjpe
    from ambipose.inference import PoseLifter
    from ambipose.io import atomic_write_text
    from ambipose.skeleton_fit import fit_skeleton

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--stride", type=int, default=100)
    ap.add_argument("--inputs", nargs="+", default=["gt", "sh"], choices=sorted(SETTINGS))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    lifter = PoseLifter.from_checkpoint(args.checkpoint)
    out: dict = {"checkpoint": args.checkpoint, "stride": args.stride, "subjects": "S1 S5 S6 S7 S8", "inputs": {}}
    timing = {}
    for inp in args.inputs:
        seqs = load_h36m("train", inp, stride=args.stride)
        lifted = [lifter.lift_normalised(lifter.normalise(s.poses_2d)) for s in seqs]
        gt = np.concatenate([root_centre(s.poses_3d) for s in seqs])
        frames = len(gt)

        def score(poses: list[np.ndarray]) -> dict:
            p = np.concatenate(poses) * lifter.mm_per_unit
            return {"mpjpe": float(mpjpe(p, gt).mean()), "pa_mpjpe": float(pa_mpjpe(p, gt).mean())}

        rows = [{"setting": "none", **score([r.poses_3d_units for r in lifted])}]
        for label, kw in SETTINGS[inp]:
            fitted = [fit_skeleton(r.poses_3d_units, r.root_depth, **kw) for r in lifted]
            rows.append({"setting": label, "kwargs": kw, **score(fitted)})
        out["inputs"][inp] = {"frames": frames, "videos": len(seqs), "rows": rows}
        print(f"\n{inp} 2D, {frames} frames of {len(seqs)} training videos")
        print("| setting | MPJPE | PA-MPJPE |\n|---|---:|---:|")
        for r in rows:
            print(f"| {r['setting']} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} |")
    video = load_h36m("train", "gt", subjects=("S1",))[0]
    res = lifter.lift_normalised(lifter.normalise(video.poses_2d))
    for label, kw in (("rays", {}), ("lateral", {"lateral_weight": 0.03})):
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            fit_skeleton(res.poses_3d_units, res.root_depth, **kw)
            runs.append(time.perf_counter() - t0)
        timing[label] = {"frames": len(res.poses_3d_units), "median_s": statistics.median(runs),
                         "ms_per_frame": 1000 * statistics.median(runs) / len(res.poses_3d_units)}
        print(f"fit time, {label}: {timing[label]['ms_per_frame']:.3f} ms per frame "
              f"({timing[label]['frames']} frames of {video.subject} {video.action}, median of 3)")
    out["timing"] = timing
    out["threads"] = torch.get_num_threads()
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(out, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
