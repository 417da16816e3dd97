"""Prediction intervals for forecasts (issue 13, point 2): conformal maths, calibration on known noise, the
columns in every forecast table, roll-forward widening, the bundle round trip and the fan charts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.modeling import intervals as iv
from seqcore.modeling.tasks import forecast as fc
from seqcore.outputs.viz import forecast_figure, future_figure

BANDS = ["lower_80", "upper_80", "lower_95", "upper_95"]


# ----------------------------------------------------------------------------- the maths


def test_conformal_quantile_is_the_finite_sample_order_statistic():
    scores = np.arange(1, 20, dtype=float)[::-1]          # 19 scores, 1..19, unsorted
    assert iv.conformal_quantile(scores, 0.95) == 19       # k = ceil(20 * 0.95) = 19
    assert iv.conformal_quantile(np.arange(1, 11), 0.8) == 9   # k = ceil(11 * 0.8) = 9
    assert iv.conformal_quantile(np.arange(1, 11), 0.5) == 6   # k = ceil(5.5) = 6
    assert math.isinf(iv.conformal_quantile(np.arange(1, 19), 0.95))   # 18 scores cannot give 95%
    assert math.isnan(iv.conformal_quantile([], 0.9))
    assert iv.conformal_quantile([np.nan, 3.0, 1.0, np.inf, 2.0], 0.5) == 2.0   # k = ceil(4 * 0.5) of the 3 finite


def _noise(rng, n, H, T, sd):
    return rng.normal(0, 1, (n, H, T)) * sd[None, :, None]


@pytest.mark.parametrize("method", ["conformal", "conformal_pooled", "gaussian"])
def test_coverage_on_known_gaussian_noise_is_near_nominal(method):
    rng = np.random.default_rng(0)
    H, sd = 4, np.array([1.0, 1.5, 2.0, 3.0])
    calib = iv.calibrate({"log_transform": False}, np.zeros((300, H, 1)), _noise(rng, 300, H, 1, sd), method=method)
    test = _noise(rng, 20_000, H, 1, sd)
    for lev in (80, 95):
        w = np.asarray(calib["width"][str(lev)])               # (H, 1)
        inside = np.abs(test) <= w[None]
        assert abs(inside.mean() - lev / 100) < 0.03, (method, lev, inside.mean())
    if method != "conformal_pooled":   # per step: the widths follow each step's spread
        w95 = np.asarray(calib["width"]["95"])[:, 0]
        assert np.allclose(w95 / sd, 1.96, rtol=0.2)


def test_log_space_bands_are_relative_for_multiplicative_noise():
    rng = np.random.default_rng(1)
    level = np.exp(rng.uniform(2, 8, (400, 3, 1)))         # values from ~7 to ~3000
    actual = level * np.exp(rng.normal(0, 0.1, level.shape))
    calib = iv.calibrate({"log_transform": True}, level, actual)
    assert calib["space"] == "log"
    lo, hi = iv.bands(calib, np.array([[100.0], [1000.0]]), [1, 1], 95)
    assert (hi[1] - lo[1]) / (hi[0] - lo[0]) == pytest.approx(10, rel=0.02)   # ten times the level, ten times wider
    test_level = np.exp(rng.uniform(2, 8, (20_000, 3, 1)))
    test_actual = test_level * np.exp(rng.normal(0, 0.1, test_level.shape))
    frame = pd.DataFrame({"step": np.tile(np.arange(1, 4), 20_000), "target": "y",
                          "predicted": test_level.ravel(), "actual": test_actual.ravel()})
    cov = iv.coverage(iv.add_to_predictions({"targets": ["y"], "intervals": calib}, frame))
    assert abs(cov["95"] - 0.95) < 0.02 and abs(cov["80"] - 0.80) < 0.03


def test_too_few_validation_windows_pool_the_steps_and_widths_never_shrink_ahead():
    rng = np.random.default_rng(2)
    sd = np.array([1.0, 2.0, 1.5, 4.0, 5.0, 6.0])         # a noisy dip at step 3
    calib = iv.calibrate({"log_transform": False}, np.zeros((10, 6, 1)), _noise(rng, 10, 6, 1, sd))
    for lev in ("80", "95"):
        w = np.asarray(calib["width"][lev])[:, 0]
        assert np.isfinite(w).all() and (w > 0).all()
        assert (np.diff(w) >= 0).all()
    assert calib["n_residuals"] == 10
    json.dumps(calib, allow_nan=False)   # plain JSON: numbers and strings only


def test_training_calibration_is_widened():
    rng = np.random.default_rng(3)
    res = _noise(rng, 50, 2, 1, np.array([1.0, 1.0]))
    val = iv.calibrate({"log_transform": False}, np.zeros_like(res), res, source="validation")
    train = iv.calibrate({"log_transform": False}, np.zeros_like(res), res, source="training")
    assert np.allclose(np.asarray(train["width"]["95"]), iv.TRAIN_INFLATION * np.asarray(val["width"]["95"]))
    assert "widened" in iv.coverage_sentence({"coverage": {"80": 0.7, "95": 0.9}, "calibrated_on": "training"})


def test_coverage_sentence_in_plain_words():
    text = iv.coverage_sentence({"coverage": {"80": 0.81, "95": 0.93}, "calibrated_on": "validation"})
    assert text == ("95% of the time the true value should fall in the light band; on the test part it did 93% "
                    "of the time (the darker 80% band: 81%).")
    assert iv.coverage_sentence(None) is None and iv.coverage_sentence({"coverage": {}}) is None


# ----------------------------------------------------------------------------- forecast tables


def _airline_state(H=3, log=False, targets=("Passengers",)):
    from seqcore.data.io import read_csv
    from pathlib import Path

    df = read_csv((Path(__file__).resolve().parents[1] / "seqcore" / "samples" / "Airline.csv").read_bytes()).df
    if len(targets) > 1:
        df["Twice"] = df["Passengers"] * 2
    spec = DataSpec(task="forecast", time="Date", targets=targets, window=12, horizon=H, log_transform=log)
    return fc.prepare(df, spec), spec, df


def _mean_model(state):
    H = state["horizon"]
    return lambda x: np.repeat(np.asarray(x)[:, :, :len(state["targets"])].mean(axis=1, keepdims=True), H, axis=1)


@pytest.mark.parametrize("log", [False, True])
def test_steps_past_the_horizon_widen_with_the_square_root(log):
    prep, spec, df = _airline_state(H=3, log=log)
    state = prep.state
    state["intervals"] = {"method": "conformal", "space": "log" if log else "original", "levels": [80, 95],
                          "calibrated_on": "validation", "n_residuals": 9, "floor": 0.0,
                          "width": {"80": [[0.01], [0.02], [0.03]], "95": [[0.02], [0.03], [0.05]]}}
    out = fc.predict_new(state, spec, df, _mean_model(state), steps=12)
    assert list(out.columns) == ["step", "time", "Passengers", *BANDS]
    centre = iv.to_space(out["Passengers"], state["intervals"]["space"])
    half = iv.to_space(out["upper_95"], state["intervals"]["space"]) - centre
    assert np.allclose(half[:3], [0.02, 0.03, 0.05])
    assert np.allclose(half[3:], 0.05 * np.sqrt(np.arange(4, 13) / 3))     # h = 4..12 past H = 3
    assert (out["lower_80"] > out["lower_95"]).all() and (out["upper_80"] < out["upper_95"]).all()
    assert (out["lower_95"] <= out["Passengers"]).all() and (out["Passengers"] <= out["upper_95"]).all()


def test_several_targets_get_prefixed_columns():
    prep, spec, df = _airline_state(H=2, targets=("Passengers", "Twice"))
    state = prep.state
    state["intervals"] = iv.calibrate(state, np.ones((30, 2, 2)), np.ones((30, 2, 2)) + 0.1)
    out = fc.predict_new(state, spec, df, _mean_model(state))
    assert list(out.columns) == ["step", "time", "Passengers", "Twice"] + [
        f"{t}_{b}_{lev}" for lev in (80, 95) for t in ("Passengers", "Twice") for b in ("lower", "upper")]
    assert not any(iv.is_interval_column(c) for c in ("Passengers", "Twice", "step", "time"))
    fig = future_figure(df, out, time_col="Date")
    names = [t.name for t in fig.data if t.name]
    assert names.count("Passengers: 95% band") == 1 and "Twice: 80% band" in names
    assert not any("lower" in n or "upper" in n for n in names)   # bands are not drawn as targets


def test_long_test_predictions_take_each_rows_target_and_step():
    state = {"targets": ["a", "b"], "log_transform": False}
    state["intervals"] = iv.calibrate(state, np.zeros((40, 2, 2)),
                                      np.random.default_rng(4).normal(0, 1, (40, 2, 2)) * np.array([[1, 10], [2, 20]]))
    frame = pd.DataFrame({"step": [1, 2, 1, 2], "target": ["a", "a", "b", "b"], "predicted": 0.0,
                          "actual": [0.5, 0.5, 300.0, 300.0]})
    out = iv.add_to_predictions(state, frame)
    w = np.asarray(state["intervals"]["width"]["95"])    # (H, T)
    assert np.allclose(out["upper_95"], [w[0, 0], w[1, 0], w[0, 1], w[1, 1]])
    assert list(out.columns[-4:]) == BANDS
    assert iv.coverage(out) == {"80": 0.5, "95": 0.5}    # the far-off b values fall outside


def test_a_state_without_intervals_gives_the_plain_table():
    prep, spec, df = _airline_state(H=2)
    out = fc.predict_new(prep.state, spec, df, _mean_model(prep.state))
    assert list(out.columns) == ["step", "time", "Passengers"]


# ----------------------------------------------------------------------------- charts


def test_the_test_part_chart_shades_both_bands():
    n = 30
    pred = pd.DataFrame({"origin": range(n), "step": 1, "time": pd.date_range("2020-01-01", periods=n).astype(str),
                         "target": "y", "actual": np.arange(n, dtype=float), "predicted": np.arange(n) + 0.5})
    plain = forecast_figure(pred)
    assert not any(getattr(t, "fill", None) for t in plain.data)
    pred = pred.assign(lower_80=pred["predicted"] - 1, upper_80=pred["predicted"] + 1,
                       lower_95=pred["predicted"] - 2, upper_95=pred["predicted"] + 2)
    fig = forecast_figure(pred)
    filled = [t for t in fig.data if t.fill == "tonexty"]
    assert [t.name for t in filled] == ["95% band", "80% band"]
    assert filled[0].fillcolor != filled[1].fillcolor
    assert np.allclose(filled[0].y, pred["lower_95"]) and np.allclose(fig.data[0].y, pred["upper_95"])
    assert [t.name for t in fig.data[-2:]] == ["actual", "predicted"]   # lines drawn over the bands


# ----------------------------------------------------------------------------- a real run


TINY = dict(model=ModelSpec(units=(8,)), train=TrainSpec(epochs=4, batch_size=16, patience=0, lr_schedule="none",
                                                          learning_rate=0.01))


def _sine_csv(n=200, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                         "y": 10 + 3 * np.sin(t / 5) + rng.normal(0, 0.3, n)}).to_csv(index=False).encode()


@pytest.mark.slow
def test_a_run_writes_bands_everywhere_and_the_bundle_keeps_them(tmp_path):
    from seqcore.outputs.bundle import read_bundle
    from seqcore.outputs.report import run_report_html
    from seqcore.pipeline import predict_from_bundle, run_training

    data = _sine_csv()
    spec = RunSpec(data=DataSpec(task="forecast", time="date", targets=("y",), window=10, horizon=3), **TINY)
    res = run_training(data, spec, tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    info = m["intervals"]
    assert info["method"] == iv.DEFAULT_METHOD and info["levels"] == [80, 95]
    assert info["calibrated_on"] == "validation+training" and info["n_residuals"] > 0
    pred = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert list(pred.columns) == ["origin", "step", "time", "target", "actual", "predicted", "error", *BANDS]
    assert (pred["lower_95"] <= pred["lower_80"]).all() and (pred["lower_80"] <= pred["predicted"]).all()
    inside95 = ((pred["actual"] >= pred["lower_95"]) & (pred["actual"] <= pred["upper_95"])).mean()
    assert info["coverage"]["95"] == pytest.approx(inside95)
    fut = pd.read_csv(tmp_path / "run" / "forecast.csv")
    assert list(fut.columns) == ["step", "time", "y", *BANDS]
    state = read_bundle(res.bundle_dir).state
    assert state["intervals"]["width"]["95"] and state["intervals"]["calibrated_on"] == "validation+training"
    again = predict_from_bundle(res.bundle_dir, data, steps=6)   # past the horizon: rolled forward, wider
    assert list(again.columns) == ["step", "time", "y", *BANDS]
    assert np.allclose(again[BANDS].to_numpy()[:3], fut[BANDS].to_numpy(), atol=1e-4)
    width = (again["upper_95"] - again["lower_95"]).to_numpy()
    assert width[5] > width[2]
    html = run_report_html(run_name="r", spec=spec, metrics=m, history=res.history, predictions=pred, forecast=fut)
    assert "95% of the time the true value should fall in the light band" in html
    assert f"on the test part it did {info['coverage']['95']:.0%} of the time" in html


@pytest.mark.slow
def test_a_run_without_validation_calibrates_on_training_windows_and_says_so(tmp_path):
    from seqcore.pipeline import run_training

    spec = RunSpec(data=DataSpec(task="forecast", time="date", targets=("y",), window=10, horizon=3,
                                 val_fraction=0.0), **TINY)
    res = run_training(_sine_csv(), spec, tmp_path / "run")
    assert res.metrics["intervals"]["calibrated_on"] == "training"
    assert any("sized on the errors of the last training windows" in n and "Keep a validation part" in n
               for n in res.metrics["notes"])


@pytest.mark.slow
def test_with_a_final_fit_the_bands_come_from_the_model_validation_picked(tmp_path, monkeypatch):
    """The final fit trains on the validation data too, so its validation errors would be too small: the bands
    are sized before it, on the picked model's validation errors."""
    from seqcore.modeling import training
    from seqcore.pipeline import run_training

    order = []
    calibrate_run, final_fit = iv.calibrate_run, training.final_fit
    monkeypatch.setattr(iv, "calibrate_run", lambda *a, **k: order.append("calibrate") or calibrate_run(*a, **k))
    monkeypatch.setattr(training, "final_fit", lambda *a, **k: order.append("final fit") or final_fit(*a, **k))
    spec = RunSpec(data=DataSpec(task="forecast", time="date", targets=("y",), window=10, horizon=3),
                   model=TINY["model"], train=TINY["train"].replace(final_fit=True))
    res = run_training(_sine_csv(), spec, tmp_path / "run")
    assert order == ["calibrate", "final fit"]
    assert res.metrics["training"]["final_fit"]["kept"] is True
    assert res.metrics["intervals"]["calibrated_on"] == "validation+training"
