"""``deepstep export``: a saved model as ONNX, a torch.export program or safetensors."""

from __future__ import annotations

import os

import click

from .files import _load_model
from .runtime import EXIT_CODES_EPILOG, check_output_path, output_error

SUFFIX = {"onnx": ".onnx", "torch": ".pt2", "safetensors": ".safetensors"}
NEEDS = {"onnx": "onnx", "torch": "torch", "safetensors": "onnx"}   # the extra that brings the package


@click.command(epilog=EXIT_CODES_EPILOG)
@click.argument("model_path", metavar="MODEL")
@click.option("--format", "fmt", type=click.Choice(sorted(SUFFIX)), default="onnx", show_default=True,
              help="onnx: the whole predictor (scaling, layers, output); torch: to_torch()'s nn.Sequential as a "
                   "torch.export program (.pt2); safetensors: the weights under to_torch()'s names")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="where to write [default: MODEL with the format's suffix: .onnx, .pt2, .safetensors]")
def export(model_path, fmt, out_path):
    """Export a saved model for other runtimes (ONNX Runtime, PyTorch, safetensors).

    The exported model takes examples as rows, X of shape (batch, n_x), raw
    (the model's input scaling is part of it).

    \b
    Example:
      deepstep export cat.npz --format onnx        # writes cat.onnx
    """
    if out_path is None:
        out_path = os.path.splitext(model_path)[0] + SUFFIX[fmt]
    if os.path.abspath(out_path) == os.path.abspath(model_path):
        raise click.UsageError(f"--out {out_path} is the model file itself; choose another path.")
    check_output_path(out_path, "--out")
    model = _load_model(model_path)
    try:
        if fmt == "onnx":
            model.to_onnx(out_path)
        elif fmt == "torch":
            from ..interop.torch import save_exported

            save_exported(model, out_path)
        else:
            from ..interop.safetensors import save_safetensors

            save_safetensors(model, out_path)
    except ImportError as exc:
        raise click.ClickException(f"{exc} (--format {fmt} needs the '{NEEDS[fmt]}' extra).") from None
    except OSError as exc:
        raise output_error(exc, "--out", out_path) from None
    click.echo(f"deepstep: {model_path} exported as {fmt} to {out_path}", err=True)
