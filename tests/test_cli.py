"""The command line as a user meets it: lift, view, demo, train on own 2D, and clear errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ambipose.cli import main
from ambipose.data.synthetic import synthetic_clip
from ambipose.inference import DEFAULT_CHECKPOINT

TINY_YAML = """
name: tiny
model: {width: 32, blocks: 1, disc_blocks: 1}
loss: {tmc_offset: 1, bone_min_offset: 2}
train: {epochs: 2, iters_per_epoch: 5, batch_size: 32, threads: 1, log_every: 1}
"""


@pytest.fixture(scope="module")
def walk_2d(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("walk") / "walk.npy"
    np.save(path, synthetic_clip(frames=60, seed=3)["poses_2d"].astype(np.float32))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, walk_2d) -> Path:
    d = tmp_path_factory.mktemp("run")
    (d / "tiny.yaml").write_text(TINY_YAML)
    assert main(["train", "--config", str(d / "tiny.yaml"), "--data-2d", str(walk_2d), "--out", str(d / "run"),
                 "--no-progress", "--device", "cpu"]) == 0
    return d / "run" / "model.pt"


def test_train_on_own_2d_only_then_lift_each_output_format(tiny_model, walk_2d, tmp_path, capsys):
    assert tiny_model.is_file()
    for suffix in (".npz", ".json", ".csv"):
        out = tmp_path / f"res{suffix}"
        assert main(["lift", str(walk_2d), "--checkpoint", str(tiny_model), "--out", str(out), "--quiet"]) == 0
        assert out.stat().st_size > 0
    with np.load(tmp_path / "res.npz") as d:
        assert d["poses_3d"].shape == (60, 17, 3) and np.isfinite(d["poses_3d"]).all()
        np.testing.assert_allclose(d["poses_3d"][:, 0], 0.0, atol=1e-4)  # root-centred
        assert json.loads(str(d["meta"]))["units_3d"] == "mm"
    doc = json.loads((tmp_path / "res.json").read_text())
    assert len(doc["frames"]) == 60 and len(doc["frames"][0]["poses_3d_mm"]) == 17
    lines = (tmp_path / "res.csv").read_text().splitlines()
    assert lines[1].startswith("frame,scale,Hip_x_mm") and len(lines) == 62


def test_view_html_and_gif(tiny_model, walk_2d, tmp_path):
    res = tmp_path / "res.npz"
    assert main(["lift", str(walk_2d), "--checkpoint", str(tiny_model), "--out", str(res), "--quiet"]) == 0
    assert main(["view", str(res), "--out", str(tmp_path / "v.html")]) == 0
    page = (tmp_path / "v.html").read_text()
    assert "<canvas" in page and "src=\"http" not in page
    assert main(["view", str(res), "--out", str(tmp_path / "v.gif"), "--max-frames", "4"]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "v.gif").n_frames == 4


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.exists(), reason="shipped checkpoint not built yet")
def test_demo_runs_with_the_shipped_checkpoint(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--frames", "30", "--no-gif"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"mean over 30 frames: MPJPE ([\d.]+) mm, PA-MPJPE ([\d.]+) mm", out)
    # The shipped model on the synthetic walker: 49.6 / 41.2 mm; scrambled weights give ~900 mm.
    assert m and float(m.group(1)) < 60.0 and float(m.group(2)) < 50.0
    assert (tmp_path / "demo.html").is_file() and (tmp_path / "result.npz").is_file()


def _run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ambipose.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.mark.parametrize("make, args, expect", [
    (lambda p: p.write_text("{not json"), ["lift", "{p}", "--out", "{o}"], "JSON"),
    (lambda p: np.save(p, np.zeros((5, 13, 2))), ["lift", "{p}", "--out", "{o}"], "13"),
    (lambda p: p.write_bytes(b"\x93NUMPY garbage"), ["lift", "{p}", "--out", "{o}"], "{p}"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not a zip"), ["lift", "{p}", "--checkpoint", "{p}", "--out", "{o}"], "{p}"),
    (lambda p: p.write_text("train: {epochz: 1}\n"), ["train", "--config", "{p}"], "epochz"),
    (lambda p: p.write_text("x"), ["view", "{p}", "--out", "{o}"], "{p}"),
])
def test_bad_input_gives_one_error_line_and_exit_2(tmp_path, make, args, expect):
    suffix = {"JSON": ".json", "epochz": ".yaml"}.get(expect, ".npy")
    if args[0] == "view":
        suffix = ".npz"
    p = tmp_path / f"bad{suffix}"
    make(p)
    assert p.is_file()  # the file under test is the one named (np.save keeps a .npy name as it is)
    fill = lambda s: s.replace("{p}", str(p)).replace("{o}", str(tmp_path / "o.npz"))  # noqa: E731
    r = _run_cli(*[fill(a) for a in args], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    err = [line for line in r.stderr.splitlines() if line.startswith("ambipose")]
    assert len(err) == 1 and fill(expect) in err[0], r.stderr


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_checkpoint_with_pickle_payload_does_not_execute(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "ambipose-checkpoint-v1", "config": {}, "model": {}, "normalisation": {}, "x": _Boom()}, evil)
    r = _run_cli("lift", "anything.npy", "--checkpoint", str(evil), "--out", "o.npz", cwd=tmp_path)
    assert r.returncode == 2
    np.save(tmp_path / "anything.npy", synthetic_clip(frames=5)["poses_2d"])
    r = _run_cli("lift", "anything.npy", "--checkpoint", str(evil), "--out", "o.npz", cwd=tmp_path)
    assert r.returncode == 2 and "not an ambipose checkpoint: it holds a pickled posix.system" in r.stderr
    assert not (tmp_path / "PWNED").exists()


def test_every_command_has_help_and_docs_are_current(capsys):
    from ambipose.commands._doc import render

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    doc = Path(__file__).parents[1] / "docs" / "commands.md"
    assert doc.read_text() == render(), "docs/commands.md is stale: python -m ambipose.commands._doc > docs/commands.md"


def test_fine_tune_from_a_checkpoint_and_mismatched_init(tiny_model, walk_2d, tmp_path, capsys):
    cfg = tiny_model.parents[1] / "tiny.yaml"
    assert main(["train", "--config", str(cfg), "--data-2d", str(walk_2d), "--init", str(tiny_model),
                 "--out", str(tmp_path / "ft"), "--epochs", "1", "--no-progress", "--device", "cpu"]) == 0
    assert f"initialised from {tiny_model}" in capsys.readouterr().out
    # The architecture comes with the weights: a config asking for another width is overridden,
    # with one line saying so, and the run fine-tunes the checkpoint's model.
    wide = tmp_path / "wide.yaml"
    wide.write_text(TINY_YAML.replace("width: 32", "width: 48"))
    assert main(["train", "--config", str(wide), "--data-2d", str(walk_2d), "--init", str(tiny_model),
                 "--out", str(tmp_path / "wide"), "--no-progress", "--device", "cpu"]) == 0
    assert f"model settings from {tiny_model}: width 32 (config: 48)" in capsys.readouterr().out
    assert torch.load(tmp_path / "wide" / "model.pt", weights_only=True)["config"]["model"]["width"] == 32
    # Weights that really do not fit (a tampered checkpoint) are still one line, exit 2.
    st = torch.load(tiny_model, weights_only=True)
    st["model"] = {k: v[..., :3] if v.ndim == 2 else v for k, v in st["model"].items()}
    torch.save(st, tmp_path / "cut.pt")
    assert main(["train", "--config", str(wide), "--data-2d", str(walk_2d), "--init", str(tmp_path / "cut.pt"),
                 "--out", str(tmp_path / "bad"), "--no-progress", "--device", "cpu"]) == 2
    assert "weights do not fit this config's model" in capsys.readouterr().err


@pytest.mark.parametrize("yaml_text, extra, expect", [
    ("", [], "the config is empty"),
    ("# only a comment\n", [], "the config is empty"),
    ("data: {source: h36m}\n", ["--data-2d", "{w}"], "data.source is 'h36m' but the command line gives '2d-file'"),
])
def test_train_refuses_empty_or_conflicting_configs(tmp_path, walk_2d, capsys, yaml_text, extra, expect):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text)
    args = ["train", "--config", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"] + [a.replace("{w}", str(walk_2d)) for a in extra]
    assert main(args) == 2
    assert expect in capsys.readouterr().err
    assert not (tmp_path / "run" / "log.csv").exists()


def test_train_refuses_to_clobber_a_run_unless_told(tiny_model, walk_2d, tmp_path, capsys):
    cfg, run = tiny_model.parents[1] / "tiny.yaml", tiny_model.parent
    before = (run / "log.csv").read_text()
    base = ["train", "--config", str(cfg), "--data-2d", str(walk_2d), "--out", str(run), "--no-progress", "--device", "cpu"]
    assert main(base) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "log.csv").read_text() == before  # untouched
    fresh = tmp_path / "copy"
    import shutil

    shutil.copytree(run, fresh)
    assert main(base[:6] + [str(fresh)] + base[7:] + ["--overwrite"]) == 0
    rows = (fresh / "log.csv").read_text().splitlines()
    assert sum(r.startswith("epoch,") for r in rows) == 1  # one run's log, not two appended


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder where creating a file is refused with EACCES: a read-only folder for a normal
    user; for root (CI), who may write anywhere else, sysfs (creation is denied even to root)."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        return ro
    if not Path("/sys/kernel").is_dir():
        pytest.skip("running as root without sysfs: no folder refuses root")
    return Path("/sys/kernel")


def test_unwritable_out_is_one_line(tiny_model, walk_2d, tmp_path):
    ro = _unwritable_folder(tmp_path)
    r = _run_cli("lift", str(walk_2d), "--checkpoint", str(tiny_model), "--out", str(ro / "x.npz"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("ambipose")]
    assert len(lines) == 1 and "ermission denied" in lines[0], r.stderr


def test_out_path_that_is_a_folder_is_one_line(tiny_model, walk_2d, tmp_path):
    """An --out that cannot be written (here: an existing folder's place taken by a file's parent
    being a file) gives one line and exit 2, never a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run_cli("lift", str(walk_2d), "--checkpoint", str(tiny_model), "--out", str(blocker / "x.npz"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("ambipose")]) == 1


@pytest.mark.parametrize("fill", [0.0, 5.0])
def test_degenerate_poses_are_one_line(tmp_path, fill):
    f = tmp_path / "flat.npy"
    np.save(f, np.full((10, 17, 2), fill))
    r = _run_cli("lift", str(f), "--out", str(tmp_path / "o.npz"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "all joints on one point" in r.stderr
    assert not (tmp_path / "o.npz").exists()


def test_all_zero_frames_count_as_missing(tmp_path):
    poses = synthetic_clip(frames=30, seed=1)["poses_2d"]
    poses[5:7] = 0.0
    f = tmp_path / "gaps.npy"
    np.save(f, poses)
    from ambipose.data.formats import read_keypoints

    with pytest.warns(UserWarning, match="2 of 30 frames have all joints on one point"):
        kp = read_keypoints(f)
    assert kp.missing[5:7].all() and not kp.missing[:5].any()
    assert (np.abs(kp.poses[5:7]) > 1).all()  # filled from the neighbours, not left at 0


def test_normalised_input_needs_an_image_size(tmp_path, capsys):
    poses = synthetic_clip(frames=30, seed=1)["poses_2d"]
    f = tmp_path / "unit.npy"
    np.save(f, poses / np.array([1000.0, 1000.0]))  # [0, 1] coordinates of a 1000x1000 image
    lift = lambda out, *extra: main(["lift", str(f), "--out", str(tmp_path / out), "--quiet", *extra])  # noqa: E731
    assert lift("a.npz") == 0
    assert "warning: " in (err := capsys.readouterr().err) and "assuming a square image (pass --image-size W H" in err
    assert lift("b.npz", "--image-size", "1000", "1000") == 0
    assert "warning" not in capsys.readouterr().err
    with np.load(tmp_path / "b.npz") as d:
        assert json.loads(str(d["meta"]))["image_size"] == [1000, 1000]
    # A non-square size changes the aspect ratio the lifter sees, hence the 3D.
    assert lift("c.npz", "--image-size", "1500", "1000") == 0
    with np.load(tmp_path / "b.npz") as b, np.load(tmp_path / "c.npz") as c:
        assert np.abs(b["poses_3d"] - c["poses_3d"]).max() > 10.0
    # Only the aspect ratio matters for the 3D (the normalisation removes the overall size):
    # --aspect 3:2 gives what --image-size 1500 1000 gives, without a warning.
    capsys.readouterr()
    assert lift("d.npz", "--aspect", "3:2") == 0 and "warning" not in capsys.readouterr().err
    with np.load(tmp_path / "c.npz") as c, np.load(tmp_path / "d.npz") as d:
        np.testing.assert_allclose(c["poses_3d"], d["poses_3d"], atol=0.05)
    assert lift("e.npz", "--aspect", "1.5") == 0
    with np.load(tmp_path / "d.npz") as d, np.load(tmp_path / "e.npz") as e:
        np.testing.assert_allclose(d["poses_3d"], e["poses_3d"], atol=1e-6)
    assert lift("f.npz", "--aspect", "3:2", "--image-size", "1500", "1000") == 2
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        lift("g.npz", "--aspect", "wide")
    assert "not an aspect ratio" in capsys.readouterr().err


def test_points_outside_the_image_are_reported(tmp_path, capsys):
    poses = synthetic_clip(frames=30, seed=1)["poses_2d"]  # inside a 1000x1000 image
    f = tmp_path / "p.npz"
    np.savez(f, keypoints=poses, image_size=np.array([200, 200]))
    assert main(["lift", str(f), "--out", str(tmp_path / "o.npz"), "--quiet"]) == 0
    assert "30 of 30 frames have joints more than 10 % outside the stated 200x200 image" in capsys.readouterr().err


def test_train_seed_and_epochs_overrides(tmp_path):
    from ambipose.cli import build_parser
    from ambipose.commands.train import config_from_args

    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(TINY_YAML)
    args = build_parser().parse_args(["train", "--config", str(cfg_path), "--seed", "7", "--epochs", "3"])
    cfg = config_from_args(args)
    assert cfg.train.seed == 7 and cfg.train.epochs == 3 and cfg.train.batch_size == 32
    assert config_from_args(build_parser().parse_args(["train", "--config", str(cfg_path)])).train.seed == 0
