"""Helpers shared by the app and hardening tests: Streamlit AppTest pages, waiting, environment variables.

``tests/conftest.py`` puts this folder on ``sys.path``, so test files use ``from helpers import ...``.
Shared fixtures (``short_worker_idle``, ``samples``, ...) live in ``conftest.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from streamlit.testing.v1 import AppTest

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import RunSpec
    from seqcore.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SAMPLES = ROOT / "seqcore" / "samples"
TIMEOUT = 60
CHROMIUM = "/usr/bin/chromium"   # Debian's Chromium, driven by Playwright


def page(path: str, *, state: dict | None = None, query: dict | None = None, run: bool = True,
         timeout: float = TIMEOUT) -> AppTest:
    """An AppTest opened straight on ``path`` (through app.py, so page links resolve) with ``state``
    in session state and ``query`` in the URL; run once and checked for exceptions unless ``run`` is False."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.switch_page(path)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if run:
        at.run()
        assert not at.exception, f"{path}: {at.exception}"
    return at


def app(path: str | None = None, *, state: dict | None = None, timeout: float = TIMEOUT) -> AppTest:
    """An AppTest that first shows the home page (app.py), then puts ``state`` in session state and
    switches to ``path`` (when given); every run is checked for exceptions."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    for k, v in (state or {}).items():
        at.session_state[k] = v
    if path:
        at.switch_page(path)
        at.run()
        assert not at.exception, f"{path}: {at.exception}"
    return at


def texts(elements) -> str:
    """The values of Streamlit elements (``at.error``, ``at.info``, ...) as one text, a line each."""
    return "\n".join(str(e.value) for e in elements)


def upload(at: AppTest, name: str, data: bytes, key: str = "data_upload") -> AppTest:
    """Give the file uploader ``key`` a CSV file and rerun the page."""
    at.file_uploader(key=key).set_value((name, data, "text/csv"))
    at.run()
    return at


def page_state(store: RunStore, data: bytes, name: str, spec: RunSpec) -> dict:
    """What the Data and Model pages leave in session state for ``spec`` on the CSV ``data`` (stored here)."""
    ds = store.add_dataset(data, name)
    return {"dataset_id": ds, "dataset_name": name, "csv_options": {}, "task": spec.data.task,
            "data_spec": spec.data.to_dict(), "model_spec": spec.model.to_dict(), "train_spec": spec.train.to_dict()}


def wait_for(cond, timeout: float, what: str, poll: float = 0.05):
    """Call ``cond`` every ``poll`` seconds until it returns something truthy, and return that;
    fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def set_env(**values: str | None) -> dict[str, str | None]:
    """Set environment variables (None removes one); returns their previous values, so that
    ``set_env(**old)`` puts them back."""
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return old


# ----------------------------------------------------------------------------- the real server and a browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(home: Path, log_path: Path, *, idle_exit: str = "60", env: dict[str, str] | None = None,
                    port: int | None = None, args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` (headless, on ``port`` or a free one, its own process group) on the data folder
    ``home``, with ``env`` added to the environment and ``args`` to the command line (``--secrets.files PATH``),
    output appended to ``log_path``; returns the process and its base URL once ``/_stcore/health`` answers.
    Stop it with :func:`kill_group` (``proc.pid``)."""
    port = port or free_port()
    full_env = dict(os.environ, SEQSTUDIO_HOME=str(home), SEQSTUDIO_WORKER_IDLE_EXIT=idle_exit,
                    PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *args],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                return r.read().strip() == b"ok"
        except OSError:
            if proc.poll() is not None:
                raise AssertionError("streamlit did not start: " + Path(log_path).read_text(errors="replace")[-3000:])
            return False

    try:
        wait_for(healthy, 90, "streamlit to answer", poll=0.2)
    except BaseException:
        kill_group(proc.pid)
        raise
    return proc, base


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group of ``pid`` (a process we started with ``start_new_session=True``)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def browser_available() -> bool:
    """Debian's Chromium and Playwright are both installed."""
    if not Path(CHROMIUM).exists():
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright's ``Browser``), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def browser_idle(page, timeout: float = 30.0) -> bool:
    """Wait until the app is drawn and its script is not running (no status widget); True when it got
    there within ``timeout`` seconds (a page with a live fragment may never be fully idle)."""
    page.wait_for_selector("[data-testid=stApp]")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator("[data-testid=stStatusWidget]").count() == 0:
            time.sleep(0.3)
            return True
        time.sleep(0.2)
    return False


SHOTS = ROOT / "test-artifacts" / "screenshots"   # git-ignored: for a person to look at


def serve_app(tmp: Path, *, env: dict[str, str] | None = None, port: int | None = None,
              args: tuple[str, ...] = ()) -> Iterator[dict]:
    """``streamlit run app.py`` on a free port (or ``port``) with its own data folder under ``tmp`` (for a module
    fixture: ``yield from serve_app(...)``), ``env`` and ``args`` as :func:`start_streamlit` takes them: yields
    ``{"base": url, "home", "tmp", "log"}``, then stops the server's process group and the run supervisor it
    started."""
    from seqcore.runs import runner

    if not browser_available():
        import pytest

        pytest.skip(f"{CHROMIUM} or Playwright is missing (apt-get install chromium)")
    home = tmp / "home"
    proc, base = start_streamlit(home, tmp / "streamlit.log", idle_exit="30", env=env, port=port, args=args)
    try:
        yield {"base": base, "home": home, "tmp": tmp, "log": tmp / "streamlit.log"}
    finally:
        kill_group(proc.pid, signal.SIGTERM)      # our own streamlit process group only
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait(15)
        runner.stop_supervisor(home)


def screenshot(page, name: str) -> None:
    """A screenshot of the whole page under ``test-artifacts/screenshots/NAME.png`` (the app scrolls inside
    its own container, so the viewport grows to the page's height for the shot)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], "
                           "section.main, [data-testid=stAppViewContainer]')).map(e => e.scrollHeight), 1000)")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 6000)})
    time.sleep(0.6)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def nav(page, label: str) -> None:
    """Open a page from the sidebar ("1 · Data") and wait until it is drawn and idle."""
    page.locator("[data-testid=stSidebar] a", has_text=label).first.click()
    page.wait_for_selector(f"h1:has-text('{label}')")
    browser_idle(page)
