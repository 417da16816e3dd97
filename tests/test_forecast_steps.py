"""Forecasting any number of steps past the end of the data (issue 12, point 6).

Up to the trained horizon H the forecast is the model's direct output; beyond it the forecast rolls
forward (the H predictions are fed back as inputs). The first tests use stand-in models (plain functions of
the model input) so the arithmetic can be checked exactly; the last ones train a small Airline model through
the CLI and use it from ``seqcore predict --steps`` and the Predict page.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec
from seqcore.errors import DataError, SpecError
from seqcore.modeling.tasks import forecast as fc

from helpers import page, set_env, texts

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "seqcore" / "samples"
AIRLINE = pd.read_csv(SAMPLES / "Airline.csv")
PREDICT = "pages/6_Predict.py"


def airline_spec(**kw) -> DataSpec:
    # calendar off: the stand-in models below read the inputs as [targets, features]; calendar inputs over the
    # future steps are checked in tests/test_covariates.py
    return DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3,
                    calendar="off").replace(**kw)


def state_of(df: pd.DataFrame, spec: DataSpec) -> dict:
    return fc.prepare(df, spec).state


def linear_model(state: dict, seed: int = 0):
    """A stand-in model: a fixed random linear map of the (1, L, F) input to (1, H, T)."""
    L, F = state["window"], len(state["targets"]) + len(state["features"])
    H, T = state["horizon"], len(state["targets"])
    w = np.random.default_rng(seed).normal(0, 0.2, (L * F, H * T)).astype(np.float32)
    return lambda x: (np.asarray(x).reshape(len(x), -1) @ w).reshape(len(x), H, T)


def window_mean_model(state: dict):
    """Predicts the mean of the window's (scaled) target values for each of the H steps. In relative mode the
    input and the output are both relative to the last value, so the forecast in absolute terms is the same."""
    H = state["horizon"]
    return lambda x: np.repeat(np.asarray(x)[:, :, :1].mean(axis=1, keepdims=True), H, axis=1)


def direct_output(state: dict, spec: DataSpec, df: pd.DataFrame, fn) -> pd.DataFrame:
    """The forecast as it was before steps existed: one pass of the model over the last L rows."""
    values, times, _ = fc._clean_frame(df, spec, list(state["targets"]), what="x")
    x = values[-state["window"]:].copy()
    if state["log_transform"]:
        x = np.log1p(x)
    x, last = fc.model_inputs(state, (x - np.asarray(state["mean"])) / np.asarray(state["std"]))
    return fc.future_frame(state, fn(x), times[-1], last)


# ----------------------------------------------------------------------------- the arithmetic


@pytest.mark.parametrize("log, relative", [(False, False), (False, True), (True, False), (True, True)])
def test_up_to_the_horizon_the_forecast_is_the_direct_output(log, relative):
    spec = airline_spec(log_transform=log, relative=relative)
    state = state_of(AIRLINE, spec)
    fn = linear_model(state)
    ref = direct_output(state, spec, AIRLINE, fn)
    for n in (1, 2, 3):
        out = fc.predict_new(state, spec, AIRLINE, fn, steps=n)
        pd.testing.assert_frame_equal(out, ref.iloc[:n])
    pd.testing.assert_frame_equal(fc.predict_new(state, spec, AIRLINE, fn), ref)   # default: the trained horizon


def test_past_the_horizon_gives_n_rows_dated_month_by_month():
    spec = airline_spec()
    state = state_of(AIRLINE, spec)
    out = fc.predict_new(state, spec, AIRLINE, linear_model(state), steps=24)
    assert len(out) == 24 and out["step"].tolist() == list(range(1, 25))
    times = pd.DatetimeIndex(out["time"])
    assert times.is_monotonic_increasing and times.is_unique and times.is_month_start.all()
    assert times[0] == pd.Timestamp("1961-01-01") and times[-1] == pd.Timestamp("1962-12-01")
    assert np.isfinite(out["Passengers"]).all()
    ref = direct_output(state, spec, AIRLINE, linear_model(state))
    assert np.array_equal(out["Passengers"].to_numpy()[:3], ref["Passengers"].to_numpy())


def test_the_longest_forecast_keeps_its_dates_past_2262():
    """10,000 months after 1960 end in 2794, past the last date a nanosecond time stamp holds."""
    spec = airline_spec()
    state = state_of(AIRLINE, spec)
    out = fc.predict_new(state, spec, AIRLINE, lambda x: np.zeros((1, 3, 1), np.float32), steps=10_000)
    assert len(out) == 10_000 and "time" in out.columns
    assert str(out["time"].iloc[-1])[:10] == "2794-04-01"
    assert pd.Series(out["time"]).is_monotonic_increasing


@pytest.mark.parametrize("horizon", [1, 3, 5])
@pytest.mark.parametrize("log, relative", [(False, False), (False, True), (True, False), (True, True)])
def test_rolling_forward_feeds_the_predictions_back(horizon, log, relative):
    """Against the same recursion written out in the data's units: each step is the mean of the last 12
    values (of log1p(values) with the log transform), counting the forecasts already made."""
    spec = airline_spec(horizon=horizon, log_transform=log, relative=relative)
    state = state_of(AIRLINE, spec)
    n = 17
    out = fc.predict_new(state, spec, AIRLINE, window_mean_model(state), steps=n)
    hist = list(np.log1p(AIRLINE["Passengers"].to_numpy(float)) if log else AIRLINE["Passengers"].to_numpy(float))
    expected = []
    while len(expected) < n:
        value = float(np.mean(hist[-12:]))
        chunk = [value] * horizon   # the model predicts one value for all H steps
        hist += chunk
        expected += chunk
    expected = np.expm1(expected[:n]) if log else np.array(expected[:n])
    np.testing.assert_allclose(out["Passengers"].to_numpy(), expected, rtol=2e-6)


@pytest.mark.parametrize("log, relative", [(False, False), (False, True), (True, False), (True, True)])
def test_a_model_that_repeats_the_last_value_forecasts_it_for_every_step(log, relative):
    spec = airline_spec(log_transform=log, relative=relative)
    state = state_of(AIRLINE, spec)

    def repeat_last(x):
        last = np.repeat(np.asarray(x)[:, -1:, :1], 3, axis=1)
        return np.zeros_like(last) if relative else last

    out = fc.predict_new(state, spec, AIRLINE, repeat_last, steps=40)
    np.testing.assert_allclose(out["Passengers"], 432.0, rtol=1e-6)   # the last month's passengers


def test_a_numeric_time_column_continues_with_its_step():
    df = pd.DataFrame({"year": np.arange(1900, 2000, 2), "y": np.sin(np.arange(50) / 3) + 5})
    spec = DataSpec(task="forecast", time="year", targets=("y",), window=8, horizon=2)
    state = state_of(df, spec)
    out = fc.predict_new(state, spec, df, linear_model(state), steps=7)
    assert out["time"].tolist() == [2000, 2002, 2004, 2006, 2008, 2010, 2012]


def test_without_a_time_column_the_steps_are_numbered():
    df = AIRLINE.drop(columns=["Date"])
    spec = airline_spec(time=None)
    state = state_of(df, spec)
    out = fc.predict_new(state, spec, df, linear_model(state), steps=10)
    assert list(out.columns) == ["step", "Passengers"] and out["step"].tolist() == list(range(1, 11))


@pytest.mark.parametrize("steps, needle", [
    (0, "must be 1 or more; got 0"),
    (-4, "must be 1 or more; got -4"),
    (10_001, "At most 10,000 steps can be forecast at once; 10,001 were asked for"),
    (2.5, "must be a whole number"),
    (True, "must be a whole number"),
])
def test_bad_step_counts_are_refused_with_what_is_allowed(steps, needle):
    state = state_of(AIRLINE, airline_spec())
    with pytest.raises(SpecError, match="steps") as err:
        fc.predict_new(state, airline_spec(), AIRLINE, linear_model(state), steps=steps)
    assert needle in str(err.value)
    assert fc.check_steps(None, 3) == 3 and fc.check_steps(12.0, 3) == 12 and fc.check_steps(10_000, 3) == 10_000


# ----------------------------------------------------------------------------- feature columns


def with_feature(n: int = 120) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                         "y": 10 + np.sin(t / 5), "x": np.cos(t / 7)})


def feature_spec(**kw) -> DataSpec:
    return DataSpec(task="forecast", time="date", targets=("y",), features=("x",), window=10, horizon=2,
                    relative=False).replace(**kw)


def feature_echo(state: dict):
    """Predicts, for every step, the (scaled) feature value of the window's last row."""
    H = state["horizon"]
    return lambda x: np.repeat(np.asarray(x)[:, -1:, 1:2], H, axis=1)


def test_features_past_the_horizon_need_their_future_values():
    df, spec = with_feature(), feature_spec()
    state = state_of(df, spec)
    assert len(fc.predict_new(state, spec, df, feature_echo(state), steps=2)) == 2   # within H: no future needed
    with pytest.raises(DataError) as err:
        fc.predict_new(state, spec, df, feature_echo(state), steps=7)
    msg = str(err.value)
    assert "Forecasting 7 steps with this model needs the future values of its input column(s) 'x' for the next " \
           "6 steps" in msg and "the file gives 0" in msg
    assert "Add 6 rows after the history that carry the future values of 'x' and leave 'y' empty, or forecast at " \
           "most 2 steps." in msg


def test_future_feature_rows_with_empty_targets_drive_the_forecast():
    df, spec = with_feature(), feature_spec()
    state = state_of(df, spec)
    future = pd.DataFrame({"date": pd.date_range("2020-04-30", periods=6, freq="D").strftime("%Y-%m-%d"),
                           "y": np.nan, "x": [0.5, -0.5, 0.25, 1.0, -1.0, 0.0]})
    full = pd.concat([df, future], ignore_index=True)
    out = fc.predict_new(state, spec, full, feature_echo(state), steps=7)
    assert len(out) == 7
    assert out["time"].astype(str).str[:10].tolist()[:2] == ["2020-04-30", "2020-05-01"]   # after the history
    my, sy, mx, sx = state["mean"][0], state["std"][0], state["mean"][1], state["std"][1]
    as_y = lambda x: ((x - mx) / sx) * sy + my   # noqa: E731 - the feature echoed, in target units
    x_last = df["x"].iloc[-1]
    fx = future["x"].to_numpy()
    # pass 1 (steps 1-2) sees the history; pass 2 (3-4) ends with future row 2; pass 3 (5-6) row 4; pass 4 (7) row 6
    expected = [as_y(x_last)] * 2 + [as_y(fx[1])] * 2 + [as_y(fx[3])] * 2 + [as_y(fx[5])]
    np.testing.assert_allclose(out["y"].to_numpy(), expected, rtol=1e-5)
    # within H the future rows are left aside, never filled in as history
    assert np.allclose(fc.predict_new(state, spec, full, feature_echo(state), steps=2)["y"], as_y(x_last), rtol=1e-5)


def test_future_feature_rows_must_be_complete_and_after_the_history():
    df, spec = with_feature(), feature_spec()
    state = state_of(df, spec)
    future = pd.DataFrame({"date": ["2020-04-30", "2020-05-01"], "y": [np.nan, np.nan], "x": [0.5, np.nan]})
    with pytest.raises(DataError, match="Column 'x' has an empty cell in the rows after the history"):
        fc.predict_new(state, spec, pd.concat([df, future], ignore_index=True), feature_echo(state), steps=4)
    early = pd.DataFrame({"date": ["2020-01-05", "2020-01-06"], "y": [np.nan, np.nan], "x": [0.5, 0.1]})
    with pytest.raises(DataError, match="must come after the history"):
        fc.predict_new(state, spec, pd.concat([df, early], ignore_index=True), feature_echo(state), steps=4)


# ----------------------------------------------------------------------------- a trained model: CLI and page


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=timeout)


@pytest.fixture(scope="module")
def airline_run(tmp_path_factory):
    """A small Airline model (window 12, horizon 3) trained through the CLI, as in test_cli_and_bundle."""
    out = tmp_path_factory.mktemp("steps") / "run"
    r = cli("train", SAMPLES / "Airline.csv", "--task", "forecast", "--window", "12", "--horizon", "3",
            "--epochs", "2", "--units", "8", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.slow
def test_cli_steps_writes_every_step(airline_run, tmp_path):
    pred_file = tmp_path / "pred.csv"
    r = cli("predict", airline_run, SAMPLES / "Airline.csv", "--steps", "24", "--out", pred_file)
    assert r.returncode == 0, r.stderr
    assert "wrote 24 rows" in r.stderr
    pred = pd.read_csv(pred_file)
    assert list(pred.columns) == ["step", "time", "Passengers", "lower_80", "upper_80", "lower_95", "upper_95"] \
        and len(pred) == 24   # with the 80% / 95% bands (issue 13)
    assert pred["time"].tolist() == [f"{1961 + i // 12}-{i % 12 + 1:02d}-01" for i in range(24)]
    assert pred["Passengers"].notna().all()
    # the first H steps are what the model forecasts without --steps
    short = pd.read_csv(io.StringIO(cli("predict", airline_run, SAMPLES / "Airline.csv").stdout))
    assert len(short) == 3
    np.testing.assert_allclose(pred["Passengers"][:3], short["Passengers"], rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("steps, needle", [("0", "must be 1 or more; got 0"),
                                           ("20000", "At most 10,000 steps"),
                                           ("twelve", "invalid int value")])
def test_cli_bad_steps_exit_2_with_one_line(airline_run, steps, needle):
    r = cli("predict", airline_run, SAMPLES / "Airline.csv", "--steps", steps)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr
    assert r.stdout == ""


@pytest.mark.slow
def test_steps_for_a_classification_model_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"label": "ab"[i % 2], **{f"v{j}": float(rng.normal(i % 2, 1)) for j in range(8)}} for i in range(40)]
    csv = tmp_path / "cls.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    out = tmp_path / "cls"
    r = cli("train", csv, "--task", "classify", "--label", "label", "--epochs", "1", "--units", "4", "--out", out)
    assert r.returncode == 0, r.stderr
    r = cli("predict", out, csv, "--steps", "5")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == ["error: This model classifies sequences: it has no steps ahead to forecast. Leave out the "
                     "number of steps, or pick a forecasting model."]
    assert cli("predict", out, csv).returncode == 0   # without --steps it predicts as before


@pytest.mark.slow
def test_predict_page_forecasts_24_steps(airline_run, tmp_path, monkeypatch):
    from seqcore.outputs.bundle import bundle_zip_bytes, import_bundle_zip
    from seqcore.runs import runner
    from seqcore.runs.store import RunStore

    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    old = set_env(SEQSTUDIO_WORKER_IDLE_EXIT="20")
    store = RunStore(home)
    other = import_bundle_zip(store, bundle_zip_bytes(airline_run / "bundle"), "other.zip")
    run_id = import_bundle_zip(store, bundle_zip_bytes(airline_run / "bundle"), "airline.zip")
    try:
        at = page(PREDICT, query={"run": other})
        at.number_input(key="predict_steps").set_value(7).run()
        at.selectbox(key="predict_run").set_value(run_id).run()   # another model starts at its own horizon
        steps = at.number_input(key="predict_steps")
        assert steps.value == 3 and steps.label == "How many steps ahead?"
        assert "further ahead" in steps.help and "trained to forecast 3 at a time" in steps.help
        steps.set_value(24).run()
        assert at.number_input(key="predict_steps").value == 24
        at.file_uploader(key="predict_upload").set_value(("new.csv", (SAMPLES / "Airline.csv").read_bytes(),
                                                           "text/csv"))
        at.run()
        at.button(key="predict_go").click().run()
        assert not at.exception
        job = runner.wait_run(store, at.session_state["predict_job_id"], timeout=180)
        assert job.status == "finished", job.error
        at.run()
        assert not at.exception
        df = at.dataframe[0].value
        assert list(df.columns) == ["step", "time", "Passengers", "lower_80", "upper_80", "lower_95", "upper_95"] \
            and len(df) == 24   # with the 80% / 95% bands (issue 13)
        assert "The forecast for the 24 steps after the last row of the file (the model forecasts 3 at a time" \
            in texts(at.caption)
        assert [b.label for b in at.get("download_button")] == ["Download the predictions (CSV)"]
        saved = pd.read_csv(store.artifacts(job.id)["predictions"])   # what the download button serves
        assert len(saved) == 24 and saved["time"].iloc[-1] == "1962-12-01"
        assert at.get("plotly_chart"), "history and forecast are drawn"
        chart = at.get("plotly_chart")[0].proto.spec
        assert "95% band" in chart and "80% band" in chart   # a fan chart (issue 13)
        assert "the true value should fall in the light band 95% of the time" in texts(at.caption)
    finally:
        runner.stop_supervisor(home)
        set_env(**old)


@pytest.mark.slow
def test_predict_page_with_features_says_what_a_long_forecast_needs(tmp_path, monkeypatch):
    from seqcore.config import ModelSpec, RunSpec, TrainSpec
    from seqcore.outputs.bundle import bundle_zip_bytes, import_bundle_zip
    from seqcore.pipeline import run_training
    from seqcore.runs import runner
    from seqcore.runs.store import RunStore

    data = with_feature(160).to_csv(index=False).encode()
    spec = RunSpec(feature_spec(), ModelSpec(units=(4,)), TrainSpec(epochs=1, batch_size=32, patience=0))
    res = run_training(data, spec, tmp_path / "run")
    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    old = set_env(SEQSTUDIO_WORKER_IDLE_EXIT="20")
    store = RunStore(home)
    run_id = import_bundle_zip(store, bundle_zip_bytes(res.bundle_dir), "features.zip")
    try:
        at = page(PREDICT, query={"run": run_id})
        assert "To forecast more than 2 steps, add rows after the history that give the future values of 'x', " \
               "with the target cells left empty." in texts(at.text)
        at.number_input(key="predict_steps").set_value(5).run()
        at.file_uploader(key="predict_upload").set_value(("new.csv", data, "text/csv"))
        at.run()
        at.button(key="predict_go").click().run()
        job = runner.wait_run(store, at.session_state["predict_job_id"], timeout=180)
        assert job.status == "failed"
        at.run()
        assert not at.exception
        shown = texts(at.error).replace("\\", "")   # the page escapes Markdown characters
        assert "needs the future values of its input column(s) 'x' for the next 4 steps" in shown
        assert "or forecast at most 2 steps" in shown and "Traceback" not in shown
    finally:
        runner.stop_supervisor(home)
        set_env(**old)
