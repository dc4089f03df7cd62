"""ambipose: unsupervised monocular 3D human pose estimation from 2D keypoints.

Implements Yu et al., "Towards Alleviating the Modeling Ambiguity of Unsupervised
Monocular 3D Human Pose Estimation" (ICCV 2021) and its baselines.
"""

__version__ = "0.1.0"
