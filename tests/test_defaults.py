"""Defaults fitted to the data (seqcore/data/defaults.py) and the facts about windows behind the Data
page's warning and the Results page's advice (seqcore/data/room.py): real files from the shared datasets,
synthetic series of 36 to 100,000 rows, text lengths, sequence sets, and the plain-language reasons."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.data.room import too_few_rows
from seqcore.data.defaults import (FLOOR_WINDOWS, MIN_TRAIN_WINDOWS, MIN_VALIDATION, calendar_season,
                                   default_data_spec, detect_cycle, explain_defaults, few_windows_warning,
                                   fit_defaults, forecast_advice, forecast_room, grows_multiplicatively,
                                   longest_window, rows_from_sizes, train_windows)
from seqcore.data.io import read_csv
from seqcore.modeling.tasks import forecast

DATASETS = Path("/work/shared/datasets")
SAMPLES = Path(__file__).resolve().parents[1] / "seqcore" / "samples"
needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="the shared datasets are not here")


def table(path: Path):
    return read_csv(path.read_bytes(), name=path.name)


def monthly(n: int, *, multiplicative: bool = False, seed: int = 0) -> pd.DataFrame:
    """A monthly series with a trend and a yearly pattern (added, or in proportion to the level)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level, season = 100 + 2.0 * t, np.sin(2 * np.pi * t / 12)
    y = level * (1 + 0.2 * season) if multiplicative else level + 20 * season
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                         "sales": y + rng.normal(0, 2, n)})


def windows_of(spec: DataSpec, n: int) -> int:
    return train_windows(n, spec.window, spec.horizon, spec.val_fraction, spec.test_fraction)


# ----------------------------------------------------------------------------- forecast: real files


def test_airline_gets_a_season_two_seasons_of_window_one_season_ahead_and_a_log_scale():
    d = fit_defaults(table(SAMPLES / "Airline.csv"), "forecast")
    s = d.spec
    assert (s.time, s.targets) == ("Date", ("Passengers",))
    assert (s.season, s.window, s.horizon, s.log_transform) == (12, 24, 12, True)
    assert (s.val_fraction, s.test_fraction) == (0.15, 0.15)
    assert windows_of(s, 144) == 65 >= MIN_TRAIN_WINDOWS
    assert d.reasons["season"] == "Season 12: the rows are months, so a year is 12 steps."
    assert d.reasons["window"] == "Look-back window 24: 2 seasons of 12 months, leaving 65 training windows."
    assert d.reasons["horizon"].startswith("Horizon 12: one season (a year) ahead; the test part (22 rows)")
    assert d.reasons["log_transform"].startswith("Log scale on: the level changed 3.8-fold and the seasonal swing")


def test_sunspots_cycle_comes_from_the_autocorrelation():
    d = fit_defaults(table(SAMPLES / "sunspots.csv"), "forecast")
    s = d.spec
    assert (s.season, s.window, s.horizon, s.log_transform) == (11, 33, 11, False)
    assert "repeat about every 10.5 steps" in d.reasons["season"] and "10, 21, 32, 42" in d.reasons["season"]
    assert d.reasons["log_transform"] == "Log scale off: the values are not all above zero."


@needs_datasets
@pytest.mark.parametrize("name, target", [("elec_equip.csv", None), ("PBS_scripts.csv", None),
                                          ("seatbelts.csv", "KSI"), ("Uschange.csv", "Consumption"),
                                          ("macrodata.csv", "realgdp")])
def test_no_log_scale_where_the_swing_does_not_grow_with_the_level(name, target):
    given = {"targets": (target,)} if target else {}
    d = fit_defaults(table(DATASETS / name), "forecast", **given)
    assert d.spec.log_transform is False
    assert d.reasons["log_transform"].startswith("Log scale off: ")
    assert windows_of(d.spec, d.facts["rows"]) >= MIN_TRAIN_WINDOWS


@needs_datasets
@pytest.mark.parametrize("name, season, unit", [("elec_equip.csv", 12, "months"), ("PBS_scripts.csv", 12, "months"),
                                                ("solar_halfhourly.csv", 48, "half-hours")])
def test_calendar_seasons_of_real_files(name, season, unit):
    d = fit_defaults(table(DATASETS / name), "forecast")
    assert d.spec.season == season and f"the rows are {unit}" in d.reasons["season"]


@needs_datasets
def test_a_slowly_fading_autocorrelation_is_not_a_cycle():
    # macrodata's real interest rate read without its year + quarter columns (so no calendar season):
    # autocorrelation 0.52, 0.47, 0.48, 0.39... a bump is not a season
    d = fit_defaults(table(DATASETS / "macrodata.csv"), "forecast", targets=("realint",), time=None, time_part=None)
    assert d.spec.season is None and d.reasons["season"].startswith("No season: there are no dates")
    assert (d.spec.window, d.spec.horizon) == (24, 1)


# ----------------------------------------------------------------------------- forecast: synthetic sizes


def test_36_months_get_window_12_not_24_and_smaller_shares():
    df = monthly(36)
    d = fit_defaults(df, "forecast")
    s = d.spec
    assert (s.season, s.window, s.horizon) == (12, 12, 1)
    assert (s.val_fraction, s.test_fraction) == (0.1, 0.1)
    w = windows_of(s, 36)
    assert FLOOR_WINDOWS <= w == 16 < MIN_TRAIN_WINDOWS
    assert windows_of(s.replace(window=24), 36) == 4
    assert d.reasons["window"] == ("Look-back window 12: one season of 12 months, leaving 16 training windows "
                                   "(fewer than the 20 a model needs to learn well: more data would help); 24 "
                                   "would leave 4.")
    assert d.reasons["val_fraction"] == ("Validation and test 10% each (4 and 4 rows): a short series of 36 rows "
                                         "cannot spare more and still train.")
    assert d.reasons["horizon"] == ("Horizon 1: one step ahead; the test part (4 rows) is shorter than a season "
                                    "(12 steps).")
    prep = forecast.prepare(df, s)                 # the data takes it
    assert len(prep.train) == w


@pytest.mark.parametrize("n, window, horizon, share", [(100, 24, 12, 0.15), (1000, 24, 12, 0.15),
                                                       (60, 24, 1, 0.1)])
def test_monthly_series_of_other_lengths(n, window, horizon, share):
    s = default_data_spec(monthly(n), "forecast")
    assert (s.window, s.horizon, s.season, s.val_fraction, s.test_fraction) == (window, horizon, 12, share, share)
    assert windows_of(s, n) >= MIN_TRAIN_WINDOWS
    prep = forecast.prepare(monthly(n), s)
    assert len(prep.train) == windows_of(s, n) and len(prep.test) >= 1


@pytest.mark.parametrize("n", [100, 1000])
def test_log_scale_only_when_the_swing_grows_with_the_level(n):
    assert default_data_spec(monthly(n, multiplicative=True), "forecast").log_transform is True
    assert default_data_spec(monthly(n, multiplicative=False), "forecast").log_transform is False


def test_100000_hourly_rows_get_a_daily_season_and_a_day_ahead():
    rng = np.random.default_rng(1)
    n = 100_000
    df = pd.DataFrame({"time": pd.date_range("2010-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
                       "load": 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, 1, n)})
    d = fit_defaults(df, "forecast")
    assert (d.spec.season, d.spec.window, d.spec.horizon) == (24, 48, 24)
    assert d.reasons["season"] == "Season 24: the rows are hours, so a day is 24 steps."
    assert "leaving 69,929 training windows" in d.reasons["window"]


def test_100000_rows_without_dates_or_cycle_keep_the_plain_window():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"v": rng.normal(size=100_000).cumsum()})
    s = default_data_spec(df, "forecast")
    assert (s.season, s.window, s.horizon, s.val_fraction) == (None, 24, 1, 0.15)


def test_a_cycle_in_a_numbered_series_is_found_and_refined_from_its_multiples():
    t = np.arange(400)
    y = np.sin(2 * np.pi * t / 10.4) + np.random.default_rng(3).normal(0, 0.2, t.size)
    season, peaks = detect_cycle(y)
    assert season == 10 and len(peaks) >= 3
    assert detect_cycle(np.random.default_rng(4).normal(size=400)) == (None, [])
    s = default_data_spec(pd.DataFrame({"step": t, "value": y}), "forecast")
    assert s.time == "step" and s.season == 10 and s.window == 30 and s.horizon == 10


def test_very_short_series_still_leave_training_and_test_windows():
    for n in (20, 30):
        df = pd.DataFrame({"v": np.sin(np.arange(n) / 3.0)})
        s = default_data_spec(df, "forecast")
        assert s.window >= 1 and windows_of(s, n) >= 2
        forecast.prepare(df, s)


def test_a_series_too_short_to_learn_from_is_refused_with_one_message_everywhere():
    from seqcore.data import schema
    from seqcore.errors import DataError

    df = pd.DataFrame({"v": np.sin(np.arange(12) / 3.0)})
    s = default_data_spec(df, "forecast")                      # defaults never raise ...
    report = schema.validate(df, s)                           # ... the page's checks refuse it
    assert [i.message for i in report.errors] == [too_few_rows(12)]
    assert "12 rows" in too_few_rows(12) and "at least 20" in too_few_rows(12) and too_few_rows(20) is None
    with pytest.raises(DataError, match="Too few rows to learn from"):   # and training (CLI, worker) says the same
        forecast.prepare(df, s)


@pytest.mark.parametrize("freq, season, unit", [("MS", 12, "months"), ("QS-OCT", 4, "quarters"),
                                                ("W-SUN", 52, "weeks"), ("D", 7, "days"), ("B", 5, "business days"),
                                                ("h", 24, "hours"), ("30min", 48, "half-hours"),
                                                ("15min", 96, "quarter-hours"), ("min", 60, "minutes"),
                                                ("2h", 12, "steps"), ("YS", None, "steps"), ("1", None, "steps"),
                                                (None, None, "steps")])
def test_calendar_season(freq, season, unit):
    got, words, _ = calendar_season(freq, 10_000)
    assert (got, words) == (season, unit)


def test_given_choices_are_kept_and_the_rest_fitted_around_them():
    t = table(SAMPLES / "Airline.csv")
    s = default_data_spec(t, "forecast", test_fraction=0.25, log_transform=False)
    assert s.test_fraction == 0.25 and s.log_transform is False
    assert (s.window, s.horizon) == (24, 12)          # 36 test months hold a season
    assert "test_fraction" not in explain_defaults(t, "forecast", test_fraction=0.25, window=7)
    assert "window" not in explain_defaults(t, "forecast", window=7)
    assert default_data_spec(t, "forecast", window=7).window == 7
    with pytest.raises(TypeError):
        default_data_spec(t, "forecast", windw=7)


def test_log_scale_needs_positive_values_and_a_growing_level():
    ok, why = grows_multiplicatively(np.r_[0.0, np.ones(50)], 12)
    assert not ok and why == "the values are not all above zero"
    flat = 100 + 10 * np.sin(2 * np.pi * np.arange(120) / 12)
    assert grows_multiplicatively(flat, 12) == (False, "the level does not grow or shrink steadily")


# ----------------------------------------------------------------------------- classification and text


def wide_sequences(n: int, *, offsets_follow_class: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    t = np.linspace(0, 2 * np.pi, 40)
    shape = np.where(labels[:, None] == 0, np.sin(t), np.cos(t))
    offset = (labels * 10.0 if offsets_follow_class else rng.normal(0, 10, n))[:, None]
    x = offset + shape + rng.normal(0, 0.1, (n, 40))
    return pd.DataFrame({"label": np.where(labels == 0, "a", "b"), **{f"t{i}": x[:, i] for i in range(40)}})


def test_validation_share_follows_the_number_of_sequences():
    small = fit_defaults(wide_sequences(50, offsets_follow_class=True), "classify")
    assert small.spec.val_fraction == 0.0 and small.spec.features == ()
    assert small.reasons["val_fraction"].startswith("No validation part: 15% of 50 sequences would be fewer than 20")
    big = fit_defaults(wide_sequences(400, offsets_follow_class=True), "classify")
    assert big.spec.val_fraction == 0.15
    assert big.reasons["val_fraction"] == "Validation share 15%: 60 of the 400 sequences watch for overfitting."


def test_min_validation_is_the_one_the_classifiers_use():
    from seqcore.modeling.tasks.common import MIN_VALIDATION as USED

    assert MIN_VALIDATION == USED


def test_each_sequence_is_normalised_only_when_its_level_does_not_tell_the_class():
    noise = fit_defaults(wide_sequences(60, offsets_follow_class=False), "classify")
    assert noise.spec.znorm is True and "do not follow the class" in noise.reasons["znorm"]
    told = fit_defaults(wide_sequences(60, offsets_follow_class=True), "classify")
    assert told.spec.znorm is False and "follow the class" in told.reasons["znorm"]


def test_samples_sequence_defaults():
    gun = fit_defaults(table(SAMPLES / "GunPoint_TRAIN.csv"), "classify")
    assert gun.spec.znorm is False and gun.reasons["znorm"].endswith("already has mean 0 and spread 1.")
    assert gun.spec.val_fraction == 0.0 and gun.spec.max_steps == DataSpec().max_steps
    assert gun.reasons["group_steps"].startswith("Steps read at once: automatic (5): the network loops over 30")
    motions = fit_defaults(table(SAMPLES / "BasicMotions_TRAIN.csv"), "classify")
    assert (motions.spec.layout, motions.spec.id) == ("long", "case_id")
    assert motions.spec.znorm is False            # how much each sensor moves is what tells the classes apart


def test_very_long_sequences_are_kept_whole_when_memory_allows():
    rng = np.random.default_rng(5)
    df = pd.DataFrame(rng.normal(size=(30, 3000)), columns=[f"t{i}" for i in range(3000)])
    df.insert(0, "label", ["x", "y", "z"] * 10)
    d = fit_defaults(df, "classify")
    assert d.spec.max_steps == 3000
    assert d.reasons["max_steps"] == "Longest sequence 3,000 steps: every sequence is kept whole."


def texts_frame(lengths, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["good", "bad", "film", "plot", "actor", "long", "fun"])
    return pd.DataFrame({"review": [" ".join(rng.choice(words, k)) for k in lengths],
                         "label": ["pos", "neg"] * (len(lengths) // 2)})


def test_words_per_text_from_the_length_distribution():
    lengths = list(range(1, 101)) * 10               # 1..100 words, evenly
    d = fit_defaults(texts_frame(lengths), "text")
    assert d.spec.text == "review" and d.spec.max_len == 99
    assert d.reasons["max_len"] == ("Words per text 99: 99% of the texts fit whole (half have 50 words or fewer, "
                                    "the longest 100).")
    assert default_data_spec(texts_frame([2, 3] * 200), "text").max_len == 8        # bounded below
    assert default_data_spec(texts_frame([600, 700] * 100), "text").max_len == 256  # and above
    assert default_data_spec(texts_frame([5, 6] * 50), "text").val_fraction == 0.0


def test_reviews_sample_keeps_99_in_100_texts_whole():
    d = fit_defaults(table(SAMPLES / "rt_polarity_subset.csv"), "text")
    assert d.spec.max_len == 48 and d.spec.val_fraction == 0.15


# ----------------------------------------------------------------------------- facts and advice


def test_room_of_the_36_month_case():
    spec = DataSpec(targets=("y",), window=24, horizon=1, season=12)
    room = forecast_room(36, spec)
    assert (room.train_rows, room.windows, room.max_window) == (26, 2, 6)
    assert longest_window(36, 1, 0.15, 0.15) == 6 and train_windows(36, 6, 1, 0.15, 0.15) == MIN_TRAIN_WINDOWS


def test_few_windows_warning_names_a_window_that_fits():
    spec = DataSpec(targets=("y",), window=24, horizon=1, season=12)
    text = few_windows_warning(2, 36, spec)
    assert text.startswith("Only 2 training window(s): too few for the model to learn the pattern (aim for at "
                           "least 20)")
    assert "A look-back window of 12 leaves 14." in text
    assert few_windows_warning(20, 36, spec) is None
    one_season = spec.replace(window=12, val_fraction=0.1, test_fraction=0.1)
    assert "already covers just one season (12 steps)" in few_windows_warning(16, 36, one_season)


def _suggested_window(advice: list[str]) -> int | None:
    for tip in advice:
        m = re.match(r"a (?:shorter|longer) look-back window \((\d+) ", tip)
        if m:
            return int(m.group(1))
    return None


def test_results_advice_for_36_months_leads_to_a_window_that_trains():
    from seqcore.outputs.report import verdict

    df = monthly(36)
    spec = RunSpec(data=DataSpec(time="date", targets=("sales",), window=24, horizon=1, season=12),
                   model=ModelSpec(), train=TrainSpec())
    prep = forecast.prepare(df, spec.data)
    assert len(prep.train) == 2
    metrics = {"comparison": {"metric": "mae", "model": 164.1, "best_baseline": "naive",
                              "best_baseline_value": 103.6, "better": False},
               "training": {"sizes": prep.sizes()}}
    sentence, won = verdict(metrics, "forecast", spec)
    assert won is False
    assert "Try a shorter look-back window (12 leaves 14 training windows; 24 leaves 2)" in sentence
    assert "longer" not in sentence
    window = _suggested_window(forecast_advice(spec.data, 36))
    better = forecast.prepare(df, spec.data.replace(window=window))       # no error: the data takes it
    assert len(better.train) == 14
    # without the facts (an old run): no window advice at all
    assert "window" not in verdict({**metrics, "training": {}}, "forecast", spec)[0]
    assert "window" not in verdict(metrics, "forecast")[0]


@pytest.mark.parametrize("n", [30, 36, 48, 60, 100, 144, 300, 1000])
@pytest.mark.parametrize("window", [6, 12, 24, 48])
def test_advice_never_suggests_a_window_the_data_cannot_take(n, window):
    spec = DataSpec(targets=("y",), window=window, horizon=1, season=12)
    suggested = _suggested_window(forecast_advice(spec, n))
    if suggested is None:
        return
    got = train_windows(n, suggested, 1, spec.val_fraction, spec.test_fraction)
    assert got >= max(FLOOR_WINDOWS, windows_of(spec, n) + 1) or got >= MIN_TRAIN_WINDOWS
    forecast.prepare(pd.DataFrame({"y": np.sin(np.arange(n) / 2.0)}), spec.replace(window=suggested))


def test_longer_window_advice_only_when_it_still_leaves_enough_windows():
    spec = DataSpec(targets=("y",), window=24, horizon=1, season=12)
    assert forecast_advice(spec, 144)[0] == "a longer look-back window (36 still leaves 64 training windows)"
    assert forecast_advice(spec, 70) == ["more epochs or a different model size"]   # 36 would leave 14


@pytest.mark.parametrize("n, window, horizon, val", [(36, 12, 1, 0.1), (144, 24, 12, 0.15), (309, 33, 11, 0.15),
                                                     (500, 24, 3, 0.0)])
def test_series_length_comes_back_from_the_window_counts(n, window, horizon, val):
    spec = DataSpec(targets=("y",), window=window, horizon=horizon, val_fraction=val)
    prep = forecast.prepare(pd.DataFrame({"y": np.cos(np.arange(n) / 4.0)}), spec)
    assert rows_from_sizes(spec, prep.sizes()) == n
    assert rows_from_sizes(spec, {"train": 0, "val": 0, "test": 0}) is None
