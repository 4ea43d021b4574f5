"""Reading a model file that is not trusted: the archive, every .npy header, the metadata, the rebuild.

:func:`deepstep.persistence.load` and :func:`~deepstep.persistence.load_checkpoint`
call :func:`read_model_file`; the format itself (and the writer) is in
:mod:`deepstep.persistence`.

The loader treats every file as untrusted. It reads the zip directory itself
(``zipfile``), parses each ``.npy`` header with ``numpy.lib.format`` and checks
the declared dtype and shape against the metadata and against the bytes the
entry really holds *before* reading any array, so a file that declares a
10^12-element array is refused without allocating it. Entries must be stored
uncompressed (as ``np.savez`` writes them), so what is read is never larger than
the file itself. Any other failure, whatever its type, becomes ModelFileError.
"""

from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np

from .errors import DeepstepError, ModelFileError
from .persistence import _TS_SCALARS, FORMAT_NAME, FORMAT_VERSION, _checksum

MAX_METADATA_BYTES = 64 << 20          # JSON metadata (history included) of any sane model
_NPY_MAGIC = b"\x93NUMPY"
_ARRAY_DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64",
                           "uint8", "uint16", "uint32", "uint64", "bool"})


def read_model_file(path, with_meta=False):
    """(model, train_state[, metadata]) from the file at ``path``; ModelFileError is the only error."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"Model file not found: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a directory, not a deepstep model file.")
    try:
        meta, arrays = _read_archive(path)
        model, ts = _rebuild(meta, arrays)
    except ModelFileError as exc:
        if path in str(exc):
            raise
        raise ModelFileError(f"{path}: {exc}") from None    # name the file in every message
    except MemoryError:
        raise ModelFileError(f"{path} is not a valid deepstep model: it needs more memory than is "
                             f"available.") from None
    except Exception as exc:  # noqa: BLE001 -- the last line of defence: an untrusted file never
        # raises anything but ModelFileError.
        msg = f"{type(exc).__name__}: {exc}" if not isinstance(exc, DeepstepError) else str(exc)
        raise ModelFileError(f"{path} is not a valid deepstep model: {msg}") from None
    return (model, ts, meta) if with_meta else (model, ts)


def _read_archive(path):
    """(metadata dict, {name: array}) from an untrusted file; checks before allocating."""
    not_model = f"{path} is not a deepstep model file"
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if head == _NPY_MAGIC:
        raise ModelFileError(f"{not_model} (it holds a single array, not a model archive).")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ModelFileError(f"{not_model} (it is not a .npz archive, or it is truncated).") from None
    with zf:
        infos = {}
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name is None or name in infos:
                raise ModelFileError(f"{not_model} (unexpected or duplicate entry {info.filename!r}).")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > file_size:
                raise ModelFileError(f"{path} is corrupt: entry {info.filename!r} is compressed or larger "
                                     f"than the file ({info.file_size} bytes); deepstep writes "
                                     f"uncompressed entries.")
            infos[name] = info
        if "metadata" not in infos:
            raise ModelFileError(f"{not_model} (no 'metadata' entry; it holds {sorted(infos)[:6]}).")
        meta = _read_metadata(zf, infos["metadata"], path, not_model)
        spec = _array_spec(meta, path)
        missing = sorted(set(spec) - set(infos))
        if missing:
            raise ModelFileError(f"{path} is corrupt: arrays {missing} are missing.")
        extra = sorted(set(infos) - set(spec) - {"metadata"})
        if extra:
            raise ModelFileError(f"{path} is corrupt: it holds arrays {extra[:6]} that its metadata "
                                 f"does not list.")
        try:
            arrays = {name: _read_member(zf, infos[name], path, dtype, shape)
                      for name, (dtype, shape) in spec.items()}
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001 -- bad header, CRC, EOF: all mean corrupt
            raise ModelFileError(f"{path} is corrupt or truncated: {exc}.") from None
    if meta.get("checksum") != _checksum(meta, arrays):
        raise ModelFileError(f"{path} is corrupt: its checksum does not match its contents "
                             f"(the file was modified or damaged after it was saved).")
    return meta, arrays


def _npy_header(fp, where):
    """(shape, fortran_order, dtype) of a .npy stream, refusing object and structured dtypes."""
    major, _ = np.lib.format.read_magic(fp)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif major == 2:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ModelFileError(f"{where} uses .npy format version {major}, which deepstep does not write.")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ModelFileError(f"{where} holds a {dtype} array; deepstep files hold plain numbers and text "
                             f"only (never pickled objects).")
    return tuple(shape), fortran, dtype


def _read_exact(fp, n, where):
    data = fp.read(n)
    if len(data) != n:
        raise ModelFileError(f"{where} is truncated: {len(data)} of {n} bytes.")
    return data


def _read_metadata(zf, info, path, not_model):
    where = f"{path} (entry 'metadata')"
    try:
        with zf.open(info) as fp:
            shape, _, dtype = _npy_header(fp, where)
            if dtype.kind != "U" or shape != ():
                raise ModelFileError(f"{not_model} (its metadata is a {dtype} array of shape {shape}, "
                                     f"not JSON text).")
            if dtype.itemsize > min(MAX_METADATA_BYTES, info.file_size):
                raise ModelFileError(f"{path} is corrupt: its metadata declares {dtype.itemsize} bytes, "
                                     f"more than the entry holds.")
            text = str(np.frombuffer(_read_exact(fp, dtype.itemsize, where), dtype)[0])
            if fp.read(1):
                raise ModelFileError(f"{path} is corrupt: trailing bytes after the metadata.")
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 -- bad header, CRC, zlib, EOF: all mean corrupt
        raise ModelFileError(f"{path} is corrupt: its metadata cannot be read ({exc}).") from None
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path} is corrupt: its metadata is not valid JSON ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{not_model} (its metadata does not say format {FORMAT_NAME!r}).")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path} is corrupt: format_version is {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer deepstep ({meta.get('deepstep_version', '?')}, model format "
            f"version {version}); this deepstep reads format versions up to {FORMAT_VERSION}. "
            f"Upgrade deepstep to load it.")
    return meta


def _array_spec(meta, path):
    """The metadata's ``arrays`` table as {name: (dtype, shape)}, validated."""
    spec = meta.get("arrays")
    if not isinstance(spec, dict) or "theta" not in spec:
        raise ModelFileError(f"{path} is corrupt: arrays ['theta'] are missing from its metadata.")
    out = {}
    for name, entry in spec.items():
        ok = (isinstance(entry, list) and len(entry) == 2 and entry[0] in _ARRAY_DTYPES
              and isinstance(entry[1], list) and len(entry[1]) <= 4
              and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s for s in entry[1]))
        if not ok or name == "metadata":
            raise ModelFileError(f"{path} is corrupt: array {name!r} is declared as {entry!r}; expected "
                                 f"[dtype, [shape...]].")
        out[name] = (np.dtype(entry[0]), tuple(entry[1]))
    return out


def _read_member(zf, info, path, dtype, shape):
    """One array, after checking its header against the metadata and the entry's real size."""
    where = f"{path} (array {info.filename[:-4]!r})"
    with zf.open(info) as fp:
        h_shape, fortran, h_dtype = _npy_header(fp, where)
        if h_dtype != dtype or h_shape != shape:
            raise ModelFileError(f"{where} is corrupt: it holds {h_dtype} of shape {h_shape}, but the "
                                 f"metadata says {dtype} of shape {shape}.")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size - fp.tell():
            raise ModelFileError(f"{where} is corrupt: it declares {count} elements ({nbytes} bytes) but "
                                 f"the entry holds {max(info.file_size - fp.tell(), 0)} bytes.")
        data = _read_exact(fp, nbytes, where)
        if fp.read(1):
            raise ModelFileError(f"{where} is corrupt: trailing bytes after the array.")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()


def _check(cond, what):
    if not cond:
        raise ModelFileError(f"its metadata is inconsistent: {what}.")


def _is_int(v, lo=0):
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _str_list(v, n=None):
    return isinstance(v, list) and all(isinstance(s, str) for s in v) and (n is None or len(v) == n)


def _rebuild(meta, arrays):
    """A DeepNetwork from checked metadata and arrays; every field validated before use."""
    from .hyperparameters import HyperParameters
    from .network import DeepNetwork
    from .preprocessing import Scaler
    from .targets import TargetEncoder
    from .training import History, TrainState

    hp_dict = meta.get("hyperparameters")
    _check(isinstance(hp_dict, dict), "'hyperparameters' is not a table")
    hp = HyperParameters.from_dict(hp_dict)
    dims = meta.get("layer_dims")
    _check(isinstance(dims, list) and len(dims) >= 2 and all(_is_int(d, 1) for d in dims),
           f"layer_dims {dims!r} is not a list of positive ints")
    _check(list(hp.layers) == dims[1:-1], f"layer_dims {dims} do not match the hyperparameters' "
                                          f"layers {list(hp.layers)}")
    theta = arrays["theta"]
    n_params = sum(dims[i] * dims[i - 1] + dims[i] for i in range(1, len(dims)))
    # The parameter count follows from layer_dims; check it against the array really in the file
    # *before* building (allocating) the network, so absurd dims are refused cheaply.
    _check(theta.shape == (n_params,) and theta.dtype == np.dtype(hp.dtype),
           f"theta has shape {theta.shape} and dtype {theta.dtype}; layers {dims} in {hp.dtype} need "
           f"shape ({n_params},)")
    targets = meta.get("targets")
    _check(isinstance(targets, dict) and targets.get("output") in ("sigmoid", "softmax", "linear")
           and targets.get("mode") in ("labels", "matrix") and targets.get("n_outputs") == dims[-1],
           f"targets {targets!r} do not describe {dims[-1]} outputs")
    classes = targets.get("classes")
    if classes is not None:
        _check(isinstance(classes, list) and len(classes) >= 2
               and len({type(c) for c in classes}) == 1 and isinstance(classes[0], (int, float, str))
               and len(classes) == (2 if targets["output"] == "sigmoid" else dims[-1]),
               f"classes {str(classes)[:80]} do not fit a {targets['output']} output of {dims[-1]} units")
        _check(sorted(classes) == classes and len(set(classes)) == len(classes), "classes are not sorted")
    elif targets["mode"] == "labels":
        raise ModelFileError("its metadata is inconsistent: a label model without classes.")
    acts = meta.get("activations")
    _check(acts is None or acts == [*hp.hidden_activations, targets["output"]],
           f"activations {acts!r} do not match the hyperparameters")

    _check(bool(np.isfinite(theta).all()), "the parameters contain NaN or inf (save() never writes those)")
    model = DeepNetwork(hp)
    model.build(dims[0], TargetEncoder.from_dict(targets))
    _check(model.layer_dims == dims, f"layer dims {dims} do not match the hyperparameters "
                                     f"({model.layer_dims})")
    eng = model._engine
    eng.theta[...] = theta

    opt = meta.get("optimizer")
    _check(isinstance(opt, dict) and opt.get("name") == model._optimizer.name and _is_int(opt.get("t"))
           and opt.get("slots") == sorted(model._optimizer.slots),
           f"optimizer state {str(opt)[:80]} does not fit optimizer {hp.optimizer!r}")
    state = {"t": opt["t"]}
    for k in opt["slots"]:
        a = arrays.get(f"opt_{k}")
        if a is None or a.shape != eng.theta.shape or a.dtype != eng.theta.dtype:
            raise ModelFileError(f"optimizer state {k!r} has shape {None if a is None else a.shape} and dtype "
                                 f"{None if a is None else a.dtype}, expected {eng.theta.shape} "
                                 f"{eng.theta.dtype}.")
        _check(bool(np.isfinite(a).all()), f"optimizer state {k!r} contains NaN or inf")
        state[k] = a
    model._optimizer.set_state(state, eng.theta)

    kind = meta.get("scaler")
    scaler = {k[len("scaler_"):]: v for k, v in arrays.items() if k.startswith("scaler_")}
    _check(kind in ("none", "standardize", "minmax", "divide255"), f"scaler {kind!r} is unknown")
    needs = {"shift", "factor"} if kind in ("standardize", "minmax") else set()
    _check(set(scaler) == needs, f"a {kind!r} scaler with arrays {sorted(scaler)}")
    for k, v in scaler.items():
        if v.shape != (dims[0],) or v.dtype != np.float64:
            raise ModelFileError(f"scaler {k!r} has shape {v.shape} and dtype {v.dtype}, expected "
                                 f"({dims[0]},) float64.")
        _check(bool(np.isfinite(v).all()) and float(np.abs(v).max(initial=0)) < 1e30,
               f"scaler {k!r} holds NaN, inf or absurd values")
    model.scaler = Scaler.from_arrays(kind, scaler)

    shape = meta.get("input_shape")
    _check(shape is None or (isinstance(shape, list) and 2 <= len(shape) <= 3
                             and all(_is_int(s, 1) for s in shape) and math.prod(shape) == dims[0]),
           f"input_shape {shape!r} does not hold {dims[0]} features")
    model.input_shape = None if shape is None else tuple(shape)
    names = meta.get("feature_names")
    _check(names is None or _str_list(names, dims[0]), f"feature_names do not name {dims[0]} features")
    model.feature_names = names
    cnames = meta.get("class_names")
    _check(cnames is None or _str_list(cnames), "class_names is not a list of text")
    if cnames is not None:
        model.class_names = cnames
    epochs_done = meta.get("epochs_done", 0)
    _check(_is_int(epochs_done), f"epochs_done is {epochs_done!r}")
    model._epochs_done = epochs_done

    hist = meta.get("history") or {}
    _check(isinstance(hist, dict) and isinstance(hist.get("records", {}), dict)
           and all(isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                               for x in v) for v in hist.get("records", {}).values())
           and isinstance(hist.get("stopped"), (str, type(None)))
           and (hist.get("best_epoch") is None or _is_int(hist.get("best_epoch"))),
           "the training history is not a table of numbers")
    model.history = History.from_dict(hist)

    rng = meta.get("rng") or {}
    _check(isinstance(rng, dict), "rng is not a table")
    for attr, key in (("_rng", "train"), ("_split_rng", "split")):
        st = rng.get(key)
        if st is not None and getattr(model, attr, None) is not None:
            gen = getattr(model, attr)
            _check(isinstance(st, dict) and st.get("bit_generator") == gen.bit_generator.state["bit_generator"],
                   f"the {key} random generator state is not a {type(gen.bit_generator).__name__} state")
            gen.bit_generator.state = st

    ts = None
    tsd = meta.get("train_state")
    if tsd is not None:
        ts = _train_state(tsd, arrays, eng.theta, TrainState)
    return model, ts


def _train_state(tsd, arrays, theta, TrainState):
    _check(isinstance(tsd, dict) and set(tsd) == set(_TS_SCALARS), "train_state has the wrong fields")
    _check(_is_int(tsd["epoch"]) and _is_int(tsd["position"]) and _is_int(tsd["bad_epochs"])
           and all(isinstance(tsd[k], (int, float)) and not isinstance(tsd[k], bool)
                   for k in ("cost_sum", "correct", "best_cost"))
           and (tsd["best_epoch"] is None or _is_int(tsd["best_epoch"]))
           and isinstance(tsd["extras"], dict), "train_state has values of the wrong type")
    ts = TrainState(**tsd)
    ts.perm = arrays.get("ts_perm")
    if ts.perm is not None:
        m = ts.perm.size
        _check(ts.perm.ndim == 1 and np.issubdtype(ts.perm.dtype, np.integer)
               and np.array_equal(np.sort(ts.perm), np.arange(m)) and ts.position <= m,
               "the interrupted epoch's permutation is not a permutation")
    ts.best_theta = arrays.get("ts_best_theta")
    if ts.best_theta is not None:
        _check(ts.best_theta.shape == theta.shape and ts.best_theta.dtype == theta.dtype
               and bool(np.isfinite(ts.best_theta).all()), "the best weights have the wrong shape or values")
    return ts
