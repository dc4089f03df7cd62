"""`Sequence`: one video of one person as every reader returns it (Human3.6M, MPI-INF-3DHP) and
every evaluation consumes it: 2D keypoints in pixels, optional 3D in the camera frame (mm)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Sequence:
    """One video: 2D keypoints (T, 17, 2) pixels, optional 3D (T, 17, 3) camera frame mm."""

    subject: str
    action: str
    camera: str
    poses_2d: np.ndarray
    poses_3d: np.ndarray | None = None
    fps: float = 50.0
    res_w: int = 1000
    res_h: int = 1000
    focal: float = 1.0  # mean focal length in pixels (for reference-scale computation)
    meta: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.subject}/{self.action}/{self.camera}"

    @property
    def action_class(self) -> str:
        """Action without the repetition suffix: "Walking 1" -> "Walking", "WalkDog" -> "WalkDog"."""
        return action_class(self.action)

    def __len__(self) -> int:
        return len(self.poses_2d)


def action_class(action: str) -> str:
    base = action.split(" ")[0]
    # Human3.6M naming quirks: "TakingPhoto"/"Photo", "WalkingDog"/"WalkDog".
    return {"TakingPhoto": "Photo", "WalkingDog": "WalkDog", "WalkingTogether": "WalkTogether"}.get(base, base)
