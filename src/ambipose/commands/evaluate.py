"""`ambipose evaluate`: Protocol 1/2 and N-MPJPE on Human3.6M S9/S11 (or MPI-INF-3DHP)."""

from __future__ import annotations

import argparse

from ._skeleton import add_skeleton_arguments, skeleton_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint (or a trivial baseline) on Human3.6M S9/S11 or MPI-INF-3DHP")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="model file (runs/<name>/model.pt or last.pt)")
    src.add_argument("--baseline", choices=["zero-depth", "mean-pose"], help="evaluate a trivial floor instead")
    src.add_argument("--write-2d", default=None, metavar="NPZ",
                     help="mocap: score nothing; write the split's 2D (projected by --cameras, every --stride-th frame) "
                          "as a VideoPose3D custom npz, one track per clip and camera, for `train --data-2d`")
    p.add_argument("--dataset", choices=["h36m", "3dhp", "mocap"], default="h36m",
                   help="test set: h36m (S9/S11), 3dhp (needs --root), mocap (motion capture that is not Human3.6M, "
                        "default <data>/mocap_ood, projected by its protocol; docs/evaluation.md)")
    p.add_argument("--root", default=None, help="3dhp: folder holding mpi_inf_3dhp_test_set/TS1..TS6 (or TS1..TS6 itself); "
                                               "mocap: a folder (or npz) in the mocap_ood format")
    p.add_argument("--split", choices=["val", "test", "all"], default="test",
                   help="mocap: the clips to score (choose on val, report test)")
    p.add_argument("--cameras", choices=["s9", "varied"], default="s9",
                   help="mocap: the four S9 cameras (the protocol) or eight cameras of other heights, distances "
                        "and focal lengths")
    p.add_argument("--pck-joints", choices=["official", "all"], default="official", help="3dhp: joints scored by PCK/AUC")
    p.add_argument("--input", choices=["gt", "sh"], default="gt", help="2D input: projected ground truth or Stacked Hourglass")
    p.add_argument("--scale", choices=["global", "per-frame-gt", "authors"], default="global",
                   help="scale protocol (see docs/evaluation.md): global (headline, no test 3D), per-frame-gt, authors")
    p.add_argument("--stride", type=int, default=None,
                   help="evaluate every n-th test frame (default: 1 = all 50 fps frames; mocap: 2, its protocol)")
    p.add_argument("--smooth", type=int, default=None, metavar="FRAMES",
                   help="Savitzky-Golay filter of each test video's 2D over this many 50 fps frames first (as lift --smooth)")
    p.add_argument("--keypoint-adapter", default=None, metavar="CHECKPOINT",
                   help="move the 2D through the keypoint adapter of this checkpoint (one trained with data.adapt_2d) "
                        "first, e.g. SH detections moved to Human3.6M's joints for a GT-trained model")
    p.add_argument("--max-frames", type=int, default=None, metavar="N",
                   help="with --write-2d: at most N frames, whole tracks in a seeded random order (the last one cut), "
                        "as a user with a clip or two has")
    add_skeleton_arguments(p, "each test video")
    p.add_argument("--json", default=None, help="write the full result (per action, all metrics) here")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import InputError
    from ..evaluation.h36m_eval import evaluate_baseline, evaluate_checkpoint
    from ..evaluation.protocols import format_table
    from ..inference import PoseLifter
    from ..io import atomic_write_text
    from ..settings import pick_device

    if args.stride is not None and args.stride < 1:
        raise InputError("--stride must be >= 1")
    if args.write_2d and args.dataset != "mocap":
        raise InputError("--write-2d writes a mocap split's projected 2D: use it with --dataset mocap")
    if args.max_frames is not None and not args.write_2d:
        raise InputError("--max-frames applies to --write-2d only")
    if args.dataset == "mocap":
        return _evaluate_mocap(args)
    args.stride = args.stride or 1
    if args.dataset == "3dhp":
        return _evaluate_3dhp(args)
    if args.baseline and (args.fit_skeleton or args.keypoint_adapter):
        raise InputError("--fit-skeleton and --keypoint-adapter are for a model; the baselines have none")
    if args.baseline:
        result = evaluate_baseline(args.baseline, args.input, args.scale, args.stride)
        title = f"baseline {args.baseline}, {args.input} 2D"
    else:
        lifter = PoseLifter.from_checkpoint(args.checkpoint, pick_device(args.device))
        if args.keypoint_adapter:
            lifter.use_keypoint_adapter(args.keypoint_adapter)
        result = evaluate_checkpoint(lifter, args.input, args.scale, args.stride, smooth=args.smooth,
                                     skeleton=skeleton_options(args))
        title = f"{args.checkpoint}, {args.input} 2D" + (", one skeleton per video" if args.fit_skeleton else "")
    print(format_table(result, title))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


def _footage_predictor(lifter, skeleton: dict | None):
    """pixels (T, 17, 2) -> root-centred 3D (T, 17, 3) model units, as `ambipose lift` lifts a
    video from other cameras than training: the universal rule applied to the video's own 2D,
    then one skeleton per video when `skeleton` (fit_skeleton keyword arguments) is given."""
    from ..skeleton_fit import fit_skeleton

    def predict(poses_2d):
        res = lifter.lift(poses_2d, constant=lifter.adapt_constant(poses_2d))
        return res.poses_3d_units if skeleton is None else fit_skeleton(res.poses_3d_units, res.root_depth, **skeleton)

    return predict


def _evaluate_3dhp(args: argparse.Namespace) -> int:
    import json

    from ..errors import InputError
    from ..inference import PoseLifter
    from ..io import atomic_write_text
    from ..settings import pick_device

    if args.baseline or not args.checkpoint:
        raise InputError("--dataset 3dhp evaluates a --checkpoint (the trivial baselines are Human3.6M only)")
    if args.keypoint_adapter:
        raise InputError("--keypoint-adapter is for Human3.6M's Stacked Hourglass detections, not --dataset 3dhp")
    if not args.root:
        raise InputError("--dataset 3dhp needs --root PATH (see docs/datasets.md)")
    try:
        from ..data.mpi3dhp import load_3dhp_test
        from ..evaluation.mpi3dhp_eval import evaluate_3dhp, format_3dhp_table
    except ImportError as e:  # h5py / scipy are the optional 'datasets' extra
        raise InputError(f"MPI-INF-3DHP support needs h5py and scipy: pip install 'ambipose[datasets]' ({e})") from None
    skeleton = skeleton_options(args)
    lifter = PoseLifter.from_checkpoint(args.checkpoint, pick_device(args.device))
    sequences = load_3dhp_test(args.root)

    lift = _footage_predictor(lifter, skeleton)
    result = evaluate_3dhp(lambda poses_2d, image_size: lift(poses_2d), sequences, args.scale, lifter.mm_per_unit, pck_joints=args.pck_joints)
    result["model"] = args.checkpoint
    result["skeleton_fit"] = skeleton
    print(format_3dhp_table(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


def _evaluate_mocap(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from ..data.mocap import DEFAULT_STRIDE, load_mocap
    from ..errors import InputError
    from ..evaluation.mocap_eval import evaluate_mocap, format_mocap_table, zero_depth
    from ..inference import PoseLifter
    from ..io import atomic_write_text
    from ..settings import pick_device

    if args.keypoint_adapter or args.input != "gt" or args.smooth or args.scale != "global":
        raise InputError("--dataset mocap takes the projected 3D as 2D input under the global scale: "
                         "--keypoint-adapter, --input sh, --smooth and --scale do not apply")
    if args.baseline and args.fit_skeleton:
        raise InputError("--fit-skeleton is for a model; the zero-depth floor has none")
    if args.baseline == "mean-pose":
        raise InputError("--dataset mocap has the zero-depth floor in every result; --baseline mean-pose is Human3.6M only")
    clips = load_mocap(args.split, args.root)
    stride = args.stride or DEFAULT_STRIDE
    if args.write_2d:
        return _write_mocap_2d(args, clips, stride)
    skeleton = skeleton_options(args)
    if args.baseline:
        mm_per_unit, title = 646.5, "baseline zero-depth"  # Human3.6M's mean head-root length per unit

        def predict(poses_2d: np.ndarray) -> np.ndarray:
            return zero_depth(poses_2d)
    else:
        lifter = PoseLifter.from_checkpoint(args.checkpoint, pick_device(args.device))
        mm_per_unit, title = lifter.mm_per_unit, str(args.checkpoint)
        predict = _footage_predictor(lifter, skeleton)

    result = evaluate_mocap(predict, clips, mm_per_unit, args.cameras, stride)
    result.update({"model": title, "split": args.split, "skeleton_fit": skeleton})
    print(format_mocap_table(result, f"{title}, mocap {args.split}" + (", one skeleton per view" if skeleton is not None else "")))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


def _write_mocap_2d(args: argparse.Namespace, clips: list, stride: int) -> int:
    """The user's view of a new domain: only its 2D, one track per clip and camera."""
    import numpy as np

    from ..data.formats.arrays import write_vp3d
    from ..data.mocap import project_clip
    from ..errors import InputError

    if args.fit_skeleton:
        raise InputError("--fit-skeleton is for scoring a model; --write-2d scores nothing")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError("--max-frames must be >= 1")
    tracks = [(f"{seq.meta['clip']}.{seq.camera}", seq.poses_2d, (seq.res_w, seq.res_h))
              for clip in clips for seq in project_clip(clip, args.cameras, stride)]
    if args.max_frames is not None:
        order = np.random.default_rng(0).permutation(len(tracks))
        kept, total = [], 0
        for i in order:
            if total >= args.max_frames:
                break
            name, poses, size = tracks[i]
            poses = poses[: args.max_frames - total]
            kept.append((name, poses, size))
            total += len(poses)
        tracks = kept
    write_vp3d(args.write_2d, tracks)
    frames = sum(len(p) for _, p, _ in tracks)
    print(f"wrote {args.write_2d}: {len(tracks)} tracks, {frames} frames of 2D (pixels, Human3.6M-17 joints; "
          f"mocap {args.split}, cameras {args.cameras}, every {stride}. frame; no 3D)")
    return 0
