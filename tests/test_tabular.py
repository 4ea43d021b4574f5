"""The data people bring, through the installed ``deepstep`` command: the right task, columns by name,
text and missing values, a held-out score, reports on stdout and status on stderr.

Real files: scikit-learn's datasets written to CSV with pandas, palmerpenguins' CSV (text columns, NA
cells), the lesson's HDF5 files.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepstep import DeepNetwork, persistence, tabular
from deepstep.errors import DataError, ModelFileError

pd = pytest.importorskip("pandas")


def deepstep(*args, stdin=None, check=True):
    exe = shutil.which("deepstep", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from deepstep.cli import main; main()"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300, input=stdin,
                       check=False)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


FAST = ["--epochs", "30", "--layers", "32"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from sklearn import datasets

    d = tmp_path_factory.mktemp("tables")
    datasets.load_diabetes(as_frame=True).frame.to_csv(d / "diabetes.csv", index=False)
    wine = datasets.load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine["cultivar"] = wine["cultivar"].map(lambda i: f"class_{i}")
    wine = wine[["cultivar"] + [c for c in wine.columns if c != "cultivar"]]
    wine.to_csv(d / "wine.csv")                             # pandas' index column, label first
    cols = list(wine.columns)
    np.random.default_rng(0).shuffle(cols)
    wine[cols].to_csv(d / "wine_shuffled.csv", index=False)
    wine.rename(columns={"alcohol": "ALC"}).to_csv(d / "wine_renamed.csv", index=False)
    return d


@pytest.fixture(scope="module")
def penguins():
    pp = pytest.importorskip("palmerpenguins")
    path = Path(pp.__file__).parent / "data" / "penguins.csv"
    if not path.exists():
        pytest.skip("palmerpenguins ships no penguins.csv")
    return path


# --- 1. the task and the label column, said --------------------------------------------------------------
def test_diabetes_target_is_a_regression_not_215_classes(files, tmp_path):
    """Bug: diabetes.csv (targets like 151.0) trained a 215-class classifier at accuracy 0.03."""
    out = tmp_path / "d.npz"
    r = deepstep("train", "--data", files / "diabetes.csv", *FAST, "--out", out)
    assert re.search(r"task: regression \(the label column holds 214 distinct numbers in 442 rows", r.stderr)
    assert "target from 25 to 346" in r.stderr and "label column: 'target'" in r.stderr
    assert re.search(r"^train mse: .*\ntest mse: .*\(r2 [0-9.-]+, 89 examples\)$", r.stdout.strip(), re.M)
    assert r.stdout.count("\n") == 2                        # results only on stdout
    model = persistence.load(out)
    assert model.output == "linear" and model.tabular.task == "regression"
    assert model.tabular.label == {"name": "target", "index": 10}
    pred = deepstep("predict", out, "--data", files / "diabetes.csv").stdout.splitlines()
    assert pred[0] == "prediction" and len(pred) == 443
    assert 20 < np.mean([float(v) for v in pred[1:]]) < 400  # in the target's units (restored)
    r = deepstep("train", "--data", files / "diabetes.csv", "--epochs", "1", "--task", "classification",
                 "--test-fraction", "0")
    assert "task: classification (as asked" in r.stderr and "214 classes" in r.stderr
    assert "warning: 214 classes" in r.stderr and "--task regression" in r.stderr


def test_label_column_by_name_is_remembered_and_columns_are_taken_by_name(files, tmp_path):
    """Bugs: evaluate forgot --label-column ('class_0' is not a number), columns in another order gave
    0.32 instead of 0.95 silently, and a file of other names was accepted."""
    out = tmp_path / "w.npz"
    r = deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", *FAST, "--out", out)
    assert "3 classes (class_0, class_1, class_2)" in r.stderr
    assert "label column: 'cultivar' (column 1" in r.stderr
    assert "unnamed first column of" in r.stderr and "(an index): not used" in r.stderr
    assert "features: 13 from 13 columns" in r.stderr
    same = deepstep("evaluate", out, "--data", files / "wine.csv", "--json")
    shuffled = deepstep("evaluate", out, "--data", files / "wine_shuffled.csv", "--json")
    a, b = json.loads(same.stdout), json.loads(shuffled.stdout)
    assert a["accuracy"] == b["accuracy"] > 0.9 and a["confusion_matrix"] == b["confusion_matrix"]
    bad = deepstep("evaluate", out, "--data", files / "wine_renamed.csv", check=False)
    assert bad.returncode == 1 and "lacks the column 'alcohol' that the model was trained on" in bad.stderr
    model = persistence.load(out)
    assert model.tabular.input_names[:2] == ["alcohol", "malic_acid"] and model.tabular.columns[0]["dtype"] == "float64"


def test_label_first_is_not_silently_the_last_column(files):
    """Bug: a CSV whose label is the first column trained on the last ('proline') without a word."""
    r = deepstep("train", "--data", files / "wine.csv", "--epochs", "1")
    assert "label column: 'proline' (column 14, the last column; --label-column to change)" in r.stderr
    assert "task: regression" in r.stderr and "cultivar 3" in r.stderr      # said, and the fix named


# --- 2. text and missing values ----------------------------------------------------------------------
def test_penguins_text_and_missing_values(penguins, tmp_path):
    """Bug: 'Torgersen' is not a number / an empty cell: ordinary CSVs were refused."""
    out = tmp_path / "p.npz"
    r = deepstep("train", "--data", penguins, "--label-column", "species", *FAST, "--out", out)
    assert "features: 10 from 7 columns (5 numeric, 2 text (one-hot: island 3, sex 2))" in r.stderr
    assert re.search(r"\d+ missing values in 5 columns imputed \(median", r.stderr)
    assert float(re.search(r"test accuracy: ([0-9.]+)", r.stdout).group(1)) > 0.85
    model = persistence.load(out)
    island = next(c for c in model.tabular.columns if c["name"] == "island")
    assert island["categories"] == ["Biscoe", "Dream", "Torgersen"] and island["dtype"] == "str"
    doc = json.loads(deepstep("info", out, "--json").stdout)
    assert doc["columns"]["label"] == {"name": "species", "index": 0} and doc["task"] == "classification"
    assert doc["feature_names"][:3] == ["island_Biscoe", "island_Dream", "island_Torgersen"]
    # unseen categories: all-zero features, one warning
    df = pd.read_csv(penguins)
    df.loc[:9, "island"] = "Atlantis"
    df.loc[:3, "sex"] = "unknown"
    new = tmp_path / "new.csv"
    df.drop(columns=["species"]).to_csv(new, index=False)
    r = deepstep("predict", out, "--data", new)
    assert r.stderr.count("warning") == 1 and "'Atlantis'" in r.stderr and "'unknown'" in r.stderr
    assert r.stdout.splitlines()[0] == "prediction,p_Adelie,p_Chinstrap,p_Gentoo"
    refused = deepstep("train", "--data", penguins, "--label-column", "species", "--impute", "none", check=False)
    assert refused.returncode == 1 and "is missing a value" in refused.stderr and "--impute is none" in refused.stderr


def test_encoder_matches_scikit_learn(penguins):
    """One-hot and imputation semantics of OneHotEncoder(handle_unknown='ignore') and SimpleImputer."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    table = tabular.read_csv(penguins)
    train = table.take(np.arange(0, 300))
    test = table.take(np.arange(300, table.n_rows))
    num, txt = ["bill_length_mm", "body_mass_g"], ["island", "sex"]
    enc = tabular.TabularEncoder.fit(train, num + txt)
    X = enc.transform(test).T
    df = pd.read_csv(penguins)
    tr, te = df.iloc[:300], df.iloc[300:]
    imp = SimpleImputer(strategy="median").fit(tr[num])
    timp = SimpleImputer(strategy="most_frequent").fit(tr[txt])
    ohe = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(timp.transform(tr[txt]))
    expected = np.hstack([imp.transform(te[num]), ohe.transform(timp.transform(te[txt]))])
    np.testing.assert_allclose(X, expected)
    assert enc.feature_names[2:] == list(ohe.get_feature_names_out(txt))


def test_stray_word_in_a_numeric_column_is_refused_not_one_hot(tmp_path):
    p = tmp_path / "typo.csv"
    p.write_text("a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(30)) + "3,1.2.3,1\n")
    r = deepstep("train", "--data", p, "--epochs", "1", check=False)
    assert r.returncode == 1 and "line 32: column 'b' holds '1.2.3' among numbers" in r.stderr


def test_model_file_state_is_validated(penguins, tmp_path):
    net = DeepNetwork(layers=(4,), epochs=1)
    table = tabular.read_csv(penguins)
    enc = tabular.TabularEncoder.fit(table, ["island", "bill_depth_mm"], label={"name": "species", "index": 0})
    y = table.column("species").astype(str)
    net.fit(enc.transform(table), y)
    net.tabular = enc
    net.feature_names = enc.feature_names
    meta, arrays = net.get_state()
    json.dumps(meta)                                         # plain JSON: no pickle
    back, _ = DeepNetwork.from_state(meta, arrays)
    assert back.tabular.to_dict() == enc.to_dict()
    meta["tabular"]["columns"][0]["categories"] = ["Dream", "Biscoe", "Torgersen"]     # unsorted
    with pytest.raises(ModelFileError, match="malformed"):
        DeepNetwork.from_state(meta, arrays)


# --- 3. held-out score, reports, stdout/stderr -----------------------------------------------------------
def test_data_alone_holds_out_a_stratified_fifth(files):
    r = deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", "--epochs", "5")
    assert "held out 20% for testing (stratified" in r.stderr and "142 training, 36 test examples" in r.stderr
    assert "test accuracy" in r.stdout
    r = deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", "--epochs", "5",
                 "--test-fraction", "0", "--json")
    doc = json.loads(r.stdout)
    assert "test" not in doc and doc["train"]["examples"] == 178 and doc["task"] == "classification"


def test_evaluate_reports_per_class_and_regression_metrics(files, tmp_path):
    out = tmp_path / "w.npz"
    deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", *FAST, "--out", out)
    r = deepstep("evaluate", out, "--data", files / "wine.csv")
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["class", "precision", "recall", "f1", "support"]
    assert lines[2].startswith("class_0") and lines[2].split()[-1] == "59"
    assert "confusion matrix (rows: true class, columns: predicted):" in r.stdout
    reg = tmp_path / "d.npz"
    deepstep("train", "--data", files / "diabetes.csv", *FAST, "--out", reg)
    doc = json.loads(deepstep("evaluate", reg, "--data", files / "diabetes.csv", "--json").stdout)
    assert doc["rmse"] == pytest.approx(np.sqrt(doc["mse"])) and doc["mae"] > 0 and "r2" in doc


def test_predict_into_a_closed_pipe_is_quiet(files, tmp_path):
    out = tmp_path / "w.npz"
    deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", "--epochs", "2", "--out", out)
    big = tmp_path / "big.csv"
    pd.concat([pd.read_csv(files / "wine.csv", index_col=0)] * 200).to_csv(big, index=False)
    exe = shutil.which("deepstep", path=str(Path(sys.executable).parent))
    r = subprocess.run(f"set -o pipefail; '{exe}' predict '{out}' --data '{big}' | head -2", shell=True,
                       executable="/bin/bash", capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and r.stdout.count("\n") == 2 and "Error" not in r.stderr, r.stderr


def test_headerless_file_of_the_right_width_by_position(files, tmp_path):
    out = tmp_path / "w.npz"
    deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", *FAST, "--out", out)
    df = pd.read_csv(files / "wine.csv", index_col=0)
    plain = tmp_path / "plain.csv"
    df.drop(columns=["cultivar"]).to_csv(plain, index=False, header=False)
    by_pos = deepstep("predict", out, "--data", plain).stdout
    by_name = deepstep("predict", out, "--data", files / "wine_shuffled.csv").stdout
    assert by_pos == by_name


def test_features_drop_and_stdin(files):
    r = deepstep("train", "--data", "-", "--label-column", "cultivar", "--features", "alcohol,hue",
                 "--epochs", "2", stdin=(files / "wine.csv").read_text())
    assert "features: 2 from 2 columns" in r.stderr and "training on standard input" in r.stderr
    r = deepstep("train", "--data", files / "wine.csv", "--label-column", "cultivar", "--drop", "proline,hue",
                 "--epochs", "2")
    assert "features: 11 from 11 columns" in r.stderr
    bad = deepstep("train", "--data", files / "wine.csv", "--features", "alcohol,nope", check=False)
    assert bad.returncode == 2 and "'nope'" in bad.stderr


def test_options_checked_before_training(files, tmp_path):
    """Bug: --plot curve.txt was checked after training (a traceback after the model was saved)."""
    r = deepstep("train", "--data", files / "wine.csv", "--plot", tmp_path / "curve.txt", check=False)
    assert r.returncode == 2 and "cannot tell the image format from the extension .txt" in r.stderr
    assert "training on" not in r.stderr
    r = deepstep("train", "--dataset", "moons", "--epochs", "3", "--early-stopping")
    assert "--early-stopping monitors the training cost here" in r.stderr


def test_signs_images_hold_out_a_stratified_split(data_dir):
    r = deepstep("train", "--data", data_dir / "test_signs.h5", "--epochs", "1", "--layers", "8")
    assert "6 classes (0, 1, 2, 3, 4, 5)" in r.stderr and "features: 12288, images 64x64x3" in r.stderr
    assert "96 training, 24 test examples" in r.stderr


# --- the Python side ------------------------------------------------------------------------------------------
def test_regression_targets_are_standardized_inside_the_model():
    """Bug: a linear output did not scale the target (R² −0.83 on diabetes with sklearn-like settings)."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    r2 = []
    for scale in (1.0, 1000.0):
        net = DeepNetwork(layers=(32,), epochs=100, output="linear", seed=0, dtype="float64")
        net.fit(X.T, y * scale)
        r2.append(net.evaluate(X.T, y * scale)["r2"])
        assert abs(net.predict(X.T).mean() - y.mean() * scale) < 0.1 * y.mean() * scale   # in the targets' units
    assert r2[0] > 0.4 and r2[0] == pytest.approx(r2[1], abs=1e-6)


def test_decide_task():
    assert tabular.decide_task(np.array(["a", "b"] * 10))[0] == "classification"
    assert tabular.decide_task(np.arange(100) % 3)[0] == "classification"
    assert tabular.decide_task(np.linspace(0, 1, 50))[0] == "regression"
    assert tabular.decide_task(np.arange(100))[0] == "regression"            # 100 values in 100 rows
    with pytest.raises(DataError, match="--task classification needs discrete labels"):
        tabular.decide_task(np.linspace(0, 1, 50), "classification")


# --- configs, presets, large files ----------------------------------------------------------------------
def test_config_file_flags_override_and_unknown_keys(files, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'data = "{files / "wine.csv"}"\nlabel-column = "cultivar"\nlayers = [16, 8]\n'
                   'learning_rate = 0.01\nepochs = 4\n')
    printed = deepstep("train", "--config", cfg, "--epochs", "3", "--print-config").stdout
    assert "layers = [16, 8]" in printed and "epochs = 3" in printed and "learning_rate = 0.01" in printed
    again = tmp_path / "again.toml"
    again.write_text(printed)                                  # the printed config is a config
    assert deepstep("train", "--config", again, "--print-config").stdout == printed
    r = deepstep("train", "--config", cfg, "--epochs", "3", "--json")
    assert json.loads(r.stdout)["epochs"] == 3 and "label column: 'cultivar'" in r.stderr
    cfg.write_text("learnin_rate = 0.1\n")
    bad = deepstep("train", "--config", cfg, check=False)
    assert bad.returncode == 2 and "Unknown key 'learnin_rate'" in bad.stderr and "'learning_rate'" in bad.stderr


def test_preset_lesson_is_the_lesson_under_flags():
    printed = deepstep("train", "--preset", "lesson", "--epochs", "7", "--print-config").stdout
    for line in ("layers = [20, 7, 5]", 'optimizer = "gd"', "learning_rate = 0.0075", "epochs = 7",
                 'init = "scaled"', 'init_rng = "mt19937"', "seed = 1", 'dtype = "float64"',
                 'preprocess = "divide255"', 'batch_size = "full"'):
        assert line in printed, line


def test_large_file_readers_agree(tmp_path):
    """The readers used for files over 1 MB (np.loadtxt, the streaming one) read what the small-file one does."""
    from deepstep import data

    rng = np.random.default_rng(0)
    m = 14000
    X = rng.standard_normal((m, 8)).round(6)
    mixed = tmp_path / "mixed.csv"
    with open(mixed, "w") as fh:
        fh.write("a,b,c,d,e,f,g,h,color,y\n")
        for i, row in enumerate(X):
            cells = [f"{v}" for v in row]
            if i % 97 == 0:
                cells[2] = "NA"
            color = "" if i % 89 == 0 else ("red", "green", "blue")[i % 3]
            fh.write(",".join(cells) + f",{color},{i % 2}\n")
    assert mixed.stat().st_size > 1 << 20
    small = tabular.readers._read_rows_table(*data.read_table(str(mixed)), str(mixed))
    big = tabular.readers._read_streaming(str(mixed), None, "auto")
    assert big.names == small.names and np.array_equal(big.lines, small.lines)
    for a, b in zip(big.columns, small.columns):
        assert a.dtype == b.dtype and (np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f"
                                       else list(a) == list(b))
    assert tabular.readers._read_numeric(str(mixed), None, "auto") is None          # a word: not for np.loadtxt
    numeric = tmp_path / "numeric.csv"
    np.savetxt(numeric, np.column_stack([X, X[:, 0] > 0]), delimiter=",", header="a,b,c,d,e,f,g,h,y",
               comments="", fmt="%.6f")
    fast = tabular.readers._read_numeric(str(numeric), None, "auto")
    slow = tabular.readers._read_streaming(str(numeric), None, "auto")
    assert fast.names == slow.names and all(np.array_equal(a, b) for a, b in zip(fast.columns, slow.columns))


def test_the_same_preprocessing_from_python(penguins):
    df = pd.read_csv(penguins).dropna(subset=["species"])
    enc = tabular.TabularEncoder.fit(tabular.from_frame(df.iloc[:250]), ["island", "sex", "bill_length_mm"])
    X = enc.transform(tabular.from_frame(df.iloc[250:]))
    assert X.shape == (3 + 2 + 1, len(df) - 250) and np.isfinite(X).all()
    net = DeepNetwork(layers=(8,), epochs=2).fit(X, df["species"].iloc[250:].to_numpy())
    assert net is not None


def test_headerless_training_file(tmp_path):
    """Bug: a headerless CSV failed to train ('has no header row and 5 columns, but the model reads 4')."""
    p = tmp_path / "plain.csv"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    np.savetxt(p, np.column_stack([X, X[:, 0] > 0]), delimiter=",", fmt="%.5f")
    out = tmp_path / "m.npz"
    r = deepstep("train", "--data", p, "--epochs", "2", "--drop", "column 1", "--out", out)
    assert "label column: 'column 4' (column 4, the last column" in r.stderr and "features: 3 from 3" in r.stderr
    assert deepstep("evaluate", out, "--data", p).stdout.startswith("accuracy: ")
