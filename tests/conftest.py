"""Shared fixtures. Tests that need the real Human3.6M data skip where it is absent, and fail
when CI=true (CI always has ../shared/data beside the clone)."""

from __future__ import annotations

import os

import pytest

from ambipose.settings import h36m_root


def _require_h36m():
    root = h36m_root()
    if not (root / "h36m_cameras.json").is_file():
        msg = f"Human3.6M data not found at {root} (set AMBIPOSE_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " -- required under CI=true")
        pytest.skip(msg)
    return root


@pytest.fixture(scope="session")
def h36m():
    return _require_h36m()
