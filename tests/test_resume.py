"""Interruption and resume: a stopped ``deepstep train`` continues bit for bit; files are never torn.

The subprocess tests interrupt a real ``deepstep train`` with SIGINT and SIGTERM and
compare the resumed model with an uninterrupted run of the same length. The
in-process tests raise the signal from inside the loop at a chosen mini-batch, to
cover the cases a stop must handle (mid-epoch, epoch boundary, unshuffled epochs,
full batches, early stopping). The torn-write test SIGKILLs a process that saves
models over and over and checks the file is always one complete model.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from click.testing import CliRunner

from deepstep import persistence
from deepstep.cli import main
from deepstep.cli import train as train_command
from deepstep.cli.progress import ProgressBar
from deepstep.cli.runtime import default_checkpoint_path

PYTHON = sys.executable
CLI = [PYTHON, "-c", "from deepstep.cli import main; main()"]
# Small model, many short epochs: a few seconds of training, interruptible anywhere.
RUN = ["--test-fraction", "0", "--layers", "16,8", "--batch-size", "16", "--keep-prob", "0.9", "--optimizer", "adam",
       "--learning-rate", "0.003"]


@pytest.fixture(scope="module")
def csv_data(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    p = tmp_path_factory.mktemp("resume") / "d.csv"
    p.write_text("a,b,c,d,y\n" + "".join(",".join(f"{v:.6f}" for v in r) + f",{t}\n" for r, t in zip(X, y)))
    return p


def assert_same_model(a_path, b_path):
    a, b = persistence.load(a_path), persistence.load(b_path)
    assert a._engine.theta.tobytes() == b._engine.theta.tobytes()        # bit for bit
    assert a.history == b.history and a._epochs_done == b._epochs_done
    for k, v in a._optimizer.get_state().items():
        np.testing.assert_array_equal(v, b._optimizer.get_state()[k])


# --- a real process, a real signal ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference(csv_data, tmp_path_factory):
    """Uninterrupted runs, one per argument list, memoized."""
    cache = {}

    def get(extra):
        key = tuple(extra)
        if key not in cache:
            out = tmp_path_factory.mktemp("ref") / "ref.npz"
            r = subprocess.run(CLI + ["train", "--data", str(csv_data), *RUN, *extra, "--out", str(out), "-q"],
                               capture_output=True, text=True, timeout=300, check=False)
            assert r.returncode == 0, r.stderr
            cache[key] = out
        return cache[key]
    return get


@pytest.mark.parametrize("sig,wait,extra", [
    (signal.SIGINT, 0.0, ["--epochs", "2500"]),
    (signal.SIGTERM, 0.5, ["--epochs", "2500", "--validation-fraction", "0.2"]),
])
def test_signal_then_resume_is_bit_identical(tmp_path, csv_data, reference, sig, wait, extra):
    out = tmp_path / "model.npz"
    proc = subprocess.Popen(CLI + ["train", "--data", str(csv_data), *RUN, *extra, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        for first in proc.stderr:               # the banner, then this line once the signal handlers are in place
            if first.startswith("deepstep: training on"):
                break
        time.sleep(wait)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    ckpt = default_checkpoint_path(out)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr   # after the banner
    assert f"checkpoint saved to {ckpt}" in stderr and f"deepstep train --resume {ckpt}" in stderr
    assert not out.exists()                      # interrupted: no model yet, only the checkpoint
    model, state = persistence.load_checkpoint(ckpt)
    assert state is not None and state.epoch < 2500 and model._epochs_done == state.epoch

    r = subprocess.run(CLI + ["train", "--resume", ckpt], capture_output=True, text=True, timeout=300,
                       check=False, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"resuming {ckpt} at epoch {state.epoch + 1} of 2500" in r.stderr
    assert_same_model(out, reference(extra))


# --- in process: the stop at a chosen mini-batch -----------------------------------------------------
def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def interrupt_at(monkeypatch, batch, sig=signal.SIGINT):
    """Make the progress bar raise ``sig`` in this process after mini-batch ``batch`` (0-based)."""
    count = iter(range(10 ** 9))

    class Bar(ProgressBar):
        def on_batch_end(self, state):
            if next(count) == batch:
                os.kill(os.getpid(), sig)

    monkeypatch.setattr(train_command, "ProgressBar", Bar)


@pytest.mark.parametrize("extra,batch,where", [
    ([], 5, "epoch 1, example 96"),                               # mid-epoch, shuffled
    ([], 12, "end of epoch 1"),                                    # last batch: 13 batches/epoch
    (["--no-shuffle"], 3, "end of epoch 1"),                       # unshuffled: waits for the epoch end
    (["--batch-size", "full"], 2, "end of epoch 3"),
    (["--early-stopping", "--validation-fraction", "0.25", "--patience", "2", "--epochs", "40"], 40,
     "epoch 5, example"),
    (["--early-stopping", "--validation-fraction", "0.25", "--patience", "50", "--epochs", "6"], 19,
     "end of epoch 2"),                                            # boundary: keeps current weights
    (["--optimizer", "momentum", "--lr-schedule", "step", "--decay-rate", "0.5"], 30, "epoch 3"),
])
def test_stop_and_resume_in_process(tmp_path, monkeypatch, csv_data, extra, batch, where):
    args = ["train", "--data", csv_data, *RUN, "--epochs", "5", *extra, "-q"]
    ref = tmp_path / "ref.npz"
    assert run(*args, "--out", ref).exit_code == 0

    interrupt_at(monkeypatch, batch)
    out, ckpt = tmp_path / "m.npz", tmp_path / "c.npz"
    r = run(*args, "--out", out, "--checkpoint", ckpt)
    assert r.exit_code == 130, r.output
    assert where in r.stderr and "Traceback" not in r.output
    assert not out.exists()
    monkeypatch.setattr(train_command, "ProgressBar", ProgressBar)
    r = run("train", "--resume", ckpt, "--out", out, "-q")     # outputs come from the command line
    assert r.exit_code == 0, r.output
    assert_same_model(out, ref)


def test_a_second_signal_quits_at_once_without_a_checkpoint(tmp_path, monkeypatch, csv_data):
    count = iter(range(10 ** 9))

    class Bar(ProgressBar):
        def on_batch_end(self, state):
            if next(count) == 2:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(train_command, "ProgressBar", Bar)
    r = run("train", "--data", csv_data, *RUN, "--epochs", "3", "--checkpoint", tmp_path / "c.npz")
    assert r.exit_code == 130 and "interrupted" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "c.npz").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # handlers restored


def test_interrupting_a_resumed_run_again(tmp_path, monkeypatch, csv_data):
    args = ["train", "--data", csv_data, *RUN, "--epochs", "4", "-q"]
    assert run(*args, "--out", tmp_path / "ref.npz").exit_code == 0
    interrupt_at(monkeypatch, 7, signal.SIGTERM)
    assert run(*args, "--out", tmp_path / "m.npz", "--checkpoint", tmp_path / "c.npz").exit_code == 143
    interrupt_at(monkeypatch, 20)
    r = run("train", "--resume", tmp_path / "c.npz", "-q")           # rewrites the same checkpoint
    assert r.exit_code == 130 and "epoch 3" in r.stderr, r.output
    monkeypatch.setattr(train_command, "ProgressBar", ProgressBar)
    assert run("train", "--resume", tmp_path / "c.npz", "--out", tmp_path / "m.npz", "-q").exit_code == 0
    assert_same_model(tmp_path / "m.npz", tmp_path / "ref.npz")


def test_resume_refuses_other_data_and_new_hyperparameters(tmp_path, monkeypatch, csv_data):
    interrupt_at(monkeypatch, 3)
    ckpt = tmp_path / "c.npz"
    assert run("train", "--data", csv_data, *RUN, "--epochs", "3", "--checkpoint", ckpt, "-q").exit_code == 130
    r = run("train", "--resume", ckpt, "--learning-rate", "0.1")
    assert r.exit_code == 2 and "drop --learning-rate" in r.stderr
    other = tmp_path / "other.csv"
    other.write_text(csv_data.read_text().replace("0.", "1.", 1))
    r = run("train", "--resume", ckpt, "--data", other)
    assert r.exit_code == 1 and "differs from the data the checkpoint" in r.stderr
    model = tmp_path / "plain.npz"
    monkeypatch.setattr(train_command, "ProgressBar", ProgressBar)
    assert run("train", "--data", csv_data, "--epochs", "1", "--out", model, "-q").exit_code == 0
    r = run("train", "--resume", model)
    assert r.exit_code == 1 and "not a checkpoint of an interrupted" in r.stderr
    r = run("train", "--resume", tmp_path / "missing.npz")
    assert r.exit_code == 1 and "Model file not found" in r.stderr


def test_default_checkpoint_path():
    assert default_checkpoint_path("runs/model.npz") == "runs/model.ckpt.npz"
    assert default_checkpoint_path("model") == "model.ckpt.npz"
    assert default_checkpoint_path(None) == "deepstep-checkpoint.npz"


# --- torn writes ---------------------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    from deepstep import persistence
    a, b = persistence.load(sys.argv[1]), persistence.load(sys.argv[2])
    persistence.save(a, sys.argv[3])
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        persistence.save(b if i % 2 else a, sys.argv[3])
""")


def test_sigkill_during_saves_never_leaves_a_torn_file(tmp_path):
    from deepstep import DeepNetwork

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((30, 400)), rng.integers(0, 2, 400)
    paths = []
    for seed in (1, 2):                         # two different models, ~100 kB each
        net = DeepNetwork(layers=(300,), epochs=1, seed=seed)
        net.fit(X, y)
        paths.append(tmp_path / f"m{seed}.npz")
        persistence.save(net, paths[-1])
    thetas = {persistence.load(p)._engine.theta.tobytes() for p in paths}
    target = tmp_path / "target.npz"
    delays = np.random.default_rng(7).uniform(0.0, 0.08, size=12)
    for delay in delays:
        proc = subprocess.Popen([PYTHON, "-c", WRITER, *map(str, paths), str(target)],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            proc.kill()
            proc.stdout.close()
        assert persistence.load(target)._engine.theta.tobytes() in thetas
    # Only whole files ever carry the target's name; a killed write leaves at most a hidden temp file.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in {"m1.npz", "m2.npz", "target.npz"}]
    assert all(n.startswith(".target.npz.") and n.endswith(".tmp") for n in leftovers), leftovers
