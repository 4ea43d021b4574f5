#!/usr/bin/env python
"""Out-of-core training and scaling: deepstep alone, each time against its FLOP floor.

Not part of the test suite. Run from the repository root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/scaling.py --threads 1 \\
        --stream-gb 4 --out benchmarks/results/scaling-t1

Three parts, each in its own worker process (so peak memory, VmHWM, is its own):

* **stream**: a W1-shaped HDF5 file (784 float32 features, 10 classes, labels
  from a random teacher as in bench.py) of ``--stream-gb`` GB is written (in
  blocks, to a temporary name, then renamed), and one epoch of
  ``DeepNetwork.fit(h5["X"], y, epochs=1)`` with ``preprocess="standardize"``
  (so the scaler's streaming pass is in) is timed, with the peak resident
  memory. The throughput is compared with in-memory training on a 60000-row
  file (``--fits-rows``), both from memory and streamed from HDF5, interleaved
  (``--parts fits`` runs that comparison alone).
* **m**: time per epoch of 784-256-128-10 (W1's network, batch 256, momentum)
  for m from 10^4 to 10^6 (in memory), with the floor of the same products.
* **width**: 784-w-w-10 for w from 64 to 2048, m = 10000, batch 256.

The floor is bench.py's needed FLOP floor: the matrix products one epoch needs,
each called the fastest of the 8 ways, run in the same worker between the
timed epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402


def write_h5(path, m, n=784, seed=0, block=65536):
    """W1-like rows (m, n) float32 and labels, written block by block, atomically."""
    import h5py

    rng = np.random.default_rng([seed, 99])
    r, h, k = 32, 64, 10
    B = rng.standard_normal((r, n), dtype=np.float32) / np.float32(np.sqrt(r))
    T1 = rng.standard_normal((r, h), dtype=np.float32) / np.float32(np.sqrt(r))
    T2 = rng.standard_normal((h, k), dtype=np.float32)
    Zc = rng.standard_normal((4096, r), dtype=np.float32)
    Lc = np.maximum(Zc @ T1, 0) @ T2
    mu, sd = Lc.mean(0), Lc.std(0)
    tmp = Path(str(path) + ".part")
    with h5py.File(tmp, "w") as f:
        X = f.create_dataset("X", (m, n), np.float32, chunks=(min(m, 1024), n))
        y = f.create_dataset("y", (m,), np.int64)
        for s in range(0, m, block):
            e = min(s + block, m)
            Z = rng.standard_normal((e - s, r), dtype=np.float32)
            rows = rng.standard_normal((e - s, n), dtype=np.float32)
            rows *= np.float32(0.5)
            rows += Z @ B
            rows += np.float32(3.0)               # an offset for the scaler to find
            X[s:e] = rows
            y[s:e] = ((np.maximum(Z @ T1, 0) @ T2 - mu) / sd).argmax(1)
    os.replace(tmp, path)


def _net(width=(256, 128), preprocess="none"):
    import deepstep

    return deepstep.DeepNetwork(layers=width, activation="relu", optimizer="momentum", momentum=0.9,
                                learning_rate=0.5, batch_size=256, preprocess=preprocess,
                                dtype="float32", init="he", seed=0, epochs=1)


def _floor_fn(dims, m, b=256):
    rng = np.random.default_rng(2)
    sizes = [b] * (m // b) + ([m % b] if m % b else [])
    plans = {k: [fn for *_, fn in bench.plan_step(dims, k, rng, 0.005, 3)] for k in set(sizes)}

    def run():
        t = time.perf_counter()
        for k in sizes:
            for fn in plans[k]:
                fn()
        return time.perf_counter() - t
    return run


def _interleaved(fns, rounds):
    """Medians of each function's wall time (what it returns) and of its CPU time (``KEY_cpu``).

    At one thread the process's CPU time leaves out the time the process waited for a
    core, so on a shared machine it is the steadier of the two for in-memory training
    (the streamed epochs' CPU time adds the read-ahead thread's, so read their wall time).
    """
    out = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for r in range(rounds):
        keys = list(fns)
        keys = keys[r % len(keys):] + keys[:r % len(keys)]
        for k in keys:
            c = time.process_time()
            out[k].append(fns[k]())
            cpu[k].append(time.process_time() - c)
    res = {k: float(np.median(v)) for k, v in out.items()}
    res.update({f"{k}_cpu": float(np.median(v)) for k, v in cpu.items()})
    return res


def part_m(args):
    res = []
    for m in args.m_values:
        rng = np.random.default_rng(m)
        X = rng.standard_normal((m, 784), dtype=np.float32)
        y = rng.integers(0, 10, m)
        net = _net()
        net.fit(X.T, y, epochs=1)                   # build + warm-up

        def epoch(net=net, X=X, y=y):
            t = time.perf_counter()
            net.fit(X.T, y, epochs=1, warm_start=True)
            return time.perf_counter() - t
        t = _interleaved({"deepstep": epoch, "floor": _floor_fn([784, 256, 128, 10], m)}, args.rounds)
        res.append({"m": m, **t, "ratio": t["deepstep"] / t["floor"],
                    "ratio_cpu": t["deepstep_cpu"] / t["floor_cpu"]})
        print(f"  m={m:8d}  {t['deepstep']:.3f} s/epoch  floor {t['floor']:.3f}  x{res[-1]['ratio']:.2f}"
              f"  (CPU {t['deepstep_cpu']:.3f} / {t['floor_cpu']:.3f}  x{res[-1]['ratio_cpu']:.2f})", flush=True)
        del X, net
    return res


def part_width(args):
    res = []
    m = 10000
    rng = np.random.default_rng(5)
    X = rng.standard_normal((m, 784), dtype=np.float32)
    y = rng.integers(0, 10, m)
    for w in args.widths:
        net = _net((w, w))
        net.fit(X.T, y, epochs=1)

        def epoch(net=net, X=X, y=y):
            t = time.perf_counter()
            net.fit(X.T, y, epochs=1, warm_start=True)
            return time.perf_counter() - t
        t = _interleaved({"deepstep": epoch, "floor": _floor_fn([784, w, w, 10], m)}, args.rounds)
        res.append({"width": w, **t, "ratio": t["deepstep"] / t["floor"],
                    "ratio_cpu": t["deepstep_cpu"] / t["floor_cpu"]})
        print(f"  width={w:5d}  {t['deepstep']:.3f} s/epoch  floor {t['floor']:.3f}  x{res[-1]['ratio']:.2f}"
              f"  (CPU {t['deepstep_cpu']:.3f} / {t['floor_cpu']:.3f}  x{res[-1]['ratio_cpu']:.2f})", flush=True)
    return res


def part_stream(args, folder):
    """Worker: one streamed epoch over the big file; peak memory."""
    import h5py

    path = folder / "big.h5"
    with h5py.File(path, "r") as f:
        m = f["X"].shape[0]
        y = f["y"][()]
        net = _net(preprocess="standardize")
        t = time.perf_counter()
        net.fit(f["X"], y, epochs=1)                 # the scaler's pass, then one epoch
        first = time.perf_counter() - t
        t, c, io = time.perf_counter(), time.process_time(), _read_bytes()
        net.fit(f["X"], y, epochs=1, warm_start=True)
        epoch = time.perf_counter() - t
        epoch_cpu, epoch_disk = time.process_time() - c, _read_bytes() - io
    return {"m": m, "gb": m * 784 * 4 / 1e9, "first_fit_s": first, "epoch_s": epoch,
            "rows_per_s": m / epoch, "peak_mb": bench.rss_mb(), "cost": net.history["cost"],
            "epoch_cpu_s": epoch_cpu, "epoch_disk_gb": epoch_disk / 1e9}


def _read_bytes():
    """Bytes this process has had read from storage (``/proc/self/io``: page-cache hits excluded)."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def part_fits(args, folder):
    """Worker: 60000 rows in memory vs streamed from HDF5, interleaved epochs."""
    import h5py

    with h5py.File(folder / "small.h5", "r") as f:
        X = f["X"][()]
        y = f["y"][()]
        a, b = _net(), _net()
        a.fit(X.T, y, epochs=1)
        b.fit(f["X"], y, epochs=1)

        def mem():
            t = time.perf_counter()
            a.fit(X.T, y, epochs=1, warm_start=True)
            return time.perf_counter() - t

        def stream():
            t = time.perf_counter()
            b.fit(f["X"], y, epochs=1, warm_start=True)
            return time.perf_counter() - t
        t = _interleaved({"memory": mem, "stream": stream}, args.rounds)
    return {"m": X.shape[0], **t, "stream_over_memory_throughput": t["memory"] / t["stream"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--parts", default="stream,m,width")
    ap.add_argument("--stream-gb", type=float, default=4.0)
    ap.add_argument("--fits-rows", type=int, default=60000,
                    help="rows of the file trained from memory and streamed, interleaved (parts stream, fits)")
    ap.add_argument("--m-values", default="10000,30000,100000,300000,1000000")
    ap.add_argument("--widths", default="64,128,256,512,1024,2048")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--folder", default=None, help="where the HDF5 files go (default: a temporary folder)")
    ap.add_argument("--out", default=str(HERE / "results" / "scaling"))
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.m_values = [int(v) for v in args.m_values.split(",")]
    args.widths = [int(v) for v in args.widths.split(",")]
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    if args.worker:
        part, folder = args.worker
        fn = {"stream": part_stream, "fits": part_fits, "m": lambda a, f: part_m(a),
              "width": lambda a, f: part_width(a)}[part]
        print("RESULT " + json.dumps(fn(args, Path(folder))), flush=True)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": bench.machine_info(), "threads": args.threads, "loadavg_start": os.getloadavg(),
            "command": " ".join(["python", os.path.relpath(sys.argv[0]), *sys.argv[1:]])}
    results = {"meta": meta}
    passthrough = [a for a in sys.argv[1:]]

    def worker(part, folder):
        p = subprocess.run([sys.executable, __file__, *passthrough, "--worker", part, str(folder)],
                           capture_output=True, text=True)
        sys.stderr.write(p.stderr[-2000:])
        for line in p.stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[7:])
            print(line, flush=True)
        raise RuntimeError(f"worker {part} failed: {p.stderr[-2000:]}")

    def save():                                      # after every part, atomically
        tmpf = out / "results.json.part"
        tmpf.write_text(json.dumps(results, indent=1))
        os.replace(tmpf, out / "results.json")

    with tempfile.TemporaryDirectory(prefix="deepstep-scaling-", dir=args.folder) as tmp:
        tmp = Path(tmp)
        parts = args.parts.split(",")
        if "stream" in parts:
            m = int(args.stream_gb * 1e9 / (784 * 4))
            t = time.perf_counter()
            write_h5(tmp / "big.h5", m)
            write_h5(tmp / "small.h5", args.fits_rows, seed=1)
            results["write_s"] = time.perf_counter() - t
            print(f"wrote {m} rows ({m * 784 * 4 / 1e9:.2f} GB) in {results['write_s']:.0f} s", flush=True)
            results["stream"] = worker("stream", tmp)
            print("stream:", results["stream"], flush=True)
            (tmp / "big.h5").unlink()
            results["fits"] = worker("fits", tmp)
            print("memory vs stream:", results["fits"], flush=True)
            save()
        if "fits" in parts and "stream" not in parts:     # the interleaved comparison alone
            write_h5(tmp / "small.h5", args.fits_rows, seed=1)
            results["fits"] = worker("fits", tmp)
            print("memory vs stream:", results["fits"], flush=True)
            save()
        if "m" in parts:
            results["m"] = worker("m", tmp)
            save()
        if "width" in parts:
            results["width"] = worker("width", tmp)
    meta["loadavg_end"] = os.getloadavg()
    meta["blas"] = bench.blas_info()
    save()
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
