"""Reading a model file that is not trusted: the archive, every .npy header, the metadata, the checksum.

The reader treats every file as untrusted. It reads the zip directory itself
(``zipfile``), parses each ``.npy`` header with ``numpy.lib.format`` and checks
the declared dtype and shape against the metadata and against the bytes the
entry really holds *before* reading any array, so a file that declares a
10^12-element array is refused without allocating it. Entries must be stored
uncompressed (as ``np.savez`` writes them), so what is read is never larger than
the file itself. Any other failure, whatever its type, becomes ModelFileError.

It returns plain JSON and arrays; :func:`read` optionally hands them to a
``build(meta, arrays)`` callable (the model's :meth:`DeepNetwork.from_state`)
inside the same guard, so that nothing a file holds raises anything but
ModelFileError.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile

import numpy as np

from ..errors import DeepstepError, ModelFileError
from ..fs import NotRegularFileError, open_regular
from .format import ARRAY_NAME, FORMAT_NAME, FORMAT_VERSION, MAX_ENTRIES, METADATA_ENCODING, checksum

MAX_METADATA_BYTES = 64 << 20          # JSON metadata (history included) of any sane model
_NPY_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 20
_ARRAY_DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64",
                           "uint8", "uint16", "uint32", "uint64", "bool"})


def read(path, build=None):
    """``(meta, arrays)`` from the file at ``path``, or ``build(meta, arrays)`` when given.

    ModelFileError, naming the file, is the only error raised, whatever the
    file holds, including errors raised by ``build``.
    """
    path = os.fspath(path)
    if not os.path.lexists(path):
        raise ModelFileError(f"Model file not found: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a directory, not a deepstep model file.")
    try:
        try:
            fh = open_regular(path, "deepstep model file")
        except FileNotFoundError:
            raise ModelFileError(f"Model file not found: {path} (a link to nothing?)") from None
        except NotRegularFileError as exc:
            raise ModelFileError(str(exc)) from None
        with fh:
            meta, arrays = _read_archive(fh, path)
        return (meta, arrays) if build is None else build(meta, arrays)
    except ModelFileError as exc:
        if path in str(exc):
            raise
        raise ModelFileError(f"{path}: {exc}") from None    # name the file in every message
    except MemoryError:
        raise ModelFileError(f"{path} is not a valid deepstep model: it needs more memory than is "
                             f"available.") from None
    except Exception as exc:  # noqa: BLE001 -- the last line of defence: an untrusted file never
        # raises anything but ModelFileError.
        msg = f"{type(exc).__name__}: {exc}" if not isinstance(exc, DeepstepError) else str(exc)
        raise ModelFileError(f"{path} is not a valid deepstep model: {msg}") from None


_EOCD = struct.Struct("<4s4H2LH")          # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


def _check_directory(fh, file_size, path):
    """Refuse a zip directory deepstep never writes (too many entries) before ``zipfile`` parses it.

    ``zipfile`` builds one object per directory entry, so a 5 MB directory of
    100,000 entries would cost ~50 MB before any check; deepstep files hold at
    most ``MAX_ENTRIES``.
    """
    tail_len = min(file_size, _EOCD.size + 65535)
    fh.seek(file_size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        raise ModelFileError(f"{path} is not a deepstep model file (it is not a .npz archive, or it is "
                             f"truncated).")
    _, _, _, _, entries, cd_size, _, _ = _EOCD.unpack_from(tail, pos)
    loc = pos - _ZIP64_LOCATOR.size
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":
        offset = _ZIP64_LOCATOR.unpack_from(tail, loc)[2]
        if offset + _ZIP64_EOCD.size <= file_size:
            fh.seek(offset)
            rec = fh.read(_ZIP64_EOCD.size)
            if rec[:4] == b"PK\x06\x06":
                fields = _ZIP64_EOCD.unpack(rec)
                entries, cd_size = fields[6], fields[8]
    if entries > MAX_ENTRIES or cd_size > MAX_ENTRIES * 1024:
        raise ModelFileError(f"{path} is not a deepstep model file: its zip directory lists {entries} "
                             f"entries ({cd_size} bytes); deepstep writes at most {MAX_ENTRIES}.")
    fh.seek(0)


def _check_layout(infos, file_size, path):
    """Entries must not overlap (one byte range read twice) and must fit in the file together."""
    spans = sorted((i.header_offset, i.header_offset + 30 + len(i.orig_filename.encode("utf-8", "replace"))
                    + i.compress_size, i.filename) for i in infos)
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if start < end:
            raise ModelFileError(f"{path} is corrupt: zip entries {name!r} and {other!r} overlap; "
                                 f"deepstep never writes that.")
    if spans and spans[-1][1] > file_size:
        raise ModelFileError(f"{path} is corrupt: entry {spans[-1][2]!r} runs past the end of the file.")


def _read_archive(fh, path):
    """(metadata dict, {name: array}) from an untrusted file; checks before allocating."""
    not_model = f"{path} is not a deepstep model file"
    file_size = os.fstat(fh.fileno()).st_size
    head = fh.read(len(_NPY_MAGIC))
    if head == _NPY_MAGIC:
        raise ModelFileError(f"{not_model} (it holds a single array, not a model archive).")
    _check_directory(fh, file_size, path)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ModelFileError(f"{not_model} (it is not a .npz archive, or it is truncated).") from None
    with zf:
        infos = {}
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name is None or name in infos:
                raise ModelFileError(f"{not_model} (unexpected or duplicate entry {info.filename!r}).")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > file_size:
                raise ModelFileError(f"{path} is corrupt: entry {info.filename!r} is compressed or larger "
                                     f"than the file ({info.file_size} bytes); deepstep writes "
                                     f"uncompressed entries.")
            infos[name] = info
        _check_layout(infos.values(), file_size, path)
        if "metadata" not in infos:
            raise ModelFileError(f"{not_model} (no 'metadata' entry; it holds {sorted(infos)[:6]}).")
        meta = _read_metadata(zf, infos["metadata"], path, not_model)
        spec = _array_spec(meta, path)
        missing = sorted(set(spec) - set(infos))
        if missing:
            raise ModelFileError(f"{path} is corrupt: arrays {missing} are missing.")
        extra = sorted(set(infos) - set(spec) - {"metadata"})
        if extra:
            raise ModelFileError(f"{path} is corrupt: it holds arrays {extra[:6]} that its metadata "
                                 f"does not list.")
        try:
            arrays = {name: _read_member(zf, infos[name], path, dtype, shape)
                      for name, (dtype, shape) in spec.items()}
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001 -- bad header, CRC, EOF: all mean corrupt
            raise ModelFileError(f"{path} is corrupt or truncated: {exc}.") from None
    if meta.get("checksum") != checksum(meta, arrays):
        raise ModelFileError(f"{path} is corrupt: its checksum does not match its contents "
                             f"(the file was modified or damaged after it was saved).")
    return meta, arrays


def _npy_header(fp, where):
    """(shape, fortran_order, dtype) of a .npy stream, refusing object and structured dtypes."""
    major, _ = np.lib.format.read_magic(fp)
    if major == 1:
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif major == 2:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ModelFileError(f"{where} uses .npy format version {major}, which deepstep does not write.")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ModelFileError(f"{where} holds a {dtype} array; deepstep files hold plain numbers and text "
                             f"only (never pickled objects).")
    return tuple(shape), fortran, dtype


def _read_exact(fp, n, where):
    data = fp.read(n)
    if len(data) != n:
        raise ModelFileError(f"{where} is truncated: {len(data)} of {n} bytes.")
    return data


def _read_metadata(zf, info, path, not_model):
    where = f"{path} (entry 'metadata')"
    try:
        with zf.open(info) as fp:
            shape, _, dtype = _npy_header(fp, where)
            # Format 2: UTF-8 bytes (1-d uint8); format 1: a 0-d unicode (UTF-32) array.
            utf8 = dtype == np.uint8 and len(shape) == 1
            if not utf8 and (dtype.kind != "U" or shape != ()):
                raise ModelFileError(f"{not_model} (its metadata is a {dtype} array of shape {shape}, "
                                     f"not JSON text).")
            nbytes = shape[0] if utf8 else dtype.itemsize
            if nbytes > min(MAX_METADATA_BYTES, info.file_size):       # before reading anything
                raise ModelFileError(f"{path} is corrupt: its metadata declares {nbytes} bytes, "
                                     f"more than the entry holds.")
            raw = _read_exact(fp, nbytes, where)
            if fp.read(1):
                raise ModelFileError(f"{path} is corrupt: trailing bytes after the metadata.")
        if utf8:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ModelFileError(f"{path} is corrupt: its metadata is not valid UTF-8 ({exc}).") from None
        else:
            text = str(np.frombuffer(raw, dtype)[0])
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 -- bad header, CRC, zlib, EOF: all mean corrupt
        raise ModelFileError(f"{path} is corrupt: its metadata cannot be read ({exc}).") from None
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path} is corrupt: its metadata is not valid JSON ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{not_model} (its metadata does not say format {FORMAT_NAME!r}).")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path} is corrupt: format_version is {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer deepstep ({meta.get('deepstep_version', '?')}, model format "
            f"version {version}); this deepstep reads format versions up to {FORMAT_VERSION}. "
            f"Upgrade deepstep to load it.")
    if utf8 != (version >= 2):
        raise ModelFileError(f"{path} is corrupt: format version {version} stores its metadata as "
                             f"{METADATA_ENCODING[min(version, 2)]}, but this file's is a {dtype} array.")
    return meta


def _array_spec(meta, path):
    """The metadata's ``arrays`` table as {name: (dtype, shape)}, validated."""
    spec = meta.get("arrays")
    if not isinstance(spec, dict) or "theta" not in spec:
        raise ModelFileError(f"{path} is corrupt: arrays ['theta'] are missing from its metadata.")
    if len(spec) > MAX_ENTRIES - 1:
        raise ModelFileError(f"{path} is corrupt: its metadata lists {len(spec)} arrays; deepstep writes "
                             f"at most {MAX_ENTRIES - 1}.")
    out = {}
    for name, entry in spec.items():
        if not isinstance(name, str) or not ARRAY_NAME.fullmatch(name):
            raise ModelFileError(f"{path} is corrupt: its metadata lists an array {str(name)[:40]!r}, "
                                 f"which is no part of a deepstep model.")
        ok = (isinstance(entry, list) and len(entry) == 2 and entry[0] in _ARRAY_DTYPES
              and isinstance(entry[1], list) and len(entry[1]) <= 4
              and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s for s in entry[1]))
        if not ok or name == "metadata":
            raise ModelFileError(f"{path} is corrupt: array {name!r} is declared as {entry!r}; expected "
                                 f"[dtype, [shape...]].")
        out[name] = (np.dtype(entry[0]), tuple(entry[1]))
    return out


def _read_member(zf, info, path, dtype, shape):
    """One array, after checking its header against the metadata and the entry's real size."""
    where = f"{path} (array {info.filename[:-4]!r})"
    with zf.open(info) as fp:
        h_shape, fortran, h_dtype = _npy_header(fp, where)
        if h_dtype != dtype or h_shape != shape:
            raise ModelFileError(f"{where} is corrupt: it holds {h_dtype} of shape {h_shape}, but the "
                                 f"metadata says {dtype} of shape {shape}.")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size - fp.tell():
            raise ModelFileError(f"{where} is corrupt: it declares {count} elements ({nbytes} bytes) but "
                                 f"the entry holds {max(info.file_size - fp.tell(), 0)} bytes.")
        out = np.empty(count, dtype)
        view = memoryview(out).cast("B") if nbytes else None
        done = 0
        while done < nbytes:            # in chunks: memory is the array, not the array twice
            chunk = fp.read(min(_CHUNK, nbytes - done))
            if not chunk:
                raise ModelFileError(f"{where} is truncated: {done} of {nbytes} bytes.")
            view[done:done + len(chunk)] = chunk
            done += len(chunk)
        if fp.read(1):
            raise ModelFileError(f"{where} is corrupt: trailing bytes after the array.")
    return out.reshape(shape, order="F" if fortran else "C")
