"""Cameras: world <-> camera transforms, Human3.6M distorted projection, unit-focal projection.

Frames and units
- world frame: Human3.6M motion-capture frame, Z up, metres (the shared npz files) or mm.
- camera frame: X right, Y down, Z forward (optical axis), same unit as the world input.
- pixels: image coordinates, origin top-left.
- normalised image coordinates: X/Z, Y/Z (unit focal length, principal point at 0).

Distortion model: 3d-pose-baseline's `project_point_radial` (radial k1..k3, tangential p1, p2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Camera:
    """One calibrated Human3.6M camera.

    R: (3, 3) world -> camera rotation; T: (3,) camera centre in world millimetres;
    f, c: (2,) focal length and principal point in pixels; k: (3,) radial; p: (2,) tangential.
    """

    id: str
    R: np.ndarray
    T: np.ndarray
    f: np.ndarray
    c: np.ndarray
    k: np.ndarray
    p: np.ndarray
    res_w: int
    res_h: int

    def world_to_camera(self, x_world: np.ndarray, unit_scale: float = 1000.0) -> np.ndarray:
        """World points (..., 3) -> camera frame (..., 3), in the input's unit.

        `unit_scale` is millimetres per input unit (1000 for metres, 1 for mm); T is stored in mm.
        """
        return (x_world - self.T / unit_scale) @ self.R.T

    def camera_to_world(self, x_cam: np.ndarray, unit_scale: float = 1000.0) -> np.ndarray:
        """Inverse of `world_to_camera`: camera frame (..., 3) -> world (..., 3)."""
        return x_cam @ self.R + self.T / unit_scale

    def project(self, x_cam: np.ndarray, distort: bool = True) -> np.ndarray:
        """Camera-frame points (..., 3) -> pixels (..., 2), with lens distortion unless disabled."""
        xy = x_cam[..., :2] / x_cam[..., 2:3]
        if distort:
            xy = distort_normalised(xy, self.k, self.p)
        return xy * self.f + self.c

    def pixels_to_normalised(self, uv: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) -> normalised image coordinates (..., 2), ignoring distortion."""
        return (uv - self.c) / self.f

    def normalised_to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Normalised image coordinates (..., 2) -> pixels (..., 2), ignoring distortion."""
        return xy * self.f + self.c


def distort_normalised(xy: np.ndarray, k: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Apply radial (k1, k2, k3) and tangential (p1, p2) distortion to normalised coordinates (..., 2)."""
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
    tan = p[0] * y + p[1] * x
    scale = (radial + tan)[..., None]
    return xy * scale + np.stack([p[1] * r2, p[0] * r2], axis=-1)


def project_unit_focal(x_cam: np.ndarray) -> np.ndarray:
    """Perspective projection with unit focal length: (..., 3) -> (..., 2) = (X/Z, Y/Z)."""
    return x_cam[..., :2] / x_cam[..., 2:3]


def unproject_unit_focal(xy: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Inverse of `project_unit_focal` given per-point depth: (..., 2), (...) -> (..., 3)."""
    depth = np.asarray(depth)[..., None]
    return np.concatenate([xy * depth, depth], axis=-1)


def load_h36m_cameras(path: str | Path) -> dict[str, dict[str, Camera]]:
    """Read `h36m_cameras.json` -> {subject: {camera_id: Camera}}."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
        cams = raw["cameras"]
        out: dict[str, dict[str, Camera]] = {}
        for subject, lst in cams.items():
            out[subject] = {}
            for c in lst:
                out[subject][str(c["id"])] = Camera(
                    id=str(c["id"]),
                    R=np.asarray(c["R_world_to_cam"], dtype=np.float64),
                    T=np.asarray(c["T_cam_center_world_mm"], dtype=np.float64),
                    f=np.asarray(c["f"], dtype=np.float64),
                    c=np.asarray(c["c"], dtype=np.float64),
                    k=np.asarray(c["k_radial"], dtype=np.float64),
                    p=np.asarray(c["p_tangential"], dtype=np.float64),
                    res_w=int(c["res_w"]),
                    res_h=int(c["res_h"]),
                )
        return out
    except FileNotFoundError:
        raise InputError(f"{path}: camera file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: not a Human3.6M camera file (missing or bad field {e})") from None
