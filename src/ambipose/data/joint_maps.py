"""Joint-layout tables: COCO-17, OpenPose BODY_25, Halpe-26 and MediaPipe-33 -> Human3.6M-17.

Each layout maps to a table of 17 `JointRule`s, one per Human3.6M-17 joint (order
`skeleton.JOINT_NAMES`). A rule is the *mean of its source joints*: one source is a plain copy,
several sources synthesise a joint the detector does not have (e.g. Hip = mid(LHip, RHip)).
The confidence of a synthesised joint is the *minimum* of its sources' confidences: a joint built
from an unreliable point is itself unreliable.

The tables are approximations of Human3.6M's marker-based joints; the choices are listed in
`docs/formats.md` (generated from `markdown_table`, a test keeps the two in sync):
- Hip (root): mid of the two hips, or the detector's own mid-hip (BODY_25 MidHip, Halpe Hip).
- Thorax: mid of the shoulders, or the detector's neck joint (BODY_25 / Halpe "Neck" sit at the
  shoulder midpoint, which is where Human3.6M's Thorax is).
- Spine: mid(Hip, Thorax), written as the mean of the sources of both (equal weights keep it
  exactly the midpoint).
- Neck/Nose: the nose.
- Head: mid of the ears (centre of the skull, a little low) or Halpe's head top (a little high).
Coordinates pass through unchanged (pixels stay pixels, normalised stays normalised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .skeleton import JOINT_NAMES, NUM_JOINTS

__all__ = [
    "JointRule", "LAYOUTS", "LAYOUT_JOINT_NAMES", "LAYOUT_NUM_JOINTS", "JOINT_MAPS",
    "to_h36m17", "describe_rule", "markdown_table",
]

COCO17_NAMES: tuple[str, ...] = (
    "nose", "leye", "reye", "lear", "rear", "lsho", "rsho", "lelb", "relb", "lwri", "rwri",
    "lhip", "rhip", "lknee", "rknee", "lank", "rank",
)
BODY25_NAMES: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
HALPE26_NAMES: tuple[str, ...] = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow",
    "LWrist", "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "Head", "Neck",
    "Hip", "LBigToe", "RBigToe", "LSmallToe", "RSmallToe", "LHeel", "RHeel",
)
MEDIAPIPE33_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)

LAYOUT_JOINT_NAMES: dict[str, tuple[str, ...]] = {
    "h36m17": JOINT_NAMES,
    "coco17": COCO17_NAMES,
    "body25": BODY25_NAMES,
    "halpe26": HALPE26_NAMES,
    "mediapipe33": MEDIAPIPE33_NAMES,
}
LAYOUTS: tuple[str, ...] = tuple(LAYOUT_JOINT_NAMES)
LAYOUT_NUM_JOINTS: dict[str, int] = {k: len(v) for k, v in LAYOUT_JOINT_NAMES.items()}


@dataclass(frozen=True)
class JointRule:
    """How one Human3.6M-17 joint is obtained: the mean of the source joints `sources`.

    One source index is a plain copy; several are a synthesised joint whose confidence is the
    minimum of its sources' confidences.
    """

    sources: tuple[int, ...]

    @property
    def synthesised(self) -> bool:
        return len(self.sources) > 1


def _table(layout: str, spec: dict[str, tuple[str, ...]]) -> tuple[JointRule, ...]:
    """Build a table from {h36m joint name: source joint names}; checks every target is covered."""
    names = LAYOUT_JOINT_NAMES[layout]
    assert set(spec) == set(JOINT_NAMES), f"{layout}: table must cover all 17 joints"
    return tuple(JointRule(tuple(names.index(s) for s in spec[j])) for j in JOINT_NAMES)


def _hips_shoulders_table(layout: str, n: dict[str, str]) -> tuple[JointRule, ...]:
    """Table for layouts with only limb joints + face (COCO-17, MediaPipe-33); `n` renames keys."""
    return _table(layout, {
        "Hip": (n["lhip"], n["rhip"]),
        "RHip": (n["rhip"],), "RKnee": (n["rknee"],), "RAnkle": (n["rank"],),
        "LHip": (n["lhip"],), "LKnee": (n["lknee"],), "LAnkle": (n["lank"],),
        # Spine = mid(Hip, Thorax) = mean of both hips and both shoulders (equal weights).
        "Spine": (n["lhip"], n["rhip"], n["lsho"], n["rsho"]),
        "Thorax": (n["lsho"], n["rsho"]),
        "Neck/Nose": (n["nose"],),
        # Human3.6M's Head lies between ear level and the top of the skull; the mid of the ears
        # is a slightly low estimate that, unlike the eyes, stays at the skull's centre in profile.
        "Head": (n["lear"], n["rear"]),
        "LShoulder": (n["lsho"],), "LElbow": (n["lelb"],), "LWrist": (n["lwri"],),
        "RShoulder": (n["rsho"],), "RElbow": (n["relb"],), "RWrist": (n["rwri"],),
    })


_COCO_KEYS = {k: k for k in COCO17_NAMES}
_MEDIAPIPE_KEYS = {
    "nose": "nose", "lear": "left_ear", "rear": "right_ear",
    "lsho": "left_shoulder", "rsho": "right_shoulder", "lelb": "left_elbow", "relb": "right_elbow",
    "lwri": "left_wrist", "rwri": "right_wrist", "lhip": "left_hip", "rhip": "right_hip",
    "lknee": "left_knee", "rknee": "right_knee", "lank": "left_ankle", "rank": "right_ankle",
}

JOINT_MAPS: dict[str, tuple[JointRule, ...]] = {
    "h36m17": tuple(JointRule((i,)) for i in range(NUM_JOINTS)),
    "coco17": _hips_shoulders_table("coco17", _COCO_KEYS),
    "mediapipe33": _hips_shoulders_table("mediapipe33", _MEDIAPIPE_KEYS),
    "body25": _table("body25", {
        "Hip": ("MidHip",),
        "RHip": ("RHip",), "RKnee": ("RKnee",), "RAnkle": ("RAnkle",),
        "LHip": ("LHip",), "LKnee": ("LKnee",), "LAnkle": ("LAnkle",),
        "Spine": ("MidHip", "Neck"),
        # OpenPose's Neck sits at the shoulder midpoint = Human3.6M's Thorax.
        "Thorax": ("Neck",),
        "Neck/Nose": ("Nose",),
        "Head": ("LEar", "REar"),
        "LShoulder": ("LShoulder",), "LElbow": ("LElbow",), "LWrist": ("LWrist",),
        "RShoulder": ("RShoulder",), "RElbow": ("RElbow",), "RWrist": ("RWrist",),
    }),
    "halpe26": _table("halpe26", {
        "Hip": ("Hip",),
        "RHip": ("RHip",), "RKnee": ("RKnee",), "RAnkle": ("RAnkle",),
        "LHip": ("LHip",), "LKnee": ("LKnee",), "LAnkle": ("LAnkle",),
        "Spine": ("Hip", "Neck"),
        "Thorax": ("Neck",),
        "Neck/Nose": ("Nose",),
        # Halpe's head top: a slightly high estimate of Human3.6M's Head, but a real joint.
        "Head": ("Head",),
        "LShoulder": ("LShoulder",), "LElbow": ("LElbow",), "LWrist": ("LWrist",),
        "RShoulder": ("RShoulder",), "RElbow": ("RElbow",), "RWrist": ("RWrist",),
    }),
}


def to_h36m17(
    points: np.ndarray, scores: np.ndarray | None, layout: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Map keypoints of a source layout to the Human3.6M-17 order.

    Args:
        points: (T, J, 2) coordinates (pixels or normalised; passed through unchanged), J =
            `LAYOUT_NUM_JOINTS[layout]`. NaN marks an absent joint and propagates to every joint
            synthesised from it.
        scores: (T, J) confidences, or None.
        layout: one of `LAYOUTS`.

    Returns:
        poses (T, 17, 2) float64 and scores (T, 17) (min over each joint's sources), or None
        when `scores` is None.

    Raises:
        ValueError: unknown layout or shapes that do not match it.
    """
    if layout not in JOINT_MAPS:
        raise ValueError(f"unknown joint layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    points = np.asarray(points, dtype=np.float64)
    n = LAYOUT_NUM_JOINTS[layout]
    if points.ndim != 3 or points.shape[1:] != (n, 2):
        raise ValueError(f"layout {layout} expects points of shape (T, {n}, 2), got {points.shape}")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != points.shape[:2]:
            raise ValueError(f"scores have shape {scores.shape}, expected {points.shape[:2]}")
    rules = JOINT_MAPS[layout]
    poses = np.empty((points.shape[0], NUM_JOINTS, 2), dtype=np.float64)
    out_scores = None if scores is None else np.empty((points.shape[0], NUM_JOINTS), np.float64)
    for j, rule in enumerate(rules):
        src = list(rule.sources)
        # Plain mean, not a weight matrix: 0 * NaN would leak an unused absent joint everywhere.
        poses[:, j] = points[:, src].mean(axis=1)
        if out_scores is not None:
            out_scores[:, j] = scores[:, src].min(axis=1)
    return poses, out_scores


def describe_rule(layout: str, rule: JointRule) -> str:
    """Human-readable source of one joint, e.g. ``lhip`` or ``mid(lhip, rhip)``."""
    names = [LAYOUT_JOINT_NAMES[layout][i] for i in rule.sources]
    if len(names) == 1:
        return names[0]
    return f"mean({', '.join(names)})" if len(names) > 2 else f"mid({', '.join(names)})"


def markdown_table() -> str:
    """Markdown table: one row per Human3.6M-17 joint, one column per source layout.

    Copied joints show the source joint's name; synthesised ones show ``mid(...)``/``mean(...)``
    in italics. docs/formats.md embeds this text verbatim.
    """
    layouts = [lay for lay in LAYOUTS if lay != "h36m17"]
    lines = ["| # | Human3.6M-17 | " + " | ".join(layouts) + " |",
             "|---|---|" + "---|" * len(layouts)]
    for j, name in enumerate(JOINT_NAMES):
        cells = []
        for lay in layouts:
            rule = JOINT_MAPS[lay][j]
            text = describe_rule(lay, rule)
            cells.append(f"*{text}*" if rule.synthesised else text)
        lines.append(f"| {j} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
