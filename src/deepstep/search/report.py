"""A search's outputs: the results table, ``best_params.json``, the model file, the plot, ω².

``results.csv`` (every candidate: rank, scores per fold, mean and spread, fit
time), ``best_params.json``, ``best_model.npz`` (a deepstep model file of the
refitted best network) and ``search.png`` (score against the most influential
hyperparameters). matplotlib is imported when a plot is drawn.
"""

from __future__ import annotations

import csv
import json
import numbers
from pathlib import Path

import numpy as np

from ..fs import atomic_open, atomic_write, save_figure


def format_value(v):
    """A hyperparameter value as the table and the command print it: (64, 32) -> '64,32', () -> 'none'."""
    if isinstance(v, (tuple, list)):
        return ",".join(format_value(x) for x in v) if v else "none"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, np.generic):
        return str(v.item())
    return str(v)


def jsonable(v):
    """Tuples as lists and NumPy scalars as Python numbers, for JSON."""
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def cv_rows(cv):
    """cv_results_ as a list of dicts: rank, scores, times, then one column per hyperparameter."""
    n = len(cv["params"])
    split_keys = sorted((k for k in cv if k.startswith("split") and k.endswith("_test_score")),
                        key=lambda k: int(k[5:].split("_")[0]))
    names = sorted({k for p in cv["params"] for k in p})
    rows = []
    for i in range(n):
        row = {"candidate": i, "rank": int(cv["rank_test_score"][i])}
        if "iter" in cv:
            row["iter"] = int(cv["iter"][i])
            row["n_resources"] = int(cv["n_resources"][i])
        row["mean_test_score"] = float(cv["mean_test_score"][i])
        row["std_test_score"] = float(cv["std_test_score"][i])
        for k in split_keys:
            row[k] = float(cv[k][i])
        row["mean_fit_time"] = float(cv["mean_fit_time"][i])
        row["std_fit_time"] = float(cv["std_fit_time"][i])
        row["mean_score_time"] = float(cv["mean_score_time"][i])
        for name in names:
            row[name] = cv["params"][i].get(name)
        rows.append(row)
    return rows, names


def write_csv(rows, path):
    path = Path(path)
    with atomic_open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        keys = list(rows[0])
        w.writerow(keys)
        for r in rows:
            w.writerow([format_value(r[k]) if r[k] is not None else "" for k in keys])
    return path


def influence(rows, names, score="mean_test_score"):
    """ω² per hyperparameter: the share of the score variance its value explains.

    ω² is η² (between-group over total sum of squares) corrected for the
    number of groups, so that a hyperparameter with many values does not look
    influential by chance on a few candidates; it is clipped at 0.
    Categorical values (and numbers with few distinct values) group by value;
    continuous values group into quartiles (of log10 for positive ranges
    spanning more than a factor of 20).
    """
    scores = np.array([r[score] for r in rows], dtype=float)
    ok = np.isfinite(scores)
    s = scores[ok]
    if len(s) < 3 or np.var(s) == 0:
        return {n: 0.0 for n in names}
    total = float(np.sum((s - s.mean()) ** 2))
    out = {}
    for name in names:
        vals = [r[name] for r, k in zip(rows, ok) if k]
        keys = [format_value(v) for v in vals]
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals)
        if numeric and len(set(keys)) > 4:
            x = np.array(vals, dtype=float)
            if x.min() > 0 and x.max() / x.min() > 20:
                x = np.log10(x)
            keys = list(np.searchsorted(np.quantile(x, [0.25, 0.5, 0.75]), x))
        groups = {}
        for k, v in zip(keys, s):
            groups.setdefault(k, []).append(v)
        k, n = len(groups), len(s)
        if k < 2 or n - k < 1:
            out[name] = 0.0
            continue
        between = sum(len(g) * (np.mean(g) - s.mean()) ** 2 for g in groups.values())
        ms_within = (total - between) / (n - k)
        out[name] = float(max(0.0, (between - (k - 1) * ms_within) / (total + ms_within)))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def plot_search(rows, infl, path, scoring, best_params=None, top=3, title=None):
    """Score against the ``top`` most influential hyperparameters, one panel each.

    Halving searches are drawn at their first round, where every candidate
    trained for the same number of epochs; the star marks the best candidate.
    """
    import matplotlib.ticker
    from matplotlib.figure import Figure  # not pyplot: the process's backend is left alone

    names = [n for n, v in infl.items() if v > 0][:top] or list(infl)[:top]
    ylabel = f"mean validation {scoring}"
    if "iter" in rows[0]:                    # halving: compare candidates at the same resource
        rows = [r for r in rows if r["iter"] == 0]
        ylabel += f" (first round, {rows[0]['n_resources']} epochs)"
    scores = np.array([r["mean_test_score"] for r in rows], dtype=float)
    best = None
    if best_params:
        match = [i for i, r in enumerate(rows)
                 if all(format_value(r.get(k)) == format_value(v) for k, v in best_params.items() if k != "epochs")]
        best = match[0] if match else None
    elif np.isfinite(scores).any():
        best = int(np.nanargmax(scores))
    fig = Figure(figsize=(4.2 * max(1, len(names)), 3.6))
    axes = fig.subplots(1, max(1, len(names)), squeeze=False)
    for ax, name in zip(axes[0], names):
        vals = [r[name] for r in rows]
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals)
        if numeric:
            x = np.array(vals, dtype=float)
            ax.scatter(x, scores, s=28, alpha=0.75, color="tab:blue")
            if x.min() > 0 and x.max() / x.min() > 20:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        else:
            cats = sorted({format_value(v) for v in vals}, key=lambda c: (len(c), c))
            pos = {c: i for i, c in enumerate(cats)}
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(vals))
            x = np.array([pos[format_value(v)] for v in vals]) + jitter
            ax.scatter(x, scores, s=28, alpha=0.75, color="tab:blue")
            ax.set_xticks(range(len(cats)), cats, rotation=30 if len(cats) > 4 else 0)
        if best is not None:
            ax.scatter([x[best]], [scores[best]], s=90, marker="*", color="tab:red", label="best", zorder=3)
        ax.set_xlabel(f"{name}  (ω² = {infl.get(name, 0):.2f})")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    if best is not None:
        axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title or "deepstep search: score vs the most influential hyperparameters", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    return Path(path)


def write_outputs(result, out, method, seed, fixed, epochs, where):
    """Write results.csv, best_params.json, best_model.npz and search.png of a SearchResult into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"csv": write_csv(result.rows, out / "results.csv")}
    meta = {"method": method, "seed": seed, "scoring": result.scoring, "best_score": result.best_score,
            "test_score": result.test_score, "best_params": result.best_params,
            "fixed": {k: jsonable(v) for k, v in fixed.items()}, "epochs": epochs,
            "candidates": len({r["candidate"] for r in result.rows}), "backend": where,
            "influence": result.influence}
    files["params"] = out / "best_params.json"
    atomic_write(files["params"], json.dumps(meta, indent=2, default=str) + "\n")
    from .. import persistence

    files["model"] = Path(persistence.save(result.best_estimator.network_, out / "best_model.npz"))
    files["plot"] = plot_search(result.rows, result.influence, out / "search.png", result.scoring,
                                best_params=result.best_params,
                                title=f"deepstep search ({method}, seed {seed}): best "
                                      f"{result.scoring} = {result.best_score:.4f}")
    return files
