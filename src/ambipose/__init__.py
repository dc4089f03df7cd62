"""ambipose: unsupervised monocular 3D human pose estimation from 2D keypoints.

Implements Yu et al., "Towards Alleviating the Modeling Ambiguity of Unsupervised
Monocular 3D Human Pose Estimation" (ICCV 2021) and its baselines.
"""

__version__ = "0.1.0"


def lift(*args, **kwargs):  # noqa: D103 - documented in ambipose.api.lift
    from .api import lift as _lift

    return _lift(*args, **kwargs)


lift.__doc__ = "Lift 2D keypoints (file or array) to 3D: see ambipose.api.lift."
