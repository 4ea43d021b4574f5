"""``deepstep info``: what a saved model is, how it was trained, its history."""

from __future__ import annotations

import json

import click

from .files import (
    _load_model,
)
from .output import class_label, class_name, history_tail, json_label
from .runtime import EXIT_CODES_EPILOG, printable


@click.command(epilog=EXIT_CODES_EPILOG)
@click.argument("model_path", metavar="MODEL")
@click.option("--tail", type=click.IntRange(min=0), default=5, show_default=True,
              help="epochs of history to show")
@click.option("--json", "as_json", is_flag=True, help="print the model's description as one JSON object")
def info(model_path, tail, as_json):
    """Show a saved model: layers, hyperparameters, data and training history.

    Text that comes from the file (names, classes, history) is printed with
    control characters escaped (with --json, JSON's own escapes).
    """
    model = _load_model(model_path)
    if as_json:
        h = model.history
        tab = model.tabular
        doc = {"model": model_path, "layer_dims": model.layer_dims, "activations": model.activations,
               "output": model.output, "task": "regression" if model.output == "linear" else "classification",
               "classes": None if model.classes is None else [json_label(c) for c in model.classes],
               "class_names": None if model.classes is None or not model.class_names else
               [class_name(model, c) for c in model.classes],
               "hyperparameters": model.hp.to_dict(), "feature_names": model.feature_names,
               "input_shape": None if model.input_shape is None else list(model.input_shape),
               "preprocess": model.scaler.kind, "columns": None if tab is None else tab.to_dict(),
               "epochs_done": model.epochs_done, "stopped": h.stopped,
               "history": {k: list(v)[-tail:] if tail else [] for k, v in h.items()}}
        click.echo(json.dumps(doc, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
        return
    echo = lambda text: click.echo(printable_lines(text))
    echo(f"{model_path}: {model!r}")
    echo(model.summary())
    click.echo("\nhyperparameters:")
    for k, v in model.hp.to_dict().items():
        echo(f"  {k:20s} {v}")
    click.echo("\ndata:")
    click.echo(f"  {'features':20s} {model.layer_dims[0]}")
    if model.input_shape is not None:
        click.echo(f"  {'input_shape':20s} {tuple(model.input_shape)}")
    if model.feature_names:
        names = ", ".join(printable(n) for n in model.feature_names[:5])
        names += ", ..." if len(model.feature_names) > 5 else ""
        click.echo(f"  {'feature_names':20s} {names}")
    if model.classes is not None:
        click.echo(f"  {'classes':20s} {', '.join(printable(class_label(model, c)) for c in model.classes)}")
    click.echo(f"  {'output':20s} {model.output}")
    click.echo(f"  {'preprocess':20s} {model.scaler.kind}")
    if model.tabular is not None:
        t = model.tabular
        click.echo(f"  {'task':20s} {t.task}")
        if t.label:
            click.echo(f"  {'label_column':20s} {printable(repr(t.label['name']))} (column {t.label['index']})")
        echo(f"  {'columns':20s} {t.describe()}; impute {t.impute}")
    h = model.history
    click.echo(f"\ntrained for {model.epochs_done} epochs"
               + (f" (stopped: {printable(h.stopped)}, best epoch {h.best_epoch})" if h.stopped else "") + ":")
    echo(history_tail(h, tail))


def printable_lines(text):
    """Each line of ``text`` with its control characters escaped (the line breaks kept)."""
    return "\n".join(printable(line) for line in str(text).split("\n"))
