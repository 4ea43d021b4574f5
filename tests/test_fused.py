"""deepstep.fused: the compiled kernels give NumPy's numbers bit for bit, and can be turned off.

Every kernel is checked against the NumPy code it replaces on values that find the edge
cases (signed zeros, NaN, inf, tiny and huge numbers), in float32 and float64, and whole
training runs (each optimizer, dropout, sample weights, the transposed first layer,
prediction) are run with the kernels on and off and must end with the same bits.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from deepstep import DeepNetwork, HyperParameters, fused
from deepstep import optimizers as O

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed (pip install 'deepstep[fast]')")
DTYPES = [np.float32, np.float64]


@pytest.fixture
def kernels_on():
    previous = fused.set_enabled(True)
    yield fused.kernels(np.float32)
    fused.set_enabled(previous)


def _nasty(rng, shape, dtype):
    """Normal values with signed zeros, NaN, infinities, subnormals and large numbers among them."""
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, np.finfo(dtype).tiny / 4, -1e30, 1e30], dtype)
    idx = rng.choice(flat.size, size=min(flat.size, 2 * specials.size), replace=False)
    flat[idx] = np.resize(specials, idx.size)
    return a


def _same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


def _same_values(a, b):
    """The same bits, except that +0.0 and -0.0 count as one value (relu(-0.0): see bias_relu)."""
    zeros = (a == 0) & (b == 0)
    return _same_bits(np.where(zeros, 0, a).astype(a.dtype), np.where(zeros, 0, b).astype(b.dtype))


SHAPES = [(1, 1), (3, 7), (10, 256), (33, 65), (20, 209)]


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("transposed", [False, True])
def test_bias_relu_is_numpys_add_then_maximum(kernels_on, dtype, shape, transposed):
    rng = np.random.default_rng(sum(shape))
    S = _nasty(rng, shape, dtype)
    b = _nasty(rng, (shape[0], 1), dtype)
    with np.errstate(all="ignore"):
        Z_ref = S + b
        A_ref = np.maximum(Z_ref, 0)
    src = np.ascontiguousarray(S.T).T if transposed else S.copy()
    Z, A = np.empty_like(S), np.empty_like(S)
    kernels_on.bias_relu(src, b, Z, A)
    assert _same_bits(Z, Z_ref) and _same_values(A, A_ref)
    assert not np.signbit(A[A == 0]).any()


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_relu_grad_is_numpys_mask_multiply(kernels_on, dtype, shape):
    rng = np.random.default_rng(1)
    dA, A = _nasty(rng, shape, dtype), _nasty(rng, shape, dtype)
    with np.errstate(all="ignore"):
        ref = np.multiply(dA, np.greater(A, 0).astype(dtype))
    out = np.empty_like(dA)
    kernels_on.relu_grad(dA, A, out, dtype(0))
    assert _same_bits(out, ref)


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_grad_is_subtract_then_scale(kernels_on, dtype):
    rng = np.random.default_rng(2)
    AL, Y = _nasty(rng, (10, 97), dtype), rng.random((10, 97)).astype(dtype)
    with np.errstate(all="ignore"):
        ref = np.subtract(AL, Y)
        ref *= 1.0 / 97
    out = np.empty_like(AL)
    kernels_on.output_grad(AL, Y, dtype(1.0 / 97), out)
    assert _same_bits(out, ref)


def _update_cases():
    # (optimizer name, NumPy kernel call, compiled kernel call), each on (p, g, v, s, dt)
    b1, b2, lr, eps, t = 0.9, 0.999, 0.05, 1e-8, 7
    return {
        "gd": (lambda p, g, v, s: O.gd_update(p, g, lr),
               lambda K, p, g, v, s, dt: K.gd(p, g, dt(lr))),
        "momentum": (lambda p, g, v, s: O.momentum_update(p, g, v, b1, lr),
                     lambda K, p, g, v, s, dt: K.momentum(p, g, v, dt(b1), dt(1 - b1), dt(lr))),
        "nesterov": (lambda p, g, v, s: O.nesterov_update(p, g, v, b1, lr),
                     lambda K, p, g, v, s, dt: K.nesterov(p, g, v, dt(b1), dt(1 - b1), dt(lr))),
        "rmsprop": (lambda p, g, v, s: O.rmsprop_update(p, g, s, b2, lr, eps),
                    lambda K, p, g, v, s, dt: K.rmsprop(p, g, s, dt(b2), dt(1 - b2), dt(lr), dt(eps))),
        "adam": (lambda p, g, v, s: O.adam_update(p, g, v, s, t, lr, b1, b2, eps),
                 lambda K, p, g, v, s, dt: K.adam(p, g, v, s, dt(b1), dt(1 - b1), dt(b2), dt(1 - b2),
                                                  dt(1 - b1 ** t), dt(1 - b2 ** t), dt(lr), dt(eps))),
    }


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(_update_cases()))
@pytest.mark.parametrize("size", [1, 1000, 70001])
def test_update_kernels_are_the_textbook_numpy_kernels(kernels_on, dtype, name, size):
    rng = np.random.default_rng(size)
    p0, g = _nasty(rng, (size,), dtype), _nasty(rng, (size,), dtype)
    v0 = rng.standard_normal(size).astype(dtype)
    s0 = (rng.random(size) * 1e-3).astype(dtype)
    if size > 1:
        s0[0] = 0.0                      # √0 + ε: the denominator ε
    ref_call, jit_call = _update_cases()[name]
    ref = [a.copy() for a in (p0, g, v0, s0)]
    got = [a.copy() for a in (p0, g, v0, s0)]
    with np.errstate(all="ignore"):
        ref_call(*ref)
    jit_call(kernels_on, *got, dtype)
    for r, o in zip(ref, got):
        assert _same_bits(o, r)


# -- whole runs: kernels on and off give the same model -------------------------------------
RUNS = {
    "momentum": dict(layers=(16, 8), optimizer="momentum", learning_rate=0.3, batch_size=32),
    "adam+l2": dict(layers=(16, 8), optimizer="adam", learning_rate=0.01, batch_size=16, l2=0.1),
    "nesterov+dropout": dict(layers=(16,), optimizer="nesterov", learning_rate=0.2, batch_size=32, keep_prob=0.8),
    "rmsprop+tanh": dict(layers=(12, 6), optimizer="rmsprop", learning_rate=0.01, batch_size=64, activation="tanh"),
    "gd full batch": dict(layers=(7, 5), optimizer="gd", learning_rate=0.05, batch_size="full"),
}


def _train(kernels, X, y, dtype, weights=None, **kw):
    previous = fused.set_enabled(kernels)
    try:
        net = DeepNetwork(preprocess="standardize", dtype=dtype, seed=3, epochs=4, **kw)
        net.fit(X, y, sample_weight=weights)
        return net, net.predict_proba(X)
    finally:
        fused.set_enabled(previous)


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("run", list(RUNS))
def test_training_with_and_without_kernels_ends_with_the_same_bits(dtype, run):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 300))
    y = (X[0] + X[1] * X[2] > 0).astype(int) + (X[3] > 1)
    on, p_on = _train(True, X, y, dtype, **RUNS[run])
    off, p_off = _train(False, X, y, dtype, **RUNS[run])
    assert _same_bits(on.engine.theta, off.engine.theta)
    assert _same_bits(p_on, p_off)
    assert on.history["cost"] == off.history["cost"]
    assert on.history["accuracy"] == off.history["accuracy"]
    for k in off.optimizer.state:
        assert _same_bits(on.optimizer.state[k], off.optimizer.state[k])


@needs_numba
def test_sample_weights_and_wide_inputs_keep_the_bits():
    # weights take NumPy's dZ[L] path, the 12288-wide input the transposed first product
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1100, 60)).astype(np.float32)
    y = (X[:3].sum(axis=0) > 0).astype(int)
    w = rng.random(60) + 0.5
    kw = dict(layers=(20, 7, 5), optimizer="gd", learning_rate=0.0075, batch_size="full")
    for weights in (None, w):
        on, p_on = _train(True, X, y, "float32", weights, **kw)
        off, p_off = _train(False, X, y, "float32", weights, **kw)
        assert on.engine._first_transposed
        assert _same_bits(on.engine.theta, off.engine.theta) and _same_bits(p_on, p_off)


@needs_numba
def test_scalars_numpy_would_not_cast_keep_numpys_path(kernels_on):
    # NumPy 2 computes np.float64(lr) * float32 array (or a 0-d array's) in float64: the kernel would not
    p = np.ones(5, np.float32)
    assert fused.same_dtype(p.dtype, 0.1, np.float32(0.1), 3)
    for lr in (np.float64(0.1), np.asarray(0.1), np.asarray(0.1, np.float32)):
        assert not fused.same_dtype(p.dtype, lr)
        opt = O.get_optimizer("gd", None)
        opt.init_state(p)
        assert opt._kernels(p, np.ones(5, np.float32), lr) is None
        got, ref, g = p.copy(), p.copy(), np.full(5, 1.1, np.float32)
        O.gd_update(ref, g, lr)
        opt.step(got, g, lr)
        assert _same_bits(got, ref)


@needs_numba
def test_mismatched_buffers_keep_numpys_path(kernels_on):
    opt = O.get_optimizer("momentum", HyperParameters(optimizer="momentum"))
    p = np.ones(6, np.float32)
    opt.init_state(p)
    assert opt._kernels(p, np.ones(6, np.float32), 0.1) is fused.kernels(np.float32)
    assert opt._kernels(p, np.ones(6, np.float64), 0.1) is None            # the gradient's dtype
    assert opt._kernels(p, np.ones(5, np.float32), 0.1) is None            # its size
    assert opt._kernels(p, np.ones(12, np.float32)[::2], 0.1) is None      # its layout
    assert opt._kernels(p.astype(np.float16), np.ones(6, np.float16), 0.1) is None
    assert opt._kernels(p.astype(">f4"), np.ones(6, ">f4"), 0.1) is None   # big-endian
    with pytest.raises(ValueError):                                        # NumPy's own error, not a read past the end
        opt.step(p, np.ones(5, np.float32), 0.1)


@needs_numba
def test_numpy_scalars_in_the_hyperparameters_become_python_numbers():
    hp = HyperParameters(learning_rate=np.float64(0.01), momentum=np.float64(0.9), epochs=np.int64(3))
    assert type(hp.learning_rate) is float and type(hp.momentum) is float and type(hp.epochs) is int


@needs_numba
def test_the_kernels_really_run(monkeypatch):
    # every kernel the engine and the optimizers call is counted: none may be skipped silently
    K = fused.kernels(np.float32)
    counts = {}
    names = ("bias_relu", "relu_grad", "output_grad", "momentum", "adam", "bias_softmax_shift",
             "softmax_normalize", "clip_into", "multiply_sum", "count_argmax_equal")
    for name in names:
        real = getattr(K, name)

        def counted(*a, _real=real, _name=name):
            counts[_name] = counts.get(_name, 0) + 1
            return _real(*a)

        monkeypatch.setattr(K, name, counted)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 200)), rng.integers(0, 3, 200)
    for opt in ("momentum", "adam"):
        DeepNetwork(layers=(8, 4), optimizer=opt, epochs=2, batch_size=50, dtype="float32", seed=0,
                    learning_rate=0.01).fit(X, y)
    assert all(counts.get(k, 0) > 0 for k in names), counts


def test_numba_installed_means_the_kernels_load():
    # a numba that is installed but cannot compile or load the kernels would turn every
    # test above into a skip: fail instead
    if importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed (pip install 'deepstep[fast]')")
    assert fused.available(np.float32) and fused.available(np.float64), fused.why_not()
    assert fused.kernels(np.float16) is None and 'float16' in fused.why_not(np.float16)


@needs_numba
def test_data_parallel_steps_are_the_same_with_and_without_kernels(monkeypatch):
    from deepstep import parallel

    monkeypatch.setattr(parallel, "MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "MIN_SHARE_FLOPS", 0)
    monkeypatch.setattr(parallel, "available_cpus", lambda: 8)
    monkeypatch.setattr(parallel, "blas_threads", lambda: 2)
    calls = []
    real = parallel.DataParallel.gradients
    monkeypatch.setattr(parallel.DataParallel, "gradients",
                        lambda self, *a, **kw: calls.append(self.n) or real(self, *a, **kw))
    previous = parallel.enabled()
    parallel.set_enabled(True)
    try:
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((12, 160)), rng.integers(0, 3, 160)
        kw = dict(layers=(10, 6), optimizer="adam", learning_rate=0.01, batch_size=40)
        on, p_on = _train(True, X, y, "float32", **kw)
        off, p_off = _train(False, X, y, "float32", **kw)
    finally:
        parallel.set_enabled(previous)
    assert calls and set(calls) == {2}
    assert _same_bits(on.engine.theta, off.engine.theta) and _same_bits(p_on, p_off)


@needs_numba
def test_an_update_larger_than_the_optimizers_parts_keeps_the_bits():
    # 400 inputs x 400 units: 160 k parameters, above optimizers._PART
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((400, 64)), rng.integers(0, 2, 64)
    kw = dict(layers=(400,), optimizer="adam", learning_rate=0.001, batch_size=32)
    on, p_on = _train(True, X, y, "float32", **kw)
    off, p_off = _train(False, X, y, "float32", **kw)
    assert on.engine.theta.size > O._PART
    assert _same_bits(on.engine.theta, off.engine.theta) and _same_bits(p_on, p_off)


def test_turned_off_the_engine_runs_numpy():
    previous = fused.set_enabled(False)
    try:
        assert fused.kernels() is None and not fused.enabled()
        assert "turned off" in fused.why_not()
        net = DeepNetwork(layers=(4,), epochs=2, seed=0)
        net.fit(np.random.default_rng(0).standard_normal((3, 40)), np.arange(40) % 2)
    finally:
        fused.set_enabled(previous)


@pytest.mark.parametrize("value, on", [("0", False), ("off", False), ("1", True), ("", True)])
def test_the_environment_variable_turns_the_kernels_off(value, on):
    code = ("import deepstep.fused as f; print(f.kernels() is None,"
            " f.why_not() is not None and 'turned off' in f.why_not(),"
            " f.set_enabled(True), f.set_enabled(None) is True, f.kernels() is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DEEPSTEP_JIT": value})
    none, off, previous, back, none_again = out.stdout.split()
    assert off == str(not on) and previous == "None" and back == "True"
    if not on:
        assert none == none_again == "True"     # set_enabled(None): the variable's setting again


@pytest.mark.parametrize("broken", ["missing", "broken"])
def test_without_a_working_numba_the_engine_falls_back(broken):
    # numba unimportable, or importable but unable to build the kernels: NumPy's path, and why
    fake = ("sys.modules['numba'] = None" if broken == "missing" else
            "import types; sys.modules['numba'] = types.ModuleType('numba')")   # no njit
    code = ("import sys\n" + fake + "\n"
            "import numpy as np, deepstep.fused as f\n"
            "from deepstep import DeepNetwork\n"
            "assert f.kernels() is None and not f.available()\n"
            f"assert {'deepstep[fast]' if broken == 'missing' else 'NUMBA_CACHE_DIR'!r} in f.why_not(), f.why_not()\n"
            "net = DeepNetwork(layers=(4,), epochs=2, seed=0)\n"
            "net.fit(np.random.default_rng(0).standard_normal((3, 40)), np.arange(40) % 2)\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
def test_count_argmax_equal_is_numpys_count(kernels_on, dtype):
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (2, 9), (10, 256), (3, 64)]:
        AL = rng.integers(0, 3, shape).astype(dtype)          # many ties: the first maximum counts
        Y = np.eye(shape[0], dtype=dtype)[rng.integers(0, shape[0], shape[1])].T.copy()
        if AL.size > 4:
            AL.flat[[1, 3]] = np.nan                          # NaN is the maximum, as in np.argmax
        for y in (Y, np.asfortranarray(Y)):
            assert kernels_on.count_argmax_equal(AL, y) == int(np.count_nonzero(AL.argmax(0) == y.argmax(0)))


@needs_numba
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (10, 32), (10, 256), (7, 1000), (2, 4099),
                                   (8, 1), (10, 1), (130, 1), (300, 2)])   # one column: NumPy sums it pairwise
def test_softmax_and_cross_entropy_kernels_are_numpys(kernels_on, dtype, shape):
    from deepstep import engine

    K = kernels_on
    rng = np.random.default_rng(shape[1])
    S = (rng.standard_normal(shape) * 3).astype(dtype)      # many terms of similar size: the order shows
    b = rng.standard_normal((shape[0], 1)).astype(dtype)
    for src in (S, np.ascontiguousarray(S.T).T):
        # softmax: Z = S + b, then the engine's NumPy softmax, against the two kernels around np.exp
        Z_ref, A_ref, row = np.add(S, b), np.empty(shape, dtype), np.empty((1, shape[1]), dtype)
        with np.errstate(under="ignore"):
            engine._softmax(Z_ref, A_ref, row)
            Z, A, row2 = np.empty(shape, dtype), np.empty(shape, dtype), np.empty((1, shape[1]), dtype)
            K.bias_softmax_shift(src, b, Z, A, row2)
            np.exp(A, out=A)
            K.softmax_normalize(A, row2, dtype(0))
        assert _same_bits(Z, Z_ref) and _same_bits(A, A_ref)
    # the cross-entropy: clip, log, and the product's pairwise sum over every entry
    AL = A_ref.copy()
    step = max(1, AL.size // 5)
    AL.flat[::step] = 0.0                     # log(0) and log(1 - 1) are what the clip is for
    AL.flat[1::step] = 1.0
    Y = rng.random(shape).astype(dtype)                     # soft targets: every term counts in the sum
    C = [np.empty(shape, dtype), np.empty(shape, dtype)]
    ref = engine._categorical_cost(AL, Y, C)
    got = engine._categorical_cost_fused(K, AL, Y, C)
    assert (ref == got) or (np.isnan(ref) and np.isnan(got))
    P = _nasty(rng, shape, dtype)
    eps = np.finfo(dtype).eps
    clipped = np.empty_like(P)
    K.clip_into(P, dtype(eps), dtype(1 - eps), clipped)
    assert _same_bits(clipped, np.minimum(np.maximum(P, eps), 1 - eps))
    Q = rng.standard_normal(shape).astype(dtype)
    with np.errstate(all="ignore"):
        total = np.add.reduce(np.multiply(Y, Q), axis=None)
    assert _same_bits(np.asarray(dtype(K.multiply_sum(Y, Q.copy(), dtype(0)))), np.asarray(total))


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_last_batch_of_one_example_with_many_classes_keeps_the_bits(dtype):
    # 1001 rows in batches of 50: the last batch has one column, whose softmax sum NumPy adds pairwise
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 1001))
    y = rng.integers(0, 10, 1001)
    kw = dict(layers=(12,), optimizer="momentum", learning_rate=0.2, batch_size=50)
    on, p_on = _train(True, X, y, dtype, **kw)
    off, p_off = _train(False, X, y, dtype, **kw)
    assert _same_bits(on.engine.theta, off.engine.theta) and _same_bits(p_on, p_off)
    assert on.history["cost"] == off.history["cost"] and on.history["accuracy"] == off.history["accuracy"]


@needs_numba
def test_the_optimizers_memo_sees_a_replaced_state_array(kernels_on):
    opt = O.get_optimizer("momentum", HyperParameters(optimizer="momentum"))
    p, g = np.ones(6, np.float32), np.full(6, 0.5, np.float32)
    opt.init_state(p)
    opt.step(p, g, 0.1)                                   # remembered: the kernels suit these buffers
    opt.state["v"] = np.zeros(6, np.float64)              # a float64 slot: NumPy's path and NumPy's numbers
    assert opt._kernels(p, g, 0.1) is None
    ref_p, ref_v = p.copy(), opt.state["v"].copy()
    O.momentum_update(ref_p, g, ref_v, 0.9, 0.1, np.empty(6, np.float32))
    opt.step(p, g, 0.1)
    assert _same_bits(p, ref_p) and _same_bits(opt.state["v"], ref_v)
    opt.state["v"] = np.zeros(5, np.float32)              # too short: NumPy's error, not a write past the end
    with pytest.raises(ValueError):
        opt.step(p, g, 0.1)
    opt.state["v"] = np.zeros(6, np.float32)
    p.flags.writeable = False
    assert opt._kernels(p, g, 0.1) is None


@needs_numba
def test_cost_and_accuracy_with_a_y_numpy_would_broadcast_stay_numpys():
    from deepstep import engine, training

    eng = engine.Engine([3, 4, 3], ["relu", "softmax"], "categorical_crossentropy", np.float32)
    ws = eng.workspace(5)
    AL = eng.forward(np.ones((3, 5), np.float32), ws)
    Y = np.array([[1.0], [0.0], [0.0]], np.float32)       # (3, 1): NumPy broadcasts it over the batch
    previous = fused.set_enabled(False)
    try:
        ref = eng.cost(AL, Y, ws=ws)
    finally:
        fused.set_enabled(previous)
    assert eng.cost(AL, Y, ws=ws) == ref
    state = training.TrainState()
    tally = training._Tally("softmax", 5)
    tally.add(state, 0.0, AL, Y)
    assert state.correct == int(np.count_nonzero(AL.argmax(0) == Y.argmax(0)))
