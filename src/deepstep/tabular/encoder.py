"""The :class:`TabularEncoder`: named columns -> X, text one-hot, missing values imputed; state as plain JSON."""

from __future__ import annotations

import math
import re

import numpy as np

from ..errors import DataError, InvalidParameterError
from .columns import missing_mask
from .readers import _DECIMAL_COMMA
from .table import is_numeric

IMPUTE = ("median", "mean", "none")
#: A text column with more distinct values than this fraction of its rows (and > 20) is refused as an identifier.
ID_FRACTION = 0.5

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
            from ..errors import unknown_name

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
            if name not in categorical:
                _refuse_thousands_separators(cats, name, table, python, drop)
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


_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")
_PLAIN = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def _refuse_thousands_separators(cats, name, table, python, drop):
    """A text column whose every value is a number, some written with thousands separators
    (``76,705``, ``1,234,567.5``; the rest plain, ``812``), is numbers a spreadsheet or a
    formatted export wrote as text: refused with how to read it, rather than one-hot encoded
    or read with a decimal comma (which would make 76,705 into 76.705)."""
    if not any(_GROUPED.fullmatch(c) for c in cats):
        return
    if not all(_GROUPED.fullmatch(c) or _PLAIN.fullmatch(c) for c in cats):
        return
    example = str(next(c for c in cats if _GROUPED.fullmatch(c)))
    how = (f"pd.to_numeric(X[{name!r}].str.replace(',', ''))" if python else
           "write the file without them (pandas: save the numbers, not formatted text; "
           "or pd.read_csv(..., thousands=',') and save again)")
    keep = f"categorical=[{name!r}]" if python else f"--categorical {name!r}"
    raise DataError(f"{table.source}: column {name!r} holds numbers written with thousands separators "
                    f"(e.g. {example!r}); read as text they would be categories. Convert them to numbers: "
                    f"{how}; or drop the column ({drop(name)}); {keep} keeps them as categories.")
