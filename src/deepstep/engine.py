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
  flag, so the lesson's column layout costs no copies.
* The output gradient is fused, ``dZ[L] = (A[L] - Y) / m``, when the loss is
  paired with its link (see :mod:`deepstep.losses`). The 1/m is applied to
  dZ[L] once; every later gradient is linear in it. Sample weights take the
  same place: dZ[L] = (A[L] - Y) w / Σw (``backward(weights=...)``).
* No ``dA[0]``: the input layer's gradient is never needed.
* Wide inputs into few units (the lesson's 12288 -> 20): layer 1's product is
  computed transposed, ``Z[1]^T = A[0]^T W[1]^T`` (m, n[1]) = (m, n[0]) (n[0], n[1]),
  straight from the batch rows, and turned back into the lesson's (n[1], m) by
  the bias add that follows anyway. OpenBLAS runs that skinny product about
  1.4x faster this way round, and it is most of such a network's time. With
  many units (784 -> 256) both ways run alike and the transposing add would
  cost more than it saves, hence ``_first_transposed``.
* Column sums go to ``np.add.reduce`` directly (``np.sum`` is the same
  reduction behind a Python wrapper that costs more than the sum itself on
  small batches).

The math is the lesson's, layer by layer::

    Z[l]   = W[l] A[l-1] + b[l]          (n[l], m) = (n[l], n[l-1]) (n[l-1], m)
    A[l]   = g[l](Z[l])
    dW[l]  = dZ[l] A[l-1]^T               (n[l], n[l-1])   (1/m folded into dZ)
    db[l]  = sum_columns dZ[l]            (n[l], 1)
    dA[l-1] = W[l]^T dZ[l]                (n[l-1], m)
    dZ[l-1] = dA[l-1] * g'[l-1](Z[l-1])
"""

from __future__ import annotations

import os
import queue
import threading
import weakref

import numpy as np

from . import activations as _act
from . import fused as _fused
from . import losses as _losses
from .activations import get_activation
from .linear import linear_backward
from .losses import get_loss
from .regularization import dropout_apply, l2_cost, l2_grad

# -- threads for the elementwise work ---------------------------------------------------
# BLAS runs the products on every core; NumPy's elementwise passes (the optimizer's
# update over the flat buffer, the batch gather, the finiteness checks) run on one.
# NumPy releases the GIL inside those passes, so splitting a large one into
# contiguous parts run on helper threads uses the other cores. Each part is the
# same elementwise arithmetic on a slice, so the results are bit for bit the same
# however many threads run.
_MIN_PART = 1 << 16          # elements: below this the hand-off (~10 µs) costs more than it saves


def default_threads():
    """Threads for the split elementwise passes: ``DEEPSTEP_NUM_THREADS``, else 1.

    Off by default, because measured (benchmarks/README.md) it does not pay with
    OpenBLAS: its worker threads spin on the cores for a while after each product,
    so a helper thread competes with them, and the in-loop optimizer update and
    gather came out 0-10 % slower at 2 threads. ``set_threads`` turns it on.
    """
    value = os.environ.get("DEEPSTEP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


class _Helpers:
    """``threads - 1`` daemon threads that run parts of a split elementwise pass."""

    def __init__(self, threads):
        self.threads = max(1, int(threads))
        self._tasks, self._done = queue.SimpleQueue(), queue.SimpleQueue()
        for _ in range(self.threads - 1):
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            fn, lo, hi = self._tasks.get()
            try:
                fn(lo, hi)
                self._done.put(None)
            except BaseException as exc:  # handed back to the caller
                self._done.put(exc)

    def split(self, fn, n, min_part=_MIN_PART):
        """Call ``fn(lo, hi)`` over contiguous parts covering ``range(n)``; return when all ran."""
        parts = min(self.threads, max(1, n // min_part))
        if parts == 1:
            fn(0, n)
            return
        bounds = [n * i // parts for i in range(parts + 1)]
        for i in range(1, parts):
            self._tasks.put((fn, bounds[i], bounds[i + 1]))
        error = None
        try:
            fn(bounds[0], bounds[1])
        finally:
            for _ in range(1, parts):
                error = self._done.get() or error
        if error is not None:
            raise error


_HELPERS = [None]
_HELPERS_LOCK = threading.Lock()


def helpers() -> _Helpers:
    """The process's helper threads (started on first use, :func:`default_threads` - 1 of them)."""
    h = _HELPERS[0]
    if h is None:
        with _HELPERS_LOCK:
            if _HELPERS[0] is None:
                _HELPERS[0] = _Helpers(default_threads())
            h = _HELPERS[0]
    return h


def _after_fork_in_child():
    """A forked child has none of the parent's helper threads: start afresh on first use."""
    global _HELPERS_LOCK
    _HELPERS_LOCK = threading.Lock()
    _HELPERS[0] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_threads(n):
    """Use ``n`` threads for the elementwise passes from now on (1: no helper threads)."""
    with _HELPERS_LOCK:
        _HELPERS[0] = _Helpers(n)


def all_finite(a) -> bool:
    """``np.isfinite(a).all()`` for any numeric array, without its full-size boolean temporary.

    Floating arrays are checked in row blocks that stay in cache, split across the
    helper threads; integer and boolean arrays are always finite.
    """
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.inexact):
        return True
    if a.ndim != 2 or a.size < (1 << 18):
        return bool(np.isfinite(a).all())
    rows = a if a.strides[0] >= a.strides[1] else a.T          # iterate over the long-stride axis
    step = max(1, (1 << 16) // max(1, rows.shape[1]))
    bad = []

    def check(lo, hi):
        for s in range(lo, hi, step):
            if not np.isfinite(rows[s:min(s + step, hi)]).all():
                bad.append(True)
                return

    helpers().split(check, rows.shape[0], min_part=max(1, (1 << 17) // max(1, rows.shape[1])))
    return not bad


def _geometry(X):
    return (X.__array_interface__["data"][0], X.shape, X.strides, X.dtype.str)


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
        # relu's 0/1 mask g'(Z) as floats (a bool mask is cast on every multiply),
        # the softmax's column row, and the cost's scratch
        self.M = [np.empty((dims[l], m), dtype) for l in range(1, L)]
        self.row = np.empty((1, m), dtype)
        self.C = [np.empty((dims[L], m), dtype) for _ in range(2)]
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
        # The built-in kernels the passes inline with workspace buffers (the same
        # operations in the same order as activations.py / losses.py, so the same
        # numbers; what is saved is the temporaries and the Python wrappers).
        self._relu = [a.forward is _act.relu_forward and a.backward is _act.relu_backward
                      for a in self.acts]
        self._softmax = self.acts[-1].forward is _act.softmax_forward
        self._cost = {_losses.categorical_crossentropy: _categorical_cost,
                      _losses.binary_crossentropy: _binary_cost}.get(self.loss.cost)
        sizes = [dims[l] * dims[l - 1] + dims[l] for l in range(1, self.L + 1)]
        self.theta = np.zeros(sum(sizes), self.dtype)
        self.grad = np.zeros_like(self.theta)
        self.W, self.b = self._views(self.theta)
        self.dW, self.db = self._views(self.grad)
        self._ws = {}
        # Measured (benchmarks/): the transposed first product pays when layer 1
        # has few units and many inputs; see the module docstring.
        self._first_transposed = self.dims[1] <= 64 and self.dims[0] >= 1024

    def _kernels(self):
        """The compiled kernels of :mod:`deepstep.fused` for this engine's dtype, or None (NumPy)."""
        return _fused.kernels(self.dtype)

    # The per-layer views share memory with theta/grad; a pickled copy would turn
    # them into separate arrays, so they are rebuilt on unpickling.
    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("W", "b", "dW", "db", "grad", "_ws", "_finite", "_replicas"):   # the gradient is rebuilt as zeros
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.theta = np.array(self.theta, copy=True)
        self.grad = np.zeros_like(self.theta)
        self.W, self.b = self._views(self.theta)
        self.dW, self.db = self._views(self.grad)
        self._ws = {}

    # -- inputs already checked ---------------------------------------------------------
    def known_finite(self, X) -> bool:
        """True if ``X`` is the very array object last passed to :meth:`remember_finite`.

        ``fit`` checks its input for NaN and inf once per array rather than once
        per call: warm-start fits on the same array (the same object, buffer,
        shape and strides) skip that pass over the data. Values edited in place
        in between are not re-checked; a NaN among them still surfaces, as
        :class:`~deepstep.errors.TrainingDiverged` with the weights restored.
        """
        ref = getattr(self, "_finite", None)
        return ref is not None and ref[0]() is X and ref[1] == _geometry(X)

    def remember_finite(self, X):
        try:
            self._finite = (weakref.ref(X), _geometry(X))
        except TypeError:               # not weak-referenceable: check every time
            self._finite = None

    def replicas(self, n):
        """``n`` engines over the same parameters (``theta``, ``W``, ``b`` shared), each with its
        own gradient buffer and workspaces: one per thread of a data-parallel step
        (:mod:`deepstep.parallel`). Made once and kept with the engine (made again when
        ``theta`` or ``W`` has been replaced)."""
        have = self.__dict__.setdefault("_replicas", [])
        if have and (have[0].theta is not self.theta or have[0].W is not self.W):
            have.clear()                  # the parameters were replaced: replicas of the old ones
        while len(have) < n:
            r = object.__new__(type(self))
            r.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("_replicas", "_finite")})
            r.grad = np.zeros_like(self.theta)
            r.dW, r.db = r._views(r.grad)
            r._ws = {}
            have.append(r)
        return have[:n]

    def _views(self, flat):
        Ws, bs, i = [], [], 0
        for l in range(1, self.L + 1):
            n, p = self.dims[l], self.dims[l - 1]
            Ws.append(flat[i:i + n * p].reshape(n, p))
            i += n * p
            bs.append(flat[i:i + n].reshape(n, 1))
            i += n
        return Ws, bs

    # -- the lesson's parameter dict ------------------------------------------------
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
    def forward(self, X, ws, keep_prob=1.0, rng=None, uniforms=None):
        """A[L] for X of shape (n[0], m) (any memory order). Fills ``ws``.

        Dropout draws its uniforms from ``rng``, or takes them from ``uniforms``
        (one (n[l], m) array per hidden layer, drawn beforehand).
        """
        A = X
        last = self.L - 1
        Ws, bs, acts = self.W, self.b, self.acts
        K = self._kernels()
        for l in range(self.L):
            Z, Al = ws.Z[l], ws.A[l]
            if l == 0 and ws.ZT0 is not None:
                S = np.matmul(X.T, Ws[0].T, out=ws.ZT0).T  # Z^T: (m, n[0]) @ (n[0], n[1]), seen as (n[1], m)
            else:
                S = np.matmul(Ws[l], A, out=Z)             # W A, (n[l], m)
            if K is not None and self._relu[l] and not (l == last and self._softmax):
                K.bias_relu(S, bs[l], Z, Al)               # Z = S + b, A = relu(Z): one pass
                A = Al
            elif K is not None and l == last and self._softmax:
                K.bias_softmax_shift(S, bs[l], Z, Al, ws.row)   # Z = S + b, A = Z - max: one pass
                np.exp(Al, out=Al)                         # NumPy's exp (underflow to 0 is right)
                K.softmax_normalize(Al, ws.row, self.dtype.type(0))   # A /= Σ A: one pass
                A = Al
            else:
                np.add(S, bs[l], out=Z)                    # Z = W A + b (linear.linear_forward's add)
                if l == last and self._softmax:
                    A = _softmax(Z, Al, ws.row)
                else:
                    A = acts[l].forward(Z, out=Al)
            if keep_prob < 1.0 and l < last:
                if uniforms is None:
                    rng.random(out=ws.U[l], dtype=self.dtype)
                np.less(ws.U[l] if uniforms is None else uniforms[l], keep_prob, out=ws.D[l], casting="unsafe")
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
        K = self._kernels()
        plain = weights is None and weight_sum is None
        if self.fused and plain and K is not None and _fused.like(Y, AL):
            K.output_grad(AL, Y, self.dtype.type(1.0 / m), dZ)   # dZ[L] = (A[L] - Y) / m, one pass
        else:
            if self.fused:
                np.subtract(AL, Y, out=dZ)          # dZ[L] = A[L] - Y (paired loss)
            else:
                self.acts[-1].backward(self.loss.dA(AL, Y), ws.Z[L - 1], AL, out=dZ)
            if plain:
                dZ *= 1.0 / m
        if not plain:                               # the weighted form (sample weights)
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
            if self._relu[l - 1] and K is not None:    # dZ = dA * [A > 0], one pass
                dZ = ws.dZ[l - 1]
                K.relu_grad(dA, ws.A[l - 1], dZ, self.dtype.type(0))
            elif self._relu[l - 1]:               # dZ = dA * [A > 0], the mask as floats
                dZ = np.multiply(dA, np.greater(ws.A[l - 1], 0, out=ws.M[l - 1]), out=ws.dZ[l - 1])
            else:
                dZ = self.acts[l - 1].backward(dA, ws.Z[l - 1], ws.A[l - 1], out=ws.dZ[l - 1])
        return self.grad

    def cost(self, AL, Y, l2=0.0, weights=None, ws=None):
        """Mean cost over the m columns, plus the L2 term when ``l2 > 0``.

        With ``weights`` (m,): the weighted mean Σ w_i J_i / Σ w_i, and the L2
        term over Σ w_i instead of m (the cost whose gradient ``backward`` gives).
        Unweighted, with the batch's workspace ``ws``, the built-in
        cross-entropies run in its scratch buffers (the same value as
        :mod:`deepstep.losses`, bit for bit).
        """
        if weights is None:
            if ws is not None and self._cost is not None and AL is ws.A[-1]:
                K = self._kernels() if self._cost is _categorical_cost and _fused.like(Y, AL) else None
                J = _categorical_cost_fused(K, AL, Y, ws.C) if K is not None else self._cost(AL, Y, ws.C)
            else:
                J = self.loss.cost(AL, Y)
            return J + (l2_cost(self.W, l2, Y.shape[1]) if l2 else 0.0)
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
        with np.errstate(under="ignore"):       # e^(very negative) -> 0 is the right limit
            return self._predict(X, chunk, logits)

    def _predict(self, X, chunk, logits):
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


# -- the built-in kernels with workspace buffers (same operations as activations.py/losses.py) --
def _softmax(Z, out, row):
    """activations.softmax_forward into ``out``, its column max and sum into ``row``."""
    np.maximum.reduce(Z, axis=0, keepdims=True, out=row)
    np.subtract(Z, row, out=out)
    np.exp(out, out=out)            # underflow to 0 is the right limit (default: ignored)
    np.add.reduce(out, axis=0, keepdims=True, out=row)
    out /= row
    return out


def _clip_into(AL, P):
    eps = _losses._EPS.get(AL.dtype, 1e-15)
    np.maximum(AL, eps, out=P)
    return np.minimum(P, 1 - eps, out=P)


def _categorical_cost(AL, Y, C):
    """losses.categorical_crossentropy: -1/m Σ Y log(clip(AL))."""
    P = _clip_into(AL, C[0])
    np.log(P, out=P)
    np.multiply(Y, P, out=P)
    return float(-1 / Y.shape[1] * np.add.reduce(P, axis=None))


def _categorical_cost_fused(K, AL, Y, C):
    """:func:`_categorical_cost` with the clip and the product-sum compiled (the same number)."""
    t = AL.dtype.type
    eps = _losses._EPS.get(AL.dtype, 1e-15)
    P = C[0]
    K.clip_into(AL, t(eps), t(1 - eps), P)
    np.log(P, out=P)
    return float(-1 / Y.shape[1] * t(K.multiply_sum(Y, P, t(0))))


def _binary_cost(AL, Y, C):
    """losses.binary_crossentropy: -1/m Σ (Y log P + (1-Y) log(1-P)), P = clip(AL)."""
    P, Q = _clip_into(AL, C[0]), C[1]
    np.subtract(1, P, out=Q)
    np.log(Q, out=Q)
    np.log(P, out=P)
    np.multiply(Y, P, out=P)
    R = np.subtract(1, Y)
    np.multiply(R, Q, out=Q)
    P += Q
    return float(-1 / Y.shape[1] * np.add.reduce(P, axis=None))
