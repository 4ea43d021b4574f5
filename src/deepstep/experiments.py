"""The published experiments on the seed's hyperparameters, reproduced two ways.

Three experiments from the course that follows the seed, each a comparison of
settings on one 3-layer network [LINEAR -> RELU] x 2 -> LINEAR -> SIGMOID:

================  =====================================  ==========================================
experiment        data, network, training                settings (published train / test accuracy)
================  =====================================  ==========================================
initialization    make_circles 300 / 100, [2, 10, 5, 1],  zeros 0.50 / 0.50, random × 10 0.83 / 0.86,
                  batch gd, lr 0.01, 15000 iterations     He 0.99 / 0.96
regularization    data.mat 211 / 200, [2, 20, 3, 1],      none 0.948 / 0.915, L2 λ=0.7 0.938 / 0.93,
                  init randn/sqrt(n), lr 0.3, 30000 it.   dropout keep 0.86 0.929 / 0.95
optimization      make_moons 300, [2, 5, 2, 1], He,       lr 0.0007: gd 0.717, momentum 0.717, adam 0.943;
                  mini-batch 64, 5000 epochs              step decay lr0 0.1: gd 0.943, mom. 0.953, adam 0.94
================  =====================================  ==========================================

``engine="steps"`` runs the course's loop with :mod:`deepstep.steps` and the
course's random draws: ``np.random.seed(3)`` before the initializer, the
mini-batch seeds 11, 12, ... (one per epoch), and ``np.random.seed(1)`` before
every dropout forward pass (the published code reseeds there, so its dropout
masks are the same at every iteration).

``engine="model"`` trains a :class:`deepstep.DeepNetwork` configured by
:class:`deepstep.HyperParameters` (``init``, ``optimizer``, ``l2``,
``keep_prob``, ``lr_schedule="step"``, ``batch_size``, ``epochs``, float64).
By default (``start="course"``) the model starts from the same initial weights
as the course (the draws of ``np.random.seed(3)``, taken from a local ``RandomState(3)``, loaded with
:meth:`DeepNetwork.from_parameters`); with ``start=<int>`` it draws its own
initial weights from its generator seeded with that int. Either way it
shuffles mini-batches and draws dropout masks from its own generator, fresh at
every step.

The global NumPy generator is seeded here because the published numbers depend
on it; :func:`run_experiment` restores its state afterwards.

This module imports scikit-learn, SciPy, matplotlib and click when used; it is
imported by the CLI only, never by ``import deepstep``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import steps
from .errors import DataError, InvalidParameterError

__all__ = [
    "ENGINES", "EXPERIMENTS", "ExperimentResult", "Row", "experiment_command", "initialization",
    "load_circles", "load_football", "load_moons", "optimization", "plot_result", "regularization",
    "run_experiment",
]

ENGINES = ("model", "steps")
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = (ROOT.parent / "shared" / "data").resolve()
# Plots go to a scratch folder unless asked otherwise: the committed docs/img images come from
# the full runs and are regenerated only on purpose (--out-dir docs/img, see docs/experiments.md).
DEFAULT_OUT_DIR = Path("out") / "experiments"
COURSE_INIT_SEED = 3          # np.random.seed(3) before every initializer in the course
COURSE_DROPOUT_SEED = 1       # np.random.seed(1) inside the course's dropout forward pass
COURSE_BATCH_SEED = 10        # seed = seed + 1 before each epoch's random_mini_batches


# --- results --------------------------------------------------------------------------
@dataclass
class Row:
    """One setting of an experiment and what it gave."""

    setting: str
    train_acc: float
    test_acc: float | None
    published_train: float | None
    published_test: float | None
    costs: list                       # the recorded costs
    cost_every: int                   # iterations (or epochs) between recorded costs
    predict: Callable = field(repr=False, default=None)   # X (2, k) -> 0/1 (1, k)

    def as_dict(self):
        return {"setting": self.setting, "train_acc": self.train_acc, "test_acc": self.test_acc,
                "published_train": self.published_train, "published_test": self.published_test}


@dataclass
class ExperimentResult:
    """The table of one experiment (``rows``) with the data it ran on."""

    name: str
    engine: str
    quick: bool
    rows: list
    data: tuple                       # (X_train, Y_train, X_test, Y_test), X (2, m), Y (1, m)
    cost_unit: str = "iterations"
    plots: list = field(default_factory=list)

    def table(self) -> str:
        """A plain-text table: setting, train acc, test acc, published (train / test)."""
        def f(x, digits=3):
            return "-" if x is None else f"{x:.{digits}f}"

        head = ("setting", "train acc", "test acc", "published")
        body = [(r.setting, f(r.train_acc), f(r.test_acc),
                 f"{f(r.published_train)} / {f(r.published_test)}") for r in self.rows]
        widths = [max(len(x[i]) for x in [head, *body]) for i in range(4)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
        title = f"{self.name} (engine: {self.engine}{', quick' if self.quick else ''})"
        return "\n".join([title, line(head), line(["-" * w for w in widths]), *map(line, body)])

    def __str__(self):
        return self.table()


@contextlib.contextmanager
def _global_generator_restored():
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _accuracy(predict, X, Y):
    return float(np.mean(predict(X) == np.asarray(Y).reshape(1, -1)))


# --- data ----------------------------------------------------------------------------
def _sklearn_datasets():
    try:
        import sklearn.datasets
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("The experiments' data needs scikit-learn: pip install scikit-learn") from None
    return sklearn.datasets


def load_circles():
    """The initialization data: ``make_circles(300, noise=.05)`` after ``np.random.seed(1)``
    (train) and ``make_circles(100, noise=.05)`` after ``np.random.seed(2)`` (test).

    Returns X_train (2, 300), Y_train (1, 300), X_test (2, 100), Y_test (1, 100), float64.
    """
    ds = _sklearn_datasets()
    # random_state=k draws RandomState(k)'s stream, the one np.random.seed(k) sets,
    # without touching NumPy's global generator.
    Xtr, ytr = ds.make_circles(n_samples=300, noise=0.05, random_state=1)
    Xte, yte = ds.make_circles(n_samples=100, noise=0.05, random_state=2)
    return Xtr.T, ytr.reshape(1, -1).astype(np.float64), Xte.T, yte.reshape(1, -1).astype(np.float64)


def load_moons():
    """The optimization data: ``make_moons(300, noise=.2)`` after ``np.random.seed(3)``.

    The published experiment has no test set; deepstep adds one,
    ``make_moons(300, noise=.2)`` after ``np.random.seed(4)``.
    Returns X_train (2, 300), Y_train (1, 300), X_test (2, 300), Y_test (1, 300).
    """
    ds = _sklearn_datasets()
    Xtr, ytr = ds.make_moons(n_samples=300, noise=0.2, random_state=3)   # = np.random.seed(3)
    Xte, yte = ds.make_moons(n_samples=300, noise=0.2, random_state=4)
    return Xtr.T, ytr.reshape(1, -1).astype(np.float64), Xte.T, yte.reshape(1, -1).astype(np.float64)


def load_football(data_dir=None):
    """The regularization data, ``data.mat`` (X, y train; Xval, yval test), as (2, m) / (1, m).

    ``data_dir`` defaults to the shared datasets folder next to the repository
    (``../shared/data``).
    """
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    path = data_dir / "data.mat"
    if not path.is_file():
        raise DataError(f"The regularization data {path} was not found. Pass the folder that holds "
                        f"data.mat with --data-dir DIR (deepstep experiment regularization --data-dir DIR; "
                        f"from Python: data_dir=DIR); the default is the shared datasets folder, "
                        f"../shared/data next to the repository.")
    try:
        import scipy.io
        d = scipy.io.loadmat(path)
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("Reading data.mat needs SciPy: pip install scipy") from None
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise DataError(f"{path} could not be read as a MAT-file: {exc}") from None
    missing = [k for k in ("X", "y", "Xval", "yval") if k not in d]
    if missing:
        raise DataError(f"{path} lacks the arrays {missing}; expected X, y, Xval and yval.")
    return (np.asarray(d["X"], np.float64).T, np.asarray(d["y"], np.float64).T,
            np.asarray(d["Xval"], np.float64).T, np.asarray(d["yval"], np.float64).T)


# --- the course's loops through deepstep.steps -----------------------------------------
def _steps_predict(parameters):
    return lambda X: steps.predict(X, parameters)


def _steps_batch_gd(X, Y, parameters, learning_rate, iterations, every, lambd=0.0, keep_prob=1.0):
    """The course's batch gradient descent loop (initialization and regularization)."""
    costs = []
    for i in range(iterations):
        if keep_prob < 1:
            np.random.seed(COURSE_DROPOUT_SEED)      # as the published dropout forward pass does
            AL, caches = steps.L_model_forward_with_dropout(X, parameters, keep_prob)
        else:
            AL, caches = steps.L_model_forward(X, parameters)
        cost = steps.compute_cost_with_regularization(AL, Y, parameters, lambd)
        if keep_prob < 1:
            grads = steps.L_model_backward_with_dropout(AL, Y, caches, keep_prob)
        else:
            # dZ[L] = AL - Y, as the published code; lambd = 0 is plain backprop.
            grads = steps.L_model_backward_with_regularization(AL, Y, caches, lambd)
        parameters = steps.update_parameters(parameters, grads, learning_rate)
        if i % every == 0:
            costs.append(float(cost))
    return parameters, costs


def _steps_minibatch(X, Y, parameters, optimizer, learning_rate, epochs, every, decay,
                     mini_batch_size=64, beta=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """The course's mini-batch loop (optimization): reseeded batches, lr decay after each epoch."""
    lr0, lr = learning_rate, learning_rate
    m = X.shape[1]
    v = s = None
    if optimizer == "momentum":
        v = steps.initialize_velocity(parameters)
    elif optimizer == "adam":
        v, s = steps.initialize_adam(parameters)
    t, seed, costs = 0, COURSE_BATCH_SEED, []
    for epoch in range(epochs):
        seed += 1
        cost_total = 0.0
        for bX, bY in steps.random_mini_batches(X, Y, mini_batch_size, seed):
            AL, caches = steps.L_model_forward(bX, parameters)
            cost_total += float(steps.compute_cost(AL, bY)) * bX.shape[1]
            grads = steps.L_model_backward_with_regularization(AL, bY, caches, 0.0)
            if optimizer == "gd":
                parameters = steps.update_parameters_with_gd(parameters, grads, lr)
            elif optimizer == "momentum":
                parameters, v = steps.update_parameters_with_momentum(parameters, grads, v, beta, lr)
            else:
                t += 1
                parameters, v, s, _, _ = steps.update_parameters_with_adam(
                    parameters, grads, v, s, t, lr, beta1, beta2, epsilon)
        if decay:
            lr = steps.schedule_lr_decay(lr0, epoch, 1, 1000)   # used from the next epoch on
        if epoch % every == 0:
            costs.append(cost_total / m)
    return parameters, costs


# --- the same through the model --------------------------------------------------------
def _hp(**kw):
    from .hyperparameters import HyperParameters

    base = {"activation": "relu", "output": "sigmoid", "preprocess": "none", "dtype": "float64",
            "shuffle": True}
    base.update(kw)
    return HyperParameters(**base)


def _model_fit(hp, X, Y, start):
    """Train a DeepNetwork; ``start="course"`` starts from the course's initial weights.

    Those are ``hp.init``'s scaling of the draws ``np.random.seed(3)`` gives, made
    here from a local ``RandomState(3)`` (the same stream) so that NumPy's global
    generator is left alone.
    """
    from .initializers import initialize
    from .network import DeepNetwork

    if start == "course":
        dims = [X.shape[0], *hp.layers, 1]
        params = initialize(hp.init, np.random.RandomState(COURSE_INIT_SEED), dims)
        net = DeepNetwork.from_parameters(params, hp)
        net.fit(X, Y, warm_start=True)
    else:
        net = DeepNetwork(hp.replace(seed=int(start)))
        net.fit(X, Y)
    return net


def _model_row(net, setting, data, published, every):
    Xtr, Ytr, Xte, Yte = data
    predict = lambda X: net.predict(X).reshape(1, -1).astype(np.float64)
    costs = [float(c) for c in net.history["cost"][::every]]
    return Row(setting, _accuracy(predict, Xtr, Ytr), _accuracy(predict, Xte, Yte),
               *published, costs, every, predict)


def _steps_row(parameters, costs, setting, data, published, every):
    Xtr, Ytr, Xte, Yte = data
    predict = _steps_predict(parameters)
    return Row(setting, _accuracy(predict, Xtr, Ytr), _accuracy(predict, Xte, Yte),
               *published, costs, every, predict)


# --- the three experiments ---------------------------------------------------------------
INIT_SETTINGS = [  # (setting, steps initializer, model init, published train, test)
    ("zeros", steps.initialize_parameters_zeros, "zeros", 0.50, 0.50),
    ("random x 10", steps.initialize_parameters_random, "large", 0.83, 0.86),
    ("He", steps.initialize_parameters_he, "he", 0.99, 0.96),
]


def initialization(engine="model", quick=False, iterations=None, start="course"):
    """Zeros vs random × 10 vs He on the circles, [2, 10, 5, 1], batch gd, lr 0.01.

    ``iterations`` defaults to 15000 (4000 with ``quick``). Returns an
    :class:`ExperimentResult`.
    """
    _check_engine(engine)
    iterations = _count(iterations, 4000 if quick else 15000)
    data = load_circles()
    Xtr, Ytr = data[0], data[1]
    dims = [Xtr.shape[0], 10, 5, 1]
    every = 1000 if iterations >= 5000 else max(1, iterations // 50)
    rows = []
    for setting, init_fn, init_name, p_train, p_test in INIT_SETTINGS:
        if engine == "steps":
            np.random.seed(COURSE_INIT_SEED)
            params, costs = _steps_batch_gd(Xtr, Ytr, init_fn(dims), 0.01, iterations, every)
            rows.append(_steps_row(params, costs, setting, data, (p_train, p_test), every))
        else:
            hp = _hp(layers=(10, 5), init=init_name, optimizer="gd", learning_rate=0.01,
                     epochs=iterations, batch_size="full")
            net = _model_fit(hp, Xtr, Ytr, start)
            rows.append(_model_row(net, setting, data, (p_train, p_test), every))
    return ExperimentResult("initialization", engine, quick, rows, data)


REG_SETTINGS = [  # (setting, lambd, keep_prob, published train, test)
    ("no regularization", 0.0, 1.0, 0.948, 0.915),
    ("L2 lambda=0.7", 0.7, 1.0, 0.938, 0.93),
    ("dropout keep_prob=0.86", 0.0, 0.86, 0.929, 0.95),
]


def regularization(engine="model", quick=False, iterations=None, start="course", data_dir=None):
    """None vs L2 (λ = 0.7) vs dropout (keep_prob = 0.86) on data.mat, [2, 20, 3, 1], lr 0.3.

    Weights start at randn / sqrt(n[l-1]). ``iterations`` defaults to 30000
    (20000 with ``quick``: overfitting shows late).
    """
    _check_engine(engine)
    iterations = _count(iterations, 20000 if quick else 30000)
    data = load_football(data_dir)
    Xtr, Ytr = data[0], data[1]
    dims = [Xtr.shape[0], 20, 3, 1]
    every = 1000 if iterations >= 5000 else max(1, iterations // 50)
    rows = []
    for setting, lambd, keep_prob, p_train, p_test in REG_SETTINGS:
        init = lambda: steps._init_deep(dims, "scaled")   # randn / sqrt(n[l-1])
        if engine == "steps":
            np.random.seed(COURSE_INIT_SEED)
            params, costs = _steps_batch_gd(Xtr, Ytr, init(), 0.3, iterations, every, lambd, keep_prob)
            rows.append(_steps_row(params, costs, setting, data, (p_train, p_test), every))
        else:
            hp = _hp(layers=(20, 3), init="scaled", optimizer="gd", learning_rate=0.3,
                     epochs=iterations, batch_size="full", l2=lambd, keep_prob=keep_prob)
            net = _model_fit(hp, Xtr, Ytr, start)
            rows.append(_model_row(net, setting, data, (p_train, p_test), every))
    return ExperimentResult("regularization", engine, quick, rows, data)


OPT_SETTINGS = [  # (setting, optimizer, lr0, step decay, published train)
    ("gd, lr 0.0007", "gd", 0.0007, False, 0.717),
    ("momentum, lr 0.0007", "momentum", 0.0007, False, 0.717),
    ("adam, lr 0.0007", "adam", 0.0007, False, 0.943),
    ("gd, lr 0.1 step decay", "gd", 0.1, True, 0.943),
    ("momentum, lr 0.1 step decay", "momentum", 0.1, True, 0.953),
    ("adam, lr 0.1 step decay", "adam", 0.1, True, 0.94),
]


def optimization(engine="model", quick=False, epochs=None, start="course", decay=True):
    """gd vs momentum (β 0.9) vs adam on the moons, [2, 5, 2, 1], He, mini-batch 64.

    At lr 0.0007 and, when ``decay``, at lr0 0.1 with ``schedule_lr_decay``
    (decay_rate 1, interval 1000). ``epochs`` defaults to 5000 (600 with ``quick``).
    """
    _check_engine(engine)
    epochs = _count(epochs, 600 if quick else 5000)
    data = load_moons()
    Xtr, Ytr = data[0], data[1]
    dims = [Xtr.shape[0], 5, 2, 1]
    every = 100 if epochs >= 500 else max(1, epochs // 50)
    rows = []
    for setting, optimizer, lr0, step, p_train in OPT_SETTINGS:
        if step and not decay:
            continue
        if engine == "steps":
            np.random.seed(COURSE_INIT_SEED)
            params, costs = _steps_minibatch(Xtr, Ytr, steps.initialize_parameters_he(dims), optimizer,
                                             lr0, epochs, every, step)
            rows.append(_steps_row(params, costs, setting, data, (p_train, None), every))
        else:
            hp = _hp(layers=(5, 2), init="he", optimizer=optimizer, learning_rate=lr0, epochs=epochs,
                     batch_size=64, momentum=0.9, beta2=0.999, epsilon=1e-8,
                     lr_schedule="step" if step else "constant", decay_rate=1.0 if step else 0.0,
                     decay_interval=1000)
            net = _model_fit(hp, Xtr, Ytr, start)
            rows.append(_model_row(net, setting, data, (p_train, None), every))
    return ExperimentResult("optimization", engine, quick, rows, data, cost_unit="epochs")


EXPERIMENTS = {"initialization": initialization, "regularization": regularization,
               "optimization": optimization}


def _count(value, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidParameterError(f"The number of iterations/epochs must be a positive int. Got {value!r}.")
    return int(value)


def _check_engine(engine):
    if engine not in ENGINES:
        raise InvalidParameterError(f"Unknown engine {engine!r}. Allowed: 'model', 'steps'.")


def run_experiment(name, out_dir=None, quick=False, engine="model", *, start="course", plot=True, **kw):
    """Run one experiment, save its plots into ``out_dir`` and return its :class:`ExperimentResult`.

    Parameters
    ----------
    name : {"initialization", "regularization", "optimization"}
    out_dir : str or Path, optional
        Where ``<name>_<engine>_boundaries.png`` and ``<name>_<engine>_costs.png``
        go (created if needed, before the run). ``None`` or ``plot=False``: no plots.
        The command's default is ``out/experiments``; the committed images are
        in ``docs/img``.
    quick : bool
        Fewer iterations (a smoke run, seconds instead of minutes).
    engine : {"model", "steps"}
        Through :class:`deepstep.DeepNetwork` or through :mod:`deepstep.steps`.
    start : "course" or int
        Model engine only: the course's initial weights, or the model's own
        draw with this seed.
    **kw
        Passed to the experiment (``iterations``/``epochs``, ``data_dir``, ``decay``).
    """
    if name not in EXPERIMENTS:
        from .errors import unknown_name
        raise unknown_name("experiment", name, EXPERIMENTS)
    _check_engine(engine)
    if start != "course" and (isinstance(start, bool) or not isinstance(start, (int, np.integer))
                              or start < 0):
        raise InvalidParameterError(f"The 'start' parameter must be 'course' or a seed >= 0. Got {start!r}.")
    if plot and out_dir is not None:
        _make_out_dir(out_dir)               # fail before minutes of training, not after
    with _global_generator_restored(), np.errstate(over="ignore", divide="ignore"):
        result = EXPERIMENTS[name](engine=engine, quick=quick, start=start, **kw)
    if plot and out_dir is not None:
        result.plots = plot_result(result, out_dir)
    return result


# --- plots -------------------------------------------------------------------------------
def _make_out_dir(out_dir):
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"Cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    return out_dir


def plot_result(result, out_dir, dpi=80):
    """Decision boundaries (one panel per setting, training points) and cost curves.

    Returns the two paths written.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = _make_out_dir(out_dir)
    stem = f"{result.name}_{result.engine}"
    Xtr, Ytr = result.data[0], result.data[1]
    rows = result.rows
    ncols = 3
    nrows = math.ceil(len(rows) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.9 * nrows), squeeze=False)
    pad = 0.25 * (Xtr.max(axis=1) - Xtr.min(axis=1))
    lo, hi = Xtr.min(axis=1) - pad, Xtr.max(axis=1) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.vstack([xx.ravel(), yy.ravel()])
    for ax, row in zip(axes.ravel(), rows):
        zz = row.predict(grid).reshape(xx.shape)
        ax.contourf(xx, yy, zz, levels=[-0.5, 0.5, 1.5], colors=["#f4c7a1", "#a9c8e8"], alpha=0.9)
        ax.scatter(Xtr[0], Xtr[1], c=Ytr.ravel(), cmap="coolwarm_r", s=9, edgecolors="k", linewidths=0.2)
        test = "" if row.test_acc is None else f", test {row.test_acc:.3f}"
        ax.set_title(f"{row.setting}\ntrain {row.train_acc:.3f}{test}", fontsize=10)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(rows):]:
        ax.axis("off")
    fig.suptitle(f"{result.name}: decision boundaries ({result.engine})", fontsize=12)
    fig.tight_layout()
    boundaries = out_dir / f"{stem}_boundaries.png"
    fig.savefig(boundaries, dpi=dpi)
    plt.close(fig)

    groups = [rows]
    if result.name == "optimization" and len(rows) > 3:
        groups = [rows[:3], rows[3:]]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.6 * len(groups), 3.9), squeeze=False)
    for ax, group in zip(axes.ravel(), groups):
        for row in group:
            x = np.arange(len(row.costs)) * row.cost_every
            ax.plot(x, row.costs, label=row.setting, lw=1.5)
        finite = [c for r in group for c in r.costs if np.isfinite(c)]
        if finite and max(finite) / max(min(finite), 1e-12) > 50:
            ax.set_yscale("log")
        ax.set_xlabel(result.cost_unit)
        ax.set_ylabel("cost")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result.name}: cost ({result.engine})", fontsize=12)
    fig.tight_layout()
    costs = out_dir / f"{stem}_costs.png"
    fig.savefig(costs, dpi=dpi)
    plt.close(fig)
    return [boundaries, costs]


# --- the command --------------------------------------------------------------------------
import click  # noqa: E402  (the CLI's dependency; this module is imported by the CLI only)


@click.command("experiment")
@click.argument("name", type=click.Choice(sorted(EXPERIMENTS)))
@click.option("--out-dir", type=click.Path(file_okay=False), default=str(DEFAULT_OUT_DIR), show_default=True,
              help="folder for the decision-boundary and cost plots (created if needed); "
                   "--out-dir docs/img regenerates the committed documentation images")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="regularization: the folder holding data.mat [default: ../shared/data next to the "
                   "repository]")
@click.option("--quick", is_flag=True, help="a smoke run: far fewer iterations")
@click.option("--engine", type=click.Choice(ENGINES), default="model", show_default=True,
              help="model: DeepNetwork with HyperParameters; "
                   "steps: the published training loop written with deepstep.steps")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="model engine: draw the initial weights from the model's generator with this seed "
                   "(default: start from the published initial weights)")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="iterations (initialization, regularization) or epochs (optimization) instead of "
                   "the published 15000 / 30000 / 5000")
@click.option("--no-plots", is_flag=True, help="print the table only")
def experiment_command(name, out_dir, data_dir, quick, engine, seed, iterations, no_plots):
    """Reproduce a published experiment: initialization, regularization or optimization.

    Prints the table (setting, train accuracy, test accuracy, published) and
    saves decision-boundary and cost plots into --out-dir (default
    out/experiments; the committed images in docs/img are regenerated with
    --out-dir docs/img, see docs/experiments.md).
    """
    if seed is not None and engine != "model":
        raise click.UsageError("--seed applies to --engine model only.")
    if data_dir is not None and name != "regularization":
        raise click.UsageError(f"--data-dir applies to the regularization experiment only ({name} "
                               f"generates its data).")
    kw = {} if data_dir is None else {"data_dir": data_dir}
    if iterations is not None:
        kw["epochs" if name == "optimization" else "iterations"] = iterations
    result = run_experiment(name, out_dir, quick=quick, engine=engine,
                            start="course" if seed is None else seed, plot=not no_plots, **kw)
    click.echo(result.table())
    for path in result.plots:
        click.echo(f"saved {path}")
