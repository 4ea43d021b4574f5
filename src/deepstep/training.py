"""The fit loop: epochs of shuffled mini-batches, history, validation, early stopping.

The loop owns nothing numeric: the engine does the passes, the optimizer the
updates. What lives here is the order of events of one training run, kept in a
:class:`TrainState` so that the run can stop after any mini-batch (Ctrl-C, a
callback, a non-finite cost) and resume from a checkpoint bit for bit:

    for each epoch:
        lr = schedule(lr0, epoch)
        perm = rng.permutation(m)                (if shuffle and not full batch)
        for each batch of ``batch_size`` columns of perm:
            gather rows -> forward -> cost -> backward -> optimizer step
        record the epoch: mean cost, train accuracy (running, over the batches),
        validation cost and metrics; early stopping; callbacks

Callbacks (:mod:`deepstep.callbacks`) hear the train's, epochs' and batches'
begin and end; they may change ``state.lr`` (honoured by the next steps and
recorded in the history) and stop the run (recorded in ``history.stopped``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .callbacks import Callback
from .errors import TrainingDiverged
from .optimizers import SCHEDULES

__all__ = ["Callback", "History", "TrainState", "resolve_batch_size", "run"]


class History(dict):
    """Per-epoch records: ``history["cost"][i]`` is the mean cost of epoch i.

    Keys: ``epoch``, ``lr``, ``cost``, and where they apply ``accuracy``,
    ``val_cost``, ``val_accuracy`` (classification) or ``val_mse``/``val_r2``.
    ``lr`` is the learning rate of the epoch's last step: a callback may change
    it for the coming steps (``state.lr``) or for the following epochs
    (``model.set_hyperparameters(model.hp.replace(learning_rate=...))``).
    ``stopped`` says why training ended early, if it did: ``"early_stopping"``,
    ``"diverged"``, ``"callback"`` (a callback's ``on_epoch_end`` returned
    True), or the reason a callback gave ``stop_training``.
    """

    stopped: str | None = None
    best_epoch: int | None = None

    def append(self, **values):
        for k, v in values.items():
            self.setdefault(k, []).append(v)

    def to_dict(self):
        return {"records": {k: list(v) for k, v in self.items()}, "stopped": self.stopped,
                "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, d):
        h = cls({k: list(v) for k, v in d.get("records", {}).items()})
        h.stopped, h.best_epoch = d.get("stopped"), d.get("best_epoch")
        return h


@dataclass
class TrainState:
    """Where a run is; enough to resume it exactly."""

    epoch: int = 0            # epochs completed over the model's life
    position: int = 0         # next example index within the current epoch's perm
    perm: np.ndarray | None = None
    cost_sum: float = 0.0
    correct: int = 0
    best_cost: float = math.inf
    best_theta: np.ndarray | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    extras: dict = field(default_factory=dict)
    # Not stored in checkpoints: what callbacks read and write during a run.
    lr: float | None = None   # the learning rate of the next optimizer steps
    batch_cost: float | None = None   # the last mini-batch's cost
    stop: str | None = None   # set by Callback.stop_training: why the run ends after this epoch


def resolve_batch_size(batch_size, m):
    if batch_size in ("full", None):
        return m
    if batch_size == "auto":
        return min(64, m)
    return int(batch_size)


def run(model, Xr, Yr, epochs, validation=None, callbacks=(), state=None, stop=None, sample_weight=None):
    """Train ``model`` for ``epochs`` more epochs on rows Xr (m, n_x), Yr (m, n_y).

    ``sample_weight`` (m,), optional: per-example weights in the cost and its
    gradient, each batch normalised by its weight sum (``Engine.backward``);
    the epoch's cost is then the weighted mean.

    ``stop()`` is polled after every mini-batch (the CLI's signal handler);
    when it returns True the loop returns with ``state`` pointing at the next
    batch. Returns the (updated) state.
    """
    hp, eng, history = model.hp, model._engine, model.history
    bs = resolve_batch_size(hp.batch_size, Xr.shape[0])
    state = state or TrainState(epoch=model._epochs_done)
    end_epoch = state.epoch + epochs
    history.stopped = None
    state.stop = None
    params = {"epochs": end_epoch, "initial_epoch": state.epoch, "steps": math.ceil(Xr.shape[0] / bs),
              "batch_size": bs, "samples": Xr.shape[0]}
    for cb in callbacks:
        if isinstance(cb, Callback):       # duck-typed callbacks need only the hooks they use
            cb.set_model(model)
            cb.set_params(params)
            cb.state = state
    for cb in callbacks:
        cb.on_train_begin(state)
    last_good = _Snapshot(eng, model._optimizer)
    # A diverging run overflows before its cost turns non-finite; that is reported
    # once, as TrainingDiverged, rather than as a stream of RuntimeWarnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            interrupted = _loop(model, Xr, Yr, end_epoch, validation, callbacks, state, stop, bs, last_good,
                                sample_weight)
            # The last step can leave non-finite weights behind a finite cost: never return them.
            if not np.isfinite(eng.theta).all():
                state.perm = None
                raise _diverged(model, "the weights became NaN or infinite after the last step", state,
                                last_good)
        except TrainingDiverged as exc:
            if any(getattr(cb, "stops_on_divergence", False) for cb in callbacks):
                # TerminateOnNaN: end the run quietly (last finite weights already restored).
                state.perm, interrupted = None, False
            elif not (hp.early_stopping and state.best_theta is not None):
                raise
            else:
                # Early stopping kept the best weights: training ends there, as it would have.
                import warnings

                warnings.warn(f"{exc} Early stopping restores the best epoch ({state.best_epoch}).",
                              RuntimeWarning, stacklevel=3)
                state.perm, interrupted = None, False     # finished: nothing to resume mid-epoch
    if interrupted:                      # mid-epoch: resumable as is, nothing restored
        return state
    if hp.early_stopping and state.best_theta is not None:
        eng.theta[...] = state.best_theta
        history.best_epoch = state.best_epoch
    for cb in callbacks:
        cb.on_train_end(history)
    return state


class _Snapshot:
    """Weights and optimizer state at the start of the current epoch (the last finite ones)."""

    def __init__(self, eng, opt):
        self.eng, self.opt = eng, opt
        self.theta = eng.theta.copy()
        self.state = {k: v.copy() for k, v in opt.state.items()}
        self.t = opt.t

    def take(self):
        np.copyto(self.theta, self.eng.theta)
        for k, v in self.opt.state.items():
            np.copyto(self.state[k], v)
        self.t = self.opt.t

    def restore(self):
        self.eng.theta[...] = self.theta
        for k, v in self.opt.state.items():
            v[...] = self.state[k]
        self.opt.t = self.t


def _diverged(model, what, state, last_good):
    last_good.restore()
    model.history.stopped = "diverged"
    return TrainingDiverged(
        f"Training diverged at epoch {state.epoch + 1}: {what} (learning_rate="
        f"{model.hp.learning_rate:g}). The model keeps its weights and optimizer state from "
        f"the last finite epoch; try a smaller learning rate."
    )


def _loop(model, Xr, Yr, end_epoch, validation, callbacks, state, stop, bs, last_good, wr=None):
    hp, eng, opt, rng = model.hp, model._engine, model._optimizer, model._rng
    history = model.history
    m = Xr.shape[0]
    full = bs >= m
    keep, l2 = hp.keep_prob, hp.l2
    dropout = keep < 1.0
    classify = model._targets.output != "linear"
    sig = model._targets.output == "sigmoid"
    xbuf, ybuf = {}, {}
    epoch_begin = [cb.on_epoch_begin for cb in callbacks if hasattr(cb, "on_epoch_begin")]
    batch_begin = [cb.on_batch_begin for cb in callbacks if hasattr(cb, "on_batch_begin")]
    while state.epoch < end_epoch:
        hp = model.hp               # a callback may have changed it (model.set_hyperparameters)
        lr = SCHEDULES[hp.lr_schedule](hp.learning_rate, state.epoch, hp.decay_rate, hp.decay_interval)
        if state.perm is None:
            state.perm = rng.permutation(m) if (hp.shuffle and not full) else None
            state.position, state.cost_sum, state.correct = 0, 0.0, 0
            # The previous epoch's last step may have left non-finite weights
            # behind a finite cost: never snapshot those as "good".
            if not np.isfinite(eng.theta).all():
                raise _diverged(model, "the weights became NaN or infinite", state, last_good)
            last_good.take()
            state.lr = lr
            for hook in epoch_begin:
                hook(state.epoch + 1, {"epoch": state.epoch + 1, "lr": lr})
        elif state.lr is None:               # resumed mid-epoch from a checkpoint
            state.lr = lr
        perm = state.perm
        while state.position < m:
            start = state.position
            stop_i = min(start + bs, m)
            k = stop_i - start
            if full and start == 0 and perm is None:
                X, Y = Xr.T, Yr.T                       # the seed's batch gradient descent
            else:
                if k not in xbuf:
                    xbuf[k] = np.empty((k, Xr.shape[1]), Xr.dtype)
                    ybuf[k] = np.empty((k, Yr.shape[1]), Yr.dtype)
                if perm is None:
                    np.copyto(xbuf[k], Xr[start:stop_i])
                    np.copyto(ybuf[k], Yr[start:stop_i])
                else:
                    # mode="clip": the indices are a permutation, always in range, and
                    # mode="raise" would gather through a temporary (~8x slower).
                    idx = perm[start:stop_i]
                    Xr.take(idx, axis=0, out=xbuf[k], mode="clip")
                    Yr.take(idx, axis=0, out=ybuf[k], mode="clip")
                X, Y = xbuf[k].T, ybuf[k].T               # (n_x, k), (n_y, k) views
            wb = None if wr is None else (wr[start:stop_i] if perm is None else wr[perm[start:stop_i]])
            for hook in batch_begin:
                hook(state)
            ws = eng.workspace(k, dropout)
            AL = eng.forward(X, ws, keep, rng)
            cost = eng.cost(AL, Y, l2, wb)
            if not math.isfinite(cost):
                raise _diverged(model, f"the cost became {cost}", state, last_good)
            state.batch_cost = cost
            state.cost_sum += cost * (k if wb is None else float(wb.sum()))
            if classify:
                if sig:
                    state.correct += int(np.count_nonzero((AL > 0.5) == (Y > 0.5))) / AL.shape[0]
                else:
                    state.correct += int(np.count_nonzero(AL.argmax(0) == Y.argmax(0)))
            eng.backward(X, Y, ws, l2, keep, wb)
            opt.step(eng.theta, eng.grad, state.lr)
            state.position = stop_i
            for cb in callbacks:
                cb.on_batch_end(state)
            if model.hp is not hp:  # changed by a callback: the next batch uses the new rate
                hp = model.hp
                lr = SCHEDULES[hp.lr_schedule](hp.learning_rate, state.epoch, hp.decay_rate, hp.decay_interval)
                state.lr = lr
            if stop is not None and stop():
                if state.position < m:
                    return True
                break

        # -- end of epoch ------------------------------------------------------------
        state.epoch += 1
        model._epochs_done = state.epoch
        state.perm = None
        logs = {"epoch": state.epoch, "lr": state.lr,
                "cost": state.cost_sum / (m if wr is None else float(wr.sum()))}
        if classify:
            logs["accuracy"] = state.correct / m
        if validation is not None:
            logs.update(model._validation_logs(*validation))
        history.append(**logs)
        halt = _early_stopping(model, state, logs, validation is not None)
        for cb in callbacks:
            if cb.on_epoch_end(state.epoch, logs) and state.stop is None:
                state.stop = "callback"
        if state.stop is not None:
            history.stopped = history.stopped or state.stop
            halt = True
        if halt or (stop is not None and stop()):
            break
    return False


def _early_stopping(model, state, logs, has_val):
    hp = model.hp
    if not hp.early_stopping:
        return False
    monitored = logs["val_cost"] if has_val else logs["cost"]
    # Patience restarts on an improvement by min_delta over the last such epoch (``patience_ref``);
    # the weights kept for restoring are the best epoch's, whatever its margin.
    ref = state.extras.get("patience_ref", state.best_cost)
    improved = monitored < ref - hp.min_delta
    if monitored < state.best_cost:
        state.best_cost, state.best_epoch = monitored, state.epoch
        state.best_theta = model._engine.theta.copy()
    if improved:
        state.extras["patience_ref"] = float(monitored)
        state.bad_epochs = 0
        return False
    state.bad_epochs += 1
    if state.bad_epochs >= hp.patience:
        model.history.stopped = "early_stopping"
        return True
    return False
