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


def test_the_unpickler_allowlist_is_exactly_what_array_files_need():
    """Widening the allowlist is a security change: it must show up here, reviewed."""
    from ambipose.data import safe_npz

    assert safe_npz._ALLOWED == {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),
    }
    assert safe_npz._DTYPE_MODULES == ("numpy.dtypes",)


class _Getattr:
    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))

    def __call__(self, *args):  # pickle wants a callable in a REDUCE; this one is never called here
        raise AssertionError("not to be called")


class _Call:
    """Pickles as a call of whatever `f` unpickles to (a REDUCE whose callable is itself built)."""

    def __init__(self, f, args):
        self.f, self.args = f, args

    def __reduce__(self):
        return (self.f, self.args)


class _ReduceEx:
    def __init__(self, marker):
        self.marker = marker

    def __reduce_ex__(self, protocol):
        return (os.system, (f"touch {self.marker}",))


class _Plain:  # a class a copyreg payload rebuilds
    pass


def _sneaky_payloads(marker: Path) -> dict:
    import copyreg
    import functools

    return {
        # ndarray.tofile(marker), reached through getattr: writes any file it names.
        "getattr chain to tofile": _Call(_Getattr(np.zeros(3), "tofile"), (str(marker),)),
        "numpy.save": _Call(np.save, (str(marker), np.zeros(3))),
        "__reduce_ex__": _ReduceEx(marker),
        "functools.partial": _Call(functools.partial(os.system, f"touch {marker}"), ()),
        "copyreg._reconstructor": _Call(copyreg._reconstructor, (_Plain, object, None)),
        "nested object array": np.array([np.array([_ReduceEx(marker)], dtype=object)], dtype=object),
    }


@pytest.mark.parametrize("name", ["getattr chain to tofile", "numpy.save", "__reduce_ex__", "functools.partial",
                                  "copyreg._reconstructor", "nested object array"])
def test_payloads_through_allowed_looking_names_are_refused_in_one_line(tmp_path, name, capsys):
    import pickle

    marker = tmp_path / "pwned.npy"  # np.save would add the suffix
    evil = _sneaky_payloads(marker)[name]
    f = _vp3d_custom(tmp_path / "data_2d_custom_evil.npz", evil)
    with pytest.raises(InputError, match="refused to load") as e:
        load_npz_restricted(f)
    assert "\n" not in str(e.value) and not marker.exists()
    from ambipose.cli import main

    assert main(["lift", str(f), "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refused to load" in err and not marker.exists()
    if name in ("getattr chain to tofile", "numpy.save"):
        # The payload is live: Python's own unpickler does write the file.
        pickle.loads(pickle.dumps(evil))
        assert marker.exists()
