"""Fused elementwise kernels for the engine, compiled when numba is installed.

Between the matrix products, the engine's passes are NumPy calls, each one
pass over its arrays: a layer's bias add and relu are two passes, relu's
derivative two more, the momentum update five over the whole parameter buffer
and Adam's ten. The kernels here do each of those jobs in one pass, compiled by
numba (``pip install "deepstep[fast]"``); ``benchmarks/README.md`` measures
what that moves.

They compute the same numbers, bit for bit, as the NumPy code they replace:
each element goes through the same IEEE operations in the same order and in
the same dtype (the scalars are cast to the arrays' dtype as NumPy casts a
Python float; :func:`same_dtype` sends any other scalar to NumPy's path), and
the sums (``db``, the softmax, the cost) stay NumPy's. ``tests/test_fused.py``
checks every kernel against its NumPy twin and whole training runs against
each other.

``import deepstep`` stays NumPy-only: numba is imported on the first
:func:`kernels` call, when a model first trains or predicts. Without numba,
with ``DEEPSTEP_JIT=0`` in the environment, or after ``set_enabled(False)``,
:func:`kernels` returns None and the engine runs its NumPy code. numba caches
the compiled code on disk (``NUMBA_CACHE_DIR`` moves it), so only the first
run on a machine pays the compilation, a few seconds.
"""

from __future__ import annotations

import os
import threading

import numpy as np

_lock = threading.Lock()
_state = {"enabled": os.environ.get("DEEPSTEP_JIT", "1").strip().lower() not in ("0", "false", "no", "off"),
          "module": None, "tried": False, "error": None}


def available() -> bool:
    """True if numba can be imported (the kernels can be compiled here)."""
    return _load() is not None


def enabled() -> bool:
    """True if the engine uses the compiled kernels (numba installed and not turned off)."""
    return _state["enabled"] and _load() is not None


def set_enabled(flag: bool) -> bool:
    """Turn the compiled kernels on or off for this process; returns the previous setting.

    Off, the engine runs its NumPy code; the numbers are the same either way.
    """
    previous = _state["enabled"]
    _state["enabled"] = bool(flag)
    return previous


def kernels():
    """The compiled kernels (a namespace), or None when they are off or numba is missing."""
    if not _state["enabled"]:
        return None
    return _load()


def why_not() -> str | None:
    """Why :func:`kernels` returns None, in a sentence (None when it does not)."""
    if not _state["enabled"]:
        return "turned off (DEEPSTEP_JIT=0 or fused.set_enabled(False))"
    if _load() is None:
        return f"numba is not importable ({_state['error']}); pip install 'deepstep[fast]'"
    return None


def same_dtype(dtype, *scalars) -> bool:
    """True if NumPy would compute ``scalar * array`` in the array's ``dtype`` for every scalar.

    Python floats and ints are cast to the array's dtype (NEP 50), as are NumPy
    scalars of that dtype; a NumPy float64 scalar with a float32 array is not
    (NumPy then computes in float64), so such a call stays on NumPy's path.
    """
    for s in scalars:
        if type(s) is not float and isinstance(s, np.generic) and np.result_type(s, dtype) != dtype:
            return False
    return True


def _load():
    if _state["tried"]:
        return _state["module"]
    with _lock:
        if not _state["tried"]:
            try:
                from . import numba_kernels as module
            except ImportError as exc:        # numba (or llvmlite) missing or broken
                module, _state["error"] = None, exc
            _state["module"] = module
            _state["tried"] = True
    return _state["module"]
