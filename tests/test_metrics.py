"""Metric values on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from ambipose.evaluation import metrics
from ambipose.evaluation.protocols import apply_scale_protocol


def _pose(seed=0, n=4):
    return np.random.default_rng(seed).normal(size=(n, 17, 3)) * 200.0


def _rot(axis_angle):
    a = axis_angle
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_identical_poses_score_zero_everywhere():
    p = _pose()
    for f in (metrics.mpjpe, metrics.pa_mpjpe, metrics.n_mpjpe):
        np.testing.assert_allclose(f(p, p), 0.0, atol=1e-9)
    np.testing.assert_allclose(metrics.mpjve(p, p), 0.0, atol=1e-9)
    assert (metrics.pck(p, p) == 100.0).all()
    np.testing.assert_allclose(metrics.auc(p, p), 100.0 * 30 / 31)  # threshold 0 counts nothing (strict <)


def test_translation_does_not_count_after_root_alignment():
    p = _pose()
    np.testing.assert_allclose(metrics.mpjpe(p + np.array([100.0, -50.0, 3000.0]), p), 0.0, atol=1e-9)


def test_rotated_scaled_copy_has_zero_pa_and_known_mpjpe():
    gt = _pose(1, 1)
    gt = gt - gt[:, :1]
    pred = 1.7 * gt @ _rot(0.6).T + 42.0
    assert metrics.pa_mpjpe(pred, gt)[0] == pytest.approx(0.0, abs=1e-6)
    # Scale-only copy: MPJPE = 0.7 * mean joint distance from root; N-MPJPE = 0.
    scaled = 1.7 * gt
    expected = 0.7 * np.linalg.norm(gt, axis=-1).mean()
    assert metrics.mpjpe(scaled, gt)[0] == pytest.approx(expected)
    assert metrics.n_mpjpe(scaled, gt)[0] == pytest.approx(0.0, abs=1e-9)


def test_procrustes_never_reflects():
    gt = _pose(2, 1)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    # A reflection cannot be undone by a proper rotation, so the error stays clearly above 0.
    assert metrics.pa_mpjpe(mirrored, gt)[0] > 10.0
    aligned = metrics.procrustes_align(mirrored, gt)
    centred = aligned - aligned.mean(1, keepdims=True)
    src = mirrored - mirrored.mean(1, keepdims=True)
    # Recover the transform: it must be a rotation (det +1).
    u, s, vt = np.linalg.svd(src[0].T @ centred[0])
    assert np.linalg.det(u @ vt) > 0
    # ...and, given that rotation, the least-squares scale: shrinking or growing the aligned pose
    # about its centre only adds error (the scale term must take the flipped direction's sign).
    mu = gt.mean(1, keepdims=True)

    def sq_err(c: float) -> float:
        return float(((c * (aligned - mu) + mu - gt) ** 2).sum())

    assert sq_err(1.0) < min(sq_err(0.98), sq_err(1.02))


def test_constant_offset_errors_mpjpe_pck_auc():
    gt = np.zeros((2, 17, 3))
    pred = gt.copy()
    pred[:, 1:, 0] = 100.0  # every non-root joint 100 mm off; root exact
    assert metrics.mpjpe(pred, gt)[0] == pytest.approx(100.0 * 16 / 17)
    assert metrics.pck(pred, gt, 150.0)[0] == pytest.approx(100.0)
    assert metrics.pck(pred, gt, 100.0)[0] == pytest.approx(100.0 / 17)  # strict: 100 mm is not < 100
    # AUC: thresholds 0..150 step 5. Root (error 0) counts for 30 thresholds, others for
    # thresholds 105..150 (10 of them).
    expected = 100.0 * (30 + 16 * 10) / (17 * 31)
    assert metrics.auc(pred, gt)[0] == pytest.approx(expected)


def test_mpjve_on_constant_velocity_error():
    gt = np.zeros((5, 17, 3))
    pred = gt.copy()
    pred[:, 1:, 1] = np.arange(5)[:, None] * 10.0  # drifts 10 mm / frame
    np.testing.assert_allclose(metrics.mpjve(pred, gt), 10.0 * 16 / 17)


def test_scale_protocols():
    gt = _pose(3, 3)
    gt = gt - gt[:, :1]
    pred_units = gt / 500.0
    np.testing.assert_allclose(apply_scale_protocol(pred_units, gt, "global", 500.0), gt, atol=1e-9)
    np.testing.assert_allclose(apply_scale_protocol(pred_units * 3.0, gt, "per-frame-gt", 1.0), gt, atol=1e-9)
    with pytest.raises(ValueError):
        apply_scale_protocol(pred_units, gt, "oracle", 1.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((3, 17, 3)))
