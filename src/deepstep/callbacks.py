"""Callbacks: code the training loop calls while a model trains (Keras-style).

Pass them to ``DeepNetwork.fit(..., callbacks=[...])`` or to the estimators'
``callbacks=`` parameter::

    from deepstep.callbacks import EarlyStopping, ModelCheckpoint, CSVLogger
    net.fit(X, y, callbacks=[EarlyStopping("val_cost", patience=5, restore_best_weights=True),
                             ModelCheckpoint("best.npz", save_best_only=True),
                             CSVLogger("history.csv")])

The loop calls, in this order (``epoch`` counts from 1 over the model's life)::

    set_model(model); set_params(params); on_train_begin(state)
    for each epoch:  on_epoch_begin(epoch, logs)          logs = {"epoch", "lr"}
        for each mini-batch:  on_batch_begin(state); ...step...; on_batch_end(state)
        on_epoch_end(epoch, logs)                         logs = the epoch's history record
    on_train_end(history)

``state`` is the loop's :class:`~deepstep.training.TrainState`: ``state.lr`` is the
learning rate the next optimizer steps use (the loop sets it from the model's
``lr_schedule`` at each epoch's start, before ``on_epoch_begin``; a callback may
assign it, and the epoch's ``lr`` in the history is the rate of its last step);
``state.batch_cost`` is the last mini-batch's cost. A callback stops training by
returning True from ``on_epoch_end`` (``history.stopped == "callback"``) or by
calling :meth:`Callback.stop_training` from any hook (the run ends after the
current epoch; ``history.stopped`` is the reason given, else the class name).
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from .errors import InvalidParameterError

__all__ = [
    "CSVLogger", "Callback", "EarlyStopping", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
    "ProgressBar", "ReduceLROnPlateau", "TerminateOnNaN",
]


class Callback:
    """Base class: override the hooks you need (every hook does nothing by default).

    Attributes set by the loop before ``on_train_begin``: ``model`` (the
    :class:`~deepstep.DeepNetwork` being trained), ``params`` (``{"epochs": the
    epoch this run ends at, "initial_epoch", "steps": mini-batches per epoch,
    "batch_size", "samples"}``) and ``state`` (the loop's
    :class:`~deepstep.training.TrainState`).
    """

    model = None
    params: dict = {}
    state = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def stop_training(self, reason=None):
        """Ask the loop to stop at the end of the current epoch; ``reason`` goes to ``history.stopped``."""
        if self.state is not None:
            self.state.stop = reason or type(self).__name__

    def on_train_begin(self, state): ...
    def on_epoch_begin(self, epoch, logs): ...
    def on_batch_begin(self, state): ...
    def on_batch_end(self, state): ...
    def on_epoch_end(self, epoch, logs):
        """Return True to stop training after this epoch."""
    def on_train_end(self, history): ...


def _mode_for(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise InvalidParameterError(f"mode must be 'auto', 'min' or 'max'. Got {mode!r} instead.")
    if mode != "auto":
        return mode
    return "max" if monitor.replace("val_", "") in ("accuracy", "r2") else "min"


def _monitored(cb, logs):
    if cb.monitor not in logs:
        have = ", ".join(k for k in logs if k not in ("epoch", "lr"))
        hint = (" Pass validation_data to fit() or set validation_fraction > 0, or monitor the training "
                "'cost'." if cb.monitor.startswith("val_") else "")
        raise InvalidParameterError(
            f"{type(cb).__name__} monitors {cb.monitor!r}, which this run does not record (it records "
            f"{have}).{hint}")
    return float(logs[cb.monitor])


class _Monitor:
    """Tracks the best value of a logged quantity (for EarlyStopping, ModelCheckpoint, ReduceLROnPlateau)."""

    def _init_monitor(self, monitor, mode, min_delta=0.0):
        self.monitor, self.mode, self.min_delta = monitor, _mode_for(monitor, mode), abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _improved(self, value):
        if not math.isfinite(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor, Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch's logs: ``"val_cost"`` (the default), ``"cost"``,
        ``"val_accuracy"``, ``"val_mse"``, ...
    min_delta : float
        The least change that counts as an improvement.
    patience : int
        Epochs without improvement before stopping.
    mode : 'auto', 'min' or 'max'
        'auto': max for accuracy and r2, min otherwise.
    restore_best_weights : bool
        At the end of training, put back the weights of the best epoch
        (``history.best_epoch``).
    start_from_epoch : int
        Epochs of this run to wait before monitoring (warm-up).

    ``history.stopped`` is ``"early_stopping"`` when it stops the run.
    """

    def __init__(self, monitor="val_cost", min_delta=0.0, patience=10, mode="auto",
                 restore_best_weights=False, start_from_epoch=0):
        self._init_monitor(monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise InvalidParameterError(f"patience must be an int >= 1. Got {patience!r} instead.")
        self.patience, self.restore_best_weights = patience, bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait, self.best_epoch, self.best_theta, self.stopped_epoch = 0, None, None, None
        self._first = state.epoch

    def on_epoch_end(self, epoch, logs):
        if epoch - self._first <= self.start_from_epoch:
            return False
        value = _monitored(self, logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_theta = self.model.engine.theta.copy()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training("early_stopping")
        return False

    def on_train_end(self, history):
        if self.restore_best_weights and self.best_theta is not None:
            self.model.engine.theta[...] = self.best_theta
            history.best_epoch = self.best_epoch


class ModelCheckpoint(_Monitor, Callback):
    """Save the model after each epoch (atomically, with :meth:`DeepNetwork.save`).

    ``path`` may hold format fields from the epoch's logs, e.g.
    ``"model-{epoch:03d}-{val_cost:.3f}.npz"``. With ``save_best_only`` the file
    is written only when ``monitor`` improves, so it always holds the best
    model so far. ``self.saved`` lists the paths written.
    """

    def __init__(self, path, monitor="val_cost", save_best_only=False, mode="auto"):
        self.path = os.fspath(path)
        self.save_best_only = bool(save_best_only)
        self._init_monitor(monitor, mode)
        self.saved = []

    def on_train_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = _monitored(self, logs)
            if not self._improved(value):
                return False
            self.best = value
        path = self.path.format(**logs)
        self.model.save(path)
        if not self.saved or self.saved[-1] != path:
            self.saved.append(path)
        return False


class CSVLogger(Callback):
    """Write the history to a CSV file, one row per epoch, rewritten atomically after each epoch.

    With ``append=True`` the rows of an existing file are kept (when its
    columns match) and new rows go after them. A crash mid-write leaves the
    previous complete file.
    """

    def __init__(self, path, separator=",", append=False):
        self.path, self.separator, self.append = os.fspath(path), separator, bool(append)

    def on_train_begin(self, state):
        self.header, self.lines = None, []
        if self.append and os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                old = f.read().splitlines()
            if old:
                self.header, self.lines = old[0].split(self.separator), old[1:]

    def on_epoch_end(self, epoch, logs):
        if self.header is None:
            self.header = list(logs)
        row = [_csv_value(logs.get(k, "")) for k in self.header]
        self.lines.append(self.separator.join(row))
        text = self.separator.join(self.header) + "\n" + "".join(line + "\n" for line in self.lines)
        from .modelfile.writer import atomic_write_bytes

        atomic_write_bytes(self.path, text.encode("utf-8"))
        return False


def _csv_value(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


class LearningRateScheduler(Callback):
    """Set each epoch's learning rate to ``schedule(epoch, lr)``.

    ``epoch`` counts from 0 (the epochs trained before this one) and ``lr`` is
    the rate the model's own ``lr_schedule`` gives for it; the value returned
    is used for the whole epoch and recorded in ``history["lr"]``.
    """

    def __init__(self, schedule):
        if not callable(schedule):
            raise InvalidParameterError("LearningRateScheduler needs a callable schedule(epoch, lr) -> lr.")
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs):
        lr = float(self.schedule(epoch - 1, self.state.lr))
        if not (math.isfinite(lr) and lr > 0):
            raise InvalidParameterError(f"The learning-rate schedule returned {lr!r} for epoch {epoch - 1}; "
                                        f"it must be a positive number.")
        self.state.lr = lr


class ReduceLROnPlateau(_Monitor, Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    The reduction applies on top of the model's ``lr_schedule`` for the rest of
    the run, never below ``min_lr``; ``cooldown`` epochs pass after a reduction
    before monitoring resumes.
    """

    def __init__(self, monitor="val_cost", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        if not 0.0 < factor < 1.0:
            raise InvalidParameterError(f"factor must be in (0, 1). Got {factor!r} instead.")
        self._init_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown, self.min_lr = float(factor), int(patience), int(cooldown), min_lr

    def on_train_begin(self, state):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.scale, self.wait, self.cooling = 1.0, 0, 0
        self.reductions = []                   # (epoch, new lr)

    def on_epoch_begin(self, epoch, logs):
        if self.scale != 1.0:
            self.state.lr = max(self.state.lr * self.scale, self.min_lr)

    def on_epoch_end(self, epoch, logs):
        value = _monitored(self, logs)
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooling == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self.scale *= self.factor
                self.reductions.append((epoch, max(logs["lr"] * self.factor, self.min_lr)))
                self.wait, self.cooling = 0, self.cooldown
        return False


class TerminateOnNaN(Callback):
    """End training quietly when the cost becomes NaN or infinite.

    Without it the loop raises :class:`~deepstep.TrainingDiverged`; with it the
    loop stops instead, with the weights and optimizer state of the last finite
    epoch, and ``history.stopped == "diverged"``.
    """

    stops_on_divergence = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))``.

    Each keyword is a hook's name; the functions take the hook's arguments.
    """

    _HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end",
              "on_train_end")

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise InvalidParameterError(f"LambdaCallback has no hook {name!r}; use one of "
                                            f"{', '.join(self._HOOKS)}.")
            if not callable(fn):
                raise InvalidParameterError(f"LambdaCallback's {name} must be callable.")
            setattr(self, name, fn)


def format_number(v, digits=4):
    """A log value to ``digits`` significant digits: 0.6931, 1.234e-05, 12, nan."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def format_logs(logs, digits=4, sep=" "):
    """'cost=0.1234 accuracy=0.95 val_cost=0.2' from an epoch's logs (epoch and lr left out)."""
    return sep.join(f"{k}={format_number(v, digits)}" for k, v in logs.items() if k not in ("epoch", "lr"))


def _duration(seconds):
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar(Callback):
    """Training progress on stderr: ``verbose=1`` a tqdm bar, ``verbose=2`` one line per epoch.

    The bar (``tqdm.auto``: a text bar in a terminal, a widget in Jupyter)
    counts epochs and shows the last epoch's cost and metrics to ``digits``
    significant digits, validation metrics when present, the elapsed time and
    the ETA (``disable=None``: hidden when ``file`` is not a terminal, as
    ``deepstep train`` does). ``verbose=2`` prints ``epoch 3/100 - cost=0.4321 accuracy=0.91 -
    00:02 elapsed, ETA 01:05``. ``file`` defaults to ``sys.stderr``.
    ``DeepNetwork(verbose=...)``, the estimators' ``verbose`` and ``deepstep
    train`` all use it.
    """

    def __init__(self, verbose=1, file=None, digits=4, mininterval=0.1, leave=True, desc="training",
                 disable=False):
        if verbose not in (0, 1, 2):
            raise InvalidParameterError(f"verbose must be 0, 1 or 2. Got {verbose!r} instead.")
        self.verbose, self.file, self.digits = verbose, file, digits
        self.mininterval, self.leave, self.desc, self.disable = mininterval, leave, desc, disable
        self.bar = None

    def on_train_begin(self, state):
        self._first = state.epoch if state is not None else 0
        self._end = self.params.get("epochs", self._first)
        self._t0 = time.perf_counter()
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self._end - self._first, unit="epoch", desc=self.desc,
                            file=self.file or sys.stderr, leave=self.leave, dynamic_ncols=True,
                            mininterval=self.mininterval, disable=self.disable)

    def on_epoch_end(self, epoch, logs):
        if self.verbose == 1 and self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs, self.digits), refresh=False)
            self.bar.update(1)
        elif self.verbose == 2:
            done = epoch - self._first
            elapsed = time.perf_counter() - self._t0
            eta = elapsed / done * (self._end - epoch) if done else 0.0
            print(f"epoch {epoch}/{self._end} - {format_logs(logs, self.digits)} - "
                  f"{_duration(elapsed)} elapsed, ETA {_duration(eta)}",
                  file=self.file or sys.stderr, flush=True)
        return False

    def on_train_end(self, history):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
