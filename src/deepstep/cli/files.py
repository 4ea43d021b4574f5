"""Reading and writing for the ``deepstep`` commands: training data, a model's data, model files, predictions.

Private to :mod:`deepstep.cli`, which imports these helpers by name (the tests
replace ``cli._load_training_data`` and ``cli._load_for_model``).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
import re
import sys

import click
import numpy as np

from ..errors import DataError
from ..fs import atomic_open
from .runtime import output_error


@dataclasses.dataclass
class DataOptions:
    """How ``deepstep train`` reads its data: the task, the columns, missing values, the held-out split."""

    task: str = "auto"
    features: tuple | None = None
    drop: tuple = ()
    categorical: tuple = ()
    impute: str = "median"
    test_fraction: float = 0.2
    weight_column: str | None = None
    drop_unlabeled: bool = False
    sep: str = "auto"
    decimal: str = "auto"


@dataclasses.dataclass
class Loaded:
    """Training data and what was decided about it (for the start banner and the model file)."""

    train: object
    test: object
    task: str
    reason: str
    label: str | None = None
    label_index: int | None = None
    split: str | None = None
    label_why: str | None = None
    notes: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)


def _is_table(path):
    return path == "-" or os.fspath(path).lower().endswith(_TEXT_EXTENSIONS)


def _load_training_data(data_path, test_path, dataset, label_col, opts=None) -> Loaded:
    """The training (and test) data, the task, the label column and the held-out split."""
    from .. import data, tabular

    opts = opts or DataOptions()
    if data_path and dataset:
        raise click.UsageError("Give either --data FILE or --dataset NAME, not both.")
    if test_path and not data_path:
        raise click.UsageError("--test-data needs --data (bundled datasets come with their test split).")
    if not _is_table(data_path or "x.npz") and (opts.features or opts.drop or opts.categorical):
        raise click.UsageError("--features, --drop and --categorical select CSV columns; "
                               f"{data_path or 'a bundled dataset'} is not a CSV file.")
    if opts.weight_column is not None and not _is_table(data_path or "x.npz"):
        raise click.UsageError(f"--weight-column {opts.weight_column!r}: the training data has no column of that "
                               f"name (it needs a CSV file with a header row).")
    if not data_path:
        train, test = data.load_dataset(dataset or "breast_cancer")
        task, reason = tabular.decide_task(train.y, opts.task)
        return Loaded(train, test, task, reason, split="the dataset's fixed test split")
    if _is_table(data_path):
        return _load_training_table(data_path, test_path, label_col, opts)
    if label_col is not None:
        raise click.UsageError(f"--label-column picks a CSV column; {data_path} is not a CSV file.")
    unlabeled = "drop" if opts.drop_unlabeled else "refuse"
    train = _load_file(data_path, unlabeled=unlabeled)
    if train.y is None:
        raise DataError(f"{data_path} has no labels to train on.")
    task, reason = tabular.decide_task(train.y, opts.task)
    test = _load_file(test_path, unlabeled=unlabeled) if test_path else train.test
    loaded = Loaded(train, test, task, reason, notes=list(train.notes) + (list(test.notes) if test else []))
    if test is not None and test.n_features != train.n_features:
        raise DataError(f"The test data has {test.n_features} features but the training data {data_path} "
                        f"has {train.n_features}; they must match.")
    if test is None:
        _hold_out(loaded, opts.test_fraction)
    else:
        loaded.split = f"{test_path}" if test_path else "the file's own held-out split"
    return loaded


def _hold_out(loaded, fraction):
    """Split ``loaded.train`` into train and a held-out test part (stratified for classification)."""
    if not fraction:
        loaded.split = None
        return
    idx = _split_indices(loaded.train.y, fraction, loaded.task, loaded)
    if idx is None:
        return
    tr, te = idx
    ds = loaded.train
    part = lambda rows: dataclasses.replace(ds, X=ds.X[:, rows], y=ds.y[rows], test=None)
    loaded.train, loaded.test = part(tr), part(te)


def _split_indices(y, fraction, task, loaded):
    from sklearn.model_selection import train_test_split

    from .. import data

    m = len(y)
    n_test = int(np.ceil(fraction * m))
    if n_test < 1 or m - n_test < 2:
        loaded.notes.append(f"{m} examples are too few to hold out {fraction:g} for testing; "
                            f"training on all of them (no test score).")
        return None
    stratify = None
    how = "random"
    if task == "classification":
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and n_test >= counts.size and m - n_test >= counts.size:
            stratify, how = y, "stratified"
        else:
            loaded.notes.append("a class has a single example (or the test part is smaller than the number "
                                "of classes): the held-out split is not stratified.")
    tr, te = train_test_split(np.arange(m), test_size=n_test, stratify=stratify, random_state=data.SPLIT_SEED)
    tr.sort()
    te.sort()
    loaded.split = (f"held out {fraction:.0%} for testing ({how}, fixed split; --test-fraction 0 trains on "
                    f"all): {tr.size} training, {te.size} test examples")
    return tr, te


def _load_training_table(data_path, test_path, label_col, opts) -> Loaded:
    from .. import data, tabular

    table = read_table(data_path, opts)
    source = "standard input" if data_path == "-" else data_path
    file_names = list(table.names)                  # the columns as the user sees them (numbers count these)
    notes = list(table.notes)
    if table.has_header and data.integer_names(table.names):
        k = len(table.names)
        notes.append(f"the first row ({', '.join(table.names[:3])}, ..., {k - 1}) is read as the header: "
                     f"pandas' integer column names (pd.DataFrame(array).to_csv), not an example.")
    index = tabular.index_column(table)
    if label_col is not None:
        label = tabular.resolve_column(label_col, table)
        why = "as given"
        refuse_index_label(label_col, label, index, table, source)
    else:
        label = None
    empty = [j for j in tabular.empty_unnamed(table) if table.names[j] != label]
    if empty:
        table = table.drop_at(empty)
        what = "an unnamed, empty column" if len(empty) == 1 else f"{len(empty)} unnamed, empty columns"
        where = ", ".join(map(str, empty))
        notes.append(f"{source} has {what} (column{'s' if len(empty) > 1 else ''} {where}; a trailing comma "
                     f"on each line?): not used.")
    if index is not None:
        table = table.drop_at([0])
        notes.append(f"the unnamed first column of {source} (column 0) holds the row numbers (an index): not "
                     f"used; column numbers count it, as the file does.")
    if label is None:
        label, why = tabular.default_label(table)
    if len(table.names) < 2:
        raise DataError(f"{source} has a single column (taken as the labels) and no feature columns; a data "
                        f"file needs one example per row, its features and label separated by commas.")
    label_index = file_names.index(label, 1 if index is not None else 0)
    # --drop '' (or the index's name) for a column already left out: nothing more to do
    opts = dataclasses.replace(opts, drop=tuple(n for n in opts.drop if n in table.names or n not in file_names))
    if table.names.count(label) > 1:
        raise DataError(f"{source} has several columns named {label!r}; rename them.")
    weight = opts.weight_column
    if weight is not None and (not table.has_header or weight not in table.names or weight == label):
        raise click.UsageError(f"--weight-column {weight!r}: the training data has no column of that name"
                               + (f" (columns: {', '.join(table.names)})." if table.has_header else
                                  " (it needs a CSV file with a header row)."))
    if weight is not None:
        opts = dataclasses.replace(opts, drop=tuple(opts.drop) + (weight,))
    features = _feature_columns(table, label, opts, source)
    ycol = table.column(label)
    miss = tabular.missing_mask(ycol)
    if miss.all():
        raise DataError(f"{source}: the label column {label!r} is empty.")
    if miss.any() and not opts.drop_unlabeled:
        raise tabular.unlabeled_rows(source, [table.line(i) for i in np.flatnonzero(miss)], label,
                                     "--drop-unlabeled")
    if miss.any():
        notes.append(f"{int(miss.sum())} rows without a label ({label!r}) left out (--drop-unlabeled).")
        table = table.take(np.flatnonzero(~miss))
        ycol = table.column(label)
    y = tabular.labels_of(ycol)
    task, reason = tabular.decide_task(y, opts.task)
    if task == "regression":
        y = ycol.astype(np.float64) if tabular.is_numeric(ycol) else y
    tabular.TabularEncoder.check_file(table, features, opts.impute, opts.categorical)
    loaded = Loaded(None, None, task, reason, label, label_index, notes=notes, label_why=why)
    rows = None
    if test_path is None:
        rows = _split_indices(y, opts.test_fraction, task, loaded) if opts.test_fraction else None
    train_table = table if rows is None else table.take(rows[0])
    n_missing = sum(int(tabular.missing_mask(train_table.column(f)).sum()) for f in features)
    encoder = tabular.TabularEncoder.fit(train_table, features, opts.impute, task,
                                         {"name": label, "index": label_index}, opts.categorical)
    if n_missing:
        cols = sum(bool(tabular.missing_mask(train_table.column(f)).any()) for f in features)
        notes.append(f"{n_missing} missing values in {cols} column{'s' if cols > 1 else ''} imputed "
                     f"({opts.impute} for numbers, most frequent for text; fitted on the training rows; "
                     f"--impute none refuses them).")
    make = lambda t, yy, src: data.Dataset(encoder.transform(t, warn=loaded.warnings.append), yy,
                                           feature_names=encoder.feature_names, source=src, tabular=encoder)
    if rows is None:
        loaded.train = make(table, y, source)
    else:
        loaded.train = make(train_table, y[rows[0]], source)
        loaded.test = make(table.take(rows[1]), y[rows[1]], source + ":test")
    if weight is not None:
        w = np.asarray(train_table.column(weight), dtype=np.float64) if tabular.is_numeric(
            train_table.column(weight)) else np.array([np.nan])
        if not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
            raise DataError(f"--weight-column {weight!r} must hold finite, non-negative weights, not all zero.")
        loaded.train.sample_weight = w
        click.echo(f"deepstep: sample weights from column {weight!r} (min {w.min():g}, max {w.max():g}), "
                   f"not a feature", err=True)
    if test_path is not None:
        ttable = read_table(test_path, opts)
        loaded.notes += ttable.notes
        ttable = ttable.drop_at(tabular.empty_unnamed(ttable))
        if tabular.index_column(ttable) is not None:
            ttable = ttable.drop_at([0])
        X, ty = _table_features(encoder, ttable, label, label_index, required=True, what="--test-data",
                                unlabeled="drop" if opts.drop_unlabeled else "refuse", warn=_note)
        ty = tabular.labels_of(ty) if task == "classification" else ty.astype(np.float64)
        loaded.test = data.Dataset(X, ty, feature_names=encoder.feature_names, source=test_path,
                                   tabular=encoder)
        loaded.split = test_path
    return loaded


def refuse_index_label(spec, label, index, table, source):
    """--label-column naming the unnamed index column (row numbers) is refused: it is never data."""
    if index is None or label != index:
        return
    first = table.names[1] if len(table.names) > 1 else None
    raise click.UsageError(f"--label-column {spec}: column 0 of {source} is its unnamed index column (row "
                           f"numbers, as pandas' to_csv writes them), which deepstep drops; column numbers count "
                           f"it, so the first data column is 1 ({first!r}); or give the label column's name.")


def read_table(path, opts):
    """A CSV file as a table, with train's --sep and --decimal."""
    from .. import tabular

    if opts.sep not in tabular.SEPARATORS:
        raise click.UsageError(f"--sep {opts.sep!r}: give one of ',', ';', 'tab', '|' or auto.")
    return tabular.read_csv(path, tabular.SEPARATORS[opts.sep], decimal=opts.decimal)


def _feature_columns(table, label, opts, source):
    from .. import tabular

    names = [n for n in table.names if n != label]
    for flag, given in (("--features", opts.features or ()), ("--drop", opts.drop),
                        ("--categorical", opts.categorical)):
        for n in given:
            if n == label:
                raise click.UsageError(f"{flag} names {n!r}, the label column.")
            tabular.resolve_column(n, table, what=f"column given to {flag}")
    if opts.features:
        names = [tabular.resolve_column(n, table, what="column given to --features") for n in opts.features]
    names = [n for n in names if n not in set(opts.drop)]
    if not names:
        raise click.UsageError(f"No feature columns are left in {source} (--features / --drop).")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{source} has several columns named {dup[0]!r}; rename them.")
    return names


def _note(text):
    click.echo(f"deepstep: {text if text.startswith('note:') else 'warning: ' + text}", err=True)


def _load_file(path, **kwargs):
    """:func:`deepstep.data.load_file`, its advice in the command line's words."""
    from .. import data

    try:
        return data.load_file(path, **kwargs)
    except DataError as exc:
        if "unlabeled='drop'" not in str(exc):
            raise
        raise DataError(str(exc).replace("unlabeled='drop'", "--drop-unlabeled")) from None


def _table_features(encoder, table, label, label_index, *, required, what, warn=None, unlabeled="refuse"):
    """(X, y or None) from a table for ``encoder``: columns by name, or by position when headerless.

    Rows whose label is missing are refused, dropped (with a note) or, with ``unlabeled="ignore"``
    (predict), the labels are not read.
    """
    from .. import tabular

    n_in = len(encoder.columns)
    y = None
    # by name: a header, or a headerless file whose generated names ('column 3') are the model's own
    if table.has_header or set(encoder.input_names) <= set(table.names):
        if label is not None and label in table.names and label not in encoder.input_names:
            y = table.column(label)
            table = table.drop([label])
        encoder.select(table)                           # missing columns: an error naming them, first
        extra = [n for n in table.names if n not in set(encoder.input_names)]
        if extra and warn is not None:
            warn(f"note: {table.source}: column{'s' if len(extra) > 1 else ''} "
                 f"{', '.join(map(repr, extra[:6]))}{' ...' if len(extra) > 6 else ''} "
                 f"{'are' if len(extra) > 1 else 'is'} not among the model's inputs: ignored.")
    else:
        width = len(table.names)
        if width == n_in + 1 and label_index is not None and label_index < width:
            y = table.columns[label_index]
            table = table.drop([table.names[label_index]])
        elif width != n_in:
            raise DataError(f"{table.source} has no header row and {width} columns, but the model reads "
                            f"{n_in} columns{' plus the label' if label_index is not None else ''}; add the "
                            f"header row (the model selects its columns by name).")
    if y is None and required:
        raise DataError(f"{table.source} has no label column ({label!r}); {what} needs labelled examples "
                        f"(use 'deepstep predict' for unlabelled ones).")
    if y is not None:
        miss = tabular.missing_mask(y)
        if miss.any() and unlabeled == "ignore":
            y = None
        elif miss.any() and unlabeled == "refuse":
            raise tabular.unlabeled_rows(table.source, [table.line(i) for i in np.flatnonzero(miss)], label,
                                         "--drop-unlabeled")
        elif miss.any():
            if miss.all():
                raise DataError(f"{table.source}: no row has a label ({label!r}); {what} needs labelled rows.")
            if warn is not None:
                warn(f"note: {table.source}: {int(miss.sum())} rows without a label ({label!r}) left out "
                     f"(--drop-unlabeled).")
            keep = np.flatnonzero(~miss)
            table, y = table.take(keep), y[keep]
    X = encoder.transform(table, warn=warn)
    return X, y


_TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")


def _encoder_for(model):
    """The model's table encoder; for a model without one (an older file), its named numeric inputs."""
    from .. import tabular

    if getattr(model, "tabular", None) is not None:
        return model.tabular
    if model.feature_names and len(model.feature_names) == model.layer_dims[0]:
        cols = [{"name": n, "dtype": "float64", "fill": None} for n in model.feature_names]
        return tabular.TabularEncoder(cols, "none", None, None)
    return None


def _load_for_model(model, path, label_col, dataset=None, *, need_labels=False, unlabeled="ignore", split=None,
                    sep="auto", decimal="auto"):
    """Data for a trained model: a file (labels optional) or a bundled dataset's test split.

    ``unlabeled``: what to do with rows whose label is missing (:data:`deepstep.data.UNLABELED`);
    predict ignores the labels, evaluate refuses such rows or drops them (``--drop-unlabeled``).

    A CSV file's columns are selected by name from its header, the model's
    inputs in the model's order; its label is the column the model was
    trained with (or ``--label-column``).
    """
    from .. import data, tabular

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
    encoder = _encoder_for(model)
    if _is_table(path) and encoder is not None:
        table = read_table(path, DataOptions(sep=sep, decimal=decimal))
        lab = encoder.label
        if not table.has_header and lab and lab["name"] == f"column {lab['index'] + 1}":
            # a model trained on a headerless file before its columns were named from 0 ('column 1' first):
            # the same numbering here, so that its names pick the same columns
            table = dataclasses.replace(table, names=[f"column {j + 1}" for j in range(len(table.names))])
        say = _note
        for note in table.notes:
            say(f"note: {note}")
        label = encoder.label["name"] if encoder.label else None
        label_index = encoder.label["index"] if encoder.label else None
        index = tabular.index_column(table)
        if label_col is not None:
            label = tabular.resolve_column(label_col, table)
            if index not in encoder.input_names:
                refuse_index_label(label_col, label, index, table, path)
            label_index = table.names.index(label, 1 if index is not None and label != index else 0)
        table = table.drop_at([j for j in tabular.empty_unnamed(table) if table.names[j] != label])
        if index is not None and index not in encoder.input_names:
            table = table.drop_at([0])
        if label is None and table.has_header:
            extra = [n for n in table.names if n not in encoder.input_names]
            label = extra[-1] if len(extra) == 1 and extra[-1] == table.names[-1] else None
        if label is None and not table.has_header and len(table.names) == len(encoder.columns) + 1:
            label_index = len(table.names) - 1
        X, y = _table_features(encoder, table, label, label_index, required=need_labels,
                               what="evaluate", warn=say, unlabeled=unlabeled)
        if y is not None:
            y = tabular.labels_of(y) if model.output != "linear" else y.astype(np.float64)
        return data.Dataset(X, y, feature_names=encoder.feature_names, source=path)
    if split is not None and (_is_table(path) or dataset):
        raise click.UsageError(f"--split picks a file's own held-out split (.mat Xval/yval, .npz X_test/y_test); "
                               f"{path or 'a bundled dataset'} has none.")
    ds = _load_file(path, label_column=label_col, n_features=model.layer_dims[0], unlabeled=unlabeled)
    for note in ds.notes:
        _note(f"note: {note}")
    if split == "test" and ds.test is None:
        raise click.UsageError(f"--split test: {path} holds no held-out split (.mat Xval/yval, .npz "
                               f"X_test/y_test); leave --split out to score its examples.")
    if ds.test is not None and split != "train":
        keys = "Xval/yval" if os.fspath(path).lower().endswith(".mat") else "X_test/y_test"
        _note(f"note: scoring {path}'s held-out split ({keys}: {ds.test.n_examples} examples), the test split "
              f"train uses; --split train scores its training examples instead.")
        ds = ds.test
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
        from .output import class_name

        header = ["prediction"]
        cols = [pred]
        if model.class_names:                # the training file's class names, beside the label as it is
            header.append("class_name")
            cols.append(np.array([[class_name(model, v) or "" for v in pred.ravel()]], dtype=object))
        if model.output == "sigmoid":
            header.append(f"p_{model.classes[1]}")
        else:
            header += [f"p_{c}" for c in model.classes]
        cols.append(proba)
    else:                                            # multilabel / one-hot matrix targets
        header = [f"label_{i}" for i in range(pred.shape[0])] + [f"p_{i}" for i in range(pred.shape[0])]
        cols = [pred, proba]
    rows = np.vstack([np.asarray(c, dtype=object) for c in cols]).T
    fmt = [[f"{v:.6g}" if isinstance(v, (float, np.floating)) else v for v in r] for r in rows]
    if out_path:
        _write_csv(out_path, [header, *fmt])
    else:
        try:
            csv.writer(sys.stdout).writerows([header, *fmt])
            sys.stdout.flush()
        except BrokenPipeError:          # `deepstep predict ... | head`: the reader has what it wanted
            from .runtime import _silence_stdout

            _silence_stdout()
            return
    if out_path:
        click.echo(f"deepstep: {X.shape[1]} predictions written to {out_path}", err=True)
