"""From labels to the output layer and back.

``fit`` accepts Y in the forms a learner meets:

* labels, shape (m,) or (1, m), of any type (0/1, ints, strings): binary
  labels train a sigmoid unit, more classes a softmax layer;
* a target matrix, shape (n_y, m): one-hot columns (softmax), 0/1 columns
  that do not sum to one (multilabel sigmoid), or real values (regression).

The encoder remembers the classes so ``predict`` gives labels back in the
same form, and so the model file can restore them.

Regression targets are standardized inside the model: the encoder inferred
from training targets keeps each output's mean and standard deviation, the
output layer learns ``(y - mean) / sd``, and :meth:`TargetEncoder.restore`
turns its outputs back into the targets' units (what ``predict`` returns).
A target of thousands no longer needs a tiny learning rate, and one of
hundredths no longer drowns in the weights' noise.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError


class TargetEncoder:
    def __init__(self, output, mode, classes=None, n_outputs=1, shift=None, scale=None):
        self.output = output          # sigmoid | softmax | linear
        self.mode = mode              # "labels" (1-D labels) | "matrix" (n_y, m)
        self.classes = None if classes is None else np.asarray(classes)
        self.n_outputs = int(n_outputs)
        # regression only: the output layer learns (y - shift) / scale, per output
        self.shift = None if shift is None else np.asarray(shift, dtype=np.float64).ravel()
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64).ravel()

    @staticmethod
    def _standardizer(Y, sample_weight=None):
        """Per-output (mean, sd) of targets Y (n_y, m), weighted by ``sample_weight`` (m,) when given
        (so weights act as repeated examples); sd 1 where a target is constant."""
        Y = np.asarray(Y, dtype=np.float64)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
        if w is None or w.shape != (Y.shape[1],) or not w.sum() > 0:
            w = None
        mean = np.average(Y, axis=1, weights=w)
        sd = np.sqrt(np.average((Y - mean[:, None]) ** 2, axis=1, weights=w))
        return mean, np.where(sd > 0, sd, 1.0)

    def restore(self, AL):
        """Output activations in the targets' units (regression: ``AL * scale + shift``)."""
        if self.output != "linear" or self.shift is None:
            return AL
        return AL * self.scale.astype(AL.dtype)[:, None] + self.shift.astype(AL.dtype)[:, None]

    @property
    def value_scale(self):
        """Per-output factor from the output layer's units to the targets' (regression), else None."""
        return self.scale if self.output == "linear" else None

    # -- inference from the training targets -----------------------------------
    @classmethod
    def infer(cls, Y, output="auto", sample_weight=None):
        """The encoding for targets Y; ``sample_weight`` (m,) weighs a regression target's standardization."""
        Y = np.asarray(Y)
        if Y.ndim == 1 or (Y.ndim == 2 and Y.shape[0] == 1):
            return cls._infer_labels(Y.ravel(), output, sample_weight)
        if Y.ndim != 2:
            raise DataError(f"Y must have shape (m,) or (n_y, m). Got an array of shape {Y.shape}.")
        return cls._infer_matrix(Y, output, sample_weight)

    @classmethod
    def _infer_labels(cls, y, output, sample_weight=None):
        numeric = np.issubdtype(y.dtype, np.number) and not np.issubdtype(y.dtype, np.bool_)
        if numeric:
            _check_finite(y)
        if output == "linear" or (output == "auto" and numeric and np.issubdtype(y.dtype, np.floating)
                                  and not np.all(np.mod(y, 1) == 0)):
            if not numeric:
                raise DataError(f"A linear (regression) output needs numeric targets. Got dtype {y.dtype}.")
            return cls("linear", "matrix", None, 1, *cls._standardizer(y.reshape(1, -1), sample_weight))
        try:
            classes = np.unique(y)
        except TypeError:
            raise DataError(
                "The labels mix values that cannot be compared (e.g. None among strings); "
                "use labels of one type."
            ) from None
        if output == "sigmoid" and numeric and set(classes.tolist()) <= {0, 1}:
            classes = np.array([0, 1], dtype=y.dtype)
        if len(classes) < 2:
            raise DataError(
                f"The labels contain a single class ({classes[0].item()!r}); a classifier needs at least two."
            )
        if output == "sigmoid" and len(classes) > 2:
            raise DataError(
                f"A sigmoid output produces 2 classes, but the labels have {len(classes)}: "
                f"{_short(classes)}. Use output='softmax' (or 'auto')."
            )
        out = output if output != "auto" else ("sigmoid" if len(classes) == 2 else "softmax")
        return cls(out, "labels", classes, 1 if out == "sigmoid" else len(classes))

    @classmethod
    def _infer_matrix(cls, Y, output, sample_weight=None):
        if not np.issubdtype(Y.dtype, np.number):
            raise DataError(f"A target matrix of shape (n_y, m) must be numeric. Got dtype {Y.dtype}.")
        _check_finite(Y)
        binary = bool(np.all((Y == 0) | (Y == 1)))
        onehot = binary and bool(np.all(Y.sum(axis=0) == 1))
        if output == "auto":
            output = "softmax" if onehot else "sigmoid" if binary else "linear"
        if output == "sigmoid" and (Y.min() < 0 or Y.max() > 1):
            raise DataError("A sigmoid output produces values in [0, 1]; the targets leave that range.")
        if output == "softmax" and not np.allclose(Y.sum(axis=0), 1) or output == "softmax" and Y.min() < 0:
            raise DataError("A softmax output needs one-hot (or probability) columns that sum to 1.")
        if output == "linear":
            return cls(output, "matrix", None, Y.shape[0], *cls._standardizer(Y, sample_weight))
        return cls(output, "matrix", None, Y.shape[0])

    # -- encode / decode --------------------------------------------------------
    def encode_rows(self, Y, dtype):
        """Targets as rows (m, n_y) in ``dtype``, what the output layer is trained on."""
        Y = np.asarray(Y)
        if self.mode == "matrix":
            if Y.ndim == 1:
                Y = Y.reshape(1, -1)
            if Y.shape[0] != self.n_outputs:
                raise DataError(f"Y has {Y.shape[0]} rows but the model has {self.n_outputs} outputs.")
            _check_finite(Y)
            if self.output == "linear" and self.shift is not None:
                Y = (np.asarray(Y, dtype=np.float64) - self.shift[:, None]) / self.scale[:, None]
            return np.ascontiguousarray(Y.T, dtype=dtype)
        y = Y.ravel()
        idx = np.searchsorted(self.classes, y)
        idx = np.clip(idx, 0, len(self.classes) - 1)
        unknown = self.classes[idx] != y
        if np.any(unknown):
            raise DataError(
                f"Labels {_short(np.unique(y[unknown]))} are not among the classes this model "
                f"was trained on ({_short(self.classes)})."
            )
        if self.output == "sigmoid":
            return idx.astype(dtype).reshape(-1, 1)
        rows = np.zeros((len(y), len(self.classes)), dtype=dtype)
        rows[np.arange(len(y)), idx] = 1
        return rows

    def decode(self, AL):
        """Predictions from the output activations AL of shape (n_y, m) (regression: restored ones)."""
        if self.output == "linear":
            return AL
        if self.mode == "labels":
            idx = (AL[0] > 0.5).astype(np.intp) if self.output == "sigmoid" else AL.argmax(axis=0)
            return self.classes[idx].reshape(1, -1)
        if self.output == "sigmoid":
            return (AL > 0.5).astype(np.int64)
        out = np.zeros(AL.shape, dtype=np.int64)
        out[AL.argmax(axis=0), np.arange(AL.shape[1])] = 1
        return out

    def to_dict(self):
        d = {"output": self.output, "mode": self.mode, "n_outputs": self.n_outputs,
             "classes": None if self.classes is None else self.classes.tolist()}
        if self.shift is not None:
            d["shift"], d["scale"] = self.shift.tolist(), self.scale.tolist()
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(d["output"], d["mode"], _exact_classes(d.get("classes")), d.get("n_outputs", 1),
                   d.get("shift"), d.get("scale"))


def _exact_classes(classes):
    """Classes read back from JSON as an array that holds each value exactly.

    ``np.asarray`` would turn ``[0, 2**64 - 1]`` into float64 (two different labels
    could then compare equal); integers get int64, uint64 or, beyond both, object.
    """
    if not classes or not all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return classes
    if all(-(2 ** 63) <= c < 2 ** 63 for c in classes):
        return np.array(classes, dtype=np.int64)
    if all(0 <= c < 2 ** 64 for c in classes):
        return np.array(classes, dtype=np.uint64)
    return np.array(classes, dtype=object)


def _check_finite(Y):
    if np.issubdtype(Y.dtype, np.floating) and not np.all(np.isfinite(Y)):
        raise DataError("Y contains NaN or infinite values; clean or impute them before training.")


def _short(a, k=6):
    items = [repr(x.item() if hasattr(x, "item") else x) for x in list(a)[:k]]
    return "[" + ", ".join(items) + (", ...]" if len(a) > k else "]")
