"""One training step, by kind: the lifter (Eqs. 6-10), the scale module (Eqs. 12-13), the
discriminator, the supervised baseline; the batch they read and the optimiser calls. A mixin of
`training.loop.Trainer`, which holds the models, optimisers, data and generator these use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import losses as L
from ..data.rotation import random_rotation, tilted_up
from ..errors import AmbiposeError
from ..models.cycle import Cycle


class TrainingDiverged(AmbiposeError):
    pass


@dataclass
class Batch:
    x_t: torch.Tensor  # (B, 17, 2) normalised 2D at frame t
    x_k: torch.Tensor  # (B, 17, 2) at t + k (motion consistency)
    x_l: torch.Tensor  # (B, 17, 2) at a random frame l >= bone_min_offset away (bone consistency)
    s_t: torch.Tensor | None  # (B,) reference scales (only for scale mode 'reference')
    s_k: torch.Tensor | None
    s_l: torch.Tensor | None
    y_t: torch.Tensor | None  # (B, 17, 3) ground-truth 3D (supervised baseline only)
    up: torch.Tensor | None  # (B, 3) world vertical in each frame's camera frame


class TrainingSteps:
    """The four kinds of step (`train_step` picks one) and what they share."""

    def _my_slice(self, t: torch.Tensor) -> torch.Tensor:
        n = len(t) // self.world_size
        return t[self.rank * n : (self.rank + 1) * n]

    def batch(self) -> Batch:
        i_all = self.sampler.sample(self.cfg.train.batch_size, self.gen)
        l_all = self.sampler.far(i_all, self.cfg.loss.bone_min_offset, self.gen)
        i, l = self._my_slice(i_all).to(self.device), self._my_slice(l_all).to(self.device)
        f = self.frames
        ref = f.sref if self.cfg.model.scale == "reference" else None
        take = lambda t, j: None if t is None else t[j]  # noqa: E731
        y = f.poses_3d if self.cfg.train.objective == "supervised" else None
        return Batch(f.poses_2d[i], f.poses_2d[i + self.k], f.poses_2d[l],
                     take(ref, i), take(ref, i + self.k), take(ref, l), take(y, i), take(f.up, i))

    def train_step(self, it: int) -> tuple[str, dict[str, float]]:
        t, b = self.cfg.train, self.batch()
        self.train_mode()
        if t.objective == "supervised":
            return "supervised", self.supervised_step(b)
        if self.disc is not None and self.step < t.disc_warmup_steps:
            return "disc-warmup", self.disc_warmup_step(b)
        if t.schedule == "joint":
            return "joint", self.unsupervised_step(b, train_scale=True)
        scale_turn = self.model.scale is not None and it % (t.lifter_steps + 1) == t.lifter_steps
        if scale_turn:
            return "scale", self.scale_step(b)
        return "lifter", self.unsupervised_step(b, train_scale=False)

    def train_mode(self) -> None:
        """The lifter in training mode; with `train.freeze_norm_stats` its BatchNorm layers stay in
        eval mode (they normalise with, and keep, the statistics the weights came with)."""
        self.model.train()
        if self.cfg.train.freeze_norm_stats:
            for mod in self.model.modules():
                if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                    mod.eval()

    def _rotations(self, up: torch.Tensor | None) -> torch.Tensor:
        """(B, 3, 3) for this rank's slice; drawn for the global batch so N processes see what 1 does."""
        r, n = self.cfg.rotation, self.cfg.train.batch_size
        if up is None:
            up = self._assumed_up(n // self.world_size)
        up_all = up.repeat(self.world_size, 1)  # only the angles are drawn for the global batch
        rot = random_rotation(n, math.radians(r.azimuth_deg), math.radians(r.elevation_deg), math.radians(r.roll_deg),
                              generator=self.gen, device=self.device, up=up_all)
        return self._my_slice(rot)

    def _assumed_up(self, n: int) -> torch.Tensor:
        """(n, 3) world vertical for frames without a camera (the assumed tilt, `rotation.assumed_tilt_deg`)."""
        return torch.tensor(tilted_up(self.cfg.rotation.assumed_tilt_deg), device=self.device).expand(n, 3)

    def _cycle_losses(self, b: Batch, s_t: torch.Tensor, s_k: torch.Tensor,
                      relative: bool = False) -> tuple[dict[str, torch.Tensor], torch.Tensor, Cycle]:
        """Eqs. 6-10 for the inputs scaled by s_t, s_k: returns (losses, weighted sum, cycle at t).
        relative: L2D, L3D and L_tmc measured in units of each pose's own scale (see
        `LossConfig.scale_relative`); the poses themselves are unchanged."""
        w, m = self.cfg.loss, self.model
        relative = relative and m.scale_mode == "2d"  # elsewhere these losses do not depend on s
        in_t = m.lifter_input(b.x_t, s_t)
        rot = self._rotations(b.up)
        clip = self.cfg.rotation.clip_2d
        c_t = m.cycle(in_t, rot, clip)
        inv_t = 1.0 / s_t[:, None, None] if relative else 1.0  # (B, 1, 1)
        parts = {"loss_2d": L.loss_2d(c_t.back_2d * inv_t, in_t * inv_t),
                 "loss_3d": L.loss_3d(c_t.relifted_3d * inv_t, c_t.rotated_3d * inv_t)}
        if self.disc is not None:
            self.disc.requires_grad_(False)  # frozen here: its weight gradients would be wasted work
            parts["loss_adv"] = L.generator_adv(self._score(c_t.rotated_2d))
            self.disc.requires_grad_(True)
        if w.w_tmc > 0:
            c_k = m.cycle(m.lifter_input(b.x_k, s_k), rot, clip)
            inv = 2.0 / (s_t + s_k)[:, None, None] if relative else 1.0  # one unit for both frames
            parts["loss_tmc"] = L.motion_consistency(c_t.pose_3d * inv, c_k.pose_3d * inv,
                                                     c_t.relifted_3d * inv, c_k.relifted_3d * inv, rot)
        weights = {"loss_2d": w.w_2d, "loss_3d": w.w_3d, "loss_adv": w.w_adv, "loss_tmc": w.w_tmc}
        return parts, sum(weights[k] * v for k, v in parts.items()), c_t

    def _scale_losses(self, b: Batch, s_t: torch.Tensor, pose_t: torch.Tensor,
                      relative: bool = False) -> dict[str, torch.Tensor]:
        """Eqs. 12-13: KL of the batch's scales to the prior, bone consistency of frames t and l
        (relative: in units of the pair's mean scale)."""
        m, w = self.model, self.cfg.loss
        s_l = m.scales(b.x_l, b.s_l)
        pose_l = m.lift(m.lifter_input(b.x_l, s_l), s_l)
        if m.scale_mode == "3d":
            pose_t = pose_t * s_t[:, None, None]
        inv = 2.0 / (s_t + s_l)[:, None, None] if relative else 1.0
        return {"loss_bone": L.bone_consistency(pose_t * inv, pose_l * inv),
                "loss_kl": L.kl_gaussian(torch.cat([s_t, s_l]), w.prior_mean, w.prior_std)}

    def unsupervised_step(self, b: Batch, train_scale: bool) -> dict[str, float]:
        """Lifter step (scale frozen) or joint step (both trained): Eqs. 6-10, plus 12-13 if joint."""
        w, m = self.cfg.loss, self.model
        if m.scale is not None and not train_scale:
            m.scale.eval()  # frozen: no dropout noise on the scales the lifter sees
        with torch.set_grad_enabled(train_scale):
            s_t, s_k = m.scales(b.x_t, b.s_t), m.scales(b.x_k, b.s_k)
        rel = train_scale and m.scale is not None and w.scale_relative
        parts, total, c_t = self._cycle_losses(b, s_t, s_k, relative=rel)
        if train_scale and m.scale is not None:
            parts.update(self._scale_losses(b, s_t, c_t.pose_3d, relative=rel))
            total = total + w.w_kl * parts["loss_kl"] + w.w_bone * parts["loss_bone"]
        names = ["lifter"] + (["scale"] if train_scale and m.scale is not None else [])
        self._optimise(total, names)
        self.lifter_steps_done += 1
        if self.disc is not None and self.lifter_steps_done % self.cfg.train.disc_every == 0:
            parts.update(self.discriminator_step(b.x_t, c_t.rotated_2d.detach()))
        return _floats(parts, s_t)

    def discriminator_step(self, real_2d: torch.Tensor, fake_2d: torch.Tensor) -> dict[str, torch.Tensor]:
        """LSGAN update. Real samples are the unscaled inputs (as the authors'), fakes the
        synthetic views; each pose is scored on its own (no BatchNorm in the discriminator)."""
        real, fake = self._score(real_2d), self._score(fake_2d)
        loss = L.discriminator_adv(real, fake)
        self._optimise(loss, ["disc"])
        return {"loss_disc": loss, "disc_real": real.mean(), "disc_fake": fake.mean()}

    def _score(self, poses_2d: torch.Tensor) -> torch.Tensor:
        """Discriminator scores (B,) of normalised 2D poses (B, 17, 2), with instance noise if set."""
        sigma = self.cfg.loss.disc_noise
        if sigma > 0:
            # Drawn for the global batch on the CPU generator, as the rotations are.
            noise = torch.randn((len(poses_2d) * self.world_size, *poses_2d.shape[1:]), generator=self.gen)
            poses_2d = poses_2d + sigma * self._my_slice(noise).to(poses_2d)
        return self.disc(poses_2d)

    def disc_warmup_step(self, b: Batch) -> dict[str, float]:
        """Only the discriminator learns (real inputs against the current lifter's synthetic views).
        The lifter runs in eval mode: its BatchNorm statistics must not drift before it trains."""
        m = self.model
        m.eval()
        with torch.no_grad():
            s_t = m.scales(b.x_t, b.s_t)
            fake = m.cycle(m.lifter_input(b.x_t, s_t), self._rotations(b.up), self.cfg.rotation.clip_2d).rotated_2d
        return _floats(self.discriminator_step(b.x_t, fake), s_t)

    def scale_step(self, b: Batch) -> dict[str, float]:
        """Scale step, Eq. 13: the scale module trained by L_kl + L_bone and by the lifter's own
        losses through the frozen lifter (in eval mode, so dropout does not jitter the poses).
        With the scale on the 3D output the lifter's losses do not reach s: L_kl + L_bone only."""
        m, w = self.model, self.cfg.loss
        m.lifter.eval()
        m.lifter.requires_grad_(False)
        rel = w.scale_relative
        try:
            if m.scale_mode == "3d":
                # s multiplies the pose after the cycle, so the cycle's losses do not depend on it
                # (tested) and the frozen lifter's cycle would be wasted work: only the lift of
                # frame t is needed, for L_bone.
                s_t = m.scales(b.x_t, b.s_t)
                with torch.no_grad():
                    pose_t = m.lift(b.x_t, torch.ones_like(s_t))  # (B, 17, 3) unscaled
                parts, total = self._scale_losses(b, s_t, pose_t, relative=rel), 0.0
            else:
                s_t, s_k = m.scales(b.x_t, b.s_t), m.scales(b.x_k, b.s_k)
                parts, total, c_t = self._cycle_losses(b, s_t, s_k, relative=rel)
                parts.update(self._scale_losses(b, s_t, c_t.pose_3d, relative=rel))
            self._optimise(total + w.w_kl * parts["loss_kl"] + w.w_bone * parts["loss_bone"], ["scale"])
        finally:
            m.lifter.requires_grad_(True)
            m.lifter.train()
        return _floats(parts, s_t)

    def supervised_step(self, b: Batch) -> dict[str, float]:
        """Upper-bound baseline: the same lifter regressing ground-truth 3D (scaled so the mean
        training head-root length is 1 model unit)."""
        pred = self.model(b.x_t)
        loss = L.sq_dist(pred, b.y_t / self.data.head_root_mm)
        self._optimise(loss, ["lifter"] + (["scale"] if self.model.scale is not None else []))
        return {"loss_sup": float(loss.detach())}

    def _optimise(self, loss: torch.Tensor, names: list[str]) -> None:
        for n in names:
            self.opts[n].zero_grad(set_to_none=True)
        loss.backward()
        self.after_backward(names)
        for n in names:
            self.opts[n].step()

    def after_backward(self, names: list[str]) -> None:
        """Hook between backward and the optimiser step (gradient averaging across processes)."""

    def sync_weights(self) -> None:
        """Hook: make every process hold rank 0's weights and buffers (distributed runs)."""


def _adam(module: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with the authors' GAN betas (0.5, 0.9: a short momentum memory keeps the game
    responsive). The fused kernel (CPU and CUDA) does the same update in one pass over the
    weights: 10x faster than the per-tensor loop on CPU, 7 % of a training step
    (docs/performance.md)."""
    params = [p for p in module.parameters() if p.requires_grad]  # not a frozen 2D-correction head
    fused = params[0].device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9), fused=fused)


def _floats(parts: dict[str, torch.Tensor], s: torch.Tensor) -> dict[str, float]:
    out = {k: float(v.detach()) for k, v in parts.items()}
    out["scale_mean"], out["scale_std"] = float(s.detach().mean()), float(s.detach().std())
    return out
