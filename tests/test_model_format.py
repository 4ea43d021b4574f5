"""Model-file format 2 (JSON metadata as UTF-8 bytes) and format 1 (UTF-32 metadata) still loading.

tests/data/model_format_v1.npz was written by deepstep's format-1 writer (a
3-4-1 sigmoid model on strings "no"/"yes", 3 epochs, a validation split,
feature names a, b, c).
"""

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from deepstep import DeepNetwork, ModelFileError
from deepstep.modelfile import FORMAT_VERSION, read
from deepstep.modelfile.format import checksum, encode_metadata
from deepstep.modelfile.reader import MAX_METADATA_BYTES

V1_FILE = Path(__file__).parent / "data" / "model_format_v1.npz"


def _model(**kw):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40))
    net = DeepNetwork(layers=(4,), epochs=2, batch_size=8, seed=1, **kw)
    net.fit(X, np.where(X[0] > 0, "oui", "non"))
    net.feature_names = ["α", "größe", "猫"]                # non-ASCII text survives UTF-8
    return net, X


def _write_v1(path, model):
    """What format 1's writer did: the same JSON, stored as a 0-d unicode (UTF-32) array."""
    from deepstep import __version__

    meta, arrays = model.get_state()
    meta = {"format": "deepstep-model", "format_version": 1, "deepstep_version": __version__, **meta,
            "arrays": {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()}}
    meta = json.loads(json.dumps(meta))
    meta["checksum"] = checksum(meta, arrays)
    np.savez(path, metadata=np.array(json.dumps(meta)), **arrays)


def test_metadata_is_utf8_bytes_and_much_smaller(tmp_path):
    net, X = _model()
    p2, p1 = tmp_path / "v2.npz", tmp_path / "v1.npz"
    net.save(p2)
    _write_v1(p1, net)
    with zipfile.ZipFile(p2) as zf:
        entry = np.load(io.BytesIO(zf.read("metadata.npy")), allow_pickle=False)
        sizes = {i.filename: i.file_size for i in zf.infolist()}
    assert entry.dtype == np.uint8 and entry.ndim == 1
    meta = json.loads(entry.tobytes().decode("utf-8"))
    assert meta["format_version"] == FORMAT_VERSION == 2 and meta["feature_names"] == ["α", "größe", "猫"]
    with zipfile.ZipFile(p1) as zf:
        v1_meta = zf.getinfo("metadata.npy").file_size
    assert sizes["metadata.npy"] < v1_meta / 3                 # UTF-32 was 4 bytes a character
    assert p2.stat().st_size < p1.stat().st_size / 2


def test_format_1_files_load_the_same_model(tmp_path):
    net, X = _model(validation_fraction=0.25)
    p1 = tmp_path / "v1.npz"
    _write_v1(p1, net)
    meta, _ = read(p1)
    assert meta["format_version"] == 1
    back = DeepNetwork.load(p1)
    np.testing.assert_array_equal(back.engine.theta, net.engine.theta)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert back.feature_names == net.feature_names and back.history == net.history
    # Saved again, it is a format-2 file of the same model.
    p2 = tmp_path / "again.npz"
    back.save(p2)
    assert read(p2)[0]["format_version"] == 2
    np.testing.assert_array_equal(DeepNetwork.load(p2).predict_proba(X), net.predict_proba(X))


def test_the_committed_format_1_file_loads():
    meta, arrays = read(V1_FILE)
    assert meta["format_version"] == 1
    net = DeepNetwork.load(V1_FILE)
    assert net.layer_dims == [3, 4, 1] and list(net.classes) == ["no", "yes"]
    assert net.feature_names == ["a", "b", "c"] and net.epochs_done == 3
    X = np.random.default_rng(0).standard_normal((3, 5))
    assert set(net.predict(X).ravel()) <= {"no", "yes"}
    # Its arrays are the model's weights, as they were written.
    np.testing.assert_array_equal(net.engine.theta, arrays["theta"])


def _with_metadata(path, entry_bytes, out):
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = entry_bytes if info.filename == "metadata.npy" else zin.read(info)
            zout.writestr(info.filename, data)
    return out


def _npy(array=None, header=None):
    buf = io.BytesIO()
    if header is not None:
        np.lib.format.write_array_header_1_0(buf, header)
    else:
        np.save(buf, array)
    return buf.getvalue()


def test_hostile_utf8_metadata_is_refused(tmp_path):
    net, _ = _model()
    good = tmp_path / "good.npz"
    net.save(good)
    meta, _ = read(good)
    # A declared length far past the entry (and past the bound): refused before allocating.
    huge = _with_metadata(good, _npy(header={"descr": "|u1", "fortran_order": False,
                                            "shape": (MAX_METADATA_BYTES * 4,)}) + b"{}", tmp_path / "huge.npz")
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="declares"):
            DeepNetwork.load(huge)
        assert tracemalloc.get_traced_memory()[1] < 16 << 20
    finally:
        tracemalloc.stop()
    bad = _with_metadata(good, _npy(np.frombuffer(b"\xff\xfe{}", np.uint8)), tmp_path / "bad.npz")
    with pytest.raises(ModelFileError, match="not valid UTF-8"):
        DeepNetwork.load(bad)
    # A format-2 header on UTF-32 text (or the reverse) is inconsistent.
    meta2 = dict(meta, format_version=1)
    mixed = _with_metadata(good, _npy(encode_metadata(json.dumps(meta2))), tmp_path / "mixed.npz")
    with pytest.raises(ModelFileError, match="format version 1 stores its metadata as utf-32"):
        DeepNetwork.load(mixed)
    # The checksum still covers the metadata: one edited value is caught.
    edited = dict(meta, deepstep_version="0.0.0-edited")
    tampered = _with_metadata(good, _npy(encode_metadata(json.dumps(edited))), tmp_path / "t.npz")
    with pytest.raises(ModelFileError, match="checksum"):
        DeepNetwork.load(tampered)
