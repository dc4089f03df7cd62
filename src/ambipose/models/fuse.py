"""BatchNorm folding: an eval-only copy of a model with every Linear -> BatchNorm1d pair folded
into one Linear and every Dropout removed. Used by inference (`PoseLifter`), export and the
benchmark; see docs/performance.md."""

from __future__ import annotations

import copy

import torch
from torch import nn


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """An eval-only copy of `model` with every Linear -> BatchNorm1d pair folded into one Linear
    and every Dropout removed (both are fixed affine maps / identities in eval mode).

    Equivalent to `model.eval()` up to float rounding (about 1e-6 relative), with fewer kernels
    per layer. The copy has no BatchNorm left, so it must not be trained: its parameters are
    frozen (`requires_grad=False`). The input model is not changed.
    """
    fused = copy.deepcopy(model).eval()
    _fuse_children(fused)
    fused.requires_grad_(False)
    return fused


def _fuse_children(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            setattr(module, name, _fuse_sequential(child))
        else:
            _fuse_children(child)


def _fuse_sequential(seq: nn.Sequential) -> nn.Sequential:
    mods, out, i = list(seq), [], 0
    while i < len(mods):
        m = mods[i]
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        if isinstance(m, nn.Linear) and isinstance(nxt, nn.BatchNorm1d) and nxt.running_mean is not None:
            out.append(torch.nn.utils.fuse_linear_bn_eval(m, nxt))
            i += 2
            continue
        if not isinstance(m, nn.Dropout):  # identity in eval mode
            if isinstance(m, nn.Sequential):
                m = _fuse_sequential(m)
            else:
                _fuse_children(m)  # e.g. a ResidualBlock holding its own Sequential
            out.append(m)
        i += 1
    return nn.Sequential(*out)
