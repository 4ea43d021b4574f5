"""Every registered activation: finite-difference backward, out= buffers, extreme inputs."""

import warnings

import numpy as np
import pytest

from deepstep import InvalidParameterError, register_activation
from deepstep import activations as act

BUILTIN = sorted(act.ACTIVATIONS)


def _softplus(Z, out=None):
    with np.errstate(under="ignore"):       # log(1 + e^-1e30) = 0 is the right limit
        return np.logaddexp(0, Z, out=out)


def _softplus_backward(dA, Z, A, out=None):
    with np.errstate(under="ignore"):
        return np.multiply(dA, act.sigmoid_forward(Z), out=out)


@pytest.fixture(params=BUILTIN + ["user:softplus"])
def activation(request, monkeypatch):
    """Each built-in activation, and one registered by the user (removed afterwards)."""
    name = request.param
    if name.startswith("user:"):
        name = name[5:]
        monkeypatch.setitem(act.ACTIVATIONS, name, act.ACTIVATIONS["relu"])
        register_activation(name, _softplus, _softplus_backward)
    return act.get_activation(name)


def _Z(rng, shape=(4, 6)):
    Z = rng.standard_normal(shape) * 2
    return np.where(Z >= 0, Z + 0.05, Z - 0.05)    # away from the kinks of relu and leaky relu


def test_backward_matches_finite_differences(activation):
    """dZ[i] = ∂/∂Z[i] Σ dA ⊙ g(Z): covers the elementwise ones and softmax's coupled columns."""
    rng = np.random.default_rng(0)
    Z, dA = _Z(rng), rng.standard_normal((4, 6))
    A = activation.forward(Z)
    dZ = activation.backward(dA, Z, A)
    eps = 1e-6
    num = np.empty_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        num[idx] = (np.sum(dA * activation.forward(Zp)) - np.sum(dA * activation.forward(Zm))) / (2 * eps)
    np.testing.assert_allclose(dZ, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_buffers_give_the_same_result_and_keep_dtype(activation, dtype):
    rng = np.random.default_rng(1)
    Z = _Z(rng).astype(dtype)
    dA = rng.standard_normal(Z.shape).astype(dtype)
    Z0, dA0 = Z.copy(), dA.copy()
    A = activation.forward(Z)
    outA = np.empty_like(Z)
    A2 = activation.forward(Z, out=outA)
    np.testing.assert_array_equal(A2, A)
    dZ = activation.backward(dA, Z, A)
    outdZ = np.empty_like(Z)
    np.testing.assert_array_equal(activation.backward(dA, Z, A, out=outdZ), dZ)
    assert A.dtype == dtype and dZ.dtype == dtype
    np.testing.assert_array_equal(Z, Z0)            # inputs untouched
    np.testing.assert_array_equal(dA, dA0)


EXTREME = [-1e30, -1e4, -50.0, 0.0, 50.0, 1e4, 1e30]


def _extreme(dtype):
    """Extremes along rows and columns (softmax normalises each column)."""
    v = np.array(EXTREME, dtype=dtype)
    return np.stack([v, v[::-1], np.roll(v, 3)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_no_warning_no_nan(activation, dtype):
    _assert_extreme_ok(activation, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_default_errstate(activation, dtype):
    """Under NumPy's default error state (underflow ignored): no warning, no NaN, exact limits."""
    Z = _extreme(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = activation.forward(Z)
        dZ = activation.backward(np.ones_like(Z), Z, A)
    assert not np.isnan(A).any() and not np.isnan(dZ).any()
    if activation.name == "sigmoid":
        np.testing.assert_allclose(A[0], [0, 0, 1 / (1 + np.exp(50.0)), 0.5, 1, 1, 1], rtol=1e-6, atol=0)
    if activation.name == "softmax":
        np.testing.assert_allclose(A.sum(axis=0), 1, rtol=1e-6)


def _assert_extreme_ok(activation, dtype):
    Z = _extreme(dtype)
    dA = np.ones_like(Z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            A = activation.forward(Z)
            dZ = activation.backward(dA, Z, A)
    assert not np.isnan(A).any() and not np.isnan(dZ).any()
    assert A.dtype == dtype and dZ.dtype == dtype


def test_known_values_and_kink_conventions():
    Z = np.array([[-2.0, 0.0, 3.0]])
    one = np.ones_like(Z)
    np.testing.assert_array_equal(act.relu_forward(Z), [[0, 0, 3]])
    np.testing.assert_array_equal(act.relu_backward(one, Z, act.relu_forward(Z)), [[0, 0, 1]])   # Z<=0 -> 0
    np.testing.assert_allclose(act.leaky_relu_forward(Z), [[-0.02, 0, 3]])
    np.testing.assert_allclose(act.leaky_relu_backward(one, Z, act.leaky_relu_forward(Z)), [[0.01, 0.01, 1]])
    np.testing.assert_allclose(act.sigmoid_forward(np.array([0.0, np.log(4.0)])), [0.5, 0.8])
    np.testing.assert_allclose(act.tanh_forward(np.array([np.log(2.0)])), [0.6])   # (4-1)/(4+1)
    S = act.softmax_forward(np.array([[0.0, 1000.0], [np.log(3.0), 1000.0]]))
    np.testing.assert_allclose(S, [[0.25, 0.5], [0.75, 0.5]])                     # columns sum to one
    np.testing.assert_array_equal(act.linear_forward(Z), Z)


def test_registry_rules():
    assert act.get_activation("softmax").hidden is False
    assert all(act.get_activation(n).hidden for n in ("relu", "leaky_relu", "tanh", "sigmoid", "linear"))
    with pytest.raises(InvalidParameterError, match=r"Unknown activation 'rleu'.*Did you mean 'relu'\?"):
        act.get_activation("rleu")
    with pytest.raises(InvalidParameterError, match="non-empty string"):
        register_activation("", _softplus, _softplus_backward)
