"""Losses: the cost J and its gradient, with the fused output gradient.

Each loss gives

``cost(AL, Y, weights=None) -> float``
    the mean over the m examples (columns) of the per-example loss; with
    ``weights`` (m,), the weighted mean Σ w_i J_i / Σ w_i (sample weights).
    A registered loss whose ``cost`` takes no ``weights`` trains without them.
``dA(AL, Y) -> dAL``
    dJ/dAL per example (not divided by m), the lesson's
    ``dAL = -(Y/AL - (1-Y)/(1-AL))`` for binary cross-entropy.
``link``
    the output activation it pairs with. For these pairs the chain rule
    collapses to ``dZ[L] = AL - Y`` (sigmoid + binary cross-entropy, softmax +
    categorical cross-entropy, identity + squared error), which the model uses
    instead of dividing by AL and 1 - AL.

Probabilities are clipped to [eps, 1 - eps] of their dtype before the log, so
a saturated output gives a large finite cost rather than inf or NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import unknown_name


@dataclass(frozen=True)
class Loss:
    name: str
    cost: Callable
    dA: Callable
    link: str  # output activation for which dZ = AL - Y


LOSSES: dict[str, Loss] = {}


def register_loss(name, cost, dA, link):
    LOSSES[name] = Loss(name, cost, dA, link)
    return LOSSES[name]


def get_loss(name: str) -> Loss:
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise unknown_name("loss", name, LOSSES) from None


_EPS = {np.dtype(t): float(np.finfo(t).eps) for t in (np.float16, np.float32, np.float64)}


def _clip(AL):
    """AL clipped to [eps, 1 - eps] of its dtype (a new array)."""
    eps = _EPS.get(AL.dtype, 1e-15)
    P = np.maximum(AL, eps)
    return np.minimum(P, 1 - eps, out=P)


def _weighted_mean(per_example, weights):
    """Σ w_i J_i / Σ w_i: the weighted cost (sample weights), in float64."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    return float(np.dot(per_example.astype(np.float64, copy=False), w) / w.sum())


# J = -1/m sum( Y log AL + (1-Y) log(1-AL) )          AL, Y: (n_y, m)
def binary_crossentropy(AL, Y, weights=None):
    m = Y.shape[1]
    P = _clip(AL)
    if weights is not None:
        per = np.sum(np.multiply(Y, np.log(P)) + np.multiply(1 - Y, np.log(1 - P)), axis=0)
        return _weighted_mean(-per, weights)
    return float(-1 / m * np.sum(np.multiply(Y, np.log(P)) + np.multiply(1 - Y, np.log(1 - P))))


def binary_crossentropy_dA(AL, Y):
    P = _clip(AL)
    return -(np.divide(Y, P) - np.divide(1 - Y, 1 - P))


# J = -1/m sum( Y log AL )                             AL, Y one-hot: (k, m)
def categorical_crossentropy(AL, Y, weights=None):
    m = Y.shape[1]
    if weights is not None:
        return _weighted_mean(-np.sum(np.multiply(Y, np.log(_clip(AL))), axis=0), weights)
    return float(-1 / m * np.sum(np.multiply(Y, np.log(_clip(AL)))))


def categorical_crossentropy_dA(AL, Y):
    return -np.divide(Y, _clip(AL))


# J = 1/(2m) sum( (AL - Y)^2 )                         AL, Y: (n_y, m)
def squared_error(AL, Y, weights=None):
    m = Y.shape[1]
    D = np.subtract(AL, Y, dtype=np.float64)  # float64: squares of float32 outputs can overflow
    if weights is not None:
        return _weighted_mean(0.5 * np.sum(D * D, axis=0), weights)
    return float(0.5 / m * np.sum(D * D))


def squared_error_dA(AL, Y):
    return AL - Y


# J = 1/m sum( AL - Y log AL )                         AL = e^Z > 0, Y >= 0 counts: (n_y, m)
# (the half Poisson deviance up to terms in Y alone; dZ = AL - Y through the exp link)
def _positive(AL):
    """AL clipped below at the dtype's smallest normal number (e^Z may underflow to 0)."""
    return np.maximum(AL, np.finfo(AL.dtype).tiny if AL.dtype.kind == "f" else 1e-300)


def poisson(AL, Y, weights=None):
    m = Y.shape[1]
    per = AL - np.multiply(Y, np.log(_positive(AL)))
    if weights is not None:
        return _weighted_mean(np.sum(per, axis=0), weights)
    return float(1 / m * np.sum(per, dtype=np.float64))


def poisson_dA(AL, Y):
    return 1 - np.divide(Y, _positive(AL))


register_loss("binary_crossentropy", binary_crossentropy, binary_crossentropy_dA, "sigmoid")
register_loss("categorical_crossentropy", categorical_crossentropy, categorical_crossentropy_dA, "softmax")
register_loss("squared_error", squared_error, squared_error_dA, "linear")
register_loss("poisson", poisson, poisson_dA, "exp")

# The loss each output activation trains with.
OUTPUT_LOSS = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy",
               "linear": "squared_error"}


