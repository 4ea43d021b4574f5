"""Fuzzing the model-file loader: whatever the bytes, ``load`` returns a consistent model or raises ModelFileError.

Hypothesis mutates valid model and checkpoint files four ways: raw bytes (truncation,
bit flips, overwritten and deleted runs), edited JSON metadata (wrong shapes, missing
keys, absurd sizes, wrong types) re-signed with a valid checksum so the edit reaches
the deeper checks, swapped or replaced arrays, and hand-made ``.npy`` headers that
declare huge arrays. About 3,000 examples in all, derandomized so CI is repeatable.
"""

import atexit
import io
import json
import os
import shutil
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepstep import DeepNetwork, persistence
from deepstep.errors import ModelFileError
from deepstep.modelfile.format import checksum, decode_metadata, encode_metadata

SETTINGS = {"deadline": None, "derandomize": True, "database": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
WORK = Path(tempfile.mkdtemp(prefix="deepstep-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)


def _models():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 48))
    out = {}
    a = DeepNetwork(layers=(4,), epochs=2, batch_size=8, seed=1)
    a.fit(X, (X[0] > 0).astype(int))
    a.feature_names = ["a", "b", "c"]
    persistence.save(a, WORK / "a.npz")
    out["sigmoid-adam"] = (WORK / "a.npz").read_bytes()
    b = DeepNetwork(layers=(5, 3), epochs=1, optimizer="momentum", dtype="float64", preprocess="minmax", seed=2)
    b.fit(X, np.array(["x", "y", "z"] * 16))
    b.class_names = ["ex", "why", "zed"]
    persistence.save(b, WORK / "b.npz")
    out["softmax-momentum"] = (WORK / "b.npz").read_bytes()
    c = DeepNetwork(layers=(4,), epochs=3, batch_size=8, early_stopping=True, validation_fraction=0.25,
                    output="linear", seed=3)
    calls = iter(range(100))
    c.fit(X, X[1] * 3, stop=lambda: next(calls) == 7)
    persistence.save_checkpoint(c, WORK / "c.npz", run={"data": "d.csv"})
    out["checkpoint"] = (WORK / "c.npz").read_bytes()
    return out


MODELS = _models()
KINDS = sorted(MODELS)


def _entries(raw):
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(decode_metadata(arrays.pop("metadata"))), arrays


def _pack(meta, arrays, resign=True):
    if resign:
        meta = dict(meta, checksum=checksum(meta, arrays))
    buf = io.BytesIO()
    np.savez(buf, metadata=encode_metadata(json.dumps(meta)), **arrays)
    return buf.getvalue()


def check_load(raw):
    """Load ``raw``; it must give a usable, consistent model or ModelFileError -- nothing else."""
    path = WORK / "fuzzed.npz"
    path.write_bytes(raw)
    try:
        model = persistence.load(path)
    except ModelFileError as exc:
        assert str(exc)
        return "refused"
    n_x = model.layer_dims[0]
    assert np.isfinite(model._engine.theta).all()
    X = np.random.default_rng(0).standard_normal((n_x, 5))
    with np.errstate(all="ignore"):       # finite but absurd weights (1e300) may overflow: still a model
        proba = model.predict_proba(X)
        pred = model.predict(X)
    assert proba.shape == (model.layer_dims[-1], 5)
    assert pred.shape[-1] == 5
    model.summary()
    return "loaded"


def test_the_unmodified_files_load():
    for raw in MODELS.values():
        assert check_load(raw) == "loaded"


# --- raw bytes ----------------------------------------------------------------------------------------------
@st.composite
def byte_mutation(draw):
    raw = bytearray(MODELS[draw(st.sampled_from(KINDS))])
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "delete", "flips"]))
    n = len(raw)
    if kind == "truncate":
        return bytes(raw[:draw(st.integers(0, n - 1))])
    if kind in ("flip", "flips"):
        for _ in range(1 if kind == "flip" else draw(st.integers(2, 16))):
            raw[draw(st.integers(0, n - 1))] ^= 1 << draw(st.integers(0, 7))
        return bytes(raw)
    at = draw(st.integers(0, n - 1))
    if kind == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=64))
        raw[at:at + len(chunk)] = chunk
        return bytes(raw[:n])
    return bytes(raw[:at] + raw[at + draw(st.integers(1, 256)):])


@settings(max_examples=1500, **SETTINGS)
@given(byte_mutation())
def test_mutated_bytes(raw):
    check_load(raw)


# --- edited metadata, re-signed -------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 15, 10 ** 15) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8)
ABSURD = st.sampled_from([10 ** 12, 2 ** 62, -1, 0, 10 ** 6])


def _paths(obj, prefix=()):
    """Every (path to) value inside a JSON document."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value, delete=False):
    for k in path[:-1]:
        obj = obj[k]
    if delete:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


@st.composite
def metadata_edit(draw):
    kind = draw(st.sampled_from(KINDS))
    meta, arrays = _entries(MODELS[kind])
    meta.pop("checksum")
    paths = [p for p in _paths(meta) if p]
    how = draw(st.sampled_from(["replace", "delete", "absurd", "shape", "dims"]))
    if how == "shape":                        # an array declared with another (possibly huge) shape
        name = draw(st.sampled_from(sorted(meta["arrays"])))
        meta["arrays"][name][1] = draw(st.lists(ABSURD | st.integers(0, 50), min_size=0, max_size=3))
    elif how == "dims":                        # an architecture the arrays cannot hold
        meta["layer_dims"] = draw(st.lists(ABSURD | st.integers(1, 8), min_size=1, max_size=4))
        if draw(st.booleans()):
            meta["hyperparameters"]["layers"] = meta["layer_dims"][1:-1]
    else:
        path = draw(st.sampled_from(paths))
        if how == "delete" and not isinstance(path[-1], int):
            _set(meta, path, None, delete=True)
        else:
            _set(meta, path, draw(ABSURD) if how == "absurd" else draw(JSON_VALUES))
    return _pack(meta, arrays, resign=draw(st.integers(0, 9)) > 0)   # mostly re-signed: reach deeper checks


@settings(max_examples=1000, **SETTINGS)
@given(metadata_edit())
def test_edited_metadata(raw):
    check_load(raw)


# --- swapped and replaced arrays ----------------------------------------------------------------------------------
@st.composite
def array_edit(draw):
    meta, arrays = _entries(MODELS[draw(st.sampled_from(KINDS))])
    names = sorted(arrays)
    how = draw(st.sampled_from(["swap", "replace", "drop", "add"]))
    a = draw(st.sampled_from(names))
    if how == "swap":
        b = draw(st.sampled_from(names))
        arrays[a], arrays[b] = arrays[b], arrays[a]
    elif how == "replace":
        arrays[a] = draw(st.sampled_from([
            np.full(arrays[a].shape, np.nan), np.zeros(0), arrays[a][:-1], arrays[a].astype(np.int8),
            np.array("text"), arrays[a].reshape(1, -1), np.full_like(arrays[a], 1e300, dtype=np.float64)]))
    elif how == "drop":
        del arrays[a]
    else:
        arrays["extra"] = np.zeros(3)
    if draw(st.booleans()):                  # also make the metadata describe the new arrays
        meta["arrays"] = {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()}
    return _pack(meta, arrays)


@settings(max_examples=400, **SETTINGS)
@given(array_edit())
def test_swapped_or_replaced_arrays(raw):
    check_load(raw)


# --- absurd declared sizes, without allocating them --------------------------------------------------------------
def _with_member(raw, name, payload):
    """``raw`` with zip entry ``name`` replaced by ``payload`` (stored, like np.savez)."""
    src, out = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, payload if info.filename == name else src.read(info.filename))
    return out.getvalue()


def _npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


@pytest.mark.parametrize("member,shape,descr", [
    ("theta.npy", (10 ** 12,), "<f4"),              # 4 TB of parameters
    ("theta.npy", (10 ** 6, 10 ** 6), "<f8"),
    ("opt_v.npy", (2 ** 40,), "<f4"),
    ("metadata.npy", (), "<U1000000000"),           # a 4 GB JSON string
    ("theta.npy", (3,), "|O"),                      # pickled objects: never
    ("theta.npy", (3,), [("a", "<f4")]),
])
def test_absurd_declared_sizes_are_refused_without_allocating(member, shape, descr):
    raw = _with_member(MODELS["sigmoid-adam"], member, _npy_header(shape, descr) + b"\0" * 64)
    for resign_meta in (False, True):
        if resign_meta and member != "metadata.npy":    # metadata that agrees with the huge header
            meta, arrays = _entries(MODELS["sigmoid-adam"])
            meta["arrays"][member[:-4]] = ["float32", list(shape)]
            raw = _with_member(_pack(meta, arrays), member, _npy_header(shape, descr) + b"\0" * 64)
        tracemalloc.start()
        try:
            with pytest.raises(ModelFileError):
                persistence.load(_write(raw))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 * 2 ** 20, peak               # refused from the headers, not after allocating


@pytest.mark.parametrize("dims", [[10 ** 6, 10 ** 6, 1], [3, 10 ** 9, 1], [3, 4, 2 ** 40]])
def test_absurd_layer_dims_are_refused_without_allocating(dims):
    meta, arrays = _entries(MODELS["sigmoid-adam"])
    meta["layer_dims"] = dims
    meta["hyperparameters"]["layers"] = dims[1:-1]
    meta["targets"]["n_outputs"] = dims[-1]
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="theta has shape"):
            persistence.load(_write(_pack(meta, arrays)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20, peak


def test_compressed_entries_are_refused():
    """A deflated entry could expand ~1000x; deepstep writes stored entries and reads only those."""
    src, out = zipfile.ZipFile(io.BytesIO(MODELS["sigmoid-adam"])), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    with pytest.raises(ModelFileError, match="compressed"):
        persistence.load(_write(out.getvalue()))


def _write(raw):
    path = WORK / "absurd.npz"
    path.write_bytes(raw)
    return path


# --- the commands, not only load ------------------------------------------------------------------------------
def _command_data():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((48, 3))
    rows = "".join(",".join(f"{v:.4f}" for v in r) + f",{int(r[0] > 0)}\n" for r in X)
    (WORK / "d.csv").write_text("a,b,c,y\n" + rows)


_command_data()
COMMANDS = [["info", "{f}"], ["evaluate", "{f}", "--data", "d.csv"], ["predict", "{f}", "--data", "d.csv"],
            ["train", "--resume", "{f}", "--out", "resumed.npz", "-q"]]


@settings(max_examples=200, **SETTINGS)
@given(metadata_edit(), st.sampled_from(COMMANDS))
def test_every_command_on_mutated_loadable_files_ends_in_one_line(raw, command):
    """Mutated, re-signed files through every command: success or one stderr line, exit 1 or 2.

    Guards the bug where files that ``load`` accepted crashed ``info`` (a ragged history,
    a value of 10**400) or ``train --resume`` (odd ``run`` field types).
    """
    from click.testing import CliRunner

    from deepstep.cli import main

    path = WORK / "fuzzed-cmd.npz"
    path.write_bytes(raw)
    cwd = os.getcwd()
    os.chdir(WORK)
    try:
        r = CliRunner().invoke(main, [a.format(f=path) for a in command])
    finally:
        os.chdir(cwd)
    assert r.exception is None or isinstance(r.exception, SystemExit), (command, repr(r.exception))
    assert r.exit_code in (0, 1, 2), (command, r.exit_code, r.output)
    assert "Traceback" not in r.output
    if r.exit_code:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("deepstep: error:"), (command, r.output)
