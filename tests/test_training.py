"""The fit loop: history, batch sizes, callbacks, schedules, stop and resume, early stopping."""

import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from deepstep import Callback, DeepNetwork, History, TrainingDiverged
from deepstep.training import TrainState, resolve_batch_size


def _data(m=50, n_x=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    y = (X[0] + 0.5 * X[1] - X[2] > 0).astype(int)
    return X, y


def _net(**kw):
    base = {"layers": (6, 4), "epochs": 3, "batch_size": 16, "learning_rate": 0.01, "seed": 0}
    base.update(kw)
    return DeepNetwork(**base)


# --- History and batch sizes ---------------------------------------------------------------------------
def test_history_to_dict_from_dict_round_trip():
    h = History()
    h.append(epoch=1, lr=0.1, cost=0.9)
    h.append(epoch=2, lr=0.05, cost=0.7, val_cost=0.8)
    h.stopped, h.best_epoch = "early_stopping", 2
    assert h["cost"] == [0.9, 0.7] and h["val_cost"] == [0.8]
    back = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert isinstance(back, History)
    assert back == h and back.stopped == "early_stopping" and back.best_epoch == 2
    back["cost"].append(0.1)
    assert h["cost"] == [0.9, 0.7]                     # copies, not shared lists
    empty = History.from_dict({})
    assert empty == {} and empty.stopped is None and empty.best_epoch is None


@pytest.mark.parametrize("batch_size,m,expected", [
    ("full", 100, 100), (None, 7, 7), ("auto", 1000, 64), ("auto", 10, 10), ("auto", 64, 64),
    (32, 1000, 32), (np.int64(5), 9, 5), (1, 3, 1),
])
def test_resolve_batch_size(batch_size, m, expected):
    got = resolve_batch_size(batch_size, m)
    assert got == expected and isinstance(got, int)


@pytest.mark.parametrize("batch_size,sizes", [(16, [16, 16, 16, 2]), ("full", [50]), ("auto", [50]), (25, [25, 25])])
def test_batches_cover_the_epoch(batch_size, sizes):
    X, y = _data()
    rec = _Recorder()
    _net(batch_size=batch_size, epochs=2).fit(X, y, callbacks=[rec])
    positions = list(np.cumsum(sizes))
    assert [e[1] for e in rec.events if e[0] == "batch"] == positions * 2


# --- callbacks ------------------------------------------------------------------------------------------
class _Recorder(Callback):
    def __init__(self, name="cb", log=None, stop_at=None):
        self.name, self.stop_at = name, stop_at
        self.events = [] if log is None else log

    def on_train_begin(self, state):
        self.events.append(("begin", state.epoch, self.name))

    def on_batch_end(self, state):
        self.events.append(("batch", state.position, self.name))

    def on_epoch_end(self, epoch, logs):
        self.events.append(("epoch", epoch, self.name))
        self.logs = logs
        return epoch == self.stop_at

    def on_train_end(self, history):
        self.events.append(("end", len(history["cost"]), self.name))


def test_callbacks_are_called_in_order():
    X, y = _data()
    log = []
    first, second = _Recorder("a", log), _Recorder("b", log)
    history = _net(epochs=3).fit(X, y, callbacks=[first, second])
    expected = [("begin", 0, "a"), ("begin", 0, "b")]
    for epoch in (1, 2, 3):
        for pos in (16, 32, 48, 50):                  # 50 examples in batches of 16
            expected += [("batch", pos, "a"), ("batch", pos, "b")]
        expected += [("epoch", epoch, "a"), ("epoch", epoch, "b")]
    expected += [("end", 3, "a"), ("end", 3, "b")]
    assert log == expected
    assert first.logs["epoch"] == 3 and first.logs["cost"] == history["cost"][-1]
    assert set(first.logs) >= {"epoch", "lr", "cost", "accuracy"}


@pytest.mark.parametrize("which", [0, 1])
def test_on_epoch_end_returning_true_stops(which):
    X, y = _data()
    cbs = [_Recorder("a"), _Recorder("b")]
    cbs[which].stop_at = 2
    history = _net(epochs=10).fit(X, y, callbacks=cbs)
    assert history["epoch"] == [1, 2]
    for cb in cbs:                                      # every callback still hears the epoch and the end
        assert [e for e in cb.events if e[0] in ("epoch", "end")] == [("epoch", 1, cb.name), ("epoch", 2, cb.name),
                                                                      ("end", 2, cb.name)]


# --- learning-rate schedules ---------------------------------------------------------------------------
class _LrSpy(Callback):
    """Records the learning rate handed to the optimizer at each step."""

    def __init__(self, net):
        self.net, self.lrs = net, []

    def on_train_begin(self, state):
        opt = self.net._optimizer
        step = opt.step

        def spy(param, grad, lr):
            self.lrs.append(lr)
            return step(param, grad, lr)
        opt.step = spy


@pytest.mark.parametrize("schedule,rate,interval,formula", [
    ("inverse", 0.5, 1, lambda lr0, e: lr0 / (1 + 0.5 * e)),
    ("step", 0.5, 3, lambda lr0, e: lr0 / (1 + 0.5 * (e // 3))),
    ("step", 2.0, 2, lambda lr0, e: lr0 / (1 + 2.0 * (e // 2))),
    ("constant", 0.5, 1, lambda lr0, e: lr0),
])
def test_learning_rate_schedules_per_epoch(schedule, rate, interval, formula):
    X, y = _data()
    lr0 = 0.04
    net = _net(epochs=7, optimizer="gd", learning_rate=lr0, lr_schedule=schedule, decay_rate=rate,
               decay_interval=interval)
    spy = _LrSpy(net)
    history = net.fit(X, y, callbacks=[spy])
    expected = [formula(lr0, e) for e in range(7)]        # epoch counted from 0
    assert history["lr"] == pytest.approx(expected, rel=1e-15)
    assert spy.lrs == pytest.approx([lr for lr in expected for _ in range(4)], rel=1e-15)   # 4 batches each
    # A warm start continues the schedule where it left off.
    net.fit(X, y, epochs=2, warm_start=True)
    assert net.history["lr"][-2:] == pytest.approx([formula(lr0, 7), formula(lr0, 8)], rel=1e-15)


# --- stop and resume -----------------------------------------------------------------------------------
class _StopAfter(Callback):
    """A stop() that says yes once, after the n-th mini-batch of the run."""

    def __init__(self, n):
        self.n, self.batches = n, 0

    def on_batch_end(self, state):
        self.batches += 1

    def __call__(self):
        return self.batches == self.n


RESUME_KW = {"keep_prob": 0.8, "optimizer": "adam", "l2": 0.01, "epochs": 4}


@pytest.mark.parametrize("after", [1, 6, 8, 15])
def test_stop_after_a_batch_then_resume_is_bit_identical(after):
    X, y = _data()
    ref = _net(**RESUME_KW)
    ref.fit(X, y)

    net = _net(**RESUME_KW)
    stop = _StopAfter(after)
    net.fit(X, y, callbacks=[stop], stop=stop)
    done_epochs, position = divmod(after, 4)              # 4 batches per epoch: 16, 32, 48, 50
    assert len(net.history.get("cost", [])) == done_epochs
    state = net.train_state
    if position:                                          # mid-epoch: a resumable state is kept
        assert isinstance(state, TrainState)
        assert state.epoch == done_epochs and state.position == 16 * position
        assert state.perm is not None and sorted(state.perm) == list(range(50))
    else:                                                 # on an epoch boundary: nothing pending
        assert state is None
    assert not np.array_equal(net._engine.theta, ref._engine.theta)

    net.fit(X, y, epochs=RESUME_KW["epochs"] - done_epochs, warm_start=True)
    assert net._engine.theta.tobytes() == ref._engine.theta.tobytes()
    for k, v in ref._optimizer.get_state().items():
        np.testing.assert_array_equal(net._optimizer.get_state()[k], v)
    assert net.history == ref.history
    assert net.train_state is None


# --- early stopping ------------------------------------------------------------------------------------
def _noisy():
    X, y = _data(m=80, seed=4)
    flip = np.random.default_rng(9).random(80) < 0.3
    Xv, yv = _data(m=60, seed=5)
    return X, np.where(flip, 1 - y, y), (Xv, yv)


ES_KW = {"layers": (32, 32), "learning_rate": 0.05, "batch_size": 32, "seed": 0}


def test_early_stopping_restores_the_best_weights():
    X, y, val = _noisy()
    net = DeepNetwork(**ES_KW, epochs=200, early_stopping=True, patience=3)
    history = net.fit(X, y, validation_data=val)
    assert history.stopped == "early_stopping"
    best = history.best_epoch
    assert best == 1 + int(np.argmin(history["val_cost"]))
    assert len(history["val_cost"]) == best + 3                  # patience epochs without improvement

    # A separate run of exactly `best` epochs, same seed, no early stopping: the same weights.
    short = DeepNetwork(**ES_KW, epochs=best)
    short.fit(X, y, validation_data=val)
    assert net._engine.theta.tobytes() == short._engine.theta.tobytes()
    assert short.history["val_cost"] == history["val_cost"][:best]
    # ... and not the weights of the last epoch run.
    last = DeepNetwork(**ES_KW, epochs=best + 3)
    last.fit(X, y, validation_data=val)
    assert not np.array_equal(net._engine.theta, last._engine.theta)
    assert net.evaluate(*val)["log_loss"] == pytest.approx(history["val_cost"][best - 1], rel=1e-5)


def test_early_stopping_without_validation_monitors_the_training_cost():
    X, y = _data()
    net = _net(epochs=40, early_stopping=True, patience=1, min_delta=10.0)
    history = net.fit(X, y)
    # No decrease can exceed min_delta=10: epoch 2 exhausts the patience; the best of the two is restored.
    assert history.stopped == "early_stopping" and len(history["cost"]) == 2
    best = int(np.argmin(history["cost"])) + 1
    assert history.best_epoch == best
    ref = _net(epochs=best)
    ref.fit(X, y)
    assert net._engine.theta.tobytes() == ref._engine.theta.tobytes()


def test_early_stopping_with_min_delta_restores_the_best_epoch_not_the_last_big_improvement():
    """Regression: with min_delta > 0 the last epoch that improved by min_delta was restored."""
    X, y = _data()
    net = _net(epochs=30, early_stopping=True, patience=3, min_delta=0.05)
    h = net.fit(X, y)
    costs = h["cost"]
    assert h.stopped == "early_stopping"
    best = int(np.argmin(costs)) + 1
    ref_cost, last_big = math.inf, None                # replay the patience rule on the curve
    for e, c in enumerate(costs, start=1):
        if c < ref_cost - 0.05:
            ref_cost, last_big = c, e
    assert last_big != best            # the scenario of the bug: the best epoch improved by less
    assert h.best_epoch == best        # was last_big
    ref = _net(epochs=best)
    ref.fit(X, y)
    assert net._engine.theta.tobytes() == ref._engine.theta.tobytes()


def test_learning_rate_log_matches_the_schedule_in_math():
    # The 'step' schedule's floor division, checked against math.floor for non-multiples.
    X, y = _data()
    net = _net(epochs=5, lr_schedule="step", decay_rate=1.0, decay_interval=2, learning_rate=0.1)
    h = net.fit(X, y)
    assert h["lr"] == pytest.approx([0.1 / (1 + math.floor(e / 2)) for e in range(5)])
    assert h["lr"][1] == h["lr"][0] and h["lr"][2] < h["lr"][1]


# --- defects found with the scikit-learn drop-in (issue 12) ----------------------------------------------
class _BlowUp(Callback):
    """Sets the weights to huge values after epoch ``at``: the next epoch's cost is not finite."""

    def __init__(self, net, at):
        self.net, self.at = net, at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            self.net.engine.theta[...] = 1e30


def test_divergence_with_early_stopping_ends_at_the_best_epoch_instead_of_raising():
    """Regression: TrainingDiverged was raised although early stopping held finite best weights."""
    X, y = _data()
    net = _net(epochs=10, early_stopping=True, patience=5, validation_fraction=0.2)
    with pytest.warns(RuntimeWarning, match="restores the best epoch"):
        h = net.fit(X, y, callbacks=[_BlowUp(net, 3)])
    assert h.stopped == "diverged" and h.best_epoch is not None and h.best_epoch <= 3
    assert np.isfinite(net.engine.theta).all() and net.train_state is None
    ref = _net(epochs=h.best_epoch, early_stopping=True, patience=5, validation_fraction=0.2)
    ref.fit(X, y)
    assert net.engine.theta.tobytes() == ref.engine.theta.tobytes()


def test_divergence_without_best_weights_still_raises():
    X, y = _data()
    net = _net(epochs=10)
    with pytest.raises(TrainingDiverged):
        net.fit(X, y, callbacks=[_BlowUp(net, 2)])


def test_a_callbacks_stop_is_recorded_in_the_history():
    """Regression: a stop asked by a callback left history.stopped as None."""

    class StopAt2(Callback):
        def on_epoch_end(self, epoch, logs):
            return epoch == 2

    X, y = _data()
    h = _net(epochs=10).fit(X, y, callbacks=[StopAt2()])
    assert h.stopped == "callback" and len(h["cost"]) == 2


def test_a_learning_rate_set_by_a_callback_is_used_and_recorded():
    """Regression: a learning-rate change made by a callback during fit was ignored."""

    class Halve(Callback):
        def __init__(self, net):
            self.net = net

        def on_epoch_end(self, epoch, logs):
            hp = self.net.hp
            self.net.set_hyperparameters(hp.replace(learning_rate=hp.learning_rate / 2))

    X, y = _data()
    net = _net(epochs=4, learning_rate=0.08)
    h = net.fit(X, y, callbacks=[Halve(net)])
    assert h["lr"] == pytest.approx([0.08, 0.04, 0.02, 0.01])
    # the same as four runs of one epoch at those rates
    ref = _net(epochs=1, learning_rate=0.08)
    ref.fit(X, y)
    for lr in (0.04, 0.02, 0.01):
        ref.set_hyperparameters(ref.hp.replace(learning_rate=lr))
        ref.fit(X, y, epochs=1, warm_start=True)
    assert_allclose(net.engine.theta, ref.engine.theta, rtol=1e-6)


def test_validation_split_is_stratified_for_classifiers():
    """Regression: a plain permutation held out 0 of 10 minority examples (seed 0)."""
    y = np.r_[np.zeros(40, int), np.ones(10, int)]
    net = _net(validation_fraction=0.2)
    tr, va = net.validation_split(50, y)
    assert len(va) == 10 and np.sum(y[va] == 1) == 2 and np.sum(y[va] == 0) == 8
    assert set(tr) | set(va) == set(range(50)) and not set(tr) & set(va)
    assert_array_equal(net.validation_split(50, y)[1], va)         # the same every time


def test_validation_split_keeps_a_single_example_class_in_training():
    y = np.r_[np.zeros(30, int), np.ones(9, int), [2]]
    with pytest.warns(UserWarning, match=r"class\(es\) \[2\] have a single example"):
        tr, va = _net(validation_fraction=0.25).validation_split(40, y)
    assert 39 in tr and len(va) == 10 and np.sum(y[va] == 1) >= 2
