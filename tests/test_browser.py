"""The real app in a real browser: Playwright drives Debian's Chromium against `streamlit run app.py`.

One journey, as a user would do it: upload a CSV on the Data page, set a small model on the Model
page, start training, watch the live chart update, press Stop, read the results and download the
predictions; then the Runs and Predict pages. A screenshot of every page is saved under
``test-artifacts/screenshots/`` (git-ignored) for a person to look at.

Skipped only when /usr/bin/chromium or Playwright is missing (``apt-get install chromium``).
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest

from helpers import browser_idle, chromium, nav, screenshot, serve_app

ROWS = 4000          # ~2,600 training windows: a few seconds per epoch on 2 cores, long enough to watch

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _csv(path: Path, n: int = ROWS) -> Path:
    start = time.mktime((2010, 1, 1, 12, 0, 0, 0, 0, -1))
    lines = ["date,visitors"]
    for i in range(n):
        day = time.strftime("%Y-%m-%d", time.localtime(start + 86400 * i))
        lines.append(f"{day},{100 + 20 * math.sin(i / 7) + 5 * math.sin(i / 30.0) + 0.01 * i:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve_app(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def browser_page(server):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()


def _idle(page, timeout: float = 30.0) -> None:
    """Wait until the app is drawn and the script is not running (the status widget says so)."""
    browser_idle(page, timeout)


def _progress_caption(page) -> str:
    loc = page.get_by_text(re.compile(r"progress points \(\d+ epochs?\)"))
    return loc.first.inner_text() if loc.count() else ""


def test_browser_journey(server, browser_page):
    page = browser_page
    csv = _csv(server["tmp"] / "visitors.csv")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(server["base"])
    _idle(page)
    page.wait_for_selector("h1:has-text('Sequence Studio')")
    screenshot(page, "0_home")

    # --- Data: upload the CSV file
    nav(page, "1 · Data")
    page.locator("[data-testid=stFileUploader] input[type=file]").first.set_input_files(str(csv))
    page.get_by_text("The data is ready").wait_for(timeout=60_000)
    _idle(page)
    screenshot(page, "1_data")

    # --- Model: a small model, 400 epochs (so the run is still going when Stop is pressed, however fast the
    # machine), no early stopping
    nav(page, "2 · Model")
    for label, value in (("Units in layer 1", "16"), ("Epochs (at most)", "400"),
                         ("Early-stopping patience (epochs, 0 = off)", "0")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        _idle(page)
    screenshot(page, "2_model")

    # --- Train: start, see the chart update at least twice, stop
    nav(page, "3 · Train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Epoch \d+ of 400")).first.wait_for(timeout=120_000)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while len(seen) < 3 and time.monotonic() < deadline:
        text = _progress_caption(page)
        if text and (not seen or text.split(" · ")[0] != seen[-1].split(" · ")[0]):
            seen.append(text)
        time.sleep(0.25)
    assert len(seen) >= 3, f"the live chart did not update twice: {seen}"
    n_traces = page.locator("[data-testid=stPlotlyChart] .scatterlayer .trace").count()
    assert n_traces >= 1, "the loss chart has curves"
    screenshot(page, "3_train_live")
    assert page.get_by_role("button", name="Start training").is_disabled(), "no second copy while it trains"

    # a refresh (a new browser session) does not stop the run: the page re-attaches and keeps updating
    page.reload()
    page.get_by_text(re.compile(r"Epoch \d+ of 400")).first.wait_for(timeout=60_000)
    before = _progress_caption(page)
    deadline = time.monotonic() + 30
    while _progress_caption(page).split(" · ")[0] == before.split(" · ")[0] and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _progress_caption(page).split(" · ")[0] != before.split(" · ")[0], "no updates after a refresh"
    assert page.get_by_role("button", name="Start training").is_disabled(), "still no second copy"
    page.get_by_role("button", name="Stop").click()
    page.get_by_text(re.compile("Stopping…|Stopped by you")).first.wait_for(timeout=30_000)
    page.get_by_text("Stopped by you").first.wait_for(timeout=60_000)
    _idle(page)
    screenshot(page, "3_train_stopped")
    final = _progress_caption(page)
    time.sleep(2.5)
    assert _progress_caption(page) == final, "the page stops polling once the run has ended"

    # --- Results: metric cards, then download the predictions
    page.get_by_role("link", name="See the results").click()
    page.get_by_text("Test metrics").first.wait_for(timeout=60_000)
    _idle(page)
    assert "run=" in page.url, "the results address names the run"
    assert page.locator("[data-testid=stMetric]").count() >= 4
    screenshot(page, "4_results")
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Predictions (CSV)").click()
    data = Path(dl.value.path()).read_text(encoding="utf-8")
    assert data.splitlines()[0] == "origin,step,time,target,actual,predicted,error,lower_80,upper_80,lower_95,upper_95"
    assert len(data.splitlines()) > 10

    # --- Runs: the table lists the run
    nav(page, "5 · Runs")
    page.get_by_text("Compare runs").first.wait_for()
    assert page.locator("[data-testid=stDataFrame]").count() >= 1
    screenshot(page, "5_runs")

    # --- Predict: a real worker prediction on the training file
    nav(page, "6 · Predict")
    page.get_by_role("button", name=re.compile("Try it on the model's own")).click()
    page.get_by_role("button", name="Download the predictions (CSV)").wait_for(timeout=120_000)
    _idle(page)
    screenshot(page, "6_predict")

    assert not errors, f"JavaScript errors in the page: {errors}"
    log = server["log"].read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
