"""The Human3.6M readers: the shared files (real data) and VideoPose3D's layout (files written here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ambipose.data.camera import load_h36m_cameras
from ambipose.data.h36m import CAMERA_IDS, H36M32_TO_17
from ambipose.data.h36m import load_h36m, load_videopose3d
from ambipose.data.normalization import normalise, reference_scale, universal_constant
from ambipose.data.sampler import PairSampler, PoseFrames
from ambipose.data.skeleton import bone_lengths, head_root_length
from ambipose.errors import InputError


@pytest.mark.data
def test_shared_h36m_train_and_test_splits(h36m):
    train = load_h36m("train", "gt", root=h36m, cameras=("54138969",))
    assert {s.subject for s in train} == {"S1", "S5", "S6", "S7", "S8"}
    assert len(train) == 146 and sum(len(s) for s in train) == 73279
    test = load_h36m("test", "gt", root=h36m, stride=10, cameras=("54138969",))
    assert {s.subject for s in test} == {"S9", "S11"}
    s = test[0]
    assert s.poses_2d.shape[1:] == (17, 2) and s.poses_3d.shape[1:] == (17, 3)
    # Camera frame: the person is in front of the camera, metres -> mm.
    assert (s.poses_3d[:, 0, 2] > 2000).all() and (s.poses_3d[:, 0, 2] < 9000).all()
    # Bones are rigid in the real motion capture (std well under 1 mm within a video).
    assert bone_lengths(s.poses_3d).std(0).max() < 1.0


@pytest.mark.data
def test_gt_projection_agrees_with_stacked_hourglass(h36m):
    gt = load_h36m("test", "gt", root=h36m, subjects=("S11",), stride=20)
    sh = load_h36m("test", "sh", root=h36m, subjects=("S11",), stride=20)
    by_name = {s.name: s for s in gt}
    errs = np.concatenate([np.linalg.norm(by_name[s.name].poses_2d - s.poses_2d, axis=-1).ravel() for s in sh])
    assert 3.0 < np.median(errs) < 20.0  # README: 8-13 px median


@pytest.mark.data
def test_stacked_hourglass_spine_and_head_are_corrected_to_human36m_landmarks(h36m):
    """SH's "Spine" (MPII thorax) and head top are not Human3.6M's joints; after the correction in
    `sh16_to_h36m17` both lie as close to the ground-truth 2D as the copied joints do."""
    import ambipose.data.skeleton as sk

    gt = load_h36m("train", "gt", root=h36m, subjects=("S1",), stride=10)
    sh = load_h36m("train", "sh", root=h36m, subjects=("S1",), stride=10)
    by_name = {s.name: s for s in gt}
    err = np.concatenate([np.linalg.norm(by_name[s.name].poses_2d - s.poses_2d, axis=-1) for s in sh])
    med = np.median(err, axis=0)  # (17,) px
    copied = [j for j in range(17) if j not in (sk.SPINE, sk.HEAD, sk.NECK_NOSE)]
    assert med[sk.SPINE] < 15 and med[sk.HEAD] < 15 and med[sk.NECK_NOSE] < 15
    assert med[sk.SPINE] <= 1.5 * np.median(med[copied]) and med[sk.HEAD] <= 1.5 * np.median(med[copied])
    # The detector's own joints, copied as they are, would be far off (the reason for the correction).
    det = np.load(h36m / "h36m_sh2d16_train_S1_S5_S6_S7_S8_10fps.npz")  # (N, 16, 2) px, SH order
    raw = np.concatenate([np.linalg.norm(by_name[s.name].poses_2d[:, [sk.SPINE, sk.HEAD]]
                                         - det[f"{s.subject}/{s.action}/{s.camera}"][::10, [7, 9]], axis=-1)
                          for s in sh])
    assert np.median(raw[:, 0]) > 30 and np.median(raw[:, 1]) > 15


@pytest.mark.data
def test_sampler_pairs_stay_inside_one_video(h36m):
    seqs = load_h36m("train", "gt", root=h36m, subjects=("S1",), cameras=("54138969", "55011271"))
    frames = PoseFrames.from_sequences([s.poses_2d for s in seqs])
    sampler = PairSampler(frames, max_offset=3)
    idx = sampler.sample(5000, __import__("torch").Generator().manual_seed(0))
    assert (frames.seq_index[idx] == frames.seq_index[idx + 3]).all()


def test_sequence_bounds_delimit_each_video():
    frames = PoseFrames.from_sequences([np.zeros((4, 17, 2)), np.zeros((1, 17, 2)), np.zeros((3, 17, 2))])
    np.testing.assert_array_equal(frames.sequence_bounds(), [0, 4, 5, 8])


def test_universal_normalisation_sets_mean_head_root_to_one_over_d():
    rng = np.random.default_rng(0)
    poses = [rng.normal(size=(50, 17, 2)) * 100 + 500, rng.normal(size=(30, 17, 2)) * 60 + 300]
    c = universal_constant(poses, depth=10.0)
    x = np.concatenate([normalise(p, "universal", c) for p in poses])
    assert head_root_length(x).mean() == pytest.approx(0.1, rel=1e-5)
    np.testing.assert_allclose(x[:, 0], 0.0)
    step = normalise(poses[0], "step-wise")
    np.testing.assert_allclose(head_root_length(step), 0.1, rtol=1e-5)
    with pytest.raises(ValueError):
        normalise(poses[0], "universal", None)


def test_reference_scale_matches_definition():
    # A person of head-root 500 mm at 5 m, focal 1000 px, constant 1500 px, D = 10:
    # s = c Z / (f D h) = 1500 * 5000 / (1000 * 10 * 500) = 1.5
    p = np.zeros((1, 17, 3))
    p[0, :, 2] = 5000.0
    p[0, 10, 1] = -500.0
    assert reference_scale(p, 1500.0, 1000.0)[0] == pytest.approx(1.5)


def _write_vp3d(tmp_path, cams_json, n=40, joints3d=32, drop_action=False):
    rng = np.random.default_rng(0)
    world = {"S9": {"Walking": rng.normal(size=(n, joints3d, 3)) * 0.3 + np.array([0, 0, 1.0])}}
    pos2d = {"S9": {} if drop_action else {"Walking": [rng.normal(size=(n, 17, 2)) * 50 + 500 for _ in range(4)]}}
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=np.array(world, dtype=object))
    np.savez(tmp_path / "data_2d_h36m_gt.npz", positions_2d=np.array(pos2d, dtype=object),
             metadata=np.array({"layout_name": "h36m"}, dtype=object))
    return world, pos2d


@pytest.fixture
def cams_json(tmp_path):
    rng = np.random.default_rng(1)
    cams = {"S9": []}
    for cid in CAMERA_IDS:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        q *= np.sign(np.linalg.det(q))
        cams["S9"].append({"id": cid, "R_world_to_cam": q.tolist(), "T_cam_center_world_mm": [0.0, -5000.0, 1500.0],
                           "f": [1145.0, 1144.0], "c": [512.0, 515.0], "k_radial": [0, 0, 0], "p_tangential": [0, 0],
                           "res_w": 1000, "res_h": 1000})
    path = tmp_path / "cams.json"
    path.write_text(json.dumps({"convention": "test", "cameras": cams}))
    return path


def test_videopose3d_reader(tmp_path, cams_json):
    world, pos2d = _write_vp3d(tmp_path, cams_json)
    seqs = load_videopose3d(tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz", cams_json)
    assert [s.camera for s in seqs] == list(CAMERA_IDS)
    cams = load_h36m_cameras(cams_json)["S9"]
    s = seqs[1]
    np.testing.assert_allclose(s.poses_2d, pos2d["S9"]["Walking"][1], rtol=1e-5)
    expected = cams[CAMERA_IDS[1]].world_to_camera(world["S9"]["Walking"][:, H36M32_TO_17]) * 1000.0
    np.testing.assert_allclose(s.poses_3d, expected, rtol=1e-4, atol=1e-2)


def test_videopose3d_reader_errors(tmp_path, cams_json):
    _write_vp3d(tmp_path, cams_json, drop_action=True)
    with pytest.raises(InputError, match="S9/Walking missing"):
        load_videopose3d(tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz", cams_json)
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match="bad.npz"):
        load_videopose3d(tmp_path / "bad.npz", tmp_path / "data_2d_h36m_gt.npz", cams_json)
    np.savez(tmp_path / "wrong.npz", something=np.zeros(3))
    with pytest.raises(InputError, match="positions_3d"):
        load_videopose3d(tmp_path / "wrong.npz", tmp_path / "data_2d_h36m_gt.npz", cams_json)


def test_sampler_rejects_sequences_shorter_than_offset():
    frames = PoseFrames.from_sequences([np.zeros((3, 17, 2)), np.zeros((2, 17, 2))])
    with pytest.raises(InputError, match="shorter than the temporal offset"):
        PairSampler(frames, max_offset=3)


@pytest.mark.data
def test_training_on_a_test_subjects_2d_reads_10fps_and_never_calibrates_on_its_3d(h36m):
    from ambipose.config import config_from_dict
    from ambipose.training.data import REFERENCE_HEAD_ROOT_MM, prepare_training_data

    cfg = config_from_dict({"data": {"subjects": ["S9"], "cameras": ["54138969"]}})
    data = prepare_training_data(cfg)
    s9 = load_h36m("test", "gt", root=h36m, subjects=("S9",), cameras=("54138969",))
    assert len(data.frames) == sum(len(s[::5]) for s in (x.poses_2d for x in s9))  # 50 fps -> 10 fps
    assert "S9" in data.description
    assert data.head_root_mm == REFERENCE_HEAD_ROOT_MM  # not S9's own 3D
    mixed = prepare_training_data(config_from_dict({"data": {"subjects": ["S1", "S9"], "cameras": ["54138969"]}}))
    s1 = load_h36m("train", "gt", root=h36m, subjects=("S1",), cameras=("54138969",))
    expected = float(np.concatenate([head_root_length(s.poses_3d) for s in s1]).mean())
    assert mixed.head_root_mm == pytest.approx(expected, rel=1e-6)  # S1's 3D only
    with pytest.raises(InputError, match="data.subjects"):
        config_from_dict({"data": {"subjects": ["S2"]}})
    with pytest.raises(InputError, match="data.subjects"):
        config_from_dict({"data": {"source": "2d-file", "path_2d": "x.npy", "subjects": ["S9"]}})
