"""Self-training on one skeleton per video: the stage after the main epochs (`self_training` config).

A single-frame lifter chooses each frame's depths on its own, so one person's bones stretch and
shrink over a video. `skeleton_fit` repairs that offline, over a whole track, and makes the 3D
more accurate (docs/skeleton_fit.md). This stage teaches the single-frame model what the fit
adds: the model lifts every training frame, one skeleton is fitted to each video, and the model
is fine-tuned to reproduce the fitted poses (pseudo-labels) from single frames. Only the training
2D is read; the labels are the model's own lifts, corrected by a constraint every person obeys.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from .. import losses as L
from ..data.sampler import PoseFrames
from ..models.networks import full_precision
from ..models.pose_model import PoseModel
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..progress import progress_bar
from ..skeleton_fit import fit_skeleton
from .augment import augment
from .steps import TrainingDiverged
from .watch import _worse, best_label


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


def round_steps(steps: int, max_passes: float | None, frames: int, batch_size: int) -> int:
    """A round's steps: `steps`, or fewer where `max_passes` passes over `frames` come first."""
    if max_passes is None:
        return steps
    return max(1, min(steps, int(max_passes * frames / batch_size)))


class SelfTrainingStage:
    """The stage's rounds, a mixin of `training.loop.Trainer`: label every training frame, then
    fine-tune to the labels (half of each batch new views of them with `self_training.augment`)."""

    def self_training_round(self, max_steps: int | None = None) -> bool:
        """One round of the stage: label every training frame with the final model's lift fitted
        to one skeleton per video, then fine-tune to those labels from single frames. A round
        that is cut (kill, `max_steps`) restarts from the last checkpoint, which precedes it, so
        resuming repeats it exactly. Returns False when cut by `max_steps`."""
        st, rnd = self.cfg.self_training, self.self_training_rounds + 1
        self._start_from_plausible_weights(rnd)
        t0 = time.perf_counter()
        self.model.load_state_dict(self.final_model.state_dict())  # fine-tune what would ship
        labels, root_depth = pseudo_labels(self.model, self.frames, st.lateral_weight, with_root_depth=True)  # (N, 17, 3), (N,)
        steps = round_steps(st.steps, st.max_passes, len(labels), st.batch_size)
        if self.rank == 0:
            capped = f" (capped at {st.max_passes:g} passes over the frames)" if steps < st.steps else ""
            print(f"self-training round {rnd}/{st.rounds}: {len(labels)} frames labelled with one skeleton per video "
                  f"in {time.perf_counter() - t0:.0f} s; {steps} steps{capped}", flush=True)
        # Plain Adam: a regression to fixed targets, not the adversarial game's short memory.
        self._freeze_correction(False)  # the labels leave the rays: the 2D correction learns here
        opt = torch.optim.Adam(self.model.parameters(), lr=st.lr)
        self.opts["self_training"] = opt  # so after_backward averages its gradients across processes
        ref = self.frames.sref if self.model.scale_mode == "reference" else None
        acc: list[float] = []
        try:
            self.train_mode()
            bar = progress_bar(range(steps), self.progress, desc=f"self-training {rnd}/{st.rounds}",
                               leave=False, dynamic_ncols=True)
            for i in bar:
                if max_steps is not None and self.step >= max_steps:
                    return False
                idx = self._my_slice(torch.randint(len(labels), (st.batch_size,), generator=self.gen)).to(self.device)
                x, y = self.frames.poses_2d[idx], labels[idx]
                if st.augment > 0:
                    x, y = self._augmented(x, y, root_depth[idx], idx)
                pred = self.model(x, None if ref is None else ref[idx])
                loss = L.joint_dist(pred.float(), y)
                self._optimise(loss, ["self_training"])
                self.step += 1
                acc.append(float(loss.detach()))
                if not math.isfinite(acc[-1]):
                    raise TrainingDiverged(f"self-training loss became non-finite at step {self.step}; "
                                           f"the last good checkpoint is {self.last_path}")
                if self.step % self.cfg.train.log_every == 0 or i == steps - 1:
                    self._log({"epoch": self.epoch, "step": self.step, "kind": "self-training",
                               "loss_self": sum(acc) / len(acc), "lr": st.lr,
                               "seconds": self.seconds + time.perf_counter() - t0})
                    bar.set_postfix({"self": f"{sum(acc) / len(acc):.4f}"})
                    acc = []
        finally:
            del self.opts["self_training"]
        self.sync_weights()
        self.reset_ema()  # the fine-tuned weights are what ships
        self.seconds += time.perf_counter() - t0
        self.self_training_rounds = rnd
        if self.rank == 0:
            plaus = self._validate(self.epoch, f"self-training round {rnd}")
            if self.cfg.train.keep_best:
                self._consider_best(self.epoch, plaus, f"self-training round {rnd} of {st.rounds}")
            save_checkpoint(self.last_path, self.state())
        return True

    def _start_from_plausible_weights(self, rnd: int) -> None:
        """Fine-tuning with keep_best: a round's own 3D is plausible by construction (it learns one
        fitted skeleton per track), so its plausibility says nothing about the lifts it was
        labelled from. If the weights it would start from are clearly less plausible than the
        initial ones (the test that warns), it starts from the most plausible weights so far
        instead (best.pt: often the initial weights), so it never builds on a degraded model.
        Single-process runs (the fine-tuning use case; best.pt is rank 0's)."""
        p0 = self.initial_plausibility
        if not (self.cfg.train.keep_best and p0 is not None and self.best is not None and self.world_size == 1
                and self.best_path.exists()):
            return
        p = self.plausibility_signals()
        if not _worse(p, p0):
            return
        self.final_model.load_state_dict(load_checkpoint(self.best_path)["model"])  # the round copies it to the live model
        print(f"self-training round {rnd}: the weights it would start from are less plausible than the initial "
              f"ones (bone-length variation {p['bone_cv_pct']:.1f} vs {p0['bone_cv_pct']:.1f} %, asymmetry "
              f"{p['asymmetry_pct']:.1f} vs {p0['asymmetry_pct']:.1f} %): it starts from the most plausible weights "
              f"so far ({best_label(self.best, self.cfg.train.epochs)})", flush=True)

    def _augmented(self, x: torch.Tensor, y: torch.Tensor, root_depth: torch.Tensor,
                   idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch with its last `self_training.augment` share replaced by new views of those
        labels (training/augment.py); the first part stays the training 2D and its labels."""
        st = self.cfg.self_training
        a = int(round(st.augment * len(x)))
        if a == 0:
            return x, y
        up = self.frames.up[idx[-a:]] if self.frames.up is not None else self._assumed_up(a)
        xa, ya = augment(y[-a:], root_depth[-a:], up, self.gen, mask_prob=st.augment_mask, noise=st.augment_noise)
        return torch.cat([x[:-a], xa.to(x.dtype)]), torch.cat([y[:-a], ya.to(y.dtype)])
