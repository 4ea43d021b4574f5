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
