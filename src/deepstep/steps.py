"""The seed's deep network, step by step: its functions, names, shapes and caches.

Read this module alongside the seed. Every function keeps the seed's
signature, returns and caches, works in float64, never mutates its inputs, and
draws random numbers from NumPy's global generator exactly as the seed does,
so ``np.random.seed(1)`` before a call reproduces the published numbers.

The arithmetic itself is not repeated here: each step calls the same kernel
the model's engine uses (:mod:`deepstep.activations`, :mod:`deepstep.losses`,
:mod:`deepstep.optimizers`, :mod:`deepstep.regularization`), so what a
learner checks here is what the model runs.

Notation (the seed's): X = A[0] has shape (n[0], m), one example per column;
W[l] has shape (n[l], n[l-1]); b[l] has shape (n[l], 1); Z[l], A[l], dZ[l] and
dA[l] have shape (n[l], m).

Caches:
    linear cache      (A_prev, W, b)
    activation cache  Z
    layer cache       (linear_cache, activation_cache)
"""

from __future__ import annotations

import numpy as np

from . import activations as _act
from . import losses as _loss

__all__ = [
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "sigmoid", "relu",
    "linear_activation_forward", "L_model_forward", "compute_cost", "relu_backward",
    "sigmoid_backward", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "predict", "two_layer_model", "L_layer_model",
]


# --- initialization ---------------------------------------------------------------
def initialize_parameters(n_x, n_h, n_y):
    """Parameters of a 2-layer network, weights ``randn * 0.01``, biases zero.

    Returns ``{"W1": (n_h, n_x), "b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1)}``.
    """
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims):
    """Parameters of an L-layer network: ``W[l] = randn(n[l], n[l-1]) * 0.01``, ``b[l] = 0``.

    layer_dims : list [n[0], n[1], ..., n[L]]
    """
    return _init_deep(layer_dims, "random")


def _init_deep(layer_dims, name):
    from .initializers import DETERMINISTIC, get_initializer

    scale = get_initializer(name)
    parameters = {}
    for l in range(1, len(layer_dims)):
        n_out, n_in = layer_dims[l], layer_dims[l - 1]
        N = np.zeros((n_out, n_in)) if name in DETERMINISTIC else np.random.randn(n_out, n_in)
        parameters["W" + str(l)] = scale(N, n_in, n_out)
        parameters["b" + str(l)] = np.zeros((n_out, 1))
    return parameters


# --- forward ------------------------------------------------------------------------
def linear_forward(A, W, b):
    """Z = W A + b.  A: (n[l-1], m), W: (n[l], n[l-1]), b: (n[l], 1) -> Z: (n[l], m).

    Returns ``(Z, cache)`` with ``cache = (A, W, b)``.
    """
    Z = np.dot(W, A) + b
    return Z, (A, W, b)


def sigmoid(Z):
    """A = 1 / (1 + exp(-Z)). Returns ``(A, cache)`` with ``cache = Z``."""
    return _act.sigmoid_forward(Z), Z


def relu(Z):
    """A = max(0, Z). Returns ``(A, cache)`` with ``cache = Z``."""
    return _act.relu_forward(Z), Z


def linear_activation_forward(A_prev, W, b, activation):
    """[LINEAR -> ACTIVATION] for one layer. Returns ``(A, (linear_cache, activation_cache))``.

    activation : "sigmoid" or "relu" (any registered activation works).
    """
    Z, linear_cache = linear_forward(A_prev, W, b)
    A = _act.get_activation(activation).forward(Z)
    return A, (linear_cache, Z)


def L_model_forward(X, parameters):
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    X : (n[0], m). Returns ``(AL, caches)``: AL of shape (1, m) and the L layer caches.
    """
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    """Cross-entropy J = -1/m Σ (y log a + (1 - y) log(1 - a)).  AL, Y: (1, m) -> float."""
    return np.squeeze(_loss.binary_crossentropy(AL, np.asarray(Y).reshape(AL.shape)))


# --- backward -----------------------------------------------------------------------
def relu_backward(dA, cache):
    """dZ = dA * g'(Z) for relu: dA where Z > 0, else 0.  cache = Z."""
    Z = cache
    return _act.relu_backward(dA, Z, Z)


def sigmoid_backward(dA, cache):
    """dZ = dA * s (1 - s), s = sigmoid(Z).  cache = Z."""
    Z = cache
    return _act.sigmoid_backward(dA, Z, _act.sigmoid_forward(Z))


def linear_backward(dZ, cache):
    """From dZ[l] (n[l], m) and cache (A_prev, W, b) to (dA_prev, dW, db).

    dW = 1/m dZ A_prev^T (n[l], n[l-1]);  db = 1/m Σ_columns dZ (n[l], 1);
    dA_prev = W^T dZ (n[l-1], m).
    """
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    """Backward through [LINEAR -> ACTIVATION]. Returns ``(dA_prev, dW, db)``."""
    linear_cache, activation_cache = cache
    act = _act.get_activation(activation)
    Z = activation_cache
    dZ = act.backward(dA, Z, act.forward(Z))
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    """Gradients of the cross-entropy for the [RELU] x (L-1) -> SIGMOID network.

    Returns ``grads`` with ``grads["dA" + str(l)]`` (l = 0 .. L-1),
    ``grads["dW" + str(l)]`` and ``grads["db" + str(l)]`` (l = 1 .. L).
    """
    grads = {}
    L = len(caches)
    Y = np.asarray(Y).reshape(AL.shape)
    # dAL = -(Y/AL - (1-Y)/(1-AL)): the seed's unfused gradient, kept for teaching
    # (the model's engine uses the fused dZ[L] = AL - Y instead).
    dAL = _loss.binary_crossentropy_dA(AL, Y)
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = \
        linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(L - 1)):
        dA_prev, dW, db = linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu")
        grads["dA" + str(l)] = dA_prev
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
    return grads


def update_parameters(parameters, grads, learning_rate):
    """W[l] = W[l] - α dW[l], b[l] = b[l] - α db[l]. Returns a new dict (inputs untouched)."""
    from .optimizers import gd_update

    L = len(parameters) // 2
    new = {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            value = np.array(parameters[p + str(l)], dtype=np.float64, copy=True)
            gd_update(value, grads["d" + p + str(l)], learning_rate)
            new[p + str(l)] = value
    return new


def predict(X, parameters):
    """0/1 predictions (1, m): 1 where the network's output AL > 0.5."""
    AL, _ = L_model_forward(X, parameters)
    return (AL > 0.5).astype(np.float64)


# --- the seed's ready-made trainers -------------------------------------------------
def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """LINEAR -> RELU -> LINEAR -> SIGMOID, batch gradient descent.

    layers_dims : (n_x, n_h, n_y). Returns ``(parameters, costs)``, costs every 100 iterations.
    Call ``np.random.seed(1)`` first to reproduce the published run.
    """
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y)
    return _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID, batch gradient descent.

    Weights start at ``randn / sqrt(n[l-1])`` (``randn * 0.01`` stalls a 4-layer
    net; the published application uses this scaling). Returns ``(parameters, costs)``.
    """
    parameters = _init_deep(layers_dims, "scaled")
    return _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost):
    costs = []
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % 100 == 0 or i == num_iterations - 1:
            if print_cost:
                print(f"Cost after iteration {i}: {float(cost)}")
            if i % 100 == 0:
                costs.append(float(cost))
    return parameters, costs
