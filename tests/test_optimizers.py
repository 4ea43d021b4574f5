"""Optimizer kernels on hand-computed values; the flat-buffer classes agree with the kernels."""

import math

import numpy as np
import pytest

from deepstep import HyperParameters, InvalidParameterError
from deepstep import optimizers as opt

NAMES = sorted(opt.OPTIMIZERS)


def test_gd_by_hand():
    p = np.array([1.0, -1.0])
    opt.gd_update(p, np.array([2.0, -4.0]), 0.1)
    np.testing.assert_allclose(p, [0.8, -0.6], rtol=1e-15)


def test_momentum_and_nesterov_by_hand():
    p, v = np.array([1.0]), np.array([0.0])
    opt.momentum_update(p, np.array([2.0]), v, 0.9, 0.1)
    np.testing.assert_allclose(v, [0.2], rtol=1e-15)                 # 0.9·0 + 0.1·2
    np.testing.assert_allclose(p, [1 - 0.1 * 0.2], rtol=1e-15)
    opt.momentum_update(p, np.array([2.0]), v, 0.9, 0.1)
    np.testing.assert_allclose(v, [0.38], rtol=1e-15)                # 0.9·0.2 + 0.2
    np.testing.assert_allclose(p, [0.98 - 0.038], rtol=1e-15)
    p, v = np.array([1.0]), np.array([0.0])
    opt.nesterov_update(p, np.array([2.0]), v, 0.9, 0.1)
    np.testing.assert_allclose(v, [0.2], rtol=1e-15)
    np.testing.assert_allclose(p, [1 - 0.1 * (0.9 * 0.2 + 0.1 * 2)], rtol=1e-15)


def test_rmsprop_by_hand():
    p, s = np.array([1.0]), np.array([0.0])
    opt.rmsprop_update(p, np.array([2.0]), s, 0.999, 0.1, 1e-8)
    np.testing.assert_allclose(s, [0.004], rtol=1e-12)               # 0.001·4
    np.testing.assert_allclose(p, [1 - 0.1 * 2 / (math.sqrt(0.004) + 1e-8)], rtol=1e-14)


def test_adam_by_hand_bias_correction():
    p, v, s = np.array([1.0]), np.array([0.0]), np.array([0.0])
    opt.adam_update(p, np.array([2.0]), v, s, 1, 0.1, 0.9, 0.999, 1e-8)
    # t=1: v = 0.2, s = 0.004, v̂ = 2, ŝ = 4, step = 0.1·2/(2 + 1e-8)
    np.testing.assert_allclose([v[0], s[0]], [0.2, 0.004], rtol=1e-12)
    np.testing.assert_allclose(p, [1 - 0.2 / (2 + 1e-8)], rtol=1e-14)
    opt.adam_update(p, np.array([-1.0]), v, s, 2, 0.1, 0.9, 0.999, 1e-8)
    v2, s2 = 0.9 * 0.2 - 0.1, 0.999 * 0.004 + 0.001
    step = 0.1 * (v2 / (1 - 0.81)) / (math.sqrt(s2 / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(p, [1 - 0.2 / (2 + 1e-8) - step], rtol=1e-12)


def test_schedules_by_hand():
    assert opt.inverse_decay(1.0, 4, 0.5) == pytest.approx(1 / 3)
    assert opt.step_decay(1.0, 2500, 1.0, 1000) == pytest.approx(1 / 3)     # floor(2.5) = 2
    assert opt.step_decay(1.0, 999, 1.0, 1000) == 1.0
    assert opt.SCHEDULES["constant"](0.3, 100, 5.0, 1) == 0.3


def _kernel_step(name, p, g, state, t, lr, hp):
    if name == "gd":
        opt.gd_update(p, g, lr)
    elif name == "momentum":
        opt.momentum_update(p, g, state["v"], hp.momentum, lr)
    elif name == "nesterov":
        opt.nesterov_update(p, g, state["v"], hp.momentum, lr)
    elif name == "rmsprop":
        opt.rmsprop_update(p, g, state["s"], hp.beta2, lr, hp.epsilon)
    elif name == "adam":
        opt.adam_update(p, g, state["v"], state["s"], t, lr, hp.momentum, hp.beta2, hp.epsilon)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_flat_buffer_optimizer_equals_kernels_per_parameter(name, dtype):
    """One flat buffer vs the kernels applied to each W/b piece separately: bit for bit."""
    hp = HyperParameters(optimizer=name, momentum=0.8, beta2=0.99, epsilon=1e-7)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(11).astype(dtype)
    pieces = [theta[:6].copy(), theta[6:].copy()]                  # e.g. W1 (2, 3) and b1 (5,)
    states = [{k: np.zeros_like(q) for k in ("v", "s")} for q in pieces]
    o = opt.get_optimizer(name, hp)
    o.init_state(theta)
    for t in range(1, 5):
        g = rng.standard_normal(11).astype(dtype)
        o.step(theta, g, 0.05)
        for q, st, gq in zip(pieces, states, (g[:6], g[6:])):
            _kernel_step(name, q, gq, st, t, 0.05, hp)
    np.testing.assert_array_equal(theta, np.concatenate(pieces))
    assert theta.dtype == dtype and o.t == 4


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_resumes_exactly(name):
    hp = HyperParameters(optimizer=name)
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(5) for _ in range(6)]
    a = rng.standard_normal(5)
    b = a.copy()
    oa = opt.get_optimizer(name, hp)
    oa.init_state(a)
    for g in grads:
        oa.step(a, g, 0.01)
    ob = opt.get_optimizer(name, hp)
    ob.init_state(b)
    for g in grads[:3]:
        ob.step(b, g, 0.01)
    saved = ob.get_state()
    oc = opt.get_optimizer(name, hp)
    oc.set_state(saved, b)
    for g in grads[3:]:
        oc.step(b, g, 0.01)
    np.testing.assert_array_equal(a, b)


def test_unknown_optimizer_suggests():
    with pytest.raises(InvalidParameterError, match="Did you mean 'adam'"):
        opt.get_optimizer("adma", HyperParameters())
