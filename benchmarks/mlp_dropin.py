"""deepstep.sklearn.MLPClassifier (the drop-in) against scikit-learn's MLPClassifier, identical settings.

Each row fits both classes with the same parameters (same solver, batch size,
epochs, initialization from the same ``random_state``) on the same float32 data,
alternating the two a few times, and reports the median fit time, the speed
ratio (scikit-learn's time / deepstep's) and the test accuracies.

    python benchmarks/mlp_dropin.py --threads 1 [--rows digits,W1-defaults,W2,W1] [--repeats 3]

Rows: ``digits`` is scikit-learn's digits (1797 x 64, 10 classes, a fixed 75/25
split) with scikit-learn's default MLP (adam, 100 hidden units, batch 200, up to
200 epochs with its ``tol`` stopping rule). ``W1-defaults`` is benchmarks/bench.py's
W1 data (60000 x 784, 10 classes) with scikit-learn's defaults too, except
``max_iter`` (``--w1-epochs``, default 10: 200 epochs of W1 take minutes per fit).
``W1`` and ``W2`` are the workloads of benchmarks/bench.py (synthetic, learnable),
trained for a fixed number of epochs with SGD, momentum 0.9 (scikit-learn's form,
no Nesterov), lr 0.05, no L2.

The two libraries alternate within each repeat (their order swapped every
repeat). Both wall time and CPU time (``time.process_time``) are kept: on a
shared machine the process's CPU time is the less noisy of the two at one
thread (at two BLAS threads it adds up both threads, so read the wall time).
The needed floor is the time of the matrix products the training needs (see
``_floor_s``), so ``sk / floor`` bounds the speed ratio any implementation of the
same algorithm could reach.
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


def _data(row, folder, w1_epochs=10):
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

    data = row.split("-")[0]
    cfg = bench.WORKLOADS[data]
    if not (folder / f"{data}_X_train.npy").exists():
        bench.make_data(data, cfg, folder)
    load = lambda s: (np.load(folder / f"{data}_X_{s}.npy"), np.load(folder / f"{data}_y_{s}.npy"))
    (Xtr, ytr), (Xte, yte) = load("train"), load("test")
    if row.endswith("-defaults"):                     # scikit-learn's defaults, a fixed epoch budget
        return Xtr, ytr, Xte, yte, {"random_state": 0, "max_iter": w1_epochs}
    params = dict(hidden_layer_sizes=cfg["hidden"], solver="sgd", momentum=cfg["beta"], nesterovs_momentum=False,
                  learning_rate_init=cfg["lr"], alpha=0.0, batch_size=cfg["batch"], max_iter=EPOCHS[row],
                  n_iter_no_change=np.inf, tol=0.0, random_state=0)
    return Xtr, ytr, Xte, yte, params


EPOCHS = {"W1": 2, "W2": 5}


def _floor_s(Xtr, ytr, est):
    """Seconds the matrix products of ``est``'s training need: bench.py's needed FLOP floor.

    Every product of one step, each timed the fastest of the 8 ways BLAS can compute it
    (bench.plan_step), summed over the batches of one epoch, times the epochs trained.
    Measured once, right after the fits (not interleaved with them).
    """
    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    import bench

    dims = [Xtr.shape[1], *[c.shape[1] for c in est.coefs_]]
    m = len(ytr)
    b = min(200, m) if est.batch_size == "auto" else est.batch_size
    sizes = [b] * (m // b) + ([m % b] if m % b else [])
    rng = np.random.default_rng(0)
    per = {k: sum(t for *_, t, _ in bench.plan_step(dims, k, rng)) for k in set(sizes)}
    return est.n_iter_ * sum(per[k] for k in sizes)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="digits,W1-defaults,W2,W1")
    ap.add_argument("--w1-epochs", type=int, default=10, help="max_iter of the W1-defaults row")
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
          "(sk / ds) | CPU s sk / ds | CPU ratio | needed floor s | sk / floor | ds / floor | epochs sk / ds | "
          "test accuracy sk | test accuracy ds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for row in args.rows.split(","):
            Xtr, ytr, Xte, yte, params = _data(row, Path(tmp), args.w1_epochs)
            times = {"sk": [], "ds": []}
            cpu = {"sk": [], "ds": []}
            fitted = {}
            libs = [("sk", SkMLP), ("ds", DsMLP)]
            for r in range(args.repeats):
                for key, cls in (libs if r % 2 == 0 else libs[::-1]):
                    t0, c0 = time.perf_counter(), time.process_time()
                    est = cls(**params).fit(Xtr, ytr)
                    times[key].append(time.perf_counter() - t0)
                    cpu[key].append(time.process_time() - c0)
                    fitted[key] = est
            med = {k: statistics.median(v) for k, v in times.items()}
            mcpu = {k: statistics.median(v) for k, v in cpu.items()}
            acc = {k: float((e.predict(Xte) == yte).mean()) for k, e in fitted.items()}
            floor = _floor_s(Xtr, ytr, fitted["ds"])
            shown = ("scikit-learn defaults" if row == "digits" else
                     f"scikit-learn defaults, max_iter={params['max_iter']}" if row.endswith("-defaults") else
                     f"sgd momentum 0.9, lr 0.05, batch {params['batch_size']}, {params['max_iter']} epochs")
            print(f"| {row} ({len(ytr)} x {Xtr.shape[1]}) | {shown} | {med['sk']:.3f} | {med['ds']:.3f} | "
                  f"{med['sk'] / med['ds']:.2f}x | {mcpu['sk']:.3f} / {mcpu['ds']:.3f} | "
                  f"{mcpu['sk'] / mcpu['ds']:.2f}x | {floor:.3f} | {med['sk'] / floor:.2f} | "
                  f"{med['ds'] / floor:.2f} | {fitted['sk'].n_iter_} / {fitted['ds'].n_iter_} | "
                  f"{acc['sk']:.4f} | {acc['ds']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
