"""Fuzz every reader of untrusted input with generated malformed files: it returns a valid result
or raises InputError (one clear line naming the file), never another exception.

- `read_keypoints` (2D keypoint files, `ambipose.data.formats`): never a hang either (each call
  runs under a 5 s alarm), and gap filling checked as a property;
- configs, checkpoints, lift results and VideoPose3D npz files.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ambipose.config import load_config
from ambipose.data.formats import NPZ_KEYS, Keypoints2D, read_keypoints
from ambipose.errors import InputError
from ambipose.lift_io import read_result
from ambipose.models.checkpoint import load_checkpoint

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CALL_LIMIT_S = 5.0


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the body runs longer than `seconds`."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"read_keypoints ran longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_read(path: Path, **kwargs) -> Keypoints2D | None:
    """read_keypoints must return a valid result or raise InputError; returns None on InputError."""
    try:
        with time_limit(CALL_LIMIT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kp = read_keypoints(path, **kwargs)
    except InputError as e:
        msg = str(e)
        assert msg.startswith(str(path)) and "\n" not in msg, msg  # one line naming the file
        return None
    assert isinstance(kp, Keypoints2D)
    T = len(kp.poses)
    assert T >= 1 and kp.poses.shape == (T, 17, 2) and kp.poses.dtype == np.float32
    assert np.isfinite(kp.poses).all()
    assert kp.missing.shape == (T, 17) and kp.missing.dtype == bool
    if kp.scores is not None:
        assert kp.scores.shape == (T, 17) and ((kp.scores >= 0) & (kp.scores <= 1)).all()
    assert kp.units in ("pixels", "normalised")
    assert kp.missing.mean() <= 0.5
    return kp


@contextlib.contextmanager
def tmpdir() -> Iterator[Path]:
    # hypothesis re-runs the body many times: a fresh folder per example, not pytest's tmp_path
    with tempfile.TemporaryDirectory(prefix="ambipose-fuzz-") as d:
        yield Path(d)


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e4, max_value=1e4)
numbers = st.one_of(finite, st.floats(), st.integers(min_value=-10**30, max_value=10**30))
json_scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=6),
                           st.dictionaries(st.text(max_size=6), kids, max_size=5)),
    max_leaves=40,
)
# Keys the readers look for, so random objects reach the deeper code paths.
reader_keys = st.sampled_from(["keypoints", "image_id", "frame_id", "frame", "score", "track_id",
                               "keypoint_scores", "instances", "people", "pose_keypoints_2d",
                               "annotations", "images", "instance_info", "id", "width", "height"])


@st.composite
def instance_lists(draw) -> list:
    """Lists of COCO / MMPose-like instances: mostly well-formed (random scores, ids, people per
    frame) so the selection / filling code runs, with random corruptions mixed in."""
    n_frames = draw(st.integers(0, 5))
    J = draw(st.sampled_from([17] * 6 + [26] * 2 + [0, 1, 18, 25, 33]))
    out = []
    for t in range(n_frames):
        for _ in range(draw(st.integers(0, 2))):
            pts = draw(st.lists(st.tuples(st.floats(0, 900), st.floats(0, 900),
                                          st.one_of(st.floats(0.3, 1), st.floats(0, 1))),
                                min_size=J, max_size=J))
            kp = [v for xyz in pts for v in xyz]
            if draw(st.integers(0, 5)) == 0:
                kp = [[x, y] for x, y, _ in pts]  # MMPose 1.x nesting
            inst: dict = {"image_id": t, "keypoints": kp}
            if draw(st.booleans()):
                inst["score"] = draw(st.floats(0, 1))
            if draw(st.booleans()):
                inst["track_id"] = draw(st.integers(0, 2))
            out.append(inst)
    # corruptions (in about half the examples): a random value under a reader key, a random
    # extra instance, a value too many, a strange frame id
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        kind = draw(st.integers(0, 3))
        if kind == 0 and out:
            i = draw(st.integers(0, len(out) - 1))
            out[i] = {**out[i], draw(reader_keys): draw(json_values)}
        elif kind == 1:
            out.append(draw(st.dictionaries(reader_keys, json_values, max_size=4)))
        elif kind == 2 and out:
            i = draw(st.integers(0, len(out) - 1))
            kp = out[i].get("keypoints")
            out[i] = {**out[i], "keypoints": (kp if isinstance(kp, list) else []) + [draw(numbers)]}
        elif kind == 3 and out:
            out[draw(st.integers(0, len(out) - 1))]["image_id"] = draw(st.one_of(
                st.text(max_size=5), st.floats(), st.integers(-10**400, 10**400), json_values))
    return out


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".json", ".npz", ".npy", ".csv"]))
def test_random_bytes(data, suffix):
    with tmpdir() as d:
        path = d / f"x{suffix}"
        path.write_bytes(data)
        check_read(path)


@FUZZ
@given(value=json_values)
def test_random_json_values(value):
    with tmpdir() as d:
        path = d / "x.json"
        path.write_text(json.dumps(value))
        check_read(path)


@FUZZ
@given(insts=instance_lists(), wrap=st.sampled_from(["list", "annotations", "instance_info"]),
       track=st.sampled_from([None, 0, 1]), layout=st.sampled_from(["auto", "coco17", "halpe26"]))
def test_random_instance_lists(insts, wrap, track, layout):
    if wrap == "annotations":
        value = {"annotations": insts, "images": [{"id": i, "width": 640, "height": 480} for i in range(3)]}
    elif wrap == "instance_info":
        value = {"instance_info": [{"frame_id": i, "instances": insts[i::2]} for i in range(2)]}
    else:
        value = insts
    with tmpdir() as d:
        path = d / "x.json"
        path.write_text(json.dumps(value))
        check_read(path, track=track, layout=layout)


good_person = st.fixed_dictionaries({
    "pose_keypoints_2d": st.lists(st.tuples(st.floats(0, 900), st.floats(0, 900),
                                            st.one_of(st.floats(0.3, 1), st.floats(0, 1))),
                                  min_size=25, max_size=25).map(lambda r: [v for t in r for v in t]),
    "person_id": st.one_of(st.just([-1]), st.integers(0, 2).map(lambda i: [i]))})
bad_person = st.one_of(json_values, st.fixed_dictionaries({
    "pose_keypoints_2d": st.lists(json_scalars, max_size=80), "person_id": json_scalars}))
good_frame = st.fixed_dictionaries({"people": st.lists(good_person, min_size=0, max_size=3)})
bad_frame = st.one_of(
    st.fixed_dictionaries({"people": st.lists(st.one_of(good_person, bad_person), max_size=3)}),
    json_values)


@FUZZ
@given(frames=st.one_of(st.lists(good_frame, min_size=1, max_size=5),
                        st.lists(st.one_of(good_frame, bad_frame), min_size=0, max_size=5)),
       names=st.lists(st.integers(0, 20), min_size=5, max_size=5, unique=True))
def test_random_openpose_folders(frames, names):
    with tmpdir() as d:
        for n, value in zip(names, frames):
            (d / f"v_{n}_keypoints.json").write_text(json.dumps(value))
        check_read(d)
        check_read(d, track=1)


dtypes = st.sampled_from([np.float32, np.float64, np.int16, np.int64, np.bool_, np.complex64,
                          np.dtype("U3"), np.uint8])
shapes = st.lists(st.sampled_from([0, 1, 2, 3, 5, 17, 25, 26, 33]), min_size=0, max_size=4)


@st.composite
def arrays(draw) -> np.ndarray:
    shape = tuple(draw(shapes))
    if draw(st.booleans()):  # mostly plausible (T, J, 2|3) shapes
        shape = (draw(st.integers(0, 6)), draw(st.sampled_from([17, 25, 26, 33, 18])),
                 draw(st.sampled_from([2, 3, 4])))
    dtype = draw(dtypes) if draw(st.integers(0, 3)) == 0 else np.float64
    size = int(np.prod(shape))
    if np.dtype(dtype).kind == "U":  # a few drawn strings, repeated to fill the shape
        words = draw(st.lists(st.text(max_size=3), min_size=1, max_size=5))
        return np.resize(np.array(words, dtype=dtype), shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.uniform(-10, 1000, size)
    # sprinkle NaN / inf / huge / zero values
    specials = draw(st.lists(st.tuples(st.integers(0, max(size - 1, 0)),
                                       st.sampled_from([np.nan, np.inf, -np.inf, 1e30, 0.0, 0.5])),
                             max_size=4))
    for i, v in specials:
        if size:
            a[i] = v
    with np.errstate(invalid="ignore", over="ignore"):
        return a.reshape(shape).astype(dtype)


@FUZZ
@given(arr=arrays(), kind=st.sampled_from(["npy", "npz", "npz-other", "csv"]),
       layout=st.sampled_from(["auto", "coco17", "body25"]))
def test_random_arrays(arr, kind, layout):
    with tmpdir() as d:
        if kind == "npy":
            path = d / "x.npy"
            np.save(path, arr)
        elif kind.startswith("npz"):
            path = d / "x.npz"
            key = NPZ_KEYS[0] if kind == "npz" else "other"
            np.savez(path, **{key: arr})
        else:
            path = d / "x.csv"
            rows = arr.reshape(arr.shape[0], -1) if arr.ndim >= 1 and arr.shape[0] else arr.reshape(1, -1)
            path.write_text("\n".join(",".join(str(v) for v in r) for r in rows))
        check_read(path, layout=layout)


@FUZZ
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3),
       compressed=st.booleans())
def test_truncated_or_corrupted_npz(cut, flips, compressed):
    a = np.random.default_rng(0).uniform(0, 500, (20, 17, 2))
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, keypoints=a, fps=np.float64(30))
    data = bytearray(buf.getvalue())
    for pos, byte in flips:
        data[min(int(pos * len(data)), len(data) - 1)] = byte
    data = bytes(data[: max(1, math.floor(cut * len(data)))]) if cut < 1 else bytes(data)
    with tmpdir() as d:
        path = d / "x.npz"
        path.write_bytes(data)
        check_read(path)


pickled_values = st.recursive(
    st.one_of(json_scalars, st.builds(lambda s: np.zeros(s), st.lists(st.integers(0, 17), max_size=3))),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(
        ["custom", "v", "layout_name", "video_metadata", "w", "h"]), kids, max_size=3)),
    max_leaves=12,
)


def as_object(value) -> np.ndarray:
    """A 0-d object array holding `value`, as np.savez stores a dict."""
    out = np.empty((), dtype=object)
    out[()] = value
    return out


@FUZZ
@given(pos=pickled_values, meta=pickled_values, n=st.integers(0, 4), J=st.sampled_from([17, 18, 25]),
       layout_name=st.sampled_from(["coco", "h36m", "other", None]))
def test_random_vp3d_structures(pos, meta, n, J, layout_name):
    """Random pickled dicts under VideoPose3D's keys, and well-formed ones with odd arrays."""
    arr = np.random.default_rng(n).uniform(0, 1, (n, J, 2))
    good_meta = {"layout_name": layout_name, "video_metadata": {"v": {"w": 960, "h": "544"}}}
    with tmpdir() as d:
        np.savez(d / "a.npz", positions_2d=as_object(pos), metadata=as_object(meta))
        check_read(d / "a.npz")
        np.savez(d / "b.npz", positions_2d={"v": {"custom": [arr]}}, metadata=good_meta)
        check_read(d / "b.npz", track="v")
        check_read(d / "b.npz", format="vp3d", track=3)


def test_time_limit_fires():
    """The guard itself works (so a hang would fail the suite, not stall it)."""
    with pytest.raises(TimeoutError):
        with time_limit(0.05):
            while True:
                pass


def test_corrupt_zip_member_names():
    """A zip with members that are not .npy files."""
    with tmpdir() as d:
        with zipfile.ZipFile(d / "z.npz", "w") as z:
            z.writestr("keypoints", b"not an array")
            z.writestr("other.txt", b"\x93NUMPY\x01\x00")
        assert check_read(d / "z.npz") is None


@FUZZ
@given(T=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), p_low=st.floats(0, 0.45))
def test_filling_property(T, seed, p_low):
    """Valid joints pass through unchanged; low-score joints are linear interpolations in time
    (nearest valid value at the edges), and are flagged; joints never valid are `absent` and sit
    at the root's 2D; InputError if the root is never valid or too much is missing."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 900, (T, 17, 2))
    low = rng.uniform(0, 1, (T, 17)) < p_low
    arr = np.concatenate([pts, np.where(low, 0.1, 0.9)[..., None]], axis=2)
    with tmpdir() as d:
        np.save(d / "x.npy", arr)
        kp = check_read(d / "x.npy")
    if low[:, 0].all() or low.mean() > 0.5:  # no root to place the body, or too little seen
        assert kp is None
        return
    assert kp is not None
    np.testing.assert_array_equal(kp.missing, low)
    np.testing.assert_allclose(kp.poses[~low], pts[~low], rtol=1e-6)
    never = np.nonzero(low.all(axis=0))[0]
    assert kp.absent == tuple(never)
    np.testing.assert_array_equal(kp.poses[:, never], np.repeat(kp.poses[:, :1], len(never), 1))  # at the root
    t = np.arange(T)
    for j in sorted(set(range(17)) - set(never)):
        for c in range(2):
            expected = np.interp(t, t[~low[:, j]], pts[~low[:, j], j, c])
            np.testing.assert_allclose(kp.poses[:, j, c], expected, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Configs, checkpoints, lift results, VideoPose3D npz
# ---------------------------------------------------------------------------------------------

# These use pytest's tmp_path (one folder for all examples: each example overwrites its file).
FUZZ_TMP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["name", "data", "model", "loss", "train", "rotation", "epochs", "width", "scale", "lr", "source", "bogus"]), inner, max_size=4),
    max_leaves=12)


@FUZZ_TMP
@given(doc=yaml_values)
def test_config_reader_never_crashes(tmp_path, doc):
    p = tmp_path / "fuzz.yaml"
    p.write_text(yaml.safe_dump(doc))
    try:
        load_config(p)
    except InputError as e:
        assert "fuzz.yaml" in str(e)


@FUZZ_TMP
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


@FUZZ_TMP
@given(raw=st.binary(max_size=400) | st.builds(lambda b: _zip_with({"archive/data.pkl": b}), st.binary(max_size=200)),
       cut=st.integers(0, 400))
def test_checkpoint_reader_random_and_truncated(tmp_path, raw, cut):
    p = tmp_path / "fuzz.pt"
    p.write_bytes(raw[: max(cut, 1)])
    try:
        load_checkpoint(p)
    except InputError as e:
        assert "fuzz.pt" in str(e)


@FUZZ_TMP
@given(shape=st.one_of(st.lists(st.integers(0, 20), min_size=1, max_size=4),
                       st.tuples(st.integers(1, 8), st.just(17), st.just(3)).map(list)),
       fill=st.sampled_from([0.0, np.nan, np.inf, 1.0]),
       cut=st.one_of(st.integers(10, 2000), st.none()))
@example(shape=[3, 17, 3], fill=1.0, cut=None)  # an intact, well-formed file: the reading branch runs every time
def test_result_reader_bad_arrays_and_truncation(tmp_path, shape, fill, cut):
    """Odd shapes, truncation at any byte (`cut`; None keeps the file whole): InputError naming
    the file, or a clip of (T, 17, 3) poses. Before well-formed shapes and whole files were
    drawn, the reading branch never ran (the random shapes were never (T, 17, 3), and every file
    was cut short)."""
    p = tmp_path / "fuzz.npz"
    np.savez(p, poses_3d=np.full(shape, fill, np.float32), poses_2d=np.zeros((1, 17, 2)), scales=np.ones(1),
             missing=np.zeros((1, 17), bool), meta=np.array("{}"))
    data = p.read_bytes()
    p.write_bytes(data if cut is None else data[:cut])
    try:
        clip = read_result(p)
    except InputError as e:
        assert "fuzz.npz" in str(e)
        return
    assert clip.poses_3d.shape == tuple(shape) and clip.poses_3d.shape[1:] == (17, 3) and len(clip.poses_3d) > 0
    np.testing.assert_array_equal(clip.poses_3d, np.full(shape, fill, np.float32))


@FUZZ_TMP
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
