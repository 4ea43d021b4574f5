"""deepstep: deep neural networks, step by step, in Python and NumPy.

``import deepstep`` needs only NumPy. The lesson's functions are in
:mod:`deepstep.steps`; the model is :class:`DeepNetwork`; everything that
governs training is one :class:`HyperParameters`.
"""

from . import steps
from ._version import __version__
from .activations import register_activation
from .callbacks import Callback
from .errors import DataError, DeepstepError, InvalidParameterError, ModelFileError, NotFittedError, TrainingDiverged
from .hyperparameters import HyperParameters
from .network import DeepNetwork
from .training import History


def check(target, **options):
    """Check a learner's own lesson functions (a .py file, a notebook, or a module); see :mod:`deepstep.check`.

    ``print(deepstep.check("my_solution.py"))`` shows one line per function.
    The checker loads on first call, so ``import deepstep`` stays NumPy-only;
    after that ``deepstep.check`` is the checker package, callable the same way.
    """
    from .check import check as run_check

    return run_check(target, **options)


__all__ = [
    "Callback", "DataError", "DeepNetwork", "DeepstepError", "History", "HyperParameters",
    "InvalidParameterError", "ModelFileError", "NotFittedError", "TrainingDiverged",
    "check", "register_activation", "steps", "__version__",
]
