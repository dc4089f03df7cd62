"""How much of a lifter's error on Stacked Hourglass detections is the detections' own?

The method lifts each 2D joint along its own ray (3D = (x Z, y Z, Z)): it chooses depths only, so
the detector's 2D error stays in the 3D. This script separates the two on Human3.6M S9 + S11
(every `--stride`-th 50 fps frame, PA-MPJPE in mm, which ignores the global scale):

- `oracle`:        the detections' rays at the ground-truth depths (no lifter can do better);
- `model_gt`:      the model on ground-truth 2D;
- `model_sh`:      the model on the detections;
- `sh_xy_gt_depth`: the detections' x, y with the (root-relative) depths the model lifts from
                    ground-truth 2D: what perfect robustness to detection noise would give;
- `gt_xy_sh_depth`: ground-truth x, y with the depths the model lifts from the detections: the
                    damage the detections do to the depths alone.

    python benchmarks/sh_depth_floor.py --checkpoint runs/cpu_budget/model.pt --stride 10 --json out/sh_floor.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    from ambipose.data.camera import load_h36m_cameras
    from ambipose.data.h36m import load_h36m
    from ambipose.evaluation.metrics import procrustes_align
    from ambipose.inference import PoseLifter
    from ambipose.io import atomic_write_text
    from ambipose.data.skeleton import JOINT_NAMES, root_centre
    from ambipose.settings import h36m_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--stride", type=int, default=10)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    lifter = PoseLifter.from_checkpoint(args.checkpoint)
    cams = load_h36m_cameras(h36m_root() / "h36m_cameras.json")
    gt_seqs = {s.name: s for s in load_h36m("test", "gt", stride=args.stride)}
    errors: dict[str, list[np.ndarray]] = {k: [] for k in
                                           ("oracle", "model_gt", "model_sh", "sh_xy_gt_depth", "gt_xy_sh_depth")}

    def lift(poses_2d: np.ndarray) -> np.ndarray:  # pixels (T, 17, 2) -> (T, 17, 3) model units, root-centred
        return lifter.lift(poses_2d).poses_3d_units

    for sh in load_h36m("test", "sh", stride=args.stride):
        gt = gt_seqs[sh.name]
        truth = root_centre(gt.poses_3d)  # (T, 17, 3) camera frame mm

        on_sh, on_gt = lift(sh.poses_2d), lift(gt.poses_2d)
        rays = cams[sh.subject][sh.camera].pixels_to_normalised(sh.poses_2d)  # (T, 17, 2)
        depth = gt.poses_3d[..., 2:3]
        oracle = np.concatenate([rays * depth, depth], -1)
        candidates = {
            "oracle": root_centre(oracle),
            "model_gt": on_gt,
            "model_sh": on_sh,
            "sh_xy_gt_depth": np.concatenate([on_sh[..., :2], on_gt[..., 2:]], -1),
            "gt_xy_sh_depth": np.concatenate([on_gt[..., :2], on_sh[..., 2:]], -1),
        }
        for name, pred in candidates.items():
            errors[name].append(np.linalg.norm(procrustes_align(pred, truth) - truth, axis=-1))  # (T, 17) mm

    out = {"checkpoint": args.checkpoint, "stride": args.stride, "metric": "PA-MPJPE, mm, mean over frames"}
    for name, errs in errors.items():
        e = np.concatenate(errs)
        out[name] = {"pa_mpjpe": float(e.mean()), "per_joint": dict(zip(JOINT_NAMES, map(float, e.mean(0)))),
                     "frames": len(e)}
        print(f"{name:15s} PA-MPJPE {e.mean():6.1f} mm   worst joints: "
              + ", ".join(f"{j} {v:.0f}" for j, v in sorted(zip(JOINT_NAMES, e.mean(0)), key=lambda t: -t[1])[:4]))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(out, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
