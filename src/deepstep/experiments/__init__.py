"""The published initialization, regularization and optimization experiments.

``runs.py`` runs them through :mod:`deepstep.steps` and through the model
(:func:`run_experiment`); ``data.py`` loads their datasets; ``plots.py``
draws their decision boundaries and costs. The ``deepstep experiment``
command is :mod:`deepstep.cli.experiment`.
"""

from .data import DEFAULT_DATA_DIR, load_circles, load_football, load_moons
from .plots import plot_result
from .runs import (
    DEFAULT_OUT_DIR,
    ENGINES,
    EXPERIMENTS,
    ExperimentResult,
    Row,
    initialization,
    optimization,
    regularization,
    run_experiment,
)

__all__ = [
    "DEFAULT_DATA_DIR", "DEFAULT_OUT_DIR", "ENGINES", "EXPERIMENTS", "ExperimentResult", "Row", "initialization",
    "load_circles", "load_football", "load_moons", "optimization", "plot_result", "regularization", "run_experiment",
]
