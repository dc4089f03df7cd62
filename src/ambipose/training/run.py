"""One training run end to end: train, then calibrate and write the final model file."""

from __future__ import annotations

from pathlib import Path

from ..config import ExperimentConfig
from ..errors import InputError
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..models.pose_model import upgrade_state_dict, with_new_heads
from ..settings import pick_device
from .loop import Trainer
from .self_training import round_steps
from .watch import best_label


RUN_FILES = ("last.pt", "log.csv", "model.pt", "best.pt")


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts (`ExperimentConfig.to_dict()`),
    as "key: old -> new"; sections missing from `old` (older checkpoints) count as unchanged."""
    out = []
    for k, v in new.items():
        if k not in old:
            continue
        if isinstance(v, dict) and isinstance(old[k], dict):
            out += config_changes(old[k], v, f"{prefix}{k}.")
        elif old[k] != v:
            out.append(f"{prefix}{k}: {old[k]!r} -> {v!r}")
    return out


def run_training(cfg: ExperimentConfig, out: Path, resume: bool = False, device: str = "auto",
                 init: str | None = None, progress: bool = True, trainer: Trainer | None = None,
                 max_steps: int | None = None, overwrite: bool = False) -> Path:
    """Train (resuming if asked), then write `<out>/model.pt`: weights, config, normalisation and
    the global mm-per-unit constant, without optimiser state. `trainer` may be a prepared
    (e.g. distributed) Trainer; only its rank 0 prints and writes.

    A folder that already holds a run is continued only with `resume` and replaced only with
    `overwrite`; otherwise InputError (a second run would silently clobber the first)."""
    existing = [out / n for n in RUN_FILES if (out / n).exists()]
    if existing and not resume:
        if not overwrite:
            raise InputError(f"{out} already holds a run ({', '.join(p.name for p in existing)}); pass --resume to "
                             f"continue it or --overwrite to start again from scratch")
        if trainer is None or trainer.rank == 0:
            for p in existing:
                p.unlink()
    trainer = trainer or Trainer(cfg, out, device=pick_device(device), progress=progress)
    main = trainer.rank == 0
    say = (lambda msg: print(msg, flush=True)) if main else (lambda msg: None)
    if resume and trainer.resume():
        say(f"resumed from {trainer.last_path} at epoch {trainer.epoch}, step {trainer.step}")
        changed = config_changes(trainer.resumed_config or {}, cfg.to_dict())
        if changed:
            # Legitimate for a longer schedule or a stage added after the epochs (self_training);
            # anything else makes a run that no single config describes.
            say(f"note: resuming with settings that differ from the run's so far: {', '.join(changed)}")
    elif init:
        st = load_checkpoint(init)
        try:
            trainer.model.load_state_dict(with_new_heads(upgrade_state_dict(st["model"], cfg.loss.prior_mean), trainer.model))
        except RuntimeError as e:
            raise InputError(f"{init}: weights do not fit this config's model ({str(e).splitlines()[0][:160]})") from None
        trainer.reset_ema()
        trainer.init_source = str(init)
        say(f"initialised from {init}")
    procs = f", {trainer.world_size} processes x {cfg.train.batch_size // trainer.world_size} samples" if trainer.world_size > 1 else ""
    st = cfg.self_training
    steps = round_steps(st.steps, st.max_passes, len(trainer.frames), st.batch_size)
    stage = (f", then self-training ({st.rounds} x {steps} steps on one skeleton per video)" if st.steps else "")
    say(f"training '{cfg.name}' on {trainer.data.description}: {len(trainer.frames)} frames, "
        f"{trainer.iters} steps/epoch, {cfg.train.epochs} epochs{procs}{stage}, device {trainer.device}")
    trainer.fit(max_steps)
    final = out / "model.pt"
    if main:
        best = trainer.best if cfg.train.keep_best and trainer.best_path.exists() else None
        if best is not None:
            st = load_checkpoint(trainer.best_path)
            save_checkpoint(final, st)
            which = best_label(best, cfg.train.epochs)
            if which == "the initial weights":
                which += " (nothing trained here was more plausible)"
            say(f"kept the most plausible weights: {which}; bone-length variation {best['bone_cv_pct']:.1f} %, "
                f"left/right asymmetry {best['asymmetry_pct']:.1f} %")
        else:
            st = trainer.model_file_state()
            save_checkpoint(final, st)
        say(f"done: {trainer.step} steps in {trainer.seconds / 60:.1f} min; model {final} "
            f"(global scale: {st['mm_per_unit']:.1f} mm per unit)")
    return final
