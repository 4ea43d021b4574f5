"""``deepstep train``: a new run or a resumed one; Ctrl-C and SIGTERM end in a checkpoint."""

from __future__ import annotations

import os
import shlex
import time

import click
import numpy as np

from ..errors import DataError
from ..fs import figure_format, same_file
from .files import (
    _load_training_data,
    _short_source,
)
from .options import hyperparameter_options, pop_hyperparameters
from .options import label_column as parse_label_column
from .output import format_metrics, plot_history
from .progress import ProgressBar
from .runtime import (
    EXIT_CODES_EPILOG,
    check_distinct,
    check_output_path,
    data_fingerprint,
    default_checkpoint_path,
    numbered_paths,
    output_error,
    printable,
    resumed_output_paths,
)
from .signals import GracefulStop, test_point


@click.command(epilog=EXIT_CODES_EPILOG)
@click.option("--data", "data_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="training data: .csv (one example per row), .npz, .h5 (images) or .mat")
@click.option("--test-data", "test_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="test data in the same format, reported after training")
@click.option("--dataset", metavar="NAME",
              help="bundled dataset with a fixed train/test split: breast_cancer (default), "
                   "digits, moons, circles")
@click.option("--label-column", metavar="INDEX|NAME",
              help="CSV label column: 0-based index (-1 = last, the default) or header name")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), metavar="MODEL",
              help="save the trained model to this file (.npz)")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="PNG",
              help="save the cost curve (and validation cost) to this image")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="where Ctrl-C or SIGTERM saves the run to --resume later "
                   "[default: MODEL.ckpt.npz next to --out, else deepstep-checkpoint.npz, "
                   "never replacing an existing file (then NAME-2.npz, ...); "
                   "with --resume: the checkpoint itself]")
@click.option("--resume", "resume_path", type=click.Path(dir_okay=False), metavar="CHECKPOINT",
              help="continue an interrupted run from its checkpoint, with its data and "
                   "hyperparameters; the result is bit-identical to an uninterrupted run. "
                   "The model (and plot) go to --out (--plot), else next to the checkpoint: "
                   "NAME.ckpt.npz -> NAME.npz, NAME.png")
@click.option("--class-weight", "class_weight", type=click.Choice(["balanced"]),
              help="weight each class by n_examples / (n_classes * its count), in the loss")
@click.option("--weight-column", "weight_column", metavar="NAME",
              help="CSV header name of a column of non-negative per-example weights (in the loss; "
                   "not a feature; leave it out of the data given to predict)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar or summary; only the accuracy lines")
@hyperparameter_options
def train(data_path, test_path, dataset, label_column, out_path, plot_path, checkpoint_path, resume_path,
          class_weight, weight_column, quiet, **kwargs):
    """Train a network and print train (and test) accuracy.

    With no options: the default network on the bundled breast-cancer data.
    Hyperparameter options not given keep HyperParameters' defaults, except
    --preprocess, which defaults to what suits the data (divide255 for uint8
    images, standardize otherwise).

    Ctrl-C (or SIGTERM) stops at the end of the current mini-batch (of the
    current epoch with --no-shuffle or full batches), saves a checkpoint and
    prints the command that resumes it; a second Ctrl-C quits at once.

    \b
    Example (the lesson's 4-layer cat classifier: train 0.986, test 0.80):
      deepstep train --data train_catvnoncat.h5 --test-data test_catvnoncat.h5 \\
        --layers 20,7,5 --optimizer gd --learning-rate 0.0075 --epochs 2500 \\
        --batch-size full --init scaled --init-rng mt19937 --seed 1 --dtype float64
    """
    overrides = pop_hyperparameters(kwargs)
    for path, option in ((out_path, "--out"), (plot_path, "--plot"), (checkpoint_path, "--checkpoint")):
        check_output_path(path, option)                  # before loading data or training
    inputs = [("--data", data_path), ("--test-data", test_path), ("--resume", resume_path)]
    same_checkpoint = checkpoint_path and resume_path and same_file(checkpoint_path, resume_path)
    check_distinct(inputs, [("--out", out_path), ("--plot", plot_path),
                            ("--checkpoint", None if same_checkpoint else checkpoint_path)])
    if plot_path:
        figure_format(plot_path)                         # --plot curve.jpeg2: exit 2 now, not after training
    new_checkpoint = checkpoint_path is None and not resume_path  # a default name: never replaces a file
    if resume_path:
        if class_weight or weight_column:
            raise click.UsageError("--resume continues a run with the weights saved in its checkpoint; "
                                   "drop --class-weight/--weight-column.")
        net, run_info, train_ds, test_ds = _resume(resume_path, overrides, data_path, test_path,
                                                   dataset, label_column)
        # Never a path from the checkpoint's contents: defaults derive from its own location.
        derived = resumed_output_paths(resume_path)
        if out_path is None and run_info.get("out"):
            out_path = derived["--out"]
            _announce_default("--out", out_path, "the model")
        if plot_path is None and run_info.get("plot"):
            plot_path = derived["--plot"]
            _announce_default("--plot", plot_path, "the cost curve")
        checkpoint_path = checkpoint_path or resume_path
        for path, option in ((out_path, "--out"), (plot_path, "--plot")):
            check_output_path(path, option)
        check_distinct(inputs + [("--data", run_info.get("data")), ("--test-data", run_info.get("test_data"))],
                       [("--out", out_path), ("--plot", plot_path)])
        epochs = max(net.hp.epochs - net.train_state.epoch, 0)
        source = run_info.get("source") or "the checkpoint's data"
    else:
        net, run_info, train_ds, test_ds = _start(overrides, data_path, test_path, dataset, label_column,
                                                  out_path, plot_path, class_weight, weight_column)
        checkpoint_path = checkpoint_path or default_checkpoint_path(out_path)
        epochs = net.hp.epochs
        source = run_info["source"]
    hp = net.hp
    t0 = time.perf_counter()
    with GracefulStop(net) as stopper:
        if not quiet:       # printed once Ctrl-C is handled: from here on it saves a checkpoint
            what = (f"resuming {resume_path} at epoch {hp.epochs - epochs + 1} of {hp.epochs}" if resume_path
                    else f"training on {source} ({train_ds.n_examples} examples, "
                         f"{train_ds.n_features} features) for {hp.epochs} epochs")
            click.echo(f"deepstep: {what}")
        # training.run silences NumPy's overflow warnings and reports divergence once.
        if epochs > 0:
            net.fit(train_ds.X, train_ds.y, epochs=epochs, warm_start=bool(resume_path),
                    callbacks=[ProgressBar(epochs, disable=True if quiet else None), stopper],
                    stop=stopper, sample_weight=train_ds.sample_weight)
        elapsed = time.perf_counter() - t0
        state = stopper.state if stopper.state is not None else net.train_state
        done = (state is None or state.epoch >= hp.epochs
                or net.history.stopped == "early_stopping")
        if stopper.signum is not None and not done:
            return _save_checkpoint(net, stopper, checkpoint_path, run_info, new_checkpoint)
        # Training is over. A signal from here to the last byte written still ends in a saved
        # model (or, without --out, a checkpoint of the finished run) and a message.
        test_point("after_fit")
        if stopper.signum is None:
            _report(net, train_ds, test_ds, elapsed, quiet)
            test_point("after_evaluate")
        if out_path:
            test_point("before_save")
            _save_model(net, out_path)
            if stopper.signum is not None:
                click.echo(f"deepstep: {stopper.name} after the last epoch: model saved to {out_path}"
                           + (" (plot skipped)" if plot_path else ""), err=True)
                return stopper.exit_code
            if not quiet:
                click.echo(f"deepstep: model saved to {out_path}")
            test_point("after_save")
        elif stopper.signum is not None:
            return _save_checkpoint(net, stopper, checkpoint_path, run_info, new_checkpoint, finished=True)
        if plot_path and stopper.signum is None:
            try:
                plot_history(net.history, plot_path, title=f"deepstep on {_short_source(source)}")
            except OSError as exc:
                raise output_error(exc, "--plot", plot_path) from None
            if not quiet:
                click.echo(f"deepstep: cost curve saved to {plot_path}")
        if stopper.signum is not None:      # after the model was saved: it is complete
            saved = f"model saved to {out_path}" if out_path else "nothing left to save"
            click.echo(f"deepstep: {stopper.name} after the last epoch: {saved}"
                       + (", plot skipped" if plot_path and not os.path.exists(plot_path) else ""), err=True)
            return stopper.exit_code


def _announce_default(option, path, what):
    click.echo(f"deepstep: {what} will be saved to {path} (next to the checkpoint; give {option} "
               f"to choose another file)", err=True)


def _report(net, train_ds, test_ds, elapsed, quiet):
    h = net.history
    if not quiet:
        if h.get("cost"):
            click.echo(f"deepstep: {len(h.get('epoch', []))} epochs in {elapsed:.1f} s, final cost "
                       f"{h['cost'][-1]:.4f}" + (f" (stopped: {printable(h.stopped)})" if h.stopped else ""))
        else:
            click.echo("deepstep: no epochs left to train")
    click.echo(format_metrics("train", net.evaluate(train_ds.X, train_ds.y), train_ds.n_examples))
    if test_ds is not None and test_ds.y is not None:
        click.echo(format_metrics("test", net.evaluate(test_ds.X, test_ds.y), test_ds.n_examples))


def _save_model(net, out_path):
    from .. import persistence

    try:
        persistence.save(net, out_path)
    except OSError as exc:                           # e.g. the folder vanished during training
        raise output_error(exc, "--out", out_path) from None


def _start(overrides, data_path, test_path, dataset, label_column, out_path, plot_path,
           class_weight=None, weight_column=None):
    """A new run: the network, the run record a checkpoint keeps, and the data."""
    from ..hyperparameters import HyperParameters
    from ..network import DeepNetwork

    label_col = parse_label_column(label_column)
    hp = HyperParameters(**overrides)                     # validate before loading data
    train_ds, test_ds = _load_training_data(data_path, test_path, dataset, label_col)
    train_ds, test_ds = _with_weights(train_ds, test_ds, class_weight, weight_column, hp.output)
    if "preprocess" not in overrides:
        hp = hp.replace(preprocess=train_ds.preprocess)
    net = DeepNetwork(hp)
    _describe_data(net, train_ds)
    absolute = lambda p: None if p is None else os.path.abspath(p)
    run_info = {
        "data": absolute(data_path), "test_data": absolute(test_path),
        "dataset": None if data_path else (dataset or "breast_cancer"), "label_column": label_column,
        # Whether the run saves a model and a plot, never where: a resumed run derives those
        # paths from the checkpoint's own location (no output path comes from a file).
        "out": bool(out_path), "plot": bool(plot_path),
        "source": data_path or f"dataset {dataset or 'breast_cancer'}",
        "fingerprint": data_fingerprint(train_ds.X, train_ds.y),
        "class_weight": class_weight, "weight_column": weight_column,
    }
    return net, run_info, train_ds, test_ds


def _with_weights(train_ds, test_ds, class_weight, weight_column, output):
    """The datasets with ``sample_weight`` set (None without weights); says what was decided on stderr."""
    import dataclasses

    w = None
    if weight_column is not None:
        names = train_ds.feature_names
        if not names or weight_column not in names:
            raise click.UsageError(
                f"--weight-column {weight_column!r}: the training data has no column of that name"
                + (f" (columns: {', '.join(map(str, names))})." if names else
                   " (it needs a CSV file with a header row)."))
        j = names.index(weight_column)
        w = np.asarray(train_ds.X[j], dtype=np.float64)
        if not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
            raise DataError(f"--weight-column {weight_column!r} must hold finite, non-negative weights, "
                            f"not all zero.")
        keep = [i for i in range(len(names)) if i != j]
        train_ds = dataclasses.replace(train_ds, X=train_ds.X[keep], feature_names=[names[i] for i in keep])
        if test_ds is not None and test_ds.feature_names and weight_column in test_ds.feature_names:
            tj = test_ds.feature_names.index(weight_column)
            tkeep = [i for i in range(test_ds.n_features) if i != tj]
            test_ds = dataclasses.replace(test_ds, X=test_ds.X[tkeep],
                                          feature_names=[test_ds.feature_names[i] for i in tkeep])
        click.echo(f"deepstep: sample weights from column {weight_column!r} (min {w.min():g}, "
                   f"max {w.max():g}), not a feature", err=True)
    if class_weight == "balanced":
        if output == "linear":
            raise click.UsageError("--class-weight needs classification (--output linear is regression).")
        labels, inverse, counts = np.unique(train_ds.y, return_inverse=True, return_counts=True)
        per_class = len(train_ds.y) / (len(labels) * counts)
        cw = per_class[inverse.ravel()]
        w = cw if w is None else w * cw
        shown = ", ".join(f"{lab}: {c:.3g}" for lab, c in zip(labels.tolist(), per_class))
        click.echo(f"deepstep: class weights (balanced): {shown}", err=True)
    train_ds = dataclasses.replace(train_ds)
    train_ds.sample_weight = w
    return train_ds, test_ds


def _describe_data(net, train_ds):
    net.input_shape = train_ds.image_shape
    net.feature_names = train_ds.feature_names
    net.class_names = train_ds.class_names


def _resume(path, overrides, data_path, test_path, dataset, label_column):
    """The network, run record and data of an interrupted run, checked to be the same data."""
    from .. import persistence
    from ..errors import ModelFileError

    if overrides:
        flags = ", ".join("--" + k.replace("_", "-") for k in overrides)
        raise click.UsageError(f"--resume continues a run with the hyperparameters saved in its checkpoint; "
                               f"drop {flags} (or start a new run without --resume).")
    net, state, run_info = persistence.load_checkpoint(path, with_run=True)
    if state is None or run_info is None:
        raise ModelFileError(f"{path} is not a checkpoint of an interrupted 'deepstep train' run; "
                             f"nothing to resume (use it with evaluate, predict or info).")
    run_info = _checked_run(run_info, path)
    if data_path or dataset:
        run_info = dict(run_info, data=data_path, dataset=dataset, test_data=test_path,
                        label_column=label_column if label_column is not None else run_info.get("label_column"))
    train_ds, test_ds = _load_training_data(run_info.get("data"), run_info.get("test_data"),
                                            run_info.get("dataset"),
                                            parse_label_column(run_info.get("label_column")))
    train_ds, test_ds = _with_weights(train_ds, test_ds, run_info.get("class_weight"),
                                      run_info.get("weight_column"), net.hp.output)
    if data_fingerprint(train_ds.X, train_ds.y) != run_info.get("fingerprint"):
        raise DataError(f"The training data ({run_info.get('data') or run_info.get('dataset')}) differs from "
                        f"the data the checkpoint {path} was trained on; resume with the same data "
                        f"(--data FILE) or start a new run.")
    return net, run_info, train_ds, test_ds


def _checked_run(run, path):
    """The checkpoint's run record with every field of the type ``--resume`` uses, or ModelFileError."""
    from ..data import DATASETS
    from ..errors import ModelFileError

    def bad(key, what):
        value = str(run.get(key))[:60]
        return ModelFileError(f"{path} is not a usable checkpoint: its run record's {key!r} is "
                              f"{value!r}, not {what}.")

    run = dict(run)
    for key in ("data", "test_data", "source", "fingerprint"):
        if not isinstance(run.get(key), (str, type(None))):
            raise bad(key, "a path" if key != "fingerprint" else "a fingerprint")
    if not isinstance(run.get("fingerprint"), str):
        raise bad("fingerprint", "a fingerprint of the training data")
    if run.get("dataset") is not None and run["dataset"] not in DATASETS:
        raise bad("dataset", f"one of {', '.join(DATASETS)}")
    if run.get("data") is None and run.get("dataset") is None:
        raise bad("data", "a data file or a bundled dataset")
    label = run.get("label_column")
    if isinstance(label, int) and not isinstance(label, bool):
        run["label_column"] = str(label)
    elif not isinstance(label, (str, type(None))):
        raise bad("label_column", "a column index or name")
    if run.get("class_weight") not in (None, "balanced"):
        raise bad("class_weight", "'balanced' or none")
    if not isinstance(run.get("weight_column"), (str, type(None))):
        raise bad("weight_column", "a column name")
    for key in ("out", "plot"):      # old checkpoints hold a path: only "whether" is used
        if not isinstance(run.get(key), (str, bool, type(None))):
            raise bad(key, "true or false")
    return run


def _save_checkpoint(net, stopper, path, run_info, new_file=False, finished=False):
    """Write the interrupted run's checkpoint; say how to resume; return 130 (SIGINT) or 143.

    ``new_file``: ``path`` is a default name, so an existing file there (another
    run's checkpoint) is kept and the checkpoint goes to ``NAME-2.npz``, ``NAME-3.npz``, ...
    """
    from .. import persistence

    if stopper.theta is not None and not finished:
        net.engine.theta[...] = stopper.theta
    state = stopper.state if stopper.state is not None else net.train_state
    for candidate in (numbered_paths(path) if new_file else [path]):
        try:
            persistence.save_checkpoint(net, candidate, train_state=state, run=run_info,
                                        overwrite=not new_file)
        except FileExistsError:
            continue
        except OSError as exc:
            raise output_error(exc, "--checkpoint", candidate) from None
        path = candidate
        break
    if finished:
        where = "after the last epoch"
    elif state.perm is not None and state.position < state.perm.size:
        where = f"at epoch {state.epoch + 1}, example {state.position}"
    else:
        where = f"at end of epoch {state.epoch}"
    click.echo(f"deepstep: {stopper.name} {where}: checkpoint saved to {path}; "
               f"resume with: deepstep train --resume {shlex.quote(str(path))}", err=True)
    return stopper.exit_code
