"""The training loop: iterative (N lifter steps, then 1 scale step) or joint, plus the baselines,
then the optional self-training stage (training/self_training.py).

Read top to bottom: set-up, resume, the loop, the self-training stage, the four kinds of step.
"""

from __future__ import annotations

import copy
import csv
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .. import losses as L
from ..config import ExperimentConfig
from ..data.rotation import random_rotation, tilted_up
from ..data.sampler import PairSampler
from ..data.skeleton import head_root_length
from ..errors import AmbiposeError
from ..io import atomic_write_text
from ..models.cycle import Cycle
from ..models.networks import Discriminator, full_precision, set_compute_dtype
from ..models.pose_model import PoseModel, with_new_heads
from ..models.checkpoint import load_checkpoint, save_checkpoint
from .augment import augment
from .data import TrainingData, prepare_training_data
from .self_training import pseudo_labels

LOG_COLUMNS = ["epoch", "step", "kind",  # kind: the last step's kind; losses are means since the previous row
               "loss_2d", "loss_3d", "loss_adv", "loss_tmc", "loss_kl", "loss_bone",
               "loss_disc", "disc_real", "disc_fake", "loss_sup", "loss_self", "scale_mean", "scale_std", "lr", "seconds",
               # End of each epoch, on fixed frames of the training subjects whose 3D unsupervised
               # training never reads (empty for 2D-only data): see Trainer.diagnostics.
               "val_mpjpe", "val_pa_mpjpe", "val_mirror_pa_mpjpe", "val_mirror_fraction",
               # End of each epoch, without any 3D: the predicted skeleton's bone-length variation
               # over time (%), left/right asymmetry (%) and depth span (head-root lengths).
               "plaus_bone_cv", "plaus_asymmetry", "plaus_depth_span"]


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


class Trainer:
    def __init__(self, cfg: ExperimentConfig, out_dir: str | Path, device: str = "cpu",
                 data: TrainingData | None = None, progress: bool = True, rank: int = 0, world_size: int = 1):
        self.cfg, self.out, self.device, self.progress = cfg, Path(out_dir), torch.device(device), progress
        # Data parallel: every rank draws the same global batch and keeps its slice, so a run on
        # N processes sees exactly the samples of a 1-process run with the same global batch.
        self.rank, self.world_size = rank, world_size
        if cfg.train.batch_size % world_size:
            raise AmbiposeError(f"train.batch_size {cfg.train.batch_size} is not divisible by {world_size} processes")
        self.out.mkdir(parents=True, exist_ok=True)
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        torch.manual_seed(t.seed)
        # A run folder with last.pt is being resumed (run_training clears it otherwise): keep the
        # 2D adapter its frames were adapted with instead of fitting a new one.
        if data is None:
            stored = load_checkpoint(self.last_path).get("adapter_2d") if cfg.data.adapt_2d and self.last_path.exists() else None
            data = prepare_training_data(cfg, adapter_2d=stored, progress=progress and rank == 0)
        self.data = data
        self.frames = self.data.frames.to(self.device)
        self.k = cfg.loss.tmc_offset
        self.sampler = PairSampler(self.data.frames, self.k)
        self.gen = torch.Generator().manual_seed(t.seed)

        self.model = PoseModel(cfg.model, cfg.loss.prior_mean).to(self.device)
        # The averaged copy that is validated and shipped (`final_model`); None when ema_decay is 0.
        self.ema = copy.deepcopy(self.model).requires_grad_(False).eval() if t.ema_decay > 0 else None
        unsup = t.objective == "unsupervised"
        self.disc = (Discriminator.from_config(cfg.model).to(self.device)
                     if unsup and cfg.loss.w_adv > 0 else None)
        if t.precision == "bf16":  # the live networks only: the EMA copy validated and shipped stays fp32
            for net in (self.model, self.disc):
                if net is not None:
                    set_compute_dtype(net, torch.bfloat16)
        # The 2D-correction head (model.correct_2d) stays at zero until the self-training stage.
        self._freeze_correction(True)
        self.opts = {"lifter": _adam(self.model.lifter, t.lr)}
        if self.model.scale is not None:
            self.opts["scale"] = _adam(self.model.scale, t.lr)
        if self.disc is not None:
            self.opts["disc"] = _adam(self.disc, t.disc_lr or t.lr)
        self.scheds = {k: torch.optim.lr_scheduler.ExponentialLR(o, gamma=t.lr_decay) for k, o in self.opts.items()}
        self.iters = t.iters_per_epoch or max(1, len(self.frames) // t.batch_size)
        self.epoch, self.step = 0, 0
        self.lifter_steps_done = 0  # counts lifter/joint steps (the discriminator's cadence)
        self.self_training_rounds = 0  # rounds of the self-training stage completed
        self.seconds = 0.0  # training time so far, carried across resumes
        # Fine-tuning watch (no 3D needed): signals of the starting weights, and the most
        # plausible epoch so far ({"epoch", "score", ...signals}) when train.keep_best.
        self.initial_plausibility: dict | None = None
        self.best: dict | None = None
        self.init_source: str | None = None  # set when the weights came from --init

    # ---- checkpoints -------------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.out / "last.pt"

    def state(self) -> dict:
        return {
            "config": self.cfg.to_dict(),
            "normalisation": self.data.normalisation,
            "mm_per_unit": self.mm_per_unit(),
            "model": self.final_model.state_dict(),  # what inference loads (the EMA weights if on)
            **self._adapter_entry(),
            "live_model": self.model.state_dict(),
            "disc": None if self.disc is None else self.disc.state_dict(),
            "optim": {k: o.state_dict() for k, o in self.opts.items()},
            "sched": {k: s.state_dict() for k, s in self.scheds.items()},
            "epoch": self.epoch, "step": self.step, "seconds": self.seconds,
            "lifter_steps_done": self.lifter_steps_done,
            "self_training_rounds": self.self_training_rounds,
            "best": self.best,
            "initial_plausibility": self.initial_plausibility,
            "rng": {"torch": torch.get_rng_state(), "sampler": self.gen.get_state()},
        }

    def model_file_state(self) -> dict:
        """What `model.pt` (and `best.pt`) hold: `state()` without optimiser, RNG or live weights."""
        return {"config": self.cfg.to_dict(), "normalisation": self.data.normalisation,
                "mm_per_unit": self.mm_per_unit(), "model": self.final_model.state_dict(),
                "epoch": self.epoch, "step": self.step, "seconds": self.seconds, **self._adapter_entry()}

    def _adapter_entry(self) -> dict:
        return {"adapter_2d": self.data.adapter_2d} if self.data.adapter_2d is not None else {}

    def resume(self) -> bool:
        if not self.last_path.exists():
            return False
        st = load_checkpoint(self.last_path)
        self.model.load_state_dict(with_new_heads(st["live_model"] if "live_model" in st else st["model"], self.model))
        if self.ema is not None:
            self.ema.load_state_dict(with_new_heads(st["model"], self.ema))
        if self.disc is not None:
            self.disc.load_state_dict(st["disc"])
        for k, o in self.opts.items():
            o.load_state_dict(st["optim"][k])
        for k, s in self.scheds.items():
            s.load_state_dict(st["sched"][k])
        self.epoch, self.step, self.seconds = st["epoch"], st["step"], st["seconds"]
        self.lifter_steps_done = int(st.get("lifter_steps_done", 0))
        self.self_training_rounds = int(st.get("self_training_rounds", 0))
        self.resumed_config = st.get("config")  # what the run was trained with so far
        self.best = st.get("best")
        self.initial_plausibility = st.get("initial_plausibility")
        torch.set_rng_state(st["rng"]["torch"])
        self.gen.set_state(st["rng"]["sampler"])
        self._truncate_log()
        return True

    @property
    def final_model(self) -> PoseModel:
        """The model that is validated, checkpointed as `model` and shipped."""
        return self.ema if self.ema is not None else self.model

    def reset_ema(self) -> None:
        """Start the average from the live weights (after loading --init weights)."""
        if self.ema is not None:
            self.ema.load_state_dict(self.model.state_dict())

    def _freeze_correction(self, frozen: bool) -> None:
        """Freeze (or free) the lifter's 2D-correction head, if it has one (`model.correct_2d`)."""
        if self.model.lifter.xy is not None:
            self.model.lifter.xy.requires_grad_(not frozen)

    @torch.no_grad()
    def update_ema(self) -> None:
        if self.ema is None:
            return
        # Warm-up: early on the average must not drag the random initialisation along.
        d = min(self.cfg.train.ema_decay, (1.0 + self.step) / (10.0 + self.step))
        for e, p in zip(self.ema.parameters(), self.model.parameters()):
            e.lerp_(p, 1.0 - d)
        for e, b in zip(self.ema.buffers(), self.model.buffers()):
            if e.is_floating_point():
                e.lerp_(b, 1.0 - d)  # BatchNorm statistics averaged like the weights they go with
            else:
                e.copy_(b)

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

    # ---- logging -----------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self.out / "log.csv"

    def _truncate_log(self) -> None:
        """Drop log rows written after the checkpoint we resume from (they will be redone)."""
        if not self.log_path.exists():
            return
        with open(self.log_path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= self.step]
        self._write_log(rows)

    def _write_log(self, rows: list[dict]) -> None:
        lines = [",".join(LOG_COLUMNS)] + [",".join(str(r.get(c, "")) for c in LOG_COLUMNS) for r in rows]
        atomic_write_text(self.log_path, "\n".join(lines) + "\n")

    def _tensorboard(self):
        """A TensorBoard writer into <out>/tb when the `tensorboard` package is installed, else None."""
        if not hasattr(self, "_tb"):
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.out / "tb"))
            except ImportError:
                self._tb = None
        return self._tb

    def _log(self, row: dict) -> None:
        if self.rank != 0:
            return
        tb = self._tensorboard()
        if tb is not None:
            for k, v in row.items():
                if isinstance(v, float):
                    tb.add_scalar(k, v, row["step"])
        new = not self.log_path.exists()
        with open(self.log_path, "a", newline="") as f:
            w = csv.DictWriter(f, LOG_COLUMNS)
            if new:
                w.writeheader()
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    # ---- the loop ----------------------------------------------------------------------------
    def fit(self, max_steps: int | None = None) -> Path:
        """Train until `train.epochs` (or `max_steps` total steps, for tests); returns last.pt."""
        t = self.cfg.train
        if self.rank == 0:
            atomic_write_text(self.out / "config.yaml", _yaml(self.cfg.to_dict()))
        if self.step == 0:
            # Dropout draws from torch's global generator: give a fresh run its own seeded stream
            # (a resumed run restores the saved one instead).
            torch.manual_seed(t.seed + 1)
            if self.init_source is not None and self.rank == 0:
                self.initial_plausibility = self.plausibility_signals()
                self._log({"epoch": 0, "step": 0, "kind": "validation", **self._plaus_row(self.initial_plausibility)})
                if t.keep_best:
                    self._consider_best(0, self.initial_plausibility)
        while self.epoch < t.epochs:
            bar = tqdm(range(self.iters), desc=f"epoch {self.epoch + 1}/{t.epochs}", disable=not self.progress,
                       leave=False, dynamic_ncols=True)
            t0 = time.perf_counter()
            acc: dict[str, list[float]] = {}
            for it in bar:
                if max_steps is not None and self.step >= max_steps:
                    return self.last_path
                kind, losses = self.train_step(it)
                self.update_ema()
                self.step += 1
                if not all(math.isfinite(v) for v in losses.values()):
                    raise TrainingDiverged(
                        f"loss became non-finite at epoch {self.epoch + 1}, step {self.step} ({kind} step: "
                        f"{ {k: v for k, v in losses.items()} }); the last good checkpoint is {self.last_path}")
                for k, v in losses.items():
                    acc.setdefault(k, []).append(v)
                if self.step % t.log_every == 0 or it == self.iters - 1:
                    # Means since the last row, over every kind of step taken in between.
                    means = {k: sum(v) / len(v) for k, v in acc.items()}
                    acc = {}
                    self._log({"epoch": self.epoch + 1, "step": self.step, "kind": kind, **means,
                               "lr": self.opts["lifter"].param_groups[0]["lr"],
                               "seconds": self.seconds + time.perf_counter() - t0})
                    bar.set_postfix({k.removeprefix("loss_"): f"{v:.4f}" for k, v in means.items() if k.startswith("loss")})
            self.seconds += time.perf_counter() - t0
            if self.rank == 0:
                plaus = self._validate(self.epoch + 1, f"epoch {self.epoch + 1}")
                if t.keep_best:
                    self._consider_best(self.epoch + 1, plaus)
            with warnings.catch_warnings():
                # An optimiser that has not stepped yet (e.g. during disc_warmup_steps) is fine.
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
                for s in self.scheds.values():
                    s.step()
            self.epoch += 1
            if self.rank == 0:
                save_checkpoint(self.last_path, self.state())
            if self.rank == 0:  # one line per epoch, also without the progress bar
                print(f"epoch {self.epoch}/{t.epochs}: {self.step} steps, {self.seconds / 60:.1f} min, "
                      f"checkpoint {self.last_path}", flush=True)
        while self.self_training_rounds < self.cfg.self_training.rounds and self.cfg.self_training.steps > 0:
            if not self.self_training_round(max_steps):
                break
        return self.last_path

    # ---- the self-training stage ---------------------------------------------------------------
    def self_training_round(self, max_steps: int | None = None) -> bool:
        """One round of the stage: label every training frame with the final model's lift fitted
        to one skeleton per video, then fine-tune to those labels from single frames. A round
        that is cut (kill, `max_steps`) restarts from the last checkpoint, which precedes it, so
        resuming repeats it exactly. Returns False when cut by `max_steps`."""
        st, rnd = self.cfg.self_training, self.self_training_rounds + 1
        t0 = time.perf_counter()
        self.model.load_state_dict(self.final_model.state_dict())  # fine-tune what would ship
        labels, root_depth = pseudo_labels(self.model, self.frames, st.lateral_weight, with_root_depth=True)  # (N, 17, 3), (N,)
        if self.rank == 0:
            print(f"self-training round {rnd}/{st.rounds}: {len(labels)} frames labelled with one skeleton per video "
                  f"in {time.perf_counter() - t0:.0f} s; {st.steps} steps", flush=True)
        # Plain Adam: a regression to fixed targets, not the adversarial game's short memory.
        self._freeze_correction(False)  # the labels leave the rays: the 2D correction learns here
        opt = torch.optim.Adam(self.model.parameters(), lr=st.lr)
        self.opts["self_training"] = opt  # so after_backward averages its gradients across processes
        ref = self.frames.sref if self.model.scale_mode == "reference" else None
        acc: list[float] = []
        try:
            self.model.train()
            bar = tqdm(range(st.steps), desc=f"self-training {rnd}/{st.rounds}", disable=not self.progress,
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
                if self.step % self.cfg.train.log_every == 0 or i == st.steps - 1:
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
            self._validate(self.epoch, f"self-training round {rnd}")
            save_checkpoint(self.last_path, self.state())
        return True

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

    def _consider_best(self, epoch: int, p: dict[str, float]) -> None:
        from ..evaluation.plausibility import plausibility_score

        score = plausibility_score(p)
        if self.best is None or score < self.best["score"]:
            self.best = {"epoch": epoch, "score": score, **p}
            save_checkpoint(self.best_path, self.model_file_state())

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
        self.model.train()
        if t.freeze_norm_stats:  # BatchNorm keeps the statistics it came with (see TrainConfig)
            for mod in self.model.modules():
                if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                    mod.eval()
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


def _worse(p: dict[str, float], p0: dict[str, float]) -> bool:
    """Clearly less plausible than p0: bone variation + asymmetry up by a quarter (and 1 point),
    or the depth span grown by half or shrunk by half."""
    from ..evaluation.plausibility import plausibility_score

    s, s0 = plausibility_score(p), plausibility_score(p0)
    return s > max(1.25 * s0, s0 + 1.0) or not 0.5 * p0["depth_span"] <= p["depth_span"] <= 1.5 * p0["depth_span"]


def _floats(parts: dict[str, torch.Tensor], s: torch.Tensor) -> dict[str, float]:
    out = {k: float(v.detach()) for k, v in parts.items()}
    out["scale_mean"], out["scale_std"] = float(s.detach().mean()), float(s.detach().std())
    return out


def _yaml(d: dict) -> str:
    import yaml

    return yaml.safe_dump(d, sort_keys=False)
