"""Shared fixtures: the real datasets in ../shared/data, found relative to the checkout.

The suite runs as ``pytest -n 2``: two workers on a machine of (often) two cores.
Each worker and every subprocess it starts uses one BLAS thread, so that the two
workers do not oversubscribe the cores (small products slow down 10-100x when they
do). Only the thread count is set; the BLAS kernel settings are left alone.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=1, user_api="blas")        # in case NumPy's BLAS was loaded before this file

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT.parent / "shared" / "data").resolve()


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path.name} not found: the shared datasets folder {DATA} is absent")
    return path


@pytest.fixture
def data_dir() -> Path:
    return _require(DATA)


@pytest.fixture
def cat_files(data_dir):
    return _require(data_dir / "train_catvnoncat.h5"), _require(data_dir / "test_catvnoncat.h5")


@pytest.fixture
def cat_data(cat_files):
    """The lesson's cat images as (12288, m) / 255 and (1, m) labels, float64."""
    import h5py

    out = []
    for path, split in zip(cat_files, ("train", "test")):
        with h5py.File(path, "r") as f:
            x = f[f"{split}_set_x"][:]
            y = f[f"{split}_set_y"][:]
        out += [x.reshape(x.shape[0], -1).T / 255.0, y.reshape(1, -1)]
    return tuple(out)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
