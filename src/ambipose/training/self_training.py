"""Self-training on one skeleton per video: the stage after the main epochs (`self_training` config).

A single-frame lifter chooses each frame's depths on its own, so one person's bones stretch and
shrink over a video. `skeleton_fit` repairs that offline, over a whole track, and makes the 3D
more accurate (docs/skeleton_fit.md). This stage teaches the single-frame model what the fit
adds: the model lifts every training frame, one skeleton is fitted to each video, and the model
is fine-tuned to reproduce the fitted poses (pseudo-labels) from single frames. Only the training
2D is read; the labels are the model's own lifts, corrected by a constraint every person obeys.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.sampler import PoseFrames
from ..models.networks import full_precision
from ..models.pose_model import PoseModel
from ..skeleton_fit import fit_skeleton


@torch.no_grad()
def pseudo_labels(model: PoseModel, frames: PoseFrames, lateral_weight: float | None = None,
                  batch_size: int = 8192, with_root_depth: bool = False
                  ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The model's lift of every frame, refitted to one skeleton per sequence (`seq_index`).

    Returns (N, 17, 3) root-centred, camera frame, model units, on the frames' device, float32;
    with `with_root_depth` also the root's depth (N,) (where the model put it on the optical axis).
    The model runs in eval mode and fp32 (as inference) and is left in the mode it came in."""
    was = model.training
    model.eval()
    sref_all = frames.sref if model.scale_mode == "reference" else None
    n = len(frames)
    poses = np.empty((n, 17, 3), dtype=np.float32)  # root-centred
    root_depth = np.empty(n, dtype=np.float32)
    with full_precision(model):
        for i in range(0, n, batch_size):
            x = frames.poses_2d[i : i + batch_size]
            pose, root, _ = model.lift_with_root(x, None if sref_all is None else sref_all[i : i + batch_size])
            poses[i : i + len(x)], root_depth[i : i + len(x)] = pose.float().cpu().numpy(), root.float().cpu().numpy()
    model.train(was)
    bounds = frames.sequence_bounds()
    out = np.empty_like(poses)
    for a, b in zip(bounds[:-1], bounds[1:]):
        out[a:b] = fit_skeleton(poses[a:b], root_depth[a:b], lateral_weight=lateral_weight)
    labels = torch.from_numpy(out).to(frames.poses_2d.device)
    return (labels, torch.from_numpy(root_depth).to(labels.device)) if with_root_depth else labels
