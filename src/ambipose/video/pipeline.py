"""Video file -> 2D keypoint track: stream the frames through a detector, keep only keypoints."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_path
from .detectors import Detector2D
from .reader import VideoInfo, iter_frames, probe


@dataclass
class VideoTrack:
    keypoints: np.ndarray  # (T, J, 3) detector layout: x, y in pixels, confidence; NaN where nobody was found
    frame_indices: np.ndarray  # (T,) index of each kept frame in the video
    layout: str  # the detector's joint layout, e.g. "mediapipe33"
    info: VideoInfo
    fps: float  # rate of the kept frames (video fps / stride)
    seconds: float  # wall time of decoding + detection

    @property
    def found(self) -> np.ndarray:
        """(T,) bool: frames where the detector found a person."""
        return ~np.isnan(self.keypoints[..., 0]).all(axis=1)


def detect_video(path: str | Path, detector: Detector2D, stride: int = 1, max_frames: int | None = None,
                 progress: bool = True) -> VideoTrack:
    """Run `detector` on every `stride`-th frame (at most `max_frames`). Memory: one frame plus
    the keypoints. InputError when the file is not a video, has no frames, or shows nobody."""
    if stride < 1 or (max_frames is not None and max_frames < 1):
        raise InputError("--stride and --max-frames must be >= 1")
    info = probe(path)
    total = info.frames
    if total is not None:
        total = -(-total // stride)
        if max_frames is not None:
            total = min(total, max_frames)
    rows: list[np.ndarray] = []
    idx: list[int] = []
    empty = np.full((detector.joints, 3), np.nan)
    from ..progress import progress_bar

    t0 = time.perf_counter()
    with progress_bar(total=total, enabled=progress, unit="frame", desc="detecting 2D", leave=False) as bar:
        for i, rgb in iter_frames(path, stride=stride, max_frames=max_frames):
            kp = detector.detect(rgb)
            rows.append(empty if kp is None else kp)
            idx.append(i)
            bar.update(1)
    seconds = time.perf_counter() - t0
    if not rows:
        raise InputError(f"{path}: no frames could be decoded")
    track = VideoTrack(np.stack(rows).astype(np.float32), np.asarray(idx), detector.layout, info,
                       info.fps / stride, seconds)
    if not track.found.any():
        raise InputError(f"{path}: no person detected in any of {len(rows)} frames")
    return track


def save_track(track: VideoTrack, out: str | Path) -> Path:
    """The 2D track as an npz `ambipose lift` and `ambipose train --data-2d` read back:
    `keypoints` (T, J, 3) x, y pixels + confidence (NaN: nobody found), `fps`, `image_size`,
    `frame_indices`."""
    out = Path(out)
    with atomic_path(out) as tmp:
        np.savez_compressed(tmp, keypoints=track.keypoints, fps=np.float64(track.fps),
                            image_size=np.array([track.info.width, track.info.height]),
                            frame_indices=track.frame_indices)
    return out
