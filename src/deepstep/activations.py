"""Activation functions: forward and backward side by side, in one registry.

Each activation is a pair of NumPy kernels:

``forward(Z, out=None) -> A``
    ``A = g(Z)`` elementwise (softmax: over the units axis 0).
``backward(dA, Z, A, out=None) -> dZ``
    ``dZ = dA * g'(Z)``, given both the pre-activation ``Z`` and the output
    ``A`` so that each kernel uses whichever is cheaper.

The lesson's functions in :mod:`deepstep.steps` call these kernels without
``out``; the model's engine passes preallocated buffers. There is one
implementation of each derivative.

Users add their own with :func:`register_activation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameterError, unknown_name

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable
    backward: Callable
    hidden: bool = True  # usable in hidden layers (softmax is output-only)


ACTIVATIONS: dict[str, Activation] = {}


def register_activation(name: str, forward: Callable, backward: Callable, *, hidden=True):
    """Register ``name`` so that models, the CLI and the estimators accept it.

    ``forward(Z, out=None)`` returns ``g(Z)``; ``backward(dA, Z, A, out=None)``
    returns ``dA * g'(Z)``. Both must accept ``out=None``. Every registered
    activation is covered by the automatic finite-difference test.
    """
    if not name or not isinstance(name, str):
        raise InvalidParameterError(f"Activation name must be a non-empty string. Got {name!r}.")
    ACTIVATIONS[name] = Activation(name, _honour_out(forward), _honour_out(backward), hidden)
    return ACTIVATIONS[name]


def _honour_out(fn):
    """Make ``fn`` write into ``out`` even if it ignores the argument.

    The engine reads its workspace buffers after each call, so a kernel that
    returns a fresh array instead of filling ``out`` must still land there.
    """

    def wrapped(*args, out=None):
        result = fn(*args, out=out)
        if out is not None and result is not out:
            np.copyto(out, result)
            return out
        return result

    wrapped.__wrapped__ = fn
    wrapped.__doc__ = fn.__doc__
    return wrapped


def get_activation(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise unknown_name("activation", name, ACTIVATIONS) from None


# The built-in kernels honour out= themselves and are registered directly.

# --- sigmoid: A = 1 / (1 + e^-Z);  dZ = dA * A (1 - A) ----------------------
def sigmoid_forward(Z, out=None):
    # exp(-Z) overflows to inf for very negative Z; 1/(1+inf) = 0 is the right
    # limit, so the overflow is harmless and silenced rather than clipped.
    with np.errstate(over="ignore", under="ignore"):
        out = np.negative(Z, out=out)
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def sigmoid_backward(dA, Z, A, out=None):
    out = np.subtract(1, A, out=out)
    out *= A
    out *= dA
    return out


# --- relu: A = max(0, Z);  dZ = dA * [Z > 0] ----------------------------------
def relu_forward(Z, out=None):
    return np.maximum(Z, 0, out=out)


def relu_backward(dA, Z, A, out=None):
    # A multiply by the 0/1 mask, not boolean assignment (dZ[Z <= 0] = 0),
    # which is several times slower. [A > 0] == [Z > 0] for relu.
    return np.multiply(dA, A > 0, out=out)


# --- leaky relu: A = max(0.01 Z, Z);  dZ = dA * (1 if Z > 0 else 0.01) --------
def leaky_relu_forward(Z, out=None):
    out = np.multiply(Z, LEAKY_SLOPE, out=out)
    return np.maximum(Z, out, out=out)


def leaky_relu_backward(dA, Z, A, out=None):
    slope = np.where(A > 0, 1.0, LEAKY_SLOPE).astype(dA.dtype, copy=False)
    return np.multiply(dA, slope, out=out)


# --- tanh: A = tanh(Z);  dZ = dA * (1 - A^2) ----------------------------------
def tanh_forward(Z, out=None):
    return np.tanh(Z, out=out)


def tanh_backward(dA, Z, A, out=None):
    out = np.multiply(A, A, out=out)
    np.subtract(1, out, out=out)
    out *= dA
    return out


# --- linear (identity): A = Z;  dZ = dA ---------------------------------------
def linear_forward(Z, out=None):
    if out is None:
        return np.array(Z, copy=True)
    np.copyto(out, Z)
    return out


def linear_backward(dA, Z, A, out=None):
    if out is None:
        return np.array(dA, copy=True)
    np.copyto(out, dA)
    return out


# --- softmax over units (axis 0): A_i = e^{Z_i} / sum_j e^{Z_j} ---------------
def softmax_forward(Z, out=None):
    # Subtracting the column max keeps exp() in range; the result is unchanged.
    out = np.subtract(Z, Z.max(axis=0, keepdims=True), out=out)
    with np.errstate(under="ignore"):  # e^(very negative) -> 0 is the right limit
        np.exp(out, out=out)
    out /= out.sum(axis=0, keepdims=True)
    return out


def softmax_backward(dA, Z, A, out=None):
    # Jacobian-vector product: dZ = A * (dA - sum_i dA_i A_i).
    # The model fuses softmax with cross-entropy (dZ = A - Y) and skips this.
    out = np.multiply(dA, A, out=out)
    s = out.sum(axis=0, keepdims=True)
    np.subtract(dA, s, out=out)
    out *= A
    return out


# --- exp (output only, the log link of Poisson regression): A = e^Z;  dZ = dA * A
def exp_forward(Z, out=None):
    # e^Z underflows to 0 (the right limit) and saturates at the dtype's largest finite
    # value instead of inf, so that a saturated output gives a large finite cost.
    with np.errstate(over="ignore", under="ignore"):
        out = np.exp(Z, out=out)
    return np.minimum(out, np.finfo(out.dtype).max, out=out)


def exp_backward(dA, Z, A, out=None):
    return np.multiply(dA, A, out=out)


ACTIVATIONS["sigmoid"] = Activation("sigmoid", sigmoid_forward, sigmoid_backward)
ACTIVATIONS["relu"] = Activation("relu", relu_forward, relu_backward)
ACTIVATIONS["leaky_relu"] = Activation("leaky_relu", leaky_relu_forward, leaky_relu_backward)
ACTIVATIONS["tanh"] = Activation("tanh", tanh_forward, tanh_backward)
ACTIVATIONS["linear"] = Activation("linear", linear_forward, linear_backward)
ACTIVATIONS["softmax"] = Activation("softmax", softmax_forward, softmax_backward, hidden=False)
ACTIVATIONS["exp"] = Activation("exp", exp_forward, exp_backward, hidden=False)
