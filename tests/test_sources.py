"""Training from out-of-core sources: HDF5, memmap, Dask; shuffled blocks; the streaming scaler."""

import h5py
import numpy as np
import pytest

from deepstep import DeepNetwork, sources
from deepstep.errors import InvalidParameterError
from deepstep.preprocessing import Scaler
from deepstep.training import Callback


def _data(m=600, n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(np.float32)
    X[: m // 4] += 3.0                               # the first block is unlike the rest
    X[:, 0] *= 10.0
    y = (X[:, 1] + X[:, 2] > 1.0).astype(int)
    return X, y


@pytest.fixture
def h5(tmp_path):
    X, y = _data()
    path = tmp_path / "rows.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X, chunks=(50, X.shape[1]))
        f.create_dataset("y", data=y)
    with h5py.File(path, "r") as f:
        yield f, X, y


def _net(**kw):
    kw.setdefault("layers", (8,))
    kw.setdefault("batch_size", 32)
    kw.setdefault("epochs", 2)
    kw.setdefault("learning_rate", 0.05)
    kw.setdefault("preprocess", "standardize")
    return DeepNetwork(seed=3, **kw)


def test_hdf5_is_streamed_and_reproducible_per_seed(h5):
    f, X, y = h5
    a, b = _net(), _net()
    a.fit(sources.Rows(f["X"], block_rows=100), f["y"])
    b.fit(sources.Rows(f["X"], block_rows=100), f["y"][:])
    assert np.array_equal(a.engine.theta, b.engine.theta)
    assert a.history["cost"] == b.history["cost"]
    c = DeepNetwork(seed=4, layers=(8,), batch_size=32, epochs=2, learning_rate=0.05, preprocess="standardize")
    c.fit(sources.Rows(f["X"], block_rows=100), f["y"])
    assert not np.array_equal(a.engine.theta, c.engine.theta)
    assert a.evaluate(X.T, y)["accuracy"] > 0.7


def test_a_plain_h5py_dataset_is_a_source(h5):
    f, X, y = h5
    assert sources.is_source(f["X"]) and not sources.is_source(X)
    net = _net(epochs=1)
    net.fit(f["X"], y)
    assert net.layer_dims[0] == X.shape[1] and net.epochs_done == 1


@pytest.mark.parametrize("kind", ["standardize", "minmax"])
def test_scaler_is_fitted_over_all_rows_not_the_first_block(h5, kind):
    f, X, y = h5
    net = _net(epochs=1, preprocess=kind)
    net.fit(sources.Rows(f["X"], block_rows=64), y)
    full = Scaler(kind).fit(X.T)
    np.testing.assert_allclose(net.scaler.shift, full.shift, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.scaler.factor, full.factor, rtol=1e-10)
    first = Scaler(kind).fit(X[:64].T)
    assert not np.allclose(net.scaler.shift, first.shift)


class _Seen(Callback):
    def __init__(self):
        self.perms = []

    def on_batch_end(self, state):
        if state.position == state.perm.size:
            self.perms.append(state.perm.copy())


def test_every_example_once_per_epoch_and_each_block_read_once(h5, monkeypatch):
    f, X, y = h5
    reads = []
    real = sources.Rows.read

    def counting(self, start, stop):
        reads.append((start, stop))
        return real(self, start, stop)

    monkeypatch.setattr(sources.Rows, "read", counting)
    seen = _Seen()
    net = _net(epochs=3, preprocess="none", batch_size=40)
    net.fit(sources.Rows(f["X"], block_rows=70), y, callbacks=[seen])
    assert len(seen.perms) == 3
    for perm in seen.perms:
        assert np.array_equal(np.sort(perm), np.arange(len(y)))
        # shuffled by blocks: the order visits one block's rows together
        blocks = perm // 70
        assert np.count_nonzero(np.diff(blocks)) == -(-len(y) // 70) - 1
    assert not np.array_equal(seen.perms[0], seen.perms[1])
    n_blocks = -(-len(y) // 70)
    # each block read once per epoch (preprocess none: no scaler pass); an epoch may
    # start on the block the previous one ended with, still in memory
    assert 3 * n_blocks - 2 <= len(reads) <= 3 * n_blocks
    assert sorted(set(reads)) == [(s, min(s + 70, len(y))) for s in range(0, len(y), 70)]


def test_unshuffled_stream_equals_in_memory_bit_for_bit(h5):
    f, X, y = h5
    a, b = _net(shuffle=False, preprocess="none"), _net(shuffle=False, preprocess="none")
    a.fit(sources.Rows(f["X"], block_rows=45), y)
    b.fit(X.T, y)
    assert np.array_equal(a.engine.theta, b.engine.theta)
    assert a.history["cost"] == b.history["cost"]


def test_memmap_and_dask_sources(tmp_path, h5):
    f, X, y = h5
    np.save(tmp_path / "X.npy", X)
    mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    a = _net()
    a.fit(sources.Rows(mm, block_rows=100), y)
    b = _net()
    b.fit(sources.Rows(f["X"], block_rows=100), y)
    assert np.array_equal(a.engine.theta, b.engine.theta)
    da = pytest.importorskip("dask.array")
    dX = da.from_array(X, chunks=(100, X.shape[1]))
    assert sources.is_source(dX) and sources.Rows(dX).block_rows == len(y)    # small: one block
    c = _net()
    c.fit(sources.Rows(dX, block_rows=100), y)
    assert np.array_equal(a.engine.theta, c.engine.theta)


def test_interrupted_stream_resumes_exactly(h5):
    f, X, y = h5
    whole = _net(epochs=2)
    whole.fit(sources.Rows(f["X"], block_rows=100), y)
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] == 7                          # mid-epoch

    part = _net(epochs=2)
    part.fit(sources.Rows(f["X"], block_rows=100), y, stop=stop)
    assert part.train_state is not None and part.train_state.position < len(y)
    left = 2 - part.epochs_done
    part.fit(sources.Rows(f["X"], block_rows=100), y, epochs=left, warm_start=True)
    assert np.array_equal(whole.engine.theta, part.engine.theta)


def test_stream_refuses_full_batch_and_validation_fraction(h5):
    f, X, y = h5
    with pytest.raises(InvalidParameterError, match="full"):
        _net(batch_size="full").fit(sources.Rows(f["X"], block_rows=100), y)
    with pytest.raises(InvalidParameterError, match="validation_data"):
        _net(validation_fraction=0.1).fit(f["X"], y)
    net = _net(epochs=1)
    net.fit(f["X"], y, validation_data=(X[:50].T, y[:50]))
    assert "val_cost" in net.history


def test_estimator_partial_fit_streams_an_hdf5_dataset(h5):
    from deepstep.sklearn import DeepClassifier

    f, X, y = h5
    clf = DeepClassifier(layers=(8,), batch_size=32, learning_rate=0.05, seed=3)
    for _ in range(3):
        clf.partial_fit(f["X"], f["y"], classes=[0, 1])
    assert clf.n_features_in_ == X.shape[1] and clf.network_.epochs_done == 3
    assert clf.score(X, y) > 0.7
    mem = DeepClassifier(layers=(8,), batch_size=32, learning_rate=0.05, seed=3,
                         shuffle=False, epochs=2).fit(sources.Rows(f["X"], block_rows=64), y)
    ref = DeepClassifier(layers=(8,), batch_size=32, learning_rate=0.05, seed=3,
                         shuffle=False, epochs=2).fit(X, y)
    np.testing.assert_allclose(mem.predict_proba(X), ref.predict_proba(X), rtol=1e-4, atol=1e-6)


def test_cli_train_stream(tmp_path):
    from click.testing import CliRunner

    from deepstep.cli import main

    X, y = _data()
    path = tmp_path / "rows.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=X)
        f.create_dataset("y", data=y)
    out = tmp_path / "m.npz"
    r = CliRunner().invoke(main, ["train", "--data", str(path), "--stream", "--layers", "8", "--epochs", "2",
                                  "--batch-size", "32", "--out", str(out), "--test-data", str(path)])
    assert r.exit_code == 0, r.output
    assert "streaming" in r.output and "test" in r.output and out.exists()
    net = DeepNetwork.load(out)
    assert net.epochs_done == 2 and net.scaler.kind == "standardize"
    np.testing.assert_allclose(net.scaler.shift, X.mean(0), rtol=1e-6, atol=1e-6)
    bad = CliRunner().invoke(main, ["train", "--stream", "--epochs", "1"])
    assert bad.exit_code != 0 and "--data" in bad.output
