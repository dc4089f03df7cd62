"""Human3.6M test evaluation (S9, S11, all cameras) of a checkpoint or a trivial baseline."""

from __future__ import annotations

import warnings

import numpy as np

from ..data.h36m import load_h36m
from ..data.normalization import normalise, reference_scale, universal_constant
from ..data.sequence import Sequence
from ..data.skeleton import head_root_length, root_centre
from ..skeleton_fit import fit_skeleton
from .protocols import evaluate_sequences

BASELINES = ("zero-depth", "mean-pose")


def evaluate_checkpoint(lifter, input_2d: str, protocol: str, stride: int = 1, progress: bool = True,
                        sequences: list[Sequence] | None = None, smooth: int | None = None,
                        skeleton: dict | None = None) -> dict:
    """Evaluate a `PoseLifter` on the Human3.6M test subjects. `smooth`: Savitzky-Golay window
    (frames of the 50 fps video, before striding) applied to each video's 2D first. `skeleton`:
    keyword arguments of `skeleton_fit.fit_skeleton` (e.g. {} or {"lateral_weight": 0.03}) to fit
    one skeleton per test video (over its strided frames) after lifting; None: single frames."""
    seqs = sequences if sequences is not None else load_h36m("test", input_2d, stride=1 if smooth else stride)
    if smooth:
        from ..data.filters import savgol_smooth

        seqs = [_strided(s, savgol_smooth(s.poses_2d, smooth), stride) for s in seqs]
    if lifter.adapter is not None and input_2d != lifter.adapter_detector:
        warnings.warn(f"{lifter.source}: this model moves its input by a 2D keypoint adapter fitted for "
                      f"{lifter.adapter_detector!r} detections (data.adapt_2d); on {input_2d} 2D it moves those points "
                      f"by the same offsets", stacklevel=2)
    needs_ref = lifter.cfg.model.scale == "reference"
    # The universal constant of the *training* 2D (same detector), stored in the checkpoint; the
    # reference-scale ceiling uses it too.
    constant = lifter.normalisation.get("constant")
    ref_constant = constant if constant else _train_constant(input_2d, lifter.depth) if needs_ref else None

    def predict(seq: Sequence) -> np.ndarray:
        x = lifter.normalise(seq.poses_2d)
        sref = reference_scale(seq.poses_3d, ref_constant, seq.focal, lifter.depth) if needs_ref else None
        res = lifter.lift_normalised(x, sref=sref)
        if skeleton is None:
            return res.poses_3d_units
        return fit_skeleton(res.poses_3d_units, res.root_depth, **skeleton)

    out = evaluate_sequences(predict, seqs, protocol, lifter.mm_per_unit, progress)
    out.update({"input_2d": input_2d, "stride": stride, "model": lifter.source, "keypoint_adapter": lifter.adapter_detector,
                "keypoint_adapter_from": lifter.adapter_meta.get("from"),
                "uses_3d_at_test": needs_ref, "smoothing_window": smooth, "skeleton_fit": skeleton})
    return out


def _strided(seq: Sequence, poses_2d: np.ndarray, stride: int) -> Sequence:
    from dataclasses import replace

    return replace(seq, poses_2d=poses_2d[::stride], poses_3d=seq.poses_3d[::stride], fps=seq.fps / stride)


def _train_constant(input_2d: str, depth: float) -> float:
    return universal_constant([s.poses_2d for s in load_h36m("train", input_2d)], depth)


def evaluate_baseline(name: str, input_2d: str, protocol: str, stride: int = 1, depth: float = 10.0,
                      progress: bool = True) -> dict:
    """Trivial floors: `zero-depth` (the 2D pose lifted flat, every joint at depth D) and
    `mean-pose` (the mean training 3D pose, whatever the input)."""
    train = load_h36m("train", input_2d)
    gt_train = np.concatenate([root_centre(s.poses_3d) for s in train])
    seqs = load_h36m("test", input_2d, stride=stride)
    if name == "zero-depth":
        constant = universal_constant([s.poses_2d for s in train], depth)

        def predict(seq: Sequence) -> np.ndarray:
            x = normalise(seq.poses_2d, "universal", constant, depth) * depth
            return np.concatenate([x, np.zeros_like(x[..., :1])], -1)

        flat = np.concatenate([normalise(s.poses_2d, "universal", constant, depth) * depth for s in train])
        mm_per_unit = float(head_root_length(gt_train).mean() / head_root_length(flat).mean())
    elif name == "mean-pose":
        mean_pose = gt_train.mean(0)

        def predict(seq: Sequence) -> np.ndarray:
            return np.repeat(mean_pose[None], len(seq), 0)

        mm_per_unit = 1.0
    else:
        raise ValueError(f"unknown baseline {name!r}; choose from {BASELINES}")
    out = evaluate_sequences(predict, seqs, protocol, mm_per_unit, progress)
    out.update({"input_2d": input_2d, "stride": stride, "model": f"baseline:{name}", "uses_3d_at_test": False})
    return out
