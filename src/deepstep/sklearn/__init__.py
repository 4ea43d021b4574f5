"""scikit-learn estimators over deepstep's engine.

:class:`DeepClassifier` and :class:`DeepRegressor` take (n_samples, n_features)
as every scikit-learn estimator does and hand the model ``X.T`` (the lesson's
layout) at their boundary. ``estimators.py`` holds the two classes and their
targets; ``_base.py`` what they share (fitting, warm starts, weights, pickling).
"""

from .estimators import DeepClassifier, DeepRegressor

__all__ = ["DeepClassifier", "DeepRegressor"]
