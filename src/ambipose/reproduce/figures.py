"""The paper's analysis figures (`ambipose figures`): Fig. 3 (S_2D^ref over two test videos and
its histogram), Fig. 5 (S_2D^ref against the scales predicted by several checkpoints over one
video), a qualitative panel like Fig. 4, and training curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..settings import pick_device
from .paper import INPUTS

DEFAULT_SEQUENCES = ("S9/Walking 1/54138969", "S11/Sitting 1/54138969")


def parse_sequence(spec: str) -> tuple[str, str, str]:
    """"S9/Walking 1/54138969" -> ("S9", "Walking 1", "54138969")."""
    parts = spec.split("/")
    if len(parts) != 3 or not all(parts):
        raise InputError(f"--sequences: {spec!r} is not SUBJECT/ACTION/CAMERA, e.g. 'S9/Walking 1/54138969'")
    return parts[0], parts[1], parts[2]


def load_test_sequence(spec: str, input_2d: str = "gt"):
    """One Human3.6M test video (50 fps) named SUBJECT/ACTION/CAMERA."""
    from ..data.h36m import CAMERA_IDS, TEST_SUBJECTS, load_h36m

    subject, action, camera = parse_sequence(spec)
    if subject not in TEST_SUBJECTS:
        raise InputError(f"--sequences: {subject} is not a test subject ({', '.join(TEST_SUBJECTS)})")
    if camera not in CAMERA_IDS:
        raise InputError(f"--sequences: camera {camera} is not one of {', '.join(CAMERA_IDS)}")
    seqs = load_h36m("test", input_2d, subjects=(subject,), cameras=(camera,))
    for s in seqs:
        if s.action == action:
            return s
    raise InputError(f"--sequences: no {subject} action {action!r}; actions: {', '.join(sorted({s.action for s in seqs}))}")


def parse_named_paths(items: list[str] | None, flag: str = "--scale-models") -> dict[str, Path]:
    """["bone only=runs/a/model.pt", ...] -> {"bone only": Path(...)}."""
    out: dict[str, Path] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise InputError(f"{flag}: {item!r} is not NAME=PATH")
        out[name.strip()] = Path(path.strip())
    return out


def data_available() -> bool:
    from ..settings import h36m_root

    return (h36m_root() / "h36m_cameras.json").is_file()


def _sref_for(lifter: Any, seq: Any, constant: float):
    from ..data.normalization import reference_scale

    c = lifter.normalisation.get("constant") or constant
    return reference_scale(seq.poses_3d, c, seq.focal, lifter.depth)


def build_figures(out: str | Path, checkpoint: str | Path | None = None, scale_models: dict[str, Path] | None = None,
                  runs: list[str | Path] | None = None, input_2d: str = "gt",
                  sequences: tuple[str, ...] | list[str] = DEFAULT_SEQUENCES, n_frames: int = 8, device: str = "auto",
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write every figure whose inputs are given; returns {"written": [...], "skipped": [...]}."""
    import numpy as np

    from ..data.normalization import DEFAULT_DEPTH, reference_scale, universal_constant
    from ..viz import plots

    out = Path(out)
    written: list[str] = []
    skipped: list[str] = []
    stats: dict[str, Any] = {}

    def skip(msg: str) -> None:
        skipped.append(msg)
        log(f"skipped: {msg}")

    if input_2d not in INPUTS:
        raise InputError(f"--input must be one of {list(INPUTS)}")
    if n_frames < 1:
        raise InputError("--frames must be >= 1")
    scale_models = scale_models or {}
    for name, p in scale_models.items():
        if not Path(p).is_file():
            raise InputError(f"--scale-models {name}: {p}: checkpoint not found")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise InputError(f"--checkpoint: {checkpoint}: checkpoint not found")

    from ..inference import PoseLifter

    dev = pick_device(device)
    lifter = PoseLifter.from_checkpoint(checkpoint, dev) if checkpoint else None

    # Training curves: every given run folder (or log.csv), else the checkpoint's own folder.
    logs = [Path(r) for r in (runs or [])]
    if not logs and checkpoint is not None and (Path(checkpoint).parent / "log.csv").is_file():
        logs = [Path(checkpoint).parent]
    if not logs:
        skip("training curves: no --runs folder with a log.csv given (nor one beside --checkpoint)")
    for r in logs:
        csv_path = r / "log.csv" if r.is_dir() else r
        if not csv_path.is_file():
            skip(f"training curves: {csv_path} not found")
            continue
        name = (csv_path.parent.name or "run").replace(" ", "_")
        written.append(str(plots.plot_training_curves(csv_path, out / f"training_curves_{name}.png")))

    if not data_available():
        for what in ("Fig. 3 (reference scale)", "Fig. 5 (scale over time)", "Fig. 4 (qualitative skeletons)"):
            skip(f"{what}: Human3.6M data not found (set AMBIPOSE_DATA)")
        return {"written": written, "skipped": skipped, "stats": stats}

    from ..data.h36m import load_h36m

    depth = lifter.depth if lifter else DEFAULT_DEPTH
    # S_2D^ref uses the universal constant of the *training* 2D (same detector).
    constant = universal_constant([s.poses_2d for s in load_h36m("train", input_2d)], depth)
    stats["universal_constant_px"] = constant
    videos = {spec: load_test_sequence(spec, input_2d) for spec in sequences}
    if not videos:
        skip("Fig. 3 / Fig. 5: no --sequences given")
    else:
        # Fig. 3: S_2D^ref over each video and its histogram.
        series = {spec: reference_scale(s.poses_3d, constant, s.focal, depth) for spec, s in videos.items()}
        fps = next(iter(videos.values())).fps
        written.append(str(plots.plot_reference_scale(series, out / "fig3_reference_scale.png", fps=fps)))
        stats["fig3"] = {k: {"mean": float(v.mean()), "std": float(v.std()), "frames": len(v)} for k, v in series.items()}

        # Fig. 5: S_2D^ref against each model's predicted scales over the first video (raw).
        if not scale_models:
            skip("Fig. 5 (scale over time): no --scale-models NAME=PATH given")
        else:
            spec, seq = next(iter(videos.items()))
            ref = series[spec]
            curves = {f"S_2D^ref (mean {ref.mean():.2f})": ref}
            stats["fig5"] = {"video": spec, "S_2D^ref": float(ref.mean())}
            for name, path in scale_models.items():
                m = PoseLifter.from_checkpoint(path, dev)
                sref = _sref_for(m, seq, constant) if m.cfg.model.scale == "reference" else None
                scales = m.lift_normalised(m.normalise(seq.poses_2d), sref=sref).scales
                if m.cfg.model.scale == "off":
                    log(f"Fig. 5: {name} has no scale module (scale off): its curve is constant 1")
                curves[f"{name} (mean {scales.mean():.2f})"] = scales
                stats["fig5"][name] = float(scales.mean())
            written.append(str(plots.plot_scale_over_time(
                curves, out / "fig5_scale_over_time.png", fps=seq.fps,
                title=f"{spec}: S_2D^ref vs predicted scales (raw values)")))
            log("Fig. 5: curves are raw; a model's scales may differ from S_2D^ref by a constant factor "
                "(compare the means in the legend)")

    # Fig. 4: predicted (mm, global scale) and ground-truth skeletons, no alignment.
    if lifter is None:
        skip("Fig. 4 (qualitative skeletons): no --checkpoint given")
    else:
        from ..data.h36m import CAMERA_IDS
        from ..data.skeleton import root_centre

        pool = load_h36m("test", input_2d, cameras=(CAMERA_IDS[0],))
        picks = [pool[int(i)] for i in np.linspace(0, len(pool) - 1, min(n_frames, len(pool))).round()]
        items = []
        for s in picks:
            i = len(s) // 2
            sref = _sref_for(lifter, s, constant)[i : i + 1] if lifter.cfg.model.scale == "reference" else None
            pred = lifter.lift_normalised(lifter.normalise(s.poses_2d[i : i + 1]), sref=sref).poses_3d_mm[0]
            pred = root_centre(pred)
            gt = root_centre(s.poses_3d[i])
            err = float(np.linalg.norm(pred - gt, axis=-1).mean())
            items.append((pred, gt, f"{s.subject} {s.action} #{i}\nMPJPE {err:.0f} mm"))
        written.append(str(plots.plot_skeleton_grid(items, out / "fig4_qualitative.png", ncols=4)))
    return {"written": written, "skipped": skipped, "stats": stats}
