"""Regenerate the README's playground screenshots: python docs/img/screenshots.py (needs chromium, Playwright).

Starts ``deepstep playground --no-browser`` on a free port, drives the page
as a learner would, and saves ``playground.png`` and ``playground-step.png``
next to this file.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "deepstep", "playground", "--port", str(port), "--no-browser"])
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1180}, device_scale_factor=1)
            page.goto(url)
            ready = "document.getElementById('train-cost').textContent !== '–'"
            page.wait_for_function(ready)
            # 1. Spiral, 800 points, three hidden layers of 8 ReLU units, Adam.
            page.click("#datasets button[data-name=spiral]")
            page.select_option("#optimizer", "adam")
            page.select_option("#learning_rate", "0.01")
            for rng, value in (("noise", 0), ("n_points", 800), ("train_fraction", 60)):
                page.eval_on_selector(f"#{rng}", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input'));"
                                      " el.dispatchEvent(new Event('change')); }", value)
            page.click("#add-layer")
            for col in range(3):
                for _ in range(8):
                    page.locator("#unit-buttons .col").nth(col).locator("button").nth(1).click()
                    page.wait_for_timeout(60)
            page.wait_for_timeout(500)
            page.wait_for_function(ready)
            page.click("#play")
            page.wait_for_function("Number(document.getElementById('epoch').textContent) >= 200", timeout=120000)
            page.click("#play")
            page.wait_for_timeout(400)
            page.screenshot(path=str(HERE / "playground.png"))
            # 2. Step mode on a deep sigmoid network: the equations, and vanishing gradients.
            page.click("#datasets button[data-name=circles]")
            page.select_option("#activation", "sigmoid")
            for col in range(3):
                for _ in range(2):
                    page.locator("#unit-buttons .col").nth(col).locator("button").nth(0).click()
                    page.wait_for_timeout(60)
            page.select_option("#optimizer", "gd")
            page.select_option("#learning_rate", "0.3")
            page.wait_for_function(ready)
            page.click("#play")
            page.wait_for_function("Number(document.getElementById('epoch').textContent) >= 60", timeout=120000)
            page.click("#play")
            page.wait_for_timeout(300)
            page.mouse.click(*_unit_center(page, 2, 1))
            page.click("#step")
            page.wait_for_function("document.getElementById('equations').textContent.includes('dW[')")
            page.wait_for_timeout(300)
            page.screenshot(path=str(HERE / "playground-step.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


def _unit_center(page, layer, unit):
    return page.evaluate("""([l, j]) => {
        const cv = document.getElementById('network'), r = cv.getBoundingClientRect();
        const { pos, size } = layout(), p = pos[l][j], k = r.width / cv.width;
        return [r.left + (p.x + size / 2) * k, r.top + (p.y + size / 2) * k];
    }""", [layer, unit])


if __name__ == "__main__":
    main()
