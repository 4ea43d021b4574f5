"""``deepstep gradcheck``: backpropagation against finite differences over every configuration."""

from __future__ import annotations

import click

from ..errors import DeepstepError
from .runtime import EXIT_CODES_EPILOG


@click.command(epilog=EXIT_CODES_EPILOG)
@click.option("--seed", default=0, show_default=True, help="seeds the random networks and data")
@click.option("-n", "n", type=click.IntRange(min=1), default=1, show_default=True,
              help="random networks per configuration")
@click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=1e-7, show_default=True,
              help="largest acceptable relative difference (> 0)")
@click.option("--verbose", "-v", is_flag=True, help="one line per network checked")
def gradcheck(seed, n, threshold, verbose):
    """Check backpropagation against finite differences (ε = 1e-7, float64).

    Every hidden activation × output (sigmoid, softmax, linear) × L2 off/on,
    on small random networks. Exits 1 if any relative difference exceeds the
    threshold.
    """
    from .. import gradcheck as gc

    if not hasattr(gc, "check_configurations"):
        raise DeepstepError("deepstep.gradcheck.check_configurations is not available in this build.")
    results = gc.check_configurations(seed=seed, n=n)
    worst = max(d for _, d in results)
    for cfg, d in results:
        if verbose or d > threshold:
            layers = ",".join(map(str, cfg["layers"])) or "-"
            click.echo(f"{cfg['activation']:>10s} -> {cfg['output']:<7s} l2={cfg['l2']:<6.3g} "
                       f"layers={layers:<8s} {d:.3e} {'ok' if d <= threshold else 'FAIL'}")
    bad = sum(d > threshold for _, d in results)
    click.echo(f"gradcheck: {len(results)} networks, largest relative difference {worst:.3e} "
               f"({'all below' if not bad else f'{bad} above'} {threshold:g})")
    if bad:
        click.get_current_context().exit(1)
