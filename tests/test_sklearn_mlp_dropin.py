"""The acceptance test of the drop-in: scikit-learn's own test file for its MLP, run against deepstep.

The file is read from the INSTALLED scikit-learn at test time (nothing is
copied into this repository), its one import line
``from sklearn.neural_network import MLPClassifier, MLPRegressor`` is rewritten
to ``from deepstep.sklearn import MLPClassifier, MLPRegressor``, and pytest runs
it in a subprocess. Deselected: ``test_gradient`` only, which calls
scikit-learn's private ``_loss_grad_lbfgs`` (its public-behaviour equivalent is
in tests/test_sklearn_mlp.py). The other five tests that read private
attributes (``test_fit``, ``test_learning_rate_warmstart``,
``test_adaptive_learning_rate``, ``test_n_iter_no_change``,
``test_n_iter_no_change_inf``) run as written: the drop-in keeps
``_optimizer.learning_rate`` and ``_no_improvement_count`` with scikit-learn's
meanings, and tests/test_sklearn_mlp.py has public-behaviour equivalents too.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
DROP_IN = "from deepstep.sklearn import MLPClassifier, MLPRegressor"
PRIVATE = ("test_gradient",)
# scikit-learn's conftest provides this fixture; its default seed is 42.
CONFTEST = '''import pytest


@pytest.fixture(params=[42])
def global_random_seed(request):
    return request.param
'''


def _installed_test_file() -> Path:
    import sklearn.neural_network

    path = Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"
    if not path.exists():
        pytest.fail(f"scikit-learn's test file {path} is not installed; the acceptance test needs it.")
    return path


def test_scikit_learn_test_mlp_passes_against_the_drop_in(tmp_path):
    source = _installed_test_file().read_text(encoding="utf-8")
    assert source.count(IMPORT) == 1, "scikit-learn's test file no longer has the expected import line"
    rewritten = source.replace(IMPORT, DROP_IN)
    (tmp_path / "test_mlp_dropin.py").write_text(rewritten, encoding="utf-8")
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-W", "ignore::DeprecationWarning", "test_mlp_dropin.py", "--rootdir", str(tmp_path)]
    for name in PRIVATE:
        args += ["--deselect", f"test_mlp_dropin.py::{name}"]
    # One BLAS thread: the suite runs under pytest -n 2 on 2 cores, and OpenBLAS's
    # spinning threads make small products many times slower when oversubscribed.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=1200)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"scikit-learn's test_mlp.py failed against deepstep.sklearn:\n{tail}"
    counts = re.search(r"(\d+) passed", proc.stdout)
    assert counts and int(counts.group(1)) >= 50, tail
    assert "failed" not in proc.stdout.splitlines()[-1], tail
    print(proc.stdout.splitlines()[-1])      # the counts, in pytest -rA / -s output
