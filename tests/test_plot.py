"""deepstep.plot: every figure renders (Agg set here, by the test), and no deepstep plot touches the backend."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")          # the test's choice; deepstep itself never sets a backend

from matplotlib.figure import Figure  # noqa: E402

from deepstep import DataError, DeepNetwork, plot  # noqa: E402


def _moons(m=120):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, m))
    return X, (X[0] ** 2 + X[1] > 0.5).astype(int)


@pytest.fixture(scope="module")
def binary():
    X, y = _moons()
    net = DeepNetwork(layers=(6, 3), epochs=25, learning_rate=0.02, validation_fraction=0.25, seed=0)
    net.fit(X, y)
    return net, X, y


def _render(fig):
    assert isinstance(fig, Figure)
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    return fig


def _texts(fig):
    out = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return " ".join(out)


def test_learning_curves(binary):
    net, _, _ = binary
    fig = _render(plot.learning_curves(net.history))
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["cost", "accuracy"]
    assert [line.get_label() for line in axes[0].get_lines()] == ["train", "validation"]
    np.testing.assert_array_equal(axes[0].get_lines()[1].get_ydata(), net.history["val_cost"])
    assert _render(plot.learning_curves(net)).get_axes()[0].get_yscale() in ("linear", "log")
    # A cost falling by orders of magnitude gets a log axis.
    from deepstep import History

    h = History()
    for i in range(1, 30):
        h.append(epoch=i, lr=0.1, cost=10.0 ** -i * 3)
    assert plot.learning_curves(h).get_axes()[0].get_yscale() == "log"
    with pytest.raises(DataError, match="empty"):
        plot.learning_curves(History())


def test_decision_boundary_and_activation_maps(binary):
    net, X, y = binary
    fig = _render(plot.decision_boundary(net, X, y, resolution=40))
    assert "decision boundary" in _texts(fig)
    fig = _render(plot.activation_maps(net, X, resolution=20))
    # One row per layer (6 and 3 hidden units, 1 output), as wide as the widest layer.
    assert len(fig.get_axes()) == 3 * 6
    assert "layer 1" in _texts(fig) and "output 3" in _texts(fig)
    X4 = np.vstack([X, X])
    with pytest.raises(DataError, match="2 inputs"):
        plot.decision_boundary(_tiny(X4, y), X4, y)


def test_multiclass_and_regression_boundaries():
    X, _ = _moons()
    y3 = np.digitize(X[0], [-0.5, 0.5])
    net = DeepNetwork(layers=(5,), epochs=5, seed=0)
    net.fit(X, np.array(["a", "b", "c"])[y3])
    fig = _render(plot.decision_boundary(net, X, np.array(["a", "b", "c"])[y3], resolution=30))
    assert {"a", "b", "c"} <= set(_texts(fig).split())
    reg = DeepNetwork(layers=(4,), epochs=3, output="linear", seed=0)
    reg.fit(X, X[0] * 2.5)
    _render(plot.decision_boundary(reg, X, X[0] * 2.5, resolution=20))


def test_confusion_matrix_counts_are_right():
    X, _ = _moons()
    y = np.digitize(X[0], [-0.5, 0.5])
    net = DeepNetwork(layers=(5,), epochs=10, seed=0)
    net.fit(X, y)
    fig = _render(plot.confusion_matrix(net, X, y))
    ax = fig.get_axes()[0]
    shown = ax.get_images()[0].get_array()
    pred = net.predict(X).ravel()
    for i in range(3):
        for j in range(3):
            assert shown[i, j] == np.sum((y == i) & (pred == j))
    assert shown.sum() == y.size
    norm = plot.confusion_matrix(net, X, y, normalize=True).get_axes()[0].get_images()[0].get_array()
    np.testing.assert_allclose(norm.sum(axis=1), 1.0)


def test_activation_histograms_count_dead_units(binary):
    net, X, _ = binary
    dead = net.__class__.from_parameters({k: v.copy() for k, v in net.parameters.items()}, output="sigmoid")
    params = dead.parameters
    params["W1"][0] = 0.0
    params["b1"][0] = -1.0                                # unit 1 of layer 1: never active
    fig = _render(plot.activation_histograms(dead, X))
    titles = [ax.get_title() for ax in fig.get_axes()]
    assert titles[0].endswith("1 dead") and "relu, 6 units" in titles[0]
    outs = plot.layer_outputs(dead, X)
    assert [a.shape for a in outs] == [(6, X.shape[1]), (3, X.shape[1]), (1, X.shape[1])]
    np.testing.assert_allclose(outs[-1], dead.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_image_plots():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(8 * 8 * 3, 30)).astype(np.uint8)
    y = (X[:96].mean(axis=0) > 127).astype(int)
    net = DeepNetwork(layers=(4,), epochs=3, preprocess="divide255", seed=0)
    net.fit(X, y)
    net.input_shape, net.class_names = (8, 8, 3), ["non-cat", "cat"]
    fig = _render(plot.first_layer_weights(net))
    assert len([ax for ax in fig.get_axes() if ax.get_images()]) == 4
    fig = _render(plot.mislabeled_images(net, X, y, max_images=6))
    wrong = int(np.sum(net.predict(X).ravel() != y))
    shown = [ax for ax in fig.get_axes() if ax.get_images()]
    assert len(shown) == min(wrong, 6)
    if wrong:
        assert "Prediction: " in shown[0].get_title() and "Class: " in shown[0].get_title()
    net.input_shape = None
    with pytest.raises(DataError, match="shape="):
        plot.first_layer_weights(_tiny(X[:50], y))


def _tiny(X, y):
    net = DeepNetwork(layers=(2,), epochs=1)
    net.fit(X, y)
    return net


BACKEND_CHECK = r"""
import matplotlib, numpy as np
matplotlib.use("svg")
from deepstep import DeepNetwork, plot
from deepstep.cli.output import plot_history
rng = np.random.default_rng(0)
X = rng.standard_normal((2, 60)); y = (X[0] > 0).astype(int)
net = DeepNetwork(layers=(3,), epochs=2); net.fit(X, y)
for fig in (plot.learning_curves(net.history), plot.decision_boundary(net, X, y, resolution=10),
            plot.activation_maps(net, X, resolution=10), plot.activation_histograms(net, X),
            plot.confusion_matrix(net, X, y)):
    fig.savefig(__import__("io").BytesIO(), format="png")
plot_history(net.history, OUT + "/h.png")
from deepstep.search.report import plot_search
plot_search([{"mean_test_score": 0.5, "learning_rate": 0.1}, {"mean_test_score": 0.7, "learning_rate": 0.01}],
            {"learning_rate": 1.0}, OUT + "/s.png", "accuracy")
print(matplotlib.get_backend())
"""


def test_the_backend_is_left_untouched(tmp_path):
    """Regression: plot_history and the experiment/search plots called matplotlib.use("Agg"),
    which broke inline figures in notebooks."""
    code = f"OUT = {str(tmp_path)!r}\n" + BACKEND_CHECK
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "svg"
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "s.png").exists()
