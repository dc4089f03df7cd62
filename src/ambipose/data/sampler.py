"""Frames of many sequences held as one tensor, and batches of temporal pairs taken inside one
sequence and camera (never across a cut between two videos): (t, t+k) for motion consistency
and (t, l) with l a random frame at least `min_gap` frames from t for bone consistency."""

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
    sequence id of each frame (frames of one sequence are contiguous and in time order);
    up: (N, 3) unit world-vertical axis in each frame's camera frame, or None (unknown).
    """

    poses_2d: torch.Tensor
    seq_index: torch.Tensor
    poses_3d: torch.Tensor | None = None
    sref: torch.Tensor | None = None
    up: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.poses_2d)

    def sequence_bounds(self) -> np.ndarray:
        """(S + 1,) frame indices: sequence i holds frames bounds[i] .. bounds[i + 1] - 1
        (sequences are contiguous)."""
        seq = self.seq_index.cpu().numpy()
        return np.r_[0, np.nonzero(seq[1:] != seq[:-1])[0] + 1, len(seq)]

    def to(self, device: torch.device | str) -> "PoseFrames":
        mv = lambda t: None if t is None else t.to(device)  # noqa: E731
        return PoseFrames(mv(self.poses_2d), mv(self.seq_index), mv(self.poses_3d), mv(self.sref), mv(self.up))

    @staticmethod
    def from_sequences(poses_2d: list[np.ndarray], poses_3d: list[np.ndarray] | None = None,
                       sref: list[np.ndarray] | None = None, up: list[np.ndarray] | None = None) -> "PoseFrames":
        """`up`: one (3,) world-vertical vector per sequence (its camera's), or None."""
        if not poses_2d:
            raise InputError("no training sequences")
        seq_index = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(poses_2d)])
        cat = lambda xs: None if xs is None else torch.from_numpy(np.concatenate(xs).astype(np.float32))  # noqa: E731
        ups = None if up is None else [np.repeat(np.asarray(u, np.float32)[None], len(p), 0) for u, p in zip(up, poses_2d)]
        return PoseFrames(cat(poses_2d), torch.from_numpy(seq_index), cat(poses_3d), cat(sref), cat(ups))


class PairSampler:
    """Random batches of frame indices t with t + max_offset inside the same sequence, and for
    each t a distant frame of the same sequence (`far`)."""

    def __init__(self, frames: PoseFrames, max_offset: int):
        seq = frames.seq_index.cpu().numpy()
        n = len(seq)
        if n <= max_offset:
            raise InputError(f"only {n} frames: fewer than the temporal offset {max_offset} + 1")
        ok = seq[: n - max_offset] == seq[max_offset:]
        self.starts = torch.from_numpy(np.nonzero(ok)[0])
        if len(self.starts) == 0:
            raise InputError(f"every sequence is shorter than the temporal offset {max_offset} + 1 frames")
        # First and one-past-last frame of each frame's sequence.
        bounds = frames.sequence_bounds()
        first, end = bounds[:-1], bounds[1:]
        lengths = end - first
        self.seq_first = torch.from_numpy(np.repeat(first, lengths))
        self.seq_end = torch.from_numpy(np.repeat(end, lengths))

    def far(self, t: torch.Tensor, min_gap: int, generator: torch.Generator) -> torch.Tensor:
        """For frame indices t (B,), a uniformly random frame l of the same sequence with
        |l - t| >= min_gap; where the sequence has none, its frame farthest from t."""
        first, end = self.seq_first[t], self.seq_end[t]
        n_before = (t - min_gap - first + 1).clamp_min(0)  # candidates first .. t - min_gap
        n_after = (end - t - min_gap).clamp_min(0)  # candidates t + min_gap .. end - 1
        total = n_before + n_after
        u = (torch.rand(len(t), generator=generator) * total.clamp_min(1)).long().clamp_max((total - 1).clamp_min(0))
        l = torch.where(u < n_before, first + u, t + min_gap + (u - n_before))
        farthest = torch.where(t - first >= end - 1 - t, first, end - 1)
        return torch.where(total > 0, l, farthest)

    def __len__(self) -> int:
        return len(self.starts)

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """(batch,) start indices, uniformly over valid starts (with replacement)."""
        pick = torch.randint(len(self.starts), (batch,), generator=generator)
        return self.starts[pick]
