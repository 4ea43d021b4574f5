"""Tests for the ``deepstep`` command (click's CliRunner, plus a few real subprocess runs)."""

import dataclasses
import io
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep import DeepNetwork, HyperParameters, persistence, state
from deepstep.cli import main
from deepstep.cli.progress import ProgressBar
from deepstep.errors import TrainingDiverged


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def accuracy(output, split):
    return float(re.search(rf"{split} accuracy: ([0-9.]+)", output).group(1))


def assert_one_line_error(result, code, pattern, after_banner=False):
    """One error line on stderr; ``after_banner``: an error met in training, after the start banner."""
    assert result.exit_code == code, result.output
    err = result.stderr.strip().splitlines()
    if after_banner:
        assert all(line.startswith("deepstep: ") and "error" not in line for line in err[:-1]), result.stderr
        err = err[-1:]
    assert len(err) == 1, result.stderr
    assert err[0].startswith("deepstep: error: ")
    assert re.search(pattern, err[0]), err[0]
    assert "Traceback" not in result.output


@pytest.fixture
def csv_files(tmp_path, rng):
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    for path, sl in ((train, slice(0, 90)), (test, slice(90, 120))):
        rows = ["f1,f2,f3,label"] + [f"{a:.6f},{b:.6f},{c:.6f},{t}" for (a, b, c), t in zip(X[sl], y[sl])]
        path.write_text("\n".join(rows) + "\n")
    return train, test


@pytest.fixture
def csv_model(tmp_path, csv_files):
    out = tmp_path / "model.npz"
    r = run("train", "--data", csv_files[0], "--test-data", csv_files[1], "--layers", "6",
            "--epochs", 40, "--learning-rate", 0.01, "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    return out


# --- train ------------------------------------------------------------------------------------------
def test_train_without_arguments_breast_cancer():
    r = run("train")
    assert r.exit_code == 0, r.output
    assert accuracy(r.stdout, "train") > 0.95
    assert accuracy(r.stdout, "test") >= 0.95
    assert "143 examples" in r.stdout


def test_every_hyperparameter_is_an_option():
    r = run("train", "--help")
    assert r.exit_code == 0
    for f in dataclasses.fields(HyperParameters):
        flag = "--" + f.name.replace("_", "-")
        assert flag in r.output, flag
    assert "--no-early-stopping" in r.output and "--no-shuffle" in r.output
    assert "Exit codes" in r.output


def test_options_reach_the_saved_hyperparameters(tmp_path):
    out = tmp_path / "m.npz"
    r = run("train", "--dataset", "moons", "--layers", "8,4", "--activation", "tanh", "--epochs", 3,
            "--batch-size", 32, "--optimizer", "momentum", "--momentum", 0.8, "--l2", 0.1,
            "--keep-prob", 0.9, "--early-stopping", "--validation-fraction", 0.2, "--no-shuffle",
            "--seed", 5, "--dtype", "float64", "--init", "xavier", "--out", out, "-q")
    assert r.exit_code == 0, r.output
    hp = persistence.load(out).hp
    assert hp == HyperParameters(layers=(8, 4), activation="tanh", epochs=3, batch_size=32,
                                 optimizer="momentum", momentum=0.8, l2=0.1, keep_prob=0.9,
                                 early_stopping=True, validation_fraction=0.2, shuffle=False, seed=5,
                                 dtype="float64", init="xavier")


@pytest.mark.parametrize("bs", ["full", "auto", "16"])
def test_batch_size_forms(tmp_path, bs):
    out = tmp_path / "m.npz"
    assert run("train", "--dataset", "circles", "--epochs", 1, "--batch-size", bs, "--out", out,
               "-q").exit_code == 0
    assert persistence.load(out).hp.batch_size == (int(bs) if bs.isdigit() else bs)


def test_quiet_prints_only_the_accuracy_lines():
    r = run("train", "--dataset", "digits", "--epochs", 2, "--quiet")
    assert r.exit_code == 0
    assert r.stderr == ""
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["train", "test"]


def test_plot_writes_a_png(tmp_path):
    p = tmp_path / "cost.png"
    r = run("train", "--dataset", "moons", "--epochs", 3, "--validation-fraction", 0.2, "--plot", p)
    assert r.exit_code == 0, r.output
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_bar_shows_the_cost_to_significant_digits():
    """Regression: the CLI's bar showed cost=0.0000 once the cost was small."""
    buf = io.StringIO()
    bar = ProgressBar(1, file=buf, mininterval=0)
    bar.set_params({"epochs": 2})
    bar.on_train_begin(None)
    bar.on_epoch_end(1, {"cost": 0.6931, "val_cost": 0.7})
    bar.on_epoch_end(2, {"cost": 1.234e-06})
    bar.on_train_end(None)
    assert "val_cost=0.7" in buf.getvalue() and "cost=1.234e-06" in buf.getvalue()


def test_mat_file_uses_its_validation_split_as_test(data_dir):
    r = run("train", "--data", data_dir / "data.mat", "--epochs", 5, "-q")
    assert r.exit_code == 0, r.output
    assert "200 examples" in r.stdout


def test_cat_images_through_the_cli(cat_files, tmp_path):
    """The lesson's 4-layer cat network, shortened to 80 full-batch Adam epochs.

    The lesson's full run (gd, 2500 epochs) is in the report and the examples;
    here the bound is loose: 80 epochs reach train 0.86, test 0.64.
    """
    out = tmp_path / "cat.npz"
    r = run("train", "--data", cat_files[0], "--test-data", cat_files[1], "--layers", "20,7,5",
            "--optimizer", "adam", "--learning-rate", 0.001, "--epochs", 80, "--batch-size", "full",
            "--init", "scaled", "--out", out, "-q")
    assert r.exit_code == 0, r.output
    assert accuracy(r.stdout, "train") >= 0.8
    assert accuracy(r.stdout, "test") >= 0.6
    model = persistence.load(out)
    # Regression (train scaled uint8 images by 1/255 while DeepNetwork() standardized them): one default.
    assert model.input_shape == (64, 64, 3) and model.scaler.kind == "standardize"

    import h5py
    from PIL import Image
    with h5py.File(cat_files[1], "r") as f:
        img = f["test_set_x"][1]
    photo = tmp_path / "photo.png"
    Image.fromarray(img).resize((128, 96)).save(photo)
    r = run("predict", out, "--image", photo)
    assert r.exit_code == 0, r.output
    assert re.match(rf"{re.escape(str(photo))}: [01] \((non-)?cat\)  \(probability [0-9.]+\)", r.stdout)


# --- evaluate / predict / info -------------------------------------------------------------------------
def test_evaluate_and_predict_round_trip(tmp_path, csv_files, csv_model):
    r = run("evaluate", csv_model, "--data", csv_files[1])
    assert r.exit_code == 0, r.output
    acc = float(re.search(r"accuracy: ([0-9.]+)", r.stdout).group(1))
    model = persistence.load(csv_model)
    from deepstep import data
    ds = data.load_file(csv_files[1])
    assert acc == pytest.approx(model.evaluate(ds.X, ds.y)["accuracy"], abs=1e-4)

    preds = tmp_path / "preds.csv"
    r = run("predict", csv_model, "--data", csv_files[1], "--out", preds)
    assert r.exit_code == 0, r.output
    lines = preds.read_text().splitlines()
    assert lines[0] == "prediction,p_1" and len(lines) == 31
    np.testing.assert_array_equal([int(line.split(",")[0]) for line in lines[1:]], model.predict(ds.X)[0])

    # the same examples without the label column give the same predictions (on stdout)
    nolabel = tmp_path / "nolabel.csv"
    nolabel.write_text("\n".join(",".join(line.split(",")[:3]) for line in csv_files[1].read_text().splitlines()))
    r = run("predict", csv_model, "--data", nolabel)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == lines


def test_evaluate_needs_labels(tmp_path, csv_model):
    p = tmp_path / "x.csv"
    p.write_text("1,2,3\n4,5,6\n")
    assert_one_line_error(run("evaluate", csv_model, "--data", p), 1, "no label column")


def test_info_shows_summary_hyperparameters_and_history(csv_model):
    r = run("info", csv_model)
    assert r.exit_code == 0, r.output
    for text in ("(6, 3)", "learning_rate", "0.01", "trained for 40 epochs", "f1, f2, f3", "  40  "):
        assert text in r.stdout, text


def test_predict_image_on_a_non_image_model(tmp_path, csv_model):
    assert_one_line_error(run("predict", csv_model, "--image", tmp_path / "x.png"), 1, "not trained on images")


def test_gradcheck_command():
    r = run("gradcheck", "-n", 1)
    assert r.exit_code == 0, r.output
    assert re.search(r"largest relative difference ([0-9.e-]+) \(all below 1e-07\)", r.stdout)


def test_commands_of_other_modules_are_registered():
    r = run("--help")
    assert "search" in r.output and "experiment" in r.output


# --- errors: one line, the right exit code, no traceback ----------------------------------------------------
def test_missing_data_file():
    assert_one_line_error(run("train", "--data", "no/such.csv"), 1, "not found: no/such.csv")


def test_unreadable_format(tmp_path):
    p = tmp_path / "d.h5"
    p.write_text("not hdf5")
    assert_one_line_error(run("train", "--data", p), 1, "could not be read as HDF5")


def test_nan_in_data(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,y\n1,2,0\n3,nan,1\n")
    assert_one_line_error(run("train", "--data", p, "--impute", "none"), 1,
                          r"line 3: column 'b' is missing a value .* --impute is none")


def test_wrong_width(tmp_path, csv_model):
    p = tmp_path / "w.csv"
    p.write_text("1,2,3,4,0\n5,6,7,8,1\n")
    assert_one_line_error(run("evaluate", csv_model, "--data", p), 1,
                          "no header row and 5 columns, but the model reads 3 columns plus the label")
    assert_one_line_error(run("train", "--data", p.parent / "train.csv", "--test-data", p), 1,
                          "no header row and 5 columns, but the model reads 3 columns plus the label")


def test_unknown_labels(tmp_path, csv_model):
    p = tmp_path / "l.csv"
    p.write_text("1,2,3,7\n4,5,6,0\n")
    assert_one_line_error(run("evaluate", csv_model, "--data", p), 1, r"Labels \[7\] are not among")


def test_corrupt_model(tmp_path, csv_files, csv_model):
    raw = bytearray(csv_model.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    csv_model.write_bytes(bytes(raw))
    assert_one_line_error(run("evaluate", csv_model, "--data", csv_files[1]), 1, "model|corrupt")
    assert_one_line_error(run("info", csv_files[0]), 1, "not a deepstep model")
    assert_one_line_error(run("info", tmp_path / "none.npz"), 1, "Model file not found")


@pytest.mark.parametrize("args,pattern", [
    (["--activation", "sigmoidd"], "Unknown hidden activation 'sigmoidd'.*Did you mean 'sigmoid'"),
    (["--learning-rate", "-1"], "'learning_rate' parameter must be a float in"),
    (["--learning-rate", "abc"], "'abc' is not a valid float"),
    (["--layers", "20,x"], "'layers' parameter"),
    (["--batch-size", "lots"], "'batch_size' parameter must be a positive int, 'auto' or 'full'"),
    (["--keep-prob", "0"], "'keep_prob'"),
    (["--lerning-rate", "1"], "No such option.*--learning-rate"),
    (["--dataset", "cancer"], "Unknown dataset 'cancer'"),
    (["--dataset", "moons", "--data", "x.csv"], "either --data FILE or --dataset NAME"),
])
def test_usage_errors_exit_2(args, pattern):
    assert_one_line_error(run("train", *args), 2, pattern)


def test_batch_larger_than_data_is_a_usage_error(tmp_path, csv_files):
    assert_one_line_error(run("train", "--data", csv_files[0], "--batch-size", 1000), 2, "larger than the 72")
    assert_one_line_error(run("train", "--data", csv_files[0], "--batch-size", 1000, "--test-fraction", 0), 2,
                          "larger than the 90")


def test_diverged_and_interrupted(monkeypatch):
    from deepstep import network

    def diverge(self, *a, **k):
        raise TrainingDiverged("The cost became nan at epoch 3")

    monkeypatch.setattr(network.DeepNetwork, "fit", diverge)
    assert_one_line_error(run("train"), 1, "cost became nan", after_banner=True)

    def interrupt(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(network.DeepNetwork, "fit", interrupt)
    r = run("train")
    assert r.exit_code == 130 and "interrupted" in r.stderr and "Traceback" not in r.output


# --- the installed command, end to end ---------------------------------------------------------------
def deepstep_command():
    exe = shutil.which("deepstep", path=str(__import__("pathlib").Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from deepstep.cli import main; main()"]


def test_subprocess_train_and_errors(tmp_path):
    cmd = deepstep_command()
    ok = subprocess.run(cmd + ["train", "--dataset", "moons", "--epochs", "3", "-q"],
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "test accuracy:" in ok.stdout

    bad = subprocess.run(cmd + ["train", "--data", str(tmp_path / "missing.csv")],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("deepstep: error: Data file not found")

    usage = subprocess.run(cmd + ["train", "--optimizer", "sgd"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert usage.returncode == 2 and usage.stderr.startswith("deepstep: error: Unknown optimizer 'sgd'")


# --- regressions from a newcomer's first session ----------------------------------------------------------
def test_prose_file_fails_before_anything_is_printed(tmp_path):
    """A prose file used to print 'training on notes.txt (2 examples, 0 features)', then 'X is empty'."""
    notes = tmp_path / "notes.txt"
    notes.write_text("hello world\nthese are my notes\n")
    r = run("train", "--data", notes)
    assert_one_line_error(r, 1, r"notes\.txt, line 1, column 0: 'hello world' is not a number")
    assert r.stdout == ""


@pytest.mark.parametrize("option,name", [("--out", "m.npz"), ("--plot", "p.png"), ("--checkpoint", "c.npz")])
def test_output_folders_are_checked_before_training(tmp_path, monkeypatch, option, name):
    """--out/--plot into a missing folder used to fail only after training, naming a temp file."""
    from deepstep import network

    def no_training(self, *a, **k):
        raise AssertionError("trained before checking the output folder")

    monkeypatch.setattr(network.DeepNetwork, "fit", no_training)
    target = tmp_path / "nonexistent" / "dir" / name
    r = run("train", "--dataset", "moons", option, target)
    assert_one_line_error(r, 1, rf"Cannot write {option} {re.escape(str(target))}: the folder .* does not exist")
    assert ".tmp" not in r.stderr and r.stdout == ""


def test_save_errors_name_the_real_path_not_the_temp_file(tmp_path, monkeypatch):
    """persistence writes through a temp file; an OSError there must not leak '.m.npz.xxxx.tmp'."""
    import errno

    def vanished(model, path):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / ".m.npz.abcd.tmp"))

    monkeypatch.setattr(persistence, "save", vanished)
    out = tmp_path / "m.npz"
    r = run("train", "--dataset", "moons", "--epochs", 1, "--out", out, "-q")
    assert_one_line_error(r, 1, rf"Cannot write --out {re.escape(str(out))}: No such file or directory")
    assert ".tmp" not in r.stderr


@pytest.fixture
def image_model(tmp_path, rng):
    from deepstep import DeepNetwork

    net = DeepNetwork(layers=(3,), epochs=2, seed=0)
    net.fit(rng.integers(0, 255, (12, 30)).astype(np.uint8), np.arange(30) % 2)
    net.input_shape = (2, 2, 3)
    net.class_names = ["dog", "cat"]
    path = tmp_path / "img.npz"
    persistence.save(net, path)
    return path


def test_predict_images_writes_out_csv(tmp_path, image_model, rng):
    """--out used to be ignored with --image: the predictions must also go to the CSV."""
    import csv

    from PIL import Image

    photos = []
    for i in range(2):
        p = tmp_path / f"photo{i}.png"
        Image.fromarray(rng.integers(0, 255, (6, 5, 3)).astype(np.uint8)).save(p)
        photos.append(p)
    out = tmp_path / "preds.csv"
    r = run("predict", image_model, "--image", photos[0], "--image", photos[1], "--out", out)
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["image", "prediction", "class_name", "probability"] and len(rows) == 3
    for (image, label, name, prob), line in zip(rows[1:], r.stdout.splitlines()):
        assert line == f"{image}: {label} ({name})  (probability {float(prob):.3f})"
        assert (label, name) in (("0", "dog"), ("1", "cat")) and 0.5 <= float(prob) <= 1
    assert [row[0] for row in rows[1:]] == [str(p) for p in photos]
    assert "2 predictions written to" in r.stderr


def test_model_width_error_is_phrased_for_the_command_line(monkeypatch, csv_model):
    """The model's 'X has N features (rows)' is Python-API wording; the CLI speaks of feature columns.

    The CLI checks widths before it calls the model; this guards the rewording for whatever
    gets past that check (here: a loader made to return 5 features for a 3-feature model).
    """
    from deepstep import data
    from deepstep.cli import evaluate as commands

    wide = data.Dataset(np.zeros((5, 4)), np.array([0, 1, 0, 1]))
    monkeypatch.setattr(commands, "_load_for_model", lambda *a, **k: wide)
    for args in (["evaluate", csv_model, "--data", "wide.csv"], ["predict", csv_model, "--data", "wide.csv"]):
        r = run(*args)
        assert_one_line_error(r, 1, r"The data \(wide\.csv\) has 5 feature columns but the model expects 3\.$")
        assert "(rows)" not in r.stderr and "X.T" not in r.stderr


def test_inconsistent_model_file_error_names_the_file(tmp_path, image_model, monkeypatch):
    """persistence said 'its metadata is inconsistent: ...' without the file."""
    model = persistence.load(image_model)
    model.input_shape = (4, 4, 3)                 # 48 pixels for a 12-input model
    bad = tmp_path / "bad.npz"
    monkeypatch.setattr(state, "check_savable", lambda model: None)  # save refuses it otherwise
    monkeypatch.setattr(state, "_check_loadable", lambda meta, dims: None)
    persistence.save(model, bad)
    assert_one_line_error(run("info", bad), 1, rf"^deepstep: error: {re.escape(str(bad))}: its metadata is "
                                               r"inconsistent: input_shape \[4, 4, 3\]")


def test_evaluate_on_a_dataset_of_another_width(csv_model):
    """'evaluate --dataset' used to pass the width check and fail in the model with 'X has 30 features (rows)'."""
    r = run("evaluate", csv_model, "--dataset", "breast_cancer")
    assert_one_line_error(r, 1, r"has 30 feature columns but the model expects 3")
    assert "(rows)" not in r.stderr


def test_train_help_example_is_the_readme_cat_command(monkeypatch, tmp_path):
    """The help's cat example omitted --init-rng mt19937 --seed 1 (test accuracy 0.76, not 0.80)."""
    from deepstep import data
    from deepstep.cli import train as train_command

    text = run("train", "--help").output
    example = " ".join(text.split("Example (the lesson's 4-layer cat classifier")[1].split("Options:")[0]
                       .replace("\\", " ").split())
    readme = ("--layers 20,7,5 --optimizer gd --learning-rate 0.0075 --epochs 2500 --batch-size full "
              "--init scaled --init-rng mt19937 --seed 1 --dtype float64 --preprocess divide255")
    assert readme in example
    # ... and it is a complete command: run it (on small stand-in data, 1 epoch) and read back the settings
    args = example.split("deepstep train ", 1)[1].split()
    args[args.index("--epochs") + 1] = "1"
    small = data.load_dataset("moons")
    from deepstep.cli.files import Loaded

    monkeypatch.setattr(train_command, "_load_training_data",
                        lambda *a: Loaded(small[0], small[1], "classification", "binary labels"))
    out = tmp_path / "cat.npz"
    r = run("train", *args, "--out", out, "-q")
    assert r.exit_code == 0, r.output
    hp = persistence.load(out).hp
    assert (hp.layers, hp.init, hp.init_rng, hp.seed, hp.optimizer, hp.dtype, hp.preprocess) == (
        (20, 7, 5), "scaled", "mt19937", 1, "gd", "float64", "divide255")


def test_test_data_without_the_label_column(tmp_path, csv_files):
    """'test data has 63 features but the training data has 64' did not say what was wrong."""
    nolabel = tmp_path / "nolabel.csv"
    nolabel.write_text("\n".join(",".join(line.split(",")[:3]) for line in csv_files[1].read_text().splitlines()))
    r = run("train", "--data", csv_files[0], "--test-data", nolabel)
    assert_one_line_error(r, 1, r"nolabel\.csv has no label column \('label'\); --test-data needs labelled")
    narrow = tmp_path / "narrow.csv"                    # a feature column fewer: named
    narrow.write_text("\n".join(",".join(line.split(",")[:2]) for line in csv_files[1].read_text().splitlines()))
    r = run("train", "--data", csv_files[0], "--test-data", narrow)
    assert_one_line_error(r, 1, r"narrow\.csv lacks the column 'f3' that the model was trained on")


def test_label_column_errors_are_usage_errors(csv_files):
    """Out of range exited 1 while a misspelled name exited 2: both are usage errors."""
    assert_one_line_error(run("train", "--data", csv_files[0], "--label-column", 99), 2,
                          r"Label column 99 is out of range.*4 columns \(indices 0\.\.3")
    assert_one_line_error(run("train", "--data", csv_files[0], "--label-column", "lable"), 2,
                          r"Unknown label column .*'lable'.*Allowed: 'f1', 'f2', 'f3', 'label'")


@pytest.mark.parametrize("args,option", [(["info", "MODEL", "--tail", "-1"], "--tail"),
                                         (["gradcheck", "--threshold", "-1"], "--threshold"),
                                         (["gradcheck", "--threshold", "0"], "--threshold"),
                                         (["gradcheck", "-n", "0"], "-n")])
def test_numeric_options_out_of_range_are_usage_errors(csv_model, args, option):
    """'info --tail -1' was accepted; 'gradcheck --threshold -1' ran and failed every network."""
    args = [str(csv_model) if a == "MODEL" else a for a in args]
    assert_one_line_error(run(*args), 2, rf"Invalid value for '{option}'")


def test_layers_with_an_empty_part_is_a_usage_error():
    assert_one_line_error(run("train", "--layers", "20,,5", "--epochs", 1), 2, r"'layers' parameter")


def test_plot_title_uses_the_file_name(tmp_path, monkeypatch, csv_files):
    """The cost plot's title showed the full data path."""
    from deepstep.cli import train as train_command

    titles = []
    monkeypatch.setattr(train_command, "plot_history", lambda h, path, title=None: titles.append(title))
    r = run("train", "--data", csv_files[0], "--epochs", 1, "--plot", tmp_path / "p.png", "-q")
    assert r.exit_code == 0, r.output
    assert titles == ["deepstep on train.csv"]


# --- sample and class weights (in the loss) -----------------------------------------------------------------
def _weighted_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] + 0.3 * rng.standard_normal(120) > 0.8).astype(int)        # a minority class
    w = np.where(y == 1, 3.0, 1.0)
    path = tmp_path / "w.csv"
    rows = ["a,b,c,weight,label"] + [f"{a:.6f},{b:.6f},{c:.6f},{wi:g},{yi}" for (a, b, c), wi, yi in zip(X, w, y)]
    path.write_text("\n".join(rows) + "\n")
    return path, X, y, w


def test_train_weight_column_is_a_weight_not_a_feature(tmp_path):
    path, X, y, w = _weighted_csv(tmp_path)
    out = tmp_path / "m.npz"
    r = run("train", "--data", path, "--label-column", "label", "--weight-column", "weight", "--layers", "4",
            "--test-fraction", "0", "--epochs", "3", "--batch-size", "full", "--dtype", "float64", "--out", out,
            "--quiet")
    assert r.exit_code == 0, r.output
    assert "sample weights from column 'weight'" in r.output
    from deepstep.persistence import load

    net = load(out)
    assert net.layer_dims[0] == 3 and net.feature_names == ["a", "b", "c"]
    ref = DeepNetwork(layers=(4,), epochs=3, batch_size="full", dtype="float64")
    ref.fit(X.T, y, sample_weight=w)
    np.testing.assert_allclose(net.engine.theta, ref.engine.theta, rtol=1e-6, atol=1e-9)
    bad = run("train", "--data", path, "--label-column", "label", "--weight-column", "wieght", "--quiet")
    assert bad.exit_code == 2 and "no column of that name" in bad.output


def test_train_class_weight_balanced_prints_the_weights(tmp_path):
    path, X, y, _ = _weighted_csv(tmp_path)
    r = run("train", "--data", path, "--label-column", "label", "--class-weight", "balanced", "--layers", "4",
            "--test-fraction", "0", "--epochs", "2", "--quiet")
    assert r.exit_code == 0, r.output
    n1 = int(y.sum())
    assert f"1: {120 / (2 * n1):.3g}" in r.output and "class weights (balanced)" in r.output
