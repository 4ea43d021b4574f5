"""deepstep.callbacks: each callback's effect on a real (tiny) fit, and the verbose progress output."""

import io
import math

import numpy as np
import pytest

import deepstep
from deepstep import DeepNetwork, InvalidParameterError, TrainingDiverged, training
from deepstep.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
    TerminateOnNaN,
    format_number,
)


def _data(m=60, n_x=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    y = (X[0] - X[1] > 0).astype(int)
    return X, y


def _net(**kw):
    base = {"layers": (5,), "epochs": 6, "batch_size": 20, "learning_rate": 0.05, "seed": 0}
    base.update(kw)
    return DeepNetwork(**base)


def test_callback_is_importable_from_the_old_places():
    assert deepstep.Callback is Callback and training.Callback is Callback


def test_hooks_order_model_params_and_epoch_begin():
    X, y = _data()
    events = []
    cb = LambdaCallback(on_epoch_begin=lambda e, logs: events.append(("eb", e, logs["lr"])),
                        on_batch_begin=lambda s: events.append(("bb", s.position)))
    net = _net(epochs=2)
    net.fit(X, y, callbacks=[cb])
    assert cb.model is net
    assert cb.params == {"epochs": 2, "initial_epoch": 0, "steps": 3, "batch_size": 20, "samples": 60}
    assert events == [("eb", 1, 0.05), ("bb", 0), ("bb", 20), ("bb", 40),
                      ("eb", 2, 0.05), ("bb", 0), ("bb", 20), ("bb", 40)]
    with pytest.raises(InvalidParameterError, match="no hook 'on_epoch'"):
        LambdaCallback(on_epoch=print)


def test_learning_rate_scheduler_is_honoured_and_recorded():
    X, y = _data()
    lrs = []

    class Spy(Callback):
        def on_batch_end(self, state):
            lrs.append(state.lr)

    net = _net(epochs=4, optimizer="gd")
    ref = _net(epochs=4, optimizer="gd")
    history = net.fit(X, y, callbacks=[LearningRateScheduler(lambda epoch, lr: lr / (epoch + 1)), Spy()])
    assert history["lr"] == pytest.approx([0.05, 0.025, 0.05 / 3, 0.0125])
    assert lrs == pytest.approx([lr for lr in history["lr"] for _ in range(3)])
    ref.fit(X, y)
    assert not np.allclose(net.engine.theta, ref.engine.theta)       # the rate was really used
    # The same rates through the model's own schedule give the same weights, bit for bit.
    inv = _net(epochs=4, optimizer="gd", lr_schedule="inverse", decay_rate=1.0)
    inv.fit(X, y)
    assert inv.history["lr"] == pytest.approx(history["lr"])
    np.testing.assert_allclose(inv.engine.theta, net.engine.theta, rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="positive"):
        _net().fit(X, y, callbacks=[LearningRateScheduler(lambda e, lr: -1.0)])


def test_lr_changed_in_on_batch_begin_is_used_for_that_step():
    X, y = _data()
    seen = []

    class Half(Callback):
        def on_batch_begin(self, state):
            state.lr = 0.01 if state.position else 0.05

    net = _net(epochs=1, optimizer="gd")
    opt_step = None

    def spy(param, grad, lr):
        seen.append(lr)
        return opt_step(param, grad, lr)

    net.fit(X, y, epochs=1, callbacks=[LambdaCallback()])      # build
    opt_step = net.optimizer.step
    net.optimizer.step = spy
    h = net.fit(X, y, epochs=1, warm_start=True, callbacks=[Half()])
    assert seen == [0.05, 0.01, 0.01]
    assert h["lr"][-1] == 0.01                                  # the rate of the epoch's last step


def test_early_stopping_stops_restores_and_records():
    X, y = _data()
    Xv, yv = _data(seed=1)
    # A huge min_delta: no epoch after the first counts as an improvement.
    es = EarlyStopping("val_cost", min_delta=10.0, patience=2, restore_best_weights=True)
    thetas = []
    keep = LambdaCallback(on_epoch_end=lambda e, logs: thetas.append(net.engine.theta.copy()))
    net = _net(epochs=20)
    h = net.fit(X, y, validation_data=(Xv, yv), callbacks=[es, keep])
    assert h["epoch"] == [1, 2, 3] and h.stopped == "early_stopping" and h.best_epoch == 1
    np.testing.assert_array_equal(net.engine.theta, thetas[0])
    # start_from_epoch: the first epochs are not watched.
    h = _net(epochs=20).fit(X, y, validation_data=(Xv, yv),
                            callbacks=[EarlyStopping("val_cost", min_delta=10.0, patience=2, start_from_epoch=3)])
    assert h["epoch"] == [1, 2, 3, 4, 5, 6] and h.stopped == "early_stopping"
    # Accuracy is maximised ('auto' mode); an unrecorded key is refused with the fix.
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("cost").mode == "min"
    with pytest.raises(InvalidParameterError, match="validation_fraction"):
        _net().fit(X, y, callbacks=[EarlyStopping("val_cost")])


def test_returning_true_from_on_epoch_end_is_recorded_as_stopped():
    X, y = _data()

    class StopAtTwo(Callback):
        def on_epoch_end(self, epoch, logs):
            return epoch == 2

    h = _net().fit(X, y, callbacks=[StopAtTwo()])
    assert h["epoch"] == [1, 2] and h.stopped == "callback"
    h = _net().fit(X, y, callbacks=[LambdaCallback()])
    assert h.stopped is None


def test_model_checkpoint_saves_best_only(tmp_path):
    X, y = _data()
    Xv, yv = _data(seed=1)
    path = tmp_path / "best.npz"
    ck = ModelCheckpoint(path, monitor="val_cost", save_best_only=True)
    net = _net(epochs=6, learning_rate=0.02)
    net.fit(X, y, validation_data=(Xv, yv), callbacks=[ck])
    best = int(np.argmin(net.history["val_cost"])) + 1
    loaded = DeepNetwork.load(path)
    assert loaded.epochs_done == best
    assert loaded.history["val_cost"][-1] == pytest.approx(min(net.history["val_cost"]))
    every = ModelCheckpoint(tmp_path / "m-{epoch:02d}.npz", save_best_only=False)
    _net(epochs=3).fit(X, y, callbacks=[every])
    assert sorted(p.name for p in tmp_path.glob("m-*.npz")) == ["m-01.npz", "m-02.npz", "m-03.npz"]
    assert not list(tmp_path.glob(".*.tmp"))                    # atomic: no temporary files left


def test_csv_logger_writes_and_appends(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    net = _net(epochs=3)
    net.fit(X, y, callbacks=[CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,lr,cost,accuracy" and len(lines) == 4
    assert float(lines[3].split(",")[2]) == net.history["cost"][-1]     # full precision
    net.fit(X, y, epochs=2, warm_start=True, callbacks=[CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]
    net.fit(X, y, epochs=1, warm_start=True, callbacks=[CSVLogger(path)])
    assert len(path.read_text().splitlines()) == 2                   # append=False starts anew


def test_reduce_lr_on_plateau():
    X, y = _data()
    rl = ReduceLROnPlateau("cost", factor=0.5, patience=1, min_delta=10.0, min_lr=0.01)
    h = _net(epochs=6).fit(X, y, callbacks=[rl])
    # Every epoch after the first fails to improve by 10: halve each epoch, never below min_lr.
    assert h["lr"] == pytest.approx([0.05, 0.05, 0.025, 0.0125, 0.01, 0.01])
    assert rl.reductions[0] == (2, 0.025)
    with pytest.raises(InvalidParameterError, match="factor"):
        ReduceLROnPlateau(factor=2.0)


def test_terminate_on_nan_stops_quietly_with_the_last_finite_weights():
    X, y = _data()
    kw = {"learning_rate": 1e8, "optimizer": "gd", "epochs": 30}
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        _net(**kw).fit(X, y)
    net = _net(**kw)
    with np.errstate(all="ignore"):
        h = net.fit(X, y, callbacks=[TerminateOnNaN()])
    assert len(h.get("cost", [])) < 30 and h.stopped == "diverged" and np.isfinite(net.engine.theta).all()
    assert net.train_state is None


def test_stop_training_from_any_hook_ends_after_the_epoch():
    X, y = _data()

    class StopInBatch(Callback):
        def on_batch_end(self, state):
            if state.epoch == 1 and state.position == 20:
                self.stop_training("enough")

    h = _net().fit(X, y, callbacks=[StopInBatch()])
    assert h["epoch"] == [1, 2] and h.stopped == "enough"


# --- progress ------------------------------------------------------------------------------------------
def test_format_number_uses_significant_digits():
    assert format_number(0.69314718) == "0.6931"
    assert format_number(1.2346e-7) == "1.235e-07"          # never 0.0000 once the cost is small
    assert format_number(3) == "3" and format_number(float("nan")) == "nan"


def test_verbose_2_prints_one_line_per_epoch_to_stderr(capsys):
    X, y = _data()
    Xv, yv = _data(seed=1)
    _net(epochs=3, verbose=2).fit(X, y, validation_data=(Xv, yv))
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert [line.split(" ")[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert "val_accuracy=" in lines[0] and "elapsed, ETA" in lines[0] and "cost=0." in lines[0]


def test_verbose_1_draws_a_bar_in_a_captured_terminal():
    X, y = _data()
    buf = io.StringIO()
    bar = ProgressBar(1, file=buf, mininterval=0)
    net = _net(epochs=4, verbose=0)
    net.fit(X, y, callbacks=[bar])
    text = buf.getvalue()
    assert "4/4" in text and "epoch" in text and "cost=" in text and "accuracy=" in text
    assert "cost=0.0000" not in text
    assert "<00:00" in text or "00:00<" in text                # tqdm's elapsed<ETA


def test_verbose_1_from_the_model_and_fit_override(capsys):
    X, y = _data()
    _net(epochs=2, verbose=1).fit(X, y)
    assert "2/2" in capsys.readouterr().err
    _net(epochs=2, verbose=1).fit(X, y, verbose=0)
    assert capsys.readouterr().err == ""
    with pytest.raises(InvalidParameterError, match="verbose"):
        _net(verbose=3)


def test_estimators_pass_callbacks_and_verbose_through(capsys):
    from deepstep.sklearn import DeepClassifier

    X, y = _data()
    seen = []
    est = DeepClassifier(layers=(4,), epochs=3, verbose=2,
                         callbacks=[LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
    est.fit(X.T, y)
    assert seen == [1, 2, 3]
    assert len([line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch ")]) == 3
    est = DeepClassifier(layers=(4,), epochs=50, callbacks=[EarlyStopping("cost", min_delta=10.0, patience=1)])
    est.fit(X.T, y)
    assert est.n_iter_ == 2 and est.history_.stopped == "early_stopping"
    assert math.isfinite(est.best_loss_)
