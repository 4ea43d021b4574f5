"""deepstep's own exception types.

Every error deepstep raises on purpose derives from :class:`DeepstepError`, so a
caller (and the CLI) can tell "you gave me something wrong" apart from a bug.
The concrete classes also derive from the built-in type a Python user would
expect (``ValueError`` for bad values, ``OSError`` for files), so existing
``except ValueError`` code keeps working.
"""

from __future__ import annotations

import difflib


class DeepstepError(Exception):
    """Base class of every error deepstep raises deliberately."""


class InvalidParameterError(DeepstepError, ValueError):
    """A hyperparameter or argument is outside what deepstep accepts."""


class DataError(DeepstepError, ValueError):
    """Input data has the wrong shape, type or values."""


class ModelFileError(DeepstepError, ValueError):
    """A model or checkpoint file is missing, corrupt, or not a deepstep file."""


class TrainingDiverged(DeepstepError, FloatingPointError):
    """The cost became NaN or infinite during training."""


class NotFittedError(DeepstepError, AttributeError):
    """A model was used for prediction before it was trained or loaded."""


def did_you_mean(name: str, choices) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def unknown_name(kind: str, name, registry) -> InvalidParameterError:
    """Build the error for a name missing from a registry (with a suggestion)."""
    allowed = ", ".join(repr(k) for k in sorted(registry))
    return InvalidParameterError(
        f"Unknown {kind} {name!r}. Allowed: {allowed}.{did_you_mean(name, registry)}"
    )
