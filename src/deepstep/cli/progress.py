"""The progress bar ``deepstep train`` shows on stderr while it trains."""

from __future__ import annotations

import sys

from ..training import Callback


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the current cost (and validation cost)."""

    def __init__(self, total, disable=False, file=None, mininterval=0.1):
        self.total, self.disable, self.file, self.mininterval = total, disable, file, mininterval
        self.bar = None

    def on_train_begin(self, state):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, unit="epoch", desc="training", disable=self.disable,
                        file=self.file or sys.stderr, leave=False, dynamic_ncols=True,
                        mininterval=self.mininterval)

    def on_epoch_end(self, epoch, logs):
        if self.bar is None:
            return False
        post = f"cost={logs['cost']:.4f}"
        if "val_cost" in logs:
            post += f" val_cost={logs['val_cost']:.4f}"
        self.bar.set_postfix_str(post, refresh=False)
        self.bar.update(1)
        return False

    def on_train_end(self, history):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
