"""Motion capture that is not Human3.6M (`mocap_ood`) and its projection protocol.

The folder (`<data root>/mocap_ood/`, see its README) holds clips of 3D joints in the Human3.6M-17
order, **millimetres, world frame, Z up**, ground near z = 0, and `sequences.json` (per clip:
content, style, fps and the `val` / `test` split). Any folder with an npz of (T, 17, 3) arrays and
such a `sequences.json` reads the same way (`load_mocap(path=...)`).

Projection protocol (`project_clip`), so that figures are comparable:
- each clip is placed with its root trajectory's mean at the world origin (x, y); z is kept;
- `cameras="s9"` (the README's protocol): the four Human3.6M cameras of subject S9, pinhole
  (no lens distortion), every 2nd frame;
- `cameras="varied"` (harder, ours): eight look-at cameras around the person at other heights
  (0.5 to 2.8 m), distances (2.5 to 8.5 m from the clip's centre, plus the clip's own radius so
  that a walking person never comes closer than that) and focal lengths (600 to 2,200 px), 1920 x
  1080 images; `VARIED_CAMERAS` lists them. The person spans 300-500 px, as in S9's views,
  but is seen from below the hips to steeply from above, with weak to strong perspective.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..settings import data_root
from .camera import Camera, load_h36m_cameras
from .sequence import Sequence
from .skeleton import NUM_JOINTS, ROOT

MOCAP_FILE = "bandai1_h36m17_30fps_mm.npz"
SPLITS = ("val", "test", "all")
CAMERA_SETS = ("s9", "varied")
DEFAULT_STRIDE = 2  # the README's protocol: every 2nd frame

# (azimuth deg, camera height m, horizontal distance m, focal px): the `varied` setting. Heights,
# distances and focal lengths are permuted so that no two cameras share a combination.
VARIED_CAMERAS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.5, 2.5, 600.0),
    (45.0, 1.8, 6.0, 1500.0),
    (90.0, 2.8, 4.0, 1000.0),
    (135.0, 1.2, 8.5, 2200.0),
    (180.0, 2.8, 2.5, 700.0),
    (225.0, 0.5, 6.0, 1400.0),
    (270.0, 1.2, 4.0, 900.0),
    (315.0, 1.8, 8.5, 2000.0),
)
VARIED_AIM_HEIGHT_MM = 1000.0  # every varied camera looks at this height above the clip's centre
VARIED_RESOLUTION = (1920, 1080)


@dataclass
class MocapClip:
    """One clip: (T, 17, 3) mm, world frame Z up, and its labels."""

    name: str
    content: str
    style: str
    split: str
    fps: float
    poses_3d: np.ndarray


def mocap_root() -> Path:
    return data_root() / "mocap_ood"


def load_mocap(split: str = "test", path: str | Path | None = None) -> list[MocapClip]:
    """Clips of one split ("val", "test" or "all") from a mocap_ood-format folder (default
    `<data root>/mocap_ood`): the npz of (T, 17, 3) mm arrays and `sequences.json`."""
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, not {split!r}")
    folder = Path(path) if path is not None else mocap_root()
    if folder.is_file():
        folder, npz = folder.parent, folder
    else:
        npz = folder / MOCAP_FILE
        if not npz.exists():
            found = sorted(folder.glob("*.npz")) if folder.is_dir() else []
            if len(found) != 1:
                raise InputError(f"{folder}: no mocap file ({MOCAP_FILE} or a single .npz) found")
            npz = found[0]
    meta_path = folder / "sequences.json"
    try:
        meta = json.loads(meta_path.read_text())
        seqs = meta["sequences"]
        if not isinstance(seqs, dict):
            raise TypeError("'sequences' is not an object")
    except FileNotFoundError:
        raise InputError(f"{meta_path}: not found (a mocap folder needs sequences.json beside the npz)") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise InputError(f"{meta_path}: not a mocap sequence list ({e})") from None
    if str(meta.get("units", "mm")) != "mm":
        raise InputError(f"{meta_path}: units {meta.get('units')!r}; the mocap format is in millimetres")
    try:
        data = np.load(npz, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"{npz}: not a readable npz ({e})") from None
    clips = []
    with data:
        for name in sorted(seqs):
            info = seqs[name]
            if split != "all" and info.get("split") != split:
                continue
            if name not in data.files:
                raise InputError(f"{npz}: clip {name!r} of sequences.json is missing")
            arr = data[name]
            if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3) or len(arr) == 0:
                raise InputError(f"{npz}: {name!r} has shape {arr.shape}, expected (T, {NUM_JOINTS}, 3)")
            if not np.isfinite(arr).all():
                raise InputError(f"{npz}: {name!r} contains NaN or inf")
            clips.append(MocapClip(name, str(info.get("content", "unknown")), str(info.get("style", "unknown")),
                                   str(info.get("split", "unknown")), float(info.get("fps", 30.0)),
                                   arr.astype(np.float64)))
    if not clips:
        raise InputError(f"{meta_path}: no clips in split {split!r}")
    typical = np.median([np.linalg.norm(c.poses_3d[:, 10] - c.poses_3d[:, ROOT], axis=-1).mean() for c in clips])
    if not 200.0 < typical < 2000.0:
        raise InputError(f"{npz}: median head-root length {typical:.3g}; the mocap format is in millimetres")
    return clips


def centred(poses_3d: np.ndarray) -> np.ndarray:
    """The clip moved so that its root trajectory's mean is at the world origin in x and y."""
    out = np.array(poses_3d, dtype=np.float64)
    out[..., :2] -= out[:, ROOT, :2].mean(0)
    return out


def s9_cameras() -> list[Camera]:
    """The four Human3.6M cameras of S9 with their lens distortion removed (pinhole)."""
    cams = load_h36m_cameras(data_root() / "h36m" / "h36m_cameras.json")["S9"]
    zero = np.zeros
    return [Camera(c.id, c.R, c.T, c.f, c.c, zero(3), zero(2), c.res_w, c.res_h) for c in cams.values()]


def look_at_camera(cam_id: str, centre_mm: np.ndarray, target_mm: np.ndarray, focal: float,
                   resolution: tuple[int, int] = VARIED_RESOLUTION) -> Camera:
    """A pinhole camera at `centre_mm` (world, Z up) looking at `target_mm`, no roll: camera X
    right, Y down (along the world's down direction projected into the image), Z forward."""
    z = np.asarray(target_mm, float) - np.asarray(centre_mm, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])  # right = forward x up
    x /= np.linalg.norm(x)
    y = np.cross(z, x)  # down
    r = np.stack([x, y, z])  # world -> camera rows
    w, h = resolution
    return Camera(cam_id, r, np.asarray(centre_mm, float), np.array([focal, focal]), np.array([w / 2, h / 2]),
                  np.zeros(3), np.zeros(2), w, h)


def varied_cameras(poses_centred: np.ndarray) -> list[Camera]:
    """The `varied` setting's eight cameras for one (centred) clip: distances grow by the clip's
    horizontal radius, so the person stays at least the listed distance away."""
    radius = float(np.linalg.norm(poses_centred[:, ROOT, :2], axis=-1).max())
    aim = np.array([0.0, 0.0, VARIED_AIM_HEIGHT_MM])
    cams = []
    for az, height, dist, focal in VARIED_CAMERAS:
        a = math.radians(az)
        d = dist * 1000.0 + radius
        centre = np.array([d * math.sin(a), -d * math.cos(a), height * 1000.0])
        cams.append(look_at_camera(f"varied_{int(az):03d}", centre, aim, focal))
    return cams


def project_clip(clip: MocapClip, cameras: str = "s9", stride: int = DEFAULT_STRIDE) -> list[Sequence]:
    """One clip seen by every camera of a setting: Sequences with 2D (T, 17, 2) pixels (pinhole)
    and 3D (T, 17, 3) in each camera's frame, mm, every `stride`-th frame."""
    if cameras not in CAMERA_SETS:
        raise InputError(f"camera setting must be one of {CAMERA_SETS}, not {cameras!r}")
    if stride < 1:
        raise InputError("stride must be >= 1")
    whole = centred(clip.poses_3d)
    world = whole[::stride]
    cams = s9_cameras() if cameras == "s9" else varied_cameras(whole)
    out = []
    for cam in cams:
        x_cam = cam.world_to_camera(world, unit_scale=1.0)  # mm
        if (x_cam[..., 2] < 100.0).any():
            raise InputError(f"{clip.name}: joints come within 0.1 m of camera {cam.id}'s image plane")
        out.append(Sequence(subject=clip.style, action=clip.content, camera=cam.id,
                            poses_2d=cam.project(x_cam, distort=False).astype(np.float32),
                            poses_3d=x_cam.astype(np.float32), fps=clip.fps / stride,
                            res_w=cam.res_w, res_h=cam.res_h, focal=float(np.mean(cam.f)),
                            meta={"clip": clip.name, "world_up": cam.R[:, 2].astype(np.float32)}))
    return out
