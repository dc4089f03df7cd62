"""The 2D keypoint adapter (`models.keypoint_adapter`): it learns a detector's systematic joint
offsets from paired 2D, is blind to where and how large the person is in the image, repeats for a
seed, and travels in checkpoints; a model trained with it applies it to every input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ambipose.errors import InputError
from ambipose.models.keypoint_adapter import (KeypointAdapter, fit_keypoint_adapter,
                                              root_relative_error_px)


def _pairs(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 2D poses (pixels) and their 'annotations': every joint but the root moved by a fixed
    per-joint offset proportional to the pose's size (a detector's own joint definitions)."""
    rng = np.random.default_rng(seed)
    det = rng.normal(0, 80, (n, 17, 2)) + rng.uniform(200, 800, (n, 1, 2))
    size = np.sqrt(((det - det[:, :1]) ** 2).sum(-1).mean(-1))[:, None, None]
    offset = rng.normal(0, 0.15, (1, 17, 2))
    offset[:, 0] = 0
    return det, det + offset * size


def test_the_adapter_learns_a_detectors_systematic_offsets():
    det, ann = _pairs()
    adapter, rec = fit_keypoint_adapter([det[:1000], det[1000:1500]], [ann[:1000], ann[1000:1500]],
                                        epochs=15, width=128, progress=False)
    assert rec["frames"] == 1500 and rec["px_error_after"] < 0.4 * rec["px_error_before"]
    held_out = root_relative_error_px(adapter.adapt(det[1500:]), ann[1500:]).mean()
    assert held_out < 0.4 * root_relative_error_px(det[1500:], ann[1500:]).mean()


def test_the_adapter_ignores_position_and_size_in_the_image():
    torch.manual_seed(0)
    adapter = KeypointAdapter(64).eval()
    det, _ = _pairs(50)
    moved = det * 2.5 + np.array([30.0, -70.0])
    np.testing.assert_allclose(adapter.adapt(moved), adapter.adapt(det) * 2.5 + np.array([30.0, -70.0]), rtol=1e-5, atol=1e-3)
    assert adapter.adapt(det.astype(np.float32)).dtype == np.float32


def test_the_fit_repeats_for_a_seed_and_leaves_the_global_rng_alone():
    det, ann = _pairs(600)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a, _ = fit_keypoint_adapter([det], [ann], epochs=2, width=32, seed=4, progress=False)
    assert torch.equal(torch.rand(3), before)
    b, _ = fit_keypoint_adapter([det], [ann], epochs=2, width=32, seed=4, progress=False)
    c, _ = fit_keypoint_adapter([det], [ann], epochs=2, width=32, seed=5, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.net[0].weight, c.net[0].weight)


def test_the_adapter_state_round_trips_and_bad_states_are_refused():
    det, ann = _pairs(300)
    adapter, rec = fit_keypoint_adapter([det], [ann], epochs=1, width=32, progress=False)
    state = adapter.to_state({"detector": "sh", **rec})
    again = KeypointAdapter.from_state(state)
    np.testing.assert_array_equal(again.adapt(det), adapter.adapt(det))
    assert state["meta"]["detector"] == "sh"
    for bad in ({}, {**state, "format": "x"}, {**state, "width": 16}, {**state, "weights": {"net.0.weight": 1}}):
        with pytest.raises(InputError, match="adapter"):
            KeypointAdapter.from_state(bad, "ckpt.pt")


def test_unusable_pairs_are_refused():
    det, ann = _pairs(20)
    with pytest.raises(InputError):
        fit_keypoint_adapter([det], [ann[:10]], progress=False)
    with pytest.raises(InputError):
        fit_keypoint_adapter([], [], progress=False)
    bad = det.copy()
    bad[3, 5] = np.nan
    with pytest.raises(InputError, match="finite"):
        fit_keypoint_adapter([bad], [ann], progress=False)
    collapsed = np.zeros_like(det)
    with pytest.raises(InputError, match="apart from the root"):
        KeypointAdapter(16).adapt(collapsed)


def _tiny_adapted_config(epochs: int = 1):
    from ambipose.config import config_from_dict

    return config_from_dict({"name": "tiny_adapt", "data": {"input_2d": "sh", "adapt_2d": True, "subjects": ["S1", "S9"],
                                                             "cameras": ["54138969"], "train_stride": 4},
                             "model": {"width": 32, "blocks": 1},
                             "train": {"epochs": epochs, "iters_per_epoch": 3, "batch_size": 32}})


@pytest.mark.data
def test_a_model_trained_on_adapted_detections_carries_and_applies_its_adapter(h36m, tmp_path, monkeypatch):
    from ambipose.data.h36m import load_h36m
    from ambipose.data.normalization import normalise
    from ambipose.export import export_checkpoint
    from ambipose.inference import PoseLifter
    from ambipose.models.checkpoint import compact_checkpoint, load_checkpoint
    from ambipose.training import data as training_data
    from ambipose.training.run import run_training

    final = run_training(_tiny_adapted_config(), tmp_path, progress=False)
    state = load_checkpoint(final)
    meta = state["adapter_2d"]["meta"]
    assert meta["detector"] == "sh" and meta["subjects"] == ["S1"]  # fitted on training subjects only, never S9
    assert meta["px_error_after"] < meta["px_error_before"]
    lifter = PoseLifter.from_checkpoint(final)
    raw = load_h36m("test", "sh", root=h36m, subjects=("S11",), cameras=("55011271",))[0].poses_2d[:200]
    adapted = lifter.adapter.adapt(raw)
    assert root_relative_error_px(adapted, raw).mean() > 1.0  # it moves the detections
    plain = normalise(adapted, "universal", lifter.normalisation["constant"], lifter.depth)
    np.testing.assert_allclose(lifter.lift(raw).poses_3d_units, lifter.lift_normalised(plain).poses_3d_units, atol=1e-5)
    # `lift` of other detectors' layouts warns: the adapter's offsets are the SH detector's.
    import warnings

    from ambipose.data.formats import keypoints_from_array
    from ambipose.lift_io import lift_keypoints

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip = lift_keypoints(lifter, keypoints_from_array(raw, layout="h36m17"), constant="training", progress=False)
    assert clip.meta["keypoint_adapter"] == "sh"
    coco = np.concatenate([raw, raw[:, :3] + 5.0], axis=1)[:, :17]  # any 17 points, read as COCO
    with pytest.warns(UserWarning, match="adapter fitted for 'sh'"):
        lift_keypoints(lifter, keypoints_from_array(coco, layout="coco17"), progress=False)
    # Another model can borrow the adapter (evaluate / lift --keypoint-adapter): the shipped GT-trained one.
    from ambipose.cli import main
    from ambipose.inference import DEFAULT_CHECKPOINT

    borrowed = PoseLifter.from_checkpoint(None)
    borrowed.use_keypoint_adapter(final)
    np.testing.assert_allclose(borrowed.lift(raw).poses_3d_units,
                               PoseLifter.from_checkpoint(None).lift(adapted).poses_3d_units, atol=1e-5)
    with pytest.raises(InputError, match="no 2D keypoint adapter"):
        borrowed.use_keypoint_adapter(DEFAULT_CHECKPOINT)
    np.save(tmp_path / "sh.npy", raw)
    assert main(["lift", str(tmp_path / "sh.npy"), "--layout", "h36m17", "--keypoint-adapter", str(final),
                 "--out", str(tmp_path / "sh_3d.json"), "--quiet"]) == 0
    import json

    meta = json.loads((tmp_path / "sh_3d.json").read_text())["meta"]
    assert meta["keypoint_adapter"] == "sh" and meta["keypoint_adapter_from"] == str(final)
    assert main(["lift", str(tmp_path / "sh.npy"), "--layout", "h36m17", "--keypoint-adapter", str(DEFAULT_CHECKPOINT),
                 "--out", str(tmp_path / "x.json"), "--quiet"]) == 2
    assert main(["evaluate", "--baseline", "zero-depth", "--keypoint-adapter", str(final)]) == 2
    # Resuming keeps the stored adapter: nothing is fitted again.
    monkeypatch.setattr(training_data, "fit_keypoint_adapter", lambda *a, **k: pytest.fail("adapter refitted"))
    longer = run_training(_tiny_adapted_config(epochs=2), tmp_path, resume=True, progress=False)
    again = load_checkpoint(longer)
    assert again["epoch"] == 2
    assert all(torch.equal(a, b) for a, b in zip(again["adapter_2d"]["weights"].values(), state["adapter_2d"]["weights"].values()))
    assert "adapter_2d" in load_checkpoint(compact_checkpoint(longer, tmp_path / "small.pt"))
    with pytest.raises(InputError, match="adapter"):
        export_checkpoint(longer, "torchscript", tmp_path / "m.ts")
