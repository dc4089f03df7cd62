"""`ambipose demo`: the whole pipeline on an embedded default, with no data and no downloads.

A walking person generated procedurally by `ambipose.data.synthetic` (project code, no copied
data) is projected into a virtual camera; its 2D keypoints are written as a plain .npy file,
read back like any user file, lifted with the shipped checkpoint, summarised per frame, and
rendered as a GIF and a self-contained HTML viewer.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="lift a bundled synthetic walking clip end to end (no data needed)")
    p.add_argument("--out", default="out/demo", help="output folder")
    p.add_argument("--frames", type=int, default=100, help="clip length (50 fps)")
    p.add_argument("--checkpoint", default=None, help="model file (default: the shipped one)")
    p.add_argument("--no-gif", action="store_true", help="skip the GIF (the slowest part)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from ..data.formats import read_keypoints
    from ..data.skeleton import root_centre
    from ..data.synthetic import synthetic_clip
    from ..errors import InputError
    from ..evaluation import metrics
    from ..inference import PoseLifter
    from ..io import atomic_path
    from ..lift_io import lift_keypoints, write_result
    from ..viz.html import save_html

    if args.frames < 2:
        raise InputError("--frames must be >= 2")
    out = Path(args.out)
    clip = synthetic_clip(frames=args.frames, seed=0)
    src = out / "synthetic_walk_2d.npy"
    with atomic_path(src) as tmp:
        np.save(tmp, clip["poses_2d"].astype(np.float32))
    kp = read_keypoints(src)
    lifter = PoseLifter.from_checkpoint(args.checkpoint)
    print(f"model: {lifter.source} (trained on {lifter.cfg.description or lifter.cfg.name})")
    print(f"input: {src}: {len(kp.poses)} frames of a procedurally generated walker, "
          f"{clip['image_size'][0]}x{clip['image_size'][1]} px virtual camera")
    lifted = lift_keypoints(lifter, kp, progress=False)
    kp.fps = clip["fps"]
    lifted.meta["fps"] = clip["fps"]
    lifted.meta["image_size"] = list(clip["image_size"])
    result = write_result(lifted, out / "result.npz")

    gt = root_centre(clip["poses_3d"])
    mp, pa = metrics.mpjpe(lifted.poses_3d, gt), metrics.pa_mpjpe(lifted.poses_3d, gt)
    depth = lifted.poses_3d[..., 2]
    print("\n frame | scale s | depth span (mm) | MPJPE (mm) | PA-MPJPE (mm)")
    for i in range(0, len(mp), max(1, len(mp) // 10)):
        print(f" {i:5d} | {lifted.scales[i]:7.3f} | {depth[i].max() - depth[i].min():15.0f} | {mp[i]:10.1f} | {pa[i]:13.1f}")
    print(f"\nmean over {len(mp)} frames: MPJPE {mp.mean():.1f} mm, PA-MPJPE {pa.mean():.1f} mm "
          "(against the synthetic walker's known 3D; a smoke check, not a benchmark)")
    html = save_html(lifted.poses_2d, lifted.poses_3d, out / "demo.html", fps=clip["fps"], title="ambipose demo",
                     image_size=clip["image_size"], meta={"note": "synthetic walker", "mpjpe_mm": float(mp.mean())})
    print(f"wrote {result}, {html}", end="")
    if not args.no_gif:
        from ..viz.animate import save_animation

        gif = save_animation(lifted.poses_2d, lifted.poses_3d, out / "demo.gif", fps=25, image_size=clip["image_size"],
                             title="ambipose demo", stride=2, progress=False)
        print(f", {gif}", end="")
    print()
    return 0
