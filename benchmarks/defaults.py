"""deepstep's default hyperparameters against scikit-learn's and a small tuned grid, on real datasets.

Regenerates the table in docs/defaults.md:

    python benchmarks/defaults.py --seeds 3 --json benchmarks/results/defaults.json

Each dataset is scored on held-out data: its own test split where it has one
(the lesson's cat files), 5-fold stratified cross-validation where only one
file exists (the lesson's SIGNS test file: 120 images), otherwise a stratified
75/25 split drawn per seed. The same seed drives the split and the weights.
Scores: test accuracy for classification, test R² for regression; mean ± sd
over seeds (or folds).

Configurations:

* ``deepstep 0.x``: the defaults before they were chosen on this evidence: the
  lesson's application net (20, 7, 5), 100 epochs, images scaled by /255;
* ``deepstep``: today's ``HyperParameters()`` (what ``deepstep train`` and
  ``DeepNetwork()`` use);
* ``scikit-learn``: ``StandardScaler`` + ``MLPClassifier()`` / ``MLPRegressor()``
  with every default (scikit-learn's docs ask for scaled inputs);
* ``tuned``: a grid of hidden layers {(100,), (100, 100)} x learning rate
  {1e-3, 1e-2} around today's defaults, chosen on a 20% validation part of the
  training data, then refit on all of it.

Not part of the test suite (minutes of CPU); see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"

from deepstep import DeepNetwork, HyperParameters, tabular  # noqa: E402

OLD_DEFAULTS = dict(layers=(20, 7, 5), epochs=100, l2=0.0)
GRID = [dict(layers=l, learning_rate=lr) for l in ((100,), (100, 100)) for lr in (1e-3, 1e-2)]


# --- datasets: (name, task, kind, loader) -> X rows (m, n), y, optional fixed test split -----------------------
def _sk(name):
    from sklearn import datasets

    def load():
        b = getattr(datasets, f"load_{name}")()
        return b.data.astype(np.float64), b.target, None
    return load


def _penguins(label):
    def load():
        import palmerpenguins

        path = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
        table = tabular.read_csv(path)
        keep = ~tabular.missing_mask(table.column(label))
        table = table.take(np.flatnonzero(keep))
        y = table.column(label)
        y = y.astype(str) if label == "species" else y.astype(np.float64)
        return table, y, None
    return load


def _h5(path, split):
    import h5py

    with h5py.File(path, "r") as f:
        x, y = f[f"{split}_set_x"][()], f[f"{split}_set_y"][()]
    return x.reshape(x.shape[0], -1), y.astype(np.int64)


def _cat():
    X, y = _h5(DATA / "train_catvnoncat.h5", "train")
    Xt, yt = _h5(DATA / "test_catvnoncat.h5", "test")
    return X, y, (Xt, yt)


def _signs():
    X, y = _h5(DATA / "test_signs.h5", "test")
    return X, y, "cv"


DATASETS = [
    ("iris", "classification", _sk("iris")),
    ("wine", "classification", _sk("wine")),
    ("breast_cancer", "classification", _sk("breast_cancer")),
    ("digits", "classification", _sk("digits")),
    ("penguins (species; text, NA)", "classification", _penguins("species")),
    ("cat (lesson, 64x64x3)", "classification", _cat),
    ("SIGNS (lesson test file, 5-fold CV)", "classification", _signs),
    ("diabetes", "regression", _sk("diabetes")),
    ("penguins (body mass)", "regression", _penguins("body_mass_g")),
]


# --- fitting -------------------------------------------------------------------------------------------------
def _prepare(X, tr, te):
    """(X_train, X_test) as (m, n) float arrays; a Table (penguins) is encoded on the training rows."""
    if isinstance(X, tabular.Table):
        feats = [n for n in X.names if n not in ("species", "body_mass_g")]
        enc = tabular.TabularEncoder.fit(X.take(tr), feats)
        return enc.transform(X.take(tr)).T, enc.transform(X.take(te)).T
    return X[tr], X[te]


def _score(task, pred, y):
    from sklearn.metrics import accuracy_score, r2_score

    return float(accuracy_score(y, pred) if task == "classification" else r2_score(y, pred))


def _deepstep(task, Xtr, ytr, Xte, yte, seed, hp_changes, images):
    changes = {k: v for k, v in hp_changes.items() if not k.startswith("_")}
    hp = HyperParameters(seed=seed, **changes)
    if task == "regression":
        hp = hp.replace(output="linear")
    if images and hp_changes.get("_old"):
        hp = hp.replace(preprocess="divide255")         # the CLI's old choice for uint8 images
    net = DeepNetwork(hp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(Xtr.T, ytr)
    return _score(task, net.predict(Xte.T).ravel(), yte)


def _sklearn(task, Xtr, ytr, Xte, yte, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = MLPClassifier(random_state=seed) if task == "classification" else MLPRegressor(random_state=seed)
    model = make_pipeline(StandardScaler(), est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(Xtr, ytr)
    return _score(task, model.predict(Xte), yte)


def _tuned(task, Xtr, ytr, Xte, yte, seed, images):
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(ytr))
    strat = ytr if task == "classification" else None
    a, b = train_test_split(idx, test_size=0.2, stratify=strat, random_state=seed)
    scores = [_deepstep(task, Xtr[a], ytr[a], Xtr[b], ytr[b], seed, g, images) for g in GRID]
    best = GRID[int(np.argmax(scores))]
    return _deepstep(task, Xtr, ytr, Xte, yte, seed, best, images), best


def run(names, seeds, tuned=True, repeats=1, changes=None):
    """Rows of scores; ``changes`` (hyperparameters) alter the "deepstep defaults" column (investigations)."""
    changes = dict(changes or {})
    from sklearn.model_selection import StratifiedKFold, train_test_split

    rows = []
    for name, task, load in DATASETS:
        if names and not any(n in name for n in names):
            continue
        try:
            X, y, split = load()
        except (OSError, ImportError) as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        images = isinstance(X, np.ndarray) and X.dtype == np.uint8
        if isinstance(split, tuple):
            Xall = np.vstack([X, split[0]])
            yall = np.concatenate([y, split[1]])
            tr_idx, te_idx = np.arange(len(y)), np.arange(len(y), len(yall))
            splits = [(s, tr_idx, te_idx) for s in range(seeds)]
            X, y = Xall, yall
        elif split == "cv":
            folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
            # each fold `repeats` times, with the weights' seeds 10 k + fold (k = 0: the folds' own seeds 0..4)
            splits = [(10 * k + f, tr, te) for k in range(repeats) for f, (tr, te) in enumerate(folds)]
        else:
            m = len(y)
            splits = []
            for s in range(seeds):
                strat = y if task == "classification" else None
                tr, te = train_test_split(np.arange(m), test_size=0.25, stratify=strat, random_state=s)
                splits.append((s, tr, te))
        res = {"old": [], "new": [], "sklearn": [], "tuned": [], "chosen": []}
        t0 = time.perf_counter()
        for seed, tr, te in splits:
            Xtr, Xte = _prepare(X, tr, te)
            ytr, yte = y[tr], y[te]
            res["old"].append(_deepstep(task, Xtr, ytr, Xte, yte, seed, dict(OLD_DEFAULTS, _old=True), images))
            res["new"].append(_deepstep(task, Xtr, ytr, Xte, yte, seed, changes, images))
            res["sklearn"].append(_sklearn(task, Xtr.astype(np.float64), ytr, Xte.astype(np.float64), yte, seed))
            if tuned:
                score, best = _tuned(task, Xtr, ytr, Xte, yte, seed, images)
                res["tuned"].append(score)
                res["chosen"].append({"layers": list(best["layers"]), "learning_rate": best["learning_rate"]})
        res.update(name=name, task=task, changes=changes, metric="accuracy" if task == "classification" else "R²",
                   n=len(splits), seconds=round(time.perf_counter() - t0, 1))
        print(json.dumps({k: v for k, v in res.items() if k != "chosen"}), file=sys.stderr, flush=True)
        rows.append(res)
    return rows


def table(rows) -> str:
    fmt = lambda v: f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else "not run"
    hp = HyperParameters()
    lines = [
        "| dataset | metric | runs | deepstep 0.x defaults | deepstep defaults | scikit-learn defaults | tuned grid |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['metric']} | {r['n']} | {fmt(r['old'])} | **{fmt(r['new'])}** | "
                     f"{fmt(r['sklearn'])} | {fmt(r['tuned'])} |")
    lines.append("")
    lines.append(f"deepstep defaults: layers {hp.layers}, {hp.activation}, {hp.optimizer} "
                 f"(learning rate {hp.learning_rate}), batch size {hp.batch_size} (= min(64, m)), "
                 f"{hp.epochs} epochs, l2 {hp.l2}, inputs {hp.preprocess}d (images too); regression "
                 f"targets standardized inside the model.")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=None, help="substrings of dataset names")
    ap.add_argument("--no-tuned", action="store_true", help="skip the tuned grid (5 more fits per run)")
    ap.add_argument("--json", default=None, help="also write the raw results (every score) to this file")
    ap.add_argument("--repeats", type=int, default=1,
                    help="cross-validated datasets (SIGNS): run each fold with this many seeds (5 folds x N runs)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="change a hyperparameter of the 'deepstep defaults' column, e.g. --set batch_size=full "
                         "(to investigate one dataset: --only SIGNS --no-tuned --set l2=0.01)")
    args = ap.parse_args(argv)
    changes = {}
    for item in args.set:
        key, _, text = item.partition("=")
        for kind in (int, float):
            try:
                value = kind(text)
                break
            except ValueError:
                continue
        else:
            value = text
        changes[key.strip()] = value
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rows = run(args.only, args.seeds, not args.no_tuned, args.repeats, changes)
    text = table(rows)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
