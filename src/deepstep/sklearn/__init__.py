"""scikit-learn estimators over deepstep's engine.

:class:`DeepClassifier` and :class:`DeepRegressor` take (n_samples, n_features)
as every scikit-learn estimator does and hand the model ``X.T`` (the lesson's
layout) at their boundary. ``estimators.py`` holds the two classes and their
targets; ``_base.py`` what they share (fitting, warm starts, weights, pickling).

:class:`MLPClassifier` and :class:`MLPRegressor` (``mlp.py``) are drop-ins for
scikit-learn's classes of the same names: scikit-learn's parameters, attributes
and behaviour, trained by deepstep's engine (docs/sklearn.md).
"""

from .estimators import DeepClassifier, DeepRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["DeepClassifier", "DeepRegressor", "MLPClassifier", "MLPRegressor"]
