"""The numba kernels behind :mod:`deepstep.fused` (imported only through it, when numba is installed).

Every kernel repeats, element by element, the NumPy expression it replaces, in
the same order and on the same dtype; the scalars arrive already cast to the
arrays' dtype. No ``fastmath``: numba then contracts nothing into FMAs, so the
results are NumPy's bit for bit. ``error_model="numpy"``: a division by zero
gives inf or NaN as NumPy's does (and the loops vectorize). Sums keep NumPy's
order of additions: the softmax's column sums row by row (as ``add.reduce`` over
axis 0 of a C-ordered array adds), the cost's total by NumPy's pairwise
summation (``_pairwise``); the bias gradients ``db`` stay NumPy's own call, whose
vectorized pairwise sum over long rows beats a scalar copy.
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
def bias_softmax_shift(S, b, Z, A, row):
    """The softmax's first half with the bias add: Z = S + b; row = the column maxima (as
    ``np.maximum.reduce(Z, axis=0)``: row by row, NaN kept); A = Z - row. ``np.exp`` follows."""
    n, m = Z.shape
    for j in range(m):
        z = S[0, j] + b[0, 0]
        Z[0, j] = z
        row[0, j] = z
    for i in range(1, n):
        bi = b[i, 0]
        for j in range(m):
            z = S[i, j] + bi
            Z[i, j] = z
            r = row[0, j]
            if not (r >= z or r != r):
                row[0, j] = z
    for i in range(n):
        for j in range(m):
            A[i, j] = Z[i, j] - row[0, j]


@_jit
def softmax_normalize(A, row, zero):
    """The softmax's second half: row = the column sums as ``np.add.reduce(A, axis=0)`` adds
    them (row by row; one column is a contiguous run, which NumPy sums pairwise), A /= row."""
    n, m = A.shape
    if m == 1:
        row[0, 0] = zero + _pairwise(A.reshape(n), zero)
        for i in range(n):
            A[i, 0] = A[i, 0] / row[0, 0]
        return
    for j in range(m):
        row[0, j] = A[0, j]
    for i in range(1, n):
        for j in range(m):
            row[0, j] = row[0, j] + A[i, j]
    for i in range(n):
        for j in range(m):
            A[i, j] = A[i, j] / row[0, j]


@_jit
def clip_into(AL, lo, hi, P):
    """P = ``np.minimum(np.maximum(AL, lo), hi)`` (NaN kept), the cross-entropies' clip."""
    n, m = AL.shape
    for i in range(n):
        for j in range(m):
            a = AL[i, j]
            if not (a >= lo or a != a):
                a = lo
            if not (a <= hi or a != a):
                a = hi
            P[i, j] = a


@_jit
def _block(a, lo, n, zero):
    """Σ a[lo:lo+n], n <= 128, as NumPy's pairwise sum adds a block (8 accumulators)."""
    if n < 8:
        res = zero
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@_jit
def _pairwise(a, zero):
    """Σ a (1-D, contiguous) as NumPy's ``add.reduce`` sums a contiguous run: blocks of at most
    128, split in two (the first part a multiple of 8) above that, the halves added.

    NumPy writes the split as a recursion; numba's on-disk cache cannot hold a recursive
    function, so the tree is walked with explicit stacks, the same additions in the same order.
    """
    n = a.size
    if n <= 128:
        return _block(a, 0, n, zero)
    frames = np.empty((192, 3), np.int64)   # (lo, n, stage); n halves at every level
    vals = np.empty(64, a.dtype)
    sp, vp = 1, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, n, 0
    while sp > 0:
        sp -= 1
        lo, k, stage = frames[sp, 0], frames[sp, 1], frames[sp, 2]
        if k <= 128:
            vals[vp] = _block(a, lo, k, zero)
            vp += 1
        elif stage == 0:
            k2 = k // 2
            k2 -= k2 % 8
            frames[sp, 2] = 1                        # add the halves once both are summed
            frames[sp + 1, 0], frames[sp + 1, 1], frames[sp + 1, 2] = lo + k2, k - k2, 0
            frames[sp + 2, 0], frames[sp + 2, 1], frames[sp + 2, 2] = lo, k2, 0
            sp += 3                                  # the first half on top: summed first
        else:
            vals[vp - 2] = vals[vp - 2] + vals[vp - 1]
            vp -= 1
    return vals[0]


@_jit
def multiply_sum(Y, P, zero):
    """P = Y * P, then Σ P over all entries as ``np.add.reduce(P, axis=None)`` (P C-ordered:
    NumPy's pairwise sum after its +0.0 start)."""
    n, m = P.shape
    for i in range(n):
        for j in range(m):
            P[i, j] = Y[i, j] * P[i, j]
    return zero + _pairwise(P.reshape(n * m), zero)


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
