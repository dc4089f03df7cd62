"""Where the project finds data: one setting, `AMBIPOSE_DATA`, falling back to `../shared/data`."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "AMBIPOSE_DATA"


def data_root() -> Path:
    """Root of the data folder (holds `h36m/`, `wild2d/`).

    `AMBIPOSE_DATA` wins; otherwise `../shared/data` relative to the current directory, then
    relative to the repository that holds this package (so tests work from any directory).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    candidates = [Path.cwd() / ".." / "shared" / "data",
                  Path(__file__).resolve().parents[3] / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return candidates[0]


def h36m_root() -> Path:
    return data_root() / "h36m"
