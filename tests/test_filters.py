"""Savitzky-Golay smoothing of 2D tracks: exact on slow polynomial motion, damps jitter."""

from __future__ import annotations

import numpy as np
import pytest

from ambipose.data.filters import savgol_smooth
from ambipose.errors import InputError


def test_quadratic_motion_passes_unchanged_and_jitter_is_damped():
    t = np.arange(100, dtype=np.float64)
    clean = np.zeros((100, 17, 2))
    clean[..., 0] = (0.01 * t**2 + 2 * t)[:, None]  # a quadratic track: order 2 keeps it exactly
    clean[..., 1] = 300.0
    np.testing.assert_allclose(savgol_smooth(clean, 9), clean, atol=1e-6)
    noisy = clean + np.random.default_rng(0).normal(scale=5.0, size=clean.shape)
    err_before = np.abs(noisy - clean).mean()
    err_after = np.abs(savgol_smooth(noisy, 9) - clean).mean()
    assert err_after < 0.7 * err_before


def test_short_clips_and_bad_windows():
    short = np.random.default_rng(1).normal(size=(4, 17, 2))
    assert savgol_smooth(short, 9).shape == short.shape  # window shrunk to fit
    with pytest.raises(InputError):
        savgol_smooth(short, 4)
