"""Frames of many sequences held as one tensor, and batches of temporal pairs (t, t+k, t+l)
taken inside one sequence and camera (never across a cut between two videos)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError


@dataclass
class PoseFrames:
    """Training frames.

    poses_2d: (N, 17, 2) normalised root-centred 2D; poses_3d: (N, 17, 3) camera-frame mm
    root-centred or None; sref: (N,) reference scale S_2D^ref or None; seq_index: (N,) int
    sequence id of each frame (frames of one sequence are contiguous and in time order).
    """

    poses_2d: torch.Tensor
    seq_index: torch.Tensor
    poses_3d: torch.Tensor | None = None
    sref: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.poses_2d)

    def to(self, device: torch.device | str) -> "PoseFrames":
        mv = lambda t: None if t is None else t.to(device)  # noqa: E731
        return PoseFrames(mv(self.poses_2d), mv(self.seq_index), mv(self.poses_3d), mv(self.sref))

    @staticmethod
    def from_sequences(poses_2d: list[np.ndarray], poses_3d: list[np.ndarray] | None = None,
                       sref: list[np.ndarray] | None = None) -> "PoseFrames":
        if not poses_2d:
            raise InputError("no training sequences")
        seq_index = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(poses_2d)])
        cat = lambda xs: None if xs is None else torch.from_numpy(np.concatenate(xs).astype(np.float32))  # noqa: E731
        return PoseFrames(cat(poses_2d), torch.from_numpy(seq_index), cat(poses_3d), cat(sref))


class PairSampler:
    """Random batches of frame indices t with t + max_offset inside the same sequence."""

    def __init__(self, frames: PoseFrames, max_offset: int):
        seq = frames.seq_index.cpu().numpy()
        n = len(seq)
        if n <= max_offset:
            raise InputError(f"only {n} frames: fewer than the temporal offset {max_offset} + 1")
        ok = seq[: n - max_offset] == seq[max_offset:]
        self.starts = torch.from_numpy(np.nonzero(ok)[0])
        if len(self.starts) == 0:
            raise InputError(f"every sequence is shorter than the temporal offset {max_offset} + 1 frames")

    def __len__(self) -> int:
        return len(self.starts)

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """(batch,) start indices, uniformly over valid starts (with replacement)."""
        pick = torch.randint(len(self.starts), (batch,), generator=generator)
        return self.starts[pick]
