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

This module is the Python API (:func:`run_search`, :class:`SearchResult`).
The pieces: ``search_space.py`` (``NAME=SPEC`` parsing, the default space,
checks), ``search_backends.py`` (joblib backends, the progress bar),
``search_report.py`` (the outputs and ω²) and ``cli_search.py`` (the
``deepstep search`` command, importable from here as ``search_command``).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, InvalidParameterError, did_you_mean
from .backends import joblib_backend, progress_bar
from .report import cv_rows, influence, jsonable, write_outputs
from .space import MAX_GRID, check_space, default_space, fit_batch_sizes, grid_size, parse_param

__all__ = ["METHODS", "TASKS", "SearchResult", "load_search_data", "run_search"]

METHODS = ("random", "grid", "halving")
TASKS = ("auto", "classification", "regression")


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
        Hyperparameter -> share of the score variance explained by it (ω²).
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


def _rounds_needed(n_candidates, factor):
    """Halving rounds that bring ``n_candidates`` down to one, as scikit-learn counts them."""
    return 1 + int(math.floor(math.log(n_candidates, factor))) if n_candidates > 1 else 1


def _halving_schedule(n_candidates, factor, min_epochs, max_epochs):
    """Candidates per halving iteration, as scikit-learn computes them (aggressive_elimination off)."""
    n_required = _rounds_needed(n_candidates, factor)
    n_possible = 1 + int(math.floor(math.log(max_epochs // min_epochs, factor)))
    out, c = [], n_candidates
    for _ in range(min(n_required, n_possible)):
        out.append(c)
        c = math.ceil(c / factor)
    return out


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
    t0 = time.perf_counter()
    X, y = _check_data(X, y)
    task, kind, est_cls = _choose_task(task, method, y)
    scoring = scoring or ("accuracy" if task == "classification" else "r2")
    _check_scoring(scoring)
    seed = _check_int("seed", seed, 0)
    n_candidates = _check_int("n_candidates", n_candidates, 1)
    fixed = dict(fixed or {})
    user_fixed = set(fixed) - {"preprocess"}      # the CLI fixes preprocess to suit the data
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
                               or n_jobs == 0):
        raise InvalidParameterError(f"n_jobs must be a positive number of parallel fits, or -1 for all "
                                    f"cores (-2 all but one, ...). Got {n_jobs!r}.")
    blas_threads = _check_int("blas_threads", blas_threads, 1)
    if task == "regression" and y.dtype.kind in "USO":
        raise DataError(f"--task regression needs numeric labels; these are text (e.g. {str(y[0])!r}). "
                        f"Use --task classification (or auto).")
    epochs = _check_int("epochs", epochs if epochs is not None else fixed.pop("epochs", 50), 1)
    fixed.pop("epochs", None)
    fixed.setdefault("seed", seed)
    fixed.setdefault("blas_threads", blas_threads)
    space = _checked_space(space, method, fixed, epochs, est_cls, user_fixed)
    splits = _validation_splits(X, y, cv, validation, seed,
                                stratify=task == "classification" and kind in ("binary", "multiclass"))
    space = fit_batch_sizes(space, fixed, min(len(tr) for tr, _ in splits))
    searcher, total = _searcher(est_cls(**{**fixed, "epochs": epochs}), space, method, splits, scoring, seed,
                                n_candidates, epochs, min_epochs, factor)

    with joblib_backend(backend, scheduler, n_jobs, X, y) as where:
        if announce is not None:
            announce(f"deepstep search: {method}, {total} candidates x {len(splits)} "
                     f"{'folds' if len(splits) > 1 else 'split'}, {X.shape[0]} examples x {X.shape[1]} "
                     f"features, {task}, seed {seed}, on {where}")
        with progress_bar(total, len(splits), progress, progress_file):
            try:
                searcher.fit(X, y)
            except ValueError as exc:
                if "fits failed" not in str(exc):
                    raise
                raise DataError(f"Every candidate's fit failed: {_first_reason(str(exc))}") from None
    result = _result(searcher, method, scoring, X_test, y_test)
    result.seconds, result.backend = time.perf_counter() - t0, where
    if out_dir is not None:
        result.files = write_outputs(result, Path(out_dir), method, seed, fixed, epochs, where)
    return result


def _choose_task(task, method, y):
    """(task, scikit-learn's target type, estimator class), checking method and task names."""
    from sklearn.utils.multiclass import type_of_target

    from ..sklearn import DeepClassifier, DeepRegressor

    if method not in METHODS:
        raise InvalidParameterError(f"Unknown search method {method!r}. Allowed: "
                                    f"{', '.join(map(repr, METHODS))}.{did_you_mean(method, METHODS)}")
    if task not in TASKS:
        raise InvalidParameterError(f"Unknown task {task!r}. Allowed: {', '.join(map(repr, TASKS))}.")
    kind = type_of_target(y)
    if task == "auto":
        task = "regression" if kind.startswith("continuous") else "classification"
    if task == "classification" and kind.startswith("continuous"):
        raise DataError("The labels are continuous numbers; use task='regression' (--task regression).")
    return task, kind, DeepRegressor if task == "regression" else DeepClassifier


def _checked_space(space, method, fixed, epochs, est_cls, user_fixed=()):
    """The search space: the default one or the given one, spec strings parsed, checked against HyperParameters.

    A hyperparameter the user holds fixed leaves the default space; searching and
    fixing the same one is a usage error.
    """
    if space is None:
        space = default_space(method)
        # a hyperparameter held fixed leaves the default space (else the space would override it)
        space = {k: v for k, v in space.items() if k not in user_fixed}
    else:
        both = sorted(set(space) & set(user_fixed))
        if both:
            raise InvalidParameterError(f"{', '.join(both)} is both searched and held fixed; give it either "
                                        f"as a search parameter or as a fixed value, not both.")
    if not space:
        raise InvalidParameterError("Every hyperparameter of the space is held fixed: there is nothing "
                                    "to search. Search over at least one (--param NAME=SPEC).")
    space = {k: (parse_param(f"{k}={v}", method)[1] if isinstance(v, str) else v) for k, v in space.items()}
    if method == "grid":
        for k, v in space.items():
            if hasattr(v, "rvs"):
                raise InvalidParameterError(f"A grid search needs a list of values for {k!r}, not a "
                                            f"distribution (use log:LOW:HIGH:N).")
    check_space(space, {**fixed, "epochs": epochs}, est_cls, method)
    if method == "grid" and grid_size(space) > MAX_GRID:
        raise InvalidParameterError(f"The grid holds {grid_size(space):,} candidates; at most {MAX_GRID:,} "
                                    f"are searched (use fewer points per range, or --method random).")
    return space


def _validation_splits(X, y, cv, validation, seed, stratify):
    """The (train, validation) index pairs: one split of ``validation`` or ``cv`` folds, shuffled with ``seed``."""
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

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
        return list(splitter.split(X, y))
    except ValueError as exc:
        raise DataError(f"Cannot split the data for validation: {exc}") from None


def _searcher(base, space, method, splits, scoring, seed, n_candidates, epochs, min_epochs, factor):
    """(scikit-learn search object, number of fits per split it will run)."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401 (enables the halving search)
    from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, ParameterGrid, RandomizedSearchCV

    common = dict(scoring=scoring, cv=splits, n_jobs=None, refit=True, error_score=np.nan)
    if method == "grid":
        return GridSearchCV(base, space, **common), len(ParameterGrid(space))
    if method == "random":
        return RandomizedSearchCV(base, space, n_iter=n_candidates, random_state=seed, **common), n_candidates
    factor = _check_int("factor", factor, 2)
    if min_epochs is None:   # scikit-learn's 'exhaust': the last round uses all the epochs
        min_epochs = max(1, epochs // factor ** (_rounds_needed(n_candidates, factor) - 1))
    min_epochs = _check_int("min_epochs", min_epochs, 1)
    if min_epochs > epochs:
        raise InvalidParameterError(f"min_epochs ({min_epochs}) must be <= epochs ({epochs}).")
    searcher = HalvingRandomSearchCV(base, space, n_candidates=n_candidates, factor=factor,
                                     resource="epochs", min_resources=min_epochs,
                                     max_resources=epochs, random_state=seed, **common)
    return searcher, sum(_halving_schedule(n_candidates, factor, min_epochs, epochs))


def _result(searcher, method, scoring, X_test, y_test):
    """The SearchResult of a fitted searcher: rows, influence, best candidate, test score."""
    rows, names = cv_rows(searcher.cv_results_)
    searched = [n for n in names if n != "epochs" or method != "halving"]
    infl = influence(rows if method != "halving" else [r for r in rows if r["iter"] == 0], searched)
    best = searcher.best_estimator_
    test_score = None
    if X_test is not None and y_test is not None:
        from sklearn.metrics import get_scorer

        test_score = float(get_scorer(scoring)(best, *_check_data(X_test, y_test)))
    return SearchResult(best_params={k: jsonable(v) for k, v in searcher.best_params_.items()},
                        best_score=float(searcher.best_score_), scoring=scoring, rows=rows, best_estimator=best,
                        influence=infl, test_score=test_score, searcher=searcher)


def _first_reason(report):
    """The error line of scikit-learn's "All the N fits failed" report (its tracebacks dropped)."""
    lines = [ln.strip() for ln in report.splitlines()]
    errors = [ln for ln in lines if ln and not ln.startswith(("Traceback", "File ", "^", "-"))
              and ":" in ln and ln.split(":", 1)[0].replace(".", "").replace("_", "").isalnum()
              and not ln[0].isdigit()]
    reason = errors[-1] if errors else lines[-1]
    return reason.split(": ", 1)[1] if reason.split(":", 1)[0].endswith(("Error", "Diverged")) else reason


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
    from .. import data

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
