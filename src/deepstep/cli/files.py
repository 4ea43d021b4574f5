"""Reading and writing for the ``deepstep`` commands: training data, a model's data, model files, predictions.

Private to :mod:`deepstep.cli`, which imports these helpers by name (the tests
replace ``cli._load_training_data`` and ``cli._load_for_model``).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import sys

import click
import numpy as np

from ..errors import DataError
from ..fs import atomic_open
from .runtime import output_error


def _load_training_data(data_path, test_path, dataset, label_col):
    from .. import data

    if data_path and dataset:
        raise click.UsageError("Give either --data FILE or --dataset NAME, not both.")
    if test_path and not data_path:
        raise click.UsageError("--test-data needs --data (bundled datasets come with their test split).")
    if not data_path:
        return data.load_dataset(dataset or "breast_cancer")
    train = data.load_file(data_path, label_col)
    test = data.load_file(test_path, label_col) if test_path else train.test
    if train.y is None:
        raise DataError(f"{data_path} has no labels to train on.")
    if test is not None and test.n_features != train.n_features:
        lacks_label = (test_path is not None and test.n_features == train.n_features - 1
                       and all(p.lower().endswith(_TEXT_EXTENSIONS) for p in (data_path, test_path)))
        hint = (f" {test_path} has one column fewer than {data_path}: it seems to lack the label column; "
                f"--test-data needs labelled examples (use 'deepstep predict' for unlabelled ones).")
        raise DataError(f"The test data has {test.n_features} features but the training data {data_path} "
                        f"has {train.n_features}; they must match.{hint if lacks_label else ''}")
    return train, test


_TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")


def _load_for_model(model, path, label_col, dataset=None):
    """Data for a trained model: a file (labels optional) or a bundled dataset's test split."""
    from .. import data

    if dataset:
        if path:
            raise click.UsageError("Give either --data FILE or --dataset NAME, not both.")
        ds = data.load_dataset(dataset)[1]
        if ds.n_features != model.layer_dims[0]:
            raise DataError(f"The data (dataset {dataset}) has {ds.n_features} feature columns but the "
                            f"model expects {model.layer_dims[0]}.")
        return ds
    if not path:
        raise click.UsageError("Give the data to use with --data FILE.")
    ds = data.load_file(path, label_col, n_features=model.layer_dims[0])
    if ds.n_features != model.layer_dims[0]:
        extra = " (plus a label column)" if path.lower().endswith(_TEXT_EXTENSIONS) else ""
        raise DataError(f"{path} has {ds.n_features} features but the model expects "
                        f"{model.layer_dims[0]}{extra}.")
    return ds


_MODEL_WIDTH = re.compile(r"X has (\d+) features \(rows\) but the model expects (\d+)")


@contextlib.contextmanager
def _cli_width_errors(source):
    """Reword the model's width error for the command line, where files hold one example per row.

    The Python API speaks of X's rows (X is (n_x, m)); a CLI user never sees X,
    so "X has 30 features (rows)" becomes "the data has 30 feature columns".
    """
    try:
        yield
    except DataError as exc:
        m = _MODEL_WIDTH.search(str(exc))
        if m is None:
            raise
        raise DataError(f"The data ({source}) has {m.group(1)} feature columns but the model expects "
                        f"{m.group(2)}.") from None


def _load_model(path):
    from .. import persistence
    from ..errors import ModelFileError

    try:
        return persistence.load(path)
    except ModelFileError as exc:
        if os.fspath(path) in str(exc):
            raise
        # some of persistence's checks say "its metadata is inconsistent: ..." without the file
        raise ModelFileError(f"{path}: {exc}") from None


def _short_source(source):
    """A data path as its file name (plot titles); 'dataset NAME' unchanged."""
    return source if source.startswith("dataset ") else os.path.basename(os.path.normpath(source))


def _write_csv(out_path, rows):
    try:
        with atomic_open(out_path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    except OSError as exc:
        raise output_error(exc, "--out", out_path) from None


def _write_predictions(model, X, out_path):
    pred, proba = model.predict(X), model.predict_proba(X)
    if model.output == "linear":
        header = ["prediction"] if pred.shape[0] == 1 else [f"prediction_{i}" for i in range(pred.shape[0])]
        cols = [pred]
    elif model.classes is not None:
        header = ["prediction"]
        if model.output == "sigmoid":
            header.append(f"p_{model.classes[1]}")
        else:
            header += [f"p_{c}" for c in model.classes]
        cols = [pred, proba]
    else:                                            # multilabel / one-hot matrix targets
        header = [f"label_{i}" for i in range(pred.shape[0])] + [f"p_{i}" for i in range(pred.shape[0])]
        cols = [pred, proba]
    rows = np.vstack([np.asarray(c, dtype=object) for c in cols]).T
    fmt = [[f"{v:.6g}" if isinstance(v, (float, np.floating)) else v for v in r] for r in rows]
    if out_path:
        _write_csv(out_path, [header, *fmt])
    else:
        csv.writer(sys.stdout).writerows([header, *fmt])
    if out_path:
        click.echo(f"deepstep: {X.shape[1]} predictions written to {out_path}", err=True)
