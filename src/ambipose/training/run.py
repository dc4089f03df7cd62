"""One training run end to end: train, then calibrate and write the final model file."""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import ExperimentConfig
from ..errors import InputError
from .checkpoint import load_checkpoint, save_checkpoint
from .loop import Trainer


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (this torch build or machine has none)")
    return device


def run_training(cfg: ExperimentConfig, out: Path, resume: bool = False, device: str = "auto",
                 init: str | None = None, progress: bool = True) -> Path:
    """Train (resuming if asked), then write `<out>/model.pt`: weights, config, normalisation and
    the global mm-per-unit constant, without optimiser state."""
    trainer = Trainer(cfg, out, device=pick_device(device), progress=progress)
    resumed = resume and trainer.resume()
    if resumed:
        print(f"resumed from {trainer.last_path} at epoch {trainer.epoch}, step {trainer.step}")
    elif init:
        st = load_checkpoint(init)
        try:
            trainer.model.load_state_dict({k: v.float() for k, v in st["model"].items()})
        except RuntimeError as e:
            raise InputError(f"{init}: weights do not fit this config's model ({str(e).splitlines()[0][:160]})") from None
        print(f"initialised from {init}")
    print(f"training '{cfg.name}' on {trainer.data.description}: {len(trainer.frames)} frames, "
          f"{trainer.iters} steps/epoch, {cfg.train.epochs} epochs, device {trainer.device}")
    trainer.fit()
    final = out / "model.pt"
    st = trainer.state()
    save_checkpoint(final, {k: st[k] for k in ("config", "normalisation", "mm_per_unit", "model", "epoch", "step", "seconds")})
    print(f"done: {trainer.step} steps in {trainer.seconds / 60:.1f} min; model {final} "
          f"(global scale: {st['mm_per_unit']:.1f} mm per unit)")
    return final
