"""Random rotations for the self-supervised view synthesis (torch, any device).

Convention: rotations act on column vectors in the camera frame (X right, Y down, Z forward).
azimuth = rotation about the camera's vertical (Y) axis, elevation = about X, roll = about Z.
Angles in radians.
"""

from __future__ import annotations

import math

import torch


def rotation_matrix(azimuth: torch.Tensor, elevation: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Angles (B,) -> rotation matrices (B, 3, 3) = R_roll @ R_elev @ R_azim."""
    ca, sa = torch.cos(azimuth), torch.sin(azimuth)
    ce, se = torch.cos(elevation), torch.sin(elevation)
    cr, sr = torch.cos(roll), torch.sin(roll)
    one, zero = torch.ones_like(ca), torch.zeros_like(ca)
    r_az = torch.stack([ca, zero, sa, zero, one, zero, -sa, zero, ca], -1).view(-1, 3, 3)
    r_el = torch.stack([one, zero, zero, zero, ce, -se, zero, se, ce], -1).view(-1, 3, 3)
    r_ro = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).view(-1, 3, 3)
    return r_ro @ r_el @ r_az


def random_rotation(
    batch: int,
    azimuth_range: float = math.pi,
    elevation_range: float = math.pi / 9,
    roll_range: float = 0.0,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Uniform random angles in [-range, range] for each axis -> (B, 3, 3) rotations."""

    def draw(rng: float) -> torch.Tensor:
        u = torch.rand(batch, generator=generator, dtype=dtype) * 2 - 1
        return (u * rng).to(device)

    return rotation_matrix(draw(azimuth_range), draw(elevation_range), draw(roll_range))


def invert(rotations: torch.Tensor) -> torch.Tensor:
    """Inverse of rotation matrices (..., 3, 3): the transpose."""
    return rotations.transpose(-1, -2)


def rotate(points: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Rotate points (B, J, 3) by (B, 3, 3): each row vector p -> R p."""
    return points @ rotations.transpose(-1, -2)
