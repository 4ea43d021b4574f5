"""Classification or regression: the task decided from the labels, and the warnings a classification deserves."""

from __future__ import annotations

import numpy as np

from ..errors import DataError

TASKS = ("auto", "classification", "regression")

# --- tasks ---------------------------------------------------------------------------------------
def decide_task(y, task="auto"):
    """``(task, reason)`` for labels ``y`` (m,): classification or regression.

    ``auto`` follows scikit-learn's ``type_of_target``: text and integer
    labels are classes, non-integer numbers are a regression target; and
    numbers with many distinct values for the rows (more than 10 values and
    more than half the rows, or fewer than 5 rows per value: the case
    scikit-learn warns about) are a regression target too, said so.
    """
    from ..errors import unknown_name

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
