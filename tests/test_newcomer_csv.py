"""Ordinary CSV files a newcomer brings, through the CLI: each test names the wrong answer it guards against.

The files are small tables written by pandas (scikit-learn's datasets), as a user would write them.
"""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep.cli import main

pd = pytest.importorskip("pandas")
FAST = ["--epochs", "2", "--layers", "8"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def error_line(r):
    """The one 'deepstep: error:' line (and no traceback)."""
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("deepstep: error:")]
    assert len(errors) == 1, r.stderr
    return errors[0]


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    from sklearn.datasets import load_wine

    d = tmp_path_factory.mktemp("newcomer")
    frame = load_wine(as_frame=True).frame
    frame.to_csv(d / "wine.csv", index=False)
    return d, frame


def test_stray_word_in_held_out_rows_is_named_not_called_an_identifier(wine):
    # Bug: `sed '2s/^[0-9.]*/1.2.3/' wine.csv` put the stray word in a row the held-out split took; the
    # training rows were all numbers written as text, and the column was refused as an identifier.
    d, frame = wine
    text = (d / "wine.csv").read_text().splitlines()
    cells = text[1].split(",")
    text[1] = ",".join(["1.2.3"] + cells[1:])
    (d / "w.csv").write_text("\n".join(text) + "\n")
    for fraction in ("0.2", "0"):
        r = run("train", "--data", d / "w.csv", "--test-fraction", fraction, *FAST)
        assert r.exit_code == 1
        line = error_line(r)
        assert "line 2: column 'alcohol' holds '1.2.3' among numbers (1 such cell)" in line, line
        assert "identifier" not in line


def test_impute_none_counts_the_files_missing_cells(wine):
    # Bug: "(1 missing in all)" counted the training rows only, not the file's missing cells.
    d, frame = wine
    f = frame.copy()
    f.loc[[0, 5, 9, 50, 100, 150], "ash"] = np.nan
    f.to_csv(d / "holes.csv", index=False)
    r = run("train", "--data", d / "holes.csv", "--impute", "none", *FAST)
    assert r.exit_code == 1
    line = error_line(r)
    assert "line 2: column 'ash' is missing a value (6 missing in the file)" in line, line


def test_integer_column_names_header_is_not_a_data_row(tmp_path):
    # Bug: pd.DataFrame(iris_array).to_csv(index=False) writes the header 0,1,2,3,4; it was read as a data
    # row: 151 examples and a phantom class 4.
    from sklearn.datasets import load_iris

    from deepstep import tabular

    iris = load_iris()
    pd.DataFrame(np.column_stack([iris.data, iris.target])).to_csv(tmp_path / "f.csv", index=False)
    r = run("train", "--data", tmp_path / "f.csv", "--test-fraction", "0", *FAST)
    assert r.exit_code == 0, r.output
    assert "3 classes (0, 1, 2)" in r.stderr and "(150 examples" in r.stderr and "(151" not in r.stderr
    assert "the first row (0, 1, 2, ..., 4) is read as the header" in r.stderr
    for reader in tabular.READERS:                       # every reader decides alike
        t = tabular.read_csv(tmp_path / "f.csv", reader=reader)
        assert t.has_header and t.names == ["0", "1", "2", "3", "4"] and t.n_rows == 150, reader
    # two integer columns whose first row is 0,1 and integers below: evidence for data, not a header
    (tmp_path / "g.csv").write_text("0,1\n1,0\n0,0\n1,1\n")
    t = tabular.read_csv(tmp_path / "g.csv")
    assert not t.has_header and t.n_rows == 4


def test_trailing_comma_empty_column_is_dropped_and_drop_advice_works(wine):
    # Bug: a trailing comma on every line gave "column '' has no values ...; drop it (--drop '')", and
    # --drop '' repeated the same error.
    d, frame = wine
    (d / "t.csv").write_text("".join(line + ",\n" for line in (d / "wine.csv").read_text().splitlines()))
    for extra in ([], ["--drop", ""]):
        r = run("train", "--data", d / "t.csv", "--test-fraction", "0", *FAST, *extra)
        assert r.exit_code == 0, r.output
        assert "t.csv has an unnamed, empty column (column 14; a trailing comma" in r.stderr
        assert "features: 13 from 13 columns" in r.stderr and "label column: 'target' (column 13" in r.stderr
    # an unnamed column that holds values is a feature, and --drop '' drops it
    f = frame.copy()
    f.insert(2, "", np.arange(len(f)) % 3)
    f.to_csv(d / "u.csv", index=False)
    r = run("train", "--data", d / "u.csv", "--test-fraction", "0", "--drop", "", *FAST)
    assert r.exit_code == 0, r.output
    assert "features: 13 from 13 columns" in r.stderr and "label column: 'target' (column 14" in r.stderr


def test_label_column_number_counts_the_index_column_and_refuses_it(wine, tmp_path):
    # Bug: --label-column 0 on a CSV with a pandas index column picked the index (row numbers) and trained a
    # regression on them.
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).frame.to_csv(tmp_path / "ix.csv")          # pandas' index column first
    r = run("train", "--data", tmp_path / "ix.csv", "--label-column", "0", *FAST)
    assert r.exit_code == 2
    line = error_line(r)
    assert "--label-column 0: column 0 of" in line and "unnamed index column" in line
    assert "the first data column is 1 ('sepal length (cm)')" in line
    model = tmp_path / "ix.npz"
    r = run("train", "--data", tmp_path / "ix.csv", "--label-column", "5", "--out", model, *FAST)
    assert r.exit_code == 0, r.output
    assert "label column: 'target' (column 5, as given" in r.stderr and "3 classes (0, 1, 2)" in r.stderr
    assert "features: 4 from 4 columns" in r.stderr and "(column 0) holds the row numbers" in r.stderr
    r = run("evaluate", model, "--data", tmp_path / "ix.csv", "--label-column", "0")
    assert r.exit_code == 2 and "unnamed index column" in error_line(r)
    r = run("evaluate", model, "--data", tmp_path / "ix.csv", "--label-column", "5")
    assert r.exit_code == 0 and "150 examples)" in r.stdout


def test_headerless_columns_are_numbered_as_label_column_counts(tmp_path):
    # Bug: a headerless file said "label column: 'column 5' (column 4, ...)": names 1-based, numbers 0-based.
    from sklearn.datasets import load_iris

    iris = load_iris()
    pd.DataFrame(np.column_stack([iris.data, iris.target])).to_csv(tmp_path / "h.csv", index=False, header=False)
    r = run("train", "--data", tmp_path / "h.csv", "--drop", "column 0", *FAST)
    assert r.exit_code == 0, r.output
    assert "label column: 'column 4' (column 4, the last column" in r.stderr
    assert "features: 3 from 3 columns" in r.stderr
    r = run("train", "--data", tmp_path / "h.csv", "--label-column", "4", "--features", "column 5", *FAST)
    assert r.exit_code == 2 and "'column 5'" in error_line(r)


def test_european_csv_semicolons_and_decimal_commas_are_read(wine, tmp_path):
    # Bug: a ';'-separated file with decimal commas (14,23) was refused as an "identifier" column.
    d, frame = wine
    frame.to_csv(tmp_path / "eu.csv", sep=";", decimal=",", index=False)
    model = tmp_path / "eu.npz"
    r = run("train", "--data", tmp_path / "eu.csv", "--out", model, *FAST)
    assert r.exit_code == 0, r.output
    assert "the separator is ';' (detected; --sep to set it)" in r.stderr
    assert "decimal commas (14,23) in 13 columns ('alcohol'," in r.stderr
    assert "features: 13 from 13 columns (13" in r.stderr
    r = run("evaluate", model, "--data", tmp_path / "eu.csv")
    assert r.exit_code == 0 and "178 examples)" in r.stdout and "decimal commas (14,23)" in r.stderr
    r = run("predict", model, "--data", tmp_path / "eu.csv", "--sep", ";", "--decimal", ",")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 179 and "(detected" not in r.stderr
    # told not to read decimal commas: the message names them and the flag, not an identifier
    r = run("train", "--data", tmp_path / "eu.csv", "--decimal", ".", *FAST)
    assert r.exit_code == 1
    line = error_line(r)
    assert "holds numbers written with decimal commas" in line and "--decimal ," in line
    # --sep and --decimal from a config file
    (tmp_path / "run.toml").write_text('sep = ";"\ndecimal = ","\n')
    r = run("train", "--data", tmp_path / "eu.csv", "--config", tmp_path / "run.toml", *FAST)
    assert r.exit_code == 0 and "features: 13 from 13 columns (13" in r.stderr
    assert "(detected" not in r.stderr
    # the same file on standard input
    r = CliRunner().invoke(main, ["train", "--data", "-", *FAST], input=(tmp_path / "eu.csv").read_text())
    assert r.exit_code == 0, r.output
    assert "standard input: decimal commas (14,23) in 13 columns" in r.stderr


def test_regression_banner_says_whose_mean(tmp_path):
    # Bug: "target from 25 to 346 (mean 151.606)" was the training rows' range and mean, without saying so.
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.to_csv(tmp_path / "diabetes.csv", index=False)
    r = run("train", "--data", tmp_path / "diabetes.csv", *FAST)
    assert r.exit_code == 0, r.output
    m = re.search(r"target from (\S+) to (\S+) in the (\d+) training rows \(their mean (\S+)\)", r.stderr)
    assert m, r.stderr
    n = int(m.group(3))
    assert n == len(frame) - int(np.ceil(0.2 * len(frame)))
    from sklearn.model_selection import train_test_split

    from deepstep import data

    rows, _ = train_test_split(np.arange(len(frame)), test_size=len(frame) - n, random_state=data.SPLIT_SEED)
    assert float(m.group(4)) == pytest.approx(frame["target"].to_numpy()[rows].mean(), rel=1e-5)


@pytest.fixture(scope="module")
def cat_model(tmp_path_factory):
    from conftest import DATA

    train = DATA / "train_catvnoncat.h5"
    if not train.exists():
        pytest.skip(f"{train.name} not found: the shared datasets folder {DATA} is absent")
    out = tmp_path_factory.mktemp("cat") / "cat.npz"
    r = run("train", "--data", train, "--test-fraction", "0", "--out", out, "-q", *FAST)
    assert r.exit_code == 0, r.output
    return out, DATA / "test_catvnoncat.h5"


def test_json_carries_labels_with_their_type_and_names_apart(cat_model, tmp_path):
    # Bug: info/evaluate --json gave "classes": ["0", "1", "2"] for integer labels, and "0 (non-cat)" for the
    # cat model: display strings where the labels belong.
    model, test = cat_model
    info = json.loads(run("info", model, "--json").stdout)
    assert info["classes"] == [0, 1] and info["class_names"] == ["non-cat", "cat"]
    ev = json.loads(run("evaluate", model, "--data", test, "--json").stdout)
    assert [(c["class"], c["name"]) for c in ev["classes"]] == [(0, "non-cat"), (1, "cat")]
    text = run("evaluate", model, "--data", test).stdout
    assert "0 (non-cat)" in text and "1 (cat)" in text                       # the table shows both
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).frame.to_csv(tmp_path / "iris.csv", index=False)
    r = run("train", "--data", tmp_path / "iris.csv", "--out", tmp_path / "iris.npz", "-q", *FAST)
    assert r.exit_code == 0, r.output
    info = json.loads(run("info", tmp_path / "iris.npz", "--json").stdout)
    assert info["classes"] == [0, 1, 2] and info["class_names"] is None
    ev = json.loads(run("evaluate", tmp_path / "iris.npz", "--data", tmp_path / "iris.csv", "--json").stdout)
    assert [c["class"] for c in ev["classes"]] == [0, 1, 2] and {c["name"] for c in ev["classes"]} == {None}


def test_predict_data_and_image_say_the_same_label_and_name(cat_model, tmp_path):
    # Bug: predict --data test_catvnoncat.h5 wrote `1` where predict --image printed `1 (cat)`.
    import csv

    import h5py
    from PIL import Image

    model, test = cat_model
    with h5py.File(test, "r") as f:
        images = f["test_set_x"][:3]
    subset = tmp_path / "three.npz"
    np.savez(subset, X=images.reshape(3, -1))
    photos = []
    for i, img in enumerate(images):
        photos.append(tmp_path / f"p{i}.png")
        Image.fromarray(img).save(photos[-1])
    r = run("predict", model, "--data", subset)
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(r.stdout.splitlines()))
    assert rows[0][:2] == ["prediction", "class_name"]
    out = tmp_path / "images.csv"
    r = run("predict", model, *[a for p in photos for a in ("--image", p)], "--out", out)
    assert r.exit_code == 0, r.output
    image_rows = list(csv.reader(out.open()))
    assert image_rows[0] == ["image", "prediction", "class_name", "probability"]
    assert [row[:2] for row in rows[1:]] == [row[1:3] for row in image_rows[1:]]
    for (label, name), line in zip((row[:2] for row in rows[1:]), r.stdout.splitlines()):
        assert name in ("cat", "non-cat") and f": {label} ({name})  (probability" in line


def test_evaluate_on_a_mat_file_scores_the_split_train_called_test(tmp_path):
    # Bug: evaluate on a .mat file (X, y, Xval, yval) scored X, y, while train reported Xval/yval as its test
    # split: the same command line gave two different "test" scores.
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    X, Xv = rng.standard_normal((80, 2)), rng.standard_normal((30, 2))
    savemat(tmp_path / "d.mat", {"X": X, "y": (X[:, :1] > 0).astype(float), "Xval": Xv,
                                 "yval": (Xv[:, :1] > 0.5).astype(float)})
    model = tmp_path / "m.npz"
    r = run("train", "--data", tmp_path / "d.mat", "--out", model, "--json", *FAST)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["test"]["examples"] == 30 and doc["train"]["examples"] == 80
    ev = run("evaluate", model, "--data", tmp_path / "d.mat", "--json")
    assert ev.exit_code == 0 and "held-out split (Xval/yval: 30 examples)" in ev.stderr
    ev = json.loads(ev.stdout)
    assert ev["examples"] == 30 and ev["accuracy"] == pytest.approx(doc["test"]["accuracy"])
    tr = json.loads(run("evaluate", model, "--data", tmp_path / "d.mat", "--split", "train", "--json").stdout)
    assert tr["examples"] == 80 and tr["accuracy"] == pytest.approx(doc["train"]["accuracy"])
    savemat(tmp_path / "plain.mat", {"X": X, "y": (X[:, :1] > 0).astype(float)})
    r = run("evaluate", model, "--data", tmp_path / "plain.mat", "--split", "test")
    assert r.exit_code == 2 and "holds no held-out split" in error_line(r)


def test_regression_plot_has_training_curves_for_mse_and_r2(tmp_path):
    # Bug: --plot for a regression drew mse and r2 for the validation split only: the training metric was
    # never recorded (classification records its running accuracy).
    from sklearn.datasets import load_diabetes

    from deepstep import DeepNetwork, persistence
    from deepstep.plot import learning_curves

    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)
    model = tmp_path / "m.npz"
    r = run("train", "--data", tmp_path / "diabetes.csv", "--validation-fraction", "0.2", "--plot",
            tmp_path / "curve.png", "--out", model, *FAST)
    assert r.exit_code == 0, r.output
    h = persistence.load(model).history
    assert len(h["mse"]) == len(h["val_mse"]) == 2 and len(h["r2"]) == 2
    fig = learning_curves(h)
    for ax in fig.axes[1:3]:
        assert ax.get_title() in ("mse", "r2")
        assert {"train", "validation"} <= {line.get_label() for line in ax.get_lines()}
    # the running mse is the mean squared error in the targets' units: with full batches it is the
    # error of the weights the epoch started from
    X, y = load_diabetes(return_X_y=True)
    net = DeepNetwork(layers=(8,), epochs=3, batch_size="full", output="linear", seed=0)
    net.fit(X.T, y)                                    # fit returns the History
    before = net.evaluate(X.T, y)
    net.fit(X.T, y, epochs=1, warm_start=True)
    assert net.history["mse"][-1] == pytest.approx(before["mse"], rel=1e-5)
    assert net.history["r2"][-1] == pytest.approx(before["r2"], rel=1e-4)


def test_readme_penguins_block_is_a_real_run(tmp_path, monkeypatch):
    # Bug: the README's penguins output had drifted from what deepstep prints on the file it tells users to make.
    import subprocess
    import sys
    from pathlib import Path

    pp = pytest.importorskip("palmerpenguins")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    command = "deepstep train --data penguins.csv --label-column species --out penguins.npz"
    block = readme.split(f"$ {command}\n", 1)[1].split("```", 1)[0].splitlines()
    assert "palmerpenguins.load_penguins().to_csv('penguins.csv', index=False)" in readme
    monkeypatch.chdir(tmp_path)
    pp.load_penguins().to_csv("penguins.csv", index=False)
    r = subprocess.run([sys.executable, "-m", "deepstep", *command.split()[1:]], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    timing = re.compile(r"epochs in [0-9.]+ s")
    engine = re.compile(r"^deepstep: engine: .*")          # NumPy, or with the compiled kernels where numba is
    same = lambda lines: [engine.sub("deepstep: engine: E", timing.sub("epochs in T s", ln)) for ln in lines]
    assert same(r.stderr.splitlines() + r.stdout.splitlines()) == same(block)


def test_model_from_before_zero_based_names_still_reads_headerless_files(tmp_path):
    # Guard for the numbering change: a model trained on a headerless file when columns were named from 1
    # ('column 1' .. 'column 5', label 'column 5' at index 4) must pick the same columns, not shifted ones.
    from sklearn.datasets import load_iris

    from deepstep import persistence

    iris = load_iris()
    pd.DataFrame(np.column_stack([iris.data, iris.target])).to_csv(tmp_path / "h.csv", index=False, header=False)
    model = tmp_path / "m.npz"
    assert run("train", "--data", tmp_path / "h.csv", "--out", model, "--test-fraction", "0", *FAST).exit_code == 0
    new = json.loads(run("evaluate", model, "--data", tmp_path / "h.csv", "--json").stdout)
    net = persistence.load(model)
    for c in net.tabular.columns:                          # rename as an older deepstep wrote them
        c["name"] = "column " + str(int(c["name"].split()[1]) + 1)
    net.tabular.label = {"name": "column 5", "index": 4}
    net.feature_names = [c["name"] for c in net.tabular.columns]
    persistence.save(net, tmp_path / "old.npz")
    old = json.loads(run("evaluate", tmp_path / "old.npz", "--data", tmp_path / "h.csv", "--json").stdout)
    assert old["accuracy"] == new["accuracy"] and old["examples"] == new["examples"] == 150


def test_numbers_with_thousands_separators_are_refused_with_how_to_read_them(tmp_path):
    # Bug: a column of '76,705'-style numbers (a formatted export) was called decimal commas, and the advice
    # (--decimal ,) would have read 76,705 as 76.705; with few distinct values it was one-hot encoded.
    rng = np.random.default_rng(0)
    income = rng.integers(1000, 90000, 300)
    for distinct in (300, 6):
        values = income if distinct == 300 else rng.choice([1200, 2500, 750, 98000, 1234567, 40000], 300)
        frame = pd.DataFrame({"income": [f"{v:,}" for v in values], "age": rng.integers(18, 80, 300),
                              "label": (values > 40000).astype(int)})
        frame.to_csv(tmp_path / "t.csv", index=False)
        r = run("train", "--data", tmp_path / "t.csv", *FAST)
        assert r.exit_code == 1
        line = error_line(r)
        assert "column 'income' holds numbers written with thousands separators" in line
        assert "--decimal" not in line and "--drop 'income'" in line and "--categorical 'income'" in line
    # kept as categories when asked
    r = run("train", "--data", tmp_path / "t.csv", "--categorical", "income", *FAST)
    assert r.exit_code == 0, r.output
    assert "one-hot: income 6" in r.stderr
    # real text with commas and digits is not numbers: left alone
    frame["income"] = ["1,000-2,000" if v < 40000 else "over 40,000" for v in values]
    frame.to_csv(tmp_path / "t.csv", index=False)
    r = run("train", "--data", tmp_path / "t.csv", *FAST)
    assert r.exit_code == 0, r.output
