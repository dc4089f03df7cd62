"""Lift a 2D keypoint file to 3D and write the result (npz, json or csv); read results back.

Result layout (all formats): per frame, 17 joints in the Human3.6M order, 3D in the camera
frame of the input video (X right, Y down, Z forward), root-centred (hip at the origin),
millimetres under the global scale protocol (a model trained without 3D takes the average
Human3.6M adult's head-root length as its unit; see docs/evaluation.md). The root's own position
in the camera frame travels beside them (`root_camera`, for the BVH export). docs/formats.md.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.skeleton import HEAD, JOINT_NAMES, NECK_FRACTION, NECK_NOSE, PARENTS, ROOT, THORAX
from .errors import InputError
from .io import atomic_path, atomic_write_text

FRAME_NOTE = "camera frame of the input video: X right, Y down, Z forward; root (Hip) at the origin"


@dataclass
class LiftedClip:
    poses_2d: np.ndarray  # (T, 17, 2) input keypoints in the input's units (pixels or normalised)
    poses_3d: np.ndarray  # (T, 17, 3) mm, root-centred camera frame
    scales: np.ndarray  # (T,) per-frame scale s
    missing: np.ndarray  # (T, 17) bool: 2D joints that were absent/low-confidence and filled in
    meta: dict
    inferred: np.ndarray | None = None  # (T, 17) bool: 3D joints inferred without any 2D (absent in every frame)
    # (T, 3) mm: the root's position in the camera frame (world.root_path_camera); None where the
    # model's normalisation gives no focal length (not universal) or the result predates it
    root_camera: np.ndarray | None = None

    def to_bvh(self, path: str | Path, elevation_deg: float | None = None, in_place: bool = False,
               fps: float | None = None):
        """Write the clip as a BVH file (metres, Y up, grounded; `bvh.export_clip`, docs/bvh.md) and
        return the `bvh.BvhExport` (the motion, the world-frame joints, the camera elevation used)."""
        from .bvh import export_clip

        return export_clip(self, path, elevation_deg=elevation_deg, in_place=in_place, fps=fps)


def prepare_pixels(kp, image_size: tuple[int, int] | None = None, aspect: float | None = None) -> np.ndarray:
    """Keypoints2D -> (T, 17, 2) pixel coordinates. Coordinates normalised to [0, 1] are multiplied
    by the image size (`image_size` if given, else the file's), so the aspect ratio is right;
    with only `aspect` (width / height) x is stretched by it (units: heights of the image);
    without either they are used as they are, which is right only for square images (warned).
    Pixel inputs far outside the stated image are reported in one warning."""
    if aspect is not None:
        if not (np.isfinite(aspect) and aspect > 0):
            raise InputError(f"aspect ratio must be a positive number (width / height), got {aspect}")
        if image_size is not None:
            raise InputError("give the image size or the aspect ratio, not both")
        if kp.units != "normalised":
            warnings.warn(f"{kp.source}: coordinates are in pixels; --aspect only matters for [0, 1] "
                          f"coordinates and is ignored", stacklevel=2)
        else:
            return kp.poses * np.asarray([aspect, 1.0], dtype=kp.poses.dtype)
    size = image_size or kp.image_size
    if kp.units == "normalised":
        if size:
            return kp.poses * np.asarray(size, dtype=kp.poses.dtype)
        warnings.warn(f"{kp.source}: coordinates are normalised to [0, 1] and the file states no image size; "
                      f"assuming a square image (pass --image-size W H or --aspect W:H if it is not)", stacklevel=2)
        return kp.poses
    if size:
        w, h = size
        x, y = kp.poses[..., 0], kp.poses[..., 1]
        outside = ((x < -0.1 * w) | (x > 1.1 * w) | (y < -0.1 * h) | (y > 1.1 * h)).any(axis=1)
        if outside.any():
            first = np.nonzero(outside)[0][:5].tolist()
            warnings.warn(f"{kp.source}: {int(outside.sum())} of {len(outside)} frames have joints more than 10 % "
                          f"outside the stated {w}x{h} image (first frames {first}): wrong --image-size, "
                          f"rotated video or bad detections?", stacklevel=2)
    return kp.poses


MOSTLY_MISSING = 0.5  # share of frames: a joint missing in more is inferred, not interpolated
# Joints that may be inferred when they are missing in most frames: the ends of the limbs and the
# head points. The torso (hips, spine, thorax, shoulders) places the body: it stays interpolated.
INFERABLE = frozenset((2, 3, 5, 6, 9, 10, 12, 13, 15, 16))


def encode_absent(pixels: np.ndarray, absent: tuple[int, ...]) -> np.ndarray:
    """The input a model trained with hidden joints expects for joints absent from a track
    (T, 17, 2) pixels: each at the root's 2D (`training/augment.py`), except a Neck/Nose between
    a seen Thorax and Head, which is put 0.42 of the way from one to the other as for detectors
    without a nose (`skeleton.NECK_FRACTION`; the limbs' 3D stays closer than with it hidden,
    `benchmarks/definitions.py`). Returns a copy."""
    out = np.array(pixels, copy=True)
    hidden = list(absent)
    if NECK_NOSE in hidden and THORAX not in hidden and HEAD not in hidden:
        hidden.remove(NECK_NOSE)
        out[:, NECK_NOSE] = out[:, THORAX] + NECK_FRACTION * (out[:, HEAD] - out[:, THORAX])
    out[:, hidden] = out[:, ROOT : ROOT + 1]
    return out


def lift_keypoints(lifter, kp, constant: str = "auto", batch_size: int = 4096, progress: bool = True,
                   image_size: tuple[int, int] | None = None, smooth: int | None = None,
                   aspect: float | None = None, skeleton: dict | None = None) -> LiftedClip:
    """Lift a `Keypoints2D` with a `PoseLifter`.

    constant: "auto" applies the universal rule (mean head-root = 1/D) to this input, right for
    footage from another camera or resolution; "training" reuses the training data's constant,
    right for the training cameras (e.g. Human3.6M test videos).
    image_size: (width, height) in pixels, overriding the file's (needed for [0, 1] coordinates).
    aspect: width / height of the image, for [0, 1] coordinates whose image size is unknown.
    smooth: Savitzky-Golay window in frames for the 2D before lifting (None: no filtering).
    skeleton: keyword arguments of `skeleton_fit.fit_skeleton` ({} keeps the 2D rays) to fit one
    skeleton to the whole clip after lifting; None: every frame as lifted.
    """
    if image_size is not None and (len(image_size) != 2 or min(image_size) <= 0):
        raise InputError(f"image size must be two positive numbers (width, height), got {image_size}")
    pixels = prepare_pixels(kp, image_size, aspect)
    adapted_for = lifter.adapter_detector
    if adapted_for is not None and kp.layout != "h36m17":
        warnings.warn(f"{kp.source}: this model moves its input by a 2D keypoint adapter fitted for {adapted_for!r} "
                      f"detections (data.adapt_2d), but these are {kp.layout} keypoints: expect the adapter's offsets "
                      f"to be wrong for them (drop --keypoint-adapter, or use a model trained without data.adapt_2d)", stacklevel=2)
    if smooth:
        from .data.filters import savgol_smooth

        pixels = savgol_smooth(pixels, smooth)
    absent = tuple(getattr(kp, "absent", ()))
    if absent and not lifter.lifts_partial_2d:
        raise InputError(f"{kp.source}: {', '.join(JOINT_NAMES[j] for j in absent)} absent or below the confidence "
                         f"threshold in all {len(kp.poses)} frames; this model ({lifter.source}) was not trained to "
                         f"lift partial 2D (the shipped model is)")
    if lifter.lifts_partial_2d:
        # A limb or head joint seen in fewer than half of the frames is inferred in 3D throughout
        # rather than interpolated from the few frames that saw it (often a detector's guesses).
        mostly = np.nonzero(np.asarray(kp.missing).mean(0) > MOSTLY_MISSING)[0]
        absent = tuple(sorted(set(absent) | {int(j) for j in mostly if j in INFERABLE}))
        if absent:
            pixels = encode_absent(pixels, absent)
            warnings.warn(f"{kp.source}: absent or below the confidence threshold in more than half of the frames, "
                          f"inferred in 3D from the other joints: {', '.join(JOINT_NAMES[j] for j in absent)}",
                          stacklevel=2)
    mode = lifter.normalisation["mode"]
    if constant == "auto" and mode == "universal":
        c = lifter.adapt_constant(pixels, absent)
    elif constant in ("auto", "training"):
        c = None
    else:
        raise InputError(f"unknown normalisation constant choice {constant!r} (auto or training)")
    res = lifter.lift(pixels, constant=c, batch_size=batch_size, progress=progress)
    poses_mm = res.poses_3d_mm
    fit_report = None
    if skeleton is not None:
        from .evaluation.plausibility import bone_length_variation, left_right_asymmetry
        from .skeleton_fit import fit_skeleton, track_bone_lengths, with_exact_lengths

        try:
            lengths = track_bone_lengths(res.poses_3d_units)
            fitted = fit_skeleton(res.poses_3d_units, res.root_depth, lengths=lengths, **skeleton)
            # the fit leaves lengths a few mm off where the rays resist: one skeleton exactly (BVH export)
            poses_mm = with_exact_lengths(fitted, lengths) * np.float32(res.mm_per_unit)
        except ValueError as e:
            raise InputError(f"{kp.source}: cannot fit one skeleton: {e}") from None
        fit_report = {f"{name}_pct": [round(f(res.poses_3d_mm), 2), round(f(poses_mm), 2)]  # [lifted, fitted]
                      for name, f in (("bone_length_variation", bone_length_variation),
                                      ("left_right_asymmetry", left_right_asymmetry))}
    share = _report_not_a_person(kp.source, res.poses_3d_mm)
    root_camera = None
    if mode == "universal":  # the constant is the clip's focal length in pixels (world.py)
        from .world import root_path_camera

        size = image_size or kp.image_size
        centre = np.asarray(size, np.float64) / 2 if size else pixels[:, ROOT].mean(0)
        c_px = c if c is not None else float(lifter.normalisation["constant"])
        root_camera = root_path_camera(pixels[:, ROOT], res.root_depth * res.mm_per_unit, c_px, centre).astype(np.float32)
    meta = {
        "source": kp.source, "source_layout": kp.layout, "input_units": kp.units,
        "image_size": list(image_size or kp.image_size or []) or None, "fps": kp.fps,
        "checkpoint": lifter.source, "keypoint_adapter": adapted_for,
        "keypoint_adapter_from": lifter.adapter_meta.get("from"), "normalisation": mode, "smoothing_window": smooth, "skeleton_fit": skeleton,
        "skeleton_fit_effect": fit_report,
        "normalisation_constant": c if c is not None else lifter.normalisation.get("constant"),
        "mm_per_unit": lifter.mm_per_unit, "units_3d": "mm", "frame_3d": FRAME_NOTE,
        "joint_names": list(JOINT_NAMES), "parents": list(PARENTS),
        "inferred_joints": [JOINT_NAMES[j] for j in absent],
        "implausible_frames_pct": round(100.0 * share, 2),
    }
    inferred = np.zeros((len(poses_mm), len(JOINT_NAMES)), dtype=bool)
    inferred[:, list(absent)] = True
    return LiftedClip(np.asarray(kp.poses, dtype=np.float32), poses_mm, res.scales, np.asarray(kp.missing, dtype=bool),
                      meta, inferred, root_camera)


# A frame whose lifted bone proportions are this far from a person's (`proportion_error`) fails
# the check; `lift` warns when more than `NOT_A_PERSON_SHARE` of the frames fail. Chosen on
# training-subject, mocap_ood `val` and wild2d lifts (docs/evaluation.md, "Is it a person?").
PROPORTION_LIMIT = 0.4
NOT_A_PERSON_SHARE = 0.05


def _report_not_a_person(source: str, poses_3d: np.ndarray) -> float:
    """Share of frames whose lifted 3D (T, 17, 3) does not have a person's proportions; one
    warning when it is above `NOT_A_PERSON_SHARE`."""
    from .evaluation.plausibility import proportion_error

    share = float((proportion_error(poses_3d) > PROPORTION_LIMIT).mean())
    if share > NOT_A_PERSON_SHARE:
        warnings.warn(f"{source}: {100 * share:.0f} % of the frames do not lift to a person's bone proportions: "
                      f"is this a person, in the joint layout given (--layout), in this joint order?", stacklevel=3)
    return share


def skeleton_fit_line(meta: dict) -> str | None:
    """One summary line of what --fit-skeleton changed, or None when it was off."""
    effect = meta.get("skeleton_fit_effect")
    if not effect:
        return None
    (v0, v1), (a0, a1) = effect["bone_length_variation_pct"], effect["left_right_asymmetry_pct"]
    return (f"one skeleton fitted: bone-length variation {v0:.1f} % -> {v1:.1f} %, "
            f"left/right asymmetry {a0:.1f} % -> {a1:.1f} %")


def write_result(clip: LiftedClip, out: str | Path) -> Path:
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".npz":
        with atomic_path(out) as tmp:
            extra = {} if clip.root_camera is None else {"root_camera": clip.root_camera}
            np.savez_compressed(tmp, poses_3d=clip.poses_3d, poses_2d=clip.poses_2d, scales=clip.scales,
                                missing=clip.missing, inferred=_inferred(clip), meta=np.array(json.dumps(clip.meta)), **extra)
    elif suffix == ".json":
        inferred = _inferred(clip)
        doc = {"meta": clip.meta, "frames": [
            {"frame": i, "scale": round(float(clip.scales[i]), 5),
             "poses_3d_mm": np.round(clip.poses_3d[i], 2).tolist(),
             "poses_2d": np.round(clip.poses_2d[i], 3).tolist(),
             "missing_2d": np.nonzero(clip.missing[i])[0].tolist(),
             "inferred_3d": np.nonzero(inferred[i])[0].tolist(),
             **({} if clip.root_camera is None else {"root_camera_mm": np.round(clip.root_camera[i], 1).tolist()})}
            for i in range(len(clip.poses_3d))]}
        atomic_write_text(out, json.dumps(doc))
    elif suffix == ".csv":
        cols = ["frame", "scale"] + [f"{n}_{a}_mm" for n in JOINT_NAMES for a in "xyz"]
        flat = clip.poses_3d.reshape(len(clip.poses_3d), -1)
        lines = ["# " + clip.meta["frame_3d"] + "; units mm", ",".join(cols)]
        lines += [f"{i},{clip.scales[i]:.5f}," + ",".join(f"{v:.2f}" for v in row) for i, row in enumerate(flat)]
        atomic_write_text(out, "\n".join(lines) + "\n")
    else:
        raise InputError(f"{out}: unknown output type '{suffix}' (use .npz, .json or .csv)")
    return out


def _inferred(clip: LiftedClip) -> np.ndarray:
    return clip.inferred if clip.inferred is not None else np.zeros(clip.missing.shape, dtype=bool)


def read_result(path: str | Path) -> LiftedClip:
    """Read a result written by `write_result` (.npz or .json)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as d:
                meta = json.loads(str(d["meta"]))
                clip = LiftedClip(d["poses_2d"], d["poses_3d"], d["scales"], d["missing"], meta,
                                  d["inferred"] if "inferred" in d.files else None,
                                  d["root_camera"] if "root_camera" in d.files else None)
        elif path.suffix.lower() == ".json":
            doc = json.loads(path.read_text())
            fr = doc["frames"]
            clip = LiftedClip(np.array([f["poses_2d"] for f in fr], np.float32), np.array([f["poses_3d_mm"] for f in fr], np.float32),
                              np.array([f["scale"] for f in fr], np.float32), np.zeros((len(fr), 17), bool), doc["meta"])
            clip.inferred = np.zeros((len(fr), 17), bool)
            for i, f in enumerate(fr):
                clip.inferred[i, f.get("inferred_3d", [])] = True
            if fr and all("root_camera_mm" in f for f in fr):
                clip.root_camera = np.array([f["root_camera_mm"] for f in fr], np.float32)
        else:
            raise InputError(f"{path}: not an ambipose result (.npz or .json from `ambipose lift`)")
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - corrupt zip, truncated arrays, wrong keys: all a bad file
        raise InputError(f"{path}: not a readable ambipose result ({type(e).__name__}: {str(e)[:120]})") from None
    if clip.poses_3d.ndim != 3 or clip.poses_3d.shape[1:] != (17, 3) or len(clip.poses_3d) == 0:
        raise InputError(f"{path}: poses_3d has shape {clip.poses_3d.shape}, expected (T, 17, 3)")
    if clip.root_camera is not None and clip.root_camera.shape != (len(clip.poses_3d), 3):
        raise InputError(f"{path}: root_camera has shape {clip.root_camera.shape}, expected ({len(clip.poses_3d)}, 3)")
    return clip
