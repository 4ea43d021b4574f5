"""Weight initializers: how a standard-normal draw is scaled for layer l.

Each initializer maps a draw ``N`` of shape (n[l], n[l-1]) from N(0, 1) to
W[l]. Written as the expressions the literature uses so that, from the same
draw, deepstep's weights are the published ones bit for bit:

========== ================================ =====================================
name       W[l]                             why
========== ================================ =====================================
random     N * 0.01                         the lesson's start; stalls deep nets
scaled     N / sqrt(n[l-1])                 LeCun; the lesson's L_layer_model
xavier     N * sqrt(2 / (n[l-1] + n[l]))    Glorot; tanh and sigmoid
he         N * sqrt(2 / n[l-1])             He et al.; relu (the default)
large      N * 10                           the classic bad start, for study
zeros      0                                symmetry never breaks, for study
========== ================================ =====================================

Biases always start at zero. The model draws ``N`` from its own
``numpy.random.Generator``; :mod:`deepstep.steps` draws it from NumPy's global
generator with ``np.random.randn`` as the lesson does.
"""

from __future__ import annotations

import numpy as np

from .errors import unknown_name

INITIALIZERS = {
    "random": lambda N, n_in, n_out: N * 0.01,
    "scaled": lambda N, n_in, n_out: N / np.sqrt(n_in),
    "xavier": lambda N, n_in, n_out: N * np.sqrt(2.0 / (n_in + n_out)),
    "he": lambda N, n_in, n_out: N * np.sqrt(2.0 / n_in),
    "large": lambda N, n_in, n_out: N * 10,
    "zeros": lambda N, n_in, n_out: np.zeros_like(N),
}

# Initializers that draw nothing (they must not consume random numbers).
DETERMINISTIC = {"zeros"}

# "auto": He for the rectifiers, Glorot for the saturating activations.
AUTO_INIT = {"relu": "he", "leaky_relu": "he", "tanh": "xavier", "sigmoid": "xavier",
             "linear": "xavier"}


def register_initializer(name, scale):
    """Register ``scale(N, n_in, n_out) -> W`` under ``name``."""
    INITIALIZERS[name] = scale


def get_initializer(name):
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise unknown_name("initializer", name, INITIALIZERS) from None


def initialize(name, rng, layer_dims, dtype=np.float64):
    """Parameters ``{"W1", "b1", ..., "WL", "bL"}`` for ``layer_dims``.

    Parameters
    ----------
    name : str or sequence of str
        One initializer for every layer, or one per layer (length L).
    rng : numpy.random.Generator
    layer_dims : sequence of int, [n[0], n[1], ..., n[L]]
    """
    L = len(layer_dims) - 1
    names = [name] * L if isinstance(name, str) else list(name)
    params = {}
    for l in range(1, L + 1):
        n_in, n_out = layer_dims[l - 1], layer_dims[l]
        init = get_initializer(names[l - 1])
        if names[l - 1] in DETERMINISTIC:
            N = np.zeros((n_out, n_in))
        else:
            N = rng.standard_normal((n_out, n_in))
        params[f"W{l}"] = np.asarray(init(N, n_in, n_out), dtype=dtype)
        params[f"b{l}"] = np.zeros((n_out, 1), dtype=dtype)
    return params
