"""Fused elementwise kernels for the engine, compiled when numba is installed.

Between the matrix products, the engine's passes are NumPy calls, each one
pass over its arrays: a layer's bias add and relu are two passes, relu's
derivative two more, the softmax output layer six calls, the cross-entropy
five, the momentum update five passes over the whole parameter buffer and
Adam's ten. The kernels here do each of those jobs in one or two compiled
passes (numba: ``pip install "deepstep[fast]"``); ``benchmarks/README.md``
measures what that moves.

They compute the same numbers, bit for bit, as the NumPy code they replace:
each element goes through the same IEEE operations in the same order and in
the same dtype (the scalars are cast to the arrays' dtype as NumPy casts a
Python float; :func:`same_dtype` sends any other scalar to NumPy's path), sums
add in NumPy's order (its pairwise summation included), and ``exp``/``log``
stay NumPy's calls. ``tests/test_fused.py`` checks every kernel against its
NumPy twin and whole training runs against each other.

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

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))   # what the kernels are compiled for (native order)

_lock = threading.Lock()
_state = {"enabled": None, "module": None, "tried": False, "error": None, "ready": {}}


def _read_environment() -> bool:
    return os.environ.get("DEEPSTEP_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


_ENV = [_read_environment()]     # read at import and by set_enabled(None), not per call (it costs µs)


def _from_environment() -> bool:
    return _ENV[0]


def available(dtype=np.float64) -> bool:
    """True if the kernels for ``dtype`` are compiled and loaded here (numba installed and working)."""
    return _get(np.dtype(dtype)) is not None


def enabled(dtype=np.float64) -> bool:
    """True if the engine uses the compiled kernels for ``dtype`` (available and not turned off)."""
    return kernels(dtype) is not None


def set_enabled(flag):
    """Turn the compiled kernels on (True) or off (False) for this process; None: back to the
    ``DEEPSTEP_JIT`` environment variable, read again (otherwise it is read once, when
    deepstep is imported). Returns the previous setting (None: the variable's).

    Off, the engine runs its NumPy code; the numbers are the same either way.
    """
    previous = _state["enabled"]
    _state["enabled"] = None if flag is None else bool(flag)
    if flag is None:
        _ENV[0] = _read_environment()
    return previous


def kernels(dtype=np.float64):
    """The compiled kernels for arrays of ``dtype`` (a module of numba functions), or None: off,
    a dtype they are not compiled for, or numba missing or broken."""
    on = _state["enabled"]
    if not (_from_environment() if on is None else on):
        return None
    return _get(dtype if isinstance(dtype, np.dtype) else np.dtype(dtype))


def why_not(dtype=np.float64) -> str | None:
    """Why :func:`kernels` returns None for ``dtype``, in a sentence (None when it does not)."""
    on = _state["enabled"]
    if not (_from_environment() if on is None else on):
        return "turned off (DEEPSTEP_JIT=0 or deepstep.fused.set_enabled(False))"
    dtype = np.dtype(dtype)
    if dtype not in DTYPES or not dtype.isnative:
        return f"no kernels for {dtype} (only float32 and float64)"
    if _get(dtype) is None:
        error = _state["error"] or ""
        if error.startswith(("ModuleNotFoundError", "ImportError")) and "numba" in error:
            return f"numba is not installed ({error}); pip install 'deepstep[fast]'"
        return (f"the compiled kernels could not load ({error}); deepstep runs its NumPy code (where numba "
                f"cannot write its cache, set NUMBA_CACHE_DIR to a writable folder)")
    return None


def like(Y, A) -> bool:
    """True if ``Y`` is an array of ``A``'s dtype and shape: a kernel reading both by index gives
    NumPy's numbers (NumPy would promote another dtype, or broadcast another shape)."""
    return isinstance(Y, np.ndarray) and Y.dtype == A.dtype and Y.shape == A.shape


def same_dtype(dtype, *scalars) -> bool:
    """True if NumPy computes ``scalar * array`` in the array's ``dtype`` for every scalar.

    Python floats and ints are cast to the array's dtype (NEP 50), as are NumPy
    scalars of that very dtype. Anything else (a NumPy float64 scalar or a 0-d array
    with a float32 array: NumPy 2 then computes in float64) answers False, and the
    update stays on NumPy's path.
    """
    for s in scalars:
        t = type(s)
        if t is float or t is int or (isinstance(s, np.generic) and s.dtype == dtype):
            continue
        return False
    return True


def _warm(module, dt):
    """Compile (or load from numba's cache) every kernel for ``dt`` and the layouts the engine
    passes, so that a failure shows here, where it turns the kernels off, and not in the
    middle of a fit. (Other layouts, such as a data-parallel share of Y, compile on first use.)"""
    t = dt.type
    C = np.zeros((3, 4), dt)
    F = np.zeros((4, 3), dt).T
    b = np.zeros((3, 1), dt)
    row = np.zeros((1, 4), dt)
    for S in (C, F):
        module.bias_relu(S, b, C.copy(), C.copy())
        module.output_grad(C, S, t(1), C.copy())
        module.bias_softmax_shift(S, b, C.copy(), C.copy(), row)
        module.multiply_sum(S, C.copy(), t(0))
    module.softmax_normalize(C + 1, row, t(0))
    module.softmax_normalize(np.ones((3, 1), dt), row, t(0))
    module.clip_into(C, t(0), t(1), C.copy())
    module.relu_grad(C, C, C.copy(), t(0))
    for Y in (C, F):
        module.count_argmax_equal(C, Y)
    p = np.zeros(4, dt)
    module.gd(p, p.copy(), t(0))
    module.momentum(p, p.copy(), p.copy(), t(0), t(0), t(0))
    module.nesterov(p, p.copy(), p.copy(), t(0), t(0), t(0))
    module.rmsprop(p, p.copy(), p.copy(), t(0), t(0), t(0), t(1))
    module.adam(p, p.copy(), p.copy(), p.copy(), t(0), t(0), t(0), t(0), t(1), t(1), t(0), t(1))


def _get(dtype):
    """The kernels module, warmed for ``dtype``; None if it cannot be (recorded in ``_state``)."""
    ready = _state["ready"].get(dtype)
    if ready is not None:
        return _state["module"] if ready else None
    if dtype not in DTYPES or not dtype.isnative:
        return None
    with _lock:
        if not _state["tried"]:
            try:
                from . import numba_kernels
                _state["module"] = numba_kernels
            except Exception as exc:     # numba missing, or broken here (llvmlite, NumPy, cache)
                _state["error"] = f"{type(exc).__name__}: {exc}".strip()[:300]
            _state["tried"] = True
        if dtype not in _state["ready"]:
            ok = False
            if _state["module"] is not None:
                try:
                    _warm(_state["module"], dtype)
                    ok = True
                except Exception as exc:  # a kernel that does not compile or load here
                    _state["error"] = f"{type(exc).__name__}: {exc}".strip()[:300]
            _state["ready"][dtype] = ok
    return _state["module"] if _state["ready"][dtype] else None


def _after_fork_in_child():
    global _lock
    _lock = threading.Lock()            # a fork during the import must not leave it held


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
