"""``deepstep info``: what a saved model is, how it was trained, its history."""

from __future__ import annotations

import click

from .files import (
    _load_model,
)
from .output import class_label, history_tail
from .runtime import EXIT_CODES_EPILOG, printable


@click.command(epilog=EXIT_CODES_EPILOG)
@click.argument("model_path", metavar="MODEL")
@click.option("--tail", type=click.IntRange(min=0), default=5, show_default=True,
              help="epochs of history to show")
def info(model_path, tail):
    """Show a saved model: layers, hyperparameters, data and training history.

    Text that comes from the file (names, classes, history) is printed with
    control characters escaped.
    """
    model = _load_model(model_path)
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
    h = model.history
    click.echo(f"\ntrained for {model.epochs_done} epochs"
               + (f" (stopped: {printable(h.stopped)}, best epoch {h.best_epoch})" if h.stopped else "") + ":")
    echo(history_tail(h, tail))


def printable_lines(text):
    """Each line of ``text`` with its control characters escaped (the line breaks kept)."""
    return "\n".join(printable(line) for line in str(text).split("\n"))
