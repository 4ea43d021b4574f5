"""Tables of named columns -> the model's X: columns chosen by name, text one-hot, missing values imputed.

A CSV file is read as a :class:`Table` (column names, one array per column:
float64 with NaN for missing numbers, or text with None for missing cells).
A :class:`TabularEncoder` is *fitted on the training rows only* and then turns
any table with the same column names (in any order, with extra columns) into
the model's X of shape (n_x, m):

* numeric columns pass through; missing values become the training median
  (or mean), as scikit-learn's ``SimpleImputer(strategy="median")``;
* text columns become one 0/1 feature per category seen in training (sorted,
  as scikit-learn's ``OneHotEncoder``), missing text the most frequent
  category; a category not seen in training becomes all zeros
  (``handle_unknown="ignore"``) with one warning;
* ``impute="none"`` refuses missing values instead, naming the first one.

The encoder also records the task, the label column (name and index) and each
input column's name and type, and its whole state is plain JSON (names,
categories, fill values): the model file stores it with no pickle.

NumPy-only at import; pandas (when installed) makes reading large files fast.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from .data import MISSING, unlabeled_rows  # noqa: F401 -- MISSING: part of this module's interface
from .errors import DataError, InvalidParameterError

IMPUTE = ("median", "mean", "none")
TASKS = ("auto", "classification", "regression")
#: A text column with more distinct values than this fraction of its rows (and > 20) is refused as an identifier.
ID_FRACTION = 0.5


@dataclass
class Table:
    """Columns by name, as read from a file: ``columns[j]`` is float64 (NaN = missing) or object (None = missing).

    ``lines[i]`` is the 1-based file line of row i (for messages).
    """

    names: list
    columns: list
    has_header: bool
    source: str
    lines: np.ndarray | None = None
    #: What the reader decided about the file's format (its separator, decimal commas), for the banner.
    notes: list = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return 0 if not self.columns else len(self.columns[0])

    def index(self, name) -> int:
        return self.names.index(name)

    def column(self, name):
        return self.columns[self.names.index(name)]

    def take(self, rows) -> Table:
        """The rows ``rows`` (an index array) of every column."""
        return Table(list(self.names), [c[rows] for c in self.columns], self.has_header, self.source,
                     None if self.lines is None else self.lines[rows])

    def drop(self, names) -> Table:
        keep = [j for j, n in enumerate(self.names) if n not in set(names)]
        return Table([self.names[j] for j in keep], [self.columns[j] for j in keep], self.has_header,
                     self.source, self.lines)

    def drop_at(self, positions) -> Table:
        """The table without the columns at ``positions`` (names may repeat: '' twice)."""
        keep = [j for j in range(len(self.names)) if j not in set(positions)]
        return Table([self.names[j] for j in keep], [self.columns[j] for j in keep], self.has_header,
                     self.source, self.lines)

    def line(self, i) -> str:
        return f"line {int(self.lines[i])}" if self.lines is not None else f"row {i + 1}"


def is_numeric(col) -> bool:
    return col.dtype.kind in "fi"


# --- reading ----------------------------------------------------------------------------------
#: Files under this size are read by the csv module (fast enough, and its errors name the line).
SMALL_FILE = 1 << 20
READERS = ("auto", "csv", "pandas", "loadtxt", "streaming")


SEPARATORS = {"auto": None, ",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}
DECIMALS = ("auto", ".", ",")


def read_csv(path, delimiter=None, header="auto", *, reader="auto", decimal="auto") -> Table:
    """A delimited text file as a :class:`Table`, its separator and decimal mark detected or given.

    ``delimiter``: None (detected: the first of ``,``, ``;``, tab in the first line) or the separator.
    ``decimal``: ``"auto"`` reads decimal commas (``14,23``) as numbers in a file whose separator is
    not a comma, when every cell of a column is such a number; ``","`` insists; ``"."`` never.
    What was detected is said in :attr:`Table.notes`. See :func:`_read_csv` for the readers.
    """
    if decimal not in DECIMALS:
        from .errors import unknown_name

        raise unknown_name("decimal mark", decimal, DECIMALS)
    from . import data

    if path == "-":                       # standard input, saved once: read, then sniffed like a file
        path = _stdin_file()
        table = _read_rows_table(*data.read_table(path, delimiter, header), "standard input")
    else:
        table = _read_csv(path, delimiter, header, reader=reader)
    sep = delimiter
    if sep is None:
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                sep = data._sniff_delimiter(os.fspath(path), fh.readline())
        except (OSError, UnicodeDecodeError):
            sep = ","
    if decimal == "," and sep == ",":
        raise InvalidParameterError(f"{table.source}: decimal commas need another separator than ','; "
                                    f"give --sep ';' (or the file's separator).")
    if delimiter is None and sep not in (None, ","):
        table.notes.append(f"{table.source}: the separator is {'tab' if sep == chr(9) else repr(sep)} "
                           f"(detected; --sep to set it)")
    if decimal == "," or (decimal == "auto" and sep not in (None, ",")):
        converted = _read_decimal_commas(table)
        if converted:
            shown = ", ".join(map(repr, converted[:4])) + (" ..." if len(converted) > 4 else "")
            table.notes.append(f"{table.source}: decimal commas (14,23) in {len(converted)} column"
                               f"{'s' if len(converted) > 1 else ''} ({shown}) read as numbers"
                               + (" (detected; --decimal . reads them as text)" if decimal == "auto" else ""))
    return table


_DECIMAL_COMMA = re.compile(r"[+-]?([0-9]+(,[0-9]*)?|,[0-9]+)([eE][+-]?[0-9]+)?")


def _read_decimal_commas(table) -> list:
    """Text columns whose every cell is a number written with a decimal comma, made numbers; their names."""
    out = []
    for j, col in enumerate(table.columns):
        if is_numeric(col):
            continue
        cells = [v for v in col if v is not None]
        if cells and any("," in v for v in cells) and all(_DECIMAL_COMMA.fullmatch(v) for v in cells):
            table.columns[j] = np.array([np.nan if v is None else float(v.replace(",", ".")) for v in col],
                                        dtype=np.float64)
            out.append(table.names[j])
    return out


def _read_csv(path, delimiter=None, header="auto", *, reader="auto") -> Table:
    """A delimited text file (or ``"-"``: standard input) as a :class:`Table`.

    The header row is detected as :func:`deepstep.data.read_table` does;
    headerless files get the names ``column 0``, ``column 1``, ... (0-based, as --label-column counts). Files under
    :data:`SMALL_FILE` are read by the csv module; larger ones by pandas' C
    reader when pandas is installed, else by ``np.loadtxt`` (numbers only) or a
    streaming reader (text, missing cells). Whatever the reader, the same
    protections hold: only regular files are read (a FIFO, a device, or a link
    to one is refused), a field longer than the csv module's limit (131,072
    characters) is refused naming its line, and integers are read exactly (a
    label 2**53 + 1 stays itself; nothing is cast through float64 silently).
    Any file pandas or ``np.loadtxt`` cannot parse is re-read with the csv
    module, so the error names the line. ``reader`` forces one reader (tests,
    benchmarks); ``"auto"`` chooses as above.
    """
    from . import data

    if reader not in READERS:
        from .errors import unknown_name

        raise unknown_name("CSV reader", reader, READERS)
    if path == "-":
        return _read_rows_table(*data.read_table(_stdin_file(), delimiter, header), "standard input")
    path = data.check_data_path(path)
    if reader == "auto":
        reader = "csv" if os.path.getsize(path) < SMALL_FILE else "large"
    if reader == "csv":
        return _read_rows_table(*data.read_table(path, delimiter, header), path)
    if _has_long_line(path):            # a field may pass the csv module's limit: it checks, naming the line
        return _read_streaming(path, delimiter, header)
    if reader in ("large", "pandas"):
        fast = _read_with_pandas(path, delimiter, header)
        if fast is not None:
            return fast
    if reader in ("large", "pandas", "loadtxt"):
        numeric = _read_numeric(path, delimiter, header)
        if numeric is not None:
            return numeric
    return _read_streaming(path, delimiter, header)


def _has_long_line(path, chunk=1 << 24) -> bool:
    """Whether a line of the file is longer than the csv module's field limit (a vectorized scan).

    pandas and ``np.loadtxt`` have no field limit; such files go to the csv-module reader,
    which refuses a field over the limit naming its line (and reads long rows of short fields).
    """
    import csv

    limit = csv.field_size_limit()
    carry = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                return carry > limit
            nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            if nl.size == 0:
                carry += len(block)
                if carry > limit:
                    return True
                continue
            if carry + nl[0] > limit or (nl.size > 1 and int(np.diff(nl).max()) > limit + 1):
                return True
            carry = len(block) - int(nl[-1]) - 1


def _read_numeric(path, delimiter, header):
    """An all-numeric file with no missing cells, by np.loadtxt (its speed and memory); else None."""
    import csv

    from . import data

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            head = [fh.readline(), fh.readline()]
    except (OSError, UnicodeDecodeError):
        return None
    d = delimiter or data._sniff_delimiter(path, head[0])
    rows = [[c.strip() for c in r] for r in csv.reader(head, delimiter=d) if r]
    if len(rows) < 2:
        return None
    if header == "auto":
        header = data.looks_like_header(rows[0], rows[1])
    try:
        X = np.loadtxt(path, delimiter=d, skiprows=1 if header else 0, ndmin=2, encoding="utf-8-sig",
                       dtype=np.float64)
    except ValueError:                     # a word, a missing cell, a ragged row: the careful reader
        return None
    if X.shape[1] != len(rows[0]) or not np.isfinite(X).all() or not (np.abs(X) < 2 ** 53).all():
        return None                        # ... or an integer float64 may not hold: the exact readers
    names = rows[0] if header else [f"column {j}" for j in range(X.shape[1])]
    return Table(list(names), [np.ascontiguousarray(X[:, j]) for j in range(X.shape[1])], bool(header), path)


def _read_streaming(path, delimiter, header):
    """A large file without pandas: parsed row by row into typed columns (8 bytes a number, as np.loadtxt).

    Numbers go straight into float64 buffers; a column turns to text at its first word. Checks as
    :func:`deepstep.data.read_table` (ragged rows name their line).
    """
    import csv
    from array import array

    from . import data

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            d = delimiter or data._sniff_delimiter(path, fh.readline())
            fh.seek(0)
            reader = csv.reader(fh, delimiter=d, skipinitialspace=True)
            first = second = None
            for row in reader:
                if row and any(c.strip() for c in row):
                    if first is None:
                        first = [c.strip() for c in row]
                    else:
                        second = [c.strip() for c in row]
                        break
            if first is None:
                raise DataError(f"{path} is empty: a CSV file needs one example per row.")
            if header == "auto":
                header = data.looks_like_header(first, second)
            width = len(first)
            names = first if header else [f"column {j}" for j in range(width)]
            nums = [array("d") for _ in range(width)]
            texts = [None] * width                        # list of str once a column holds a word
            lines = array("q")

            def add(cells, line):
                if len(cells) != width:
                    raise DataError(f"{path}, line {line}: {len(cells)} columns, but the "
                                    f"{'header' if header else 'first row'} has {width}. Every row needs "
                                    f"the same number.")
                lines.append(line)
                for j, c in enumerate(cells):
                    c = c.strip()
                    if texts[j] is not None:
                        texts[j].append(None if c in MISSING else c)
                        continue
                    try:
                        v = float(c)
                    except ValueError:
                        if c in MISSING:
                            nums[j].append(math.nan)
                        else:                             # the column is text: its numbers so far as text
                            texts[j] = [_number_text(v) for v in nums[j]] + [c]
                            nums[j] = None
                        continue
                    if abs(v) >= 2 ** 53 and _INT.fullmatch(c):   # float64 would round it: kept as text,
                        texts[j] = [_number_text(v) for v in nums[j]] + [c]   # typed exactly at the end
                        nums[j] = None
                    else:
                        nums[j].append(v)

            fh.seek(0)
            reader = csv.reader(fh, delimiter=d, skipinitialspace=True)
            skipped_header = not header
            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                if not skipped_header:
                    skipped_header = True
                    continue
                add(row, reader.line_num)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text file; is it really CSV?") from None
    except csv.Error as exc:                        # e.g. a field over csv's 131,072-character limit
        raise data.csv_error(path, reader.line_num if "reader" in locals() else "?", exc) from None
    if not lines:
        raise DataError(f"{path} has a header but no data rows.")
    # a text column may be numbers after all (integers beyond 2**53): typed as the csv-module reader does
    cols = [np.frombuffer(nums[j], dtype=np.float64).copy() if texts[j] is None
            else _typed_column(["" if t is None else t for t in texts[j]]) for j in range(width)]
    return Table(list(names), cols, bool(header), path, np.frombuffer(lines, dtype=np.int64).copy())


def _number_text(v):
    """A float read from a cell, as text again (integers without '.0'; missing as None)."""
    if math.isnan(v):
        return None
    return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)


def _stdin_file():
    """Standard input saved to a temporary file (read twice: header detection, then parsing)."""
    import tempfile

    text = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    if not text.strip():
        raise DataError("Standard input is empty: '--data -' reads a CSV file from standard input.")
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="deepstep-stdin-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text)
    import atexit

    atexit.register(lambda: os.path.exists(name) and os.unlink(name))
    return name


def _read_rows_table(names, rows, lines, source) -> Table:
    width = len(rows[0])
    has_header = names is not None
    if names is None:
        names = [f"column {j}" for j in range(width)]
    cols = [_typed_column([r[j] for r in rows]) for j in range(width)]
    return Table(list(names), cols, has_header, source, np.asarray(lines))


_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _typed_column(cells):
    """Strings -> float64 (NaN for missing) when every non-missing cell is a number, else text (None = missing).

    Integers that float64 does not hold exactly (beyond 2**53) are kept exact: int64 when
    every cell is an integer that int64 holds, else text, so that 9007199254740993 and
    9007199254740992 stay two labels and 10**30 never wraps.
    """
    try:
        out = np.array(cells, dtype=np.float64)
    except ValueError:
        pass
    else:
        if out.size and not (np.abs(out) < 2 ** 53).all() and all(_INT.fullmatch(c) for c in cells):
            ints = [int(c) for c in cells]
            if all(_INT64[0] <= i <= _INT64[1] for i in ints):
                return np.array(ints, dtype=np.int64)
            return np.array(cells, dtype=object)
        return out
    out = np.empty(len(cells), dtype=np.float64)
    for i, c in enumerate(cells):
        if c in MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(c)
        except ValueError:
            return np.array([None if c in MISSING else c for c in cells], dtype=object)
    if not (np.abs(out[~np.isnan(out)]) < 2 ** 53).all() and all(c in MISSING or _INT.fullmatch(c)
                                                               for c in cells):
        # integers float64 would round, and missing cells: exact text (labels_of makes them int64 again)
        return np.array([None if c in MISSING else c for c in cells], dtype=object)
    return out


def _read_with_pandas(path, delimiter, header):
    """The table read by pandas, or None (pandas absent, or a file it cannot parse).

    Every column comes out as the csv-module reader types it: numbers float64 (parsed as
    Python's ``float`` does: pandas >= 3 by default, older with ``float_precision="round_trip"``),
    integers that float64 would round exactly (int64, else text), text as text. pandas' own guesses are not trusted
    where they would differ: a column it reads as integers beyond 2**53 with a missing cell
    (float64), as unsigned 64-bit, or as booleans (``True``/``False`` are text to deepstep)
    is read again as text and typed exactly.
    """
    try:
        import pandas as pd
    except ImportError:
        return None
    from . import data

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            head = [fh.readline(), fh.readline()]
    except (OSError, UnicodeDecodeError):
        return None
    d = delimiter or data._sniff_delimiter(path, head[0])
    if header == "auto":
        import csv

        rows = [[c.strip() for c in r] for r in csv.reader(head, delimiter=d) if r]
        if len(rows) < 2:
            return None
        header = data.looks_like_header(rows[0], rows[1])
    options = dict(sep=d, header=0 if header else None, skipinitialspace=True, encoding="utf-8-sig",
                   na_values=list(MISSING), keep_default_na=False, skip_blank_lines=True)
    try:
        # pandas >= 3 parses floats as Python does by default (and deprecates the option)
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        df = pd.read_csv(path, low_memory=False, **exact, **options)
    except Exception:  # noqa: BLE001 -- any parse problem: the csv module re-reads and names the line
        return None
    if df.shape[0] == 0:
        return None
    import csv

    names = ([("" if str(n).startswith("Unnamed: ") else str(n).strip()) for n in df.columns] if header
             else [f"column {j}" for j in range(df.shape[1])])
    cols = []
    for j, name in enumerate(df.columns):
        s = df[name]
        kind = s.dtype.kind
        if kind == "i":
            big = s.size and int(s.abs().max()) >= 2 ** 53
            cols.append(s.to_numpy(dtype=np.int64) if big else s.to_numpy(dtype=np.float64))
            continue
        if kind == "f" and not (s.abs() >= 2 ** 53).any():
            cols.append(s.to_numpy(dtype=np.float64, na_value=np.nan))
            continue
        if kind in "fub":                      # big integers through float64, uint64, booleans: as text
            try:
                s = pd.read_csv(path, usecols=[j], dtype=str, **options).iloc[:, 0]
            except Exception:  # noqa: BLE001
                return None
        vals = s.to_numpy(dtype=object)
        cells = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip() for v in vals]
        if max(map(len, cells), default=0) > csv.field_size_limit():
            return None                        # the csv-module reader refuses it, naming the line
        cols.append(_typed_column(cells))
    return Table(names, cols, bool(header), path, None)


def from_frame(df, source="the DataFrame") -> Table:
    """A pandas DataFrame as a :class:`Table` (for :class:`TabularEncoder` from Python).

    >>> enc = TabularEncoder.fit(from_frame(train_df), ["island", "bill_length_mm"])   # doctest: +SKIP
    >>> X = enc.transform(from_frame(test_df))                # (n_x, m), for DeepNetwork  # doctest: +SKIP
    """
    cols = []
    for name in df.columns:
        s = df[name]
        if s.dtype.kind in "iufb":
            cols.append(s.to_numpy(dtype=np.float64, na_value=np.nan))
        else:                    # object, string, category: text, None where missing (NaN, None, pd.NA)
            miss = s.isna().to_numpy()
            cols.append(np.array([None if m else str(v) for v, m in zip(s.to_numpy(dtype=object), miss)],
                                 dtype=object))
    return Table([str(n) for n in df.columns], cols, True, source, None)


# --- columns -----------------------------------------------------------------------------------
def index_column(table) -> str | None:
    """The name ('' or similar) of an unnamed leading index column (pandas' ``to_csv``), else None."""
    if not table.has_header or not table.names or table.names[0].strip() not in ("", "Unnamed: 0", "index"):
        return None
    if table.names[0].strip() == "index" and table.names.count("index") != 1:
        return None
    col = table.columns[0]
    if not is_numeric(col) or np.isnan(col).any() or np.any(np.mod(col, 1) != 0):
        return None
    return table.names[0] if np.unique(col).size == col.size else None


def empty_unnamed(table) -> list:
    """Positions of unnamed columns ('' or pandas' 'Unnamed: 3') whose every cell is empty (a trailing comma)."""
    if not table.has_header:
        return []
    return [j for j, (n, c) in enumerate(zip(table.names, table.columns))
            if (n.strip() == "" or re.fullmatch(r"Unnamed: [0-9]+", n.strip())) and missing_mask(c).all()]


def resolve_column(spec, table, what="label column"):
    """A column's name from an index (negative from the end) or a name."""
    names = table.names
    if isinstance(spec, int) or (isinstance(spec, str) and spec.lstrip("-").isdigit()):
        idx = int(spec)
        if not -len(names) <= idx < len(names):
            w = len(names)
            raise InvalidParameterError(f"{what[0].upper() + what[1:]} {idx} is out of range: {table.source} has "
                                        f"{w} columns (indices 0..{w - 1}, or -{w}..-1 from the end).")
        return names[idx]
    if spec not in names:
        from .errors import unknown_name

        if not table.has_header:
            raise InvalidParameterError(f"{table.source} has no header row, so the {what} {spec!r} cannot be "
                                        f"found by name; give its index instead (0..{len(names) - 1}).")
        raise unknown_name(f"{what} in {table.source}:", spec, names)
    return spec


LABEL_NAMES = ("label", "target", "class", "y")


def default_label(table):
    """(name, why): the one column named like a label (``label``, ``target``, ``class``, ``y``), else the last."""
    named = [n for n in table.names if n.strip().lower() in LABEL_NAMES]
    if table.has_header and len(named) == 1:
        return named[0], "named like a label"
    return table.names[-1], "the last column"


def labels_of(col):
    """A label column as ints (integral numbers), floats, or text."""
    if is_numeric(col):
        if col.dtype.kind == "i":                   # exact integers (beyond float64's 2**53)
            return col
        if np.all(np.mod(col, 1) == 0) and np.abs(col).max(initial=0) < 2 ** 53:
            return col.astype(np.int64)
        return col
    if col.size and all(isinstance(v, str) and _INT.fullmatch(v) for v in col):
        ints = [int(v) for v in col]             # integers read as text to stay exact (beyond 2**53)
        if all(_INT64[0] <= i <= _INT64[1] for i in ints):
            return np.array(ints, dtype=np.int64)
    return col.astype(str)


def missing_mask(col):
    if col.dtype.kind == "i":
        return np.zeros(col.shape, dtype=bool)
    return np.isnan(col) if is_numeric(col) else np.array([v is None for v in col], dtype=bool)


# --- the encoder -------------------------------------------------------------------------------
class TabularEncoder:
    """Named input columns -> X (n_x, m); fitted on training rows; state as plain JSON.

    Attributes
    ----------
    columns : list of dict
        One per input column, in the model's order: ``name``, ``dtype``
        (``"float64"`` or ``"str"``), ``fill`` (the imputed value, or None with
        ``impute="none"``) and, for text, ``categories`` (sorted).
    impute : {'median', 'mean', 'none'}
    task : {'classification', 'regression'} or None
    label : dict or None
        ``{"name": ..., "index": ...}``: the training file's label column.
    """

    def __init__(self, columns, impute="median", task=None, label=None):
        self.columns = [dict(c) for c in columns]
        self.impute = impute
        self.task = task
        self.label = label

    @property
    def input_names(self):
        return [c["name"] for c in self.columns]

    @property
    def feature_names(self):
        """Names of the model's features: a numeric column's name, ``name_category`` per category."""
        out = []
        for c in self.columns:
            if c["dtype"] == "str":
                out += [f"{c['name']}_{cat}" for cat in c["categories"]]
            else:
                out.append(c["name"])
        return out

    @property
    def n_features(self):
        return len(self.feature_names)

    @property
    def is_plain(self):
        """All columns numeric and no imputation: X is the columns themselves."""
        return all(c["dtype"] == "float64" for c in self.columns)

    def describe(self) -> str:
        text = [c for c in self.columns if c["dtype"] == "str"]
        num = len(self.columns) - len(text)
        parts = [f"{num} numeric"] if num else []
        if text:
            parts.append(f"{len(text)} text (one-hot: " + ", ".join(
                f"{c['name']} {len(c['categories'])}" for c in text) + ")")
        return ", ".join(parts)

    # -- fitting ----------------------------------------------------------------------------
    @classmethod
    def fit(cls, table, features, impute="median", task=None, label=None, categorical=None, *, python=False):
        """Fit on ``table`` (training rows only) for the input columns ``features`` (names).

        ``categorical``: names of numeric columns to one-hot anyway (codes such as 1/2/3).
        ``python``: the messages name the estimators' options (``impute='median'``), not the flags.
        Raises DataError for a column that cannot be used (all missing, an identifier,
        a mostly-numeric column with a stray word, missing values under ``impute="none"``).
        """
        if impute not in IMPUTE:
            from .errors import unknown_name

            raise unknown_name("impute strategy", impute, IMPUTE)
        categorical = set(categorical or ())
        unknown = categorical - set(features)
        if unknown:
            raise InvalidParameterError(f"--categorical names {sorted(unknown)}, which are not input columns.")
        drop = (lambda n: "leave it out of X") if python else (lambda n: f"--drop {n!r}")
        fill_flag = "impute='median'" if python else "--impute median"
        columns = []
        for name in features:
            col = table.column(name)
            miss = missing_mask(col)
            if miss.all():
                raise DataError(f"{table.source}: column {name!r} has no values (every cell is missing); "
                                f"drop it ({drop(name)}).")
            if miss.any() and impute == "none":
                i = int(np.argmax(miss))
                raise DataError(f"{table.source}, {table.line(i)}: column {name!r} is missing a value "
                                f"({int(miss.sum())} missing in all) and {'impute' if python else '--impute'} is none; "
                                f"fill them, or impute them ({fill_flag}).")
            if is_numeric(col) and name not in categorical:
                if not np.all(np.isfinite(col[~miss])):
                    i = int(np.argmax(~np.isfinite(col) & ~miss))
                    raise DataError(f"{table.source}, {table.line(i)}: column {name!r} holds {col[i]}; "
                                    f"the data contains infinite values; clean them first.")
                fill = None if impute == "none" else float(
                    np.median(col[~miss]) if impute == "median" else np.mean(col[~miss]))
                columns.append({"name": name, "dtype": "float64", "fill": fill})
                continue
            values = _as_text(col)
            _refuse_stray_words(values, miss, name, table)
            cats, counts = np.unique(values[~miss].astype(str), return_counts=True)
            n = int((~miss).sum())
            if cats.size > 20 and cats.size > ID_FRACTION * n and name not in categorical:
                if not python and all(_DECIMAL_COMMA.fullmatch(c) for c in cats) and any("," in c for c in cats):
                    raise DataError(f"{table.source}: column {name!r} holds numbers written with decimal commas "
                                    f"(e.g. {str(cats[0])!r}); read them as numbers with --decimal , (and --sep "
                                    f"';' or the file's separator).")
                raise DataError(f"{table.source}: text column {name!r} has {cats.size} distinct values in {n} "
                                f"rows, like an identifier; one-hot features would not generalize. Drop "
                                f"it ({drop(name)}) or encode it as numbers.")
            fill = None if impute == "none" else str(cats[int(np.argmax(counts))])
            columns.append({"name": name, "dtype": "str", "fill": fill, "categories": cats.tolist()})
        return cls(columns, impute, task, label)

    @staticmethod
    def check_file(table, features, impute="median", categorical=None):
        """The checks of :meth:`fit` that must see the whole file, run before it is split.

        A stray word among numbers (``1.2.3``) may sit in the held-out rows: looked for in every
        row, so that the column is reported as numbers with a stray cell (naming its line), not
        as a text column of many values. With ``impute="none"`` the first missing cell is named
        and the file's missing cells counted.
        """
        categorical = set(categorical or ())
        for name in features:
            col = table.column(name)
            miss = missing_mask(col)
            if miss.any() and not miss.all() and impute == "none":
                i = int(np.argmax(miss))
                raise DataError(f"{table.source}, {table.line(i)}: column {name!r} is missing a value "
                                f"({int(miss.sum())} missing in the file) and --impute is none; "
                                f"fill them, or impute them (--impute median).")
            if not is_numeric(col) and name not in categorical:
                _refuse_stray_words(col, miss, name, table)

    # -- transforming ----------------------------------------------------------------------------
    def select(self, table, *, warn=None):
        """Check ``table`` has the input columns by name; say which extra ones are ignored.

        A headerless table of the right width is taken by position.
        """
        names = self.input_names
        if not table.has_header and not set(names) <= set(table.names):
            return table
        missing = [n for n in names if n not in table.names]
        if missing:
            raise DataError(f"{table.source} lacks the column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(repr, missing[:8]))}{' ...' if len(missing) > 8 else ''} that "
                            f"the model was trained on (it has {', '.join(map(repr, table.names[:8]))}"
                            f"{' ...' if len(table.names) > 8 else ''}).")
        return table

    def transform(self, table, *, warn=None):
        """X (n_x, m) float64 from ``table``'s input columns (by name; by position when headerless)."""
        # A headerless file is read by position, unless its generated names ('column 3') are the
        # model's own (a model trained on a headerless file, or that file itself).
        by_position = not table.has_header and not set(self.input_names) <= set(table.names)
        if by_position and len(table.names) != len(self.columns):
            raise DataError(f"{table.source} has no header row and {len(table.names)} columns, but the model "
                            f"reads {len(self.columns)} named columns ({', '.join(self.input_names[:6])}"
                            f"{' ...' if len(self.columns) > 6 else ''}); add the header row.")
        self.select(table)
        m = table.n_rows
        X = np.empty((self.n_features, m), dtype=np.float64)
        row = 0
        unseen = {}
        for j, c in enumerate(self.columns):
            col = table.columns[j] if by_position else table.column(c["name"])
            miss = missing_mask(col)
            if miss.any() and c["fill"] is None:
                i = int(np.argmax(miss))
                raise DataError(f"{table.source}, {table.line(i)}: column {c['name']!r} is missing a value; "
                                f"the model was trained with --impute none, so missing values are refused.")
            if c["dtype"] == "float64":
                if not is_numeric(col):
                    bad = next(i for i, v in enumerate(col) if v is not None and not _is_float(v))
                    raise DataError(f"{table.source}, {table.line(bad)}: column {c['name']!r} holds "
                                    f"{col[bad]!r}, but the model was trained on numbers there.")
                v = np.where(miss, c["fill"] if c["fill"] is not None else 0.0, col)
                if not np.all(np.isfinite(v)):
                    i = int(np.argmax(~np.isfinite(v)))
                    raise DataError(f"{table.source}, {table.line(i)}: column {c['name']!r} holds {v[i]}; "
                                    f"the data contains infinite values; clean them first.")
                X[row] = v
                row += 1
                continue
            cats = np.asarray(c["categories"], dtype=str)
            values = _as_text(col)
            values = np.where(miss, c["fill"] if c["fill"] is not None else "", values).astype(str)
            pos = np.clip(np.searchsorted(cats, values), 0, cats.size - 1)
            known = cats[pos] == values
            block = X[row:row + cats.size]
            block[...] = 0.0
            block[pos[known], np.flatnonzero(known)] = 1.0
            if not known.all():
                unseen[c["name"]] = sorted(set(values[~known].tolist()))
            row += cats.size
        if unseen and warn is not None:
            what = "; ".join(f"{k}: {', '.join(map(repr, v[:5]))}{' ...' if len(v) > 5 else ''}"
                             for k, v in unseen.items())
            warn(f"{table.source} has categories not seen in training ({what}); their one-hot "
                 f"features are all zero.")
        return X

    # -- state -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"columns": self.columns, "impute": self.impute, "task": self.task, "label": self.label}

    @classmethod
    def from_dict(cls, d) -> TabularEncoder:
        """An encoder from :meth:`to_dict`'s output; ValueError naming what is inconsistent."""
        if not isinstance(d, dict) or set(d) != {"columns", "impute", "task", "label"}:
            raise ValueError("the table description has the wrong fields")
        if d["impute"] not in IMPUTE or d["task"] not in (None, "classification", "regression"):
            raise ValueError(f"impute {d['impute']!r} or task {d['task']!r} is unknown")
        label = d["label"]
        if label is not None and not (isinstance(label, dict) and set(label) == {"name", "index"}
                                      and isinstance(label["name"], str) and isinstance(label["index"], int)
                                      and not isinstance(label["index"], bool) and label["index"] >= 0):
            raise ValueError("the label column is not a name and an index")
        cols = d["columns"]
        if not isinstance(cols, list) or not cols:
            raise ValueError("the input columns are not a list")
        seen = set()
        for c in cols:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str) or c["name"] in seen:
                raise ValueError("an input column has no name, or a repeated one")
            seen.add(c["name"])
            if c.get("dtype") == "float64":
                ok = set(c) == {"name", "dtype", "fill"} and (
                    c["fill"] is None or (isinstance(c["fill"], (int, float)) and not isinstance(c["fill"], bool)
                                          and math.isfinite(c["fill"])))
            elif c.get("dtype") == "str":
                cats = c.get("categories")
                ok = (set(c) == {"name", "dtype", "fill", "categories"} and isinstance(cats, list) and cats
                      and all(isinstance(s, str) for s in cats) and cats == sorted(set(cats))
                      and (c["fill"] is None or c["fill"] in cats))
            else:
                ok = False
            if not ok:
                raise ValueError(f"input column {str(c)[:60]} is malformed")
        return cls(cols, d["impute"], d["task"], label)


def _as_text(col):
    if is_numeric(col):                 # numeric codes one-hot as text ('1', '2', ...)
        return np.array([None if math.isnan(v) else (str(int(v)) if v == int(v) else repr(float(v)))
                         for v in col], dtype=object)
    return col


def _is_float(v):
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _refuse_stray_words(values, miss, name, table):
    """A column of numbers with a few words is a typo, not a text column: refuse it, naming the cell."""
    present = values[~miss]
    nums = np.array([_is_float(v) for v in present], dtype=bool)
    if present.size and nums.mean() >= 0.9 and not nums.all():
        i = int(np.flatnonzero(~miss)[np.argmax(~nums)])
        k = int((~nums).sum())
        raise DataError(f"{table.source}, {table.line(i)}: column {name!r} holds {values[i]!r} among numbers "
                        f"({k} such cell{'s' if k > 1 else ''}); fix the cell, or mark it missing (leave it "
                        f"empty).")


# --- tasks ---------------------------------------------------------------------------------------
def decide_task(y, task="auto"):
    """``(task, reason)`` for labels ``y`` (m,): classification or regression.

    ``auto`` follows scikit-learn's ``type_of_target``: text and integer
    labels are classes, non-integer numbers are a regression target; and
    numbers with many distinct values for the rows (more than 10 values and
    more than half the rows, or fewer than 5 rows per value: the case
    scikit-learn warns about) are a regression target too, said so.
    """
    from .errors import unknown_name

    if task not in TASKS:
        raise unknown_name("task", task, TASKS)
    y = np.asarray(y)
    numeric = y.dtype.kind in "iuf"
    if task == "regression":
        if not numeric:
            raise DataError(f"--task regression needs numeric targets; the label column holds text "
                            f"(e.g. {str(y[0])!r}).")
        return "regression", "as asked (--task regression)"
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(y)
    if task == "classification":
        if kind == "continuous":
            raise DataError("--task classification needs discrete labels, but the label column holds "
                            "non-integer numbers (a regression target); use --task regression or auto.")
        return "classification", "as asked (--task classification)"
    if kind == "continuous":
        return "regression", "the label column holds non-integer numbers"
    n_values, m = np.unique(y).size, y.size
    if numeric and n_values > 10 and (n_values > 0.5 * m or m / n_values < 5):
        return "regression", (f"the label column holds {n_values} distinct numbers in {m} rows, too many to be "
                              f"classes (--task classification to insist)")
    return "classification", f"{kind} labels"


def class_warnings(y, flag_hint="--task regression"):
    """Warnings for a classification with many classes or few examples per class."""
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    out = []
    if classes.size > 50:
        out.append(f"{classes.size} classes: is the label column right (--label-column), or is this "
                   f"a regression ({flag_hint})?")
    if counts.min() < 5:
        few = classes[counts < 5]
        out.append(f"{few.size} class{'es have' if few.size > 1 else ' has'} fewer than 5 examples "
                   f"(e.g. {few[0].item()!r}: {counts[counts < 5][0]}); their scores will be noisy"
                   + (f" ({flag_hint} if the labels are quantities)" if np.asarray(y).dtype.kind in "iuf"
                      else ""))
    return out
