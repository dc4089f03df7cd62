"""Validation without and with 3D, and the fine-tuning watch: the final model's predictions on
fixed training frames, the global scale's mm per unit, learning-curve figures where the data has
3D, the plausibility signals (no 3D) after every epoch and self-training round, and keep_best's
choice of weights. A mixin of `training.loop.Trainer`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..data.skeleton import head_root_length
from ..models.checkpoint import save_checkpoint
from ..models.networks import full_precision


class Watch:
    """What is measured at the end of an epoch or a round, and which weights are kept."""

    @torch.no_grad()
    def _predict(self, idx: torch.Tensor) -> torch.Tensor:
        """The final model (eval mode) on training frames idx (n,): root-centred predictions
        (n, 17, 3) in model units, in fp32 whatever `train.precision` (as inference runs)."""
        model = self.final_model
        was = model.training
        model.eval()
        sref = None if self.frames.sref is None else self.frames.sref[idx]
        with full_precision(model):
            pred = model(self.frames.poses_2d[idx], sref)
        model.train(was)
        return pred

    def _predict_fixed(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`_predict` on a fixed random set of n training frames: (indices (n,), predictions)."""
        g = torch.Generator().manual_seed(seed)
        idx = torch.randint(len(self.frames), (min(n, len(self.frames)),), generator=g).to(self.device)
        return idx, self._predict(idx)

    @torch.no_grad()
    def mm_per_unit(self, n: int = 8192) -> float:
        """Global scale protocol: mean ground-truth head-root length of the training subjects (mm)
        over the mean predicted head-root length on training inputs (model units)."""
        _, pred = self._predict_fixed(n, seed=1234)
        head = head_root_length(pred).mean().item()
        return float(self.data.head_root_mm / max(head, 1e-9))

    @torch.no_grad()
    def diagnostics(self, n: int = 4096) -> dict[str, float]:
        """Learning-curve figures on a fixed random set of training frames that have 3D (the 3D
        is never used by unsupervised training): MPJPE under the global scale, PA-MPJPE, and the
        mirror check (PA-MPJPE of the depth-negated prediction; fraction of frames where it is
        better). {} when the data has no 3D."""
        f = self.frames
        if f.poses_3d is None:
            return {}
        from ..evaluation.metrics import mirror_fractions, mpjpe, pa_mpjpe

        idx, pred = self._predict_fixed(n, seed=4321)
        pred = (pred * self.mm_per_unit()).cpu().double().numpy()
        gt = f.poses_3d[idx].cpu().double().numpy()
        mirror_pa, frac = mirror_fractions(pred, gt)
        return {"val_mpjpe": float(mpjpe(pred, gt).mean()), "val_pa_mpjpe": float(pa_mpjpe(pred, gt).mean()),
                "val_mirror_pa_mpjpe": mirror_pa, "val_mirror_fraction": frac}

    @torch.no_grad()
    def plausibility_signals(self, n: int = 8192) -> dict[str, float]:
        """Bone-length variation, left/right asymmetry and depth span of the final model's 3D on
        every m-th training frame (at most n, so each video keeps its time order): no 3D needed."""
        from ..evaluation.plausibility import plausibility

        f = self.frames
        idx = torch.arange(0, len(f), max(1, -(-len(f) // n)), device=self.device)
        return plausibility(self._predict(idx).cpu().double().numpy(), f.seq_index[idx].cpu().numpy())

    @staticmethod
    def _plaus_row(p: dict[str, float]) -> dict[str, float]:
        return {"plaus_bone_cv": p["bone_cv_pct"], "plaus_asymmetry": p["asymmetry_pct"],
                "plaus_depth_span": p["depth_span"]}

    def _validate(self, epoch: int, label: str) -> dict[str, float]:
        """End of an epoch or a self-training round: the validation row of `log.csv` (logged
        under `epoch`), one line each for diagnostics and plausibility; returns the latter."""
        diag, plaus = self.diagnostics(), self.plausibility_signals()
        self._log({"epoch": epoch, "step": self.step, "kind": "validation", **diag, **self._plaus_row(plaus)})
        if diag:
            print(f"{label}: training-subject frames (their 3D unused in training): MPJPE "
                  f"{diag['val_mpjpe']:.1f} mm, PA-MPJPE {diag['val_pa_mpjpe']:.1f} mm, depth-mirrored "
                  f"better in {100 * diag['val_mirror_fraction']:.1f} % of frames", flush=True)
        self._report_plausibility(label, plaus)
        return plaus

    def _report_plausibility(self, label: str, p: dict[str, float]) -> None:
        """One line per epoch; with --init, compared with the starting weights, and a warning when
        the 3D has become clearly less plausible than it was."""
        text = (f"bone-length variation {p['bone_cv_pct']:.1f} %, left/right asymmetry {p['asymmetry_pct']:.1f} %, "
                f"depth span {p['depth_span']:.2f} head-root lengths")
        p0 = self.initial_plausibility
        if p0 is not None:
            text += (f" (initial weights: {p0['bone_cv_pct']:.1f} %, {p0['asymmetry_pct']:.1f} %, "
                     f"{p0['depth_span']:.2f})")
        print(f"{label}: 3D plausibility on the training 2D: {text}", flush=True)
        if p0 is not None and _worse(p, p0):
            kept = " (train.keep_best keeps the better weights)" if self.cfg.train.keep_best else ""
            warnings.warn(f"{label}: the 3D is less plausible than with the initial weights (bone-length "
                          f"variation {p0['bone_cv_pct']:.1f} -> {p['bone_cv_pct']:.1f} %, asymmetry "
                          f"{p0['asymmetry_pct']:.1f} -> {p['asymmetry_pct']:.1f} %, depth span "
                          f"{p0['depth_span']:.2f} -> {p['depth_span']:.2f}){kept}", stacklevel=2)

    @property
    def best_path(self) -> Path:
        return self.out / "best.pt"

    def _consider_best(self, epoch: int, p: dict[str, float], label: str | None = None) -> None:
        """Keep these weights as best.pt if their 3D is the most plausible so far (`label`: where
        in the run they are, e.g. "epoch 3 of 5"; "the initial weights" for epoch 0)."""
        from ..evaluation.plausibility import plausibility_score

        score = plausibility_score(p)
        if self.best is None or score < self.best["score"]:
            self.best = {"epoch": epoch, "score": score, **p}
            self.best["label"] = label or best_label(self.best, self.cfg.train.epochs)
            save_checkpoint(self.best_path, self.model_file_state())


def best_label(best: dict, epochs: int) -> str:
    """Where keep_best's weights come from: their stored label (e.g. "self-training round 1 of 1"),
    else, for runs saved before labels, "the initial weights" or "epoch E of N"."""
    return best.get("label") or ("the initial weights" if best["epoch"] == 0 else f"epoch {best['epoch']} of {epochs}")


def _worse(p: dict[str, float], p0: dict[str, float]) -> bool:
    """Clearly less plausible than p0: bone variation + asymmetry up by a quarter (and 1 point),
    or the depth span grown by half or shrunk by half."""
    from ..evaluation.plausibility import plausibility_score

    s, s0 = plausibility_score(p), plausibility_score(p0)
    return s > max(1.25 * s0, s0 + 1.0) or not 0.5 * p0["depth_span"] <= p["depth_span"] <= 1.5 * p0["depth_span"]
