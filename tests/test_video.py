"""`ambipose video`: real imagery (scikit-image's astronaut photograph) moved and scaled over the
frames of a short mp4, through the offline MediaPipe detector and the shipped lifter."""

from __future__ import annotations

import importlib
import json
import os
import sys

import numpy as np
import pytest

from ambipose.cli import main


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} missing: the video extra is part of `make test` under CI=true")
        pytest.skip(f"{module} not installed (pip install -e '.[video]')")


def make_clip(path, frames: int = 30, size=(640, 480), fps: float = 25.0, person: bool = True) -> None:
    """The astronaut photograph (a real person, upper body) sliding right and breathing in
    scale over a grey background, written as mp4."""
    cv2 = _need("cv2")
    skdata = _need("skimage.data")
    w, h = size
    src = skdata.astronaut()  # (512, 512, 3) RGB
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for t in range(frames):
        canvas = np.full((h, w, 3), 90, np.uint8)
        if person:
            s = 0.7 + 0.15 * np.sin(t / 5)
            im = cv2.resize(src, (int(512 * s), int(512 * s)))
            x0, y0 = 10 + 4 * t, h - im.shape[0]
            canvas[y0:, x0:x0 + im.shape[1]] = im[: h - y0, : w - x0]
        vw.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    vw.release()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    _need("mediapipe")
    p = tmp_path_factory.mktemp("video") / "astronaut.mp4"
    make_clip(p)
    return p


def test_video_detects_the_person_and_writes_3d_2d_and_viewer(clip, tmp_path, capsys):
    out, html = tmp_path / "res.npz", tmp_path / "res.html"
    # The photograph shows the upper body only: MediaPipe still places the legs (below the
    # frame, low confidence), so keep every joint with --min-score 0.
    rc = main(["video", str(clip), "--out", str(out), "--html", str(html), "--min-score", "0"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "person found in 30" in text and "frames/s" in text

    track = np.load(tmp_path / "res_2d.npz")
    kp = track["keypoints"]
    assert kp.shape == (30, 33, 3)
    assert track["image_size"].tolist() == [640, 480] and float(track["fps"]) == 25.0
    nose, l_sh, r_sh = kp[:, 0], kp[:, 11], kp[:, 12]
    # Found, confidently, inside the image, in every frame.
    for j in (nose, l_sh, r_sh):
        assert (j[:, 2] > 0.8).all()
        assert ((j[:, 0] > 0) & (j[:, 0] < 640) & (j[:, 1] > 0) & (j[:, 1] < 480)).all()
    # The face follows the photograph as it slides and scales: the nose sits at (0.44, 0.25) of
    # the 512-px picture (MediaPipe on the still image), placed at x0 = 10 + 4t, y0 = 480 - size.
    t = np.arange(30)
    size = (512 * (0.7 + 0.15 * np.sin(t / 5))).astype(int)
    expected = np.stack([10 + 4 * t + 0.44 * size, 480 - size + 0.25 * size], axis=1)
    assert np.median(np.linalg.norm(nose[:, :2] - expected, axis=1)) < 12
    assert (r_sh[:, 0] < l_sh[:, 0]).all()  # facing the camera: her right shoulder is on image left

    from ambipose.lift_io import read_result

    res = read_result(out)
    assert res.poses_3d.shape == (30, 17, 3) and np.isfinite(res.poses_3d).all()
    assert res.meta["video"] == str(clip) and res.meta["frames_with_person"] == 30
    page = html.read_text()
    from ambipose.viz.html import extract_data

    data = extract_data(page)
    assert len(data["images"]) == 30 and all(u.startswith("data:image/jpeg;base64,") for u in data["images"])


def test_the_2d_track_is_reusable_by_lift(clip, tmp_path, capsys):
    out = tmp_path / "res.npz"
    assert main(["video", str(clip), "--out", str(out), "--min-score", "0", "--quiet", "--stride", "2"]) == 0
    assert main(["lift", str(tmp_path / "res_2d.npz"), "--out", str(tmp_path / "again.npz"), "--min-score", "0",
                 "--quiet"]) == 0
    a, b = np.load(out), np.load(tmp_path / "again.npz")
    assert a["poses_3d"].shape == b["poses_3d"].shape == (15, 17, 3)
    np.testing.assert_allclose(a["poses_3d"], b["poses_3d"], atol=1e-3)
    assert json.loads(str(b["meta"]))["fps"] == 12.5


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in err if "error:" in ln]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err)
    return errors[0]


def test_bad_videos_give_one_line_and_exit_2(clip, tmp_path, capsys):
    cv2 = _need("cv2")
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video\n")
    assert main(["video", str(not_video), "--out", str(tmp_path / "a.npz")]) == 2
    assert "not a video" in _error_line(capsys) or "no frames" in capsys.readouterr().err

    empty = tmp_path / "empty.mp4"  # a valid container with 0 frames
    vw = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    vw.release()
    assert main(["video", str(empty), "--out", str(tmp_path / "b.npz")]) == 2
    line = _error_line(capsys)
    assert "no frames" in line or "not a video" in line

    nobody = tmp_path / "nobody.mp4"
    make_clip(nobody, frames=8, person=False)
    assert main(["video", str(nobody), "--out", str(tmp_path / "c.npz")]) == 2
    assert "no person detected in any of 8 frames" in _error_line(capsys)
    assert not (tmp_path / "c.npz").exists() and not (tmp_path / "c_2d.npz").exists()

    assert main(["video", str(tmp_path / "absent.mp4"), "--out", str(tmp_path / "d.npz")]) == 2
    assert "file not found" in _error_line(capsys)
    assert main(["video", str(clip), "--out", str(tmp_path / "e.txt")]) == 2
    assert "unknown output type" in _error_line(capsys)


def test_missing_mediapipe_is_one_line(clip, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import fails as if not installed
    assert main(["video", str(clip), "--out", str(tmp_path / "a.npz")]) == 2
    assert '.[video]' in _error_line(capsys)


def test_video_fit_skeleton_prints_what_it_changed(clip, tmp_path, capsys):
    out = tmp_path / "fit.npz"
    assert main(["video", str(clip), "--out", str(out), "--min-score", "0", "--stride", "2", "--fit-skeleton",
                 "--lateral", "0.03"]) == 0
    assert "one skeleton fitted: bone-length variation" in capsys.readouterr().out
    meta = json.loads(str(np.load(out)["meta"]))
    assert meta["skeleton_fit"] == {"lateral_weight": 0.03}
    lifted, fitted = meta["skeleton_fit_effect"]["bone_length_variation_pct"]
    assert fitted < lifted


def test_video_writes_a_bvh(clip, tmp_path, capsys):
    """video --bvh: one skeleton (fitted without asking), the video's frame rate, and for this
    upper-body clip (legs inferred) the assumed camera elevation, said in the summary line."""
    out, bvh_path = tmp_path / "a.npz", tmp_path / "a.bvh"
    assert main(["video", str(clip), "--out", str(out), "--bvh", str(bvh_path), "--in-place"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {bvh_path}: 30 frames at" in printed and "(assumed); the root kept above the origin" in printed
    text = bvh_path.read_text()
    assert "Frames: 30" in text and json.loads(str(np.load(out)["meta"]))["skeleton_fit"] == {}
