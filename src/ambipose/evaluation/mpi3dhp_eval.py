"""MPI-INF-3DHP test-set evaluation: PCK@150 mm, AUC, MPJPE, PA-MPJPE overall, per scene and per
activity, for a lifter that turns 2D pixels into unit-less root-centred 3D.

PCK and AUC follow the official `mpii_compute_3d_pck.m` of the test release:
- a joint counts when its root-aligned error is strictly below the threshold (`err < t`);
- AUC = mean PCK over the 31 thresholds 0, 5, ..., 150 mm, so even a perfect prediction scores
  100 * 30/31 = 96.77 (nothing is below 0 mm);
- the scored joints are the 14 of the official joint groups (head_top, neck, shoulders, elbows,
  wrists, hips, knees, ankles); pelvis (the root), spine and head are left out.
  `pck_joints="all"` scores all 17 instead, as some lifting papers do.
Every frame has the same number of joints, so the per-frame average used here equals the
official pooled average. MPJPE and PA-MPJPE use all 17 joints (`ambipose.evaluation.metrics`).
Ground truth is `univ_annot3` (Sequence.poses_3d from `load_3dhp_test`), camera frame, mm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence as SequenceABC

import numpy as np

from ..data.mpi3dhp import SCENE_GROUPS, SCENE_ORDER, activity_name
from ..data.sequence import Sequence
from ..data.skeleton import NUM_JOINTS, root_centre
from .metrics import auc_from_errors, joint_errors, pa_mpjpe, pck_from_errors
from .protocols import SCALE_PROTOCOLS, apply_scale_protocol

# Thresholds as mpii_compute_3d_pck.m (PCK@150, AUC over 0:5:150): see `metrics`.
# The official 14 scored joints in ambipose's 17-joint order: Head(=head_top), Thorax(=neck),
# shoulders, elbows, wrists, hips, knees, ankles. Hip (root), Spine and Neck/Nose (=head) are out.
OFFICIAL_PCK_JOINTS: tuple[int, ...] = (10, 8, 14, 15, 16, 11, 12, 13, 1, 2, 3, 4, 5, 6)

PredictFn = Callable[[np.ndarray, tuple[int, int]], np.ndarray]


def _summary(pck: np.ndarray, auc: np.ndarray, mp: np.ndarray, pa: np.ndarray) -> dict:
    return {"pck": float(pck.mean()), "auc": float(auc.mean()), "mpjpe": float(mp.mean()),
            "pa_mpjpe": float(pa.mean()), "frames": int(len(pck))}


def evaluate_3dhp(
    predict_fn: PredictFn,
    sequences: SequenceABC[Sequence],
    scale_protocol: str = "global",
    mm_per_unit: float | None = None,
    *,
    pck_joints: str = "official",
) -> dict:
    """Score a lifter on MPI-INF-3DHP test sequences (from `load_3dhp_test`).

    predict_fn(poses_2d, (width, height)) is called once per sequence, in order, with the whole
    sequence: poses_2d (T,17,2) pixels (ambipose order), image size in pixels; it returns (T,17,3)
    root-centred predictions in model units (any consistent unit).
    scale_protocol:
      "global": predictions x `mm_per_unit` (required) -> mm; one constant for the whole test set.
      "per-frame-gt": each predicted pose rescaled so its head-root (joint 10 to 0) length equals
        the ground truth's (an oracle scale; `mm_per_unit` is ignored).
      "authors": model units x the frame's ground-truth head-root length (the authors' evaluation).
    Only frames with `meta["valid"]` true are scored (all frames when a sequence has no such mask).
    pck_joints: "official" (the 14 joints of the official script) or "all" (17).

    Returns a JSON-able dict: `pck`, `auc` (percent), `mpjpe`, `pa_mpjpe` (mm), each the mean over
    scored frames; `frames`; `scale_protocol`; `mm_per_unit`; `pck_joints`; `per_scene`
    (GS / noGS / outdoor), `per_activity` (official names) and `per_sequence` (TS1..TS6), each
    name -> {pck, auc, mpjpe, pa_mpjpe, frames}, groups without frames left out.
    """
    if scale_protocol not in SCALE_PROTOCOLS:
        raise ValueError(f"scale_protocol must be one of {SCALE_PROTOCOLS}, not {scale_protocol!r}")
    if scale_protocol == "global":
        if mm_per_unit is None or not np.isfinite(mm_per_unit) or mm_per_unit <= 0:
            raise ValueError(f"scale_protocol 'global' needs mm_per_unit > 0 (millimetres per model unit), got {mm_per_unit!r}")
    if pck_joints not in ("official", "all"):
        raise ValueError(f"pck_joints must be 'official' or 'all', not {pck_joints!r}")
    if not sequences:
        raise ValueError("no sequences to evaluate")
    joints = list(OFFICIAL_PCK_JOINTS) if pck_joints == "official" else list(range(NUM_JOINTS))

    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("pck", "auc", "mpjpe", "pa", "scene", "act", "seq")}
    for seq in sequences:
        if seq.poses_3d is None:
            raise ValueError(f"{seq.name}: no ground-truth 3D to evaluate against")
        t = len(seq.poses_2d)
        pred = np.asarray(predict_fn(seq.poses_2d, (int(seq.res_w), int(seq.res_h))), dtype=np.float64)
        if pred.shape != (t, NUM_JOINTS, 3):
            raise ValueError(f"{seq.name}: predict_fn returned shape {pred.shape}, expected ({t}, {NUM_JOINTS}, 3)")
        valid = np.asarray(seq.meta.get("valid", np.ones(t, dtype=bool)), dtype=bool).reshape(-1)
        if len(valid) != t:
            raise ValueError(f"{seq.name}: meta['valid'] has {len(valid)} entries for {t} frames")
        if not valid.any():
            continue
        if not np.isfinite(pred[valid]).all():
            raise ValueError(f"{seq.name}: predict_fn returned NaN or inf on scored frames")
        gt = root_centre(np.asarray(seq.poses_3d, dtype=np.float64)[valid])
        p = apply_scale_protocol(pred[valid], gt, scale_protocol, float(mm_per_unit or 1.0))
        err = joint_errors(p, gt)
        pck, auc = pck_from_errors(err[:, joints]), auc_from_errors(err[:, joints])
        cols["pck"].append(pck)
        cols["auc"].append(auc)
        cols["mpjpe"].append(err.mean(-1))
        cols["pa"].append(pa_mpjpe(p, gt))
        n = len(gt)
        scene = str(seq.meta.get("scene") or SCENE_GROUPS.get(seq.subject, "unknown"))
        cols["scene"].append(np.full(n, scene, dtype=object))
        act = seq.meta.get("activity")
        act = np.zeros(n, dtype=np.int64) if act is None else np.asarray(act, dtype=np.int64).reshape(-1)[valid]
        cols["act"].append(act)
        cols["seq"].append(np.full(n, seq.subject, dtype=object))
    if not cols["pck"]:
        raise ValueError("no valid frames to evaluate in the given sequences")

    pck, auc, mp, pa = (np.concatenate(cols[k]) for k in ("pck", "auc", "mpjpe", "pa"))
    scene, act, seqname = (np.concatenate(cols[k]) for k in ("scene", "act", "seq"))

    def groups(labels: np.ndarray, order: list) -> dict:
        return {str(name): _summary(pck[m], auc[m], mp[m], pa[m])
                for name, m in ((g, labels == key) for key, g in order) if m.any()}

    scene_keys = list(SCENE_ORDER) + sorted(set(scene) - set(SCENE_ORDER))
    act_keys = sorted(set(act.tolist()))
    seq_keys = sorted(set(seqname))
    result = _summary(pck, auc, mp, pa)
    result.update({
        "scale_protocol": scale_protocol,
        "mm_per_unit": None if scale_protocol != "global" else float(mm_per_unit),  # type: ignore[arg-type]
        "pck_joints": pck_joints,
        "per_scene": groups(scene, [(s, s) for s in scene_keys]),
        "per_activity": groups(act, [(a, activity_name(a) if a else "unlabelled") for a in act_keys]),
        "per_sequence": groups(seqname, [(s, s) for s in seq_keys]),
    })
    return result


def format_3dhp_table(result: dict) -> str:
    """A Markdown table of an `evaluate_3dhp` result: one row for all frames, one per scene group,
    one per activity. PCK/AUC in percent, MPJPE/PA-MPJPE in mm."""
    head = ("| Subset | Frames | PCK@150 (%) | AUC (%) | MPJPE (mm) | PA-MPJPE (mm) |\n"
            "|---|---:|---:|---:|---:|---:|")

    def row(name: str, r: dict) -> str:
        return (f"| {name} | {r['frames']} | {r['pck']:.1f} | {r['auc']:.1f} | "
                f"{r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} |")

    lines = [f"MPI-INF-3DHP test, scale protocol: {result.get('scale_protocol')}"
             + (f" ({result['mm_per_unit']:g} mm per unit)" if result.get("mm_per_unit") else "")
             + f", PCK joints: {result.get('pck_joints', 'official')}", "", head, row("All", result)]
    lines += [row(f"Scene: {k}", v) for k, v in result.get("per_scene", {}).items()]
    lines += [row(f"Activity: {k}", v) for k, v in result.get("per_activity", {}).items()]
    return "\n".join(lines) + "\n"
