"""`ambipose view`: a lifted result as an animated GIF/MP4 or a self-contained HTML viewer."""

from __future__ import annotations

import argparse


# An HTML page embeds every frame as JSON: past ~5,000 frames (a few MB) browsers get sluggish.
HTML_DEFAULT_MAX_FRAMES = 5000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="animate a result of `ambipose lift`: 2D input beside the 3D skeleton")
    p.add_argument("result", help="result .npz or .json written by `ambipose lift`")
    p.add_argument("--out", required=True, help="clip.gif, clip.mp4 (needs ffmpeg) or clip.html (rotate with the mouse)")
    p.add_argument("--fps", type=float, default=None, help="playback rate (default: the input's, else 25)")
    p.add_argument("--max-frames", type=int, default=None,
                   help=f"stop after this many frames (default: all for GIF/MP4, {HTML_DEFAULT_MAX_FRAMES} for HTML)")
    p.add_argument("--stride", type=int, default=1, help="draw every n-th frame")
    p.add_argument("--world", action="store_true",
                   help="HTML: show the 3D upright on a floor with the root's path (the BVH export's world frame, "
                        "docs/bvh.md) instead of the camera frame")
    p.add_argument("--elevation", type=float, default=None, metavar="DEG",
                   help="with --world: how far the camera looks down (default: estimated, as for --bvh)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InputError
    from ..lift_io import read_result

    clip = read_result(args.result)
    fps = args.fps or clip.meta.get("fps") or 25.0
    size = tuple(clip.meta["image_size"]) if clip.meta.get("image_size") else None
    if clip.meta.get("input_units") == "normalised":
        size = None
    out = Path(args.out)
    title = Path(str(clip.meta.get("source", args.result))).name
    if args.stride < 1 or (args.max_frames is not None and args.max_frames < 1):
        raise InputError("--stride and --max-frames must be >= 1")
    if args.elevation is not None and not args.world:
        raise InputError("--elevation: only with --world")
    if args.world and out.suffix.lower() != ".html":
        raise InputError("--world is a view of the HTML page (use --out clip.html)")
    poses_3d, path = clip.poses_3d, None
    if args.world:
        from ..bvh import world_of_clip
        from ..viz.html import world_display

        w = world_of_clip(clip, args.elevation, fps)
        poses_3d, path = world_display(w.joints), world_display(w.joints[:, 0])
    if out.suffix.lower() == ".html":
        import warnings

        from ..viz.html import save_html

        p2, p3 = clip.poses_2d[:: args.stride], poses_3d[:: args.stride]
        path = None if path is None else path[:: args.stride]
        cap = args.max_frames or HTML_DEFAULT_MAX_FRAMES
        if len(p2) > cap:
            if args.max_frames is None:
                warnings.warn(f"{args.result}: {len(p2)} frames; the HTML page shows the first {cap} "
                              f"(use --stride or --max-frames to choose)", stacklevel=2)
            p2, p3, path = p2[:cap], p3[:cap], None if path is None else path[:cap]
        save_html(p2, p3, out, fps=fps / args.stride, title=title, image_size=size, meta=clip.meta, world_path=path)
    elif out.suffix.lower() in (".gif", ".mp4"):
        from ..viz.animate import save_animation

        save_animation(clip.poses_2d, clip.poses_3d, out, fps=fps, image_size=size, title=title,
                       max_frames=args.max_frames, stride=args.stride)
    else:
        raise InputError(f"{out}: unknown output type (use .gif, .mp4 or .html)")
    print(f"wrote {out}")
    return 0
