"""MPI-INF-3DHP readers and evaluation, on tiny files written here in the official layouts:
`TS{n}/annot_data.mat` as MATLAB v7.3 (HDF5 behind a 512-byte MATLAB header) and
`S{i}/Seq{j}/annot.mat` as MATLAB v5 with cell arrays."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from ambipose.data.sequence import Sequence
from ambipose.data.mpi3dhp import (
    ACTIVITY_NAMES,
    TEST17_JOINT_NAMES,
    TRAIN28_JOINT_NAMES,
    load_3dhp_test,
    load_3dhp_train_2d,
    read_3dhp_test_annotations,
)
from ambipose.data.skeleton import JOINT_NAMES
from ambipose.errors import InputError
from ambipose.evaluation.mpi3dhp_eval import evaluate_3dhp, format_3dhp_table

# Which dataset joint each of our 17 joints must come from, written out by name (not taken from
# the module's index arrays, so that the test checks them).
EXPECTED_SOURCE = {
    "Hip": "pelvis", "RHip": "right_hip", "RKnee": "right_knee", "RAnkle": "right_ankle",
    "LHip": "left_hip", "LKnee": "left_knee", "LAnkle": "left_ankle", "Spine": "spine",
    "Thorax": "neck", "Neck/Nose": "head", "Head": "head_top",
    "LShoulder": "left_shoulder", "LElbow": "left_elbow", "LWrist": "left_wrist",
    "RShoulder": "right_shoulder", "RElbow": "right_elbow", "RWrist": "right_wrist",
}
PERFECT_AUC = 100.0 * 30 / 31  # nothing is strictly below the 0 mm threshold


# ---------------------------------------------------------------------------------------------
# Writers for the official layouts
# ---------------------------------------------------------------------------------------------

def _matlab_v73_header() -> bytes:
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
    return text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"


def write_annot_data(path: Path, fields: dict[str, np.ndarray], matlab_header: bool = True) -> Path:
    """Write datasets as h5py sees a MATLAB v7.3 file (axes already reversed), with MATLAB's
    512-byte user block and header text when matlab_header, else as plain HDF5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512 if matlab_header else 0) as f:
        for key, value in fields.items():
            ds = f.create_dataset(key, data=value)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
    if matlab_header:
        with path.open("r+b") as f:
            f.write(_matlab_v73_header())
    return path


def make_test_fields(t: int, seed: int = 0, activity: list[int] | None = None,
                     valid: list[int] | None = None, vector: str = "col") -> dict[str, np.ndarray]:
    """Fields of one annot_data.mat in the h5py view: annot2 (T,1,17,2), annot3/univ_annot3
    (T,1,17,3), valid_frame/activity_annotation (T,1) ("col") or (1,T) ("row"). Every dataset
    joint j gets its own coordinates (x = 100 j + t, ...) so the mapping can be traced."""
    j = np.arange(17)[None, :]
    fr = np.arange(t)[:, None]
    annot2 = np.stack([100.0 * j + fr, 1000.0 + 10.0 * j + fr], -1)  # (T,17,2) pixels
    rng = np.random.default_rng(seed)
    univ = rng.normal(0.0, 300.0, (t, 17, 3)) + np.array([0.0, 0.0, 4000.0])
    univ[:, :, 0] += 1000.0 * j  # distinct per joint as well
    annot3 = univ * 1.1
    act = np.asarray(activity if activity is not None else [1] * t, dtype=np.float64)
    val = np.asarray(valid if valid is not None else [1] * t, dtype=np.float64)
    vec = (lambda v: v[:, None]) if vector == "col" else (lambda v: v[None, :])
    return {"annot2": annot2[:, None], "annot3": annot3[:, None], "univ_annot3": univ[:, None],
            "valid_frame": vec(val), "activity_annotation": vec(act)}


def src(fields: dict[str, np.ndarray], key: str) -> np.ndarray:
    return fields[key][:, 0]  # (T,17,D) in the dataset's order


# ---------------------------------------------------------------------------------------------
# Test-set reader
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("matlab_header", [True, False])
@pytest.mark.parametrize("vector", ["col", "row"])
def test_test_reader_layout_and_joint_mapping(tmp_path: Path, matlab_header: bool, vector: str) -> None:
    fields = make_test_fields(5, vector=vector, activity=[1, 2, 2, 5, 7])
    write_annot_data(tmp_path / "TS1" / "annot_data.mat", fields, matlab_header)
    (seq,) = load_3dhp_test(tmp_path, sequences=("TS1",))
    assert isinstance(seq, Sequence)
    assert seq.poses_2d.shape == (5, 17, 2) and seq.poses_3d.shape == (5, 17, 3)
    for k, ours in enumerate(JOINT_NAMES):
        theirs = TEST17_JOINT_NAMES.index(EXPECTED_SOURCE[ours])
        np.testing.assert_allclose(seq.poses_2d[:, k], src(fields, "annot2")[:, theirs], err_msg=ours)
        np.testing.assert_allclose(seq.poses_3d[:, k], src(fields, "univ_annot3")[:, theirs], rtol=1e-6, err_msg=ours)
        np.testing.assert_allclose(seq.meta["annot3"][:, k], src(fields, "annot3")[:, theirs], rtol=1e-6, err_msg=ours)
    assert (seq.res_w, seq.res_h) == (2048, 2048)
    assert seq.focal == pytest.approx(2048 / 10 * 7.320339203)
    assert seq.meta["scene"] == "GS"
    assert seq.meta["activity"].tolist() == [1, 2, 2, 5, 7]
    assert seq.meta["frame_index"].tolist() == [0, 1, 2, 3, 4]


def test_test_reader_valid_frames_scenes_and_sizes(tmp_path: Path) -> None:
    for name, seed in (("TS3", 1), ("TS5", 2)):
        write_annot_data(tmp_path / name / "annot_data.mat",
                         make_test_fields(6, seed, activity=[1, 3, 3, 4, 6, 6], valid=[0, 1, 1, 0, 1, 0]))
    seqs = load_3dhp_test(tmp_path, sequences=("TS3", "TS5"))
    assert [s.subject for s in seqs] == ["TS3", "TS5"]
    assert [s.meta["scene"] for s in seqs] == ["noGS", "outdoor"]
    assert [(s.res_w, s.res_h) for s in seqs] == [(2048, 2048), (1920, 1080)]
    for s in seqs:
        assert len(s) == 3
        assert s.meta["frame_index"].tolist() == [1, 2, 4]
        assert s.meta["activity"].tolist() == [3, 3, 6]
        assert s.meta["valid"].all()
        np.testing.assert_allclose(s.poses_2d[:, 10, 0], [1.0, 2.0, 4.0])  # head_top x = 100*0 + t
    full = load_3dhp_test(tmp_path, sequences=("TS5",), valid_only=False)[0]
    assert len(full) == 6
    assert full.meta["valid"].tolist() == [False, True, True, False, True, False]


def test_test_reader_accepts_official_parent_folder_and_other_orientations(tmp_path: Path) -> None:
    fields = make_test_fields(4, 3)
    # MATLAB's own axis order, as a non-MATLAB writer might leave it: (D,17,1,T) and (D,17,T).
    other = {"annot2": fields["annot2"].transpose(3, 2, 1, 0),
             "annot3": fields["annot3"][:, 0].transpose(2, 1, 0),
             "univ_annot3": fields["univ_annot3"].transpose(3, 2, 1, 0),
             "valid_frame": fields["valid_frame"][:, 0], "activity_annotation": fields["activity_annotation"].T}
    write_annot_data(tmp_path / "mpi_inf_3dhp_test_set" / "TS2" / "annot_data.mat", other, matlab_header=False)
    (seq,) = load_3dhp_test(tmp_path, sequences=("TS2",))
    np.testing.assert_allclose(seq.poses_2d[:, 0], src(fields, "annot2")[:, 14])  # Hip <- pelvis
    np.testing.assert_allclose(seq.meta["annot3"][:, 10], src(fields, "annot3")[:, 0], rtol=1e-6)


def test_test_reader_accepts_a_v5_resave(tmp_path: Path) -> None:
    fields = make_test_fields(3, 4, activity=[2, 2, 6])
    # scipy writes MATLAB's order; h5py's view of a v7.3 file is its reverse.
    path = tmp_path / "TS6" / "annot_data.mat"
    path.parent.mkdir(parents=True)
    scipy.io.savemat(path, {k: np.ascontiguousarray(v.T) for k, v in fields.items()})
    a = read_3dhp_test_annotations(path)
    np.testing.assert_allclose(a["annot2"], src(fields, "annot2"))
    assert a["activity_annotation"].tolist() == [2, 2, 6]
    (seq,) = load_3dhp_test(tmp_path, sequences=("TS6",))
    assert seq.meta["scene"] == "outdoor"


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_test_reader_errors(tmp_path: Path) -> None:
    assert "file not found" in _error(load_3dhp_test, tmp_path, sequences=("TS1",))
    assert "unknown test sequence 'TS7'" in _error(load_3dhp_test, tmp_path, sequences=("TS7",))

    bad = tmp_path / "TS1" / "annot_data.mat"
    bad.parent.mkdir()
    bad.write_text("hello, not a MAT-file\n")
    msg = _error(load_3dhp_test, tmp_path, sequences=("TS1",))
    assert str(bad) in msg and "not a MATLAB MAT-file" in msg

    bad.write_bytes(b"")
    assert "empty file" in _error(read_3dhp_test_annotations, bad)

    fields = make_test_fields(4)
    write_annot_data(bad, {k: v for k, v in fields.items() if k != "univ_annot3"})
    msg = _error(read_3dhp_test_annotations, bad)
    assert str(bad) in msg and "missing field 'univ_annot3'" in msg

    write_annot_data(bad, {**fields, "annot2": fields["annot2"][:, :, :16]})
    msg = _error(read_3dhp_test_annotations, bad)
    assert "'annot2' has shape (4, 1, 16, 2)" in msg

    write_annot_data(bad, {**fields, "valid_frame": np.ones((3, 1))})
    assert "'valid_frame' has 3 entries but the poses have 4 frames" in _error(read_3dhp_test_annotations, bad)

    write_annot_data(bad, {**fields, "activity_annotation": np.ones((4, 2))})
    assert "'activity_annotation' has shape (4, 2)" in _error(read_3dhp_test_annotations, bad)

    write_annot_data(bad, {**fields, "univ_annot3": fields["univ_annot3"][:3]})
    assert "'univ_annot3' has 3 frames but 'annot2' has 4" in _error(read_3dhp_test_annotations, bad)

    nan2 = fields["annot2"].copy()
    nan2[2, 0, 5] = np.nan
    write_annot_data(bad, {**fields, "annot2": nan2})
    assert "NaN or inf coordinates in 1 valid frames" in _error(read_3dhp_test_annotations, bad)
    # The same NaN in a frame the benchmark skips is fine.
    write_annot_data(bad, {**fields, "annot2": nan2, "valid_frame": np.array([[1.0], [1.0], [0.0], [1.0]])})
    assert len(load_3dhp_test(tmp_path, sequences=("TS1",))[0]) == 3

    write_annot_data(bad, {**fields, "valid_frame": np.zeros((4, 1))})
    assert "no valid frames" in _error(load_3dhp_test, tmp_path, sequences=("TS1",))

    with h5py.File(bad, "w") as f:  # a cell array / struct: a group, not a dataset
        for k, v in fields.items():
            if k != "annot2":
                f.create_dataset(k, data=v)
        f.create_group("annot2")
    assert "field 'annot2' is not a numeric array" in _error(read_3dhp_test_annotations, bad)


# ---------------------------------------------------------------------------------------------
# Training-set reader
# ---------------------------------------------------------------------------------------------

def _train_src(cam: int, t: int, dims: int) -> np.ndarray:
    """(T, 28, dims): camera c, joint j, frame f -> x = 1000 c + 10 j + f, then +1, +2 for y, z."""
    j = np.arange(28)[None, :, None]
    f = np.arange(t)[:, None, None]
    return 1000.0 * cam + 10.0 * j + f + np.arange(dims)[None, None, :]


def write_annot_mat(path: Path, t: int = 6, camera_order: list[int] | None = None, **override) -> Path:
    """annot.mat as MATLAB v5: 14x1 cells annot2 (T,56) and annot3/univ_annot3 (T,84)."""
    order = camera_order if camera_order is not None else list(range(14))
    cells = {k: np.empty((14, 1), dtype=object) for k in ("annot2", "annot3", "univ_annot3")}
    for i, cam in enumerate(order):
        cells["annot2"][i, 0] = _train_src(cam, t, 2).reshape(t, 56)
        cells["annot3"][i, 0] = _train_src(cam, t, 3).reshape(t, 84)
        cells["univ_annot3"][i, 0] = _train_src(cam, t, 3).reshape(t, 84) * 0.9
    data = {**cells, "cameras": np.asarray(order)[None, :], "frames": np.arange(t)[:, None]}
    data.update(override)
    data = {k: v for k, v in data.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, data)
    return path


def test_train_reader_cells_cameras_and_mapping(tmp_path: Path) -> None:
    write_annot_mat(tmp_path / "S1" / "Seq1" / "annot.mat", camera_order=list(range(13, -1, -1)))
    seqs = load_3dhp_train_2d(tmp_path, subjects=("S1",), seqs=("Seq1",), cameras=(0, 2))
    assert [(s.subject, s.action, s.camera) for s in seqs] == [("S1", "Seq1", "0"), ("S1", "Seq1", "2")]
    for s, cam in zip(seqs, (0, 2)):
        assert s.poses_2d.shape == (6, 17, 2) and s.poses_3d.shape == (6, 17, 3)
        assert s.fps == 25.0 and (s.res_w, s.res_h) == (2048, 2048)
        assert s.meta["focal_source"] == "approximate"
        for k, ours in enumerate(JOINT_NAMES):
            theirs = TRAIN28_JOINT_NAMES.index(EXPECTED_SOURCE[ours])
            np.testing.assert_allclose(s.poses_2d[:, k], _train_src(cam, 6, 2)[:, theirs], err_msg=ours)
            np.testing.assert_allclose(s.poses_3d[:, k], _train_src(cam, 6, 3)[:, theirs], err_msg=ours)
    assert load_3dhp_train_2d(tmp_path, ("S1",), ("Seq1",), (4,), with_3d=False)[0].poses_3d is None


def test_train_reader_truncates_to_video_and_reads_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ambipose.data.mpi3dhp as m

    path = write_annot_mat(tmp_path / "S3" / "Seq2" / "annot.mat", t=8)
    (path.parent / "camera.calibration").write_text(
        "Skeletool Camera Calibration File V1.0\n"
        "name          0\n  sensor      10 10\n  size        2048 2048\n  animated    0\n"
        "  intrinsic   1497.693 0 1024.704 0 0 1497.103 1051.394 0 0 0 1 0 0 0 0 1 \n"
        "  extrinsic   1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1 \n  radial      0\n"
        "name          1\n  sensor      10 10\n  size        2048 2048\n  animated    0\n"
        "  intrinsic   1500 0 1024 0 0 1500 1024 0 0 0 1 0 0 0 0 1 \n"
        "  extrinsic   1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1 \n  radial      0\n")
    monkeypatch.setitem(m.TRAIN_SEQUENCE_INFO, ("S3", "Seq2"), (5, 50.0))
    s0, s1 = load_3dhp_train_2d(tmp_path, ("S3",), ("Seq2",), (0, 1))
    assert len(s0) == 5 and s0.fps == 50.0 and s0.meta["frame_index"].tolist() == [0, 1, 2, 3, 4]
    assert s0.focal == pytest.approx((1497.693 + 1497.103) / 2) and s1.focal == pytest.approx(1500.0)


def test_train_reader_errors(tmp_path: Path) -> None:
    path = tmp_path / "S1" / "Seq1" / "annot.mat"
    args = (tmp_path, ("S1",), ("Seq1",))
    assert "file not found" in _error(load_3dhp_train_2d, *args)

    write_annot_mat(path)
    assert "camera 14 is not in 'cameras'" in _error(load_3dhp_train_2d, *args, cameras=(0, 14))

    write_annot_mat(path, cameras=None)
    assert "missing field 'cameras'" in _error(load_3dhp_train_2d, *args)

    write_annot_mat(path, annot2=np.zeros((6, 56)))
    assert "'annot2' is not a cell array" in _error(load_3dhp_train_2d, *args)

    cells = np.empty((14, 1), dtype=object)
    for i in range(14):
        cells[i, 0] = np.zeros((6, 50))
    write_annot_mat(path, annot2=cells)
    msg = _error(load_3dhp_train_2d, *args)
    assert str(path) in msg and "'annot2{1}' has shape (6, 50), expected (T, 56)" in msg

    write_annot_data(path, make_test_fields(3))  # an HDF5 file where a v5 one belongs
    assert "MATLAB v7.3" in _error(load_3dhp_train_2d, *args)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

def _gt_seq(name: str, t: int, seed: int, activity: list[int] | None = None, valid: list[bool] | None = None) -> Sequence:
    rng = np.random.default_rng(seed)
    gt = rng.normal(0.0, 250.0, (t, 17, 3))
    gt[:, 10] += np.array([0.0, -700.0, 0.0])  # keep head far from root
    gt += np.array([100.0, 0.0, 4500.0])  # camera frame, not root-centred
    w, h = (1920, 1080) if name in ("TS5", "TS6") else (2048, 2048)
    meta = {"scene": {"TS1": "GS", "TS3": "noGS", "TS5": "outdoor"}[name],
            "activity": np.asarray(activity if activity is not None else [1] * t)}
    if valid is not None:
        meta["valid"] = np.asarray(valid)
    return Sequence(subject=name, action=meta["scene"], camera="test", poses_2d=rng.uniform(0, 1000, (t, 17, 2)),
                    poses_3d=gt, res_w=w, res_h=h, meta=meta)


def _rc(x: np.ndarray) -> np.ndarray:
    return x - x[:, :1]


def _predictor(sequences: list[Sequence], make) -> callable:
    """predict_fn that answers make(seq) for the sequences in order, checking what it is given."""
    it = iter(sequences)

    def fn(poses_2d: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        seq = next(it)
        assert poses_2d.shape == seq.poses_2d.shape and image_size == (seq.res_w, seq.res_h)
        return make(seq)
    return fn


def test_evaluate_perfect_predictions_global_scale() -> None:
    seqs = [_gt_seq("TS1", 5, 0), _gt_seq("TS5", 3, 1)]
    r = evaluate_3dhp(_predictor(seqs, lambda s: _rc(s.poses_3d) / 1000.0), seqs, "global", mm_per_unit=1000.0)
    assert r["pck"] == pytest.approx(100.0)
    assert r["auc"] == pytest.approx(PERFECT_AUC)  # 96.77: the official 0 mm threshold counts nothing
    assert r["mpjpe"] == pytest.approx(0.0, abs=1e-9) and r["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)
    assert r["frames"] == 8 and r["scale_protocol"] == "global" and r["mm_per_unit"] == 1000.0
    # The model unit does not matter when mm_per_unit is right; a wrong one shows.
    r2 = evaluate_3dhp(_predictor(seqs, lambda s: _rc(s.poses_3d) / 1000.0), seqs, "global", mm_per_unit=500.0)
    assert r2["mpjpe"] > 100.0


def test_evaluate_known_constant_error() -> None:
    seqs = [_gt_seq("TS3", 4, 2)]

    def make(s: Sequence) -> np.ndarray:
        p = _rc(s.poses_3d).copy()
        p[:, 1:] += np.array([52.0, 0.0, 0.0])  # every non-root joint off by 52 mm ...
        p[:, 10] += np.array([148.0, 0.0, 0.0])  # ... and the head (head_top) by 200 mm
        return p

    r = evaluate_3dhp(_predictor(seqs, make), seqs, "global", mm_per_unit=1.0)
    # Official 14 joints: 13 at 52 mm (below 55..150: 20 of 31 thresholds), head at 200 mm (none).
    assert r["pck"] == pytest.approx(100.0 * 13 / 14)
    assert r["auc"] == pytest.approx(100.0 * 13 * 20 / (14 * 31))
    assert r["mpjpe"] == pytest.approx((15 * 52.0 + 200.0) / 17)  # all 17, root error 0
    assert 0.0 < r["pa_mpjpe"] < r["mpjpe"]
    # All 17: the root (error 0) is below 30 of the 31 thresholds.
    r_all = evaluate_3dhp(_predictor(seqs, make), seqs, "global", mm_per_unit=1.0, pck_joints="all")
    assert r_all["pck"] == pytest.approx(100.0 * 16 / 17)
    assert r_all["auc"] == pytest.approx(100.0 * (30 + 15 * 20) / (17 * 31))
    assert r_all["mpjpe"] == pytest.approx(r["mpjpe"])


def test_evaluate_per_frame_gt_scale() -> None:
    seqs = [_gt_seq("TS1", 6, 3)]
    scales = np.array([0.001, 0.02, 3.0, 0.5, 7.0, 0.0042])
    make = lambda s: _rc(s.poses_3d) * scales[:, None, None]  # noqa: E731
    r = evaluate_3dhp(_predictor(seqs, make), seqs, "per-frame-gt")
    assert r["mpjpe"] == pytest.approx(0.0, abs=1e-6) and r["pck"] == pytest.approx(100.0)
    assert r["auc"] == pytest.approx(PERFECT_AUC) and r["mm_per_unit"] is None
    # The same predictions under one global scale are far off.
    assert evaluate_3dhp(_predictor(seqs, make), seqs, "global", mm_per_unit=1.0)["mpjpe"] > 50.0


def test_evaluate_groups_by_scene_and_activity() -> None:
    gs = _gt_seq("TS1", 5, 4, activity=[1, 1, 2, 2, 3])
    out = _gt_seq("TS5", 3, 5, activity=[6, 6, 1])

    def make(s: Sequence) -> np.ndarray:
        p = _rc(s.poses_3d).copy()
        if s.subject == "TS5":
            p[:, 1:] += np.array([0.0, 52.0, 0.0])
        return p

    r = evaluate_3dhp(_predictor([gs, out], make), [gs, out], "global", mm_per_unit=1.0)
    assert list(r["per_scene"]) == ["GS", "outdoor"]
    assert r["per_scene"]["GS"]["frames"] == 5 and r["per_scene"]["GS"]["auc"] == pytest.approx(PERFECT_AUC)
    assert r["per_scene"]["outdoor"]["frames"] == 3
    assert r["per_scene"]["outdoor"]["auc"] == pytest.approx(100.0 * 20 / 31)
    assert r["per_scene"]["outdoor"]["mpjpe"] == pytest.approx(52.0 * 16 / 17)
    assert r["auc"] == pytest.approx((5 * PERFECT_AUC + 3 * 100.0 * 20 / 31) / 8)  # frame-weighted
    acts = r["per_activity"]
    assert list(acts) == [ACTIVITY_NAMES[a] for a in (1, 2, 3, 6)]
    assert acts["Standing/Walking"]["frames"] == 3  # two perfect (TS1), one off by 52 mm (TS5)
    assert acts["Standing/Walking"]["auc"] == pytest.approx((2 * PERFECT_AUC + 100.0 * 20 / 31) / 3)
    assert acts["Sports"]["frames"] == 2 and acts["Sports"]["auc"] == pytest.approx(100.0 * 20 / 31)
    assert set(r["per_sequence"]) == {"TS1", "TS5"}

    import json

    json.dumps(r)  # JSON-able
    table = format_3dhp_table(r)
    assert "| All | 8 |" in table and "| Scene: outdoor | 3 |" in table
    assert "| Activity: Sports | 2 | 100.0 | 64.5 |" in table


def test_evaluate_scores_only_valid_frames() -> None:
    seq = _gt_seq("TS1", 4, 6, valid=[True, False, True, False])

    def make(s: Sequence) -> np.ndarray:
        p = _rc(s.poses_3d).copy()
        p[~s.meta["valid"]] = 1e6  # garbage where the benchmark does not look
        return p

    r = evaluate_3dhp(_predictor([seq], make), [seq], "global", mm_per_unit=1.0)
    assert r["frames"] == 2 and r["pck"] == pytest.approx(100.0)


def test_evaluate_end_to_end_from_files(tmp_path: Path) -> None:
    write_annot_data(tmp_path / "TS4" / "annot_data.mat",
                     make_test_fields(5, 7, activity=[4, 4, 5, 5, 5], valid=[1, 1, 0, 1, 1]))
    seqs = load_3dhp_test(tmp_path, sequences=("TS4",), valid_only=False)
    r = evaluate_3dhp(_predictor(seqs, lambda s: _rc(s.poses_3d.astype(np.float64)) * 0.01), seqs,
                      "global", mm_per_unit=100.0)
    assert r["frames"] == 4 and r["pck"] == pytest.approx(100.0)
    assert list(r["per_scene"]) == ["noGS"]
    assert {k: v["frames"] for k, v in r["per_activity"].items()} == {"Reaching/Crouching": 2, "On The Floor": 2}


def test_evaluate_rejects_bad_arguments() -> None:
    seqs = [_gt_seq("TS1", 3, 8)]
    ok = lambda s: _rc(s.poses_3d)  # noqa: E731
    with pytest.raises(ValueError, match="mm_per_unit"):
        evaluate_3dhp(_predictor(seqs, ok), seqs, "global")
    with pytest.raises(ValueError, match="scale_protocol"):
        evaluate_3dhp(_predictor(seqs, ok), seqs, "median")
    with pytest.raises(ValueError, match=r"returned shape \(3, 16, 3\)"):
        evaluate_3dhp(_predictor(seqs, lambda s: ok(s)[:, :16]), seqs, "per-frame-gt")
    with pytest.raises(ValueError, match="no sequences"):
        evaluate_3dhp(ok, [], "per-frame-gt")


def test_cli_evaluate_3dhp_end_to_end(tmp_path: Path, capsys) -> None:
    """`ambipose evaluate --dataset 3dhp` on files in the official layout, with a small untrained model."""
    import json

    import torch

    from ambipose.cli import main
    from ambipose.config import config_from_dict
    from ambipose.models.pose_model import PoseModel
    from ambipose.models.checkpoint import save_checkpoint

    root = tmp_path / "mpi_inf_3dhp_test_set"
    for i in range(6):
        write_annot_data(root / f"TS{i + 1}" / "annot_data.mat", make_test_fields(4, seed=i, activity=[1, 1, 2, 2]))
    cfg = config_from_dict({"model": {"width": 16, "blocks": 1}})
    torch.manual_seed(0)
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, {"config": cfg.to_dict(), "normalisation": {"mode": "universal", "constant": 1000.0, "depth": 10.0},
                           "mm_per_unit": 600.0, "model": PoseModel(cfg.model).state_dict()})
    out = tmp_path / "r.json"
    assert main(["evaluate", "--dataset", "3dhp", "--root", str(tmp_path), "--checkpoint", str(ckpt), "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["frames"] == 24 and res["scale_protocol"] == "global"
    assert set(res["per_scene"]) == {"GS", "noGS", "outdoor"} and 0 <= res["pck"] <= 100
    assert main(["evaluate", "--dataset", "3dhp", "--checkpoint", str(ckpt)]) == 2  # no --root: one clear error
    assert "needs --root" in capsys.readouterr().err


def test_unsupervised_training_on_3dhp_2d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """data.source 3dhp: the training reader feeds the unsupervised trainer (2D only)."""
    import ambipose.data.mpi3dhp as m
    from ambipose.config import config_from_dict
    from ambipose.training.data import prepare_training_data
    from ambipose.training.loop import Trainer

    rng = np.random.default_rng(0)
    t = 30
    base = rng.normal(0, 40, (1, 28, 2)) + 1000.0
    for subject in ("S1", "S2"):
        path = write_annot_mat(tmp_path / subject / "Seq1" / "annot.mat", t=t)
        # A jittering person rather than the index pattern, so the 2D is pose-like.
        cells = scipy.io.loadmat(path)
        for i in range(14):
            cells["annot2"][i, 0] = (base + rng.normal(0, 2, (t, 28, 2))).reshape(t, 56)
        scipy.io.savemat(path, {k: v for k, v in cells.items() if not k.startswith("__")})
    orig = m.load_3dhp_train_2d
    monkeypatch.setattr(m, "load_3dhp_train_2d", lambda root, **kw: orig(root, subjects=("S1", "S2"), seqs=("Seq1",), **kw))
    cfg = config_from_dict({"data": {"source": "3dhp", "root": str(tmp_path), "cameras": ["0", "2"]},
                            "model": {"width": 16, "blocks": 1, "disc_blocks": 1},
                            "train": {"epochs": 1, "iters_per_epoch": 3, "batch_size": 8}})
    data = prepare_training_data(cfg)
    assert data.frames.poses_3d is None and data.frames.sref is None and len(data.frames) == 2 * 2 * t
    Trainer(cfg, tmp_path / "run", data=data, progress=False).fit()
    assert (tmp_path / "run" / "last.pt").is_file()
