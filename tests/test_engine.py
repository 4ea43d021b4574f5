"""Engine: flat parameter buffers, the lesson's forward pass, the transposed first layer, predict, workspaces."""

import pickle

import numpy as np
import pytest

from deepstep import steps
from deepstep.engine import Engine


def _engine(dims, acts=None, dtype=np.float64, seed=0, scale=0.5):
    acts = acts or ["relu"] * (len(dims) - 2) + ["sigmoid"]
    loss = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy",
            "linear": "squared_error"}[acts[-1]]
    eng = Engine(dims, acts, loss, dtype)
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * scale / np.sqrt(dims[l - 1])
        params[f"b{l}"] = rng.standard_normal((dims[l], 1)) * 0.1
    eng.set_parameters(params)
    return eng, params


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- flat buffers -------------------------------------------------------------------------------------
def _assert_views(eng):
    sizes = 0
    for l in range(eng.L):
        for view, flat in ((eng.W[l], eng.theta), (eng.b[l], eng.theta), (eng.dW[l], eng.grad), (eng.db[l], eng.grad)):
            assert np.shares_memory(view, flat)
        sizes += eng.W[l].size + eng.b[l].size
        assert eng.W[l].shape == (eng.dims[l + 1], eng.dims[l]) and eng.b[l].shape == (eng.dims[l + 1], 1)
    assert sizes == eng.theta.size == eng.grad.size
    # Writing through theta shows in the views, and the views tile theta in W1, b1, W2, ... order.
    eng.theta[:] = np.arange(eng.theta.size)
    i = 0
    for l in range(eng.L):
        for v in (eng.W[l], eng.b[l]):
            np.testing.assert_array_equal(v.ravel(), np.arange(i, i + v.size))
            i += v.size
    eng.grad[:] = -np.arange(eng.grad.size)
    assert eng.dW[-1].ravel()[0] == -(eng.theta.size - eng.W[-1].size - eng.b[-1].size)


def test_parameters_and_gradients_are_views_of_the_flat_buffers():
    eng, _ = _engine([4, 3, 2, 1])
    _assert_views(eng)


def test_views_survive_pickling():
    eng, params = _engine([4, 3, 2, 1])
    eng.grad[:] = 1.0
    eng.workspace(5)
    again = pickle.loads(pickle.dumps(eng))
    assert not np.shares_memory(again.theta, eng.theta)
    for k, v in params.items():
        np.testing.assert_array_equal(again.get_parameters()[k], v)
    assert not again.grad.any()
    again.W[0][0, 0] = 123.0                 # writes into the copy's theta, not the original's
    assert again.theta[0] == 123.0 and eng.theta[0] != 123.0
    _assert_views(again)


def test_get_parameters_views_or_copies():
    eng, _ = _engine([3, 2, 1])
    live, copy = eng.get_parameters(), eng.get_parameters(copy=True)
    assert sorted(live) == ["W1", "W2", "b1", "b2"]
    assert np.shares_memory(live["W2"], eng.theta) and not np.shares_memory(copy["W2"], eng.theta)


@pytest.mark.parametrize("key,bad", [("W1", (3, 2)), ("b1", (2,)), ("b2", (1, 2)), ("W2", (2, 1))])
def test_set_parameters_shape_errors(key, bad):
    eng, params = _engine([3, 2, 1])
    params = {**params, key: np.ones(bad)}
    expected = {"W1": (2, 3), "b1": (2, 1), "W2": (1, 2), "b2": (1, 1)}[key]
    with pytest.raises(ValueError, match=rf"{key} must have shape \({expected[0]}, {expected[1]}\)\. Got"):
        eng.set_parameters(params)


def test_set_parameters_casts_into_the_buffer_dtype():
    eng = Engine([2, 1], ["sigmoid"], "binary_crossentropy", np.float32)
    theta = eng.theta
    eng.set_parameters({"W1": np.array([[0.1, 2]]), "b1": np.array([[3]])})
    assert eng.theta is theta and eng.theta.dtype == np.float32
    np.testing.assert_array_equal(eng.theta, np.array([0.1, 2, 3], np.float32))


# --- forward --------------------------------------------------------------------------------------------
def test_forward_equals_the_seeds_L_model_forward():
    dims = [6, 5, 4, 1]
    eng, params = _engine(dims, seed=3)
    X = np.random.default_rng(4).standard_normal((6, 9))
    ws = eng.workspace(9)
    AL = eng.forward(X, ws)
    AL_seed, caches = steps.L_model_forward(X, {k: v.copy() for k, v in params.items()})
    np.testing.assert_allclose(AL, AL_seed, rtol=1e-13, atol=0)
    for l, cache in enumerate(caches):
        (A_prev, W, b), Z = cache
        np.testing.assert_allclose(ws.Z[l], Z, rtol=1e-12, atol=1e-15)
    assert AL is ws.A[-1]


@pytest.mark.parametrize("order", ["C", "F"])
def test_transposed_first_layer_gives_the_plain_product(order):
    dims = [1024, 8, 1]
    eng, params = _engine(dims, seed=5)
    assert eng._first_transposed
    rng = np.random.default_rng(6)
    X = np.asarray(rng.standard_normal((1024, 30)), order=order)
    ws = eng.workspace(30)
    assert ws.ZT0 is not None and ws.ZT0.shape == (30, 8)
    eng.forward(X, ws)
    Z1 = params["W1"] @ X + params["b1"]
    np.testing.assert_allclose(ws.Z[0], Z1, rtol=1e-12, atol=1e-13)
    assert ws.Z[0].flags.c_contiguous
    plain = pickle.loads(pickle.dumps(eng))
    plain._first_transposed = False                  # the same engine down the ordinary path
    ws_plain = plain.workspace(30)
    assert ws_plain.ZT0 is None
    plain.forward(X, ws_plain)
    np.testing.assert_allclose(ws.Z[0], ws_plain.Z[0], rtol=1e-12, atol=1e-13)
    A1 = np.maximum(Z1, 0)
    np.testing.assert_allclose(ws.A[-1], _sigmoid(params["W2"] @ A1 + params["b2"]), rtol=1e-12)


@pytest.mark.parametrize("dims,transposed", [([1024, 64, 1], True), ([1024, 65, 1], False),
                                             ([1023, 8, 1], False), ([20, 8, 1], False)])
def test_transposed_path_thresholds(dims, transposed):
    eng = Engine(dims, ["relu", "sigmoid"], "binary_crossentropy", np.float64)
    assert eng._first_transposed is transposed
    assert (eng.workspace(3).ZT0 is not None) is transposed


# --- predict ---------------------------------------------------------------------------------------------
def test_predict_in_chunks_equals_one_forward():
    dims = [12, 10, 3]
    eng, params = _engine(dims, ["tanh", "softmax"], seed=7)
    X = np.random.default_rng(8).standard_normal((12, 1100))
    whole = eng.forward(X, eng.workspace(1100)).copy()
    for chunk in (512, 100, 1100, 7):
        P = eng.predict(X, chunk=chunk)
        assert P.shape == (3, 1100) and P.dtype == np.float64
        np.testing.assert_allclose(P, whole, rtol=1e-13, atol=1e-16)
    # Independently: softmax(W2 tanh(W1 X + b1) + b2)
    Z2 = params["W2"] @ np.tanh(params["W1"] @ X + params["b1"]) + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=0))
    np.testing.assert_allclose(eng.predict(X), E / E.sum(axis=0), rtol=1e-12)


# Shapes where BLAS's matrix-vector kernel rounds differently from its matrix-matrix one (checked:
# without the engine's pairing of a single column these fail on OpenBLAS 0.3.31, Haswell kernels).
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dims", [[12, 10, 1], [784, 128, 1], [2048, 8, 1], [100, 300, 1], [1024, 16, 1]])
def test_single_column_equals_the_same_column_in_a_pair(dims, dtype):
    eng, _ = _engine(dims, dtype=dtype, seed=9)
    X = np.random.default_rng(10).standard_normal((dims[0], 2)).astype(dtype)
    batch = eng.predict(X)
    for j in (0, 1):
        one = eng.predict(X[:, j:j + 1])
        assert one.shape == (dims[-1], 1)
        assert one.tobytes() == batch[:, j:j + 1].tobytes()
    # The last chunk of a longer input can be a single column too.
    X = np.random.default_rng(11).standard_normal((dims[0], 8)).astype(dtype)
    tail = eng.predict(X, chunk=7)
    assert tail[:, 7:].tobytes() == eng.predict(X[:, 7:]).tobytes()


def test_predict_logits_returns_Z_L():
    eng, params = _engine([5, 4, 1], seed=11)
    X = np.random.default_rng(12).standard_normal((5, 20))
    Z = eng.predict(X, logits=True)
    ZL = params["W2"] @ np.maximum(params["W1"] @ X + params["b1"], 0) + params["b2"]
    np.testing.assert_allclose(Z, ZL, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(eng.predict(X), _sigmoid(ZL), rtol=1e-12)
    assert np.all(np.abs(Z) > 0) and not np.allclose(Z, _sigmoid(Z))     # not A[L] by accident


def test_predict_returns_a_new_array_each_time():
    eng, _ = _engine([3, 4, 1])
    X = np.ones((3, 6))
    P1 = eng.predict(X)
    ws = eng.workspace(6)
    assert not np.shares_memory(P1, ws.A[-1]) and not np.shares_memory(P1, ws.Z[-1])
    P2 = eng.predict(X * 2)
    assert not np.shares_memory(P1, P2) and not np.array_equal(P1, P2)


# --- workspaces -------------------------------------------------------------------------------------------
def test_workspaces_are_reused_per_batch_size():
    eng, _ = _engine([3, 4, 2, 1])
    a = eng.workspace(32)
    assert eng.workspace(32) is a
    assert eng.workspace(16) is not a
    d = eng.workspace(32, dropout=True)
    assert d is not a and d.D is not None and a.D is None
    assert eng.workspace(32, dropout=True) is d
    assert [z.shape for z in a.Z] == [(4, 32), (2, 32), (1, 32)]
    assert [x.shape for x in a.dA] == [(4, 32), (2, 32)]
    # predict reuses its chunk's workspace rather than allocating one per call
    eng.predict(np.ones((3, 32)))
    assert eng.workspace(32) is a


def test_workspace_cache_is_bounded():
    eng, _ = _engine([3, 4, 1])
    for m in range(1, 30):
        eng.workspace(m)
        assert len(eng._ws) <= 5
