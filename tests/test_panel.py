"""Many series in one file (panel forecasting, ``DataSpec.id`` with the forecast task): per-series scaling and
split, windows that never cross series, per-series and pooled metrics, the CSVs' ``series`` column, predicting
for every series, the plain refusals, the defaults, the CLI and the Data page's "Series id" role."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec
from seqcore.data import schema
from seqcore.data.defaults import fit_defaults
from seqcore.data.io import read_csv
from seqcore.errors import DataError
from seqcore.modeling.metrics import FORECAST_KEYS, _mase_scale
from seqcore.modeling.tasks import forecast

ROOT = Path(__file__).resolve().parents[1]
GRUNFELD = Path("/work/shared/datasets/grunfeld_panel.csv")
if not GRUNFELD.exists():
    GRUNFELD = ROOT.parent / "shared" / "datasets" / "grunfeld_panel.csv"
needs_grunfeld = pytest.mark.skipif(not GRUNFELD.exists(), reason="grunfeld_panel.csv not available")


def make_panel(lengths: dict[str, int], seed: int = 0, shuffle: bool = False) -> pd.DataFrame:
    """Series at very different levels and scales, one row per (store, month)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, (name, n) in enumerate(lengths.items()):
        t = np.arange(n)
        level, swing = 10.0 ** i, 2.0 + 5 * i
        y = level + swing * np.sin(2 * np.pi * t / 12) + 0.1 * t + rng.normal(0, 0.3, n)
        parts.append(pd.DataFrame({"store": name, "month": pd.date_range("2010-01-01", periods=n, freq="MS"),
                                   "sales": y, "temp": rng.normal(i, 1, n)}))
    df = pd.concat(parts, ignore_index=True)
    df["month"] = df["month"].dt.strftime("%Y-%m-%d")
    return df.sample(frac=1, random_state=seed).reset_index(drop=True) if shuffle else df


SPEC = DataSpec(task="forecast", time="month", targets=("sales",), features=("temp",), id="store", window=6,
                horizon=3, val_fraction=0.15, test_fraction=0.15)


def true_outputs(src) -> np.ndarray:
    """What a perfect model outputs on ``src``: the scaled targets of every window (relative when the source is)."""
    return src.gather(np.arange(len(src)))[1]


# ----------------------------------------------------------------------------- preparing


def test_per_series_scaling_round_trips():
    df = make_panel({"a": 60, "b": 50, "c": 70}, shuffle=True)
    prep = forecast.prepare(df, SPEC)
    p, panel = prep.extra["panel"], prep.state["panel"]
    assert panel["series"] == p["keys"] and sorted(p["keys"]) == ["a", "b", "c"]
    for i, key in enumerate(p["keys"]):
        rows = df[df["store"] == key].sort_values("month")
        raw = rows[["sales", "temp"]].to_numpy()
        o, n, e = p["offsets"][i], p["lengths"][i], p["train_ends"][i]
        assert n == len(rows) and e == int(n - round(n * 0.15) * 2)
        mean, std = np.array(panel["mean"][key]), np.array(panel["std"][key])
        np.testing.assert_allclose(mean, raw[:e].mean(axis=0))          # from this series' training part only
        np.testing.assert_allclose(std, raw[:e].std(axis=0))
        scaled = prep.extra["scaled"][o:o + n].astype(np.float64)
        np.testing.assert_allclose(scaled * std + mean, raw, rtol=1e-5, atol=1e-3 * std.max())
        np.testing.assert_allclose(scaled[:e].mean(axis=0), 0, atol=1e-4)
    json.dumps(prep.state, allow_nan=False)       # the state is saved in the bundle as JSON
    # a perfect model's outputs come back in original units exactly: per-series unscaling undoes the scaling
    metrics, frame = forecast.evaluate(prep, true_outputs(prep.test))
    assert metrics["test"]["mae"] < 1e-3 * metrics["baselines"]["naive"]["mae"]
    assert all(m["mae"] < 1e-2 for m in metrics["test"]["per_series"].values())
    assert "Rows were sorted" not in " ".join(prep.notes)
    assert "sorted by 'month'" in " ".join(prep.notes)   # the shuffled rows were put in time order per series


def test_no_window_crosses_two_series():
    df = make_panel({"a": 40, "b": 33, "c": 57, "d": 41})
    prep = forecast.prepare(df, SPEC)
    p, L, H = prep.extra["panel"], SPEC.window, SPEC.horizon
    total = 0
    for part, src in (("train", prep.train), ("val", prep.val), ("test", prep.test)):
        sid = p["sid"][part]
        o, n = p["offsets"][sid], p["lengths"][sid]
        assert ((src.starts - L) >= o).all() and ((src.starts + H) <= o + n).all()
        x, y = src.gather(np.arange(len(src)))
        for w in range(0, len(src), 7):      # each window's inputs are rows of its own series
            s, i = src.starts[w], sid[w]
            expect = prep.extra["scaled"][s - L:s].copy()
            expect[:, :1] -= prep.extra["scaled"][s - 1, :1]     # relative mode
            np.testing.assert_allclose(x[w], expect, atol=1e-6)
            assert p["offsets"][i] <= s - L and s + H <= p["offsets"][i] + p["lengths"][i]
        total += len(src)
    # every series is split on its own: its test windows end at its own last row
    ends = {i: max(prep.test.starts[p["sid"]["test"] == i]) + H for i in range(4)}
    assert ends == {i: int(p["offsets"][i] + p["lengths"][i]) for i in range(4)}
    assert total < len(df)   # windows are origins into one stacked array, not copies


def test_memory_stays_at_the_size_of_the_series():
    df = make_panel({f"s{i}": 200 for i in range(50)})
    prep = forecast.prepare(df, SPEC.replace(features=()))
    assert prep.train.inputs_arr.nbytes == 50 * 200 * 4          # one float32 copy of the stacked series
    assert prep.train.inputs_arr is prep.test.inputs_arr          # shared by the three sources


def test_series_too_short_are_left_out_with_a_note():
    df = make_panel({"a": 60, "b": 50, "tiny": 9, "c": 70})
    prep = forecast.prepare(df, SPEC)
    assert prep.extra["panel"]["keys"] == ["a", "b", "c"]
    assert prep.state["panel"]["left_out"] == ["tiny"]
    note = next(n for n in prep.notes if "too short" in n)
    assert note.startswith("1 of the 4 series ('tiny') is too short for a window of 6 and a horizon of 3")
    assert "forecasts the other 3" in note


def test_one_series_and_every_series_too_short_are_plain_data_errors():
    df = make_panel({"a": 60})
    with pytest.raises(DataError) as err:
        forecast.prepare(df, SPEC)
    assert "holds only one series ('a')" in err.value.message and "no series id column" in err.value.hint
    with pytest.raises(DataError) as err:
        forecast.prepare(make_panel({"a": 12, "b": 10}), SPEC)
    assert err.value.message.startswith("Every series is too short: the longest has 12 rows")
    assert "shorter window" in err.value.hint


def test_id_column_used_for_another_role_or_empty_is_refused():
    df = make_panel({"a": 60, "b": 50})
    with pytest.raises(DataError, match="'store' is also picked as the time column"):
        forecast.prepare(df, SPEC.replace(time="store", id="store"))
    df.loc[5, "store"] = None
    with pytest.raises(DataError) as err:
        forecast.prepare(df, SPEC)
    assert "series id column 'store' is empty on line 7" in err.value.message


# ----------------------------------------------------------------------------- evaluating


def test_metrics_per_series_and_pooled():
    df = make_panel({"a": 60, "b": 50, "c": 70})
    prep = forecast.prepare(df, SPEC)
    rng = np.random.default_rng(1)
    outputs = true_outputs(prep.test) + rng.normal(0, 0.3, (len(prep.test), 3, 1))
    metrics, frame = forecast.evaluate(prep, outputs)
    test = metrics["test"]
    assert set(FORECAST_KEYS) <= set(test) and len(test["per_step"]) == 3 and test["n"] == len(prep.test)
    assert set(test["per_series"]) == {"a", "b", "c"}
    for key, m in test["per_series"].items():
        assert set(FORECAST_KEYS) <= set(m) and m["n"] == int((frame["series"] == key).sum() / 3)
    # pooled MASE: each error over its own series' naive scale (training part), averaged over every point
    p = prep.extra["panel"]
    series = prep.extra["series"]
    scale = np.array([_mase_scale(series[o:o + e], 1)[0] for o, e in zip(p["offsets"], p["train_ends"])])
    expect = np.mean(np.abs(frame["error"].to_numpy()) / scale[frame["series"].map({"a": 0, "b": 1, "c": 2})])
    assert test["mase"] == pytest.approx(expect)
    assert test["mae"] == pytest.approx(np.abs(frame["error"]).mean())
    assert not any("MASE needs" in n for n in test["notes"])
    # baselines the same way, compared by (pooled, per-series-scaled) MASE
    for name in ("naive", "seasonal_naive", "mean"):
        assert set(metrics["baselines"][name]["per_series"]) == {"a", "b", "c"}
    naive = metrics["baselines"]["naive"]
    assert naive["mase"] == pytest.approx(np.mean([naive["per_series"][k]["mase"] * naive["per_series"][k]["n"]
                                                   for k in "abc"]) * 3 / sum(naive["per_series"][k]["n"] for k in "abc"))
    assert metrics["comparison"]["metric"] == "mase"
    json.dumps(metrics, allow_nan=False)


@pytest.mark.parametrize("targets", [("sales",), ("sales", "temp")])
def test_per_series_metrics_match_forecast_metrics_on_each_series(targets):
    from seqcore.modeling.metrics import forecast_metrics

    df = make_panel({"a": 60, "b": 50, "c": 70})
    df.loc[df["store"] == "b", "sales"] = df.loc[df["store"] == "b", "sales"] * 0 + np.r_[0.0, 0.0, np.arange(48)]
    spec = SPEC.replace(targets=targets, features=tuple(c for c in ("temp",) if c not in targets))
    prep = forecast.prepare(df, spec)
    outputs = true_outputs(prep.test) + np.random.default_rng(2).normal(0, 0.5, (len(prep.test), 3, len(targets)))
    metrics, frame = forecast.evaluate(prep, outputs)
    p, series = prep.extra["panel"], prep.extra["series"]
    for i, key in enumerate(p["keys"]):
        part = frame[frame["series"] == key]
        shape = (-1, 3, len(targets))
        actual = part["actual"].to_numpy().reshape(shape)
        pred = part["predicted"].to_numpy().reshape(shape)
        train = series[p["offsets"][i]:p["offsets"][i] + p["train_ends"][i]]
        want = forecast_metrics(actual, pred, y_train=train, target_names=list(targets))
        got = metrics["test"]["per_series"][key]
        for k in FORECAST_KEYS:
            assert got[k] == pytest.approx(want[k], rel=1e-9), (key, k)
        assert got["n"] == want["n"]


def test_predictions_and_forecast_tables_have_a_series_column():
    df = make_panel({"a": 60, "b": 50, "c": 70})
    prep = forecast.prepare(df, SPEC)
    _, frame = forecast.evaluate(prep, true_outputs(prep.test))
    assert list(frame.columns) == ["series", "origin", "step", "time", "target", "actual", "predicted", "error"]
    b = frame[frame["series"] == "b"]
    last = pd.Timestamp("2010-01-01") + pd.DateOffset(months=49)
    assert b["time"].max() == last and (b["time"] > b["origin"]).all()
    x, last_vals = forecast.future_inputs(prep)
    assert x.shape == (3, 6, 2)
    fut = forecast.future_frame(prep.state, np.zeros((3, 3, 1)), None, last_vals)
    assert list(fut.columns) == ["series", "step", "time", "sales"] and len(fut) == 9
    assert fut[fut["series"] == "b"]["time"].iloc[0] == last + pd.DateOffset(months=1)
    b_last = df[df["store"] == "b"]["sales"].iloc[-1]
    assert fut[fut["series"] == "b"]["sales"].iloc[0] == pytest.approx(b_last, rel=1e-5)   # zero change = last value


# ----------------------------------------------------------------------------- predicting


def test_predict_new_forecasts_every_series_and_scales_new_ones_by_their_history():
    df = make_panel({"a": 60, "b": 50, "c": 70})
    prep = forecast.prepare(df, SPEC)
    zero = lambda x: np.zeros((len(x), 3, 1))  # noqa: E731 - "no change": the forecast is the last value
    out = forecast.predict_new(prep.state, SPEC, df, zero)
    assert list(out.columns) == ["series", "step", "time", "sales"] and len(out) == 9
    assert out.groupby("series")["step"].max().to_dict() == {"a": 3, "b": 3, "c": 3}
    assert not out.attrs.get("notes")
    # past the horizon the model needs the inputs' future values in every series
    with pytest.raises(DataError) as err:
        forecast.predict_new(prep.state, SPEC, df, zero, steps=5)
    assert "'temp' for the next 3 steps of every series, but series 'a' gives 0" in err.value.message
    future = [pd.DataFrame({"store": k, "month": pd.date_range(pd.Timestamp(g["month"].max()) + pd.DateOffset(months=1),
                                                               periods=3, freq="MS").strftime("%Y-%m-%d"),
                            "sales": np.nan, "temp": 0.5}) for k, g in df.groupby("store")]
    out = forecast.predict_new(prep.state, SPEC, pd.concat([df, *future], ignore_index=True), zero, steps=5)
    assert out.groupby("series")["step"].max().to_dict() == {"a": 5, "b": 5, "c": 5}
    renamed = df.replace({"store": {"c": "new"}})
    out = forecast.predict_new(prep.state, SPEC, renamed, zero, steps=2)
    assert set(out["series"]) == {"a", "b", "new"}
    assert out.attrs["notes"] == ["1 series ('new') was not in the training data: the model forecasts it from its "
                                  "own history, scaled by that history's mean and spread."]
    new_last = renamed[renamed["store"] == "new"]["sales"].iloc[-1]
    assert out[out["series"] == "new"]["sales"].iloc[0] == pytest.approx(new_last)
    short = df[(df["store"] != "b") | (df.index % 50 > 46)]
    with pytest.raises(DataError) as err:
        forecast.predict_new(prep.state, SPEC, short, zero)
    assert "last 6 rows of each series, but 'b' has fewer (series 'b': 3 rows)" in err.value.message


# ----------------------------------------------------------------------------- checks, defaults, understanding


def test_validation_report_allows_repeated_times_across_series_not_inside_one():
    data = make_panel({"a": 30, "b": 30}).to_csv(index=False).encode()
    df = read_csv(data).df
    assert not [i for i in schema.validate(df, SPEC).issues if i.level == "error"]
    dup = read_csv(data + b"a,2010-03-01,5.0,1.0\n").df
    errs = [i.message for i in schema.validate(dup, SPEC).issues if i.level == "error"]
    assert errs == ["Time column 'month' repeats 1 time(s) inside a series (first on line 62: 'a', '2010-03-01'). "
                    "Each series needs one row per time step: remove or combine the repeated rows."]


@needs_grunfeld
def test_grunfeld_defaults_use_the_firm_as_series_id_and_a_short_window():
    table = read_csv(GRUNFELD.read_bytes(), name="grunfeld_panel.csv")
    d = fit_defaults(table, "forecast")
    assert (d.spec.id, d.spec.time, d.spec.targets) == ("firm", "year", ("invest",))
    assert d.spec.window <= 8 and d.spec.horizon == 1 and d.facts["series"] == 11
    assert d.reasons["id"].startswith("Series id 'firm': 11 series (typically 20 rows each)")
    assert "88 training windows" in d.reasons["window"]     # counted over every series
    assert fit_defaults(table, "forecast", id=None).spec.id is None
    prep = forecast.prepare(table.df, d.spec)
    assert prep.sizes()["train"] == 88 and len(prep.extra["panel"]["keys"]) == 11


def test_understand_says_stacked_series_are_forecast_together():
    from seqcore.data.understand import understand

    u = understand(read_csv(make_panel({"North": 30, "South": 30}).to_csv(index=False).encode()))
    assert u.roles["id"] == "store"
    assert any("2 series stacked" in d and "forecast together" in d for d in u.doubts)


# ----------------------------------------------------------------------------- CLI and the Data page


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=timeout)


@needs_grunfeld
def test_cli_trains_and_predicts_every_firm(tmp_path):
    out = tmp_path / "run"
    r = cli("train", GRUNFELD, "--task", "forecast", "--id", "firm", "--units", "4", "--epochs", "2",
            "--out", out)
    assert r.returncode == 0, r.stderr
    firms = set(pd.read_csv(GRUNFELD)["firm"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]["per_series"]) == firms
    assert set(metrics["baselines"]["naive"]["per_series"]) == firms
    for name in ("auto_ets", "auto_arima", "auto_theta"):     # statistical baselines, every firm or not at all
        assert set(metrics["baselines"][name]["per_series"]) == firms
    assert set(metrics["intervals"]["coverage"]) == {"80", "95"}   # pooled over the firms
    bands = ["lower_80", "upper_80", "lower_95", "upper_95"]
    pred = pd.read_csv(out / "predictions.csv")
    assert pred.columns[0] == "series" and set(pred["series"]) == firms and list(pred.columns[-4:]) == bands
    fut = pd.read_csv(out / "forecast.csv")
    assert list(fut.columns) == ["series", "step", "time", "invest", *bands] and set(fut["series"]) == firms
    assert ((fut["lower_95"] <= fut["invest"]) & (fut["invest"] <= fut["upper_95"])).all()
    assert set(fut["time"]) == {1955}
    r = cli("predict", out, GRUNFELD, "--steps", "3", "--out", tmp_path / "p.csv")
    assert r.returncode == 0, r.stderr
    p = pd.read_csv(tmp_path / "p.csv")
    assert set(p["series"]) == firms and len(p) == 3 * len(firms)
    assert sorted(set(p["time"])) == [1955, 1956, 1957]


def test_cli_one_series_id_is_one_clear_line(tmp_path):
    csv = tmp_path / "one.csv"
    make_panel({"only": 60}).to_csv(csv, index=False)
    r = cli("train", csv, "--task", "forecast", "--id", "store", "--epochs", "1", "--units", "2",
            "--out", tmp_path / "o")
    assert r.returncode != 0
    assert "holds only one series ('only')" in r.stderr and "Traceback" not in r.stderr


@needs_grunfeld
def test_data_page_series_id_role():
    from helpers import app, upload

    from pages._ui.panel_ui import SERIES_KEY

    at = app("pages/1_Data.py")
    upload(at, "grunfeld_panel.csv", GRUNFELD.read_bytes())
    assert not at.exception
    assert at.radio(key="data_role_task").value == "forecast"
    assert at.selectbox(key=SERIES_KEY).value == "firm"
    assert at.selectbox(key="data_role_time").value == "year"
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert spec.id == "firm" and spec.window <= 8
    assert at.selectbox(key="data_chart_series").value == "General Motors"   # the chart shows one series
    from pages._ui.data import PANEL_KNOWN_CAPTION      # known-in-advance columns: not for many series yet

    assert PANEL_KNOWN_CAPTION in [c.value for c in at.caption]
    assert "data_role_known" not in [m.key for m in at.multiselect] and spec.known_future == ()
    at.selectbox(key=SERIES_KEY).set_value("(none)").run()
    assert not at.exception
    assert "data_role_known" in [m.key for m in at.multiselect]
    assert at.session_state["data_spec"] is None         # one series with repeated years: refused, said why
    assert any("repeats" in str(e.value) for e in at.error)
    at.selectbox(key=SERIES_KEY).set_value("firm").run()
    assert DataSpec.from_dict(at.session_state["data_spec"]).id == "firm"


@needs_grunfeld
def test_results_and_predict_pages_pick_a_series_and_show_per_series_scores():
    from helpers import page

    from pages._ui.panel_ui import per_series_frame
    from seqcore.config import ModelSpec, RunSpec, TrainSpec
    from seqcore.pipeline import predict_from_bundle, run_training
    from seqcore.runs.store import RunStore

    store = RunStore()
    data = GRUNFELD.read_bytes()
    ds = store.add_dataset(data, "grunfeld_panel.csv")
    spec = RunSpec(fit_defaults(read_csv(data), "forecast").spec, ModelSpec(units=(4,)),
                   TrainSpec(epochs=1, patience=0, final_fit=False))
    run_id = store.create_run(spec=spec.to_dict(), dataset_id=ds, task="forecast", status="running")
    result = run_training(data, spec, store.run_dir(run_id), name="grunfeld_panel.csv")
    store.finish_run(run_id, "finished", summary=dict(result.metrics), epochs_run=1)
    job = store.create_run(spec=spec.to_dict(), dataset_id=ds, kind="predict", source_run_id=run_id,
                           status="running")
    pred = predict_from_bundle(store.run_dir(run_id) / "bundle", data, steps=2)
    pred.to_csv(store.run_dir(job) / "predictions.csv", index=False)
    store.finish_run(job, "finished")

    table = per_series_frame(result.metrics)
    assert len(table) == 11 and {"series", "MASE", "best baseline", "beats it"} <= set(table.columns)
    at = page("pages/4_Results.py", query={"run": run_id})
    assert at.selectbox(key="results_series").value == "General Motors"
    frames = [d.value for d in at.dataframe]
    assert any(len(f) == 11 and "MASE" in f.columns for f in frames)      # the per-series scores
    future = frames[-1]
    assert "series" not in future.columns and len(future) == 1            # the picked series' forecast
    at.selectbox(key="results_series").set_value("IBM").run()
    assert not at.exception
    at = page("pages/6_Predict.py", query={"run": run_id})
    assert at.selectbox(key="predict_series").value == "General Motors"
    shown = at.dataframe[-1].value
    assert list(shown.columns) == ["step", "time", "invest", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(shown) == 2


def test_other_plain_messages():
    from seqcore.data.panel import series_keys

    with pytest.raises(DataError, match="The data has no series id column 'shop'"):
        series_keys(make_panel({"a": 30, "b": 30}), "shop")
    # a series whose only training window is the one of the whole panel: too few to learn from
    spec = SPEC.replace(window=6, horizon=3, val_fraction=0.2, test_fraction=0.2, features=())
    with pytest.raises(DataError, match="Only 1 training window over all series"):
        forecast.prepare(make_panel({"a": 15, "b": 9}), spec)
    # a time repeated inside one series
    df = make_panel({"a": 40, "b": 40})
    df.loc[3, "month"] = df.loc[2, "month"]
    with pytest.raises(DataError) as err:
        forecast.prepare(df, SPEC)
    assert err.value.message == ("Time column 'month' repeats '2010-03-01' in series 'a' (line 5): each series "
                                 "needs one row per time step.")
    # a flat input in one series; negative targets under the log transform
    df = make_panel({"a": 40, "b": 40})
    df.loc[df["store"] == "b", "temp"] = 1.0
    assert any(n.startswith("Column(s) temp do not change in the training part of some series")
               for n in forecast.prepare(df, SPEC).notes)
    df["sales"] = df["sales"].abs() + 100
    assert forecast.prepare(df, SPEC.replace(log_transform=True)).state["log_transform"]
    df.loc[45, "sales"] = -1.0
    with pytest.raises(DataError, match="'sales' has negative values in series 'b'"):
        forecast.prepare(df, SPEC.replace(log_transform=True))


def test_missing_values_are_handled_inside_each_series():
    df = make_panel({"a": 40, "b": 40})
    df.loc[[10, 41], "sales"] = np.nan          # one gap in each series; 41 is b's second row
    with pytest.raises(DataError, match="missing value"):
        forecast.prepare(df, SPEC)
    prep = forecast.prepare(df, SPEC.replace(missing="interpolate"))
    b = prep.extra["series"][40:80, 0]
    raw = df[df["store"] == "b"]["sales"].to_numpy()
    assert b[1] == pytest.approx((raw[0] + raw[2]) / 2)      # filled from b's own neighbours, not from a's rows
    dropped = forecast.prepare(df, SPEC.replace(missing="drop"))
    assert list(dropped.extra["panel"]["lengths"]) == [39, 39]


def test_report_of_a_panel_run_charts_the_first_series():
    from seqcore.config import RunSpec
    from seqcore.outputs.report import run_report_html

    df = make_panel({"a": 60, "b": 50, "c": 70})
    prep = forecast.prepare(df, SPEC)
    metrics, pred = forecast.evaluate(prep, true_outputs(prep.test))
    x, last = forecast.future_inputs(prep)
    fut = forecast.future_frame(prep.state, np.zeros((3, 3, 1)), None, last)
    html = run_report_html(run_name="panel", spec=RunSpec(data=SPEC), metrics=metrics, history=[],
                           predictions=pred, forecast=fut)
    assert "3 series; the charts and the forecast table show the first, &#x27;a&#x27;." in html
