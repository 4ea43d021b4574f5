"""DeepNetwork: fit / predict / evaluate / summary on every kind of target, reproducibility, errors."""

import numpy as np
import pytest

from deepstep import Callback, DataError, DeepNetwork, InvalidParameterError, NotFittedError


def _blobs(m=120, n_x=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    y = (X[0] - 0.5 * X[1] > 0).astype(int)
    return X, y


def _small(**kw):
    base = {"layers": (8, 4), "epochs": 30, "learning_rate": 0.01, "batch_size": 32, "seed": 0}
    base.update(kw)
    return DeepNetwork(**base)


class _Recorder(Callback):
    def __init__(self, net):
        self.net, self.thetas, self.positions = net, [], []

    def on_batch_end(self, state):
        self.positions.append(state.position)

    def on_epoch_end(self, epoch, logs):
        self.thetas.append(self.net._engine.theta.copy())


# --- the four kinds of targets ----------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "rmsprop", "adam"])
def test_binary_fit_predict_evaluate(optimizer):
    X, y = _blobs()
    lr = 0.5 if optimizer in ("gd", "momentum", "nesterov") else 0.01
    net = _small(optimizer=optimizer, learning_rate=lr)
    history = net.fit(X, y)
    assert len(history["cost"]) == 30 and history["epoch"] == list(range(1, 31))
    assert history["cost"][-1] < history["cost"][0]
    assert net.output == "sigmoid" and net.layer_dims == [4, 8, 4, 1]
    P = net.predict_proba(X)
    assert P.shape == (1, 120) and P.dtype == np.float32 and ((P >= 0) & (P <= 1)).all()
    pred = net.predict(X)
    assert pred.shape == (1, 120)
    np.testing.assert_array_equal(pred, (P > 0.5).astype(int))
    ev = net.evaluate(X, y)
    assert ev["accuracy"] == pytest.approx(np.mean(pred.ravel() == y))
    assert ev["accuracy"] > 0.9
    p = np.clip(P.ravel().astype(np.float64), 1e-7, 1 - 1e-7)
    assert ev["log_loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-3)


def test_multiclass_string_labels():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [4, 0], [0, 4]]).T
    idx = rng.integers(0, 3, 150)
    X = centers[:, idx] + rng.standard_normal((2, 150)) * 0.5
    names = np.array(["cat", "dog", "eel"])
    y = names[idx]
    net = _small(learning_rate=0.02)
    net.fit(X, y)
    assert net.output == "softmax" and list(net.classes) == ["cat", "dog", "eel"]
    P = net.predict_proba(X)
    assert P.shape == (3, 150)
    np.testing.assert_allclose(P.sum(axis=0), 1, rtol=1e-5)
    pred = net.predict(X)
    assert pred.shape == (1, 150) and set(pred.ravel()) <= set(names)
    np.testing.assert_array_equal(pred.ravel(), names[P.argmax(axis=0)])
    assert net.evaluate(X, y)["accuracy"] > 0.9
    with pytest.raises(DataError, match="not among the classes"):
        net.evaluate(X[:, :2], np.array(["cat", "fox"]))


def test_multilabel_sigmoid_outputs():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 100))
    Y = np.stack([X[0] > 0, X[1] > 0, X[0] + X[2] > 0]).astype(int)      # not one-hot
    net = _small(learning_rate=0.02, epochs=40)
    net.fit(X, Y)
    assert net.output == "sigmoid" and net.layer_dims[-1] == 3
    pred = net.predict(X)
    assert pred.shape == (3, 100) and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (net.predict_proba(X) > 0.5).astype(int))
    assert net.evaluate(X, Y)["accuracy"] > 0.85


def test_regression_mse_and_r2():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 200))
    y = 1.5 * X[0] - 0.7 * X[1] + 0.3 + 0.01 * rng.standard_normal(200)
    net = _small(layers=(8,), learning_rate=0.01, epochs=60, dtype="float64")
    net.fit(X, y)
    assert net.output == "linear"
    pred = net.predict(X)
    assert pred.shape == (1, 200) and pred.dtype == np.float64
    ev = net.evaluate(X, y)
    mse = np.mean((pred.ravel() - y) ** 2)
    assert ev["mse"] == pytest.approx(mse, rel=1e-9)
    assert ev["r2"] == pytest.approx(1 - mse / np.var(y), rel=1e-9)
    assert ev["r2"] > 0.95


def test_summary_table():
    X, y = _blobs(n_x=5)
    net = _small(layers=(20, 7, 5), epochs=1)
    net.fit(X, y)
    s = net.summary(m=64)
    for shape in ("(20, 5)", "(20, 1)", "(20, 64)", "(7, 20)", "(5, 7)", "(1, 5)", "(1, 64)", "(5, 64)"):
        assert shape in s
    total = 20 * 5 + 20 + 7 * 20 + 7 + 5 * 7 + 5 + 1 * 5 + 1
    assert f"{total:,} parameters" in s and "L = 4 layers" in s
    assert "relu" in s and "sigmoid" in s
    assert "DeepNetwork(dims=[5, 20, 7, 5, 1]" in repr(net)


# --- validation, early stopping --------------------------------------------------------------------
def test_early_stopping_restores_best_weights():
    X, y = _blobs(m=80, seed=4)
    rng = np.random.default_rng(9)
    y_noisy = np.where(rng.random(80) < 0.3, 1 - y, y)                 # noisy labels: it overfits
    Xv, yv = _blobs(m=60, seed=5)
    net = _small(layers=(32, 32), learning_rate=0.05, epochs=200, early_stopping=True, patience=3)
    rec = _Recorder(net)
    history = net.fit(X, y_noisy, validation_data=(Xv, yv), callbacks=[rec])
    assert history.stopped == "early_stopping"
    n = len(history["val_cost"])
    assert n < 200
    best = int(np.argmin(history["val_cost"]))
    assert history.best_epoch == best + 1
    assert n - (best + 1) == 3                                           # patience epochs after the best
    np.testing.assert_array_equal(net._engine.theta, rec.thetas[best])
    assert not np.array_equal(net._engine.theta, rec.thetas[-1])


def test_validation_fraction_holds_out_examples():
    X, y = _blobs(m=100)
    net = _small(validation_fraction=0.2, batch_size="full", epochs=3)
    rec = _Recorder(net)
    history = net.fit(X, y, callbacks=[rec])
    assert rec.positions == [80, 80, 80]                                  # 100 - round(0.2·100)
    assert len(history["val_cost"]) == 3 and len(history["val_accuracy"]) == 3


# --- reproducibility and dtype --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_bit_identical_different_seed_differs(dtype):
    X, y = _blobs()
    a, b, c = (_small(seed=s, dtype=dtype, keep_prob=0.8, epochs=5) for s in (7, 7, 8))
    ha, hb, hc = a.fit(X, y), b.fit(X, y), c.fit(X, y)
    for k in a.parameters:
        assert a.parameters[k].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a.parameters[k], b.parameters[k])
    assert ha == hb
    assert ha["cost"] != hc["cost"]
    assert not np.array_equal(a._engine.theta, c._engine.theta)


def test_fit_then_partial_fit_equals_longer_fit():
    X, y = _blobs()
    a = _small(epochs=3)
    a.fit(X, y)
    a.partial_fit(X, y)
    b = _small(epochs=4)
    b.fit(X, y)
    assert len(a.history["cost"]) == 4
    np.testing.assert_array_equal(a._engine.theta, b._engine.theta)
    assert a.history["cost"] == b.history["cost"]


def test_partial_fit_builds_on_first_call():
    X, y = _blobs()
    net = _small()
    net.partial_fit(X, y)
    assert net.is_built and len(net.history["cost"]) == 1


# --- errors ------------------------------------------------------------------------------------------
def test_errors_for_bad_inputs():
    X, y = _blobs(m=20)
    for method in ("predict_proba", "summary"):
        with pytest.raises(NotFittedError, match="not trained"):
            getattr(_small(batch_size=8), method)(*([X] if method == "predict_proba" else []))
    with pytest.raises(NotFittedError, match="not trained"):
        _small(batch_size=8).evaluate(X, y)
    with pytest.raises(DataError, match="2-D"):
        _small(batch_size=8).fit(X[0], y)
    Xn = X.copy()
    Xn[1, 3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        _small(batch_size=8).fit(Xn, y)
    with pytest.raises(DataError, match="20 examples .* 19"):
        _small(batch_size=8).fit(X, y[:19])
    with pytest.raises(DataError, match="single class"):
        _small(batch_size=8).fit(X, np.zeros(20))
    with pytest.raises(DataError, match="numeric"):
        _small(batch_size=8).fit(np.array([["a"] * 20] * 4), y)
    with pytest.raises(InvalidParameterError, match="'batch_size'.*larger than the 20"):
        _small(batch_size=64).fit(X, y)
    net = _small(epochs=1, batch_size=8)
    net.fit(X, y)
    with pytest.raises(DataError, match=r"X has 20 features .* expects 4.*pass X\.T"):
        net.predict(X.T)
    yn = y.astype(float)
    yn[0] = np.inf
    with pytest.raises(DataError, match="NaN or infinite"):
        _small(output="linear", batch_size=8).fit(X, yn)


def test_predict_before_fit_says_not_fitted():
    X, _ = _blobs(m=5)
    with pytest.raises(NotFittedError, match="not trained"):
        _small().predict(X)


def test_save_and_load_methods_round_trip(tmp_path):
    """DeepNetwork.save / DeepNetwork.load, the Keras-style spelling of deepstep.persistence."""
    X, y = _blobs()
    net = _small(epochs=2)
    net.fit(X, y)
    path = net.save(tmp_path / "model.npz")
    again = DeepNetwork.load(path)
    assert np.array_equal(again.predict_proba(X), net.predict_proba(X))
    assert again.hp == net.hp


def test_decision_function_is_the_output_pre_activation():
    X, y = _blobs()
    net = _small(epochs=2, dtype="float64")
    net.fit(X, y)
    Z = net.decision_function(X)
    np.testing.assert_allclose(1 / (1 + np.exp(-Z)), net.predict_proba(X), rtol=1e-12)


def test_resuming_mid_epoch_on_other_data_is_refused():
    """Regression: a mid-epoch train_state was reused on data of another size, gathering clipped rows."""
    X, y = _blobs(m=100)
    net = _small(epochs=1, batch_size=10)
    calls = iter(range(1000))
    net.fit(X, y, stop=lambda: next(calls) == 2)      # stop after the third batch
    assert net.train_state is not None and net.train_state.position == 30
    with pytest.raises(DataError, match="same data"):
        net.fit(X[:, :40], y[:40], epochs=1, warm_start=True)
    net.fit(X, y, epochs=1, warm_start=True)          # the same data resumes


@pytest.mark.parametrize("epochs", [0, -3, 2.9, True])
def test_fit_epochs_override_is_validated(epochs):
    X, y = _blobs()
    with pytest.raises(InvalidParameterError, match="'epochs'"):
        _small().fit(X, y, epochs=epochs)


def test_labels_as_a_column_get_a_hint():
    X, y = _blobs()
    with pytest.raises(DataError, match=r"Y\.ravel\(\)"):
        _small().fit(X, y.reshape(-1, 1))


def test_from_parameters_refuses_a_scaler_it_cannot_fit():
    """Regression: preprocess='standardize' left the scaler unfitted and predict crashed (AttributeError)."""
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((2, 3)), "b1": np.zeros((2, 1)),
              "W2": rng.standard_normal((1, 2)), "b2": np.zeros((1, 1))}
    with pytest.raises(InvalidParameterError, match="without the training data's statistics"):
        DeepNetwork.from_parameters(params, preprocess="standardize")
    net = DeepNetwork.from_parameters(params, preprocess="divide255")       # needs no statistics
    assert net.predict(np.full((3, 2), 255.0)).shape == (1, 2)


def test_sample_weight_integers_equal_repetition_in_full_batch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 40))
    y = (X[0] > 0).astype(int)
    w = rng.integers(0, 4, 40)
    kw = dict(layers=(4,), batch_size="full", epochs=20, l2=0.3, dtype="float64")
    a = DeepNetwork(**kw)
    a.fit(X, y, sample_weight=w)
    b = DeepNetwork(**kw)
    b.fit(X[:, np.repeat(np.arange(40), w)], np.repeat(y, w))
    np.testing.assert_allclose(a.engine.theta, b.engine.theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.history["cost"], b.history["cost"], rtol=1e-10)
    with pytest.raises(ValueError, match="non-negative"):
        DeepNetwork(**kw).fit(X, y, sample_weight=-w)
