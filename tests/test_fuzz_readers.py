"""Fuzz the remaining readers (configs, checkpoints, lift results, VideoPose3D npz): generated
malformed input yields InputError (one clear message naming the file) or a valid result, never
another exception."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambipose.config import load_config
from ambipose.errors import InputError
from ambipose.lift_io import read_result
from ambipose.training.checkpoint import load_checkpoint

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["name", "data", "model", "loss", "train", "rotation", "epochs", "width", "scale", "lr", "source", "bogus"]), inner, max_size=4),
    max_leaves=12)


@FUZZ
@given(doc=yaml_values)
def test_config_reader_never_crashes(tmp_path, doc):
    p = tmp_path / "fuzz.yaml"
    p.write_text(yaml.safe_dump(doc))
    try:
        load_config(p)
    except InputError as e:
        assert "fuzz.yaml" in str(e)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_config_reader_random_bytes(tmp_path, raw):
    p = tmp_path / "bytes.yaml"
    p.write_bytes(raw)
    try:
        load_config(p)
    except InputError as e:
        assert "bytes.yaml" in str(e)


def _zip_with(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in entries.items():
            z.writestr(k, v)
    return buf.getvalue()


@FUZZ
@given(raw=st.binary(max_size=400) | st.builds(lambda b: _zip_with({"archive/data.pkl": b}), st.binary(max_size=200)),
       cut=st.integers(0, 400))
def test_checkpoint_reader_random_and_truncated(tmp_path, raw, cut):
    p = tmp_path / "fuzz.pt"
    p.write_bytes(raw[: max(cut, 1)])
    try:
        load_checkpoint(p)
    except InputError as e:
        assert "fuzz.pt" in str(e)


@FUZZ
@given(shape=st.lists(st.integers(0, 20), min_size=1, max_size=4), fill=st.sampled_from([0.0, np.nan, np.inf, 1.0]),
       cut=st.integers(10, 2000))
def test_result_reader_bad_arrays_and_truncation(tmp_path, shape, fill, cut):
    p = tmp_path / "fuzz.npz"
    np.savez(p, poses_3d=np.full(shape, fill, np.float32), poses_2d=np.zeros((1, 17, 2)), scales=np.ones(1),
             missing=np.zeros((1, 17), bool), meta=np.array("{}"))
    data = p.read_bytes()
    p.write_bytes(data[:cut])
    try:
        clip = read_result(p)
        assert clip.poses_3d.shape[1:] == (17, 3) and len(clip.poses_3d) > 0
    except InputError as e:
        assert "fuzz.npz" in str(e)


@FUZZ
@given(payload=st.recursive(st.none() | st.integers() | st.text(max_size=4) |
                            st.builds(lambda n, j: np.zeros((n, j, 3)), st.integers(0, 3), st.sampled_from([0, 16, 17, 32])),
                            lambda inner: st.dictionaries(st.sampled_from(["S9", "Walking", "x"]), inner, max_size=2) |
                            st.lists(inner, max_size=4), max_leaves=6))
def test_videopose3d_reader_never_crashes(tmp_path, payload):
    from ambipose.data.h36m import load_videopose3d

    arr = np.empty((), dtype=object)
    arr[()] = payload
    np.savez(tmp_path / "d3.npz", positions_3d=arr)
    np.savez(tmp_path / "d2.npz", positions_2d=arr)
    cams = tmp_path / "cams.json"
    cams.write_text('{"cameras": {}}')
    try:
        load_videopose3d(tmp_path / "d3.npz", tmp_path / "d2.npz", cams)
    except InputError as e:
        assert "npz" in str(e) or "cams.json" in str(e)
