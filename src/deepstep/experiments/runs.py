"""The published experiments on the lesson's hyperparameters, reproduced two ways.

Three experiments from the course that follows the lesson, each a comparison of
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

The data loaders live in :mod:`deepstep.experiments_data`, the plots in
:mod:`deepstep.experiments_plots` and the ``deepstep experiment`` command in
:mod:`deepstep.cli_experiment` (importable from here as ``experiment_command``).
They import scikit-learn, SciPy, matplotlib and click when used; none of this
is imported by ``import deepstep``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import steps
from ..errors import InvalidParameterError
from .data import load_circles, load_football, load_moons
from .plots import make_out_dir, plot_result

__all__ = [
    "DEFAULT_OUT_DIR", "ENGINES", "EXPERIMENTS", "ExperimentResult", "Row", "initialization", "optimization",
    "regularization", "run_experiment",
]

ENGINES = ("model", "steps")
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
    from ..hyperparameters import HyperParameters

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
    from ..initializers import initialize
    from ..network import DeepNetwork

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
        from ..errors import unknown_name
        raise unknown_name("experiment", name, EXPERIMENTS)
    _check_engine(engine)
    if start != "course" and (isinstance(start, bool) or not isinstance(start, (int, np.integer))
                              or start < 0):
        raise InvalidParameterError(f"The 'start' parameter must be 'course' or a seed >= 0. Got {start!r}.")
    if plot and out_dir is not None:
        make_out_dir(out_dir)                # fail before minutes of training, not after
    with _global_generator_restored(), np.errstate(over="ignore", divide="ignore"):
        result = EXPERIMENTS[name](engine=engine, quick=quick, start=start, **kw)
    if plot and out_dir is not None:
        result.plots = plot_result(result, out_dir)
    return result

