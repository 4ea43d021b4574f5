"""Training data larger than memory: examples read in blocks, shuffled by blocks.

``DeepNetwork.fit`` trains from an out-of-core source as it trains from an
array, holding only a few blocks of rows in memory at a time:

>>> import h5py
>>> from deepstep import DeepNetwork, sources
>>> f = h5py.File("big.h5", "r")                           # doctest: +SKIP
>>> net = DeepNetwork(layers=(256, 128), batch_size=256)   # doctest: +SKIP
>>> net.fit(f["X"], f["y"][:])                             # doctest: +SKIP
>>> net.fit(sources.Rows(np.load("X.npy", mmap_mode="r")), y)   # doctest: +SKIP

Sources
    An ``h5py.Dataset``, a ``zarr.Array`` or a ``dask.array.Array`` passed to
    ``fit`` is streamed. It holds **examples as rows**, shape (m, n_features)
    or (m, h, w, c), the layout such files are written in (the transpose of
    ``fit``'s in-memory (n_x, m)). A NumPy memmap is an ndarray, so ``fit``
    keeps reading it as (n_x, m) in memory; wrap rows in :class:`Rows` to
    stream them (``Rows`` also takes the other three, to set ``block_rows``).
    Targets stay in memory (labels of m examples are small).

Shuffling (seeded, reproducible)
    Each epoch draws, from the model's training generator, an order of the
    blocks and an order of the rows inside each block, and visits the examples
    block by block in that order: every example exactly once per epoch, the
    same order for the same seed, and each block read once per epoch, in one
    contiguous read. Mini-batches are cut from that order as in memory, so a
    batch may span the end of one block and the start of the next. The order is
    kept in the training state, so an interrupted run resumes exactly.

Scaling
    The input scaler (``preprocess``) is fitted in one streaming pass over all
    the rows before training (not on the first block): per-feature sums in
    float64 combined block by block (Chan et al.'s update for the variance),
    or running minima and maxima. Blocks are scaled as they are read.

Reading ahead
    While the model trains on one block, a background thread reads, checks and
    scales the next block of the epoch's order (h5py, memmap and Dask reads
    release the GIL for most of that work), so the file is read while the
    products run.

Limits
    ``batch_size="full"`` needs every example at once and is refused, as is
    ``validation_fraction`` (pass ``validation_data`` in memory instead).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import DataError, InvalidParameterError
from .preprocessing import Scaler

#: Bytes of rows per block when ``block_rows`` is not given.
BLOCK_BYTES = 32 << 20


class Rows:
    """Examples as rows of an array-like read in slices ``data[start:stop]``.

    Parameters
    ----------
    data : h5py.Dataset, zarr.Array, dask.array.Array, numpy.memmap or ndarray
        Shape (m, ...): one example per row; trailing axes are flattened.
    block_rows : int, optional
        Rows per block: the unit of reading and of shuffling. Defaults to about
        32 MB of rows (rounded to the HDF5/Zarr chunk length when there is one).
    """

    def __init__(self, data, block_rows=None):
        if isinstance(data, Rows):
            block_rows = block_rows or data.block_rows
            data = data.data
        shape = tuple(int(s) for s in getattr(data, "shape", ()))
        if len(shape) < 2:
            raise DataError(f"An out-of-core source must have shape (m, n_features...); got {shape}.")
        self.data = data
        self.m = shape[0]
        self.row_shape = shape[1:]
        self.n_features = math.prod(shape[1:])
        self.dtype = np.dtype(getattr(data, "dtype", np.float32))
        if not (np.issubdtype(self.dtype, np.number) or self.dtype == np.bool_) or \
                np.issubdtype(self.dtype, np.complexfloating):
            raise DataError(f"An out-of-core source must be real and numeric; got dtype {self.dtype}.")
        if self.m < 1 or self.n_features < 1:
            raise DataError(f"The source is empty (shape {shape}).")
        if block_rows is None:
            block_rows = min(self.m, max(1, BLOCK_BYTES // (self.n_features * self.dtype.itemsize)))
            chunk = _chunk_rows(data)
            if chunk and chunk < block_rows:
                block_rows -= block_rows % chunk
        block_rows = int(block_rows)
        if block_rows < 1:
            raise InvalidParameterError(f"block_rows must be a positive int. Got {block_rows}.")
        self.block_rows = min(block_rows, self.m)
        self.n_blocks = -(-self.m // self.block_rows)

    def read(self, start, stop):
        """Rows ``start:stop`` as a 2-D ndarray (k, n_features), in the source's dtype."""
        part = self.data[start:stop]
        if hasattr(part, "compute"):              # dask
            part = part.compute()
        part = np.asarray(part)
        return part.reshape(part.shape[0], self.n_features)

    def blocks(self):
        """``(start, stop)`` of every block, in storage order."""
        B = self.block_rows
        return [(s, min(s + B, self.m)) for s in range(0, self.m, B)]


def _chunk_rows(data):
    chunks = getattr(data, "chunks", None)
    try:
        first = chunks[0]
        if isinstance(first, tuple):              # dask: a tuple of chunk lengths per axis
            first = first[0]
        return int(first)
    except (TypeError, IndexError, ValueError):
        return None


def is_source(X) -> bool:
    """True for what ``fit`` streams: :class:`Rows`, h5py datasets, Zarr and Dask arrays."""
    if isinstance(X, Rows):
        return True
    if isinstance(X, np.ndarray):
        return False
    module = type(X).__module__.split(".")[0]
    return module in ("h5py", "zarr", "dask") and hasattr(X, "shape") and hasattr(X, "__getitem__")


# --- the input scaler, fitted in one pass ------------------------------------------------
def fit_scaler(kind, rows: Rows) -> Scaler:
    """A :class:`~deepstep.preprocessing.Scaler` of ``kind`` fitted over every row of ``rows``.

    The same statistics as ``Scaler(kind).fit`` on the whole array (population
    standard deviation; features of zero spread keep a factor of 1), computed
    block by block in float64.
    """
    scaler = Scaler(kind)
    if kind not in ("standardize", "minmax"):
        return scaler
    n, mean, m2 = 0, None, None
    lo = hi = None
    for start, stop in rows.blocks():
        B = rows.read(start, stop)
        if np.issubdtype(B.dtype, np.floating) and not np.isfinite(B).all():
            raise DataError(f"The source has NaN or infinite values in rows {start}-{stop}; clean them first.")
        if kind == "minmax":
            bl, bh = B.min(axis=0).astype(np.float64), B.max(axis=0).astype(np.float64)
            lo = bl if lo is None else np.minimum(lo, bl)
            hi = bh if hi is None else np.maximum(hi, bh)
            continue
        k = B.shape[0]
        bmean = B.mean(axis=0, dtype=np.float64)
        D = B - bmean                               # float64
        bm2 = np.einsum("ij,ij->j", D, D)
        if mean is None:
            n, mean, m2 = k, bmean, bm2
        else:                                       # Chan et al.: merge (n, mean, M2) pairs
            delta = bmean - mean
            tot = n + k
            mean = mean + delta * (k / tot)
            m2 = m2 + bm2 + delta * delta * (n * k / tot)
            n = tot
    if kind == "minmax":
        span = hi - lo
        scaler.shift, scaler.factor = lo, 1.0 / np.where(span > 0, span, 1.0)
    else:
        std = np.sqrt(m2 / n)
        scaler.shift, scaler.factor = mean, 1.0 / np.where(std > 0, std, 1.0)
    return scaler


# --- the loop's row source ----------------------------------------------------------------
class StreamRows:
    """Mini-batches for :func:`deepstep.training.run` from a :class:`Rows` source.

    The in-memory gatherer's interface (``m``, ``permutation(rng)``,
    ``batch(perm, start, stop)``): rows are read a block at a time, scaled and
    cast to the model's dtype, and kept while a batch needs them (a batch spans
    at most ``ceil(batch / block) + 1`` blocks).
    """

    def __init__(self, rows: Rows, Yr, scaler, dtype, batch_size, prefetch=True):
        self.rows, self.Yr, self.scaler = rows, Yr, scaler
        self.dtype = np.dtype(dtype)
        self.m = rows.m
        self.B = rows.block_rows
        self._keep = -(-int(batch_size) // self.B) + 1
        self._cache = {}                            # block index -> scaled rows (k, n_x)
        self._buf = {}
        self._next, self._perm = {}, False          # the block after each block, this epoch
        self._pending = {}                          # block index -> Future (read ahead)
        self._pool = None
        if prefetch and rows.n_blocks > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="deepstep-read-ahead")
        self.blocks_read = 0                        # for tests and the benchmark

    def close(self):
        if self._pool is not None:
            for fut in self._pending.values():
                fut.cancel()
            self._pool.shutdown(wait=True)
            self._pool, self._pending = None, {}

    def permutation(self, rng):
        """Blocks in a random order, the rows of each block in a random order."""
        B, m = self.B, self.m
        order = rng.permutation(self.rows.n_blocks)
        parts = []
        for b in order:
            start = int(b) * B
            parts.append(start + rng.permutation(min(B, m - start)))
        return np.concatenate(parts)

    def _load(self, b):
        """Block ``b``'s rows read, checked, in the model's dtype and scaled (runs on the read-ahead thread)."""
        start = b * self.B
        raw = self.rows.read(start, min(start + self.B, self.m))
        if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
            raise DataError(f"The source has NaN or infinite values in rows {start}-{start + raw.shape[0]}.")
        if raw.dtype == self.dtype and raw.flags.c_contiguous and raw.flags.owndata and raw.flags.writeable:
            blk = raw                               # a fresh array read from the file: use it as is
        else:
            blk = np.array(raw, dtype=self.dtype, order="C")
        return self.scaler.apply_(blk, axis=1)

    def _follow(self, perm):
        """Which block comes after which in this epoch's order (for reading ahead)."""
        if perm is self._perm:
            return
        self._perm = perm
        if perm is None:
            order = np.arange(self.rows.n_blocks)
        else:
            which = perm // self.B
            order = which[np.r_[0, np.flatnonzero(which[1:] != which[:-1]) + 1]]
        self._next = dict(zip(order[:-1].tolist(), order[1:].tolist()))

    def _block(self, b):
        blk = self._cache.get(b)
        if blk is None:
            fut = self._pending.pop(b, None)
            blk = fut.result() if fut is not None else self._load(b)
            if len(self._cache) >= self._keep:      # blocks are visited in order: drop the oldest
                del self._cache[next(iter(self._cache))]
            self._cache[b] = blk
            self.blocks_read += 1
            n = self._next.get(b)
            if self._pool is not None and n is not None and n not in self._cache and n not in self._pending:
                self._pending[n] = self._pool.submit(self._load, n)
        return blk

    def batch(self, perm, start, stop):
        if perm is None and start == 0 and stop == self.m and self.rows.n_blocks > 1:
            raise InvalidParameterError("batch_size='full' needs every example in memory; "
                                        "stream with mini-batches (e.g. batch_size=256).")
        k = stop - start
        buf = self._buf.get(k)
        if buf is None:
            buf = self._buf[k] = (np.empty((k, self.rows.n_features), self.dtype),
                                  np.empty((k, self.Yr.shape[1]), self.Yr.dtype))
        xb, yb = buf
        self._follow(perm)
        idx = np.arange(start, stop) if perm is None else perm[start:stop]
        which = idx // self.B
        cuts = np.flatnonzero(which[1:] != which[:-1]) + 1
        lo = 0
        for hi in [*cuts.tolist(), k]:
            b = int(which[lo])
            self._block(b).take(idx[lo:hi] - b * self.B, axis=0, out=xb[lo:hi], mode="clip")
            lo = hi
        self.Yr.take(idx, axis=0, out=yb, mode="clip")
        return xb.T, yb.T


# --- fit from a source ----------------------------------------------------------------
def fit(model, X, Y, validation_data=None, *, epochs=None, warm_start=False, callbacks=(), stop=None,
        block_rows=None):
    """``model.fit`` for an out-of-core ``X`` (see the module docstring); returns the History."""
    from . import training
    from .targets import TargetEncoder

    rows = Rows(X, block_rows)
    hp = model.hp
    if hp.validation_fraction > 0 and validation_data is None:
        raise InvalidParameterError(
            "validation_fraction needs the examples in memory; with an out-of-core source pass "
            "validation_data=(X_val, Y_val) instead (X_val of shape (n_x, m_val)).")
    if hp.batch_size in ("full", None) and rows.n_blocks > 1:
        raise InvalidParameterError("batch_size='full' needs every example in memory; "
                                    "stream with mini-batches (e.g. batch_size=256).")
    Y = np.asarray(Y[...] if not isinstance(Y, np.ndarray) and hasattr(Y, "shape") else Y)
    if Y.shape[-1] != rows.m:
        raise DataError(f"The source has {rows.m} examples (rows) but Y has {Y.shape[-1]}; they must match.")
    resume = warm_start and model.is_built
    if resume and model.layer_dims[0] != rows.n_features:
        raise DataError(f"The source has {rows.n_features} features but the model expects "
                        f"{model.layer_dims[0]}.")
    if not resume:
        model.build(rows.n_features, TargetEncoder.infer(Y, hp.output))
        model.scaler = fit_scaler(hp.preprocess, rows)
        if len(rows.row_shape) > 1:
            model.input_shape = tuple(rows.row_shape)
    bs = training.resolve_batch_size(hp.batch_size, rows.m)
    if bs > rows.m:
        raise InvalidParameterError(f"The 'batch_size' parameter ({bs}) is larger than the {rows.m} "
                                    f"training examples.")
    Yr = model.targets.encode_rows(Y, hp.dtype)
    val, epochs, state = model.prepare_run(validation_data, epochs, rows.m, resume)
    stream = StreamRows(rows, Yr, model.scaler, hp.dtype, bs)
    try:
        state = training.run(model.loop_parts(), stream, Yr, epochs, val, callbacks, state, stop)
    finally:
        stream.close()
    model.train_state = state if state.perm is not None else None
    return model.history
