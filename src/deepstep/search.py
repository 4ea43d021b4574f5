"""Hyperparameter search (scaffolding: being built for the scikit-learn/Dask issue)."""

import click


@click.command("search")
def search_command():
    """Hyperparameter search (not available yet)."""
    raise click.UsageError("deepstep search is not available in this build yet.")
