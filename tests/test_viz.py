"""Plotly figure builders: traces, empty states, downsampling bounds, escaping, hints and metric cards."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from seqcore.outputs import viz
from seqcore.modeling.metrics import classification_metrics, compare_to_baselines, forecast_metrics
from seqcore.modeling.progress import Progress


def _names(fig: go.Figure) -> list:
    return [t.name for t in fig.data]


def _curve(n_epochs=10, batches=20, val=True):
    pts = []
    for e in range(1, n_epochs + 1):
        for b in range(1, batches + 1, 5):
            pts.append(Progress(kind="batch", epoch=e, epochs=n_epochs, batch=b, batches=batches,
                                loss=1.0 / (e + b / batches)))
        pts.append(Progress(kind="epoch", epoch=e, epochs=n_epochs, batch=batches, batches=batches, loss=1.0 / e,
                            val_loss=(1.2 / e + 0.02 * e) if val else None))
    return pts


# ----------------------------------------------------------------------------- downsampling


def test_downsample_keeps_shape_and_bounds():
    rng = np.random.default_rng(0)
    y = rng.normal(size=10_001).cumsum()
    y[1234] = -1e6   # a deep minimum (best loss) and a spike must survive
    y[8000] = 1e6
    x = np.arange(len(y))
    xs, ys = viz.downsample(x, y, 500)
    assert len(xs) == len(ys) <= 500
    assert xs[0] == 0 and xs[-1] == len(y) - 1
    assert -1e6 in ys and 1e6 in ys
    assert np.all(np.diff(xs) > 0)                         # still in order, no duplicates
    xs2, ys2 = viz.downsample(x[:100], y[:100], 500)        # short input comes back whole
    np.testing.assert_array_equal(xs2, x[:100])
    assert len(viz.downsample_indices(y, 3)) <= 3
    with pytest.raises(ValueError):
        viz.downsample(x, y[:-1], 10)


def test_downsample_ignores_nan_and_keeps_dates():
    y = np.full(1000, np.nan)
    y[::7] = np.arange(len(y[::7]), dtype=float)
    idx = viz.downsample_indices(y, 50)
    assert len(idx) <= 50
    assert np.isfinite(y[idx[1:-1]]).mean() > 0.9
    dates = pd.date_range("2020-01-01", periods=1000, freq="h").to_numpy()
    xs, _ = viz.downsample(dates, np.arange(1000.0), 100)
    assert xs.dtype.kind == "M" and len(xs) <= 100


# ----------------------------------------------------------------------------- loss curves


def test_loss_figure_empty_says_waiting():
    fig = viz.loss_figure([])
    assert isinstance(fig, go.Figure) and not fig.data
    assert fig.layout.annotations[0].text == viz.WAITING_TEXT
    assert fig.layout.uirevision == "loss"
    # batch points without a loss yet are still "waiting"
    assert not viz.loss_figure([{"kind": "batch", "epoch": 1, "batch": 1, "batches": 4, "loss": None}]).data


def test_loss_figure_traces_best_epoch_and_fractional_batches():
    pts = _curve()
    fig = viz.loss_figure(pts, title="run <b>1</b>")
    names = _names(fig)
    assert names[:3] == ["training loss (per batch, smoothed)", "training loss", "validation loss"]
    best = viz.best_epoch(pts)
    vals = [1.2 / e + 0.02 * e for e in range(1, 11)]
    assert best == (int(np.argmin(vals)) + 1, pytest.approx(min(vals)), "val_loss")
    star = fig.data[3]
    assert star.marker.symbol == "star" and list(star.x) == [best[0]]
    assert any(f"epoch {best[0]}" in a.text for a in fig.layout.annotations)
    bx = np.asarray(fig.data[0].x)
    assert bx.min() == pytest.approx(1 / 20) and bx.max() == pytest.approx(9 + 16 / 20)
    assert fig.layout.yaxis.type == "linear"
    assert "<b>" not in fig.layout.title.text           # user text is shown literally, not as markup
    assert fig.layout.uirevision == "loss"


def test_loss_figure_accepts_history_dicts_without_val_and_log_scale():
    history = [{"epoch": e, "loss": 10.0 ** (-e), "val_loss": None, "lr": 1e-3} for e in range(1, 6)]
    fig = viz.loss_figure(history)
    assert _names(fig) == ["training loss", "best epoch (5)"]
    assert fig.layout.yaxis.type == "log"                # spans 4 decades
    assert viz.best_epoch(history)[2] == "loss"


def test_loss_figure_downsamples_long_curves_and_is_fast():
    rng = np.random.default_rng(1)
    pts = [{"kind": "batch", "epoch": 1 + i // 1000, "batch": i % 1000 + 1, "batches": 1000,
            "loss": float(1 + rng.random())} for i in range(20_000)]
    pts += [{"kind": "epoch", "epoch": e, "loss": 1.0 / e, "val_loss": 1.0 / e} for e in range(1, 21)]
    t0 = time.process_time()     # CPU time: the work, not how busy the machine is
    fig = viz.loss_figure(pts, max_points=800)
    elapsed = time.process_time() - t0
    assert len(fig.data[0].x) <= 800
    assert len(fig.to_json()) < 200_000
    assert elapsed < 2.0


def _trace_xy(fig: go.Figure) -> list:
    return [(t.name, np.asarray(t.x, dtype=float).tolist(), np.asarray(t.y, dtype=float).tolist()) for t in fig.data]


def test_loss_figure_from_columns_matches_points_and_keeps_last_point():
    from seqcore.runs.store import HistoryColumns

    pts = _curve(n_epochs=30, batches=400)
    pts.append(Progress(kind="epoch", epoch=3, epochs=30, loss=9.0, val_loss=9.0))   # epoch 3 again: last one wins
    pts.append(Progress(kind="batch", epoch=31, epochs=31, batch=1, batches=400, loss=0.2))
    cols = HistoryColumns.from_points(pts)
    assert len(cols) == len(pts) and cols.is_epoch.sum() == 31
    for max_points in (10**6, 50):
        a = viz.loss_figure(pts, max_points=max_points)
        b = viz.loss_figure(cols, max_points=max_points)
        assert _trace_xy(a) == _trace_xy(b)
        assert [x.text for x in a.layout.annotations] == [x.text for x in b.layout.annotations]
        assert np.asarray(b.data[0].x)[-1] == pytest.approx(30 + 1 / 400)        # the newest batch point shown
        assert np.asarray(b.data[2].x)[-1] == 30 and len(b.data[2].x) <= max_points  # val curve to the end
    assert 9.0 in np.asarray(viz.loss_figure(cols).data[2].y)
    assert viz.best_epoch(cols) == viz.best_epoch(pts)
    assert not viz.loss_figure(HistoryColumns.empty()).data


def test_history_columns_are_read_incrementally_and_restart_after_deletes(tmp_path):
    from seqcore.runs.store import RunStore

    store = RunStore(tmp_path / "home")
    rid = store.create_run(spec={"t": 1}, dataset_id=None, task="forecast", status="running")
    other = store.create_run(spec={"t": 2}, dataset_id=None, task="forecast", status="running")
    pts = _curve(n_epochs=4, batches=20)
    store.append_history(rid, pts[:10])
    store.append_history(other, pts[:3])
    first = store.history_columns(rid)
    assert len(first) == 10
    store.append_history(rid, pts[10:])
    cols = store.history_columns(rid)
    assert len(cols) == len(pts) and cols.seq[:10].tolist() == first.seq.tolist()   # the first 10 not re-read
    direct = store.read_history_columns(rid)
    for k in ("seq", "is_epoch") + direct.FIELDS:
        np.testing.assert_array_equal(getattr(cols, k), getattr(direct, k))
    assert _trace_xy(viz.loss_figure(cols)) == _trace_xy(viz.loss_figure(pts))
    store.trim_history(rid, 3)                       # a resumed run redoes epochs 3 and 4
    cols = store.history_columns(rid)
    assert np.nanmax(cols.epoch) == 2 and len(cols) == store.count_history(rid)
    # a point SQLite's JSON reader refuses (NaN) and one with text for a number
    store.append_history(rid, [{"kind": "batch", "epoch": 3, "batch": 1, "batches": 20, "loss": float("nan")},
                               {"kind": "epoch", "epoch": 3, "loss": "0.25", "val_loss": None}])
    cols = store.history_columns(rid)
    assert np.isnan(cols.loss[-2]) and cols.loss[-1] == 0.25 and np.isnan(cols.val_loss[-1])
    assert len(store.history_columns(other)) == 3


def test_long_run_redraw_is_fast(tmp_path):
    """Figure 5: a 50,000-point run redrawn while it trains (new points read incrementally)."""
    from seqcore.runs.store import RunStore

    store = RunStore(tmp_path / "home")
    rid = store.create_run(spec={"t": 1}, dataset_id=None, task="forecast", status="running")
    pts = [{"kind": "batch", "epoch": 1 + i // 24, "epochs": 2000, "batch": 1 + i % 24, "batches": 24,
            "loss": 1.0 + (i % 7) / 10} for i in range(48_000)]
    pts += [{"kind": "epoch", "epoch": e, "epochs": 2000, "loss": 1.0 / e, "val_loss": 1.1 / e} for e in range(1, 2001)]
    store.append_history(rid, pts)
    store.history_columns(rid)
    times = []
    for k in range(3):
        store.append_history(rid, [{"kind": "batch", "epoch": 2001, "epochs": 2001, "batch": k + 1, "batches": 24,
                                    "loss": 0.5}])
        t0 = time.process_time()     # CPU time (SQLite read + figure), immune to other processes' load
        fig = viz.loss_figure(store.history_columns(rid))
        fig.to_json()
        times.append(time.process_time() - t0)
    assert np.asarray(fig.data[0].x)[-1] == pytest.approx(2000 + 3 / 24)
    assert len(fig.data[0].x) <= 2000 and len(fig.data[2].x) <= 2000
    assert min(times) < 0.5      # ~30 ms here when idle; generous for a shared machine


def test_overfit_hint():
    rising = [{"epoch": e, "loss": 1.0 / e, "val_loss": v}
              for e, v in enumerate([1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7], start=1)]
    hint = viz.overfit_hint(rising)
    assert hint and "rising for 4 epochs" in hint and "epoch 4" in hint and "memorise" in hint
    assert viz.overfit_hint(rising[:6]) is None          # only 2 epochs of rising so far
    falling = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.0 / e} for e in range(1, 10)]
    assert viz.overfit_hint(falling) is None
    both_up = [dict(p, loss=p["val_loss"]) for p in rising]  # training loss rises too: not memorising
    assert viz.overfit_hint(both_up) is None
    assert viz.overfit_hint([]) is None
    assert viz.overfit_hint([{"epoch": e, "loss": 1.0 / e} for e in range(1, 9)]) is None  # no validation
    # a classifier keeps the most accurate epoch (6 here), not the one with the lowest validation loss
    accurate = [dict(p, metrics={"val_accuracy": a}) for p, a in zip(rising, [.5, .6, .7, .7, .72, .75, .74, .73])]
    hint = viz.overfit_hint(accurate, final_fit=True)
    assert "best epoch (epoch 6)" in hint and "final fit then trains a fresh model for 6 epochs" in hint


def test_compare_loss_figure():
    runs = {"small <i>": [{"epoch": e, "loss": 1 / e, "val_loss": 2 / e} for e in range(1, 6)],
            "no val": [Progress(kind="epoch", epoch=e, epochs=3, loss=1 / e) for e in range(1, 4)],
            "empty": []}
    fig = viz.compare_loss_figure(runs)
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == ["small &lt;i&gt; · validation loss", "no val · training loss"]
    assert list(lines[0].y) == pytest.approx([2 / e for e in range(1, 6)])
    empty = viz.compare_loss_figure({})
    assert not empty.data and empty.layout.annotations


# ----------------------------------------------------------------------------- data previews


def test_series_figure(samples):
    df = pd.read_csv(samples / "Airline.csv")
    fig = viz.series_figure(df, "Date", ["Passengers"])
    assert _names(fig) == ["Passengers"]
    assert fig.layout.xaxis.rangeslider.visible is True
    assert np.asarray(fig.data[0].x).dtype.kind == "M"     # "1949-01" strings became dates
    big = pd.DataFrame({"t": np.arange(20_000), "a": np.sin(np.arange(20_000) / 50), "b": np.arange(20_000.0)})
    fig = viz.series_figure(big, "t", ["a", "b"])
    assert len(fig.data) == 2 and all(len(t.x) <= viz.SERIES_MAX_POINTS for t in fig.data)
    fig = viz.series_figure(big, None, ["a"])
    assert fig.layout.xaxis.title.text == "row"
    assert not viz.series_figure(big, "t", ["nope"]).data


def test_sequences_figure():
    rng = np.random.default_rng(0)
    seqs = {"walk": [rng.normal(size=(30, 3)) for _ in range(8)], "<b>run</b>": [rng.normal(size=(20, 3))]}
    fig = viz.sequences_figure(seqs, max_per_class=5, feature_names=["x", "y", "z"])
    assert len(fig.data) == (5 + 1) * 3
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["class walk", "class &lt;b&gt;run&lt;/b&gt;"]
    one_d = viz.sequences_figure({"a": [np.arange(10.0)], "b": [np.arange(5.0)]})
    assert len(one_d.data) == 2
    assert not viz.sequences_figure({}).data


def test_text_stats_figure():
    fig = viz.text_stats_figure([3, 5, 8, 8, 20], {"fresh": 3, "rotten": 2})
    assert [type(t).__name__ for t in fig.data] == ["Histogram", "Bar"]
    assert list(fig.data[1].y) == [3, 2]
    assert not viz.text_stats_figure([], {}).data


# ----------------------------------------------------------------------------- forecast results


@pytest.fixture
def pred_df():
    times = pd.date_range("2020-01-01", periods=30, freq="D")
    rows = []
    for i in range(28):
        for h in (1, 2):
            for tgt, off in (("A", 0.0), ("B", 100.0)):
                actual = off + i + h
                rows.append((str(times[i].date()), h, str(times[i + h].date()), tgt, actual, actual + 0.5 * h))
    df = pd.DataFrame(rows, columns=["origin", "step", "time", "target", "actual", "predicted"])
    df["error"] = df["predicted"] - df["actual"]
    return df


def test_forecast_figure_picks_step_and_target(pred_df):
    fig = viz.forecast_figure(pred_df, step=2, target="B")
    assert _names(fig) == ["actual", "predicted"]
    actual, predicted = np.asarray(fig.data[0].y), np.asarray(fig.data[1].y)
    assert actual[0] == 102 and np.allclose(predicted - actual, 1.0)
    assert fig.layout.xaxis.rangeslider.visible is True
    assert "2 steps ahead" in fig.layout.title.text
    first = viz.forecast_figure(pred_df)                  # default: step 1, first target
    assert np.asarray(first.data[0].y)[0] == 1
    assert viz.forecast_figure(pred_df, step=9).layout.annotations
    assert viz.forecast_figure(None).layout.annotations


def test_residuals_figure(pred_df):
    fig = viz.residuals_figure(pred_df, step=1, target="A")
    assert [type(t).__name__ for t in fig.data] == ["Scatter", "Histogram"]
    assert np.allclose(np.asarray(fig.data[0].y), 0.5)
    assert not viz.residuals_figure(pred_df.iloc[:0]).data


def test_future_figure():
    hist = pd.DataFrame({"Date": pd.date_range("2000-01", periods=300, freq="MS").strftime("%Y-%m"),
                         "P": np.arange(300.0)})
    fc = pd.DataFrame({"step": [1, 2, 3], "time": pd.date_range("2025-01", periods=3, freq="MS"), "P": [300.0, 301, 302]})
    fig = viz.future_figure(hist, fc, time_col="Date")
    assert _names(fig) == ["P (data)", "P (forecast)"]
    assert len(fig.data[0].x) == 100                      # only the last part of the data
    assert list(fig.data[1].y) == [299.0, 300.0, 301.0, 302.0]  # joined to the last known value
    no_time = viz.future_figure(hist["P"], fc[["step", "P"]])
    assert list(no_time.data[1].x) == [299, 300, 301, 302]
    assert viz.future_figure(hist, None).layout.annotations


# ----------------------------------------------------------------------------- classification results


def test_confusion_figure():
    cm = [[5, 1, 0], [2, 3, 1], [0, 0, 4]]
    fig = viz.confusion_figure(cm, ["a", "<b>x</b>", "c"])
    hm = fig.data[0]
    assert type(hm).__name__ == "Heatmap" and hm.texttemplate == "%{text}"
    assert hm.text[1][0] == "2" and list(hm.x) == ["a", "&lt;b&gt;x&lt;/b&gt;", "c"]
    assert "<b>x</b>" not in fig.to_json()
    norm = viz.confusion_figure(cm, ["a", "b", "c"], normalize=True)
    assert norm.data[0].z[0][0] == pytest.approx(5 / 6) and "83%" in norm.data[0].text[0][0]
    with pytest.raises(ValueError):
        viz.confusion_figure(cm, ["a", "b"])
    assert viz.confusion_figure([], []).layout.annotations


# ----------------------------------------------------------------------------- metric cards


def test_metric_cards_forecast():
    y = np.array([10.0, 12, 14, 16, 18, 20])
    model = y + 1.0
    naive = y - 2.0
    train = np.arange(0.0, 10.0)
    test = forecast_metrics(y, model, y_train=train)
    baselines = {"naive": forecast_metrics(y, naive, y_train=train),
                 "mean": forecast_metrics(y, np.full_like(y, 5.0), y_train=train)}
    metrics = {"test": test, "baselines": baselines, "comparison": compare_to_baselines(test, baselines, "mae")}
    cards = {c["key"]: c for c in viz.metric_cards(metrics, "forecast")}
    assert list(cards) == ["mae", "rmse", "mape", "mase"]
    mae = cards["mae"]
    assert mae["value"] == "1.00" and mae["baseline_name"] == "naive (last value)" and mae["baseline_value"] == "2.00"
    assert mae["raw_delta"] == pytest.approx(-1.0) and mae["delta"] == "-1.00" and mae["better"] is True
    assert mae["delta_color"] == "inverse" and "Lower is better" in mae["help"]
    assert cards["mape"]["value"].endswith("%") and cards["mape"]["delta"].endswith("pp")


def test_metric_cards_classification():
    names = ["a", "b"]
    y = np.array([0, 0, 1, 1, 1, 0])
    proba = np.array([[.9, .1], [.6, .4], [.2, .8], [.3, .7], [.6, .4], [.8, .2]])
    test = classification_metrics(y, proba, names)
    base = {"majority_class": classification_metrics(y, np.tile([1.0, 0.0], (6, 1)), names)}
    metrics = {"test": test, "baselines": base}
    cards = {c["key"]: c for c in viz.metric_cards(metrics, "classify")}
    assert list(cards) == ["accuracy", "balanced_accuracy", "macro_f1", "roc_auc"]
    acc = cards["accuracy"]
    assert acc["value"] == "83.3%" and acc["baseline_value"] == "50.0%" and acc["delta"] == "+33.3 pp"
    assert acc["better"] is True and acc["delta_color"] == "normal"
    three = classification_metrics(np.array([0, 1, 2]), np.eye(3), ["x", "y", "z"])
    cards3 = viz.metric_cards({"test": three, "baselines": {}}, "text")
    assert [c["key"] for c in cards3] == ["accuracy", "balanced_accuracy", "macro_f1"]  # no ROC AUC for 3 classes
    assert cards3[0]["baseline_name"] is None and cards3[0]["better"] is None and cards3[0]["delta"] is None
    with pytest.raises(ValueError):
        viz.metric_cards(metrics, "regression")


def test_format_number():
    assert viz.format_number(None) == "–"
    assert viz.format_number(float("nan")) == "–"
    assert viz.format_number(0.1234, percent=True) == "12.3%"
    assert viz.format_number(12345.6) == "12,346"
    assert viz.format_number(0.012345) == "0.0123"


def test_plain_text_and_json_safety():
    assert viz.plain("<a href='x'>&</a>") == "&lt;a href='x'&gt;&amp;&lt;/a&gt;"
    fig = viz.forecast_figure(pd.DataFrame({"step": [1], "time": [1], "target": ["</script><b>"], "actual": [1.0],
                                            "predicted": [2.0], "error": [1.0]}))
    assert "</script>" not in fig.to_json() and "<b>" not in json.dumps(fig.to_plotly_json(), default=str)


def test_import_is_light():
    code = "import sys, seqcore.outputs.viz; print('tensorflow' in sys.modules, 'keras' in sys.modules, 'streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "False False False", out.stderr


def test_best_epoch_follows_the_trainers_rule_for_classifiers(tmp_path):
    """A classifier with validation data keeps the most accurate epoch (ties: lower val_loss), and the
    star marks that epoch, from Progress objects and from the store's columns alike."""
    from seqcore.modeling.progress import Progress
    from seqcore.runs.store import RunStore

    accs, losses = [0.60, 0.72, 0.72, 0.70], [0.65, 0.70, 0.66, 0.80]  # val_loss lowest at epoch 1
    pts = [Progress(kind="epoch", epoch=i + 1, epochs=4, batch=1, batches=1, seen=0, elapsed=float(i), loss=0.5,
                    val_loss=v, metrics={"accuracy": 0.8, "val_accuracy": a}) for i, (a, v) in enumerate(zip(accs, losses))]
    assert viz.best_epoch(pts) == (3, 0.66, "val_accuracy")
    no_acc = [Progress(kind="epoch", epoch=i + 1, epochs=4, batch=1, batches=1, seen=0, elapsed=0.0, loss=0.5,
                       val_loss=v) for i, v in enumerate(losses)]
    assert viz.best_epoch(no_acc) == (1, 0.65, "val_loss")
    store = RunStore(tmp_path / "h")
    ds = store.add_dataset(b"a,b\n1,2\n", "d.csv")
    rid = store.create_run(spec={}, dataset_id=ds)
    store.append_history(rid, pts)
    assert viz.best_epoch(store.history_columns(rid)) == (3, 0.66, "val_accuracy")
    star = [t for t in viz.loss_figure(store.history_columns(rid)).data if "best epoch" in (t.name or "")]
    assert star and list(star[0].x) == [3]


def test_train_page_progress_reports_the_best_validation_accuracy_of_classifiers():
    from pages._ui.live import progress_info
    from seqcore.modeling.progress import Progress
    from seqcore.runs.store import RunRecord

    rec = RunRecord(id="r", name="r", kind="train", status="running", task="text", spec={"train": {"epochs": 5}},
                    dataset_id=None, test_dataset_id=None, csv_options=None, created=0.0, started=0.0)
    pts = [Progress(kind="epoch", epoch=i + 1, epochs=5, batch=1, batches=1, seen=0, elapsed=1.0 + i, loss=0.5,
                    val_loss=v, metrics={"val_accuracy": a}) for i, (a, v) in enumerate([(0.6, 0.7), (0.74, 0.8)])]
    info = progress_info(rec, pts, now=10.0)
    assert info.best_val_accuracy == 0.74 and info.best_val_loss == 0.7
    plain = [Progress(kind="epoch", epoch=1, epochs=5, batch=1, batches=1, seen=0, elapsed=1.0, loss=0.5, val_loss=0.4)]
    assert progress_info(rec, plain, now=10.0).best_val_accuracy is None
