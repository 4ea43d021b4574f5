"""The ``deepstep experiment`` command: reproduce a published experiment, print its table, save its plots."""

from __future__ import annotations

import click

from ..experiments import DEFAULT_OUT_DIR, ENGINES, EXPERIMENTS, run_experiment


@click.command("experiment")
@click.argument("name", type=click.Choice(sorted(EXPERIMENTS)))
@click.option("--out-dir", type=click.Path(file_okay=False), default=str(DEFAULT_OUT_DIR), show_default=True,
              help="folder for the decision-boundary and cost plots (created if needed); "
                   "--out-dir docs/img regenerates the committed documentation images")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="regularization: the folder holding data.mat [default: ../shared/data next to the "
                   "repository]")
@click.option("--quick", is_flag=True, help="a smoke run: far fewer iterations")
@click.option("--engine", type=click.Choice(ENGINES), default="model", show_default=True,
              help="model: DeepNetwork with HyperParameters; "
                   "steps: the published training loop written with deepstep.steps")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="model engine: draw the initial weights from the model's generator with this seed "
                   "(default: start from the published initial weights)")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="iterations (initialization, regularization) or epochs (optimization) instead of "
                   "the published 15000 / 30000 / 5000")
@click.option("--no-plots", is_flag=True, help="print the table only")
def experiment_command(name, out_dir, data_dir, quick, engine, seed, iterations, no_plots):
    """Reproduce a published experiment: initialization, regularization or optimization.

    Prints the table (setting, train accuracy, test accuracy, published) and
    saves decision-boundary and cost plots into --out-dir (default
    out/experiments; the committed images in docs/img are regenerated with
    --out-dir docs/img, see docs/experiments.md).
    """
    if seed is not None and engine != "model":
        raise click.UsageError("--seed applies to --engine model only.")
    if data_dir is not None and name != "regularization":
        raise click.UsageError(f"--data-dir applies to the regularization experiment only ({name} "
                               f"generates its data).")
    kw = {} if data_dir is None else {"data_dir": data_dir}
    if iterations is not None:
        kw["epochs" if name == "optimization" else "iterations"] = iterations
    result = run_experiment(name, out_dir, quick=quick, engine=engine,
                            start="course" if seed is None else seed, plot=not no_plots, **kw)
    click.echo(result.table())
    for path in result.plots:
        click.echo(f"saved {path}")
