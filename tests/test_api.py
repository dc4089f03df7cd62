"""`ambipose.lift`: the Python entry point gives what the CLI writes, and the README's example runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import ambipose
from ambipose.cli import main
from ambipose.data.synthetic import synthetic_clip
from ambipose.errors import InputError

README = Path(__file__).parents[1] / "README.md"


def test_api_matches_the_cli_for_arrays_and_files(tmp_path):
    poses = synthetic_clip(frames=40, seed=2)["poses_2d"].astype(np.float32)
    f = tmp_path / "walk.npy"
    np.save(f, poses)
    assert main(["lift", str(f), "--out", str(tmp_path / "cli.npz"), "--quiet"]) == 0
    with np.load(tmp_path / "cli.npz") as d:
        cli = d["poses_3d"]
    from_array = ambipose.lift(poses)
    from_file = ambipose.lift(f)
    np.testing.assert_allclose(from_array.poses_3d, cli, atol=1e-4)
    np.testing.assert_allclose(from_file.poses_3d, cli, atol=1e-4)
    assert from_array.poses_3d.shape == (40, 17, 3)


def test_api_rejects_bad_arrays():
    with pytest.raises(InputError):
        ambipose.lift(np.zeros((5, 13, 2)))
    with pytest.raises(InputError):
        ambipose.lift(np.array([["a"]]))


def test_readme_python_example_runs(capsys, tmp_path, monkeypatch):
    text = README.read_text()
    section = text[text.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # it writes walk.bvh
    exec(compile(code, "README.md", "exec"), {})
    assert "(50, 17, 3)" in capsys.readouterr().out
    assert (tmp_path / "walk.bvh").read_text().startswith("HIERARCHY")
