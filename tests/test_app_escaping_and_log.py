"""AppTest checks that user text reaches the pages' Markdown only escaped (no link or image can be injected
through a sweep, file or column name), and that an unexpected error lands in the app log named on the page.

Every test gets a fresh SEQSTUDIO_HOME (conftest); nothing here trains or starts a worker.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages._ui.base import md
from seqcore import sweeps
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.runs import runner
from seqcore.runs.store import RunStore
from seqcore.sweeps import SweepConfig, parse_vary

from helpers import APP, app, texts, upload

DATA, SWEEPS = "pages/1_Data.py", "pages/7_Sweeps.py"
LINK = "[x](http://e)"
IMAGE = "![x](http://e/x.png)"

pytestmark = pytest.mark.usefixtures("short_worker_idle")

# a Markdown link or image as the renderer would see it: an unescaped "[" ... "](" (backslash-escaped
# characters removed first, so "\[x\]\(http" does not count)
_LINK_SYNTAX = re.compile(r"!?\[[^\]]*\]\(")


def has_markdown_link(text: str) -> bool:
    return bool(_LINK_SYNTAX.search(re.sub(r"\\.", "", text)))


def markdown_bodies(at: AppTest) -> list[str]:
    """The Markdown of every element that renders its value as Markdown, main area and sidebar."""
    kinds = ("markdown", "caption", "success", "info", "warning", "error", "title", "header", "subheader")
    return [str(e.value) for k in kinds for e in at.get(k)] + [str(e.value) for e in at.sidebar.markdown]


def test_markdown_link_helper():
    assert has_markdown_link(LINK) and has_markdown_link(IMAGE)
    assert not has_markdown_link(md(LINK)) and not has_markdown_link(md(IMAGE))


# ----------------------------------------------------------------------------- a sweep's name


def sine_csv(n: int = 120) -> bytes:
    return ("t,y\n" + "".join(f"{i},{math.sin(i / 5):.4f}\n" for i in range(n))).encode()


def test_sweep_named_with_a_markdown_link_is_shown_literally():
    store = RunStore()
    ds = store.add_dataset(sine_csv(), "sine.csv")
    base = RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=8),
                   ModelSpec(units=(4,)), TrainSpec(epochs=2))
    cfg = SweepConfig(params=(parse_vary("units=4,8"),), method="grid", trials=2)
    sid = sweeps.start_sweep(store, base, cfg, ds, name=f"best {LINK} sweep", start=False)
    assert sweeps.stop_sweep(store, sid) == "stopped"           # no trials: stopped at once, no driver needed
    at = app(SWEEPS)
    assert not at.exception
    heads = texts(at.subheader)
    assert f"best {md(LINK)} sweep" in heads                    # the escaped form reaches the Markdown ...
    assert LINK not in heads
    bodies = markdown_bodies(at)
    assert not [b for b in bodies if has_markdown_link(b)], bodies   # ... and no element holds a link
    # the select box shows the name as it is (its options are plain text, not Markdown)
    assert any(f"best {LINK} sweep" in o for o in at.selectbox(key="sweeps_follow").options)


# ----------------------------------------------------------------------------- an error naming a column


def wide_csv(columns: list[str], n: int = 40) -> bytes:
    head = ",".join(["label", *columns])
    rows = [",".join([("a", "b")[i % 2], *(f"{math.sin(i + j):.3f}" for j in range(len(columns)))]) for i in range(n)]
    return ("\n".join([head, *rows]) + "\n").encode()


def test_data_error_naming_an_image_column_is_shown_literally():
    steps = [f"s{j}" for j in range(12)]
    at = upload(app(DATA), "train.csv", wide_csv([*steps, IMAGE]))
    assert not at.exception
    at.radio(key="data_role_task").set_value("classify").run()
    assert not at.exception
    # a separate test file without the image-named column: the page refuses it, naming that column
    at.file_uploader(key="data_test_upload").set_value(("test.csv", wide_csv(steps), "text/csv"))
    at.run()
    assert not at.exception
    errors = [str(e.value) for e in at.error]
    shown = [e for e in errors if "lacks column" in e]
    assert shown, errors
    assert md(IMAGE) in shown[0] and IMAGE not in shown[0]
    assert not has_markdown_link(shown[0])
    assert not [b for b in markdown_bodies(at) if has_markdown_link(b)]


# ----------------------------------------------------------------------------- the app log


def test_an_unexpected_error_is_logged_to_the_app_log_named_on_the_page(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail 42 that the page must not show")

    at = app()
    at.button(key="home_sample_airline").click().run()
    assert not at.exception
    monkeypatch.setattr(runner, "submit_run", broken)
    at.button(key="home_train_defaults").click().run()
    assert not at.exception
    log = Path(os.environ["SEQSTUDIO_HOME"]).resolve() / "logs" / "app.log"
    assert log.is_file()
    text = log.read_text(encoding="utf-8")
    assert "Unexpected error on a page" in text and "Traceback (most recent call last)" in text
    assert "RuntimeError: internal detail 42" in text and "in broken" in text
    [message] = [str(e.value) for e in at.error]
    assert "Something went wrong on our side" in message and md(log) in message
    assert "internal detail" not in message


def test_a_user_mistake_is_not_logged_as_an_error(monkeypatch):
    from seqcore.errors import SpecError

    def refuse(*args, **kwargs):
        raise SpecError("Too big [for](http://e) memory.")

    at = app()
    at.button(key="home_sample_airline").click().run()
    monkeypatch.setattr(runner, "submit_run", refuse)
    at.button(key="home_train_defaults").click().run()
    assert not at.exception
    [message] = [str(e.value) for e in at.error]
    assert message == md("Too big [for](http://e) memory.")
    log = Path(os.environ["SEQSTUDIO_HOME"]).resolve() / "logs" / "app.log"
    assert "Too big" not in (log.read_text(encoding="utf-8") if log.exists() else "")


def test_the_log_folder_is_made_by_the_first_page():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    assert (Path(os.environ["SEQSTUDIO_HOME"]).resolve() / "logs").is_dir()
