"""Where the project runs: the data folder (one setting, `AMBIPOSE_DATA`, falling back to
`../shared/data`), the compute device (`pick_device`) and a description of the machine
(`machine_info`). torch is imported inside the device functions, so the data readers that need
only `data_root` stay light."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

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


def pick_device(device: str) -> str:
    """`--device` value -> a torch device string: "auto" is CUDA where available, else CPU;
    asking for CUDA without one is an InputError."""
    import torch

    from .errors import InputError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (this torch build or machine has none)")
    return device


def machine_info(device: Any = "auto") -> dict[str, Any]:
    """Where this runs, for reports (`ambipose bench`, `ambipose reproduce`): device, torch and
    Python versions, processor, CPU model, CPU count, torch threads, load average, and the GPU's
    name on CUDA. `device` is a `--device` value or a torch.device."""
    import torch

    dev = pick_device(str(device))
    info: dict[str, Any] = {
        "device": dev, "torch": torch.__version__, "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(), "machine": platform.machine(),
        "platform": platform.platform(), "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if dev.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(dev))
    return info


def _cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
