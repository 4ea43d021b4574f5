"""Tests for deepstep.persistence: round trips, atomic writes, and refusing bad files."""

import json
import zipfile

import numpy as np
import pytest

from deepstep import DeepNetwork, persistence
from deepstep.errors import ModelFileError, NotFittedError
from deepstep.modelfile import FORMAT_VERSION, writer
from deepstep.modelfile.format import checksum


@pytest.fixture
def problem(rng):
    X = rng.standard_normal((4, 60))
    y = (X[0] + X[1] > 0).astype(int)
    return X, y


@pytest.fixture
def model(problem):
    net = DeepNetwork(layers=(5, 3), epochs=4, batch_size=16, optimizer="adam", seed=3)
    net.fit(*problem)
    net.feature_names = ["a", "b", "c", "d"]
    return net


def assert_same(a, b):
    for k, v in a.parameters.items():
        np.testing.assert_array_equal(v, b.parameters[k])


def test_round_trip_identical_predictions_and_parameters(tmp_path, model, problem):
    p = tmp_path / "m.npz"
    assert persistence.save(model, p) == str(p)
    back = persistence.load(p)
    assert_same(model, back)
    np.testing.assert_array_equal(model.predict_proba(problem[0]), back.predict_proba(problem[0]))
    np.testing.assert_array_equal(model.predict(problem[0]), back.predict(problem[0]))
    assert back.hp == model.hp
    assert back.layer_dims == model.layer_dims and back.activations == model.activations
    assert back.feature_names == ["a", "b", "c", "d"]
    assert back.history == model.history and back._epochs_done == 4
    assert back._optimizer.t == model._optimizer.t
    for k in ("v", "s"):
        np.testing.assert_array_equal(back._optimizer.state[k], model._optimizer.state[k])
    np.testing.assert_array_equal(back.scaler.shift, model.scaler.shift)


@pytest.mark.parametrize("kw", [
    {"output": "softmax", "dtype": "float64", "optimizer": "momentum", "preprocess": "minmax"},
    {"optimizer": "gd", "preprocess": "none", "activation": "tanh"},
])
def test_round_trip_other_configurations(tmp_path, rng, kw):
    X = rng.standard_normal((3, 40))
    y = np.array(["a", "b", "c", "d"] * 10)
    if kw.get("output") != "softmax":
        y = np.where(X[0] > 0, "yes", "no")
    net = DeepNetwork(layers=(4,), epochs=2, seed=1, **kw)
    net.fit(X, y)
    persistence.save(net, tmp_path / "m")
    back = persistence.load(tmp_path / "m")
    np.testing.assert_array_equal(net.predict(X), back.predict(X))
    assert back._engine.theta.dtype == net._engine.theta.dtype


def test_image_shape_and_class_names_survive(tmp_path, model):
    model.input_shape = (2, 2, 1)
    model.class_names = ["no", "yes"]
    persistence.save(model, tmp_path / "m.npz")
    back = persistence.load(tmp_path / "m.npz")
    assert back.input_shape == (2, 2, 1) and back.class_names == ["no", "yes"]


def test_warm_start_after_load_continues_bit_for_bit(tmp_path, problem):
    kw = {"layers": (6,), "epochs": 3, "batch_size": 8, "keep_prob": 0.8, "validation_fraction": 0.2, "seed": 7}
    a = DeepNetwork(**kw)
    a.fit(*problem)
    persistence.save(a, tmp_path / "m.npz")
    b = persistence.load(tmp_path / "m.npz")
    a.fit(*problem, epochs=2, warm_start=True)        # shuffling + dropout use the restored RNG
    b.fit(*problem, epochs=2, warm_start=True)
    np.testing.assert_array_equal(a._engine.theta, b._engine.theta)
    assert a.history["cost"] == b.history["cost"]


def test_checkpoint_keeps_the_interrupted_epoch(tmp_path, problem):
    net = DeepNetwork(layers=(4,), epochs=2, batch_size=10, seed=2)
    calls = iter(range(100))
    net.fit(*problem, stop=lambda: next(calls) == 2)   # stop after the third mini-batch
    assert net.train_state is not None and net.train_state.position == 30
    persistence.save_checkpoint(net, tmp_path / "c.npz")
    back, ts = persistence.load_checkpoint(tmp_path / "c.npz")
    assert back.train_state is ts and ts.position == 30
    np.testing.assert_array_equal(ts.perm, net.train_state.perm)
    net.fit(*problem, epochs=1, warm_start=True)
    back.fit(*problem, epochs=1, warm_start=True)
    np.testing.assert_array_equal(net._engine.theta, back._engine.theta)


def test_atomic_write_keeps_the_old_file(tmp_path, model, monkeypatch, problem):
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    before = p.read_bytes()
    model.fit(*problem, epochs=1, warm_start=True)

    def crash(f, **arrays):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(writer.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        persistence.save(model, p)
    assert p.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["m.npz"]        # no temp file left behind
    persistence.load(p)


def test_refuses_non_finite_parameters(tmp_path, model):
    model._engine.theta[0] = np.nan
    with pytest.raises(ModelFileError, match="NaN or inf"):
        persistence.save(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        persistence.save(DeepNetwork(), tmp_path / "m.npz")


# --- bad files ------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        persistence.load(tmp_path / "none.npz")


@pytest.mark.parametrize("content", [b"", b"hello, world", b"\x93NUMPY garbage"])
def test_not_a_model(tmp_path, content):
    p = tmp_path / "x.npz"
    p.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a deepstep model"):
        persistence.load(p)


def test_other_npz_files_are_not_models(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.zeros(3))
    with pytest.raises(ModelFileError, match="no 'metadata'"):
        persistence.load(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", metadata=np.array(json.dumps({"format": "other"})))
    with pytest.raises(ModelFileError, match="does not say format"):
        persistence.load(tmp_path / "b.npz")
    np.save(tmp_path / "c.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match="single array"):
        persistence.load(tmp_path / "c.npy")


def test_truncated_file(tmp_path, model):
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    data = p.read_bytes()
    for cut in (len(data) // 3, len(data) - 40):
        p.write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            persistence.load(p)


def test_bit_flip_in_parameters_is_detected(tmp_path, model):
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    raw = bytearray(p.read_bytes())
    theta = model._engine.theta.tobytes()
    at = bytes(raw).find(theta[:32])
    assert at > 0
    raw[at + 5] ^= 0x10
    p.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="corrupt"):
        persistence.load(p)


def _rewrite(p, change):
    """Rewrite a model file's entries with ``change(arrays)`` (CRCs stay valid)."""
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(p, **arrays)


def test_modified_array_fails_the_checksum(tmp_path, model):
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    _rewrite(p, lambda a: a["theta"].__setitem__(0, a["theta"][0] + 1))
    with pytest.raises(ModelFileError, match="checksum"):
        persistence.load(p)


def test_missing_array(tmp_path, model):
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    _rewrite(p, lambda a: a.pop("opt_v"))
    with pytest.raises(ModelFileError, match=r"missing"):
        persistence.load(p)


def test_newer_format_version(tmp_path, model):
    p = tmp_path / "m.npz"
    persistence.save(model, p)

    def bump(a):
        meta = json.loads(str(a["metadata"]))
        meta["format_version"] = FORMAT_VERSION + 1
        a["metadata"] = np.array(json.dumps(meta))

    _rewrite(p, bump)
    with pytest.raises(ModelFileError, match="newer deepstep.*Upgrade"):
        persistence.load(p)


def test_wrong_shapes_with_a_valid_checksum(tmp_path, model):
    """A file whose checksum matches but whose arrays do not fit its architecture."""
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("metadata")))
    arrays["theta"] = arrays["theta"][:-1]
    meta["arrays"]["theta"][1] = [arrays["theta"].size]
    meta["checksum"] = checksum(meta, arrays)
    np.savez(p, metadata=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ModelFileError, match="theta has shape"):
        persistence.load(p)


def test_file_is_a_plain_npz_without_pickle(tmp_path, model):
    p = tmp_path / "m.npz"
    persistence.save(model, p)
    with zipfile.ZipFile(p) as zf:
        names = set(zf.namelist())
    assert {"metadata.npy", "theta.npy"} <= names
    with np.load(p, allow_pickle=False) as z:
        meta = json.loads(str(z["metadata"]))
        assert all(z[k].dtype != object for k in z.files)
    assert meta["format"] == "deepstep-model" and meta["format_version"] == 1
    assert meta["hyperparameters"]["layers"] == [5, 3]
    assert meta["targets"]["output"] == "sigmoid"


def test_save_into_a_missing_folder_names_that_folder(tmp_path):
    """The error named the hidden temporary file instead of the user's folder."""
    import deepstep.persistence as P
    from deepstep import DeepNetwork

    net = DeepNetwork(layers=(3,), epochs=1)
    net.fit(np.arange(20.0).reshape(2, 10), np.arange(10) % 2)
    with pytest.raises(FileNotFoundError) as info:
        P.save(net, tmp_path / "missing" / "m.npz")
    assert info.value.filename == str(tmp_path / "missing")
    net.input_shape = (5, 5)
    with pytest.raises(ModelFileError, match="does not hold"):
        P.save(net, tmp_path / "m.npz")
