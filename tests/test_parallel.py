"""Data-parallel training steps (deepstep.parallel): close to the serial step, deterministic per
thread count, errors and interrupts surfacing in the caller with the weights of the last whole step."""

import signal
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_info

from deepstep import Callback, DeepNetwork, parallel, sources
from deepstep.targets import TargetEncoder


@pytest.fixture(autouse=True)
def _data_parallel_on(monkeypatch):
    """The step is opt-in (off by default); these tests are about the step, so it is on."""
    monkeypatch.setattr(parallel, "_ENABLED", [True])


def _blas_now():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def threads(monkeypatch):
    """``threads(n)``: steps of any size run on n threads (1: the serial step); returns a step counter."""
    calls = []
    real = parallel.DataParallel.gradients

    def counted(self, *a, **kw):
        calls.append(self.n)
        return real(self, *a, **kw)

    monkeypatch.setattr(parallel.DataParallel, "gradients", counted)
    monkeypatch.setattr(parallel, "MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "MIN_SHARE_FLOPS", 0)
    monkeypatch.setattr(parallel, "available_cpus", lambda: 8)

    def use(n):
        monkeypatch.setattr(parallel, "blas_threads", lambda: n)
        calls.clear()
        return calls

    return use


def _drop_pools():
    """End the idle pools (a test's next fit makes fresh ones)."""
    for pools in parallel._FREE.values():
        for pool in pools:
            pool.close()
    parallel._FREE.clear()


def _data(m=120, n_x=12, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    y = (X[0] > 0).astype(int) + (X[1] > 0.5) if classes == 3 else (X[0] + X[1] > 0).astype(int)
    return X, y


def _fit(X, y, fit_kw=None, **kw):
    base = {"layers": (10, 6), "epochs": 3, "batch_size": 40, "learning_rate": 0.05, "seed": 2,
            "dtype": "float64", "preprocess": "none"}
    base.update(kw)
    net = DeepNetwork(**base)
    history = net.fit(X, y, **(fit_kw or {}))
    return net, np.array(history["cost"])


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "rmsprop", "adam"])
@pytest.mark.parametrize("batch_size", [40, "full"])
def test_parallel_steps_match_the_serial_ones_up_to_rounding(threads, optimizer, batch_size):
    X, y = _data()
    kw = {"optimizer": optimizer, "batch_size": batch_size}
    calls = threads(1)
    serial, cost1 = _fit(X, y, **kw)
    assert calls == []                                 # one BLAS thread: the serial step
    calls = threads(2)
    par, cost2 = _fit(X, y, **kw)
    assert calls and set(calls) == {2}                 # every step ran in two shares
    assert_allclose(cost2, cost1, rtol=1e-10)
    assert_allclose(par.engine.theta, serial.engine.theta, rtol=1e-7, atol=1e-9)
    assert par.optimizer.t == serial.optimizer.t
    for key, value in serial.optimizer.state.items():
        assert_allclose(par.optimizer.state[key], value, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("n", [2, 3])
def test_results_are_the_same_bit_for_bit_for_a_given_thread_count(threads, n):
    X, y = _data()
    w = np.random.default_rng(5).random(X.shape[1])
    kw = {"keep_prob": 0.7, "l2": 0.1, "optimizer": "adam", "dtype": "float32"}
    threads(n)
    a, ca = _fit(X, y, {"sample_weight": w}, **kw)
    b, cb = _fit(X, y, {"sample_weight": w}, **kw)
    assert_array_equal(a.engine.theta, b.engine.theta)
    assert_array_equal(ca, cb)
    threads(1)
    c, cc = _fit(X, y, {"sample_weight": w}, **kw)
    assert_allclose(cc, ca, rtol=1e-5)


def test_dropout_masks_are_the_serial_paths(threads):
    """Masks come from the model's generator, drawn for the whole batch: the same draws, in the same order."""
    X, y = _data()
    threads(1)
    serial, c1 = _fit(X, y, keep_prob=0.6)
    threads(2)
    par, c2 = _fit(X, y, keep_prob=0.6)
    assert par.rng_states()["train"] == serial.rng_states()["train"]
    assert_allclose(c2, c1, rtol=1e-10)              # other masks would change the costs by far more
    assert_allclose(par.engine.theta, serial.engine.theta, rtol=1e-7, atol=1e-9)


def test_sample_weights_and_l2_match_the_serial_step(threads):
    X, y = _data()
    w = np.random.default_rng(1).random(X.shape[1])
    w[:25] = 0                                       # a whole share of the first batch weighs nothing
    threads(1)
    serial, c1 = _fit(X, y, {"sample_weight": w}, l2=0.3)
    threads(2)
    par, c2 = _fit(X, y, {"sample_weight": w}, l2=0.3)
    assert_allclose(c2, c1, rtol=1e-10)
    assert_allclose(par.engine.theta, serial.engine.theta, rtol=1e-7, atol=1e-9)


def test_shares_gradient_equals_the_serial_gradient(threads):
    """The summed shares' gradient is the batch's gradient (float64), weights, L2 and dropout included."""
    X, y = _data(m=50)
    net, _ = _fit(X, y, epochs=1)
    eng = net.engine
    Xb, Y = X, net.targets.encode_rows(y, "float64").T
    w = np.random.default_rng(3).random(50)
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    ws = eng.workspace(50, True)
    eng.forward(Xb, ws, 0.8, rng_a)
    serial_cost = eng.cost(ws.A[-1], Y, 0.2, w)
    serial_grad = eng.backward(Xb, Y, ws, 0.2, 0.8, w).copy()
    pool = parallel._pool(2)
    try:
        cost, _ = parallel.DataParallel(eng, net.optimizer, pool).gradients(Xb, Y, 0.8, rng_b, 0.2, w)
    finally:
        parallel._release(pool)
    summed = eng.grad + eng.replicas(1)[0].grad
    assert_allclose(summed, serial_grad, rtol=1e-12, atol=1e-15)
    assert cost == pytest.approx(serial_cost, rel=1e-12)


def test_blas_limits_are_restored_after_fit_and_after_an_error(threads):
    X, y = _data()
    before = _blas_now()
    seen = []

    class Look(Callback):
        def on_batch_end(self, state):
            seen.append(_blas_now())

    threads(2)
    _fit(X, y, {"callbacks": [Look()]}, epochs=1)
    assert seen and all(set(s) <= {1} for s in seen)          # one BLAS thread per share during the run
    assert _blas_now() == before

    class Fail(Callback):
        def on_batch_end(self, state):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _fit(X, y, {"callbacks": [Fail()]}, epochs=1)
    assert _blas_now() == before


def test_an_error_in_a_worker_thread_surfaces_in_the_caller(threads, monkeypatch):
    X, y = _data()
    threads(2)
    net, _ = _fit(X, y, epochs=1)
    before = net.engine.theta.copy()
    worker = net.engine.replicas(1)[0]
    where = []

    def broken(*a, **kw):
        where.append(threading.current_thread().name)
        raise FloatingPointError("share 1 failed")

    monkeypatch.setattr(worker, "forward", broken)
    with pytest.raises(FloatingPointError, match="share 1 failed"):
        net.fit(X, y, epochs=1, warm_start=True)
    assert where == ["deepstep-step"]                        # it ran on a worker thread
    assert_array_equal(net.engine.theta, before)              # the failed step changed nothing
    monkeypatch.undo()
    threads(2)
    net.fit(X, y, epochs=1, warm_start=True)                  # the threads still work
    assert np.isfinite(net.engine.theta).all()


def _steps_then_stop(X, y, k):
    count = [0]

    def stop():
        count[0] += 1
        return count[0] >= k

    net = DeepNetwork(layers=(10, 6), epochs=3, batch_size=40, learning_rate=0.05, seed=2, dtype="float64",
                      preprocess="none")
    net.fit(X, y, stop=stop)
    return net.engine.theta.copy()


@pytest.mark.parametrize("phase", ["gradients", "update"])
def test_ctrl_c_during_a_step_keeps_the_weights_of_the_last_whole_step(threads, monkeypatch, phase):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread")
    X, y = _data()
    threads(2)
    after2, after3 = _steps_then_stop(X, y, 2), _steps_then_stop(X, y, 3)
    main = threading.main_thread().ident
    step = [0]
    real_gradients = parallel.DataParallel.gradients

    def gradients(self, *a, **kw):                 # count the steps (through the counting fixture)
        step[0] += 1
        return real_gradients(self, *a, **kw)

    monkeypatch.setattr(parallel.DataParallel, "gradients", gradients)

    def ctrl_c_from_a_worker():
        if step[0] == 3 and threading.current_thread().ident != main:
            signal.pthread_kill(main, signal.SIGINT)    # Ctrl-C while the caller waits for the shares
            time.sleep(0.05)

    net = DeepNetwork(layers=(10, 6), epochs=3, batch_size=40, learning_rate=0.05, seed=2, dtype="float64",
                      preprocess="none")
    net.build(X.shape[0], TargetEncoder.infer(y, net.hp.output))    # as fit would, before its first step
    if phase == "gradients":
        target, name, expected = net.engine.replicas(1)[0], "forward", after2   # the third update never ran
    else:
        target, name, expected = net.optimizer, "_apply", after3                # the third update finished
    real = getattr(target, name)

    def interrupted(*a, **kw):
        ctrl_c_from_a_worker()
        return real(*a, **kw)

    monkeypatch.setattr(target, name, interrupted)
    before = _blas_now()
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, warm_start=True)
    assert step[0] == 3
    snapshot = net.engine.theta.copy()
    time.sleep(0.1)
    assert_array_equal(net.engine.theta, snapshot)           # no thread still writes
    assert_array_equal(net.engine.theta, expected)
    assert _blas_now() == before


def test_out_of_core_source_trains_in_parallel_too(threads):
    X, y = _data(m=200)
    rows = np.ascontiguousarray(X.T)
    kw = {"layers": (10, 6), "epochs": 2, "batch_size": 40, "learning_rate": 0.05, "seed": 2, "dtype": "float64",
          "preprocess": "standardize"}
    threads(1)
    a = DeepNetwork(**kw)
    ca = a.fit(sources.Rows(rows, block_rows=64), y)["cost"]
    calls = threads(2)
    b = DeepNetwork(**kw)
    cb = b.fit(sources.Rows(rows, block_rows=64), y)["cost"]
    assert calls
    assert_allclose(cb, ca, rtol=1e-10)
    assert_allclose(b.engine.theta, a.engine.theta, rtol=1e-7, atol=1e-9)


def test_early_stopping_with_validation_works_in_parallel(threads):
    X, y = _data(m=200)
    kw = {"epochs": 30, "early_stopping": True, "patience": 2, "validation_fraction": 0.2, "learning_rate": 0.5}
    threads(1)
    a, _ = _fit(X, y, **kw)
    threads(2)
    b, _ = _fit(X, y, **kw)
    assert b.history.best_epoch == a.history.best_epoch and b.history.stopped == a.history.stopped
    assert_allclose(b.engine.theta, a.engine.theta, rtol=1e-6, atol=1e-9)


def test_small_steps_and_one_blas_thread_stay_serial(monkeypatch):
    X, y = _data()
    w1, w2 = parallel.step_flops([784, 256, 128, 10], 256), parallel.step_flops([64, 32, 16, 10], 32)
    assert w1 > parallel.MIN_FLOPS > w2          # W1's steps split, W2's stay serial
    calls = []
    monkeypatch.setattr(parallel.DataParallel, "gradients", lambda self, *a, **k: calls.append(1))
    monkeypatch.setattr(parallel, "blas_threads", lambda: 2)
    _fit(X, y)                                               # 12-10-6-3 x 40 columns: far below MIN_FLOPS
    monkeypatch.setattr(parallel, "MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "blas_threads", lambda: 1)
    _fit(X, y)
    assert calls == []


def _in_threads(fn, count):
    got, errors = [None] * count, []

    def one(s):
        try:
            got[s] = fn(s)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=one, args=(s,)) for s in range(count)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    return got


def test_runs_in_several_threads_with_an_explicit_intent_each_get_their_own_shares(threads):
    """A threaded search with blas_threads=2: runs overlapping in time give what each gives
    alone (each thread's intent decides, not the BLAS limit another run set), and the limits
    from before come back when the last ends."""
    X, y = _data()
    calls = threads(2)
    alone = [_fit(X, y, seed=s, epochs=4)[0].engine.theta for s in range(3)]
    calls.clear()
    before = _blas_now()

    def one(s):
        with parallel.blas_limit(2):
            return _fit(X, y, seed=s, epochs=4)[0].engine.theta

    got = _in_threads(one, 3)
    assert calls and set(calls) == {2}
    for a, b in zip(alone, got):
        assert_array_equal(a, b)
    assert _blas_now() == before
    assert parallel._STATE["requests"] == [] and not parallel._STATE["fits"]


def test_overlapping_runs_without_an_intent_run_serial_rather_than_guess(threads):
    """Regression (threadpool_limits(1) ignored while another fit ran): a fit that starts while
    another deepstep fit runs, with no explicit intent in its thread, cannot tell the user's
    BLAS setting from the other fit's limit, so it takes the serial step."""
    X, y = _data()
    threads(2)
    serial = [None] * 3
    parallel_ = [None] * 3
    for s in range(3):
        with parallel.blas_limit(1):
            serial[s] = _fit(X, y, seed=s, epochs=2)[0].engine.theta
        parallel_[s] = _fit(X, y, seed=s, epochs=2)[0].engine.theta
    got = _in_threads(lambda s: _fit(X, y, seed=s, epochs=2)[0].engine.theta, 3)
    for s, theta in enumerate(got):
        assert np.array_equal(theta, serial[s]) or np.array_equal(theta, parallel_[s])


def test_threadpool_limits_1_is_honoured_while_another_fit_runs(threads):
    """Regression (cap.py): under threadpool_limits(1), or an estimator's blas_threads=1, a fit
    takes the serial step also while another thread's parallel fit holds the BLAS limit."""
    from threadpoolctl import threadpool_limits

    X, y = _data()
    threads(2)
    a, _ = _fit(X, y, epochs=1)
    b, _ = _fit(X, y, epochs=1)
    with parallel.session(a.engine, a.optimizer, 40) as par_a:      # A's fit runs meanwhile
        assert par_a is not None
        with threadpool_limits(1, user_api="blas"), parallel.session(b.engine, b.optimizer, 40) as par_b:
            assert par_b is None
        with parallel.blas_limit(1), parallel.session(b.engine, b.optimizer, 40) as par_b:
            assert par_b is None
        with parallel.blas_limit(2), parallel.session(b.engine, b.optimizer, 40) as par_b:
            assert par_b is not None and par_b.n == 2            # an explicit intent of 2 is honoured


@pytest.mark.parametrize("order", ["a-first", "b-first"])
def test_interleaved_threaded_fits_leave_the_users_blas_threads(threads, order):
    """Regression (interleave.py): two fits with blas_threads=2 in a threaded search, their
    limits and parallel runs interleaved, used to leave BLAS at 1 thread for good."""
    from threadpoolctl import threadpool_limits

    X, y = _data()
    threads(2)
    a, _ = _fit(X, y, epochs=1)
    b, _ = _fit(X, y, epochs=1)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_now()
        lim_a, lim_b = parallel.blas_limit(2), parallel.blas_limit(2)
        run_a = parallel.session(a.engine, a.optimizer, 40)
        run_b = parallel.session(b.engine, b.optimizer, 40)
        lim_a.__enter__()
        assert run_a.__enter__() is not None
        assert _blas_now() == [1] * len(before)
        lim_b.__enter__()
        assert run_b.__enter__() is not None
        ends = [(run_a, lim_a), (run_b, lim_b)]
        if order == "b-first":
            ends.reverse()
        (run1, lim1), (run2, lim2) = ends
        run1.__exit__(None, None, None)
        lim1.__exit__(None, None, None)
        assert _blas_now() == [1] * len(before)      # the other parallel run still holds it
        run2.__exit__(None, None, None)
        assert _blas_now() == [2] * len(before)      # the remaining estimator's own limit
        lim2.__exit__(None, None, None)
        assert _blas_now() == before
        assert parallel._STATE["requests"] == [] and parallel._STATE["original"] is None


def test_limits_come_back_after_the_pool_fails_to_start(threads, monkeypatch):
    """Regression (leak.py): a pool that cannot start its threads left BLAS at 1 thread for
    the rest of the process."""
    from threadpoolctl import threadpool_limits

    X, y = _data()
    threads(2)
    _drop_pools()

    def no_threads(n):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(parallel, "_Pool", no_threads)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_now()
        with pytest.raises(RuntimeError, match="can't start new thread"):
            _fit(X, y, epochs=1)
        assert _blas_now() == before == [2] * len(before)
        assert parallel._STATE["requests"] == [] and not parallel._STATE["fits"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("nth", [1, 2, 3, 4])       # gradients: 2 hand-outs; then the update's 3
def test_a_step_interrupted_while_being_handed_out_is_applied_whole(threads, monkeypatch, when, nth):
    """Regression (torn.py): a Ctrl-C that landed between handing out two shares ran only
    some of them (a torn update), and one that landed before a share was handed out hung the
    fit for good. The step is one job now: the interrupted fit ends with the weights before
    the step (interrupted in the gradients) or after it (in the update)."""
    X, y = _data()
    threads(3)
    kw = {"layers": (10, 6), "learning_rate": 0.05, "seed": 2, "dtype": "float64", "preprocess": "none",
          "optimizer": "gd", "epochs": 2, "batch_size": 60}
    seen = {}

    class Record(Callback):
        def on_batch_begin(self, state):
            if state.epoch == 1 and state.position == 0:
                seen["before"] = self.model.engine.theta.copy()

        def on_batch_end(self, state):
            if state.epoch == 1 and state.position == 60:
                seen["after"] = self.model.engine.theta.copy()

    DeepNetwork(**kw).fit(X, y, callbacks=[Record()])

    class Tasks:
        def __init__(self, q):
            self.q, self.count = q, 0

        def get(self):
            return self.q.get()

        def put(self, item):
            self.count += 1
            if self.count == nth and when == "before":
                raise KeyboardInterrupt
            self.q.put(item)
            if self.count == nth and when == "after":
                raise KeyboardInterrupt

    runs = []
    real_init = parallel.DataParallel.__init__

    def init(self, *a):
        real_init(self, *a)
        runs.append(self)

    class Arm(Callback):
        def on_batch_begin(self, state):
            if state.epoch == 1 and state.position == 0:
                pool = runs[-1].pool
                pool._tasks = Tasks(pool._tasks)

    monkeypatch.setattr(parallel.DataParallel, "__init__", init)
    net, box = DeepNetwork(**kw), {}

    def go():
        try:
            net.fit(X, y, callbacks=[Arm()])
        except KeyboardInterrupt:
            box["interrupted"] = True

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "the fit hung"
    _drop_pools()                             # the pool with the wrapped queue goes
    assert box.get("interrupted")
    if nth <= 2:
        assert net.optimizer.t == 2
        assert_array_equal(net.engine.theta, seen["before"])
    else:
        assert net.optimizer.t == 3
        assert_array_equal(net.engine.theta, seen["after"])


def test_a_forked_child_trains_in_parallel_too(threads):
    """Regression (fork.py): a child forked after a parallel fit (multiprocessing's fork,
    joblib's multiprocessing) hung on its first parallel fit: it inherited idle pools whose
    threads do not exist in it."""
    import os
    import warnings

    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    X, y = _data()
    calls = threads(2)
    _fit(X, y, epochs=1)
    assert calls and parallel._FREE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)     # fork of a multi-threaded process
        pid = os.fork()
    if pid == 0:                                               # pragma: no cover - the child
        code = 1
        try:
            calls.clear()
            _fit(X, y, epochs=1)
            code = 0 if calls and set(calls) == {2} else 3
        finally:
            os._exit(code)
    for _ in range(300):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on its parallel fit")
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_batch_whose_weights_sum_to_zero_is_divergence_in_both_paths(threads):
    """Regression (zw.py): the parallel step raised ZeroDivisionError where the serial one
    reports TrainingDiverged with the weights restored."""
    from deepstep.errors import TrainingDiverged

    X, y = _data(m=240)
    w = np.zeros(X.shape[1])
    w[0] = 1.0
    for n in (1, 2):
        threads(n)
        net = DeepNetwork(layers=(10, 6), epochs=1, batch_size=80, seed=2, preprocess="none")
        with pytest.raises(TrainingDiverged):
            net.fit(X, y, sample_weight=w)
        assert net.history.stopped == "diverged"
        assert np.all(np.isfinite(net.engine.theta))


def test_idle_worker_threads_keep_no_model_alive(threads):
    """Regression (keep.py): an idle worker kept the last step's function, and with it the
    engine, the optimizer and the batch, alive after the model was gone."""
    import gc
    import weakref

    X, y = _data()
    threads(2)
    net, _ = _fit(X, y, epochs=2)
    refs = [weakref.ref(net), weakref.ref(net.engine), weakref.ref(net.optimizer)]
    del net
    time.sleep(0.05)
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_thread_count_is_capped_by_cpus_max_threads_and_per_share_work(monkeypatch):
    """Regression: the thread count was NumPy's BLAS count (every logical CPU, ignoring the
    affinity mask and cgroup quota), with no per-share floor and no cap."""
    dims = [784, 256, 128, 10]
    flops = parallel.step_flops(dims, 256)
    monkeypatch.setattr(parallel, "available_cpus", lambda: 64)
    assert parallel.threads_for(dims, 256, threads=64) == min(parallel.MAX_THREADS, int(flops // 10e6))
    monkeypatch.setattr(parallel, "available_cpus", lambda: 3)
    assert parallel.threads_for(dims, 256, threads=64) == 3
    monkeypatch.setattr(parallel, "available_cpus", lambda: 64)
    monkeypatch.setattr(parallel, "MIN_SHARE_FLOPS", flops / 2.5)
    assert parallel.threads_for(dims, 256, threads=64) == 2            # each share at least the floor
    monkeypatch.setattr(parallel, "MIN_SHARE_FLOPS", 0)
    assert parallel.threads_for(dims, 40, threads=64) == 40 // parallel.MIN_COLUMNS


def test_available_cpus_follows_the_affinity_mask():
    import os

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no sched_getaffinity on this platform")
    assert 1 <= parallel.available_cpus() <= len(os.sched_getaffinity(0))


def test_workers_whose_blas_keeps_several_threads_make_the_fit_serial(threads, monkeypatch):
    """OpenBLAS on OpenMP keeps a thread count per thread: each worker sets its own to 1, and
    where that does not take, the fit takes the serial step rather than n x cores threads."""

    class OmpBlas:
        threading_layer = "openmp"
        filepath = "/x/numpy.libs/libopenblas.so"

        def __init__(self, sticks):
            self.sticks, self.num_threads = sticks, 4

        def set_num_threads(self, n):
            if self.sticks:
                self.num_threads = n

    X, y = _data()
    for sticks, expect in ((True, {2}), (False, set())):
        calls = threads(2)
        _drop_pools()
        fake = OmpBlas(sticks)
        monkeypatch.setattr(parallel, "_blas", lambda fake=fake: type("C", (), {"lib_controllers": [fake]})())
        _fit(X, y, epochs=1)
        assert set(calls) == expect
    _drop_pools()


def test_a_model_trained_in_parallel_pickles_and_trains_on(threads):
    """The replicas and the optimizer's share views are rebuilt, not pickled (they would
    become copies of theta instead of views of it)."""
    import pickle

    X, y = _data()
    threads(2)
    net, _ = _fit(X, y)
    again = pickle.loads(pickle.dumps(net))
    assert "_replicas" not in again.engine.__dict__
    assert_array_equal(again.engine.theta, net.engine.theta)
    net.fit(X, y, epochs=1, warm_start=True)
    again.fit(X, y, epochs=1, warm_start=True)
    assert_array_equal(again.engine.theta, net.engine.theta)


def test_replicas_follow_replaced_parameters(threads):
    """Regression: the replicas copied the engine's attributes once, so parameters replaced
    afterwards (a new theta) were not the ones the other shares trained."""
    X, y = _data()
    threads(2)
    net, _ = _fit(X, y, epochs=1)
    eng = net.engine
    old = eng.replicas(1)[0]
    eng.theta = eng.theta.copy()
    eng.W, eng.b = eng._views(eng.theta)
    fresh = eng.replicas(1)[0]
    assert fresh is not old and fresh.theta is eng.theta and fresh.W is eng.W


def test_estimators_blas_threads_is_the_fits_intent(threads):
    """The estimators' blas_threads decides the data-parallel step (not the BLAS count read
    back), and their limits come back after the fit."""
    from deepstep.sklearn import DeepClassifier

    X, y = _data()
    before = _blas_now()
    calls = threads(1)
    kw = {"layers": (10, 6), "epochs": 1, "batch_size": 40, "seed": 2, "preprocess": "none"}
    DeepClassifier(blas_threads=2, **kw).fit(X.T, y)
    assert calls and set(calls) == {2}
    calls = threads(2)
    DeepClassifier(blas_threads=1, **kw).fit(X.T, y)
    assert calls == []
    assert _blas_now() == before and parallel._STATE["requests"] == []


def test_a_parallel_fit_in_another_thread_really_limits_blas(threads):
    """threadpoolctl lets only one "controlling" thread set OpenBLAS's count (here the main
    thread, which set a limit): a parallel fit in another thread must still get BLAS down to
    one thread, and the main thread's setting back afterwards."""
    from threadpoolctl import threadpool_limits

    X, y = _data()
    threads(2)
    seen = []

    class Look(Callback):
        def on_batch_end(self, state):
            seen.append(_blas_now())

    with threadpool_limits(2, user_api="blas"):
        before = _blas_now()
        _in_threads(lambda s: _fit(X, y, {"callbacks": [Look()]}, epochs=1), 1)
        assert seen and all(set(v) == {1} for v in seen)
        assert _blas_now() == before == [2] * len(before)


def test_idle_pools_are_bounded_and_extra_ones_end_their_threads():
    """Regression: pools were never ended, so a process that ran many overlapping fits kept
    every pool's threads for good."""
    _drop_pools()
    pools = [parallel._Pool(2) for _ in range(parallel._KEEP_IDLE + 1)]
    for pool in pools:
        parallel._release(pool)
    assert len(parallel._FREE[2]) == parallel._KEEP_IDLE
    extra = pools[-1]
    assert extra not in parallel._FREE[2]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and extra._tasks.qsize():
        time.sleep(0.01)
    assert extra._tasks.qsize() == 0           # its threads took their stop signal
    _drop_pools()


def test_the_data_parallel_step_is_off_unless_asked_for(monkeypatch):
    # measured slower than two-thread OpenBLAS on a quiet machine (benchmarks/README.md,
    # round 3), so a fit at several BLAS threads takes it only when asked
    X, y = _data()
    calls = []
    monkeypatch.setattr(parallel.DataParallel, "gradients", lambda self, *a, **k: calls.append(1))
    monkeypatch.setattr(parallel, "MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "MIN_SHARE_FLOPS", 0)
    monkeypatch.setattr(parallel, "available_cpus", lambda: 8)
    monkeypatch.setattr(parallel, "blas_threads", lambda: 2)
    monkeypatch.setattr(parallel, "_ENABLED", [None])
    monkeypatch.delenv("DEEPSTEP_DATA_PARALLEL", raising=False)
    assert not parallel.enabled()
    _fit(X, y)
    assert calls == []
    monkeypatch.setenv("DEEPSTEP_DATA_PARALLEL", "1")
    assert parallel.enabled()
    parallel.set_enabled(False)
    assert not parallel.enabled()
    parallel.set_enabled(None)
    assert parallel.enabled()
