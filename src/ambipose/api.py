"""The Python entry point: `ambipose.lift(keypoints) -> LiftedClip`, the same path as `ambipose lift`.

    >>> import numpy as np, ambipose
    >>> clip = ambipose.lift(np.load("my_2d.npy"), layout="coco17")   # or a file path
    >>> clip.poses_3d.shape            # (T, 17, 3) mm, camera frame, root-centred
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .lift_io import LiftedClip


def lift(keypoints: str | Path | np.ndarray, *, checkpoint: str | Path | None = None, layout: str = "auto",
         format: str = "auto", min_score: float = 0.3, track: int | str | None = None, constant: str = "auto",
         device: str = "cpu", batch_size: int = 4096, progress: bool = False,
         image_size: tuple[int, int] | None = None, smooth: int | None = None,
         aspect: float | None = None, fit_skeleton: bool = False, lateral: float | None = None) -> LiftedClip:
    """Lift 2D keypoints to 3D with the shipped Human3.6M model (or `checkpoint`).

    keypoints: a file or OpenPose folder (any format `ambipose lift` reads, see docs/formats.md),
        or an array (T, J, 2) of pixel coordinates (or (T, J, 3) with confidences) in `layout`
        (auto: 17 joints are Human3.6M-17).
    image_size: (width, height) in pixels, overriding the file's (needed for [0, 1] coordinates).
    aspect: width / height of the image, for [0, 1] coordinates when the size is unknown.
    smooth: Savitzky-Golay window (odd number of frames) applied to the 2D first; None = off.
    fit_skeleton: after lifting, fit one skeleton to the whole track (constant, left/right-symmetric
        bone lengths; `skeleton_fit.fit_skeleton`); `lateral` lets joints leave their 2D rays at
        that cost (noisy detections), None keeps them.
    constant: "auto" normalises with this input's own universal constant (right for new cameras
        and resolutions, what the CLI does); "training" reuses the training data's.
    Returns a LiftedClip: `poses_3d` (T, 17, 3) millimetres, camera frame of the input (X right,
    Y down, Z forward), root (hip) at the origin; `poses_2d`, `scales`, `missing`, `meta`.
    Raises ambipose.errors.InputError for unusable input.
    """
    from .data.formats import keypoints_from_array, read_keypoints
    from .inference import PoseLifter
    from .lift_io import lift_keypoints

    if isinstance(keypoints, (str, Path)):
        kp = read_keypoints(keypoints, format=format, layout=layout, min_score=min_score, track=track)
    else:
        kp = keypoints_from_array(keypoints, layout=layout, min_score=min_score)
    lifter = PoseLifter.from_checkpoint(checkpoint, device)
    return lift_keypoints(lifter, kp, constant=constant, batch_size=batch_size, progress=progress, image_size=image_size,
                          smooth=smooth, aspect=aspect,
                          skeleton=({} if lateral is None else {"lateral_weight": lateral}) if fit_skeleton else None)
