"""Animated GIF / MP4 of a clip: the 2D input skeleton beside the lifted 3D skeleton.

Frames and units
- poses_2d: (T, 17, 2) image coordinates (pixels, or normalised), x right, y DOWN.
- poses_3d: (T, 17, 3) camera frame, X right, Y down, Z forward, millimetres or model units.
  Drawn in a matplotlib 3D axes as (X, Z, -Y) so the person stands upright.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from ..progress import progress_bar

from ..data.skeleton import BONES
from ..errors import AmbiposeError
from ..io import atomic_path
from .html import check_clip
from .plots import (
    CENTRE_COLOUR,
    LEFT_COLOUR,
    RIGHT_COLOUR,
    cube_limits,
    draw_skeleton_2d,
    draw_skeleton_3d,
    set_cube_axes,
    to_plot3d,
)


def _limits_2d(p2: np.ndarray, image_size: tuple[int, int] | None) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the 2D panel: the image rectangle if known, else the data's box + margin."""
    if image_size is not None:
        w, h = image_size
        return 0.0, float(w), 0.0, float(h)
    pts = p2.reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        return -1.0, 1.0, -1.0, 1.0
    lo, hi = pts.min(0), pts.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.15, 1e-6)
    return centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half


def save_animation(
    poses_2d: np.ndarray,
    poses_3d: np.ndarray,
    out_path: str | Path,
    fps: float = 25,
    image_size: tuple[int, int] | None = None,
    title: str | None = None,
    max_frames: int | None = None,
    stride: int = 1,
    dpi: int = 80,
    progress: bool = True,
) -> Path:
    """Render the clip to an animated `.gif` (Pillow) or `.mp4` (ffmpeg) and write it atomically.

    Args:
        poses_2d: (T, 17, 2) input keypoints, image coordinates (pixels or normalised), y down.
        poses_3d: (T, 17, 3) camera-frame poses (X right, Y down, Z forward), mm or model units.
        out_path: destination; the suffix (.gif or .mp4) picks the format.
        fps: playback frame rate of the output, Hz.
        image_size: (width, height) in pixels; when given the 2D panel shows the whole image.
        title: optional figure title (the frame counter is appended).
        max_frames: keep at most this many frames (after `stride`).
        stride: use every `stride`-th frame.
        dpi: rendering resolution (the figure is 9 x 4.5 inches).
        progress: show a tqdm progress bar while rendering.

    Returns the path written. Raises `AmbiposeError` for bad shapes, an unknown suffix, or .mp4
    without an `ffmpeg` executable on PATH.
    """
    from matplotlib.animation import FFMpegWriter, PillowWriter

    out_path = Path(out_path)
    p2, p3 = check_clip(poses_2d, poses_3d)
    suffix = out_path.suffix.lower()
    if suffix == ".gif":
        writer = PillowWriter(fps=fps)
    elif suffix == ".mp4":
        if shutil.which("ffmpeg") is None:
            raise AmbiposeError(
                f"{out_path}: writing .mp4 needs the `ffmpeg` executable, which is not on PATH; "
                "install ffmpeg, or write a .gif or a self-contained .html instead"
            )
        # yuv420p needs even frame sizes: pad an odd width or height by one pixel.
        writer = FFMpegWriter(fps=fps, codec="libx264",
                              extra_args=["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p"])
    else:
        raise AmbiposeError(f"{out_path}: unsupported animation format {suffix!r}; use .gif or .mp4 (or .html)")
    if stride < 1:
        raise AmbiposeError(f"stride must be >= 1, got {stride}")
    frames = list(range(0, len(p2), stride))
    if max_frames is not None:
        frames = frames[: max(1, int(max_frames))]

    fig = Figure(figsize=(9, 4.5))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.04, right=0.98, bottom=0.05, top=0.88, wspace=0.1)
    ax2 = fig.add_subplot(1, 2, 1)
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")

    # 2D panel: fixed limits over the clip, y axis pointing down like the image.
    x0, x1, y0, y1 = _limits_2d(p2, image_size)
    ax2.set_xlim(x0, x1)
    ax2.set_ylim(y1, y0)
    ax2.set_aspect("equal")
    ax2.set_title("2D input", fontsize=10)
    ax2.tick_params(labelsize=7)
    lines2 = draw_skeleton_2d(ax2, p2[frames[0]], lw=2.2)
    (dots2,) = ax2.plot([], [], "o", color=CENTRE_COLOUR, ms=2.5)

    # 3D panel: one cube over the whole clip so the person's size and position stay comparable.
    centre, half = cube_limits(p3[frames])
    set_cube_axes(ax3, to_plot3d(centre), half)
    ax3.view_init(elev=15, azim=-65)
    ax3.tick_params(labelsize=6)
    ax3.set_title("3D (camera frame)", fontsize=10)
    lines3 = draw_skeleton_3d(ax3, p3[frames[0]], lw=2.2)
    ax3.plot([], [], [], color=LEFT_COLOUR, label="left")
    ax3.plot([], [], [], color=RIGHT_COLOUR, label="right")
    ax3.legend(fontsize=7, loc="upper left")
    suptitle = fig.suptitle("", fontsize=11)

    def update(i: int) -> None:
        a2, a3 = p2[i], to_plot3d(p3[i])
        for ln2, ln3, (child, parent) in zip(lines2, lines3, BONES):
            ln2.set_data(a2[[parent, child], 0], a2[[parent, child], 1])
            ln3.set_data_3d(a3[[parent, child], 0], a3[[parent, child], 1], a3[[parent, child], 2])
        dots2.set_data(a2[:, 0], a2[:, 1])
        # The frame counter also keeps consecutive frames distinct (GIF writers merge duplicates).
        counter = f"frame {i + 1}/{len(p2)}"
        suptitle.set_text(f"{title} — {counter}" if title else counter)

    with atomic_path(out_path) as tmp:
        with writer.saving(fig, str(tmp), dpi=dpi):
            bar = progress_bar(frames, progress, desc=f"render {out_path.name}", unit="frame")
            for i in bar:
                update(i)
                writer.grab_frame()
    return out_path
