"""``deepstep check``: a learner's own code for the lesson, checked function by function.

:func:`check` takes a learner's file (``.py`` or ``.ipynb``) or an imported
module and checks each of the lesson's functions it defines **in isolation**
against :mod:`deepstep.steps`: the lesson's published test cases first, then
random shapes and values (hypothesis). While one function is checked, the
other lesson functions in the learner's module are replaced by the reference
ones, so a bug is pinned on the function that has it, not on its callers.

The learner's code runs in a subprocess with time limits (see
:mod:`deepstep.check.runner`); it is never imported into the caller's process.
"""

from __future__ import annotations

from pathlib import Path

from .cases import FUNCTIONS
from .runner import Report, Result, check_file

__all__ = ["check", "check_file", "Report", "Result", "FUNCTIONS"]


def check(target, **options) -> Report:
    """Check a learner's lesson functions; returns a :class:`Report` (``print(report)`` shows the lines).

    ``target`` is a path (``"my_solution.py"``, a notebook ``.ipynb``), or a
    module object with a ``__file__``. For a notebook's own namespace (no file),
    pass the path of the notebook. Options: ``timeout`` (the whole run, s),
    ``function_timeout``, ``import_timeout``, ``examples`` (random cases per
    function), ``only`` (names to check).
    """
    from ..errors import DataError

    if isinstance(target, (str, Path)):
        return check_file(target, **options)
    file = getattr(target, "__file__", None)
    if file and str(file).endswith(".py"):
        return check_file(file, **options)
    raise DataError(f"cannot check {target!r}: pass the path of your .py file or .ipynb notebook "
                    f"(a module without a .py file has no source to run in isolation)")


class _CallableModule(type(__import__("sys"))):
    """Lets ``deepstep.check(...)`` call :func:`check` although ``deepstep.check`` is this package."""

    def __call__(self, target, **options):
        return check(target, **options)


__import__("sys").modules[__name__].__class__ = _CallableModule
