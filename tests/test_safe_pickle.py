"""Crafted pickles in user files must never run: VideoPose3D 2D/3D files and checkpoints.

Each payload object's `__reduce__` names a callable that would leave a marker file (or worse).
Reading must fail with one InputError naming the file, and the marker must not exist."""

from __future__ import annotations

import builtins
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from ambipose.data.formats import read_keypoints
from ambipose.data.h36m import load_videopose3d
from ambipose.data.safe_npz import load_npz_restricted
from ambipose.errors import InputError
from ambipose.models.checkpoint import load_checkpoint


def _payloads(marker: Path):
    class OsSystem:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    class Subprocess:
        def __reduce__(self):
            return (subprocess.call, (["touch", str(marker)],))

    class Eval:
        def __reduce__(self):
            return (builtins.eval, (f"open({str(marker)!r}, 'w').close()",))

    class Exec:
        def __reduce__(self):
            return (builtins.exec, (f"open({str(marker)!r}, 'w').close()",))

    return {"os.system": OsSystem(), "subprocess": Subprocess(), "eval": Eval(), "exec": Exec()}


def _vp3d_custom(path: Path, evil) -> Path:
    good = np.zeros((10, 17, 2), np.float32)
    positions = {"clip": {"custom": [good, evil]}}
    np.savez(path, positions_2d=np.array(positions, dtype=object), metadata=np.array({"layout_name": "coco"}, dtype=object))
    return path


PAYLOAD_NAMES = ["os.system", "subprocess", "eval", "exec"]


@pytest.mark.parametrize("name", PAYLOAD_NAMES)
def test_videopose3d_2d_reader_refuses_code(tmp_path, name):
    marker = tmp_path / "pwned"
    f = _vp3d_custom(tmp_path / "data_2d_custom_evil.npz", _payloads(marker)[name])
    with pytest.raises(InputError, match="refused to load"):
        read_keypoints(f)
    with pytest.raises(InputError, match="refused"):
        load_npz_restricted(f)
    assert not marker.exists()


@pytest.mark.parametrize("name", PAYLOAD_NAMES)
def test_videopose3d_h36m_reader_refuses_code(tmp_path, name):
    marker = tmp_path / "pwned"
    evil = _payloads(marker)[name]
    p3 = tmp_path / "data_3d_h36m.npz"
    np.savez(p3, positions_3d=np.array({"S9": {"Walking": evil}}, dtype=object))
    p2 = tmp_path / "data_2d_h36m_gt.npz"
    np.savez(p2, positions_2d=np.array({"S9": {"Walking": [np.zeros((5, 17, 2))] * 4}}, dtype=object))
    with pytest.raises(InputError, match="refused to load"):
        load_videopose3d(p3, p2)
    assert not marker.exists()


@pytest.mark.parametrize("name", PAYLOAD_NAMES)
def test_checkpoint_refuses_code(tmp_path, name):
    marker = tmp_path / "pwned"
    f = tmp_path / "evil.pt"
    torch.save({"format": "ambipose-checkpoint-v1", "config": {}, "normalisation": {}, "model": _payloads(marker)[name]}, f)
    with pytest.raises(InputError):
        load_checkpoint(f)
    assert not marker.exists()


def test_real_videopose3d_files_still_read(tmp_path):
    """A well-formed custom file (dicts, lists, arrays, strings, numbers) reads as before."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(100, 400, size=(30, 17, 2)).astype(np.float32)
    meta = {"layout_name": "coco", "num_joints": 17, "video_metadata": {"clip": {"w": 640, "h": 480}}}
    f = tmp_path / "data_2d_custom_ok.npz"
    np.savez(f, positions_2d=np.array({"clip": {"custom": [pts]}}, dtype=object), metadata=np.array(meta, dtype=object))
    kp = read_keypoints(f)
    assert kp.poses.shape == (30, 17, 2)
    d = load_npz_restricted(f)
    np.testing.assert_array_equal(d["positions_2d"].item()["clip"]["custom"][0], pts)
    assert d["metadata"].item() == meta
