"""Static figures (PNG) for training logs, the scale analyses and qualitative skeletons.

Every function builds a standalone matplotlib `Figure` on the Agg canvas (no pyplot, no global
backend switch, nothing left open), writes the PNG atomically and returns its path.

3D poses are in the camera frame: X right, Y down, Z forward (away from the camera), millimetres
or model units. In 3D axes they are drawn as (X, Z, -Y) so the person stands upright (-Y is up)
and depth runs into the screen.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..data.skeleton import BONES, LEFT_JOINTS, LR_BONE_PAIRS, NUM_JOINTS, RIGHT_JOINTS, bone_lengths
from ..errors import AmbiposeError, InputError
from ..io import atomic_write_bytes

# Colours: left limbs blue, right limbs red, the trunk/head dark grey (the paper's convention of
# one colour per side makes left/right flips visible at a glance).
LEFT_COLOUR = "#1f5fd6"
RIGHT_COLOUR = "#d62728"
CENTRE_COLOUR = "#333333"
GT_COLOUR = "#2ca02c"

_LEFT = frozenset(LEFT_JOINTS)
_RIGHT = frozenset(RIGHT_JOINTS)


def bone_colour(child: int) -> str:
    """Colour of the bone ending at joint `child` (left / right / centre)."""
    if child in _LEFT:
        return LEFT_COLOUR
    if child in _RIGHT:
        return RIGHT_COLOUR
    return CENTRE_COLOUR


def to_plot3d(pose: np.ndarray) -> np.ndarray:
    """Camera frame (..., 3) [X right, Y down, Z forward] -> matplotlib 3D (x, y, z) = (X, Z, -Y)."""
    pose = np.asarray(pose, dtype=np.float64)
    return np.stack([pose[..., 0], pose[..., 2], -pose[..., 1]], axis=-1)


def cube_limits(points: np.ndarray, margin: float = 0.1) -> tuple[np.ndarray, float]:
    """Centre (3,) and half-size of an axis-aligned cube holding all finite `points` (..., 3)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        return np.zeros(3), 1.0
    lo, hi = pts.min(0), pts.max(0)
    half = float((hi - lo).max()) / 2 * (1 + margin)
    return (lo + hi) / 2, half if half > 0 else 1.0


def set_cube_axes(ax, centre: np.ndarray, half: float) -> None:
    """Equal-aspect limits on a 3D axes (plot coordinates), with unit labels kept terse."""
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    ax.set_box_aspect((1, 1, 1))
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(5))  # fewer, readable ticks on small panels
    ax.set_xlabel("X")
    ax.set_ylabel("Z (depth)")
    ax.set_zlabel("-Y (up)")


def draw_skeleton_3d(ax, pose: np.ndarray, colour: str | None = None, **kw) -> list:
    """Draw one camera-frame pose (17, 3) on a 3D axes; returns the Line3D artists (one per bone).

    `colour=None` colours by side (left / right / centre); otherwise one colour for all bones.
    """
    p = to_plot3d(pose)
    lines = []
    for child, parent in BONES:
        seg = p[[parent, child]]
        (ln,) = ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=colour or bone_colour(child), **kw)
        lines.append(ln)
    return lines


def draw_skeleton_2d(ax, pose: np.ndarray, **kw) -> list:
    """Draw one 2D pose (17, 2) in image coordinates (the axes' y must already point down)."""
    p = np.asarray(pose, dtype=np.float64)
    lines = []
    for child, parent in BONES:
        seg = p[[parent, child]]
        (ln,) = ax.plot(seg[:, 0], seg[:, 1], color=bone_colour(child), **kw)
        lines.append(ln)
    return lines


def _check_pose(pose: np.ndarray, dims: int, name: str) -> np.ndarray:
    arr = np.asarray(pose, dtype=np.float64)
    if arr.shape != (NUM_JOINTS, dims):
        raise AmbiposeError(f"{name}: expected shape ({NUM_JOINTS}, {dims}), got {arr.shape}")
    return arr


def save_figure(fig: Figure, out_png: str | Path, dpi: int = 110) -> Path:
    """Render `fig` to PNG bytes on the Agg canvas and write them atomically; returns the path."""
    out_png = Path(out_png)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write_bytes(out_png, buf.getvalue())
    return out_png


# --- training log -------------------------------------------------------------------------------


def read_training_csv(csv_path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read a training log CSV -> (steps (N,), {column: values (N,)}) for every non-index column.

    Empty cells and non-numbers become NaN. `step` falls back to the row index where empty.
    """
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except FileNotFoundError:
        raise InputError(f"{csv_path}: training log not found") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{csv_path}: not a readable CSV ({e})") from None
    if not rows:
        raise InputError(f"{csv_path}: training log has no data rows")

    def num(v: str | None) -> float:
        try:
            return float(v) if v not in (None, "") else math.nan
        except ValueError:
            return math.nan

    steps = np.array([num(r.get("step")) for r in rows])
    steps = np.where(np.isfinite(steps), steps, np.arange(len(rows), dtype=float))
    cols = {
        k: np.array([num(r.get(k)) for r in rows])
        for k in header
        if k is not None and k not in ("epoch", "step")
    }
    return steps, cols


def plot_training_curves(csv_path: str | Path, out_png: str | Path) -> Path:
    """Small multiples of every numeric column (losses) of a training log vs `step`.

    The CSV has a header with `epoch`, `step` and any loss columns (cells may be empty). Columns
    with no numbers are skipped; a panel uses a log y axis when all its values are positive.
    """
    steps, cols = read_training_csv(csv_path)
    cols = {k: v for k, v in cols.items() if np.isfinite(v).any()}
    if not cols:
        raise InputError(f"{csv_path}: no numeric loss columns to plot")
    n = len(cols)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.0 * ncols, 2.8 * nrows), layout="constrained")
    for i, (name, vals) in enumerate(cols.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ok = np.isfinite(vals)
        x, y = steps[ok], vals[ok]
        ax.plot(x, y, color="#1f77b4", lw=0.8, alpha=0.5 if len(y) > 50 else 1.0, marker="" if len(y) > 1 else "o")
        if len(y) > 50:
            # A running mean makes the trend readable through minibatch noise.
            k = max(2, len(y) // 25)
            lo = (k - 1) // 2  # centred window, so the trend does not lag behind the raw curve
            ax.plot(x[lo : lo + len(y) - k + 1], np.convolve(y, np.ones(k) / k, mode="valid"), color="#d62728", lw=1.4)
        if (y > 0).all():
            ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    fig.suptitle(Path(csv_path).name)
    return save_figure(fig, out_png)


# --- scale analyses ------------------------------------------------------------------------------


def _frames_axis(n: int, fps: float | None) -> tuple[np.ndarray, str]:
    if fps:
        return np.arange(n) / fps, "time (s)"
    return np.arange(n, dtype=float), "frame"


def plot_scale_over_time(
    series: dict[str, np.ndarray], out_png: str | Path, title: str = "scale over time", fps: float | None = None
) -> Path:
    """Several per-frame scale curves of one video on one axes (the paper's Fig. 5).

    `series` maps a label (e.g. "S_2D^ref", "bone only", "bone+KL+iterative") to a (T,) array of
    scales (unitless, or whatever unit the caller uses; all curves share one y axis). x is the
    frame index, or seconds when `fps` is given.
    """
    if not series:
        raise AmbiposeError("plot_scale_over_time: no series given")
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for label, vals in series.items():
        y = np.asarray(vals, dtype=np.float64).reshape(-1)
        x, xlabel = _frames_axis(len(y), fps)
        ax.plot(x, y, lw=1.3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("scale")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, out_png)


# (name, left bone, right bone) drawn by plot_bone_lengths (bones as indices into BONES): left
# solid, right dashed
_LIMB_BONES = tuple((name, *LR_BONE_PAIRS[k]) for name, k in (("thigh", 1), ("shin", 2), ("upper arm", 4),
                                                               ("forearm", 5)))


def plot_bone_lengths(tracks: dict[str, np.ndarray], out_png: str | Path, fps: float | None = None,
                      title: str = "bone lengths over time") -> Path:
    """Left and right thigh, shin, upper arm and forearm lengths over a track, one panel per
    bone pair and one colour per track (e.g. "lifted" vs "one skeleton"): a rigid, symmetric
    skeleton draws two flat, overlapping lines. `tracks` maps a label to (T, 17, 3) poses in mm."""
    if not tracks:
        raise AmbiposeError("plot_bone_lengths: no tracks given")
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    axes = [fig.add_subplot(2, 2, i + 1) for i in range(len(_LIMB_BONES))]
    for k, (label, poses) in enumerate(tracks.items()):
        p = np.asarray(poses, dtype=np.float64)
        if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3) or len(p) == 0:
            raise AmbiposeError(f"{label}: expected poses of shape (T, {NUM_JOINTS}, 3), got {p.shape}")
        lengths = bone_lengths(p)  # (T, 16)
        x, xlabel = _frames_axis(len(p), fps)
        for ax, (name, left, right) in zip(axes, _LIMB_BONES):
            colour = f"C{k}"
            ax.plot(x, lengths[:, left], color=colour, lw=1.0, label=f"{label}, left")
            ax.plot(x, lengths[:, right], color=colour, lw=1.0, ls="--", label=f"{label}, right")
            ax.set_title(name, fontsize=10)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("length (mm)")
            ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, out_png)


def plot_reference_scale(
    sequences: dict[str, np.ndarray], out_png: str | Path, fps: float | None = None, bins: int = 40
) -> Path:
    """The paper's Fig. 3: per sequence, the reference-scale curve over time and its histogram.

    `sequences` maps a sequence name to its (T,) reference scales; one row per sequence (the paper
    shows two). Left: scale vs frame (or seconds with `fps`); right: histogram of the same values.
    """
    if not sequences:
        raise AmbiposeError("plot_reference_scale: no sequences given")
    n = len(sequences)
    fig = Figure(figsize=(10, 2.8 * n), layout="constrained")
    for i, (name, vals) in enumerate(sequences.items()):
        y = np.asarray(vals, dtype=np.float64).reshape(-1)
        x, xlabel = _frames_axis(len(y), fps)
        ax_t = fig.add_subplot(n, 2, 2 * i + 1)
        ax_t.plot(x, y, lw=1.0, color="#1f77b4")
        ax_t.set_title(f"{name}: reference scale", fontsize=10)
        ax_t.set_xlabel(xlabel)
        ax_t.set_ylabel("scale")
        ax_t.grid(True, alpha=0.3)
        ax_h = fig.add_subplot(n, 2, 2 * i + 2)
        finite = y[np.isfinite(y)]
        ax_h.hist(finite, bins=bins, color="#ff7f0e", alpha=0.85)
        if len(finite):
            ax_h.axvline(float(np.mean(finite)), color="k", lw=1, ls="--", label="mean")
            ax_h.legend(fontsize=8)
        ax_h.set_title(f"{name}: histogram", fontsize=10)
        ax_h.set_xlabel("scale")
        ax_h.set_ylabel("frames")
    return save_figure(fig, out_png)


_METRIC_LABELS = {"mpjpe": "MPJPE", "pa_mpjpe": "PA-MPJPE", "pa-mpjpe": "PA-MPJPE", "n_mpjpe": "N-MPJPE"}


def plot_step_ratio(results: dict[str, dict[str, float]], out_png: str | Path, unit: str = "mm",
                    errors: dict[str, dict[str, float]] | None = None) -> Path:
    """The paper's Fig. 6: error vs the lifter:scale training step ratio.

    `results` maps ratio labels in display order ("1", "2", "4", "8", "joint") to metric dicts such
    as {"mpjpe": 70.1, "pa_mpjpe": 50.3} (in `unit`). Every metric found is one line; a metric
    missing for a ratio leaves a gap. `errors`, keyed like `results`, draws error bars (e.g.
    half the range over seeds).
    """
    if not results:
        raise AmbiposeError("plot_step_ratio: no results given")
    labels = [str(k) for k in results]
    metrics: list[str] = []
    for d in results.values():
        metrics += [m for m in d if m not in metrics]
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(labels))
    for m, marker in zip(metrics, "osD^v<>" * 10):
        y = np.array([float(results[k].get(m, math.nan)) for k in results])
        if errors is not None:
            err = np.array([float((errors.get(k) or {}).get(m, 0.0)) for k in results])
            ax.errorbar(x, y, yerr=err, marker=marker, lw=1.5, capsize=3, label=_METRIC_LABELS.get(m.lower(), m))
        else:
            ax.plot(x, y, marker=marker, lw=1.5, label=_METRIC_LABELS.get(m.lower(), m))
        for xi, yi in zip(x, y):
            if np.isfinite(yi):
                ax.annotate(f"{yi:.1f}", (xi, yi), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    values = np.array([float(v) for d in results.values() for v in d.values()], dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() > 3 * values.min():
        ax.set_yscale("log")  # a collapsed run (hundreds of mm) would flatten the others into one line
    ax.set_xticks(x, labels)
    ax.set_xlabel("lifter : scale step ratio")
    ax.set_ylabel(f"error ({unit})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, out_png)


# --- qualitative skeletons ----------------------------------------------------------------------


def _skeleton_axes(ax, pred: np.ndarray, gt: np.ndarray | None, title: str | None, legend: bool = True) -> None:
    pred = _check_pose(pred, 3, "pred")
    pts = [pred]
    draw_skeleton_3d(ax, pred, lw=2.2)
    # Legend proxies: one entry for the prediction (drawn by side), one for the ground truth.
    handles = [ax.plot([], [], [], color=LEFT_COLOUR, lw=2.2, label="prediction (L blue / R red)")[0]]
    if gt is not None:
        gt = _check_pose(gt, 3, "gt")
        pts.append(gt)
        draw_skeleton_3d(ax, gt, colour=GT_COLOUR, lw=1.6, ls="--")
        handles.append(ax.plot([], [], [], color=GT_COLOUR, lw=1.6, ls="--", label="ground truth")[0])
    centre, half = cube_limits(np.concatenate(pts))
    set_cube_axes(ax, to_plot3d(centre), half)
    # Seen slightly from the side and above, like the paper's qualitative figures.
    ax.view_init(elev=12, azim=-70)
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(handles=handles, fontsize=7, loc="upper left")


def plot_skeletons(pred: np.ndarray, gt: np.ndarray | None, out_png: str | Path, title: str | None = None) -> Path:
    """Predicted (17, 3) and optional ground-truth (17, 3) camera-frame skeletons in one 3D axes.

    No alignment is applied (as in the paper's Fig. 4): both are drawn where they are, in the same
    unit. The prediction is coloured by side, the ground truth green dashed.
    """
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    _skeleton_axes(ax, pred, gt, title)
    return save_figure(fig, out_png)


def plot_skeleton_grid(
    items: Sequence[tuple[np.ndarray, np.ndarray | None, str]] | Iterable, out_png: str | Path, ncols: int = 4
) -> Path:
    """A grid of `plot_skeletons` panels: `items` is a list of (pred (17, 3), gt (17, 3) | None, title)."""
    items = list(items)
    if not items:
        raise AmbiposeError("plot_skeleton_grid: no skeletons given")
    ncols = max(1, min(ncols, len(items)))
    nrows = math.ceil(len(items) / ncols)
    fig = Figure(figsize=(3.4 * ncols, 3.4 * nrows), layout="constrained")
    for i, (pred, gt, title) in enumerate(items):
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
        _skeleton_axes(ax, pred, gt, title, legend=(i == 0))
    return save_figure(fig, out_png)
