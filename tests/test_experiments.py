"""Smoke versions of the published experiments (deepstep.experiments) and the command.

Fewer iterations than published; each asserts the qualitative result the
experiment is about. The full runs and their numbers are in docs/experiments.md.
"""

import re
import subprocess
import sys

import numpy as np
import pytest

from deepstep.cli.experiment import experiment_command
from deepstep.errors import DataError, InvalidParameterError

experiments = pytest.importorskip("deepstep.experiments")


def by_setting(result):
    return {r.setting: r for r in result.rows}


def test_import_deepstep_does_not_load_the_heavy_dependencies():
    code = ("import sys, deepstep, deepstep.steps; "
            "heavy = [m for m in ('matplotlib', 'sklearn', 'click', 'scipy') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_initialization_zeros_stays_at_chance_and_he_beats_random(tmp_path):
    state = np.random.get_state()[1].copy()
    result = experiments.run_experiment("initialization", tmp_path, quick=True, engine="model")
    assert np.array_equal(np.random.get_state()[1], state)   # the global generator is restored
    rows = by_setting(result)
    assert rows["zeros"].train_acc == 0.5 and rows["zeros"].test_acc == 0.5
    assert rows["He"].train_acc > rows["random x 10"].train_acc + 0.05
    assert rows["He"].test_acc > rows["random x 10"].test_acc + 0.05
    # plots: two readable PNGs
    assert sorted(p.name for p in result.plots) == ["initialization_model_boundaries.png",
                                                    "initialization_model_costs.png"]
    for p in result.plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    table = result.table()
    assert "published" in table and "0.990 / 0.960" in table and "random x 10" in table


def test_steps_and_model_run_the_same_course_loop():
    # Full-batch gradient descent from the same initial weights: the two engines
    # compute the same math (up to rounding), so short runs agree closely.
    s = experiments.initialization(engine="steps", iterations=300)
    m = experiments.initialization(engine="model", iterations=300)
    # (random x 10 is left out: its first iterations are chaotic, so rounding-level
    # differences show in short runs; the full runs agree, see docs/experiments.md.)
    for setting in ("zeros", "He"):
        rs, rm = by_setting(s)[setting], by_setting(m)[setting]
        assert abs(rs.train_acc - rm.train_acc) <= 0.01 and abs(rs.test_acc - rm.test_acc) <= 0.01
        np.testing.assert_allclose(rs.costs, rm.costs, rtol=1e-6)
    # zeros: the output is sigmoid(b3) = 0.5 on balanced classes, so the cost stays log 2
    np.testing.assert_allclose(by_setting(s)["zeros"].costs, np.log(2), rtol=1e-9)


def test_regularization_beats_no_regularization_on_test(data_dir):
    result = experiments.regularization(engine="model", quick=True, data_dir=data_dir)
    rows = by_setting(result)
    none = rows["no regularization"]
    assert rows["L2 lambda=0.7"].test_acc > none.test_acc
    assert rows["dropout keep_prob=0.86"].test_acc > none.test_acc
    assert none.train_acc > 0.9


def test_adam_beats_gd_at_the_small_learning_rate():
    for engine, epochs in (("model", 300), ("steps", 150)):
        rows = by_setting(experiments.optimization(engine=engine, epochs=epochs, decay=False))
        adam, gd = rows["adam, lr 0.0007"], rows["gd, lr 0.0007"]
        assert adam.train_acc > gd.train_acc + 0.1, engine
        assert adam.costs[-1] < gd.costs[-1], engine


def test_loaders_shapes():
    Xtr, Ytr, Xte, _ = experiments.load_circles()
    assert Xtr.shape == (2, 300) and Ytr.shape == (1, 300) and Xte.shape == (2, 100)
    assert set(np.unique(Ytr)) == {0.0, 1.0} and Ytr.mean() == 0.5
    Xtr, Ytr, _, _ = experiments.load_moons()
    assert Xtr.shape == (2, 300) and Ytr.shape == (1, 300)


def test_football_data(data_dir):
    Xtr, Ytr, Xte, Yte = experiments.load_football(data_dir)
    assert Xtr.shape == (2, 211) and Ytr.shape == (1, 211) and Xte.shape == (2, 200) and Yte.shape == (1, 200)
    assert int(Ytr.sum()) == 106 and int(Yte.sum()) == 87


def test_bad_input_raises_deepstep_errors(tmp_path):
    with pytest.raises(DataError, match="data.mat"):
        experiments.load_football(tmp_path)
    with pytest.raises(InvalidParameterError, match="experiment"):
        experiments.run_experiment("initialisation", None)
    with pytest.raises(InvalidParameterError, match="engine"):
        experiments.run_experiment("initialization", None, engine="torch")
    with pytest.raises(InvalidParameterError, match="start"):
        experiments.run_experiment("initialization", None, start=-1)
    with pytest.raises(InvalidParameterError, match="iterations"):
        experiments.initialization(iterations=0)


def test_command_prints_the_table_and_saves_plots(tmp_path):
    from click.testing import CliRunner

    runner = CliRunner()
    out = runner.invoke(experiment_command,
                        ["optimization", "--engine", "steps", "--iterations", "5", "--out-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[1].split() == ["setting", "train", "acc", "test", "acc", "published"]
    assert sum("lr 0.0007" in line for line in lines) == 3 and sum("step decay" in line for line in lines) == 3
    assert (tmp_path / "optimization_steps_boundaries.png").is_file()
    assert (tmp_path / "optimization_steps_costs.png").is_file()
    bad = runner.invoke(experiment_command, ["initialization", "--engine", "steps", "--seed", "1"])
    assert bad.exit_code != 0 and "--seed" in bad.output
    bad = runner.invoke(experiment_command, ["dropout"])
    assert bad.exit_code != 0


# --- where the command writes, and where it reads ----------------------------------------------------------
def test_command_default_out_dir_is_a_scratch_folder(tmp_path, monkeypatch):
    """`deepstep experiment NAME` used to write into docs/img by default, overwriting the committed images."""
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(experiment_command,
                             ["optimization", "--engine", "steps", "--iterations", "2"])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (tmp_path / "out" / "experiments").iterdir()) == [
        "optimization_steps_boundaries.png", "optimization_steps_costs.png"]
    assert not (tmp_path / "docs").exists()
    assert "docs" not in str(experiments.DEFAULT_OUT_DIR)


@pytest.mark.parametrize("script", ["init_experiment", "regularization_experiment", "optimization_experiment"])
def test_example_scripts_default_to_the_scratch_folder(script, monkeypatch):
    """The example scripts wrote into docs/img unless told otherwise; now only with --out-dir docs/img."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{script}.py"
    spec = importlib.util.spec_from_file_location(f"_example_{script}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []

    def fake(name, out_dir, **kw):
        calls.append((out_dir, kw))
        return experiments.ExperimentResult(name, kw["engine"], kw["quick"], [], ())

    monkeypatch.setattr(module, "run_experiment", fake)
    module.main(["--engine", "steps"])
    assert calls[0][0] == experiments.DEFAULT_OUT_DIR
    module.main(["--engine", "steps", "--out-dir", "docs/img"])
    assert str(calls[1][0]) == "docs/img"
    assert "--out-dir docs/img" in module.__doc__             # the documented way to regenerate the images
    if script == "regularization_experiment":
        module.main(["--engine", "steps", "--data-dir", "/some/where"])
        assert str(calls[2][1]["data_dir"]) == "/some/where"


def test_command_data_dir_for_the_regularization_data(tmp_path, data_dir):
    """The regularization experiment could not be pointed at its data: --data-dir DIR."""
    from click.testing import CliRunner

    runner = CliRunner()
    out = runner.invoke(experiment_command,
                        ["regularization", "--engine", "steps", "--iterations", "2", "--no-plots",
                         "--data-dir", str(data_dir)])
    assert out.exit_code == 0, out.output
    assert "no regularization" in out.output


def test_command_data_dir_errors(tmp_path):
    from click.testing import CliRunner

    from deepstep.cli import main

    r = CliRunner().invoke(main, ["experiment", "regularization", "--no-plots", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1
    assert re.search(rf"{re.escape(str(tmp_path / 'data.mat'))} was not found.*--data-dir DIR", r.stderr)
    r = CliRunner().invoke(main, ["experiment", "initialization", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "--data-dir applies to the regularization experiment only" in r.stderr


def test_out_dir_that_cannot_be_created_fails_before_the_run(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setitem(experiments.EXPERIMENTS, "initialization",
                        lambda **kw: pytest.fail("ran before checking the output folder"))
    with pytest.raises(DataError, match="Cannot create the output folder"):
        experiments.run_experiment("initialization", blocker / "sub")


def test_dataset_loaders_leave_numpys_global_generator_alone():
    """Regression: load_circles/load_moons seeded np.random and never restored it."""
    from deepstep.experiments import load_circles, load_moons

    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    load_circles()
    load_moons()
    assert np.random.random() == expected
