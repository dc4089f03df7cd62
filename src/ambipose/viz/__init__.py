"""Visualisation: animated GIF/MP4, a self-contained HTML player and static PNG figures.

Submodules are imported lazily so `import ambipose.viz` does not pull in matplotlib until a
plotting function is used (the HTML writer needs only numpy).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "save_animation": "animate",
    "save_html": "html",
    "plot_training_curves": "plots",
    "plot_scale_over_time": "plots",
    "plot_reference_scale": "plots",
    "plot_step_ratio": "plots",
    "plot_skeletons": "plots",
    "plot_skeleton_grid": "plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
