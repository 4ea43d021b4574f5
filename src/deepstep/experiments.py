"""The published experiments (scaffolding: being built for the hyperparameters issue)."""

import click


@click.command("experiment")
def experiment_command():
    """Reproduce a published experiment (not available yet)."""
    raise click.UsageError("deepstep experiment is not available in this build yet.")
