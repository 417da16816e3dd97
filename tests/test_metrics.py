"""Tests for seqcore.modeling.metrics: hand-computed values, edge cases, JSON-safety."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from seqcore.modeling.metrics import (
    HIGHER_IS_BETTER,
    MAIN_METRIC,
    classification_metrics,
    compare_to_baselines,
    forecast_metrics,
)


def _json_ok(obj) -> None:
    """Must serialise without NaN/Infinity and without numpy types."""
    json.dumps(obj, allow_nan=False)


# --------------------------------------------------------------------------- forecast
def test_forecast_hand_computed_1d():
    y = np.array([1.0, 2.0, 4.0])
    p = np.array([2.0, 2.0, 2.0])
    m = forecast_metrics(y, p, y_train=np.array([0.0, 1.0, 3.0]))
    # errors 1, 0, -2
    assert m["mae"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert m["mape"] == pytest.approx((1 / 1 + 0 + 2 / 4) / 3)
    assert m["smape"] == pytest.approx((2 * 1 / 3 + 0 + 2 * 2 / 6) / 3)
    # naive scale = mean(|1-0|, |3-1|) = 1.5
    assert m["mase"] == pytest.approx(1.0 / 1.5)
    # r2 = 1 - SSE/SST; mean 7/3; SST = (16+1+25)/9 = 42/9; SSE = 5
    assert m["r2"] == pytest.approx(1 - 5 / (42 / 9))
    assert m["n"] == 3
    assert m["mape_skipped"] == 0
    assert len(m["per_step"]) == 1 and m["per_step"][0]["step"] == 1
    assert "per_target" not in m
    _json_ok(m)


def test_forecast_mape_skips_zero_actuals_and_smape_zero_over_zero():
    y = np.array([0.0, 2.0, 0.0, 4.0])
    p = np.array([0.0, 1.0, 1.0, 5.0])
    m = forecast_metrics(y, p)
    assert m["mape_skipped"] == 2
    assert m["mape"] == pytest.approx((0.5 + 0.25) / 2)
    # smape terms: 0/0 -> 0, 2*1/3, 2*1/1, 2*1/9
    assert m["smape"] == pytest.approx((0 + 2 / 3 + 2.0 + 2 / 9) / 4)
    assert any("zero" in note for note in m["notes"])
    assert m["mase"] is None  # no training series given
    _json_ok(m)


def test_forecast_all_zero_actuals_mape_none():
    m = forecast_metrics(np.zeros(4), np.ones(4))
    assert m["mape"] is None
    assert m["mape_skipped"] == 4
    assert m["smape"] == pytest.approx(2.0)
    assert m["r2"] is None  # constant actuals: R^2 undefined
    _json_ok(m)


def test_forecast_per_step_and_per_target_shapes():
    rng = np.random.default_rng(0)
    n, horizon, n_targets = 7, 3, 2
    y = rng.normal(10, 2, size=(n, horizon, n_targets))
    p = y + rng.normal(0, 1, size=y.shape)
    m = forecast_metrics(y, p, y_train=rng.normal(10, 2, size=(50, n_targets)), target_names=["a", "b"])
    assert [s["step"] for s in m["per_step"]] == [1, 2, 3]
    for s in m["per_step"]:
        assert set(s) == {"step", "mae", "rmse", "mape", "smape", "mase", "r2"}
    assert set(m["per_target"]) == {"a", "b"}
    for t, name in enumerate(["a", "b"]):
        assert m["per_target"][name]["mae"] == pytest.approx(np.abs(p[:, :, t] - y[:, :, t]).mean())
    # per-step MAE matches the step slice
    assert m["per_step"][1]["mae"] == pytest.approx(np.abs(p[:, 1] - y[:, 1]).mean())
    # overall MAE is the mean over all elements
    assert m["mae"] == pytest.approx(np.abs(p - y).mean())
    _json_ok(m)


def test_forecast_2d_is_n_by_horizon():
    y = np.arange(12, dtype=float).reshape(4, 3) + 1
    m = forecast_metrics(y, y + 1)
    assert len(m["per_step"]) == 3
    assert m["mae"] == pytest.approx(1.0)
    assert m["r2"] is not None


def test_forecast_mase_per_target_scale():
    # target 0 scale 1, target 1 scale 10; errors 1 and 10 -> MASE 1 each
    y_train = np.column_stack([np.arange(5.0), np.arange(5.0) * 10])
    y = np.array([[[5.0, 50.0]], [[6.0, 60.0]]])
    p = y + np.array([1.0, 10.0])
    m = forecast_metrics(y, p, y_train=y_train)
    assert m["mase"] == pytest.approx(1.0)
    assert m["per_target"]["target_1"]["mase"] == pytest.approx(1.0)
    assert m["per_target"]["target_2"]["mase"] == pytest.approx(1.0)
    assert m["per_target"]["target_2"]["mae"] == pytest.approx(10.0)


def test_forecast_flat_training_series_mase_none():
    m = forecast_metrics(np.array([1.0, 2.0]), np.array([1.0, 1.0]), y_train=np.ones(10))
    assert m["mase"] is None
    assert m["mae"] == pytest.approx(0.5)


def test_forecast_non_finite_predictions_give_none_not_error():
    y = np.ones((3, 2, 1))
    p = np.ones((3, 2, 1))
    p[0, 1, 0] = np.nan
    p[1, 1, 0] = np.inf
    m = forecast_metrics(y, p, y_train=np.arange(5.0))
    for key in ("mae", "rmse", "mape", "smape", "mase", "r2"):
        assert m[key] is None
    # step 1 is all finite and exact, step 2 has the bad values
    assert m["per_step"][0]["mae"] == 0.0
    assert m["per_step"][1]["mae"] is None
    _json_ok(m)


def test_forecast_shape_mismatch_raises():
    with pytest.raises(ValueError):
        forecast_metrics(np.ones((3, 2)), np.ones((3, 3)))


# --------------------------------------------------------------------------- classification
def test_classification_hand_computed_binary():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]])
    m = classification_metrics(y, proba, ["neg", "pos"])
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["confusion_matrix"] == [[1, 1], [1, 1]]
    expected_ll = -np.mean(np.log([0.9, 0.4, 0.8, 0.3]))
    assert m["log_loss"] == pytest.approx(expected_ll)
    # positives scores 0.8, 0.3; negatives 0.1, 0.6 -> pairs won: (0.8>0.1, 0.8>0.6, 0.3>0.1) = 3/4
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["n"] == 4
    assert [c["class"] for c in m["per_class"]] == ["neg", "pos"]
    assert m["per_class"][0] == {"class": "neg", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["macro_f1"] == pytest.approx(0.5)
    _json_ok(m)


def test_classification_absent_class_in_confusion_matrix():
    # 3 classes; class 2 never occurs in y_true nor in the predictions
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.9, 0.05, 0.05]])
    m = classification_metrics(y, proba, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert len(m["per_class"]) == 3
    assert m["per_class"][2] == {"class": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["roc_auc"] is None  # more than 2 classes
    assert m["accuracy"] == pytest.approx(0.75)
    # macro F1 over classes that occur: a: p=2/3 r=1 f1=0.8; b: p=1 r=0.5 f1=2/3
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["log_loss"] is not None
    _json_ok(m)


def test_classification_predicted_class_absent_from_truth():
    y = np.array([0, 0, 0])
    proba = np.array([[0.1, 0.9], [0.8, 0.2], [0.7, 0.3]])
    m = classification_metrics(y, proba, ["x", "y"])
    assert m["confusion_matrix"] == [[2, 1], [0, 0]]
    assert m["roc_auc"] is None  # only one class in y_true
    assert m["per_class"][1]["support"] == 0
    _json_ok(m)


def test_classification_non_finite_proba():
    y = np.array([0, 1])
    proba = np.array([[np.nan, 0.5], [0.2, 0.8]])
    m = classification_metrics(y, proba, ["a", "b"])
    assert m["log_loss"] is None and m["roc_auc"] is None
    assert m["accuracy"] == pytest.approx(0.5)  # row 0 predicts b from its finite entry
    _json_ok(m)


def test_classification_unnormalised_proba_is_renormalised():
    y = np.array([0, 1])
    m = classification_metrics(y, np.array([[2.0, 2.0], [1.0, 3.0]]), ["a", "b"])
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.5, 0.75])))


def test_classification_empty_and_bad_input():
    m = classification_metrics(np.array([], dtype=int), np.zeros((0, 2)), ["a", "b"])
    assert m["n"] == 0 and m["accuracy"] is None
    _json_ok(m)
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 3]), np.full((2, 2), 0.5), ["a", "b"])
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 1]), np.full((2, 3), 0.3), ["a", "b"])


# --------------------------------------------------------------------------- comparison
def test_compare_lower_is_better():
    test = {"mae": 1.0}
    baselines = {"naive": {"mae": 2.0}, "seasonal_naive": {"mae": 1.5}, "mean": {"mae": None}}
    c = compare_to_baselines(test, baselines, "mae")
    assert c == {
        "metric": "mae",
        "model": 1.0,
        "best_baseline": "seasonal_naive",
        "best_baseline_value": 1.5,
        "difference": -0.5,
        "better": True,
    }
    _json_ok(c)


def test_compare_higher_is_better_and_worse_model():
    c = compare_to_baselines({"accuracy": 0.6}, {"majority": {"accuracy": 0.5}, "1nn": {"accuracy": 0.9}}, "accuracy")
    assert c["best_baseline"] == "1nn"
    assert c["difference"] == pytest.approx(-0.3)
    assert c["better"] is False


def test_compare_missing_values_give_none():
    c = compare_to_baselines({"mae": None}, {"naive": {"mae": 1.0}}, "mae")
    assert c["better"] is None and c["difference"] is None and c["best_baseline"] == "naive"
    c = compare_to_baselines({"r2": 0.3}, {"naive": {"r2": None}}, "r2")
    assert c["best_baseline"] is None and c["better"] is None
    with pytest.raises(ValueError):
        compare_to_baselines({}, {}, "nope")


def test_main_metric_keys_are_known():
    for metric in MAIN_METRIC.values():
        assert metric in HIGHER_IS_BETTER


def test_forecast_and_baseline_end_to_end_json():
    from seqcore.modeling.baselines import forecast_baselines

    series = np.sin(np.arange(60) / 3.0)[:, None] * 5 + 10
    starts = np.arange(40, 55)
    y_true = np.stack([series[s : s + 3] for s in starts])
    bases = forecast_baselines(series, starts, 3, 40, 19)
    mets = {k: forecast_metrics(y_true, v, y_train=series[:40]) for k, v in bases.items()}
    c = compare_to_baselines(mets["naive"], {k: v for k, v in mets.items() if k != "naive"}, "mae")
    _json_ok({"baselines": mets, "compare": c})
