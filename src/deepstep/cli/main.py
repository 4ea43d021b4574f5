"""The ``deepstep`` command group: its commands, and errors as one line and an exit code.

``deepstep train`` with no arguments trains the default network on the bundled
breast-cancer data and prints train and test accuracy. Every hyperparameter
of :class:`deepstep.HyperParameters` is an option of ``train``
(``--learning-rate``, ``--layers 20,7,5``, ``--batch-size full``, ...),
generated from the dataclass so the two never diverge.

Errors that are the user's to fix (a missing file, a bad value, a corrupt
model) print one line ``deepstep: error: ...`` on stderr and exit with 1
(data/file) or 2 (usage); see ``deepstep --help`` for the exit codes.
"""

from __future__ import annotations

import sys

import click

from .._version import __version__
from .evaluate import evaluate, predict
from .experiment import experiment_command
from .gradcheck import gradcheck
from .info import info
from .runtime import EXIT_CODES_EPILOG, run_group
from .search import search_command
from .train import train


class _DeepstepGroup(click.Group):
    """A click group whose ``main`` maps deepstep's errors to one line and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        code = run_group(super().main, args, prog_name or "deepstep",
                         dict(extra, complete_var=complete_var))
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=_DeepstepGroup, epilog=EXIT_CODES_EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="deepstep")
def main():
    """deepstep: deep neural networks, step by step, in Python and NumPy.

    Start with `deepstep train`: it trains the default network on the bundled
    breast-cancer data and prints train and test accuracy.
    """



main.add_command(train)
main.add_command(evaluate)
main.add_command(predict)
main.add_command(info)
main.add_command(gradcheck)
main.add_command(search_command)
main.add_command(experiment_command)
