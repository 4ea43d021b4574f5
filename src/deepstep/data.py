"""Loading data into the lesson's layout: X of shape (n_x, m), labels y of shape (m,).

Files keep one example per *row*, as every spreadsheet and array library
writes them; the loaders transpose once, here, so the model always sees the
lesson's column layout. Every loader returns a :class:`Dataset` that also carries
what the model should remember about the data: feature names, the image shape
of image files (so ``deepstep predict --image`` can resize a photo), the class
names, and the lesson's input scaling for the data (``divide255`` for uint8
images, as the lesson's ``x / 255.``; ``standardize`` otherwise; informational,
since models standardize by default).

Formats
-------
CSV (``.csv``, ``.tsv``, ``.txt``)
    One example per row; the label column is chosen by index (default: the
    last) or by header name. A header row is detected automatically. Labels
    may be numbers or text; features must be numbers.
NPZ (``.npz``)
    Arrays ``X`` (m, n_x) -- or images (m, h, w, c) -- and ``y`` (m,); the
    lower-case ``x``/``y`` also work. Optional: ``feature_names`` (n_x,),
    ``X_test``/``y_test`` (a held-out split carried in the same file).
HDF5 (``.h5``, ``.hdf5``)
    The image format of the deeplearning.ai files: ``<split>_set_x`` uint8
    images (m, h, w, c), ``<split>_set_y`` labels (m,), optional
    ``list_classes``. Images are flattened in C order over (row, col, channel)
    to (h*w*c, m). Plain ``X``/``y`` datasets are read like NPZ.
MAT (``.mat``)
    ``X`` (m, n_x), ``y`` (m, 1), optionally ``Xval``/``yval`` (held out).

Bundled datasets (no download): ``breast_cancer`` and ``digits`` from
scikit-learn, generated ``moons`` and ``circles``; see :func:`load_dataset`.

h5py, scipy and scikit-learn are imported inside the functions that need
them, so ``import deepstep`` stays NumPy-only.
"""

from __future__ import annotations

import csv
import errno
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError, InvalidParameterError, unknown_name
from .fs import NotRegularFileError, check_regular
from .memory import check_fits

DATASETS = ("breast_cancer", "digits", "moons", "circles")
#: Cells read as missing (pandas' defaults for ``read_csv``): an empty label is one of them.
MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
#: What to do with examples that have no label: refuse them (the default), drop them, or ignore the labels.
UNLABELED = ("refuse", "drop", "ignore")
SPLIT_SEED = 0          # the bundled datasets' train/test split and generators
TEST_FRACTION = 0.25


@dataclass
class Dataset:
    """Examples in the lesson's layout, plus what the model should remember.

    Attributes
    ----------
    X : ndarray of shape (n_x, m)
        One example per column. uint8 for image files, float64 otherwise.
    y : ndarray of shape (m,) or None
        Labels (ints, floats or strings); None when the file has no labels.
    feature_names : list of str or None
    image_shape : tuple of int or None
        (h, w, c) of image data; ``n_x == h * w * c``.
    class_names : list of str or None
        Display names of the label values 0, 1, ... (HDF5 ``list_classes``).
    preprocess : str
        The lesson's input scaling for the data: ``divide255`` for uint8 images, else
        ``standardize``. Informational: ``deepstep train``, like ``DeepNetwork()``,
        standardizes every input unless told otherwise (``--preprocess``).
    source : str
        Where the data came from (a path or ``dataset:NAME``).
    test : Dataset or None
        A held-out split carried in the same file (MAT ``Xval``/``yval``).
    tabular : deepstep.tabular.TabularEncoder or None
        How a table's named columns became X (set by the command line for CSV files).
    notes : list of str
        What the loader decided that users should hear (e.g. rows without a label left out).
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list | None = None
    image_shape: tuple | None = None
    class_names: list | None = None
    preprocess: str = "standardize"
    source: str = ""
    test: Dataset | None = field(default=None, repr=False)
    tabular: object = field(default=None, repr=False)
    notes: list = field(default_factory=list, repr=False)

    @property
    def n_features(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_examples(self) -> int:
        return int(self.X.shape[1])


# --- dispatch -------------------------------------------------------------------
def check_data_path(path) -> str:
    """``path`` as a string once it names an existing regular file; the error names the problem.

    A missing file is FileNotFoundError, a folder, device or FIFO a DataError:
    /dev/zero or a FIFO is refused, never read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "Data file not found", path)
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory; give a data file (.csv, .npz, .h5 or .mat).")
    try:
        check_regular(path, "data file")
    except NotRegularFileError as exc:
        raise DataError(str(exc)) from None
    return path


def unlabeled_rows(source, where, label=None, flag="unlabeled='drop'") -> DataError:
    """The refusal of examples without a label: how many, the first few lines, and how to leave them out.

    ``where`` lists the rows as users find them ('line 7', 'row 3'), in file order.
    """
    name = f" ({label!r})" if label is not None else ""
    first = ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")
    n = len(where)
    return DataError(f"{source}: {n} example{'s have' if n > 1 else ' has'} no label{name} ({first}); label "
                     f"{'them' if n > 1 else 'it'}, or leave {'them' if n > 1 else 'it'} out ({flag}).")


def _apply_unlabeled(ds, missing, where, unlabeled, label=None, flag="unlabeled='drop'"):
    """``ds`` with the examples whose label is missing refused, dropped (with a note) or labels ignored."""
    if unlabeled not in UNLABELED:
        raise unknown_name("unlabeled", unlabeled, UNLABELED)
    if ds.y is None or not missing.any():
        return ds
    if unlabeled == "ignore":
        ds.y = None
        return ds
    if unlabeled == "refuse":
        raise unlabeled_rows(ds.source, [w for w, m in zip(where, missing) if m], label, flag)
    if missing.all():
        raise DataError(f"{ds.source}: no example has a label{f' ({label!r})' if label else ''}; nothing to "
                        f"train or score on.")
    keep = np.flatnonzero(~missing)
    ds.X, ds.y = ds.X[:, keep], ds.y[keep]
    if ds.y.dtype.kind == "f":
        ds.y = _float_labels(ds.y)            # integers once the NaN are gone, as without them
    ds.notes.append(f"{int(missing.sum())} examples without a label{f' ({label!r})' if label else ''} "
                    f"left out.")
    return ds


def load_file(path, label_column=None, *, n_features=None, delimiter=None, unlabeled="refuse") -> Dataset:
    """Load a data file, choosing the reader by its extension.

    Parameters
    ----------
    path : str or path-like
    label_column : int or str, optional
        CSV only: index (negative counts from the end) or header name of the
        label column. Default: the last column.
    n_features : int, optional
        The number of features a model expects. A CSV file that has exactly
        this many columns is then read as features only (``y`` is None), so
        ``predict`` accepts files with or without the label column.
    delimiter : str, optional
        CSV only. Default: tab for ``.tsv``, else ``,`` (or ``;``/tab when the
        first line has no comma).
    unlabeled : {'refuse', 'drop', 'ignore'}
        Examples without a label (an empty or NA label cell, a NaN label):
        ``refuse`` (the default) raises a DataError saying how many and where
        the first ones are; ``drop`` leaves them out (``ds.notes`` says how
        many); ``ignore`` keeps every example and returns no labels (``y`` is
        None), for prediction. The command line follows the same rule
        (``--drop-unlabeled``).
    """
    path = check_data_path(path)
    ext = os.path.splitext(path)[1].lower()
    if unlabeled not in UNLABELED:
        raise unknown_name("unlabeled", unlabeled, UNLABELED)
    if ext in (".csv", ".tsv", ".txt"):
        return load_csv(path, label_column, n_features=n_features, delimiter=delimiter, unlabeled=unlabeled)
    readers = {".npz": load_npz, ".h5": load_hdf5, ".hdf5": load_hdf5, ".mat": load_mat}
    if ext not in readers:
        raise DataError(f"Cannot tell the format of {path} from its extension {ext or '(none)'!r}. "
                        f"Use .csv, .tsv, .txt, .npz, .h5, .hdf5 or .mat.")
    ds = readers[ext](path)
    for part in (ds, ds.test):
        if part is not None and part.y is not None and part.y.dtype.kind == "f":
            _apply_unlabeled(part, np.isnan(part.y), [f"example {i}" for i in range(part.y.size)], unlabeled)
    return ds


# --- CSV --------------------------------------------------------------------------
def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def integer_names(row) -> bool:
    """Whether a row is exactly ``0, 1, ..., k-1`` (k >= 2): pandas' integer column names."""
    return len(row) >= 2 and [c.strip() for c in row] == [str(j) for j in range(len(row))]


def looks_like_header(first, second) -> bool:
    """Whether the first row of a table is its header.

    A word above a number is a header. So is a first row of exactly ``0, 1, ..., k-1`` (what
    ``pd.DataFrame(array).to_csv(index=False)`` writes) when k >= 3 (no data row looks like
    that) or when the row below holds a cell that is not an integer (``5.1``, ``0.0``).
    """
    if any(not _is_number(c) and (second is None or (i < len(second) and _is_number(second[i])))
           for i, c in enumerate(first)):
        return True
    if not integer_names(first):
        return False
    return len(first) >= 3 or second is None or any(not re.fullmatch(r"[+-]?[0-9]+", c.strip()) for c in second)


def _sniff_delimiter(path, first_line):
    if path.lower().endswith(".tsv"):
        return "\t"
    for d in (",", ";", "\t"):
        if d in first_line:
            return d
    return ","


def csv_error(path, line, exc) -> DataError:
    """The csv module's error as one line naming the file's line (a field over the limit said plainly)."""
    if "field larger than field limit" in str(exc):
        return DataError(f"{path}, line {line}: a field is longer than {csv.field_size_limit():,} characters, "
                         f"the most deepstep reads in one cell; is it really a CSV file?")
    return DataError(f"{path}, line {line}: cannot be read as CSV ({exc}); is it really a CSV file of numbers?")


def read_table(path, delimiter=None, header="auto"):
    """Rows of a delimited text file as strings.

    Returns
    -------
    names : list of str or None
        The header, when there is one.
    rows : list of list of str
        Data rows, all of the same length.
    lines : list of int
        The 1-based line number of each data row (for error messages).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = f.readline()
            f.seek(0)
            d = delimiter or _sniff_delimiter(path, first)
            reader = csv.reader(f, delimiter=d, skipinitialspace=True)
            rows, lines = [], []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                rows.append([c.strip() for c in row])
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text file; is it really CSV?") from None
    except csv.Error as exc:                        # e.g. a field over csv's 131,072-character limit
        raise csv_error(path, reader.line_num if "reader" in locals() else "?", exc) from None
    if not rows:
        raise DataError(f"{path} is empty: a CSV file needs one example per row.")
    if (len(rows) > 1 or len(rows[0]) == 1) and not any(_is_number(c) for row in rows for c in row):
        # Prose, or a table of words: there is no feature to read (a lone header row is told apart below).
        cell = rows[0][0]
        what = "an empty cell" if cell == "" else f"{cell!r} is not a number"
        raise DataError(f"{path}, line {lines[0]}, column 0: {what}. The file has no numeric columns; "
                        f"a data file needs one example per row, its features (numbers) and label "
                        f"separated by commas (or ';' or tabs).")
    if header == "auto":
        head = rows[0]
        second = rows[1] if len(rows) > 1 else None
        header = looks_like_header(head, second)
    names = None
    if header:
        names, rows, lines = rows[0], rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{path} has a header but no data rows.")
    width = len(names) if names is not None else len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise DataError(f"{path}, line {line}: {len(row)} columns, but the "
                            f"{'header' if names else 'first row'} has {width}. Every row needs the same number.")
    return names, rows, lines


def _column_index(label_column, names, width, path):
    if label_column is None:
        return width - 1
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if names is None:
            raise InvalidParameterError(
                f"{path} has no header row, so the label column {label_column!r} cannot be found by "
                f"name; give its index instead (0..{width - 1}, or -1 for the last).")
        if label_column not in names:
            raise unknown_name(f"label column in {path}:", label_column, names)
        return names.index(label_column)
    idx = int(label_column)
    if not -width <= idx < width:
        # A usage error like a misspelled column name (both exit 2 on the command line).
        raise InvalidParameterError(f"Label column {idx} is out of range: {path} has {width} columns "
                                    f"(indices 0..{width - 1}, or -{width}..-1 from the end).")
    return idx % width


def _numeric(cells, lines, cols, path, names):
    """Strings (m, k) -> float64 (m, k), naming the first cell that is not a number."""
    try:
        return np.array(cells, dtype=np.float64).reshape(len(lines), len(cols))
    except ValueError:
        for r, row in enumerate(cells):
            for j, cell in enumerate(row):
                if not _is_number(cell):
                    col = cols[j]
                    label = f" ({names[col]!r})" if names else ""
                    what = "an empty cell" if cell == "" else f"{cell!r} is not a number"
                    raise DataError(f"{path}, line {lines[r]}, column {col}{label}: {what}. "
                                    f"Features must be numeric; encode text as numbers first.") from None
        raise


_INT = __import__("re").compile(r"[+-]?[0-9]+")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _labels(values):
    """Label strings -> ints when all are integers, floats when numeric, else strings.

    Integers are parsed as integers, never through float (9007199254740993 stays
    itself, 10**30 does not wrap); integers beyond int64 stay text, exactly.
    """
    if all(_INT.fullmatch(v) for v in values):
        ints = [int(v) for v in values]
        if all(_INT64[0] <= i <= _INT64[1] for i in ints):
            return np.array(ints, dtype=np.int64)
        return np.array(values, dtype=str)
    try:
        y = np.array(values, dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)
    return _float_labels(y)


def _float_labels(y):
    """Float labels -> int64 when all are integers that float64 and int64 hold exactly."""
    if y.size and np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0) and np.abs(y).max() <= 2 ** 53:
        return y.astype(np.int64)
    return y


def load_csv(path, label_column=None, *, header="auto", n_features=None, delimiter=None,
             unlabeled="refuse") -> Dataset:
    """Load a CSV file: one example per row, one column of labels.

    See :func:`load_file` for the parameters. ``header`` is ``"auto"``,
    True or False. Raises :class:`DataError` naming the line and column of a
    non-numeric feature, a ragged row, or an empty file.
    """
    path = os.fspath(path)
    names, rows, lines = read_table(path, delimiter, header)
    width = len(rows[0])
    if width == 1 and not (n_features == 1 and label_column is None):
        # One column is the labels and leaves no features: say why, before anything trains on it.
        bad = next(((line, cell) for row, line in zip(rows, lines) for cell in row if not _is_number(cell)), None)
        if bad is not None:
            what = "an empty cell" if bad[1] == "" else f"{bad[1]!r} is not a number"
            raise DataError(f"{path}, line {bad[0]}, column 0: {what}. The file has a single column and "
                            f"no numeric feature columns; a data file needs one example per row, its "
                            f"features and label separated by commas (or ';' or tabs).")
        raise DataError(f"{path} has a single column (taken as the labels) and no feature columns; "
                        f"a data file needs one example per row, its features and label separated by "
                        f"commas (or ';' or tabs).")
    if n_features is not None and width == n_features and label_column is None:
        label = None
    else:
        label = _column_index(label_column, names, width, path)
    cols = [j for j in range(width) if j != label]
    orig_lines = lines
    cells = [[row[j] for j in cols] for row in rows]
    X = _numeric(cells, lines, cols, path, names).T                      # (n_x, m)
    missing = None
    if label is not None:
        missing = np.array([row[label] in MISSING for row in rows], dtype=bool)
        if missing.any() and unlabeled == "drop" and not missing.all():
            keep = np.flatnonzero(~missing)
            rows, lines = [rows[i] for i in keep], [lines[i] for i in keep]
            X = X[:, keep]
    y = None if label is None or unlabeled == "ignore" and missing.any() else _labels(
        [row[label] for row in rows])
    _check_finite(X, path, lines, cols, names)
    feats = [names[j] for j in cols] if names else None
    ds = Dataset(X, y, feature_names=feats, source=path)
    if missing is not None and missing.any() and unlabeled != "ignore":
        if unlabeled == "drop" and not missing.all():
            ds.notes.append(f"{int(missing.sum())} examples without a label"
                            f"{f' ({names[label]!r})' if names else ''} left out.")
        else:
            raise unlabeled_rows(path, [f"line {ln}" for ln, m in zip(orig_lines, missing) if m],
                                 names[label] if names else None)
    return ds


def _check_finite(X, source, lines=None, cols=None, names=None):
    """Raise DataError naming the first NaN/inf in X (n_x, m)."""
    if np.issubdtype(X.dtype, np.floating) and not np.all(np.isfinite(X)):
        e, f = np.argwhere(~np.isfinite(X.T))[0]            # first bad example, then feature
        label = f" ({names[cols[f]]!r})" if names and cols is not None else ""
        where = (f"line {lines[e]}, column {cols[f]}{label}" if lines is not None
                 else f"example {e}, feature {f}")
        raise DataError(f"{source}, {where}: {X[f, e]} -- the data contains NaN or infinite values; "
                        f"clean or impute them first.")


# --- arrays (NPZ, HDF5, MAT) ---------------------------------------------------------
def _from_rows(x, y, source, feature_names=None, class_names=None) -> Dataset:
    """Examples as rows (m, ...) -> Dataset with X (n_x, m)."""
    x = np.asarray(x)
    if x.dtype.kind in "USO":
        raise DataError(f"{source}: X holds text ({x.dtype}), not numbers; features must be numeric.")
    if x.dtype.kind == "c":
        raise DataError(f"{source}: X is complex ({x.dtype}); deepstep trains on real numbers (split "
                        f"the real and imaginary parts into features).")
    if x.dtype.kind in "mM":
        raise DataError(f"{source}: X holds {x.dtype} values (times or durations), not numbers; "
                        f"convert them to numbers first.")
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: X must be numeric. Got dtype {x.dtype}.")
    if x.ndim < 2:
        raise DataError(f"{source}: X has shape {x.shape}; it needs one example per row, (m, n_x).")
    if x.shape[0] == 0 or math.prod(x.shape[1:]) == 0:
        raise DataError(f"{source}: X has shape {x.shape}: no examples or no features.")
    m = x.shape[0]
    # (m, h, w) or (m, h, w, c) are images; more axes are features, flattened (no image shape)
    image_shape = tuple(int(s) for s in x.shape[1:]) if x.ndim in (3, 4) else None
    X = x.reshape(m, -1).T                                   # C order over (row, col, channel)
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and 1 in y.shape:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != m:
            raise DataError(f"{source}: X has {m} examples (rows) but y has shape {y.shape}; "
                            f"y needs one label per example.")
        if y.dtype.kind in "cmMV" or y.dtype.hasobject:
            raise DataError(f"{source}: y holds {y.dtype} values; labels must be real numbers, "
                            f"integers or text.")
        if y.dtype.kind == "S":
            y = y.astype(str)
        elif y.dtype.kind == "u" and y.size and int(y.max()) > _INT64[1]:
            y = y.astype(str)                          # beyond int64: exact, as text
        elif y.dtype.kind in "biu":
            y = y.astype(np.int64)
        elif y.dtype.kind == "f":
            y = _float_labels(y)
    if not np.issubdtype(X.dtype, np.integer):
        X = X.astype(np.float64, copy=False)
    _check_finite(X, source)
    preprocess = "divide255" if x.dtype == np.uint8 else "standardize"
    if feature_names is not None:
        feature_names = [str(n) for n in np.asarray(feature_names).ravel()]
        if len(feature_names) != X.shape[0]:
            raise DataError(f"{source}: {len(feature_names)} feature names for {X.shape[0]} features.")
    return Dataset(X, y, feature_names, image_shape, class_names, preprocess, source)


def load_npz(path) -> Dataset:
    """Load ``X`` (m, n_x) or images (m, h, w, c), and ``y`` (m,), from a .npz file."""
    path = os.fspath(path)
    wanted = ("X", "x", "y", "Y", "feature_names", "X_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = [k for k in wanted if k in z.files]
            _check_npz_sizes(z, names, path)
            arrays = {k: z[k] for k in names}            # only the arrays deepstep uses
            if not names:
                arrays = dict.fromkeys(z.files)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any failure to parse means "not a readable .npz"
        raise DataError(f"{path} could not be read as a .npz archive: {exc}") from None
    xk = next((k for k in ("X", "x") if k in arrays), None)
    if xk is None:
        raise DataError(f"{path} has no array 'X' (or 'x'); it holds {sorted(arrays)}.")
    ds = _from_rows(arrays[xk], arrays.get("y", arrays.get("Y")), path, arrays.get("feature_names"))
    if "X_test" in arrays:
        ds.test = _from_rows(arrays["X_test"], arrays.get("y_test"), path + ":test", arrays.get("feature_names"))
    return ds


def _check_npz_sizes(z, names, path):
    """Each array's declared size, from its .npy header, against its entry and the memory available."""
    for name in names:
        info = z.zip.getinfo(name + ".npy")
        with z.zip.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            shape, _, dtype = (np.lib.format.read_array_header_1_0(fp) if version == (1, 0)
                               else np.lib.format.read_array_header_2_0(fp))
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > info.file_size:
                raise DataError(f"{path}: array {name!r} declares shape {shape} ({nbytes:,} bytes) but its "
                                f"entry holds {info.file_size:,} bytes; the file is corrupt or truncated.")
        check_fits(nbytes, f"{path}: array {name!r} of shape {shape}", DataError)


def _h5_array(f, key, path):
    """``f[key]`` read as an array, after checking it is a dataset whose size fits in memory."""
    import h5py

    try:
        obj = f.get(key)
    except (KeyError, OSError, RuntimeError, ValueError) as exc:
        raise DataError(f"{path}: {key!r} cannot be read ({exc}).") from None
    if obj is None:
        raise DataError(f"{path}: {key!r} is a link to nothing (a dangling link); it must be a dataset.")
    if not isinstance(obj, h5py.Dataset):
        raise DataError(f"{path}: {key!r} is a {type(obj).__name__.lower()}, not a dataset of numbers.")
    if obj.dtype.kind not in "biufSUO" and obj.dtype.kind != "c":
        raise DataError(f"{path}: {key!r} holds {obj.dtype} values, not numbers.")
    nbytes = math.prod(obj.shape or ()) * obj.dtype.itemsize
    check_fits(nbytes, f"{path}: dataset {key!r} of shape {obj.shape}", DataError)
    try:
        return obj[()]
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: {key!r} cannot be read ({exc}).") from None


def load_hdf5(path, split=None) -> Dataset:
    """Load the deeplearning.ai image format: ``<split>_set_x`` (m, h, w, c), ``<split>_set_y`` (m,).

    ``split`` picks among several (``train``/``test``) in one file; by
    default the only one. ``list_classes`` becomes ``class_names``.
    """
    import h5py

    path = os.fspath(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path} could not be read as HDF5: {exc}") from None
    with f:
        keys = list(f.keys())
        if "X" in keys or "x" in keys:
            xk = "X" if "X" in keys else "x"
            return _from_rows(_h5_array(f, xk, path), _h5_array(f, "y", path) if "y" in keys else None, path)
        splits = [k[: -len("_set_x")] for k in keys if k.endswith("_set_x")]
        if not splits:
            raise DataError(f"{path} has no '<split>_set_x' dataset (nor 'X'); it holds {keys}.")
        if split is None:
            if len(splits) > 1:
                raise DataError(f"{path} holds several splits {splits}; choose one.")
            split = splits[0]
        if split not in splits:
            raise unknown_name(f"split in {path}:", split, splits)
        x = _h5_array(f, f"{split}_set_x", path)
        y = _h5_array(f, f"{split}_set_y", path) if f"{split}_set_y" in keys else None
        names = None
        if "list_classes" in keys:
            raw = _h5_array(f, "list_classes", path)
            names = [c.decode() if isinstance(c, bytes) else str(c) for c in np.asarray(raw).ravel()]
    return _from_rows(x, y, path, class_names=names)


#: Bytes per element of a MAT variable's class as ``scipy.io.whosmat`` names it (others: 8).
_MAT_ITEMSIZE = {"int8": 1, "uint8": 1, "logical": 1, "char": 4, "int16": 2, "uint16": 2, "int32": 4,
                 "uint32": 4, "single": 4, "double": 8, "int64": 8, "uint64": 8}


def load_mat(path) -> Dataset:
    """Load a MATLAB file with ``X`` (m, n_x), ``y`` (m, 1) and optionally ``Xval``/``yval``."""
    import scipy.io

    path = os.fspath(path)
    try:
        # each variable's declared size, from the file's headers, before anything is read:
        # a small compressed file can declare arrays far larger than memory
        for name, shape, kind in scipy.io.whosmat(path):
            nbytes = math.prod(shape) * _MAT_ITEMSIZE.get(kind, 8)
            check_fits(nbytes, f"{path}: variable {name!r} of shape {tuple(shape)}", DataError)
        d = scipy.io.loadmat(path)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 -- scipy raises many types for unreadable files
        raise DataError(f"{path} could not be read as a MAT file: {exc}") from None
    if "X" not in d:
        raise DataError(f"{path} has no variable 'X'; it holds {sorted(k for k in d if not k.startswith('__'))}.")
    ds = _from_rows(d["X"], d.get("y"), path)
    if "Xval" in d:
        ds.test = _from_rows(d["Xval"], d.get("yval"), path + ":val")
    return ds


# --- bundled datasets -------------------------------------------------------------------
def load_dataset(name, test_fraction=TEST_FRACTION, seed=SPLIT_SEED):
    """A bundled dataset as ``(train, test)``, split deterministically.

    The split is stratified by label with a fixed seed, so every run (and
    every machine) sees the same examples.

    Parameters
    ----------
    name : {'breast_cancer', 'digits', 'moons', 'circles'}
        breast_cancer: 569 examples, 30 features, 2 classes. digits: 1797
        examples, 64 features (8x8 pixels, 0..16), 10 classes. moons and
        circles: 600 generated 2-D points, 2 classes.
    test_fraction : float in (0, 1)
    seed : int

    Returns
    -------
    (Dataset, Dataset)
        X of shape (n_x, m_train) and (n_x, m_test).
    """
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    feature_names = class_names = None
    if name == "breast_cancer":
        b = datasets.load_breast_cancer()
        x, y = b.data, b.target
        feature_names, class_names = list(b.feature_names), list(b.target_names)
    elif name == "digits":
        b = datasets.load_digits()
        x, y = b.data, b.target
        class_names = [str(c) for c in b.target_names]
    elif name == "moons":
        x, y = datasets.make_moons(n_samples=600, noise=0.2, random_state=seed)
    else:
        x, y = datasets.make_circles(n_samples=600, noise=0.05, factor=0.5, random_state=seed)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    src = f"dataset:{name}"
    make = lambda a, b, part: Dataset(
        np.ascontiguousarray(a.T, dtype=np.float64), b.astype(np.int64), feature_names, None,
        class_names, "standardize", f"{src}:{part}")
    return make(xtr, ytr, "train"), make(xte, yte, "test")
