"""What the forecasting network starts from (issue 13 point 6): the deseasonalised series, the residual of a
statistical forecast, or the network alone, picked by validation (seqcore.modeling.forecast_base / base_select)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.modeling import base_select, forecast_base
from seqcore.modeling.tasks import forecast as fc

pytestmark = pytest.mark.usefixtures("base_search")   # base="auto" searches here, as outside the tests


def seasonal_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A monthly series: level + trend + a fixed yearly pattern + a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    pattern = np.array([5, 3, 8, 12, 9, 4, -2, -6, -9, -11, -8, -5], dtype=float)
    y = 100 + 0.5 * t + pattern[t % 12] + rng.normal(0, 1.0, n)
    return pd.DataFrame({"Date": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m"), "y": y})


def spec(**kw) -> DataSpec:
    return DataSpec(task="forecast", time="Date", targets=("y",), window=12, horizon=3, season=12).replace(**kw)


def tiny_run(data: DataSpec) -> RunSpec:
    return RunSpec(data=data, model=ModelSpec(units=(4,)),
                   train=TrainSpec(epochs=2, patience=2, batch_size=16, seed=0))


def test_base_choice_is_validated_with_a_plain_message():
    with pytest.raises(SpecError) as err:
        DataSpec(task="forecast", targets=("y",), base="magic").validate()
    assert "Unknown forecast base 'magic'" in err.value.message
    assert "auto_arima" in err.value.message and "'none' uses the network alone" in err.value.hint
    for b in forecast_base.BASES:
        DataSpec(task="forecast", targets=("y",), base=b).validate()
    assert DataSpec().base == "auto" and "'deseason'" in forecast_base.BASE_HELP


def test_seasonal_indices_recover_an_additive_pattern():
    t = np.arange(96)
    pattern = np.array([3.0, -1.0, 2.0, -4.0])
    x = 10 + 0.2 * t + pattern[t % 4]
    idx = forecast_base.seasonal_indices(x, 4)
    assert idx.shape == (4, 1)
    assert np.allclose(idx[:, 0], pattern - pattern.mean(), atol=1e-9)


@pytest.mark.parametrize("base", ["none", "deseason", "auto_arima"])
@pytest.mark.parametrize("relative", [True, False])
def test_targets_round_trip_to_the_actual_values(base, relative):
    """Whatever the base, the network's target for a window plus the window's offset gives back the actual
    values in original units (deseasonalise -> re-seasonalise, residual -> + statistical forecast)."""
    df = seasonal_frame()
    prep = fc.prepare(df, spec(base=base, relative=relative, log_transform=base == "deseason"))
    assert prep.state["base"]["name"] == base
    series, starts = prep.extra["series"], prep.extra["starts"]["test"]
    idx = np.arange(len(prep.test))
    _, y = prep.test.gather(idx)
    back = fc.to_original(prep.state, y, prep.test.last_values(idx))
    actual = series[starts[:, None] + np.arange(3)[None, :]]
    assert np.allclose(back, actual, rtol=1e-4, atol=1e-3)
    json.dumps(prep.state)   # the state saved with a model is plain JSON


def test_deseasonalised_inputs_lose_the_season():
    df = seasonal_frame(n=144)
    prep = fc.prepare(df, spec(base="deseason", relative=False, val_fraction=0.1, test_fraction=0.1))
    idx = np.asarray(prep.state["base"]["indices"])[:, 0]
    assert idx.shape == (12,) and abs(idx.mean()) < 1e-9
    # the scaled pattern: the same shape as the one the series was built with
    pattern = np.array([5, 3, 8, 12, 9, 4, -2, -6, -9, -11, -8, -5], dtype=float)
    assert np.corrcoef(idx, pattern - pattern.mean())[0, 1] > 0.99
    x, _ = prep.train.gather(np.arange(len(prep.train)))
    raw, _ = fc.prepare(df, spec(base="none", relative=False, val_fraction=0.1, test_fraction=0.1)).train.gather(
        np.arange(len(prep.train)))
    detrended = lambda a: np.diff(a[:, :, 0], axis=1)   # noqa: E731 - month-to-month changes
    assert detrended(x).std() < 0.5 * detrended(raw).std()


def test_deseason_without_a_season_falls_back_with_a_note():
    prep = fc.prepare(seasonal_frame(), spec(base="deseason", season=1))
    assert prep.state["base"]["name"] == "none"
    assert any("The season could not be taken out (the data shows no season)" in n for n in prep.notes)


def test_residual_with_an_untrained_head_is_the_statistical_forecast():
    import keras

    from seqcore.modeling.models import build_model
    from seqcore.modeling.statmodels import stat_forecasts
    from seqcore.modeling.training import predict

    df = seasonal_frame()
    run = tiny_run(spec(base="auto_arima"))
    prep = fc.prepare(df, run.data)
    assert prep.shape.small_head
    split, starts = prep.extra["split"], prep.extra["starts"]["test"]
    stat = stat_forecasts(prep.extra["series"], starts, 3, split.train_end, 12, names=("auto_arima",))
    expected = stat.forecasts["auto_arima"]
    model = build_model(run.model, run.train, prep.shape)
    idx = np.arange(len(prep.test))
    untrained = fc.to_original(prep.state, predict(model, prep.test), prep.test.last_values(idx))
    assert np.allclose(untrained, expected, rtol=0.01)          # the head starts near zero
    head = model.get_layer("forecast")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    zero = fc.to_original(prep.state, predict(model, prep.test), prep.test.last_values(idx))
    assert np.allclose(zero, expected, rtol=1e-5)
    keras.backend.clear_session()


def _choose(df, data, on_progress=None):
    run = tiny_run(data)
    prep = fc.prepare(df, run.data)
    return base_select.choose(df, run, prep, on_progress=on_progress)


def test_auto_picks_by_validation_and_never_reads_the_test_part(monkeypatch):
    df = seasonal_frame()
    points = []
    # calendar off: this test is about the bases (the calendar check after them has its own test below)
    prep = _choose(df, spec(calendar="off"), points.append)
    choice = prep.extra["model_choice"]
    scores = choice["validation"]
    # the search reports each candidate as it trains (kind "choose": candidate i of k, its epochs)
    assert {p.kind for p in points} == {"choose"}
    assert [p.metrics["candidate"] for p in points if p.batch == 0] == list(scores)
    assert {(p.epoch, p.epochs) for p in points if p.batch == 0} == {(i, 5) for i in range(1, 6)}
    assert all(p.batches == 2 for p in points) and any(p.batch == 2 for p in points)
    assert set(scores) == {"none", "deseason", "auto_ets", "auto_arima", "auto_theta"} \
        == set(base_select.candidates(len(df), 84, 12))
    assert choice["picked"] == min(scores, key=lambda k: scores[k]) == prep.state["base"]["name"]
    assert choice["how"] == "validation" and choice["seconds"] > 0
    assert any(f"scored best on validation (MASE {scores[choice['picked']]:.3g}" in n for n in prep.notes)
    # the same data with the test part replaced by wild values: the same scores and the same choice
    # (three candidates, to keep the test short)
    monkeypatch.setattr(base_select, "candidates", lambda n, rows, season: ["none", "deseason", "auto_arima"])
    scores = {k: scores[k] for k in ("none", "deseason", "auto_arima")}
    choice = {"picked": min(scores, key=lambda k: scores[k])}
    wild = df.copy()
    n_test = int(round(len(df) * 0.15))
    wild.loc[len(df) - n_test:, "y"] = np.random.default_rng(5).uniform(-1e4, 1e4, n_test)
    again = _choose(wild, spec(calendar="off")).extra["model_choice"]
    assert again["validation"] == scores and again["picked"] == choice["picked"]


def test_auto_without_validation_uses_a_holdout_of_the_training_part():
    df = seasonal_frame()
    data = spec(val_fraction=0.0)
    sel = base_select.selection_spec(data, len(df))
    assert sel.val_fraction > 0 and sel.test_fraction == data.test_fraction
    prep = _choose(df, data)
    choice = prep.extra["model_choice"]
    assert choice["how"] == "holdout" and choice["picked"] in choice["validation"]
    assert any("on a holdout at the end of the training part" in n for n in prep.notes)


def test_long_series_keep_the_network_alone_with_a_note(monkeypatch):
    monkeypatch.setattr(base_select, "MAX_SELECT_ROWS", 50)
    prep = _choose(seasonal_frame(), spec())
    assert prep.extra["model_choice"]["picked"] == "none"
    assert prep.extra["model_choice"]["how"] == "long series"
    assert any("The network works on its own: with 120 rows the series is long enough" in n for n in prep.notes)


def test_the_search_can_be_switched_off_for_a_slow_machine(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_BASE_SEARCH", "0")
    points = []
    prep = _choose(seasonal_frame(), spec(), points.append)
    assert prep.extra["model_choice"]["picked"] == "none" == prep.state["base"]["name"]
    assert prep.extra["model_choice"]["how"] == "off" and not points
    assert any("switched off on this installation (SEQSTUDIO_BASE_SEARCH=0)" in n for n in prep.notes)


def test_choice_notes_say_what_won_and_by_how_much():
    note = base_select._note("auto_arima", {"none": 0.75, "auto_arima": 0.61, "deseason": 0.7}, holdout=False)
    assert note == ("The network learns the remaining error of AutoARIMA's forecast: it scored best on validation "
                    "(MASE 0.61 vs 0.75 for the network alone).")
    note = base_select._note("none", {"none": 0.5, "auto_ets": 0.6}, holdout=True)
    assert note == ("The network works on its own: it scored best on a holdout at the end of the training part "
                    "(MASE 0.5 vs 0.6 for AutoETS's residual).")
    assert base_select._note("deseason", {"none": 1.0, "deseason": 0.9}, holdout=False).startswith(
        "The network works on the deseasonalised series (the season is put back after it)")


def test_bundle_with_auto_arima_predicts_sane_numbers(tmp_path):
    from seqcore.pipeline import predict_from_bundle, run_training

    df = seasonal_frame()
    raw = df.to_csv(index=False).encode()
    res = run_training(raw, tiny_run(spec(base="auto_arima")), tmp_path / "run", name="s.csv")
    assert res.metrics["model_choice"] == {"picked": "auto_arima", "validation": {}, "seconds": 0.0,
                                           "how": "chosen"}
    state = json.loads((res.bundle_dir / "preprocess.json").read_text())
    assert state["base"] == {"name": "auto_arima", "season": 12}
    out = predict_from_bundle(res.bundle_dir, raw, steps=8)   # past H=3: rolls forward
    values = out["y"].to_numpy()
    run_forecast = pd.read_csv(tmp_path / "run" / "forecast.csv")["y"].to_numpy()
    assert np.allclose(values[:3], run_forecast, atol=1e-4)   # the saved model predicts the run's own future
    assert len(values) == 8 and np.isfinite(values).all()
    last_year = df["y"].to_numpy()[-12:]
    assert (values > last_year.min() - 20).all() and (values < last_year.max() + 25).all()
    # the forecast follows the season: the months ahead move like the same months a year before
    ahead = df["y"].to_numpy()[-12:-4]
    assert np.corrcoef(values, ahead)[0, 1] > 0.8


def test_too_few_validation_windows_switch_the_network_off():
    """One 36-month forecast of a short series leaves a holdout of one or two windows: a network's score there
    says too little, so the statistical forecasts alone are compared and the best is used as it is."""
    df = seasonal_frame()
    data = spec(val_fraction=0.0, horizon=14)
    prep = _choose(df, data)
    choice = prep.extra["model_choice"]
    assert choice["correction"] is False and choice["picked"] in ("auto_ets", "auto_arima", "auto_theta")
    assert set(choice["validation"]) == {"auto_ets", "auto_arima", "auto_theta"}
    assert prep.state["base"] == {"name": choice["picked"], "season": 12, "correction": False}
    note = next(n for n in prep.notes if n.startswith("The holdout at the end of the training part holds only 2"))
    assert "too few to check that a network helps, so the network is switched off" in note
    # whatever the network outputs, the forecast is the statistical one
    idx = np.arange(len(prep.test))
    ref = prep.test.last_values(idx)
    noise = np.random.default_rng(0).normal(0, 5, (len(idx), 14, 1))
    assert np.allclose(fc.to_original(prep.state, noise, ref), fc.to_original(prep.state, 0 * noise, ref))


def test_a_resumed_run_keeps_the_interrupted_runs_choice(monkeypatch, tmp_path):
    monkeypatch.setattr(base_select, "MAX_SELECT_ROWS", 50)   # no training: the long-series choice
    df = seasonal_frame()
    run = tiny_run(spec())
    first = base_select.choose(df, run, fc.prepare(df, run.data), checkpoint_dir=tmp_path)
    saved = json.loads((tmp_path / base_select.CHOICE_FILE).read_text())
    assert saved["picked"] == "none" and saved["note"].startswith("The network works on its own")

    def no_search(*a, **k):
        raise AssertionError("a resumed run searched again")

    monkeypatch.setattr(base_select, "_search", no_search)
    again = base_select.choose(df, run, fc.prepare(df, run.data), checkpoint_dir=tmp_path, resume=True)
    assert again.extra["model_choice"]["picked"] == first.extra["model_choice"]["picked"]
    assert any(n.endswith("(The choice was kept from the interrupted run.)") for n in again.notes)


def test_cli_base_flag_reaches_the_spec():
    import argparse

    from seqcore.cli.spec import add_train_arguments, build_spec

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    df = seasonal_frame()
    assert build_spec(parser.parse_args(["s.csv", "--task", "forecast", "--base", "deseason"]), df).data.base \
        == "deseason"
    assert build_spec(parser.parse_args(["s.csv", "--task", "forecast"]), df).data.base == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["s.csv", "--task", "forecast", "--base", "magic"])


def test_model_page_base_choice_sets_the_spec_and_the_data_page_keeps_it():
    from helpers import app

    at = app()
    at.button(key="home_sample_airline").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    box = at.selectbox(key="model_base")
    assert box.value == "auto" and "What the network starts from" in box.help
    assert any("Automatic start: before the run" in c.value for c in at.caption)
    box.set_value("auto_theta").run()
    assert not at.exception
    assert at.session_state["data_spec"]["base"] == "auto_theta"
    assert not any("Automatic start" in c.value for c in at.caption)
    at.switch_page("pages/1_Data.py").run()       # the Data page keeps it while it sets up the data again
    assert not at.exception and at.session_state["data_spec"]["base"] == "auto_theta"


def test_train_page_says_which_option_the_search_is_training():
    from pages._ui.backtest_ui import choose_phase
    from seqcore.modeling.progress import NOT_CURVE_KINDS, Progress

    assert "choose" in NOT_CURVE_KINDS   # not part of the run's loss curves
    done, k, text = choose_phase(Progress(kind="choose", epoch=2, epochs=5, batch=3, batches=6,
                                          metrics={"candidate": "deseason"}))
    assert (done, k) == (1.5, 5)
    assert text.startswith("Choosing what the network starts from: option 2 of 5 (the network on the "
                           "deseasonalised series) · epoch 3 of 6")


def test_model_page_says_when_the_search_is_switched_off(monkeypatch):
    from helpers import app

    monkeypatch.setenv("SEQSTUDIO_BASE_SEARCH", "0")
    at = app()
    at.button(key="home_sample_airline").click().run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    assert any("Automatic start is switched off on this installation" in c.value for c in at.caption)
    assert not any("Automatic start: before the run" in c.value for c in at.caption)


@pytest.mark.parametrize("without, dropped", [(0.5, True), (2.0, False)])
def test_calendar_features_stay_only_when_they_help_the_network_itself(monkeypatch, without, dropped):
    """calendar="auto" adds calendar features on a quick linear check; the search then trains the picked option
    once more without them and keeps whichever the network scores better with on validation."""
    from seqcore.data import covariates
    from seqcore.modeling import backtest

    monkeypatch.setattr(covariates, "calendar_check", lambda *a, **k: {"without": 1.0, "with": 0.5, "gain": 0.5})
    monkeypatch.setattr(base_select, "candidates", lambda n, rows, season: ["none", "deseason"])
    trained = []

    def score(spec, p, should_stop, point, on_progress):
        has = bool(p.state["calendar"]["parts"])
        trained.append((p.state["base"]["name"], has))
        point(1, 0.1)
        return {("none", True): 1.0, ("deseason", True): 1.5}.get((p.state["base"]["name"], has), without)

    monkeypatch.setattr(base_select, "_train_score", score)
    points = []
    prep = _choose(seasonal_frame(), spec(calendar="auto"), points.append)
    choice = prep.extra["model_choice"]
    assert trained == [("none", True), ("deseason", True), ("none", False)]
    assert choice["picked"] == "none" and choice["calendar_check"] == {"with": 1.0, "without": without}
    assert choice["calendar"] == ("off" if dropped else "on")
    assert bool(prep.state["calendar"]["parts"]) is not dropped   # the real run's data follows the choice
    last = [p for p in points if p.batch == 0][-1]
    assert (last.epoch, last.epochs, last.metrics["candidate"]) == (3, 3, base_select.NO_CALENDAR)
    assert "without calendar features" in base_select.candidate_text(base_select.NO_CALENDAR)
    words = "left out" if dropped else "keeps the calendar features"
    assert any(words in n for n in prep.notes)
    assert not any("were added" in n for n in prep.notes) if dropped else True
    # the backtest's folds test what the run picked, calendar included
    bt = backtest.plan(seasonal_frame(), tiny_run(spec(calendar="auto", backtest=2)))
    bt.use_base(choice["picked"], True, calendar=choice["calendar"])
    assert bt.spec.data.calendar == ("off" if dropped else "auto") and bt.spec.data.base == "none"


def test_forecasts_of_a_target_that_never_went_below_zero_stay_at_zero_or_more():
    assert fc.target_floors(np.array([[0.0, -1.0], [3.0, 2.0]])) == [0.0, None]
    state = {"floor": [0.0, None]}
    y = np.array([[[-0.4, -0.4], [0.2, -3.0]]])
    assert fc.apply_floor(state, y).tolist() == [[[0.0, -0.4], [0.2, -3.0]]]
    assert fc.apply_floor({}, y) is y   # bundles saved before floors: unchanged
    # a count series that falls to zero: the network's wiggle around zero is cut, as its intervals are
    rng = np.random.default_rng(1)
    y = np.r_[rng.poisson(3, 90), np.zeros(30)].astype(float)
    df = pd.DataFrame({"Date": pd.date_range("2000-01-01", periods=120, freq="MS").strftime("%Y-%m"), "y": y})
    prep = fc.prepare(df, spec(base="none", calendar="off"))
    assert prep.state["floor"] == [0.0]
    out = np.random.default_rng(2).normal(0, 3, (len(prep.test), 3, 1))
    pred = fc.to_original(prep.state, out, prep.test.last_values(np.arange(len(prep.test))))
    assert pred.min() == 0.0
