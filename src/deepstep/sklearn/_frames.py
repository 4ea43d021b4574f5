"""Tables for the estimators: DataFrames (or arrays) with text and missing values, when asked.

``DeepClassifier(categorical="auto", impute="median")`` encodes X as the command
line encodes a CSV file, with :class:`deepstep.tabular.TabularEncoder` fitted on
the training rows only: text columns one-hot (categories sorted, as
scikit-learn's ``OneHotEncoder(handle_unknown="ignore")``: a category not seen
in training becomes all zeros, with one warning), missing numbers the training
median or mean and missing text the most frequent category (as
``SimpleImputer``). The encoder lives in the network (``network_.tabular``), so
it is saved and loaded with the model file. With the defaults
(``categorical=None, impute="none"``) nothing here runs but the checks that
give a text or missing column a clear error naming it and the option.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from .. import tabular
from ..errors import InvalidParameterError

IMPUTE = ("none", "median", "mean")


def is_frame(X) -> bool:
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def check_params(est):
    """``categorical`` and ``impute`` as the estimator's other parameters are checked: by ``fit``."""
    name = type(est).__name__
    cat = est.categorical
    if not (cat is None or cat == "auto" or (isinstance(cat, (list, tuple)) and
                                             all(isinstance(c, str) for c in cat))):
        raise InvalidParameterError(
            f"The 'categorical' parameter of {name} must be None, 'auto' or a list of column names. "
            f"Got {cat!r} instead.")
    if est.impute not in IMPUTE:
        raise InvalidParameterError(
            f"The 'impute' parameter of {name} must be one of {', '.join(map(repr, IMPUTE))}. "
            f"Got {est.impute!r} instead.")


def wanted(est) -> bool:
    """Whether ``fit`` encodes X as a table (``categorical`` or ``impute`` asked for it)."""
    return est.categorical is not None or est.impute != "none"


def _missing(v) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return True
    return type(v).__name__ in ("NAType", "NaTType")


def refuse_plain_frame(est, X):
    """With the defaults, a DataFrame's text or missing column: an error naming it and the option."""
    if not is_frame(X):
        return
    name = type(est).__name__
    for col in X.columns:
        s = X[col]
        if s.dtype.kind not in "biufc":
            present = [v for v in s.to_numpy(dtype=object) if not _missing(v)]
            example = f" (e.g. {present[0]!r})" if present else ""
            raise ValueError(f"Column {str(col)!r} of X holds text{example}; {name} takes numbers only by "
                             f"default. {name}(categorical='auto') one-hot encodes text columns, fitted on "
                             f"the training rows; or encode it as numbers.")
        miss = s.isna().to_numpy()
        if miss.any():
            raise ValueError(f"Column {str(col)!r} of X has {int(miss.sum())} missing values (the first in row "
                             f"{int(np.argmax(miss))}); {name}(impute='median') (or 'mean') fills them with "
                             f"the training statistic; or fill them yourself.")


def refuse_unlabeled(est, y):
    """Missing labels (None, NaN, pandas' NA): an error with the count, the first rows and the way out."""
    try:
        arr = np.asarray(y, dtype=object) if not hasattr(y, "dtype") or y.dtype.kind == "O" else np.asarray(y)
    except (TypeError, ValueError):
        return
    if arr.ndim != 1:
        return
    if arr.dtype.kind == "f":
        miss = np.isnan(arr)
    elif arr.dtype.kind == "O":
        miss = np.fromiter((_missing(v) for v in arr), dtype=bool, count=arr.size)
    else:
        return
    if miss.any():
        rows = np.flatnonzero(miss)
        first = ", ".join(map(str, rows[:3])) + (", ..." if rows.size > 3 else "")
        raise ValueError(f"y has {rows.size} missing label{'s' if rows.size > 1 else ''} (rows {first}, "
                         f"0-based); {type(est).__name__} trains on labelled rows only. Leave them out "
                         f"first, e.g. keep = y.notna(); est.fit(X[keep], y[keep]).")


def as_table(X, *, fitting, est=None) -> tabular.Table:
    """X (a DataFrame, or an array of rows) as a :class:`deepstep.tabular.Table`.

    Arrays get the names x0, x1, ... when fitting; at prediction they are taken by position,
    after scikit-learn's own checks (2-D, not sparse, not empty, the fitted width).
    """
    if is_frame(X):
        return tabular.from_frame(X, "X")
    from sklearn.utils.validation import check_array

    A = check_array(X, dtype=None, ensure_all_finite=False, accept_sparse=False, estimator=est)
    if not fitting and est is not None and A.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {A.shape[1]} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input.")
    cols = []
    for j in range(A.shape[1]):
        c = A[:, j]
        if c.dtype.kind in "biuf":
            cols.append(c.astype(np.float64))
            continue
        try:
            cols.append(np.array([np.nan if _missing(v) else float(v) for v in c], dtype=np.float64))
        except (TypeError, ValueError):
            cols.append(np.array([None if _missing(v) else str(v) for v in c], dtype=object))
    names = [f"x{j}" for j in range(A.shape[1])] if fitting else [f"column {j}" for j in range(A.shape[1])]
    return tabular.Table(names, cols, fitting, "X", None)


def fit_encoder(est, table):
    """The encoder for ``table`` (the training rows), as ``categorical`` and ``impute`` ask."""
    name = type(est).__name__
    text = [n for n, c in zip(table.names, table.columns) if not tabular.is_numeric(c)]
    cat = est.categorical
    if cat is None and text:
        raise ValueError(f"Column {text[0]!r} of X holds text; {name}(categorical='auto') one-hot encodes text "
                         f"columns (or give categorical=[...] the columns to one-hot).")
    numeric_codes = ()
    if isinstance(cat, (list, tuple)):
        unknown = [c for c in cat if c not in table.names]
        if unknown:
            raise ValueError(f"categorical names {unknown}, which are not columns of X (it has "
                             f"{', '.join(map(repr, table.names[:8]))}{' ...' if len(table.names) > 8 else ''}).")
        left = [n for n in text if n not in cat]
        if left:
            raise ValueError(f"Column {left[0]!r} of X holds text but is not in categorical={list(cat)}; add it, "
                             f"or use categorical='auto' (every text column).")
        numeric_codes = tuple(cat)
    impute = "none" if est.impute == "none" else est.impute
    enc = tabular.TabularEncoder.fit(table, list(table.names), impute, est._task, None, numeric_codes,
                                     python=True)
    if est.verbose:
        print(f"{name}: {describe_line(enc, table)}", file=sys.stderr)
    return enc


def transform(enc, table):
    """(m, n_x) C-contiguous float64 rows; unseen categories all zero, with one warning."""
    X = enc.transform(table, warn=lambda msg: warnings.warn(msg, UserWarning, stacklevel=5))
    return np.ascontiguousarray(X.T)


def describe_line(enc, table=None) -> str:
    """One line: the columns one-hot (with their category counts), the fills, the missing values met."""
    text = f"input encoding: {len(enc.columns)} columns -> {enc.n_features} features ({enc.describe()})"
    if enc.impute != "none":
        filled = []
        for c in enc.columns:
            n = int(tabular.missing_mask(table.column(c["name"])).sum()) if table is not None else 0
            if n:
                filled.append(f"{c['name']} {n} -> {c['fill']!r}")
        how = f"{enc.impute} for numbers, most frequent for text"
        text += (f"; missing values imputed ({how}): {', '.join(filled)}" if filled
                 else f"; missing values will be imputed ({how}); none in the training rows")
    else:
        text += "; missing values refused (impute='none')"
    return text


def encoding(enc) -> dict:
    """The fitted ``encoding_`` attribute: per input column its kind, categories and fill value."""
    cols = []
    for c in enc.columns:
        if c["dtype"] == "str":
            cols.append({"name": c["name"], "kind": "one-hot", "categories": list(c["categories"]),
                         "n_features": len(c["categories"]), "fill": c["fill"]})
        else:
            cols.append({"name": c["name"], "kind": "numeric", "n_features": 1, "fill": c["fill"]})
    return {"impute": enc.impute, "columns": cols, "n_features": enc.n_features,
            "one_hot": {c["name"]: c["n_features"] for c in cols if c["kind"] == "one-hot"},
            "imputed_with": {c["name"]: c["fill"] for c in cols if c["fill"] is not None}}
