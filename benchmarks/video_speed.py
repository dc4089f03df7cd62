"""Throughput and peak memory of `ambipose video` on 720p clips of a real photograph, and on
real footage.

Writes clips of the given lengths (scikit-image's astronaut picture sliding and scaling over a
1280x720 background, 25 fps), runs `ambipose video` on each in a child process and reports
frames/s (detection, lifting, whole command) and the child's peak resident memory. Memory must
not grow with clip length: frames are streamed, only keypoints are kept. The photograph never
leaves the detector's tracker, so it is the best case; `--video` adds real clips (e.g. OpenPose's
examples/media/video.avi, 1280x720, several people moving), the speed a user should expect.

    python benchmarks/video_speed.py --minutes 0.5 10 --video real.avi --json out/video_speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_clip(path: Path, frames: int, size=(1280, 720), fps: float = 25.0) -> None:
    import cv2
    import skimage.data

    w, h = size
    src = skimage.data.astronaut()
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for t in range(frames):
        canvas = np.full((h, w, 3), 90, np.uint8)
        s = 1.0 + 0.2 * np.sin(t / 40)
        im = cv2.resize(src, (int(512 * s), int(512 * s)))
        x0 = int((w - im.shape[1]) * (0.5 + 0.5 * np.sin(t / 150)))
        y0 = h - im.shape[0]
        canvas[y0:, x0:x0 + im.shape[1]] = im[: h - y0]
        vw.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    vw.release()


def run_one(clip: Path, out_dir: Path) -> dict:
    code = ("import resource, sys; from ambipose.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "video", str(clip), "--out", str(out_dir / "r.npz"),
                           "--min-score", "0"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ambipose video failed: {proc.stderr.strip()[-500:]}")
    summary = next(ln for ln in proc.stdout.splitlines() if ln.startswith("video "))
    n = int(re.search(r": (\d+) frames", summary).group(1))
    det = float(re.search(r"detection ([\d.]+) frames/s", summary).group(1))
    lift = float(re.search(r"lifting ([\d.]+) frames/s", summary).group(1))
    peak = int(re.search(r"PEAK_RSS_KB (\d+)", proc.stdout).group(1))
    return {"frames": n, "detection_fps": det, "lifting_fps": lift, "command_fps": n / wall,
            "wall_s": wall, "peak_rss_mb": peak / 1024}


def _print(what: str, r: dict) -> None:
    print(f"{what} ({r['frames']} frames): detection {r['detection_fps']:.1f} frames/s, lifting "
          f"{r['lifting_fps']:.0f} frames/s, whole command {r['command_fps']:.1f} frames/s "
          f"({r['wall_s']:.0f} s), peak memory {r['peak_rss_mb']:.0f} MB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[0.5, 2.0], help="clip lengths")
    ap.add_argument("--video", action="append", default=[], help="also time this real clip (repeatable)")
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.minutes:
            clip = Path(tmp) / f"clip_{m:g}min.mp4"
            make_clip(clip, int(round(m * 60 * 25)))
            r = {"minutes": m, "resolution": "1280x720", **run_one(clip, Path(tmp))}
            clip.unlink()
            rows.append(r)
            _print(f"{m:g} min 720p photograph", r)
        for video in args.video:
            r = {"video": Path(video).name, **run_one(Path(video), Path(tmp))}
            rows.append(r)
            _print(Path(video).name, r)
    doc = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
           "runs": rows}
    if args.json:
        from ambipose.io import atomic_write_text

        atomic_write_text(Path(args.json), json.dumps(doc, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
