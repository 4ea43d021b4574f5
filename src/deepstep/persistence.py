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

Writes are atomic: the file is written to a temporary name in the same
directory, flushed and fsync'ed, then renamed over the target with
``os.replace`` (and the directory fsync'ed), so a crash mid-write leaves the
old file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

import numpy as np

from .errors import DeepstepError, ModelFileError

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


def save_checkpoint(model, path, train_state=None) -> str:
    """Like :func:`save`, plus the training loop's state to resume mid-run.

    ``train_state`` defaults to ``model.train_state``
    (:class:`deepstep.training.TrainState`, or None between epochs).
    """
    return _write(model, path, train_state if train_state is not None else model.train_state, checkpoint=True)


def _write(model, path, train_state, checkpoint=False):
    from . import __version__

    model._require_built()
    path = os.fspath(path)
    theta = model._engine.theta
    if not np.all(np.isfinite(theta)):
        raise ModelFileError("Refusing to save a model whose parameters contain NaN or inf "
                             "(training diverged); retrain with a smaller learning rate.")
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


def _atomic_savez(path, arrays):
    directory = os.path.dirname(os.path.abspath(path))
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


# --- loading --------------------------------------------------------------------------
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
        The file is missing, not a deepstep model, corrupt or truncated, or
        was written by a newer deepstep.
    """
    return _read(path)[0]


def load_checkpoint(path):
    """Read a checkpoint: returns ``(model, train_state)``; ``model.train_state`` is set too."""
    model, ts = _read(path)
    model.train_state = ts
    return model, ts


def _read(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"Model file not found: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a directory, not a deepstep model file.")
    not_model = f"{path} is not a deepstep model file"
    try:
        z = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 -- whatever np.load raises, it is not a model archive
        raise ModelFileError(f"{not_model} (it is not a .npz archive, or it is truncated).") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{not_model} (it holds a single array, not a model archive).")
    with z:
        if "metadata" not in z.files:
            raise ModelFileError(f"{not_model} (no 'metadata' entry; it holds {sorted(z.files)[:6]}).")
        try:
            meta = json.loads(str(z["metadata"][()]))
        except Exception as exc:  # noqa: BLE001 -- bad zip entry, bad JSON: all mean corrupt
            raise ModelFileError(f"{path} is corrupt: its metadata cannot be read ({exc}).") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise ModelFileError(f"{not_model} (its metadata does not say format {FORMAT_NAME!r}).")
        version = meta.get("format_version")
        if not isinstance(version, int):
            raise ModelFileError(f"{path} is corrupt: format_version is {version!r}.")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was written by a newer deepstep ({meta.get('deepstep_version', '?')}, model format "
                f"version {version}); this deepstep reads format versions up to {FORMAT_VERSION}. "
                f"Upgrade deepstep to load it.")
        try:
            arrays = {k: z[k] for k in z.files if k != "metadata"}
        except Exception as exc:  # noqa: BLE001 -- CRC, zlib, EOF errors: all mean corrupt
            raise ModelFileError(f"{path} is corrupt or truncated: {exc}.") from None
    expected = meta.get("arrays", {})
    missing = sorted(set(expected) - set(arrays))
    if missing or "theta" not in arrays:
        raise ModelFileError(f"{path} is corrupt: arrays {missing or ['theta']} are missing.")
    if meta.get("checksum") != _checksum(meta, arrays):
        raise ModelFileError(f"{path} is corrupt: its checksum does not match its contents "
                             f"(the file was modified or damaged after it was saved).")
    try:
        return _rebuild(meta, arrays)
    except ModelFileError:
        raise
    except (DeepstepError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is not a valid deepstep model: {exc}") from None


def _rebuild(meta, arrays):
    from .hyperparameters import HyperParameters
    from .network import DeepNetwork
    from .preprocessing import Scaler
    from .targets import TargetEncoder
    from .training import History, TrainState

    hp = HyperParameters.from_dict(meta["hyperparameters"])
    model = DeepNetwork(hp)
    dims = meta["layer_dims"]
    model.build(int(dims[0]), TargetEncoder.from_dict(meta["targets"]))
    if model.layer_dims != dims:
        raise ModelFileError(f"layer dims {dims} do not match the hyperparameters ({model.layer_dims}).")
    theta = arrays["theta"]
    eng = model._engine
    if theta.shape != eng.theta.shape or theta.dtype != eng.theta.dtype:
        raise ModelFileError(f"theta has shape {theta.shape} and dtype {theta.dtype}; layers {dims} in "
                             f"{hp.dtype} need shape {eng.theta.shape}.")
    eng.theta[...] = theta
    opt = meta["optimizer"]
    state = {"t": opt["t"]}
    for k in opt["slots"]:
        a = arrays[f"opt_{k}"]
        if a.shape != eng.theta.shape:
            raise ModelFileError(f"optimizer state {k!r} has shape {a.shape}, expected {eng.theta.shape}.")
        state[k] = a
    model._optimizer.set_state(state, eng.theta)
    scaler = {k[len("scaler_"):]: v for k, v in arrays.items() if k.startswith("scaler_")}
    for k, v in scaler.items():
        if v.shape != (dims[0],):
            raise ModelFileError(f"scaler {k!r} has shape {v.shape}, expected ({dims[0]},).")
    model.scaler = Scaler.from_arrays(meta["scaler"], scaler)
    model.input_shape = None if meta.get("input_shape") is None else tuple(meta["input_shape"])
    model.feature_names = meta.get("feature_names")
    if meta.get("class_names") is not None:
        model.class_names = meta["class_names"]
    model._epochs_done = int(meta.get("epochs_done", 0))
    model.history = History.from_dict(meta.get("history") or {})
    for attr, key in (("_rng", "train"), ("_split_rng", "split")):
        st = (meta.get("rng") or {}).get(key)
        if st is not None and getattr(model, attr, None) is not None:
            getattr(model, attr).bit_generator.state = st
    ts = None
    if meta.get("train_state") is not None:
        ts = TrainState(**meta["train_state"])
        ts.perm = arrays.get("ts_perm")
        ts.best_theta = arrays.get("ts_best_theta")
    return model, ts
