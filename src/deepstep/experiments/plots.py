"""The plots of an experiment: decision boundaries per setting and cost curves.

Used by :func:`deepstep.experiments.run_experiment`; imports matplotlib when a
plot is drawn, and draws on :class:`matplotlib.figure.Figure` directly, never
through pyplot, so the process's backend is left as it is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fs import save_figure


def make_out_dir(out_dir):
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"Cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    return out_dir


def plot_result(result, out_dir, dpi=80):
    """Decision boundaries (one panel per setting, training points) and cost curves.

    Returns the two paths written.
    """
    from matplotlib.figure import Figure

    def subplots(nrows, ncols, figsize):
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, squeeze=False)

    out_dir = make_out_dir(out_dir)
    stem = f"{result.name}_{result.engine}"
    Xtr, Ytr = result.data[0], result.data[1]
    rows = result.rows
    ncols = 3
    nrows = math.ceil(len(rows) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.2 * ncols, 3.9 * nrows))
    pad = 0.25 * (Xtr.max(axis=1) - Xtr.min(axis=1))
    lo, hi = Xtr.min(axis=1) - pad, Xtr.max(axis=1) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.vstack([xx.ravel(), yy.ravel()])
    for ax, row in zip(axes.ravel(), rows):
        zz = row.predict(grid).reshape(xx.shape)
        ax.contourf(xx, yy, zz, levels=[-0.5, 0.5, 1.5], colors=["#f4c7a1", "#a9c8e8"], alpha=0.9)
        ax.scatter(Xtr[0], Xtr[1], c=Ytr.ravel(), cmap="coolwarm_r", s=9, edgecolors="k", linewidths=0.2)
        test = "" if row.test_acc is None else f", test {row.test_acc:.3f}"
        ax.set_title(f"{row.setting}\ntrain {row.train_acc:.3f}{test}", fontsize=10)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(rows):]:
        ax.axis("off")
    fig.suptitle(f"{result.name}: decision boundaries ({result.engine})", fontsize=12)
    fig.tight_layout()
    boundaries = out_dir / f"{stem}_boundaries.png"
    save_figure(fig, boundaries, dpi=dpi)

    groups = [rows]
    if result.name == "optimization" and len(rows) > 3:
        groups = [rows[:3], rows[3:]]
    fig, axes = subplots(1, len(groups), figsize=(5.6 * len(groups), 3.9))
    for ax, group in zip(axes.ravel(), groups):
        for row in group:
            x = np.arange(len(row.costs)) * row.cost_every
            ax.plot(x, row.costs, label=row.setting, lw=1.5)
        finite = [c for r in group for c in r.costs if np.isfinite(c)]
        if finite and max(finite) / max(min(finite), 1e-12) > 50:
            ax.set_yscale("log")
        ax.set_xlabel(result.cost_unit)
        ax.set_ylabel("cost")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result.name}: cost ({result.engine})", fontsize=12)
    fig.tight_layout()
    costs = out_dir / f"{stem}_costs.png"
    save_figure(fig, costs, dpi=dpi)
    return [boundaries, costs]
