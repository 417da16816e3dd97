"""Tests for seqcore.modeling.baselines, with real sample data where it is cheap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.modeling.baselines import (
    bag_of_words_baseline,
    forecast_baselines,
    guess_season,
    majority_baseline,
    nearest_neighbour_baseline,
)
from seqcore.modeling.metrics import classification_metrics, forecast_metrics

SAMPLES = Path(__file__).resolve().parents[1] / "seqcore" / "samples"


# --------------------------------------------------------------------------- forecast
def test_naive_and_mean_hand_computed():
    series = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    out = forecast_baselines(series, np.array([2, 4]), horizon=2, train_end=4, season=None)
    assert set(out) == {"naive", "mean"}  # no season -> no seasonal naive
    np.testing.assert_array_equal(out["naive"][:, :, 0], [[2.0, 2.0], [4.0, 4.0]])
    np.testing.assert_array_equal(out["mean"][:, :, 0], np.full((2, 2), 2.5))
    assert out["naive"].shape == (2, 2, 1)


def test_seasonal_naive_formula_multi_target():
    series = np.column_stack([np.arange(20.0), np.arange(20.0) * -1])
    m, horizon = 3, 7
    starts = np.array([3, 8, 12])
    out = forecast_baselines(series, starts, horizon=horizon, train_end=10, season=m)
    sn = out["seasonal_naive"]
    assert sn.shape == (3, horizon, 2)
    for i, s in enumerate(starts):
        for h in range(1, horizon + 1):
            idx = s + h - 1 - m * int(np.ceil(h / m))
            assert idx < s
            assert sn[i, h - 1, 0] == series[idx, 0]
            assert sn[i, h - 1, 1] == series[idx, 1]


def test_forecast_baselines_use_no_future_values():
    """Values from each window's start onward are huge: any leak shows up as a huge forecast."""
    n_rows, horizon, m = 80, 5, 12
    base = np.sin(np.arange(n_rows) * 2 * np.pi / m)[:, None]
    starts = np.arange(30, 70, 3)
    for s in starts:
        series = base.copy()
        series[s:] = 1e9  # the future of window s
        out = forecast_baselines(series, np.array([s]), horizon, train_end=30, season=m)
        assert set(out) == {"naive", "seasonal_naive", "mean"}
        for name, fc in out.items():
            assert np.abs(fc).max() < 2, f"{name} leaked future values at start {s}"


def test_seasonal_naive_on_a_perfect_season_is_exact():
    m = 4
    series = np.tile([1.0, 5.0, 2.0, 8.0], 10)[:, None]
    starts = np.arange(8, 33)
    horizon = 6
    out = forecast_baselines(series, starts, horizon, train_end=20, season=m)
    truth = np.stack([series[s : s + horizon] for s in starts])
    np.testing.assert_array_equal(out["seasonal_naive"], truth)


def test_seasonal_naive_omitted_without_enough_history():
    series = np.arange(30.0)
    assert "seasonal_naive" not in forecast_baselines(series, np.array([5, 20]), 2, 10, season=12)
    assert "seasonal_naive" in forecast_baselines(series, np.array([12, 20]), 2, 10, season=12)
    assert "seasonal_naive" not in forecast_baselines(series, np.array([12, 20]), 2, 10, season=1)


def test_forecast_baselines_bad_starts_raise():
    with pytest.raises(ValueError):
        forecast_baselines(np.arange(10.0), np.array([0]), 1, 5, None)
    with pytest.raises(ValueError):
        forecast_baselines(np.arange(10.0), np.array([11]), 1, 5, None)


def test_airline_last_36_months():
    df = pd.read_csv(SAMPLES / "Airline.csv")
    series = df["Passengers"].to_numpy(dtype=float)[:, None]
    n_rows = len(series)
    season = guess_season("MS", n_rows)
    assert season == 12
    starts = np.arange(n_rows - 36, n_rows)
    out = forecast_baselines(series, starts, horizon=1, train_end=n_rows - 36, season=season)
    for name in ("naive", "seasonal_naive", "mean"):
        assert out[name].shape == (36, 1, 1)
    np.testing.assert_array_equal(out["seasonal_naive"][:, 0, 0], series[starts - 12, 0])
    np.testing.assert_array_equal(out["naive"][:, 0, 0], series[starts - 1, 0])
    y_true = series[starts][:, None, :]
    mets = {k: forecast_metrics(y_true, v, y_train=series[: n_rows - 36]) for k, v in out.items()}
    # the mean of the training years is far below the later, higher traffic
    assert mets["mean"]["mae"] > mets["naive"]["mae"]
    assert mets["seasonal_naive"]["mase"] is not None

    # horizon 12 windows ending inside the data
    starts12 = np.arange(n_rows - 36, n_rows - 11)
    out12 = forecast_baselines(series, starts12, horizon=12, train_end=n_rows - 36, season=season)
    assert out12["seasonal_naive"].shape == (25, 12, 1)
    np.testing.assert_array_equal(out12["seasonal_naive"][0, :, 0], series[starts12[0] - 12 : starts12[0], 0])


# --------------------------------------------------------------------------- season guessing
@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("MS", 12),
        ("ME", 12),
        ("M", 12),
        ("QS-OCT", 4),
        ("Q-DEC", 4),
        ("D", 7),
        ("h", 24),
        ("H", 24),
        ("W-SUN", 52),
        ("min", 60),
        ("T", 60),
        ("B", 5),
        ("YS-JAN", None),
        ("Y", None),
        ("A-DEC", None),
        ("2h", 12),
        ("15min", 96),       # a day of quarter-hours
        ("30min", 48),
        ("7min", None),
        ("ms", None),
        ("monthly", 12),
        (None, None),
        (1, None),
        (1.0, None),
        ("numeric", None),
        ("", None),
    ],
)
def test_guess_season(freq, expected):
    assert guess_season(freq, 10_000) == expected


def test_guess_season_needs_two_seasons_and_accepts_offsets():
    assert guess_season("MS", 23) is None
    assert guess_season("MS", 24) == 12
    assert guess_season(pd.tseries.frequencies.to_offset("MS"), 144) == 12
    assert guess_season("W", 100) is None


# --------------------------------------------------------------------------- classification
def test_majority_baseline():
    p = majority_baseline(np.array([2, 0, 2, 1, 2]), 4, 4)
    assert p.shape == (4, 4)
    np.testing.assert_array_equal(p, np.tile([0.0, 0.0, 1.0, 0.0], (4, 1)))
    # tie -> lowest index
    np.testing.assert_array_equal(majority_baseline(np.array([1, 0]), 1, 2), [[1.0, 0.0]])


def _gunpoint(name: str) -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(SAMPLES / f"GunPoint_{name}.csv")
    return df.iloc[:, 1:].to_numpy(dtype=float), df.iloc[:, 0].to_numpy()


def test_gunpoint_1nn_euclidean_matches_published_accuracy():
    x_train, lab_train = _gunpoint("TRAIN")
    x_test, lab_test = _gunpoint("TEST")
    classes = np.unique(lab_train)
    y_train = np.searchsorted(classes, lab_train)
    y_test = np.searchsorted(classes, lab_test)
    proba = nearest_neighbour_baseline(x_train[:, :, None], y_train, x_test[:, :, None], len(classes))
    assert proba.shape == (len(x_test), 2)
    np.testing.assert_array_equal(proba.sum(axis=1), 1.0)
    acc = classification_metrics(y_test, proba, [str(c) for c in classes])["accuracy"]
    assert 0.90 <= acc <= 0.925  # published 1-NN Euclidean: 0.913
    # 2-D input (n, steps) gives the same answer
    np.testing.assert_array_equal(nearest_neighbour_baseline(x_train, y_train, x_test, 2), proba)


def test_1nn_chunking_matches_brute_force():
    rng = np.random.default_rng(1)
    x_train = rng.normal(size=(300, 20, 2))
    y_train = rng.integers(0, 3, size=300)
    x_test = rng.normal(size=(50, 20, 2))
    got = nearest_neighbour_baseline(x_train, y_train, x_test, 3).argmax(axis=1)
    d = ((x_test[:, None] - x_train[None]) ** 2).sum(axis=(2, 3))
    np.testing.assert_array_equal(got, y_train[d.argmin(axis=1)])


def test_1nn_varying_lengths_resamples():
    # class 0: rising ramp, class 1: falling ramp, at different lengths and paddings
    def ramp(length: int, up: bool) -> np.ndarray:
        r = np.linspace(0.0, 1.0, length)
        return r if up else 1.0 - r

    lengths_train = np.array([10, 25])
    x_train = np.zeros((2, 25, 1))
    x_train[0, :10, 0] = ramp(10, True)
    x_train[1, :25, 0] = ramp(25, False)
    lengths_test = np.array([7, 40, 13])
    x_test = np.full((3, 40, 1), 99.0)  # padding garbage must be ignored
    x_test[0, :7, 0] = ramp(7, False)
    x_test[1, :40, 0] = ramp(40, True)
    x_test[2, :13, 0] = ramp(13, True)
    p = nearest_neighbour_baseline(
        x_train, np.array([0, 1]), x_test, 2, lengths_train=lengths_train, lengths_test=lengths_test
    )
    np.testing.assert_array_equal(p.argmax(axis=1), [1, 0, 0])


def test_1nn_bad_lengths_raise():
    with pytest.raises(ValueError):
        nearest_neighbour_baseline(np.zeros((2, 5, 1)), [0, 1], np.zeros((1, 5, 1)), 2, lengths_train=[6, 5])


def test_bag_of_words_rt_polarity_beats_majority():
    df = pd.read_csv(SAMPLES / "rt_polarity_subset.csv")
    names = sorted(df["label"].unique())
    y = np.searchsorted(names, df["label"].to_numpy())
    texts = df["text"].to_numpy()
    order = np.random.default_rng(0).permutation(len(df))
    tr, te = order[:3800], order[3800:]
    proba = bag_of_words_baseline(texts[tr], y[tr], texts[te], len(names))
    assert proba.shape == (len(te), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    acc = classification_metrics(y[te], proba, names)["accuracy"]
    maj = classification_metrics(y[te], majority_baseline(y[tr], len(te), 2), names)["accuracy"]
    assert maj < 0.56
    assert acc > maj + 0.15


def test_bag_of_words_absent_class_and_degenerate_inputs():
    texts = ["good fun film", "great fun", "bad dull film", "awful dull", None, "good great"]
    y = np.array([0, 0, 2, 2, 0, 0])  # class 1 never seen in training
    proba = bag_of_words_baseline(texts, y, ["good film", "dull awful"], 3)
    assert proba.shape == (2, 3)
    assert np.all(proba[:, 1] == 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0].argmax() == 0 and proba[1].argmax() == 2
    # a single training class -> its frequency
    np.testing.assert_array_equal(bag_of_words_baseline(["a b c", "d e"], [1, 1], ["x"], 2), [[0.0, 1.0]])
    # no usable words -> class frequencies
    np.testing.assert_allclose(bag_of_words_baseline(["!", "?", "."], [0, 1, 1], ["?"], 2), [[1 / 3, 2 / 3]])
