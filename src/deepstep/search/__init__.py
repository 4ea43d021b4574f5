"""Hyperparameter search over the deepstep estimators, on joblib (local cores or a Dask cluster).

``api.py`` is the Python API (:func:`run_search`, :class:`SearchResult`);
``space.py`` the search spaces, ``backends.py`` where the fits run,
``report.py`` the outputs. The ``deepstep search`` command is
:mod:`deepstep.cli.search`.
"""

from .api import METHODS, TASKS, SearchResult, load_search_data, run_search
from .backends import BACKENDS
from .report import influence, plot_search, write_csv
from .space import default_space, parse_param, parse_value

__all__ = ["BACKENDS", "METHODS", "TASKS", "SearchResult", "default_space", "influence", "load_search_data",
           "parse_param", "parse_value", "plot_search", "run_search", "write_csv"]
