"""One rule for the command line and Python alike: the input scaling of images, rows without a label.

Through the installed ``deepstep`` command (subprocesses) on the lesson's HDF5 files and on
scikit-learn's and palmerpenguins' data written to CSV.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepstep import DeepNetwork, persistence


def deepstep(*args, check=True):
    exe = shutil.which("deepstep", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from deepstep.cli import main; main()"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


# --- the input scaling: train's default is DeepNetwork()'s ------------------------------------------------
def test_train_scales_images_as_deepnetwork_does_and_says_so(cat_files, tmp_path):
    # bug: train scaled uint8 images by 1/255 while DeepNetwork() standardized them per feature
    out = tmp_path / "m.npz"
    r = deepstep("train", "--data", cat_files[0], "--epochs", 1, "--layers", 4, "--out", out)
    assert "input scaling: standardize" in r.stderr
    assert persistence.load(out).scaler.kind == DeepNetwork().hp.preprocess == "standardize"
    lesson = tmp_path / "lesson.npz"
    r = deepstep("train", "--data", cat_files[0], "--preset", "lesson", "--epochs", 1, "--out", lesson)
    assert "input scaling: divide255" in r.stderr and persistence.load(lesson).scaler.kind == "divide255"


# --- rows without a label: refused everywhere unless asked to drop them ---------------------------------------
@pytest.fixture(scope="module")
def wine_gaps(tmp_path_factory):
    """scikit-learn's wine data as CSV, with three labels blanked out (lines 4, 9 and 21)."""
    pd = pytest.importorskip("pandas")
    from sklearn import datasets

    d = tmp_path_factory.mktemp("unlabeled")
    df = datasets.load_wine(as_frame=True).frame
    df["target"] = df["target"].astype(object)
    df.loc[[2, 7, 19], "target"] = None                  # data rows 3, 8, 20: file lines 4, 9, 21
    df.to_csv(d / "gaps.csv", index=False)
    full = datasets.load_wine(as_frame=True).frame
    full.to_csv(d / "full.csv", index=False)
    assert isinstance(pd.read_csv(d / "gaps.csv")["target"].iloc[2], float)
    return d


def test_train_and_evaluate_refuse_rows_without_a_label_unless_asked(wine_gaps, tmp_path):
    # bug: train dropped empty-label rows with a note while data.load_file refused them
    r = deepstep("train", "--data", wine_gaps / "gaps.csv", "--epochs", 2, check=False)
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "3 examples have no label ('target') (line 4, line 9, line 21)" in err[0]
    assert "--drop-unlabeled" in err[0]
    model = tmp_path / "m.npz"
    r = deepstep("train", "--data", wine_gaps / "gaps.csv", "--epochs", 30, "--drop-unlabeled",
                 "--test-fraction", 0, "--out", model)
    assert "3 rows without a label ('target') left out (--drop-unlabeled)" in r.stderr
    assert "175 examples" in r.stderr                     # 178 - 3
    r = deepstep("evaluate", model, "--data", wine_gaps / "gaps.csv", check=False)
    assert r.returncode == 1 and "line 4, line 9, line 21" in r.stderr and "--drop-unlabeled" in r.stderr
    r = deepstep("evaluate", model, "--data", wine_gaps / "gaps.csv", "--drop-unlabeled", "--json")
    import json

    assert json.loads(r.stdout)["examples"] == 175 and "left out" in r.stderr
    r = deepstep("predict", model, "--data", wine_gaps / "gaps.csv")    # predict needs no label: every row
    assert len(r.stdout.strip().splitlines()) == 1 + 178
    r = deepstep("train", "--data", wine_gaps / "full.csv", "--test-data", wine_gaps / "gaps.csv", "--epochs", 2,
                 check=False)
    assert r.returncode == 1 and "3 examples have no label" in r.stderr


def test_load_file_refuses_drops_or_ignores_missing_labels(wine_gaps, tmp_path):
    from deepstep import data
    from deepstep.errors import DataError

    with pytest.raises(DataError, match=r"3 examples have no label \('target'\) \(line 4, line 9, line 21\).*"
                                        r"unlabeled='drop'"):
        data.load_file(wine_gaps / "gaps.csv")
    ds = data.load_file(wine_gaps / "gaps.csv", unlabeled="drop")
    assert ds.n_examples == 175 and ds.y.dtype == np.int64 and "3 examples without a label" in ds.notes[0]
    ds = data.load_file(wine_gaps / "gaps.csv", unlabeled="ignore")
    assert ds.n_examples == 178 and ds.y is None
    npz = tmp_path / "gaps.npz"
    y = np.array([0.0, 1.0, np.nan, 1.0, np.nan])
    np.savez(npz, X=np.arange(10.0).reshape(5, 2), y=y)
    with pytest.raises(DataError, match=r"2 examples have no label \(example 2, example 4\)"):
        data.load_file(npz)
    assert data.load_file(npz, unlabeled="drop").y.tolist() == [0, 1, 1]
