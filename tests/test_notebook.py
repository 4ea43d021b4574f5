"""verbose progress in Jupyter: one small notebook executed with nbclient (a real ipykernel).

verbose=1 draws tqdm.auto's widget bar (ipywidgets), verbose=2 prints one line per
epoch on the cell's stderr. Skipped, saying why, when no kernel can start here.
"""

import json

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (it is in the test extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (it is in the test extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (it is in the test extra)")

CELLS = [
    "import numpy as np\nfrom deepstep import DeepNetwork\n"
    "rng = np.random.default_rng(0)\nX = rng.standard_normal((2, 60)); y = (X[0] > 0).astype(int)",
    "DeepNetwork(layers=(3,), epochs=3, verbose=1).fit(X, y);",
    "DeepNetwork(layers=(3,), epochs=3, verbose=2).fit(X, y);",
    "import matplotlib\nfrom deepstep import plot\nnet = DeepNetwork(layers=(3,), epochs=2); net.fit(X, y)\n"
    "before = matplotlib.get_backend()\nfig = plot.learning_curves(net.history)\n"
    "print('backend', before == matplotlib.get_backend())\nfig",
]


def test_verbose_progress_in_an_executed_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True)
    from jupyter_client.kernelspec import NoSuchKernel

    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError:
        raise                                   # a cell failed: that is a real failure
    except (NoSuchKernel, RuntimeError, TimeoutError, nbclient.exceptions.DeadKernelError) as exc:
        pytest.skip(f"a Jupyter kernel cannot start here: {type(exc).__name__}: {exc}")
    bar = nb.cells[1].outputs
    widgets = json.dumps(nb.metadata.get("widgets", {}))
    text = " ".join(str(o.get("text", "")) for o in bar)
    # The widget bar (ipywidgets present) or tqdm's text fallback on stderr.
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in bar) or "3/3" in text
    if widgets != "{}":
        assert "3/3" in widgets and "cost=" in widgets and "accuracy=" in widgets
    lines = "".join(o.get("text", "") for o in nb.cells[2].outputs if o.get("name") == "stderr").splitlines()
    assert [line.split(" ")[1] for line in lines if line.startswith("epoch ")] == ["1/3", "2/3", "3/3"]
    outputs = nb.cells[3].outputs
    assert any("backend True" in o.get("text", "") for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)       # the Figure displays inline
