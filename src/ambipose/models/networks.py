"""Residual MLPs after Martinez et al. (2017): Linear-BN-ReLU-Dropout blocks with skip connections.

Poses are flattened joint-major: (B, 17, 2) -> (B, 34).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..data.skeleton import BONE_CHILD, NUM_JOINTS, ROOT, bone_vectors

if TYPE_CHECKING:
    from ..config import ModelConfig


class Dropout(nn.Dropout):
    """nn.Dropout with a cheaper mask on CPU. Same distribution, identity in eval mode, no
    parameters: checkpoints are unchanged.

    torch's Bernoulli sampler and a `rand < keep` mask both spend one draw of the Mersenne
    Twister per element, and a bool mask is slow to turn into floats on CPU. Here each draw, a
    non-negative int32, gives 4 mask elements: its 3 low bytes are uniform on 0..255, its top
    byte on 0..127 and is doubled (uniform on the even numbers 0..254). An element is kept when
    its byte is at least 256 p, with probability exactly 1 - p whenever 256 p is even, i.e. p is
    a multiple of 1/128 (0.25, the default, is); other p fall back to `rand < keep`. The 0/1
    mask comes from vectorised float ops (clamp(byte - 256 p + 1, 0, 1)). On a (512, 512)
    activation the mask step fell from 870 to about 230 us (docs/performance.md).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep, cut = 1.0 - self.p, self.p * 256.0
        if cut % 2.0 or x.numel() % 4:
            return x * (torch.rand_like(x) < keep).to(x.dtype) * (1.0 / keep)
        words = torch.empty(x.numel() // 4, dtype=torch.int32, device=x.device).random_()  # 0 .. 2^31 - 1
        b = words.view(torch.uint8).view(-1, 4).to(x.dtype)  # (numel / 4, 4): the bytes of each word
        b[:, _TOP_BYTE].mul_(2.0)
        mask = b.sub_(cut - 1.0).clamp_(0.0, 1.0).mul_(1.0 / keep)  # 0 or 1 / keep
        return x * mask.view(x.shape)


_TOP_BYTE = 3 if sys.byteorder == "little" else 0  # the most significant byte of an int32


def _layer(n_in: int, n_out: int, dropout: float, norm: bool) -> list[nn.Module]:
    """Linear(-BN)-ReLU-Dropout. Without BN a sample's output depends on that sample alone."""
    return [nn.Linear(n_in, n_out), *([nn.BatchNorm1d(n_out)] if norm else []), nn.ReLU(inplace=True), Dropout(dropout)]


class ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float, norm: bool = True):
        super().__init__()
        self.net = nn.Sequential(*_layer(width, width, dropout, norm), *_layer(width, width, dropout, norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ResidualMLP(nn.Module):
    """in -> Linear(width)(-BN)-ReLU-Dropout -> blocks x ResidualBlock -> Linear(out).

    `compute_dtype` (not saved with the weights; None = fp32): run the layers under autocast to
    this dtype (the trainer's `train.precision: bf16`). The output is always fp32, so whatever
    the caller does with it (geometry, losses) stays in fp32.
    """

    def __init__(self, n_in: int, n_out: int, width: int = 1024, blocks: int = 5, dropout: float = 0.25,
                 norm: bool = True):
        super().__init__()
        self.stem = nn.Sequential(*_layer(n_in, width, dropout, norm))
        self.blocks = nn.Sequential(*[ResidualBlock(width, dropout, norm) for _ in range(blocks)])
        self.head = nn.Linear(width, n_out)
        self.compute_dtype: torch.dtype | None = None

    def _compute(self, x: torch.Tensor) -> AbstractContextManager:
        """Autocast to `compute_dtype`, or nothing in fp32."""
        return nullcontext() if self.compute_dtype is None else torch.autocast(x.device.type, dtype=self.compute_dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self._compute(x):
            y = self.head(self.blocks(self.stem(x)))
        return y.float()  # the same tensor when it is fp32 already

    def forward_heads(self, x: torch.Tensor, extra: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """(head(h), extra(h)) on the same features h of the last block, both fp32."""
        with self._compute(x):
            h = self.blocks(self.stem(x))
            y, z = self.head(h), extra(h)
        return y.float(), z.float()


def set_compute_dtype(module: nn.Module, dtype: torch.dtype | None) -> None:
    """Set `ResidualMLP.compute_dtype` on every MLP inside `module` (None = fp32)."""
    for m in module.modules():
        if isinstance(m, ResidualMLP):
            m.compute_dtype = dtype


@contextmanager
def full_precision(module: nn.Module) -> Iterator[None]:
    """Run `module`'s MLPs in fp32 inside the block, then restore their compute dtypes."""
    mlps = [m for m in module.modules() if isinstance(m, ResidualMLP)]
    saved = [m.compute_dtype for m in mlps]
    try:
        for m in mlps:
            m.compute_dtype = None
        yield
    finally:
        for m, d in zip(mlps, saved):
            m.compute_dtype = d


def bound_offsets(raw: torch.Tensor, depth: float) -> torch.Tensor:
    """Soft bound |d| < D - 1 (identity near 0). Unbounded offsets let one early Adam step throw
    joints behind the camera after a random rotation, and the projection then explodes."""
    m = depth - 1.0
    return m * torch.tanh(raw / m)


def lift_to_3d(poses_2d: torch.Tensor, lifter_out: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
               depth: float) -> torch.Tensor:
    """Eq. (2): Z_i = max(1, D + d_i); 3D = (x_i Z_i, y_i Z_i, Z_i).

    poses_2d: (B, 17, 2) normalised; lifter_out: the lifter's output, either depth offsets d
    (B, 17) (bounded by `bound_offsets`) or, from a lifter with the 2D correction, the pair
    (d (B, 17), (dx, dy) (B, 17, 2)): each joint then sits on the ray of the corrected point
    (x + dx, y + dy), off the input's ray. -> (B, 17, 3) in the model's unit (a canonical person
    has head-root length about 1), camera frame, root near depth D.
    """
    if isinstance(lifter_out, tuple):
        lifter_out, dxy = lifter_out
        poses_2d = poses_2d + dxy
    z = torch.clamp(depth + bound_offsets(lifter_out, depth), min=1.0).unsqueeze(-1)
    return torch.cat([poses_2d * z, z], dim=-1)


class Lifter(nn.Module):
    """Phi_G: normalised 2D pose (B, 17, 2) -> per-joint depth offsets d (B, 17).

    `correct_2d=True` (beyond the paper) adds a second head on the same features, a per-joint
    2D correction (dx, dy) in normalised units, and the output becomes the pair (d (B, 17),
    (dx, dy) (B, 17, 2)) (`lift_to_3d` puts each joint on the corrected point's ray). The head
    starts at exactly zero and is trained only by the self-training stage, whose skeleton-fitted
    labels may leave the detected rays (`self_training.lateral_weight`): the trainer freezes it
    during the adversarial epochs, so until the stage the model is the depth-only lifter. The
    output is a pair, not one stacked tensor, so that d's gradient reaches the depth head in the
    same memory layout as without the head, and those epochs repeat a depth-only run bit for bit.
    """

    def __init__(self, width: int = 1024, blocks: int = 5, dropout: float = 0.25, correct_2d: bool = False):
        super().__init__()
        self.mlp = ResidualMLP(NUM_JOINTS * 2, NUM_JOINTS, width, blocks, dropout)
        self.xy: nn.Linear | None = None
        if correct_2d:
            # Built without drawing from the global generator, so every other layer of the model
            # starts as it would without the head, and the main epochs (head frozen at zero)
            # repeat the depth-only run bit for bit.
            with torch.random.fork_rng(devices=[]):
                self.xy = nn.Linear(width, NUM_JOINTS * 2)
            nn.init.zeros_(self.xy.weight)
            nn.init.zeros_(self.xy.bias)

    def forward(self, poses_2d: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.xy is None:
            return self.mlp(poses_2d.flatten(1))
        d, dxy = self.mlp.forward_heads(poses_2d.flatten(1), self.xy)  # (B, 17), (B, 34)
        dxy = dxy.view(-1, NUM_JOINTS, 2)
        # Relative to the root's: the root stays on the optical axis, as for every root-centred
        # input (the skeleton fit and `LiftResult.root_depth` rely on it).
        return d, dxy - dxy[:, ROOT : ROOT + 1]


_KCS_ROWS, _KCS_COLS = torch.triu_indices(len(BONE_CHILD), len(BONE_CHILD))
N_KCS = len(_KCS_ROWS)  # 136 = 16 * 17 / 2


def kcs_features(poses: torch.Tensor) -> torch.Tensor:
    """Kinematic chain space (Wandt et al.): bone vectors b_k = p_child - p_parent (B, 16, C) of
    poses (B, 17, C) and the upper triangle (with the diagonal) of their Gram matrix b b^T,
    flattened to (B, 136). Invariant to translation and to rotations of the C-dim space; units
    are the poses' units squared."""
    bones = bone_vectors(poses)
    gram = bones @ bones.transpose(1, 2)  # (B, 16, 16)
    return gram[:, _KCS_ROWS, _KCS_COLS]


class Discriminator(nn.Module):
    """Phi_D: 2D pose (B, 17, 2) -> realism score (B,) for the LSGAN loss.

    No BatchNorm: with it the discriminator separates an all-real from an all-fake batch by the
    batch statistics and scores no single pose (a pose's score changed from 0.94 to -0.05 with the
    batch around it). Each pose is scored on its own, as in the authors' code (dropout 0.25,
    weights N(0, 0.02)).

    `kcs=True` (beyond the paper) also feeds it the 2D kinematic chain space of Wandt et al.
    (RepNet, 2019): the 136 distinct dot products of the 16 bone vectors (`kcs_features`), i.e.
    every squared 2D bone length and every pair's cosine times their lengths. These are quadratic
    in the joints, so a ReLU MLP on the joints alone can only approximate them piecewise; with
    them it compares foreshortening across limbs (left vs right, upper vs lower) directly.
    """

    def __init__(self, width: int = 1024, blocks: int = 2, dropout: float = 0.25, kcs: bool = False,
                 depth: float = 10.0):
        super().__init__()
        self.kcs, self.depth = kcs, depth
        n_in = NUM_JOINTS * 2 + (N_KCS if kcs else 0)
        self.mlp = ResidualMLP(n_in, 1, width, blocks, dropout, norm=False)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> Discriminator:
        """The discriminator a model config describes (training and the bench's FLOP count)."""
        return cls(cfg.width, cfg.disc_blocks, cfg.disc_dropout, cfg.disc_kcs, cfg.depth)

    def forward(self, poses_2d: torch.Tensor) -> torch.Tensor:
        x = poses_2d.flatten(1)
        if self.kcs:
            x = torch.cat([x, kcs_features(poses_2d * self.depth)], dim=1)
        return self.mlp(x).squeeze(-1)


class ScaleModule(nn.Module):
    """Phi_S: normalised 2D pose (B, 17, 2) -> positive scale s (B,).

    Parametrised as s = init * exp(r) with r from a 1-block residual MLP, so s > 0 and the
    untrained module starts near `init` (the prior mean). `log_init` is a buffer: it is saved with
    the weights, so a checkpoint's output never depends on the loss section of a config.
    """

    def __init__(self, width: int = 1024, blocks: int = 1, dropout: float = 0.25, init: float = 1.0):
        super().__init__()
        self.mlp = ResidualMLP(NUM_JOINTS * 2, 1, width, blocks, dropout)
        nn.init.zeros_(self.mlp.head.weight)
        nn.init.zeros_(self.mlp.head.bias)
        self.register_buffer("log_init", torch.tensor(float(init)).log())

    def forward(self, poses_2d: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.mlp(poses_2d.flatten(1)).squeeze(-1) + self.log_init)
