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

``_loop`` is that text: ``_begin_epoch`` (the order, the last good weights),
``_Rows.batch`` (row gathering), the engine's passes and the optimizer's step,
``_Tally`` (running cost and accuracy) and ``_end_epoch`` (history,
validation, early stopping, callbacks). The loop gets its collaborators as a
:class:`LoopParts` and touches nothing else of the model.

Callbacks (:mod:`deepstep.callbacks`) hear the train's, epochs' and batches'
begin and end; they may change ``state.lr`` (honoured by the next steps and
recorded in the history) and stop the run (recorded in ``history.stopped``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import fused as _fused
from . import parallel
from .callbacks import Callback
from .errors import TrainingDiverged
from .optimizers import SCHEDULES

__all__ = ["Callback", "History", "TrainState", "resolve_batch_size", "run"]


class History(dict):
    """Per-epoch records: ``history["cost"][i]`` is the mean cost of epoch i.

    Keys: ``epoch``, ``lr``, ``cost``, and where they apply ``accuracy``,
    ``val_cost``, ``val_accuracy`` (classification) or ``mse``/``r2`` (the
    running training metrics, in the targets' units) and ``val_mse``/``val_r2``.
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


@dataclass
class LoopParts:
    """What the fit loop works with, handed over by the model.

    :meth:`deepstep.DeepNetwork.loop_parts` builds one; anything with the same
    fields can be trained by :func:`run`. The loop reads and updates these and
    nothing else of the model.

    hp : HyperParameters
        batch size, schedule, shuffle, dropout, L2, early stopping.
    engine : :class:`deepstep.engine.Engine`
        the passes, and the parameters ``engine.theta`` (updated in place).
    optimizer : :class:`deepstep.optimizers.Optimizer`
        the update; its ``state`` and ``t`` are restored on divergence.
    rng : numpy.random.Generator
        the shuffles and the dropout masks.
    output : str
        the output activation: ``"sigmoid"`` / ``"softmax"`` (accuracy is
        tracked) or ``"linear"``.
    history : History
        appended to once per epoch.
    validation_logs : callable ``(X_val, Y_val) -> dict``
        the validation entries of an epoch's logs.
    epoch_done : callable ``(epochs_completed) -> None``
        told after every epoch (the model's epoch count).
    epochs_done : int
        epochs completed before this run (where a new run's count starts).
    current_hp : callable ``() -> HyperParameters``, optional
        the model's hyperparameters now: a callback may change them
        (``model.set_hyperparameters``), read at each epoch and after each batch.
    model : DeepNetwork, optional
        the model callbacks are given (``Callback.set_model``).
    value_scale : ndarray (n_y,), optional
        a regression's target scale (the model fits standardized targets): the
        running training ``mse`` (and ``r2``) are recorded in the targets' units.
    """

    hp: object
    engine: object
    optimizer: object
    rng: np.random.Generator
    output: str
    history: History
    validation_logs: object
    epoch_done: object
    epochs_done: int = 0
    current_hp: object = None
    model: object = None
    value_scale: object = None


def run(parts, Xr, Yr, epochs, validation=None, callbacks=(), state=None, stop=None, sample_weight=None):
    """Train for ``epochs`` more epochs on rows Xr (m, n_x), Yr (m, n_y).

    ``sample_weight`` (m,), optional: per-example weights in the cost and its
    gradient, each batch normalised by its weight sum (``Engine.backward``);
    the epoch's cost is then the weighted mean.

    ``parts`` is a :class:`LoopParts` (or a model with ``loop_parts()``).
    ``Xr`` may also be a :class:`deepstep.sources.Rows`-like object (out-of-core
    rows streamed in shuffled blocks). ``stop()`` is polled after every
    mini-batch (the CLI's signal handler); when it returns True the loop returns
    with ``state`` pointing at the next batch. Returns the (updated) state.
    """
    if not isinstance(parts, LoopParts):
        parts = parts.loop_parts()
    hp, eng, history = parts.hp, parts.engine, parts.history
    rows = Xr if hasattr(Xr, "permutation") else _Rows(Xr, Yr)
    bs = resolve_batch_size(hp.batch_size, rows.m)
    state = state or TrainState(epoch=parts.epochs_done)
    end_epoch = state.epoch + epochs
    history.stopped = None
    state.stop = None
    params = {"epochs": end_epoch, "initial_epoch": state.epoch, "steps": math.ceil(rows.m / bs),
              "batch_size": bs, "samples": rows.m}
    for cb in callbacks:
        if isinstance(cb, Callback):       # duck-typed callbacks need only the hooks they use
            cb.set_model(parts.model)
            cb.set_params(params)
            cb.state = state
    for cb in callbacks:
        cb.on_train_begin(state)
    last_good = _Snapshot(eng, parts.optimizer)
    # A diverging run overflows before its cost turns non-finite; that is reported
    # once, as TrainingDiverged, rather than as a stream of RuntimeWarnings. (Underflow,
    # e^(very negative) -> 0 in the sigmoid and softmax, is the right limit.)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        try:
            with parallel.session(eng, parts.optimizer, bs) as par:
                interrupted = _loop(parts, rows, bs, end_epoch, validation, callbacks, state, stop, last_good,
                                    None if sample_weight is None else np.asarray(sample_weight), par)
            # The last step can leave non-finite weights behind a finite cost: never return them.
            if not _all_finite(eng.theta):
                state.perm = None
                raise _diverged(parts, "the weights became NaN or infinite after the last step", state,
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


class _Rows:
    """Row gathering from in-memory rows: the batch of ``perm[start:stop]`` into reused buffers.

    Large batches are gathered in parts by the helper threads (the same rows, so
    the same batch, whatever the thread count).
    """

    def __init__(self, Xr, Yr):
        self.Xr, self.Yr = Xr, Yr
        self.m = Xr.shape[0]
        self._buf = {}
        self._split = None

    def permutation(self, rng):
        """This epoch's order of the examples."""
        return rng.permutation(self.m)

    def batch(self, perm, start, stop):
        """``(X, Y)`` of shape (n_x, k), (n_y, k): views of gathered rows, or of all rows."""
        Xr, Yr = self.Xr, self.Yr
        if perm is None and start == 0 and stop == self.m:
            return Xr.T, Yr.T                           # the lesson's batch gradient descent
        k = stop - start
        buf = self._buf.get(k)
        if buf is None:
            buf = self._buf[k] = (np.empty((k, Xr.shape[1]), Xr.dtype), np.empty((k, Yr.shape[1]), Yr.dtype))
        xb, yb = buf
        if perm is None:
            np.copyto(xb, Xr[start:stop])
            np.copyto(yb, Yr[start:stop])
        else:
            idx = perm[start:stop]
            # mode="clip": the indices are a permutation, always in range, and
            # mode="raise" would gather through a temporary (~8x slower).
            if k * Xr.shape[1] >= (1 << 17):
                def gather(lo, hi):
                    Xr.take(idx[lo:hi], axis=0, out=xb[lo:hi], mode="clip")
                _helpers().split(gather, k, min_part=max(1, (1 << 16) // Xr.shape[1]))
            else:
                Xr.take(idx, axis=0, out=xb, mode="clip")
            Yr.take(idx, axis=0, out=yb, mode="clip")
        return xb.T, yb.T                               # (n_x, k), (n_y, k) views

    def batch_shares(self, perm, start, stop):
        """``(X, Y, fill)``: ``batch``'s views with Y gathered and X's rows left to
        ``fill(lo, hi)``, which gathers columns lo..hi (None: nothing to gather)."""
        Xr = self.Xr
        if perm is None:
            return (*self.batch(perm, start, stop), None)
        k = stop - start
        buf = self._buf.get(k)
        if buf is None:
            buf = self._buf[k] = (np.empty((k, Xr.shape[1]), Xr.dtype),
                                  np.empty((k, self.Yr.shape[1]), self.Yr.dtype))
        xb, yb = buf
        idx = perm[start:stop]
        self.Yr.take(idx, axis=0, out=yb, mode="clip")

        def fill(lo, hi):
            Xr.take(idx[lo:hi], axis=0, out=xb[lo:hi], mode="clip")

        return xb.T, yb.T, fill


def _helpers():
    from .engine import helpers

    return helpers()


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


def _diverged(parts, what, state, last_good):
    last_good.restore()
    parts.history.stopped = "diverged"
    return TrainingDiverged(
        f"Training diverged at epoch {state.epoch + 1}: {what} (learning_rate="
        f"{parts.hp.learning_rate:g}). The model keeps its weights and optimizer state from "
        f"the last finite epoch; try a smaller learning rate."
    )


def _loop(parts, rows, bs, end_epoch, validation, callbacks, state, stop, last_good, wr=None, par=None):
    """The docstring's loop: epochs of batches (gather, forward, cost, backward, step).

    ``par``, a :class:`deepstep.parallel.DataParallel`: the batches it covers run
    their passes and update on its threads, in the same order of events.
    """
    hp, eng, opt, rng = parts.hp, parts.engine, parts.optimizer, parts.rng
    now = parts.current_hp or (lambda: parts.hp)
    m = rows.m
    shuffle = hp.shuffle and bs < m
    keep, l2 = hp.keep_prob, hp.l2
    dropout = keep < 1.0
    tally = _Tally(parts.output, m if wr is None else float(wr.sum()), parts.value_scale, getattr(rows, "Yr", None))
    epoch_begin = [cb.on_epoch_begin for cb in callbacks if hasattr(cb, "on_epoch_begin")]
    batch_begin = [cb.on_batch_begin for cb in callbacks if hasattr(cb, "on_batch_begin")]
    while state.epoch < end_epoch:
        hp = now()                  # a callback may have changed it (model.set_hyperparameters)
        lr = SCHEDULES[hp.lr_schedule](hp.learning_rate, state.epoch, hp.decay_rate, hp.decay_interval)
        if state.perm is None:
            _begin_epoch(parts, rows, shuffle, state, last_good)
            state.lr = lr
            for hook in epoch_begin:
                hook(state.epoch + 1, {"epoch": state.epoch + 1, "lr": lr})
        elif state.lr is None:               # resumed mid-epoch from a checkpoint
            state.lr = lr
        perm = state.perm
        while state.position < m:
            start = state.position
            end = min(start + bs, m)
            split = par is not None and par.covers(end - start)
            if split and hasattr(rows, "batch_shares"):       # each thread gathers its share's rows
                X, Y, fill = rows.batch_shares(perm, start, end)
            else:
                (X, Y), fill = rows.batch(perm, start, end), None
            wb = None if wr is None else (wr[start:end] if perm is None else wr[perm[start:end]])
            for hook in batch_begin:
                hook(state)
            if split:
                cost, outputs = par.gradients(X, Y, keep, rng, l2, wb, fill)
                if not math.isfinite(cost):
                    raise _diverged(parts, f"the cost became {cost}", state, last_good)
                state.batch_cost = cost
                tally.add_shares(state, cost, outputs, end - start, wb)
                par.update(state.lr)
            else:
                ws = eng.workspace(end - start, dropout)
                AL = eng.forward(X, ws, keep, rng)
                cost = eng.cost(AL, Y, l2, wb, ws=ws)
                if not math.isfinite(cost):
                    raise _diverged(parts, f"the cost became {cost}", state, last_good)
                state.batch_cost = cost
                tally.add(state, cost, AL, Y, wb)
                eng.backward(X, Y, ws, l2, keep, wb)
                opt.step(eng.theta, eng.grad, state.lr)
            state.position = end
            for cb in callbacks:
                cb.on_batch_end(state)
            if now() is not hp:     # changed by a callback: the next batch uses the new rate
                hp = now()
                lr = SCHEDULES[hp.lr_schedule](hp.learning_rate, state.epoch, hp.decay_rate, hp.decay_interval)
                state.lr = lr
            if stop is not None and stop():
                if state.position < m:
                    return True
                break
        if _end_epoch(parts, state, state.lr, m, tally, validation, callbacks) or (stop is not None and stop()):
            break
    return False


def _begin_epoch(parts, rows, shuffle, state, last_good):
    """A new order of the examples, and the weights it starts from as the last good ones."""
    state.perm = rows.permutation(parts.rng) if shuffle else None
    state.position, state.cost_sum, state.correct = 0, 0.0, 0
    # The previous epoch's last step may have left non-finite weights
    # behind a finite cost: never snapshot those as "good".
    if not _all_finite(parts.engine.theta):
        raise _diverged(parts, "the weights became NaN or infinite", state, last_good)
    last_good.take()


def _all_finite(a):
    from .engine import all_finite

    return all_finite(a)


class _Tally:
    """The running cost and training metric of an epoch, over its batches.

    Classification: accuracy (``state.correct``: the examples right so far). Regression: mse
    (``state.correct``: the squared errors so far, in the targets' units) and r2 (against the
    training targets' variance, when the rows are in memory), as the validation split's
    ``val_mse``/``val_r2`` are.
    """

    def __init__(self, output, total_weight, value_scale=None, Yr=None):
        self.classify = output != "linear"
        self.sigmoid = output == "sigmoid"
        self.total = total_weight       # m, or the sum of the sample weights
        self.n_y = 1
        self.scale2 = self.var = None
        if not self.classify:
            scale = None if value_scale is None else np.asarray(value_scale, dtype=np.float64)
            self.scale2 = None if scale is None else (scale * scale)[:, None]
            if Yr is not None and Yr.size:
                self.n_y = Yr.shape[1]
                D = (Yr - Yr.mean(axis=0)).astype(np.float64)
                self.var = float(np.mean(D * D * (1.0 if scale is None else scale * scale)))

    def add(self, state, cost, AL, Y, wb=None):
        state.cost_sum += cost * (AL.shape[1] if wb is None else float(wb.sum()))
        if self.classify:
            if self.sigmoid:
                state.correct += int(np.count_nonzero((AL > 0.5) == (Y > 0.5))) / AL.shape[0]
            else:
                K = _fused.kernels(AL.dtype)
                if K is not None and _fused.like(Y, AL):
                    state.correct += K.count_argmax_equal(AL, Y)        # the same count, one call
                else:
                    state.correct += int(np.count_nonzero(AL.argmax(0) == Y.argmax(0)))
        else:
            D = AL - Y
            self.n_y = AL.shape[0]
            state.correct += float(np.vdot(D, D)) if self.scale2 is None else float(np.sum(D * D * self.scale2))

    def add_shares(self, state, cost, outputs, m, wb=None):
        """``add`` for a batch of m examples whose outputs come in shares ``(A[L], Y, weights)``."""
        state.cost_sum += cost * (m if wb is None else float(wb.sum()))
        if self.classify:
            for AL, Y, _ in outputs:
                if self.sigmoid:
                    state.correct += int(np.count_nonzero((AL > 0.5) == (Y > 0.5))) / AL.shape[0]
                else:
                    state.correct += int(np.count_nonzero(AL.argmax(0) == Y.argmax(0)))

    def logs(self, state, lr, m):
        logs = {"epoch": state.epoch, "lr": lr, "cost": state.cost_sum / self.total}
        if self.classify:
            logs["accuracy"] = state.correct / m
        else:
            logs["mse"] = state.correct / (m * self.n_y)
            if self.var is not None:
                logs["r2"] = 1.0 - logs["mse"] / self.var if self.var > 0 else float("nan")
        return logs


def _end_epoch(parts, state, lr, m, tally, validation, callbacks):
    """Record the epoch (history, validation), early stopping, callbacks; True to halt."""
    state.epoch += 1
    parts.epoch_done(state.epoch)
    state.perm = None
    logs = tally.logs(state, lr, m)
    if validation is not None:
        logs.update(parts.validation_logs(*validation))
    parts.history.append(**logs)
    halt = _early_stopping(parts, state, logs, validation is not None)
    for cb in callbacks:
        if cb.on_epoch_end(state.epoch, logs) and state.stop is None:
            state.stop = "callback"
    if state.stop is not None:
        parts.history.stopped = parts.history.stopped or state.stop
        halt = True
    return halt


def _early_stopping(parts, state, logs, has_val):
    hp = parts.current_hp() if parts.current_hp else parts.hp
    if not hp.early_stopping:
        return False
    monitored = logs["val_cost"] if has_val else logs["cost"]
    # Patience restarts on an improvement by min_delta over the last such epoch (``patience_ref``);
    # the weights kept for restoring are the best epoch's, whatever its margin.
    ref = state.extras.get("patience_ref", state.best_cost)
    improved = monitored < ref - hp.min_delta
    if monitored < state.best_cost:
        state.best_cost, state.best_epoch = monitored, state.epoch
        state.best_theta = parts.engine.theta.copy()
    if improved:
        state.extras["patience_ref"] = float(monitored)
        state.bad_epochs = 0
        return False
    state.bad_epochs += 1
    if state.bad_epochs >= hp.patience:
        parts.history.stopped = "early_stopping"
        return True
    return False
