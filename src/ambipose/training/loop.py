"""The Trainer: set-up, resume, checkpoints, the EMA copy, logging and the loop (`fit`): the
main epochs (iterative: N lifter steps, then 1 scale step; or joint; or a baseline), then the
optional self-training stage. What one step does is in `training/steps.py`, what is measured after
an epoch and which weights are kept in `training/watch.py`, the self-training round in
`training/self_training.py`.
"""

from __future__ import annotations

import copy
import csv
import math
import time
import warnings
from pathlib import Path

import torch

from ..config import ExperimentConfig
from ..data.sampler import PairSampler
from ..errors import AmbiposeError
from ..io import atomic_write_text
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..models.networks import Discriminator, set_compute_dtype
from ..models.pose_model import PoseModel, with_new_heads
from ..progress import progress_bar
from .data import TrainingData, prepare_training_data
from .self_training import SelfTrainingStage
from .steps import Batch, TrainingDiverged, TrainingSteps, _adam  # noqa: F401 - Batch, TrainingDiverged: public here
from .watch import Watch

LOG_COLUMNS = ["epoch", "step", "kind",  # kind: the last step's kind; losses are means since the previous row
               "loss_2d", "loss_3d", "loss_adv", "loss_tmc", "loss_kl", "loss_bone",
               "loss_disc", "disc_real", "disc_fake", "loss_sup", "loss_self", "scale_mean", "scale_std", "lr", "seconds",
               # End of each epoch, on fixed frames of the training subjects whose 3D unsupervised
               # training never reads (empty for 2D-only data): see Trainer.diagnostics.
               "val_mpjpe", "val_pa_mpjpe", "val_mirror_pa_mpjpe", "val_mirror_fraction",
               # End of each epoch, without any 3D: the predicted skeleton's bone-length variation
               # over time (%), left/right asymmetry (%) and depth span (head-root lengths).
               "plaus_bone_cv", "plaus_asymmetry", "plaus_depth_span"]


class Trainer(TrainingSteps, Watch, SelfTrainingStage):
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
            bar = progress_bar(range(self.iters), self.progress, lines=False, desc=f"epoch {self.epoch + 1}/{t.epochs}",
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


def _yaml(d: dict) -> str:
    import yaml

    return yaml.safe_dump(d, sort_keys=False)
