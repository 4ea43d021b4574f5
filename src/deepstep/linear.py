"""The linear step of a layer, forward and backward side by side.

    forward    Z = W A_prev + b        (n[l], m) = (n[l], n[l-1]) @ (n[l-1], m) + (n[l], 1)
    backward   dW = dZ A_prev^T        (n[l], n[l-1]) = (n[l], m) @ (m, n[l-1])
               db = Σ_columns dZ       (n[l], 1)
               dA_prev = W^T dZ        (n[l-1], m) = (n[l-1], n[l]) @ (n[l], m)

The backward products are sums over the examples; the mean's 1/m belongs to
the caller. The lesson's ``linear_backward`` (:mod:`deepstep.steps`) multiplies
dW and db by 1/m after the products, as the lesson writes it; the engine folds
1/m into dZ[L] once, since every later gradient is linear in it. Both call
these kernels, the engine with ``out=`` buffers. Transposes are views: BLAS
takes them as flags.
"""

from __future__ import annotations

import numpy as np


def linear_forward(A_prev, W, b, out=None):
    """Z = W A_prev + b, into ``out`` if given."""
    Z = np.matmul(W, A_prev, out=out)
    Z += b
    return Z


def linear_backward(dZ, A_prev, W, dW=None, db=None, dA_prev=None, *, need_dA_prev=True):
    """``(dA_prev, dW, db)`` for the linear step; ``dA_prev`` is None when not needed.

    The input layer's dA[0] is never needed for training: ``need_dA_prev=False``
    skips that product (for the lesson's cat network it is a 12288 x 209 matrix).
    """
    dW = np.matmul(dZ, A_prev.T, out=dW)
    db = np.add.reduce(dZ, axis=1, keepdims=True, out=db)
    if need_dA_prev:
        dA_prev = np.matmul(W.T, dZ, out=dA_prev)
    return (dA_prev if need_dA_prev else None), dW, db
