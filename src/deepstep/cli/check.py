"""``deepstep check``: a learner's own code for the lesson, checked function by function."""

from __future__ import annotations

import json

import click

CHECK_EPILOG = (
    "\b\nExit codes:\n"
    "  0    every lesson function found in FILE is right\n"
    "  1    a function is wrong, or FILE could not be read, imported or checked\n"
    "  2    usage error (unknown option or function name)"
)


def _only(ctx, param, value):
    from ..check.cases import FUNCTIONS
    from ..errors import did_you_mean

    for name in value:
        if name not in FUNCTIONS:
            raise click.BadParameter(f"{name!r} is not one of the lesson's functions.{did_you_mean(name, FUNCTIONS)}")
    return tuple(value)


@click.command("check", epilog=CHECK_EPILOG)
@click.argument("path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--only", multiple=True, metavar="NAME", callback=_only,
              help="check only this function (repeatable)")
@click.option("--timeout", type=click.FloatRange(min=1), default=180, show_default=True,
              help="seconds for the whole check")
@click.option("--function-timeout", type=click.FloatRange(min=0.5), default=20, show_default=True,
              help="seconds for each function's checks")
@click.option("--examples", type=click.IntRange(1, 1000), default=25, show_default=True,
              help="random cases per function, after the lesson's own")
def check_command(path, as_json, only, timeout, function_timeout, examples):
    """Check your own lesson functions in FILE (.py or .ipynb), one by one.

    Each of the lesson's functions that FILE defines (linear_forward, relu,
    L_model_backward, ..., and the sequel's mini-batches, momentum, Adam, L2,
    dropout and gradient check, under deepstep.steps' names) is checked in
    isolation against deepstep's reference: the lesson's published test
    cases, then random shapes and values. One line per function:
    'NAME: ok', or 'NAME: wrong — ...' with what differs and the likely cause.
    Your code runs in a separate process with time limits.
    """
    from ..check import check_file

    report = check_file(path, timeout=timeout, function_timeout=function_timeout, examples=examples, only=only)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in report.lines():
            click.echo(line)
        if report.printed:
            click.echo(f"(your code printed {report.printed:,} characters while being checked; not shown)", err=True)
    return 0 if report.ok else 1
