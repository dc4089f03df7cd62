"""A 2D keypoint adapter: maps one detector's keypoints to Human3.6M's joint definitions.

Beyond the paper. A 2D detector trained on another dataset marks joints where *its* annotators
did: Stacked Hourglass (MPII) puts the shoulders wider, the head top higher and has no nose, and
its ankles and wrists sit 16-23 px (mean, root-relative, 1000 px frames) from Human3.6M's markers.
A lifter trained without 3D cannot see that offset, and no choice of depths removes it. The
usual remedy is to fine-tune the detector on the dataset's 2D annotations (the literature's
"SH FT" and CPN detections); this is that step for a detector whose images we do not have: a
small MLP, fitted on the training subjects' pairs (detected 2D, annotated 2D), that moves each
detected joint. It sees 2D only (no depth, no 3D) and only training subjects.

Frame: per frame, the detections are root-centred and divided by their RMS joint distance to the
root, so the adapter is blind to resolution, camera distance and position in the image; its
output is a correction in those units, mapped back to pixels. Input and output (T, 17, 2) pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from ..progress import progress_bar

from ..data.skeleton import NUM_JOINTS, ROOT
from ..errors import InputError

FORMAT = "ambipose-keypoint-adapter-v1"


class KeypointAdapter(nn.Module):
    """Residual correction of per-frame normalised 2D: two hidden layers (ReLU, dropout)."""

    def __init__(self, width: int = 1024, dropout: float = 0.2):
        super().__init__()
        self.width, self.dropout = width, dropout
        d = 2 * NUM_JOINTS
        self.net = nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 17, 2) per-frame normalised (root at 0, RMS root distance 1) -> the same, adapted."""
        return x + self.net(x.flatten(1)).view_as(x)

    @torch.inference_mode()
    def adapt(self, poses_2d: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Pixels (T, 17, 2) -> pixels (T, 17, 2) with Human3.6M's joint definitions."""
        self.eval()
        x, root, scale = _normalise(np.asarray(poses_2d, dtype=np.float64))
        out = np.empty_like(x)
        for i in range(0, len(x), batch_size):
            out[i : i + batch_size] = self(torch.from_numpy(x[i : i + batch_size].astype(np.float32))).double().numpy()
        return (out * scale + root).astype(np.asarray(poses_2d).dtype)

    def to_state(self, meta: dict) -> dict:
        """A plain dict (tensors and scalars) for checkpoints; `meta` records what it was fitted on."""
        return {"format": FORMAT, "width": self.width, "dropout": self.dropout, "meta": dict(meta),
                "weights": {k: v.detach().clone() for k, v in self.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, source: str = "<memory>") -> "KeypointAdapter":
        try:
            if state.get("format") != FORMAT or not isinstance(state.get("meta", {}), dict):
                raise KeyError("format")
            adapter = cls(int(state["width"]), float(state["dropout"]))
            adapter.load_state_dict(state["weights"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            raise InputError(f"{source}: unreadable 2D keypoint adapter ({str(e).splitlines()[0][:160] if str(e) else type(e).__name__})") from None
        return adapter.eval()


def stored_adapter(checkpoint: str | Path) -> dict:
    """The `adapter_2d` entry of a checkpoint (one trained with data.adapt_2d); InputError if it has none."""
    from .checkpoint import load_checkpoint

    entry = load_checkpoint(checkpoint).get("adapter_2d")
    if entry is None:
        raise InputError(f"{checkpoint}: no 2D keypoint adapter in this checkpoint (one trained with data.adapt_2d has one)")
    return entry


def _normalise(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, 17, 2) pixels -> (per-frame normalised, root (T, 1, 2), scale (T, 1, 1))."""
    root = poses[:, ROOT : ROOT + 1]
    c = poses - root
    scale = np.sqrt((c**2).sum(-1).mean(-1))[:, None, None]
    if not np.isfinite(c).all() or (scale <= 0).any():
        raise InputError("2D poses for the keypoint adapter must be finite, with joints apart from the root")
    return c / scale, root, scale


def root_relative_error_px(poses_2d: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-joint distance (T, 17) in pixels between two root-centred (T, 17, 2) pixel poses."""
    a = poses_2d - poses_2d[:, ROOT : ROOT + 1]
    b = reference - reference[:, ROOT : ROOT + 1]
    return np.linalg.norm(a - b, axis=-1)


def fit_keypoint_adapter(detected: Sequence[np.ndarray], annotated: Sequence[np.ndarray], *, epochs: int = 3,
                         width: int = 1024, lr: float = 1e-3, batch_size: int = 512, seed: int = 0,
                         progress: bool = True) -> tuple[KeypointAdapter, dict]:
    """Fit an adapter on paired videos: `detected[i]` and `annotated[i]` are (T_i, 17, 2) pixels
    of the same frames. Loss: mean per-joint Euclidean distance in normalised units (robust to the
    occasional wrong detection). Deterministic for a seed (its own RNG; the global one untouched).
    Returns the adapter (eval mode) and a record: frames, epochs, and the root-relative pixel error
    before and after on the fitting pairs."""
    if len(detected) != len(annotated) or not detected:
        raise InputError("the keypoint adapter needs the same, non-zero number of detected and annotated videos")
    det = np.concatenate([np.asarray(d, dtype=np.float64) for d in detected])
    ann = np.concatenate([np.asarray(a, dtype=np.float64) for a in annotated])
    if det.shape != ann.shape or det.shape[1:] != (NUM_JOINTS, 2):
        raise InputError(f"detected and annotated 2D must both be (T, 17, 2), got {det.shape} and {ann.shape}")
    x, root, scale = _normalise(det)
    y = (ann - ann[:, ROOT : ROOT + 1]) / scale  # the annotation in the detection's frame
    xs = torch.from_numpy(x.astype(np.float32))
    ys = torch.from_numpy(y.astype(np.float32))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = KeypointAdapter(width)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(adapter.parameters(), lr)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.8)
        n = len(xs)
        steps = epochs * ((n + batch_size - 1) // batch_size)
        bar = progress_bar(total=steps, enabled=progress, desc="fitting the 2D keypoint adapter", unit="step")
        adapter.train()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, batch_size):
                b = perm[i : i + batch_size]
                loss = (adapter(xs[b]) - ys[b]).norm(dim=-1).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                bar.update()
            sched.step()
        bar.close()
    adapter.eval()
    after = adapter.adapt(det)
    record = {"frames": int(n), "epochs": int(epochs), "seed": int(seed),
              "px_error_before": float(root_relative_error_px(det, ann).mean()),
              "px_error_after": float(root_relative_error_px(after, ann).mean())}
    return adapter, record
