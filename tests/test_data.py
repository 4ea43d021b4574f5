"""Tests for deepstep.data: every loader returns the lesson's layout X (n_x, m), y (m,)."""

import subprocess
import sys

import numpy as np
import pytest

from deepstep import data
from deepstep.errors import DataError, InvalidParameterError


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# --- CSV ----------------------------------------------------------------------------------
def test_csv_header_detected_and_label_last(tmp_path):
    p = write(tmp_path, "d.csv", "a,b,label\n1,2,0\n3,4.5,1\n5,6,1\n")
    ds = data.load_file(p)
    assert ds.X.shape == (2, 3)                          # (n_x, m): examples are columns
    np.testing.assert_array_equal(ds.X, [[1, 3, 5], [2, 4.5, 6]])
    np.testing.assert_array_equal(ds.y, [0, 1, 1])
    assert ds.y.dtype == np.int64
    assert ds.feature_names == ["a", "b"]
    assert ds.preprocess == "standardize"


def test_csv_without_header(tmp_path):
    p = write(tmp_path, "d.csv", "1,2,0\n3,4,1\n")
    ds = data.load_file(p)
    assert ds.feature_names is None
    np.testing.assert_array_equal(ds.X, [[1, 3], [2, 4]])


@pytest.mark.parametrize("col", [0, "y", "0"])
def test_csv_label_column_by_index_or_name(tmp_path, col):
    p = write(tmp_path, "d.csv", "y,a,b\n0,1,2\n1,3,4\n")
    ds = data.load_csv(p, label_column=col)
    np.testing.assert_array_equal(ds.y, [0, 1])
    np.testing.assert_array_equal(ds.X, [[1, 3], [2, 4]])
    assert ds.feature_names == ["a", "b"]


def test_csv_negative_index_and_text_labels(tmp_path):
    p = write(tmp_path, "d.csv", "1,cat,2\n3,dog,4\n")
    ds = data.load_csv(p, label_column=-2)
    assert list(ds.y) == ["cat", "dog"]
    np.testing.assert_array_equal(ds.X, [[1, 3], [2, 4]])


def test_csv_float_labels_stay_float(tmp_path):
    ds = data.load_file(write(tmp_path, "r.csv", "1,0.5\n2,1.5\n"))
    assert ds.y.dtype == np.float64


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    p = write(tmp_path, "d.csv", "a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError, match=r"line 3, column 1 \('b'\): 'oops' is not a number"):
        data.load_file(p)


def test_csv_empty_cell(tmp_path):
    p = write(tmp_path, "d.csv", "1,2,0\n3,,1\n")
    with pytest.raises(DataError, match="line 2, column 1: an empty cell"):
        data.load_file(p)


def test_csv_nan_is_reported_with_its_place(tmp_path):
    p = write(tmp_path, "d.csv", "a,b,y\n1,2,0\n3,inf,1\n")
    with pytest.raises(DataError, match=r"line 3, column 1 \('b'\).*NaN or infinite"):
        data.load_file(p)


def test_csv_ragged_rows(tmp_path):
    with pytest.raises(DataError, match="line 2: 2 columns, but the first row has 3"):
        data.load_file(write(tmp_path, "d.csv", "1,2,0\n3,4\n"))


@pytest.mark.parametrize("text", ["", "\n\n", "a,b\n"])
def test_csv_empty_file(tmp_path, text):
    with pytest.raises(DataError, match="empty|no data rows"):
        data.load_file(write(tmp_path, "d.csv", text))


def test_csv_label_name_needs_header(tmp_path):
    # a usage error (the option is wrong for this file), like a misspelled name
    with pytest.raises(InvalidParameterError, match=r"no header.*0\.\.1"):
        data.load_csv(write(tmp_path, "d.csv", "1,2\n3,4\n"), label_column="y")


def test_csv_unknown_label_name_suggests(tmp_path):
    with pytest.raises(InvalidParameterError, match="Did you mean 'label'"):
        data.load_csv(write(tmp_path, "d.csv", "a,label\n1,0\n2,1\n"), label_column="lable")


def test_csv_label_index_out_of_range(tmp_path):
    """An index out of range is a usage error (InvalidParameterError, exit 2) like a misspelled
    name, and says which indices are valid."""
    with pytest.raises(InvalidParameterError, match=r"out of range.*2 columns.*0\.\.1.*-2\.\.-1"):
        data.load_csv(write(tmp_path, "d.csv", "1,2\n3,4\n"), label_column=5)
    with pytest.raises(InvalidParameterError, match="out of range"):
        data.load_csv(write(tmp_path, "d.csv", "1,2\n3,4\n"), label_column=-3)


@pytest.mark.parametrize("text", ["hello world\nthis is my notes file\n", "hello world\n",
                                  "hello world, said I\nand then, some more\n"])
def test_prose_file_fails_in_the_loader_naming_the_cell(tmp_path, text):
    """Regression: a prose file was read as 2 examples with 0 features (and failed later, in fit)."""
    p = write(tmp_path, "notes.txt", text)
    first = text.split("\n")[0].split(",")[0]
    with pytest.raises(DataError, match=rf"notes\.txt, line 1, column 0: '{first}' is not a number"):
        data.load_file(p)


def test_single_numeric_column_has_no_features(tmp_path):
    """One column is only the labels: an error, not a dataset with 0 features."""
    with pytest.raises(DataError, match="single column.*no feature columns"):
        data.load_file(write(tmp_path, "y.csv", "1\n0\n1\n"))
    with pytest.raises(DataError, match=r"line 3, column 0: 'x' is not a number"):
        data.load_file(write(tmp_path, "mixed.csv", "1\n0\nx\n"))
    # ... but one column is fine as the single feature of a one-feature model (predict)
    ds = data.load_file(write(tmp_path, "one.csv", "1\n0\n2\n"), n_features=1)
    assert ds.X.shape == (1, 3) and ds.y is None


def test_csv_without_labels_when_width_matches_model(tmp_path):
    p = write(tmp_path, "d.csv", "1,2\n3,4\n")
    ds = data.load_file(p, n_features=2)
    assert ds.y is None and ds.X.shape == (2, 2)
    assert data.load_file(p, n_features=1).y.tolist() == [2, 4]


def test_tsv_and_semicolon(tmp_path):
    assert data.load_file(write(tmp_path, "d.tsv", "1\t2\t0\n3\t4\t1\n")).X.shape == (2, 2)
    assert data.load_file(write(tmp_path, "d.txt", "1;2;0\n3;4;1\n")).X.shape == (2, 2)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.load_file(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="extension"):
        data.load_file(write(tmp_path, "d.json", "{}"))


# --- NPZ ----------------------------------------------------------------------------------------
def test_npz_rows_are_examples(tmp_path, rng):
    X = rng.standard_normal((7, 3))
    y = np.arange(7) % 2
    np.savez(tmp_path / "d.npz", X=X, y=y, feature_names=np.array(["p", "q", "r"]))
    ds = data.load_file(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.X, X.T)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.feature_names == ["p", "q", "r"]


def test_npz_lowercase_keys_images_and_test_split(tmp_path, rng):
    x = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "i.npz", x=x, y=np.array([0, 1, 0, 1, 1]), X_test=x[:2], y_test=np.array([0, 1]))
    ds = data.load_file(tmp_path / "i.npz")
    assert ds.X.shape == (48, 5) and ds.image_shape == (4, 4, 3)
    assert ds.preprocess == "divide255"
    np.testing.assert_array_equal(ds.X[:, 1], x[1].ravel())      # C order over (row, col, channel)
    assert ds.test.X.shape == (48, 2)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "a.npz", A=np.zeros(3))
    with pytest.raises(DataError, match="no array 'X'"):
        data.load_file(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match="3 examples .* y has shape"):
        data.load_file(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="could not be read"):
        data.load_file(tmp_path / "c.npz")


# --- HDF5 and MAT (the real files in ../shared/data) ---------------------------------------------
def test_hdf5_cat_images_match_the_seed_preprocessing(cat_files, cat_data):
    train = data.load_file(cat_files[0])
    assert train.X.shape == (12288, 209) and train.X.dtype == np.uint8
    assert train.image_shape == (64, 64, 3)
    assert train.preprocess == "divide255"
    assert train.class_names == ["non-cat", "cat"]
    assert int(train.y.sum()) == 72
    np.testing.assert_array_equal(train.X / 255.0, cat_data[0])   # the lesson's x.reshape(m, -1).T / 255.
    np.testing.assert_array_equal(train.y, cat_data[1].ravel())


def test_hdf5_several_splits_need_a_choice(tmp_path):
    import h5py

    with h5py.File(tmp_path / "s.h5", "w") as f:
        for s in ("train", "test"):
            f[f"{s}_set_x"] = np.zeros((2, 2, 2, 3), np.uint8)
            f[f"{s}_set_y"] = np.array([0, 1])
    with pytest.raises(DataError, match="several splits"):
        data.load_file(tmp_path / "s.h5")
    assert data.load_hdf5(tmp_path / "s.h5", split="test").X.shape == (12, 2)


def test_hdf5_not_hdf5(tmp_path):
    with pytest.raises(DataError, match="HDF5"):
        data.load_file(write(tmp_path, "x.h5", "text"))


def test_mat_with_validation_split(data_dir):
    ds = data.load_file(data_dir / "data.mat")
    assert ds.X.shape == (2, 211) and ds.y.shape == (211,)
    assert int((ds.y == 1).sum()) == 106
    assert ds.test.X.shape == (2, 200) and int((ds.test.y == 0).sum()) == 113


# --- bundled datasets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,n_x,n_classes", [("breast_cancer", 30, 2), ("digits", 64, 10),
                                                ("moons", 2, 2), ("circles", 2, 2)])
def test_bundled_datasets_split_deterministically(name, n_x, n_classes):
    train, test = data.load_dataset(name)
    again, _ = data.load_dataset(name)
    np.testing.assert_array_equal(train.X, again.X)
    assert train.X.shape[0] == test.X.shape[0] == n_x
    assert train.X.shape[1] == train.y.shape[0]
    assert set(np.unique(train.y)) == set(np.unique(test.y)) == set(range(n_classes))
    frac = test.n_examples / (test.n_examples + train.n_examples)
    assert frac == pytest.approx(0.25, abs=0.01)
    # stratified: class proportions agree between the splits
    p_tr = np.bincount(train.y) / train.n_examples
    p_te = np.bincount(test.y) / test.n_examples
    assert np.abs(p_tr - p_te).max() < 0.02


def test_unknown_dataset():
    with pytest.raises(InvalidParameterError, match="Did you mean 'digits'"):
        data.load_dataset("digit")


def test_import_deepstep_stays_numpy_only():
    code = ("import deepstep, deepstep.data, deepstep.persistence, sys; "
            "print([m for m in sys.modules if m.split('.')[0] in "
            "('sklearn','scipy','h5py','matplotlib','click','tqdm','PIL','numba','llvmlite')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
