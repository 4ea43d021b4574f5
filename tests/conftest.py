"""Shared fixtures: the real datasets in ../shared/data, found relative to the checkout."""

from pathlib import Path

import numpy as np
import pytest

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
