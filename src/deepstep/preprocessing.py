"""Input scaling fitted on training data and stored with the model.

A model carries its fitted scaler, so ``predict`` takes raw inputs in the
lesson's layout (n_x, m). Statistics are per feature, computed in float64 and
stored as plain arrays in the model file (never pickled). Scaling is applied in
place on a copy in the model's dtype, so big inputs are not duplicated in
float64.
"""

from __future__ import annotations

import numpy as np


class Scaler:
    """``x -> (x - shift) * factor`` per feature; ``divide255`` is the lesson's ``x / 255.``."""

    def __init__(self, kind="none", shift=None, factor=None):
        self.kind = kind
        self.shift = None if shift is None else np.asarray(shift, dtype=np.float64).ravel()
        self.factor = None if factor is None else np.asarray(factor, dtype=np.float64).ravel()

    @property
    def is_identity(self):
        return self.kind in ("none", None)

    def fit(self, X, sample_weight=None):
        """Fit on X of shape (n_x, m); returns self.

        With ``sample_weight`` (m,), the statistics are those of the examples
        repeated by their weights: a weighted mean and standard deviation, and
        min/max over the examples of positive weight.
        """
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            if self.kind == "standardize":
                mean = X.dot(w) / w.sum() if X.dtype == np.float64 else X.astype(np.float64).dot(w) / w.sum()
                var = np.square(X - mean[:, None]).dot(w) / w.sum()
                std = np.sqrt(var)
                self.shift, self.factor = mean, 1.0 / np.where(std > 0, std, 1.0)
                return self
            if self.kind == "minmax":
                X = X[:, w > 0]
        if self.kind == "standardize":
            mean = X.mean(axis=1, dtype=np.float64)
            std = X.std(axis=1, dtype=np.float64)
            self.shift, self.factor = mean, 1.0 / np.where(std > 0, std, 1.0)
        elif self.kind == "minmax":
            lo = X.min(axis=1).astype(np.float64)
            span = X.max(axis=1).astype(np.float64) - lo
            self.shift, self.factor = lo, 1.0 / np.where(span > 0, span, 1.0)
        return self

    def apply_(self, A, axis=0):
        """Scale ``A`` in place, features along ``axis``; returns ``A``."""
        if self.kind == "divide255":
            A /= 255.0
        elif not self.is_identity:
            shape = [1, 1]
            shape[axis] = -1
            A -= self.shift.astype(A.dtype).reshape(shape)
            A *= self.factor.astype(A.dtype).reshape(shape)
        return A

    def transform(self, X, dtype=np.float32):
        """Scaled X (n_x, m) in ``dtype`` (a new array unless the scaler is the identity)."""
        if self.is_identity:
            return np.asarray(X, dtype=dtype)
        return self.apply_(np.array(X, dtype=dtype), axis=0)

    def to_arrays(self):
        if self.shift is None:
            return {}
        return {"shift": self.shift, "factor": self.factor}

    @classmethod
    def from_arrays(cls, kind, arrays):
        return cls(kind, arrays.get("shift"), arrays.get("factor"))
