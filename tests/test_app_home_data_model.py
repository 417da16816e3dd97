"""AppTest checks of the Home, Data and Model pages (and pages/_ui/common.py).

Every test gets a fresh SEQSTUDIO_HOME (conftest). Nothing here waits for training: the one test
that queues a run ("Train with defaults") replaces the runner backend with one that starts no
worker, and checks what was queued.
"""

from __future__ import annotations

import gzip
import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages._ui.base import md
from seqcore.runs import runner
from seqcore.config import PRESETS, DataSpec, ModelSpec, RunSpec, TrainSpec, preset_overrides
from seqcore.outputs.report import PRESET_PURPOSE, describe_preset
from seqcore.modeling.tasks.classify import RNN_STEPS
from seqcore.runs.store import RunStore

from helpers import APP, SAMPLES, app, texts, upload

DATA, MODEL = "pages/1_Data.py", "pages/2_Model.py"

pytestmark = pytest.mark.usefixtures("short_worker_idle")


def metric(at: AppTest, label_start: str) -> str:
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric {label_start!r} in {[m.label for m in at.metric]}")


def semicolon_csv(n: int = 120, missing_at: tuple[int, ...] = ()) -> bytes:
    """A ';'-delimited series with decimal commas (European Excel export)."""
    import datetime as dt

    lines = ["Datum;Umsatz;Temperatur"]
    for i in range(n):
        day = (dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat()
        y = "" if i in missing_at else f"{1000 + 10 * math.sin(i / 4) + i * 0.5:.2f}"
        lines.append(f"{day};{y};{20 + math.cos(i / 5):.1f}".replace(".", ","))
    return ("\n".join(lines) + "\n").encode()


def series_csv(n: int = 150, missing_at: tuple[int, ...] = ()) -> bytes:
    rows = ["step,value"] + [f"{i},{'' if i in missing_at else f'{math.sin(i / 5):.4f}'}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


# ----------------------------------------------------------------------------- empty states


@pytest.mark.parametrize("path, expected", [
    (None, "Pick a sample above"),
    (DATA, "Upload a file (CSV, Parquet or Excel), pick a sample or an earlier upload"),
    (MODEL, "Set up the data first"),
])
def test_pages_empty_state(path, expected):
    at = app(path)
    assert not at.exception
    assert expected in texts(at.info)
    assert not at.error


def test_sidebar_shows_data_folder_and_worker(tmp_path):
    at = app()
    sidebar = texts(at.sidebar.code) + texts(at.sidebar.caption)
    assert str(Path(__import__("os").environ["SEQSTUDIO_HOME"]).resolve()) in sidebar
    assert "Worker: idle" in sidebar


# ----------------------------------------------------------------------------- home


def test_home_sample_click_sets_dataset_spec_and_next_step():
    at = app()
    at.button(key="home_sample_airline").click().run()
    assert not at.exception
    ss = at.session_state
    assert ss["dataset_name"] == "Airline.csv"
    spec = DataSpec.from_dict(ss["data_spec"])
    assert spec.task == "forecast" and spec.time == "Date" and spec.targets == ("Passengers",)
    assert spec.log_transform and spec.season == 12
    assert RunStore().get_dataset(ss["dataset_id"]).name == "Airline.csv"
    assert at.button(key="home_train_defaults").label.endswith("Train with defaults")
    assert md("Airline.csv") in texts(at.markdown)      # shown literally (markdown specials escaped)
    # the second sample with a separate TEST file
    at.button(key="home_sample_gunpoint").click().run()
    assert not at.exception
    assert at.session_state["test_dataset_name"] == "GunPoint_TEST.csv"
    assert DataSpec.from_dict(at.session_state["data_spec"]).task == "classify"


@pytest.mark.parametrize("key, task", [("sunspots", "forecast"), ("basicmotions", "classify"), ("reviews", "text")])
def test_every_sample_loads(key, task):
    at = app()
    at.button(key=f"home_sample_{key}").click().run()
    assert not at.exception and not at.error
    assert DataSpec.from_dict(at.session_state["data_spec"]).task == task


class _NoWorker(runner.Backend):
    name = "test"
    started = 0

    def ensure_started(self, home=None) -> None:
        _NoWorker.started += 1

    def describe(self, home=None) -> dict:
        return {"backend": self.name}


def test_home_train_with_defaults_queues_balanced_run(monkeypatch):
    from seqcore.runs import queue

    monkeypatch.setattr(queue, "get_backend", lambda name=None: _NoWorker())   # where submit_run looks it up
    monkeypatch.setattr(runner, "ensure_supervisor", lambda *a, **k: 0)
    at = app()
    at.button(key="home_sample_airline").click().run()
    at.button(key="home_train_defaults").click().run()
    assert not at.exception
    run_id = at.session_state["current_run_id"]
    rec = RunStore().get_run(run_id)
    assert rec.status == "queued" and rec.task == "forecast"
    spec = RunSpec.from_dict(rec.spec)
    assert spec.train.epochs == PRESETS["balanced"]["train"]["epochs"]
    assert spec.model.units == tuple(PRESETS["balanced"]["model"]["units"])
    assert rec.dataset_id == at.session_state["dataset_id"]
    assert at.session_state["preset"] == "balanced"
    assert _NoWorker.started >= 1


# ----------------------------------------------------------------------------- data


def test_data_upload_detects_format_and_checks_out():
    at = app(DATA)
    upload(at, "umsatz.csv", semicolon_csv())
    assert not at.exception and not at.error
    shown = texts(at.success)
    assert md("umsatz.csv") in shown and "';' delimited" in shown and "decimal comma" in shown
    assert at.radio(key="data_role_task").value == "forecast"
    assert at.selectbox(key="data_role_time").value == "Datum"
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert spec.targets and spec.task == "forecast"
    assert metric(at, "Training windows")
    assert len(at.get("plotly_chart")) == 1
    # the upload is stored (by content hash) and listed as an earlier upload
    assert [d.name for d in RunStore().list_datasets()] == ["umsatz.csv"]
    sidebar = texts(at.sidebar.text) + texts(at.sidebar.caption)
    assert "Data: umsatz.csv" in sidebar and "not set up yet" not in sidebar
    # options flow into the spec
    at.number_input(key="data_opt_window").set_value(12).run()
    at.number_input(key="data_opt_horizon").set_value(3).run()
    assert not at.exception
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert (spec.window, spec.horizon) == (12, 3)


def test_data_task_and_roles_can_be_changed():
    at = app(DATA)
    upload(at, "reviews.csv", (SAMPLES / "rt_polarity_subset.csv").read_bytes())
    assert at.radio(key="data_role_task").value == "text"
    assert at.selectbox(key="data_role_text").value == "text"
    assert at.selectbox(key="data_role_label").value == "label"
    at.number_input(key="data_opt_max_len").set_value(20).run()
    assert DataSpec.from_dict(at.session_state["data_spec"]).max_len == 20
    # a nonsensical choice: the label as the text column -> a clear error, no data_spec, no exception
    at.selectbox(key="data_role_text").set_value("label").run()
    assert not at.exception
    assert "must be different" in texts(at.error)
    assert at.session_state["data_spec"] is None


@pytest.mark.parametrize("name, data, expected", [
    ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG image"),
    ("packed.csv", gzip.compress(b"a,b\n1,2\n" * 50), "compressed"),
    ("empty.csv", b"", "empty"),
    ("header.csv", b"a,b,c\n", "no data rows"),
    ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n7,8\n", "Line 3"),
])
def test_data_bad_csv_shows_clear_error(name, data, expected):
    at = app(DATA)
    upload(at, name, data)
    assert not at.exception
    errors = texts(at.error)
    assert expected in errors, errors
    assert "Traceback" not in errors
    assert RunStore().list_datasets() == []   # nothing stored
    assert at.session_state["data_spec"] is None


def test_data_wrong_encoding_override_is_explained_then_recovers():
    at = app(DATA)
    upload(at, "cafe.csv", "Datum,Café\n1,2\n2,3\n3,4\n".encode("cp1252") + b"".join(
        f"{i},{i % 7}\n".encode() for i in range(4, 80)))
    assert not at.exception and not at.error
    assert "Windows-1252" in texts(at.success)
    at.selectbox(key="data_fmt_encoding").set_value("utf-8").run()
    assert not at.exception
    assert md("can't be read as utf-8") in texts(at.error)   # the message, Markdown-escaped
    at.selectbox(key="data_fmt_encoding").set_value("auto").run()
    assert not at.exception and not at.error
    assert at.session_state["data_spec"] is not None


def test_data_missing_values_need_an_explicit_choice():
    at = app(DATA)
    upload(at, "gaps.csv", series_csv(missing_at=(10, 11, 40)))
    assert not at.exception
    radio = at.radio(key="data_opt_missing")
    assert radio.value is None
    assert "Choose how to handle the missing values" in texts(at.warning)
    assert at.session_state["data_spec"] is None
    radio.set_value("interpolate").run()
    assert not at.exception
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert spec.missing == "interpolate"
    assert "filled by interpolation" in texts(at.info)


def test_data_separate_test_file_for_classification():
    at = app(DATA)
    upload(at, "GunPoint_TRAIN.csv", (SAMPLES / "GunPoint_TRAIN.csv").read_bytes())
    assert at.radio(key="data_role_task").value == "classify"
    upload(at, "GunPoint_TEST.csv", (SAMPLES / "GunPoint_TEST.csv").read_bytes(), key="data_test_upload")
    assert not at.exception and not at.error
    assert at.session_state["test_dataset_name"] == "GunPoint_TEST.csv"
    assert metric(at, "Test sequences") == "150"


def test_data_delete_earlier_dataset_with_runs_asks_first():
    store = RunStore()
    data = (SAMPLES / "Airline.csv").read_bytes()
    ds = store.add_dataset(data, "Airline.csv")
    store.create_run(spec=RunSpec(data=DataSpec(targets=("Passengers",))).to_dict(), dataset_id=ds,
                     task="forecast", status="finished")
    at = app(DATA, state={"_restored_from": ""})   # no restore: pick the file by hand
    at.radio(key="data_source").set_value("Earlier upload").run()
    assert not at.exception
    assert at.button(key="data_delete").disabled
    at.checkbox(key="data_delete_confirm").check().run()
    assert not at.button(key="data_delete").disabled
    at.button(key="data_delete").click().run()
    assert not at.exception
    assert store.list_datasets() == []
    assert f"Deleted {md('Airline.csv')}" in texts(at.success)


def test_data_sample_and_earlier_upload_sources():
    at = app(DATA)
    at.radio(key="data_source").set_value("Sample dataset").run()
    at.selectbox(key="data_sample").set_value("basicmotions").run()
    at.button(key="data_use_sample").click().run()
    assert not at.exception and not at.error
    assert at.radio(key="data_source").value == "Sample dataset"
    assert at.radio(key="data_role_layout").value == "long"
    assert metric(at, "Training sequences")
    at.radio(key="data_source").set_value("Earlier upload").run()
    assert not at.exception
    assert at.selectbox(key="data_earlier").value == at.session_state["dataset_id"]


def test_data_and_model_restore_latest_run_after_refresh():
    store = RunStore()
    ds = store.add_dataset((SAMPLES / "sunspots.csv").read_bytes(), "sunspots.csv")
    spec = RunSpec(data=DataSpec(time="YEAR", targets=("SUNACTIVITY",), window=30),
                   model=ModelSpec(cell="gru", units=(48,)), train=TrainSpec(epochs=7))
    store.create_run(spec=spec.to_dict(), dataset_id=ds, task="forecast", status="finished")
    at = app(MODEL)
    assert not at.exception
    assert "Picked up where you left off" in texts(at.info)
    assert at.radio(key="model_cell").value == "gru"
    assert at.number_input(key="model_units_0").value == 48
    assert at.number_input(key="model_epochs").value == 7
    at.switch_page(DATA).run()
    assert not at.exception
    assert at.number_input(key="data_opt_window").value == 30


# ----------------------------------------------------------------------------- model


def model_page(sample: str = "airline") -> AppTest:
    at = app()
    at.button(key=f"home_sample_{sample}").click().run()
    at.switch_page(MODEL).run()
    assert not at.exception, at.exception
    return at


def params(at: AppTest) -> int:
    return int(metric(at, "Parameters").replace(",", ""))


def test_model_widgets_change_the_estimate():
    at = model_page()
    p0 = params(at)
    at.number_input(key="model_units_0").set_value(128).run()
    p1 = params(at)
    assert p1 > p0
    assert at.session_state["model_spec"]["units"] == [128]
    at.number_input(key="model_layers").set_value(2).run()
    assert not at.exception
    assert params(at) > p1
    assert at.session_state["model_spec"]["units"] == [128, 128]
    at.radio(key="model_cell").set_value("gru").run()
    assert at.session_state["model_spec"]["cell"] == "gru"
    assert "GRU" in texts(at.dataframe[0].value["layer"]) if hasattr(at.dataframe[0].value["layer"], "value") \
        else any("GRU" in str(v) for v in at.dataframe[0].value["layer"])
    # recurrent dropout gives up the fast GPU kernel: the page says so
    at.slider(key="model_recurrent_dropout").set_value(0.2).run()
    assert "GPU" in texts(at.info)
    # training widgets are copied out as well
    at.number_input(key="model_epochs").set_value(5).run()
    at.select_slider(key="model_batch_size").set_value(64).run()
    at.toggle(key="model_jit").set_value(True).run()
    t = at.session_state["train_spec"]
    assert (t["epochs"], t["batch_size"], t["jit_compile"]) == (5, 64, True)


def test_model_estimate_time_reacts_to_size():
    at = model_page("reviews")
    assert "Embedding" in " ".join(str(v) for v in at.dataframe[0].value["layer"])
    assert at.number_input(key="model_embedding_dim")
    before = metric(at, "Per epoch")
    at.number_input(key="model_units_0").set_value(256).run()
    after = metric(at, "Per epoch")
    assert before != after
    assert "estimate" in " ".join(m.label for m in at.metric).lower()


def test_model_memory_limit_refusal_is_shown_inline():
    at = model_page()
    at.number_input(key="model_max_memory").set_value(16).run()
    assert not at.exception
    assert "MB allowed" in texts(at.error)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_model_preset_applies(preset):
    at = model_page()
    at.number_input(key="model_epochs").set_value(3).run()
    at.button(key=f"model_preset_{preset}").click().run()
    assert not at.exception
    p = PRESETS[preset]
    assert at.session_state["preset"] == preset
    assert at.session_state["train_spec"]["epochs"] == p["train"]["epochs"]
    assert tuple(at.session_state["model_spec"]["units"]) == tuple(p["model"]["units"])
    assert at.number_input(key="model_layers").value == len(p["model"]["units"])
    assert at.number_input(key="model_epochs").value == p["train"]["epochs"]


def test_model_script_is_shown_and_downloadable():
    at = model_page()
    code = texts(at.code)
    assert "import keras" in code and "Passengers" in code and "Airline.csv" in code
    compile(at.code[0].value, "script.py", "exec")
    at.number_input(key="model_units_0").set_value(40).run()
    assert "40" in at.code[0].value
    assert len(at.get("download_button")) == 1


def test_model_settings_survive_a_page_change():
    at = model_page()
    at.number_input(key="model_epochs").set_value(9).run()
    at.slider(key="model_dropout").set_value(0.25).run()
    at.switch_page(DATA).run()
    assert not at.exception
    at.switch_page(MODEL).run()
    assert not at.exception
    assert at.number_input(key="model_epochs").value == 9
    assert at.slider(key="model_dropout").value == 0.25


# ----------------------------------------------------------------------------- helpers


def test_epoch_seconds_formula():
    from pages._ui import common as ui

    m, t = ModelSpec(), TrainSpec(batch_size=32)
    one = ui.epoch_seconds(m, t, 17_000, 24, 1000)
    assert one > 0
    assert ui.epoch_seconds(m, t, 17_000, 24, 2000) == pytest.approx(2 * one, rel=0.05)
    assert ui.epoch_seconds(m, t.replace(jit_compile=True), 17_000, 24, 1000) < one
    assert ui.epoch_seconds(m.replace(units=(64, 64)), t, 17_000, 24, 1000) > one
    assert ui.epoch_seconds(m, t, 17_000, 24, 1000, factor=2.0) == pytest.approx(2 * one)
    layers = [{"name": "Embedding", "params": 1000}, {"name": "LSTM 64", "params": 500},
              {"name": "Bidirectional GRU 8", "params": 70}, {"name": "Dense (softmax)", "params": 9}]
    assert ui.recurrent_params(layers) == 570


def test_model_page_when_the_restored_runs_file_was_deleted():
    store = RunStore()
    ds = store.add_dataset((SAMPLES / "sunspots.csv").read_bytes(), "sunspots.csv")
    spec = RunSpec(data=DataSpec(time="YEAR", targets=("SUNACTIVITY",)))
    store.create_run(spec=spec.to_dict(), dataset_id=ds, task="forecast", status="finished")
    store.delete_dataset(ds, force=True)
    at = app(MODEL)
    assert not at.exception and not at.error
    assert "no longer stored" in texts(at.info)


# ----------------------------------------------------------------------------- issue-5 leftovers


def plain(markdown: str) -> str:
    """Markdown text as it reads on screen: backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def captions(at: AppTest) -> str:
    return plain(texts(at.caption))


def test_data_group_steps_widget_sets_the_spec_and_the_network_input():
    at = app()
    at.button(key="home_sample_gunpoint").click().run()      # 150 steps, one value per step
    at.switch_page(DATA).run()
    assert not at.exception and not at.error
    box = at.number_input(key="data_opt_group_steps")
    assert box.value == 0 and f"at most {RNN_STEPS} steps" in box.help
    k_auto = -(-150 // RNN_STEPS)
    assert f"reads {k_auto} consecutive steps at a time" in captions(at)
    box.set_value(10).run()
    assert not at.exception and not at.error
    assert DataSpec.from_dict(at.session_state["data_spec"]).group_steps == 10
    assert "reads 10 consecutive steps at a time (15 steps of 10 values instead of 150 steps" in captions(at)
    at.switch_page(MODEL).run()
    assert not at.exception
    shapes = [str(v) for v in at.dataframe[0].value["output shape"]]
    assert shapes[0] == "(batch, 15, 10)", shapes
    at.switch_page(DATA).run()
    assert at.number_input(key="data_opt_group_steps").value == 10     # kept across pages
    at.number_input(key="data_opt_group_steps").set_value(1).run()
    assert DataSpec.from_dict(at.session_state["data_spec"]).group_steps == 1
    assert "consecutive steps" not in captions(at)
    # not a forecasting or text setting
    at.radio(key="data_role_task").set_value("forecast").run()
    assert not at.exception
    assert not [w for w in at.number_input if w.key == "data_opt_group_steps"]


@pytest.mark.parametrize("sample, task", [("airline", "forecast"), ("gunpoint", "classify"), ("reviews", "text")])
def test_model_preset_descriptions_come_from_the_task_presets(sample, task):
    at = model_page(sample)
    shown = captions(at)
    for name in PRESETS:
        over = preset_overrides(name, task)
        assert describe_preset(name, task) in shown
        assert PRESET_PURPOSE[name] in shown
        assert f"up to {over['train']['epochs']} epochs" in shown
        assert f"batch {over['train']['batch_size']}" in at.button(key=f"model_preset_{name}").help
    at.button(key="model_preset_balanced").click().run()
    assert not at.exception
    over = preset_overrides("balanced", task)
    assert at.session_state["train_spec"]["epochs"] == over["train"]["epochs"]
    assert at.session_state["train_spec"]["learning_rate"] == over["train"]["learning_rate"]
    assert at.session_state["model_spec"]["bidirectional"] == over["model"].get("bidirectional", False)
    # the Home page's "Train with defaults" explains the same preset for this task
    at.switch_page(APP).run()
    assert not at.exception
    assert describe_preset("balanced", task) in texts(at.markdown)


def test_model_preset_description_follows_changed_presets(monkeypatch):
    from seqcore import config

    changed = {p: dict(v) for p, v in config.TASK_PRESETS["classify"].items()}
    changed["quick"] = {"model": {"units": (16,), "bidirectional": True, "dropout": 0.35},
                        "train": {"epochs": 11, "patience": 4, "batch_size": 8, "learning_rate": 4e-3}}
    monkeypatch.setitem(config.TASK_PRESETS, "classify", changed)
    at = model_page("gunpoint")
    shown = captions(at)
    assert ("Bidirectional LSTM, 16 units, dropout 0.35, up to 11 epochs, stops after 4 epochs without "
            "improvement, batch 8, learning rate 0.004") in shown
    at.radio(key="model_cell").set_value("gru").run()
    assert "Bidirectional GRU, 16 units" in captions(at)
    at.button(key="model_preset_quick").click().run()
    assert not at.exception
    assert at.session_state["train_spec"]["epochs"] == 11 and at.session_state["model_spec"]["cell"] == "gru"


MARKDOWN_NAME = "my_*sales*_[v1](x).csv"
MARKDOWN_COLUMN = "**value**"


def _markdown_bodies(at: AppTest) -> str:
    parts = [at.markdown, at.caption, at.success, at.info, at.warning, at.error, at.title, at.header, at.subheader]
    return "\n".join(texts(p) for p in parts) + "\n" + texts(at.sidebar.markdown)


def test_file_and_column_names_are_shown_literally_not_as_markdown():
    rows = [f"step,{MARKDOWN_COLUMN}"] + [f"{i},{'' if i in (5, 6) else f'{math.sin(i / 5):.4f}'}"
                                         for i in range(150)]
    at = app(DATA)
    upload(at, MARKDOWN_NAME, ("\n".join(rows) + "\n").encode())
    assert not at.exception
    assert at.multiselect(key="data_role_targets").value == [MARKDOWN_COLUMN]   # widgets show the real name
    at.radio(key="data_opt_missing").set_value("interpolate").run()
    assert not at.exception and not at.error
    bodies = _markdown_bodies(at)
    assert md(MARKDOWN_NAME) in texts(at.success)
    assert md(MARKDOWN_COLUMN) in bodies                    # the interpolation note names the column
    assert MARKDOWN_NAME not in bodies and MARKDOWN_COLUMN not in bodies and "*sales*" not in bodies
    at.switch_page(MODEL).run()
    assert not at.exception
    assert md(MARKDOWN_NAME) in texts(at.caption) and "*sales*" not in _markdown_bodies(at)
    at.switch_page(APP).run()
    assert not at.exception
    assert f"**{md(MARKDOWN_NAME)}** is ready" in texts(at.markdown)
    assert "*sales*" not in _markdown_bodies(at)


def test_model_page_uses_the_presets_settings_for_the_task_of_the_data():
    """A session starts with the forecasting 'balanced' settings: on classification data the Model page
    switches them to the classification 'balanced' settings, but never settings the user changed."""
    at = model_page("gunpoint")
    over = preset_overrides("balanced", "classify")
    assert at.session_state["preset"] == "balanced"
    assert at.session_state["train_spec"]["epochs"] == over["train"]["epochs"]
    assert at.session_state["train_spec"]["batch_size"] == over["train"]["batch_size"]
    assert at.session_state["model_spec"]["bidirectional"] is True
    assert at.toggle(key="model_bidirectional").value is True
    assert at.number_input(key="model_epochs").value == over["train"]["epochs"]
    assert "Switched to the *balanced* preset's settings for sequence classification" in texts(at.info)
    at.run()
    assert "Switched" not in texts(at.info)                       # once
    # a changed setting is the user's: another task's data leaves it alone
    at.number_input(key="model_epochs").set_value(9).run()
    at.switch_page(APP).run()
    at.button(key="home_sample_reviews").click().run()
    at.switch_page(MODEL).run()
    assert not at.exception
    assert at.session_state["train_spec"]["epochs"] == 9 and "Switched" not in texts(at.info)


def test_model_word_vectors_choice_for_texts_is_kept():
    at = model_page("reviews")
    box = at.selectbox(key="model_word_vectors")
    assert box.value == ModelSpec().word_vectors
    assert "Learned from scratch" in box.options and any(o.startswith("Pretrained: ") for o in box.options)
    box.set_value("none").run()
    assert not at.exception and at.session_state["model_spec"]["word_vectors"] == "none"
    at.number_input(key="model_units_0").set_value(40).run()       # another change keeps the choice
    assert at.session_state["model_spec"]["word_vectors"] == "none"
    at.switch_page(DATA).run()
    at.switch_page(MODEL).run()
    assert not at.exception and at.selectbox(key="model_word_vectors").value == "none"
    # not offered for numbers
    at = model_page("airline")
    assert not [w for w in at.selectbox if w.key == "model_word_vectors"]


def test_model_pooling_and_word_vector_dropout_for_classifiers():
    from seqcore.config import POOLING

    at = model_page("reviews")
    pool = at.selectbox(key="model_pooling")
    assert pool.value == "mean+max" and len(pool.options) == len(POOLING)       # the text preset's choice
    assert at.slider(key="model_embedding_dropout").value == 0.2
    before = params(at)
    pool.set_value("last").run()
    assert not at.exception and at.session_state["model_spec"]["pooling"] == "last"
    assert params(at) < before                       # the output layer reads half as many numbers
    at.slider(key="model_embedding_dropout").set_value(0.35).run()
    assert at.session_state["model_spec"]["embedding_dropout"] == 0.35
    pairs = at.number_input(key="model_word_pairs")
    assert pairs.value == 16 and "neighbouring words" in pairs.help              # the text preset's choice
    with_pairs = params(at)
    pairs.set_value(0).run()
    assert not at.exception and at.session_state["model_spec"]["word_pairs"] == 0
    assert with_pairs - params(at) >= 65536 * 16                    # the pair table is gone from the count
    # forecasting has none of them
    at = model_page("airline")
    assert not [w for w in at.selectbox if w.key == "model_pooling"]
    assert not [w for w in at.slider if w.key == "model_embedding_dropout"]
    assert not [w for w in at.number_input if w.key == "model_word_pairs"]


def test_rough_durations_fit_a_metric_card():
    from pages._ui.common import fmt_rough_seconds

    assert fmt_rough_seconds(4.94) == "4.9 s" and fmt_rough_seconds(75) == "1 min 15 s"   # short ones stay exact
    assert fmt_rough_seconds(294) == "≈ 5 min"
    assert fmt_rough_seconds(3 * 3600 + 20 * 60) == "≈ 3.3 h"
    assert fmt_rough_seconds(40 * 3600) == "≈ 40 h" and fmt_rough_seconds(None) == "-"
