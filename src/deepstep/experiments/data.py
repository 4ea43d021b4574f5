"""The data of the published experiments: the circles, the moons and the regularization data (data.mat).

Used by :mod:`deepstep.experiments`; imports scikit-learn and SciPy when a
loader is called.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = (ROOT.parent / "shared" / "data").resolve()


def _sklearn_datasets():
    try:
        import sklearn.datasets
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("The experiments' data needs scikit-learn: pip install scikit-learn") from None
    return sklearn.datasets


def load_circles():
    """The initialization data: ``make_circles(300, noise=.05)`` after ``np.random.seed(1)``
    (train) and ``make_circles(100, noise=.05)`` after ``np.random.seed(2)`` (test).

    Returns X_train (2, 300), Y_train (1, 300), X_test (2, 100), Y_test (1, 100), float64.
    """
    ds = _sklearn_datasets()
    # random_state=k draws RandomState(k)'s stream, the one np.random.seed(k) sets,
    # without touching NumPy's global generator.
    Xtr, ytr = ds.make_circles(n_samples=300, noise=0.05, random_state=1)
    Xte, yte = ds.make_circles(n_samples=100, noise=0.05, random_state=2)
    return Xtr.T, ytr.reshape(1, -1).astype(np.float64), Xte.T, yte.reshape(1, -1).astype(np.float64)


def load_moons():
    """The optimization data: ``make_moons(300, noise=.2)`` after ``np.random.seed(3)``.

    The published experiment has no test set; deepstep adds one,
    ``make_moons(300, noise=.2)`` after ``np.random.seed(4)``.
    Returns X_train (2, 300), Y_train (1, 300), X_test (2, 300), Y_test (1, 300).
    """
    ds = _sklearn_datasets()
    Xtr, ytr = ds.make_moons(n_samples=300, noise=0.2, random_state=3)   # = np.random.seed(3)
    Xte, yte = ds.make_moons(n_samples=300, noise=0.2, random_state=4)
    return Xtr.T, ytr.reshape(1, -1).astype(np.float64), Xte.T, yte.reshape(1, -1).astype(np.float64)


def load_football(data_dir=None):
    """The regularization data, ``data.mat`` (X, y train; Xval, yval test), as (2, m) / (1, m).

    ``data_dir`` defaults to the shared datasets folder next to the repository
    (``../shared/data``).
    """
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    path = data_dir / "data.mat"
    if not path.is_file():
        raise DataError(f"The regularization data {path} was not found. Pass the folder that holds "
                        f"data.mat with --data-dir DIR (deepstep experiment regularization --data-dir DIR; "
                        f"from Python: data_dir=DIR); the default is the shared datasets folder, "
                        f"../shared/data next to the repository.")
    try:
        import scipy.io
        d = scipy.io.loadmat(path)
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("Reading data.mat needs SciPy: pip install scipy") from None
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        raise DataError(f"{path} could not be read as a MAT-file: {exc}") from None
    missing = [k for k in ("X", "y", "Xval", "yval") if k not in d]
    if missing:
        raise DataError(f"{path} lacks the arrays {missing}; expected X, y, Xval and yval.")
    return (np.asarray(d["X"], np.float64).T, np.asarray(d["y"], np.float64).T,
            np.asarray(d["Xval"], np.float64).T, np.asarray(d["yval"], np.float64).T)
