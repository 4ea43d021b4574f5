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

Rooms: :mod:`.table` (the Table), :mod:`.readers` (CSV and DataFrames into a Table),
:mod:`.columns` (index, label and empty columns; labels; missing cells), :mod:`.encoder`
(the TabularEncoder), :mod:`.task` (classification or regression).
"""

from __future__ import annotations

from ..data import MISSING, unlabeled_rows
from .columns import default_label, empty_unnamed, index_column, labels_of, missing_mask, resolve_column
from .encoder import ID_FRACTION, IMPUTE, TabularEncoder
from .readers import DECIMALS, READERS, SEPARATORS, SMALL_FILE, from_frame, read_csv
from .table import Table, is_numeric
from .task import TASKS, class_warnings, decide_task

__all__ = ["DECIMALS", "ID_FRACTION", "IMPUTE", "MISSING", "READERS", "SEPARATORS", "SMALL_FILE", "TASKS",
           "Table", "TabularEncoder", "class_warnings", "decide_task", "default_label", "empty_unnamed",
           "from_frame", "index_column", "is_numeric", "labels_of", "missing_mask", "read_csv",
           "resolve_column", "unlabeled_rows"]
