"""Search spaces: the default space, ``NAME=SPEC`` parsing and checks before any worker starts.

A space maps hyperparameter names to a list of values or a scipy
distribution (random and halving searches draw from it; a grid needs lists).
SciPy and the estimators' hyperparameters are imported when used.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import InvalidParameterError, did_you_mean

#: The most candidates a grid may hold (each is a fit per fold): more is a typo, refused up front.
MAX_GRID = 100_000


def grid_size(space) -> int:
    """The number of candidates of a grid over ``space`` (lists of values), without building it."""
    return math.prod(len(list(v)) for v in space.values())


def default_space(method="random"):
    """The lesson's hyperparameters, with learning rate and L2 on a log scale.

    Random and halving searches draw from distributions; the grid is a small
    product of the same ranges (3 x 2 x 2 x 2 = 24 candidates).
    """
    from scipy.stats import loguniform

    if method == "grid":
        return {
            "learning_rate": [3e-4, 3e-3, 3e-2],
            "layers": [(32,), (64, 32)],
            "l2": [0.0, 1e-2],
            "keep_prob": [1.0, 0.8],
        }
    return {
        "learning_rate": loguniform(1e-4, 1e-1),
        "l2": loguniform(1e-6, 1e-1),
        "layers": [(16,), (32,), (64,), (128,), (32, 16), (64, 32), (128, 64), (64, 32, 16), (20, 7, 5)],
        "activation": ["relu", "tanh", "leaky_relu"],
        "momentum": [0.8, 0.9, 0.95, 0.99],
        "batch_size": [16, 32, 64, 128],
        "keep_prob": [1.0, 0.9, 0.8, 0.6],
    }


def parse_value(text):
    """CLI text to a hyperparameter value: '64,32' -> (64, 32), '1e-3' -> 0.001, 'true' -> True."""
    t = str(text).strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    if "," in t:
        parts = [p.strip() for p in t.split(",") if p.strip()]
        return tuple(parse_value(p) for p in parts)
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_param(spec, method="random", grid_points=3):
    """Parse ``NAME=SPEC`` into ``(name, values)`` for the searcher.

    SPEC is one of

    ``a|b|c``
        a list of choices (``layers=32|64,32|20,7,5``, ``activation=relu|tanh``);
    ``log:LOW:HIGH[:N]``
        log-uniform on [LOW, HIGH] (grid: N log-spaced points, default 3);
    ``uniform:LOW:HIGH[:N]``
        uniform on [LOW, HIGH] (grid: N evenly spaced points);
    ``int:LOW:HIGH[:N]``
        integers LOW..HIGH inclusive (grid: N evenly spaced integers).
    """
    from scipy.stats import loguniform, randint, uniform

    if "=" not in spec:
        raise InvalidParameterError(f"A search parameter must look like NAME=SPEC (e.g. "
                                    f"learning_rate=log:1e-4:1e-1). Got {spec!r}.")
    name, body = (s.strip() for s in spec.split("=", 1))
    name = name.replace("-", "_")
    kind = body.split(":", 1)[0].lower()
    if kind in ("log", "uniform", "int") and body.count(":") in (2, 3):
        parts = body.split(":")[1:]
        try:
            lo, hi = float(parts[0]), float(parts[1])
            n = int(parts[2]) if len(parts) == 3 else grid_points
        except ValueError:
            raise InvalidParameterError(f"Cannot read the range in {spec!r}: use {kind}:LOW:HIGH[:N] "
                                        f"with numbers.") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or n < 1:
            raise InvalidParameterError(f"The range in {spec!r} needs LOW < HIGH (finite) and N >= 1.")
        if n > MAX_GRID:
            raise InvalidParameterError(f"The range in {spec!r} asks for {n} points; a grid holds at most "
                                        f"{MAX_GRID} candidates.")
        if kind == "log" and lo <= 0:
            raise InvalidParameterError(f"A log range needs LOW > 0. Got {spec!r}; use uniform: for 0.")
        if kind == "int":
            lo_i, hi_i = int(round(lo)), int(round(hi))
            if method == "grid":
                return name, sorted({int(round(v)) for v in np.linspace(lo_i, hi_i, n)})
            return name, randint(lo_i, hi_i + 1)
        if method == "grid":
            pts = np.geomspace(lo, hi, n) if kind == "log" else np.linspace(lo, hi, n)
            return name, [float(f"{v:.6g}") for v in pts]
        return name, loguniform(lo, hi) if kind == "log" else uniform(lo, hi - lo)
    values = [parse_value(v) for v in body.split("|")]
    if name == "layers":    # '32' is one hidden layer, 'none' is logistic regression
        values = [v if isinstance(v, tuple) else (() if v is None else (v,)) for v in values]
    return name, values


def check_space(space, fixed, estimator_cls, method):
    """Reject unknown names and impossible values before any worker starts."""
    from ..hyperparameters import HyperParameters

    allowed = set(estimator_cls().get_params())
    for name in list(space) + list(fixed):
        if name not in allowed:
            raise InvalidParameterError(f"Unknown hyperparameter {name!r} for {estimator_cls.__name__}."
                                        f"{did_you_mean(name, allowed)}")
    hp_names = set(HyperParameters.__dataclass_fields__)
    base = {k: v for k, v in fixed.items() if k in hp_names}
    if estimator_cls.__name__ == "DeepRegressor":
        base["output"] = "linear"
    try:
        HyperParameters(**base)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"Fixed hyperparameters: {exc}") from None
    for name, values in space.items():
        if name not in hp_names:
            continue
        if hasattr(values, "rvs"):
            values = [values.support()[0], values.support()[1]] if hasattr(values, "support") else []
            values = [v for v in values if np.isfinite(v)]
        elif isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise InvalidParameterError(f"The values of {name!r} must be a list or a distribution. "
                                        f"Got {values!r}.")
        else:
            values = list(values)
            if not values:
                raise InvalidParameterError(f"The search over {name!r} has no values.")
        for v in values:
            try:
                HyperParameters(**{**base, name: v})
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"Search space of {name!r}: {exc}") from None
    if method == "halving" and "epochs" in space:
        raise InvalidParameterError("A halving search uses epochs as its resource; do not search "
                                    "over 'epochs' (set max_epochs / min_epochs instead).")


def fit_batch_sizes(space, fixed, n_train_min):
    """Drop batch sizes larger than the smallest training fold (they cannot train on it)."""
    bs = fixed.get("batch_size")
    if isinstance(bs, numbers.Integral) and not isinstance(bs, bool) and bs > n_train_min:
        raise InvalidParameterError(f"batch_size={bs} is larger than the {n_train_min} training "
                                    f"examples of the smallest fold. Use a smaller batch or 'full'.")
    values = space.get("batch_size")
    if values is None or hasattr(values, "rvs"):
        return space
    keep = [v for v in values if not (isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                      and v > n_train_min)]
    return {**space, "batch_size": keep or ["full"]}
