"""The statistical baselines in a forecast's evaluation, the verdict, the report, the Results table and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, RunSpec, TrainSpec
from seqcore.modeling.metrics import compare_to_baselines, forecast_metrics
from seqcore.modeling.statmodels import STAT_BASELINES_TEXT, STAT_MODELS
from seqcore.modeling.tasks import forecast
from seqcore.outputs.report import run_report_html, verdict
from seqcore.outputs.viz import baseline_table

SAMPLES = Path(__file__).resolve().parents[1] / "seqcore" / "samples"


@pytest.fixture(scope="module")
def airline_eval():
    df = pd.read_csv(SAMPLES / "Airline.csv")
    spec = DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3)
    prep = forecast.prepare(df, spec)
    outputs = np.zeros((len(prep.test), 3), dtype=np.float32)  # the training mean: a poor model
    metrics, _ = forecast.evaluate(prep, outputs)
    return prep, outputs, metrics


def test_evaluate_adds_the_statistical_baselines_on_airline(airline_eval):
    prep, outputs, metrics = airline_eval
    base = metrics["baselines"]
    assert {"naive", "seasonal_naive", "mean", *STAT_MODELS} == set(base)
    assert metrics["baseline_notes"] == []
    for name in STAT_MODELS:  # sane: a few percent on Airline's last months, far better than the mean
        assert 0.0 < base[name]["mape"] < 0.12, (name, base[name]["mape"])
        assert base[name]["mape"] < base["mean"]["mape"] / 2
    best_stat = min(STAT_MODELS, key=lambda n: base[n]["mae"])
    comp = metrics["comparison"]
    assert comp["best_statistical"] == best_stat and comp["beats_statistical"] is False
    assert comp["best_statistical_value"] == base[best_stat]["mae"]
    # the fits are kept: evaluating a second model (a final fit) reuses them
    kept = prep.extra["baseline_outputs"]
    again, _ = forecast.evaluate(prep, outputs)
    assert prep.extra["baseline_outputs"] is kept and again["baselines"] == metrics["baselines"]


def test_fit_ends_where_the_test_part_starts(airline_eval):
    prep, _, _ = airline_eval
    from seqcore.modeling.statmodels import stat_forecasts

    split, starts = prep.extra["split"], prep.extra["starts"]["test"]
    direct = stat_forecasts(prep.extra["series"], starts, 3, split.val_end, prep.state["season"],
                            names=("auto_arima",))
    np.testing.assert_allclose(prep.extra["baseline_outputs"]["auto_arima"], direct.forecasts["auto_arima"])


def test_skip_notes_join_the_notes(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_STAT_BUDGET", "0")
    df = pd.read_csv(SAMPLES / "Airline.csv")
    prep = forecast.prepare(df, DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3))
    metrics, _ = forecast.evaluate(prep, np.zeros((len(prep.test), 3), dtype=np.float32))
    assert not set(STAT_MODELS) & set(metrics["baselines"])
    assert metrics["baseline_notes"] == ["The statistical baselines (AutoETS, AutoARIMA, AutoTheta) are off "
                                         "(SEQSTUDIO_STAT_BUDGET=0)."]
    assert metrics["baseline_notes"][0] in metrics["test"]["notes"]  # the pipeline joins test notes to the notes


# ----------------------------------------------------------------------------- verdict


def _metrics(model_mae: float, maes: dict) -> dict:
    test = {"mae": model_mae}
    base = {k: {"mae": v} for k, v in maes.items()}
    return {"test": test, "baselines": base, "comparison": compare_to_baselines(test, base, "mae")}


SPEC = RunSpec(data=DataSpec(task="forecast", time="t", targets=("y",), window=12, horizon=3), train=TrainSpec())


def test_verdict_when_a_statistical_model_wins():
    m = _metrics(0.75, {"naive": 1.2, "seasonal_naive": 0.9, "auto_ets": 0.8, "auto_arima": 0.61, "auto_theta": 0.7})
    text, won = verdict(m, "forecast")
    assert won is False
    assert text.startswith("AutoARIMA beats this model on MAE: 0.61 against 0.75. A statistical model is the better "
                           "forecaster for this data: use AutoARIMA's forecasts, or try ")


def test_verdict_when_the_model_beats_the_statistical_models():
    text, won = verdict(_metrics(0.5, {"seasonal_naive": 0.9, "auto_ets": 0.8, "auto_arima": 0.61}), "forecast")
    assert won is True
    assert text == ("The model beats every baseline on MAE, the statistical models included: 0.5 against 0.61 for "
                    "the best of them, AutoARIMA.")
    # a simple baseline ahead of the statistical models: the verdict still names the statistical one beaten
    text, won = verdict(_metrics(0.5, {"seasonal_naive": 0.6, "auto_ets": 0.8, "auto_arima": 0.7}), "forecast")
    assert won is True
    assert text == ("The model beats every baseline on MAE: 0.5 against 0.6 for the best (seasonal naive). The best "
                    "statistical model, AutoARIMA, scores 0.7.")


def test_verdict_when_a_simple_baseline_wins_and_without_statistical_models():
    text, won = verdict(_metrics(0.9, {"seasonal_naive": 0.6, "auto_arima": 0.7}), "forecast", SPEC)
    assert won is False and text.startswith("The model does not beat the best simple baseline (seasonal naive)")
    text, won = verdict(_metrics(0.5, {"seasonal_naive": 0.6, "naive": 0.8}), "forecast")
    assert text == "The model beats the best simple baseline (seasonal naive) on MAE: 0.5 against 0.6."
    assert "best_statistical" not in compare_to_baselines({"mae": 1.0}, {"naive": {"mae": 2.0}}, "mae")


def test_compare_with_statistical_baselines_without_values():
    c = compare_to_baselines({"mae": 1.0}, {"naive": {"mae": 2.0}, "auto_ets": {"mae": None}}, "mae")
    assert c["best_baseline"] == "naive" and c["best_statistical"] is None and c["beats_statistical"] is None


# ----------------------------------------------------------------------------- report, table, CLI


def test_report_and_table_list_the_statistical_baselines(airline_eval):
    prep, _, metrics = airline_eval
    metrics = dict(metrics, baseline_notes=["AutoTheta was skipped: fitting it took longer than its 20 s budget."],
                   notes=["AutoTheta was skipped: fitting it took longer than its 20 s budget.", "Another note."])
    spec = RunSpec(data=DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3))
    html = run_report_html(run_name="Airline", spec=spec, metrics=metrics, history=[], predictions=None,
                           forecast=None)
    for label in ("<th>AutoETS</th>", "<th>AutoARIMA</th>", "<th>AutoTheta</th>"):
        assert label in html
    assert STAT_BASELINES_TEXT in html
    assert html.count("AutoTheta was skipped: fitting it took longer than its 20 s budget.") == 1
    assert "Another note." in html
    best = metrics["comparison"]["best_baseline"]
    assert "beats this model on MAE" in html and best in STAT_MODELS
    table = baseline_table(metrics, "forecast")
    assert list(table[""]) == ["this model", "naive (last value)", "seasonal naive", "training mean", "AutoETS",
                               "AutoARIMA", "AutoTheta"]
    assert list(table.columns) == ["", "MAE", "RMSE", "MAPE", "MASE"]


def test_cli_summary_prints_the_statistical_baselines(airline_eval, capsys):
    from types import SimpleNamespace

    from seqcore.cli.main import _print_summary

    _, _, metrics = airline_eval
    _print_summary(SimpleNamespace(metrics=metrics, status="finished", epochs_run=3, best_epoch=3, notes=[],
                                   bundle_dir="b"))
    err = capsys.readouterr().err
    assert "baseline AutoARIMA" in err and "baseline AutoETS" in err and "baseline AutoTheta" in err
    assert "beats this model on test mae: a statistical model is the better forecaster for this data." in err


def test_cli_summary_says_when_the_model_beats_the_statistical_models(capsys):
    from types import SimpleNamespace

    from seqcore.cli.main import _print_summary

    m = _metrics(0.5, {"seasonal_naive": 0.9, "auto_ets": 0.8, "auto_arima": 0.61})
    _print_summary(SimpleNamespace(metrics=m, status="finished", epochs_run=3, best_epoch=3, notes=[], bundle_dir="b"))
    assert "this model beats the best statistical model (AutoARIMA) on test mae." in capsys.readouterr().err
