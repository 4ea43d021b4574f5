"""Losses: hand-computed costs, finite-difference dA, the fused A - Y identity, saturation."""

import warnings

import numpy as np
import pytest

from deepstep import InvalidParameterError, losses
from deepstep import activations as act

NAMES = sorted(losses.LOSSES)


def _pair(name, rng, k=3, m=5):
    """Outputs AL and targets Y a loss is used with, plus the pre-activation Z of its link."""
    Z = rng.standard_normal((k, m))
    AL = act.get_activation(losses.get_loss(name).link).forward(Z)
    if name == "binary_crossentropy":
        Y = (rng.random((k, m)) < 0.5).astype(float)
    elif name == "categorical_crossentropy":
        Y = np.eye(k)[:, rng.integers(0, k, m)]
    else:
        Y = rng.standard_normal((k, m))
    return Z, AL, Y


def test_costs_by_hand():
    AL = np.array([[0.8, 0.9, 0.4]])
    Y = np.array([[1.0, 1.0, 0.0]])
    assert losses.binary_crossentropy(AL, Y) == pytest.approx(-(np.log(.8) + np.log(.9) + np.log(.6)) / 3)
    P = np.array([[0.7, 0.2], [0.2, 0.5], [0.1, 0.3]])
    Yc = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    assert losses.categorical_crossentropy(P, Yc) == pytest.approx(-(np.log(0.7) + np.log(0.3)) / 2)
    A = np.array([[1.0, 2.0], [0.0, -1.0]])
    T = np.array([[0.0, 2.0], [2.0, 0.0]])
    assert losses.squared_error(A, T) == pytest.approx((1 + 0 + 4 + 1) / (2 * 2))   # 1/(2m) Σ D²


def test_dA_by_hand():
    AL = np.array([[0.8, 0.4]])
    Y = np.array([[1.0, 0.0]])
    np.testing.assert_allclose(losses.binary_crossentropy_dA(AL, Y), [[-1 / 0.8, 1 / 0.6]])
    np.testing.assert_allclose(losses.categorical_crossentropy_dA(np.array([[0.25], [0.75]]),
                                                                  np.array([[0.0], [1.0]])), [[0], [-4 / 3]])
    np.testing.assert_allclose(losses.squared_error_dA(np.array([[3.0]]), np.array([[1.0]])), [[2.0]])


@pytest.mark.parametrize("name", NAMES)
def test_dA_is_m_times_the_gradient_of_the_cost(name):
    rng = np.random.default_rng(0)
    _, AL, Y = _pair(name, rng)
    m = Y.shape[1]
    loss = losses.get_loss(name)
    eps = 1e-7
    num = np.empty_like(AL)
    for idx in np.ndindex(AL.shape):
        P, M = AL.copy(), AL.copy()
        P[idx] += eps
        M[idx] -= eps
        num[idx] = (loss.cost(P, Y) - loss.cost(M, Y)) / (2 * eps)
    np.testing.assert_allclose(loss.dA(AL, Y), m * num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_fused_gradient_identity(name):
    """g'(Z) applied to dA equals AL - Y for each loss and its link: what the engine's fusion assumes."""
    rng = np.random.default_rng(1)
    Z, AL, Y = _pair(name, rng)
    link = act.get_activation(losses.get_loss(name).link)
    dZ = link.backward(losses.get_loss(name).dA(AL, Y), Z, AL)
    np.testing.assert_allclose(dZ, AL - Y, rtol=1e-10, atol=1e-12)


def test_every_output_has_its_paired_loss():
    for output, name in losses.OUTPUT_LOSS.items():
        assert losses.get_loss(name).link == output


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy"])
def test_saturated_outputs_give_finite_cost_without_warnings(name, dtype):
    AL = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=dtype)
    Y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=dtype)            # maximally wrong
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            cost = losses.get_loss(name).cost(AL, Y)
            dA = losses.get_loss(name).dA(AL, Y)
    # clipped at the dtype's eps: the cost is about -log(eps) per wrong unit
    assert np.isfinite(cost) and cost >= -np.log(np.finfo(dtype).eps) * 0.99
    assert np.isfinite(dA).all()
    perfect = losses.get_loss(name).cost(Y, Y)
    assert 0 <= perfect < 1e-6


def test_unknown_loss_suggests():
    with pytest.raises(InvalidParameterError, match="Did you mean 'squared_error'"):
        losses.get_loss("squared_eror")
