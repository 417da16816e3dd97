"""Three odd files people bring, through the real app in headless Chromium (issue 12, point 8).

Each file is uploaded on the Data page as it is, with nothing set by hand but the few epochs, and must
reach the Results page with the right task suggested and charts dated correctly:

- ``Coffee_TRAIN.txt``: the raw UCR format (no header, whitespace between values, class first): a
  sequence-classification task with ``column_1`` as the label;
- ``Uschange.csv``: quarters written ``1970 Q1`` and an unnamed index column: a forecast whose chart
  axis runs over real quarter dates (1970-01-01 ... 2016-07-01);
- ``co2_weekly.csv``: weekly Mauna Loa CO2 with dates written ``19580329``: a forecast over real weekly
  dates (1958-03-29 ... 2001-12-29), never numbers like 19.6M or a date such as ``20011236``.

Screenshots of each Data and Results page are saved under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from helpers import ROOT, browser_idle, chromium, nav, screenshot, serve_app

SHARED = ROOT.parent / "shared" / "datasets"
DATA = ROOT / "tests" / "data"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# JS: for every plotly chart on the page, its x-axis type as plotly worked it out ("date" for dates) and the
# first / last x value, count and name of each trace
_PLOTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(p => ({
    xtype: ((p._fullLayout || {}).xaxis || {}).type || '',
    traces: (p.data || []).filter(t => t.x && t.x.length).map(t => [String(t.x[0]), String(t.x[t.x.length - 1]),
                                                                    t.x.length, String(t.name || '')])}))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve_app(tmp_path_factory.mktemp("odd"))


@pytest.fixture()
def page(server):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(server["base"])
        browser_idle(pg)
        yield pg
        assert not errors, f"JavaScript errors in the page: {errors}"
        context.close()
    log = server["log"].read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def _ready(pg) -> None:
    pg.get_by_text(re.compile(r"The data is ready|Ready, but check")).first.wait_for(timeout=90_000)
    browser_idle(pg)


def _checked_task(pg) -> str:
    return pg.get_by_role("radiogroup", name="Task").get_by_role("radio", checked=True).evaluate(
        "e => (e.closest('label') || e.parentElement).innerText")


def _upload(pg, path: Path) -> None:
    nav(pg, "1 · Data")
    pg.locator("[data-testid=stFileUploader] input[type=file]").first.set_input_files(str(path))
    # a new session starts from the latest run's data: wait until the page has switched to this file
    pg.get_by_text(f"Now using: {path.name}").first.wait_for(timeout=60_000)
    browser_idle(pg)


def _train_to_results(pg, epochs: int = 3) -> None:
    nav(pg, "2 · Model")
    box = pg.get_by_label("Epochs (at most)", exact=True)
    box.fill(str(epochs))
    box.press("Enter")
    browser_idle(pg)
    nav(pg, "3 · Train")
    link = pg.get_by_role("link", name="See the results")
    before = link.first.get_attribute("href") if link.count() else None   # the session's previous run
    pg.get_by_role("button", name="Start training").click()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (link.count() and link.first.get_attribute("href") != before):
        time.sleep(0.5)
    assert link.count() and link.first.get_attribute("href") != before, "the run did not finish in 5 minutes"
    link.first.click()
    pg.get_by_text("Test metrics").first.wait_for(timeout=60_000)
    browser_idle(pg)


def _dated_traces(pg) -> list[tuple[str, str, int, str]]:
    """The traces of the charts with a date axis; every chart whose traces look like stamps (8-digit numbers
    such as 19580329, or numbers in the millions) fails the test: those would be dates read as numbers."""
    plots = pg.evaluate(_PLOTS)
    assert plots, "no chart on the page"
    for p in plots:
        for x0, x1, _, name in p["traces"]:
            assert not re.fullmatch(r"\d{8}(\.0)?", x0), f"trace {name!r} runs over numbers like {x0}: dates read as numbers"
    return [tuple(t) for p in plots if p["xtype"] == "date" for t in p["traces"]]


def _assert_dated(traces, first: str, last: str) -> None:
    """There are dated traces and every one runs inside [first, last] (the data's span, plus the forecast)."""
    assert traces, "no chart with a date axis"
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}")
    for x0, x1, n, name in traces:
        assert iso.match(x0) and iso.match(x1), f"trace {name!r} is not dated: {x0} ... {x1}"
        assert first <= x0[:10] <= x1[:10] <= last, f"trace {name!r} runs {x0} ... {x1}, outside {first}..{last}"


def test_headerless_ucr_is_classified_by_its_first_column(page):
    _upload(page, SHARED / "Coffee_TRAIN.txt")
    _ready(page)
    assert "Classify sequences" in _checked_task(page)
    assert page.get_by_role("combobox", name="Label column (the class)").input_value() == "column_1"
    page.get_by_text("2 classes").first.wait_for()
    screenshot(page, "odd_1_coffee_data")
    _train_to_results(page)
    assert page.get_by_text(re.compile("accuracy", re.I)).count() >= 1
    screenshot(page, "odd_1_coffee_results")


def test_quarter_dates_reach_results_with_quarterly_dates(page):
    _upload(page, SHARED / "Uschange.csv")
    _ready(page)
    assert "Forecast" in _checked_task(page)
    _assert_dated(_dated_traces(page), "1970-01-01", "2016-07-01")
    page.locator("p:visible", has_text=re.compile(r"Time column 'Quarter': quarterly")).first.wait_for()
    screenshot(page, "odd_2_uschange_data")
    _train_to_results(page)
    _assert_dated(_dated_traces(page), "1970-01-01", "2022-12-31")
    screenshot(page, "odd_2_uschange_results")


def test_yyyymmdd_weekly_dates_are_real_dates(page):
    _upload(page, DATA / "co2_weekly.csv")
    # 59 missing weeks: the page asks what to do with them before it is ready
    page.get_by_text("Fill the gaps with a straight line", exact=False).first.click()
    _ready(page)
    assert "Forecast" in _checked_task(page)
    _assert_dated(_dated_traces(page), "1958-03-29", "2001-12-29")
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "uneven steps" not in body and "20011236" not in body
    screenshot(page, "odd_3_co2_data")
    _train_to_results(page)
    traces = _dated_traces(page)
    _assert_dated(traces, "1958-03-29", "2003-12-31")
    screenshot(page, "odd_3_co2_results")
