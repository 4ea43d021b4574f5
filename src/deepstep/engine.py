"""The training engine: one flat parameter buffer, reused workspaces, BLAS-shaped products.

Why it looks like this (each point was measured with ``benchmarks/``):

* All parameters live in one contiguous buffer ``theta``; ``W[l]`` and
  ``b[l]`` are views into it, and the gradients likewise into ``grad``. The
  optimizer then updates every parameter with a few NumPy calls, whatever the
  depth, and the model file stores one array.
* Activations, pre-activations and their gradients live in a workspace
  allocated once per batch size and reused every step (``out=`` everywhere).
* A batch arrives as rows (m, n_x), gathered from the training rows into a
  reused buffer; its transpose is a view, and BLAS takes the transpose as a
  flag, so the seed's column layout costs no copies.
* The output gradient is fused, ``dZ[L] = (A[L] - Y) / m``, when the loss is
  paired with its link (see :mod:`deepstep.losses`). The 1/m is applied to
  dZ[L] once; every later gradient is linear in it. Sample weights take the
  same place: dZ[L] = (A[L] - Y) w / Σw (``backward(weights=...)``).
* No ``dA[0]``: the input layer's gradient is never needed.
* Wide inputs into few units (the seed's 12288 -> 20): layer 1's product is
  computed transposed, ``Z[1]^T = A[0]^T W[1]^T`` (m, n[1]) = (m, n[0]) (n[0], n[1]),
  straight from the batch rows, and turned back into the seed's (n[1], m) by
  the bias add that follows anyway. OpenBLAS runs that skinny product about
  1.4x faster this way round, and it is most of such a network's time. With
  many units (784 -> 256) both ways run alike and the transposing add would
  cost more than it saves, hence ``_first_transposed``.
* Column sums go to ``np.add.reduce`` directly (``np.sum`` is the same
  reduction behind a Python wrapper that costs more than the sum itself on
  small batches).

The math is the seed's, layer by layer::

    Z[l]   = W[l] A[l-1] + b[l]          (n[l], m) = (n[l], n[l-1]) (n[l-1], m)
    A[l]   = g[l](Z[l])
    dW[l]  = dZ[l] A[l-1]^T               (n[l], n[l-1])   (1/m folded into dZ)
    db[l]  = sum_columns dZ[l]            (n[l], 1)
    dA[l-1] = W[l]^T dZ[l]                (n[l-1], m)
    dZ[l-1] = dA[l-1] * g'[l-1](Z[l-1])
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .linear import linear_backward, linear_forward
from .losses import get_loss
from .regularization import dropout_apply, l2_cost, l2_grad


class _Workspace:
    """Buffers for one batch size m (all C-contiguous, shape (n[l], m))."""

    def __init__(self, dims, m, dtype, dropout, transposed=False):
        L = len(dims) - 1
        self.m = m
        self.Z = [np.empty((dims[l], m), dtype) for l in range(1, L + 1)]
        self.A = [np.empty((dims[l], m), dtype) for l in range(1, L + 1)]
        self.dZ = [np.empty((dims[l], m), dtype) for l in range(1, L + 1)]
        self.dA = [np.empty((dims[l], m), dtype) for l in range(1, L)]
        self.ZT0 = np.empty((m, dims[1]), dtype) if transposed else None   # Z[1]^T
        # Dropout: uniform draws, the 0/1 mask, and the dropped activations
        # (the derivative g' needs A before dropout).
        self.U = [np.empty((dims[l], m), dtype) for l in range(1, L)] if dropout else None
        self.D = [np.empty((dims[l], m), dtype) for l in range(1, L)] if dropout else None
        self.Ad = [np.empty((dims[l], m), dtype) for l in range(1, L)] if dropout else None


class Engine:
    """Forward and backward passes for a fixed architecture.

    Parameters
    ----------
    dims : list of int, [n[0], ..., n[L]]
    activations : list of str, length L (the last is the output activation)
    loss : str
    dtype : numpy dtype
    """

    def __init__(self, dims, activations, loss, dtype):
        self.dims = [int(d) for d in dims]
        self.L = len(dims) - 1
        self.dtype = np.dtype(dtype)
        self.acts = [get_activation(a) for a in activations]
        self.loss = get_loss(loss)
        self.fused = self.loss.link == self.acts[-1].name
        sizes = [dims[l] * dims[l - 1] + dims[l] for l in range(1, self.L + 1)]
        self.theta = np.zeros(sum(sizes), self.dtype)
        self.grad = np.zeros_like(self.theta)
        self.W, self.b = self._views(self.theta)
        self.dW, self.db = self._views(self.grad)
        self._ws = {}
        # Measured (benchmarks/): the transposed first product pays when layer 1
        # has few units and many inputs; see the module docstring.
        self._first_transposed = self.dims[1] <= 64 and self.dims[0] >= 1024

    # The per-layer views share memory with theta/grad; a pickled copy would turn
    # them into separate arrays, so they are rebuilt on unpickling.
    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("W", "b", "dW", "db", "grad", "_ws"):   # the gradient is rebuilt as zeros
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.theta = np.array(self.theta, copy=True)
        self.grad = np.zeros_like(self.theta)
        self.W, self.b = self._views(self.theta)
        self.dW, self.db = self._views(self.grad)
        self._ws = {}

    def _views(self, flat):
        Ws, bs, i = [], [], 0
        for l in range(1, self.L + 1):
            n, p = self.dims[l], self.dims[l - 1]
            Ws.append(flat[i:i + n * p].reshape(n, p))
            i += n * p
            bs.append(flat[i:i + n].reshape(n, 1))
            i += n
        return Ws, bs

    # -- the seed's parameter dict ------------------------------------------------
    def get_parameters(self, copy=False):
        d = {}
        for l in range(self.L):
            d[f"W{l + 1}"] = self.W[l].copy() if copy else self.W[l]
            d[f"b{l + 1}"] = self.b[l].copy() if copy else self.b[l]
        return d

    def set_parameters(self, params):
        for l in range(self.L):
            for key, view in ((f"W{l + 1}", self.W[l]), (f"b{l + 1}", self.b[l])):
                value = np.asarray(params[key])
                if value.shape != view.shape:
                    raise ValueError(f"{key} must have shape {view.shape}. Got {value.shape}.")
                np.copyto(view, value, casting="unsafe")

    def workspace(self, m, dropout=False):
        key = (m, dropout)
        ws = self._ws.get(key)
        if ws is None:
            if len(self._ws) > 4:  # odd batch sizes (predict chunks): keep memory bounded
                self._ws.clear()
            ws = self._ws[key] = _Workspace(self.dims, m, self.dtype, dropout,
                                            self._first_transposed)
        return ws

    # -- passes ------------------------------------------------------------------
    def forward(self, X, ws, keep_prob=1.0, rng=None):
        """A[L] for X of shape (n[0], m) (any memory order). Fills ``ws``."""
        A = X
        last = self.L - 1
        Ws, bs, acts = self.W, self.b, self.acts
        for l in range(self.L):
            Z = ws.Z[l]
            if l == 0 and ws.ZT0 is not None:
                ZT = np.matmul(X.T, Ws[0].T, out=ws.ZT0)  # Z^T: (m, n[0]) @ (n[0], n[1])
                np.add(ZT.T, bs[0], out=Z)                # Z = (Z^T)^T + b, (n[1], m)
            else:
                linear_forward(A, Ws[l], bs[l], out=Z)    # Z = W A + b, (n[l], m)
            A = acts[l].forward(Z, out=ws.A[l])
            if keep_prob < 1.0 and l < last:
                rng.random(out=ws.U[l], dtype=self.dtype)
                np.less(ws.U[l], keep_prob, out=ws.D[l], casting="unsafe")
                A = dropout_apply(A, ws.D[l], keep_prob, out=ws.Ad[l])
        return A

    def backward(self, X, Y, ws, l2=0.0, keep_prob=1.0, weights=None, weight_sum=None):
        """Gradients of the mean cost into ``grad`` (``dW``/``db`` views).

        X : (n[0], m), Y : (n[L], m); ``forward`` must have run on ``ws``.

        Sample weights: ``weights`` (m,) multiplies each example's dZ[L], and
        the cost is normalised by ``weight_sum`` (default: ``weights.sum()``,
        or m without weights) instead of m, L2 term included, as scikit-learn
        (>= 1.7) does. Integer weights then give the gradient of the batch
        with each example repeated that many times. ``weight_sum`` without
        ``weights`` normalises an unweighted part of a larger batch.
        """
        m = X.shape[1]
        L = self.L
        AL, dZ = ws.A[L - 1], ws.dZ[L - 1]
        if self.fused:
            np.subtract(AL, Y, out=dZ)              # dZ[L] = A[L] - Y (paired loss)
        else:
            self.acts[-1].backward(self.loss.dA(AL, Y), ws.Z[L - 1], AL, out=dZ)
        if weights is None and weight_sum is None:
            dZ *= 1.0 / m
        else:                                       # the weighted form (sample weights)
            if weight_sum is None:
                weight_sum = float(np.sum(weights))
            m = weight_sum                          # the L2 term below is scaled the same way
            if weights is None:
                dZ *= 1.0 / m
            else:
                dZ *= np.multiply(weights, 1.0 / m, dtype=self.dtype).reshape(1, -1)
        dropout = keep_prob < 1.0
        Ws, dWs, dbs = self.W, self.dW, self.db
        for l in range(L - 1, -1, -1):
            A_prev = X if l == 0 else (ws.Ad[l - 1] if dropout else ws.A[l - 1])
            # dW = dZ A_prev^T, db = Σ dZ, dA_prev = W^T dZ (none for the input layer)
            dA, _, _ = linear_backward(dZ, A_prev, Ws[l], dWs[l], dbs[l],
                                       ws.dA[l - 1] if l else None, need_dA_prev=l > 0)
            if l2:
                l2_grad(dWs[l], Ws[l], l2, m)
            if l == 0:
                break
            if dropout:
                dropout_apply(dA, ws.D[l - 1], keep_prob, out=dA)
            dZ = self.acts[l - 1].backward(dA, ws.Z[l - 1], ws.A[l - 1], out=ws.dZ[l - 1])
        return self.grad

    def cost(self, AL, Y, l2=0.0, weights=None):
        """Mean cost over the m columns, plus the L2 term when ``l2 > 0``.

        With ``weights`` (m,): the weighted mean Σ w_i J_i / Σ w_i, and the L2
        term over Σ w_i instead of m (the cost whose gradient ``backward`` gives).
        """
        if weights is None:
            return self.loss.cost(AL, Y) + (l2_cost(self.W, l2, Y.shape[1]) if l2 else 0.0)
        return self.loss.cost(AL, Y, weights) + (l2_cost(self.W, l2, float(np.sum(weights))) if l2 else 0.0)

    def predict(self, X, chunk=512, logits=False):
        """A[L] (or Z[L] with ``logits=True``) for X (n[0], m), a new (n[L], m) array.

        Works in column chunks of bounded memory: 512 columns keep a chunk's
        activations in cache, measured 15% faster than 8192 on the W1
        benchmark's 10000 x 784 (benchmarks/). A single column is predicted as a
        pair, so that it goes through the same matrix-matrix kernel as a batch:
        BLAS would send it to a matrix-vector kernel, whose rounding differs more.
        (Batches of different sizes may still differ in the last bits, as any
        BLAS-based predictor does.)
        """
        m = X.shape[1]
        out = np.empty((self.dims[-1], m), self.dtype)
        for start in range(0, m, chunk):
            stop = min(start + chunk, m)
            cols = X[:, start:stop]
            if stop - start == 1:
                cols = np.concatenate([cols, cols], axis=1)
            ws = self.workspace(cols.shape[1])
            AL = self.forward(cols, ws)
            out[:, start:stop] = (ws.Z[-1] if logits else AL)[:, :stop - start]
        return out
