"""A model's state as plain arrays and JSON-able metadata, and a model rebuilt from them.

This is the model's side of the state boundary (as a ``state_dict()`` is in
other libraries): :meth:`DeepNetwork.get_state` calls :func:`to_state`,
:meth:`DeepNetwork.from_state` calls :func:`from_state`. :mod:`deepstep.modelfile`
stores and reads the result without knowing what it means.

The state read back may come from an untrusted file: :func:`from_state`
validates every field before using it, section by section (architecture,
parameters, optimizer, scaler, data description, history, random generators,
training position). It uses the model's documented interface only (``build``,
``engine``, ``optimizer``, ``epochs_done``, ``rng_states``).
"""

from __future__ import annotations

import json
import math

import numpy as np

from .errors import ModelFileError
from .hyperparameters import HyperParameters
from .modelfile.format import jsonable
from .preprocessing import Scaler
from .targets import TargetEncoder
from .training import History, TrainState

#: The training position's scalar fields, stored as JSON; its arrays are stored as ``ts_<name>``.
TS_SCALARS = ("epoch", "position", "cost_sum", "correct", "best_cost", "best_epoch", "bad_epochs", "extras")


# --- model -> state ---------------------------------------------------------------------
def to_state(model, train_state=None, run=None, checkpoint=False):
    """``(meta, arrays)`` describing ``model`` completely; refuses what :func:`from_state` would refuse."""
    eng, opt = model.engine, model.optimizer
    theta = eng.theta
    if not np.all(np.isfinite(theta)):
        raise ModelFileError("Refusing to save a model whose parameters contain NaN or inf "
                             "(training diverged); retrain with a smaller learning rate.")
    check_savable(model)
    arrays = {"theta": theta}
    opt_state = opt.get_state()
    t = int(opt_state.pop("t", 0))
    arrays.update({f"opt_{k}": np.asarray(v) for k, v in opt_state.items()})
    arrays.update({f"scaler_{k}": np.asarray(v) for k, v in model.scaler.to_arrays().items()})
    ts = None
    if train_state is not None:
        ts = {k: getattr(train_state, k) for k in TS_SCALARS}
        for k in ("perm", "best_theta"):
            if getattr(train_state, k) is not None:
                arrays[f"ts_{k}"] = np.asarray(getattr(train_state, k))
    class_names = model.class_names
    meta = {
        "kind": "checkpoint" if checkpoint else "model",
        "hyperparameters": model.hp.to_dict(),
        "layer_dims": model.layer_dims,
        "activations": model.activations,
        "targets": model.targets.to_dict(),
        "scaler": model.scaler.kind,
        "input_shape": None if model.input_shape is None else [int(s) for s in model.input_shape],
        "feature_names": None if model.feature_names is None else [str(n) for n in model.feature_names],
        "class_names": None if class_names is None else [str(n) for n in class_names],
        "tabular": None if getattr(model, "tabular", None) is None else model.tabular.to_dict(),
        "epochs_done": int(model.epochs_done),
        "history": model.history.to_dict(),
        "optimizer": {"name": opt.name, "t": t, "slots": sorted(opt_state)},
        "rng": model.rng_states(),
        "train_state": ts,
        "run": run,
    }
    _check_loadable(meta, model.layer_dims)
    return meta, arrays


def _check_loadable(meta, dims):
    """Run the loader's checks on what is about to be saved: what ``save`` writes always loads."""
    try:
        canonical = json.loads(json.dumps({k: meta[k] for k in ("targets", "input_shape", "feature_names",
                                                                 "class_names", "tabular", "history")},
                                          default=jsonable))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"Refusing to save: the model holds a value a model file cannot store "
                             f"({exc}).") from None
    try:
        _targets(canonical, dims)
        _data_description(canonical, dims[0])
        _history(canonical)
    except ModelFileError as exc:
        reason = str(exc).replace("its metadata is inconsistent: ", "")
        raise ModelFileError(f"Refusing to save a model that could not be loaded back: {reason}") from None


def check_savable(model):
    """Refuse what loading would refuse, so that a saved file always loads."""
    n_x = model.layer_dims[0]
    if model.input_shape is not None and int(np.prod(model.input_shape)) != n_x:
        raise ModelFileError(f"Refusing to save: input_shape {tuple(model.input_shape)} does not hold "
                             f"the model's {n_x} input features.")
    for name, value in model.optimizer.state.items():
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"Refusing to save a model whose optimizer state {name!r} contains NaN "
                                 f"or inf (training diverged); retrain with a smaller learning rate.")


# --- state -> model -----------------------------------------------------------------------
def _check(cond, what):
    if not cond:
        raise ModelFileError(f"its metadata is inconsistent: {what}.")


def _is_int(v, lo=0):
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _str_list(v, n=None):
    return isinstance(v, list) and all(isinstance(s, str) for s in v) and (n is None or len(v) == n)


def from_state(cls, meta, arrays):
    """``(model, train_state)``: a ``cls`` (DeepNetwork) from checked metadata and arrays.

    Every field is validated before use; anything inconsistent raises
    ModelFileError.
    """
    hp, dims = _architecture(meta)
    theta = _parameters(arrays, hp, dims)
    targets = _targets(meta, dims)
    acts = meta.get("activations")
    _check(acts is None or acts == [*hp.hidden_activations, targets["output"]],
           f"activations {acts!r} do not match the hyperparameters")

    model = cls(hp)
    model.build(dims[0], TargetEncoder.from_dict(targets))
    _check(model.layer_dims == dims, f"layer dims {dims} do not match the hyperparameters "
                                     f"({model.layer_dims})")
    model.engine.theta[...] = theta
    _restore_optimizer(model, meta, arrays)
    model.scaler = _scaler(meta, arrays, dims[0])
    _describe_data(model, meta, dims[0])
    epochs_done = meta.get("epochs_done", 0)
    _check(_is_int(epochs_done), f"epochs_done is {epochs_done!r}")
    model.epochs_done = epochs_done
    model.history = _history(meta)
    _restore_rngs(model, meta)
    tsd = meta.get("train_state")
    ts = None if tsd is None else _train_state(tsd, arrays, model.engine.theta)
    used = ({"theta"} | {f"opt_{k}" for k in model.optimizer.slots}
            | {f"scaler_{k}" for k in model.scaler.to_arrays()}
            | ({"ts_perm", "ts_best_theta"} if ts is not None else set()))
    unused = sorted(set(arrays) - used)
    _check(not unused, f"it holds arrays {unused[:6]} that the model does not use")
    return model, ts


def _architecture(meta):
    hp_dict = meta.get("hyperparameters")
    _check(isinstance(hp_dict, dict), "'hyperparameters' is not a table")
    hp = HyperParameters.from_dict(hp_dict)
    dims = meta.get("layer_dims")
    _check(isinstance(dims, list) and len(dims) >= 2 and all(_is_int(d, 1) for d in dims),
           f"layer_dims {dims!r} is not a list of positive ints")
    _check(list(hp.layers) == dims[1:-1], f"layer_dims {dims} do not match the hyperparameters' "
                                          f"layers {list(hp.layers)}")
    return hp, dims


def _parameters(arrays, hp, dims):
    theta = arrays["theta"]
    n_params = sum(dims[i] * dims[i - 1] + dims[i] for i in range(1, len(dims)))
    # The parameter count follows from layer_dims; check it against the array really in the file
    # *before* building (allocating) the network, so absurd dims are refused cheaply.
    _check(theta.shape == (n_params,) and theta.dtype == np.dtype(hp.dtype),
           f"theta has shape {theta.shape} and dtype {theta.dtype}; layers {dims} in {hp.dtype} need "
           f"shape ({n_params},)")
    _check(bool(np.isfinite(theta).all()), "the parameters contain NaN or inf (save() never writes those)")
    return theta


def _targets(meta, dims):
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
    shift, scale = targets.get("shift"), targets.get("scale")
    if shift is not None or scale is not None:
        num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        _check(targets["output"] == "linear" and all(
            isinstance(v, list) and len(v) == dims[-1] and all(num(x) for x in v) for v in (shift, scale))
            and all(x > 0 for x in scale), "the regression targets' standardization is malformed")
    return targets


def _restore_optimizer(model, meta, arrays):
    opt, theta = model.optimizer, model.engine.theta
    info = meta.get("optimizer")
    _check(isinstance(info, dict) and info.get("name") == opt.name and _is_int(info.get("t"))
           and info.get("slots") == sorted(opt.slots),
           f"optimizer state {str(info)[:80]} does not fit optimizer {model.hp.optimizer!r}")
    state = {"t": info["t"]}
    for k in info["slots"]:
        a = arrays.get(f"opt_{k}")
        if a is None or a.shape != theta.shape or a.dtype != theta.dtype:
            raise ModelFileError(f"optimizer state {k!r} has shape {None if a is None else a.shape} and dtype "
                                 f"{None if a is None else a.dtype}, expected {theta.shape} "
                                 f"{theta.dtype}.")
        _check(bool(np.isfinite(a).all()), f"optimizer state {k!r} contains NaN or inf")
        state[k] = a
    opt.set_state(state, theta)


def _scaler(meta, arrays, n_x):
    kind = meta.get("scaler")
    scaler = {k[len("scaler_"):]: v for k, v in arrays.items() if k.startswith("scaler_")}
    _check(kind in ("none", "standardize", "minmax", "divide255"), f"scaler {kind!r} is unknown")
    needs = {"shift", "factor"} if kind in ("standardize", "minmax") else set()
    _check(set(scaler) == needs, f"a {kind!r} scaler with arrays {sorted(scaler)}")
    for k, v in scaler.items():
        if v.shape != (n_x,) or v.dtype != np.float64:
            raise ModelFileError(f"scaler {k!r} has shape {v.shape} and dtype {v.dtype}, expected "
                                 f"({n_x},) float64.")
        _check(bool(np.isfinite(v).all()) and float(np.abs(v).max(initial=0)) < 1e30,
               f"scaler {k!r} holds NaN, inf or absurd values")
    return Scaler.from_arrays(kind, scaler)


def _describe_data(model, meta, n_x):
    shape, names, cnames, tabular = _data_description(meta, n_x)
    model.input_shape = None if shape is None else tuple(shape)
    model.feature_names = names
    if cnames is not None:
        model.class_names = cnames
    if tabular is not None:
        model.tabular = tabular


def _data_description(meta, n_x):
    """(input_shape, feature_names, class_names, tabular encoder or None) of the metadata, checked."""
    shape = meta.get("input_shape")
    _check(shape is None or (isinstance(shape, list) and 2 <= len(shape) <= 3
                             and all(_is_int(s, 1) for s in shape) and math.prod(shape) == n_x),
           f"input_shape {shape!r} does not hold {n_x} features")
    names = meta.get("feature_names")
    _check(names is None or _str_list(names, n_x), f"feature_names do not name {n_x} features")
    cnames = meta.get("class_names")
    _check(cnames is None or _str_list(cnames), "class_names is not a list of text")
    tab = meta.get("tabular")
    enc = None
    if tab is not None:
        from .tabular import TabularEncoder

        try:
            enc = TabularEncoder.from_dict(tab)
        except ValueError as exc:
            raise ModelFileError(f"its metadata is inconsistent: {exc}.") from None
        _check(enc.n_features == n_x and (names is None or names == enc.feature_names),
               f"the table description gives {enc.n_features} features for the model's {n_x}")
    return shape, names, cnames, enc


def _number(x):
    """A JSON number a float can hold (10**400 cannot; NaN and inf, as JSON writes them, can)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        float(x)
    except OverflowError:
        return False
    return True


def _history(meta):
    hist = meta.get("history") or {}
    _check(isinstance(hist, dict) and isinstance(hist.get("records", {}), dict)
           and all(isinstance(v, list) and all(_number(x) for x in v)
                   for v in hist.get("records", {}).values())
           and (hist.get("stopped") is None
                or (isinstance(hist.get("stopped"), str) and len(hist["stopped"]) <= 64))
           and (hist.get("best_epoch") is None or _is_int(hist.get("best_epoch"))),
           "the training history is not a table of numbers")
    lengths = {len(v) for v in hist.get("records", {}).values()}
    _check(len(lengths) <= 1, f"the training history is ragged (columns of {sorted(lengths)} epochs)")
    return History.from_dict(hist)


def _restore_rngs(model, meta):
    rng = meta.get("rng") or {}
    _check(isinstance(rng, dict), "rng is not a table")
    current = model.rng_states()
    states = {}
    for key, st in rng.items():
        now = current.get(key)
        if st is None or now is None:
            continue
        _check(isinstance(st, dict) and st.get("bit_generator") == now["bit_generator"],
               f"the {key} random generator state is not a {now['bit_generator']} state")
        states[key] = st
    model.set_rng_states(states)


def _train_state(tsd, arrays, theta):
    _check(isinstance(tsd, dict) and set(tsd) == set(TS_SCALARS), "train_state has the wrong fields")
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
