"""Saving and loading models and checkpoints: the functions users call.

A model file is one ``.npz`` of JSON metadata plus arrays, checksummed,
written atomically and read without pickle: the format is
:mod:`deepstep.modelfile`, the model's state is :mod:`deepstep.state`, and
this module joins the two. Loading treats the file as untrusted (see
docs/reliability.md): headers checked before any array is read, every field
validated, and ModelFileError is the only error it raises.

Checkpoints also carry ``train_state`` (the loop's position) and ``run`` (what
``deepstep train --resume`` needs: the data paths, a fingerprint of the data).
"""

from __future__ import annotations

from .network import DeepNetwork


def save(model, path) -> str:
    """Write ``model`` to ``path`` (a single ``.npz`` file), atomically.

    Parameters
    ----------
    model : DeepNetwork
        A trained (built) model. Its parameters must all be finite.
    path : str or path-like
        Written as given (no suffix is added).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ModelFileError
        If the parameters contain NaN or inf.
    """
    return model.save(path)


def save_checkpoint(model, path, train_state=None, run=None, overwrite=True) -> str:
    """Like :func:`save`, plus the training loop's state to resume mid-run.

    ``train_state`` defaults to ``model.train_state``
    (:class:`deepstep.training.TrainState`, or None between epochs). ``run``
    is an optional JSON-able dict stored as is (the CLI records its data and
    options there, so ``deepstep train --resume`` needs nothing else). With
    ``overwrite=False`` an existing file at ``path`` is kept and FileExistsError
    is raised.
    """
    from . import modelfile

    ts = train_state if train_state is not None else model.train_state
    return modelfile.write(path, *model.get_state(train_state=ts, run=run, checkpoint=True),
                           overwrite=overwrite)


def load(path) -> DeepNetwork:
    """Read a model written by :func:`save` (or :func:`save_checkpoint`).

    Returns
    -------
    DeepNetwork
        Ready to ``predict``; ``fit(..., warm_start=True)`` continues training
        exactly where the saved model stopped (weights, optimizer state and
        random generators are restored).

    Raises
    ------
    ModelFileError
        The file is missing, not a deepstep model, corrupt or truncated,
        hand-edited, or was written by a newer deepstep. Loading raises
        nothing else, whatever the file holds.
    """
    return DeepNetwork.load(path)


def load_checkpoint(path, with_run=False):
    """Read a checkpoint: returns ``(model, train_state)``; ``model.train_state`` is set too.

    With ``with_run=True`` returns ``(model, train_state, run)``, where ``run``
    is the dict given to :func:`save_checkpoint` (the CLI's data and options),
    or None.
    """
    from . import modelfile

    def build(meta, arrays):
        model, ts = DeepNetwork.from_state(meta, arrays)
        return model, ts, meta.get("run")

    model, ts, run = modelfile.read(path, build)
    model.train_state = ts
    if with_run:
        return model, ts, run if isinstance(run, dict) else None
    return model, ts
