#!/usr/bin/env python
"""Side-by-side benchmark: deepstep vs scikit-learn ``MLPClassifier`` vs PyTorch (CPU, eager).

Not part of the test suite. Run from the repository root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench.py

(the ``env -u`` clears the kernel overrides some machines set for tests, so that
OpenBLAS picks its kernel for this CPU; the report names the kernel that ran).

Workloads (synthetic, learnable: labels from a fixed random "teacher" network)

* **W1** MNIST-shaped: 60000 x 784, 784-256-128-10, relu, softmax, mini-batch 256,
  SGD with momentum 0.9, lr 0.05 (PyTorch/scikit-learn convention; see below).
* **W2** small and overhead-bound: 20000 x 64, 64-32-16-10, mini-batch 32, same optimizer.
* **W3** the lesson's application: 209 x 12288, 12288-20-7-5-1, relu, sigmoid, full-batch
  gradient descent, lr 0.0075 (time per iteration).
* **W3L**: W3 timed inside one long call (100 iterations per call).
* **W4** GEMM-bound, CIFAR-shaped: 3072-1024-1024-10, batch 128, Adam (lr 0.001),
  10000 examples (the issue's 50000 would take minutes per epoch here; the per-step
  shapes, and so the ratio to the floor, are the same).
* **predict**: ``predict_proba`` on W1's 10000-example test set, after W1's training.
* **dropin-digits**, **dropin-W1**: ``deepstep.sklearn.MLPClassifier`` (the drop-in)
  against scikit-learn's ``MLPClassifier``, both at scikit-learn's default settings
  (adam, 100 relu units, batch 200, ``tol`` stopping, ``random_state=0``): digits
  (1347 x 64 after a fixed 75/25 split) with every default, W1's data with
  ``max_iter=3`` (200 epochs of W1 would take minutes per fit). Each round is one
  whole ``fit`` per library, timed from outside and divided by its epochs (s/epoch).

Method

* Every library runs in its own worker process (so that its peak memory,
  ``VmHWM``, is its own); the parent drives the workers one step at a time,
  round-robin, rotating the order every round, so that the machine's noise
  falls on all of them alike. The same data (``.npy`` files written once), the
  same architecture, optimizer and hyperparameters, float32 throughout.
* One warm-up epoch (W3: one warm-up block), then the median of ``--epochs``
  timed epochs (W3: blocks of ``--block`` iterations).
* deepstep: ``DeepNetwork.fit(X_rows.T, y, epochs=1, warm_start=True)`` with
  ``preprocess='none'``, ``dtype='float32'``, ``init='he'``; X is the lesson's layout
  (n_x, m) as a transposed *view* of the (m, n_x) C-contiguous rows. Each ``fit``
  call is timed from outside, so its per-call work (input checks, target encoding,
  the loop's set-up) counts: one call per epoch (W1, W2, W4); W3 one call of 10
  iterations, W3L one call of 100 (``--block`` overrides both).
* scikit-learn: ``partial_fit`` once per epoch (W1, W2: momentum is kept across
  calls) with ``solver='sgd', nesterovs_momentum=False, alpha=0, shuffle=True``;
  the whole call is timed, so its input validation is in (measured separately and
  printed as ``validate``). W3: ``fit(warm_start=True, max_iter=block)``, the call
  timed and divided by the block.
* PyTorch: ``nn.Sequential`` of ``Linear``/``ReLU`` with He-normal weights, zero
  biases, ``CrossEntropyLoss`` / ``BCEWithLogitsLoss``, ``optim.SGD``. Each epoch
  draws a permutation, gathers the whole shuffled tensor once and slices batches
  from it as views (its best case); all of that is timed.
* Momentum: deepstep's is the exponentially weighted form (v = βv + (1-β)g,
  W -= αv); PyTorch's and scikit-learn's (v = βv + g, W -= αv) equal it with
  α_deepstep = α / (1 - β). So deepstep gets lr 0.5 where the others get 0.05.
* Initialization: deepstep and PyTorch use He-normal; scikit-learn's MLP has no
  init option and uses its Glorot-uniform. Accuracy columns check that all three
  learn the same thing.
* FLOP floor: the matrix products training needs (forward 2·n[l]·n[l-1] per
  example per layer, the same for dW, and dA for every layer but the first),
  divided by this machine's float32 rate measured at the workload's exact
  shapes (each product timed with NumPy's BLAS in all four operand layouts,
  the fastest kept), right before the workload runs.

Outputs ``results.json``, ``results.md`` and ``results.png`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

LIBS = ("deepstep", "sklearn", "torch", "deepstep_ref")      # "floor" is not a library
LABEL = {"deepstep": "deepstep", "sklearn": "scikit-learn", "torch": "PyTorch",
         "deepstep_ref": "deepstep (ref)", "dropin": "drop-in", "dropin_ref": "drop-in (ref)"}
REF_SRC = [None]      # --ref-src: a second deepstep source tree, run as "deepstep (ref)"

WORKLOADS = {
    "W1": {"m": 60000, "m_test": 10000, "n_x": 784, "hidden": (256, 128), "k": 10, "batch": 256,
           "optimizer": "momentum", "beta": 0.9, "lr": 0.05, "teacher": 64, "latent": 32},
    "W2": {"m": 20000, "m_test": 5000, "n_x": 64, "hidden": (32, 16), "k": 10, "batch": 32,
           "optimizer": "momentum", "beta": 0.9, "lr": 0.05, "teacher": 32, "latent": 16},
    "W3": {"m": 209, "m_test": 50, "n_x": 12288, "hidden": (20, 7, 5), "k": 1, "batch": "full",
           "optimizer": "gd", "beta": 0.0, "lr": 0.0075, "teacher": 16, "latent": 8, "block": 10},
    # W3 again, timed inside one long call (deepstep: one fit of 100 iterations)
    "W3L": {"m": 209, "m_test": 50, "n_x": 12288, "hidden": (20, 7, 5), "k": 1, "batch": "full",
            "optimizer": "gd", "beta": 0.0, "lr": 0.0075, "teacher": 16, "latent": 8, "block": 100,
            "data": "W3"},
    # GEMM-bound, CIFAR-shaped; m is 10000 rather than 50000 to fit this machine's time
    # (the per-step shapes, and so the ratio to the floor, are the same).
    "W4": {"m": 10000, "m_test": 2000, "n_x": 3072, "hidden": (1024, 1024), "k": 10, "batch": 128,
           "optimizer": "adam", "beta": 0.9, "lr": 0.001, "teacher": 64, "latent": 32},
    # The scikit-learn drop-in against scikit-learn's MLP, both at scikit-learn's defaults
    # (see DefaultsMLPRunner); "batch" and "hidden" are those defaults, for the floor.
    "dropin-digits": {"m": 1347, "m_test": 450, "n_x": 64, "hidden": (100,), "k": 10, "batch": 200,
                      "dropin": True, "data": "digits"},
    "dropin-W1": {"m": 60000, "m_test": 10000, "n_x": 784, "hidden": (100,), "k": 10, "batch": 200,
                  "dropin": True, "data": "W1", "max_iter": 3},
}
DROPIN_LIBS = ("dropin", "sklearn")


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def make_data(name, cfg, folder, seed=0):
    """X (m, n_x) float32 C-contiguous rows and integer labels from a random teacher.

    Like images, the inputs have a low intrinsic dimension: X = Z B + noise with
    Z ~ N(0, I_r), and the label is a random relu network's argmax over Z.
    """
    rng = np.random.default_rng([seed, int(name[1:2])])
    n, r, h, k = cfg["n_x"], cfg["latent"], cfg["teacher"], max(cfg["k"], 2)
    B = rng.standard_normal((r, n), dtype=np.float32) / np.float32(np.sqrt(r))
    T1 = rng.standard_normal((r, h), dtype=np.float32) / np.float32(np.sqrt(r))
    T2 = rng.standard_normal((h, k), dtype=np.float32)
    Zc = rng.standard_normal((4096, r), dtype=np.float32)          # calibration: every
    Lc = np.maximum(Zc @ T1, 0) @ T2                               # class about as likely
    mu, sd = Lc.mean(0), Lc.std(0)
    for split, m in (("train", cfg["m"]), ("test", cfg["m_test"])):
        X = rng.standard_normal((m, n), dtype=np.float32)
        X *= np.float32(0.5)
        y = np.empty(m, np.int64)
        for s in range(0, m, 8192):
            Z = rng.standard_normal((min(8192, m - s), r), dtype=np.float32)
            X[s:s + 8192] += Z @ B
            logits = (np.maximum(Z @ T1, 0) @ T2 - mu) / sd
            y[s:s + 8192] = logits.argmax(1)
        np.save(folder / f"{name}_X_{split}.npy", X)
        np.save(folder / f"{name}_y_{split}.npy", y)
        del X


def make_digits(folder):
    """scikit-learn's digits / 16 in float32, a fixed stratified 75/25 split (as mlp_dropin.py)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    parts = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    for (split, Xs), ys in zip((("train", parts[0]), ("test", parts[1])), (parts[2], parts[3])):
        np.save(folder / f"digits_X_{split}.npy", np.ascontiguousarray(Xs))
        np.save(folder / f"digits_y_{split}.npy", ys)


def step_products(dims, b):
    """(M, N, K) of each matrix product of one training step on a batch of b."""
    L = len(dims) - 1
    prods = []
    for l in range(1, L + 1):
        prods.append(("fwd", dims[l], b, dims[l - 1]))       # W[l] A[l-1]
        prods.append(("dW", dims[l], dims[l - 1], b))        # dZ[l] A[l-1]^T
        if l > 1:
            prods.append(("dA", dims[l - 1], b, dims[l]))    # W[l]^T dZ[l]
    return prods


def _time_call(fn, target=0.02, repeats=5):
    """Median seconds per call over ``repeats`` runs of about ``target`` seconds each."""
    fn()
    t = time.perf_counter()
    fn()
    n = max(1, int(target / max(time.perf_counter() - t, 1e-7)))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t) / n)
    return float(np.median(samples))


def plan_step(dims, b, rng, target=0.02, repeats=5):
    """The products of one training step on a batch of b, each the fastest way.

    Each product C = A B is timed all 8 ways BLAS can be asked for it (A and B
    each contiguous or a transposed view, and C itself or C^T = B^T A^T), and the
    fastest kept. The operands are shared between the products as in training
    (one batch X, one W[l] per layer, each held in both memory orders), so the
    products reuse what is in cache as a real step does.
    Returns ``[(kind, M, N, K, seconds, fn), ...]``.
    """
    f32 = np.float32
    L = len(dims) - 1
    def both(a):                                          # the same matrix, C and F order
        return a, np.ascontiguousarray(a.T).T

    W = [both(rng.standard_normal((dims[l], dims[l - 1]), dtype=f32)) for l in range(1, L + 1)]
    A = [both(rng.standard_normal((dims[l], b), dtype=f32)) for l in range(L)]    # A[0] = X
    dZ = [both(rng.standard_normal((dims[l], b), dtype=f32)) for l in range(1, L + 1)]
    plan = []
    for l in range(1, L + 1):
        n, p = dims[l], dims[l - 1]
        prods = [("fwd", W[l - 1], A[l - 1], n, b, p),                              # W A_prev
                 ("dW", dZ[l - 1], tuple(x.T for x in A[l - 1]), n, p, b)]          # dZ A_prev^T
        if l > 1:
            prods.append(("dA", tuple(x.T for x in W[l - 1]), dZ[l - 1], p, b, n))  # W^T dZ
        for kind, As, Bs, M, N, K in prods:
            C, CT = np.empty((M, N), f32), np.empty((N, M), f32)
            best, best_fn = np.inf, None
            for a in As:
                for bb in Bs:
                    for fn in (lambda a=a, bb=bb, C=C: np.matmul(a, bb, out=C),
                               lambda a=a, bb=bb, CT=CT: np.matmul(bb.T, a.T, out=CT)):
                        t = _time_call(fn, target, repeats)
                        if t < best:
                            best, best_fn = t, fn
            plan.append((kind, M, N, K, best, best_fn))
    return plan


def matmul_rate(dims, b, rng):
    """This machine's float32 GFLOP/s over the products of one step (see plan_step)."""
    plan = plan_step(dims, b, rng)
    flops = sum(2 * M * N * K for _, M, N, K, _, _ in plan)
    rows = [(kind, M, N, K, 2 * M * N * K / t / 1e9) for kind, M, N, K, t, _ in plan]
    return flops / sum(t for *_, t, _ in plan) / 1e9, rows


def needed_flops(dims, m):
    """Floating-point work of the products one pass over m examples needs."""
    L = len(dims) - 1
    per_example = sum(2 * dims[l] * dims[l - 1] for l in range(1, L + 1)) * 2
    per_example += sum(2 * dims[l] * dims[l - 1] for l in range(2, L + 1))
    return per_example * m


# --------------------------------------------------------------------------------------
# workers
# --------------------------------------------------------------------------------------
def blas_info():
    from threadpoolctl import threadpool_info
    out = []
    for d in threadpool_info():
        out.append({k: d.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                         "architecture", "num_threads")})
    return out


def rss_mb():
    """Peak resident memory of this process, MB.

    VmHWM rather than ``ru_maxrss``: the latter can include the parent's
    memory from before ``exec`` (fork), which would charge the driver's data to
    every worker.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class DeepstepRunner:
    def __init__(self, name, cfg, data):
        import deepstep
        from deepstep.training import Callback

        self.info = {"version": deepstep.__version__}
        try:                                          # the compiled kernels (absent in older code)
            from deepstep import fused
            self.info["fused"] = fused.why_not() or "on"
        except ImportError:
            self.info["fused"] = "not in this version"
        Xr, y, self.Xte, self.yte = data
        self.X, self.y = Xr.T, y                      # seed layout: a view of the rows
        lr = cfg["lr"] / (1 - cfg["beta"]) if cfg["optimizer"] == "momentum" else cfg["lr"]
        self.full = cfg["batch"] == "full"
        self.net = deepstep.DeepNetwork(
            layers=cfg["hidden"], activation="relu", optimizer=cfg["optimizer"],
            momentum=cfg["beta"] if cfg["beta"] else 0.9, learning_rate=lr, beta2=0.999, epsilon=1e-8,
            batch_size=cfg["batch"], preprocess="none", dtype="float32", init="he",
            seed=0, epochs=1, shuffle=cfg["batch"] != "full")
        runner = self

        class Timer(Callback):
            def on_train_begin(self, state):
                runner.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs):
                t = time.perf_counter()
                runner.times.append(t - runner.t0)
                runner.t0 = t

        self.timer = Timer()

    def train(self, n):
        """Each ``fit`` call timed from outside, so its per-call work counts.

        Mini-batch: one call per epoch. Full batch (W3): one call of n iterations.
        """
        if self.full:
            t = time.perf_counter()
            self.net.fit(self.X, self.y, epochs=n, warm_start=True)
            return [(time.perf_counter() - t) / n] * n
        times = []
        for _ in range(n):
            t = time.perf_counter()
            self.net.fit(self.X, self.y, epochs=1, warm_start=True)
            times.append(time.perf_counter() - t)
        return times

    def predict_proba(self, Xte_rows):
        return self.net.predict_proba(Xte_rows.T).T

    def accuracy(self):
        return float(np.mean(self.net.predict(self.Xte.T).ravel() == self.yte))


class SklearnRunner:
    def __init__(self, name, cfg, data):
        import sklearn
        from sklearn.neural_network import MLPClassifier

        self.info = {"version": sklearn.__version__}
        self.X, self.y, self.Xte, self.yte = data
        self.full = cfg["batch"] == "full"
        self.clf = MLPClassifier(
            hidden_layer_sizes=cfg["hidden"], activation="relu",
            solver="adam" if cfg["optimizer"] == "adam" else "sgd", beta_1=0.9, beta_2=0.999, epsilon=1e-8,
            learning_rate="constant", learning_rate_init=cfg["lr"], momentum=cfg["beta"],
            nesterovs_momentum=False, alpha=0.0,
            batch_size=self.X.shape[0] if self.full else cfg["batch"],
            max_iter=1, shuffle=not self.full, random_state=np.random.RandomState(0),
            tol=0.0, n_iter_no_change=10**9, warm_start=True)
        self.classes = np.unique(self.y)
        warnings.simplefilter("ignore")
        from sklearn.utils import check_array
        t = time.perf_counter()
        check_array(self.X, dtype=[np.float64, np.float32])
        self.info["validate_s"] = time.perf_counter() - t

    def train(self, n):
        if self.full:                         # n iterations of batch GD in one call
            self.clf.set_params(max_iter=n)
            t = time.perf_counter()
            self.clf.fit(self.X, self.y)
            return [(time.perf_counter() - t) / n] * n
        times = []
        for _ in range(n):                    # one epoch per call; momentum carried over
            t = time.perf_counter()
            self.clf.partial_fit(self.X, self.y, classes=self.classes)
            times.append(time.perf_counter() - t)
        return times

    def predict_proba(self, Xte_rows):
        return self.clf.predict_proba(Xte_rows)

    def accuracy(self):
        return float(np.mean(self.clf.predict(self.Xte) == self.yte))


class TorchRunner:
    def __init__(self, name, cfg, data):
        import torch
        from torch import nn

        self.torch = torch
        self.info = {"version": torch.__version__, "num_threads": torch.get_num_threads(),
                     "mkldnn": torch.backends.mkldnn.is_available(),
                     "blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0]
                     if "BLAS_INFO=" in torch.__config__.show() else "?"}
        torch.manual_seed(0)
        Xr, y, Xte, yte = data
        self.k = cfg["k"]
        dims = [cfg["n_x"], *cfg["hidden"], cfg["k"]]
        layers = []
        for l in range(1, len(dims)):
            lin = nn.Linear(dims[l - 1], dims[l])
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.ReLU()]
        self.model = nn.Sequential(*layers[:-1])
        self.X = torch.from_numpy(Xr)
        if self.k == 1:
            self.y = torch.from_numpy(y.astype(np.float32)).reshape(-1, 1)
            self.loss = nn.BCEWithLogitsLoss()
        else:
            self.y = torch.from_numpy(y)
            self.loss = nn.CrossEntropyLoss()
        self.Xte, self.yte = Xte, yte
        self.full = cfg["batch"] == "full"
        self.bs = self.X.shape[0] if self.full else cfg["batch"]
        if cfg["optimizer"] == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg["lr"], momentum=cfg["beta"])
        self.gen = torch.Generator().manual_seed(0)

    def _step(self, xb, yb):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(self.model(xb), yb)
        loss.backward()
        self.opt.step()

    def train(self, n):
        times = []
        m, bs = self.X.shape[0], self.bs
        for _ in range(n):
            t = time.perf_counter()
            if self.full:
                self._step(self.X, self.y)
            else:
                perm = self.torch.randperm(m, generator=self.gen)
                Xs, ys = self.X[perm], self.y[perm]           # pre-shuffled, sliced as views
                for s in range(0, m, bs):
                    self._step(Xs[s:s + bs], ys[s:s + bs])
                del Xs, ys
            times.append(time.perf_counter() - t)
        return times

    def predict_proba(self, Xte_rows):
        torch = self.torch
        with torch.inference_mode():
            Z = self.model(torch.from_numpy(Xte_rows))
            P = torch.sigmoid(Z) if self.k == 1 else torch.softmax(Z, dim=1)
        return P.numpy()

    def accuracy(self):
        P = self.predict_proba(self.Xte)
        pred = P.argmax(1) if P.shape[1] > 1 else (P[:, 0] > 0.5)
        return float(np.mean(pred == self.yte))


class FloorRunner:
    """Only the matrix products training needs, each the fastest way BLAS does it.

    Run interleaved with the libraries, so that its time per epoch -- the needed
    FLOP floor -- is measured under the same machine noise as theirs.
    """

    def __init__(self, name, cfg, data):
        self.info = {"version": "-"}
        self.Xte = None
        m = data[0].shape[0]
        dims = [cfg["n_x"], *cfg["hidden"], cfg["k"]]
        b = m if cfg["batch"] == "full" else cfg["batch"]
        sizes = [b] * (m // b) + ([m % b] if m % b else [])
        rng = np.random.default_rng(2)
        plans = {k: [fn for *_, fn in plan_step(dims, k, rng, 0.005, 3)] for k in set(sizes)}
        self.steps = [plans[k] for k in sizes]

    def train(self, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            for plan in self.steps:
                for fn in plan:
                    fn()
            times.append(time.perf_counter() - t)
        return times

    def predict_proba(self, Xte_rows):
        return None

    def accuracy(self):
        return float("nan")


class DefaultsMLPRunner:
    """scikit-learn's ``MLPClassifier`` or deepstep's drop-in, at scikit-learn's defaults.

    Each round is one whole ``fit`` (``random_state=0``; the workload's ``max_iter``
    if it sets one), timed from outside -- input validation, initialization and the
    stopping rule included -- and divided by its epochs (``n_iter_``).
    """

    def __init__(self, which, cfg, data):
        if which == "sklearn":
            import sklearn as pkg
            from sklearn.neural_network import MLPClassifier
        else:
            import deepstep as pkg
            from deepstep.sklearn import MLPClassifier
        self.info = {"version": pkg.__version__}
        self.cls = MLPClassifier
        self.X, self.y, self.Xte, self.yte = data
        self.params = {"random_state": 0, **({"max_iter": cfg["max_iter"]} if "max_iter" in cfg else {})}
        self.epochs = None
        warnings.simplefilter("ignore")           # ConvergenceWarning at a fixed max_iter

    def train(self, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            self.est = self.cls(**self.params).fit(self.X, self.y)
            times.append((time.perf_counter() - t) / self.est.n_iter_)
            self.epochs = int(self.est.n_iter_)
        return times

    def predict_proba(self, Xte_rows):
        return self.est.predict_proba(Xte_rows)

    def accuracy(self):
        return float(np.mean(self.est.predict(self.Xte) == self.yte))


RUNNERS = {"floor": FloorRunner, "deepstep": DeepstepRunner, "sklearn": SklearnRunner, "torch": TorchRunner,
           "deepstep_ref": DeepstepRunner}


def worker(lib, name, folder):
    """Serve commands (JSON lines on stdin) for one library on one workload."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                                   # stray prints go to stderr
    folder = Path(folder)
    cfg = WORKLOADS[name]
    if lib.endswith("_ref"):
        sys.path.insert(0, os.environ["DEEPSTEP_REF_SRC"])
    rss_import = None
    runner = None
    for line in sys.stdin:
        cmd = json.loads(line)
        c = cmd["cmd"]
        if c == "setup":
            import numpy  # noqa: F401
            if lib == "floor":
                pass
            elif lib.startswith(("deepstep", "dropin")):
                import deepstep
                if lib.endswith("_ref"):
                    assert deepstep.__file__.startswith(os.environ["DEEPSTEP_REF_SRC"])
            elif lib == "sklearn":
                import sklearn.neural_network  # noqa: F401
            else:
                import torch  # noqa: F401
            rss_import = rss_mb()
            data = tuple(np.load(folder / f"{cfg.get('data', name)}_{a}_{s}.npy")
                         for s in ("train", "test") for a in ("X", "y"))
            if cfg.get("dropin") and lib != "floor":
                runner = DefaultsMLPRunner("sklearn" if lib == "sklearn" else "dropin", cfg, data)
            else:
                runner = RUNNERS[lib](name, cfg, data)
            del data
            reply = {"info": runner.info, "blas": blas_info()}
        elif c == "train":
            reply = {"times": runner.train(cmd["n"])}
        elif c == "predict":
            times = []
            for _ in range(cmd["n"]):
                t = time.perf_counter()
                runner.predict_proba(runner.Xte)
                times.append(time.perf_counter() - t)
            reply = {"times": times}
        elif c == "accuracy":
            reply = {"accuracy": runner.accuracy(), "epochs": getattr(runner, "epochs", None)}
        elif c == "memory":
            reply = {"peak_mb": rss_mb(), "import_mb": rss_import}
        elif c == "quit":
            break
        else:
            reply = {"error": f"unknown command {c}"}
        proto.write(json.dumps(reply) + "\n")


THREADS = [None]      # --threads: BLAS/OpenMP threads of every worker (None: libraries' default)


class Worker:
    def __init__(self, lib, name, folder):
        self.lib = lib
        env = dict(os.environ)
        if REF_SRC[0]:
            env["DEEPSTEP_REF_SRC"] = REF_SRC[0]
        if THREADS[0]:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(THREADS[0])
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", lib, name,
                                   str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1, env=env)

    def ask(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.lib} worker died (exit {self.p.wait()})")
        return json.loads(line)

    def close(self):
        try:
            self.p.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=60)


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------
SETTLE = [0.0]        # --settle: seconds of idle machine before each worker's turn


def interleave(workers, rounds, **cmd):
    """Round-robin, rotating the order each round; returns {lib: [samples]}.

    Before each turn the driver waits ``SETTLE`` seconds. With several BLAS/OpenMP
    threads, the worker that just finished leaves its threads spinning on the cores
    for a while (OpenBLAS about 0.1 s, Intel OpenMP 0.2 s), and without the pause the
    next worker's threads would compete with them: an artefact of interleaving
    processes that no user sees, which round 2 read as "two-thread BLAS under load".
    """
    out = {w.lib: [] for w in workers}
    for r in range(rounds):
        order = workers[r % len(workers):] + workers[:r % len(workers)]
        for w in order:
            if SETTLE[0]:
                time.sleep(SETTLE[0])
            out[w.lib] += w.ask(**cmd)["times"]
    return out


def run_workload(name, cfg, folder, args, log):
    dims = [cfg["n_x"], *cfg["hidden"], cfg["k"]]
    b = cfg["m"] if cfg["batch"] == "full" else cfg["batch"]
    rate, prod_rows = matmul_rate(dims, b, np.random.default_rng(1))
    flops = needed_flops(dims, cfg["m"])
    floor = flops / (rate * 1e9)
    steps = 1 if cfg["batch"] == "full" else -(-cfg["m"] // cfg["batch"])
    log(f"\n== {name}: dims {dims}, batch {b}, {steps} steps/epoch; matmul rate {rate:.1f} GFLOP/s, "
        f"needed {flops / 1e9:.3f} GFLOP/epoch, floor {floor * 1e3:.2f} ms/epoch")
    libs = args.libs
    if cfg.get("dropin"):       # the drop-in and scikit-learn's MLP (and the drop-in of --ref-src)
        libs = [*DROPIN_LIBS, *(["dropin_ref"] if "deepstep_ref" in args.libs else [])]
    workers = [Worker(lib, name, folder) for lib in [*libs, "floor"]]
    res = {"name": name, "dims": dims, "batch": b, "steps": steps, "rate_gflops": rate, "products": prod_rows,
           "needed_gflop": flops / 1e9, "floor_s": floor, "libs": {}}
    try:
        for w in workers:
            r = w.ask(cmd="setup")
            res["libs"][w.lib] = {"info": r["info"], "blas": r["blas"]}
        full = cfg["batch"] == "full"
        n = (args.block or cfg.get("block", 10)) if full else 1
        interleave(workers, 1, cmd="train", n=n)                       # warm-up
        times = interleave(workers, args.epochs, cmd="train", n=n)
        for w in workers:
            t = times[w.lib]
            if full:   # per-iteration samples -> block means for a like-for-like median
                t = [float(np.mean(t[i:i + n])) for i in range(0, len(t), n)]
            R = res["libs"][w.lib]
            R["epoch_s"] = float(np.median(t))
            R["epoch_range"] = [float(min(t)), float(max(t))]
            R["epoch_min_s"] = float(min(t))
            R["step_s"] = R["epoch_s"] / steps
            reply = w.ask(cmd="accuracy")
            R["accuracy"] = reply["accuracy"]
            if reply.get("epochs") is not None:
                R["epochs"] = reply["epochs"]
        if name == "W1" and "predict" in args.workloads:
            ptimes = interleave(workers[:-1], args.epochs, cmd="predict", n=1)
            for w in workers[:-1]:
                res["libs"][w.lib]["predict_s"] = float(np.median(ptimes[w.lib]))
        for w in workers:
            res["libs"][w.lib].update(w.ask(cmd="memory"))
    finally:
        for w in workers:
            w.close()
    res["floor_run_s"] = res["libs"]["floor"]["epoch_s"]
    res["floor_run_range"] = res["libs"].pop("floor")["epoch_range"]
    log(f"  needed floor  {res['floor_run_s'] * 1e3:9.2f} ms/epoch (the products alone, interleaved)")
    for lib in libs:
        R = res["libs"][lib]
        msg = (f"  {LABEL[lib]:13s} {R['epoch_s'] * 1e3:9.2f} ms/epoch  {R['step_s'] * 1e6:9.1f} us/step"
               f"  x{R['epoch_s'] / res['floor_run_s']:5.2f} floor  acc {R['accuracy']:.4f}"
               f"  peak {R['peak_mb']:.0f} MB")
        if "predict_s" in R:
            msg += f"  predict {R['predict_s'] * 1e3:.1f} ms"
        log(msg)
    return res


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}


def _blas_line(blas):
    rows = [f"{d['internal_api']} {d['version']} ({d.get('architecture')} kernel, "
            f"{d['num_threads']} threads)" for d in blas if d["user_api"] == "blas"]
    return "; ".join(dict.fromkeys(rows))


UNITS = {"W1": ("s/epoch", 1.0, False), "W2": ("µs/step", 1e6, True),
         "W3": ("ms/iteration, fit calls of 10", 1e3, False),
         "W3L": ("ms/iteration, one fit of 100", 1e3, False), "W4": ("s/epoch", 1.0, False)}


def _value(r, lib, stat="epoch_s"):
    """Time of ``lib`` on workload result ``r`` in the workload's unit."""
    _, scale, per_step = UNITS[r["name"]]
    return r["libs"][lib][stat] * scale / (r["steps"] if per_step else 1)


def report_dropin(results):
    """The drop-in's table: against scikit-learn's MLP, both at scikit-learn's defaults."""
    if not results:
        return []
    ref = any("dropin_ref" in r["libs"] for r in results.values())
    L = ["", "The scikit-learn drop-in (`deepstep.sklearn.MLPClassifier`) against scikit-learn's "
         "`MLPClassifier`, both at scikit-learn's defaults (whole `fit` calls, ms/epoch = fit time / "
         "n_iter_; median, best in brackets):", "",
         "| workload | scikit-learn | drop-in |" + (" drop-in (ref) |" if ref else "") +
         " needed floor | scikit-learn / floor | drop-in / floor | scikit-learn / drop-in | "
         "epochs (sk / drop-in) | accuracy (sk / drop-in) |",
         "|---" * (9 + ref) + "|"]
    for name, r in results.items():
        R = r["libs"]
        cells = [f"{R[x]['epoch_s'] * 1e3:.3g} ({R[x]['epoch_min_s'] * 1e3:.3g})"
                 for x in ("sklearn", "dropin", *(["dropin_ref"] if ref else []))]
        sk, ds, fl = R["sklearn"]["epoch_s"], R["dropin"]["epoch_s"], r["floor_run_s"]
        L.append(f"| {name} | " + " | ".join(cells) + f" | {fl * 1e3:.3g} | {sk / fl:.2f}× | {ds / fl:.2f}× | "
                 f"**{sk / ds:.2f}×** | {R['sklearn'].get('epochs')} / {R['dropin'].get('epochs')} | "
                 f"{R['sklearn']['accuracy']:.4f} / {R['dropin']['accuracy']:.4f} |")
    return L


def report(results, meta):
    """Markdown tables."""
    dropin = {k: v for k, v in results.items() if WORKLOADS[k].get("dropin")}
    results = {k: v for k, v in results.items() if k not in dropin}
    if not results:                                 # the drop-in workloads alone
        m = meta["machine"]
        return "\n".join(report_dropin(dropin)[1:] + [
            "", f"Machine: {m['cpu']}, {m['cores']} cores; NumPy {m['numpy']}; "
                f"BLAS {_blas_line(meta['blas_parent'])} in the parent; threads per worker: "
                f"{meta['threads'] or 'each library default'}; load average at start "
                f"{meta['loadavg_start'][0]:.1f}, at end {meta['loadavg_end'][0]:.1f}; {meta['epochs']} timed "
                f"fits per library after one warm-up, interleaved, order rotated each round; "
                f"command: `{meta['command']}`"])
    L = []
    libs = [x for x in LIBS if any(x in r["libs"] for r in results.values())]
    peers = [x for x in ("sklearn", "torch", "deepstep_ref") if x in libs]
    L.append("Median of the timed epochs (best in brackets); ratios are of medians.")
    L.append("")
    L.append("| workload | unit | " + " | ".join(LABEL[x] for x in libs) +
             " | needed floor | deepstep / floor | " +
             " | ".join(f"{LABEL[x]} / deepstep" for x in peers) + " |")
    L.append("|---" * (4 + len(libs) + len(peers)) + "|")
    for name, r in results.items():
        unit, scale, per_step = UNITS[name]
        floor = r["floor_run_s"] * scale / (r["steps"] if per_step else 1)
        ds = _value(r, "deepstep")
        cells = [f"{_value(r, x):.3g} ({_value(r, x, 'epoch_min_s'):.3g})" for x in libs]
        ratios = [f"{_value(r, x) / ds:.2f}×" for x in peers]
        L.append(f"| {name} | {unit} | " + " | ".join(cells) + f" | {floor:.3g} | "
                 f"{ds / floor:.2f}× | "
                 + " | ".join(ratios) + " |")
    if "W1" in results and "predict_s" in results["W1"]["libs"].get("deepstep", {}):
        r = results["W1"]["libs"]
        ds = r["deepstep"]["predict_s"]
        cells = [f"{r[x]['predict_s'] * 1e3:.3g}" for x in libs]
        L.append("| predict_proba, 10000 rows | ms | " + " | ".join(cells) + " | – | – | " +
                 " | ".join(f"{r[x]['predict_s'] / ds:.2f}×" for x in peers) + " |")
    L.append("")
    L.append("Range of the timed samples (min–max):")
    L.append("")
    for name, r in results.items():
        unit, scale, per_step = UNITS[name]
        div = r["steps"] if per_step else 1
        parts = [f"{LABEL[x]} {r['libs'][x]['epoch_range'][0] / div * scale:.3g}–"
                 f"{r['libs'][x]['epoch_range'][1] / div * scale:.3g}" for x in libs]
        L.append(f"- {name} ({unit}): " + ", ".join(parts))
    L.append("")
    L.append("| workload | " + " | ".join(f"{LABEL[x]} peak MB" for x in libs) + " | " +
             " | ".join(f"{LABEL[x]} accuracy" for x in libs) + " |")
    L.append("|---" * (1 + 2 * len(libs)) + "|")
    for name, r in results.items():
        mem = [f"{r['libs'][x]['peak_mb']:.0f} ({r['libs'][x]['import_mb']:.0f})" for x in libs]
        acc = [f"{r['libs'][x]['accuracy']:.4f}" for x in libs]
        L.append(f"| {name} | " + " | ".join(mem) + " | " + " | ".join(acc) + " |")
    L.append("")
    L.append("Peak memory is each worker process's peak resident set, VmHWM (in brackets: after its imports, "
             "before the data is loaded). Accuracy is on a held-out test set after the same "
             "number of epochs (iterations for W3) for every library.")
    L.append("")
    L.append("The needed floor is the matrix products one epoch needs (forward 2·n[l]·n[l-1] "
             "per example per layer, the same for dW, and dA for every layer but the first), each "
             "called the fastest of the 8 ways BLAS can compute it, run in its own worker "
             "interleaved with the libraries (so it sees the same machine noise). The rate "
             "measured before the workload, and the floor it implies, for comparison:")
    L.append("")
    L.append("| workload | float32 matmul rate at its shapes | needed GFLOP per epoch | "
             "floor = GFLOP / rate | floor, run interleaved (median, range) |")
    L.append("|---|---|---|---|---|")
    for name, r in results.items():
        lo, hi = r["floor_run_range"]
        L.append(f"| {name} | {r['rate_gflops']:.1f} GFLOP/s | {r['needed_gflop']:.3f} | "
                 f"{r['floor_s'] * 1e3:.2f} ms/epoch | {r['floor_run_s'] * 1e3:.2f} "
                 f"({lo * 1e3:.2f}–{hi * 1e3:.2f}) ms/epoch |")
    L.append("")
    m = meta["machine"]
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}; Python {m['python']}, "
             f"NumPy {m['numpy']}; OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}, "
             f"OPENBLAS_L2_SIZE={m['OPENBLAS_L2_SIZE']}.")
    L.append("")
    any_r = next(iter(results.values()))["libs"]
    for x in libs:
        info = any_r[x]["info"]
        extra = ""
        if x == "torch":
            extra = (f"; PyTorch's own BLAS {info.get('blas')}, {info.get('num_threads')} "
                     f"intra-op threads")
        if x.startswith("deepstep") and info.get("fused"):
            extra = f"; fused kernels (deepstep.fused): {info['fused']}"
        if x == "sklearn" and "W1" in results:
            extra = (f"; its input validation, inside each timed partial_fit call, takes "
                     f"{results['W1']['libs']['sklearn']['info']['validate_s'] * 1e3:.0f} ms on W1")
        L.append(f"- {LABEL[x]} {info.get('version')}: {_blas_line(any_r[x]['blas'])}{extra}")
    L.append(f"- threads: {meta['threads'] or 'each library default'}; load average at start "
             f"{meta['loadavg_start'][0]:.1f}, at end {meta['loadavg_end'][0]:.1f} "
             f"(on {m['cores']} cores)")
    L.append(f"- {meta['epochs']} timed epochs (W3/W3L: blocks of {meta['block'] or '10/100'} iterations) after one "
             f"warm-up, interleaved round-robin, order rotated each round, "
             f"{meta.get('settle_s', 0)} s idle before each turn")
    L.append(f"- command: `{meta['command']}`")
    L += report_dropin(dropin)
    return "\n".join(L)


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {k: v for k, v in results.items() if not WORKLOADS[k].get("dropin")}
    if not results:
        return
    libs = [x for x in LIBS if any(x in r["libs"] for r in results.values())]
    colors = {"deepstep": "#2a7ab9", "sklearn": "#f28e2b", "torch": "#c44e52",
              "deepstep_ref": "#9db9d3"}
    panels = []
    for name, r in results.items():
        unit, scale, per_step = UNITS[name]
        floor = r["floor_run_s"] * scale / (r["steps"] if per_step else 1)
        panels.append((f"{name} {unit}", [_value(r, x) for x in libs], None if per_step else floor))
    if "W1" in results and "predict_s" in results["W1"]["libs"].get("deepstep", {}):
        panels.append(("predict ms / 10000 rows",
                       [results["W1"]["libs"][x]["predict_s"] * 1e3 for x in libs], None))
    if "W1" in results:
        panels.append(("W1 peak memory MB", [results["W1"]["libs"][x]["peak_mb"] for x in libs], None))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels), 3.6))
    for ax, (title, vals, floor) in zip(np.atleast_1d(axes), panels):
        bars = ax.bar([LABEL[x] for x in libs], vals, color=[colors[x] for x in libs])
        for bar, v in zip(bars, vals):
            ax.annotate(f"{v:.3g}", (bar.get_x() + bar.get_width() / 2, v), ha="center",
                        va="bottom", fontsize=8)
        if floor:
            ax.axhline(floor, color="k", ls="--", lw=1)
            ax.annotate("FLOP floor", (0.02, floor), xycoords=("axes fraction", "data"),
                        va="bottom", fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8, rotation=30)
    fig.suptitle("deepstep vs scikit-learn vs PyTorch on CPU, float32 (medians; lower is better)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default="W1,W2,W3,W3L,W4,predict,dropin-digits,dropin-W1")
    ap.add_argument("--libs", default="deepstep,sklearn,torch")
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs (W3: blocks) per library")
    ap.add_argument("--block", type=int, default=None,
                    help="full-batch iterations per block (default: W3 10, W3L 100)")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/OpenMP threads for every library (default: their own default, "
                         "normally one per core)")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait before each worker's turn, so that the previous worker's "
                         "spinning BLAS threads have stopped (default: 0.5 with more than one thread, else 0)")
    ap.add_argument("--ref-src", default=None,
                    help="also run the deepstep found in this source folder (e.g. a checkout of "
                         "an older commit's src/) as 'deepstep (ref)', interleaved with the rest")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    THREADS[0] = args.threads
    SETTLE[0] = args.settle if args.settle is not None else (0.0 if args.threads == 1 else 0.5)
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)           # the matmul-rate measurement, here
    args.workloads = args.workloads.split(",")
    args.libs = [x for x in args.libs.split(",") if x != "deepstep_ref"]
    if args.ref_src:
        REF_SRC[0] = os.path.abspath(args.ref_src)
        args.libs.append("deepstep_ref")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []

    def log(s):
        print(s, flush=True)
        lines.append(s)

    meta = {"machine": machine_info(), "epochs": args.epochs, "block": args.block,
            "command": " ".join(["python", *[os.path.relpath(sys.argv[0])], *sys.argv[1:]]),
            "threads": args.threads, "settle_s": SETTLE[0], "loadavg_start": os.getloadavg(),
            "argv": sys.argv, "blas_parent": blas_info()}
    log(f"machine: {meta['machine']}")
    log(f"BLAS: {_blas_line(meta['blas_parent'])}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="deepstep-bench-") as tmp:
        tmp = Path(tmp)
        for name in WORKLOADS:
            if name in args.workloads or (name == "W1" and "predict" in args.workloads):
                data = WORKLOADS[name].get("data", name)
                if not (tmp / f"{data}_X_train.npy").exists():
                    if data == "digits":
                        make_digits(tmp)
                    else:
                        make_data(data, WORKLOADS[data], tmp)
                results[name] = run_workload(name, WORKLOADS[name], tmp, args, log)
                later = [w for w in args.workloads if w in WORKLOADS and
                         WORKLOADS[w].get("data", w) == data and list(WORKLOADS).index(w) >
                         list(WORKLOADS).index(name)]
                if not later:
                    for f in tmp.glob(f"{data}_*.npy"):
                        f.unlink()
    meta["loadavg_end"] = os.getloadavg()
    md = report(results, meta)
    print("\n" + md)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (out / "results.md").write_text(md + "\n")
    chart(results, out / "results.png")            # not drawn for the drop-in workloads alone
    wrote = [out / f for f in ("results.md", "results.json", "results.png") if (out / f).exists()]
    print("\nwrote " + ", ".join(str(f) for f in wrote))


if __name__ == "__main__":
    sys.exit(main())
