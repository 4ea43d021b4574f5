"""The CSV reader's protections on every one of its paths: the csv module (small files), pandas'
C reader and ``np.loadtxt`` (large files), the streaming reader (large files with text or missing
cells, without pandas).

Each path refuses a FIFO and a link to a device or FIFO, refuses a field over the csv module's
limit naming its line, and reads integer labels exactly (2**53 + 1 stays itself).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepstep import data, tabular
from deepstep.errors import DataError

READERS = ["csv", "pandas", "loadtxt", "streaming"]
BIG = 2 ** 53 + 1                       # float64 rounds it to 2**53


@pytest.fixture(params=READERS)
def reader(request):
    if request.param == "pandas":
        pytest.importorskip("pandas")
    return request.param


def read(path, reader):
    return tabular.read_csv(str(path), reader=reader)


@pytest.mark.skipif(not os.path.exists("/dev/zero") or not hasattr(os, "mkfifo"), reason="needs /dev/zero, mkfifo")
def test_fifos_and_links_to_devices_are_refused(tmp_path, reader):
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="FIFO"):              # never opened for reading: no hang
        read(fifo, reader)
    dev = tmp_path / "zero.csv"
    dev.symlink_to("/dev/zero")
    with pytest.raises(DataError, match="character device"):
        read(dev, reader)
    to_fifo = tmp_path / "to_fifo.csv"
    to_fifo.symlink_to(fifo)
    with pytest.raises(DataError, match="FIFO"):
        read(to_fifo, reader)
    regular = tmp_path / "d.csv"
    regular.write_text("a,b,y\n1,2,0\n3,4,1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(regular)                                   # a link to a regular file is read through
    assert read(link, reader).names == ["a", "b", "y"]


def test_an_over_long_field_is_refused_naming_its_line(tmp_path, reader):
    # bug: pandas and np.loadtxt have no field limit; only the csv module refused such a field
    for cell in ("7" * 200_000, "x" * 200_000):                # a number and a word
        p = tmp_path / "long.csv"
        p.write_text(f"a,b,y\n1,2,0\n3,{cell},1\n5,6,0\n")
        with pytest.raises(DataError, match=r"line 3: a field is longer than 131,072 characters"):
            read(p, reader)


def test_long_rows_of_short_fields_are_read(tmp_path, reader):
    """A line over the field limit is not itself an error: 20,000 columns of short numbers."""
    width = 20_000
    p = tmp_path / "wide.csv"
    rows = [",".join(f"f{j}" for j in range(width)) + ",y"]
    rows += [",".join(str((i + j) % 10) for j in range(width)) + f",{i % 2}" for i in range(3)]
    p.write_text("\n".join(rows) + "\n")
    t = read(p, reader)
    assert len(t.names) == width + 1 and t.n_rows == 3 and t.column("f19999").tolist() == [9.0, 0.0, 1.0]


def test_integer_labels_are_exact_on_every_path(tmp_path, reader):
    # bug: pandas' path parsed the label column through float64: 2**53 + 1 became 2**53
    p = tmp_path / "big.csv"
    p.write_text(f"a,b,y\n0.5,1,{BIG}\n1.5,2,{BIG - 1}\n2.5,3,{BIG}\n3.5,4,7\n")
    t = read(p, reader)
    y = tabular.labels_of(t.column("y"))
    assert y.dtype == np.int64 and y.tolist() == [BIG, BIG - 1, BIG, 7]
    assert np.unique(y).size == 3                               # two labels, not one
    beyond = tmp_path / "beyond.csv"                            # beyond int64: exact, as text
    beyond.write_text(f"a,y\n1,{10 ** 30}\n2,{10 ** 30 + 1}\n3,5\n")
    assert tabular.labels_of(read(beyond, reader).column("y")).tolist() == [str(10 ** 30), str(10 ** 30 + 1), "5"]


def test_integer_labels_with_a_missing_cell_stay_exact(tmp_path, reader):
    # float64 holds the missing cell as NaN but rounds the integers: read as text, then typed exactly
    p = tmp_path / "gap.csv"
    p.write_text(f"a,b,y\n0.5,1,{BIG}\n1.5,2,\n2.5,3,{BIG - 1}\n3.5,4,{BIG}\n")
    col = read(p, reader).column("y")
    miss = tabular.missing_mask(col)
    assert miss.tolist() == [False, True, False, False]
    y = tabular.labels_of(col[~miss])
    assert y.dtype == np.int64 and y.tolist() == [BIG, BIG - 1, BIG]


def test_every_path_reads_the_same_table(tmp_path, reader):
    """Text, booleans, missing cells, floats that need every digit: typed as the csv module's reader does."""
    p = tmp_path / "mixed.csv"
    p.write_text("x,flag,color,z,y\n"
                 "0.1,True,red,123456789.12345679,1\n"
                 "1e-300,False,,NA,2\n"
                 "-2.5,True,blue,3,1\n"
                 "0.30000000000000004,False,red,4,2\n")
    want = read(p, "csv")
    got = read(p, reader)
    assert got.names == want.names
    for a, b in zip(got.columns, want.columns):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f" else list(a) == list(b)
    assert list(got.column("flag")) == ["True", "False", "True", "False"]      # text, not cast to 1/0
    assert got.column("x")[3] == 0.30000000000000004


def _deepstep(*args):
    exe = shutil.which("deepstep", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from deepstep.cli import main; main()"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_cli_refuses_an_over_long_field_and_keeps_big_labels(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("a,b,y\n1,2,0\n3," + "9" * 140_000 + ",1\n")
    r = _deepstep("train", "--data", p, "--epochs", 1)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("deepstep: error:") and "line 3" in r.stderr
    rows = "\n".join(f"{i % 3},{(i * 7) % 5},{BIG if i % 2 else BIG - 1}" for i in range(40))
    big = tmp_path / "big.csv"
    big.write_text("a,b,y\n" + rows + "\n")
    model = tmp_path / "m.npz"
    r = _deepstep("train", "--data", big, "--epochs", 2, "--layers", 4, "--task", "classification",
                  "--out", model)
    assert r.returncode == 0, r.stderr
    assert f"{BIG - 1}, {BIG}" in r.stderr                       # the banner's two classes
    r = _deepstep("predict", model, "--data", big)
    assert r.returncode == 0, r.stderr
    assert {line.split(",")[0] for line in r.stdout.splitlines()[1:]} <= {str(BIG), str(BIG - 1)}
    assert data.load_file(big).y.tolist()[:2] == [BIG - 1, BIG]
