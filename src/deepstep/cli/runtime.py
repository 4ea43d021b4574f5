"""What every ``deepstep`` command shares at run time: exit codes, one-line errors, output paths.

``run_group`` runs the click group without click's own error handling and
maps deepstep's errors to one stderr line and an exit code (1 data/file, 2
usage, 130/143 interrupted). Output paths are checked before any work;
checkpoints are named after the model they belong to.
"""

from __future__ import annotations

import hashlib
import os

import click
import numpy as np

from ..errors import DeepstepError, InvalidParameterError
from ..fs import OutputPathError, resolve_output, same_file

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


def one_line(text) -> str:
    """``text`` on one line, whitespace collapsed and control characters escaped."""
    return printable(" ".join(str(text).split()))


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
    except BrokenPipeError:
        # The reader of standard output went away (`deepstep predict ... | head`): stop quietly.
        # Nothing is lost: train saves its model before it prints results.
        _silence_stdout()
        return EXIT_OK
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


def _silence_stdout():
    """Point standard output at /dev/null, so Python's flush at exit does not raise again."""
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def check_output_path(path, option):
    """Fail before any work when ``path``, given with ``option``, cannot or must not be written.

    The folder must exist and be writable (exit 1), and ``path`` must not be a
    folder or a read-only file (exit 1). An existing target that is not a
    regular file (a device such as ``/dev/null``, a FIFO, a socket) is a usage
    error (exit 2): deepstep replaces regular files only. A symlink is written
    through to its target (see :func:`deepstep.fs.resolve_output`). The message
    names the path as the user gave it.
    """
    if path is None:
        return
    path = os.fspath(path)
    if os.path.isdir(path):
        raise click.ClickException(f"Cannot write {option} {path}: it is a folder; give a file name.")
    try:
        target = resolve_output(path)
    except OutputPathError as exc:
        raise click.UsageError(f"Cannot write {option}: {exc}") from None
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        missing = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise click.ClickException(f"Cannot write {option} {path}: the folder {folder} {missing}; "
                                   f"create it first or choose another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"Cannot write {option} {path}: the folder {folder} is not writable.")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise click.ClickException(f"Cannot write {option} {path}: the file exists and is not writable.")


def check_distinct(inputs, outputs):
    """Usage error (exit 2) when an output would replace an input or another output.

    ``inputs`` and ``outputs`` are ``(option, path)`` pairs (None paths are
    skipped). Paths are compared by what they resolve to (symlinks, ``..``, hard
    links), not as strings, so ``--out ./d.npz`` cannot replace ``--data d.npz``.
    """
    inputs = [(o, os.fspath(p)) for o, p in inputs if p is not None]
    outputs = [(o, os.fspath(p)) for o, p in outputs if p is not None]
    for i, (opt, path) in enumerate(outputs):
        for other_opt, other in inputs + outputs[:i]:
            if same_file(path, other):
                what = "input" if (other_opt, other) in inputs else "output"
                raise click.UsageError(
                    f"{opt} {path} is the same file as the {what} {other_opt} {other}; writing it "
                    f"would destroy it. Choose another {opt} path.")


def output_error(exc, option, path):
    """An OSError met while writing ``path`` as a one-line error naming that path (not a temp file)."""
    reason = exc.strerror or str(exc)
    return click.ClickException(f"Cannot write {option} {os.fspath(path)}: {reason}.")


def default_checkpoint_path(out_path):
    """``model.npz`` -> ``model.ckpt.npz`` next to it; no --out: ``deepstep-checkpoint.npz``."""
    if not out_path:
        return "deepstep-checkpoint.npz"
    root, ext = os.path.splitext(os.fspath(out_path))
    return f"{root}.ckpt{ext or '.npz'}"


def numbered_paths(path, limit=1000):
    """``path``, then ``NAME-2.EXT``, ``NAME-3.EXT``, ...: candidates for a file that must not replace another."""
    root, ext = os.path.splitext(os.fspath(path))
    if root.endswith(".ckpt"):
        root, ext = root[:-5], ".ckpt" + ext
    yield os.fspath(path)
    for i in range(2, limit):
        yield f"{root}-{i}{ext}"


def resumed_output_paths(checkpoint_path):
    """Where a resumed run saves what its first run was asked to save: next to the checkpoint.

    ``runs/model.ckpt.npz`` -> ``runs/model.npz`` and ``runs/model.png``;
    any other name ``NAME.npz`` -> ``NAME-model.npz`` and ``NAME-model.png``. Never
    a path stored in the checkpoint: a file's contents choose no output path.
    """
    root = os.path.splitext(os.fspath(checkpoint_path))[0]
    stem = root[:-5] if root.endswith(".ckpt") else root + "-model"
    return {"--out": stem + ".npz", "--plot": stem + ".png"}


_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {127: "\\x7f"}


def printable(text) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x1b``, ``\\u202e``).

    Everything ``info`` and the other commands print *from a file* (names,
    classes, history keys) goes through this, so a file cannot move the cursor,
    recolour the terminal or hide text.
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _CONTROL.get(ord(c), f"\\u{ord(c):04x}" if ord(c) < 0x10000
                                                           else f"\\U{ord(c):08x}") for c in text)


def data_fingerprint(X, y) -> str:
    """SHA-256 of the training data, so a resumed run can check it trains on the same examples."""
    h = hashlib.sha256()
    for a in (X, y):
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()
