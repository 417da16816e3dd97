"""Environment settings are checked loudly (seqcore.settings), log files rotate (seqcore.logs), and CSV
exports neutralise formulas even behind leading whitespace. None of this imports Keras."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from seqcore import logs, settings
from seqcore.config import Limits
from seqcore.errors import SettingsError, UserError
from seqcore.modeling import training
from seqcore.outputs.export import csv_bytes, escape_cell

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize("name, value", [
    ("SEQSTUDIO_MAX_UPLOAD_MB", "lots"),
    ("SEQSTUDIO_MAX_UPLOAD_MB", "-5"),
    ("SEQSTUDIO_MAX_UPLOAD_MB", "0"),
    ("SEQSTUDIO_MAX_UPLOAD_MB", "inf"),
    ("SEQSTUDIO_MAX_ROWS", "1e3.5"),
    ("SEQSTUDIO_MAX_ROWS", "2.5"),
    ("SEQSTUDIO_MAX_ROWS", "0"),
    ("SEQSTUDIO_MAX_COLUMNS", "nan"),
])
def test_malformed_limit_is_refused_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        Limits.from_env()
    msg = str(err.value)
    assert name in msg and repr(value) in msg
    assert "\n" not in msg
    assert isinstance(err.value, UserError)


def test_one_bad_limit_does_not_reset_the_others(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_MAX_UPLOAD_MB", "50")
    monkeypatch.setenv("SEQSTUDIO_MAX_ROWS", "1_000")
    monkeypatch.setenv("SEQSTUDIO_MAX_COLUMNS", "")   # blank = unset
    lim = Limits.from_env()
    assert lim.max_bytes == 50 * 2**20
    assert lim.max_rows == 1000
    assert lim.max_columns == Limits().max_columns


@pytest.mark.parametrize("value", ["pytorch", "tf", "jaxx", "auto-ish"])
def test_unknown_backend_is_refused(monkeypatch, value):
    monkeypatch.delitem(sys.modules, "keras", raising=False)   # else Keras' fixed backend answers first
    monkeypatch.setenv("SEQSTUDIO_BACKEND", value)
    with pytest.raises(SettingsError, match="SEQSTUDIO_BACKEND") as err:
        training.backend_name()
    assert "auto, jax, tensorflow" in str(err.value)


@pytest.mark.parametrize("value, expected", [("TensorFlow", "tensorflow"), (" jax ", "jax"), ("", "auto")])
def test_backend_values_are_case_and_space_tolerant(monkeypatch, value, expected):
    monkeypatch.setenv("SEQSTUDIO_BACKEND", value)
    assert settings.backend() == expected


def test_jax_requested_but_missing_is_refused(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)   # else Keras' fixed backend answers first
    monkeypatch.setenv("SEQSTUDIO_BACKEND", "jax")
    monkeypatch.setattr(training, "_jax_installed", lambda: False)
    with pytest.raises(SettingsError, match="JAX is not installed"):
        training.backend_name()


@pytest.mark.parametrize("name, value", [
    ("SEQSTUDIO_RUNNER", "kubernetes"),
    ("SEQSTUDIO_PREWARM", "maybe"),
    ("SEQSTUDIO_MAX_WORKERS", "0"),
    ("SEQSTUDIO_MAX_WORKERS", "two"),
    ("SEQSTUDIO_WORKER_NICE", "25"),
    ("SEQSTUDIO_WORKER_IDLE_EXIT", "soon"),
    ("SEQSTUDIO_WORKER_IDLE_EXIT", "0"),
    ("SEQSTUDIO_BACKEND", "cuda"),
    ("SEQSTUDIO_MAX_ROWS", "many"),
    ("SEQSTUDIO_STAT_BUDGET", "-1"),
    ("SEQSTUDIO_STAT_BUDGET", "a minute"),
    ("SEQSTUDIO_BASE_SEARCH", "sometimes"),
    ("SEQSTUDIO_DATA_PARALLEL", "many"),
    ("SEQSTUDIO_DATA_PARALLEL", "100"),
])
def test_check_refuses_every_malformed_setting(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        settings.check()


def test_check_accepts_defaults_and_good_values(monkeypatch, tmp_path):
    settings.check()
    for name, value in [("SEQSTUDIO_RUNNER", "Ray"), ("SEQSTUDIO_PREWARM", "off"), ("SEQSTUDIO_MAX_WORKERS", "2"),
                        ("SEQSTUDIO_WORKER_NICE", "0"), ("SEQSTUDIO_WORKER_IDLE_EXIT", "20"),
                        ("SEQSTUDIO_COMPILE_CACHE", str(tmp_path)), ("SEQSTUDIO_BACKEND", "tensorflow"),
                        ("SEQSTUDIO_STAT_BUDGET", "7.5"), ("SEQSTUDIO_BASE_SEARCH", "on")]:
        monkeypatch.setenv(name, value)
    settings.check()
    assert settings.runner() == "ray" and settings.prewarm() is False and settings.max_workers() == 2
    assert settings.worker_idle_exit() == 20.0 and settings.compile_cache() == str(tmp_path)
    assert settings.stat_budget() == 7.5 and settings.base_search() is True


def test_data_parallel_setting(monkeypatch):
    monkeypatch.delenv("SEQSTUDIO_DATA_PARALLEL", raising=False)
    assert settings.data_parallel() is None
    for value, expected in [("auto", None), ("on", None), ("off", 1), ("0", 1), ("4", 4)]:
        monkeypatch.setenv("SEQSTUDIO_DATA_PARALLEL", value)
        assert settings.data_parallel() == expected, value


def test_compile_cache_switch(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_COMPILE_CACHE", "off")
    assert settings.compile_cache() is None
    assert training.enable_compile_cache() is None
    monkeypatch.setenv("SEQSTUDIO_COMPILE_CACHE", "on")
    assert settings.compile_cache() == ""   # on = the default folder under the data folder


def test_default_home_follows_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQSTUDIO_HOME", str(tmp_path / "h"))
    assert settings.default_home() == tmp_path / "h"
    monkeypatch.delenv("SEQSTUDIO_HOME")
    assert settings.default_home() == Path.home() / ".seqstudio"


def test_cli_refuses_a_bad_setting_with_one_line_and_exit_2(tmp_path):
    env = {"SEQSTUDIO_HOME": str(tmp_path), "SEQSTUDIO_MAX_ROWS": "lots", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "seqcore", "inspect", str(ROOT / "seqcore/samples/Airline.csv")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "SEQSTUDIO_MAX_ROWS" in lines[0] and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- logs


def test_log_file_is_under_home_logs_and_rotates(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    path = logs.setup(tmp_path, "app")
    assert path == (tmp_path / "logs" / "app.log").resolve()
    assert logs.setup(tmp_path, "app") == path          # idempotent: one handler
    log = logs.get("app")
    assert sum(getattr(h, "_seqstudio", False) for h in log.handlers) == 1
    try:
        raise ValueError("boom for the log")
    except ValueError:
        log.exception("an unexpected error")
    for i in range(200):
        log.info("line %d %s", i, "x" * 40)
    for h in log.handlers:
        h.flush()
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert "app.log" in files and "app.log.1" in files
    assert len([f for f in files if f.startswith("app.log")]) <= 1 + logs.BACKUPS
    whole = "".join((tmp_path / "logs" / f).read_text() for f in files)
    assert "line 199" in whole


def test_log_moves_with_the_home(tmp_path):
    a = logs.setup(tmp_path / "a", "worker")
    b = logs.setup(tmp_path / "b", "worker")
    assert a != b
    logs.get("worker").warning("to b")
    for h in logs.get("worker").handlers:
        h.flush()
    assert "to b" in b.read_text()
    assert sum(getattr(h, "_seqstudio", False) for h in logs.get("worker").handlers) == 1


def test_unknown_log_component_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        logs.log_file(tmp_path, "nonsense")


@pytest.fixture(autouse=True)
def _drop_log_handlers():
    yield
    for comp in logs.COMPONENTS:
        lg = logs.get(comp)
        for h in list(lg.handlers):
            if getattr(h, "_seqstudio", False):
                lg.removeHandler(h)
                h.close()


# ----------------------------------------------------------------------------- CSV export


@pytest.mark.parametrize("cell", [" =1+1", "  @SUM(A1:A9)", "\u00a0+cmd|' /C calc'!A0", "\t=x", "\n-2+3",
                                  "\u3000=HYPERLINK(\"http://e\")", "\uff1d1+1", "|calc"])
def test_formulas_behind_whitespace_are_neutralised(cell):
    assert escape_cell(cell) == "'" + cell
    df = pd.DataFrame({"text": [cell], cell: [1.5]})
    text = csv_bytes(df).decode()
    back = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
    assert list(back.columns) == ["text", "'" + cell]
    assert back.iloc[0, 0] == "'" + cell


@pytest.mark.parametrize("cell", ["plain text", " leading space", "a=b", "3-2", "email@x.org"])
def test_ordinary_text_is_left_alone(cell):
    assert escape_cell(cell) == cell


def test_numbers_stay_numbers():
    df = pd.DataFrame({"y": [-1.5, 2.0], "n": [-3, 4]})
    assert csv_bytes(df).decode().splitlines()[1] == "-1.5,-3"
