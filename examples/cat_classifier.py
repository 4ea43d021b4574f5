"""The lesson's application: cat vs non-cat with the lesson's own functions.

Reproduces the published numbers of the lesson's two trainers on the 64x64 RGB
cat images (``train_catvnoncat.h5``, ``test_catvnoncat.h5``), through
:mod:`deepstep.steps` only:

=====================================  ==========  =========  ========
model                                  iterations  train acc  test acc
=====================================  ==========  =========  ========
two_layer_model  (12288, 7, 1)         2500        1.00       0.72
L_layer_model    (12288, 20, 7, 5, 1)  2500        0.986      0.80
=====================================  ==========  =========  ========

Each trainer is preceded by ``np.random.seed(1)``, as in the lesson, so the
weights start from the same draws. The images are flattened to columns,
X of shape (12288, m), and divided by 255. The script prints a table and saves
both cost curves (cost every 100 iterations) to ``<out-dir>/cat_costs.png``.

Expected run time: each trainer takes about 2 minutes on an idle 2-core
machine (about 5 minutes for the whole script), and up to 6 times longer when
the cores are busy (12 minutes was seen on a shared 2-core machine). The script
prints the lesson's ``Cost after iteration i: cost`` every 100 iterations as it
goes (``--quiet`` silences them), so a long run shows its progress.

Usage::

    python examples/cat_classifier.py [DATA_DIR] [--out-dir out/] [--iterations 2500] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from deepstep import steps

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LEARNING_RATE = 0.0075


def load_cat_data(data_dir):
    """The cat images as the lesson prepares them.

    Parameters
    ----------
    data_dir : str or Path
        Folder holding ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``.

    Returns
    -------
    train_x : ndarray of shape (12288, 209), values in [0, 1]
    train_y : ndarray of shape (1, 209), 0/1 labels
    test_x : ndarray of shape (12288, 50)
    test_y : ndarray of shape (1, 50)
    """
    import h5py

    data_dir = Path(data_dir)
    out = []
    for split in ("train", "test"):
        path = data_dir / f"{split}_catvnoncat.h5"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found; pass the folder that holds the cat .h5 files")
        with h5py.File(path, "r") as f:
            x = np.asarray(f[f"{split}_set_x"][:])
            y = np.asarray(f[f"{split}_set_y"][:])
        # (m, 64, 64, 3) -> (12288, m), one example per column, scaled to [0, 1].
        out += [x.reshape(x.shape[0], -1).T / 255.0, y.reshape(1, -1).astype(np.float64)]
    return tuple(out)


def accuracy(X, Y, parameters):
    """Fraction of columns where ``steps.predict`` matches the 0/1 labels Y (1, m)."""
    return float(np.mean(steps.predict(X, parameters) == Y))


SECONDS_PER_1000_ITERATIONS = 50     # either trainer, measured on an idle 2-core machine


def run(data_dir=DEFAULT_DATA, num_iterations=2500, verbose=False):
    """Train both of the lesson's models; returns ``{name: (dims, train_acc, test_acc, costs)}``.

    ``verbose`` prints a line before each trainer (with its expected run time)
    and the lesson's cost every 100 iterations.
    """
    train_x, train_y, test_x, test_y = load_cat_data(data_dir)
    n_x = train_x.shape[0]
    results = {}
    for name, trainer, dims in (
        ("two_layer_model", steps.two_layer_model, (n_x, 7, 1)),
        ("L_layer_model", steps.L_layer_model, (n_x, 20, 7, 5, 1)),
    ):
        if verbose:
            minutes = num_iterations * SECONDS_PER_1000_ITERATIONS / 1000 / 60
            print(f"Training {name} {dims}, {num_iterations} iterations: about {minutes:.1f} min "
                  f"on an idle 2-core machine, longer on a busy one.", flush=True)
        np.random.seed(1)
        parameters, costs = trainer(train_x, train_y, dims, learning_rate=LEARNING_RATE,
                                    num_iterations=num_iterations, print_cost=verbose)
        results[name] = (dims, accuracy(train_x, train_y, parameters),
                         accuracy(test_x, test_y, parameters), costs)
    return results


def plot_costs(results, path):
    """Save the cost curves (one point every 100 iterations) of each model to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, (dims, tr, te, costs) in results.items():
        its = np.arange(len(costs)) * 100
        ax.plot(its, costs, marker="o", markersize=3,
                label=f"{name} {tuple(dims)}: train {tr:.3f}, test {te:.2f}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J (cross-entropy)")
    ax.set_title(f"Cat vs non-cat, gradient descent, learning rate {LEARNING_RATE}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA),
                   help=f"folder with the cat .h5 files (default: {DEFAULT_DATA})")
    p.add_argument("--out-dir", default="out", help="where to save cat_costs.png (default: out/)")
    p.add_argument("--iterations", type=int, default=2500, help="gradient-descent iterations")
    p.add_argument("--quiet", action="store_true", help="do not print the cost every 100 iterations")
    args = p.parse_args(argv)
    try:
        results = run(args.data_dir, args.iterations, verbose=not args.quiet)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # the lesson records the cost every 100 iterations (0, 100, ...), so the last recorded
    # cost is that of iteration 100 * (len(costs) - 1), not of the final iteration printed above
    last = 100 * (len(next(iter(results.values()))[3]) - 1)
    cost_head = f"cost (it. {last})"
    print(f"{'model':<16} {'layer dims':<24} {cost_head:>16} {'train acc':>10} {'test acc':>9}")
    for name, (dims, tr, te, costs) in results.items():
        print(f"{name:<16} {tuple(dims)!s:<24} {costs[-1]:>16.4f} {tr:>10.3f} {te:>9.2f}")
    path = plot_costs(results, Path(args.out_dir) / "cat_costs.png")
    print(f"cost curves saved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
