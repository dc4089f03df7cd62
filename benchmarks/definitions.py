"""How much a lifter's 3D hinges on where a source puts its joints (issue #29, item 2).

Human3.6M test poses (S9, S11, all four cameras, every 10th frame by default) are changed *in 3D*
the way other skeletons and detectors define their joints, projected through the test camera
(with its lens distortion, as the ground-truth 2D) and lifted as `ambipose lift` does (the
universal rule applied to each video's own 2D). The changed 3D is the ground truth for that
source: a lifter should put the joints where its input says they are, and the limbs where they
are. Scored: PA-MPJPE of the 12 limb joints (Procrustes fitted on them; hips, knees, ankles,
shoulders, elbows, wrists) against the unperturbed input's figure.

Perturbations (all in 3D, camera frame):
- hips x0.5 / x1.3: the hip joints moved towards / away from the root (mocap_ood's are half as far apart);
- thorax at the shoulders' midpoint (the COCO, MediaPipe and BODY_25 mappings make it so);
- head at the skull centre (0.8 of the way from Thorax to Head) / at nose level (0.55);
- Neck/Nose missing: absent in every frame (synthesised 0.42 of the way from Thorax to Head, as
  for detectors without a nose: `lift_io.encode_absent` for a model trained with hidden joints,
  the same rule for others);
- all at once: hips x0.5, thorax at the shoulders, head at nose level, Neck/Nose missing;
- coco17 / mediapipe33 / body25: a source's own keypoints made from the 3D where the source has no
  Human3.6M twin (nose = Human3.6M's Neck/Nose; the ears' midpoint = the skull centre; BODY_25's
  Neck = the shoulders' midpoint, its MidHip = the root) and mapped back by `joint_maps`: Thorax
  = the shoulders' midpoint, Spine = the midpoint of Hip and that Thorax, Head = the ears' midpoint.
  (The three layouts give the same Human3.6M joints up to these choices.)
- legs missing: knees and ankles absent in every frame; scored on the upper body (Spine, Thorax,
  Neck/Nose, Head, shoulders, elbows, wrists; Procrustes on them) beside the full input's figure
  on the same joints, and the inferred legs' error (PA-MPJPE of all 17 joints' alignment, legs only).

    python benchmarks/definitions.py --checkpoint shipped --checkpoint runs/robust/model.pt --json out/definitions.json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from ambipose.data.camera import load_h36m_cameras
from ambipose.data.h36m import load_h36m
from ambipose.data.skeleton import NECK_FRACTION
from ambipose.evaluation.metrics import pa_mpjpe, procrustes_align
from ambipose.evaluation.mocap_eval import LIMB_JOINTS
from ambipose.inference import DEFAULT_CHECKPOINT, PoseLifter
from ambipose.io import atomic_write_text
from ambipose.lift_io import encode_absent
from ambipose.settings import h36m_root

UPPER = (7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
LEGS = (2, 3, 5, 6)


def hips(k: float):
    def f(p: np.ndarray) -> np.ndarray:
        p = p.copy()
        p[:, [1, 4]] = p[:, :1] + k * (p[:, [1, 4]] - p[:, :1])
        return p
    return f


def thorax_mid(p: np.ndarray) -> np.ndarray:
    p = p.copy()
    p[:, 8] = 0.5 * (p[:, 11] + p[:, 14])
    return p


def head_at(frac: float):
    def f(p: np.ndarray) -> np.ndarray:
        p = p.copy()
        p[:, 10] = p[:, 8] + frac * (p[:, 10] - p[:, 8])
        return p
    return f


def coco_like(p: np.ndarray) -> np.ndarray:
    """Keypoints of a COCO-style source made from the 3D and mapped back by joint_maps."""
    q = head_at(0.8)(p)  # Head = mid ears = skull centre (from the original thorax)
    q = thorax_mid(q)
    q[:, 7] = 0.5 * (q[:, 0] + q[:, 8])
    return q


def compose(*fs):
    def f(p: np.ndarray) -> np.ndarray:
        for g in fs:
            p = g(p)
        return p
    return f


IDENTITY = lambda p: p  # noqa: E731
# name -> (3D change, joints absent in every frame)
PERTURBATIONS = {
    "none": (IDENTITY, ()),
    "hips x0.5": (hips(0.5), ()),
    "hips x1.3": (hips(1.3), ()),
    "thorax at shoulders' midpoint": (thorax_mid, ()),
    "head at skull centre": (head_at(0.8), ()),
    "head at nose level": (head_at(0.55), ()),
    "Neck/Nose missing": (IDENTITY, (9,)),
    "all at once": (compose(hips(0.5), thorax_mid, head_at(0.55)), (9,)),
    "coco17 / mediapipe33 / body25 mapping": (coco_like, ()),
    "legs missing": (IDENTITY, LEGS),
}


def lift_views(lifter: PoseLifter, seqs, cams, change, absent) -> tuple[np.ndarray, np.ndarray, bool]:
    """(predictions mm (N, 17, 3), ground truth mm (N, 17, 3), hidden?) over all views."""
    preds, gts = [], []
    hidden = bool(absent) and lifter.lifts_partial_2d
    for s in seqs:
        gt = change(s.poses_3d.astype(np.float64))
        px = cams[s.subject][s.camera].project(gt)
        if absent:
            if hidden:
                px = encode_absent(px, absent)  # as `lift` encodes joints absent from a track
            else:  # a model without hidden-joint training: the reader's synthesis
                px[:, 9] = px[:, 8] + NECK_FRACTION * (px[:, 10] - px[:, 8])
                if set(absent) - {9}:
                    raise ValueError("this model cannot lift tracks without legs")
        c = lifter.adapt_constant(px, absent if hidden else ())
        res = lifter.lift(px, constant=c)
        preds.append(res.poses_3d_mm.astype(np.float64))
        gts.append(gt)
    return np.concatenate(preds), np.concatenate(gts), hidden


def subset_pa(pred: np.ndarray, gt: np.ndarray, joints) -> float:
    j = list(joints)
    return float(pa_mpjpe(pred[:, j] - pred[:, :1], gt[:, j] - gt[:, :1]).mean())


def evaluate(lifter: PoseLifter, seqs, cams) -> dict:
    out = {}
    for name, (change, absent) in PERTURBATIONS.items():
        try:
            pred, gt, hidden = lift_views(lifter, seqs, cams, change, absent)
        except ValueError as e:
            out[name] = {"refused": str(e)}
            continue
        r = {"pa_mpjpe_limbs": subset_pa(pred, gt, LIMB_JOINTS), "pa_mpjpe": float(pa_mpjpe(pred, gt).mean()),
             "hidden": hidden}
        if name == "none":
            r["pa_mpjpe_upper"] = subset_pa(pred, gt, UPPER)
        if name == "legs missing":
            r["pa_mpjpe_upper"] = subset_pa(pred, gt, UPPER)
            al = procrustes_align(pred, gt)
            r["inferred_legs_error"] = float(np.linalg.norm(al - gt, axis=-1)[:, list(LEGS)].mean())
        out[name] = r
    base = out["none"]
    for r in out.values():
        if "pa_mpjpe_limbs" in r:
            r["limbs_vs_none_pct"] = 100.0 * (r["pa_mpjpe_limbs"] / base["pa_mpjpe_limbs"] - 1.0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", action="append", default=None, help="model file, or 'shipped' (repeatable)")
    ap.add_argument("--stride", type=int, default=10, help="every n-th test frame (50 fps)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    cams = load_h36m_cameras(h36m_root() / "h36m_cameras.json")
    seqs = load_h36m("test", "gt", stride=args.stride)
    results = {}
    for ck in args.checkpoint or ["shipped"]:
        lifter = PoseLifter.from_checkpoint(DEFAULT_CHECKPOINT if ck == "shipped" else ck)
        results[ck] = evaluate(lifter, seqs, cams)
        print(f"\n### {ck} (Human3.6M S9/S11, every {args.stride}th frame; PA-MPJPE mm, limbs: Procrustes on the 12 limb joints)")
        print("| perturbation | limbs | vs none | all 17 |\n|---|---:|---:|---:|")
        for name, r in results[ck].items():
            if "refused" in r:
                print(f"| {name} | refused | | |")
                continue
            print(f"| {name}{' (hidden)' if r['hidden'] else ''} | {r['pa_mpjpe_limbs']:.1f} | "
                  f"{r['limbs_vs_none_pct']:+.1f} % | {r['pa_mpjpe']:.1f} |")
        n, lm = results[ck]["none"], results[ck]["legs missing"]
        if "pa_mpjpe_upper" in lm:
            print(f"upper body: full input {n['pa_mpjpe_upper']:.1f}, legs missing {lm['pa_mpjpe_upper']:.1f} "
                  f"({lm['pa_mpjpe_upper'] / n['pa_mpjpe_upper']:.2f}x); inferred legs' error {lm['inferred_legs_error']:.1f} mm")
    if args.json:
        atomic_write_text(args.json, json.dumps({"stride": args.stride, "results": results}, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
