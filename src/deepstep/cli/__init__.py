"""The ``deepstep`` command line.

``main.py`` is the click group and its error handling (the entry point
``deepstep.cli:main``); one module per command or small group of commands
registers with it. ``files.py`` reads data and models and writes predictions,
``options.py`` generates the hyperparameter options from
:class:`deepstep.HyperParameters`, ``runtime.py`` holds exit codes, output
paths and checkpoint naming, ``output.py`` what the commands print and plot,
``progress.py`` the progress bar and ``signals.py`` the SIGINT/SIGTERM stop.
"""

from .main import main

__all__ = ["main"]
