"""seqcore.modeling.statmodels: AutoETS / AutoARIMA / AutoTheta baselines (statsforecast), on real data where cheap."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.errors import SettingsError
from seqcore.modeling import statmodels
from seqcore.modeling.metrics import forecast_metrics
from seqcore.modeling.statmodels import LABELS, STAT_MODELS, all_test_baselines, forecast_ahead, stat_forecasts

SAMPLES = Path(__file__).resolve().parents[1] / "seqcore" / "samples"


@pytest.fixture(scope="module")
def airline() -> np.ndarray:
    return pd.read_csv(SAMPLES / "Airline.csv")["Passengers"].to_numpy(dtype=np.float64)


def test_airline_published_protocol(airline):
    # fit on the first 108 months, one forecast of the last 36 (the protocol the issue quotes: AutoARIMA 0.042)
    res = stat_forecasts(airline, [108], 36, 108, 12)
    assert res.notes == [] and set(res.forecasts) == set(STAT_MODELS)
    actual = airline[108:][None, :, None]
    mape = {k: forecast_metrics(actual, v, y_train=airline[:108])["mape"] for k, v in res.forecasts.items()}
    assert 0.038 < mape["auto_arima"] < 0.046, mape
    seasonal_naive = forecast_metrics(actual, np.tile(airline[96:108], 3)[None, :, None])["mape"]
    assert mape["auto_arima"] < mape["auto_theta"] < seasonal_naive, (mape, seasonal_naive)
    assert all(v.shape == (1, 36, 1) and np.isfinite(v).all() for v in res.forecasts.values())
    assert set(res.seconds) == set(STAT_MODELS)


def test_forward_knows_only_the_values_before_each_origin(airline):
    starts = np.array([110, 120, 130])
    base = stat_forecasts(airline, starts, 6, 108, 12)
    for k, s in enumerate(starts):
        changed = airline.copy()
        changed[s:] *= 3.0  # the future of origin s changes; its forecast must not
        again = stat_forecasts(changed, [s], 6, 108, 12)
        for name in STAT_MODELS:
            np.testing.assert_allclose(again.forecasts[name][0], base.forecasts[name][k], rtol=1e-9)
    # and the parameters are the fitted ones, not re-estimated: a later origin moves with its own history
    assert not np.allclose(base.forecasts["auto_arima"][0], base.forecasts["auto_arima"][1])


def test_several_targets_are_forecast_each_on_its_own(airline):
    other = np.sqrt(airline) + np.arange(len(airline)) * 0.1
    both = np.column_stack([airline, other])
    res = stat_forecasts(both, [120, 130], 4, 108, 12, names=("auto_arima", "auto_theta"))
    one = stat_forecasts(other, [120, 130], 4, 108, 12, names=("auto_arima", "auto_theta"))
    for name in ("auto_arima", "auto_theta"):
        assert res.forecasts[name].shape == (2, 4, 2)
        np.testing.assert_allclose(res.forecasts[name][:, :, 1], one.forecasts[name][:, :, 0], rtol=1e-9)


def test_too_short_data_is_skipped_with_a_note():
    res = stat_forecasts(np.arange(12.0) + 1, [8], 2, 8, 4)
    assert res.forecasts == {}
    assert len(res.notes) == 3
    for name, note in zip(STAT_MODELS, res.notes):
        assert note.startswith(f"{LABELS[name]} was skipped: the training part has 8 rows and it needs at least")


def test_short_seasonal_data_is_fitted_without_the_season(airline):
    res = stat_forecasts(airline[:30], [20], 3, 20, 12, names=("auto_theta",))
    assert "auto_theta" in res.forecasts
    assert res.notes == ["AutoTheta was fitted without a season: the training part has 20 rows, fewer than two "
                         "whole seasons of 12."]


def test_non_finite_training_data_is_refused_with_a_note(airline):
    y = airline.copy()
    y[50] = np.nan
    res = stat_forecasts(y, [110], 3, 108, 12)
    assert res.forecasts == {}
    assert res.notes == [f"{LABELS[n]} was skipped: the training part has missing or infinite values, and it needs "
                         "a number in every row." for n in STAT_MODELS]
    y[50] = np.inf
    assert stat_forecasts(y, [110], 3, 108, 12, names=("auto_ets",)).notes[0].startswith("AutoETS was skipped")


def test_a_tiny_budget_skips_every_model_with_a_note(airline):
    res = stat_forecasts(airline, np.arange(110, 130), 6, 108, 12, budget_s=1e-6)
    assert res.forecasts == {}
    assert len(res.notes) == 3 and all("1e-06 s budget" in n for n in res.notes), res.notes
    assert all(n.startswith(f"{LABELS[m]} was skipped:") for m, n in zip(STAT_MODELS, res.notes))


def test_the_budget_stops_a_slow_fit_midway():
    # a seasonal AutoARIMA of a long weekly series takes minutes; the budget interrupts it inside statsforecast
    rng = np.random.default_rng(0)
    t = np.arange(2600)
    y = 10 + 3 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 1, len(t)).cumsum() * 0.1
    start = time.perf_counter()
    res = stat_forecasts(y, [2550], 8, 2500, 52, names=("auto_arima",), budget_s=1.0)
    assert time.perf_counter() - start < 30
    assert res.notes == ["AutoARIMA was skipped: fitting it took longer than its 1 s budget."]
    # the guard is off outside a budgeted fit: a later fit is not cut short
    assert "auto_arima" in stat_forecasts(y[:200], [150], 4, 140, None, names=("auto_arima",)).forecasts


def test_forecast_ahead_fits_on_all_the_history(airline):
    out = forecast_ahead("auto_arima", airline[:108], 36, 12)
    res = stat_forecasts(airline, [108], 36, 108, 12, names=("auto_arima",))
    assert out.shape == (36, 1)
    np.testing.assert_allclose(out, res.forecasts["auto_arima"][0], rtol=1e-6)
    with pytest.raises(ValueError, match="needs at least"):
        forecast_ahead("auto_ets", np.arange(5.0), 2, None)


def test_all_test_baselines_and_the_budget_setting(airline, monkeypatch):
    extra: dict = {}
    out = all_test_baselines(extra, airline, np.arange(125, 141), 4, 100, 122, 12)
    assert {"naive", "seasonal_naive", "mean", *STAT_MODELS} == set(out)
    assert extra["baseline_notes"] == []
    monkeypatch.setenv("SEQSTUDIO_STAT_BUDGET", "0")
    extra = {}
    out = all_test_baselines(extra, airline, np.arange(125, 141), 4, 100, 122, 12)
    assert set(out) == {"naive", "seasonal_naive", "mean"}
    assert extra["baseline_notes"] == ["The statistical baselines (AutoETS, AutoARIMA, AutoTheta) are off "
                                       "(SEQSTUDIO_STAT_BUDGET=0)."]
    monkeypatch.setenv("SEQSTUDIO_STAT_BUDGET", "soon")
    with pytest.raises(SettingsError, match="SEQSTUDIO_STAT_BUDGET"):
        all_test_baselines({}, airline, np.arange(125, 141), 4, 100, 122, 12)


def test_statsforecast_is_not_imported_with_seqcore():
    import subprocess
    import sys

    code = ("import sys, seqcore.modeling.statmodels, seqcore.outputs.report; "
            "print([m for m in sys.modules if m.startswith('statsforecast')])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1]).stdout.strip() == "[]"
    assert statmodels.MAX_FIT_ROWS >= 1000


@pytest.mark.parametrize("behaviour, note", [
    ("slow", "AutoTheta was skipped: forecasting from all 2 test origins took longer than its 20 s budget."),
    ("fails", "AutoTheta was skipped: it failed to forecast (no forecast here)."),
    ("nan", "AutoTheta was skipped: its forecasts were not finite numbers."),
])
def test_forecasting_problems_skip_the_model_with_a_note(airline, monkeypatch, behaviour, note):
    def forward(models, series, starts, horizon, *, deadline=None):
        if behaviour == "slow":
            raise TimeoutError
        if behaviour == "fails":
            raise ValueError("no forecast here")
        return np.full((len(starts), horizon, 1), np.nan)

    monkeypatch.setattr(statmodels, "forward", forward)
    res = stat_forecasts(airline, [120, 121], 3, 108, 12, names=("auto_theta",))
    assert res.forecasts == {} and res.notes == [note]


def test_a_fit_that_fails_is_skipped_with_a_note(airline, monkeypatch):
    class Broken:
        def fit(self, y):
            raise ValueError("singular matrix\nmore detail")

    monkeypatch.setattr(statmodels, "_model", lambda name, season: Broken())
    res = stat_forecasts(airline, [120], 3, 108, 12, names=("auto_ets",))
    assert res.notes == ["AutoETS was skipped: it could not be fitted to this data (singular matrix)."]
