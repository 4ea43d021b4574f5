"""The playground without a browser: datasets, bounded settings, the session's numbers, exports, the app."""

import json

import numpy as np
import pytest

from deepstep import DeepNetwork, InvalidParameterError, steps
from deepstep.errors import DataError
from deepstep.playground.datasets import CLASSIFICATION, REGRESSION, make_dataset, parse_csv
from deepstep.playground.session import Config, Session


# --- datasets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_datasets_shapes_labels_and_seeds(name):
    problem = "classification" if name in CLASSIFICATION else "regression"
    Xtr, ytr, Xte, yte = make_dataset(name, n_points=200, noise=0.2, train_fraction=0.7, seed=4, problem=problem)
    assert Xtr.shape == (2, 140) and ytr.shape == (1, 140) and Xte.shape == (2, 60) and yte.shape == (1, 60)
    assert np.isfinite(Xtr).all() and np.abs(Xtr).max() < 12
    if problem == "classification":
        assert set(np.unique(np.concatenate([ytr, yte], axis=1))) == {0.0, 1.0}
    again = make_dataset(name, n_points=200, noise=0.2, train_fraction=0.7, seed=4, problem=problem)
    other = make_dataset(name, n_points=200, noise=0.2, train_fraction=0.7, seed=5, problem=problem)
    assert np.array_equal(again[0], Xtr) and not np.array_equal(other[0], Xtr)


def test_csv_upload_parsing_and_its_errors():
    X, y = parse_csv("x1,x2,label\n1,2,0\n3,4,1\n-1,0,1\n2,2,0\n")
    assert X.shape == (2, 4) and y.tolist() == [0, 1, 1, 0] and np.abs(X).max() == pytest.approx(5.0)
    with pytest.raises(DataError, match="row 3 has 2 columns"):
        parse_csv("1,2,0\n1,2,1\n1,2\n")
    with pytest.raises(DataError, match="0 and 1 only"):
        parse_csv("1,2,0\n1,2,3\n1,1,1\n0,0,0\n")
    with pytest.raises(DataError, match="at most 1000"):
        parse_csv("".join(f"{i},{i},{i % 2}\n" for i in range(1001)))
    X, y = parse_csv("1,2,0.5\n1,2,3\n1,1,1\n0,0,-2\n", problem="regression")
    assert y.tolist() == [0.5, 3, 1, -2]


# --- bounded settings --------------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    ({"n_points": 5000}, "'n_points' setting must be in [20, 1000]"),
    ({"layers": [4] * 7}, "0 to 6 hidden layers"),
    ({"layers": [40]}, "'units' setting must be in [1, 8]"),
    ({"learning_rate": "fast"}, "'learning_rate' setting must be a number"),
    ({"dataset": "plane"}, "'dataset' setting must be one of circles"),
    ({"init": "ones"}, "'init' setting must be one of he"),
    ({"speed": 3}, "Unknown setting 'speed'"),
])
def test_every_setting_is_bounded_with_one_clear_line(bad, words):
    with pytest.raises((InvalidParameterError, DataError)) as exc:
        Config.from_dict(bad)
    assert words in str(exc.value) and "\n" not in str(exc.value)


# --- the session's numbers ---------------------------------------------------------------------
def _session(**kw):
    cfg = {"dataset": "gaussians", "n_points": 100, "layers": [3, 2], "batch_size": 10, "seed": 2, **kw}
    return Session(cfg)


def test_the_gradients_shown_are_the_lessons():
    s = _session()
    p, _, _, grads = s.lesson_pass(s.X_train, s.y_train)
    AL, caches = steps.L_model_forward(s.X_train, p)
    want = steps.L_model_backward(AL, s.y_train, caches)
    for l in (1, 2, 3):
        np.testing.assert_allclose(grads[f"dW{l}"], want[f"dW{l}"], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(grads[f"db{l}"], want[f"db{l}"], rtol=1e-9, atol=1e-14)
    assert s.grad_norms() == pytest.approx([np.linalg.norm(want[f"dW{l}"]) for l in (1, 2, 3)], rel=1e-9)
    assert s.cost(s.X_train, s.y_train) == pytest.approx(float(steps.compute_cost(AL, s.y_train)), rel=1e-12)


def test_the_dimension_table_matches_the_parameters():
    s = _session(layers=[5, 3, 2])
    table = s.dims_table()
    assert table[0]["A"] == [2, s.m]
    for row in table[1:]:
        l = row["l"]
        assert tuple(row["W"]) == s.net.parameters[f"W{l}"].shape and tuple(row["b"]) == (row["W"][0], 1)
        assert row["Z"] == row["A"] == [row["W"][0], s.m]


def test_training_lowers_the_cost_and_step_mode_is_the_engines_step():
    s = _session(optimizer="gd", batch_size=1000, learning_rate=0.3)      # full batch: one step is the lesson's
    assert s.batch_size == s.m
    before = s.cost(s.X_train, s.y_train)
    eq = s.step(2, 1)
    assert eq["layer"] == 2 and eq["unit"] == 1
    np.testing.assert_allclose(eq["after"]["W"], eq["W_gd"], rtol=1e-12, atol=1e-15)   # shown == done
    text = "\n".join(eq["lines"])
    for piece in ("Z[2]_2 = W[2]_2 · A[1]_1 + b[2]_2", "A[2]_2 = relu(", "dW[2]_2 = 1/m dZ[2]_2 A[1]ᵀ",
                  "W[2]_2 := W[2]_2 − α dW[2]_2"):
        assert piece in text
    s.train_epochs(100)
    assert s.cost(s.X_train, s.y_train) < before * 0.5


def test_zeros_never_break_the_symmetry():
    s = _session(init="zeros", activation="tanh", layers=[4], learning_rate=0.3)
    s.train_epochs(30)
    W1 = s.net.parameters["W1"]
    assert np.allclose(W1, W1[0]), "every hidden unit must stay the same function"


def test_snapshot_bounds_and_contents():
    s = _session()
    shot = s.snapshot(full=True)
    json.dumps(shot, allow_nan=False)
    assert len(shot["units"]) == 2 and [len(u) for u in shot["units"]] == [3, 2]
    assert len(shot["grad_norms"]) == 3 and shot["status"] == "ready"
    assert len(shot["points"]["train"]) + len(shot["points"]["test"]) == 100


def test_exported_python_replays_the_run_and_the_model_file_loads(tmp_path, monkeypatch):
    s = _session(optimizer="adam", learning_rate=0.01, keep_prob=0.8)
    s.train_epochs(3)
    s.step()
    s.train_epochs(2)
    s.train_epochs(1)
    code = s.python_code()
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "playground_run.py", "exec"), ns)
    for k, v in s.net.parameters.items():
        np.testing.assert_array_equal(ns["net"].parameters[k], v)
    (tmp_path / "exported.npz").write_bytes(s.model_bytes())
    net = DeepNetwork.load(tmp_path / "exported.npz")
    np.testing.assert_array_equal(net.predict_proba(s.X_test), s.net.predict_proba(s.X_test))


# --- the app, without a browser --------------------------------------------------------------------
@pytest.fixture
def client():
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from deepstep.playground.app import create_app

    with TestClient(create_app()) as c:
        yield c


def _until(ws, kind):
    while True:
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg


def test_page_and_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "deepstep playground" in page.text
    for asset in ("playground.js", "playground.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_each_tab_trains_its_own_session(client):
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        a.send_json({"type": "config", "config": {"dataset": "xor", "n_points": 100}})
        b.send_json({"type": "config", "config": {"dataset": "moons", "n_points": 60, "layers": [2]}})
        first_a, first_b = _until(a, "state"), _until(b, "state")
        assert first_a["full"] and first_b["full"] and first_a["m"] == 50 and first_b["m"] == 30
        a.send_json({"type": "start"})
        shots = [_until(a, "state") for _ in range(3)]
        a.send_json({"type": "pause"})
        assert shots[-1]["epoch"] > 0
        b.send_json({"type": "step"})
        eq = _until(b, "equations")
        assert eq["lines"][0].startswith("unit 1 of layer 1") and _until(b, "state")["epoch"] == 0
        b.send_json({"type": "export_model"})
        download = _until(b, "download")
        assert download["filename"].endswith(".npz")


def test_bad_messages_get_one_clear_error(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "start"})
        assert "Send the settings first" in _until(ws, "error")["message"]
        ws.send_json({"type": "config", "config": {"n_points": 10**6}})
        assert "'n_points' setting must be in" in _until(ws, "error")["message"]
        ws.send_text("not json")
        assert "JSON" in _until(ws, "error")["message"]
        ws.send_text("x" * 600_000)
        assert "larger than" in _until(ws, "error")["message"]


def test_another_sites_page_cannot_open_a_session(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()


def test_the_command_fails_in_one_line_when_it_cannot_listen():
    import socket
    import subprocess
    import sys

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "deepstep", "playground", "--port", str(port), "--no-browser"],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("deepstep: error: cannot listen on 127.0.0.1:") and out.stderr.count("\n") == 1
    out = subprocess.run([sys.executable, "-m", "deepstep", "playground", "--port", "70000"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_the_pages_files_ship_as_package_data():
    import fnmatch
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "deepstep.playground"]
    static = root / "src" / "deepstep" / "playground" / "static"
    files = sorted(p.relative_to(static.parent).as_posix() for p in static.iterdir())
    assert {"static/index.html", "static/playground.js", "static/playground.css"} <= set(files)
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"{f} is not in pyproject's package-data: a wheel lacks it"


def test_regression_trains_and_shows_its_output():
    s = Session({"problem": "regression", "dataset": "plane", "n_points": 100, "layers": [3], "seed": 3,
                 "activation": "tanh", "learning_rate": 0.03})
    assert s.output == "linear" and s.activations() == ["tanh", "linear"]
    before = s.cost(s.X_train, s.y_train)
    s.train_epochs(40)
    assert s.cost(s.X_train, s.y_train) < before
    shot = s.snapshot(full=True)
    assert shot["problem"] == "regression" and "train_accuracy" not in shot
    import base64
    assert len(base64.b64decode(shot["boundary"])) == shot["grid"] ** 2


def test_commands_are_rate_limited(client):
    from deepstep.playground.app import MAX_COMMANDS_PER_SECOND

    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "config", "config": {"n_points": 40, "layers": [2]}})
        _until(ws, "state")
        for _ in range(MAX_COMMANDS_PER_SECOND + 5):
            ws.send_json({"type": "unit", "layer": 1, "unit": 0})
        kinds = [ws.receive_json()["type"] for _ in range(MAX_COMMANDS_PER_SECOND + 5)]
        assert "error" in kinds and kinds.count("equations") <= MAX_COMMANDS_PER_SECOND
