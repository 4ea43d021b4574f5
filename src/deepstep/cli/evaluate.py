"""``deepstep evaluate`` and ``deepstep predict``: a saved model on labelled or new data."""

from __future__ import annotations

import json

import click
import numpy as np

from ..errors import DataError
from .files import (
    _cli_width_errors,
    _load_for_model,
    _load_model,
    _write_csv,
    _write_predictions,
)
from .options import csv_format_options
from .options import label_column as parse_label_column
from .output import class_label, class_name, format_metrics, json_label, load_image
from .runtime import EXIT_CODES_EPILOG, check_distinct, check_output_path, printable


@click.command(epilog=EXIT_CODES_EPILOG)
@click.argument("model_path", metavar="MODEL")
@click.option("--data", "data_path", metavar="FILE",
              help="labelled data in any format train reads ('-': CSV from standard input); a CSV's columns "
                   "are taken by name")
@click.option("--dataset", metavar="NAME", help="evaluate on a bundled dataset's test split instead")
@click.option("--label-column", metavar="INDEX|NAME",
              help="CSV label column: 0-based index counting the file's columns as they are (a pandas index "
                   "column is column 0), or header name [default: the one the model was trained with]")
@click.option("--drop-unlabeled", is_flag=True,
              help="leave out rows whose label is missing (with a note) [default: refuse them, naming the "
                   "first lines]")
@click.option("--split", type=click.Choice(["test", "train"]),
              help="for a file carrying its own held-out split (.mat Xval/yval, .npz X_test/y_test): which "
                   "part to score [default: test, the split train reports as its test data]")
@csv_format_options
@click.option("--json", "as_json", is_flag=True, help="print the results as one JSON object on standard output")
def evaluate(model_path, data_path, dataset, label_column, drop_unlabeled, split, sep, decimal, as_json):
    """Print a saved model's metrics on labelled data.

    Classification: accuracy, log-loss, per-class precision, recall and F1,
    and the confusion matrix. Regression: MAE, RMSE and R².
    """
    model = _load_model(model_path)
    ds = _load_for_model(model, data_path, parse_label_column(label_column), dataset, need_labels=True,
                         unlabeled="drop" if drop_unlabeled else "refuse", split=split, sep=sep, decimal=decimal)
    if ds.y is None:
        raise DataError(f"{data_path} has no label column ({ds.n_features} columns, the model's features); "
                        f"evaluate needs labels. Use 'deepstep predict' for unlabelled data.")
    with _cli_width_errors(data_path or f"dataset {dataset}"):
        metrics = model.evaluate(ds.X, ds.y)
        report = detailed_report(model, ds.X, ds.y)
    if as_json:
        click.echo(json.dumps({"model": model_path, "data": data_path or f"dataset {dataset}",
                               "examples": ds.n_examples, **metrics, **report}))
        return
    click.echo(format_metrics("", metrics, ds.n_examples))
    click.echo(format_report(model, report))


def detailed_report(model, X, y) -> dict:
    """scikit-learn's metrics: per-class precision/recall/F1 and the confusion matrix, or MAE/RMSE/R²."""
    from sklearn import metrics as skm

    pred = model.predict(X)
    if model.output == "linear":
        y = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        return {"mae": float(skm.mean_absolute_error(y.T, pred.T)),
                "rmse": float(np.sqrt(skm.mean_squared_error(y.T, pred.T))),
                "r2": float(skm.r2_score(y.T, pred.T))}
    if model.classes is None:                      # multilabel / one-hot targets: no per-class table
        return {}
    y = np.asarray(y).ravel()
    pred = pred.ravel()
    labels = list(model.classes)
    p, r, f, support = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {"classes": [{"class": json_label(k), "name": class_name(model, k),
                         "precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
                        for k, a, b, c, d in zip(labels, p, r, f, support)],
            "macro_f1": float(np.mean(f)),
            "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist()}


def format_report(model, report) -> str:
    if "mae" in report:
        return f"mae: {report['mae']:.6g}  rmse: {report['rmse']:.6g}  r2: {report['r2']:.4f}"
    if not report:
        return ""
    rows = [("class", "precision", "recall", "f1", "support")]
    shown = lambda c: printable(f"{c['class']} ({c['name']})" if c["name"] is not None else str(c["class"]))
    rows += [(shown(c), f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", str(c["support"]))
             for c in report["classes"]]
    w0 = max(len(r[0]) for r in rows)
    lines = ["  ".join([r[0].ljust(w0), *(v.rjust(9) for v in r[1:])]) for r in rows]
    lines.append(f"macro f1: {report['macro_f1']:.4f}")
    names = [shown(c) for c in report["classes"]]
    cm = report["confusion_matrix"]
    w = max(max(len(n) for n in names), max(len(str(v)) for row in cm for v in row))
    lines.append("confusion matrix (rows: true class, columns: predicted):")
    lines.append(" " * (w0 + 2) + "  ".join(n.rjust(w) for n in names))
    lines += ["  ".join([n.ljust(w0), *(str(v).rjust(w) for v in row)]) for n, row in zip(names, cm)]
    return "\n".join(lines)


@click.command(epilog=EXIT_CODES_EPILOG)
@click.argument("model_path", metavar="MODEL")
@click.option("--data", "data_path", metavar="FILE",
              help="examples to predict (a CSV may have the label column or not)")
@click.option("--image", "images", multiple=True, metavar="PHOTO",
              help="an image file for an image model (resized to the model's input): PNG, JPEG, "
                   "BMP, GIF, TIFF or WebP; repeatable")
@click.option("--label-column", metavar="INDEX|NAME", help="CSV label column to ignore (default: the last)")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), metavar="CSV",
              help="also write the predictions to this CSV file (--data: instead of standard output; "
                   "--image: columns image, prediction, class_name, probability)")
@csv_format_options
def predict(model_path, data_path, images, label_column, out_path, sep, decimal):
    """Predict with a saved model: a CSV of predictions (and probabilities), or one line per image.

    The prediction is the label as the training data wrote it (1); where the training file named
    its classes (the cat files: non-cat, cat), a class_name column follows it in both the --data
    and the --image CSV, and the --image lines show both: 1 (cat).
    """
    if bool(data_path) == bool(images):
        raise click.UsageError("Give either --data FILE or --image PHOTO.")
    check_output_path(out_path, "--out")
    check_distinct([("MODEL", model_path), ("--data", data_path), *(("--image", p) for p in images)],
                   [("--out", out_path)])
    model = _load_model(model_path)
    if images:
        if model.input_shape is None:
            raise DataError(f"{model_path} was not trained on images (it has no input image shape); "
                            f"use --data with {model.layer_dims[0]} features per example.")
        X = np.hstack([load_image(p, model.input_shape) for p in images])   # (h*w*c, k)
        with _cli_width_errors("the images"):
            labels, proba = model.predict(X), model.predict_proba(X)
        rows = []
        for i, p in enumerate(images):
            conf = proba[0, i] if model.output == "sigmoid" else proba[:, i].max()
            conf = 1 - conf if model.output == "sigmoid" and labels[0, i] == model.classes[0] else conf
            click.echo(f"{p}: {class_label(model, labels[0, i])}  (probability {conf:.3f})")
            name = class_name(model, labels[0, i])
            rows.append([p, json_label(labels[0, i])] + ([] if not model.class_names else [name or ""])
                        + [f"{conf:.6g}"])
        if out_path:
            head = ["image", "prediction"] + (["class_name"] if model.class_names else []) + ["probability"]
            _write_csv(out_path, [head, *rows])
            click.echo(f"deepstep: {len(rows)} predictions written to {out_path}", err=True)
        return
    ds = _load_for_model(model, data_path, parse_label_column(label_column), unlabeled="ignore",  # no label needed
                         sep=sep, decimal=decimal)
    with _cli_width_errors(data_path):
        _write_predictions(model, ds.X, out_path)
