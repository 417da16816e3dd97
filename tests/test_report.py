"""The shareable HTML report: escaped user text, plotly.js inlined once, metrics beside baselines."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.modeling.metrics import classification_metrics, compare_to_baselines, forecast_metrics
from seqcore.outputs.report import describe_run, run_report_html, verdict
from seqcore.outputs.viz import format_number

EVIL_NAME = "<script>alert(1)</script>"
EVIL_LABEL = "<b>x</b>"


def _history(n=6):
    pts = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.1 / e + 0.01 * e, "lr": 1e-3} for e in range(1, n + 1)]
    pts += [{"kind": "batch", "epoch": 1, "batch": 3, "batches": 10, "loss": 1.4}]
    return pts


@pytest.fixture
def classify_run():
    names = [EVIL_LABEL, "plain"]
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    proba = np.array([[.9, .1], [.3, .7], [.2, .8], [.4, .6], [.7, .3], [.8, .2], [.1, .9], [.6, .4]])
    test = classification_metrics(y, proba, names)
    base = {"majority_class": classification_metrics(y, np.tile([0.0, 1.0], (8, 1)), names),
            "bag_of_words": classification_metrics(y, np.tile([0.6, 0.4], (8, 1)), names)}
    metrics = {"test": test, "baselines": base, "comparison": compare_to_baselines(test, base, "accuracy"),
               "training": {"epochs_run": 6, "best_epoch": 4, "early_stopped": True, "seconds": 12.5,
                            "params": 4321, "sizes": {"train": 30, "val": 6, "test": 8}},
               "notes": ["1 row(s) without a label were left out <i>really</i>."]}
    texts = ["good film", "<img src=x onerror=alert(2)>", "meh", "fine", "awful & dull", "ok", "great", "bad"]
    pred = pd.DataFrame({"text": texts, "actual": [names[i] for i in y],
                         "predicted": [names[i] for i in proba.argmax(1)], "confidence": proba.max(1)})
    spec = RunSpec(data=DataSpec(task="text", text="review <u>", label="sentiment"),
                   model=ModelSpec(cell="gru", units=(32, 16), dropout=0.2, embedding_dim=16),
                   train=TrainSpec(epochs=20, patience=3))
    return spec, metrics, pred


@pytest.fixture
def forecast_run():
    rng = np.random.default_rng(0)
    n, H = 20, 2
    actual = rng.normal(100, 10, size=(n, H, 1))
    pred = actual + rng.normal(0, 1, size=actual.shape)
    train = rng.normal(100, 10, size=50)
    test = forecast_metrics(actual, pred, y_train=train, target_names=["sales <x>"])
    base = {"naive": forecast_metrics(actual, actual + 5, y_train=train, target_names=["sales <x>"]),
            "mean": forecast_metrics(actual, np.full_like(actual, 100.0), y_train=train, target_names=["sales <x>"])}
    metrics = {"test": test, "baselines": base, "comparison": compare_to_baselines(test, base, "mae"),
               "training": {"epochs_run": 6, "best_epoch": 6, "seconds": 3.0, "params": 999,
                            "sizes": {"train": 40, "val": 10, "test": n}}, "notes": []}
    times = pd.date_range("2024-01-01", periods=n + H, freq="D")
    rows = [(str(times[i].date()), h + 1, str(times[i + h + 1].date()), "sales <x>", actual[i, h, 0], pred[i, h, 0])
            for i in range(n - 1) for h in range(H)]
    pred_df = pd.DataFrame(rows, columns=["origin", "step", "time", "target", "actual", "predicted"])
    pred_df["error"] = pred_df["predicted"] - pred_df["actual"]
    fc = pd.DataFrame({"step": [1, 2], "time": ["2024-01-23", "2024-01-24"], "sales <x>": [101.5, 99.25]})
    spec = RunSpec(data=DataSpec(task="forecast", time="day", targets=("sales <x>",), window=7, horizon=H),
                   train=TrainSpec(epochs=6))
    return spec, metrics, pred_df, fc


def _figure_count(html: str) -> int:
    return html.count("Plotly.newPlot(")


def test_text_report_escapes_user_text(classify_run):
    spec, metrics, pred = classify_run
    html = run_report_html(run_name=EVIL_NAME, spec=spec, metrics=metrics, history=_history(), predictions=pred,
                           forecast=None, created="2025-01-02 10:00")
    assert EVIL_NAME not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL_LABEL not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<i>really</i>" not in html and "&lt;i&gt;really&lt;/i&gt;" in html
    assert "review <u>" not in html and "review &lt;u&gt;" in html
    # the only <script> tags are plotly.js itself and one per figure
    assert html.lower().count("<script") == 1 + _figure_count(html)


def test_report_inlines_plotly_once_and_works_offline(classify_run):
    spec, metrics, pred = classify_run
    html = run_report_html(run_name="r", spec=spec, metrics=metrics, history=_history(), predictions=pred,
                           forecast=None)
    js = get_plotlyjs()
    assert html.count(js[:300]) == 1 and js[-300:] in html
    assert not re.search(r"<script[^>]+src=", html)           # nothing loaded from the network
    assert _figure_count(html) == 2                             # loss curve + confusion matrix
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_report_contains_metrics_and_baselines(classify_run):
    spec, metrics, pred = classify_run
    html = run_report_html(run_name="r", spec=spec, metrics=metrics, history=_history(), predictions=pred,
                           forecast=None)
    acc = metrics["test"]["accuracy"]
    assert f"{acc * 100:.1f}%" in html
    assert "majority class" in html and "bag of words" in html
    for label in ("Accuracy", "Balanced accuracy", "Macro F1", "Log loss", "ROC AUC"):
        assert f">{label}<" in html
    diff = acc - max(b["accuracy"] for b in metrics["baselines"].values())
    assert f"{diff * 100:+.1f} pp" in html
    assert "most confident mistakes" in html
    assert "ran 6 epochs" in html and "4,321 parameters" in html
    # the spec table shows text settings, not forecasting ones
    assert ">max_vocab<" in html and ">window<" not in html


def test_forecast_report(forecast_run):
    spec, metrics, pred_df, fc = forecast_run
    html = run_report_html(run_name="Sales run", spec=spec, metrics=metrics, history=_history(), predictions=pred_df,
                           forecast=fc)
    mae = metrics["test"]["mae"]
    assert f"<b>{format_number(mae)}</b>" in html
    assert "naive (last value)" in html and "training mean" in html and "MASE" in html
    assert "Error by how far ahead" in html                    # horizon 2: per-step table
    assert _figure_count(html) == 4                           # loss, forecast, residuals, future
    assert "sales <x>" not in html and "sales &lt;x&gt;" in html
    assert "101.5" in html and ">window<" in html
    assert "sales \\u003cx\\u003e" not in html                # plotly data holds the entity-escaped name only


def test_verdict_and_description(classify_run, forecast_run):
    spec, metrics, _ = classify_run
    text, won = verdict(metrics, "text")
    assert won is metrics["comparison"]["better"]
    assert ("beats" in text) if won else ("does not beat" in text)
    lines = describe_run(spec, metrics)
    assert any("GRU with 2 stacked layers (32, 16 units)" in s for s in lines)
    assert any("early stopping ended it" in s for s in lines)
    fspec, fmetrics, _, _ = forecast_run
    assert any("next 2 values of 'sales <x>' from the last 7 rows" in s for s in describe_run(fspec, fmetrics))
    assert verdict({}, "forecast") == ("The test metrics are missing.", None)


def test_report_without_predictions_or_history(forecast_run):
    spec, metrics, _, _ = forecast_run
    html = run_report_html(run_name="bare", spec=spec, metrics=metrics, history=[], predictions=None, forecast=None)
    assert "No test predictions were saved" in html
    assert "Waiting for the first loss point" in html



# ----------------------------------------------------------------------------- what trained the model


def _sub_line(html: str) -> str:
    return re.search(r"<p class='sub'>(.*?)</p>", html).group(1)


@pytest.mark.parametrize("manifest, words", [
    ({"keras_version": "3.6.0", "backend": "jax"}, "Keras 3.6.0 (JAX backend)"),
    ({"keras_version": "3.6.0", "backend": "tensorflow"}, "Keras 3.6.0 (TensorFlow backend)"),
    ({"keras_version": "3.6.0"}, "Keras 3.6.0"),   # a bundle saved before the manifest recorded the backend
    ({"keras_version": "3.6.0", "backend": "<i>x</i>"}, "Keras 3.6.0 (&lt;i&gt;x&lt;/i&gt; backend)"),
])
def test_report_names_keras_and_the_backend_of_the_bundle(forecast_run, manifest, words):
    spec, metrics, _, _ = forecast_run
    html = run_report_html(run_name="r", spec=spec, metrics=metrics, history=[], predictions=None, forecast=None,
                           manifest={"format": "seqstudio-bundle", **manifest})
    assert _sub_line(html).endswith(" · " + words)
    assert ("backend" in _sub_line(html)) == ("backend" in manifest)


def test_report_without_a_manifest_names_no_framework(forecast_run):
    spec, metrics, _, _ = forecast_run
    for manifest in (None, {}, ["not", "a", "dict"]):
        html = run_report_html(run_name="r", spec=spec, metrics=metrics, history=[], predictions=None,
                               forecast=None, manifest=manifest)
        assert "Keras" not in _sub_line(html) and "backend" not in _sub_line(html)
    text = html.replace(get_plotlyjs(), "")   # plotly.js itself mentions JAX (MathJax)
    assert "Keras" not in text and "TensorFlow" not in text and "JAX" not in text


def test_saved_bundle_records_the_backend_the_report_shows(tmp_path, forecast_run):
    from seqcore.modeling.training import quiet_tensorflow
    from seqcore.modeling.models import ModelShape
    from seqcore.outputs.bundle import read_bundle, save_bundle

    quiet_tensorflow()   # picks the backend as a training worker does
    import keras

    spec, metrics, _, _ = forecast_run
    model = keras.Sequential([keras.Input((7, 1)), keras.layers.LSTM(2), keras.layers.Dense(2),
                              keras.layers.Reshape((2, 1))])
    shape = ModelShape(task="forecast", input_shape=(7, 1), output_shape=(2, 1))
    manifest = read_bundle(save_bundle(tmp_path / "bundle", model, spec, {}, shape, {}, [])).manifest
    assert manifest["backend"] == keras.backend.backend() and manifest["keras_version"] == keras.__version__
    html = run_report_html(run_name="r", spec=spec, metrics=metrics, history=[], predictions=None, forecast=None,
                           manifest=manifest)
    name = {"jax": "JAX", "tensorflow": "TensorFlow"}[keras.backend.backend()]
    assert _sub_line(html).endswith(f" · Keras {keras.__version__} ({name} backend)")


# ----------------------------------------------------------------------------- task settings and presets in words


def _settings_rows(html: str) -> set[str]:
    return set(re.findall(r"<th>(\w+)</th>", html.split("<h2>All settings</h2>", 1)[1]))


def test_spec_table_shows_each_tasks_own_data_settings(classify_run, forecast_run):
    _, metrics, pred = classify_run
    cspec = RunSpec(data=DataSpec(task="classify", label="label", znorm=True, max_steps=300, group_steps=5))
    html = run_report_html(run_name="c", spec=cspec, metrics=metrics, history=[], predictions=pred, forecast=None)
    rows = _settings_rows(html)
    assert {"group_steps", "max_steps", "znorm", "layout", "label", "missing", "val_fraction"} <= rows
    assert not rows & {"relative", "window", "horizon", "max_vocab", "lowercase", "embedding_dim", "loss"}
    assert "read 5 consecutive time steps at once" in html and "last 300 steps" in html

    tspec, _, _ = classify_run
    html = run_report_html(run_name="t", spec=tspec, metrics=metrics, history=[], predictions=pred, forecast=None)
    rows = _settings_rows(html)
    assert {"text", "max_len", "max_vocab", "lowercase", "embedding_dim"} <= rows
    assert not rows & {"group_steps", "max_steps", "znorm", "relative", "window"}

    fspec, fmetrics, pred_df, fc = forecast_run
    html = run_report_html(run_name="f", spec=fspec, metrics=fmetrics, history=[], predictions=pred_df, forecast=fc)
    rows = _settings_rows(html)
    assert {"relative", "window", "horizon", "log_transform", "season", "loss"} <= rows
    assert not rows & {"group_steps", "max_steps", "znorm", "max_vocab", "embedding_dim"}


def test_describe_run_says_how_sequences_and_texts_were_read():
    from seqcore.modeling.tasks.classify import RNN_STEPS

    def lines(**kw):
        return " ".join(describe_run(RunSpec(data=DataSpec(**kw))))

    auto = lines(task="classify", label="y")
    assert f"loop over at most {RNN_STEPS} steps (chosen automatically)" in auto and "last 2,000 steps" in auto
    assert "every time step on its own" in lines(task="classify", label="y", group_steps=1)
    assert "read 8 consecutive time steps at once" in lines(task="classify", label="y", group_steps=8)
    assert "upper and lower case treated alike" in lines(task="text", text="t", label="y")
    assert "upper and lower case kept apart" in lines(task="text", text="t", label="y", lowercase=False)
    assert "learned changes from the last observed value" in lines(targets=("y",))
    assert "learned changes" not in lines(targets=("y",), relative=False)


@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
@pytest.mark.parametrize("preset", ["quick", "balanced", "thorough"])
def test_describe_preset_follows_the_task_presets(task, preset):
    from seqcore.config import apply_preset, preset_overrides
    from seqcore.outputs.report import PRESET_PURPOSE, describe_preset

    text = describe_preset(preset, task)
    spec = apply_preset(RunSpec(data=DataSpec(task=task)), preset)
    over = preset_overrides(preset, task)
    m, t = spec.model, spec.train
    kind = ("bidirectional " if m.bidirectional else "") + m.cell.upper()
    assert m.cell == ("gru" if task == "text" else "lstm")       # the text presets pick a GRU
    if len(m.units) == 1:
        assert text.lower().startswith(f"{kind.lower()}, {m.units[0]} units")
    else:
        assert text.startswith(f"{len(m.units)} stacked {kind} layers of ")
        assert f"{m.units[-2]} and {m.units[-1]} units" in text
    assert f"up to {t.epochs} epochs" in text
    assert f"stops after {t.patience} epochs without improvement" in text
    assert f"batch {t.batch_size}" in text and f"learning rate {t.learning_rate:g}" in text
    assert (f"dropout {m.dropout:g}" in text) == bool(m.dropout)
    assert set(over["train"]) >= {"epochs", "patience", "batch_size", "learning_rate"}
    assert PRESET_PURPOSE[preset] and not any(ch.isdigit() for ch in PRESET_PURPOSE[preset])
    # the cell type comes from the current settings
    assert "GRU" in describe_preset(preset, task, RunSpec(model=ModelSpec(cell="gru")))


def test_describe_preset_changes_when_the_presets_change(monkeypatch):
    from seqcore import config
    from seqcore.outputs.report import describe_preset

    text = {p: dict(v) for p, v in config.TASK_PRESETS["text"].items()}
    text["balanced"] = {"model": {"units": (48, 24), "bidirectional": False, "dropout": 0.3},
                        "train": {"epochs": 7, "patience": 0, "batch_size": 64, "learning_rate": 5e-4,
                                  "lr_schedule": "cosine", "optimizer": "adamw"}}
    monkeypatch.setitem(config.TASK_PRESETS, "text", text)
    words = describe_preset("balanced", "text")
    assert words.startswith("2 stacked LSTM layers of 48 and 24 units, dropout 0.3")
    for part in ("up to 7 epochs", "no early stopping", "batch 64", "learning rate 0.0005",
                 "learning rate lowered along a cosine curve", "AdamW optimiser"):
        assert part in words, words
    assert "up to 7 epochs" not in describe_preset("balanced", "forecast")


def test_text_report_says_which_word_vectors(classify_run):
    spec, metrics, pred = classify_run
    for choice, words in (("none", "word vectors of size 16 learned from scratch"),
                          ("auto", "pretrained word vectors when the texts are English")):
        s = spec.replace(model=spec.model.replace(word_vectors=choice))
        assert any(words in line for line in describe_run(s, metrics))
        html = run_report_html(run_name="t", spec=s, metrics=metrics, history=[], predictions=pred, forecast=None)
        assert "word_vectors" in _settings_rows(html)
