"""Hostile files at the edges of the file system: model files that exhaust memory, non-regular paths.

Each test names the defect it guards (issue: nothing lost, nothing overwritten,
nothing hostile runs). Peak memory is measured with tracemalloc: loading any
model file stays within 4x its size plus a fixed bound.
"""

import io
import os
import struct
import threading
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from deepstep import DeepNetwork, persistence
from deepstep.errors import ModelFileError

FIXED_BOUND = 16 << 20


def _model(tmp_path, layers=(4,), n_x=3):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_x, 40))
    net = DeepNetwork(layers=layers, epochs=1, batch_size=8, seed=1)
    net.fit(X, (X[0] > 0).astype(int))
    path = tmp_path / "m.npz"
    persistence.save(net, path)
    return path


def _peak(fn):
    tracemalloc.start()
    try:
        try:
            fn()
        except ModelFileError as exc:
            err = exc
        else:
            err = None
        return tracemalloc.get_traced_memory()[1], err
    finally:
        tracemalloc.stop()


_CD = struct.Struct("<4s4B4HL2L5H2L")
_EOCD = struct.Struct("<4s4H2LH")


def _rebuild_directory(raw, extra):
    """``raw`` (a zip) with ``extra`` more central-directory entries, each a copy of its last one
    under a new name, pointing at the same bytes: entries that overlap."""
    zf = zipfile.ZipFile(io.BytesIO(raw))
    infos = zf.infolist()
    eocd = raw.rfind(b"PK\x05\x06")
    fields = _EOCD.unpack_from(raw, eocd)
    cd_start = fields[6]
    body = raw[:cd_start]
    records = []

    def record(info, name):
        n = name.encode()
        return _CD.pack(b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, info.CRC, info.compress_size,
                        info.file_size, len(n), 0, 0, 0, 0, 0, info.header_offset) + n

    for info in infos:
        records.append(record(info, info.filename))
    last = max(infos, key=lambda i: i.file_size)
    for k in range(extra):
        records.append(record(last, f"x{k:06d}.npy"))
    cd = b"".join(records)
    n = len(infos) + extra
    end = _EOCD.pack(b"PK\x05\x06", 0, 0, min(n, 0xFFFF), min(n, 0xFFFF), len(cd), len(body), 0)
    return body + cd + end


def test_overlapping_zip_entries_are_refused_within_the_memory_bound(tmp_path):
    # bug: a 1.1 MB file of overlapping entries loaded with a 195 MiB peak (190x its size)
    path = _model(tmp_path, layers=(300, 300))            # theta ~ 0.4 MB
    hostile = tmp_path / "overlap.npz"
    hostile.write_bytes(_rebuild_directory(path.read_bytes(), 20))
    size = hostile.stat().st_size
    peak, err = _peak(lambda: persistence.load(hostile))
    assert err is not None and "overlap" in str(err)
    assert peak <= 4 * size + FIXED_BOUND, peak


def test_a_huge_zip_directory_is_refused_before_it_is_parsed(tmp_path):
    # bug: a 5.7 MB central directory of 100,000 entries peaked at 51 MiB
    path = _model(tmp_path)
    hostile = tmp_path / "dir.npz"
    hostile.write_bytes(_rebuild_directory(path.read_bytes(), 100_000))
    size = hostile.stat().st_size
    assert size > 5_000_000
    peak, err = _peak(lambda: persistence.load(hostile))
    assert err is not None and "entries" in str(err) and "at most" in str(err)
    assert peak <= FIXED_BOUND, peak            # refused from the end record alone


def test_loading_a_real_model_stays_within_four_times_its_size(tmp_path):
    path = _model(tmp_path, layers=(700, 700), n_x=700)  # ~ 1M parameters, 4 MB theta + adam slots
    size = path.stat().st_size
    peak, err = _peak(lambda: persistence.load(path))
    assert err is None
    assert peak <= 4 * size + FIXED_BOUND, (peak, size)


def test_unused_arrays_listed_in_the_metadata_are_refused(tmp_path):
    # bug: the metadata listed 200 unused arrays, all read
    from deepstep.modelfile.format import checksum, decode_metadata, encode_metadata

    path = _model(tmp_path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    import json

    meta = json.loads(decode_metadata(arrays.pop("metadata")))
    for k in range(3):
        arrays[f"opt_junk{k}"] = np.zeros(10, np.float32)
    meta["arrays"].update({k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()})
    meta["checksum"] = checksum(meta, arrays)
    buf = io.BytesIO()
    np.savez(buf, metadata=encode_metadata(json.dumps(meta)), **arrays)
    bad = tmp_path / "unused.npz"
    bad.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="does not use"):
        persistence.load(bad)
    meta["arrays"]["../../etc"] = ["float32", [1]]
    with pytest.raises(ModelFileError):
        persistence.load(bad)


def test_a_model_path_linked_to_dev_zero_is_refused(tmp_path):
    # bug: a model path that is a symlink to /dev/zero was read until memory ran out
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this system")
    link = tmp_path / "model.npz"
    link.symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match="character device"):
        persistence.load(link)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_model_path_that_is_a_fifo_is_refused_not_waited_on(tmp_path):
    # bug: a FIFO given as a model hung forever
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            persistence.load(fifo)
        except ModelFileError as exc:
            result["err"] = exc

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "loading a FIFO hung"
    assert "FIFO" in str(result["err"])


def test_a_dangling_symlink_as_model_is_not_found(tmp_path):
    link = tmp_path / "model.npz"
    link.symlink_to(tmp_path / "nothing.npz")
    with pytest.raises(ModelFileError, match="not found"):
        persistence.load(link)


def test_compressed_bomb_member_is_refused(tmp_path):
    # a deflated entry would expand beyond the file: refused from the directory
    path = _model(tmp_path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="compressed"):
        persistence.load(bomb)
    assert zlib  # the module is used by np.savez_compressed
