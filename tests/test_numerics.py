"""Numerical robustness: extreme values, divergence, and bit-for-bit reproducibility.

Warnings are errors and NumPy's overflow, divide-by-zero and invalid-operation errors
raise wherever deepstep promises silence, so any of them fails the test instead of
printing a warning. Underflow (a tiny result rounded to 0 or a subnormal, the right
answer for ``exp(-1e4)``) is NumPy's default "ignore" and is not a promise.
"""

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep import DeepNetwork, persistence
from deepstep.activations import ACTIVATIONS
from deepstep.cli import main
from deepstep.errors import ModelFileError, TrainingDiverged
from deepstep.losses import LOSSES

DTYPES = ["float32", "float64"]


class strict:
    """Warnings as errors; NumPy overflow, divide and invalid raise (underflow stays ignored)."""

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")
        self._e = np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")
        self._e.__enter__()

    def __exit__(self, *exc):
        self._e.__exit__(*exc)
        self._w.__exit__(*exc)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 64))
    return X, (X[0] + X[1] > 0).astype(int)


# --- extreme values ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_at_extreme_logits(name, dtype):
    act = ACTIVATIONS[name]
    Z = np.array([[-1e4, -700.0, -88.0, -1.0, 0.0, 1.0, 88.0, 700.0, 1e4]] * 3, dtype)
    with strict():
        A = act.forward(Z.copy(), out=np.empty_like(Z))
        dZ = act.backward(np.ones_like(Z), Z, A, out=np.empty_like(Z))
    assert A.dtype == dtype and np.isfinite(A).all() and np.isfinite(dZ).all()
    if name == "sigmoid":
        assert A[0, 0] == 0 and A[0, -1] == 1
    if name == "softmax":
        np.testing.assert_allclose(A.sum(axis=0), 1, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_on_saturated_outputs(name, dtype):
    if name == "categorical_crossentropy":
        AL, Y = np.array([[0.0, 1.0], [1.0, 0.0]], dtype), np.array([[1.0, 0.0], [0.0, 1.0]], dtype)
    else:
        AL, Y = np.array([[0.0, 1.0, 1e-30, 1.0]], dtype), np.array([[1.0, 0.0, 1.0, 1.0]], dtype)
    loss = LOSSES[name]
    with strict():
        cost = loss.cost(AL, Y)
        dA = loss.dA(AL, Y)
    assert np.isfinite(cost) and cost > 0 and np.isfinite(dA).all()


def _passes(net, X, Y):
    """Forward, cost and backward through the model's engine on raw X (n_x, m)."""
    eng = net._engine
    Xs = net.scaler.transform(X, net.hp.dtype)
    Yc = net._targets.encode_rows(Y, net.hp.dtype).T
    ws = eng.workspace(X.shape[1])
    AL = eng.forward(Xs, ws)
    cost = eng.cost(AL, Yc, net.hp.l2)
    eng.backward(Xs, Yc, ws, net.hp.l2)
    return AL, cost, eng.grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize("preprocess", ["none", "standardize"])
@pytest.mark.parametrize("scale", [1e30, -1e30, 1e4])
def test_huge_inputs_classification(problem, dtype, output, preprocess, scale):
    X, y = problem
    net = DeepNetwork(layers=(8, 4), epochs=1, dtype=dtype, output=output, preprocess=preprocess, l2=0.1,
                      seed=0)
    net.fit(X, y)
    with strict():
        AL, cost, grad = _passes(net, X * scale, y)
        proba = net.predict_proba(X * scale)
    assert np.isfinite(AL).all() and np.isfinite(cost) and np.isfinite(grad).all()
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()


# float64 only: with unscaled 1e30 inputs the true regression gradient dW ~ 1e60 exceeds float32's
# range (3.4e38), so no float32 implementation can represent it; preprocess="standardize" (the
# default) is what keeps such inputs trainable in float32 (test_training_on_huge_inputs_is_quiet).
@pytest.mark.parametrize("dtype", ["float64"])
def test_huge_inputs_regression(problem, dtype):
    X, _ = problem
    net = DeepNetwork(layers=(8,), epochs=1, dtype=dtype, output="linear", preprocess="none", seed=0)
    net.fit(X, X[1] * 2)
    with strict():
        AL, cost, grad = _passes(net, X * 1e30, X[1] * 2)
    assert np.isfinite(AL).all() and np.isfinite(cost) and np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_on_huge_inputs_is_quiet(problem, dtype):
    X, y = problem
    with strict():
        net = DeepNetwork(layers=(8,), epochs=3, dtype=dtype, seed=0)
        net.fit(X * 1e30, y)
    assert np.isfinite(net._engine.theta).all() and np.isfinite(net.history["cost"]).all()


# --- divergence --------------------------------------------------------------------------------------------
def diverging_network(**kw):
    return DeepNetwork(**{"layers": (8,), "epochs": 30, "optimizer": "gd", "learning_rate": 1e8,
                          "batch_size": 16, "seed": 0, **kw})


@pytest.mark.parametrize("kw", [{}, {"output": "linear", "learning_rate": 1e3}])
def test_divergence_is_detected_at_the_first_non_finite_cost(problem, kw):
    X, y = problem
    target = X[1] * 100 if kw.get("output") == "linear" else y
    costs = []

    class Record:
        def on_train_begin(self, state): ...
        def on_batch_end(self, state): costs.append(state.cost_sum)
        def on_epoch_end(self, epoch, logs): ...
        def on_train_end(self, history): ...

    net = diverging_network(**kw)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match="smaller learning rate") as info:
        net.fit(X, target, callbacks=[Record()])
    assert np.isfinite(costs).all()                   # it stopped at the first batch whose cost was not finite
    assert "learning_rate=" in str(info.value) and "the cost became" in str(info.value).lower()
    assert net.history.stopped == "diverged"
    assert len(net.history.get("cost", [])) < 30


def test_diverged_model_keeps_finite_weights(problem):
    X, y = problem
    net = diverging_network(batch_size="full", learning_rate=1e6, epochs=50)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        net.fit(X, y)
    assert np.isfinite(net._engine.theta).all()


def test_diverged_model_is_never_saved(problem, tmp_path):
    X, y = problem
    net = diverging_network()
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        net.fit(X, y)
    net._engine.theta[0] = np.nan                     # whatever the loop kept, save() checks
    with pytest.raises(ModelFileError, match="NaN or inf.*smaller learning rate"):
        persistence.save(net, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_cli_diverged_run_saves_nothing_and_prints_one_line(tmp_path):
    csv = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 4))
    csv.write_text("".join(",".join(f"{v:.5f}" for v in r) + f",{int(r[0] > 0)}\n" for r in X))
    out = tmp_path / "m.npz"
    r = CliRunner().invoke(main, ["train", "--data", str(csv), "--layers", "8", "--optimizer", "gd",
                                  "--learning-rate", "1e8", "--epochs", "30", "--out", str(out), "-q"])
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "smaller learning rate" in lines[0], r.stderr    # no RuntimeWarnings
    assert not out.exists() and not list(tmp_path.glob("*.ckpt.npz"))


# --- reproducibility -----------------------------------------------------------------------------------------
KW = {"layers": (8, 4), "epochs": 4, "batch_size": 16, "keep_prob": 0.8, "optimizer": "adam", "l2": 0.01}


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_bit_identical(problem, dtype):
    runs = []
    for _ in range(2):
        net = DeepNetwork(**KW, dtype=dtype, validation_fraction=0.25, seed=11)
        net.fit(*problem)
        runs.append(net)
    a, b = runs
    assert a._engine.theta.tobytes() == b._engine.theta.tobytes()
    assert a.history == b.history
    c = DeepNetwork(**KW, dtype=dtype, validation_fraction=0.25, seed=12)
    c.fit(*problem)
    assert a._engine.theta.tobytes() != c._engine.theta.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, {"lr_schedule": "inverse", "decay_rate": 0.5}, {"batch_size": "full"}])
def test_fit_equals_partial_fit_by_epoch(problem, dtype, kw):
    whole = DeepNetwork(**{**KW, **kw}, dtype=dtype, seed=3)
    whole.fit(*problem)
    steps = DeepNetwork(**{**KW, **kw}, dtype=dtype, seed=3)
    for _ in range(KW["epochs"]):
        steps.partial_fit(*problem)
    assert whole._engine.theta.tobytes() == steps._engine.theta.tobytes()
    assert whole.history == steps.history


def test_fit_equals_partial_fit_with_validation(problem):
    whole = DeepNetwork(**KW, validation_fraction=0.25, seed=3)
    whole.fit(*problem)
    steps = DeepNetwork(**KW, validation_fraction=0.25, seed=3)
    for _ in range(KW["epochs"]):
        steps.partial_fit(*problem)
    assert whole._engine.theta.tobytes() == steps._engine.theta.tobytes()


def test_library_never_touches_the_global_random_state(problem):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    DeepNetwork(**KW, seed=0).fit(*problem)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_divergence_restores_the_optimizer_state_so_the_model_saves_and_loads(problem, tmp_path):
    """Regression: after TrainingDiverged the momentum buffer stayed NaN, so save() wrote a file load() refused."""
    X, y = problem
    net = diverging_network(optimizer="momentum", learning_rate=1e3, batch_size=16)
    with pytest.raises(TrainingDiverged):
        net.fit(X, y)
    assert all(np.isfinite(v).all() for v in net._optimizer.state.values())
    path = net.save(tmp_path / "m.npz")
    again = DeepNetwork.load(path)
    assert np.array_equal(again._engine.theta, net._engine.theta)


def test_history_stopped_is_reset_by_the_next_run(problem):
    """Regression: 'stopped' kept saying early_stopping after a later warm start that ran to the end."""
    X, y = problem
    net = DeepNetwork(layers=(4,), epochs=40, early_stopping=True, patience=1, min_delta=10.0, seed=0)
    net.fit(X, y)
    assert net.history.stopped == "early_stopping"
    net.fit(X, y, epochs=1, warm_start=True)
    assert net.history.stopped is None
