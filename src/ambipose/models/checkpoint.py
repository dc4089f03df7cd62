"""Checkpoints: plain dicts of tensors and Python scalars, written atomically, read with
`torch.load(weights_only=True)` so a checkpoint (untrusted input) cannot run code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..io import atomic_path

FORMAT = "ambipose-checkpoint-v1"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    state = {"format": FORMAT, **state}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely. Raises InputError naming the file on any problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        m = re.search(r"GLOBAL ([\w.]+)", text)
        what = f"a pickled {m.group(1)}" if m else "pickled Python objects"
        raise InputError(f"{path}: not an ambipose checkpoint: it holds {what}, which a safe load refuses to "
                         f"run (ambipose checkpoints hold only tensors and plain values; torch.save(model) "
                         f"files are not supported)") from None
    except Exception as e:  # noqa: BLE001 - any parse failure of an untrusted file is a bad file
        raise InputError(f"{path}: not a readable checkpoint ({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{path}: not an ambipose checkpoint (format tag missing or unknown)")
    for key in ("config", "model", "normalisation"):
        if key not in state:
            raise InputError(f"{path}: checkpoint lacks '{key}'")
    return state


def compact_checkpoint(src: str | Path, dst: str | Path, provenance: dict[str, Any] | None = None) -> Path:
    """Inference-only copy of a checkpoint: weights in fp16 (integer buffers kept), config,
    normalisation, global scale and a free-form `provenance` record; no optimiser state."""
    st = load_checkpoint(src)
    model = {k: (v.half() if v.is_floating_point() else v) for k, v in st["model"].items()}
    keep = {k: st[k] for k in ("config", "normalisation", "mm_per_unit", "epoch", "step", "seconds", "adapter_2d") if k in st}
    save_checkpoint(dst, {**keep, "model": model, "provenance": provenance or {}})
    return Path(dst)
