"""``deepstep train``: a new run or a resumed one; Ctrl-C and SIGTERM end in a checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import time

import click
import numpy as np

from .. import tabular
from ..errors import DataError
from ..fs import same_file
from ..tabular import IMPUTE, TASKS
from .config import PRESETS, apply_preset, load_config
from .config import print_config as render_config
from .files import (
    DataOptions,
    _load_training_data,
    _short_source,
)
from .options import csv_format_options, hyperparameter_options, pop_hyperparameters
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


def _names(text):
    """'a,b, c' -> ('a', 'b', 'c'); None stays None."""
    if text is None:
        return None
    if not text.strip():                     # --drop '': the unnamed column (a header cell left empty)
        return ("",)
    return tuple(n.strip() for n in text.split(",") if n.strip())


@click.command(epilog=EXIT_CODES_EPILOG)
@click.option("--data", "data_path", type=click.Path(allow_dash=True), metavar="FILE",
              help="training data: .csv (one example per row; '-' reads CSV from standard input), .npz, "
                   ".h5 (images) or .mat")
@click.option("--test-data", "test_path", type=click.Path(), metavar="FILE",
              help="test data in the same format, reported after training")
@click.option("--dataset", metavar="NAME",
              help="bundled dataset with a fixed train/test split: breast_cancer (default), "
                   "digits, moons, circles")
@click.option("--label-column", metavar="INDEX|NAME",
              help="CSV label column: 0-based index counting the file's columns as they are (a pandas "
                   "index column is column 0, though never used), -1 = the last, or header name [default: the "
                   "one column named label, target, class or y; else the last]")
@click.option("--task", type=click.Choice(TASKS), default="auto", show_default=True,
              help="classification or regression; auto decides from the label column (as scikit-learn's "
                   "type_of_target) and says what it chose")
@click.option("--features", metavar="NAMES", help="CSV: use only these columns as features (comma-separated)")
@click.option("--drop", metavar="NAMES", help="CSV: columns not to use as features (comma-separated)")
@click.option("--categorical", metavar="NAMES",
              help="CSV: numeric columns to one-hot as categories (codes such as 1,2,3); text columns "
                   "always are")
@click.option("--impute", type=click.Choice(IMPUTE), default="median", show_default=True,
              help="CSV: fill missing numbers with the training median (or mean) and missing text with "
                   "the most frequent category; none refuses missing values")
@click.option("--drop-unlabeled", is_flag=True,
              help="leave out rows whose label is missing (with a note) [default: refuse them, naming the "
                   "first lines]")
@csv_format_options
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="with --data alone: hold out this fraction (stratified for classification) and report "
                   "its test metrics; 0 trains on all")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), metavar="MODEL",
              help="save the trained model to this file (.npz)")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="IMAGE",
              help="save the cost curve (and validation cost) to this image (.png, .pdf, .svg, ...)")
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
@click.option("--json", "as_json", is_flag=True,
              help="print the results as one JSON object on standard output (status stays on stderr)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar or summary; only the results")
@click.option("--preset", type=click.Choice(sorted(PRESETS)),
              help="lesson: the lesson's cat classifier (layers 20,7,5, gd, learning rate 0.0075, 2500 full-batch "
                   "epochs, scaled init from seed 1's legacy stream, float64, inputs /255); flags override it")
@click.option("--config", type=click.Path(dir_okay=False), metavar="TOML", is_eager=True, expose_value=False,
              callback=load_config,
              help="read options from a TOML file (learning_rate = 0.01, layers = [100, 100], data = \"x.csv\"); "
                   "flags override it; unknown keys are errors")
@click.option("--print-config", is_flag=True,
              help="print the effective settings (flags, config, preset, defaults) as TOML and exit")
@click.option("--stream", is_flag=True,
              help="train from the --data HDF5 file (datasets X and y, or <split>_set_x/_y) block by "
                   "block, without loading it: data larger than memory, shuffled by blocks (no --resume)")
@hyperparameter_options
def train(data_path, test_path, dataset, label_column, task, features, drop, categorical, impute,
          drop_unlabeled, sep, decimal, test_fraction, out_path, plot_path, checkpoint_path, resume_path,
          class_weight, weight_column, as_json, quiet, preset, print_config, stream=False, **kwargs):
    """Train a network and print train and test metrics.

    With no options: the default network on the bundled breast-cancer data.
    With --data alone, 20% of the examples are held out (stratified) and
    scored as test data. The start banner (on stderr) says what was decided:
    the task, the label column, the classes or the target's range, the
    features. Hyperparameter options not given keep HyperParameters' defaults.

    Status and progress go to standard error, results to standard output.
    Ctrl-C (or SIGTERM) stops at the end of the current mini-batch (of the
    current epoch with --no-shuffle or full batches), saves a checkpoint and
    prints the command that resumes it; a second Ctrl-C quits at once.

    Inputs are standardized per feature, images too, as DeepNetwork() does
    (the banner says so); --preset lesson is the lesson's run below, x / 255 included.

    \b
    Example (the lesson's 4-layer cat classifier: train 0.986, test 0.80):
      deepstep train --data train_catvnoncat.h5 --test-data test_catvnoncat.h5 \\
        --layers 20,7,5 --optimizer gd --learning-rate 0.0075 --epochs 2500 \\
        --batch-size full --init scaled --init-rng mt19937 --seed 1 --dtype float64 \\
        --preprocess divide255
    """
    overrides = apply_preset(preset, pop_hyperparameters(kwargs))
    if print_config:
        from ..hyperparameters import HyperParameters

        settings = {"data": data_path, "test_data": test_path, "dataset": dataset, "label_column": label_column,
                    "task": task, "features": features, "drop": drop, "categorical": categorical,
                    "impute": impute, "drop_unlabeled": drop_unlabeled, "sep": sep, "decimal": decimal,
                    "test_fraction": test_fraction,
                    "out": out_path, "plot": plot_path}
        click.echo(render_config(settings, HyperParameters(**overrides)))
        return
    opts = DataOptions(task=task, features=_names(features), drop=_names(drop) or (),
                       categorical=_names(categorical) or (), impute=impute, test_fraction=test_fraction,
                       weight_column=weight_column, drop_unlabeled=drop_unlabeled, sep=sep, decimal=decimal)
    for path, option in ((out_path, "--out"), (plot_path, "--plot"), (checkpoint_path, "--checkpoint")):
        check_output_path(path, option)                  # before loading data or training
    inputs = [("--data", data_path), ("--test-data", test_path), ("--resume", resume_path)]
    same_checkpoint = checkpoint_path and resume_path and same_file(checkpoint_path, resume_path)
    check_distinct(inputs, [("--out", out_path), ("--plot", plot_path),
                            ("--checkpoint", None if same_checkpoint else checkpoint_path)])
    check_plot_format(plot_path)                         # --plot curve.jpeg2: exit 2 now, not after training
    new_checkpoint = checkpoint_path is None and not resume_path  # a default name: never replaces a file
    if stream:
        if class_weight or weight_column:
            raise click.UsageError("--stream trains without sample weights; drop --class-weight/--weight-column.")
        return _train_streamed(data_path, test_path, label_column, out_path, quiet, overrides, resume_path)
    say = (lambda text: None) if quiet else (lambda text: click.echo(f"deepstep: {text}", err=True))
    warn = lambda text: click.echo(f"deepstep: warning: {text}", err=True)
    if resume_path:
        if class_weight or weight_column:
            raise click.UsageError("--resume continues a run with the weights saved in its checkpoint; "
                                   "drop --class-weight/--weight-column.")
        net, run_info, train_ds, test_ds = _resume(resume_path, overrides, data_path, test_path,
                                                   dataset, label_column, opts)
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
        check_plot_format(plot_path)
        epochs = max(net.hp.epochs - net.train_state.epoch, 0)
        source = run_info.get("source") or "the checkpoint's data"
    else:
        net, run_info, loaded = _start(overrides, data_path, test_path, dataset, label_column, out_path,
                                       plot_path, opts, class_weight)
        train_ds, test_ds = loaded.train, loaded.test
        checkpoint_path = checkpoint_path or default_checkpoint_path(out_path)
        epochs = net.hp.epochs
        source = run_info["source"]
        for line in banner(loaded, net):
            say(line)
        for line in loaded.warnings:
            warn(line)
    hp = net.hp
    if not resume_path and hp.early_stopping and hp.validation_fraction == 0:
        say("note: --early-stopping monitors the training cost here (no validation data); "
            "--validation-fraction 0.1 monitors a held-out part instead.")
    t0 = time.perf_counter()
    with GracefulStop(net) as stopper:
        what = (f"resuming {resume_path} at epoch {hp.epochs - epochs + 1} of {hp.epochs}" if resume_path
                else f"training on {_short_source(source)} ({train_ds.n_examples} examples, "
                     f"{train_ds.n_features} features) for {hp.epochs} epochs")
        say(what)               # printed once Ctrl-C is handled: from here on it saves a checkpoint
        # training.run silences NumPy's overflow warnings and reports divergence once.
        if epochs > 0:
            net.fit(train_ds.X, train_ds.y, epochs=epochs, warm_start=bool(resume_path),
                    callbacks=[ProgressBar(0 if quiet else 1, leave=False, disable=None), stopper],
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
        results = None
        if stopper.signum is None:
            results = _evaluate(net, train_ds, test_ds, elapsed, say)
            test_point("after_evaluate")
        if out_path:                                     # saved before anything goes to stdout (a closed pipe)
            test_point("before_save")
            _save_model(net, out_path)
            if stopper.signum is not None:
                click.echo(f"deepstep: {stopper.name} after the last epoch: model saved to {out_path}"
                           + (" (plot skipped)" if plot_path else ""), err=True)
                return stopper.exit_code
            say(f"model saved to {out_path}")
            test_point("after_save")
        elif stopper.signum is not None:
            return _save_checkpoint(net, stopper, checkpoint_path, run_info, new_checkpoint, finished=True)
        if plot_path and stopper.signum is None:
            try:
                plot_history(net.history, plot_path, title=f"deepstep on {_short_source(source)}")
            except OSError as exc:
                raise output_error(exc, "--plot", plot_path) from None
            say(f"cost curve saved to {plot_path}")
        if stopper.signum is not None:      # after the model was saved: it is complete
            saved = f"model saved to {out_path}" if out_path else "nothing left to save"
            click.echo(f"deepstep: {stopper.name} after the last epoch: {saved}"
                       + (", plot skipped" if plot_path and not os.path.exists(plot_path) else ""), err=True)
            return stopper.exit_code
        _print_results(net, results, source, out_path, as_json)


def _announce_default(option, path, what):
    click.echo(f"deepstep: {what} will be saved to {path} (next to the checkpoint; give {option} "
               f"to choose another file)", err=True)


def _evaluate(net, train_ds, test_ds, elapsed, say):
    """The train (and test) metrics; says how training went."""
    h = net.history
    if h.get("cost"):
        say(f"{len(h.get('epoch', []))} epochs in {elapsed:.1f} s, final cost {h['cost'][-1]:.4g}"
            + (f" (stopped: {printable(h.stopped)})" if h.stopped else ""))
    else:
        say("no epochs left to train")
    results = {"train": net.evaluate(train_ds.X, train_ds.y) | {"examples": train_ds.n_examples}}
    if test_ds is not None and test_ds.y is not None:
        results["test"] = net.evaluate(test_ds.X, test_ds.y) | {"examples": test_ds.n_examples}
    return results


def _print_results(net, results, source, out_path, as_json):
    """The results on stdout: one JSON object with --json, else a metrics line per split."""
    h = net.history
    if as_json:
        doc = {"task": "regression" if net.output == "linear" else "classification",
               "source": source, "epochs": len(h.get("epoch", [])), "stopped": h.stopped,
               "final_cost": h["cost"][-1] if h.get("cost") else None, "model": out_path, **results}
        click.echo(json.dumps(doc, default=_jsonable))
        return
    for split, metrics in results.items():
        metrics = dict(metrics)
        click.echo(format_metrics(split, metrics, metrics.pop("examples")))


def _save_model(net, out_path):
    from .. import persistence

    try:
        persistence.save(net, out_path)
    except OSError as exc:                           # e.g. the folder vanished during training
        raise output_error(exc, "--out", out_path) from None


def _jsonable(v):
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON-able: {type(v).__name__}")


def check_plot_format(path):
    """--plot's format from its extension, checked before any work (matplotlib's formats)."""
    if path is None:
        return
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    if ext not in formats:
        what = f"the extension .{ext}" if ext else "a name without an extension"
        raise click.UsageError(f"--plot {path}: cannot tell the image format from {what}; "
                               f"use one of {', '.join('.' + f for f in sorted(formats))}.")


def banner(loaded, net):
    """The start banner: task, label column, classes or target range, features, scaling, engine, held-out split."""
    import numpy as np

    ds = loaded.train
    y = ds.y
    lines = []
    if loaded.task == "classification":
        classes, counts = np.unique(y, return_counts=True)
        cn = ds.class_names
        show = lambda c: (f"{c} {cn[int(c)]}" if cn and np.issubdtype(classes.dtype, np.integer)
                          and 0 <= int(c) < len(cn) and str(cn[int(c)]) != str(c) else str(c))
        names = ", ".join(show(c) for c in classes[:8]) + (", ..." if classes.size > 8 else "")
        lines.append(f"task: classification ({loaded.reason}): {classes.size} classes ({names}); "
                     f"--task to change")
        for w in tabular.class_warnings(y):
            loaded.warnings.append(w)
    else:
        y = np.asarray(y, dtype=float)
        lines.append(f"task: regression ({loaded.reason}): target from {y.min():.6g} to {y.max():.6g} "
                     f"in the {y.size} training rows (their mean {y.mean():.6g}); --task to change")
    if loaded.label is not None:
        lines.append(f"label column: {loaded.label!r} (column {loaded.label_index}, {loaded.label_why}; "
                     f"--label-column to change)")
    enc = ds.tabular
    if enc is not None:
        lines.append(f"features: {ds.n_features} from {len(enc.columns)} columns ({enc.describe()})")
    else:
        shape = f", images {'x'.join(map(str, ds.image_shape))}" if ds.image_shape else ""
        lines.append(f"features: {ds.n_features}{shape}")
    lines.append(input_scaling(net.hp.preprocess, ds.X.dtype == np.uint8))
    lines.append(engine_line(net.hp.dtype))
    for note in loaded.notes:
        lines.append(f"note: {note}")
    if loaded.split:
        lines.append(loaded.split if loaded.split.startswith("held out") else f"test data: {loaded.split}")
    return lines


def engine_line(dtype):
    """The banner line naming the engine: NumPy, or NumPy with the compiled kernels (loading them
    here, so that a first run's compilation is said and not a silent pause in training)."""
    import time

    from .. import fused

    t = time.perf_counter()
    why = fused.why_not(dtype)
    took = time.perf_counter() - t
    if why is None:
        import numba

        line = (f"engine: NumPy with compiled kernels (deepstep.fused, numba {numba.__version__}; "
                f"DEEPSTEP_JIT=0 turns them off)")
        if took > 1.0:
            line += f"; compiled for this machine in {took:.1f} s (numba caches them for the next runs)"
        return line
    if why.startswith("turned off"):
        return "engine: NumPy (compiled kernels turned off by DEEPSTEP_JIT=0)"
    if "could not load" in why:
        return f"engine: NumPy ({why})"
    return "engine: NumPy (pip install 'deepstep[fast]' adds compiled kernels: the same numbers, faster)"


#: What each input scaling does, for the start banner.
SCALINGS = {
    "standardize": "standardized per feature (mean 0, sd 1 on the training rows)",
    "minmax": "scaled per feature to [0, 1] (min and max of the training rows)",
    "divide255": "divided by 255 (the lesson's x / 255.)",
    "none": "used as they are (no scaling)",
}


def input_scaling(kind, images=False):
    """The banner line naming the input scaling (the same default as ``DeepNetwork()``: standardize)."""
    hint = "; --preset lesson or --preprocess divide255 for the lesson's x / 255." if (
        images and kind != "divide255") else "; --preprocess to change"
    return f"input scaling: {kind}: {'pixels' if images else 'inputs'} {SCALINGS.get(kind, kind)}{hint}"


def _start(overrides, data_path, test_path, dataset, label_column, out_path, plot_path, opts,
           class_weight=None):
    """A new run: the network, the run record a checkpoint keeps, and the data."""
    from ..hyperparameters import HyperParameters
    from ..network import DeepNetwork

    label_col = parse_label_column(label_column)
    hp = HyperParameters(**overrides)                     # validate before loading data
    if hp.output == "linear" and opts.task == "classification" or (
            hp.output in ("sigmoid", "softmax") and opts.task == "regression"):
        raise click.UsageError(f"--output {hp.output} contradicts --task {opts.task}.")
    if hp.output == "linear":
        opts = dataclasses.replace(opts, task="regression")
    loaded = _load_training_data(data_path, test_path, dataset, label_col, opts)
    loaded.train, loaded.test = _with_weights(loaded.train, loaded.test, class_weight,
                                              "regression" if loaded.task == "regression" else hp.output)
    train_ds = loaded.train
    if loaded.task == "regression" and hp.output == "auto":
        hp = hp.replace(output="linear")
    _check_before_training(hp, train_ds, loaded.test)
    net = DeepNetwork(hp)
    _describe_data(net, train_ds)
    absolute = lambda p: None if p is None or p == "-" else os.path.abspath(p)
    run_info = {
        "data": absolute(data_path), "test_data": absolute(test_path),
        "dataset": None if data_path else (dataset or "breast_cancer"), "label_column": label_column,
        # Whether the run saves a model and a plot, never where: a resumed run derives those
        # paths from the checkpoint's own location (no output path comes from a file).
        "out": bool(out_path), "plot": bool(plot_path),
        "source": ("standard input" if data_path == "-" else data_path) or f"dataset {dataset or 'breast_cancer'}",
        "data_options": dataclasses.asdict(opts), "class_weight": class_weight,
        "weight_column": opts.weight_column,
        "fingerprint": data_fingerprint(train_ds.X, train_ds.y),
    }
    return net, run_info, loaded


def _check_before_training(hp, train_ds, test_ds):
    """What fit would refuse, refused before the banner and before any training."""
    import numpy as np

    from ..targets import TargetEncoder

    y = train_ds.y
    if test_ds is not None and test_ds.y is not None and test_ds.y.dtype.kind == y.dtype.kind:
        y = np.concatenate([y, test_ds.y])               # e.g. a third class that only the test part holds
    TargetEncoder.infer(y, hp.output)                     # one class, 3 classes for sigmoid, text for linear ...
    if test_ds is not None and test_ds.y is not None and hp.output != "linear" and y.dtype.kind in "iubUS":
        unseen = np.setdiff1d(np.unique(test_ds.y), np.unique(train_ds.y))
        if unseen.size:
            raise DataError(f"The test data holds {unseen.size} classes that the training data lacks (e.g. "
                            f"{unseen[0].item()!r}), so it cannot be scored; too few examples per class, or a "
                            f"regression (--task regression)?")
    m = train_ds.n_examples
    if hp.validation_fraction > 0:
        m -= max(1, int(round(hp.validation_fraction * m)))
    bs = hp.batch_size
    if not isinstance(bs, str) and bs is not None and bs > m:
        from ..errors import InvalidParameterError

        raise InvalidParameterError(
            f"The 'batch_size' parameter ({bs}) is larger than the {m} training examples. "
            f"Use batch_size <= {m}, or 'full' for batch gradient descent.")


def _with_weights(train_ds, test_ds, class_weight, output):
    """The datasets with ``sample_weight`` set (a weight column's, times balanced class weights); says so."""
    import numpy as np

    w = getattr(train_ds, "sample_weight", None)            # from --weight-column (files.py), or None
    if class_weight == "balanced":
        if output in ("linear", "regression"):
            raise click.UsageError("--class-weight needs classification (this is a regression).")
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
    net.tabular = train_ds.tabular


def _resume(path, overrides, data_path, test_path, dataset, label_column, opts):
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
    saved = run_info.get("data_options")
    if isinstance(saved, dict) and not (data_path or dataset):
        opts = DataOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()
                              if k in DataOptions.__dataclass_fields__})
    if run_info.get("data") is None and run_info.get("dataset") is None:
        raise DataError(f"{path} was trained on data from standard input; resume with the same data: "
                        f"deepstep train --resume {path} --data FILE.")
    loaded = _load_training_data(run_info.get("data"), run_info.get("test_data"), run_info.get("dataset"),
                                 parse_label_column(run_info.get("label_column")), opts)
    train_ds, test_ds = _with_weights(loaded.train, loaded.test, run_info.get("class_weight"), net.hp.output)
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


def _train_streamed(data_path, test_path, label_column, out_path, quiet, overrides, resume_path):
    """``train --stream``: fit from the HDF5 file's rows block by block (:mod:`deepstep.sources`)."""
    import h5py

    from ..hyperparameters import HyperParameters
    from ..network import DeepNetwork
    from .files import _load_for_model

    if resume_path:
        raise click.UsageError("--stream cannot --resume a checkpoint; run without --stream to resume.")
    if not data_path:
        raise click.UsageError("--stream reads the HDF5 file given by --data FILE.h5.")
    hp = HyperParameters(**overrides)
    try:
        f = h5py.File(data_path, "r")
    except OSError as exc:
        raise DataError(f"--stream needs an HDF5 file; {data_path} could not be read as one: {exc}") from None
    with f:
        keys = list(f.keys())
        pairs = [("X", "y"), ("x", "y")] + [(k, k[:-1] + "y") for k in keys if k.endswith("_set_x")]
        found = [(xk, yk) for xk, yk in pairs if xk in keys and yk in keys]
        if len(found) != 1:
            raise DataError(f"--stream needs one pair of datasets X/y (or <split>_set_x/_set_y) in "
                            f"{data_path}; it holds {keys}.")
        xk, yk = found[0]
        X, y = f[xk], f[yk][()]
        net = DeepNetwork(hp)
        m, n_x = X.shape[0], int(np.prod(X.shape[1:]))
        if not quiet:
            click.echo(f"deepstep: streaming {data_path} ({m} examples, {n_x} features) for {hp.epochs} epochs",
                       err=True)
            click.echo(f"deepstep: {input_scaling(hp.preprocess, X.dtype == np.uint8)}", err=True)
        t0 = time.perf_counter()
        net.fit(X, y, callbacks=[ProgressBar(0 if quiet else 1, leave=False, disable=None)])
        elapsed = time.perf_counter() - t0
    h = net.history
    if not quiet:
        click.echo(f"deepstep: {len(h.get('epoch', []))} epochs in {elapsed:.1f} s, final cost "
                   f"{h['cost'][-1]:.4g}" + (f" (stopped: {h.stopped})" if h.stopped else ""), err=True)
    if "accuracy" in h:
        click.echo(f"train accuracy (running, last epoch): {h['accuracy'][-1]:.4f} ({m} examples)")
    if test_path:
        test_ds = _load_for_model(net, test_path, parse_label_column(label_column))
        if test_ds.y is not None:
            click.echo(format_metrics("test", net.evaluate(test_ds.X, test_ds.y), test_ds.n_examples))
    if out_path:
        from .. import persistence

        try:
            persistence.save(net, out_path)
        except OSError as exc:
            raise output_error(exc, "--out", out_path) from None
        if not quiet:
            click.echo(f"deepstep: model saved to {out_path}", err=True)
