"""Scale protocols and the Human3.6M evaluation (Protocol 1, Protocol 2, N-MPJPE, per action).

Unsupervised predictions have no metric unit; each protocol names how they get one:
- `global`: one constant (mm per model unit) fixed at training time from the training
  subjects; no test ground truth touches the prediction. The headline.
- `per-frame-gt`: each predicted pose rescaled so its head-root length equals the ground truth's
  (uses test 3D per frame; the predicted size no longer matters).
- `authors`: the root-centred prediction in model units multiplied by the frame's ground-truth
  head-root length in mm, exactly as the authors' released evaluation (a model unit is meant to
  be one head-root length, so the predicted size still counts); for like-for-like comparison
  with the paper's MPJPE. Uses test 3D per frame.
- PA-MPJPE (Procrustes) and N-MPJPE (scale only) are reported under both; they do not depend
  on the global constant.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from ..data.sequence import Sequence
from ..data.skeleton import head_root_length, root_centre
from . import metrics

SCALE_PROTOCOLS = ("global", "per-frame-gt", "authors")


def apply_scale_protocol(pred_units: np.ndarray, gt_mm: np.ndarray, protocol: str, mm_per_unit: float) -> np.ndarray:
    """Root-centred predictions (N, 17, 3) in model units -> millimetres under `protocol`."""
    pred = root_centre(pred_units)
    if protocol == "global":
        return pred * mm_per_unit
    if protocol == "per-frame-gt":
        hp = head_root_length(pred)
        hg = head_root_length(gt_mm)
        return pred * (hg / np.maximum(hp, 1e-9))[:, None, None]
    if protocol == "authors":
        return pred * head_root_length(gt_mm)[:, None, None]
    raise ValueError(f"unknown scale protocol {protocol!r}; choose from {SCALE_PROTOCOLS}")


def evaluate_sequences(
    predict: Callable[[Sequence], np.ndarray],
    sequences: list[Sequence],
    protocol: str,
    mm_per_unit: float,
    progress: bool = True,
) -> dict:
    """Run `predict(seq) -> (T, 17, 3) model units` on each sequence; return a JSON-able dict with
    per-frame averages (`mpjpe`, `pa_mpjpe`, `n_mpjpe`, `mpjve`) and per-action averages
    (`per_action`, and `action_mean_*` = the mean over actions, the usual Human3.6M table figure)."""
    from ..progress import progress_bar

    errs: dict[str, list[np.ndarray]] = defaultdict(list)
    per_action: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for seq in progress_bar(sequences, progress, desc="evaluating", unit="video"):
        gt = root_centre(seq.poses_3d)
        pred = apply_scale_protocol(predict(seq), gt, protocol, mm_per_unit)
        pa = metrics.pa_mpjpe(pred, gt)
        pa_mirror = metrics.pa_mpjpe(metrics.depth_mirror(pred), gt)
        values = {"mpjpe": metrics.mpjpe(pred, gt), "pa_mpjpe": pa, "n_mpjpe": metrics.n_mpjpe(pred, gt),
                  "mirror_pa_mpjpe": pa_mirror,
                  # per frame 1 where the depth-negated prediction fits better: its mean is the fraction
                  "mirror_fraction": (pa_mirror < pa).astype(np.float64)}
        if len(pred) > 1:
            values["mpjve"] = metrics.mpjve(pred, gt)
        for k, v in values.items():
            errs[k].append(v)
            per_action[seq.action_class][k].append(v)
    result: dict = {"scale_protocol": protocol, "mm_per_unit": mm_per_unit,
                    "frames": int(sum(len(v) for v in errs["mpjpe"])), "videos": len(sequences)}
    for k, v in errs.items():
        result[k] = float(np.concatenate(v).mean())
    result["per_action"] = {a: {k: float(np.concatenate(v).mean()) for k, v in d.items()}
                            | {"frames": int(sum(len(x) for x in d["mpjpe"]))} for a, d in sorted(per_action.items())}
    for k in ("mpjpe", "pa_mpjpe", "n_mpjpe"):
        result[f"action_mean_{k}"] = float(np.mean([d[k] for d in result["per_action"].values()]))
    result["averaging"] = "mpjpe/pa_mpjpe/n_mpjpe/mpjve: mean over all frames; action_mean_*: mean of per-action means"
    result["mirror"] = ("mirror_pa_mpjpe: PA-MPJPE of the depth-negated prediction; mirror_fraction: fraction of "
                        "frames where it beats the prediction (near 0: depth sign learnt; near 1: a mirrored world)")
    return result


def format_table(result: dict, title: str = "") -> str:
    """Markdown table of per-action MPJPE / PA-MPJPE / N-MPJPE (mm)."""
    lines = [f"### {title}" if title else "", f"scale protocol: `{result['scale_protocol']}`, {result['frames']} frames", "",
             "| action | frames | MPJPE | PA-MPJPE | N-MPJPE |", "|---|---:|---:|---:|---:|"]
    for a, d in result["per_action"].items():
        lines.append(f"| {a} | {d['frames']} | {d['mpjpe']:.1f} | {d['pa_mpjpe']:.1f} | {d['n_mpjpe']:.1f} |")
    lines.append(f"| **mean over actions** | | **{result['action_mean_mpjpe']:.1f}** | **{result['action_mean_pa_mpjpe']:.1f}** | **{result['action_mean_n_mpjpe']:.1f}** |")
    lines.append(f"| mean over frames | {result['frames']} | {result['mpjpe']:.1f} | {result['pa_mpjpe']:.1f} | {result['n_mpjpe']:.1f} |")
    if "mirror_fraction" in result:
        lines += ["", f"mirror check: the depth-negated prediction fits better in {100 * result['mirror_fraction']:.1f} % "
                      f"of frames (its PA-MPJPE: {result['mirror_pa_mpjpe']:.1f} mm)"]
    return "\n".join(lines).lstrip("\n")
