"""Writing a model file atomically: temp file in the same folder, fsync, rename, fsync the folder.

A crash, a full disk or a signal mid-write leaves the old file intact: the
file is written under a temporary name in the target's directory, flushed and
fsync'ed, then renamed over the target with ``os.replace`` (and the directory
fsync'ed, so the rename is durable).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._version import __version__
from ..fs import atomic_open
from .format import FORMAT_NAME, FORMAT_VERSION, checksum, encode_metadata, jsonable


def write(path, meta: dict, arrays: dict, overwrite=True) -> str:
    """Write ``meta`` (JSON-able) and ``arrays`` (name -> ndarray) as one model file at ``path``.

    The format header, the array table and the checksum are added here;
    ``meta`` and ``arrays`` are not modified. Returns the path written.
    """
    path = os.fspath(path)
    arrays = dict(arrays)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "deepstep_version": __version__,
            **meta, "arrays": {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()}}
    meta = json.loads(json.dumps(meta, default=jsonable))     # canonical, JSON-only values
    meta["checksum"] = checksum(meta, arrays)
    arrays["metadata"] = encode_metadata(json.dumps(meta, default=jsonable))
    atomic_savez(path, arrays, overwrite=overwrite)
    return path


def atomic_savez(path, arrays, overwrite=True):
    """``np.savez(path, **arrays)`` written atomically (uncompressed, as the reader expects).

    The path rule is :func:`deepstep.fs.resolve_output`'s: a symlink is written
    through to its target, a device or FIFO is refused.
    """
    with atomic_open(path, "wb", overwrite=overwrite) as f:
        np.savez(f, **arrays)


def atomic_write_bytes(path, data: bytes, overwrite=True):
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename),
    by :func:`deepstep.fs.atomic_open`'s path rule."""
    with atomic_open(path, "wb", overwrite=overwrite) as f:
        f.write(data)
