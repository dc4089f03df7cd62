"""Training data from an experiment config: Human3.6M (train subjects) or the user's own 2D file."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..config import ExperimentConfig
from ..errors import InputError
from ..data.normalization import normalise, reference_scale, universal_constant
from ..data.rotation import tilted_up
from ..data.sampler import PoseFrames
from ..data.skeleton import head_root_length, root_centre
from ..models.keypoint_adapter import KeypointAdapter, fit_keypoint_adapter

# Mean head-root length of the Human3.6M training subjects (`ambipose data-stats`), used to give
# metric units to models trained without any 3D (the average adult's torso-plus-head size).
REFERENCE_HEAD_ROOT_MM = 646.5


@dataclass
class TrainingData:
    frames: PoseFrames
    normalisation: dict  # {"mode", "constant" (pixels or None), "depth"}
    head_root_mm: float  # mean ground-truth head-root length (mm) of these subjects, or the reference
    description: str
    adapter_2d: dict | None = None  # `KeypointAdapter.to_state()` when data.adapt_2d (checkpoints carry it)


def prepare_training_data(cfg: ExperimentConfig, adapter_2d: dict | None = None, progress: bool = True) -> TrainingData:
    """The training frames of `cfg.data`, normalised. With data.adapt_2d the detections are moved
    by a keypoint adapter first: `adapter_2d` (a stored one, e.g. when resuming) or one fitted here."""
    d, depth = cfg.data, cfg.model.depth
    if d.source == "h36m":
        from ..data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, load_h36m

        wanted = tuple(d.subjects or TRAIN_SUBJECTS)
        train = [s for s in wanted if s in TRAIN_SUBJECTS]
        test = [s for s in wanted if s in TEST_SUBJECTS]  # 50 fps files: every 5th frame = 10 fps
        seqs = (load_h36m("train", d.input_2d, subjects=tuple(train), cameras=tuple(d.cameras), stride=d.train_stride)
                if train else [])
        seqs += (load_h36m("test", d.input_2d, subjects=tuple(test), cameras=tuple(d.cameras), stride=5 * d.train_stride)
                 if test else [])
        if d.adapt_2d:
            adapter_2d = adapter_2d or _fit_sh_adapter(cfg, progress)
            adapter = KeypointAdapter.from_state(adapter_2d)
            seqs = [replace(s, poses_2d=adapter.adapt(s.poses_2d)) for s in seqs]
        poses_2d_px = [s.poses_2d for s in seqs]
        poses_3d = [root_centre(s.poses_3d) for s in seqs]
        # The universal constant always comes from the full training set, whatever the mode, so
        # the reference scale has one definition across experiments.
        constant = universal_constant(poses_2d_px, depth)
        sref = [reference_scale(s.poses_3d, constant, s.focal, depth) for s in seqs]
        # The global scale's mm per unit from training subjects' 3D only: a test subject's 3D
        # must never calibrate a model (it is logged as validation, never trained on).
        head_mm = (float(np.concatenate([head_root_length(p) for p, s in zip(poses_3d, seqs)
                                         if s.subject in TRAIN_SUBJECTS]).mean())
                   if train else REFERENCE_HEAD_ROOT_MM)
        up = [s.meta["world_up"] for s in seqs]
        desc = f"Human3.6M {','.join(wanted)}, {d.input_2d}{' (adapted)' if d.adapt_2d else ''} 2D, {len(seqs)} videos"
    elif d.source == "3dhp":
        from ..data.mpi3dhp import load_3dhp_train_2d

        seqs = load_3dhp_train_2d(d.root, cameras=tuple(int(c) for c in d.cameras), with_3d=False)
        up = [tilted_up(cfg.rotation.assumed_tilt_deg)] * len(seqs)
        poses_2d_px, poses_3d, sref = [s.poses_2d[:: d.train_stride].astype(np.float64) for s in seqs], None, None
        constant = universal_constant(poses_2d_px, depth)
        head_mm = REFERENCE_HEAD_ROOT_MM
        desc = f"MPI-INF-3DHP training 2D ({len(seqs)} videos, no 3D)"
    else:
        from ..data.formats import read_keypoint_tracks

        tracks = read_keypoint_tracks(d.path_2d)  # one, or one per video of a VideoPose3D custom npz
        absent = sorted({j for _, kp in tracks for j in kp.absent})
        if absent:
            from ..data.skeleton import JOINT_NAMES

            raise InputError(f"{d.path_2d}: {', '.join(JOINT_NAMES[j] for j in absent)} absent in every frame"
                             f"{' of a track' if len(tracks) > 1 else ''}: training needs every joint seen")
        # Each track is one person seen by one camera: temporal losses and the one-skeleton fit
        # of self-training stay within it.
        up = [tilted_up(cfg.rotation.assumed_tilt_deg)] * len(tracks)
        poses_2d_px, poses_3d, sref = [kp.poses.astype(np.float64) for _, kp in tracks], None, None
        constant = universal_constant(poses_2d_px, depth)
        head_mm = REFERENCE_HEAD_ROOT_MM
        n = sum(len(p) for p in poses_2d_px)
        desc = (f"2D keypoints {d.path_2d} ({n} frames" + (f" in {len(tracks)} tracks" if len(tracks) > 1 else "")
                + ", no 3D)")
    norm_constant = constant if d.normalisation == "universal" else None
    x = [normalise(p, d.normalisation, norm_constant, depth) for p in poses_2d_px]
    frames = PoseFrames.from_sequences(x, poses_3d, sref, up)
    return TrainingData(frames, {"mode": d.normalisation, "constant": norm_constant, "depth": depth},
                        head_mm, desc, adapter_2d if d.adapt_2d else None)


def _fit_sh_adapter(cfg: ExperimentConfig, progress: bool) -> dict:
    """Fit the SH -> Human3.6M adapter on this run's training subjects (S1, S5, S6, S7, S8 or those
    of data.subjects among them; never S9/S11, whose 2D annotations are test data), cameras and
    stride: their detections against their annotated 2D (the 3D projected through the camera)."""
    from ..data.h36m import TRAIN_SUBJECTS, load_h36m

    d = cfg.data
    subjects = tuple(s for s in (d.subjects or TRAIN_SUBJECTS) if s in TRAIN_SUBJECTS) or TRAIN_SUBJECTS
    kw = {"subjects": subjects, "cameras": tuple(d.cameras), "stride": d.train_stride}
    det = load_h36m("train", "sh", **kw)
    ann = {s.name: s.poses_2d for s in load_h36m("train", "gt", **kw)}  # videos without detections go unused
    adapter, record = fit_keypoint_adapter([s.poses_2d for s in det], [ann[s.name] for s in det],
                                           seed=cfg.train.seed, progress=progress)
    if progress:
        print(f"2D keypoint adapter (SH -> Human3.6M joints) on {record['frames']} frames of {','.join(subjects)}: "
              f"root-relative error {record['px_error_before']:.1f} -> {record['px_error_after']:.1f} px", flush=True)
    return adapter.to_state({"detector": "sh", "subjects": list(subjects), **record})
