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
                    damage the detections do to the depths alone;
- `oracle_corrected`: the rays of the 2D the model's 3D projects to (a model with the 2D
                    correction, `model.correct_2d`, moves them; a depth-only model keeps SH's) at
                    the ground-truth depths: how much the correction repairs the rays.

It also prints the mean root-relative 2D error against the ground-truth 2D, in pixels, of the
detections and of the model's corrected 2D (equal for a depth-only model).

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
    if lifter.adapter is not None:
        raise SystemExit("this model adapts its 2D input (data.adapt_2d), which would move the ground-truth 2D too: "
                         "use benchmarks/sh_adapter.py for it")
    cams = load_h36m_cameras(h36m_root() / "h36m_cameras.json")
    gt_seqs = {s.name: s for s in load_h36m("test", "gt", stride=args.stride)}
    if lifter.normalisation["mode"] != "universal":
        raise SystemExit("this script reads the 2D correction back to pixels: it needs a universally normalised model")
    constant = float(lifter.normalisation["constant"])
    errors: dict[str, list[np.ndarray]] = {k: [] for k in ("oracle", "oracle_corrected", "model_gt", "model_sh",
                                                           "sh_xy_gt_depth", "gt_xy_sh_depth")}
    px_errors: dict[str, list[np.ndarray]] = {"sh": [], "corrected": []}

    def lift(poses_2d: np.ndarray) -> np.ndarray:  # pixels (T, 17, 2) -> (T, 17, 3) model units, root-centred
        return lifter.lift(poses_2d).poses_3d_units

    def corrected_pixels(poses_2d: np.ndarray, r) -> np.ndarray:
        """The pixels (T, 17, 2) the model's 3D (`r`, its LiftResult for `poses_2d`) projects to: the
        lifter input's point of each joint plus the 2D correction, back through the universal
        normalisation (root-centred / c)."""
        cam = r.poses_3d_units.copy()
        cam[..., 2] += r.root_depth[:, None]
        xy = cam[..., :2] / cam[..., 2:]  # normalised; the lifter input's frame
        if lifter.model.scale_mode in ("2d", "reference"):  # the lifter saw the input times s
            xy = xy / r.scales[:, None, None]
        return poses_2d[:, :1] + xy * constant

    for sh in load_h36m("test", "sh", stride=args.stride):
        gt = gt_seqs[sh.name]
        truth = root_centre(gt.poses_3d)  # (T, 17, 3) camera frame mm

        lifted_sh = lifter.lift(sh.poses_2d)
        on_sh, on_gt = lifted_sh.poses_3d_units, lift(gt.poses_2d)
        cam = cams[sh.subject][sh.camera]
        fixed = corrected_pixels(sh.poses_2d, lifted_sh)  # (T, 17, 2) pixels
        depth = gt.poses_3d[..., 2:3]
        oracle = np.concatenate([cam.pixels_to_normalised(sh.poses_2d) * depth, depth], -1)
        oracle_fixed = np.concatenate([cam.pixels_to_normalised(fixed) * depth, depth], -1)
        gt_rel = root_centre(gt.poses_2d)
        px_errors["sh"].append(np.linalg.norm(root_centre(sh.poses_2d) - gt_rel, axis=-1))  # (T, 17)
        px_errors["corrected"].append(np.linalg.norm(root_centre(fixed) - gt_rel, axis=-1))
        candidates = {
            "oracle": root_centre(oracle),
            "oracle_corrected": root_centre(oracle_fixed),
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
    for name, errs in px_errors.items():
        e = np.concatenate(errs)
        out[f"error_2d_px_{name}"] = float(e.mean())
        print(f"root-relative 2D error against the ground truth, {name:9s}: {e.mean():5.2f} px")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(out, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
