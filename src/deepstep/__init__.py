"""deepstep: deep neural networks, step by step, in Python and NumPy.

``import deepstep`` needs only NumPy. The lesson's functions are in
:mod:`deepstep.steps`; the model is :class:`DeepNetwork`; everything that
governs training is one :class:`HyperParameters`.
"""

from . import steps
from ._version import __version__
from .activations import register_activation
from .errors import DataError, DeepstepError, InvalidParameterError, ModelFileError, NotFittedError, TrainingDiverged
from .hyperparameters import HyperParameters
from .network import DeepNetwork
from .training import Callback, History

__all__ = [
    "Callback", "DataError", "DeepNetwork", "DeepstepError", "History", "HyperParameters",
    "InvalidParameterError", "ModelFileError", "NotFittedError", "TrainingDiverged",
    "register_activation", "steps", "__version__",
]
