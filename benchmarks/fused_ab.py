"""In-process A/B of the compiled kernels (:mod:`deepstep.fused`) against the NumPy passes.

Usage: ``python benchmarks/fused_ab.py W1|W2|W3|W4 [rounds] [threads]``. Two models with the
same data and seed train side by side, one epoch (W3: one ``fit`` call of 10 iterations) at a
time, the order reversed every round, one with the kernels on and one with them off; the
script prints the median and best time per epoch and checks that both end with the same
weights, bit for bit. ``bench.py`` (the peers, the floor) is the benchmark to quote; this is
the quick check that the kernels pay and keep the numbers.
"""

import sys
import time

import numpy as np
from parallel_ab import WORKLOADS  # the same workloads as the data-parallel A/B
from threadpoolctl import threadpool_info, threadpool_limits

from deepstep import DeepNetwork, fused


def main():
    w = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if not fused.available():
        sys.exit(f"fused_ab: {fused.why_not()}")
    m, nx, layers, bs, k, opt, lr, ncls = WORKLOADS[w]
    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((m, nx)).astype(np.float32)
    y = rng.integers(0, ncls, m)
    nets, times = {}, {"fused": [], "numpy": []}
    with threadpool_limits(threads, "blas"):
        for name in times:
            fused.set_enabled(name == "fused")
            nets[name] = DeepNetwork(layers=layers, batch_size=bs, optimizer=opt, learning_rate=lr, momentum=0.9,
                                     preprocess="none", dtype="float32", init="he", seed=0)
            nets[name].fit(Xr.T, y, epochs=k)          # warm-up (and the kernels' compilation)
        for r in range(rounds):
            for name in (list(times) if r % 2 == 0 else list(times)[::-1]):
                fused.set_enabled(name == "fused")
                t = time.perf_counter()
                nets[name].fit(Xr.T, y, epochs=k, warm_start=True)
                times[name].append((time.perf_counter() - t) / k)
    blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()
            if i.get("user_api") == "blas"]
    unit, scale = ("ms/iteration", 1e3) if w == "W3" else ("ms/epoch", 1e3)
    print(f"{w}, {threads} BLAS thread(s), {rounds} rounds, BLAS {blas}")
    for name, ts in times.items():
        print(f"  {name:6s} median {scale * np.median(ts):9.2f} {unit} (best {scale * min(ts):.2f}; all: "
              + " ".join(f"{scale * x:.1f}" for x in ts) + ")")
    print(f"  numpy / fused: {np.median(times['numpy']) / np.median(times['fused']):.3f}x")
    same = np.array_equal(nets["fused"].engine.theta, nets["numpy"].engine.theta)
    print(f"  weights equal bit for bit: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
