"""`ambipose lift`: your 2D keypoints -> 3D poses per frame."""

from __future__ import annotations

import argparse

from ._bvh import add_bvh_arguments, check_bvh_options, write_bvh_output
from ._skeleton import add_skeleton_arguments, skeleton_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lift", help="lift a 2D keypoint file (COCO JSON, OpenPose, VideoPose3D npz, npy/npz/csv) to 3D")
    p.add_argument("input", help="2D keypoints: file or OpenPose folder (see docs/formats.md)")
    p.add_argument("--checkpoint", default=None, help="model file (default: the shipped Human3.6M model)")
    p.add_argument("--out", required=True, help="result file: .npz, .json or .csv")
    p.add_argument("--format", default="auto", help="input format (default: from the file)")
    p.add_argument("--layout", default="auto", help="joint layout: h36m17, coco17, body25, halpe26, mediapipe33")
    p.add_argument("--min-score", type=float, default=0.3, help="joints below this confidence are treated as missing")
    p.add_argument("--track", default=None, help="which person/video in a multi-person or multi-video file")
    p.add_argument("--constant", choices=["auto", "training"], default="auto",
                   help="normalisation constant: from this input (auto) or the training data's")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), default=None,
                   help="image width and height in pixels (overrides the file's; needed for [0, 1] coordinates)")
    p.add_argument("--aspect", type=_aspect, default=None, metavar="W:H",
                   help="image aspect ratio (e.g. 16:9 or 1.778) for [0, 1] coordinates when the image size is unknown")
    p.add_argument("--smooth", type=int, default=None, metavar="FRAMES",
                   help="Savitzky-Golay filter of the 2D over this many frames (odd, e.g. 9) against detection jitter; off by default")
    add_skeleton_arguments(p, "the track")
    add_bvh_arguments(p)
    p.add_argument("--keypoint-adapter", default=None, metavar="CHECKPOINT",
                   help="move the 2D through the keypoint adapter of this checkpoint (one trained with data.adapt_2d; "
                        "for that detector's keypoints, e.g. Stacked Hourglass) before lifting")
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--device", default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run)


def _aspect(text: str) -> float:
    """'16:9' or '1.778' -> width / height."""
    try:
        w, _, h = text.partition(":")
        value = float(w) / float(h) if h else float(w)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not an aspect ratio: {text!r} (use W:H, e.g. 16:9, or a number)") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"aspect ratio must be positive: {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from ..data.formats import read_keypoints
    from ..errors import InputError
    from ..inference import PoseLifter
    from ..lift_io import lift_keypoints, skeleton_fit_line, write_result
    from ..settings import pick_device

    if args.batch_size < 1:
        raise InputError("--batch-size must be >= 1")
    check_bvh_options(args)
    skeleton = skeleton_options(args)
    kp = read_keypoints(args.input, format=args.format, layout=args.layout, min_score=args.min_score, track=args.track)
    lifter = PoseLifter.from_checkpoint(args.checkpoint, pick_device(args.device))
    if args.keypoint_adapter:
        lifter.use_keypoint_adapter(args.keypoint_adapter)
    clip = lift_keypoints(lifter, kp, constant=args.constant, batch_size=args.batch_size, progress=not args.quiet,
                          image_size=tuple(args.image_size) if args.image_size else None, smooth=args.smooth,
                          aspect=args.aspect, skeleton=skeleton)
    write_result(clip, args.out)
    bvh_line = write_bvh_output(args, clip)
    if not args.quiet:
        n, filled = len(clip.poses_3d), int(clip.missing.sum())
        print(f"lifted {n} frames from {args.input} ({kp.layout}, {kp.units}); {filled} missing 2D joints filled "
              f"by interpolation; wrote {args.out} (3D in mm, {clip.meta['frame_3d']})")
        if line := skeleton_fit_line(clip.meta):
            print(line)
        if bvh_line:
            print(bvh_line)
    return 0
