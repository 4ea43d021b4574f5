"""The bad-input catalogue: every way users hand deepstep wrong data or options, and what they get.

Each case asserts the exact error type (Python API) or exit code (CLI: 2 for usage
errors, 1 for data and file errors), that the message names the problem, and, for the
CLI, that it is one line on stderr with no traceback. The loaders' own edge cases are
in test_data.py, the model-file ones in test_persistence.py and test_fuzz_model_file.py;
this file is the user's-eye view across both surfaces.
"""

import re
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep import DeepNetwork, HyperParameters, data, persistence
from deepstep.cli import main
from deepstep.cli.output import load_image
from deepstep.errors import DataError, InvalidParameterError, ModelFileError, NotFittedError


# --- shared material: small data, a trained model, bad files ------------------------------------------
@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40))                         # (n_x, m)
    y = (X[0] > 0).astype(int)
    net = DeepNetwork(layers=(4,), epochs=2, seed=0)
    net.fit(X, y)
    model = d / "model.npz"
    persistence.save(net, model)

    def w(name, text):
        (d / name).write_text(text)
        return d / name

    good = w("good.csv", "a,b,c,y\n" + "".join(f"{r[0]:.4f},{r[1]:.4f},{r[2]:.4f},{t}\n"
                                               for r, t in zip(X.T, y)))
    files = SimpleNamespace(
        good=good, model=model,
        ragged=w("ragged.csv", "a,b,y\n1,2,0\n3,1\n"),
        text_cell=w("text.csv", "a,b,y\n1,2,0\n3,abc,1\n"),
        nan=w("nan.csv", "a,b,y\n1,2,0\n3,nan,1\n"),
        inf=w("inf.csv", "a,b,y\n1,inf,0\n3,4,1\n"),
        nan_label=w("nanlabel.csv", "a,b,y\n1,2,0.5\n3,4,nan\n"),
        empty=w("empty.csv", ""),
        header_only=w("header.csv", "a,b,y\n"),
        one_class=w("one.csv", "a,b,y\n1,2,1\n3,4,1\n5,6,1\n"),
        three_classes=w("three.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,2\n7,8,0\n"),
        text_labels=w("words.csv", "a,b,y\n1,2,cat\n3,4,dog\n"),
        wide=w("wide.csv", "1,2,3,4,0\n5,6,7,8,1\n"),
        unknown_labels=w("labels.csv", "1,2,3,7\n4,5,6,0\n"),
        no_ext=w("data", "1,2,0\n"),
        notes=w("notes.txt", "hello world\nthese are my notes\n"),
        nolabel=w("nolabel.csv", "a,b,c\n" + "".join(f"{r[0]:.4f},{r[1]:.4f},{r[2]:.4f}\n" for r in X.T)),
        not_image=w("photo.png", "this is not a picture"),
        not_model=w("notmodel.npz", "PK but not really"),
    )
    import h5py
    with h5py.File(d / "nokeys.h5", "w") as f:
        f["images"] = np.zeros((2, 4, 4, 3), np.uint8)
    files.h5_nokeys = d / "nokeys.h5"
    np.savez(d / "nox.npz", features=np.zeros((3, 2)))
    files.npz_nox = d / "nox.npz"
    np.savez(d / "short_y.npz", X=np.zeros((3, 2)), y=np.zeros(4))
    files.npz_short_y = d / "short_y.npz"
    # an image model (2x2 RGB) and data of the wrong image size for it
    img_net = DeepNetwork(layers=(3,), epochs=1, seed=0)
    img_net.fit(rng.integers(0, 255, (12, 20)).astype(np.uint8), np.arange(20) % 2)
    img_net.input_shape = (2, 2, 3)
    persistence.save(img_net, d / "img.npz")
    files.img_model = d / "img.npz"
    np.savez(d / "img8.npz", X=np.zeros((4, 8, 8, 3), np.uint8), y=np.array([0, 1, 0, 1]))
    files.img_wrong_size = d / "img8.npz"
    return SimpleNamespace(X=X, y=y, net=net, img_net=img_net, f=files, dir=d)


# --- the Python API --------------------------------------------------------------------------------------
def fit(X, y, **hp):
    return DeepNetwork(**{"layers": (4,), "epochs": 1, **hp}).fit(X, y)



PY_CASES = [
    # shapes and orientation
    pytest.param(lambda c: fit(c.X.T, c.y), DataError, r"examples x features.*X\.T",
                 id="fit-examples-as-rows-hint"),
    pytest.param(lambda c: fit(c.X, c.y[:-5]), DataError, r"40 examples .* Y has 35", id="fit-length-mismatch"),
    pytest.param(lambda c: fit(c.X[0], c.y), DataError, r"must be 2-D with shape \(n_x, m\)", id="fit-1d-X"),
    pytest.param(lambda c: fit(np.zeros((2, 2, 40)), c.y), DataError, r"2-D", id="fit-3d-X"),
    pytest.param(lambda c: fit(c.X, np.zeros((2, 2, 40))), DataError, r"Y must have shape", id="fit-3d-Y"),
    pytest.param(lambda c: fit([[1.0, 2.0], [3.0]], [0, 1]), DataError, r"could not be read as a 2-D array",
                 id="fit-ragged-lists"),
    pytest.param(lambda c: c.net.predict(c.X.T), DataError, r"40 features .* expects 3.*pass X\.T",
                 id="predict-examples-as-rows-hint"),
    pytest.param(lambda c: c.net.predict(np.zeros((5, 4))), DataError, r"5 features .* model expects 3",
                 id="predict-other-width"),
    pytest.param(lambda c: c.net.evaluate(c.X, c.y[:10]), DataError, r"40 examples .* Y has 10",
                 id="evaluate-length-mismatch"),
    pytest.param(lambda c: c.net.partial_fit(np.zeros((5, 40)), c.y), DataError, r"5 features .* expects 3",
                 id="partial-fit-other-width"),
    # non-finite and empty
    pytest.param(lambda c: fit(np.where(c.X > 1.5, np.nan, c.X), c.y), DataError, r"NaN or infinite",
                 id="fit-nan-X"),
    pytest.param(lambda c: fit(np.where(c.X > 1.5, np.inf, c.X), c.y), DataError, r"NaN or infinite",
                 id="fit-inf-X"),
    pytest.param(lambda c: fit(c.X, np.where(c.y > 0, np.nan, 0.5)), DataError, r"Y contains NaN",
                 id="fit-nan-Y"),
    pytest.param(lambda c: fit(c.X, np.where(c.y > 0, np.inf, 0.5), output="linear"), DataError,
                 r"Y contains NaN or infinite", id="fit-inf-Y-regression"),
    pytest.param(lambda c: c.net.predict(np.full((3, 2), np.nan)), DataError, r"NaN or infinite",
                 id="predict-nan-X"),
    pytest.param(lambda c: fit(np.zeros((3, 0)), np.zeros(0)), DataError, r"X is empty", id="fit-empty"),
    # labels the output layer cannot produce
    pytest.param(lambda c: fit(c.X, np.ones(40, int)), DataError, r"single class .*at least two",
                 id="single-class"),
    pytest.param(lambda c: fit(c.X, np.ones(40, int)), DataError, r"single class \(1\)",
                 id="single-class-shows-the-label"),
    pytest.param(lambda c: fit(c.X, np.arange(40) % 3, output="sigmoid"), DataError,
                 r"sigmoid output produces 2 classes.*3.*softmax", id="sigmoid-three-classes"),
    pytest.param(lambda c: fit(c.X, np.vstack([c.y, c.y * 2.5]), output="sigmoid"), DataError,
                 r"sigmoid output produces values in \[0, 1\]", id="sigmoid-targets-out-of-range"),
    pytest.param(lambda c: fit(c.X, np.vstack([c.y, c.y]), output="softmax"), DataError,
                 r"softmax output needs one-hot", id="softmax-targets-not-one-hot"),
    pytest.param(lambda c: c.net.evaluate(c.X, c.y + 5), DataError, r"Labels \[5, 6\] are not among the classes",
                 id="evaluate-unknown-labels"),
    pytest.param(lambda c: fit(c.X, np.array(["a", "b"] * 20), output="linear"), DataError,
                 r"linear \(regression\) output needs numeric targets", id="string-labels-for-regression"),
    pytest.param(lambda c: fit(c.X, np.array([None] * 40)), DataError, r"label",
                 id="object-labels"),
    pytest.param(lambda c: fit(np.array([["a"] * 40] * 3), c.y), DataError, r"X must be numeric.*encode text",
                 id="text-features"),
    pytest.param(lambda c: fit(c.X + 1j, c.y), DataError, r"complex",
                 id="complex-features"),
    # hyperparameters
    pytest.param(lambda c: HyperParameters(activation="relux"), InvalidParameterError,
                 r"Unknown hidden activation 'relux'.*Did you mean 'relu'", id="unknown-activation"),
    pytest.param(lambda c: HyperParameters(optimizer="adma"), InvalidParameterError,
                 r"Unknown optimizer 'adma'.*Did you mean 'adam'", id="unknown-optimizer"),
    pytest.param(lambda c: HyperParameters(init="xavir"), InvalidParameterError,
                 r"Unknown initializer 'xavir'.*Did you mean 'xavier'", id="unknown-initializer"),
    pytest.param(lambda c: HyperParameters(lr_schedule="stepp"), InvalidParameterError,
                 r"Unknown lr_schedule 'stepp'.*Did you mean 'step'", id="unknown-schedule"),
    pytest.param(lambda c: HyperParameters(output="softmaxx"), InvalidParameterError,
                 r"Unknown output 'softmaxx'.*Did you mean 'softmax'", id="unknown-output"),
    pytest.param(lambda c: HyperParameters(preprocess="standardise"), InvalidParameterError,
                 r"Unknown preprocess 'standardise'.*Did you mean 'standardize'", id="unknown-preprocess"),
    pytest.param(lambda c: DeepNetwork(learnin_rate=0.1), InvalidParameterError, r"learnin_rate.*learning_rate",
                 id="unknown-hyperparameter-name"),
    pytest.param(lambda c: HyperParameters(learning_rate=0), InvalidParameterError,
                 r"'learning_rate' parameter must be a float in \(0, inf\). Got 0", id="learning-rate-zero"),
    pytest.param(lambda c: HyperParameters(learning_rate=-0.1), InvalidParameterError,
                 r"'learning_rate' .* Got -0.1", id="learning-rate-negative"),
    pytest.param(lambda c: HyperParameters(learning_rate=float("nan")), InvalidParameterError,
                 r"'learning_rate' .* Got nan", id="learning-rate-nan"),
    pytest.param(lambda c: HyperParameters(keep_prob=0), InvalidParameterError,
                 r"'keep_prob' parameter must be a float in \(0, 1\]. Got 0", id="keep-prob-zero"),
    pytest.param(lambda c: HyperParameters(keep_prob=1.5), InvalidParameterError,
                 r"'keep_prob' .* Got 1.5", id="keep-prob-above-one"),
    pytest.param(lambda c: HyperParameters(l2=-0.01), InvalidParameterError,
                 r"'l2' parameter must be a float in \[0, inf\)", id="negative-l2"),
    pytest.param(lambda c: HyperParameters(layers=(8, 0)), InvalidParameterError,
                 r"'layers' parameter must be a sequence of positive ints", id="zero-layer-size"),
    pytest.param(lambda c: HyperParameters(layers=(2.5,)), InvalidParameterError,
                 r"'layers' .* positive ints .* Got \(2.5,\)", id="fractional-layer-size"),
    pytest.param(lambda c: HyperParameters(layers="20,x"), InvalidParameterError,
                 r"'layers' .* comma-separated list", id="layer-text"),
    pytest.param(lambda c: HyperParameters(epochs=0), InvalidParameterError, r"'epochs' .* int in \[1, inf\)",
                 id="zero-epochs"),
    pytest.param(lambda c: HyperParameters(batch_size=0), InvalidParameterError,
                 r"'batch_size' parameter must be a positive int, 'auto' or 'full'", id="zero-batch"),
    pytest.param(lambda c: fit(c.X, c.y, batch_size=41), InvalidParameterError,
                 r"'batch_size' parameter \(41\) is larger than the 40 training examples.*'full'",
                 id="batch-larger-than-data"),
    pytest.param(lambda c: fit(c.X, c.y, validation_fraction=0.99, batch_size=1), DataError,
                 r"validation_fraction=0.99 leaves no training data", id="validation-takes-everything"),
    pytest.param(lambda c: HyperParameters(validation_fraction=1.0), InvalidParameterError,
                 r"'validation_fraction' .* \[0, 1\)", id="validation-fraction-one"),
    pytest.param(lambda c: HyperParameters(seed=-1), InvalidParameterError, r"'seed' .* non-negative int",
                 id="negative-seed"),
    pytest.param(lambda c: HyperParameters(dtype="float16"), InvalidParameterError,
                 r"Unknown dtype 'float16'. Allowed: 'float32', 'float64'", id="unsupported-dtype"),
    # the model object
    pytest.param(lambda c: DeepNetwork().predict(c.X), NotFittedError, r"not trained yet.*fit\(\)",
                 id="predict-before-fit"),
    # loaders
    pytest.param(lambda c: data.load_file(c.f.ragged), DataError, r"line 3: 2 columns, but the header has 3",
                 id="csv-ragged"),
    pytest.param(lambda c: data.load_file(c.f.text_cell), DataError,
                 r"line 3, column 1 \('b'\): 'abc' is not a number", id="csv-text-cell"),
    pytest.param(lambda c: data.load_file(c.f.nan), DataError, r"line 3, column 1 .*NaN or infinite",
                 id="csv-nan"),
    pytest.param(lambda c: data.load_file(c.f.empty), DataError, r"is empty", id="csv-empty"),
    pytest.param(lambda c: data.load_file(c.f.header_only), DataError, r"header but no data rows",
                 id="csv-header-only"),
    pytest.param(lambda c: data.load_csv(c.f.good, label_column="label"), InvalidParameterError,
                 r"Unknown label column .*'label'", id="csv-unknown-label-name"),
    pytest.param(lambda c: data.load_csv(c.f.good, label_column=9), InvalidParameterError,
                 r"Label column 9 is out of range.*4 columns.*0\.\.3", id="csv-label-index-out-of-range"),
    pytest.param(lambda c: data.load_file(c.f.notes), DataError,
                 r"notes\.txt, line 1, column 0: 'hello world' is not a number", id="prose-file"),
    pytest.param(lambda c: data.load_file(c.f.no_ext), DataError, r"Cannot tell the format.*\.csv",
                 id="unknown-extension"),
    pytest.param(lambda c: data.load_file(c.dir / "missing.csv"), FileNotFoundError, r"Data file not found",
                 id="missing-data-file"),
    pytest.param(lambda c: data.load_file(c.f.h5_nokeys), DataError,
                 r"no '<split>_set_x' dataset \(nor 'X'\); it holds \['images'\]", id="hdf5-without-keys"),
    pytest.param(lambda c: data.load_file(c.f.npz_nox), DataError, r"no array 'X'.*\['features'\]",
                 id="npz-without-X"),
    pytest.param(lambda c: data.load_file(c.f.npz_short_y), DataError, r"3 examples .* y has shape \(4,\)",
                 id="npz-y-length"),
    # images for an image model
    pytest.param(lambda c: load_image(c.f.not_image, (2, 2, 3)), DataError, r"not an image file",
                 id="image-not-an-image"),
    pytest.param(lambda c: load_image(c.f.not_image, (2, 2, 2)), DataError, r"2 channels; only 1, 3 or 4",
                 id="image-mode-unsupported"),
    pytest.param(lambda c: c.img_net.predict(data.load_file(c.f.img_wrong_size).X), DataError,
                 r"192 features .* model expects 12", id="images-of-another-size"),
    # model files
    pytest.param(lambda c: persistence.load(c.f.not_model), ModelFileError, r"not a deepstep model file",
                 id="model-not-a-model"),
    pytest.param(lambda c: persistence.load(c.f.good), ModelFileError, r"not a deepstep model file",
                 id="model-is-a-csv"),
    pytest.param(lambda c: persistence.load(c.dir / "none.npz"), ModelFileError, r"Model file not found",
                 id="model-missing"),
]


@pytest.mark.parametrize("call,exc,pattern", PY_CASES)
@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_python_api(ctx, call, exc, pattern):
    with pytest.raises(exc) as info:
        call(ctx)
    assert type(info.value) is exc                       # the exact type, not a subclass or a cousin
    assert re.search(pattern, str(info.value)), str(info.value)


def test_errors_keep_their_builtin_bases():
    """Existing ``except ValueError`` / ``except OSError`` code keeps catching deepstep's errors."""
    assert issubclass(DataError, ValueError) and issubclass(InvalidParameterError, ValueError)
    assert issubclass(ModelFileError, ValueError) and issubclass(NotFittedError, AttributeError)


# --- the command line ---------------------------------------------------------------------------------------
USAGE, DATA = 2, 1

CLI_CASES = [
    # usage errors: exit 2
    ("train --activation relux", USAGE, r"Unknown hidden activation 'relux'.*Did you mean 'relu'"),
    ("train --optimizer adma", USAGE, r"Unknown optimizer 'adma'.*Did you mean 'adam'"),
    ("train --init xavir", USAGE, r"Unknown initializer 'xavir'.*Did you mean 'xavier'"),
    ("train --learning-rate 0", USAGE, r"'learning_rate' parameter must be a float in \(0, inf\)"),
    ("train --learning-rate -1", USAGE, r"'learning_rate' parameter must be a float in \(0, inf\). Got -1"),
    ("train --keep-prob 1.5", USAGE, r"'keep_prob' parameter must be a float in \(0, 1\]"),
    ("train --l2 -1", USAGE, r"'l2' parameter must be a float in \[0, inf\)"),
    ("train --layers 8,0", USAGE, r"'layers' parameter must be a sequence of positive ints"),
    ("train --layers 2.5", USAGE, r"'layers' parameter must be a sequence of positive ints"),
    ("train --epochs 0", USAGE, r"'epochs' parameter must be an int in \[1, inf\)"),
    ("train --data {good} --batch-size 1000", USAGE, r"'batch_size' parameter \(1000\) is larger than the 32"),
    ("train --learning-rat 0.1", USAGE, r"No such option '--learning-rat'.*Did you mean.*'--learning-rate'"),
    ("train --dataset moons --data {good}", USAGE, r"either --data FILE or --dataset NAME"),
    ("train --test-data {good}", USAGE, r"--test-data needs --data"),
    ("predict {model}", USAGE, r"Give either --data FILE or --image PHOTO"),
    ("fly", USAGE, r"No such command 'fly'"),
    # data and file errors: exit 1
    ("train --data {missing}", DATA, r"Data file not found: .*missing\.csv"),
    ("train --data {ragged}", DATA, r"line 3: 2 columns, but the header has 3"),
    # (a text cell is a category and a missing cell is imputed since the CLI reads tables: tests/test_tabular.py)
    ("train --data {nan} --impute none", DATA, r"line 3: column 'b' is missing a value"),
    ("train --data {inf}", DATA, r"line 2: column 'b' holds inf; the data contains infinite values"),
    ("train --data {empty}", DATA, r"is empty"),
    ("train --data {header_only}", DATA, r"header but no data rows"),
    ("train --data {one_class}", DATA, r"single class .*; a classifier needs at least two"),
    ("train --data {three_classes} --output sigmoid", DATA, r"sigmoid output produces 2 classes.*softmax"),
    ("train --data {text_labels} --output linear", DATA, r"--task regression needs numeric targets"),
    ("train --data {good} --label-column 9", USAGE, r"Label column 9 is out of range.*indices 0\.\.3"),
    ("train --data {good} --label-column lable", USAGE, r"Unknown label column .*'lable'.*Allowed: 'a', 'b'"),
    ("train --data {wide} --label-column y", USAGE, r"no header row.*give its index instead \(0\.\.4"),
    ("train --data {notes}", DATA, r"notes\.txt, line 1, column 0: 'hello world' is not a number"),
    ("train --data {good} --test-data {nolabel}", DATA, r"nolabel\.csv has no label column \('y'\)"),
    ("train --out {missing_dir}/m.npz", DATA, r"Cannot write --out .*no_such_dir/m\.npz: the folder .* does not exist"),
    ("train --plot {missing_dir}/p.png", DATA, r"Cannot write --plot .*no_such_dir/p\.png"),
    ("train --checkpoint {missing_dir}/c.npz", DATA, r"Cannot write --checkpoint .*no_such_dir/c\.npz"),
    ("train --out {dir}", USAGE, r"Invalid value for '--out': .* is a directory"),
    # bug: a folder given as data was a usage error (exit 2) in train and a data error (exit 1) in evaluate
    ("train --data {dir}", DATA, r"is a directory; give a data file"),
    ("train --data {good} --test-data {dir}", DATA, r"is a directory; give a data file"),
    ("evaluate {model} --data {dir}", DATA, r"is a directory; give a data file"),
    ("search --data {dir}", DATA, r"is a directory; give a data file"),
    ("predict {model} --data {good} --out {missing_dir}/p.csv", DATA, r"Cannot write --out .*no_such_dir/p\.csv"),
    ("evaluate {model} --dataset breast_cancer", DATA,
     r"The data \(dataset breast_cancer\) has 30 feature columns but the model expects 3\.$"),
    ("info {model} --tail -1", USAGE, r"Invalid value for '--tail': -1 is not in the range x>=0"),
    ("gradcheck --threshold -1", USAGE, r"Invalid value for '--threshold': -1.0 is not in the range x>0"),
    ("gradcheck --threshold 0", USAGE, r"Invalid value for '--threshold'"),
    ("gradcheck -n 0", USAGE, r"Invalid value for '-n'"),
    ("train --data {h5_nokeys}", DATA, r"no '<split>_set_x' dataset \(nor 'X'\); it holds \['images'\]"),
    ("train --data {no_ext}", DATA, r"Cannot tell the format"),
    ("train --data {good} --test-data {wide}", DATA, r"wide\.csv has no header row and 5 columns, but the model"),
    ("evaluate {model} --data {wide}", DATA, r"4 features but the model expects 3 \(plus a label column\)"),
    ("evaluate {model} --data {unknown_labels}", DATA, r"Labels \[7\] are not among the classes"),
    ("predict {model} --image {not_image}", DATA, r"not trained on images"),
    ("predict {img_model} --image {not_image}", DATA, r"not an image file deepstep reads \(PNG, JPEG"),
    ("predict {img_model} --image {missing_png}", DATA, r"No such file or directory: .*missing\.png"),
    ("evaluate {img_model} --data {img_wrong_size}", DATA, r"192 features but the model expects 12"),
    ("info {not_model}", DATA, r"not a deepstep model file"),
    ("info {good}", DATA, r"not a deepstep model file"),
    ("evaluate {missing_model} --data {good}", DATA, r"Model file not found"),
]


@pytest.mark.parametrize("line,code,pattern", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli(ctx, line, code, pattern):
    names = {k: str(v) for k, v in vars(ctx.f).items()}
    names.update(missing=str(ctx.dir / "missing.csv"), missing_png=str(ctx.dir / "missing.png"),
                 missing_model=str(ctx.dir / "missing.npz"), missing_dir=str(ctx.dir / "no_such_dir"),
                 dir=str(ctx.dir))
    args = [a.format(**names) for a in line.split()]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == code, (r.exit_code, r.output)
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deepstep: error: "), r.stderr
    assert re.search(pattern, err[0]), err[0]
    assert "Traceback" not in r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)


def test_catalogue_size():
    assert len(PY_CASES) + len(CLI_CASES) >= 40
