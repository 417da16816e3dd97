"""Known-future covariates: user columns known in advance (led by H steps in the input) and calendar features."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec
from seqcore.data.calendar import calendar_features, calendar_parts
from seqcore.errors import DataError, SpecError
from seqcore.modeling.tasks import forecast

ROOT = Path(__file__).resolve().parents[1]
SEATBELTS = Path("/work/shared/datasets/seatbelts.csv")
if not SEATBELTS.exists():
    SEATBELTS = ROOT.parent / "shared" / "datasets" / "seatbelts.csv"


def _frame(n=120, freq="MS", seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq=freq).strftime("%Y-%m-%d %H:%M"),
                         "y": rng.normal(size=n).cumsum() + 50, "promo": (np.arange(n) * 7 % 5).astype(float)})


def _unscaled(prep, x, col):
    return x[..., col] * prep.state["std"][col] + prep.state["mean"][col]


# ----------------------------------------------------------------------------- the lead shift

@pytest.mark.parametrize("relative", [False, True])
def test_window_at_origin_t_carries_the_known_values_of_t_plus_1_to_t_plus_h(relative):
    df = _frame()
    spec = DataSpec(task="forecast", time="date", targets=("y",), known_future=("promo",), calendar="off",
                    window=6, horizon=3, relative=relative)
    prep = forecast.prepare(df, spec)
    assert prep.shape.input_shape == (6, 2) and prep.state["covariates"] == ["promo"]
    promo, y = df["promo"].to_numpy(), df["y"].to_numpy()
    for src in (prep.train, prep.val, prep.test):
        idx = np.arange(len(src))
        x, _ = src.gather(idx)
        for i, s in enumerate(src.starts):        # origin t = s - 1: inputs are rows s-6 .. s-1
            known = _unscaled(prep, x[i], 1)
            assert np.allclose(known[-3:], promo[s:s + 3])            # t+1 .. t+H in the last H rows
            assert np.allclose(known, promo[s - 6 + 3:s + 3])         # row i carries the value at i + H
            target_in = x[i, :, 0] + (src.last_values([i])[0, 0, 0] if relative else 0)
            assert np.allclose(target_in * prep.state["std"][0] + prep.state["mean"][0], y[s - 6:s])  # no target leak


def test_known_future_column_must_exist_and_is_required_in_new_data():
    df = _frame()
    spec = DataSpec(task="forecast", time="date", targets=("y",), known_future=("price",), calendar="off",
                    window=6, horizon=3)
    with pytest.raises(DataError, match="no column 'price'"):
        forecast.prepare(df, spec)
    prep = forecast.prepare(df, spec.replace(known_future=("promo",)))
    assert forecast.required_columns(prep.state)["promo"] == "numeric"


def test_trailing_rows_with_empty_targets_give_the_forecast_csv_its_future_values():
    df = _frame()
    fut = pd.DataFrame({"date": pd.date_range("2010-01-01", periods=3, freq="MS").strftime("%Y-%m-%d %H:%M"),
                        "y": np.nan, "promo": [9.0, 8.0, 7.0]})
    spec = DataSpec(task="forecast", time="date", targets=("y",), known_future=("promo",), calendar="off",
                    window=6, horizon=3)
    prep = forecast.prepare(pd.concat([df, fut], ignore_index=True), spec)
    assert prep.state["n_rows"] == len(df)                       # the future rows are not history
    x, _ = forecast.future_inputs(prep)
    assert np.allclose(_unscaled(prep, x[0], 1)[-3:], [9, 8, 7])
    assert not any("keeps its last value" in n for n in prep.notes)
    plain = forecast.prepare(df, spec)                            # none given: the last value, said so
    assert np.allclose(_unscaled(plain, forecast.future_inputs(plain)[0][0], 1)[-3:], df["promo"].iloc[-1])
    assert any("assumes 'promo' keeps its last value" in n for n in plain.notes)


# ----------------------------------------------------------------------------- calendar features

@pytest.mark.parametrize("periods,freq,parts", [
    (48, "MS", ["month"]), (20, "QS", ["month"]), (30, "YS", []), (1000, "D", ["month", "weekday"]),
    (60, "D", ["weekday"]), (24 * 30, "h", ["weekday", "hour"]), (48 * 3, "30min", ["hour"]),
])
def test_calendar_parts_follow_the_step_and_the_span(periods, freq, parts):
    assert calendar_parts(pd.date_range("2001-01-01", periods=periods, freq=freq)) == parts


def test_calendar_values_are_cyclic_and_none_without_dates():
    months = pd.date_range("2001-01-01", periods=12, freq="MS")
    f = calendar_features(months, ["month"])
    assert f.shape == (12, 2)
    assert np.allclose(f[0], [0, 1]) and np.allclose(f[6], [0, -1], atol=1e-12) and np.allclose(f[3], [1, 0], atol=1e-12)
    days = calendar_features(pd.date_range("2024-01-01", periods=14, freq="D"), ["weekday"])  # a Monday
    assert np.allclose(days[0], days[7]) and np.allclose(days[0], [0, 1])
    hours = calendar_features(pd.date_range("2024-01-01", periods=48, freq="h"), ["hour"])
    assert np.allclose(hours[6], [1, 0], atol=1e-12) and np.allclose(hours[0], hours[24])
    assert calendar_parts(pd.Index(np.arange(100.0))) == [] and calendar_parts(None) == []


def _seasonal_monthly(n=180, seed=1, amp=5.0):
    rng = np.random.default_rng(seed)
    month = np.arange(n) % 12
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                         "y": amp * np.sin(2 * np.pi * month / 12) + rng.normal(scale=0.5, size=n) + 20})


def test_calendar_in_the_input_is_computed_for_the_forecast_steps():
    spec = DataSpec(task="forecast", time="date", targets=("y",), calendar="on", window=4, horizon=2)
    df = _seasonal_monthly()
    prep = forecast.prepare(df, spec)
    assert prep.state["calendar"]["parts"] == ["month"] and prep.shape.input_shape == (4, 3)
    x, _ = prep.train.gather(np.arange(len(prep.train)))
    s = prep.train.starts[5]
    step_times = pd.DatetimeIndex(pd.to_datetime(df["date"]))[s - 4 + 2:s + 2]
    assert np.allclose(_unscaled(prep, x[5], 1), calendar_features(step_times, ["month"])[:, 0])
    assert np.allclose(_unscaled(prep, x[5], 2), calendar_features(step_times, ["month"])[:, 1])


def test_calendar_none_without_a_time_column_or_when_off():
    df = _seasonal_monthly()
    prep = forecast.prepare(df.drop(columns="date"), DataSpec(task="forecast", targets=("y",), calendar="on",
                                                              window=4, horizon=2))
    assert prep.state["covariates"] == [] and prep.shape.input_shape == (4, 1)
    assert any("Calendar features need a date or time column" in n for n in prep.notes)
    off = forecast.prepare(df, DataSpec(task="forecast", time="date", targets=("y",), calendar="off", window=4,
                                        horizon=2))
    assert off.state["calendar"] == {"setting": "off", "parts": [], "check": None} and off.shape.input_shape == (4, 1)


def test_auto_calendar_decision_is_recorded_with_its_check():
    spec = DataSpec(task="forecast", time="date", targets=("y",), window=3, horizon=2, relative=False)
    on = forecast.prepare(_seasonal_monthly(), spec)   # a season longer than the window: the calendar helps
    cal = on.state["calendar"]
    assert cal["setting"] == "auto" and cal["parts"] == ["month"] and cal["check"]["with"] < cal["check"]["without"]
    assert cal["check"]["gain"] >= 0.02 and on.shape.input_shape == (3, 3)
    assert any(n.startswith("Calendar features (time of year) were added: they lowered the validation error of a "
                            f"quick linear check by {cal['check']['gain'] * 100:.0f}%") for n in on.notes)
    rng = np.random.default_rng(3)                    # no season at all: it does not help, so it stays out
    walk = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=180, freq="MS").strftime("%Y-%m-%d"),
                         "y": rng.normal(size=180).cumsum()})
    off = forecast.prepare(walk, spec)
    assert off.state["calendar"]["parts"] == [] and off.state["calendar"]["check"] is not None
    assert off.shape.input_shape == (3, 1)
    g = off.state["calendar"]["check"]["gain"] * 100
    want = (f"they did not lower the validation error of a quick linear check (it rose by {-g:.0f}%)." if g < 0 else
            f"they lowered the validation error of a quick linear check by only {g:.0f}% (2% needed).")
    assert "Calendar features (time of year) were not added: " + want in off.notes


# ----------------------------------------------------------------------------- predict_new

def _recorder(state):
    seen = []

    def predict_fn(x):
        seen.append(np.array(x))
        return np.zeros((len(x), state["horizon"], len(state["targets"])), dtype=np.float32)
    return predict_fn, seen


def test_predict_new_takes_known_values_from_rows_after_the_history_and_rolls_forward():
    df = _frame()
    spec = DataSpec(task="forecast", time="date", targets=("y",), known_future=("promo",), calendar="on",
                    window=6, horizon=3)
    prep = forecast.prepare(df, spec)
    assert prep.state["covariates"] == ["promo", "calendar: time of year (sin)", "calendar: time of year (cos)"]
    future = [11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    fut = pd.DataFrame({"date": pd.date_range("2010-01-01", periods=6, freq="MS").strftime("%Y-%m-%d %H:%M"),
                        "y": np.nan, "promo": future})
    fn, seen = _recorder(prep.state)
    out = forecast.predict_new(prep.state, spec, pd.concat([df, fut], ignore_index=True), fn, steps=5)
    assert len(out) == 5 and list(out["time"].astype(str))[:2] == ["2010-01-01", "2010-02-01"]
    assert len(seen) == 2                                           # two passes of H = 3
    first = _unscaled(prep, seen[0][0], 1)
    assert np.allclose(first[-3:], future[:3]) and np.allclose(first[:3], df["promo"].iloc[-3:])
    assert np.allclose(_unscaled(prep, seen[1][0], 1)[-3:], future[3:6])
    jan = calendar_features(pd.DatetimeIndex(["2010-01-01"]), ["month"])[0]
    assert np.allclose([_unscaled(prep, seen[0][0], 2)[-3], _unscaled(prep, seen[0][0], 3)[-3]], jan)


def test_predict_new_without_enough_known_rows_is_a_plain_error():
    df = _frame()
    spec = DataSpec(task="forecast", time="date", targets=("y",), known_future=("promo",), calendar="off",
                    window=6, horizon=3)
    prep = forecast.prepare(df, spec)
    fn, _ = _recorder(prep.state)
    with pytest.raises(DataError) as e:
        forecast.predict_new(prep.state, spec, df, fn)
    assert str(e.value.message) == ("This model uses the future values of 'promo' (known in advance): forecasting 3 "
                                    "steps needs them for the next 3 steps, but the file has no rows after the "
                                    "history.")
    assert "Add 3 rows after the history" in e.value.hint and "'y' left empty and 'promo' filled in" in e.value.hint
    fut = pd.DataFrame({"date": pd.date_range("2010-01-01", periods=4, freq="MS").strftime("%Y-%m-%d %H:%M"),
                        "y": np.nan, "promo": [1.0, 2.0, np.nan, 4.0]})
    with pytest.raises(DataError, match=r"forecasting 4 steps needs them for the next 6 steps, but the rows after "
                                        r"the history give 2 complete ones \('promo' is empty in the next\)"):
        forecast.predict_new(prep.state, spec, pd.concat([df, fut], ignore_index=True), fn, steps=4)


# ----------------------------------------------------------------------------- the spec

def test_dataspec_refuses_a_known_future_column_that_is_a_target_or_feature():
    with pytest.raises(SpecError, match="Column 'y' is both known in advance and a target"):
        DataSpec(task="forecast", targets=("y",), known_future=("y",)).validate()
    with pytest.raises(SpecError, match="Column 'p' is both known in advance and an extra input feature"):
        DataSpec(task="forecast", targets=("y",), features=("p",), known_future=("p",)).validate()
    with pytest.raises(SpecError, match="listed twice"):
        DataSpec(task="forecast", targets=("y",), known_future=("p", "p")).validate()
    with pytest.raises(SpecError, match="time column"):
        DataSpec(task="forecast", time="d", targets=("y",), known_future=("d",)).validate()
    with pytest.raises(SpecError, match="calendar features must be one of auto, on, off"):
        DataSpec(task="forecast", targets=("y",), calendar="yes").validate()
    d = DataSpec(task="forecast", targets=("y",), known_future=("p",), calendar="on")
    assert DataSpec.from_dict(d.to_dict()) == d


# ----------------------------------------------------------------------------- the CLI

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=600)


@pytest.mark.skipif(not SEATBELTS.exists(), reason="shared data sets not here")
def test_cli_trains_with_a_known_future_column_and_predicts_with_future_rows(tmp_path):
    out = tmp_path / "run"
    r = _cli("train", SEATBELTS, "--task", "forecast", "--known-future", "label", "--calendar", "off",
             "--units", "4", "--epochs", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    import json
    spec = json.loads((out / "bundle" / "spec.json").read_text())
    state = json.loads((out / "bundle" / "preprocess.json").read_text())
    assert state["known_future"] == ["label"] and state["calendar"] == {"setting": "off", "parts": [], "check": None}
    assert spec["data"]["known_future"] == ["label"] and spec["data"]["targets"] == ["KSI"]
    assert spec["data"]["features"] == [] and spec["data"]["calendar"] == "off"
    text = SEATBELTS.read_text().rstrip("\n").splitlines()
    months = pd.date_range("1985-01-01", periods=12, freq="MS").strftime("%Y-%m-%d")
    (tmp_path / "future.csv").write_text("\n".join(text + [f"{m},,1" for m in months]) + "\n")
    r = _cli("predict", out, tmp_path / "future.csv")
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(pd.io.common.StringIO(r.stdout))
    assert len(got) == 12 and list(got["step"]) == list(range(1, 13)) and got["KSI"].notna().all()
    r = _cli("predict", out, SEATBELTS)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "This model uses the future values of 'label' (known in advance)" in r.stderr
    assert "needs them for the next 12 steps" in r.stderr


def test_predict_page_instructions_name_the_known_columns_and_the_rows_needed():
    from seqcore.data.covariates import predict_instructions

    state = {"targets": ["KSI"], "horizon": 12, "known_future": ["label"],
             "calendar": {"setting": "auto", "parts": ["month"], "check": None}}
    known, cal = predict_instructions(state)
    assert known.startswith("This model uses the future values of 'label' (known in advance): after the history, "
                            "add one row per step to forecast, with 'KSI' left empty and 'label' filled in.")
    assert "give 12 such rows for up to 12 steps, and a whole multiple of 12 for more" in known
    assert cal.startswith("It also uses calendar features (time of year) from the time column")
    assert predict_instructions({"targets": ["y"], "horizon": 1, "known_future": [], "calendar": None}) == []
    assert predict_instructions({"targets": ["y"], "horizon": 1}) == []


# ----------------------------------------------------------------------------- the Data page

@pytest.mark.skipif(not SEATBELTS.exists(), reason="shared data sets not here")
def test_data_page_known_in_advance_and_calendar_choice_set_the_spec():
    from helpers import app, upload
    from seqcore.data.covariates import predict_instructions  # noqa: F401 (the Predict page's text, tested above)

    at = app("pages/1_Data.py")
    upload(at, "seatbelts.csv", SEATBELTS.read_bytes())
    assert not at.exception and at.radio(key="data_role_task").value == "forecast"
    known = at.multiselect(key="data_role_known")
    assert known.label == "Known in advance (optional)" and "label" in known.options
    assert known.help.startswith("Columns whose future values you know, such as holidays or a planned price")
    calendar = at.selectbox(key="data_opt_calendar")
    assert calendar.value == "auto" and calendar.help.startswith("Month of the year, day of the week and hour")
    targets = list(at.multiselect(key="data_role_targets").value)
    if "label" in targets:
        at.multiselect(key="data_role_targets").set_value([c for c in targets if c != "label"]).run()
    at.multiselect(key="data_role_known").set_value(["label"]).run()
    at.selectbox(key="data_opt_calendar").set_value("off").run()
    assert not at.exception and not at.error
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert spec.known_future == ("label",) and spec.calendar == "off" and "label" not in spec.targets


# ----------------------------------------------------------------------------- the training script

@pytest.mark.parametrize("calendar", ["auto", "on"])
def test_training_script_builds_the_same_known_future_and_calendar_inputs(calendar, tmp_path):
    import importlib.util

    from seqcore.config import RunSpec
    from seqcore.data.io import read_csv
    from seqcore.outputs.codegen import training_script

    df = _seasonal_monthly(n=150)
    df["promo"] = (np.arange(150) % 7 == 0).astype(float)
    df.loc[20, "y"] = np.nan
    fut = pd.DataFrame({"date": pd.date_range("2012-07-01", periods=2, freq="MS").strftime("%Y-%m-%d"),
                        "y": np.nan, "promo": [1.0, 0.0]})
    csv = tmp_path / "data.csv"
    pd.concat([df, fut], ignore_index=True).to_csv(csv, index=False)
    spec = RunSpec(data=DataSpec(task="forecast", time="date", targets=("y",), known_future=("promo",),
                                 calendar=calendar, window=3, horizon=2, missing="interpolate"))
    prep = forecast.prepare(read_csv(csv.read_bytes()).df, spec.data)
    assert prep.state["calendar"]["parts"] == ["month"]          # the season is longer than the window: it helps
    script = tmp_path / "train.py"
    script.write_text(training_script(spec), encoding="utf-8")
    mod_spec = importlib.util.spec_from_file_location(f"gen_cov_{calendar}", script)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    data = mod.prepare(mod.read_table(str(csv)))
    assert data["state"]["known_future"] == ["promo"] and data["state"]["calendar"] == ["month"]
    for part in ("train", "val", "test"):
        x, y = getattr(prep, part).gather(np.arange(len(getattr(prep, part))))
        np.testing.assert_allclose(data["x_" + part], x, rtol=1e-6, atol=1e-6, err_msg=part)
        np.testing.assert_allclose(data["y_" + part], y, rtol=1e-6, atol=1e-6, err_msg=part)
    x_future, _ = forecast.future_inputs(prep)
    np.testing.assert_allclose(data["last_window"], x_future, rtol=1e-6, atol=1e-6)   # the given future rows too


def test_calendar_inputs_reach_past_2262_for_the_longest_forecast():
    airline = pd.read_csv(ROOT / "seqcore" / "samples" / "Airline.csv")
    spec = DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3, calendar="on")
    state = forecast.prepare(airline, spec).state
    fn, seen = _recorder(state)
    out = forecast.predict_new(state, spec, airline, fn, steps=10_000)
    assert len(out) == 10_000 and len(seen) == 3334
    from types import SimpleNamespace

    last = seen[-1][0]     # the last pass's last row is step 9,999 (2794-03), led by 3 steps: 2794-06
    want = calendar_features(pd.DatetimeIndex(np.array(["2794-06-01"], dtype="datetime64[us]")), ["month"])[0]
    got = [_unscaled(SimpleNamespace(state=state), last, c)[-1] for c in (1, 2)]
    assert np.allclose(got, want)


def test_the_rarer_messages():
    from seqcore.data.covariates import future_block

    with pytest.raises(SpecError, match="Known-in-advance columns must be column names"):
        DataSpec(task="forecast", targets=("y",), known_future=("",)).validate()
    state = {"window": 2, "horizon": 1, "targets": ["y"], "known_future": [], "mean": [0.0, 0.0, 0.0],
             "std": [1.0, 1.0, 1.0], "calendar": {"setting": "on", "parts": ["month"], "check": None},
             "frequency": None}
    with pytest.raises(DataError, match="This model uses calendar features, which need the uploaded data's time "
                                        "column to be dates with a regular step"):
        future_block(state, np.zeros((5, 0)), pd.Index(np.arange(5.0)), None, 1)
    short = _seasonal_monthly(n=40)                   # too few windows for the quick check
    prep = forecast.prepare(short, DataSpec(task="forecast", time="date", targets=("y",), window=22, horizon=1))
    assert prep.state["calendar"] == {"setting": "auto", "parts": [], "check": None}
    assert "Calendar features (time of year) were not added: there was too little data to check." in prep.notes
