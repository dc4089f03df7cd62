"""Read `.npz` files that hold pickled Python objects without letting them run code.

VideoPose3D's files (`data_2d_custom_*.npz`, `data_3d_h36m.npz`, `data_2d_h36m_*.npz`) store dicts
and lists of arrays as numpy object arrays, i.e. pickles. `np.load(..., allow_pickle=True)` would
unpickle them with Python's full unpickler, which runs whatever a crafted file names (os.system,
subprocess, eval, ...). Here object arrays are unpickled by an unpickler that admits only what
these files hold: containers and scalars (no globals needed), numpy arrays, dtypes and scalars.
Anything else is refused with an `InputError` naming the object, before it is called.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

# (module, name) pairs a pickled numpy object array of dicts / lists / arrays needs.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # protocol-2 pickles of array bytes: a pure str -> bytes function
}
_DTYPE_MODULES = ("numpy.dtypes", )  # numpy >= 1.25 pickles dtypes by class, e.g. numpy.dtypes.Float32DType


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module in _DTYPE_MODULES and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load '{module}.{name}' (only arrays, numbers, "
                                     f"strings, lists and dicts are allowed)")


def _read_member(fp: Any) -> Any:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if not dtype.hasobject:
        count = int(np.prod(shape)) if shape else 1
        data = fp.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError("truncated array data")
        arr = np.frombuffer(data, dtype=dtype, count=count).copy()
        return arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)
    return _RestrictedUnpickler(fp).load()


def load_npz_restricted(path: str | Path) -> dict[str, Any]:
    """All members of an `.npz` as {name: array}, object arrays unpickled safely.

    Raises InputError naming the file for anything unreadable or any refused object."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found")
    if not zipfile.is_zipfile(p):
        raise InputError(f"{p}: not a readable .npz file (not a zip archive)")
    out: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(p) as z:
            for name in z.namelist():
                with z.open(name) as fp:
                    out[name[:-4] if name.endswith(".npy") else name] = _read_member(fp)
    except pickle.UnpicklingError as e:
        raise InputError(f"{p}: {str(e).splitlines()[0][:200] if str(e) else 'forbidden pickled object'}") from None
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure to parse an untrusted file is a bad file
        raise InputError(f"{p}: not a readable .npz file ({type(e).__name__}: {str(e)[:160]})") from None
    return out
