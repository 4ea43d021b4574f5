"""The model-file format: one ``.npz`` of JSON metadata plus arrays, checksummed, never pickled.

Why this format: ``.npz`` is a zip of ``.npy`` arrays that NumPy reads with
``allow_pickle=False``, so opening a model file never runs code. Everything
that is not an array (hyperparameters, architecture, classes, history) is one
JSON string stored as the array ``metadata``. A SHA-256 checksum over the
metadata and every array catches truncated or bit-flipped files.

File layout (``FORMAT_VERSION`` 1)::

    metadata        0-d unicode array: JSON; the writer adds "format",
                    "format_version", "deepstep_version", "arrays" (each
                    array's dtype and shape) and "checksum" to what the model
                    gives (see :mod:`deepstep.state`)
    theta           (P,)   every W[l] and b[l], the engine's flat buffer
    opt_<slot>      (P,)   optimizer state (momentum "v", adam "v" and "s", ...)
    scaler_<name>   (n_x,) fitted input scaling ("shift", "factor")
    ts_<name>       checkpoints only: the interrupted epoch's permutation,
                    the best weights seen by early stopping

This package knows JSON and arrays only; what they mean for a model is
:mod:`deepstep.state`'s business.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np

FORMAT_NAME = "deepstep-model"
FORMAT_VERSION = 1
#: The arrays a model file may hold besides ``metadata`` (see the layout above).
ARRAY_NAME = re.compile(r"theta|opt_[a-z0-9]{1,16}|scaler_[a-z0-9]{1,16}|ts_[a-z0-9_]{1,16}")
#: Zip entries in a model file, metadata included: deepstep writes about ten.
MAX_ENTRIES = 32


def jsonable(o):
    """``json.dumps(default=...)``: NumPy arrays and scalars, tuples and sets as JSON values."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (tuple, set)):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def checksum(meta, arrays) -> str:
    """SHA-256 over the metadata (minus the checksum) and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "checksum"}
    h.update(json.dumps(body, sort_keys=True).encode())
    for name in sorted(arrays):
        if name == "metadata":
            continue
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        if a.size:
            h.update(memoryview(a.reshape(-1)).cast("B"))    # no copy of the bytes
    return h.hexdigest()
