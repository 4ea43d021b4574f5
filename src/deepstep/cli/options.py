"""The hyperparameter options of ``deepstep train``, generated from :class:`~deepstep.HyperParameters`.

The options are generated from ``dataclasses.fields(HyperParameters)`` and
``hyperparameters.FIELD_HELP``, so the command line can never drift from the
object: a new field is a new ``--option`` with no CLI change. Values are
passed through unchanged when possible and validated by ``HyperParameters``
itself, so the CLI and the Python API give the same error messages.
"""

from __future__ import annotations

import dataclasses

import click

from ..hyperparameters import FIELD_HELP, HyperParameters


def _smart(text):
    """'64' -> 64, '0.5' -> 0.5, 'none' -> None, anything else unchanged (validated later)."""
    if text is None:
        return None
    low = text.strip().lower()
    if low == "none":
        return None
    for conv in (int, float):
        try:
            return conv(low)
        except ValueError:
            pass
    return text.strip()


class _FieldType(click.ParamType):
    """Text passed to HyperParameters as int/float when it looks like one, else as is."""

    name = "value"

    def convert(self, value, param, ctx):
        return _smart(value) if isinstance(value, str) else value


def _option_for(f: dataclasses.Field) -> click.Option:
    flag = "--" + f.name.replace("_", "-")
    default = f.default
    help_ = FIELD_HELP.get(f.name, "")
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "object")
    if kind == "bool" or isinstance(default, bool):
        no = "--no-" + f.name.replace("_", "-")
        return click.Option([f"{flag}/{no}", f.name], default=None,
                            help=f"{help_} [default: {'on' if default else 'off'}]")
    if kind == "float":
        ptype, metavar = click.FLOAT, "FLOAT"
    elif kind == "int":
        ptype, metavar = click.INT, "INT"
    elif f.name == "layers":
        ptype, metavar = click.STRING, "N1,N2,..."
    else:
        ptype, metavar = _FieldType(), "VALUE"
    return click.Option([flag, f.name], type=ptype, default=None, metavar=metavar,
                        help=f"{help_} [default: {shown}]")


HP_FIELDS = tuple(f.name for f in dataclasses.fields(HyperParameters))


def hyperparameter_options(func):
    """Add one ``--option`` per HyperParameters field to a click command."""
    func.__click_params__ = getattr(func, "__click_params__", [])
    for f in reversed(dataclasses.fields(HyperParameters)):
        func.__click_params__.append(_option_for(f))
    return func


def pop_hyperparameters(kwargs) -> dict:
    """Remove the hyperparameter options from ``kwargs``; return those given on the command line."""
    return {k: v for k in HP_FIELDS if (v := kwargs.pop(k, None)) is not None}


def label_column(text):
    """'--label-column' text: an int index when it looks like one, else a column name."""
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else t


def csv_format_options(f):
    """--sep and --decimal: how a CSV file writes its cells (detected by default; the banner says so)."""
    import click

    from ..tabular import DECIMALS

    f = click.option("--decimal", type=click.Choice(DECIMALS), default="auto", show_default=True,
                     help="CSV decimal mark: auto reads decimal commas (14,23) as numbers in a file not "
                          "separated by commas, when a whole column is written so (and says so)")(f)
    return click.option("--sep", default="auto", show_default=True, metavar="auto|,|;|tab",
                        help="CSV separator (also '|'); auto takes the first of ',', ';', tab in the first line "
                             "(and says which, when not ',')")(f)
