"""Helpers shared by the app and hardening tests: Streamlit AppTest pages, waiting, environment variables.

``tests/conftest.py`` puts this folder on ``sys.path``, so test files use ``from helpers import ...``.
Shared fixtures (``short_worker_idle``, ``samples``, ...) live in ``conftest.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from streamlit.testing.v1 import AppTest

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import RunSpec
    from seqcore.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SAMPLES = ROOT / "seqcore" / "samples"
TIMEOUT = 60


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
