"""The linear kernels shared by the lesson's steps and the engine."""

import numpy as np
import pytest

from deepstep import steps
from deepstep.linear import linear_backward, linear_forward


@pytest.fixture
def layer():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 5)), rng.standard_normal((4, 3)), rng.standard_normal((4, 1))


def test_forward_by_hand(layer):
    A, W, b = layer
    expected = np.array([[sum(W[i, k] * A[k, j] for k in range(3)) + b[i, 0] for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(linear_forward(A, W, b), expected, rtol=1e-13)


def test_forward_into_out_buffer(layer):
    A, W, b = layer
    out = np.empty((4, 5))
    Z = linear_forward(A, W, b, out=out)
    assert Z is out
    np.testing.assert_array_equal(out, W @ A + b)


def test_backward_sums_over_examples_by_hand(layer):
    A, W, _ = layer
    dZ = np.random.default_rng(1).standard_normal((4, 5))
    dA, dW, db = linear_backward(dZ, A, W)
    np.testing.assert_allclose(dW, sum(np.outer(dZ[:, j], A[:, j]) for j in range(5)), rtol=1e-13)
    np.testing.assert_allclose(db[:, 0], dZ.sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(dA, sum(np.outer(W[i], dZ[i]) for i in range(4)), rtol=1e-13)
    assert db.shape == (4, 1)


def test_backward_without_dA_prev_and_into_buffers(layer):
    A, W, _ = layer
    dZ = np.ones((4, 5))
    dW, db = np.empty((4, 3)), np.empty((4, 1))
    dA, dW_out, db_out = linear_backward(dZ, A, W, dW, db, need_dA_prev=False)
    assert dA is None and dW_out is dW and db_out is db
    np.testing.assert_array_equal(db, np.full((4, 1), 5.0))


def test_the_seeds_linear_backward_is_the_kernel_over_m(layer):
    A, W, b = layer
    dZ = np.random.default_rng(2).standard_normal((4, 5))
    dA_prev, dW, db = steps.linear_backward(dZ, (A, W, b))
    k_dA, k_dW, k_db = linear_backward(dZ, A, W)
    np.testing.assert_array_equal(dA_prev, k_dA)
    np.testing.assert_array_equal(dW, 1 / 5 * k_dW)
    np.testing.assert_array_equal(db, 1 / 5 * k_db)
