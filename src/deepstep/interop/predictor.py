"""The whole predictor of a trained DeepNetwork as plain arrays: what every exporter writes.

``X`` (batch, n_x) -> scale -> [Linear -> activation] x L -> outputs. The scaling
is ``(X - shift) * factor`` per feature (``standardize``, ``minmax``) or
``X / 255`` (``divide255``), applied in the model's dtype as
:class:`deepstep.preprocessing.Scaler` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError, NotFittedError

#: deepstep activations every exporter can write.
EXPORTABLE = ("relu", "leaky_relu", "tanh", "sigmoid", "linear", "softmax")


@dataclass
class Predictor:
    dtype: np.dtype
    preprocess: str                 # none | standardize | minmax | divide255
    shift: np.ndarray | None        # (n_x,) in dtype, for standardize/minmax
    factor: np.ndarray | None
    weights: list                   # W[l] of shape (n[l], n[l-1]): torch.nn.Linear.weight's layout
    biases: list                    # b[l] of shape (n[l],)
    activations: list               # one per layer; the last is the output's
    output: str                     # sigmoid | softmax | linear
    mode: str                       # labels | matrix
    classes: np.ndarray | None
    feature_names: list | None

    @property
    def n_x(self):
        return self.weights[0].shape[1]

    @property
    def n_y(self):
        return self.weights[-1].shape[0]


def describe(model) -> Predictor:
    """The predictor of a trained :class:`~deepstep.DeepNetwork`; refuses what cannot be exported."""
    if not getattr(model, "is_built", False):
        raise NotFittedError("Only a trained (or loaded) DeepNetwork can be exported: call fit() first.")
    acts = list(model.activations)
    unknown = sorted({a for a in acts if a not in EXPORTABLE})
    if unknown:
        raise InvalidParameterError(
            f"Cannot export activation {unknown[0]!r}: exporters know {', '.join(EXPORTABLE)} "
            f"(a registered activation has no ONNX or PyTorch equivalent deepstep can write).")
    dtype = np.dtype(model.hp.dtype)
    params = model.parameters
    L = len(params) // 2
    scaler = model.scaler
    kind = scaler.kind or "none"
    shift = factor = None
    if kind in ("standardize", "minmax"):
        shift, factor = scaler.shift.astype(dtype), scaler.factor.astype(dtype)
    targets = model.targets
    weights = [np.array(params[f"W{l}"], dtype=dtype) for l in range(1, L + 1)]
    biases = [np.array(params[f"b{l}"], dtype=dtype).ravel() for l in range(1, L + 1)]
    if targets.output == "linear" and getattr(targets, "shift", None) is not None:
        # Regression targets are learned standardized ((y - shift) / scale); the output layer is
        # linear, so the un-standardization folds exactly into its weights and bias.
        scale = np.asarray(targets.scale, dtype=np.float64)
        weights[-1] = (weights[-1] * scale[:, None]).astype(dtype)
        biases[-1] = (biases[-1] * scale + np.asarray(targets.shift, dtype=np.float64)).astype(dtype)
    return Predictor(
        dtype=dtype, preprocess=kind, shift=shift, factor=factor,
        weights=weights, biases=biases,
        activations=acts, output=targets.output, mode=targets.mode,
        classes=None if targets.classes is None else np.asarray(targets.classes),
        feature_names=None if model.feature_names is None else list(model.feature_names))


def torch_layout(p: Predictor):
    """The ``nn.Sequential`` layout: [(index, kind, detail)], with kind scale|linear|activation."""
    out, i = [], 0
    if p.preprocess != "none":
        out.append((i, "scale", p.preprocess))
        i += 1
    for l, act in enumerate(p.activations):
        out.append((i, "linear", l))
        i += 1
        if act != "linear":
            out.append((i, "activation", act))
            i += 1
    return out
