"""The playground in a real browser (Debian's chromium, driven by Playwright).

Skips, with the reason, only when no chromium is installed (``.ci/run``
installs it); Playwright for Python and the server come with the test extra.
The server is the real command, ``deepstep playground --no-browser``, on a
free port.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CANDIDATES = ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
CHROMIUM = next((p for p in CANDIDATES if p and os.path.exists(p)), None)
if CHROMIUM is None:
    pytest.skip("no chromium found (apt-get install -y chromium): the browser tests need a real browser",
                allow_module_level=True)
from playwright import sync_api  # noqa: E402 (after the skip: only needed with a browser)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deepstep", "playground", "--port", str(port), "--no-browser"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the playground server exited: {proc.stderr.read()}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server)
    page.wait_for_function("document.getElementById('train-cost').textContent !== '–'", timeout=60000)
    yield page
    context.close()


def _cost(page):
    return float(page.text_content("#train-cost"))


def _non_blank_pixels(page, canvas_id):
    return page.evaluate("""(id) => {
        const c = document.getElementById(id), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 0 && !(d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250)) n++;
        return n / (c.width * c.height);
    }""", canvas_id)


def test_the_page_loads_without_console_errors_and_draws_the_boundary(page):
    assert page.title().startswith("deepstep playground")
    assert _non_blank_pixels(page, "boundary") > 0.9          # the output map covers the canvas
    assert _non_blank_pixels(page, "network") > 0.02          # unit maps and weights
    rows = page.locator("#dims tbody tr")
    assert rows.count() == 4 and "(4, 2)" in rows.nth(1).text_content()
    assert page.errors == []


def test_training_from_the_page_lowers_the_shown_cost(page):
    before = _cost(page)
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('epoch').textContent) >= 20", timeout=60000)
    page.click("#play")
    assert _cost(page) < before
    assert page.text_content("#play").endswith("Start")
    assert page.errors == []


def test_step_mode_shows_the_lessons_equations(page):
    page.click("#step")
    page.wait_for_function("document.getElementById('equations').textContent.includes('dW[')", timeout=60000)
    text = page.text_content("#equations")
    for piece in ("Z[1]_1 = W[1]_1 · X_1 + b[1]_1", "A[1]_1 = relu(", "dZ[1]_1", "db[1]_1", "W[1]_1 := W[1]_1 − α"):
        assert piece in text
    assert page.text_content("#batches") == "1"
    assert page.errors == []


def test_export_downloads_a_model_file_that_deepstep_info_reads(page, tmp_path):
    with page.expect_download() as info:
        page.click("#export-model")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".npz"
    out = subprocess.run([sys.executable, "-m", "deepstep", "info", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "hyperparameters" in out.stdout and "sigmoid" in out.stdout
    with page.expect_download() as info:
        page.click("#export-python")
    assert info.value.suggested_filename == "playground_run.py"


def test_two_tabs_train_independently(page, browser, server):
    other = browser.new_page()
    other.goto(server)
    other.wait_for_function("document.getElementById('train-cost').textContent !== '–'", timeout=60000)
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('epoch').textContent) >= 5", timeout=60000)
    page.click("#play")
    assert other.text_content("#epoch") == "0"
    other.close()
