"""Frames from a video file, one at a time (OpenCV, from the `video` extra)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


def _cv2():
    try:
        import cv2
    except ImportError:
        raise InputError('video input needs OpenCV and MediaPipe: pip install -e ".[video]"') from None
    return cv2


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int  # pixels
    height: int  # pixels
    fps: float  # frames per second as the container states it (25 when it states none)
    frames: int | None  # frame count from the container header (may be approximate), None if unknown


def probe(path: str | Path) -> VideoInfo:
    """Open a video and read its size, rate and frame count; InputError if it is not a video."""
    cv2 = _cv2()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found")
    cap = cv2.VideoCapture(str(p))
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not cap.isOpened():
            raise InputError(f"{p}: not a video OpenCV can read")
        if not ok or frame is None:
            raise InputError(f"{p}: no frames could be decoded (not a video, or an empty one)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        h, w = frame.shape[:2]
    finally:
        cap.release()
    return VideoInfo(str(p), int(w), int(h), fps if 0 < fps < 1000 else 25.0, n if n > 0 else None)


def iter_frames(path: str | Path, stride: int = 1, max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, RGB image (H, W, 3) uint8) for every `stride`-th frame, at most
    `max_frames` of them; one frame in memory at a time."""
    cv2 = _cv2()
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"{path}: not a video OpenCV can read")
    try:
        i = kept = 0
        while max_frames is None or kept < max_frames:
            if i % stride:
                if not cap.grab():  # skip without decoding to RGB
                    break
            else:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                kept += 1
            i += 1
    finally:
        cap.release()


def thumbnails(path: str | Path, indices: list[int], width: int = 320, quality: int = 70) -> dict[int, bytes]:
    """JPEG bytes of the given frames, scaled to `width` pixels (for the HTML viewer). A second,
    streaming pass over the file, so frames are never all held in memory."""
    cv2 = _cv2()
    wanted, out = set(indices), {}
    if not wanted:
        return out
    last = max(wanted)
    for i, rgb in iter_frames(path):
        if i in wanted:
            h, w = rgb.shape[:2]
            small = cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok:
                out[i] = buf.tobytes()
        if i >= last:
            break
    return out
