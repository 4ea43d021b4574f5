"""deepstep.sklearn.MLPClassifier (the drop-in) against scikit-learn's MLPClassifier, identical settings.

Each row fits both classes with the same parameters (same solver, batch size,
epochs, initialization from the same ``random_state``) on the same float32 data,
alternating the two a few times, and reports the median fit time, the speed
ratio (scikit-learn's time / deepstep's) and the test accuracies.

    python benchmarks/mlp_dropin.py --threads 1 [--rows digits,W2,W1] [--repeats 3]

Rows: ``digits`` is scikit-learn's digits (1797 x 64, 10 classes, a fixed 75/25
split) with scikit-learn's default MLP (adam, 100 hidden units, batch 200, up to
200 epochs with its ``tol`` stopping rule). ``W1`` and ``W2`` are the workloads of
benchmarks/bench.py (synthetic, learnable), trained for a fixed number of
epochs with SGD, momentum 0.9 (scikit-learn's form, no Nesterov), lr 0.05, no L2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path


def _data(row, folder):
    import numpy as np

    if row == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        return Xtr, ytr, Xte, yte, {"random_state": 0}
    sys.path.insert(0, str(Path(__file__).parent))
    import bench

    cfg = bench.WORKLOADS[row]
    bench.make_data(row, cfg, folder)
    load = lambda s: (np.load(folder / f"{row}_X_{s}.npy"), np.load(folder / f"{row}_y_{s}.npy"))
    (Xtr, ytr), (Xte, yte) = load("train"), load("test")
    params = dict(hidden_layer_sizes=cfg["hidden"], solver="sgd", momentum=cfg["beta"], nesterovs_momentum=False,
                  learning_rate_init=cfg["lr"], alpha=0.0, batch_size=cfg["batch"], max_iter=EPOCHS[row],
                  n_iter_no_change=np.inf, tol=0.0, random_state=0)
    return Xtr, ytr, Xte, yte, params


EPOCHS = {"W1": 2, "W2": 5}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="digits,W2,W1")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from deepstep.sklearn import MLPClassifier as DsMLP

    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"| row | settings | scikit-learn {sklearn.__version__} fit s | deepstep fit s | speed ratio "
          "(sk / ds) | epochs sk / ds | test accuracy sk | test accuracy ds |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for row in args.rows.split(","):
            Xtr, ytr, Xte, yte, params = _data(row, Path(tmp))
            times = {"sk": [], "ds": []}
            fitted = {}
            for _ in range(args.repeats):
                for key, cls in (("sk", SkMLP), ("ds", DsMLP)):
                    t0 = time.perf_counter()
                    est = cls(**params).fit(Xtr, ytr)
                    times[key].append(time.perf_counter() - t0)
                    fitted[key] = est
            med = {k: statistics.median(v) for k, v in times.items()}
            acc = {k: float((e.predict(Xte) == yte).mean()) for k, e in fitted.items()}
            shown = "scikit-learn defaults" if row == "digits" else (
                f"sgd momentum 0.9, lr 0.05, batch {params['batch_size']}, {params['max_iter']} epochs")
            print(f"| {row} ({len(ytr)} x {Xtr.shape[1]}) | {shown} | {med['sk']:.3f} | {med['ds']:.3f} | "
                  f"{med['sk'] / med['ds']:.2f}x | {fitted['sk'].n_iter_} / {fitted['ds'].n_iter_} | "
                  f"{acc['sk']:.4f} | {acc['ds']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
