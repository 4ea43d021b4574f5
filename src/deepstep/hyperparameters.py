"""One frozen, validated hyperparameter object for the model, the CLI and the estimators.

The first fields are the lesson's own list of hyperparameters (learning rate,
iterations, number of layers, hidden units, activation, momentum, mini-batch
size, regularization); the rest are what a practitioner needs on top. Every
field is validated here, once, with messages in scikit-learn's shape:

    The 'learning_rate' parameter must be a float in (0, inf). Got -1 instead.

The CLI builds one option per field from ``FIELD_HELP`` (``--learning-rate``
for ``learning_rate``), and the estimators take the same names as ``__init__``
arguments.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass

import numpy as np

from .activations import ACTIVATIONS
from .errors import InvalidParameterError, unknown_name
from .initializers import INITIALIZERS
from .optimizers import OPTIMIZERS, SCHEDULES

OUTPUTS = ("auto", "sigmoid", "softmax", "linear")
DTYPES = ("float32", "float64")
PREPROCESS = ("none", "standardize", "minmax", "divide255")
INIT_RNGS = ("pcg64", "mt19937")


@dataclass(frozen=True)
class HyperParameters:
    """Everything that governs training. Immutable; use :meth:`replace` to vary.

    The network has L = len(layers) + 1 layers: ``layers`` are the hidden
    units n[1], ..., n[L-1]; n[0] and n[L] come from the data. The first
    eight fields are the lesson's own hyperparameters.

    Parameters
    ----------
    <hyperparameters>
    """

    # The lesson's hyperparameters.
    learning_rate: float = 0.001
    epochs: int = 200
    layers: tuple = (100,)
    activation: object = "relu"
    momentum: float = 0.9
    batch_size: object = "auto"
    l2: float = 0.0
    keep_prob: float = 1.0
    # Architecture and initialization.
    output: str = "auto"
    init: str = "auto"
    init_rng: str = "pcg64"
    # Optimization.
    optimizer: str = "adam"
    beta2: float = 0.999
    epsilon: float = 1e-8
    lr_schedule: str = "constant"
    decay_rate: float = 0.0
    decay_interval: int = 1
    # Validation and early stopping.
    validation_fraction: float = 0.0
    early_stopping: bool = False
    patience: int = 10
    min_delta: float = 0.0
    # Data and numerics.
    preprocess: str = "standardize"
    shuffle: bool = True
    seed: object = 0
    dtype: str = "float32"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen)
        # NumPy scalars (a search's grid of np.logspace values) become Python numbers: the
        # arithmetic is then the same as for the literal (a float32 model's updates in float32,
        # as with 0.01 and not as with np.float64(0.01)), and the model file stores plain JSON.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                set_(f.name, value.item())
        set_("layers", _parse_layers(self.layers))
        set_("activation", _parse_activation(self.activation, len(self.layers)))
        _validate(self)

    # -- conveniences -------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """L, the number of layers with parameters (hidden + output)."""
        return len(self.layers) + 1

    @property
    def hidden_activations(self) -> tuple:
        a = self.activation
        return (a,) * len(self.layers) if isinstance(a, str) else tuple(a)

    def replace(self, **changes) -> "HyperParameters":
        known = {f.name for f in dataclasses.fields(self)}
        for name in changes:
            if name not in known:
                raise unknown_name("hyperparameter", name, known)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["layers"] = list(self.layers)
        if not isinstance(self.activation, str):
            d["activation"] = list(self.activation)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "HyperParameters":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise unknown_name("hyperparameter", sorted(unknown)[0], known)
        return cls(**d)


FIELD_HELP = {
    "learning_rate": "learning rate α (>0)",
    "epochs": "passes over the training data (the lesson's iterations when full-batch)",
    "layers": "hidden units per hidden layer, e.g. 20,7,5 (empty: logistic regression)",
    "activation": "hidden activation: one name, or one per hidden layer (relu,tanh)",
    "momentum": "β for momentum/nesterov, β1 for adam",
    "batch_size": "mini-batch size; 'full' (or None) = the lesson's batch gradient descent; "
                  "'auto' = min(64, m)",
    "l2": "L2 regularization λ: cost + λ/(2m)·Σ‖W‖², m the examples in the mini-batch (as in "
          "scikit-learn's MLP; with full batches, the lesson's formula)",
    "keep_prob": "inverted-dropout keep probability on hidden layers, in (0, 1]",
    "output": "output layer: auto (from the labels), sigmoid, softmax, linear",
    "init": "weight initializer: auto, random (×0.01), scaled, xavier, he, large, zeros",
    "init_rng": "stream of the initial weights: pcg64 (NumPy's Generator) or mt19937 (NumPy's legacy "
                "np.random.seed(seed); randn stream: seed=1 gives the lesson's published starting weights)",
    "optimizer": "gd, momentum, nesterov, rmsprop or adam",
    "beta2": "β2 for adam and rmsprop",
    "epsilon": "ε for adam and rmsprop",
    "lr_schedule": "constant, inverse (α0/(1+rate·epoch)) or step (α0/(1+rate·⌊epoch/interval⌋))",
    "decay_rate": "learning-rate decay rate (>=0)",
    "decay_interval": "epochs per step of the step schedule",
    "validation_fraction": "fraction of the training data held out for validation, in [0, 1)",
    "early_stopping": "stop when the validation cost stops improving and restore the best weights "
                      "(within one fit call; partial_fit does not stop early)",
    "patience": "epochs without improvement before early stopping",
    "min_delta": "smallest decrease of the validation cost that counts as improvement",
    "preprocess": "input scaling fitted on training data: none, standardize, minmax, divide255",
    "shuffle": "reshuffle the examples every epoch",
    "seed": "random seed (same seed, same result bit for bit); 'none' for fresh entropy",
    "dtype": "float32 (fast) or float64 (exact)",
}


#: numpydoc types of the fields whose annotation does not say it all.
_TYPE_TEXT = {
    "layers": "tuple of int",
    "activation": "str or tuple of str",
    "batch_size": "int, 'full', 'auto' or None",
    "seed": "int or None",
}
HYPERPARAMETERS_MARKER = "<hyperparameters>"


def parameters_doc(indent: str = "    ", defaults: dict | None = None, notes: dict | None = None) -> str:
    """The numpydoc ``Parameters`` entries of every field, from the dataclass and :data:`FIELD_HELP`.

    One source for every docstring that lists the hyperparameters
    (``HyperParameters``, ``DeepNetwork``, the estimators) and for the CLI's
    ``--help``. ``defaults`` overrides a field's shown default (an estimator
    with a fixed output layer); ``notes`` adds a sentence to a field's entry.
    """
    lines = []
    for f in dataclasses.fields(HyperParameters):
        kind = _TYPE_TEXT.get(f.name, f.type if isinstance(f.type, str) else f.type.__name__)
        default = (defaults or {}).get(f.name, f.default)
        lines.append(f"{indent}{f.name} : {kind}, default={default!r}")
        text = FIELD_HELP[f.name].rstrip(".")
        text = text + "." + (f" {notes[f.name]}" if notes and f.name in notes else "")
        lines.extend(f"{indent}    {line}" for line in _wrap(text, 88 - len(indent) - 4))
    return "\n".join(lines)


def document_hyperparameters(doc: str | None, **kw) -> str | None:
    """``doc`` with its ``<hyperparameters>`` line replaced by :func:`parameters_doc` at that indent."""
    if not doc or HYPERPARAMETERS_MARKER not in doc:
        return doc
    out = []
    for line in doc.splitlines():
        if line.strip() == HYPERPARAMETERS_MARKER:
            out.append(parameters_doc(indent=line[: len(line) - len(line.lstrip())], **kw))
        else:
            out.append(line)
    return "\n".join(out)


def _wrap(text, width):
    import textwrap

    return textwrap.wrap(text, width) or [""]


# --- validation ---------------------------------------------------------------
def _err(name, expected, value):
    return InvalidParameterError(f"The {name!r} parameter must be {expected}. Got {value!r} instead.")


def _real(hp, name, lo, hi, lo_open=False, hi_open=False):
    v = getattr(hp, name)
    lo_b, hi_b = "(" if lo_open else "[", ")" if hi_open or hi == math.inf else "]"
    expected = f"a float in {lo_b}{lo}, {'inf' if hi == math.inf else hi}{hi_b}"
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise _err(name, expected, v)
    if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        raise _err(name, expected, v)


def _int(hp, name, lo):
    v = getattr(hp, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise _err(name, f"an int in [{lo}, inf)", v)


def _choice(hp, name, choices, kind):
    v = getattr(hp, name)
    try:
        ok = v in choices
    except TypeError:            # unhashable, e.g. a list where one name is expected
        ok = False
    if not ok:
        if not isinstance(v, str):
            raise _err(name, f"one name from {sorted(choices)}", v)
        raise unknown_name(kind, v, choices)


def _parse_layers(v):
    if isinstance(v, str):
        text = v.strip()
        parts = [p.strip() for p in re.split(r"\s*,\s*|\s+", text)] if text else []
        try:
            v = [int(p) if float(p) == int(float(p)) else float(p) for p in parts]
        except ValueError:
            raise _err("layers", "a comma-separated list of positive ints such as '20,7,5'", v) from None
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (v,)
    try:
        v = tuple(v)
    except TypeError:
        raise _err("layers", "a sequence of positive ints", v) from None
    for n in v:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise _err("layers", "a sequence of positive ints (hidden units per layer)", v)
    return tuple(int(n) for n in v)


def _parse_activation(v, n_hidden):
    if isinstance(v, str) and "," in v:
        v = tuple(p.strip() for p in v.split(","))
    if isinstance(v, (list, tuple)):
        v = tuple(v)
        if len(v) == 1:
            v = v[0]
        elif len(v) != n_hidden:
            raise _err("activation", f"one name or {n_hidden} names (one per hidden layer)", v)
    names = (v,) if isinstance(v, str) else v
    hidden_ok = {k for k, a in ACTIVATIONS.items() if a.hidden}
    for name in names:
        if name not in hidden_ok:
            raise unknown_name("hidden activation", name, hidden_ok)
    return v


def _validate(hp):
    _real(hp, "learning_rate", 0, math.inf, lo_open=True)
    _int(hp, "epochs", 1)
    _real(hp, "momentum", 0, 1, hi_open=True)
    bs = hp.batch_size
    if bs not in ("auto", "full", None) and (
        isinstance(bs, bool) or not isinstance(bs, numbers.Integral) or bs < 1
    ):
        raise _err("batch_size", "a positive int, 'auto' or 'full'", bs)
    _real(hp, "l2", 0, math.inf)
    _real(hp, "keep_prob", 0, 1, lo_open=True)
    _choice(hp, "output", OUTPUTS, "output")
    if hp.init != "auto":
        _choice(hp, "init", INITIALIZERS, "initializer")
    _choice(hp, "init_rng", INIT_RNGS, "init_rng")
    _choice(hp, "optimizer", OPTIMIZERS, "optimizer")
    _real(hp, "beta2", 0, 1, hi_open=True)
    _real(hp, "epsilon", 0, math.inf, lo_open=True)
    _choice(hp, "lr_schedule", SCHEDULES, "lr_schedule")
    _real(hp, "decay_rate", 0, math.inf)
    _int(hp, "decay_interval", 1)
    _real(hp, "validation_fraction", 0, 1, hi_open=True)
    if not isinstance(hp.early_stopping, bool):
        raise _err("early_stopping", "a bool", hp.early_stopping)
    _int(hp, "patience", 1)
    _real(hp, "min_delta", 0, math.inf)
    _choice(hp, "preprocess", PREPROCESS, "preprocess")
    if not isinstance(hp.shuffle, bool):
        raise _err("shuffle", "a bool", hp.shuffle)
    s = hp.seed
    if s is not None and (isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0):
        raise _err("seed", "a non-negative int or None", s)
    if hp.init_rng == "mt19937" and s is not None and s >= 2 ** 32:
        raise InvalidParameterError(f"The 'seed' parameter must be below 2**32 = 4294967296 with "
                                    f"init_rng='mt19937' (NumPy's legacy RandomState). Got {s}.")
    _choice(hp, "dtype", DTYPES, "dtype")


HyperParameters.__doc__ = document_hyperparameters(HyperParameters.__doc__)
