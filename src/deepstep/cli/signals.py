"""SIGINT/SIGTERM during ``deepstep train``: stop at the end of the mini-batch, keep the run resumable."""

from __future__ import annotations

import os
import signal

from ..training import Callback
from .runtime import EXIT_INTERRUPTED, EXIT_TERMINATED


class GracefulStop(Callback):
    """Turn SIGINT/SIGTERM during ``fit`` into a stop at the end of the current mini-batch.

    Use as a context manager around ``fit`` and pass the instance both as a
    callback (it sees the loop's :class:`~deepstep.training.TrainState`) and as
    ``stop=`` (the loop polls it after every mini-batch and every epoch). A
    second signal gives up at once (KeyboardInterrupt, exit 130, no checkpoint).

    When the epoch's examples are not shuffled (``--no-shuffle`` or full
    batches) the loop can only resume at an epoch boundary, so the stop waits
    for the end of the epoch.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, model):
        self.model = model
        self.signum = None        # the signal received, if any
        self.state = None         # the loop's TrainState (live object)
        self.theta = None         # the weights when the loop was told to stop
        self._at_epoch_end = False
        self._old = {}

    def __enter__(self):
        for s in self.SIGNALS:
            self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        self._old = {}
        return False

    def _handle(self, signum, frame):
        if self.signum is not None:                 # a second signal: stop now, no checkpoint
            self.__exit__()
            raise KeyboardInterrupt
        self.signum = signum

    # -- Callback ---------------------------------------------------------------
    def on_train_begin(self, state):
        self.state = state

    def on_batch_end(self, state):
        self._at_epoch_end = False

    def on_epoch_end(self, epoch, logs):
        self._at_epoch_end = True
        return False

    # -- stop() -----------------------------------------------------------------
    def __call__(self):
        if self.signum is None or self.state is None:
            return False
        if self.state.perm is None and not self._at_epoch_end:
            return False                            # unshuffled epoch: resumable only at its end
        # The loop restores early stopping's best weights when it stops at an epoch
        # boundary; the checkpoint needs the current ones, so keep them.
        self.theta = self.model.engine.theta.copy()
        return True

    @property
    def name(self):
        return None if self.signum is None else signal.Signals(self.signum).name

    @property
    def exit_code(self):
        return EXIT_TERMINATED if self.signum == signal.SIGTERM else EXIT_INTERRUPTED


#: ``DEEPSTEP_TEST_SIGNAL=SIGTERM@before_save`` makes ``deepstep train`` send itself that signal
#: when it reaches that point (the tests' way to hit a moment exactly). Unset, nothing happens.
TEST_SIGNAL_ENV = "DEEPSTEP_TEST_SIGNAL"


def test_point(name):
    """Raise the signal named in ``$DEEPSTEP_TEST_SIGNAL`` (``SIG@point``) when ``name`` is that point.

    The signal goes through the real handlers: this only makes its moment
    deterministic for the tests (after the last epoch, before the save, ...).
    """
    spec = os.environ.get(TEST_SIGNAL_ENV)
    if not spec or "@" not in spec:
        return
    sig, point = spec.split("@", 1)
    if point == name:
        os.kill(os.getpid(), getattr(signal, sig))
