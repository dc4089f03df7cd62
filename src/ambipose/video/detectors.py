"""2D keypoint detectors behind one small interface.

A detector takes one RGB frame and returns the keypoints of (at most) one person in its own joint
layout (a name `data.joint_maps` knows), in pixels, with a confidence per joint. To add another
backend (e.g. an ONNX model of your own), implement `Detector2D` and register it in `DETECTORS`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from ..errors import InputError


class Detector2D(Protocol):
    layout: str  # joint layout of the output, e.g. "mediapipe33"
    joints: int  # number of joints in that layout

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (joints, 3) float64 (x px, y px, confidence in [0, 1]), or None
        when no person is found."""
        ...

    def close(self) -> None: ...


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ side (absl, TFLite) prints INFO/WARNING lines straight to file descriptor 2
    while it loads its graph and on its first frame; hide them there, and only there."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured in tests)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


class MediaPipeDetector:
    """MediaPipe Pose (legacy `solutions.pose`, mediapipe 0.10.14): BlazePose detector + landmark
    model, both inside the wheel, so nothing is downloaded. Tracks one person across frames.
    Confidence = the landmark's `visibility`."""

    layout = "mediapipe33"
    joints = 33

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5):
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # protobuf deprecation notices from inside mediapipe
                import mediapipe as mp
        except ImportError:
            raise InputError('the mediapipe detector needs the video extra: pip install -e ".[video]" '
                             '(mediapipe 0.10.14; newer 1.x wheels ship no pose model)') from None
        if not hasattr(mp, "solutions"):
            raise InputError(f"mediapipe {getattr(mp, '__version__', '?')} has no legacy pose solution; "
                             f"install mediapipe==0.10.14 (pip install -e \".[video]\")")
        with _native_stderr_silenced():
            self._pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=model_complexity,
                                                smooth_landmarks=False,  # our own filter is optional (--smooth)
                                                min_detection_confidence=min_detection_confidence)
        self._first = True

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # protobuf deprecation notices
            if self._first:
                with _native_stderr_silenced():
                    res = self._pose.process(rgb)
                self._first = False
            else:
                res = self._pose.process(rgb)
        if res.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        lm = res.pose_landmarks.landmark
        out = np.array([[p.x * w, p.y * h, p.visibility] for p in lm], dtype=np.float64)
        out[:, 2] = np.clip(out[:, 2], 0.0, 1.0)
        return out

    def close(self) -> None:
        self._pose.close()


DETECTORS = {"mediapipe": MediaPipeDetector}


def make_detector(name: str = "mediapipe") -> Detector2D:
    if name not in DETECTORS:
        raise InputError(f"unknown detector {name!r} (available: {', '.join(DETECTORS)})")
    return DETECTORS[name]()
