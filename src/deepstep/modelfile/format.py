"""The model-file format: one ``.npz`` of JSON metadata plus arrays, checksummed, never pickled.

Why this format: ``.npz`` is a zip of ``.npy`` arrays that NumPy reads with
``allow_pickle=False``, so opening a model file never runs code. Everything
that is not an array (hyperparameters, architecture, classes, history) is one
JSON text stored as the array ``metadata``, UTF-8 encoded. A SHA-256 checksum over the
metadata and every array catches truncated or bit-flipped files.

File layout (``FORMAT_VERSION`` 2)::

    metadata        1-d uint8 array: JSON as UTF-8 bytes; the writer adds "format",
                    "format_version", "deepstep_version", "arrays" (each
                    array's dtype and shape) and "checksum" to what the model
                    gives (see :mod:`deepstep.state`)
    theta           (P,)   every W[l] and b[l], the engine's flat buffer
    opt_<slot>      (P,)   optimizer state (momentum "v", adam "v" and "s", ...)
    scaler_<name>   (n_x,) fitted input scaling ("shift", "factor")
    ts_<name>       checkpoints only: the interrupted epoch's permutation,
                    the best weights seen by early stopping

Format version 1 stored the metadata as a 0-d NumPy unicode array (UTF-32:
four bytes a character, most of a small model's file); version 2 stores the
same JSON as UTF-8 bytes. The reader reads both.

This package knows JSON and arrays only; what they mean for a model is
:mod:`deepstep.state`'s business.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np

FORMAT_NAME = "deepstep-model"
FORMAT_VERSION = 2
#: format_version -> how the ``metadata`` entry is stored.
METADATA_ENCODING = {1: "utf-32 (0-d numpy unicode array)", 2: "utf-8 (1-d uint8 array)"}
#: The arrays a model file may hold besides ``metadata`` (see the layout above).
ARRAY_NAME = re.compile(r"theta|opt_[a-z0-9]{1,16}|scaler_[a-z0-9]{1,16}|ts_[a-z0-9_]{1,16}")
#: Zip entries in a model file, metadata included: deepstep writes about ten.
MAX_ENTRIES = 32


def encode_metadata(text: str) -> np.ndarray:
    """The ``metadata`` entry of a format-2 file: the JSON text as a 1-d uint8 array of UTF-8 bytes."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def decode_metadata(entry: np.ndarray) -> str:
    """The JSON text of a ``metadata`` entry already in memory, either format (for tools and tests;
    untrusted files go through :mod:`deepstep.modelfile.reader`, which checks sizes first)."""
    entry = np.asarray(entry)
    if entry.dtype == np.uint8:
        return entry.tobytes().decode("utf-8")
    return str(entry)



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
