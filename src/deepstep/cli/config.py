"""``deepstep train --config run.toml``, ``--print-config`` and ``--preset lesson``.

A run config is a TOML table of ``train``'s options, named as on the command
line without the dashes (``learning_rate = 0.01`` or ``learning-rate = 0.01``,
``layers = [100, 100]``, ``data = "train.csv"``). Flags given on the command
line override it; a key that is no option of ``train`` is an error naming the
key. ``--print-config`` writes the effective settings (flags, config, preset
and defaults together) in the same form, so a run can be saved and repeated.
"""

from __future__ import annotations

import json
import sys

import click

#: The lesson's application (the 4-layer cat classifier): train 0.986, test 0.80 on the cat files.
PRESETS = {
    "lesson": {"layers": (20, 7, 5), "optimizer": "gd", "learning_rate": 0.0075, "epochs": 2500,
               "batch_size": "full", "init": "scaled", "init_rng": "mt19937", "seed": 1, "dtype": "float64",
               "preprocess": "divide255"},
}
#: Options that a config cannot set (they act on the config itself).
NOT_IN_CONFIG = ("config", "print_config", "help")


def _read_toml(path):
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                   # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise click.BadParameter(f"{path} does not exist.", param_hint="'--config'") from None
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror or exc}.", param_hint="'--config'") from None
    except tomllib.TOMLDecodeError as exc:
        raise click.BadParameter(f"{path} is not valid TOML: {exc}.", param_hint="'--config'") from None


def load_config(ctx, param, path):
    """Eager ``--config`` callback: the file's values become the command's defaults (flags override)."""
    if path is None:
        return None
    doc = _read_toml(path)
    names = {}
    for p in ctx.command.params:
        longs = [o for o in getattr(p, "opts", []) if o.startswith("--")]
        if p.name not in NOT_IN_CONFIG and longs:
            names[longs[0][2:].replace("-", "_")] = p
    defaults = {}
    for key, value in doc.items():
        flag = key.replace("-", "_")
        if flag not in names:
            import difflib

            close = difflib.get_close_matches(flag, list(names), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"Unknown key {key!r} in {path}: it is no option of 'deepstep train' "
                                   f"(keys are the options without their dashes, e.g. learning_rate).{hint}")
        name = names[flag].name
        if isinstance(value, dict):
            raise click.BadParameter(f"{path}: {key} is a table; give option = value pairs only.",
                                     param_hint="'--config'")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        opt = names[flag]
        if not getattr(opt, "is_flag", False) and isinstance(value, bool):
            value = "on" if value else "off"
        defaults[name] = value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return path


def apply_preset(name, overrides):
    """Hyperparameters of preset ``name`` under those given (flags and config win)."""
    if name is None:
        return overrides
    return {**PRESETS[name], **overrides}


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def print_config(settings: dict, hp) -> str:
    """The effective settings as TOML: data options first, then every hyperparameter."""
    lines = ["# deepstep train --config FILE (flags given on the command line override these)"]
    for k, v in settings.items():
        if v is None or k in NOT_IN_CONFIG:
            continue
        lines.append(f"{k} = {_toml_value(v)}")
    lines.append("")
    lines.append("# hyperparameters")
    for k, v in hp.to_dict().items():
        if v is None:
            lines.append(f"# {k} = none")
            continue
        lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines)
