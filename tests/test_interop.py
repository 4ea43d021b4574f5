"""Export and interop: ONNX (onnxruntime, the onnx checker), PyTorch, safetensors, `deepstep export`.

Torch tests skip when torch is absent (it is not in the test extra: a large wheel);
onnx, onnxruntime and safetensors are in the test extra.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep import DeepNetwork, InvalidParameterError
from deepstep.cli import main


def _xy(task, m=80, n_x=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m)) * 3 + 1
    if task == "binary":
        Y = (X[0] + X[1] > 2).astype(int)
    elif task == "binary_str":
        Y = np.where(X[0] > 1, "cat", "non-cat")
    elif task == "multiclass":
        Y = np.digitize(X[0] - X[2], [-2, 0, 2]) + 10           # classes 10..13
    elif task == "onehot":
        Y = np.eye(3)[np.digitize(X[0], [0, 2])].T
    elif task == "multilabel":
        Y = np.stack([X[0] > 1, X[1] > 0, X[0] + X[3] > 2]).astype(int)
    else:                                                       # regression, two outputs
        Y = np.stack([X[0] - 2 * X[1], X[2] * 0.5])
    return X, Y


TASKS = ["binary", "binary_str", "multiclass", "onehot", "multilabel", "regression"]
NETS = {  # every exportable activation and input scaling appears somewhere
    "binary": {"layers": (6, 3), "activation": "relu"},
    "binary_str": {"layers": (5,), "activation": "tanh", "preprocess": "minmax"},
    "multiclass": {"layers": (7, 5), "activation": ("leaky_relu", "sigmoid")},
    "onehot": {"layers": (4,), "activation": "relu", "preprocess": "none"},
    "multilabel": {"layers": (6,), "activation": "tanh"},
    "regression": {"layers": (8,), "activation": "relu", "dtype": "float64"},
}


def _trained(task):
    X, Y = _xy(task)
    net = DeepNetwork(epochs=15, batch_size=16, learning_rate=0.02, seed=1, **NETS[task])
    net.fit(X, Y)
    return net, X


@pytest.fixture(params=TASKS)
def trained(request):
    return (request.param, *_trained(request.param))


def test_onnx_round_trip_matches_predict_proba_and_predict(trained, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    task, net, X = trained
    path = net.to_onnx(tmp_path / "m.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["X"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == X.shape[0]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    Xr = np.ascontiguousarray(X.T, dtype=net.hp.dtype)
    for rows in (Xr, Xr[:1], Xr[:7]):                           # the batch axis is dynamic
        out = dict(zip(names, sess.run(None, {"X": rows})))
        cols = rows.T
        if task == "regression":
            assert names == ["predictions"]
            np.testing.assert_allclose(out["predictions"], net.predict_proba(cols).T, rtol=1e-9, atol=1e-9)
        else:
            assert names == ["probabilities", "label"]
            np.testing.assert_allclose(out["probabilities"], net.predict_proba(cols).T, rtol=0, atol=1e-5)
            expected = net.predict(cols)
            expected = expected.ravel() if net.targets.mode == "labels" else expected.T
            np.testing.assert_array_equal(out["label"], expected)
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["activations"]) == net.activations and props["preprocess"] == net.scaler.kind


def test_onnx_refuses_registered_activations_and_unfitted_models(tmp_path):
    pytest.importorskip("onnx")
    from deepstep import NotFittedError, register_activation
    from deepstep.activations import ACTIVATIONS

    with pytest.raises(NotFittedError):
        DeepNetwork().to_onnx(tmp_path / "m.onnx")
    register_activation("square_test", lambda Z, out=None: Z * Z, lambda dA, Z, A, out=None: 2 * Z * dA)
    try:
        X, Y = _xy("binary")
        net = DeepNetwork(layers=(3,), activation="square_test", epochs=1)
        net.fit(X, Y)
        with pytest.raises(InvalidParameterError, match="square_test"):
            net.to_onnx(tmp_path / "m.onnx")
    finally:
        ACTIVATIONS.pop("square_test")
    assert not (tmp_path / "m.onnx").exists()


def test_safetensors_weights_and_metadata(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors import safe_open

    from deepstep.interop.safetensors import save_safetensors

    net, _ = _trained("multiclass")
    path = save_safetensors(net, tmp_path / "m.safetensors")
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert meta["format"] == "deepstep" and json.loads(meta["activations"]) == net.activations
    assert json.loads(meta["classes"]) == [10, 11, 12, 13]
    # [0 scaling] [1 Linear, 2 LeakyReLU] [3 Linear, 4 Sigmoid] [5 Linear, 6 Softmax]
    assert sorted(tensors) == ["0.factor", "0.shift", "1.bias", "1.weight", "3.bias", "3.weight", "5.bias",
                               "5.weight"]
    np.testing.assert_array_equal(tensors["3.weight"], net.parameters["W2"])
    np.testing.assert_array_equal(tensors["5.bias"], net.parameters["b3"].ravel())


def test_cli_export_onnx_and_safetensors(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("safetensors")
    net, X = _trained("binary")
    model = tmp_path / "m.npz"
    net.save(model)
    r = CliRunner().invoke(main, ["export", str(model)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m.onnx").exists() and "exported as onnx" in r.stderr
    out = tmp_path / "w.safetensors"
    r = CliRunner().invoke(main, ["export", str(model), "--format", "safetensors", "--out", str(out)])
    assert r.exit_code == 0 and out.exists()
    r = CliRunner().invoke(main, ["export", str(tmp_path / "missing.npz")])
    assert r.exit_code == 1 and "not found" in r.stderr and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["export", str(model), "--out", str(tmp_path / "no" / "m.onnx")])
    assert r.exit_code == 1 and "does not exist" in r.stderr
    r = CliRunner().invoke(main, ["export", str(model), "--out", str(model)])      # never over the model
    assert r.exit_code == 2 and "model file itself" in r.stderr and DeepNetwork.load(model)


# --- PyTorch ---------------------------------------------------------------------------------------------
def test_torch_round_trip(trained):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'deepstep[torch]')")
    task, net, X = trained
    module = net.to_torch()
    assert isinstance(module, torch.nn.Sequential)
    rows = torch.from_numpy(np.ascontiguousarray(X.T, dtype=net.hp.dtype))
    with torch.no_grad():
        out = module(rows).numpy()
    tol = 1e-12 if net.hp.dtype == "float64" else 1e-5
    np.testing.assert_allclose(out, net.predict_proba(X).T, rtol=0, atol=tol)
    back = DeepNetwork.from_torch(module, classes=net.classes)
    assert back.layer_dims == net.layer_dims and back.activations == net.activations
    assert back.scaler.kind == net.scaler.kind and back.hp.dtype == net.hp.dtype
    np.testing.assert_allclose(back.predict_proba(X), net.predict_proba(X), rtol=0, atol=tol)
    if task == "onehot":        # a Softmax Sequential comes back predicting class indices, not one-hot columns
        np.testing.assert_array_equal(back.predict(X).ravel(), net.predict(X).argmax(0))
    elif task == "regression":  # values, not labels: the round trip rounds differently (7e-15 seen)
        np.testing.assert_allclose(back.predict(X), net.predict(X), rtol=0, atol=tol)
    else:
        np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_from_torch_a_module_built_in_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'deepstep[torch]')")
    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.Softmax(dim=1))
    net = DeepNetwork.from_torch(module)
    X = np.random.default_rng(0).standard_normal((3, 10)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(X.T.copy())).numpy().T
    np.testing.assert_allclose(net.predict_proba(X), expected, atol=1e-6)
    assert list(net.classes) == [0, 1, 2, 3]
    with pytest.raises(InvalidParameterError, match="not a supported activation"):
        DeepNetwork.from_torch(nn.Sequential(nn.Linear(3, 2), nn.GELU(), nn.Linear(2, 1)))
    with pytest.raises(InvalidParameterError, match="slope 0.01"):
        DeepNetwork.from_torch(nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.2), nn.Linear(2, 1)))


def test_cli_export_torch_program(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'deepstep[torch]')")
    net, X = _trained("binary_str")
    model = tmp_path / "m.npz"
    net.save(model)
    r = CliRunner().invoke(main, ["export", str(model), "--format", "torch"])
    assert r.exit_code == 0, r.output
    loaded = torch.export.load(str(tmp_path / "m.pt2")).module()
    for rows in (X.T, X.T[:1]):
        with torch.no_grad():
            out = loaded(torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))).numpy()
        np.testing.assert_allclose(out, net.predict_proba(rows.T).T, atol=1e-5)


def test_torch_module_pickles_and_loads_its_state_dict_from_safetensors(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'deepstep[torch]')")
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    from deepstep.interop.safetensors import save_safetensors

    net, X = _trained("multiclass")
    module = net.to_torch()
    torch.save(module, tmp_path / "m.pt")                  # the InputScaling class is importable
    again = torch.load(tmp_path / "m.pt", weights_only=False)
    fresh = net.to_torch()
    for p in fresh.parameters():
        torch.nn.init.zeros_(p)
    fresh.load_state_dict(load_file(save_safetensors(net, tmp_path / "w.safetensors")))
    rows = torch.from_numpy(np.ascontiguousarray(X.T, dtype=np.float32))
    with torch.no_grad():
        np.testing.assert_array_equal(again(rows).numpy(), module(rows).numpy())
        np.testing.assert_array_equal(fresh(rows).numpy(), module(rows).numpy())


# --- skl2onnx ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["binary", "multiclass64", "pipeline", "regression"])
def test_skl2onnx_converters_for_the_estimators(kind):
    pytest.importorskip("skl2onnx", reason="skl2onnx is not installed (it is in the test extra)")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import deepstep.interop.sklearn_onnx  # noqa: F401 -- registers the converters
    from deepstep.sklearn import DeepClassifier, DeepRegressor

    rng = np.random.default_rng(0)
    X = (rng.standard_normal((60, 4)) * 2 + 1).astype(np.float32)
    if kind == "regression":
        est = DeepRegressor(layers=(5,), epochs=5).fit(X, X[:, 0] * 2 - X[:, 1])
    else:
        y = (np.where(X[:, 0] > 1, "cat", "dog") if kind == "binary" else np.digitize(X[:, 1], [0, 2]) + 3)
        est = DeepClassifier(layers=(5,), epochs=5, dtype="float64" if kind == "multiclass64" else "float32")
        est = (make_pipeline(StandardScaler(), est) if kind == "pipeline" else est).fit(X, y)
    options = {"zipmap": False} if kind != "regression" else None
    sess = ort.InferenceSession(to_onnx(est, X[:1], options=options).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: X})
    if kind == "regression":
        np.testing.assert_allclose(out[0].ravel(), est.predict(X), atol=1e-5)
    else:
        np.testing.assert_array_equal(out[0], est.predict(X))
        np.testing.assert_allclose(out[1], est.predict_proba(X), atol=1e-5)


def test_skl2onnx_refuses_multilabel_with_the_alternative():
    pytest.importorskip("skl2onnx", reason="skl2onnx is not installed (it is in the test extra)")
    from skl2onnx import to_onnx

    import deepstep.interop.sklearn_onnx  # noqa: F401
    from deepstep.sklearn import DeepClassifier

    X, Y = _xy("multilabel")
    est = DeepClassifier(layers=(3,), epochs=2).fit(X.T.astype(np.float32), Y.T)
    with pytest.raises(InvalidParameterError, match="network_.to_onnx"):
        to_onnx(est, X.T[:1].astype(np.float32), options={"zipmap": False})
