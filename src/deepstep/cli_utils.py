"""Helpers for :mod:`deepstep.cli`: options generated from HyperParameters, errors, progress, plots.

The hyperparameter options are generated from ``dataclasses.fields(HyperParameters)``
and ``hyperparameters.FIELD_HELP``, so the command line can never drift from
the object: a new field is a new ``--option`` with no CLI change. Values are
passed through unchanged when possible and validated by ``HyperParameters``
itself, so the CLI and the Python API give the same error messages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import sys

import click
import numpy as np

from .errors import DataError, DeepstepError, InvalidParameterError
from .hyperparameters import FIELD_HELP, HyperParameters
from .training import Callback

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143

EXIT_CODES_EPILOG = (
    "\b\nExit codes:\n"
    "  0    success\n"
    "  1    data or file error (missing or unreadable file, wrong number of features,\n"
    "       NaN or inf, labels the model does not know, corrupt model file,\n"
    "       training diverged)\n"
    "  2    usage error (unknown option, impossible hyperparameter)\n"
    "  130  interrupted (Ctrl-C); 'train' wrote a checkpoint to --resume from\n"
    "  143  terminated (SIGTERM); 'train' wrote a checkpoint to --resume from"
)


# --- hyperparameter options ---------------------------------------------------------
def _smart(text):
    """'64' -> 64, '0.5' -> 0.5, 'none' -> None, anything else unchanged (validated later)."""
    if text is None:
        return None
    low = text.strip().lower()
    if low == "none":
        return None
    for conv in (int, float):
        try:
            return conv(low)
        except ValueError:
            pass
    return text.strip()


class _FieldType(click.ParamType):
    """Text passed to HyperParameters as int/float when it looks like one, else as is."""

    name = "value"

    def convert(self, value, param, ctx):
        return _smart(value) if isinstance(value, str) else value


def _option_for(f: dataclasses.Field) -> click.Option:
    flag = "--" + f.name.replace("_", "-")
    default = f.default
    help_ = FIELD_HELP.get(f.name, "")
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "object")
    if kind == "bool" or isinstance(default, bool):
        no = "--no-" + f.name.replace("_", "-")
        return click.Option([f"{flag}/{no}", f.name], default=None,
                            help=f"{help_} [default: {'on' if default else 'off'}]")
    if kind == "float":
        ptype, metavar = click.FLOAT, "FLOAT"
    elif kind == "int":
        ptype, metavar = click.INT, "INT"
    elif f.name == "layers":
        ptype, metavar = click.STRING, "N1,N2,..."
    else:
        ptype, metavar = _FieldType(), "VALUE"
    return click.Option([flag, f.name], type=ptype, default=None, metavar=metavar,
                        help=f"{help_} [default: {shown}]")


HP_FIELDS = tuple(f.name for f in dataclasses.fields(HyperParameters))


def hyperparameter_options(func):
    """Add one ``--option`` per HyperParameters field to a click command."""
    func.__click_params__ = getattr(func, "__click_params__", [])
    for f in reversed(dataclasses.fields(HyperParameters)):
        func.__click_params__.append(_option_for(f))
    return func


def pop_hyperparameters(kwargs) -> dict:
    """Remove the hyperparameter options from ``kwargs``; return those given on the command line."""
    return {k: v for k in HP_FIELDS if (v := kwargs.pop(k, None)) is not None}


# --- errors ---------------------------------------------------------------------------
def one_line(text) -> str:
    return " ".join(str(text).split())


def run_group(group_main, args, prog_name, extra):
    """Run a click group without click's own error handling; map errors to exit codes.

    Returns the exit code; prints exactly one line on stderr for every
    expected error, and never a traceback for them.
    """
    def fail(code, msg):
        click.echo(f"deepstep: error: {one_line(msg)}", err=True)
        return code

    try:
        rv = group_main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        return rv if isinstance(rv, int) else EXIT_OK
    except click.Abort:
        click.echo("deepstep: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("\ndeepstep: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return fail(EXIT_USAGE, exc.format_message() + hint)
    except click.ClickException as exc:
        return fail(exc.exit_code, exc.format_message())
    except InvalidParameterError as exc:
        return fail(EXIT_USAGE, exc)
    except DeepstepError as exc:
        return fail(EXIT_FAILURE, exc)
    except OSError as exc:
        if exc.strerror and exc.filename:
            return fail(EXIT_FAILURE, f"{exc.strerror}: {exc.filename}")
        return fail(EXIT_FAILURE, exc)


def check_output_path(path, option):
    """Fail before any work (exit 1) when ``path``, given with ``option``, cannot be written.

    The folder must exist and be writable, and ``path`` must not be a folder or
    a read-only file; the message names the path as the user gave it.
    """
    if path is None:
        return
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise click.ClickException(f"Cannot write {option} {path}: it is a folder; give a file name.")
    if not os.path.isdir(folder):
        missing = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise click.ClickException(f"Cannot write {option} {path}: the folder {folder} {missing}; "
                                   f"create it first or choose another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"Cannot write {option} {path}: the folder {folder} is not writable.")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise click.ClickException(f"Cannot write {option} {path}: the file exists and is not writable.")


def output_error(exc, option, path):
    """An OSError met while writing ``path`` as a one-line error naming that path (not a temp file)."""
    reason = exc.strerror or str(exc)
    return click.ClickException(f"Cannot write {option} {os.fspath(path)}: {reason}.")


def label_column(text):
    """'--label-column' text: an int index when it looks like one, else a column name."""
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else t


# --- progress and plots ------------------------------------------------------------------
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


def plot_history(history, path, title=None):
    """Save the cost curve (and the validation cost, if any) per epoch to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        epochs = history.get("epoch", list(range(1, len(history.get("cost", [])) + 1)))
        ax.plot(epochs, history.get("cost", []), label="cost (train)")
        if history.get("val_cost"):
            ax.plot(epochs, history["val_cost"], label="cost (validation)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cost")
        ax.set_title(title or "deepstep training cost")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


# --- formatting --------------------------------------------------------------------------
def format_metrics(name, metrics, m):
    """'train accuracy: 0.9883  (log-loss 0.0420, 426 examples)'."""
    name = f"{name} " if name else ""
    if "accuracy" in metrics:
        head = f"{name}accuracy: {metrics['accuracy']:.4f}"
        rest = f"log-loss {metrics['log_loss']:.4f}, "
    else:
        head = f"{name}mse: {metrics['mse']:.6g}"
        rest = f"r2 {metrics['r2']:.4f}, "
    return f"{head}  ({rest}{m} examples)"


def history_tail(history, n=5):
    """The last ``n`` epochs of a History as a small text table."""
    keys = [k for k in history if k != "epoch" and history[k]]
    if not keys or not history.get("epoch"):
        return "(no training history)"
    rows = [["epoch", *keys]]
    for i in range(max(0, len(history["epoch"]) - n), len(history["epoch"])):
        rows.append([str(history["epoch"][i]), *(f"{history[k][i]:.6g}" for k in keys)])
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)


def class_label(model, label):
    """A label with its display name when the model knows one (e.g. 1 -> '1 (cat)')."""
    names = getattr(model, "class_names", None)
    value = label.item() if hasattr(label, "item") else label
    if names and isinstance(value, (int, np.integer)) and 0 <= int(value) < len(names):
        return f"{value} ({names[int(value)]})"
    return str(value)


# --- images ------------------------------------------------------------------------------
def load_image(path, shape):
    """Read an image file as a column (h*w*c, 1) of uint8, resized to ``shape`` = (h, w, c)."""
    from PIL import Image, UnidentifiedImageError

    h, w = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) > 2 else 1
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise DataError(f"The model's images have {channels} channels; only 1, 3 or 4 can be read.")
    try:
        with Image.open(path) as img:
            img = img.convert(mode).resize((w, h), Image.LANCZOS)
            arr = np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError:
        raise DataError(f"{path} is not an image file Pillow can read.") from None
    return arr.reshape(-1, 1)                               # C order over (row, col, channel)


# --- interruption and resume -----------------------------------------------------------
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
        self.theta = self.model._engine.theta.copy()
        return True

    @property
    def name(self):
        return None if self.signum is None else signal.Signals(self.signum).name

    @property
    def exit_code(self):
        return EXIT_TERMINATED if self.signum == signal.SIGTERM else EXIT_INTERRUPTED


def default_checkpoint_path(out_path):
    """``model.npz`` -> ``model.ckpt.npz`` next to it; no --out: ``deepstep-checkpoint.npz``."""
    if not out_path:
        return "deepstep-checkpoint.npz"
    root, ext = os.path.splitext(os.fspath(out_path))
    return f"{root}.ckpt{ext or '.npz'}"


def data_fingerprint(X, y) -> str:
    """SHA-256 of the training data, so a resumed run can check it trains on the same examples."""
    h = hashlib.sha256()
    for a in (X, y):
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()
