"""New views of the self-training stage's pseudo-labels, for a lifter that lifts other people's
2D: other proportions, joint definitions, cameras and missing joints (`self_training.augment`).

The stage's labels (training/self_training.py) are the model's own 3D of the training 2D, fitted
to one skeleton per video: no 3D ground truth. Here each label is changed *in 3D* and projected
again, so input and target always agree geometrically (the pair a camera would record):

1. proportions: the bone vectors along the kinematic chain are scaled, left and right alike
   (hip joints 0.45-1.35x as far apart, limbs and torso about +-15 %, shoulders 0.65-1.15x);
2. joint definitions: the thorax moved to the shoulders' midpoint, the spine slid along the
   root -> thorax line, the Neck/Nose and Head points slid along the thorax -> head line (nose
   level, skull centre, head top), as other skeletons and detectors place them;
3. camera: the pose turned about the world vertical through its root (any azimuth), then about
   the camera's X axis (elevation, other camera heights), and put at 0.75-1.35x its distance
   (a person nearer or further than the clip's normalisation assumed, as when walking towards
   the camera). The 2D is the exact projection (unit focal length), so the target is a lift of
   the input: a depth-per-joint lifter can reproduce it;
4. missing joints: with `mask_prob`, a pattern of joints (both legs below the hips, one leg, one
   forearm, the head points, random ones) is hidden: their input is set to the root (0, 0), the
   encoding `lift` uses for joints absent from a whole track (`MISSING_VALUE`); the target keeps all 17;
5. detector noise (`noise`): Gaussian 2D noise on the visible joints, its standard deviation per
   sample uniform in [0, noise] head-root lengths; the target stays the clean 3D.

Poses are root-centred, camera frame (X right, Y down, Z forward), model units.
"""

from __future__ import annotations

import math

import torch

from ..data.rotation import axis_angle
from ..data.skeleton import NUM_JOINTS, PARENTS, ROOT

MISSING_VALUE = 0.0  # normalised input of a hidden joint: the root's position

# Bone groups by child joint (each bone is named by its child): one factor per group and sample.
_GROUPS = {
    "hips": (1, 4), "thighs": (2, 5), "shins": (3, 6), "spine": (7,), "thorax": (8,), "neck": (9,), "head": (10,),
    "shoulders": (11, 14), "upper_arms": (12, 15), "forearms": (13, 16),
}
_RANGES = {"hips": (0.45, 1.35), "shoulders": (0.65, 1.15)}  # others: 1 +- `proportion` (log-uniform)
# Missing-joint patterns (joint indices), drawn uniformly when a sample is masked.
MASK_PATTERNS: tuple[tuple[int, ...], ...] = (
    (2, 3, 5, 6),  # both legs below the hips (upper-body footage)
    (3, 6),  # both ankles
    (2, 3),  # right leg
    (5, 6),  # left leg
    (15, 16),  # right forearm
    (12, 13),  # left forearm
    (9, 10),  # the head points
    (9,),  # Neck/Nose (detectors without a nose)
)


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, device) -> torch.Tensor:
    return (lo + (hi - lo) * torch.rand(n, generator=gen)).to(device)


def forward_kinematics(bones: torch.Tensor) -> torch.Tensor:
    """Bone vectors (B, 17, 3) (joint j's offset from its parent; root row ignored) -> root-centred
    joints (B, 17, 3). PARENTS lists every parent before its children."""
    out = torch.zeros_like(bones)
    for j in range(1, NUM_JOINTS):
        out[:, j] = out[:, PARENTS[j]] + bones[:, j]
    return out


def scale_proportions(poses: torch.Tensor, gen: torch.Generator, spread: float) -> torch.Tensor:
    """Each bone group scaled by one factor per sample (left and right alike)."""
    b = poses.shape[0]
    parents = torch.tensor([max(p, 0) for p in PARENTS], device=poses.device)
    bones = poses - poses[:, parents]
    factor = torch.ones(b, NUM_JOINTS, device=poses.device, dtype=poses.dtype)
    for name, joints in _GROUPS.items():
        lo, hi = _RANGES.get(name, (math.exp(-spread), math.exp(spread)))
        f = torch.exp(_uniform(b, math.log(lo), math.log(hi), gen, poses.device)).to(poses.dtype)
        factor[:, list(joints)] = f[:, None]
    return forward_kinematics(bones * factor[..., None])


def move_definitions(poses: torch.Tensor, gen: torch.Generator, prob: float) -> torch.Tensor:
    """Other sources' placements of the thorax, Neck/Nose and Head, each with probability `prob`."""
    b, dev = poses.shape[0], poses.device
    out = poses.clone()
    pick = lambda: (torch.rand(b, generator=gen) < prob).to(dev)[:, None]  # noqa: E731
    mid_shoulders = 0.5 * (poses[:, 11] + poses[:, 14])
    out[:, 8] = torch.where(pick(), mid_shoulders, poses[:, 8])
    thorax = out[:, 8]
    # Spine: anywhere from 0.35 to 0.7 of the way from the root to the thorax (Human3.6M's sits
    # near 0.48, a BVH chest joint higher).
    f_spine = _uniform(b, 0.35, 0.7, gen, dev).to(poses.dtype)[:, None]
    out[:, 7] = torch.where(pick(), poses[:, ROOT] + f_spine * (thorax - poses[:, ROOT]), out[:, 7])
    head_dir = poses[:, 10] - poses[:, 8]
    # Head: from nose level (0.55 of the way) to above the head top (1.1).
    f_head = _uniform(b, 0.55, 1.1, gen, dev).to(poses.dtype)[:, None]
    out[:, 10] = torch.where(pick(), thorax + f_head * head_dir, out[:, 10])
    f_neck = _uniform(b, 0.2, 0.8, gen, dev).to(poses.dtype)[:, None]
    out[:, 9] = torch.where(pick(), thorax + f_neck * (out[:, 10] - thorax), out[:, 9])
    return out


def new_view(poses: torch.Tensor, root_depth: torch.Tensor, up: torch.Tensor, gen: torch.Generator,
             elevation_deg: float, distance_range: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn about `up` (B, 3) through the root by any azimuth, tilt about the camera X axis by up
    to +-elevation_deg, move the root to root_depth x a log-uniform factor. Returns (the rotated
    root-centred pose (B, 17, 3), the new root depth (B,))."""
    b, dev, dt = poses.shape[0], poses.device, poses.dtype
    az = _uniform(b, -math.pi, math.pi, gen, dev).to(dt)
    el = _uniform(b, -math.radians(elevation_deg), math.radians(elevation_deg), gen, dev).to(dt)
    x_axis = torch.tensor([1.0, 0.0, 0.0], device=dev, dtype=dt).expand(b, 3)
    rot = axis_angle(x_axis, el) @ axis_angle(up.to(dt), az)  # (B, 3, 3), column vectors
    turned = poses @ rot.transpose(1, 2)
    lo, hi = distance_range
    k = torch.exp(_uniform(b, math.log(lo), math.log(hi), gen, dev)).to(dt)
    return turned, root_depth * k


def project_view(poses: torch.Tensor, root_depth: torch.Tensor) -> torch.Tensor:
    """Root-centred 3D (B, 17, 3) with its root at `root_depth` (B,) on the optical axis -> its
    root-centred 2D (B, 17, 2) in normalised units (unit focal length). The exact input of which
    the pose is a lift: on every joint's ray, so target and input agree."""
    cam = poses + torch.stack([torch.zeros_like(root_depth), torch.zeros_like(root_depth), root_depth], -1)[:, None]
    return cam[..., :2] / cam[..., 2:3].clamp_min(1e-3)


def mask_joints(x: torch.Tensor, gen: torch.Generator, prob: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide a pattern of joints (`MASK_PATTERNS`, or each joint with probability 0.15) in a share
    `prob` of the samples: (x with hidden joints at MISSING_VALUE, hidden (B, 17) bool)."""
    b = x.shape[0]
    patterns = torch.zeros(len(MASK_PATTERNS) + 1, NUM_JOINTS, dtype=torch.bool)
    for i, pattern in enumerate(MASK_PATTERNS):
        patterns[i, list(pattern)] = True
    which = torch.randint(len(patterns), (b,), generator=gen)
    hidden = patterns[which]  # (B, 17); the last "pattern" is empty: random joints instead
    scattered = which == len(MASK_PATTERNS)
    hidden[scattered] = (torch.rand(b, NUM_JOINTS, generator=gen) < 0.15)[scattered]
    hidden &= (torch.rand(b, generator=gen) < prob)[:, None]
    hidden[:, ROOT] = False
    hidden = hidden.to(x.device)
    return x.masked_fill(hidden[..., None], MISSING_VALUE), hidden


def detector_noise(x: torch.Tensor, target: torch.Tensor, depth: torch.Tensor, gen: torch.Generator,
                   noise: float) -> torch.Tensor:
    """Gaussian 2D noise on every joint but the root, its standard deviation per sample uniform
    in [0, noise] head-root lengths (of the target, as seen at its depth)."""
    b = x.shape[0]
    size = torch.linalg.vector_norm(target[:, 10] - target[:, ROOT], dim=-1) / depth  # (B,) normalised units
    sd = _uniform(b, 0.0, noise, gen, x.device).to(x.dtype) * size
    eps = torch.randn(x.shape, generator=gen).to(x.device, x.dtype)
    eps[:, ROOT] = 0.0
    return x + sd[:, None, None] * eps


def augment(labels: torch.Tensor, root_depth: torch.Tensor, up: torch.Tensor, gen: torch.Generator,
            proportion: float = 0.15, definition_prob: float = 0.3, elevation_deg: float = 25.0,
            distance_range: tuple[float, float] = (0.75, 1.35), mask_prob: float = 0.25, noise: float = 0.0
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pseudo-labels (B, 17, 3) root-centred with their root depths (B,) and world-up vectors
    (B, 3) -> (normalised 2D input (B, 17, 2), 3D target (B, 17, 3)): module docstring, steps 1-5."""
    target = scale_proportions(labels, gen, proportion) if proportion > 0 else labels
    target = move_definitions(target, gen, definition_prob) if definition_prob > 0 else target
    target, depth = new_view(target, root_depth, up, gen, elevation_deg, distance_range)
    x = project_view(target, depth)
    if noise > 0:
        x = detector_noise(x, target, depth, gen, noise)
    if mask_prob > 0:
        x, _ = mask_joints(x, gen, mask_prob)
    return x, target
