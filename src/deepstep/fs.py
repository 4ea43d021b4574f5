"""Files deepstep reads and writes: atomic writes, the output-path rule, regular files only.

Every file deepstep writes (models, checkpoints, predictions, plots, search
results, experiment outputs) goes through :func:`atomic_open`: it is written
under a temporary name in the target's folder, flushed and fsync'ed, then
renamed over the target (and the folder fsync'ed). A crash, a full disk or a
signal mid-write leaves the old file intact.

The output-path rule (:func:`resolve_output`):

* a symlink is followed: the file it points to is replaced atomically and the
  link stays a link (a dangling link creates its target);
* the target, if it exists, must be a regular file: a device (``/dev/null``),
  a FIFO, a socket or a folder is refused, never replaced;
* :func:`same_file` compares paths by what they resolve to (symlinks, ``..``,
  hard links), so ``--out`` can be checked against every input.

Files deepstep *reads* as data or models must be regular files too
(:func:`open_regular`): a symlink to ``/dev/zero`` or a FIFO is refused
before a byte is read, instead of filling memory or hanging.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile

from .errors import DeepstepError


class OutputPathError(DeepstepError, ValueError):
    """An output path deepstep will not write: not a regular file, or one of the inputs."""


def _kind(mode) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def resolve_output(path) -> str:
    """The file an output ``path`` really names (symlinks followed); refuse non-regular targets.

    Raises OutputPathError when the target exists and is not a regular file.
    """
    path = os.fspath(path)
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError:
        return real                     # unreadable metadata: let the write report it
    if not stat.S_ISREG(st.st_mode):
        link = f" (a link to {real})" if real != os.path.abspath(path) else ""
        raise OutputPathError(f"{path}{link} is {_kind(st.st_mode)}, not a regular file; deepstep "
                              f"only replaces regular files. Choose a file name.")
    return real


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name the same file (resolved; hard links too)."""
    a, b = os.fspath(a), os.fspath(b)
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _fsync_dir(directory):
    try:  # make the rename durable; not every platform can open a directory
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


@contextlib.contextmanager
def atomic_open(path, mode="wb", *, overwrite=True, **open_kwargs):
    """Open a temporary file next to ``path``; on success, fsync it and rename it to ``path``.

    ``mode`` is ``"wb"`` or ``"w"`` (then ``open_kwargs`` such as ``newline``
    and ``encoding`` apply). Symlinks are written through (see
    :func:`resolve_output`). With ``overwrite=False`` an existing file is never
    replaced: FileExistsError is raised instead (the check and the rename are
    one atomic ``link``, so two processes cannot both win). On any error,
    KeyboardInterrupt included, the temporary file is removed and the old file
    is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    target = resolve_output(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):     # say so with the user's path, not the temporary file's
        raise FileNotFoundError(errno.ENOENT, "No such folder to write in", directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)         # fails with FileExistsError, atomically
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def atomic_write(path, data, *, overwrite=True) -> str:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically; returns ``path``."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_open(path, "wb", overwrite=overwrite) as f:
        f.write(data)
    return os.fspath(path)


def open_regular(path, what="file"):
    """Open ``path`` for reading (binary) only if it is a regular file; refuse anything else.

    The file is opened non-blocking (a FIFO does not hang the open) and
    checked with ``fstat`` on the open descriptor, so what is checked is what
    is read. Raises FileNotFoundError for a missing path and OutputPathError's
    sibling, :class:`NotRegularFileError`, for a device, FIFO, socket or folder.
    """
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise NotRegularFileError(f"{path} is a folder, not a {what}.") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            real = os.path.realpath(path)
            link = f" (a link to {real})" if real != os.path.abspath(path) else ""
            raise NotRegularFileError(f"{path}{link} is {_kind(st.st_mode)}, not a {what}; deepstep "
                                      f"reads regular files only.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NotRegularFileError(DeepstepError, ValueError):
    """A path given as input is a device, FIFO, socket or folder, not a regular file."""


def check_regular(path, what="file"):
    """Raise NotRegularFileError unless ``path`` (followed) is a regular file; FileNotFoundError if missing."""
    with open_regular(path, what):
        pass


def figure_format(path) -> str:
    """The image format matplotlib writes for ``path``'s extension; InvalidParameterError if none.

    Checked before any work, so ``--plot curve.jpeg2`` fails at once rather than
    after training.
    """
    from .errors import InvalidParameterError

    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    from matplotlib.backend_bases import FigureCanvasBase  # no backend is set: the process's stays

    supported = FigureCanvasBase.get_supported_filetypes()
    if ext not in supported:
        raise InvalidParameterError(
            f"Cannot tell the image format of {os.fspath(path)} from its extension "
            f"{('.' + ext) if ext else '(none)'}; use one of "
            f"{', '.join('.' + k for k in sorted(supported))}.")
    return ext


def save_figure(fig, path, **savefig_kwargs) -> str:
    """``fig.savefig(path)``, written atomically; the format follows the extension."""
    fmt = figure_format(path)
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=fmt, **savefig_kwargs)
    return os.fspath(path)
