"""Reading CSV into a Table: the csv module, np.loadtxt, a streaming reader and pandas."""

from __future__ import annotations

import math
import os
import re
import sys

import numpy as np

from ..data import MISSING
from ..errors import DataError, InvalidParameterError
from .table import Table, is_numeric

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
        from ..errors import unknown_name

        raise unknown_name("decimal mark", decimal, DECIMALS)
    from .. import data

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
    from .. import data

    if reader not in READERS:
        from ..errors import unknown_name

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


def _head(path, delimiter):
    """The separator (given or sniffed) and the cells of the first two rows (fewer in a shorter
    file), or None when the file cannot be read as UTF-8 text."""
    import csv

    from .. import data

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = [fh.readline(), fh.readline()]
    except (OSError, UnicodeDecodeError):
        return None
    d = delimiter or data._sniff_delimiter(path, lines[0])
    rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=d) if r]
    return d, rows


def _read_numeric(path, delimiter, header):
    """An all-numeric file with no missing cells, by np.loadtxt (its speed and memory); else None."""
    from .. import data

    head = _head(path, delimiter)
    if head is None or len(head[1]) < 2:
        return None
    d, rows = head
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

    from .. import data

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
    from .. import data

    head = _head(path, delimiter)
    if head is None:
        return None
    d, rows = head
    if header == "auto":
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
