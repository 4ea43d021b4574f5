"""deepstep check: the lesson's code passes; each deliberately broken function is pinned, with its diagnosis.

The learner's file always runs in a subprocess (a few seconds per file); the
broken solutions are grouped so one run checks many bugs, at most one per
function, which also shows the isolation: the other functions stay ok.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import deepstep
from deepstep.check import FUNCTIONS, check

sys.path.insert(0, str(Path(__file__).parent))
from check_bugs import GROUPS, broken_source  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "check" / "lesson_solution.py"
LESSON = FIXTURE.read_text()


@pytest.fixture(scope="module")
def lesson_report():
    return check(FIXTURE)


def test_the_lessons_code_passes_everything(lesson_report):
    assert [r.name for r in lesson_report.results] == list(FUNCTIONS)       # every function found
    assert [r.line() for r in lesson_report.results] == [f"{n}: ok" for n in FUNCTIONS]
    assert lesson_report.ok and not lesson_report.error


@pytest.fixture(scope="module", params=sorted(GROUPS))
def broken(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("broken") / f"broken_{request.param}.py"
    path.write_text(broken_source(LESSON, request.param))
    return request.param, check(path)


def test_each_bug_is_pinned_on_its_function_with_its_diagnosis(broken):
    group, report = broken
    bugs = {name: words for name, _, _, words in GROUPS[group]}
    lines = {r.name: r.line() for r in report.results}
    assert set(lines) == set(FUNCTIONS)
    for name, line in lines.items():
        if name in bugs:
            assert line.startswith(f"{name}: wrong — "), line
            assert bugs[name] in line, f"{name}: expected the diagnosis {bugs[name]!r}, got: {line}"
        else:
            assert line == f"{name}: ok", f"{name} has no bug in group {group} but: {line}"
    assert not report.ok


def test_a_bug_in_a_helper_is_not_blamed_on_its_callers(tmp_path):
    # relu and linear_forward wrong: linear_activation_forward and L_model_forward, which call them, stay ok.
    src = LESSON.replace("A = np.maximum(0, Z)", "A = np.maximum(1, Z)").replace(
        "Z = np.dot(W, A) + b", "Z = np.dot(W, A)")
    path = tmp_path / "helpers_wrong.py"
    path.write_text(src)
    report = check(path, only=("relu", "linear_forward", "linear_activation_forward", "L_model_forward"))
    lines = report.lines()
    assert lines[0].startswith("linear_forward: wrong — ") and "the bias b is not added" in lines[0]
    assert lines[1].startswith("relu: wrong — ")
    assert lines[2:] == ["linear_activation_forward: ok", "L_model_forward: ok"]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_file_that_loops_forever_at_import_gives_a_result(tmp_path):
    path = _write(tmp_path, "loops.py", "import numpy as np\nwhile True:\n    pass\n")
    report = check(path, import_timeout=1.5)
    assert not report.ok and not report.results
    assert "could not be imported: importing it did not finish within 1.5 s" in report.error
    assert 'if __name__ == "__main__"' in report.error


def test_a_file_that_raises_at_import_names_the_error_and_line(tmp_path):
    path = _write(tmp_path, "raises.py", "import numpy as np\n\n\nx = 1 / 0\n")
    report = check(path)
    assert report.error == "raises.py could not be imported: ZeroDivisionError: division by zero (line 4)"
    path = _write(tmp_path, "syntax.py", "def relu(Z)\n    return Z\n")
    assert "could not be imported: SyntaxError" in check(path).error
    path = _write(tmp_path, "missing.py", "from testCases_v4a import *\n")
    assert "No module named 'testCases_v4a'" in check(path).error


def test_a_function_that_loops_forever_or_exits(tmp_path):
    src = LESSON.replace("    A = np.maximum(0, Z)\n", "    while True:\n        pass\n")
    path = _write(tmp_path, "loop_in_relu.py", src)
    report = check(path, only=("relu", "sigmoid"), function_timeout=6)
    assert report.lines() == ["sigmoid: ok", "relu: wrong — did not finish within 6 s; likely cause: an endless "
                              "loop? (a loop whose condition never changes)"]
    src = LESSON.replace("    A = np.maximum(0, Z)\n", "    import os\n    os._exit(3)\n")
    report = check(_write(tmp_path, "exit_in_relu.py", src), only=("relu", "sigmoid"))
    assert report.lines()[0] == "sigmoid: ok"
    assert report.lines()[1].startswith("relu: wrong — stopped the check (exit status 3) while being checked")


def test_a_file_that_prints_a_lot(tmp_path):
    src = "for i in range(200000):\n    print('hello ' * 10)\n" + LESSON.replace(
        "    A = np.maximum(0, Z)\n", "    A = np.maximum(0, Z)\n    print(A, 'x' * 10000)\n")
    report = check(_write(tmp_path, "chatty.py", src), only=("relu",))
    assert report.lines() == ["relu: ok"]
    assert report.printed > 10_000_000


def test_nothing_found_and_bad_paths(tmp_path):
    report = check(_write(tmp_path, "empty.py", "import numpy as np\n"))
    assert "defines none of the lesson's functions" in report.error and not report.ok
    with pytest.raises(deepstep.DataError, match="not found"):
        check(tmp_path / "nowhere.py")
    with pytest.raises(deepstep.DataError, match="not a .py file"):
        check(_write(tmp_path, "notes.txt", "hi"))


def test_a_notebook_and_a_module(tmp_path):
    cells = [{"cell_type": "markdown", "source": ["# my notebook"]},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np\n"]},
             {"cell_type": "code", "source": "def relu(Z):\n    return np.maximum(0, Z), Z\n"},
             {"cell_type": "code", "source": "print(relu(np.ones(2)))\nwhile True:\n    pass\n"}]   # not run
    nb = _write(tmp_path, "My Notebook.ipynb", json.dumps({"cells": cells, "nbformat": 4}))
    assert check(nb).lines() == ["relu: ok"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("lesson_solution_mod", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert deepstep.check(module, only=("sigmoid",)).lines() == ["sigmoid: ok"]


def test_import_deepstep_stays_light():
    code = ("import sys, deepstep; assert 'hypothesis' not in sys.modules; "
            "assert 'deepstep.check' not in sys.modules; assert callable(deepstep.check)")
    subprocess.run([sys.executable, "-c", code], check=True)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "deepstep", "check", *args], capture_output=True, text=True)


def test_the_command_lines_json_and_exit_codes(tmp_path):
    ok = _cli(str(FIXTURE), "--only", "relu", "--only", "linear_backward")
    assert (ok.returncode, ok.stdout.splitlines()) == (0, ["relu: ok", "linear_backward: ok"])
    path = _write(tmp_path, "broken.py", broken_source(LESSON, "a"))
    bad = _cli(str(path), "--only", "compute_cost", "--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["results"][0]["name"] == "compute_cost"
    assert "the cost's sign" in report["results"][0]["cause"]
    usage = _cli(str(FIXTURE), "--only", "reluu")
    assert usage.returncode == 2 and "Did you mean 'relu'?" in usage.stderr and "Traceback" not in usage.stderr
    missing = _cli(str(tmp_path / "nowhere.py"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "not found" in missing.stderr


def test_an_initialization_seeded_with_its_own_seed_is_judged_by_its_distribution(tmp_path):
    src = '''import numpy as np


def initialize_parameters_deep(layer_dims):
    np.random.seed(42)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters['W' + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
        parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def initialize_parameters_he(layers_dims):
    np.random.seed(42)
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters['W' + str(l)] = np.random.rand(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])
        parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters
'''
    lines = check(_write(tmp_path, "own_seed.py", src)).lines()
    assert lines[0] == "initialize_parameters_deep: ok"
    assert lines[1].startswith("initialize_parameters_he: wrong — ") and "np.random.rand (uniform" in lines[1]
