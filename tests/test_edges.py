"""deepstep at the edges of the file system: nothing lost, nothing overwritten, nothing hostile runs.

Each test names the defect it guards. Signals go to real ``deepstep train``
subprocesses; the moment after the last epoch is hit exactly with
``DEEPSTEP_TEST_SIGNAL=SIG@point`` (the real handlers run; only the moment is chosen).
"""

import io
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep import DeepNetwork, data, persistence
from deepstep.cli import main
from deepstep.cli import train as train_command
from deepstep.cli.progress import ProgressBar
from deepstep.cli.runtime import printable, resumed_output_paths
from deepstep.errors import DataError, InvalidParameterError, ModelFileError, TrainingDiverged
from deepstep.modelfile.format import checksum, decode_metadata, encode_metadata

CLI = [sys.executable, "-c", "from deepstep.cli import main; main()"]
SMALL = ["--layers", "4", "--epochs", "3", "--batch-size", "16", "-q"]


@pytest.fixture(scope="module")
def csv_data(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    p = tmp_path_factory.mktemp("edges") / "d.csv"
    p.write_text("a,b,c,y\n" + "".join(",".join(f"{v:.5f}" for v in r) + f",{t}\n" for r, t in zip(X, y)))
    return p


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def one_error_line(r, code):
    assert r.exit_code == code, r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception
    lines = r.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("deepstep: error:") and "Traceback" not in r.output, r.output
    return lines[-1]


def interrupt_at(monkeypatch, batch, sig=signal.SIGINT):
    count = iter(range(10 ** 9))

    class Bar(ProgressBar):
        def on_batch_end(self, state):
            if next(count) == batch:
                os.kill(os.getpid(), sig)

    monkeypatch.setattr(train_command, "ProgressBar", Bar)


def resign(path, edit):
    """Apply ``edit(meta, arrays)`` to a model file and write it back with a valid checksum."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(decode_metadata(arrays.pop("metadata")))
    edit(meta, arrays)
    meta["arrays"] = {k: [str(v.dtype), list(v.shape)] for k, v in arrays.items()}
    meta["checksum"] = checksum(meta, arrays)
    buf = io.BytesIO()
    np.savez(buf, metadata=encode_metadata(json.dumps(meta)), **arrays)
    path.write_bytes(buf.getvalue())


# --- 1. signals after the last epoch end in a saved model or checkpoint ------------------------------
@pytest.mark.parametrize("spec,with_out,code", [
    ("SIGTERM@after_fit", True, 143),          # bug: SIGTERM after the last epoch killed with no message
    ("SIGINT@after_evaluate", True, 130),
    ("SIGINT@before_save", True, 130),         # bug: Ctrl-C during the save lost the run
    ("SIGTERM@after_save", True, 143),         # the plot is next: the model is already saved
    ("SIGTERM@after_fit", False, 143),         # no --out: a checkpoint of the finished run
])
def test_a_signal_after_the_last_epoch_keeps_the_run(tmp_path, csv_data, spec, with_out, code):
    out = tmp_path / "m.npz"
    args = ["train", "--data", str(csv_data), *SMALL, "--plot", str(tmp_path / "c.png")]
    if with_out:
        args += ["--out", str(out)]
    env = dict(os.environ, DEEPSTEP_TEST_SIGNAL=spec)
    r = subprocess.run(CLI + args, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    if with_out:
        assert "model saved to" in r.stderr and persistence.load(out).epochs_done == 3
    else:
        ckpt = tmp_path / "deepstep-checkpoint.npz"
        assert "checkpoint saved to" in r.stderr and "--resume" in r.stderr
        again = subprocess.run(CLI + ["train", "--resume", str(ckpt), "--out", str(out), "-q"],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert again.returncode == 0, again.stderr          # a finished run resumes to its outputs
        assert persistence.load(out).epochs_done == 3


# --- 1. no output path from a file's contents -----------------------------------------------------------
def test_resume_never_writes_to_the_path_stored_in_the_checkpoint(tmp_path, monkeypatch, csv_data):
    # bug: --resume wrote the model to run.out, so a shared checkpoint could overwrite any file
    victim = tmp_path / "thesis.txt"
    victim.write_text("years of work")
    ckpt = tmp_path / "shared.npz"
    interrupt_at(monkeypatch, 2)
    r = run("train", "--data", csv_data, *SMALL, "--out", tmp_path / "m.npz", "--checkpoint", ckpt)
    assert r.exit_code == 130, r.output
    resign(ckpt, lambda meta, arrays: meta["run"].update(out=str(victim), plot=str(victim)))
    monkeypatch.setattr(train_command, "ProgressBar", ProgressBar)
    r = run("train", "--resume", ckpt, "-q")
    assert r.exit_code == 0, r.output
    assert victim.read_text() == "years of work"
    derived = resumed_output_paths(ckpt)
    assert f"will be saved to {derived['--out']}" in r.stderr       # shown before training
    assert persistence.load(derived["--out"]).epochs_done == 3
    assert resumed_output_paths("runs/model.ckpt.npz") == {"--out": "runs/model.npz", "--plot": "runs/model.png"}


@pytest.mark.parametrize("field,value", [
    ("label_column", 3), ("data", ["a", "b"]), ("out", 5), ("fingerprint", None), ("dataset", "nope"),
])
def test_resume_with_odd_run_fields_is_one_line(tmp_path, monkeypatch, csv_data, field, value):
    # bug: run.label_column as an int, run.data as a list, run.out as a number crashed --resume
    ckpt = tmp_path / "c.npz"
    interrupt_at(monkeypatch, 2)
    assert run("train", "--data", csv_data, *SMALL, "--checkpoint", ckpt).exit_code == 130
    resign(ckpt, lambda meta, arrays: meta["run"].update({field: value}))
    monkeypatch.setattr(train_command, "ProgressBar", ProgressBar)
    r = run("train", "--resume", ckpt, "--out", tmp_path / "m.npz", "-q")
    if field == "label_column":           # an int index is a valid label column: it resumes
        assert r.exit_code == 0, r.output
    else:
        one_error_line(r, 1)


# --- 1. outputs never replace inputs, devices or FIFOs ---------------------------------------------------
def test_an_output_that_is_an_input_is_refused_by_resolved_path(tmp_path, csv_data, monkeypatch):
    # bug: train --data d.npz --out d.npz (and predict --out in.csv) replaced the user's data
    monkeypatch.chdir(tmp_path)
    npz = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(npz, X=rng.standard_normal((30, 3)), y=np.arange(30) % 2)
    before = npz.read_bytes()
    os.symlink(npz, tmp_path / "link.npz")
    for out in ("d.npz", "./d.npz", str(npz), "link.npz", "sub/../d.npz"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        for option in ("--out", "--plot", "--checkpoint"):
            line = one_error_line(run("train", "--data", "d.npz", *SMALL, option, out), 2)
            assert "same file" in line
    model = tmp_path / "m.npz"
    assert run("train", "--data", csv_data, *SMALL, "--out", model).exit_code == 0
    csv_before = csv_data.read_bytes()
    assert "same file" in one_error_line(run("predict", model, "--data", csv_data, "--out", csv_data), 2)
    assert "same file" in one_error_line(run("predict", model, "--data", csv_data, "--out", model), 2)
    assert "same file" in one_error_line(
        run("train", "--data", csv_data, *SMALL, "--out", model, "--plot", model), 2)
    os.link(csv_data, tmp_path / "hard.csv")                     # a hard link is the same file too
    assert "same file" in one_error_line(run("predict", model, "--data", csv_data, "--out", "hard.csv"), 2)
    out_dir = tmp_path / "res"
    out_dir.mkdir()
    (out_dir / "results.csv").write_bytes(csv_before)
    line = one_error_line(run("search", "--data", out_dir / "results.csv", "--out", out_dir, "-q"), 2)
    assert "same file" in line
    assert npz.read_bytes() == before and csv_data.read_bytes() == csv_before


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_outputs_onto_devices_and_fifos_are_refused_and_symlinks_written_through(tmp_path, csv_data):
    # bug: --out /dev/null replaced the device (as root: the system's); a FIFO was replaced;
    # --out through a symlink replaced the link and left its target stale
    line = one_error_line(run("train", "--data", csv_data, *SMALL, "--out", "/dev/null"), 2)
    assert "character device" in line and os.path.exists("/dev/null")
    assert not os.path.isfile("/dev/null")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "FIFO" in one_error_line(run("train", "--data", csv_data, *SMALL, "--plot", fifo), 2)
    target = tmp_path / "real.npz"
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    assert run("train", "--data", csv_data, *SMALL, "--out", link).exit_code == 0
    assert link.is_symlink() and persistence.load(target).epochs_done == 3
    with pytest.raises(Exception, match="not a regular file|character device"):
        persistence.save(persistence.load(target), "/dev/null")


def test_two_interrupted_runs_without_out_keep_both_checkpoints(tmp_path, monkeypatch, csv_data):
    # bug: both reported "checkpoint saved to deepstep-checkpoint.npz"; the first was lost
    monkeypatch.chdir(tmp_path)
    saved = []
    for batch in (1, 5):
        interrupt_at(monkeypatch, batch)
        r = run("train", "--data", csv_data, *SMALL)
        assert r.exit_code == 130, r.output
        saved.append(r.stderr.split("checkpoint saved to ")[1].split(";")[0])
    assert saved == ["deepstep-checkpoint.npz", "deepstep-checkpoint-2.npz"]
    positions = [(persistence.load_checkpoint(p)[1].epoch, persistence.load_checkpoint(p)[1].position)
                 for p in saved]
    assert positions[0] != positions[1]                    # two different runs, both kept


def test_a_failed_predictions_write_keeps_the_old_file(tmp_path, monkeypatch, csv_data):
    # bug: predict --out on a full disk replaced a 41-line file with a torn one
    model, out = tmp_path / "m.npz", tmp_path / "p.csv"
    assert run("train", "--data", csv_data, *SMALL, "--out", model).exit_code == 0
    out.write_text("old predictions\n")
    import csv as csv_module

    from deepstep.cli import files

    real_writer = csv_module.writer

    class FullDisk:
        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def writerow(self, row):
            self.writerows([row])

        def writerows(self, rows):
            for row in rows:
                self.n += 1
                if self.n > 5:
                    raise OSError(28, "No space left on device")
                real_writer(self.fh).writerow(row)

    monkeypatch.setattr(files.csv, "writer", FullDisk)
    line = one_error_line(run("predict", model, "--data", csv_data, "--out", out), 1)
    assert "No space left" in line and str(out) in line
    assert out.read_text() == "old predictions\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temp file left


def test_plots_and_search_outputs_go_through_the_atomic_writer(tmp_path, monkeypatch):
    from deepstep import fs
    from deepstep.cli.output import plot_history
    from deepstep.search.report import write_csv

    written = []
    real = fs.atomic_open

    def spy(path, *a, **k):
        written.append(os.path.basename(os.fspath(path)))
        return real(path, *a, **k)

    monkeypatch.setattr(fs, "atomic_open", spy)
    plot_history({"epoch": [1, 2], "cost": [1.0, 0.5]}, tmp_path / "c.png")
    import deepstep.search.report as report

    monkeypatch.setattr(report, "atomic_open", spy)
    write_csv([{"a": 1}], tmp_path / "results.csv")
    assert written == ["c.png", "results.csv"]
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


# --- 1. what save writes always loads ------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(40, 6), (40, 3, 2), (40, 2, 2, 3), (40, 2, 2, 2, 3), (40, 1, 1, 1, 1, 2)])
@pytest.mark.parametrize("labels", ["int", "text", "float", "huge-int"])
def test_every_loadable_input_shape_saves_a_file_that_loads(tmp_path, shape, labels):
    # bug: an NPZ with X of shape (40, 2, 2, 2, 3) saved a model that load refused
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, shape).astype(np.uint8)
    y = {"int": np.arange(40) % 2, "text": np.array(["cat", "dog"] * 20),
         "float": np.arange(40) % 2 + 0.5, "huge-int": np.array([0, 2 ** 64 - 1] * 20, dtype=np.uint64)}[labels]
    p = tmp_path / "d.npz"
    np.savez(p, X=X, y=y, feature_names=np.array([f"f{i}" for i in range(int(np.prod(shape[1:])))]))
    ds = data.load_file(p)
    net = DeepNetwork(layers=(3,), epochs=1, preprocess=ds.preprocess, seed=0)
    net.fit(ds.X, ds.y)
    net.input_shape, net.feature_names = ds.image_shape, ds.feature_names
    persistence.save(net, tmp_path / "m.npz")
    back = persistence.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.predict(ds.X), net.predict(ds.X))
    assert (back.classes is None and net.classes is None) or list(back.classes) == list(net.classes)


def test_a_model_that_could_not_load_is_refused_at_save(tmp_path):
    rng = np.random.default_rng(0)
    net = DeepNetwork(layers=(3,), epochs=1)
    net.fit(rng.standard_normal((4, 20)), np.arange(20) % 2)
    net.input_shape = (1, 1, 2, 2)                      # four axes: load accepts two or three
    with pytest.raises(ModelFileError, match="could not be loaded back"):
        persistence.save(net, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# --- 1. divergence on the last step ---------------------------------------------------------------------
def test_divergence_on_the_last_step_is_caught_and_the_weights_restored():
    # bug: fit returned normally with NaN weights and history.stopped=None
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 40)), np.arange(40) % 2
    net = DeepNetwork(layers=(4,), epochs=1, learning_rate=1e300, optimizer="gd", batch_size="full")
    with pytest.raises(TrainingDiverged):
        net.fit(X, y)
    assert net.history.stopped == "diverged" and np.isfinite(net.engine.theta).all()
    # bug: after partial_fit raised TrainingDiverged the weights were still NaN
    net = DeepNetwork(layers=(4,), epochs=1, learning_rate=1e300, optimizer="gd", batch_size="full")
    for _ in range(2):
        with pytest.raises(TrainingDiverged):
            net.partial_fit(X, y)
        assert np.isfinite(net.engine.theta).all()


# --- 2. silent wrong values ---------------------------------------------------------------------------
def test_integer_labels_keep_their_exact_values(tmp_path):
    # bug: 0 and 10**30 became -9223372036854775808, 0; 9007199254740993 and ...992 merged
    p = tmp_path / "d.csv"
    p.write_text("a,y\n1,0\n2,1000000000000000000000000000000\n3,0\n")
    assert list(data.load_file(p).y) == ["0", "1000000000000000000000000000000", "0"]
    p.write_text("a,y\n1,9007199254740993\n2,9007199254740992\n3,9007199254740993\n")
    y = data.load_file(p).y
    assert y.dtype == np.int64 and list(y) == [9007199254740993, 9007199254740992, 9007199254740993]
    net = DeepNetwork(layers=(2,), epochs=1)
    net.fit(data.load_file(p).X, y)
    persistence.save(net, tmp_path / "m.npz")
    assert list(persistence.load(tmp_path / "m.npz").classes) == [9007199254740992, 9007199254740993]
    np.savez(tmp_path / "f.npz", X=np.ones((2, 2)), y=np.array([0.0, 1e30]))
    assert list(data.load_file(tmp_path / "f.npz").y) == [0.0, 1e30]          # floats stay floats


def test_an_empty_label_cell_is_refused_naming_the_line(tmp_path):
    # bug: an empty label cell became a class ("classes , 0, 1")
    p = tmp_path / "d.csv"
    p.write_text("a,y\n1,0\n2,\n3,1\n")
    with pytest.raises(DataError, match=r"1 example has no label \('y'\) \(line 3\).*unlabeled='drop'"):
        data.load_file(p)


@pytest.mark.parametrize("fmt", ["npz", "mat"])
def test_complex_and_text_x_in_files_are_refused(tmp_path, fmt):
    # bug: complex X in an NPZ or MAT file was silently cast to real
    import scipy.io

    p = tmp_path / f"d.{fmt}"
    for X, match in ((np.ones((4, 2)) + 1j, "complex"), (np.array([["a", "b"]] * 4), "text")):
        if fmt == "npz":
            np.savez(p, X=X, y=np.arange(4))
        else:
            scipy.io.savemat(p, {"X": X, "y": np.arange(4).reshape(-1, 1)})
        with pytest.raises(DataError, match=match):
            data.load_file(p)


# --- 3. hostile data and image files --------------------------------------------------------------------
def test_hostile_npz_files_are_one_line_errors(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.ones((4, 2)).astype("timedelta64[s]"), y=np.arange(4))
    with pytest.raises(DataError, match="timedelta64"):
        data.load_file(p)
    np.savez(p, X=np.ones((0, 3)), y=np.arange(0))
    with pytest.raises(DataError, match="no examples"):
        data.load_file(p)
    # an entry whose header declares far more than it holds is refused before allocating
    buf = io.BytesIO()
    np.savez(buf, X=np.ones((4, 2)), y=np.arange(4))
    raw = buf.getvalue().replace(b"'shape': (4, 2)", b"'shape': (4000000000, 2)")
    p.write_bytes(raw)
    with pytest.raises(DataError):
        data.load_file(p)


def test_hostile_hdf5_files_are_one_line_errors(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "d.h5"
    with h5py.File(p, "w") as f:
        f.create_group("X")
        f["y"] = np.arange(3)
    with pytest.raises(DataError, match="group"):
        data.load_file(p)
    with h5py.File(p, "w") as f:
        f["X"] = h5py.SoftLink("/nowhere")
    with pytest.raises(DataError, match="dangling"):
        data.load_file(p)
    # bug: an 8 MB file declaring 745 GiB tried to allocate it
    with h5py.File(p, "w") as f:
        f.create_dataset("train_set_x", shape=(10 ** 7, 64, 64, 3), dtype="f8", chunks=(1, 64, 64, 3))
    assert p.stat().st_size < 1 << 20
    with pytest.raises(DataError, match="needs about .* of memory"):
        data.load_file(p)


def test_a_mat_file_declaring_more_than_memory_is_one_line(tmp_path, monkeypatch):
    # bug: a MAT file was read whole by scipy.io.loadmat with no size check (HDF5 and NPZ had one)
    scipy_io = pytest.importorskip("scipy.io")
    from deepstep import memory

    p = tmp_path / "d.mat"
    scipy_io.savemat(p, {"X": np.zeros((100, 10)), "y": np.arange(100) % 2})
    monkeypatch.setattr(memory, "available_memory", lambda: 4000)
    with pytest.raises(DataError, match=r"variable 'X' of shape \(100, 10\) needs about .* of memory"):
        data.load_file(p)
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    assert data.load_file(p).X.shape == (10, 100)


def test_a_csv_field_over_the_csv_limit_is_one_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,y\n" + "1" * 200_000 + ",0\n")
    with pytest.raises(DataError, match="line"):
        data.load_file(p)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_data_paths_that_are_not_regular_files_are_refused(tmp_path):
    link = tmp_path / "d.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(DataError, match="character device"):
        data.load_file(link)
    fifo = tmp_path / "f.npz"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="FIFO"):
        data.load_file(fifo)


def test_predict_image_opens_raster_formats_only(tmp_path, monkeypatch):
    # bug: an EPS "image" reached Ghostscript; a decompression bomb and a truncated image gave tracebacks
    from PIL import Image

    from deepstep.cli.output import load_image

    eps = tmp_path / "photo.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    with pytest.raises(DataError, match="PNG, JPEG"):
        load_image(eps, (4, 4, 3))
    png = tmp_path / "ok.png"
    Image.new("RGB", (32, 32), "red").save(png)
    assert load_image(png, (4, 4, 3)).shape == (48, 1)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(png.read_bytes()[:60])
    with pytest.raises(DataError, match="cut.png"):
        load_image(truncated, (4, 4, 3))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(DataError, match="decompression bomb"):
        load_image(png, (4, 4, 3))


# --- 4. options checked before any work, clear messages ------------------------------------------------
@pytest.mark.parametrize("args,match", [
    (["--init-rng", "mt19937", "--seed", "4294967296"], "2\\*\\*32"),
    (["--layers", "100000000000"], "of memory"),
    (["--plot", "curve.jpeg2"], "image format"),
])
def test_impossible_options_are_usage_errors(tmp_path, csv_data, args, match, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run("train", "--data", csv_data, *SMALL, *args), 2)
    assert __import__("re").search(match, line), line


def test_inputs_too_large_for_the_dtype_say_so():
    # bug: 1e39 in float32 printed RuntimeWarnings and "try a smaller learning rate"
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 30)), np.arange(30) % 2
    for dtype, scale in (("float32", 1e39), ("float64", 1e300)):
        with pytest.raises(DataError, match=f"too large for {dtype}.*standardize"):
            DeepNetwork(dtype=dtype, preprocess="none", epochs=1).fit(X * scale, y)


def test_complex_labels_and_timedelta_x_are_refused_up_front():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 30)), np.arange(30) % 2
    with pytest.raises(DataError, match="complex"):
        DeepNetwork(epochs=1).fit(X, y + 1j)
    with pytest.raises(DataError, match="timedelta64"):
        DeepNetwork(epochs=1).fit(X.astype("timedelta64[s]"), y)


def test_info_escapes_control_characters_from_the_file(tmp_path):
    # bug: info printed terminal escape sequences from feature_names raw
    rng = np.random.default_rng(0)
    net = DeepNetwork(layers=(2,), epochs=1)
    net.fit(rng.standard_normal((2, 20)), np.array(["\x1b]0;pwned\x07", "b"] * 10))
    net.feature_names = ["\x1b[2J\x1b[31mred", "ok\u202e"]
    persistence.save(net, tmp_path / "m.npz")
    r = run("info", tmp_path / "m.npz")
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output and "\u202e" not in r.output
    assert "\\x1b[2J" in r.output and "\\u202e" in r.output
    assert printable("caf\u00e9 \u732b") == "caf\u00e9 \u732b"               # printable text is kept


@pytest.mark.parametrize("edit", ["ragged", "huge"])
def test_info_on_a_bad_history_is_refused_by_the_loader(tmp_path, edit):
    # bug: info crashed on a ragged history (IndexError) or a value of 10**400 (OverflowError)
    rng = np.random.default_rng(0)
    net = DeepNetwork(layers=(2,), epochs=3)
    net.fit(rng.standard_normal((2, 20)), np.arange(20) % 2)
    path = tmp_path / "m.npz"
    persistence.save(net, path)

    def change(meta, arrays):
        rec = meta["history"]["records"]
        if edit == "ragged":
            rec["cost"] = rec["cost"][:1]
        else:
            rec["cost"][0] = 10 ** 400

    resign(path, change)
    with pytest.raises(ModelFileError):
        persistence.load(path)
    one_error_line(run("info", path), 1)


def test_search_fixed_parameter_leaves_the_space(tmp_path):
    # bug: --set learning_rate=0.5 was overridden by the default space, yet recorded as fixed
    from deepstep.search import run_search

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 3)), np.arange(60) % 2
    res = run_search(X, y, n_candidates=2, cv=2, epochs=1, fixed={"learning_rate": 0.5, "layers": (4,)},
                     backend="sequential", progress=False)
    assert "learning_rate" not in res.best_params
    assert "learning_rate" not in res.rows[0]
    assert res.best_estimator.learning_rate == 0.5
    with pytest.raises(InvalidParameterError, match="both searched and held fixed"):
        run_search(X, y, space={"learning_rate": [0.1]}, fixed={"learning_rate": 0.5}, epochs=1, n_jobs=1)
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        run_search(X, y, epochs=1, n_jobs=0)
    with pytest.raises(InvalidParameterError, match="blas_threads"):
        run_search(X, y, epochs=1, blas_threads=0)
    with pytest.raises(InvalidParameterError, match="candidates"):
        run_search(X, y, method="grid", epochs=1,
                   space={"learning_rate": "log:1e-4:1:100000", "l2": "log:1e-4:1:100000"})
    with pytest.raises(DataError, match="every candidate|Every candidate"):
        run_search(X, y, n_candidates=2, cv=2, epochs=1, backend="sequential", progress=False,
                   fixed={"learning_rate": 1e300, "optimizer": "gd", "batch_size": "full"},
                   space={"l2": [0.0, 0.1]})
    with pytest.raises(DataError, match="numeric labels"):
        run_search(X, np.array(["a", "b"] * 30), task="regression", epochs=1, n_jobs=1)


@pytest.mark.parametrize("labels", [[9007199254740993, 9007199254740992], [0, 2 ** 64 - 1], [0, 10 ** 30]])
def test_integer_classes_survive_the_model_file_exactly(tmp_path, labels):
    # bug: classes [0, 2**64 - 1] came back from the file as float64 (1.8446744e19)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40))
    y = np.array(labels * 20, dtype=np.uint64 if labels[1] == 2 ** 64 - 1 else None)
    net = DeepNetwork(layers=(2,), epochs=1)
    net.fit(X, y)
    persistence.save(net, tmp_path / "m.npz")
    back = persistence.load(tmp_path / "m.npz")
    assert [int(c) for c in back.classes] == sorted(labels)
    assert [int(v) for v in back.predict(X)[0]] == [int(v) for v in net.predict(X)[0]]


def test_resuming_a_finished_checkpoint_with_an_empty_history(tmp_path, monkeypatch, csv_data):
    # bug: --resume on a finished state with an empty history crashed (IndexError)
    ckpt = tmp_path / "c.npz"
    interrupt_at(monkeypatch, 2)
    assert run("train", "--data", csv_data, *SMALL, "--checkpoint", ckpt).exit_code == 130

    def finish(meta, arrays):
        meta["train_state"].update(epoch=3, position=0)
        meta["epochs_done"] = 3
        meta["history"]["records"] = {}
        arrays.pop("ts_perm", None)

    resign(ckpt, finish)
    monkeypatch.setattr(train_command, "ProgressBar", ProgressBar)
    r = run("train", "--resume", ckpt, "--out", tmp_path / "m.npz")
    assert r.exit_code == 0, r.output
    assert "no epochs left" in r.output and (tmp_path / "m.npz").exists()


def test_search_option_checks_come_before_the_data(tmp_path):
    missing = tmp_path / "missing.csv"            # never read: the options fail first
    for args in (["--n-jobs", "0"], ["--blas-threads", "0"]):
        one_error_line(run("search", "--data", missing, *args, "--out", tmp_path / "o"), 2)
