"""Off-Human3.6M benchmark: a lifter on motion capture of other people, motions and skeletons
(`data/mocap.py`: the `mocap_ood` clips projected through the S9 or the `varied` cameras).

Every (clip, camera) view is lifted as `ambipose lift` lifts a user's file by default: the
universal normalisation rule applied to that view's own 2D (`PoseLifter.adapt_constant`).
Metrics, per frame, then averaged over all frames, per content (walk, run, bow, ...) and per camera:
- `mpjpe`: root-aligned, the model's size under the `global` scale protocol (mm per model unit
  fixed at training time); `n_mpjpe` (best uniform scale); `pa_mpjpe` (Procrustes, 17 joints);
- `pa_mpjpe_limbs`: Procrustes fitted on the 12 limb joints (hips, knees, ankles, shoulders,
  elbows, wrists) and scored on them: the joints every skeleton defines alike, so a source's
  own placement of its head, neck, thorax and spine neither enters the score nor the alignment;
- `pck` / `auc`: as MPI-INF-3DHP's official script counts them (root-aligned, global scale, the
  14 official joints, error strictly below 150 mm; AUC over 0, 5, ..., 150 mm);
- the floor `zero_depth_*`: the input 2D lifted flat (every joint at the root's depth), the same
  metrics (its size: the universal rule's head-root length = 1 model unit, times mm per unit).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from ..data.mocap import DEFAULT_STRIDE, MocapClip, project_clip
from ..data.normalization import DEFAULT_DEPTH, normalise, universal_constant
from ..data.skeleton import root_centre
from . import metrics
from .mpi3dhp_eval import OFFICIAL_PCK_JOINTS

LIMB_JOINTS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16)
METRICS = ("mpjpe", "n_mpjpe", "pa_mpjpe", "pa_mpjpe_limbs", "pck", "auc")

PredictFn = Callable[[np.ndarray], np.ndarray]  # pixels (T, 17, 2) -> root-centred (T, 17, 3) model units


def frame_metrics(pred_mm: np.ndarray, gt_mm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame metrics (N,) of root-centred predictions in mm (N, 17, 3) against ground truth."""
    pred, gt = root_centre(pred_mm), root_centre(gt_mm)
    err = metrics.joint_errors(pred, gt)
    official = err[:, list(OFFICIAL_PCK_JOINTS)]
    limbs = list(LIMB_JOINTS)
    return {"mpjpe": err.mean(-1), "n_mpjpe": metrics.n_mpjpe(pred, gt), "pa_mpjpe": metrics.pa_mpjpe(pred, gt),
            "pa_mpjpe_limbs": metrics.pa_mpjpe(pred[:, limbs], gt[:, limbs]),
            "pck": metrics.pck_from_errors(official), "auc": metrics.auc_from_errors(official)}


def zero_depth(poses_2d: np.ndarray, depth: float = DEFAULT_DEPTH) -> np.ndarray:
    """The flat floor: pixels (T, 17, 2) -> (T, 17, 3) with z = 0, in units of the universal
    rule's head-root length (mean over the view = 1)."""
    x = normalise(poses_2d, "universal", universal_constant(poses_2d, depth), depth) * depth
    return np.concatenate([x, np.zeros_like(x[..., :1])], -1)


def evaluate_mocap(predict: PredictFn, clips: list[MocapClip], mm_per_unit: float, cameras: str = "s9",
                   stride: int = DEFAULT_STRIDE, progress: bool = True, depth: float = DEFAULT_DEPTH) -> dict:
    """Lift every view of every clip with `predict` and score it (module docstring). Returns a
    JSON-able dict: the overall means, `zero_depth` (the floor's means), `per_content` and
    `per_camera` ({name: {metric: mean, "frames": n}}), and the protocol's settings."""
    from ..progress import progress_bar

    if not clips:
        raise ValueError("no clips to evaluate")
    cols: dict[str, list[np.ndarray]] = defaultdict(list)
    labels: dict[str, list[np.ndarray]] = defaultdict(list)
    for clip in progress_bar(clips, progress, desc="evaluating", unit="clip"):
        for seq in project_clip(clip, cameras, stride):
            pred = np.asarray(predict(seq.poses_2d), dtype=np.float64)
            if pred.shape != seq.poses_3d.shape:
                raise ValueError(f"{clip.name}: predict returned {pred.shape}, expected {seq.poses_3d.shape}")
            gt = seq.poses_3d.astype(np.float64)
            for k, v in frame_metrics(pred * mm_per_unit, gt).items():
                cols[k].append(v)
            for k, v in frame_metrics(zero_depth(seq.poses_2d, depth) * mm_per_unit, gt).items():
                cols["zero_depth_" + k].append(v)
            n = len(gt)
            labels["content"].append(np.full(n, clip.content, dtype=object))
            labels["camera"].append(np.full(n, seq.camera, dtype=object))
    values = {k: np.concatenate(v) for k, v in cols.items()}
    content, camera = (np.concatenate(labels[k]) for k in ("content", "camera"))

    def summary(mask: np.ndarray | None = None) -> dict:
        m = slice(None) if mask is None else mask
        out = {k: float(values[k][m].mean()) for k in METRICS}
        out["frames"] = int(len(values["mpjpe"][m]))
        return out

    result = summary()
    result["zero_depth"] = {k: float(values["zero_depth_" + k].mean()) for k in METRICS}
    result["per_content"] = {c: summary(content == c) for c in sorted(set(content))}
    result["per_camera"] = {c: summary(camera == c) for c in sorted(set(camera))}
    result.update({"clips": len(clips), "cameras": cameras, "stride": stride, "mm_per_unit": mm_per_unit,
                   "scale_protocol": "global",
                   "notes": "mpjpe: root-aligned, global scale; pa_mpjpe_limbs: Procrustes on the 12 limb joints; "
                            "pck/auc: 14 official MPI-INF-3DHP joints, global scale, strict < 150 mm; "
                            "zero_depth: the input 2D lifted flat"})
    return result


def format_mocap_table(result: dict, title: str = "") -> str:
    """Markdown: one row per content, the overall row and the zero-depth floor (mm, %)."""
    head = ("| content | frames | MPJPE | N-MPJPE | PA-MPJPE | PA limbs | PCK@150 | AUC |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|")

    def row(name: str, r: dict, frames: str) -> str:
        return (f"| {name} | {frames} | {r['mpjpe']:.1f} | {r['n_mpjpe']:.1f} | {r['pa_mpjpe']:.1f} | "
                f"{r['pa_mpjpe_limbs']:.1f} | {r['pck']:.1f} | {r['auc']:.1f} |")

    lines = [f"### {title}" if title else "",
             f"{result['clips']} clips, cameras `{result['cameras']}`, every {result['stride']}. frame, "
             f"{result['frames']} frames, scale protocol `global` (mm; PCK/AUC %)", "", head]
    lines += [row(c, r, str(r["frames"])) for c, r in result["per_content"].items()]
    lines.append(row("**all**", result, str(result["frames"])))
    lines.append(row("zero-depth floor", result["zero_depth"], ""))
    return "\n".join(lines).lstrip("\n")
