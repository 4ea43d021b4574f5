"""Hyperparameter search: Python API, the CLI, and a real Dask cluster on loopback."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.testing import assert_array_equal
from scipy.stats import loguniform

from deepstep.cli.search import search_command
from deepstep.errors import DataError, InvalidParameterError
from deepstep.search import influence, parse_param, parse_value, run_search


@pytest.fixture(scope="module")
def cancer():
    from deepstep import data

    train, test = data.load_dataset("breast_cancer")
    return np.ascontiguousarray(train.X.T), train.y, np.ascontiguousarray(test.X.T), test.y


SMALL = {"learning_rate": "log:1e-3:1e-1", "layers": [(4,), (8,)], "keep_prob": [1.0, 0.8]}


def _search(data, tmp_path=None, **kw):
    X, y, Xt, yt = data
    args = dict(space=SMALL, n_candidates=3, cv=2, epochs=3, backend="sequential", progress=False,
                X_test=Xt, y_test=yt, out_dir=tmp_path)
    return run_search(X, y, **{**args, **kw})


# --- parsing ---------------------------------------------------------------------------------
def test_parse_param_specs():
    name, dist = parse_param("learning_rate=log:1e-4:1e-1")
    assert name == "learning_rate" and isinstance(dist.dist, type(loguniform(1, 2).dist))
    assert dist.support() == (1e-4, 1e-1)
    assert parse_param("learning_rate=log:1e-4:1e-2:3", method="grid")[1] == [1e-4, 1e-3, 1e-2]
    assert parse_param("momentum=uniform:0.5:0.9:3", method="grid")[1] == [0.5, 0.7, 0.9]
    assert parse_param("batch-size=int:16:64:4", method="grid") == ("batch_size", [16, 32, 48, 64])
    assert parse_param("layers=32|64,32|20,7,5|none")[1] == [(32,), (64, 32), (20, 7, 5), ()]
    assert parse_param("activation=relu|tanh")[1] == ["relu", "tanh"]
    assert parse_value("true") is True and parse_value("1e-3") == 1e-3
    for bad in ("learning_rate", "learning_rate=log:0:1", "l2=uniform:1:0", "l2=log:a:b"):
        with pytest.raises(InvalidParameterError):
            parse_param(bad)


def test_influence_finds_the_hyperparameter_that_moves_the_score():
    rng = np.random.default_rng(0)
    rows = [{"mean_test_score": (0.9 if a == "relu" else 0.6) + rng.normal(0, 0.01),
             "activation": a, "keep_prob": k}
            for a in ("relu", "tanh") for k in (1.0, 0.9, 0.8) for _ in range(3)]
    infl = influence(rows, ["keep_prob", "activation"])
    assert list(infl)[0] == "activation" and infl["activation"] > 0.9 and infl["keep_prob"] < 0.1


# --- Python API --------------------------------------------------------------------------
def test_random_search_writes_every_output(cancer, tmp_path):
    from deepstep import persistence

    res = _search(cancer, tmp_path)
    assert len(res.rows) == 3 and {r["rank"] for r in res.rows} >= {1}
    assert set(res.best_params) == {"learning_rate", "layers", "keep_prob"}
    assert 0.5 < res.best_score <= 1 and 0.5 < res.test_score <= 1
    with open(res.files["csv"]) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 3
    assert {"mean_test_score", "std_test_score", "split0_test_score", "split1_test_score",
            "mean_fit_time", "learning_rate", "layers", "keep_prob"} <= set(table[0])
    meta = json.loads(res.files["params"].read_text())
    assert meta["best_params"]["layers"] == list(res.best_params["layers"])
    assert meta["best_score"] == res.best_score
    png = res.files["plot"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    net = persistence.load(res.files["model"])
    X_test = cancer[2]
    assert_array_equal(net.predict(X_test.T).ravel(), res.best_estimator.predict(X_test))


def test_progress_bar_counts_candidates(cancer):
    import io

    buf = io.StringIO()
    _search(cancer, progress=True, progress_file=buf)
    assert "3/3" in buf.getvalue() and "cand" in buf.getvalue()


def test_same_seed_same_candidates_and_best_on_two_backends(cancer):
    a = _search(cancer, seed=3)
    b = _search(cancer, seed=3, backend="threading", n_jobs=2)
    assert a.best_params == b.best_params
    assert [r["mean_test_score"] for r in a.rows] == [r["mean_test_score"] for r in b.rows]
    c = _search(cancer, seed=4)
    assert [r["learning_rate"] for r in c.rows] != [r["learning_rate"] for r in a.rows]


def test_grid_search_and_validation_split(cancer):
    res = _search(cancer, method="grid", space={"learning_rate": [1e-3, 1e-2], "layers": [(4,), (8,)]},
                  cv=None, validation=0.25)
    assert len(res.rows) == 4
    assert "split1_test_score" not in res.rows[0]          # one validation split


def test_halving_search_uses_epochs_as_the_resource(cancer):
    res = _search(cancer, method="halving", n_candidates=4, epochs=4, factor=2)
    assert {r["n_resources"] for r in res.rows} == {1, 2, 4}
    assert res.best_params["epochs"] == 4
    assert res.best_estimator.n_iter_ == 4


def test_regression_search():
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=120, n_features=4, noise=1, random_state=0)
    res = run_search(X, y, space={"learning_rate": [1e-2, 3e-2]}, method="grid", cv=2, epochs=20,
                     fixed={"layers": (8,)}, backend="sequential", progress=False)
    assert res.scoring == "r2" and type(res.best_estimator).__name__ == "DeepRegressor"


def test_bad_input_raises_deepstep_errors(cancer):
    X, y = cancer[:2]
    with pytest.raises(InvalidParameterError, match="Unknown hyperparameter 'learning_rat'.*'learning_rate'"):
        _search(cancer, space={"learning_rat": [0.1]})
    with pytest.raises(InvalidParameterError, match="'learning_rate' parameter (of|must)"):
        _search(cancer, space={"learning_rate": [0.1, -1.0]})
    with pytest.raises(InvalidParameterError, match="Unknown scoring 'acuracy'.*'accuracy'"):
        _search(cancer, scoring="acuracy")
    with pytest.raises(InvalidParameterError, match="batch_size=1000 is larger"):
        _search(cancer, fixed={"batch_size": 1000})
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        run_search(Xn, y, backend="sequential", progress=False)
    with pytest.raises(InvalidParameterError, match="Unknown backend"):
        _search(cancer, backend="spark")


def test_batch_sizes_larger_than_a_fold_are_dropped(cancer):
    X, y = cancer[:2]
    res = run_search(X[:40], y[:40], space={"batch_size": [8, 16, 64]}, method="grid", cv=2, epochs=2,
                     backend="sequential", progress=False)
    assert sorted(r["batch_size"] for r in res.rows) == [8, 16]


# --- CLI --------------------------------------------------------------------------------
def test_cli_search_and_one_line_errors(tmp_path):
    from deepstep.cli import main

    out = tmp_path / "res"
    r = CliRunner().invoke(search_command, ["--dataset", "moons", "-n", "2", "--epochs", "3", "--cv", "2",
                                            "-p", "learning_rate=log:1e-3:1e-1", "-p", "layers=8|4,4",
                                            "--set", "optimizer=momentum", "--backend", "sequential",
                                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "best hyperparameters: " in r.output and "test accuracy" in r.output
    meta = json.loads((out / "best_params.json").read_text())
    assert meta["fixed"]["optimizer"] == "momentum"
    assert set(meta["best_params"]) == {"learning_rate", "layers"}
    for name in ("results.csv", "best_model.npz", "search.png"):
        assert (out / name).exists()

    r = CliRunner().invoke(main, ["search", "--set", "learning_rat=0.1", "--out", str(out)])
    assert r.exit_code == 2
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert err.strip().count("\n") == 0 and "Did you mean 'learning_rate'" in err


# --- a real Dask cluster ------------------------------------------------------------------
def test_dask_cluster_gives_the_same_best_hyperparameters_as_local(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    import joblib

    scattered = []
    original = joblib.parallel_config

    def recording_config(*args, **kwargs):
        scattered.append(kwargs.get("scatter"))
        return original(*args, **kwargs)

    monkeypatch.setattr(joblib, "parallel_config", recording_config)
    args = ["--dataset", "breast_cancer", "-n", "4", "--epochs", "4", "--cv", "2", "--seed", "7", "-q",
            "-p", "learning_rate=log:1e-3:1e-1", "-p", "layers=8|16|8,8", "-p", "keep_prob=1.0|0.8"]
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        dask_args = ["--backend", "dask", "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "dask")]
        r = CliRunner().invoke(search_command, args + dask_args)
        assert r.exit_code == 0, r.output
        with distributed.Client(cluster.scheduler_address) as client:
            assert len(client.nthreads()) == 2
    assert scattered and scattered[-1] is not None and len(scattered[-1]) == 2   # X and y sent once
    r = CliRunner().invoke(search_command, args + ["--n-jobs", "2", "--out", str(tmp_path / "local")])
    assert r.exit_code == 0, r.output
    dask_meta = json.loads((tmp_path / "dask" / "best_params.json").read_text())
    local_meta = json.loads((tmp_path / "local" / "best_params.json").read_text())
    assert dask_meta["best_params"] == local_meta["best_params"]
    assert dask_meta["best_score"] == local_meta["best_score"]
    assert "dask cluster at tcp://127.0.0.1" in dask_meta["backend"]
    with open(tmp_path / "dask" / "results.csv") as f1, open(tmp_path / "local" / "results.csv") as f2:
        cols = ("learning_rate", "layers", "keep_prob", "mean_test_score", "split0_test_score")
        assert [[r[c] for c in cols] for r in csv.DictReader(f1)] == \
               [[r[c] for c in cols] for r in csv.DictReader(f2)]
