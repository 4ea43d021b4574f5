"""Writing a model file atomically: temp file in the same folder, fsync, rename, fsync the folder.

A crash, a full disk or a signal mid-write leaves the old file intact: the
file is written under a temporary name in the target's directory, flushed and
fsync'ed, then renamed over the target with ``os.replace`` (and the directory
fsync'ed, so the rename is durable).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile

import numpy as np

from .._version import __version__
from .format import FORMAT_NAME, FORMAT_VERSION, checksum, jsonable


def write(path, meta: dict, arrays: dict) -> str:
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
    arrays["metadata"] = np.array(json.dumps(meta, default=jsonable))
    atomic_savez(path, arrays)
    return path


def atomic_savez(path, arrays):
    """``np.savez(path, **arrays)`` written atomically (uncompressed, as the reader expects)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):     # say so with the user's path, not the temporary file's
        raise FileNotFoundError(errno.ENOENT, "No such directory to save the model in", directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable; not every platform can open a directory
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
