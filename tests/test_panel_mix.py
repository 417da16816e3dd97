"""Many-series (panel) forecasting with the features beside it: statistical baselines per series within one
budget for the whole panel, intervals calibrated in standardised units pooled over the series, the backtest
(per-series test blocks) and the plain refusals of known-future columns / the calendar for panels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.modeling import intervals, panel_mix
from seqcore.modeling.metrics import forecast_metrics
from seqcore.modeling.statmodels import STAT_MODELS, stat_forecasts
from seqcore.modeling.tasks import forecast

GRUNFELD = Path("/work/shared/datasets/grunfeld_panel.csv")
if not GRUNFELD.exists():
    GRUNFELD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "grunfeld_panel.csv"
needs_grunfeld = pytest.mark.skipif(not GRUNFELD.exists(), reason="grunfeld_panel.csv not available")


def make_panel(lengths: dict[str, int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for i, (name, n) in enumerate(lengths.items()):
        t = np.arange(n)
        y = 10.0 ** (i + 1) + (2 + 5 * i) * np.sin(2 * np.pi * t / 12) + 0.1 * t + rng.normal(0, 0.5 + i, n)
        parts.append(pd.DataFrame({"store": name, "month": pd.date_range("2010-01-01", periods=n, freq="MS")
                                   .strftime("%Y-%m-%d"), "sales": y, "promo": rng.integers(0, 2, n)}))
    return pd.concat(parts, ignore_index=True)


SPEC = DataSpec(task="forecast", time="month", targets=("sales",), id="store", window=6, horizon=3,
                val_fraction=0.15, test_fraction=0.15)


def true_outputs(src) -> np.ndarray:
    return src.gather(np.arange(len(src)))[1]


# ----------------------------------------------------------------------------- statistical baselines


def test_statistical_baselines_are_fitted_per_series_pooled_and_per_series():
    df = make_panel({"a": 60, "b": 50, "c": 70})
    prep = forecast.prepare(df, SPEC)
    metrics, _ = forecast.evaluate(prep, true_outputs(prep.test))
    assert set(STAT_MODELS) <= set(metrics["baselines"])
    assert metrics["baseline_notes"] == []
    p = prep.extra["panel"]
    for name in STAT_MODELS:
        b = metrics["baselines"][name]
        assert set(b["per_series"]) == {"a", "b", "c"} and b["mae"] is not None
    # series "b" scored on its own: the same figure as fitting AutoARIMA on b's data before its test part
    i = p["keys"].index("b")
    o, n, e = (int(p[k][i]) for k in ("offsets", "lengths", "train_ends"))
    series = prep.extra["series"]
    local = prep.extra["starts"]["test"][p["sid"]["test"] == i] - o
    own = stat_forecasts(series[o:o + n], local, 3, e, prep.state["season"], ("auto_arima",), budget_s=60)
    actual = series[o:o + n][local[:, None] + np.arange(3)]
    want = forecast_metrics(actual, own.forecasts["auto_arima"], target_names=["sales"])["mae"]
    assert metrics["baselines"]["auto_arima"]["per_series"]["b"]["mae"] == pytest.approx(want, rel=1e-6)
    # pooled: every series' windows
    assert metrics["baselines"]["auto_ets"]["n"] == len(prep.test)


def test_a_statistical_model_out_of_budget_or_unfit_for_one_series_is_not_reported(monkeypatch):
    df = make_panel({"a": 60, "b": 50, "c": 70})
    monkeypatch.setattr(panel_mix, "STAT_BUDGET_S", 0.0)
    prep = forecast.prepare(df, SPEC)
    metrics, _ = forecast.evaluate(prep, true_outputs(prep.test))
    assert not set(STAT_MODELS) & set(metrics["baselines"]) and "naive" in metrics["baselines"]
    assert len(metrics["baseline_notes"]) == 3
    assert metrics["baseline_notes"][0] == (
        "AutoETS is not reported: its 0 s budget for the whole panel ran out after 0 of the 3 series, and a "
        "baseline is reported only when it is measured on every series.")
    assert all(n in prep.notes for n in metrics["baseline_notes"])
    forecast.evaluate(prep, true_outputs(prep.test))          # a second evaluation (final fit) adds no repeats
    assert sum(n.startswith("AutoETS is not reported") for n in prep.notes) == 1

    monkeypatch.setattr(panel_mix, "STAT_BUDGET_S", 60.0)
    monkeypatch.setattr(panel_mix, "PACE_AFTER", 1)
    monkeypatch.setattr(panel_mix, "PACE_FACTOR", 0.0)      # any pace is too slow: given up after one series
    stats, notes = panel_mix.stat_baselines(prep.extra["series"], prep.extra["panel"], ["a", "b", "c"],
                                            prep.extra["starts"]["test"], 3, 12)
    assert stats == {} and len(notes) == 3
    assert re.fullmatch(r"AutoTheta is not reported: at its pace on the first 1 series it would take about [0-9,]+ s "
                        r"for all 3, well past its 60 s budget for the whole panel \(a baseline is reported only "
                        r"when it is measured on every series\)\.", notes[2])
    monkeypatch.setattr(panel_mix, "PACE_FACTOR", 2.0)
    short = make_panel({"a": 60, "b": 12})                    # b's training part: 8 rows, AutoETS needs 10
    spec = DataSpec(task="forecast", time="month", targets=("sales",), id="store", window=3, horizon=1,
                    val_fraction=0.15, test_fraction=0.15)
    prep = forecast.prepare(short, spec)
    metrics, _ = forecast.evaluate(prep, true_outputs(prep.test))
    assert "auto_ets" not in metrics["baselines"]
    assert ("AutoETS is not reported: on series 'b' the training part has 8 rows and it needs at least 10. A "
            "baseline is reported only when it can be measured on every series.") in metrics["baseline_notes"]


# ----------------------------------------------------------------------------- intervals


def test_panel_bands_are_one_standardised_calibration_sized_by_each_series_spread():
    df = make_panel({"a": 60, "b": 50, "c": 70})
    prep = forecast.prepare(df, SPEC)
    zeros = lambda src: np.zeros((len(src), 3, 1), dtype=np.float32)   # noqa: E731 - "the training mean" model
    calib = intervals.calibrate_run(prep, zeros)
    assert calib["space"] == "standardised" and calib["calibrated_on"] == "validation+training"
    # the scores are pooled over every series' validation windows, in standardised units
    pred, actual = panel_mix.scaled_errors(prep, zeros, "val")
    assert calib["n_residuals"] == len(prep.val) == len(pred)
    metrics, frame = forecast.evaluate(prep, zeros(prep.test))
    frame = intervals.apply_to_run(prep, calib, frame, metrics)
    assert list(frame.columns)[-4:] == ["lower_80", "upper_80", "lower_95", "upper_95"]
    assert (frame["lower_95"] <= frame["lower_80"]).all() and (frame["upper_80"] <= frame["upper_95"]).all()
    assert ((frame["lower_80"] <= frame["predicted"]) & (frame["predicted"] <= frame["upper_80"])).all()
    std = {k: v[0] for k, v in prep.state["panel"]["std"].items()}
    w95 = np.asarray(calib["width"]["95"])[:, 0]
    for key, rows in frame.groupby("series", observed=True):
        half = (rows["upper_95"] - rows["predicted"]).to_numpy()
        assert half == pytest.approx(w95[rows["step"].to_numpy() - 1] * std[key], rel=1e-6)
    inside = (frame["actual"] >= frame["lower_95"]) & (frame["actual"] <= frame["upper_95"])
    assert metrics["intervals"]["coverage"]["95"] == pytest.approx(inside.mean())
    own = metrics["intervals"]["per_series"]                           # and each series' own coverage
    assert set(own) == {"a", "b", "c"}
    assert own["b"]["95"] == pytest.approx(inside[(frame["series"] == "b").to_numpy()].mean())
    from pages._ui.panel_ui import per_series_frame

    table = per_series_frame(metrics).set_index("series")
    assert table.loc["b", "in 95% band"] == pytest.approx(own["b"]["95"])
    assert set(table["best baseline"]) <= {"naive", "seasonal naive", "mean", "AutoETS", "AutoARIMA", "AutoTheta"}
    # forecast.csv: every series gets its own bands
    x, last = forecast.future_inputs(prep)
    fut = forecast.future_frame(prep.state, np.zeros((3, 3, 1)), None, last)
    assert list(fut.columns) == ["series", "step", "time", "sales", "lower_80", "upper_80", "lower_95", "upper_95"]
    for key, rows in fut.groupby("series"):
        assert (rows["upper_95"] - rows["sales"]).to_numpy() == pytest.approx(w95 * std[key], rel=1e-6)


def test_bands_in_the_log_space_and_the_forecast_chart_ignores_the_series_column():
    from seqcore.outputs.viz.results import future_figure

    df = make_panel({"a": 60, "b": 50})
    prep = forecast.prepare(df, SPEC.replace(log_transform=True))
    prep.state["intervals"] = intervals.calibrate_run(prep, lambda src: np.zeros((len(src), 3, 1)))
    x, last = forecast.future_inputs(prep)
    fut = forecast.future_frame(prep.state, np.zeros((2, 3, 1)), None, last)
    lo, mid, hi = (np.log1p(fut[c].to_numpy()) for c in ("lower_95", "sales", "upper_95"))
    assert mid - lo == pytest.approx(hi - mid, rel=1e-6)                # symmetric in log space
    fig = future_figure(df[df["store"] == "a"], fut[fut["series"] == "a"], time_col="month", targets=None)
    assert {t.name for t in fig.data if t.name} and not any("series" in str(t.name) for t in fig.data)


# ----------------------------------------------------------------------------- backtest


@needs_grunfeld
def test_panel_backtest_tests_each_series_on_its_own_last_steps():
    from seqcore.data.io import read_csv
    from seqcore.modeling.backtest import plan, run_backtest

    df = read_csv(GRUNFELD.read_bytes(), name="grunfeld_panel.csv").df
    spec = RunSpec(DataSpec(task="forecast", time="year", targets=("invest",), id="firm", window=3, horizon=1,
                            val_fraction=0.15, test_fraction=0.3, backtest=2),
                   ModelSpec(units=(2,)), TrainSpec(epochs=1, batch_size=16, patience=0, final_fit=False))
    bt = plan(df, spec)
    assert [(f.origin, f.end, f.block) for f in bt.folds] == [(14, 17, 3), (17, 20, 3)]
    firms = df["firm"].nunique()
    for fold in bt.folds:
        prep = bt.prepared(fold)
        # each firm: a test block of 3 years -> 3 one-step windows ending at the fold's end
        assert len(prep.test) == 3 * firms
        assert np.bincount(prep.extra["panel"]["sid"]["test"]).tolist() == [3] * firms
        last_year = prep.extra["panel"]["times"][prep.extra["starts"]["test"]].max()
        assert last_year == 1935 + fold.end - 1
    out = run_backtest(plan(df, spec))
    assert out.result["folds"] == 2 and len(out.result["per_fold"]) == 2
    assert {"naive", "auto_arima"} <= set(out.result["baselines"])
    assert out.result["per_fold"][1]["test_rows"] == 3 * firms


def test_panel_backtest_without_a_time_column_counts_steps_within_each_series():
    from seqcore.modeling.backtest import plan

    df = make_panel({"a": 40, "b": 40, "c": 30}).drop(columns=["month"])
    spec = RunSpec(DataSpec(task="forecast", targets=("sales",), id="store", window=4, horizon=2, backtest=2,
                            val_fraction=0.15, test_fraction=0.15),
                   ModelSpec(units=(2,)), TrainSpec(epochs=1, patience=0))
    bt = plan(df, spec)
    assert bt.cutter.n == 40                                   # steps, not rows of the file
    prep = bt.prepared(bt.folds[0])
    lengths = dict(zip(prep.extra["panel"]["keys"], prep.extra["panel"]["lengths"].tolist()))
    assert lengths == {"a": bt.folds[0].end, "b": bt.folds[0].end, "c": 30}


# ----------------------------------------------------------------------------- calendar / known-future


def test_known_future_and_calendar_on_are_refused_for_panels_and_auto_skips_with_a_note():
    df = make_panel({"a": 60, "b": 50})
    spec = DataSpec(task="forecast", time="month", targets=("sales",), id="store", window=6, horizon=3,
                    known_future=("promo",))
    with pytest.raises(SpecError) as err:
        forecast.prepare(df, spec)
    assert str(err.value).startswith("Columns known in advance (promo) are not available for many-series files "
                                     "yet (the series id column 'store' is set).")
    with pytest.raises(SpecError, match="Calendar features are not available for many-series files yet"):
        forecast.prepare(df, DataSpec(task="forecast", time="month", targets=("sales",), id="store", window=6,
                                      horizon=3, calendar="on"))
    note = ("Calendar features (month, weekday, hour) were not tried: they are not available for many-series files "
            "yet.")
    assert note in forecast.prepare(df, SPEC).notes                         # calendar="auto" by default
    off = DataSpec(task="forecast", time="month", targets=("sales",), id="store", window=6, horizon=3,
                   calendar="off")
    assert note not in forecast.prepare(df, off).notes


def test_cli_known_future_with_a_series_id_is_one_clear_line(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "panel.csv"
    make_panel({"a": 40, "b": 40}).to_csv(path, index=False)
    r = subprocess.run([sys.executable, "-m", "seqcore", "train", str(path), "--task", "forecast", "--time", "month",
                        "--target", "sales", "--id", "store", "--known-future", "promo", "--epochs", "1",
                        "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                       cwd=str(Path(__file__).resolve().parents[1]))
    assert r.returncode != 0
    assert "Columns known in advance (promo) are not available for many-series files yet" in r.stderr
    assert "Traceback" not in r.stderr
