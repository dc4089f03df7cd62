"""Visualisation outputs: PNG figures, the animated GIF, and the self-contained HTML player."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from ambipose.data.synthetic import synthetic_clip
from ambipose.errors import AmbiposeError, InputError
from ambipose.viz import (
    plot_reference_scale,
    plot_scale_over_time,
    plot_skeleton_grid,
    plot_skeletons,
    plot_step_ratio,
    plot_training_curves,
    save_animation,
    save_html,
)
from ambipose.viz.html import embed_json, extract_data


@pytest.fixture(scope="module")
def clip() -> dict:
    return synthetic_clip(frames=10, seed=0)


def assert_png(path: Path) -> None:
    assert path.exists() and path.stat().st_size > 0
    with Image.open(path) as im:
        assert im.format == "PNG"
        arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    assert arr.shape[0] > 50 and arr.shape[1] > 50
    assert arr.std() > 1.0, "image is blank"


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


# --- PNG figures ---------------------------------------------------------------------------------


def test_training_curves(tmp_path: Path) -> None:
    csv_path = tmp_path / "log.csv"
    rows = ["epoch,step,loss_2d,loss_3d,loss_adv,loss_kl,loss_disc"]
    for i in range(60):
        # loss_kl is empty until step 20 (a loss switched on late); loss_adv can be negative.
        kl = "" if i < 20 else f"{0.5 / (i + 1):.4f}"
        rows.append(f"{i // 20},{i * 10},{1.0 / (i + 1):.4f},{2.0 / (i + 2):.4f},{np.sin(i):.3f},{kl},")
    csv_path.write_text("\n".join(rows) + "\n")
    out = plot_training_curves(csv_path, tmp_path / "curves.png")
    assert out == tmp_path / "curves.png"
    assert_png(out)
    assert no_temp_files(tmp_path)


def test_training_curves_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        plot_training_curves(tmp_path / "missing.csv", tmp_path / "x.png")
    empty = tmp_path / "empty.csv"
    empty.write_text("epoch,step,loss_2d\n1,1,\n")
    with pytest.raises(InputError, match="no numeric"):
        plot_training_curves(empty, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_scale_plots(tmp_path: Path) -> None:
    t = np.arange(80)
    series = {
        "S_2D^ref": 1 + 0.1 * np.sin(t / 7),
        "bone only": 1 + 0.2 * np.sin(t / 5),
        "bone+iterative": 1 + 0.05 * np.sin(t / 9),
        "bone+KL+iterative": np.full(80, 1.01),
    }
    assert_png(plot_scale_over_time(series, tmp_path / "fig5.png", title="scale", fps=50))
    seqs = {"S9 Walking": 1 + 0.1 * np.sin(t / 4), "S11 Sitting": np.linspace(0.8, 1.2, 80)}
    assert_png(plot_reference_scale(seqs, tmp_path / "fig3.png"))
    with pytest.raises(AmbiposeError):
        plot_scale_over_time({}, tmp_path / "none.png")


def test_step_ratio(tmp_path: Path, monkeypatch) -> None:
    res = {
        "1": {"mpjpe": 75.0, "pa_mpjpe": 52.0},
        "2": {"mpjpe": 72.0, "pa_mpjpe": 50.5},
        "4": {"mpjpe": 70.0, "pa_mpjpe": 49.0},
        "8": {"mpjpe": 71.0},  # a missing metric leaves a gap
        "joint": {"mpjpe": 80.0, "pa_mpjpe": 55.0},
    }
    import ambipose.viz.plots as plots

    figs = []
    save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: figs.append(fig) or save(fig, out))
    assert_png(plot_step_ratio(res, tmp_path / "fig6.png"))
    ax = figs[-1].axes[0]
    pa = next(line for line in ax.get_lines() if "PA" in line.get_label())
    assert np.isnan(pa.get_ydata()[3]) and np.isfinite(np.delete(pa.get_ydata(), 3)).all()  # the gap
    assert ax.get_yscale() == "linear"  # 49-80 mm: a linear axis
    # Error bars (half the seed range), and a collapsed row hundreds of mm above the rest (log axis).
    res["joint"] = {"mpjpe": 507.0, "pa_mpjpe": 288.0}
    errors = {k: {m: 2.0 for m in v} for k, v in res.items()}
    assert_png(plot_step_ratio(res, tmp_path / "fig6_err.png", errors=errors))
    assert figs[-1].axes[0].get_yscale() == "log"


def test_skeletons(tmp_path: Path, clip: dict) -> None:
    gt = clip["poses_3d"][0]
    pred = gt + np.random.default_rng(0).normal(0, 40, gt.shape)
    assert_png(plot_skeletons(pred, gt, tmp_path / "one.png", title="S9 Walking"))
    assert_png(plot_skeletons(pred, None, tmp_path / "pred_only.png", title="no gt"))
    items = [(clip["poses_3d"][i] * 1.05, clip["poses_3d"][i], f"frame {i}") for i in (0, 3, 6)]
    assert_png(plot_skeleton_grid(items, tmp_path / "grid.png", ncols=2))
    with pytest.raises(AmbiposeError, match="shape"):
        plot_skeletons(pred[:16], gt, tmp_path / "bad.png")
    assert no_temp_files(tmp_path)


# --- animation ---------------------------------------------------------------------------------


def test_gif_frames(tmp_path: Path, clip: dict) -> None:
    out = save_animation(
        clip["poses_2d"], clip["poses_3d"], tmp_path / "anim.gif", fps=10,
        image_size=clip["image_size"], title="walk", dpi=40, progress=False,
    )
    with Image.open(out) as im:
        assert im.format == "GIF"
        frames = [np.asarray(f.convert("RGB"), dtype=np.float64) for f in ImageSequence.Iterator(im)]
    assert len(frames) == len(clip["poses_2d"])
    assert frames[0].std() > 1.0
    assert no_temp_files(tmp_path)


def test_gif_stride_max_frames_normalised_input(tmp_path: Path, clip: dict) -> None:
    # Normalised 2D (unit focal) and no image size: the 2D panel fits the data.
    p2 = (clip["poses_2d"] - 500.0) / 1150.0
    out = save_animation(p2, clip["poses_3d"], tmp_path / "s.gif", stride=3, max_frames=2, dpi=30, progress=False)
    with Image.open(out) as im:
        assert im.n_frames == 2


def test_mp4_without_ffmpeg_is_a_clear_error(tmp_path: Path, clip: dict, monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(AmbiposeError, match=r"ffmpeg.*\.gif.*\.html"):
        save_animation(clip["poses_2d"], clip["poses_3d"], tmp_path / "a.mp4", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_mp4_with_ffmpeg(tmp_path: Path, clip: dict) -> None:
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI") == "true":  # .ci/run installs it: its absence there is a failure
            pytest.fail("ffmpeg is not installed (.ci/run installs Debian's ffmpeg)")
        pytest.skip("ffmpeg not installed")
    # dpi 30 makes an odd frame height (135 px), which H.264's yuv420p cannot take unpadded.
    out = save_animation(clip["poses_2d"][:3], clip["poses_3d"][:3], tmp_path / "a.mp4", dpi=30, progress=False)
    import subprocess

    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,width,height,codec_name", "-of", "json", str(out)],
                           capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "h264" and int(stream["nb_read_frames"]) == 3
    assert stream["height"] % 2 == 0 and stream["width"] % 2 == 0


def test_animation_bad_input(tmp_path: Path, clip: dict) -> None:
    with pytest.raises(AmbiposeError, match="unsupported"):
        save_animation(clip["poses_2d"], clip["poses_3d"], tmp_path / "a.avi", progress=False)
    with pytest.raises(AmbiposeError, match="frames"):
        save_animation(clip["poses_2d"][:5], clip["poses_3d"], tmp_path / "a.gif", progress=False)
    with pytest.raises(AmbiposeError, match="shape"):
        save_animation(clip["poses_2d"][:, :16], clip["poses_3d"], tmp_path / "a.gif", progress=False)
    assert list(tmp_path.iterdir()) == []


# --- HTML ----------------------------------------------------------------------------------------


def test_html_self_contained_and_data_round_trip(tmp_path: Path, clip: dict) -> None:
    meta = {"model": "ours", "mpjpe_mm": 62.3, "note": "evil </script><script>alert(1)</script>"}
    out = save_html(
        clip["poses_2d"], clip["poses_3d"], tmp_path / "v.html", fps=25,
        title="walk </title> & more", image_size=clip["image_size"], meta=meta,
    )
    page = out.read_text(encoding="utf-8")
    assert "http" not in page.lower()  # no CDN, no external anything
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert page.count("</script>") == 2  # the data block and the player; meta cannot close them
    assert 'id="status"' in page and "ready: " in page
    assert "<title>walk &lt;/title&gt; &amp; more</title>" in page
    data = extract_data(page)
    assert data["frames"] == len(clip["poses_2d"])
    assert len(data["poses_2d"]) == len(data["poses_3d"]) == data["frames"]
    assert np.asarray(data["poses_3d"]).shape == clip["poses_3d"].shape
    np.testing.assert_allclose(data["poses_2d"], clip["poses_2d"], atol=0.051)  # 1 decimal
    np.testing.assert_allclose(data["poses_3d"], clip["poses_3d"], atol=0.051)
    assert data["meta"] == meta and data["title"] == "walk </title> & more"
    assert data["image_size"] == list(clip["image_size"])
    assert no_temp_files(tmp_path)


def test_html_normalised_and_nan(tmp_path: Path, clip: dict) -> None:
    p2 = (clip["poses_2d"][:4] - 500.0) / 1150.0  # ~0.2 wide: 1 decimal would erase the pose
    p3 = clip["poses_3d"][:4] / 1000.0  # metres
    p2[1, 5] = np.nan
    data = extract_data(save_html(p2, p3, tmp_path / "n.html").read_text())
    assert data["poses_2d"][1][5] == [None, None]
    got = np.array(data["poses_2d"], dtype=float)
    ok = np.isfinite(p2)
    np.testing.assert_allclose(got[ok], p2[ok], atol=1e-3 * np.ptp(p2[ok]))
    np.testing.assert_allclose(data["poses_3d"], p3, atol=2e-3)
    assert data["image_size"] is None


def test_embed_json_escapes_script_end() -> None:
    text = embed_json({"s": "</script><!-- x"})
    assert "</" not in text and "<!--" not in text
    assert json.loads(text) == {"s": "</script><!-- x"}


def test_html_view_caps_and_strides_frames(tmp_path, capsys):
    from ambipose.cli import main
    from ambipose.commands.view import HTML_DEFAULT_MAX_FRAMES
    from ambipose.lift_io import LiftedClip, write_result
    from ambipose.viz.html import extract_data

    n = HTML_DEFAULT_MAX_FRAMES + 10
    rng = np.random.default_rng(0)
    clip = LiftedClip(rng.normal(size=(n, 17, 2)).astype(np.float32) * 100 + 500,
                      rng.normal(size=(n, 17, 3)).astype(np.float32) * 300, np.ones(n, np.float32),
                      np.zeros((n, 17), bool), {"fps": 50.0})
    res = write_result(clip, tmp_path / "long.npz")
    assert main(["view", str(res), "--out", str(tmp_path / "a.html")]) == 0
    assert f"shows the first {HTML_DEFAULT_MAX_FRAMES}" in capsys.readouterr().err
    assert extract_data((tmp_path / "a.html").read_text())["frames"] == HTML_DEFAULT_MAX_FRAMES
    assert main(["view", str(res), "--out", str(tmp_path / "b.html"), "--stride", "10", "--max-frames", "7"]) == 0
    data = extract_data((tmp_path / "b.html").read_text())
    assert data["frames"] == 7 and data["fps"] == 5.0
    np.testing.assert_allclose(np.array(data["poses_3d"][1], dtype=float), clip.poses_3d[10], atol=0.1)
