"""Initializers: each scale against its published formula, the generator they consume, names, auto."""

import math

import numpy as np
import pytest

from deepstep import DeepNetwork, InvalidParameterError
from deepstep import initializers as init_mod
from deepstep.initializers import INITIALIZERS, get_initializer, initialize, register_initializer
from deepstep.targets import TargetEncoder

# The expected standard deviation of W[l] for n_in = n[l-1] inputs and n_out = n[l] units,
# written from the papers (not from the registry).
EXPECTED_STD = {
    "random": lambda n_in, n_out: 0.01,
    "scaled": lambda n_in, n_out: 1.0 / math.sqrt(n_in),            # LeCun
    "xavier": lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out)),  # Glorot & Bengio
    "he": lambda n_in, n_out: math.sqrt(2.0 / n_in),                # He et al.
    "large": lambda n_in, n_out: 10.0,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_STD))
def test_sample_std_of_a_large_draw_matches_the_formula(name):
    n_in, n_out = 500, 300                     # 150 000 weights
    W = initialize(name, np.random.default_rng(0), [n_in, n_out])["W1"]
    sigma = EXPECTED_STD[name](n_in, n_out)
    n = W.size
    # The sample std of n normal draws has relative standard error ~ 1/sqrt(2n); 6 of those.
    assert abs(W.std() / sigma - 1) < 6 / math.sqrt(2 * n)
    # The mean is 0 within 6 standard errors sigma/sqrt(n).
    assert abs(W.mean()) < 6 * sigma / math.sqrt(n)


@pytest.mark.parametrize("name", sorted(EXPECTED_STD))
def test_weights_are_the_scaled_standard_normal_draw(name):
    dims = [7, 5, 3, 2]
    params = initialize(name, np.random.default_rng(42), dims)
    rng = np.random.default_rng(42)
    for l in range(1, len(dims)):
        N = rng.standard_normal((dims[l], dims[l - 1]))           # drawn in layer order
        expected = N * EXPECTED_STD[name](dims[l - 1], dims[l])
        np.testing.assert_allclose(params[f"W{l}"], expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", [*sorted(EXPECTED_STD), "zeros"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtype_and_zero_biases(name, dtype):
    dims = [6, 4, 3, 1]
    params = initialize(name, np.random.default_rng(1), dims, dtype=dtype)
    assert sorted(params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    for l in range(1, 4):
        W, b = params[f"W{l}"], params[f"b{l}"]
        assert W.shape == (dims[l], dims[l - 1]) and b.shape == (dims[l], 1)
        assert W.dtype == dtype and b.dtype == dtype
        assert not b.any()
        if name != "zeros":
            assert np.count_nonzero(W) == W.size


def test_zeros_draws_nothing_from_the_generator():
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    params = initialize("zeros", rng, [4, 3, 2])
    assert rng.bit_generator.state == before
    assert all(not v.any() for v in params.values())


def test_per_layer_names_and_a_zeros_layer_consumes_no_draw():
    dims = [6, 5, 4, 3]
    params = initialize(["he", "zeros", "xavier"], np.random.default_rng(3), dims)
    rng = np.random.default_rng(3)
    N1 = rng.standard_normal((5, 6))
    N3 = rng.standard_normal((3, 4))            # the second draw: layer 2 drew nothing
    np.testing.assert_allclose(params["W1"], N1 * math.sqrt(2 / 6), rtol=1e-14)
    assert not params["W2"].any()
    np.testing.assert_allclose(params["W3"], N3 * math.sqrt(2 / (4 + 3)), rtol=1e-14)


def test_unknown_name_error_suggests_the_closest():
    with pytest.raises(InvalidParameterError, match=r"Unknown initializer 'xavir'.*Did you mean 'xavier'\?"):
        initialize("xavir", np.random.default_rng(0), [3, 2])
    with pytest.raises(InvalidParameterError, match=r"Allowed: .*'he'"):
        get_initializer("nothing-like-it")
    with pytest.raises(InvalidParameterError, match="Unknown initializer"):
        get_initializer(["he"])                  # unhashable: still a clear error


def test_register_initializer(monkeypatch):
    monkeypatch.setitem(INITIALIZERS, "ones", None)   # undone (deleted) after the test
    register_initializer("ones", lambda N, n_in, n_out: np.ones_like(N))
    params = initialize("ones", np.random.default_rng(0), [3, 2])
    np.testing.assert_array_equal(params["W1"], np.ones((2, 3)))


# --- the model's init="auto" -------------------------------------------------------------------------
def _built(activation, layers, init="auto", seed=0, **kw):
    net = DeepNetwork(layers=layers, activation=activation, init=init, seed=seed, dtype="float64", **kw)
    net.build(9, TargetEncoder("sigmoid", "labels", [0, 1], 1))
    return net


def _expected_weights(dims, names, seed):
    """The model's init stream, spelled out: the first of three spawned seeds."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])
    out = []
    for l in range(1, len(dims)):
        N = rng.standard_normal((dims[l], dims[l - 1]))
        out.append(N * EXPECTED_STD[names[l - 1]](dims[l - 1], dims[l]))
    return out


@pytest.mark.parametrize("activation,names", [
    ("relu", ["he", "he", "he"]),
    ("leaky_relu", ["he", "he", "he"]),
    ("tanh", ["xavier", "xavier", "xavier"]),
    ("sigmoid", ["xavier", "xavier", "xavier"]),
    (("relu", "tanh"), ["he", "xavier", "xavier"]),      # output follows its input's activation
    (("tanh", "relu"), ["xavier", "he", "he"]),
])
def test_auto_init_per_activation(activation, names):
    net = _built(activation, (6, 4), seed=11)
    dims = net.layer_dims
    assert dims == [9, 6, 4, 1]
    for l, expected in enumerate(_expected_weights(dims, names, 11), start=1):
        np.testing.assert_allclose(net.parameters[f"W{l}"], expected, rtol=1e-14, atol=0)
        assert not net.parameters[f"b{l}"].any()


def test_auto_init_without_hidden_layers_is_xavier():
    net = _built("relu", ())
    (expected,) = _expected_weights([9, 1], ["xavier"], 0)
    np.testing.assert_allclose(net.parameters["W1"], expected, rtol=1e-14)


def test_auto_table_covers_every_hidden_activation():
    from deepstep.activations import ACTIVATIONS

    hidden = {k for k, a in ACTIVATIONS.items() if a.hidden}
    assert hidden <= set(init_mod.AUTO_INIT)
    assert all(v in INITIALIZERS for v in init_mod.AUTO_INIT.values())


def test_explicit_init_and_the_legacy_stream():
    # init_rng="mt19937": np.random.seed(s); np.random.randn(...) draws, from a local RandomState.
    net = _built("relu", (5,), init="random", seed=1, init_rng="mt19937")
    rs = np.random.RandomState(1)
    np.testing.assert_allclose(net.parameters["W1"], rs.randn(5, 9) * 0.01, rtol=1e-14)
    np.testing.assert_allclose(net.parameters["W2"], rs.randn(1, 5) * 0.01, rtol=1e-14)
