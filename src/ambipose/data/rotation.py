"""Random rotations for the self-supervised view synthesis (torch, any device).

Convention: rotations act on column vectors in the camera frame (X right, Y down, Z forward).
Angles in radians.

The new views turn the person about the *world's* vertical axis expressed in the camera frame
(`up`, per sample), then jitter elevation (about the camera's X axis) and roll (about its Z axis).
Why not the camera's Y axis: Human3.6M cameras look down by 10-16 degrees. Turning about the
camera's Y axis with symmetric angles gives the depth-mirrored pose (Z -> -Z) exactly the same
distribution of synthetic views as the true pose, so nothing in the losses tells the two apart
and a run picks a branch by chance. About the tilted world axis the mirrored pose yields views
from below the horizon that real cameras never show, which the discriminator can reject.
"""

from __future__ import annotations

import math

import torch


def tilted_up(tilt_deg: float) -> tuple[float, float, float]:
    """Unit vector of the world's vertical axis in the frame of a camera looking down by
    `tilt_deg` degrees (positive = looking down, as Human3.6M's 10-16 degrees)."""
    t = math.radians(tilt_deg)
    return (0.0, -math.cos(t), -math.sin(t))


def axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues: unit axes (B, 3) and angles (B,) -> rotation matrices (B, 3, 3)."""
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).view(-1, 3, 3)
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device).expand_as(k)
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    return eye + s * k + (1 - c) * (k @ k)


def rotation_matrix(azimuth: torch.Tensor, elevation: torch.Tensor, roll: torch.Tensor,
                    up: torch.Tensor | None = None) -> torch.Tensor:
    """Angles (B,) -> rotation matrices (B, 3, 3) = R_roll @ R_elev @ R_azim.

    R_azim turns by `azimuth` about `up` (B, 3) (default: the camera's Y axis), R_elev about the
    camera's X axis, R_roll about its Z axis.
    """
    if up is None:
        up = torch.zeros(len(azimuth), 3, dtype=azimuth.dtype, device=azimuth.device)
        up[:, 1] = 1.0
    x_axis = torch.zeros_like(up)
    x_axis[:, 0] = 1.0
    z_axis = torch.zeros_like(up)
    z_axis[:, 2] = 1.0
    return axis_angle(z_axis, roll) @ axis_angle(x_axis, elevation) @ axis_angle(up, azimuth)


def random_rotation(
    batch: int,
    azimuth_range: float = math.pi,
    elevation_range: float = math.pi / 9,
    roll_range: float = 0.0,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    up: torch.Tensor | None = None,
) -> torch.Tensor:
    """Uniform random angles in [-range, range] for each axis -> (B, 3, 3) rotations.

    up: (B, 3) world vertical in each sample's camera frame (None: the camera's Y axis)."""

    def draw(rng: float) -> torch.Tensor:
        u = torch.rand(batch, generator=generator, dtype=dtype) * 2 - 1
        return (u * rng).to(device)

    if up is not None:
        up = up.to(device=device, dtype=dtype)
    return rotation_matrix(draw(azimuth_range), draw(elevation_range), draw(roll_range), up)


def invert(rotations: torch.Tensor) -> torch.Tensor:
    """Inverse of rotation matrices (..., 3, 3): the transpose."""
    return rotations.transpose(-1, -2)


def rotate(points: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Rotate points (B, J, 3) by (B, 3, 3): each row vector p -> R p."""
    return points @ rotations.transpose(-1, -2)
