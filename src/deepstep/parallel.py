"""Data-parallel training steps: each thread takes a share of a mini-batch's columns.

**Opt-in** (:func:`enabled`: ``DEEPSTEP_DATA_PARALLEL=1`` or :func:`set_enabled`): on a
quiet machine the serial step with OpenBLAS's own threads is faster; this step pays
where other processes compete for the cores.

With several BLAS threads, a step's matrix products run on every core but its
elementwise passes (bias adds, activations, derivatives, the cost, the
optimizer's update) run on one. When it is enabled, a ``fit`` is asked for ``n >= 2`` BLAS
threads (see :func:`intended_threads`) and a step is large enough
(:data:`MIN_FLOPS`, :data:`MIN_SHARE_FLOPS`), ``fit`` instead runs each step on
``n`` threads of its own (at most the CPUs it may use and :data:`MAX_THREADS`),
with BLAS limited to one thread meanwhile:

1. thread ``i`` runs the forward pass, the cost and the backward pass of the
   batch's ``i``-th contiguous share of columns, with its own workspace and its
   own gradient buffer (share 0 uses the engine's ``grad``); the 1/m of the mean
   is the whole batch's (``Engine.backward(weight_sum=...)``), the L2 gradient
   is added once;
2. the optimizer's update over the flat buffer is cut into ``n`` contiguous
   shares; each thread sums the gradient buffers into ``grad`` and updates its
   share, part by part, while the part is in cache (``Optimizer.step_split``).

NumPy and BLAS release the GIL for their loops, and these threads sleep between
steps rather than spin, so they do not fight OpenBLAS's own threads (which is
why splitting only the elementwise passes did not pay: benchmarks/README.md).

The arithmetic is the serial step's, except that each share's products sum
over its own columns and the shares' gradients are then added: the results
differ from one thread's in float rounding only, and are the same, bit for bit,
for the same seed and the same number of threads. With one BLAS thread, a small
step, or while another deepstep fit runs in the process and this thread has no
explicit intent (see :func:`intended_threads`), the step is the serial one, bit
for bit as before. Dropout masks are drawn for the whole batch on the calling
thread from the model's generator, so they are the serial path's masks.

**The BLAS limit is process-wide.** BLAS libraries such as OpenBLAS keep one
thread count for the whole process, so while a parallel fit runs, NumPy code in
*other* threads runs single-threaded BLAS too (and the fit's own validation and
callbacks). deepstep keeps one registry of its own limits (the parallel fits'
1 and the estimators' ``blas_threads``): the limit in force is 1 while any
parallel fit runs, else the latest estimator's, and the limits from before the
first come back when the last ends (after an error or Ctrl-C too), so a fit
never holds a limit longer than it runs. ``threadpool_limits`` that user code
enters in another thread while a parallel fit runs is not part of the registry.

An interrupt (Ctrl-C) or an error in any thread reaches the caller only after
every share of the step has run, so the weights are those before the step or
after it: a step is published to the threads as one job whose shares the
threads claim, so once any thread has the job all its shares run.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import queue
import threading

import numpy as np

from .regularization import l2_cost

#: Floating-point operations of a step's products below which the step stays serial:
#: a step handed out costs two thread wake-ups, which pays only on steps of a
#: millisecond or so (W2's 0.4 MFLOP steps stay serial; W1's 258 and the lesson's
#: cat classifier's (W3) 206 do not; benchmarks/README.md, round 3).
MIN_FLOPS = 20e6
#: Floating-point operations each share gets at least: more threads than
#: ``step_flops / MIN_SHARE_FLOPS`` are not used (at two threads, the same
#: decision as :data:`MIN_FLOPS`).
MIN_SHARE_FLOPS = 10e6
#: Columns (examples) each share gets at least.
MIN_COLUMNS = 8
#: Threads a step runs on at most (measured up to 2; more are untested for speed).
MAX_THREADS = 8


def step_flops(dims, m):
    """The products of one training step on m examples: forward, dW, and dA but for the input layer."""
    per = sum(dims[l] * dims[l - 1] for l in range(1, len(dims)))
    return 2.0 * m * (3 * per - dims[0] * dims[1])


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


# -- BLAS threads (threadpoolctl, imported when first needed) --------------------------
_BLAS = []


def _blas():
    """The BLAS libraries' controller (built once: finding the libraries takes a few ms)."""
    try:
        return _BLAS[-1]
    except IndexError:
        return _new_blas()


def _new_blas():
    """A fresh controller over the BLAS libraries loaded now (kept for :func:`_blas`)."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController().select(user_api="blas")
    _BLAS[:] = [controller]
    return controller


def blas_threads() -> int:
    """The threads NumPy's BLAS uses now (the largest count among the BLAS libraries loaded
    when NumPy's own cannot be told apart); 1 when threadpoolctl sees none."""
    libs = _blas().lib_controllers
    mine = [lib for lib in libs if "numpy" in os.path.basename(os.path.dirname(lib.filepath or ""))]
    counts = [int(lib.num_threads or 1) for lib in (mine or libs)]
    return max(counts, default=1)


def _set_blas(libs_counts):
    """Set each BLAS library's thread count, from whichever thread calls (threadpoolctl >= 3.8
    lets only one "controlling" thread set OpenBLAS's process-wide count: released around this)."""
    for lib, count in libs_counts:
        if count is None:                 # a library that could not say its count
            continue
        clear = getattr(type(lib), "clear_controlling_thread", None)
        if clear is not None:
            clear(force=True)
        try:
            lib.set_num_threads(count)
        finally:
            if clear is not None:
                clear(force=True)


# -- deepstep's BLAS limits: one registry for the process -------------------------------------
class _Request:
    __slots__ = ("threads", "parallel")

    def __init__(self, threads, parallel):
        self.threads, self.parallel = threads, parallel


_LOCK = threading.Lock()
_INTENT = threading.local()          # .requests: this thread's blas_limit requests, innermost last
_STATE = {"requests": [], "original": None, "fits": set()}
_FREE: dict = {}                     # idle pools by thread count; a run takes one of its own
_KEEP_IDLE = 2                       # idle pools kept per thread count; more are ended


def _apply():
    """Put the registry's limit in force (with ``_LOCK`` held): 1 while a parallel fit runs,
    else the latest request's count; the limits from before the first request when none is left."""
    requests = _STATE["requests"]
    if not requests:
        original, _STATE["original"] = _STATE["original"], None
        if original is not None:
            _set_blas(original)
        return
    if _STATE["original"] is None:
        # Look again: libraries loaded since the last look (SciPy's BLAS, say) are limited too.
        _STATE["original"] = [(lib, lib.num_threads) for lib in _new_blas().lib_controllers]
    libs = [lib for lib, _ in _STATE["original"]]
    count = 1 if any(r.parallel for r in requests) else requests[-1].threads
    _set_blas([(lib, count) for lib in libs])


def _request(req):
    with _LOCK:
        _STATE["requests"].append(req)
        _apply()


def _withdraw(req):
    """Take ``req`` out of the registry (nothing when it never got in) and apply what is left."""
    with _LOCK:
        requests = _STATE["requests"]
        if any(r is req for r in requests):
            requests[:] = [r for r in requests if r is not req]
            _apply()


def intended_threads():
    """The BLAS threads the calling thread's deepstep code asked for (an estimator's
    ``blas_threads``, :func:`blas_limit`), or None when it asked for nothing."""
    mine = getattr(_INTENT, "requests", None)
    return mine[-1].threads if mine else None


@contextlib.contextmanager
def blas_limit(threads):
    """Limit BLAS to ``threads`` for the block, and make it this thread's intent for the
    data-parallel decision (the estimators' ``blas_threads``). Process-wide, like
    ``threadpoolctl.threadpool_limits``, but in deepstep's registry: overlapping blocks in
    several threads end with the limits from before the first, whatever the order."""
    req = _Request(int(threads), parallel=False)
    if not hasattr(_INTENT, "requests"):
        _INTENT.requests = []
    mine = _INTENT.requests
    try:
        mine.append(req)
        _request(req)
        yield
    finally:
        _withdraw(req)
        mine[:] = [r for r in mine if r is not req]


def _after_fork_in_child():
    """A forked child has only the forking thread: no pool's threads, no other fit, no lock held."""
    global _LOCK, _INTENT
    _LOCK = threading.Lock()
    _INTENT = threading.local()
    _FREE.clear()
    _BLAS.clear()
    _STATE.update(requests=[], original=None, fits=set())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- the threads ------------------------------------------------------------------------
_PENDING = object()


class _Job:
    """One call of a step's shares: the threads claim share indices from ``claim``."""

    __slots__ = ("fn", "n", "err", "claim", "status", "woken")

    def __init__(self, fn, first, n, err):
        self.fn, self.n, self.err = fn, n, err
        self.claim = itertools.count(first)      # next() is atomic: each share runs once
        self.status = [_PENDING] * n
        self.woken = queue.SimpleQueue()         # this job's own: no stale wake-ups left over

    def work(self):
        for i in self.claim:
            if i >= self.n:
                return
            try:
                self.fn(i)
                self.status[i] = None
            except BaseException as exc:  # handed back to the caller
                self.status[i] = exc
            self.woken.put(i)


class _Pool:
    """``threads`` daemon threads that run the shares of a step's jobs."""

    def __init__(self, threads):
        self.threads, self.pid = threads, os.getpid()
        self._tasks = queue.SimpleQueue()
        # OpenBLAS built on OpenMP keeps its thread count per thread: each worker sets its own.
        omp = [lib for lib in _blas().lib_controllers if getattr(lib, "threading_layer", None) == "openmp"]
        started = queue.SimpleQueue()
        for _ in range(threads):
            threading.Thread(target=self._serve, args=(omp, started), daemon=True,
                             name="deepstep-step").start()
        counts = [started.get() for _ in range(threads)] if omp else [1]
        self.one_thread = max(counts) <= 1       # each worker's BLAS runs one thread

    def _serve(self, omp, started):
        if omp:
            try:
                _set_blas([(lib, 1) for lib in omp])
                started.put(max(int(lib.num_threads or 1) for lib in omp))
            except BaseException:  # pragma: no cover - reported as "not limited"
                started.put(2)
        del omp, started
        while True:
            job = self._tasks.get()
            if job is None:                       # close()
                return
            if np.geterr() != job.err:           # the caller's floating-point error handling
                np.seterr(**job.err)
            job.work()
            job = None                            # an idle thread keeps no model's arrays alive

    def close(self):
        for _ in range(self.threads):
            self._tasks.put(None)

    def run(self, fn, n, here=True):
        """Call ``fn(i)`` for ``i`` in ``range(n)``, ``fn(0)`` on this thread when ``here``.

        Returns when every call has finished, also when one raised or an
        interrupt (KeyboardInterrupt) arrived meanwhile; then raises the first
        error. The step is one job: the threads woken claim its shares until none
        is left, so once one thread has it every share runs. After an interrupt
        while waking them, one more wake-up makes sure a thread has it; the
        caller then waits for the shares whatever happens, reading what has
        finished from ``status`` (a wake-up only ends a wait).
        """
        first = 1 if here else 0
        job = _Job(fn, first, n, np.geterr())
        error = None
        try:
            for _ in range(min(self.threads, n - first)):
                self._tasks.put(job)
            if here:
                fn(0)
        except BaseException as exc:     # an error in share 0, or Ctrl-C while handing out
            error = exc
            while True:                  # however many wake-ups got through, one more does
                try:
                    self._tasks.put(job)
                    break
                except BaseException:   # pragma: no cover - a second Ctrl-C: wake one again
                    pass
        while True:
            try:
                if all(job.status[i] is not _PENDING for i in range(first, n)):
                    break
                job.woken.get()
            except BaseException as exc:    # Ctrl-C while waiting: the shares still finish first
                error = error or exc
        for i in range(first, n):
            error = error or job.status[i]
        if error is not None:
            raise error


def _pool(n):
    """An idle pool of n threads (made when none is free); hand it back with ``_release``."""
    with _LOCK:
        free = _FREE.setdefault(n, [])
        if free:
            return free.pop()
    return _Pool(n)


def _release(pool):
    if pool.pid != os.getpid():          # a parent's pool, in a child forked during a fit: no threads
        return
    with _LOCK:
        free = _FREE.setdefault(pool.threads, [])
        if len(free) < _KEEP_IDLE:
            free.append(pool)
            return
    pool.close()


def threads_for(dims, batch_size, threads=None):
    """Threads a step of ``batch_size`` examples runs on, for a fit asked for ``threads``
    BLAS threads (default: :func:`intended_threads`, else NumPy's BLAS threads now): at most
    :func:`available_cpus` and :data:`MAX_THREADS`, each share at least :data:`MIN_COLUMNS`
    columns and :data:`MIN_SHARE_FLOPS`; 1 (serial) for a step under :data:`MIN_FLOPS`."""
    flops = step_flops(dims, batch_size)
    if flops < MIN_FLOPS:
        return 1
    if threads is None:
        threads = intended_threads() or blas_threads()
    n = min(int(threads), available_cpus(), MAX_THREADS, batch_size // MIN_COLUMNS)
    if MIN_SHARE_FLOPS > 0:
        n = min(n, int(flops // MIN_SHARE_FLOPS))
    return max(1, n)


_ENABLED = [None]       # set_enabled(); None: the DEEPSTEP_DATA_PARALLEL environment variable


def enabled() -> bool:
    """Whether fits may take the data-parallel step (off unless asked for).

    On with ``DEEPSTEP_DATA_PARALLEL=1`` in the environment or :func:`set_enabled(True)
    <set_enabled>`. Off by default because, measured on a quiet 2-core machine
    (benchmarks/README.md, round 3), the serial step with OpenBLAS's own two threads is
    faster: two Python threads running one-thread products gain less than OpenBLAS's two
    threads do, and the elementwise work the split moves to the second core does not make
    up the difference (W1 0.85x, the lesson's cat classifier 0.6x, W4 0.7x the serial
    speed). It pays where other processes compete for the cores, where two-thread
    OpenBLAS slows down (2-5x faster measured there).
    """
    flag = _ENABLED[0]
    if flag is None:
        flag = os.environ.get("DEEPSTEP_DATA_PARALLEL", "").strip().lower() in {"1", "true", "yes", "on"}
    return flag


def set_enabled(flag):
    """Turn the data-parallel step on (True) or off (False) for later fits; None: back to
    the ``DEEPSTEP_DATA_PARALLEL`` environment variable."""
    _ENABLED[0] = None if flag is None else bool(flag)


def _decide(engine, optimizer, batch_size, others):
    if not enabled() or not (hasattr(optimizer, "step_split") and hasattr(engine, "replicas")):
        return 1
    threads = intended_threads()
    if threads is None and others:
        # Another deepstep fit runs, so the BLAS count now may be its limit, not this thread's
        # setting (a threadpool_limits(1) here would not show): serial, the safe answer.
        return 1
    return threads_for(engine.dims, batch_size, threads)


@contextlib.contextmanager
def session(engine, optimizer, batch_size):
    """A fit's run: a :class:`DataParallel` for its steps, or None where they stay serial.

    Every fit (serial too) is counted while it runs. A parallel one limits BLAS to one
    thread through the registry; when it ends (return, error, interrupt) the registry's
    limit without it is put back.
    """
    fit, req, pool, par = object(), None, None, None
    try:
        with _LOCK:
            others = len(_STATE["fits"])
            _STATE["fits"].add(fit)
        n = _decide(engine, optimizer, batch_size, others)
        if n >= 2:
            pool = _pool(n)
            if pool.one_thread:
                par = DataParallel(engine, optimizer, pool)
                req = _Request(1, parallel=True)
                _request(req)
        yield par
    finally:
        if req is not None:
            _withdraw(req)
        with _LOCK:
            _STATE["fits"].discard(fit)
        if pool is not None:
            _release(pool)


class DataParallel:
    """A step's passes on ``pool.threads`` shares of the batch's columns, then the update."""

    def __init__(self, engine, optimizer, pool):
        self.pool, self.n = pool, pool.threads
        self.engine, self.optimizer = engine, optimizer
        self.engines = [engine, *engine.replicas(self.n - 1)]
        self._uniform = {}

    def covers(self, m):
        """Whether a batch of m examples is worth splitting (the last, short batch may not be)."""
        return (m >= self.n * MIN_COLUMNS
                and step_flops(self.engine.dims, m) >= max(MIN_FLOPS, self.n * MIN_SHARE_FLOPS))

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
        if not total > 0:
            # Weights summing to 0 (or NaN): no mean to take; the serial step's cost is NaN
            # too, and the loop reports it as divergence with the weights restored.
            return math.nan, []
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
