"""Gradient checks of the model's engine: every activation x output x L2, many architectures."""

import numpy as np
import pytest

from deepstep import DeepNetwork, InvalidParameterError, NotFittedError, register_activation
from deepstep import activations as act
from deepstep import engine as engine_mod
from deepstep.gradcheck import check_configurations, check_model, numerical_gradient, relative_difference
from deepstep.targets import TargetEncoder

HIDDEN = sorted(k for k, a in act.ACTIVATIONS.items() if a.hidden)
OUTPUTS = ("sigmoid", "softmax", "linear")


# --- the two kernels -------------------------------------------------------------------
def test_numerical_gradient_of_a_cubic_and_theta_restored():
    theta = np.array([0.5, -1.25, 2.0])
    before = theta.copy()
    g = numerical_gradient(lambda t: float(np.sum(t ** 3)), theta)
    # d/dθ Σθ³ = 3θ²; the two-sided error is ε²·θ''' = 6ε² plus rounding (~1e-9 at ε=1e-7)
    np.testing.assert_allclose(g, 3 * before ** 2, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(theta, before)


def test_relative_difference_by_hand():
    # ‖(3,4) - 0‖ / (5 + 0) = 1
    assert relative_difference(np.array([3.0, 4.0]), np.zeros(2)) == 1.0
    # ‖(0, 1)‖ / (5 + ‖(3, 3)‖) = 1 / (5 + 3√2)
    got = relative_difference(np.array([3.0, 4.0]), np.array([3.0, 3.0]))
    assert got == pytest.approx(1 / (5 + 3 * np.sqrt(2)), rel=1e-15)
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0


# --- the grid ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_activation_output_l2_combination_below_1e7(seed):
    results = check_configurations(seed=seed, n=4)
    cells = {(c["activation"], c["output"], c["l2"] > 0) for c, _ in results}
    assert cells == {(a, o, l2) for a in HIDDEN for o in OUTPUTS for l2 in (False, True)}
    assert len(results) == 4 * len(cells)
    depths = {len(c["layers"]) for c, _ in results}
    assert depths >= {0, 1, 2, 3}                        # logistic regression up to 3 hidden layers
    bad = [(c, d) for c, d in results if not d < 1e-7]
    assert not bad, bad


def test_check_configurations_is_reproducible_and_validates_n():
    a = check_configurations(seed=5, n=1)
    b = check_configurations(seed=5, n=1)
    assert [c for c, _ in a] == [c for c, _ in b]
    assert [d for _, d in a] == [d for _, d in b]
    with pytest.raises(InvalidParameterError, match="'n'"):
        check_configurations(n=0)


@pytest.mark.parametrize("output", OUTPUTS)
def test_per_layer_activations_and_trained_model_with_scaler(output):
    rng = np.random.default_rng(3)
    X = rng.normal(5.0, 3.0, size=(4, 12))                 # raw: the scaler matters
    if output == "sigmoid":
        Y = np.array(["cat", "dog"] * 6)
    elif output == "softmax":
        Y = np.array(["a", "b", "c"] * 4)
    else:
        Y = rng.standard_normal((2, 12))
    net = DeepNetwork(layers=(5, 4, 3), activation=("tanh", "leaky_relu", "sigmoid"), output=output,
                      l2=0.3, dtype="float64", preprocess="standardize", epochs=3, batch_size=4,
                      learning_rate=0.01, seed=1)
    net.fit(X, Y)
    theta = net._engine.theta.copy()
    assert check_model(net, X[:, :6], Y[..., :6]) < 1e-7
    np.testing.assert_array_equal(net._engine.theta, theta)   # parameters restored exactly


# --- it must catch mistakes ------------------------------------------------------------------
def _small_net(activation, output="sigmoid", l2=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, 7))
    Y = rng.permutation(np.arange(7) % 2)
    net = DeepNetwork(layers=(4, 3), activation=activation, output=output, l2=l2, dtype="float64",
                      preprocess="none", seed=seed)
    net.build(3, TargetEncoder.infer(Y, output))
    for b in net._engine.b:
        b[...] = rng.normal(0, 0.5, b.shape)
    return net, X, Y


def test_broken_activation_backward_is_detected(monkeypatch):
    monkeypatch.setitem(act.ACTIVATIONS, "tanh_broken", act.Activation(
        "tanh_broken", act.tanh_forward,
        lambda dA, Z, A, out=None: np.multiply(dA, 1 - A, out=out)))   # should be 1 - A²
    net, X, Y = _small_net("tanh_broken")
    assert check_model(net, X, Y) > 1e-3
    net, X, Y = _small_net("tanh")
    assert check_model(net, X, Y) < 1e-7


def test_missing_l2_gradient_is_detected(monkeypatch):
    net, X, Y = _small_net("relu", l2=1.0)
    assert check_model(net, X, Y) < 1e-7
    monkeypatch.setattr(engine_mod, "l2_grad", lambda dW, W, lambd, m: dW)
    assert check_model(net, X, Y) > 1e-3


def test_user_registered_activation_joins_the_grid(monkeypatch):
    def softplus(Z, out=None):
        return np.logaddexp(0, Z, out=out)

    def softplus_backward(dA, Z, A, out=None):
        return np.multiply(dA, act.sigmoid_forward(Z), out=out)

    monkeypatch.setitem(act.ACTIVATIONS, "softplus", act.ACTIVATIONS["relu"])  # restored after the test
    register_activation("softplus", softplus, softplus_backward)
    results = [(c, d) for c, d in check_configurations(seed=0, n=2) if c["activation"] == "softplus"]
    assert len(results) == 2 * len(OUTPUTS) * 2
    assert max(d for _, d in results) < 1e-7


def test_user_activation_that_ignores_out_still_trains_correctly(monkeypatch):
    # register_activation only asks that forward/backward *accept* out=None.
    monkeypatch.setitem(act.ACTIVATIONS, "softplus_noout", act.ACTIVATIONS["relu"])
    register_activation("softplus_noout", lambda Z, out=None: np.logaddexp(0, Z),
                        lambda dA, Z, A, out=None: dA * act.sigmoid_forward(Z))
    net, X, Y = _small_net("softplus_noout")
    assert check_model(net, X, Y) < 1e-7


# --- refusals -------------------------------------------------------------------------------------
def test_refuses_float32_dropout_and_unbuilt():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 6)), np.arange(6) % 2
    net = DeepNetwork(layers=(3,), epochs=1)                         # float32 default
    net.fit(X, y)
    with pytest.raises(InvalidParameterError, match="float64"):
        check_model(net, X, y)
    net = DeepNetwork(layers=(3,), epochs=1, dtype="float64", keep_prob=0.5)
    net.fit(X, y)
    with pytest.raises(InvalidParameterError, match="keep_prob"):
        check_model(net, X, y)
    with pytest.raises(NotFittedError):
        check_model(DeepNetwork(dtype="float64"), X, y)


@pytest.mark.parametrize("acts, loss", [(["tanh", "sigmoid"], "squared_error"),
                                        (["relu", "softmax"], "squared_error"),
                                        (["tanh", "sigmoid"], "categorical_crossentropy")])
def test_engine_unfused_output_path(acts, loss):
    """An output activation not paired with its loss goes through loss.dA and the activation's backward."""
    from deepstep.engine import Engine
    from deepstep.gradcheck import numerical_gradient, relative_difference

    rng = np.random.default_rng(1)
    eng = Engine([3, 4, 2], acts, loss, np.float64)
    assert not eng.fused
    eng.theta[...] = rng.standard_normal(eng.theta.size) * 0.5
    X = rng.standard_normal((3, 7))
    Y = rng.uniform(0.1, 0.9, (2, 7)) if acts[-1] != "softmax" else np.eye(2)[:, rng.integers(0, 2, 7)]
    ws = eng.workspace(7)
    eng.forward(X, ws)
    analytic = eng.backward(X, Y, ws).copy()

    def J(theta):
        return eng.cost(eng.forward(X, eng.workspace(7)), Y)

    numeric = numerical_gradient(J, eng.theta)
    assert relative_difference(analytic, numeric) < 1e-7
