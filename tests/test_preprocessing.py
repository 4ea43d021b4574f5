"""Scaler: each kind on hand-computed data, constant features, in-place application, stored arrays."""

import math

import numpy as np
import pytest

from deepstep.preprocessing import Scaler

# Three features (rows) x four examples (columns); the middle feature is constant.
X = np.array([[1.0, 2.0, 3.0, 4.0],
              [10.0, 10.0, 10.0, 10.0],
              [0.0, 0.0, 6.0, 2.0]])

# By hand: feature 0 has mean 2.5 and population variance (2.25+0.25+0.25+2.25)/4 = 1.25;
# feature 2 has mean 2 and variance (4+4+16+0)/4 = 6.
STANDARDIZED = np.array([[-1.5, -0.5, 0.5, 1.5] / np.sqrt(1.25),
                         [0.0, 0.0, 0.0, 0.0],
                         [-2.0, -2.0, 4.0, 0.0] / np.sqrt(6.0)])
# By hand: feature 0 spans 1..4, feature 2 spans 0..6.
MINMAXED = np.array([[0.0, 1 / 3, 2 / 3, 1.0],
                     [0.0, 0.0, 0.0, 0.0],
                     [0.0, 0.0, 1.0, 1 / 3]])


def test_standardize_by_hand():
    s = Scaler("standardize").fit(X)
    np.testing.assert_allclose(s.shift, [2.5, 10.0, 2.0], rtol=1e-15)
    np.testing.assert_allclose(s.factor, [1 / math.sqrt(1.25), 1.0, 1 / math.sqrt(6.0)], rtol=1e-15)
    np.testing.assert_allclose(s.transform(X, np.float64), STANDARDIZED, rtol=1e-14, atol=1e-15)


def test_minmax_by_hand():
    s = Scaler("minmax").fit(X)
    np.testing.assert_allclose(s.shift, [1.0, 10.0, 0.0])
    np.testing.assert_allclose(s.factor, [1 / 3, 1.0, 1 / 6], rtol=1e-15)
    np.testing.assert_allclose(s.transform(X, np.float64), MINMAXED, rtol=1e-14, atol=1e-15)


def test_minmax_with_negative_values_maps_onto_unit_interval():
    Xn = np.array([[-5.0, 5.0, 0.0], [-1.0, -3.0, -2.0]])
    T = Scaler("minmax").fit(Xn).transform(Xn, np.float64)
    np.testing.assert_allclose(T, [[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]], atol=1e-15)


def test_divide255_is_the_seeds_division():
    img = np.array([[0, 51, 255], [102, 204, 17]], dtype=np.uint8)
    s = Scaler("divide255").fit(img)
    assert s.to_arrays() == {}                         # nothing fitted, nothing stored
    T = s.transform(img, np.float64)
    np.testing.assert_array_equal(T, img.astype(np.float64) / 255.0)
    assert T[0, 1] == 0.2 and T[0, 2] == 1.0


@pytest.mark.parametrize("kind", ["none", None])
def test_none_is_the_identity(kind):
    s = Scaler(kind).fit(X)
    assert s.is_identity and s.to_arrays() == {}
    T = s.transform(X, np.float32)
    assert T.dtype == np.float32
    np.testing.assert_array_equal(T, X.astype(np.float32))
    A = X.copy()
    assert s.apply_(A) is A
    np.testing.assert_array_equal(A, X)


@pytest.mark.parametrize("kind", ["standardize", "minmax"])
def test_constant_features_do_not_divide_by_zero(kind):
    Xc = np.array([[3.0, 3.0, 3.0], [-7.0, -7.0, -7.0], [0.0, 0.0, 0.0]])
    with np.errstate(all="raise"):                     # a 0/0 or x/0 would raise here
        s = Scaler(kind).fit(Xc)
        T = s.transform(Xc, np.float64)
    np.testing.assert_array_equal(T, np.zeros_like(Xc))
    np.testing.assert_array_equal(s.factor, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("kind", ["standardize", "minmax", "divide255"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_in_place_along_either_axis_agrees_with_transform(kind, dtype):
    rng = np.random.default_rng(0)
    Xr = rng.uniform(-3, 300, size=(5, 40))
    s = Scaler(kind).fit(Xr)
    expected = s.transform(Xr, dtype)
    assert expected.dtype == dtype and not np.shares_memory(expected, Xr)

    cols = Xr.astype(dtype)                            # features along axis 0: (n_x, m)
    assert s.apply_(cols, axis=0) is cols
    np.testing.assert_array_equal(cols, expected)

    rows = np.ascontiguousarray(Xr.T, dtype=dtype)     # features along axis 1: (m, n_x), the model's rows
    assert s.apply_(rows, axis=1) is rows
    assert rows.dtype == dtype
    np.testing.assert_array_equal(rows.T, expected)


@pytest.mark.parametrize("kind", ["standardize", "minmax"])
def test_statistics_in_float64_from_float32_and_int_data(kind):
    Xi = np.array([[1, 2, 3, 4], [0, 0, 6, 2]], dtype=np.int64)
    s32 = Scaler(kind).fit(Xi.astype(np.float32))
    s_int = Scaler(kind).fit(Xi)
    s64 = Scaler(kind).fit(Xi.astype(np.float64))
    for s in (s32, s_int):
        assert s.shift.dtype == np.float64 and s.factor.dtype == np.float64
        np.testing.assert_allclose(s.shift, s64.shift, rtol=1e-15)
        np.testing.assert_allclose(s.factor, s64.factor, rtol=1e-7)
    assert s_int.transform(Xi, np.float32).dtype == np.float32


def test_transform_does_not_touch_its_input():
    s = Scaler("standardize").fit(X)
    Xf = X.copy()
    s.transform(Xf, np.float64)
    np.testing.assert_array_equal(Xf, X)


@pytest.mark.parametrize("kind", ["standardize", "minmax", "divide255", "none"])
def test_to_arrays_from_arrays_round_trip(kind):
    s = Scaler(kind).fit(X)
    arrays = {k: np.array(v) for k, v in s.to_arrays().items()}       # as read back from a file
    t = Scaler.from_arrays(kind, arrays)
    assert t.kind == kind and t.is_identity == s.is_identity
    if s.shift is not None:
        np.testing.assert_array_equal(t.shift, s.shift)
        np.testing.assert_array_equal(t.factor, s.factor)
    Xnew = X * 2 + 1
    np.testing.assert_array_equal(t.transform(Xnew, np.float64), s.transform(Xnew, np.float64))


def test_constructor_accepts_lists_and_column_vectors():
    s = Scaler("standardize", [[1.0], [2.0]], [[0.5], [4]])
    assert s.shift.shape == (2,) and s.factor.dtype == np.float64
    T = s.transform(np.array([[3.0, 1.0], [2.0, 2.5]]), np.float64)
    np.testing.assert_array_equal(T, [[1.0, 0.0], [0.0, 2.0]])
