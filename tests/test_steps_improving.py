"""The hyperparameter steps of deepstep.steps: initialization, mini-batches, optimizers,
learning-rate decay, L2, dropout and the gradient check.

Each step is checked for shapes, against the formula computed by hand here, for not
mutating its inputs, and against the model's own implementation (engine, optimizer
classes, schedules, initializers) where the model has one.
"""

import copy

import numpy as np
import pytest

from deepstep import DeepNetwork, HyperParameters, steps
from deepstep.errors import DataError, InvalidParameterError
from deepstep.gradcheck import numerical_gradient, relative_difference
from deepstep.initializers import initialize
from deepstep.optimizers import SCHEDULES, get_optimizer

NEW = [
    "initialize_parameters_zeros", "initialize_parameters_random", "initialize_parameters_he",
    "random_mini_batches", "update_parameters_with_gd", "initialize_velocity",
    "update_parameters_with_momentum", "initialize_adam", "update_parameters_with_adam",
    "update_lr", "schedule_lr_decay", "compute_cost_with_regularization",
    "L_model_forward_with_dropout", "L_model_backward_with_dropout",
    "L_model_backward_with_regularization", "gradient_check",
]
DIMS = [4, 5, 3, 1]


class GlobalRandn:
    """A Generator stand-in drawing from NumPy's global generator, as steps does."""

    def standard_normal(self, shape):
        return np.random.randn(*shape)

    def random(self, out, dtype=None):
        out[...] = np.random.rand(*out.shape)
        return out


def problem(seed=0, m=7, dims=DIMS):
    """Parameters with non-zero biases (no relu kinks at 0), X (n0, m), Y (1, m)."""
    r = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = r.standard_normal((dims[l], dims[l - 1])) * 0.7
        params[f"b{l}"] = r.standard_normal((dims[l], 1)) * 0.3
    X = r.standard_normal((dims[0], m))
    Y = (r.random((1, m)) > 0.5).astype(float)
    Y[0, :2] = (0.0, 1.0)
    return params, X, Y


def flat(d, prefix=""):
    L = len([k for k in d if k.startswith(prefix + "W")])
    return np.concatenate([np.ravel(d[f"{prefix}{p}{l}"]) for l in range(1, L + 1) for p in "Wb"])


def model_for(params, **hp):
    return DeepNetwork.from_parameters(params, HyperParameters(dtype="float64", **hp))


def engine_grads(params, X, Y, l2=0.0, keep_prob=1.0, rng=None):
    net = model_for(params, l2=l2, keep_prob=keep_prob)
    eng = net._engine
    ws = eng.workspace(X.shape[1], keep_prob < 1)
    AL = eng.forward(X, ws, keep_prob, rng).copy()
    eng.backward(X, Y, ws, l2, keep_prob)
    grads = {f"d{p}{l + 1}": getattr(eng, "d" + p)[l].copy() for l in range(eng.L) for p in "Wb"}
    return AL, grads, eng


def assert_unchanged(before, after):
    if isinstance(before, dict):
        assert before.keys() == after.keys()
        for k in before:
            assert_unchanged(before[k], after[k])
    elif isinstance(before, (list, tuple)):
        for b, a in zip(before, after):
            assert_unchanged(b, a)
    elif before is not None:
        np.testing.assert_array_equal(before, after)


def test_public_names():
    for name in NEW + ["L_model_forward", "L_model_backward", "update_parameters"]:
        assert name in steps.__all__ and callable(getattr(steps, name))


# --- initialization ----------------------------------------------------------------------
def test_zeros_init_shapes_values_and_no_draws():
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    p = steps.initialize_parameters_zeros(DIMS)
    assert np.array_equal(np.random.get_state()[1], state)  # consumed no random numbers
    for l in range(1, 4):
        assert p[f"W{l}"].shape == (DIMS[l], DIMS[l - 1]) and p[f"b{l}"].shape == (DIMS[l], 1)
        assert p[f"W{l}"].dtype == np.float64 and not p[f"W{l}"].any() and not p[f"b{l}"].any()


@pytest.mark.parametrize("fn,scale", [
    ("initialize_parameters_random", lambda n_in: 10.0),
    ("initialize_parameters_he", lambda n_in: np.sqrt(2.0 / n_in)),
])
def test_random_inits_are_the_formula_on_the_global_draw(fn, scale):
    dims = list(DIMS)
    np.random.seed(3)
    p = getattr(steps, fn)(dims)
    assert dims == DIMS
    np.random.seed(3)
    for l in range(1, 4):
        expected = np.random.randn(DIMS[l], DIMS[l - 1]) * scale(DIMS[l - 1])
        np.testing.assert_array_equal(p[f"W{l}"], expected)
        np.testing.assert_array_equal(p[f"b{l}"], np.zeros((DIMS[l], 1)))


@pytest.mark.parametrize("fn,name", [("initialize_parameters_zeros", "zeros"),
                                     ("initialize_parameters_random", "large"),
                                     ("initialize_parameters_he", "he")])
def test_inits_agree_with_the_models_initializer(fn, name):
    np.random.seed(7)
    ours = getattr(steps, fn)(DIMS)
    np.random.seed(7)
    theirs = initialize(name, GlobalRandn(), DIMS, np.float64)
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k])


@pytest.mark.parametrize("bad", [[3], [3, 0, 1], [2, 2.5, 1], "abc", None])
def test_init_rejects_bad_dims(bad):
    with pytest.raises(InvalidParameterError, match="layers_dims"):
        steps.initialize_parameters_he(bad)


# --- mini-batches ---------------------------------------------------------------------------
@pytest.mark.parametrize("m,size,expected", [(150, 64, [64, 64, 22]), (128, 64, [64, 64]),
                                             (5, 64, [5]), (7, 1, [1] * 7)])
def test_mini_batches_partition_one_permutation(m, size, expected):
    X = np.arange(3 * m, dtype=float).reshape(3, m)
    Y = (np.arange(m) % 2).reshape(1, m).astype(float)
    X0, Y0 = X.copy(), Y.copy()
    batches = steps.random_mini_batches(X, Y, size, seed=4)
    assert [b[0].shape[1] for b in batches] == expected
    assert all(b[0].shape[0] == 3 and b[1].shape == (1, b[0].shape[1]) for b in batches)
    np.random.seed(4)
    perm = np.random.permutation(m)
    np.testing.assert_array_equal(np.hstack([b[0] for b in batches]), X[:, perm])
    np.testing.assert_array_equal(np.hstack([b[1] for b in batches]), Y[:, perm])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_mini_batches_are_reproducible_and_seed_dependent():
    X = np.random.default_rng(0).standard_normal((2, 50))
    Y = np.ones((1, 50))
    a = steps.random_mini_batches(X, Y, 16, seed=11)
    b = steps.random_mini_batches(X, Y, 16, seed=11)
    c = steps.random_mini_batches(X, Y, 16, seed=12)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    assert not np.array_equal(a[0][0], c[0][0])


def test_mini_batches_errors():
    X, Y = np.zeros((2, 10)), np.zeros((1, 10))
    with pytest.raises(InvalidParameterError, match="mini_batch_size"):
        steps.random_mini_batches(X, Y, 0)
    with pytest.raises(DataError, match="examples"):
        steps.random_mini_batches(X, np.zeros((1, 9)), 4)


# --- optimizers ---------------------------------------------------------------------------
def grads_like(params, seed=1):
    r = np.random.default_rng(seed)
    return {"d" + k: r.standard_normal(v.shape) for k, v in params.items()}


def test_gd_is_the_formula():
    params, _, _ = problem()
    grads = grads_like(params)
    before = copy.deepcopy((params, grads))
    new = steps.update_parameters_with_gd(params, grads, 0.3)
    for k in params:
        np.testing.assert_array_equal(new[k], params[k] - 0.3 * grads["d" + k])
    assert_unchanged(before, (params, grads))


def test_velocity_and_adam_state_are_zeros_shaped_like_the_parameters():
    params, _, _ = problem()
    v = steps.initialize_velocity(params)
    v2, s = steps.initialize_adam(params)
    for l in range(1, 4):
        for p in "Wb":
            for d in (v, v2, s):
                assert d[f"d{p}{l}"].shape == params[f"{p}{l}"].shape and not d[f"d{p}{l}"].any()
    assert set(v) == {f"d{p}{l}" for l in range(1, 4) for p in "Wb"}


def test_momentum_is_the_formula_and_leaves_inputs_alone():
    params, _, _ = problem()
    grads = grads_like(params)
    v = {k: 0.5 * g for k, g in grads_like(params, 2).items()}
    before = copy.deepcopy((params, grads, v))
    new, v_new = steps.update_parameters_with_momentum(params, grads, v, 0.9, 0.05)
    for k in params:
        v_expected = 0.9 * v["d" + k] + (1 - 0.9) * grads["d" + k]
        np.testing.assert_array_equal(v_new["d" + k], v_expected)
        np.testing.assert_array_equal(new[k], params[k] - 0.05 * v_expected)
    assert_unchanged(before, (params, grads, v))


def test_adam_is_the_formula_and_leaves_inputs_alone():
    params, _, _ = problem()
    grads = grads_like(params)
    v, s = steps.initialize_adam(params)
    v["dW1"] += 0.1
    s["db2"] += 0.2
    before = copy.deepcopy((params, grads, v, s))
    lr, b1, b2, eps, t = 0.01, 0.9, 0.999, 1e-8, 2
    new, v_new, s_new, vc, sc = steps.update_parameters_with_adam(params, grads, v, s, t, lr, b1, b2, eps)
    for k in params:
        g = grads["d" + k]
        v_e = b1 * v["d" + k] + (1 - b1) * g
        s_e = b2 * s["d" + k] + (1 - b2) * g ** 2
        vc_e, sc_e = v_e / (1 - b1 ** t), s_e / (1 - b2 ** t)
        np.testing.assert_array_equal(v_new["d" + k], v_e)
        np.testing.assert_array_equal(s_new["d" + k], s_e)
        np.testing.assert_array_equal(vc["d" + k], vc_e)
        np.testing.assert_array_equal(sc["d" + k], sc_e)
        np.testing.assert_array_equal(new[k], params[k] - lr * vc_e / (np.sqrt(sc_e) + eps))
    assert_unchanged(before, (params, grads, v, s))


def test_adam_first_step_moves_every_weight_by_about_the_learning_rate():
    params, _, _ = problem()
    grads = grads_like(params)
    v, s = steps.initialize_adam(params)
    new = steps.update_parameters_with_adam(params, grads, v, s, 1, learning_rate=0.01)[0]
    # t = 1: v̂ = g, ŝ = g², so the step is α g / (|g| + ε) ≈ α sign(g)
    g = flat(grads, "d")
    np.testing.assert_allclose(flat(params) - flat(new), 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-9)
    np.testing.assert_allclose(np.abs(flat(params) - flat(new)), 0.01, rtol=1e-4)


@pytest.mark.parametrize("t", [0, -1, 1.5, True])
def test_adam_rejects_bad_step(t):
    params, _, _ = problem()
    v, s = steps.initialize_adam(params)
    with pytest.raises(InvalidParameterError, match="'t'"):
        steps.update_parameters_with_adam(params, grads_like(params), v, s, t)


@pytest.mark.parametrize("name,kw", [("momentum", {"momentum": 0.8}),
                                     ("adam", {"momentum": 0.85, "beta2": 0.99, "epsilon": 1e-6})])
def test_optimizers_agree_with_the_models_flat_buffer_optimizer(name, kw):
    params, _, _ = problem()
    hp = HyperParameters(optimizer=name, dtype="float64", **kw)
    opt = get_optimizer(name, hp)
    theta = flat(params).copy()
    opt.init_state(theta)
    ours = params
    v = steps.initialize_velocity(params)
    s = steps.initialize_velocity(params)
    for t in range(1, 4):
        grads = grads_like(params, seed=10 + t)
        opt.step(theta, flat(grads, "d"), 0.02)
        if name == "momentum":
            ours, v = steps.update_parameters_with_momentum(ours, grads, v, kw["momentum"], 0.02)
        else:
            ours, v, s, _, _ = steps.update_parameters_with_adam(
                ours, grads, v, s, t, 0.02, kw["momentum"], kw["beta2"], kw["epsilon"])
    np.testing.assert_array_equal(flat(ours), theta)


# --- learning-rate decay ----------------------------------------------------------------------
def test_update_lr_values():
    assert steps.update_lr(0.5, 0, 1) == 0.5
    assert steps.update_lr(0.5, 2, 1) == pytest.approx(0.5 / 3)
    assert steps.update_lr(0.5, 4, 0.5) == pytest.approx(0.5 / 3)


def test_schedule_lr_decay_steps_every_interval():
    lr = [steps.schedule_lr_decay(0.1, e, 1) for e in (0, 999, 1000, 1999, 2000, 4999)]
    assert lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.1 / 3, 0.02])
    assert steps.schedule_lr_decay(0.3, 25, 2, time_interval=10) == pytest.approx(0.3 / 5)


def test_schedules_are_the_models():
    for e in (0, 3, 999, 1000, 2500):
        assert steps.schedule_lr_decay(0.1, e, 1) == SCHEDULES["step"](0.1, e, 1, 1000)
        assert steps.update_lr(0.1, e, 0.01) == SCHEDULES["inverse"](0.1, e, 0.01, 1)


# --- L2 regularization ---------------------------------------------------------------------------
def test_regularized_cost_is_cross_entropy_plus_weight_penalty():
    params, X, Y = problem()
    AL, _ = steps.L_model_forward(X, params)
    before = copy.deepcopy((AL, Y, params))
    m = Y.shape[1]
    ce = -np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    penalty = 0.7 / (2 * m) * sum(np.sum(params[f"W{l}"] ** 2) for l in range(1, 4))
    got = steps.compute_cost_with_regularization(AL, Y, params, 0.7)
    assert got == pytest.approx(ce + penalty, rel=1e-12)
    assert steps.compute_cost_with_regularization(AL, Y, params, 0) == pytest.approx(ce, rel=1e-12)
    assert_unchanged(before, (AL, Y, params))
    # the biases are not penalized
    big_b = dict(params, b1=params["b1"] + 100)
    assert steps.compute_cost_with_regularization(AL, Y, big_b, 0.7) == pytest.approx(got, rel=1e-12)
    # the model's cost
    eng = model_for(params)._engine
    assert eng.cost(AL, Y, 0.7) == pytest.approx(got, rel=1e-12)


def test_backward_with_regularization_adds_lambda_over_m_w():
    params, X, Y = problem()
    AL, caches = steps.L_model_forward(X, params)
    before = copy.deepcopy((AL, Y, caches))
    plain = steps.L_model_backward(AL, Y, caches)
    g0 = steps.L_model_backward_with_regularization(AL, Y, caches, 0.0)
    g = steps.L_model_backward_with_regularization(AL, Y, caches, 0.7)
    m = X.shape[1]
    for l in range(1, 4):
        np.testing.assert_allclose(g0[f"dW{l}"], plain[f"dW{l}"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(g[f"dW{l}"] - g0[f"dW{l}"], 0.7 / m * params[f"W{l}"], rtol=1e-10)
        np.testing.assert_array_equal(g[f"db{l}"], g0[f"db{l}"])
        assert g[f"dW{l}"].shape == params[f"W{l}"].shape
    for l in range(3):
        np.testing.assert_allclose(g0[f"dA{l}"], plain[f"dA{l}"], rtol=1e-10, atol=1e-14)
    assert_unchanged(before, (AL, Y, caches))
    with pytest.raises(InvalidParameterError, match="lambd"):
        steps.L_model_backward_with_regularization(AL, Y, caches, -1)


def test_backward_with_regularization_is_the_gradient_of_the_regularized_cost():
    params, X, Y = problem()
    AL, caches = steps.L_model_forward(X, params)
    g = steps.L_model_backward_with_regularization(AL, Y, caches, 0.7)
    keys = [f"{p}{l}" for l in range(1, 4) for p in "Wb"]
    shapes = {k: params[k].shape for k in keys}

    def J(theta):
        p, i = {}, 0
        for k in keys:
            n = int(np.prod(shapes[k]))
            p[k] = theta[i:i + n].reshape(shapes[k])
            i += n
        return steps.compute_cost_with_regularization(steps.L_model_forward(X, p)[0], Y, p, 0.7)

    approx = numerical_gradient(J, flat(params).copy())
    assert relative_difference(flat(g, "d"), approx) < 1e-7


def test_backward_with_regularization_agrees_with_the_engine():
    params, X, Y = problem()
    AL, caches = steps.L_model_forward(X, params)
    g = steps.L_model_backward_with_regularization(AL, Y, caches, 0.7)
    AL_e, g_e, _ = engine_grads(params, X, Y, l2=0.7)
    np.testing.assert_allclose(AL_e, AL, rtol=1e-14)
    for k, v in g_e.items():
        np.testing.assert_allclose(g[k], v, rtol=1e-10, atol=1e-15)


# --- dropout -------------------------------------------------------------------------------------
def test_dropout_forward_is_the_formula_with_masks_in_layer_order():
    params, X, _ = problem(m=9)
    before = copy.deepcopy((X, params))
    kp = 0.7
    np.random.seed(2)
    AL, caches = steps.L_model_forward_with_dropout(X, params, kp)
    np.random.seed(2)
    A = X
    for l in (1, 2):
        A = np.maximum(0, params[f"W{l}"] @ A + params[f"b{l}"])
        D = np.random.rand(*A.shape) < kp
        A = A * D / kp
        np.testing.assert_array_equal(caches[l - 1][2], D.astype(float))
        np.testing.assert_allclose(caches[l][0][0], A, rtol=1e-15)   # next layer's A_prev
    expected = 1 / (1 + np.exp(-(params["W3"] @ A + params["b3"])))
    np.testing.assert_allclose(AL, expected, rtol=1e-13)
    assert AL.shape == (1, 9) and len(caches) == 3 and caches[2][2] is None
    assert_unchanged(before, (X, params))


def test_dropout_forward_with_keep_prob_one_is_the_plain_forward():
    params, X, _ = problem()
    AL, _ = steps.L_model_forward_with_dropout(X, params, 1.0)
    np.testing.assert_array_equal(AL, steps.L_model_forward(X, params)[0])


@pytest.mark.parametrize("kp", [0, 1.5, -0.1, "0.5"])
def test_dropout_rejects_bad_keep_prob(kp):
    params, X, _ = problem()
    with pytest.raises(InvalidParameterError, match="keep_prob"):
        steps.L_model_forward_with_dropout(X, params, kp)


def test_dropout_backward_masks_and_rescales_dA():
    params, X, Y = problem(m=9)
    np.random.seed(4)
    AL, caches = steps.L_model_forward_with_dropout(X, params, 0.6)
    before = copy.deepcopy((AL, Y, caches))
    g = steps.L_model_backward_with_dropout(AL, Y, caches, 0.6)
    D1, D2 = caches[0][2], caches[1][2]
    m = X.shape[1]
    # by hand: dZ3 = AL - Y, dA2 = W3^T dZ3 * D2 / kp, dZ2 = dA2 [Z2 > 0], dA1 = W2^T dZ2 * D1 / kp
    dZ3 = AL - Y
    np.testing.assert_allclose(g["dW3"], dZ3 @ caches[2][0][0].T / m, rtol=1e-12)
    dA2 = params["W3"].T @ dZ3 * D2 / 0.6
    np.testing.assert_allclose(g["dA2"], dA2, rtol=1e-12)
    dZ2 = dA2 * (caches[1][1] > 0)
    np.testing.assert_allclose(g["dW2"], dZ2 @ caches[1][0][0].T / m, rtol=1e-12)
    np.testing.assert_allclose(g["db2"], dZ2.sum(1, keepdims=True) / m, rtol=1e-12)
    np.testing.assert_allclose(g["dA1"], params["W2"].T @ dZ2 * D1 / 0.6, rtol=1e-12)
    assert not g["dA1"][D1 == 0].any() and not g["dA2"][D2 == 0].any()
    assert g["dA0"].shape == X.shape
    assert_unchanged(before, (AL, Y, caches))


def test_dropout_backward_is_the_gradient_with_the_masks_fixed():
    params, X, Y = problem(m=9)
    keys = [f"{p}{l}" for l in range(1, 4) for p in "Wb"]
    shapes = {k: params[k].shape for k in keys}

    def unflat(theta):
        p, i = {}, 0
        for k in keys:
            n = int(np.prod(shapes[k]))
            p[k] = theta[i:i + n].reshape(shapes[k])
            i += n
        return p

    def J(theta):
        np.random.seed(6)   # the same masks at every evaluation
        return float(steps.compute_cost(steps.L_model_forward_with_dropout(X, unflat(theta), 0.8)[0], Y))

    np.random.seed(6)
    AL, caches = steps.L_model_forward_with_dropout(X, params, 0.8)
    g = steps.L_model_backward_with_dropout(AL, Y, caches, 0.8)
    approx = numerical_gradient(J, flat(params).copy())
    assert relative_difference(flat(g, "d"), approx) < 1e-7


def test_dropout_agrees_with_the_engine_given_the_same_draws():
    params, X, Y = problem(m=9)
    np.random.seed(8)
    AL, caches = steps.L_model_forward_with_dropout(X, params, 0.75)
    g = steps.L_model_backward_with_dropout(AL, Y, caches, 0.75)
    np.random.seed(8)
    AL_e, g_e, _ = engine_grads(params, X, Y, keep_prob=0.75, rng=GlobalRandn())
    np.testing.assert_allclose(AL_e, AL, rtol=1e-14)
    for k, v in g_e.items():
        np.testing.assert_allclose(g[k], v, rtol=1e-10, atol=1e-15)


# --- gradient check ------------------------------------------------------------------------------
def test_gradient_check_accepts_right_and_rejects_wrong_gradients():
    params, X, Y = problem()
    before = copy.deepcopy((params, X, Y))
    AL, caches = steps.L_model_forward(X, params)
    grads = steps.L_model_backward(AL, Y, caches)
    assert steps.gradient_check(params, grads, X, Y) < 1e-7
    wrong = dict(grads, dW2=grads["dW2"] + 1e-3)
    assert steps.gradient_check(params, wrong, X, Y) > 1e-4
    wrong_b = dict(grads, db3=-grads["db3"])
    assert steps.gradient_check(params, wrong_b, X, Y) > 1e-3
    # dA entries are not part of θ
    assert steps.gradient_check(params, dict(grads, dA1=grads["dA1"] * 0), X, Y) < 1e-7
    assert_unchanged(before, (params, X, Y))


def test_gradient_check_of_the_regularized_gradient_is_not_the_plain_cost():
    params, X, Y = problem()
    AL, caches = steps.L_model_forward(X, params)
    # λ = 5 gradients are not those of the unregularized cost the check differentiates
    grads = steps.L_model_backward_with_regularization(AL, Y, caches, 5.0)
    assert steps.gradient_check(params, grads, X, Y) > 1e-3
