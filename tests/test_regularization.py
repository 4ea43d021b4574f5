"""L2 and inverted dropout: the kernels by hand, and the engine's masks statistically."""

import math

import numpy as np
import pytest

from deepstep.engine import Engine
from deepstep.regularization import dropout_apply, l2_cost, l2_grad

W1 = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])    # ‖W1‖² = 1 + 4 + 1 + 9 = 15
W2 = np.array([[2.0, -2.0]])                           # ‖W2‖² = 8


# --- L2 -----------------------------------------------------------------------------------------------
def test_l2_cost_by_hand():
    # λ/(2m) Σ‖W‖² = 0.7 / 10 · 23
    assert l2_cost([W1, W2], 0.7, 5) == pytest.approx(1.61, rel=1e-15)
    assert isinstance(l2_cost([W1, W2], 0.7, 5), float)
    assert l2_cost([W1, W2], 0.0, 5) == 0.0
    assert l2_cost([W1], 2.0, 1) == pytest.approx(15.0)


def test_l2_cost_in_the_engine_counts_weights_only():
    eng = Engine([3, 2, 1], ["relu", "sigmoid"], "binary_crossentropy", np.float64)
    eng.set_parameters({"W1": W1, "b1": np.array([[100.0], [-50.0]]), "W2": W2, "b2": np.array([[7.0]])})
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 5))
    Y = (rng.random((1, 5)) > 0.5).astype(np.float64)
    AL = eng.forward(X, eng.workspace(5))
    extra = eng.cost(AL, Y, l2=0.7) - eng.cost(AL, Y)
    assert extra == pytest.approx(0.7 / (2 * 5) * 23, rel=1e-12)     # the biases (huge) add nothing


def test_l2_grad_adds_lambda_over_m_times_w_in_place():
    dW = np.array([[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    before = dW.copy()
    out = l2_grad(dW, W1, 0.6, 3)
    assert out is dW
    np.testing.assert_allclose(dW, before + 0.2 * W1, rtol=1e-15)
    same = l2_grad(dW, W1, 0.0, 3)
    assert same is dW
    np.testing.assert_allclose(dW, before + 0.2 * W1, rtol=1e-15)     # λ = 0 leaves it alone


def test_engine_backward_l2_term_is_lambda_over_m_w():
    eng = Engine([3, 2, 1], ["tanh", "sigmoid"], "binary_crossentropy", np.float64)
    eng.set_parameters({"W1": W1, "b1": np.zeros((2, 1)), "W2": W2, "b2": np.zeros((1, 1))})
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((3, 4)), np.array([[0.0, 1.0, 1.0, 0.0]])
    ws = eng.workspace(4)
    eng.forward(X, ws)
    plain = eng.backward(X, Y, ws).copy()
    eng.forward(X, ws)
    reg = eng.backward(X, Y, ws, l2=0.8).copy()
    dW1 = slice(0, 6)
    np.testing.assert_allclose(reg[dW1] - plain[dW1], (0.8 / 4 * W1).ravel(), rtol=1e-12, atol=1e-15)
    db1 = slice(6, 8)
    np.testing.assert_array_equal(reg[db1], plain[db1])                # biases: no decay


# --- dropout kernel ------------------------------------------------------------------------------------
def test_dropout_apply_by_hand():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    D = np.array([[1.0, 0.0], [0.0, 1.0]])
    out = dropout_apply(A, D, 0.5)
    np.testing.assert_array_equal(out, [[2.0, 0.0], [0.0, 8.0]])
    np.testing.assert_array_equal(A, [[1.0, 2.0], [3.0, 4.0]])           # no out=: A untouched


def test_dropout_apply_in_place_and_into_a_buffer():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 6))
    D = (rng.random((4, 6)) < 0.7).astype(A.dtype)
    expected = A * D / 0.7
    buf = np.empty_like(A)
    assert dropout_apply(A, D, 0.7, out=buf) is buf
    np.testing.assert_allclose(buf, expected, rtol=1e-15)
    A2 = A.copy()
    assert dropout_apply(A2, D, 0.7, out=A2) is A2
    np.testing.assert_allclose(A2, expected, rtol=1e-15)


def test_dropout_apply_accepts_a_boolean_mask():
    A = np.arange(6.0).reshape(2, 3)
    D = np.array([[True, False, True], [False, True, True]])
    np.testing.assert_allclose(dropout_apply(A, D, 0.8), A * D / 0.8)


# --- the engine's masks --------------------------------------------------------------------------------
@pytest.mark.parametrize("keep_prob", [0.5, 0.8])
def test_engine_masks_keep_keep_prob_of_units_and_preserve_the_mean(keep_prob):
    dims, m = [10, 400, 300, 1], 250
    eng = Engine(dims, ["relu", "relu", "sigmoid"], "binary_crossentropy", np.float64)
    rng = np.random.default_rng(0)
    eng.set_parameters({"W1": rng.standard_normal((400, 10)), "b1": rng.standard_normal((400, 1)),
                        "W2": rng.standard_normal((300, 400)) * 0.05, "b2": np.zeros((300, 1)),
                        "W3": rng.standard_normal((1, 300)) * 0.05, "b3": np.zeros((1, 1))})
    X = rng.standard_normal((10, m))
    ws = eng.workspace(m, dropout=True)
    eng.forward(X, ws, keep_prob, np.random.default_rng(123))
    assert len(ws.D) == 2                               # hidden layers only, never the output
    p = keep_prob
    for l in range(2):
        D = ws.D[l]
        assert set(np.unique(D)) <= {0.0, 1.0}
        n = D.size
        # The kept count is Binomial(n, p): within 5 of its standard deviations.
        assert abs(D.sum() - n * p) < 5 * math.sqrt(n * p * (1 - p))
        # Survivors scaled by 1/p, the dropped are zero.
        np.testing.assert_allclose(ws.Ad[l], ws.A[l] * D / p, rtol=1e-15)
    # Layer 1's activation before dropout does not depend on any mask, so E[Ad] = A exactly:
    # Σ(Ad - A) = Σ A (D/p - 1) has mean 0 and variance Σ A² (1 - p)/p.
    A, Ad = ws.A[0], ws.Ad[0]
    sd = math.sqrt(np.sum(A * A) * (1 - p) / p)
    assert abs(np.sum(Ad - A)) < 5 * sd
    assert np.sum(A) > 50 * sd                           # the tolerance is tight against the signal


def test_engine_masks_come_from_the_given_generator():
    eng = Engine([5, 50, 1], ["relu", "sigmoid"], "binary_crossentropy", np.float64)
    eng.set_parameters({"W1": np.ones((50, 5)), "b1": np.ones((50, 1)),
                        "W2": np.ones((1, 50)) * 0.01, "b2": np.zeros((1, 1))})
    X = np.ones((5, 20))
    masks = []
    for seed in (7, 7, 8):
        ws = eng.workspace(20, dropout=True)
        eng.forward(X, ws, 0.6, np.random.default_rng(seed))
        masks.append(ws.D[0].copy())
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])
    # The mask is U < keep_prob for the generator's uniform draws, in layout order.
    U = np.random.default_rng(7).random((50, 20))
    np.testing.assert_array_equal(masks[0], (U < 0.6).astype(np.float64))
