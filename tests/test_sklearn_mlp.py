"""The drop-in MLPClassifier / MLPRegressor: public-behaviour equivalents of scikit-learn's tests
that read its private attributes, the common checks, and what the drop-in adds."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import (
    check_estimator,
    check_sample_weight_equivalence_on_dense_data,
)

from deepstep.persistence import load
from deepstep.sklearn import MLPClassifier, MLPRegressor

X_digits, y_digits = load_digits(n_class=2, return_X_y=True)
X_bin = MinMaxScaler().fit_transform(X_digits[:200])[:100]
y_bin = y_digits[:100]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread: the suite runs under pytest -n 2 on 2 cores, and OpenBLAS's spinning
    threads make these small products many times slower when the cores are oversubscribed."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _quiet():
    warnings.simplefilter("ignore", ConvergenceWarning)


# --- scikit-learn's private-attribute tests, through public behaviour -------------------------------
def test_fit_worked_example_through_public_coefs():
    """scikit-learn's test_fit: one SGD step from set weights, checked against its worked example."""
    X = np.array([[0.6, 0.8, 0.7]])
    y = np.array([0])
    mlp = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
                        random_state=1, max_iter=1, hidden_layer_sizes=2, momentum=0)
    with warnings.catch_warnings():
        _quiet()
        mlp.partial_fit(X, y, classes=[0, 1])            # builds the network
    mlp.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    mlp.partial_fit(X, y)                                 # one step from the worked example's weights
    assert_allclose(mlp.coefs_[0], [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]],
                    atol=1e-3)
    assert_allclose(mlp.coefs_[1], [[0.04706], [0.154089]], atol=1e-3)
    assert_allclose(mlp.intercepts_[0], [0.098333, 0.09626], atol=1e-3)
    assert_allclose(mlp.intercepts_[1], [0.9235], atol=1e-3)
    assert mlp.predict_proba(X)[0, 1] == pytest.approx(0.739, abs=1e-3)


@pytest.mark.parametrize("n_labels", [2, 3])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_gradient_matches_finite_differences_through_network_(n_labels, activation):
    """scikit-learn's test_gradient: the fitted network's gradient against central differences."""
    from deepstep.gradcheck import check_model

    rs = np.random.RandomState(42)
    X = rs.rand(5, 10)
    y = 1 + np.mod(np.arange(5) + 1, n_labels)
    mlp = MLPClassifier(activation=activation, hidden_layer_sizes=10, solver="lbfgs", alpha=1e-5,
                        max_iter=1, random_state=1)
    with warnings.catch_warnings():
        _quiet()
        mlp.fit(X, y)
    net = mlp.network_                                    # the same weights, activations and L2
    assert net.activations[-1] == ("softmax" if n_labels > 2 else "sigmoid")
    assert check_model(net, X.T, y) < 1e-6


def test_invscaling_learning_rate_carries_over_warm_starts():
    """scikit-learn's test_learning_rate_warmstart, through learning_rate_."""
    X = [[3, 2], [1, 6], [5, 6], [-2, -4]]
    y = [1, 1, 1, 0]
    for schedule in ("invscaling", "constant"):
        mlp = MLPClassifier(solver="sgd", hidden_layer_sizes=4, learning_rate=schedule, max_iter=1,
                            power_t=0.25, warm_start=True)
        with warnings.catch_warnings():
            _quiet()
            mlp.fit(X, y)
            prev = mlp.learning_rate_
            mlp.fit(X, y)
        if schedule == "constant":
            assert mlp.learning_rate_ == prev == mlp.learning_rate_init
        else:                                             # t_ = 8 samples seen over two fits
            assert mlp.t_ == 8
            assert mlp.learning_rate_ == mlp.learning_rate_init / pow(8 + 1, mlp.power_t)


def test_adaptive_learning_rate_divides_until_it_stops():
    """scikit-learn's test_adaptive_learning_rate, through learning_rate_."""
    clf = MLPClassifier(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive")
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.max_iter > clf.n_iter_
    assert clf.learning_rate_ < 1e-6


def _trailing_no_improvement(curve, tol):
    """The stopping rule's counter, replayed on loss_curve_."""
    best, count = np.inf, 0
    for loss in curve:
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
    return count


@pytest.mark.parametrize("n_iter_no_change", [2, 10])
def test_n_iter_no_change_stops_after_that_many_epochs_without_improvement(n_iter_no_change):
    """scikit-learn's test_n_iter_no_change, replayed from loss_curve_."""
    clf = MLPClassifier(tol=0.01, max_iter=3000, solver="sgd", n_iter_no_change=n_iter_no_change)
    clf.fit(X_bin, y_bin)
    assert clf.n_iter_ < 3000
    assert _trailing_no_improvement(clf.loss_curve_, 0.01) == n_iter_no_change + 1


def test_n_iter_no_change_inf_runs_to_max_iter():
    """scikit-learn's test_n_iter_no_change_inf, replayed from loss_curve_."""
    with warnings.catch_warnings():
        _quiet()
        clf = MLPClassifier(tol=1e9, max_iter=300, solver="sgd", n_iter_no_change=np.inf).fit(X_bin, y_bin)
    assert clf.n_iter_ == 300 == len(clf.loss_curve_)
    assert _trailing_no_improvement(clf.loss_curve_, 1e9) == clf.n_iter_ - 1


# --- the common checks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("est", [MLPClassifier(max_iter=100, hidden_layer_sizes=(20,)),
                                 MLPRegressor(max_iter=100, hidden_layer_sizes=(20,))], ids=repr)
def test_check_estimator(est):
    with warnings.catch_warnings():
        _quiet()
        check_estimator(est)


@pytest.mark.parametrize("est", [MLPClassifier(solver="lbfgs"),
                                 MLPRegressor(solver="sgd", tol=1e-2, random_state=42)], ids=repr)
def test_sample_weight_equivalence_with_scikit_learns_settings(est):
    """The settings scikit-learn's own common tests use for this check on its MLP."""
    with warnings.catch_warnings():
        _quiet()
        check_sample_weight_equivalence_on_dense_data(type(est).__name__, est)


# --- the drop-in's extras and its file -----------------------------------------------------------------
def test_class_weight_weights_the_minority_class():
    X, y = make_classification(n_samples=300, n_features=6, weights=[0.9], class_sep=0.5, random_state=1)
    kw = dict(hidden_layer_sizes=8, solver="lbfgs", max_iter=60, random_state=0)
    with warnings.catch_warnings():
        _quiet()
        plain = MLPClassifier(**kw).fit(X, y)
        balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
        by_hand = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 1, 300 / (2 * (y == 1).sum()),
                                                                      300 / (2 * (y == 0).sum())))
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    assert_allclose(balanced.coefs_[0], by_hand.coefs_[0], rtol=1e-6, atol=1e-8)


def test_network_file_round_trip_predicts_the_same(tmp_path):
    with warnings.catch_warnings():
        _quiet()
        clf = MLPClassifier(hidden_layer_sizes=(7,), max_iter=20, random_state=0).fit(X_bin, y_bin)
    path = tmp_path / "mlp.npz"
    clf.network_.save(path)
    net = load(path)
    assert_array_equal(net.predict(X_bin.T).ravel(), clf.predict(X_bin))
    assert_allclose(net.predict_proba(X_bin.T).ravel(), clf.predict_proba(X_bin)[:, 1], rtol=1e-6)


def test_pickle_keeps_the_optimizer_state():
    reg = MLPRegressor(hidden_layer_sizes=5, max_iter=3, random_state=0)
    X, y = X_bin[:40], np.linspace(0, 1, 40)
    with warnings.catch_warnings():
        _quiet()
        reg.fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    reg.partial_fit(X, y)
    copy.partial_fit(X, y)
    assert_array_equal(reg.predict(X), copy.predict(X))


def test_non_finite_weights_leave_the_estimator_as_it_was():
    """Consistent after an exception: a failed fit leaves no half-fitted attributes."""
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    reg = MLPRegressor()
    with warnings.catch_warnings(), pytest.raises(ValueError, match="non-finite parameter weights"):
        warnings.simplefilter("ignore")
        reg.fit(X, rng.standard_normal(10))
    assert not hasattr(reg, "coefs_") and not hasattr(reg, "n_iter_")


def test_float32_in_float32_out():
    with warnings.catch_warnings():
        _quiet()
        reg = MLPRegressor(hidden_layer_sizes=4, max_iter=5, random_state=0).fit(
            X_bin.astype(np.float32), np.linspace(0, 1, 100))
    assert reg.coefs_[0].dtype == np.float32 and reg.predict(X_bin.astype(np.float32)).dtype == np.float32


# --- the same numbers as scikit-learn's MLP --------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(solver="sgd", batch_size=32),
    dict(solver="sgd", nesterovs_momentum=False, early_stopping=True, learning_rate="invscaling"),
    dict(solver="adam", activation="tanh"),
    dict(solver="lbfgs", activation="logistic", max_iter=15),
], ids=lambda kw: kw["solver"] + "-" + kw.get("activation", "relu"))
def test_float64_fits_match_scikit_learns_mlp(kw):
    """Identical settings give scikit-learn's weights to rounding (float64, a few epochs)."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = load_digits(n_class=4, return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300]
    kw = {"max_iter": 3, "hidden_layer_sizes": (12,), "random_state": 0, **kw}
    with warnings.catch_warnings():
        _quiet()
        ours, theirs = MLPClassifier(**kw).fit(X, y), SkMLP(**kw).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    assert_array_equal(ours.predict(X), theirs.predict(X))


def test_weighted_regression_matches_scikit_learns_mlp():
    from sklearn.neural_network import MLPRegressor as SkMLP

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    Y = np.c_[X[:, 0] - X[:, 1], X[:, 2] ** 2]
    w = rng.random(120)
    kw = dict(hidden_layer_sizes=(6,), max_iter=4, batch_size=25, random_state=0, solver="sgd")
    with warnings.catch_warnings():
        _quiet()
        ours, theirs = MLPRegressor(**kw).fit(X, Y, sample_weight=w), SkMLP(**kw).fit(X, Y, sample_weight=w)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


def test_dropout_and_leaky_relu_extras():
    with warnings.catch_warnings():
        _quiet()
        plain = MLPClassifier(hidden_layer_sizes=16, max_iter=30, random_state=0).fit(X_bin, y_bin)
        dropped = MLPClassifier(hidden_layer_sizes=16, max_iter=30, random_state=0, keep_prob=0.5).fit(X_bin, y_bin)
        again = MLPClassifier(hidden_layer_sizes=16, max_iter=30, random_state=0, keep_prob=0.5).fit(X_bin, y_bin)
        leaky = MLPClassifier(hidden_layer_sizes=16, max_iter=30, random_state=0,
                              activation="leaky_relu").fit(X_bin, y_bin)
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])
    assert_array_equal(dropped.coefs_[0], again.coefs_[0])          # reproducible from random_state
    assert dropped.score(X_bin, y_bin) > 0.9 and leaky.score(X_bin, y_bin) > 0.9
    assert leaky.network_.activations[0] == "leaky_relu"
    with pytest.raises(ValueError, match="needs a stochastic solver"):
        MLPClassifier(solver="lbfgs", keep_prob=0.8).fit(X_bin, y_bin)


def test_a_failed_partial_fit_leaves_weights_and_optimizer_as_they_were():
    X, y = X_bin[:40], np.linspace(0, 1, 40)
    reg = MLPRegressor(hidden_layer_sizes=5, random_state=0, solver="sgd").partial_fit(X, y)
    ref = pickle.loads(pickle.dumps(reg))
    bad = X.copy()
    bad[0, 0] = np.finfo(np.float64).max                  # overflows to non-finite weights
    with warnings.catch_warnings(), pytest.raises(ValueError, match="non-finite"):
        warnings.simplefilter("ignore")
        reg.partial_fit(bad, y)
    reg.partial_fit(X, y)
    ref.partial_fit(X, y)
    assert_array_equal(reg.coefs_[0], ref.coefs_[0])
    assert reg.t_ == ref.t_ and reg.n_iter_ == ref.n_iter_


def test_per_layer_activations_extra():
    kw = dict(hidden_layer_sizes=(12, 6), max_iter=40, random_state=0)
    with warnings.catch_warnings():
        _quiet()
        mixed = MLPClassifier(activation=("tanh", "relu"), **kw).fit(X_bin, y_bin)
        same = MLPClassifier(activation=("tanh", "tanh"), **kw).fit(X_bin, y_bin)
        single = MLPClassifier(activation="tanh", **kw).fit(X_bin, y_bin)
    assert mixed.network_.activations == ["tanh", "relu", "sigmoid"]
    assert_array_equal(same.coefs_[1], single.coefs_[1])          # a list of one name = the name
    assert not np.array_equal(mixed.coefs_[1], single.coefs_[1])
    with pytest.raises(ValueError, match="one per hidden layer"):
        MLPClassifier(activation=("tanh",), hidden_layer_sizes=(3, 3)).fit(X_bin, y_bin)


# --- the fast stochastic loop keeps the numbers -------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(early_stopping=True), dict(shuffle=False, early_stopping=True)],
                         ids=["shuffled", "early-stopping", "no-shuffle-early-stopping"])
def test_rows_gathered_per_batch_or_per_epoch_give_the_same_fit(monkeypatch, kw):
    """Large X is gathered batch by batch, small X once per epoch: the same rows in the same order.

    Guards the per-batch path, which the suite's small data sets would otherwise never take.
    """
    import deepstep.sklearn.mlp as mlp

    X, y = load_digits(n_class=4, return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    w = np.random.default_rng(0).random(len(y)) + 0.5
    kw = dict(hidden_layer_sizes=(16,), max_iter=4, batch_size=48, random_state=0, **kw)
    fits = []
    for limit in (mlp._EPOCH_GATHER_BYTES, -1):
        monkeypatch.setattr(mlp, "_EPOCH_GATHER_BYTES", limit)
        with warnings.catch_warnings():
            _quiet()
            fits.append(MLPClassifier(**kw).fit(X, y, sample_weight=w))
    whole, per_batch = fits
    for a, b in zip(whole.coefs_ + whole.intercepts_, per_batch.coefs_ + per_batch.intercepts_):
        assert_array_equal(a, b)
    assert whole.loss_curve_ == per_batch.loss_curve_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_loss_from_the_true_class_equals_the_full_loss_bit_for_bit(dtype, weighted):
    """The loop's softmax loss reads only each column's true class; it must equal
    ``_loss_sum``'s clipped cross-entropy over all classes exactly (loss_curve_ is compared)."""
    import deepstep.sklearn.mlp as mlp

    rng = np.random.default_rng(1)
    k, n = 7, 300
    Z = rng.standard_normal((k, n)) * 30                  # large logits: probabilities clipped at 0 and 1
    AL = np.exp(Z - Z.max(axis=0))
    AL = (AL / AL.sum(axis=0)).astype(dtype)
    labels = rng.integers(0, k, n)
    Y = np.zeros((n, k), dtype)
    Y[np.arange(n), labels] = 1
    w = rng.random(n).astype(dtype) if weighted else None
    est = MLPClassifier()
    est.out_activation_ = "softmax"
    rows = mlp._EpochRows(np.zeros((n, 2), dtype), Y, w, softmax=True)
    assert_array_equal(rows.labels, labels)
    assert rows.softmax_loss_sum(AL, labels, w) == est._loss_sum(AL, Y.T, w)
