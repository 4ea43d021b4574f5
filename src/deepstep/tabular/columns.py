"""Columns of a table: the index column, empty unnamed columns, the label column, labels and missing cells."""

from __future__ import annotations

import re

import numpy as np

from ..errors import InvalidParameterError
from .readers import _INT, _INT64
from .table import is_numeric


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
        from ..errors import unknown_name

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
