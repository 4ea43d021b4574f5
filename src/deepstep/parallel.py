"""Data-parallel training steps: each thread takes a share of a mini-batch's columns.

With several BLAS threads, a step's matrix products run on every core but its
elementwise passes (bias adds, activations, derivatives, the cost, the
optimizer's update) run on one. When NumPy's BLAS has ``n >= 2`` threads and a
step is large enough (:data:`MIN_FLOPS`), ``fit`` instead limits BLAS to one
thread for the run (threadpoolctl; the user's limits come back afterwards,
after an error or Ctrl-C too) and runs each step on ``n`` threads of its own:

1. thread ``i`` runs the forward pass, the cost and the backward pass of the
   batch's ``i``-th contiguous share of columns, with its own workspace and its
   own gradient buffer (thread 0 uses the engine's ``grad``); the 1/m of the mean
   is the whole batch's (``Engine.backward(weight_sum=...)``), the L2 gradient
   is added once;
2. the optimizer's update over the flat buffer is cut into ``n`` contiguous
   shares; each thread sums the gradient buffers into ``grad`` and updates its
   share, part by part, while the part is in cache (``Optimizer.step_split``).

NumPy and BLAS release the GIL for their loops, and these threads sleep on a
lock between steps rather than spin, so they do not fight OpenBLAS's own
threads (which is why splitting only the elementwise passes did not pay:
benchmarks/README.md).

The arithmetic is the serial step's, except that each share's products sum
over its own columns and the shares' gradients are then added: the results
differ from one thread's in float rounding only, and are the same, bit for bit,
for the same seed and the same number of threads. With one BLAS thread (or a
small step, or while another thread's ``fit`` holds the pool) the step is the
serial one, bit for bit as before. Dropout masks are drawn for the whole batch
on the calling thread from the model's generator, so they are the serial
path's masks.

An interrupt (Ctrl-C) or an error in any thread reaches the caller only after
every thread has finished its share, so the weights are always those after the
last complete step.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

import numpy as np

from .regularization import l2_cost

#: Floating-point operations of a step's products below which the step stays serial:
#: a step handed out costs two thread wake-ups, which pays only on steps of a
#: millisecond or so (W2's 0.4 MFLOP steps stay serial; W1's 360 and W3's 300 do not;
#: benchmarks/README.md, round 3).
MIN_FLOPS = 20e6
#: Columns (examples) each thread gets at least.
MIN_COLUMNS = 8


def step_flops(dims, m):
    """The products of one training step on m examples: forward, dW, and dA but for the input layer."""
    per = sum(dims[l] * dims[l - 1] for l in range(1, len(dims)))
    return 2.0 * m * (3 * per - dims[0] * dims[1])


# -- BLAS threads (threadpoolctl, imported when first needed) --------------------------
_BLAS = []


def _blas():
    """The BLAS libraries' controller (built once: finding the libraries takes a few ms)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController().select(user_api="blas"))
    return _BLAS[0]


def blas_threads() -> int:
    """The threads NumPy's BLAS uses now (the largest count among the BLAS libraries loaded
    when NumPy's own cannot be told apart); 1 when threadpoolctl sees none."""
    libs = _blas().lib_controllers
    mine = [lib for lib in libs if "numpy" in os.path.basename(os.path.dirname(lib.filepath or ""))]
    counts = [int(lib.num_threads or 1) for lib in (mine or libs)]
    return max(counts, default=1)


# -- the threads ------------------------------------------------------------------------
_PENDING = object()


class _Pool:
    """``threads`` daemon threads that run ``fn(i)`` for the shares of a step."""

    def __init__(self, threads):
        self.threads = threads
        self._tasks, self._woken = queue.SimpleQueue(), queue.SimpleQueue()
        for _ in range(threads):
            threading.Thread(target=self._serve, daemon=True, name="deepstep-step").start()

    def _serve(self):
        while True:
            fn, i, err, status = self._tasks.get()
            try:
                if np.geterr() != err:       # the caller's floating-point error handling
                    np.seterr(**err)
                fn(i)
                status[i] = None
            except BaseException as exc:  # handed back to the caller
                status[i] = exc
            self._woken.put(i)

    def run(self, fn, n, here=True):
        """Call ``fn(i)`` for ``i`` in ``range(n)``, ``fn(0)`` on this thread when ``here``.

        Returns when every call has finished, also when one raised or an
        interrupt (KeyboardInterrupt) arrived meanwhile; then raises the first
        error. What has finished is read from ``status``, which each call sets
        before waking the caller; the wake-ups only end the waits, because an
        interrupt may arrive just after a wait took one.
        """
        err = np.geterr()
        first = 1 if here else 0
        status = [_PENDING] * n
        posted, error = first, None
        try:
            for i in range(first, n):
                posted = i + 1
                self._tasks.put((fn, i, err, status))
            if here:
                fn(0)
        except BaseException as exc:
            error = exc
        while True:
            try:
                if all(status[i] is not _PENDING for i in range(first, posted)):
                    break
                self._woken.get()
            except BaseException as exc:    # Ctrl-C while waiting: the shares still finish first
                error = error or exc
        for i in range(first, posted):
            error = error or status[i]
        if error is not None:
            raise error


# Runs in other threads at the same time (a threaded search, say) share one BLAS limit: the
# first run to start sets it and remembers the user's thread count, the last to end restores
# it, and meanwhile every run decides from the user's count, not the limit another set.
_LOCK = threading.Lock()
_ACTIVE = {"runs": 0, "threads": 1, "limiter": None}
_FREE: dict = {}             # idle pools by thread count; a run takes one of its own


def _pool(n):
    """An idle pool of n threads (made when none is free); hand it back with ``_release``."""
    free = _FREE.setdefault(n, [])
    return free.pop() if free else _Pool(n)


def _release(pool):
    _FREE.setdefault(pool.threads, []).append(pool)


def _user_threads():
    return _ACTIVE["threads"] if _ACTIVE["runs"] else blas_threads()


def threads_for(dims, batch_size):
    """Threads a step of ``batch_size`` examples runs on: NumPy's BLAS threads (the user's
    setting, also while other runs hold the limit), or 1 (serial)."""
    if step_flops(dims, batch_size) < MIN_FLOPS:
        return 1
    with _LOCK:
        threads = _user_threads()
    return max(1, min(threads, batch_size // MIN_COLUMNS))


@contextlib.contextmanager
def session(engine, optimizer, batch_size):
    """A :class:`DataParallel` for a run's steps, or None where they stay serial.

    While it is open, BLAS runs one thread per caller; when the last open
    session closes (return, error, interrupt) the limits before the first are
    restored.
    """
    n = threads_for(engine.dims, batch_size)
    if n < 2 or not (hasattr(optimizer, "step_split") and hasattr(engine, "replicas")):
        yield None
        return
    with _LOCK:
        if _ACTIVE["runs"] == 0:
            _ACTIVE["threads"] = blas_threads()
            _ACTIVE["limiter"] = _blas().limit(limits=1)
        _ACTIVE["runs"] += 1
        pool = _pool(n)
    try:
        yield DataParallel(engine, optimizer, pool)
    finally:
        with _LOCK:
            _release(pool)
            _ACTIVE["runs"] -= 1
            if _ACTIVE["runs"] == 0:
                limiter, _ACTIVE["limiter"] = _ACTIVE["limiter"], None
                limiter.restore_original_limits()


class DataParallel:
    """A step's passes on ``pool.threads`` shares of the batch's columns, then the update."""

    def __init__(self, engine, optimizer, pool):
        self.pool, self.n = pool, pool.threads
        self.engine, self.optimizer = engine, optimizer
        self.engines = [engine, *engine.replicas(self.n - 1)]
        self._uniform = {}

    def covers(self, m):
        """Whether a batch of m examples is worth splitting (the last, short batch may not be)."""
        return m >= self.n * MIN_COLUMNS and step_flops(self.engine.dims, m) >= MIN_FLOPS

    def _uniforms(self, m, keep_prob, rng):
        """The batch's dropout draws, layer by layer in the serial path's order and shapes."""
        U = self._uniform.get(m)
        if U is None:
            if len(self._uniform) > 2:
                self._uniform.clear()
            dims, dtype = self.engine.dims, self.engine.dtype
            U = self._uniform[m] = [np.empty((dims[l], m), dtype) for l in range(1, len(dims) - 1)]
        for u in U:
            rng.random(out=u, dtype=self.engine.dtype)
        return U

    def gradients(self, X, Y, keep_prob=1.0, rng=None, l2=0.0, weights=None, fill=None):
        """Forward, cost and backward of X (n[0], m), Y (n[L], m) on the threads.

        ``fill(lo, hi)``, optional: called by each thread first, to gather its
        columns lo..hi of X (the batch's rows gathered in parallel too).

        Returns ``(cost, outputs)``: the batch's cost (the serial step's value up
        to rounding) and each share's ``(A[L], Y, weights)`` for the running
        accuracy. The gradients wait in the engines' buffers for :meth:`update`.
        """
        m, n = X.shape[1], self.n
        bounds = [m * i // n for i in range(n + 1)]
        U = self._uniforms(m, keep_prob, rng) if keep_prob < 1.0 else None
        total = m if weights is None else float(np.sum(weights))
        sums, outputs = [0.0] * n, [None] * n
        dropout = keep_prob < 1.0

        def share(i):
            eng, lo, hi = self.engines[i], bounds[i], bounds[i + 1]
            if fill is not None:
                fill(lo, hi)
            Xi, Yi = X[:, lo:hi], Y[:, lo:hi]
            wi = None if weights is None else weights[lo:hi]
            ws = eng.workspace(hi - lo, dropout)
            AL = eng.forward(Xi, ws, keep_prob, uniforms=None if U is None else [u[:, lo:hi] for u in U])
            if wi is None:
                sums[i] = eng.cost(AL, Yi, ws=ws) * (hi - lo)
            else:
                wsum = float(np.sum(wi))
                sums[i] = eng.cost(AL, Yi, weights=wi) * wsum if wsum > 0 else 0.0
            eng.backward(Xi, Yi, ws, l2 if i == 0 else 0.0, keep_prob, wi, weight_sum=total)
            outputs[i] = (AL, Yi, wi)

        self.pool.run(share, n)
        cost = sum(sums) / total
        if l2:
            cost += l2_cost(self.engine.W, l2, total)
        return cost, outputs

    def update(self, lr):
        """The optimizer's step with the sum of the shares' gradients, on the threads.

        The calling thread only waits, so an interrupt cannot stop the update
        half-way: the weights are those before the step or after it.
        """
        self.optimizer.step_split(self.engine.theta, [e.grad for e in self.engines], lr,
                                  self.n, lambda fn, n: self.pool.run(fn, n, here=False))
