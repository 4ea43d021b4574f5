"""Regularization kernels: L2 weight decay and inverted dropout.

L2 adds λ/(2m)·Σ_l ‖W[l]‖² to the cost (weights only, never biases), so
dW[l] gains λ/m·W[l].

Inverted dropout keeps each hidden unit with probability ``keep_prob`` and
scales the survivors by 1/keep_prob, so the expected activation is unchanged
and nothing needs rescaling at prediction time::

    forward:   A = A * D / keep_prob          D: 0/1 mask, shape of A
    backward:  dA = dA * D / keep_prob
"""

from __future__ import annotations

import numpy as np


def l2_cost(weights, lambd, m):
    """λ/(2m) Σ_l ‖W[l]‖²_F over the weight matrices."""
    if not lambd:
        return 0.0
    return float(lambd / (2 * m) * sum(float(np.sum(np.square(W))) for W in weights))


def l2_grad(dW, W, lambd, m):
    """dW += λ/m · W, in place; returns dW."""
    if lambd:
        dW += lambd / m * W
    return dW


def dropout_apply(A, D, keep_prob, out=None):
    """A * D / keep_prob (forward) or dA * D / keep_prob (backward)."""
    out = np.multiply(A, D, out=out)
    out /= keep_prob
    return out
