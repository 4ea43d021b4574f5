"""The playground's 2-D datasets, as TensorFlow Playground has them, in the lesson's layout.

Every generator takes an explicit seed and returns ``X`` of shape (2, m) (one
point per column, coordinates in about [-6, 6]) and ``y`` of shape (1, m):
0/1 labels for classification, real values for regression. ``noise`` is a
fraction in [0, 0.5]. :func:`make_dataset` splits the points into train and
test with the same seed, so a run can be reproduced from its settings.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from ..errors import DataError

CLASSIFICATION = ("circles", "xor", "gaussians", "spiral", "moons")
REGRESSION = ("plane", "bumps")
MAX_POINTS = 1000
MAX_CSV_BYTES = 200_000


def _circles(rng, m, noise):
    r_in = rng.uniform(0, 2.5, m // 2)
    r_out = rng.uniform(3.5, 5, m - m // 2)
    r = np.concatenate([r_in, r_out])
    t = rng.uniform(0, 2 * np.pi, m)
    X = np.stack([r * np.cos(t), r * np.sin(t)]) + rng.normal(0, noise * 5, (2, m))
    y = (np.arange(m) < m // 2).astype(np.float64)          # inside: 1
    return X, y


def _xor(rng, m, noise):
    X = rng.uniform(-5, 5, (2, m))
    X += np.sign(X) * 0.3                                    # a margin around the axes
    y = ((X[0] * X[1]) > 0).astype(np.float64)
    return X + rng.normal(0, noise * 5, (2, m)), y


def _gaussians(rng, m, noise):
    y = (np.arange(m) < m // 2).astype(np.float64)
    centers = np.where(y == 1, 2.0, -2.0)
    X = np.stack([centers, centers]) + rng.normal(0, 0.6 + noise * 4, (2, m))
    return X, y


def _spiral(rng, m, noise):
    n = m // 2
    out = []
    for k, delta in ((n, 0.0), (m - n, np.pi)):
        i = np.arange(k)
        r = i / max(k, 1) * 5
        t = 1.75 * i / max(k, 1) * 2 * np.pi + delta
        out.append(np.stack([r * np.sin(t), r * np.cos(t)]))
    X = np.concatenate(out, axis=1) + rng.normal(0, noise * 3, (2, m))
    y = (np.arange(m) < n).astype(np.float64)
    return X, y


def _moons(rng, m, noise):
    n = m // 2
    t1 = rng.uniform(0, np.pi, n)
    t2 = rng.uniform(0, np.pi, m - n)
    upper = np.stack([np.cos(t1), np.sin(t1)])
    lower = np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)])
    X = (np.concatenate([upper, lower], axis=1) - np.array([[0.5], [0.25]])) * 3.5
    X += rng.normal(0, noise * 3, (2, m))
    y = (np.arange(m) < n).astype(np.float64)
    return X, y


def _plane(rng, m, noise):
    X = rng.uniform(-5, 5, (2, m))
    y = (X[0] + X[1]) / 10 + rng.normal(0, noise, m)
    return X, y


def _bumps(rng, m, noise):
    X = rng.uniform(-5, 5, (2, m))
    y = np.exp(-((X[0] - 2) ** 2 + (X[1] - 2) ** 2) / 4) - np.exp(-((X[0] + 2) ** 2 + (X[1] + 2) ** 2) / 4)
    return X, y + rng.normal(0, noise, m)


GENERATORS = {"circles": _circles, "xor": _xor, "gaussians": _gaussians, "spiral": _spiral, "moons": _moons,
              "plane": _plane, "bumps": _bumps}


def parse_csv(text, problem="classification"):
    """Points from CSV text: two feature columns, then the label (0/1, or any number for regression).

    A header row is skipped when its cells are not numbers. At most
    :data:`MAX_POINTS` rows and :data:`MAX_CSV_BYTES` bytes.
    """
    if len(text.encode("utf-8", "replace")) > MAX_CSV_BYTES:
        raise DataError(f"The CSV is larger than {MAX_CSV_BYTES // 1000} kB: upload at most {MAX_POINTS} rows.")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    values = []
    for i, row in enumerate(rows):
        if len(row) < 3:
            raise DataError(f"CSV row {i + 1} has {len(row)} columns; each row needs x1, x2, label.")
        try:
            values.append([float(c) for c in row[:3]])
        except ValueError:
            if i == 0:
                continue                                    # a header
            raise DataError(f"CSV row {i + 1} has a value that is not a number: {row[:3]}.") from None
    if len(values) < 4:
        raise DataError("The CSV needs at least 4 rows of x1, x2, label.")
    if len(values) > MAX_POINTS:
        raise DataError(f"The CSV has {len(values)} rows; the playground takes at most {MAX_POINTS}.")
    a = np.asarray(values, dtype=np.float64)
    if not np.isfinite(a).all():
        raise DataError("The CSV has NaN or infinite values.")
    X, y = a[:, :2].T.copy(), a[:, 2].copy()
    if problem == "classification" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError("For classification the CSV's label column must hold 0 and 1 only.")
    # Scale the features into the playground's [-6, 6] view.
    span = np.max(np.abs(X))
    if span > 0:
        X *= 5.0 / span
    return X, y


def make_dataset(name, n_points=400, noise=0.0, train_fraction=0.5, seed=0, csv_text=None,
                 problem="classification"):
    """(X_train, y_train, X_test, y_test): X (2, m), y (1, m); the split drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    if name == "csv":
        if not csv_text:
            raise DataError("Choose a CSV file first (two feature columns, then the label).")
        X, y = parse_csv(csv_text, problem)
    elif name in GENERATORS:
        X, y = GENERATORS[name](rng, int(n_points), float(noise))
    else:
        raise DataError(f"Unknown dataset {name!r}. Allowed: {', '.join(GENERATORS)}, csv.")
    m = X.shape[1]
    perm = rng.permutation(m)
    n_train = min(m - 1, max(1, int(round(train_fraction * m))))
    tr, te = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    y = y.reshape(1, -1)
    return X[:, tr], y[:, tr], X[:, te], y[:, te]
