"""2D keypoint readers (`ambipose.data.formats`) and joint-layout tables (`ambipose.data.joint_maps`).

Every test writes its own small file in tmp_path; values of mapped joints are checked by hand.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ambipose.data.formats import Keypoints2D, read_keypoints
from ambipose.data.joint_maps import (
    JOINT_MAPS, LAYOUT_JOINT_NAMES, LAYOUT_NUM_JOINTS, LAYOUTS, markdown_table, to_h36m17,
)
from ambipose.data.skeleton import JOINT_NAMES
from ambipose.errors import InputError
from ambipose.settings import data_root

H = {name: i for i, name in enumerate(JOINT_NAMES)}  # Human3.6M-17 name -> index
C = {name: i for i, name in enumerate(LAYOUT_JOINT_NAMES["coco17"])}
B = {name: i for i, name in enumerate(LAYOUT_JOINT_NAMES["body25"])}
HP = {name: i for i, name in enumerate(LAYOUT_JOINT_NAMES["halpe26"])}
M = {name: i for i, name in enumerate(LAYOUT_JOINT_NAMES["mediapipe33"])}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


def person(n_joints: int, seed: int, offset: float = 100.0) -> np.ndarray:
    """Distinct pixel coordinates (J, 2), no zeros."""
    rng = np.random.default_rng(seed)
    return offset + rng.uniform(0, 400, size=(n_joints, 2))


def coco_instance(pts: np.ndarray, frame: int, scores: np.ndarray | None = None, **extra) -> dict:
    s = np.full(len(pts), 0.9) if scores is None else scores
    kp = np.concatenate([pts, s[:, None]], axis=1).ravel().tolist()
    return {"image_id": frame, "category_id": 1, "keypoints": kp, **extra}


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) / 2


# ------------------------------------------------------------------------------------------
# joint_maps


@pytest.mark.parametrize("layout", LAYOUTS)
def test_tables_cover_17_joints_with_valid_sources(layout):
    rules = JOINT_MAPS[layout]
    assert len(rules) == 17
    for rule in rules:
        assert rule.sources and all(0 <= i < LAYOUT_NUM_JOINTS[layout] for i in rule.sources)


def test_coco17_mapping_by_hand():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (3, 17, 2))
    sc = rng.uniform(0, 1, (3, 17))
    poses, out = to_h36m17(pts, sc, "coco17")
    np.testing.assert_allclose(poses[:, H["Hip"]], mid(pts[:, C["lhip"]], pts[:, C["rhip"]]))
    np.testing.assert_allclose(out[:, H["Hip"]], np.minimum(sc[:, C["lhip"]], sc[:, C["rhip"]]))
    thorax = mid(pts[:, C["lsho"]], pts[:, C["rsho"]])
    np.testing.assert_allclose(poses[:, H["Thorax"]], thorax)
    np.testing.assert_allclose(poses[:, H["Spine"]], mid(poses[:, H["Hip"]], thorax))
    np.testing.assert_allclose(poses[:, H["Neck/Nose"]], pts[:, C["nose"]])
    np.testing.assert_allclose(poses[:, H["Head"]], mid(pts[:, C["lear"]], pts[:, C["rear"]]))
    for h, c in [("RHip", "rhip"), ("RKnee", "rknee"), ("RAnkle", "rank"), ("LHip", "lhip"),
                 ("LKnee", "lknee"), ("LAnkle", "lank"), ("LShoulder", "lsho"), ("LElbow", "lelb"),
                 ("LWrist", "lwri"), ("RShoulder", "rsho"), ("RElbow", "relb"), ("RWrist", "rwri")]:
        np.testing.assert_array_equal(poses[:, H[h]], pts[:, C[c]])
        np.testing.assert_array_equal(out[:, H[h]], sc[:, C[c]])
    spine_src = [C["lhip"], C["rhip"], C["lsho"], C["rsho"]]
    np.testing.assert_allclose(out[:, H["Spine"]], sc[:, spine_src].min(axis=1))


def test_body25_halpe_mediapipe_mapping_by_hand():
    pts = person(25, 1)[None]
    poses, sc = to_h36m17(pts, None, "body25")
    assert sc is None
    np.testing.assert_array_equal(poses[0, H["Hip"]], pts[0, B["MidHip"]])
    np.testing.assert_array_equal(poses[0, H["Thorax"]], pts[0, B["Neck"]])
    np.testing.assert_allclose(poses[0, H["Spine"]], mid(pts[0, B["MidHip"]], pts[0, B["Neck"]]))
    np.testing.assert_allclose(poses[0, H["Head"]], mid(pts[0, B["LEar"]], pts[0, B["REar"]]))
    np.testing.assert_array_equal(poses[0, H["RWrist"]], pts[0, B["RWrist"]])

    pts = person(26, 2)[None]
    poses, _ = to_h36m17(pts, None, "halpe26")
    np.testing.assert_array_equal(poses[0, H["Hip"]], pts[0, HP["Hip"]])
    np.testing.assert_array_equal(poses[0, H["Head"]], pts[0, HP["Head"]])
    np.testing.assert_array_equal(poses[0, H["Thorax"]], pts[0, HP["Neck"]])
    np.testing.assert_array_equal(poses[0, H["LAnkle"]], pts[0, HP["LAnkle"]])

    pts = person(33, 3)[None]
    poses, _ = to_h36m17(pts, None, "mediapipe33")
    np.testing.assert_allclose(poses[0, H["Hip"]], mid(pts[0, M["left_hip"]], pts[0, M["right_hip"]]))
    np.testing.assert_array_equal(poses[0, H["RKnee"]], pts[0, M["right_knee"]])
    np.testing.assert_array_equal(poses[0, H["LElbow"]], pts[0, M["left_elbow"]])

    pts = person(17, 4)[None]
    np.testing.assert_array_equal(to_h36m17(pts, None, "h36m17")[0], pts)


def test_to_h36m17_nan_propagates_only_to_its_joints():
    pts = person(17, 5)[None].copy()
    pts[0, C["lhip"]] = np.nan
    poses, _ = to_h36m17(pts, None, "coco17")
    bad = {H["Hip"], H["LHip"], H["Spine"]}
    assert set(np.nonzero(np.isnan(poses[0]).any(-1))[0]) == bad


def test_to_h36m17_rejects_bad_shapes():
    with pytest.raises(ValueError, match="expects points of shape"):
        to_h36m17(np.zeros((2, 25, 2)), None, "coco17")
    with pytest.raises(ValueError, match="unknown joint layout"):
        to_h36m17(np.zeros((2, 17, 2)), None, "coco18")


def test_docs_table_matches_code():
    assert DOCS.is_file(), "docs/formats.md is missing"
    assert markdown_table() in DOCS.read_text(), "regenerate the table with joint_maps.markdown_table()"


# ------------------------------------------------------------------------------------------
# COCO-style JSON


def test_coco_results_order_selection_and_mapping(tmp_path):
    p = [person(17, s) for s in range(4)]
    insts = [
        coco_instance(p[2], frame=2, score=0.8),
        coco_instance(p[0], frame=0, score=0.9),
        coco_instance(p[3], frame=1, score=0.3),   # a second, weaker person in frame 1
        coco_instance(p[1], frame=1, score=0.95),
    ]
    kp = read_keypoints(write_json(tmp_path / "res.json", insts))
    assert isinstance(kp, Keypoints2D)
    assert kp.layout == "coco17" and kp.units == "pixels" and kp.poses.shape == (3, 17, 2)
    assert kp.poses.dtype == np.float32 and kp.scores.shape == (3, 17) and not kp.missing.any()
    for t, src in enumerate([p[0], p[1], p[2]]):  # ordered by image_id, best person in frame 1
        np.testing.assert_allclose(kp.poses[t, H["Hip"]], mid(src[C["lhip"]], src[C["rhip"]]), rtol=1e-6)
        np.testing.assert_allclose(kp.poses[t, H["LWrist"]], src[C["lwri"]], rtol=1e-6)
    assert kp.source.endswith("res.json") and kp.fps is None and kp.image_size is None


def test_coco_track_selection(tmp_path):
    a, b = person(17, 10), person(17, 11, offset=600)
    insts = []
    for t in range(3):
        insts += [coco_instance(a, t, score=0.99, track_id=0), coco_instance(b, t, score=0.5, track_id=7)]
    path = write_json(tmp_path / "tracks.json", insts)
    np.testing.assert_allclose(read_keypoints(path).poses[0, H["RKnee"]], a[C["rknee"]], rtol=1e-6)
    kp = read_keypoints(path, track=7)
    np.testing.assert_allclose(kp.poses[:, H["RKnee"]], np.tile(b[C["rknee"]], (3, 1)), rtol=1e-6)
    np.testing.assert_array_equal(read_keypoints(path, track="7").poses, kp.poses)  # CLI string
    with pytest.raises(InputError, match=r"track 3 not found \(tracks: 0.0, 7.0\)"):
        read_keypoints(path, track=3)
    no_ids = write_json(tmp_path / "noids.json", [coco_instance(a, 0)])
    with pytest.raises(InputError, match="no instance has a 'track_id'"):
        read_keypoints(no_ids, track=1)


def test_low_score_joint_is_interpolated_and_flagged(tmp_path):
    a = person(17, 20)
    frames = [a + 10.0 * t for t in range(5)]
    scores = [np.full(17, 0.9) for _ in range(5)]
    scores[2] = scores[2].copy(); scores[2][C["lwri"]] = 0.1          # low score in the middle
    frames[0] = frames[0].copy(); frames[0][C["relb"]] = 0.0           # (0, 0) = not detected, at the edge
    frames[2] = frames[2].copy(); frames[2][C["lwri"]] = [5000.0, -3.0]  # garbage where low-score
    insts = [coco_instance(f, t, s) for t, (f, s) in enumerate(zip(frames, scores))]
    kp = read_keypoints(write_json(tmp_path / "low.json", insts))
    assert kp.missing[2, H["LWrist"]] and kp.missing[0, H["RElbow"]]
    assert kp.missing.sum() == 2
    # linear in time between frames 1 and 3 (coordinates grow by 10 px per frame)
    np.testing.assert_allclose(kp.poses[2, H["LWrist"]], a[C["lwri"]] + 20.0, rtol=1e-6)
    # edge frame: nearest valid value (frame 1)
    np.testing.assert_allclose(kp.poses[0, H["RElbow"]], a[C["relb"]] + 10.0, rtol=1e-6)
    assert kp.scores[2, H["LWrist"]] == pytest.approx(0.1)
    # stricter threshold: everything missing -> error, not zeros
    with pytest.raises(InputError, match="absent or below min_score=0.95"):
        read_keypoints(tmp_path / "low.json", min_score=0.95)


def test_synthesised_joint_missing_when_one_source_is(tmp_path):
    a = person(17, 21)
    s = np.full(17, 0.9)
    s1 = s.copy(); s1[C["lsho"]] = 0.05
    insts = [coco_instance(a, 0, s), coco_instance(a + 4, 1, s1), coco_instance(a + 8, 2, s)]
    kp = read_keypoints(write_json(tmp_path / "syn.json", insts))
    assert set(np.nonzero(kp.missing[1])[0]) == {H["Thorax"], H["Spine"], H["LShoulder"]}
    np.testing.assert_allclose(kp.poses[1, H["Thorax"]], mid(a[C["lsho"]], a[C["rsho"]]) + 4, rtol=1e-6)
    assert kp.scores[1, H["Thorax"]] == pytest.approx(0.05)


def test_joint_never_valid_is_marked_absent_at_the_root(tmp_path):
    a = person(17, 22)
    s = np.full(17, 0.9)
    s[C["lank"]] = 0.0
    path = write_json(tmp_path / "never.json", [coco_instance(a, t, s) for t in range(4)])
    kp = read_keypoints(path)
    assert kp.absent == (H["LAnkle"],)
    assert kp.missing[:, H["LAnkle"]].all() and not kp.missing[:, H["RAnkle"]].any()
    # the encoding of a hidden joint: the root's 2D, so it normalises to (0, 0)
    np.testing.assert_array_equal(kp.poses[:, H["LAnkle"]], kp.poses[:, H["Hip"]])


def test_root_never_valid_names_the_joint(tmp_path):
    a = person(17, 22)
    s = np.full(17, 0.9)
    s[C["lhip"]] = 0.0
    path = write_json(tmp_path / "nohip.json", [coco_instance(a, t, s) for t in range(4)])
    with pytest.raises(InputError, match=r"nohip.json: joint Hip \(from coco17 .*\) is absent .* the hips are needed"):
        read_keypoints(path)


def test_too_many_missing(tmp_path):
    a = person(17, 23)
    insts = [coco_instance(a, 0)] + [coco_instance(a, t, np.full(17, 0.1)) for t in (1, 2)]
    path = write_json(tmp_path / "many.json", insts)
    with pytest.raises(InputError, match=r"67% of the joints .* \(at most 50% allowed\)"):
        read_keypoints(path)
    assert read_keypoints(path, max_missing=0.7).missing.sum() == 34


def test_coco_dataset_style_with_images_and_visibility(tmp_path):
    a = person(17, 30)
    anns = [coco_instance(a + t, t + 100) for t in (0, 2)]
    for ann in anns:  # COCO ground truth: visibility flags 2 / 0 with (0, 0)
        kp = np.array(ann["keypoints"]).reshape(17, 3)
        kp[:, 2] = 2
        ann["keypoints"] = kp.ravel().tolist()
    images = [{"id": 100 + t, "width": 640, "height": 480, "file_name": f"{t}.jpg"} for t in range(3)]
    path = write_json(tmp_path / "gt.json", {"images": images, "annotations": anns})
    kp = read_keypoints(path)
    assert kp.image_size == (640, 480) and len(kp) == 3
    assert kp.missing[1].all() and not kp.missing[[0, 2]].any()  # image 101 has no annotation
    np.testing.assert_allclose(kp.poses[1], (kp.poses[0] + kp.poses[2]) / 2, rtol=1e-6)
    assert kp.scores.max() == 1.0  # flags clipped to [0, 1]


def test_frame_gaps_are_reinserted(tmp_path):
    a = person(17, 31)
    insts = [coco_instance(a + 3 * t, t) for t in (0, 1, 3)]
    kp = read_keypoints(write_json(tmp_path / "gap.json", insts))
    assert len(kp) == 4 and kp.missing[2].all()
    np.testing.assert_allclose(kp.poses[2, H["RAnkle"]], a[C["rank"]] + 6, rtol=1e-6)


def test_mmpose_instance_info_nested(tmp_path):
    a = person(17, 32)
    frames = [{"frame_id": t, "instances": [{
        "keypoints": (a + t).tolist(), "keypoint_scores": [0.8] * 17, "bbox_score": 0.9}]}
        for t in range(3)]
    frames[1]["instances"] = []  # no person detected in frame 1
    path = write_json(tmp_path / "mm.json", {"meta_info": {}, "instance_info": frames})
    kp = read_keypoints(path)
    assert kp.missing[1].all() and len(kp) == 3
    np.testing.assert_allclose(kp.poses[0, H["Neck/Nose"]], a[C["nose"]], rtol=1e-6)
    np.testing.assert_allclose(kp.poses[1, H["Neck/Nose"]], a[C["nose"]] + 1, rtol=1e-6)


def test_alphapose_halpe26_string_image_ids(tmp_path):
    a = person(26, 33)
    insts = [coco_instance(a + t, f"{t}.jpg", score=1.0) for t in (10, 2, 1)]
    kp = read_keypoints(write_json(tmp_path / "alphapose-results.json", insts))
    assert kp.layout == "halpe26"
    np.testing.assert_allclose(kp.poses[:, H["Head"], 0], a[HP["Head"], 0] + np.array([1, 2, 10]), rtol=1e-6)


def test_coco_json_layout_override(tmp_path):
    a = person(17, 34)
    path = write_json(tmp_path / "h36m.json", [coco_instance(a, 0)])
    np.testing.assert_allclose(read_keypoints(path, layout="h36m17").poses[0], a, rtol=1e-6)
    with pytest.raises(InputError, match="layout body25 has 25 joints but the file has 17"):
        read_keypoints(path, layout="body25")


@pytest.mark.parametrize("value, match", [
    ({"foo": 1}, "JSON top level is an object"),
    (3, "JSON top level is a number"),
    ([], "empty sequence"),
    ([{"keypoints": [1, 2, 3]}], "has no 'image_id', 'frame_id' or 'frame'"),
    ([{"image_id": 0}], "has no 'keypoints'"),
    ([{"image_id": 0, "keypoints": [1, 2, 3, 4]}], "has 4 values, expected"),
    ([{"image_id": 0, "keypoints": ["a", 2, 3]}], r"keypoints\[0\] is a string, expected a number"),
    ([{"image_id": 0, "keypoints": [1.0, 2.0, 1.0] * 18}], "18 joints per frame"),
    ([{"image_id": [1], "keypoints": [1.0, 2.0, 1.0] * 17}], "image_id is a list"),
    ([{"image_id": 0, "keypoints": [1.0, 2.0, 1.0] * 17},
      {"image_id": 1, "keypoints": [1.0, 2.0, 1.0] * 26}], "different joint counts"),
    ([17], "instance 0 is a number"),
])
def test_coco_json_errors(tmp_path, value, match):
    with pytest.raises(InputError, match=match):
        read_keypoints(write_json(tmp_path / "bad.json", value))


def test_not_json_and_not_utf8(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(InputError, match=r"a.json: not valid JSON \(Expecting property name"):
        read_keypoints(tmp_path / "a.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        read_keypoints(tmp_path / "b.json")
    (tmp_path / "c.json").write_text("[" * 100000)
    with pytest.raises(InputError, match="c.json: not"):
        read_keypoints(tmp_path / "c.json")


def test_infinite_coordinate_in_json(tmp_path):
    a = person(17, 35)
    inst = coco_instance(a, 0)
    inst["keypoints"][0] = float("inf")
    (tmp_path / "inf.json").write_text(json.dumps([inst]))  # json writes Infinity
    with pytest.raises(InputError, match="infinite coordinates"):
        read_keypoints(tmp_path / "inf.json")


# ------------------------------------------------------------------------------------------
# OpenPose


def openpose_frame(people: list[np.ndarray], ids: list[int] | None = None) -> dict:
    out = []
    for i, a in enumerate(people):
        d = {"person_id": [ids[i] if ids else -1], "pose_keypoints_2d": a.ravel().tolist(),
             "face_keypoints_2d": [], "hand_left_keypoints_2d": []}
        out.append(d)
    return {"version": 1.3, "people": out}


def body25(seed: int, conf: float = 0.8, offset: float = 100.0) -> np.ndarray:
    return np.concatenate([person(25, seed, offset), np.full((25, 1), conf)], axis=1)


def test_openpose_folder(tmp_path):
    d = tmp_path / "op"
    d.mkdir()
    a, weak = body25(40), body25(41, conf=0.4, offset=700)
    frames = {1: [a], 2: [weak, a + [5, 5, 0]], 10: [], 3: [a + [10, 10, 0]]}
    for n, people in frames.items():  # 10 sorts after 3: numeric, not lexicographic order
        write_json(d / f"video_{n:d}_keypoints.json", openpose_frame(people))
    kp = read_keypoints(d)
    assert kp.layout == "body25" and len(kp) == 4
    assert kp.missing[3].all() and not kp.missing[:3].any()
    np.testing.assert_allclose(kp.poses[:3, H["Hip"]], a[None, B["MidHip"], :2] + [[0], [5], [10]], rtol=1e-6)
    np.testing.assert_allclose(kp.poses[3], kp.poses[2])  # trailing empty frame: nearest value
    np.testing.assert_allclose(kp.poses[0, H["Thorax"]], a[B["Neck"], :2], rtol=1e-6)
    np.testing.assert_allclose(kp.scores[0, H["Head"]], 0.8, rtol=1e-6)


def test_openpose_zero_means_missing_and_person_id(tmp_path):
    d = tmp_path / "op"
    d.mkdir()
    a, b = body25(42), body25(43, offset=800)
    for n in range(3):
        aa = a.copy()
        if n == 1:
            aa[B["LKnee"]] = [0, 0, 0.9]  # OpenPose: (0, 0) = not detected even with a score
        write_json(d / f"x_{n:012d}_keypoints.json", openpose_frame([aa, b], ids=[0, 1]))
    kp = read_keypoints(d)
    assert kp.missing[1, H["LKnee"]] and kp.missing.sum() == 1
    np.testing.assert_allclose(kp.poses[1, H["LKnee"]], a[B["LKnee"], :2], rtol=1e-6)
    kp1 = read_keypoints(d, track=1)
    np.testing.assert_allclose(kp1.poses[0, H["RAnkle"]], b[B["RAnkle"], :2], rtol=1e-6)
    with pytest.raises(InputError, match="person_id 5 not found"):
        read_keypoints(d, track=5)


def test_openpose_single_file(tmp_path):
    a = body25(44)
    path = write_json(tmp_path / "frame_000000000000_keypoints.json", openpose_frame([a]))
    kp = read_keypoints(path)
    assert len(kp) == 1 and kp.layout == "body25"
    assert len(read_keypoints(path, format="openpose")) == 1


def test_openpose_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty: no OpenPose \\*_keypoints.json files"):
        read_keypoints(empty)
    d = tmp_path / "coco18"
    d.mkdir()
    write_json(d / "v_0_keypoints.json", {"people": [{"pose_keypoints_2d": [1.0, 2.0, 0.9] * 18}]})
    with pytest.raises(InputError, match="18 joints \\(OpenPose COCO-18 model\\) are not supported"):
        read_keypoints(d)
    d = tmp_path / "dup"
    d.mkdir()
    for name in ("a_0_keypoints.json", "b_0_keypoints.json"):
        write_json(d / name, openpose_frame([body25(1)]))
    with pytest.raises(InputError, match="two files for frame 0"):
        read_keypoints(d)
    d = tmp_path / "nobody"
    d.mkdir()
    write_json(d / "v_0_keypoints.json", {"people": []})
    with pytest.raises(InputError, match="no person detected in any of the 1 frames"):
        read_keypoints(d)
    d = tmp_path / "nonum"
    d.mkdir()
    write_json(d / "v_keypoints.json", openpose_frame([body25(1)]))
    with pytest.raises(InputError, match="no frame number"):
        read_keypoints(d)
    d = tmp_path / "mixed"
    d.mkdir()
    write_json(d / "v_0_keypoints.json", openpose_frame([body25(1)]))
    write_json(d / "v_1_keypoints.json", {"people": [{"pose_keypoints_2d": [1.0, 2.0, 0.9] * 26}]})
    with pytest.raises(InputError, match="v_1_keypoints.json: people\\[0\\] has 26 joints"):
        read_keypoints(d)
    with pytest.raises(InputError, match="is a folder"):
        read_keypoints(d, format="csv")


# ------------------------------------------------------------------------------------------
# VideoPose3D custom npz


def write_vp3d(path: Path, videos: dict[str, np.ndarray], layout_name: str = "coco") -> Path:
    meta = {"layout_name": layout_name, "num_joints": 17,
            "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
            "video_metadata": {name: {"w": 960, "h": 544} for name in videos}}
    np.savez_compressed(path, positions_2d={k: {"custom": [v]} for k, v in videos.items()},
                        metadata=meta)
    return path


def test_vp3d_custom(tmp_path):
    rng = np.random.default_rng(50)
    a = rng.uniform(50, 500, (6, 17, 2)).astype(np.float32)
    b = rng.uniform(0.1, 0.9, (4, 17, 2)).astype(np.float32)  # normalised like FL-test.npz
    path = write_vp3d(tmp_path / "data_2d_custom_x.npz", {"a.mp4": a, "b.mp4": b})
    kp = read_keypoints(path)
    assert kp.layout == "coco17" and kp.units == "pixels" and kp.image_size == (960, 544)
    assert kp.scores is None and len(kp) == 6
    np.testing.assert_allclose(kp.poses[:, H["Hip"]], mid(a[:, C["lhip"]], a[:, C["rhip"]]), rtol=1e-6)
    kb = read_keypoints(path, track="b.mp4")
    assert kb.units == "normalised" and len(kb) == 4
    assert len(read_keypoints(path, track=1)) == 4
    assert len(read_keypoints(path, track="1")) == 4  # index typed on a command line
    with pytest.raises(InputError, match="video 'c.mp4' not found \\(videos: a.mp4, b.mp4\\)"):
        read_keypoints(path, track="c.mp4")
    with pytest.raises(InputError, match="video index 2 out of range"):
        read_keypoints(path, track=2)
    with pytest.raises(InputError, match="refusing with allow_pickle=False"):
        read_keypoints(path, allow_pickle=False)


def test_vp3d_nan_interpolated_and_bad_layout(tmp_path):
    a = np.random.default_rng(51).uniform(50, 500, (5, 17, 2))
    a[1:4, C["nose"]] = np.nan
    kp = read_keypoints(write_vp3d(tmp_path / "n.npz", {"v": a}))
    assert kp.missing[1:4, H["Neck/Nose"]].all() and kp.missing.sum() == 3
    expected = a[0, C["nose"]] + (a[4, C["nose"]] - a[0, C["nose"]]) * 0.5
    np.testing.assert_allclose(kp.poses[2, H["Neck/Nose"]], expected, rtol=1e-5)
    with pytest.raises(InputError, match="layout_name 'humaneva15' is not supported"):
        read_keypoints(write_vp3d(tmp_path / "he.npz", {"v": a}, "humaneva15"))
    np.savez(tmp_path / "weird.npz", positions_2d={"v": [a]}, metadata={})
    with pytest.raises(InputError, match=r"positions_2d\['v'\] is not \{'custom'"):
        read_keypoints(tmp_path / "weird.npz")
    with pytest.raises(InputError, match="has shape \\(5, 34\\)"):
        read_keypoints(write_vp3d(tmp_path / "flat.npz", {"v": a.reshape(5, 34)}))


def test_real_vp3d_file():
    path = data_root() / "wild2d" / "data_2d_custom_lol.npz"
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing under CI=true")
        pytest.skip(f"real 2D file {path} not available (set AMBIPOSE_DATA)")
    kp = read_keypoints(path)
    assert kp.poses.shape == (1336, 17, 2) and kp.units == "pixels"
    assert kp.image_size == (960, 544) and kp.layout == "coco17" and not kp.missing.any()
    assert np.isfinite(kp.poses).all()
    torso = np.linalg.norm(kp.poses[:, H["Thorax"]] - kp.poses[:, H["Hip"]], axis=-1)
    assert 80 < np.median(torso) < 200  # a plausible person in a 960 x 544 video


# ------------------------------------------------------------------------------------------
# Plain arrays


def test_npy_h36m17_identity_and_coco_override(tmp_path):
    a = np.random.default_rng(60).uniform(10, 300, (4, 17, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    kp = read_keypoints(tmp_path / "a.npy")
    assert kp.layout == "h36m17" and kp.scores is None
    np.testing.assert_array_equal(kp.poses, a)
    kc = read_keypoints(tmp_path / "a.npy", layout="coco17")
    np.testing.assert_allclose(kc.poses[:, H["Hip"]], mid(a[:, C["lhip"]], a[:, C["rhip"]]), rtol=1e-6)


def test_npy_scores_and_nan(tmp_path):
    rng = np.random.default_rng(61)
    a = np.concatenate([rng.uniform(10, 300, (5, 33, 2)), rng.uniform(0.5, 1, (5, 33, 1))], axis=2)
    a[0, M["left_wrist"], :2] = np.nan  # NaN = missing, at the first frame
    a[3, M["right_hip"], 2] = 0.01      # low visibility
    np.save(tmp_path / "mp.npy", a)
    kp = read_keypoints(tmp_path / "mp.npy")
    assert kp.layout == "mediapipe33" and kp.scores.shape == (5, 17)
    assert kp.missing[0, H["LWrist"]]
    assert kp.missing[3, [H["Hip"], H["RHip"], H["Spine"]]].all() and kp.missing.sum() == 4
    np.testing.assert_allclose(kp.poses[0, H["LWrist"]], a[1, M["left_wrist"], :2], rtol=1e-6)


def test_npz_keys_fps_image_size(tmp_path):
    a = np.random.default_rng(62).uniform(10, 300, (3, 25, 2))
    np.savez(tmp_path / "k.npz", keypoints=a, fps=np.float64(25.0), image_size=np.array([1280, 720]),
             scores=np.full((3, 25), 0.9))
    kp = read_keypoints(tmp_path / "k.npz")
    assert kp.layout == "body25" and kp.fps == 25.0 and kp.image_size == (1280, 720)
    assert kp.scores is not None
    np.savez(tmp_path / "single.npz", whatever=a[:, :17])
    assert read_keypoints(tmp_path / "single.npz").layout == "h36m17"
    np.savez(tmp_path / "two.npz", x=a, y=a)
    with pytest.raises(InputError, match="cannot tell which array holds the keypoints \\(keys: x, y\\)"):
        read_keypoints(tmp_path / "two.npz")
    np.savez(tmp_path / "badfps.npz", keypoints=a, fps=np.array([1.0, 2.0]))
    with pytest.raises(InputError, match="'fps' must be one positive number"):
        read_keypoints(tmp_path / "badfps.npz")


def test_truncated_and_corrupt_npz(tmp_path):
    a = np.random.default_rng(63).uniform(10, 300, (50, 17, 2))
    np.savez(tmp_path / "full.npz", keypoints=a)
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.npz: not a readable .npz file"):
        read_keypoints(tmp_path / "cut.npz")
    # valid zip whose array header promises more data than it holds
    hdr = np.lib.format.header_data_from_array_1_0(a)
    hdr["shape"] = (10**9, 17, 2)
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, hdr)
    with zipfile.ZipFile(tmp_path / "liar.npz", "w") as z:
        z.writestr("keypoints.npy", buf.getvalue() + a.tobytes())
    with pytest.raises(InputError, match="'keypoints' is truncated or corrupt"):
        read_keypoints(tmp_path / "liar.npz")
    (tmp_path / "liar.npy").write_bytes(buf.getvalue() + a.tobytes())
    with pytest.raises(InputError, match="liar.npy: truncated or corrupt"):
        read_keypoints(tmp_path / "liar.npy")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(InputError, match="junk.npz: not a readable .npz file"):
        read_keypoints(tmp_path / "junk.npz")
    np.save(tmp_path / "isnpy.npz", a)  # np.save appends .npy -> write the bytes under .npz
    (tmp_path / "really.npz").write_bytes((tmp_path / "isnpy.npz.npy").read_bytes())
    with pytest.raises(InputError, match="really.npz: not a readable .npz file"):
        read_keypoints(tmp_path / "really.npz")


@pytest.mark.parametrize("arr, match", [
    (np.zeros((0, 17, 2)), "empty sequence \\(0 frames\\)"),
    (np.ones((4, 18, 2)), "18 joints per frame"),
    (np.ones((4, 17, 4)), "4 values per joint"),
    (np.ones((4, 34)), "has shape \\(4, 34\\), expected \\(T, J, 2\\)"),
    (np.array([["a", "b"]] * 17 * 3).reshape(3, 17, 2), "dtype <U1, expected numbers"),
    (np.ones((3, 17, 2), dtype=bool), "dtype bool, expected numbers"),
    (np.full((3, 17, 2), 1e9), "coordinates up to 1e\\+09"),
])
def test_npy_errors(tmp_path, arr, match):
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(InputError, match=match):
        read_keypoints(tmp_path / "bad.npy")


def test_npy_inf_and_object(tmp_path):
    a = np.random.default_rng(64).uniform(10, 300, (4, 17, 2))
    a[2, 3, 0] = np.inf
    np.save(tmp_path / "inf.npy", a)
    with pytest.raises(InputError, match="inf.npy: contains infinite coordinates"):
        read_keypoints(tmp_path / "inf.npy")
    obj = np.empty(2, dtype=object)
    obj[:] = [{"a": 1}, None]
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    with pytest.raises(InputError, match="obj.npy: not a readable .npy array"):
        read_keypoints(tmp_path / "obj.npy")
    (tmp_path / "pickle.npy").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(InputError, match="pickle.npy: not a readable .npy array"):
        read_keypoints(tmp_path / "pickle.npy")


# ------------------------------------------------------------------------------------------
# CSV


def test_csv_with_header_frame_column_and_empty_cells(tmp_path):
    a = np.random.default_rng(70).uniform(10, 300, (3, 17, 3))
    a[..., 2] = 0.9
    head = ["frame"] + [f"{n}_{c}" for n in LAYOUT_JOINT_NAMES["h36m17"] for c in "xys"]
    rows = [",".join(head)]
    for t in range(3):
        cells = [f"{v:.6f}" for v in a[t].ravel()]
        if t == 1:
            cells[3 * H["RElbow"]] = ""  # empty cell -> missing
        rows.append(",".join([str(t)] + cells))
    (tmp_path / "k.csv").write_text("\n".join(rows) + "\n")
    kp = read_keypoints(tmp_path / "k.csv")
    assert kp.layout == "h36m17" and len(kp) == 3 and kp.missing.sum() == 1 and kp.missing[1, H["RElbow"]]
    np.testing.assert_allclose(kp.poses[0], a[0, :, :2], rtol=1e-5)
    np.testing.assert_allclose(kp.poses[1, H["RElbow"]], mid(a[0, H["RElbow"], :2], a[2, H["RElbow"], :2]), rtol=1e-5)


def test_csv_no_header_semicolons_and_layout(tmp_path):
    a = np.random.default_rng(71).uniform(10, 300, (2, 17, 2))
    (tmp_path / "s.csv").write_text("\n".join(";".join(f"{v}" for v in r.ravel()) for r in a))
    np.testing.assert_allclose(read_keypoints(tmp_path / "s.csv").poses, a, rtol=1e-6)
    kc = read_keypoints(tmp_path / "s.csv", layout="coco17")
    assert kc.layout == "coco17"
    np.testing.assert_allclose(kc.poses[:, H["Thorax"]], mid(a[:, C["lsho"]], a[:, C["rsho"]]), rtol=1e-6)


@pytest.mark.parametrize("text, match", [
    ("", "empty sequence"),
    ("a,b,c\n", "a header but no data rows"),
    ("1,2,3\n", "3 columns per row; expected"),
    (",".join(["1"] * 34) + "\n" + ",".join(["1"] * 33) + "\n", "line 2 has 33 columns"),
    ("x," * 33 + "x\n" + ",".join(["1"] * 33) + ",oops\n", "line 2 column 34: 'oops' is not a number"),
    (",".join(["inf"] * 34) + "\n", "infinite coordinates"),
])
def test_csv_errors(tmp_path, text, match):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(InputError, match=match):
        read_keypoints(tmp_path / "bad.csv")


# ------------------------------------------------------------------------------------------
# Generic errors


def test_generic_errors(tmp_path):
    with pytest.raises(InputError, match="nope.json: file not found"):
        read_keypoints(tmp_path / "nope.json")
    (tmp_path / "k.txt").write_text("1 2")
    with pytest.raises(InputError, match="k.txt: unknown file type '.txt'"):
        read_keypoints(tmp_path / "k.txt")
    with pytest.raises(InputError, match="unknown format 'xml'"):
        read_keypoints(tmp_path / "k.txt", format="xml")
    with pytest.raises(InputError, match="unknown layout 'coco18'"):
        read_keypoints(tmp_path / "k.txt", layout="coco18")
    a = np.random.default_rng(80).uniform(10, 300, (2, 17, 2))
    (tmp_path / "k.txt").write_text("\n".join(" ".join(map(str, r.ravel())) for r in a))
    assert len(read_keypoints(tmp_path / "k.txt", format="csv")) == 2  # whitespace-separated
    with pytest.raises(ValueError, match="max_missing"):
        read_keypoints(tmp_path / "k.txt", format="csv", max_missing=2.0)


# H36M-17 joints that stand in for each COCO-17 joint (nose, eyes and ears from the head).
H36M_FOR_COCO = [9, 10, 10, 10, 10, 11, 14, 12, 15, 13, 16, 4, 1, 5, 2, 6, 3]


def test_coco_ordered_array_without_layout_is_refused_with_the_fix(tmp_path):
    from ambipose.data.synthetic import synthetic_clip

    h36m = synthetic_clip(frames=40, seed=4)["poses_2d"]
    f = tmp_path / "coco.npy"
    np.save(f, h36m[:, H36M_FOR_COCO])
    with pytest.raises(InputError, match="pass --layout coco17"):
        read_keypoints(f)
    kp = read_keypoints(f, layout="coco17")  # the fix works
    assert (kp.poses[:, 10, 1] < kp.poses[:, 0, 1]).mean() > 0.9  # head above hip
    np.save(tmp_path / "h36m.npy", h36m)
    read_keypoints(tmp_path / "h36m.npy")  # the right order passes silently


def test_y_up_array_is_warned(tmp_path):
    from ambipose.data.synthetic import synthetic_clip

    h36m = synthetic_clip(frames=40, seed=4)["poses_2d"].copy()
    h36m[..., 1] *= -1  # y pointing up
    f = tmp_path / "yup.npy"
    np.save(f, h36m)
    with pytest.warns(UserWarning, match="upright in only"):
        read_keypoints(f)


def test_person_switches_and_detection_jumps_are_reported(tmp_path):
    from ambipose.data.synthetic import synthetic_clip

    poses = synthetic_clip(frames=40, seed=4)["poses_2d"].copy()
    np.save(tmp_path / "smooth.npy", poses)
    import warnings as _w

    with _w.catch_warnings():
        _w.simplefilter("error")
        read_keypoints(tmp_path / "smooth.npy")  # a real walk: no jump reported
    poses[10:20] += np.array([600.0, 0.0])  # frames 10..19 are someone else, far to the right
    poses[30, 13] += 400.0  # one wrist detection off by 400 px
    np.save(tmp_path / "switch.npy", poses)
    with pytest.warns(UserWarning, match=r"4 of 40 frames jump .*first frames \[10, 20, 30, 31\]"):
        read_keypoints(tmp_path / "switch.npy")
