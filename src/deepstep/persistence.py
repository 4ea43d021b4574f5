"""Saving and loading models: one ``.npz`` file, JSON metadata plus arrays, never pickle.

Why this format: ``.npz`` is a zip of ``.npy`` arrays that NumPy reads with
``allow_pickle=False``, so opening a model file never runs code. Everything
that is not an array (hyperparameters, architecture, classes, history) is one
JSON string stored as the array ``metadata``. A SHA-256 checksum over the
metadata and every array catches truncated or bit-flipped files.

File layout (``FORMAT_VERSION`` 1)::

    metadata        0-d unicode array: JSON, see ``_metadata``
    theta           (P,)   every W[l] and b[l], the engine's flat buffer
    opt_<slot>      (P,)   optimizer state (momentum "v", adam "v" and "s", ...)
    scaler_<name>   (n_x,) fitted input scaling ("shift", "factor")
    ts_<name>       checkpoints only: the interrupted epoch's permutation,
                    the best weights seen by early stopping

Checkpoints also carry ``train_state`` (the loop's position) and ``run`` (what
``deepstep train --resume`` needs: the data paths, a fingerprint of the data).

Loading treats the file as untrusted (see :mod:`deepstep._model_file_reader`
and docs/reliability.md): no pickle, headers checked before any array is read,
every field validated, and ModelFileError is the only error it raises.

Writes are atomic: the file is written to a temporary name in the same
directory, flushed and fsync'ed, then renamed over the target with
``os.replace`` (and the directory fsync'ed), so a crash mid-write leaves the
old file intact.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile

import numpy as np

from .errors import ModelFileError

FORMAT_NAME = "deepstep-model"
FORMAT_VERSION = 1
_TS_SCALARS = ("epoch", "position", "cost_sum", "correct", "best_cost", "best_epoch", "bad_epochs", "extras")


# --- saving -------------------------------------------------------------------------
def save(model, path) -> str:
    """Write ``model`` to ``path`` (a single ``.npz`` file), atomically.

    Parameters
    ----------
    model : DeepNetwork
        A trained (built) model. Its parameters must all be finite.
    path : str or path-like
        Written as given (no suffix is added).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ModelFileError
        If the parameters contain NaN or inf.
    """
    return _write(model, path, train_state=None)


def save_checkpoint(model, path, train_state=None, run=None) -> str:
    """Like :func:`save`, plus the training loop's state to resume mid-run.

    ``train_state`` defaults to ``model.train_state``
    (:class:`deepstep.training.TrainState`, or None between epochs). ``run``
    is an optional JSON-able dict stored as is (the CLI records its data and
    options there, so ``deepstep train --resume`` needs nothing else).
    """
    return _write(model, path, train_state if train_state is not None else model.train_state,
                  checkpoint=True, run=run)


def _write(model, path, train_state, checkpoint=False, run=None):
    from . import __version__

    model._require_built()
    path = os.fspath(path)
    theta = model._engine.theta
    if not np.all(np.isfinite(theta)):
        raise ModelFileError("Refusing to save a model whose parameters contain NaN or inf "
                             "(training diverged); retrain with a smaller learning rate.")
    _check_savable(model)
    arrays = {"theta": theta}
    opt_state = model._optimizer.get_state()
    t = int(opt_state.pop("t", 0))
    arrays.update({f"opt_{k}": np.asarray(v) for k, v in opt_state.items()})
    arrays.update({f"scaler_{k}": np.asarray(v) for k, v in model.scaler.to_arrays().items()})
    ts = None
    if train_state is not None:
        ts = {k: getattr(train_state, k) for k in _TS_SCALARS}
        for k in ("perm", "best_theta"):
            if getattr(train_state, k) is not None:
                arrays[f"ts_{k}"] = np.asarray(getattr(train_state, k))
    class_names = getattr(model, "class_names", None)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "deepstep_version": __version__,
        "kind": "checkpoint" if checkpoint else "model",
        "hyperparameters": model.hp.to_dict(),
        "layer_dims": model.layer_dims,
        "activations": model.activations,
        "targets": model._targets.to_dict(),
        "scaler": model.scaler.kind,
        "input_shape": None if model.input_shape is None else [int(s) for s in model.input_shape],
        "feature_names": None if model.feature_names is None else [str(n) for n in model.feature_names],
        "class_names": None if class_names is None else [str(n) for n in class_names],
        "epochs_done": int(model._epochs_done),
        "history": model.history.to_dict(),
        "optimizer": {"name": model._optimizer.name, "t": t, "slots": sorted(opt_state)},
        "rng": {"train": _rng_state(model, "_rng"), "split": _rng_state(model, "_split_rng")},
        "train_state": ts,
        "run": run,
        "arrays": {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()},
    }
    meta = json.loads(json.dumps(meta, default=_jsonable))     # canonical, JSON-only values
    meta["checksum"] = _checksum(meta, arrays)
    arrays["metadata"] = np.array(json.dumps(meta, default=_jsonable))
    _atomic_savez(path, arrays)
    return path


def _rng_state(model, attr):
    rng = getattr(model, attr, None)
    return None if rng is None else rng.bit_generator.state


def _jsonable(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (tuple, set)):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _checksum(meta, arrays) -> str:
    """SHA-256 over the metadata (minus the checksum) and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "checksum"}
    h.update(json.dumps(body, sort_keys=True).encode())
    for name in sorted(arrays):
        if name == "metadata":
            continue
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _check_savable(model):
    """Refuse what ``load`` would refuse, so that a saved file always loads."""
    if model.input_shape is not None and int(np.prod(model.input_shape)) != model._engine.dims[0]:
        raise ModelFileError(f"Refusing to save: input_shape {tuple(model.input_shape)} does not hold "
                             f"the model's {model._engine.dims[0]} input features.")
    for name, value in model._optimizer.state.items():
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"Refusing to save a model whose optimizer state {name!r} contains NaN "
                                 f"or inf (training diverged); retrain with a smaller learning rate.")


def _atomic_savez(path, arrays):
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


# --- loading: the untrusted-file reader is in _model_file_reader.py ----------------------
def load(path):
    """Read a model written by :func:`save` (or :func:`save_checkpoint`).

    Returns
    -------
    DeepNetwork
        Ready to ``predict``; ``fit(..., warm_start=True)`` continues training
        exactly where the saved model stopped (weights, optimizer state and
        random generators are restored).

    Raises
    ------
    ModelFileError
        The file is missing, not a deepstep model, corrupt or truncated,
        hand-edited, or was written by a newer deepstep. Loading raises
        nothing else, whatever the file holds.
    """
    from ._model_file_reader import read_model_file

    return read_model_file(path)[0]


def load_checkpoint(path, with_run=False):
    """Read a checkpoint: returns ``(model, train_state)``; ``model.train_state`` is set too.

    With ``with_run=True`` returns ``(model, train_state, run)``, where ``run``
    is the dict given to :func:`save_checkpoint` (the CLI's data and options),
    or None.
    """
    from ._model_file_reader import read_model_file

    model, ts, meta = read_model_file(path, with_meta=True)
    model.train_state = ts
    if with_run:
        run = meta.get("run")
        return model, ts, run if isinstance(run, dict) else None
    return model, ts
