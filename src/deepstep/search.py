"""Hyperparameter search: scikit-learn's searchers over the deepstep estimators, on joblib.

Nothing here schedules work itself. The candidates come from scikit-learn
(``ParameterSampler`` / ``ParameterGrid`` / successive halving), the fits run
through joblib, and joblib hands them to whatever backend is configured:
local worker processes (``loky``, the default, on every core), an existing
Dask cluster (``backend='dask', scheduler='tcp://host:8786'``), a Dask
cluster started here on this machine (``backend='dask'`` alone) or Ray.

Why the results do not depend on the backend: every source of randomness is
derived from the one ``seed`` -- the candidates (the searcher's
``random_state``), the CV folds (a shuffled splitter with that seed) and each
network (the estimator's ``seed``) -- and every fit caps its BLAS threads
(``blas_threads=1`` by default, through threadpoolctl), so a fit computes
the same floats on a laptop core and on a cluster worker. scikit-learn
collects results in candidate order and breaks score ties by the first
candidate, so the same seed gives the same table and the same best
hyperparameters everywhere.

The data are sent to the workers once: with Dask they are scattered
(``joblib.parallel_config('dask', scatter=[X, y])``) and every task refers to
the scattered copy instead of carrying the arrays.

Outputs (``out_dir``): ``results.csv`` (every candidate: rank, scores per
fold, mean and spread, fit time), ``best_params.json``, ``best_model.npz``
(a deepstep model file of the refitted best network) and ``search.png``
(score against the most influential hyperparameters).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import numbers
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from .errors import DataError, DeepstepError, InvalidParameterError, did_you_mean

METHODS = ("random", "grid", "halving")
BACKENDS = ("loky", "threading", "sequential", "dask", "ray")
TASKS = ("auto", "classification", "regression")


# --- search spaces ---------------------------------------------------------------------------
def default_space(method="random"):
    """The seed's hyperparameters, with learning rate and L2 on a log scale.

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


def _check_space(space, fixed, estimator_cls, method):
    """Reject unknown names and impossible values before any worker starts."""
    from .hyperparameters import HyperParameters

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


def _fit_batch_sizes(space, fixed, n_train_min):
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


# --- results ----------------------------------------------------------------------------------
@dataclass
class SearchResult:
    """What a search found.

    Attributes
    ----------
    best_params : dict
        The best candidate's hyperparameters (with the halving resource, ``epochs``).
    best_score : float
        Its mean validation score (``scoring``; higher is better).
    test_score : float or None
        The refitted best model's score on the test data, when given.
    rows : list of dict
        One row per candidate (as written to ``results.csv``).
    best_estimator : DeepClassifier or DeepRegressor
        Refitted on all the search data with ``best_params``.
    influence : dict
        Hyperparameter -> share of the score variance explained by it (η²).
    files : dict
        'csv', 'params', 'model', 'plot' -> paths written (when ``out_dir``).
    searcher : the fitted scikit-learn search object
    """

    best_params: dict
    best_score: float
    scoring: str
    rows: list
    best_estimator: object
    influence: dict
    test_score: float | None = None
    files: dict = field(default_factory=dict)
    searcher: object = None
    seconds: float = 0.0
    backend: str = ""


def _show(v):
    if isinstance(v, (tuple, list)):
        return ",".join(_show(x) for x in v) if v else "none"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, np.generic):
        return str(v.item())
    return str(v)


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _rows(cv):
    """cv_results_ as a list of dicts: rank, scores, times, then one column per hyperparameter."""
    n = len(cv["params"])
    split_keys = sorted((k for k in cv if k.startswith("split") and k.endswith("_test_score")),
                        key=lambda k: int(k[5:].split("_")[0]))
    names = sorted({k for p in cv["params"] for k in p})
    rows = []
    for i in range(n):
        row = {"candidate": i, "rank": int(cv["rank_test_score"][i])}
        if "iter" in cv:
            row["iter"] = int(cv["iter"][i])
            row["n_resources"] = int(cv["n_resources"][i])
        row["mean_test_score"] = float(cv["mean_test_score"][i])
        row["std_test_score"] = float(cv["std_test_score"][i])
        for k in split_keys:
            row[k] = float(cv[k][i])
        row["mean_fit_time"] = float(cv["mean_fit_time"][i])
        row["std_fit_time"] = float(cv["std_fit_time"][i])
        row["mean_score_time"] = float(cv["mean_score_time"][i])
        for name in names:
            row[name] = cv["params"][i].get(name)
        rows.append(row)
    return rows, names


def write_csv(rows, path):
    path = Path(path)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        keys = list(rows[0])
        w.writerow(keys)
        for r in rows:
            w.writerow([_show(r[k]) if r[k] is not None else "" for k in keys])
    return path


def influence(rows, names, score="mean_test_score"):
    """ω² per hyperparameter: the share of the score variance its value explains.

    ω² is η² (between-group over total sum of squares) corrected for the
    number of groups, so that a hyperparameter with many values does not look
    influential by chance on a few candidates; it is clipped at 0.
    Categorical values (and numbers with few distinct values) group by value;
    continuous values group into quartiles (of log10 for positive ranges
    spanning more than a factor of 20).
    """
    scores = np.array([r[score] for r in rows], dtype=float)
    ok = np.isfinite(scores)
    s = scores[ok]
    if len(s) < 3 or np.var(s) == 0:
        return {n: 0.0 for n in names}
    total = float(np.sum((s - s.mean()) ** 2))
    out = {}
    for name in names:
        vals = [r[name] for r, k in zip(rows, ok) if k]
        keys = [_show(v) for v in vals]
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals)
        if numeric and len(set(keys)) > 4:
            x = np.array(vals, dtype=float)
            if x.min() > 0 and x.max() / x.min() > 20:
                x = np.log10(x)
            keys = list(np.searchsorted(np.quantile(x, [0.25, 0.5, 0.75]), x))
        groups = {}
        for k, v in zip(keys, s):
            groups.setdefault(k, []).append(v)
        k, n = len(groups), len(s)
        if k < 2 or n - k < 1:
            out[name] = 0.0
            continue
        between = sum(len(g) * (np.mean(g) - s.mean()) ** 2 for g in groups.values())
        ms_within = (total - between) / (n - k)
        out[name] = float(max(0.0, (between - (k - 1) * ms_within) / (total + ms_within)))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def plot_search(rows, infl, path, scoring, best_params=None, top=3, title=None):
    """Score against the ``top`` most influential hyperparameters, one panel each.

    Halving searches are drawn at their first round, where every candidate
    trained for the same number of epochs; the star marks the best candidate.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    names = [n for n, v in infl.items() if v > 0][:top] or list(infl)[:top]
    ylabel = f"mean validation {scoring}"
    if "iter" in rows[0]:                    # halving: compare candidates at the same resource
        rows = [r for r in rows if r["iter"] == 0]
        ylabel += f" (first round, {rows[0]['n_resources']} epochs)"
    scores = np.array([r["mean_test_score"] for r in rows], dtype=float)
    best = None
    if best_params:
        match = [i for i, r in enumerate(rows)
                 if all(_show(r.get(k)) == _show(v) for k, v in best_params.items() if k != "epochs")]
        best = match[0] if match else None
    elif np.isfinite(scores).any():
        best = int(np.nanargmax(scores))
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.2 * max(1, len(names)), 3.6),
                             squeeze=False)
    for ax, name in zip(axes[0], names):
        vals = [r[name] for r in rows]
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals)
        if numeric:
            x = np.array(vals, dtype=float)
            ax.scatter(x, scores, s=28, alpha=0.75, color="tab:blue")
            if x.min() > 0 and x.max() / x.min() > 20:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        else:
            cats = sorted({_show(v) for v in vals}, key=lambda c: (len(c), c))
            pos = {c: i for i, c in enumerate(cats)}
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(vals))
            x = np.array([pos[_show(v)] for v in vals]) + jitter
            ax.scatter(x, scores, s=28, alpha=0.75, color="tab:blue")
            ax.set_xticks(range(len(cats)), cats, rotation=30 if len(cats) > 4 else 0)
        if best is not None:
            ax.scatter([x[best]], [scores[best]], s=90, marker="*", color="tab:red", label="best", zorder=3)
        ax.set_xlabel(f"{name}  (ω² = {infl.get(name, 0):.2f})")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    if best is not None:
        axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title or "deepstep search: score vs the most influential hyperparameters", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


# --- progress ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _progress(total_candidates, n_splits, enabled, file=None):
    """A tqdm bar of candidates done, fed by joblib's completion hook (every backend calls it)."""
    if not enabled:
        yield None
        return
    import joblib.parallel
    from tqdm.auto import tqdm

    bar = tqdm(total=total_candidates, unit="cand", desc="search", file=file or sys.stderr,
               dynamic_ncols=True, leave=True)
    done = {"fits": 0}
    original = joblib.parallel.Parallel.print_progress

    def print_progress(self):
        before = getattr(self, "_deepstep_done", 0)
        now = self.n_completed_tasks
        self._deepstep_done = now
        done["fits"] += now - before if now >= before else now
        n = min(done["fits"] // n_splits, total_candidates)
        if n != bar.n:
            bar.update(n - bar.n)
        return original(self)

    joblib.parallel.Parallel.print_progress = print_progress
    try:
        yield bar
    finally:
        joblib.parallel.Parallel.print_progress = original
        bar.close()


# --- backends ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _backend(backend, scheduler, n_jobs, X, y):
    """joblib's configuration for the chosen backend (and the cluster it needs)."""
    from joblib import parallel_config

    if backend not in BACKENDS:
        raise InvalidParameterError(f"Unknown backend {backend!r}. Allowed: "
                                    f"{', '.join(map(repr, BACKENDS))}.{did_you_mean(backend, BACKENDS)}")
    if scheduler and backend not in ("dask", "ray"):
        raise InvalidParameterError(f"--scheduler {scheduler} needs --backend dask (or ray).")
    n_jobs = -1 if n_jobs is None else int(n_jobs)
    if backend in ("loky", "threading"):
        with parallel_config(backend=backend, n_jobs=n_jobs):
            yield f"{backend} (n_jobs={n_jobs})"
        return
    if backend == "sequential":
        with parallel_config(backend="sequential"):
            yield "sequential"
        return
    if backend == "dask":
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InvalidParameterError('The dask backend needs Dask: pip install "deepstep[distributed]".'
                                        ) from None
        with contextlib.ExitStack() as stack:
            if scheduler:
                try:
                    client = stack.enter_context(Client(scheduler, timeout="20s"))
                except OSError as exc:
                    raise DeepstepError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from None
                where = f"dask cluster at {scheduler}"
            else:
                workers = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
                client = stack.enter_context(Client(cluster))
                where = f"local dask cluster ({workers} workers)"
            n_workers = sum(client.nthreads().values())
            with parallel_config(backend="dask", scatter=[X, y], n_jobs=-1):
                yield f"{where}, {n_workers} worker threads"
        return
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise InvalidParameterError("The ray backend needs Ray: pip install ray.") from None
    register_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=scheduler or None)
    try:
        with parallel_config(backend="ray", n_jobs=n_jobs):
            yield f"ray ({scheduler or 'local'})"
    finally:
        if started:
            ray.shutdown()


def _halving_schedule(n_candidates, factor, min_epochs, max_epochs):
    """Candidates per halving iteration, as scikit-learn computes them (aggressive_elimination off)."""
    n_required = 1 + int(math.floor(math.log(n_candidates, factor))) if n_candidates > 1 else 1
    n_possible = 1 + int(math.floor(math.log(max_epochs // min_epochs, factor)))
    out, c = [], n_candidates
    for _ in range(min(n_required, n_possible)):
        out.append(c)
        c = math.ceil(c / factor)
    return out


# --- the search --------------------------------------------------------------------------------
def run_search(X, y, *, task="auto", method="random", space=None, n_candidates=10, cv=None,
               validation=None, scoring=None, fixed=None, seed=0, epochs=None, min_epochs=None,
               factor=3, backend="loky", scheduler=None, n_jobs=None, blas_threads=1,
               X_test=None, y_test=None, out_dir=None, progress=True, progress_file=None, announce=None):
    """Search hyperparameters of a DeepClassifier / DeepRegressor on X (n_samples, n_features).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        One example per row, as the estimators take it (a :class:`deepstep.data.Dataset`'s
        ``X`` is (n_x, m): pass ``ds.X.T``).
    y : array of shape (n_samples,) or (n_samples, n_outputs)
    task : {'auto', 'classification', 'regression'}
        'auto': regression when y is continuous.
    method : {'random', 'grid', 'halving'}
        'halving' is successive halving over random candidates with epochs as
        the resource (``min_epochs`` .. ``epochs``, keeping 1/``factor`` each round).
    space : dict, optional
        Hyperparameter -> list of values or scipy distribution (or spec strings
        such as ``'log:1e-4:1e-1'``, see :func:`parse_param`). Default: :func:`default_space`.
    n_candidates : int
        Candidates drawn by random and halving searches.
    cv : int or splitter, optional
        Folds (stratified for classification), shuffled with ``seed``. Default 3.
    validation : float, optional
        Instead of ``cv``: one split holding out this fraction for validation.
    scoring : str, optional
        Any scikit-learn scorer name; default accuracy (classification) or R².
    fixed : dict, optional
        Hyperparameters held fixed for every candidate (e.g. ``{"optimizer": "momentum"}``).
    seed : int
        Seeds the candidates, the folds and every network.
    epochs : int, optional
        Epochs per fit (halving: the most epochs, given to the survivors).
        Default: ``fixed['epochs']`` or 50.
    backend : {'loky', 'threading', 'sequential', 'dask', 'ray'}
        'loky' is local worker processes. 'dask' with ``scheduler`` uses that
        cluster, without it starts a local one.
    n_jobs : int, optional
        Parallel fits (local backends; default all cores).
    blas_threads : int
        BLAS threads inside each fit.
    X_test, y_test : optional
        Held-out data scored by the refitted best model.
    out_dir : path, optional
        Where to write results.csv, best_params.json, best_model.npz and search.png.
    progress : bool
        Show a tqdm bar of candidates done (on ``progress_file``, default stderr).
    announce : callable, optional
        Called with one line describing the search once the inputs are checked
        and the backend is up.

    Returns
    -------
    SearchResult
    """
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401 (enables the halving search)
    from sklearn.model_selection import (
        GridSearchCV,
        HalvingRandomSearchCV,
        KFold,
        RandomizedSearchCV,
        ShuffleSplit,
        StratifiedKFold,
        StratifiedShuffleSplit,
    )
    from sklearn.utils.multiclass import type_of_target

    from .sklearn import DeepClassifier, DeepRegressor

    t0 = time.perf_counter()
    if method not in METHODS:
        raise InvalidParameterError(f"Unknown search method {method!r}. Allowed: "
                                    f"{', '.join(map(repr, METHODS))}.{did_you_mean(method, METHODS)}")
    if task not in TASKS:
        raise InvalidParameterError(f"Unknown task {task!r}. Allowed: {', '.join(map(repr, TASKS))}.")
    X, y = _check_data(X, y)
    kind = type_of_target(y)
    if task == "auto":
        task = "regression" if kind.startswith("continuous") else "classification"
    if task == "classification" and kind.startswith("continuous"):
        raise DataError("The labels are continuous numbers; use task='regression' (--task regression).")
    est_cls = DeepRegressor if task == "regression" else DeepClassifier
    scoring = scoring or ("accuracy" if task == "classification" else "r2")
    _check_scoring(scoring)
    seed = _check_int("seed", seed, 0)
    n_candidates = _check_int("n_candidates", n_candidates, 1)
    fixed = dict(fixed or {})
    epochs = _check_int("epochs", epochs if epochs is not None else fixed.pop("epochs", 50), 1)
    fixed.pop("epochs", None)
    fixed.setdefault("seed", seed)
    fixed.setdefault("blas_threads", blas_threads)

    # Space: defaults, spec strings, then checks against HyperParameters.
    if space is None:
        space = default_space(method)
    space = {k: (parse_param(f"{k}={v}", method)[1] if isinstance(v, str) else v) for k, v in space.items()}
    if method == "grid":
        for k, v in space.items():
            if hasattr(v, "rvs"):
                raise InvalidParameterError(f"A grid search needs a list of values for {k!r}, not a "
                                            f"distribution (use log:LOW:HIGH:N).")
    _check_space(space, {**fixed, "epochs": epochs}, est_cls, method)

    # Validation scheme, shuffled with the seed.
    stratify = task == "classification" and kind in ("binary", "multiclass")
    if validation is not None:
        if cv is not None:
            raise InvalidParameterError("Give either cv (folds) or validation (a split fraction), not both.")
        v = float(validation)
        if not 0 < v < 1:
            raise InvalidParameterError(f"The 'validation' fraction must be in (0, 1). Got {validation!r}.")
        splitter = (StratifiedShuffleSplit if stratify else ShuffleSplit)(1, test_size=v, random_state=seed)
    elif cv is None or isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        cv = 3 if cv is None else cv
        if cv < 2:
            raise InvalidParameterError(f"cv must be >= 2 folds (or use validation=FRACTION). Got {cv}.")
        splitter = (StratifiedKFold if stratify else KFold)(int(cv), shuffle=True, random_state=seed)
    else:
        splitter = cv
    try:
        splits = list(splitter.split(X, y))
    except ValueError as exc:
        raise DataError(f"Cannot split the data for validation: {exc}") from None
    n_splits = len(splits)
    space = _fit_batch_sizes(space, fixed, min(len(tr) for tr, _ in splits))

    base = est_cls(**{**fixed, "epochs": epochs})
    common = dict(scoring=scoring, cv=splits, n_jobs=None, refit=True, error_score=np.nan)
    if method == "grid":
        from sklearn.model_selection import ParameterGrid

        searcher = GridSearchCV(base, space, **common)
        total = len(ParameterGrid(space))
    elif method == "random":
        searcher = RandomizedSearchCV(base, space, n_iter=n_candidates, random_state=seed, **common)
        total = n_candidates
    else:
        factor = _check_int("factor", factor, 2)
        if min_epochs is None:   # scikit-learn's 'exhaust': the last round uses all the epochs
            n_req = 1 + int(math.floor(math.log(n_candidates, factor))) if n_candidates > 1 else 1
            min_epochs = max(1, epochs // factor ** (n_req - 1))
        min_epochs = _check_int("min_epochs", min_epochs, 1)
        if min_epochs > epochs:
            raise InvalidParameterError(f"min_epochs ({min_epochs}) must be <= epochs ({epochs}).")
        searcher = HalvingRandomSearchCV(base, space, n_candidates=n_candidates, factor=factor,
                                         resource="epochs", min_resources=min_epochs,
                                         max_resources=epochs, random_state=seed, **common)
        total = sum(_halving_schedule(n_candidates, factor, min_epochs, epochs))

    with _backend(backend, scheduler, n_jobs, X, y) as where:
        if announce is not None:
            announce(f"deepstep search: {method}, {total} candidates x {n_splits} "
                     f"{'folds' if n_splits > 1 else 'split'}, {X.shape[0]} examples x {X.shape[1]} "
                     f"features, {task}, seed {seed}, on {where}")
        with _progress(total, n_splits, progress, progress_file):
            searcher.fit(X, y)
    rows, names = _rows(searcher.cv_results_)
    searched = [n for n in names if n != "epochs" or method != "halving"]
    infl = influence(rows if method != "halving" else [r for r in rows if r["iter"] == 0], searched)
    best_params = {k: _jsonable(v) for k, v in searcher.best_params_.items()}
    best = searcher.best_estimator_
    test_score = None
    if X_test is not None and y_test is not None:
        from sklearn.metrics import get_scorer

        test_score = float(get_scorer(scoring)(best, *_check_data(X_test, y_test)))
    result = SearchResult(best_params=best_params, best_score=float(searcher.best_score_), scoring=scoring,
                          rows=rows, best_estimator=best, influence=infl, test_score=test_score,
                          searcher=searcher, seconds=time.perf_counter() - t0, backend=where)
    if out_dir is not None:
        result.files = _write_outputs(result, Path(out_dir), method, seed, fixed, epochs, where)
    return result


def _write_outputs(result, out, method, seed, fixed, epochs, where):
    out.mkdir(parents=True, exist_ok=True)
    files = {"csv": write_csv(result.rows, out / "results.csv")}
    meta = {"method": method, "seed": seed, "scoring": result.scoring, "best_score": result.best_score,
            "test_score": result.test_score, "best_params": result.best_params,
            "fixed": {k: _jsonable(v) for k, v in fixed.items()}, "epochs": epochs,
            "candidates": len({r["candidate"] for r in result.rows}), "backend": where,
            "influence": result.influence}
    files["params"] = out / "best_params.json"
    files["params"].write_text(json.dumps(meta, indent=2, default=str) + "\n")
    from . import persistence

    files["model"] = Path(persistence.save(result.best_estimator.network_, out / "best_model.npz"))
    files["plot"] = plot_search(result.rows, result.influence, out / "search.png", result.scoring,
                                best_params=result.best_params,
                                title=f"deepstep search ({method}, seed {seed}): best "
                                      f"{result.scoring} = {result.best_score:.4f}")
    return files


def _check_int(name, v, lo):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise InvalidParameterError(
            f"The {name!r} parameter must be an int in [{lo}, inf). Got {v!r} instead.")
    return int(v)


def _check_scoring(scoring):
    from sklearn.metrics import get_scorer, get_scorer_names

    try:
        get_scorer(scoring)
    except ValueError:
        names = get_scorer_names()
        raise InvalidParameterError(f"Unknown scoring {scoring!r}.{did_you_mean(scoring, names)} "
                                    f"See sklearn.metrics.get_scorer_names().") from None


def _check_data(X, y):
    try:
        X = np.ascontiguousarray(X)
        y = np.asarray(y)
    except Exception as exc:
        raise DataError(f"X and y could not be read as arrays: {exc}") from None
    if X.ndim != 2:
        raise DataError(f"X must be 2-D with shape (n_samples, n_features). Got shape {X.shape}.")
    if len(y) != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} examples (rows) but y has {len(y)}; they must match.")
    if X.shape[0] < 4:
        raise DataError(f"A search needs more than {X.shape[0]} examples.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise DataError(f"X must be numeric. Got dtype {X.dtype}.")
    if np.issubdtype(X.dtype, np.floating) and not np.isfinite(X).all():
        raise DataError("X contains NaN or infinite values; clean or impute them first.")
    return X, y


def load_search_data(dataset=None, data_path=None, label_column=None, test_path=None):
    """(X, y, X_test, y_test, preprocess) from a bundled dataset or a data file, rows = examples."""
    from . import data

    if dataset and data_path:
        raise InvalidParameterError("Give either a dataset name or a data file, not both.")
    if data_path:
        train = data.load_file(data_path, label_column)
        test = data.load_file(test_path, label_column) if test_path else train.test
    else:
        train, test = data.load_dataset(dataset or "breast_cancer")
    if train.y is None:
        raise DataError(f"{train.source or data_path} has no labels to search on.")

    def rows(ds):                   # (n_x, m) -> one example per row
        return np.ascontiguousarray(ds.X.T)

    Xt = yt = None
    if test is not None and test.y is not None:
        if test.n_features != train.n_features:
            raise DataError(f"The test data has {test.n_features} features but the training data "
                            f"has {train.n_features}; they must match.")
        Xt, yt = rows(test), test.y
    return rows(train), train.y, Xt, yt, train.preprocess


# --- command line -----------------------------------------------------------------------------
@click.command("search", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--dataset", metavar="NAME",
              help="bundled dataset: breast_cancer (default), digits, moons, circles")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="data file: .csv (one example per row), .npz, .h5 or .mat")
@click.option("--test-data", "test_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="held-out data scored by the best model")
@click.option("--label-column", metavar="INDEX|NAME", help="CSV label column (default: the last)")
@click.option("--task", type=click.Choice(TASKS), default="auto", show_default=True)
@click.option("--method", type=click.Choice(METHODS), default="random", show_default=True,
              help="random candidates, a grid, or successive halving with epochs as the resource")
@click.option("--n-candidates", "-n", type=int, default=10, show_default=True,
              help="candidates for random and halving searches")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=SPEC",
              help="search over NAME: a|b|c, log:LOW:HIGH[:N], uniform:LOW:HIGH[:N] or int:LOW:HIGH[:N] "
                   "(repeat; replaces the default space; quote the | in a shell). Example: "
                   "-p learning_rate=log:1e-4:1e-1 -p 'layers=32|64,32'")
@click.option("--set", "-s", "sets", multiple=True, metavar="NAME=VALUE",
              help="hold a hyperparameter fixed, e.g. --set optimizer=momentum (repeat)")
@click.option("--epochs", type=int, default=50, show_default=True,
              help="epochs per fit (halving: the most epochs, for the last round)")
@click.option("--min-epochs", type=int, default=None, help="halving: epochs in the first round")
@click.option("--factor", type=int, default=3, show_default=True, help="halving: keep 1/factor each round")
@click.option("--cv", type=int, default=3, show_default=True, help="cross-validation folds")
@click.option("--validation", type=float, default=None, metavar="FRACTION",
              help="instead of --cv: one split holding out this fraction")
@click.option("--scoring", default=None, help="scikit-learn scorer [default: accuracy or r2]")
@click.option("--seed", type=int, default=0, show_default=True,
              help="seeds candidates, folds and networks: same seed, same result on any backend")
@click.option("--backend", type=click.Choice(BACKENDS), default="loky", show_default=True,
              help="loky = local processes on all cores; dask = a Dask cluster; ray = Ray")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler (tcp://HOST:8786) or Ray address; without it --backend dask "
                   "starts a local cluster")
@click.option("--n-jobs", type=int, default=-1, show_default=True, help="parallel fits (local backends)")
@click.option("--blas-threads", type=int, default=1, show_default=True, help="BLAS threads inside each fit")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="search-results",
              show_default=True, help="folder for results.csv, best_params.json, best_model.npz, search.png")
@click.option("--top", type=int, default=5, show_default=True, help="candidates to list")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar; only the best result")
def search_command(dataset, data_path, test_path, label_column, task, method, n_candidates, params, sets,
                   epochs, min_epochs, factor, cv, validation, scoring, seed, backend, scheduler, n_jobs,
                   blas_threads, out_dir, top, quiet):
    """Search hyperparameters with cross-validation, locally or on a Dask cluster.

    With no options: 10 random candidates over the seed's hyperparameters
    (learning rate and L2 on a log scale, layers, activation, momentum,
    mini-batch size, dropout) on the bundled breast-cancer data, 3-fold CV,
    on all local cores.

    \b
    Examples:
      deepstep search --dataset digits -n 20 --epochs 30
      deepstep search --method grid -p learning_rate=log:1e-4:1e-1:4 -p "layers=32|64,32"
      deepstep search --method halving -n 27 --epochs 81
      deepstep search --backend dask --scheduler tcp://10.0.0.5:8786 -n 100
    """
    if dataset and data_path:
        raise click.UsageError("Give either --data FILE or --dataset NAME, not both.")
    if test_path and not data_path:
        raise click.UsageError("--test-data needs --data (bundled datasets come with their test split).")
    X, y, Xt, yt, preprocess = load_search_data(dataset, data_path, _label(label_column), test_path)
    space = None
    if params:
        space = dict(parse_param(p, method) for p in params)
    fixed = {}
    for s in sets:
        if "=" not in s:
            raise InvalidParameterError(f"--set needs NAME=VALUE. Got {s!r}.")
        k, v = s.split("=", 1)
        fixed[k.strip().replace("-", "_")] = parse_value(v)
    if "layers" in fixed and not isinstance(fixed["layers"], tuple):
        fixed["layers"] = () if fixed["layers"] is None else (fixed["layers"],)
    fixed.setdefault("preprocess", preprocess)
    res = run_search(X, y, task=task, method=method, space=space, n_candidates=n_candidates,
                     cv=cv if validation is None else None, validation=validation, scoring=scoring,
                     fixed=fixed, seed=seed, epochs=epochs, min_epochs=min_epochs, factor=factor,
                     backend=backend, scheduler=scheduler, n_jobs=n_jobs, blas_threads=blas_threads,
                     X_test=Xt, y_test=yt, out_dir=out_dir, progress=not quiet,
                     announce=None if quiet else (lambda line: click.echo(line, err=True)))
    if not quiet:
        _print_top(res, top)
    click.echo(f"best {res.scoring}: {res.best_score:.4f} (mean over validation folds)")
    click.echo("best hyperparameters: " + " ".join(f"{k}={_show(v)}" for k, v in res.best_params.items()))
    if res.test_score is not None:
        click.echo(f"test {res.scoring} of the refitted best model: {res.test_score:.4f}")
    labels = (("csv", "results"), ("params", "best params"), ("model", "best model"), ("plot", "plot"))
    for key, label in labels:
        click.echo(f"{label}: {res.files[key]}")


def _label(text):
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else t


def _print_top(res, top):
    rows = sorted(res.rows, key=lambda r: (r["rank"], r["candidate"]))
    if "iter" in rows[0]:
        last = max(r["iter"] for r in rows)
        rows = [r for r in rows if r["iter"] == last] + [r for r in rows if r["iter"] != last]
    names = [k for k in res.best_params]
    click.echo(f"top {min(top, len(rows))} of {len(rows)} ({res.seconds:.1f} s on {res.backend}):")
    for r in rows[:top]:
        hp = " ".join(f"{k}={_show(r[k])}" for k in names if k in r)
        click.echo(f"  {r['mean_test_score']:.4f} ± {r['std_test_score']:.4f}  "
                   f"fit {r['mean_fit_time']:.2f}s  {hp}")


if __name__ == "__main__":   # python -m deepstep.search
    search_command()
