"""In-process A/B of the data-parallel step (benchmarks/README.md, round 3).

Usage: ``python benchmarks/parallel_ab.py W1|W3|W4 [rounds]``. ``AB=par2,ser2,ser1`` (the
default) picks the variants: ``par2`` the data-parallel step at 2 BLAS threads, ``par2main``
the same with the calling thread gathering the batch, ``ser2`` the serial step at 2 BLAS
threads (round 2's path), ``ser1`` the serial step at 1 thread. The variants run interleaved
epoch by epoch, the order reversed every round, on the same data and seed; the script prints
wall and CPU time per epoch (W3: per iteration, in ``fit`` calls of 10) and the CPU time of
the calling thread (the rest is the worker threads').
"""

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from deepstep import DeepNetwork, parallel, training

WORKLOADS = {  # m, n_x, layers, batch, iterations per call, optimizer, learning rate, classes
    "W1": (60000, 784, (256, 128), 256, 1, "momentum", 0.5, 10),
    "W2": (20000, 64, (32, 16), 32, 1, "momentum", 0.5, 10),
    "W3": (209, 12288, (20, 7, 5), "full", 10, "gd", 0.0075, 2),
    "W4": (5000, 3072, (1024, 1024), 128, 1, "adam", 0.001, 10),
}


def main():
    w = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    m, nx, layers, bs, k, opt, lr, ncls = WORKLOADS[w]
    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((m, nx)).astype(np.float32)
    y = rng.integers(0, ncls, m)

    def make():
        net = DeepNetwork(layers=layers, batch_size=bs, optimizer=opt, learning_rate=lr, momentum=0.9,
                          preprocess="none", dtype="float32", init="he", seed=0)
        net.fit(Xr.T, y, epochs=1)
        return net

    names = os.environ.get("AB", "par2,ser2,ser1").split(",")
    nets = {n: make() for n in names}
    wall, cpu, main_cpu = ({n: [] for n in nets} for _ in range(3))
    parallel.set_enabled(True)      # opt-in; the ser* variants turn it off through MIN_FLOPS
    default, shares = parallel.MIN_FLOPS, training._Rows.batch_shares
    for r in range(rounds):
        for n in (list(nets) if r % 2 == 0 else list(nets)[::-1]):
            parallel.MIN_FLOPS = default if n.startswith("par2") else float("inf")
            if n == "par2main":
                if hasattr(training._Rows, "batch_shares"):
                    del training._Rows.batch_shares
            else:
                training._Rows.batch_shares = shares
            with threadpool_limits(1 if n == "ser1" else 2, "blas"):
                c, tc, t = time.process_time(), time.thread_time(), time.perf_counter()
                nets[n].fit(Xr.T, y, epochs=k, warm_start=True)
                wall[n].append((time.perf_counter() - t) / k)
                cpu[n].append((time.process_time() - c) / k)
                main_cpu[n].append((time.thread_time() - tc) / k)
    for n in nets:
        print(f"{w} {n}: wall median {1e3 * np.median(wall[n]):.2f} ms (min {1e3 * min(wall[n]):.2f}) | "
              f"CPU median {1e3 * np.median(cpu[n]):.2f} ms | calling thread {1e3 * np.median(main_cpu[n]):.2f} ms, "
              f"others {1e3 * np.median(np.subtract(cpu[n], main_cpu[n])):.2f} ms")


if __name__ == "__main__":
    main()
