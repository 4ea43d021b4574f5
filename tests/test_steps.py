"""The lesson's functions: names, shapes, caches, formulas, reproducibility, and the model agreeing."""

import copy

import numpy as np
import pytest

from deepstep import DeepNetwork, steps


def _problem(dims=(4, 3, 2, 1), m=5, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * 0.7
        params[f"b{l}"] = rng.standard_normal((dims[l], 1)) * 0.3
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    return X, Y, params


# --- initialization -------------------------------------------------------------------------
def test_initialize_parameters_shapes_and_seed_draws():
    np.random.seed(1)
    p = steps.initialize_parameters(3, 2, 1)
    assert {k: v.shape for k, v in p.items()} == {"W1": (2, 3), "b1": (2, 1), "W2": (1, 2), "b2": (1, 1)}
    # The lesson's published values for np.random.seed(1), initialize_parameters(3, 2, 1).
    np.testing.assert_allclose(p["W1"], [[0.01624345, -0.00611756, -0.00528172],
                                         [-0.01072969, 0.00865408, -0.02301539]], atol=5e-9)
    np.testing.assert_allclose(p["W2"], [[0.01744812, -0.00761207]], atol=5e-9)
    assert not p["b1"].any() and not p["b2"].any()


def test_initialize_parameters_deep_draws_like_the_seed():
    dims = [5, 4, 3, 1]
    np.random.seed(3)
    p = steps.initialize_parameters_deep(dims)
    np.random.seed(3)
    for l in range(1, len(dims)):                # the lesson's loop, draw for draw
        np.testing.assert_array_equal(p[f"W{l}"], np.random.randn(dims[l], dims[l - 1]) * 0.01)
        np.testing.assert_array_equal(p[f"b{l}"], np.zeros((dims[l], 1)))
    assert list(p) == ["W1", "b1", "W2", "b2", "W3", "b3"]


def test_no_seeding_inside_consecutive_calls_differ():
    np.random.seed(0)
    a = steps.initialize_parameters_deep([3, 2, 1])
    b = steps.initialize_parameters_deep([3, 2, 1])
    assert not np.array_equal(a["W1"], b["W1"])


# --- forward --------------------------------------------------------------------------------
def test_linear_forward_by_hand_and_cache_identity():
    A = np.array([[1.0, -1.0], [2.0, 0.5]])
    W = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, 1.0]])
    b = np.array([[0.5], [-1.0], [2.0]])
    Z, cache = steps.linear_forward(A, W, b)
    # column 0: (1+4+.5, -3+1-1, 0+2+2); column 1: (-1+1+.5, 3+.25-1, .5+2)
    np.testing.assert_array_equal(Z, [[5.5, 0.5], [-3.0, 2.25], [4.0, 2.5]])
    assert isinstance(cache, tuple) and len(cache) == 3
    assert cache[0] is A and cache[1] is W and cache[2] is b


def test_sigmoid_and_relu_values_and_cache():
    Z = np.array([[0.0, np.log(3.0), -2.0]])
    A, cache = steps.sigmoid(Z)
    np.testing.assert_allclose(A, [[0.5, 0.75, 1 / (1 + np.e ** 2)]], rtol=1e-15)
    assert cache is Z
    A, cache = steps.relu(Z)
    np.testing.assert_array_equal(A, [[0.0, np.log(3.0), 0.0]])
    assert cache is Z


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_linear_activation_forward_cache_structure(activation):
    X, _, p = _problem()
    A, cache = steps.linear_activation_forward(X, p["W1"], p["b1"], activation)
    linear_cache, activation_cache = cache
    assert linear_cache[0] is X and linear_cache[1] is p["W1"] and linear_cache[2] is p["b1"]
    Z = p["W1"] @ X + p["b1"]
    np.testing.assert_allclose(activation_cache, Z, rtol=1e-14)
    g = (lambda z: 1 / (1 + np.exp(-z))) if activation == "sigmoid" else (lambda z: np.maximum(z, 0))
    np.testing.assert_allclose(A, g(Z), rtol=1e-14)
    assert A.shape == (3, 5)


def test_L_model_forward_shapes_and_composition():
    X, _, p = _problem(dims=(4, 3, 2, 1), m=5)
    AL, caches = steps.L_model_forward(X, p)
    assert AL.shape == (1, 5) and len(caches) == 3
    A = X
    for l in (1, 2):
        A = np.maximum(p[f"W{l}"] @ A + p[f"b{l}"], 0)
    np.testing.assert_allclose(AL, 1 / (1 + np.exp(-(p["W3"] @ A + p["b3"]))), rtol=1e-14)
    for l, ((A_prev, W, b), Z) in enumerate(caches, start=1):
        assert W is p[f"W{l}"] and b is p[f"b{l}"]
        assert Z.shape == (W.shape[0], 5) and A_prev.shape == (W.shape[1], 5)


def test_compute_cost_by_hand():
    # -1/3 (log .8 + log .9 + log .6)
    cost = steps.compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]]))
    assert np.shape(cost) == ()
    assert float(cost) == pytest.approx(-(np.log(0.8) + np.log(0.9) + np.log(0.6)) / 3, rel=1e-14)
    assert float(cost) == pytest.approx(0.2797765635793422, rel=1e-12)   # the lesson's value


def test_compute_cost_saturated_is_finite():
    with np.errstate(all="raise"):
        cost = steps.compute_cost(np.array([[1.0, 0.0]]), np.array([[0, 1]]))
    assert np.isfinite(cost) and cost > 30


# --- backward -------------------------------------------------------------------------------
def test_relu_and_sigmoid_backward_by_hand():
    Z = np.array([[-1.0, 0.0, 2.0]])
    dA = np.array([[3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(steps.relu_backward(dA, Z), [[0.0, 0.0, 5.0]])   # dZ = 0 where Z <= 0
    s = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(steps.sigmoid_backward(dA, Z), dA * s * (1 - s), rtol=1e-15)
    assert steps.sigmoid_backward(dA, Z)[0, 1] == 1.0                                # 4 · ½ · ½


def test_linear_backward_by_hand():
    A_prev = np.array([[1.0, 2.0], [0.0, -1.0]])
    W = np.array([[2.0, -1.0]])
    b = np.array([[0.3]])
    dZ = np.array([[1.0, 3.0]])
    dA_prev, dW, db = steps.linear_backward(dZ, (A_prev, W, b))
    np.testing.assert_allclose(dW, [[(1 + 6) / 2, (0 - 3) / 2]])      # 1/m dZ A_prevᵀ
    np.testing.assert_allclose(db, [[2.0]])                             # 1/m Σ dZ
    np.testing.assert_allclose(dA_prev, [[2.0, 6.0], [-1.0, -3.0]])     # Wᵀ dZ
    assert dW.shape == W.shape and db.shape == b.shape and dA_prev.shape == A_prev.shape


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_linear_activation_backward_is_the_composition(activation):
    X, _, p = _problem()
    A, cache = steps.linear_activation_forward(X, p["W1"], p["b1"], activation)
    dA = np.random.default_rng(1).standard_normal(A.shape)
    got = steps.linear_activation_backward(dA, cache, activation)
    back = steps.sigmoid_backward if activation == "sigmoid" else steps.relu_backward
    want = steps.linear_backward(back(dA, cache[1]), cache[0])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_L_model_backward_keys_shapes_and_finite_differences():
    dims = (4, 3, 2, 1)
    X, Y, p = _problem(dims, m=6)
    AL, caches = steps.L_model_forward(X, p)
    grads = steps.L_model_backward(AL, Y, caches)
    L = 3
    assert set(grads) == ({f"dA{l}" for l in range(L)} | {f"dW{l}" for l in range(1, L + 1)}
                          | {f"db{l}" for l in range(1, L + 1)})
    assert grads["dA0"].shape == X.shape
    for l in range(1, L + 1):
        assert grads[f"dW{l}"].shape == p[f"W{l}"].shape and grads[f"db{l}"].shape == p[f"b{l}"].shape
    # The lesson's own gradient check, on every parameter.
    eps = 1e-7
    for key in p:
        num = np.zeros_like(p[key])
        for idx in np.ndindex(p[key].shape):
            q = copy.deepcopy(p)
            q[key][idx] += eps
            jp = steps.compute_cost(steps.L_model_forward(X, q)[0], Y)
            q[key][idx] -= 2 * eps
            jm = steps.compute_cost(steps.L_model_forward(X, q)[0], Y)
            num[idx] = (jp - jm) / (2 * eps)
        np.testing.assert_allclose(grads["d" + key], num, rtol=1e-5, atol=1e-8)
    # dA[l] has the shape of A[l] (the lesson's dA carries no 1/m: it is m·dJ/dA[l]).
    assert grads["dA1"].shape == caches[1][0][0].shape


def test_update_parameters_by_hand_and_returns_new_dict():
    p = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([[0.5]])}
    g = {"dW1": np.array([[10.0, -10.0]]), "db1": np.array([[1.0]])}
    p0, g0 = copy.deepcopy(p), copy.deepcopy(g)
    new = steps.update_parameters(p, g, 0.1)
    np.testing.assert_allclose(new["W1"], [[0.0, 3.0]], atol=1e-15)
    np.testing.assert_allclose(new["b1"], [[0.4]], atol=1e-15)
    for k, v in p.items():
        np.testing.assert_array_equal(v, p0[k])
    for k, v in g.items():
        np.testing.assert_array_equal(v, g0[k])


def test_predict_thresholds_at_half():
    p = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    pred = steps.predict(np.array([[-2.0, -1e-3, 1e-3, 3.0]]), p)
    np.testing.assert_array_equal(pred, [[0, 0, 1, 1]])
    assert pred.shape == (1, 4)


def test_no_function_mutates_its_inputs():
    X, Y, p = _problem(m=4)
    frozen = {"X": X.copy(), "Y": Y.copy(), **{k: v.copy() for k, v in p.items()}}
    for arr in (X, Y, *p.values()):
        arr.setflags(write=False)                # any in-place write raises
    AL, caches = steps.L_model_forward(X, p)
    steps.compute_cost(AL, Y)
    grads = steps.L_model_backward(AL, Y, caches)
    steps.update_parameters(p, grads, 0.1)
    steps.predict(X, p)
    steps.relu_backward(np.ones_like(caches[0][1]), caches[0][1])
    steps.sigmoid_backward(np.ones_like(caches[0][1]), caches[0][1])
    steps.two_layer_model(X, Y, (4, 3, 1), num_iterations=2)
    steps.L_layer_model(X, Y, (4, 3, 2, 1), num_iterations=2)
    np.testing.assert_array_equal(X, frozen["X"])
    np.testing.assert_array_equal(Y, frozen["Y"])
    for k in p:
        np.testing.assert_array_equal(p[k], frozen[k])


# --- the ready-made trainers ------------------------------------------------------------------
def test_two_layer_model_is_the_seed_loop():
    X, Y, _ = _problem(dims=(4, 3, 1), m=6)
    np.random.seed(2)
    params, costs = steps.two_layer_model(X, Y, (4, 3, 1), learning_rate=0.5, num_iterations=201)
    np.random.seed(2)
    p = steps.initialize_parameters(4, 3, 1)
    want_costs = []
    for i in range(201):
        A1, c1 = steps.linear_activation_forward(X, p["W1"], p["b1"], "relu")
        A2, c2 = steps.linear_activation_forward(A1, p["W2"], p["b2"], "sigmoid")
        cost = steps.compute_cost(A2, Y)
        dA2 = -(np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))
        dA1, dW2, db2 = steps.linear_activation_backward(dA2, c2, "sigmoid")
        _, dW1, db1 = steps.linear_activation_backward(dA1, c1, "relu")
        p = steps.update_parameters(p, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}, 0.5)
        if i % 100 == 0:
            want_costs.append(float(cost))
    assert len(costs) == 3                       # iterations 0, 100, 200
    np.testing.assert_allclose(costs, want_costs, rtol=1e-12)
    for k in p:
        np.testing.assert_allclose(params[k], p[k], rtol=1e-10, atol=1e-14)


def test_L_layer_model_scaled_init_and_reproducible(capsys):
    X, Y, _ = _problem(dims=(4, 3, 2, 1), m=6)
    np.random.seed(5)
    p1, c1 = steps.L_layer_model(X, Y, (4, 3, 2, 1), learning_rate=0.1, num_iterations=1, print_cost=True)
    assert "Cost after iteration 0" in capsys.readouterr().out
    np.random.seed(5)
    init = {}
    for l, (n_out, n_in) in enumerate([(3, 4), (2, 3), (1, 2)], start=1):
        init[f"W{l}"] = np.random.randn(n_out, n_in) / np.sqrt(n_in)
        init[f"b{l}"] = np.zeros((n_out, 1))
    AL, caches = steps.L_model_forward(X, init)
    assert c1 == [pytest.approx(float(steps.compute_cost(AL, Y)), rel=1e-14)]
    want = steps.update_parameters(init, steps.L_model_backward(AL, Y, caches), 0.1)
    for k in want:
        np.testing.assert_allclose(p1[k], want[k], rtol=1e-14, atol=1e-16)
    np.random.seed(5)
    p2, c2 = steps.L_layer_model(X, Y, (4, 3, 2, 1), learning_rate=0.1, num_iterations=1)
    assert c1 == c2 and all(np.array_equal(p1[k], p2[k]) for k in p1)


# --- one implementation: the model's engine agrees with the steps -------------------------------
@pytest.mark.parametrize("dims", [(4, 1), (4, 3, 1), (5, 4, 3, 2, 1)])
def test_engine_forward_backward_equal_steps(dims):
    X, Y, p = _problem(dims, m=7, seed=len(dims))
    net = DeepNetwork.from_parameters(p, dtype="float64")
    assert net.activations == ["relu"] * (len(dims) - 2) + ["sigmoid"]
    AL, caches = steps.L_model_forward(X, p)
    np.testing.assert_allclose(net.predict_proba(X), AL, rtol=1e-13, atol=1e-15)
    grads = steps.L_model_backward(AL, Y, caches)
    eng = net._engine
    ws = eng.workspace(X.shape[1])
    eng.forward(X, ws)
    eng.backward(X, Y, ws)
    for l in range(1, len(dims)):
        np.testing.assert_allclose(eng.dW[l - 1], grads[f"dW{l}"], rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(eng.db[l - 1], grads[f"db{l}"], rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(net.predict(X), steps.predict(X, p))


def test_parameters_interchange_both_ways():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40))
    y = (X[0] + X[1] > 0).astype(int)
    net = DeepNetwork(layers=(4, 3), activation="relu", output="sigmoid", dtype="float64",
                      preprocess="none", epochs=5, seed=0)
    net.fit(X, y)
    params = {k: v.copy() for k, v in net.parameters.items()}
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    # model -> steps
    AL, _ = steps.L_model_forward(X, params)
    np.testing.assert_allclose(AL, net.predict_proba(X), rtol=1e-13)
    np.testing.assert_array_equal(steps.predict(X, params).astype(int), net.predict(X))
    # steps -> model: a steps update, then back into the model
    grads = steps.L_model_backward(AL, y.reshape(1, -1), steps.L_model_forward(X, params)[1])
    new = steps.update_parameters(params, grads, 0.3)
    net.parameters = new
    np.testing.assert_allclose(net.predict_proba(X), steps.L_model_forward(X, new)[0], rtol=1e-13)
    net2 = DeepNetwork.from_parameters(new, dtype="float64")
    np.testing.assert_array_equal(net2.predict_proba(X), net.predict_proba(X))
