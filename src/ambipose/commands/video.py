"""`ambipose video`: a video file -> 2D keypoints (MediaPipe, offline) -> 3D poses per frame."""

from __future__ import annotations

import argparse

from ._bvh import add_bvh_arguments, check_bvh_options, write_bvh_output
from ._skeleton import add_skeleton_arguments, skeleton_options

# Each frame shown in the HTML page embeds a ~10 kB JPEG: past a few hundred the page gets heavy.
HTML_VIDEO_MAX_FRAMES = 600


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("video", help="detect 2D keypoints in a video (MediaPipe, offline) and lift them to 3D")
    p.add_argument("input", help="video file (anything OpenCV reads: mp4, avi, mov, mkv, ...)")
    p.add_argument("--out", required=True, help="3D result: .npz, .json or .csv (as `ambipose lift` writes)")
    p.add_argument("--out-2d", default=None,
                   help="2D track, reusable by `lift` and `train --data-2d` (default: <out>_2d.npz)")
    p.add_argument("--html", default=None, help="also write a viewer page: video frame + 2D beside the 3D")
    p.add_argument("--gif", default=None, help="also write an animation (.gif, or .mp4 with ffmpeg)")
    p.add_argument("--detector", default="mediapipe", help="2D backend (default: mediapipe, shipped in its wheel)")
    p.add_argument("--checkpoint", default=None, help="lifting model (default: the shipped Human3.6M model)")
    p.add_argument("--min-score", type=float, default=0.5,
                   help="joints the detector sees with less confidence are treated as missing and filled over time")
    p.add_argument("--smooth", type=int, default=None, metavar="FRAMES",
                   help="Savitzky-Golay filter of the 2D over this many frames (odd, e.g. 9); off by default")
    add_skeleton_arguments(p, "the person's track")
    add_bvh_arguments(p)
    p.add_argument("--stride", type=int, default=1, help="use every n-th frame of the video")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many (used) frames")
    p.add_argument("--device", default="auto", help="for the lifter: cpu, cuda, cuda:N or auto")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ..data.formats import keypoints_from_array
    from ..errors import InputError
    from ..inference import PoseLifter
    from ..lift_io import lift_keypoints, skeleton_fit_line, write_result
    from ..settings import pick_device
    from ..video.detectors import make_detector
    from ..video.pipeline import detect_video, save_track

    if not 0.0 <= args.min_score <= 1.0:
        raise InputError("--min-score must be in [0, 1]")
    check_bvh_options(args)
    skeleton = skeleton_options(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".npz", ".json", ".csv"):
        raise InputError(f"{out}: unknown output type '{out.suffix}' (use .npz, .json or .csv)")
    out_2d = Path(args.out_2d) if args.out_2d else out.with_name(out.stem + "_2d.npz")
    if out_2d.suffix.lower() != ".npz":
        raise InputError(f"{out_2d}: the 2D track is written as .npz")
    lifter = PoseLifter.from_checkpoint(args.checkpoint, pick_device(args.device))  # fail early on a bad model
    detector = make_detector(args.detector)
    try:
        track = detect_video(args.input, detector, stride=args.stride, max_frames=args.max_frames,
                             progress=not args.quiet)
    finally:
        detector.close()
    info = track.info
    kp = keypoints_from_array(track.keypoints, layout=track.layout, min_score=args.min_score, name=args.input,
                              image_size=(info.width, info.height), fps=track.fps)
    t0 = time.perf_counter()
    clip = lift_keypoints(lifter, kp, constant="auto", progress=not args.quiet, smooth=args.smooth, skeleton=skeleton)
    lift_s = time.perf_counter() - t0
    found = track.found
    clip.meta.update({"video": str(args.input), "detector": args.detector, "video_fps": info.fps,
                      "stride": args.stride, "frames_with_person": int(found.sum()),
                      "track_2d": str(out_2d)})
    save_track(track, out_2d)
    write_result(clip, out)
    written = [str(out), str(out_2d)]
    bvh_line = write_bvh_output(args, clip)
    if args.html:
        written.append(str(_write_html(args, track, clip)))
    if args.gif:
        from ..viz.animate import save_animation

        save_animation(clip.poses_2d, clip.poses_3d, args.gif, fps=track.fps, image_size=(info.width, info.height),
                       title=Path(args.input).name, progress=not args.quiet)
        written.append(str(args.gif))
    if not args.quiet:
        n = len(clip.poses_3d)
        print(f"video {args.input}: {n} frames ({info.width}x{info.height}, {track.fps:g} fps used); person found in "
              f"{int(found.sum())}; detection {n / max(track.seconds, 1e-9):.1f} frames/s, lifting "
              f"{n / max(lift_s, 1e-9):.0f} frames/s; wrote {', '.join(written)}")
        if line := skeleton_fit_line(clip.meta):
            print(line)
        if bvh_line:
            print(bvh_line)
    return 0


def _write_html(args: argparse.Namespace, track, clip):
    from pathlib import Path

    from ..video.reader import thumbnails
    from ..viz.html import save_html

    n = len(clip.poses_3d)
    step = -(-n // HTML_VIDEO_MAX_FRAMES)  # every step-th frame, so at most the cap are shown
    shown = list(range(0, n, step))
    jpegs = thumbnails(args.input, [int(track.frame_indices[i]) for i in shown])
    images = [jpegs.get(int(track.frame_indices[i])) for i in shown]
    info = track.info
    return save_html(clip.poses_2d[shown], clip.poses_3d[shown], args.html, fps=track.fps / step,
                     title=Path(args.input).name, image_size=(info.width, info.height), meta=clip.meta, images=images)
