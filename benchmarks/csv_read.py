"""Reading a 27 MB CSV: deepstep's readers beside np.loadtxt and pandas (time and peak memory).

    python benchmarks/csv_read.py [--rows 100000] [--repeat 3]

Writes a numeric CSV (100,000 rows x 24 features + a label: 27.8 MB), then
reads it in a fresh process per reader, reporting the best wall time of
``--repeat`` runs and the largest rise of the process's peak resident memory
(Linux's VmHWM, reset before each read) over its size before the read. Not
part of the test suite; Linux only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

READERS = {
    "np.loadtxt": "import numpy as np\n"
                  "def read(p): return np.loadtxt(p, delimiter=',', skiprows=1)",
    "pandas.read_csv": "import pandas as pd\n"
                       "def read(p): return pd.read_csv(p)",
    "deepstep.data.load_csv (csv module, rows of strings)": "from deepstep import data\n"
                                                            "def read(p): return data.load_csv(p)",
    "deepstep tabular.read_csv, no pandas (numbers only: np.loadtxt)":
        "from deepstep import tabular\ndef read(p): return tabular._read_numeric(p, None, 'auto')",
    "deepstep tabular.read_csv, no pandas (text or missing cells: streaming)":
        "from deepstep import tabular\ndef read(p): return tabular._read_streaming(p, None, 'auto')",
    "deepstep tabular.read_csv, pandas installed": "from deepstep import tabular\n"
                                                   "def read(p): return tabular.read_csv(p)",
}

CHILD = r"""
import sys, time
sys.path.insert(0, {src!r})
{setup}
def status(key):
    with open('/proc/self/status') as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith(key + ':'))
best, peak = float('inf'), 0
for _ in range({repeat}):
    with open('/proc/self/clear_refs', 'w') as fh:
        fh.write('5')                      # reset the peak resident size (VmHWM) to the current one
    base = status('VmRSS')
    t = time.perf_counter(); out = read({path!r}); best = min(best, time.perf_counter() - t); del out
    peak = max(peak, status('VmHWM') - base)
print(best, peak / 1024)
"""


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import numpy as np

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.csv")
        rng = np.random.default_rng(0)
        X = rng.standard_normal((args.rows, 24))
        with open(path, "w") as fh:
            fh.write(",".join(f"f{i}" for i in range(24)) + ",label\n")
            np.savetxt(fh, np.column_stack([X, X[:, 0] > 0]), fmt=["%.8f"] * 24 + ["%d"], delimiter=",")
        size = os.path.getsize(path) / 1e6
        print(f"{size:.1f} MB, {args.rows} rows x 25 columns; best of {args.repeat}\n")
        print("| reader | time (s) | peak memory over baseline (MB) |\n|---|---|---|")
        for name, setup in READERS.items():
            code = CHILD.format(src=os.path.join(ROOT, "src"), setup=setup, repeat=args.repeat, path=path)
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
            if r.returncode:
                print(f"| {name} | failed: {r.stderr.strip().splitlines()[-1]} | |")
                continue
            t, mem = map(float, r.stdout.split())
            print(f"| {name} | {t:.2f} | {mem:.0f} |", flush=True)


if __name__ == "__main__":
    main()
