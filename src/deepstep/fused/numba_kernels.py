"""The numba kernels behind :mod:`deepstep.fused` (imported only through it, when numba is installed).

Every kernel repeats, element by element, the NumPy expression it replaces, in
the same order and on the same dtype; the scalars arrive already cast to the
arrays' dtype. No ``fastmath``: numba then contracts nothing into FMAs, so the
results are NumPy's bit for bit. ``error_model="numpy"``: a division by zero
gives inf or NaN as NumPy's does (and the loops vectorize). No kernel sums:
NumPy's pairwise ``add.reduce`` is both the reference and faster than a scalar
copy of it.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")


@_jit
def bias_relu(S, b, Z, A):
    """Z = S + b (b a column), A = relu(Z) = ``np.maximum(Z, 0)``, in one pass. S may be Z.

    relu(-0.0) is +0.0 here; NumPy's ``maximum`` gives either zero depending on where in
    the array the element sits (its vector and scalar loops differ), and the two zeros are
    equal in every later operation but a sign test.
    """
    n, m = Z.shape
    for i in range(n):
        bi = b[i, 0]
        for j in range(m):
            z = S[i, j] + bi
            Z[i, j] = z
            A[i, j] = z
            if z <= 0:
                A[i, j] = 0


@_jit
def relu_grad(dA, A, dZ, zero):
    """dZ = dA * [A > 0], the mask as 1.0/0.0 as the engine's NumPy code multiplies it."""
    n, m = dZ.shape
    for i in range(n):
        for j in range(m):
            if A[i, j] > 0:
                dZ[i, j] = dA[i, j]
            else:
                dZ[i, j] = dA[i, j] * zero


@_jit
def output_grad(AL, Y, s, dZ):
    """dZ[L] = (A[L] - Y) * s (s = 1/m in the arrays' dtype): ``np.subtract`` then ``*=``."""
    n, m = dZ.shape
    for i in range(n):
        for j in range(m):
            dZ[i, j] = (AL[i, j] - Y[i, j]) * s


@_jit
def count_argmax_equal(AL, Y):
    """``np.count_nonzero(AL.argmax(0) == Y.argmax(0))``: the columns whose largest entries
    (the first of equal ones; a NaN counts as the largest, as in ``np.argmax``) are in the same row."""
    n, m = AL.shape
    count = 0
    for j in range(m):
        a = 0
        y = 0
        for i in range(1, n):
            if not AL[a, j] != AL[a, j] and (AL[i, j] > AL[a, j] or AL[i, j] != AL[i, j]):
                a = i
            if not Y[y, j] != Y[y, j] and (Y[i, j] > Y[y, j] or Y[i, j] != Y[i, j]):
                y = i
        if a == y:
            count += 1
    return count


# -- optimizer updates over a 1-D slice of the flat buffers --------------------------------
@_jit
def gd(p, g, lr):
    for k in range(p.size):
        p[k] = p[k] - lr * g[k]


@_jit
def momentum(p, g, v, beta, one_minus_beta, lr):
    for k in range(p.size):
        vk = v[k] * beta + one_minus_beta * g[k]
        v[k] = vk
        p[k] = p[k] - lr * vk


@_jit
def nesterov(p, g, v, beta, one_minus_beta, lr):
    for k in range(p.size):
        t = one_minus_beta * g[k]
        vk = v[k] * beta + t
        v[k] = vk
        p[k] = p[k] - (beta * vk + t) * lr


@_jit
def rmsprop(p, g, s, beta2, one_minus_beta2, lr, eps):
    for k in range(p.size):
        gk = g[k]
        sk = s[k] * beta2 + (gk * gk) * one_minus_beta2
        s[k] = sk
        p[k] = p[k] - (gk / (np.sqrt(sk) + eps)) * lr


@_jit
def adam(p, g, v, s, beta1, one_minus_beta1, beta2, one_minus_beta2, c1, c2, lr, eps):
    for k in range(p.size):
        gk = g[k]
        vk = v[k] * beta1 + one_minus_beta1 * gk
        sk = s[k] * beta2 + (gk * gk) * one_minus_beta2
        v[k] = vk
        s[k] = sk
        p[k] = p[k] - (lr * (vk / c1)) / (np.sqrt(sk / c2) + eps)
