"""The lesson's published cat-classifier numbers, through ``deepstep.steps`` (about 30-60 s).

Published (the lesson's application, ``np.random.seed(1)`` before each trainer,
learning rate 0.0075, 2500 iterations):

* ``two_layer_model`` (12288, 7, 1): cost 0.693050 at iteration 0, test accuracy 0.72;
* ``L_layer_model`` (12288, 20, 7, 5, 1): cost 0.771749 at iteration 0,
  train accuracy 0.985645933 (206/209), test accuracy 0.80 (40/50).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from deepstep import steps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


def _accuracy(X, Y, parameters):
    return float(np.mean(steps.predict(X, parameters) == Y))


@pytest.mark.slow
def test_two_layer_model_published_numbers(cat_data):
    train_x, train_y, test_x, test_y = cat_data
    np.random.seed(1)
    parameters, costs = steps.two_layer_model(train_x, train_y, (12288, 7, 1), learning_rate=0.0075,
                                              num_iterations=2500)
    assert len(costs) == 25                               # iterations 0, 100, ..., 2400
    assert costs[0] == pytest.approx(0.6930497356599888, abs=1e-9)
    assert _accuracy(test_x, test_y, parameters) == pytest.approx(0.72, abs=1e-12)   # 36/50
    assert _accuracy(train_x, train_y, parameters) >= 0.99


@pytest.mark.slow
def test_L_layer_model_published_numbers(cat_data):
    train_x, train_y, test_x, test_y = cat_data
    np.random.seed(1)
    parameters, costs = steps.L_layer_model(train_x, train_y, (12288, 20, 7, 5, 1), learning_rate=0.0075,
                                            num_iterations=2500)
    assert costs[0] == pytest.approx(0.771749, abs=1e-6)
    assert _accuracy(train_x, train_y, parameters) == pytest.approx(206 / 209, abs=1e-12)  # 0.9856
    assert _accuracy(test_x, test_y, parameters) == pytest.approx(0.80, abs=1e-12)         # 40/50


def test_example_script_prints_table_and_saves_png(cat_files, tmp_path, capsys):
    import cat_classifier

    # 3 iterations keep it fast; the full run is the two tests above.
    assert cat_classifier.main([str(cat_files[0].parent), "--out-dir", str(tmp_path),
                                "--iterations", "3"]) == 0
    out = capsys.readouterr().out
    assert "two_layer_model" in out and "L_layer_model" in out
    png = tmp_path / "cat_costs.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_example_script_reports_missing_data(tmp_path, capsys):
    import cat_classifier

    assert cat_classifier.main([str(tmp_path / "nowhere"), "--out-dir", str(tmp_path)]) == 1
    assert "not found" in capsys.readouterr().err
