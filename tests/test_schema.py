"""Column kinds, role suggestions, time handling, missing values and the validation report."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec
from seqcore.errors import DataError, SpecError
from seqcore.data.io import read_csv
from seqcore.data.schema import (
    KINDS,
    ValidationReport,
    apply_missing,
    future_index,
    infer_columns,
    infer_frequency,
    numeric_column,
    parse_time,
    suggest_roles,
    suggest_task,
    validate,
)

SAMPLES = Path(__file__).resolve().parents[1] / "seqcore" / "samples"


def load(name: str) -> pd.DataFrame:
    return read_csv((SAMPLES / name).read_bytes(), name=name).df


def csv(text: str) -> pd.DataFrame:
    return read_csv(text.encode()).df


def kinds(df: pd.DataFrame) -> dict[str, str]:
    return {c.name: c.kind for c in infer_columns(df)}


def messages(report: ValidationReport, level: str | None = None) -> str:
    return "\n".join(i.message for i in report.issues if level is None or i.level == level)


# ----------------------------------------------------------------------------- samples


def test_airline_kinds_roles_frequency():
    df = load("Airline.csv")
    assert kinds(df) == {"Date": "datetime", "Passengers": "numeric"}
    assert suggest_task(df) == "forecast"
    roles = suggest_roles(df, "forecast")
    assert roles["time"] == "Date" and roles["targets"] == ["Passengers"] and roles["features"] == []
    idx = parse_time(df, "Date")
    assert isinstance(idx, pd.DatetimeIndex) and idx[0] == pd.Timestamp("1949-01-01")
    assert infer_frequency(idx) == "MS"
    rep = validate(df)
    assert rep.errors == [] and rep.time.frequency == "MS" and rep.time.is_sorted and not rep.time.irregular
    assert rep.time.start == "1949-01-01" and rep.time.end == "1960-12-01"
    assert any("monthly" in line for line in rep.summary_lines())


def test_sunspots_numeric_year_axis():
    df = load("sunspots.csv")
    assert kinds(df) == {"YEAR": "numeric", "SUNACTIVITY": "numeric"}
    assert suggest_task(df) == "forecast"
    roles = suggest_roles(df, "forecast")
    assert roles["time"] == "YEAR" and roles["targets"] == ["SUNACTIVITY"]
    idx = parse_time(df, "YEAR")
    assert not isinstance(idx, pd.DatetimeIndex) and idx.dtype == np.int64 and idx[0] == 1700
    assert infer_frequency(idx) == "1"
    rep = validate(df)
    assert rep.errors == [] and rep.time.frequency == "1" and rep.time.start == "1700"


def test_gunpoint_wide_classify():
    df = load("GunPoint_TRAIN.csv")
    k = kinds(df)
    assert set(k.values()) == {"numeric"}
    assert suggest_task(df) == "classify"
    roles = suggest_roles(df, "classify")
    assert roles["layout"] == "wide" and roles["label"] == "label"
    assert roles["features"] == [f"t{i}" for i in range(150)]
    rep = validate(df)
    assert rep.errors == [] and rep.layout == "wide"
    assert rep.class_counts == {"2": 26, "1": 24}


def test_basicmotions_long_classify():
    df = load("BasicMotions_TRAIN.csv")
    assert kinds(df)["label"] == "categorical"
    assert suggest_task(df) == "classify"
    roles = suggest_roles(df, "classify")
    assert roles["layout"] == "long"
    assert (roles["id"], roles["order"], roles["label"]) == ("case_id", "t", "label")
    assert roles["features"] == [f"dim_{i}" for i in range(6)]
    rep = validate(df)
    assert rep.errors == [] and rep.layout == "long"
    assert rep.class_counts == {"Badminton": 10, "Running": 10, "Standing": 10, "Walking": 10}
    assert "40 sequences of 100 steps" in messages(rep, "info")


def test_rt_polarity_text():
    df = load("rt_polarity_subset.csv")
    assert kinds(df) == {"text": "text", "label": "categorical"}
    assert suggest_task(df) == "text"
    roles = suggest_roles(df, "text")
    assert roles["text"] == "text" and roles["label"] == "label"
    rep = validate(df)
    assert rep.errors == [] and set(rep.class_counts) == {"fresh", "rotten"}


def test_column_info_fields():
    df = csv("a,b,c,d,e\n1,x,2020-01-01,5,\n2,y,2020-01-02,5,\n3,x,2020-01-03,5,\n")
    info = {c.name: c for c in infer_columns(df)}
    assert info["a"].kind == "numeric" and info["a"].n_unique == 3 and not info["a"].constant
    assert info["b"].kind == "categorical" and info["b"].n_unique == 2 and info["b"].example == "x"
    assert info["c"].kind == "datetime"
    assert info["d"].constant
    assert info["e"].kind == "empty" and info["e"].n_missing == 3
    assert all(c.kind in KINDS for c in info.values())
    d = info["a"].to_dict()
    assert d["name"] == "a" and d["first_bad"] is None


def test_mostly_numeric_column_reports_first_bad_line():
    df = csv("t,x\n1,1.5\n2,2.5\n3,oops\n4,NA\n5,#VALUE!\n6,6\n")
    c = {c.name: c for c in infer_columns(df)}["x"]
    assert c.kind == "numeric" and c.n_non_numeric == 2 and c.n_missing == 1
    assert c.first_bad == (4, "oops")


def test_decimal_comma_column_with_junk_still_numeric():
    df = csv("a;b\n1;1,5\n2;x\n3;2,5\n4;3,5\n")
    c = {c.name: c for c in infer_columns(df)}["b"]
    assert c.kind == "numeric" and c.first_bad == (3, "x")
    with pytest.raises(DataError, match="line 3"):
        numeric_column(df, "b")


# ----------------------------------------------------------------------------- conversions


def test_numeric_column_values_and_errors():
    df = csv("x,y,z\n1,1.5,inf\n2,-,2\n3,3,3\n")
    assert numeric_column(df, "x").dtype == np.float64
    y = numeric_column(df, "y")
    assert np.isnan(y[1]) and y[0] == 1.5
    with pytest.raises(DataError, match=r"infinite.*line 2"):
        numeric_column(df, "z")
    assert np.isinf(numeric_column(df, "z", allow_inf=True)[0])
    bad = csv("x,y\n1,1\n2,2\n3,abc\n")
    with pytest.raises(DataError) as e:
        numeric_column(bad, "y")
    assert "line 4" in str(e.value) and "'abc'" in str(e.value)
    with pytest.raises(DataError, match="no column named"):
        numeric_column(bad, "nope")


def test_numeric_column_line_numbers_after_blank_lines():
    df = csv("x,y\n1,1\n\n\n2,2\n3,bad\n")
    with pytest.raises(DataError, match="line 6"):
        numeric_column(df, "y")


def test_parse_time_errors_name_line_and_value():
    df = csv("date,v\n2020-01-01,1\n2020-01-02,2\nnot a date,3\n2020-01-04,4\n")
    with pytest.raises(DataError) as e:
        parse_time(df, "date")
    assert "line 4" in str(e.value) and "not a date" in str(e.value)
    df = csv("date,v\n2020-01-01,1\n,2\n")
    with pytest.raises(DataError, match="empty on line 3"):
        parse_time(df, "date")
    df = csv("year,v\n1990,1\n1991,2\nabc,3\n1993,4\n")
    with pytest.raises(DataError, match="line 4"):
        parse_time(df, "year")


def test_parse_time_formats():
    assert parse_time(csv("d,v\n13/01/2020,1\n14/01/2020,2\n"), "d")[0] == pd.Timestamp("2020-01-13")
    assert parse_time(csv("d,v\n2020-01-01 10:00,1\n2020-01-01 11:00,2\n"), "d")[1] == pd.Timestamp(
        "2020-01-01 11:00")
    idx = parse_time(csv("d,v\n2020-01-01T00:00+01:00,1\n2020-01-02T00:00+02:00,2\n"), "d")
    assert isinstance(idx, pd.DatetimeIndex) and idx.tz is None


def test_infer_frequency_aliases():
    assert infer_frequency(pd.date_range("2020-01-01", periods=10, freq="D")) == "D"
    assert infer_frequency(pd.date_range("2020-01-01", periods=10, freq="h")) == "h"
    assert infer_frequency(pd.date_range("2000-01-01", periods=10, freq="YS")) == "YS"
    assert infer_frequency(pd.date_range("2000-10-01", periods=10, freq="QS")) == "QS"
    assert infer_frequency(pd.date_range("2020-01-05", periods=10, freq="W-SUN")) == "W-SUN"
    assert infer_frequency(pd.date_range("2020-01-31", periods=10, freq="ME")) == "ME"
    gappy = pd.date_range("2020-01-01", periods=20, freq="D").delete([5, 11])
    assert infer_frequency(gappy) == "D"
    assert infer_frequency(pd.Index([0.0, 0.5, 1.0, 1.5])) == "0.5"
    assert infer_frequency(pd.Index([1700, 1701, 1702])) == "1"
    assert infer_frequency(pd.DatetimeIndex(["2020-01-01"])) is None


def test_future_index():
    monthly = pd.date_range("1949-01-01", "1960-12-01", freq="MS")
    fut = future_index(monthly, 3)
    assert list(fut) == [pd.Timestamp("1961-01-01"), pd.Timestamp("1961-02-01"), pd.Timestamp("1961-03-01")]
    hourly = pd.date_range("2020-01-01", periods=5, freq="h")
    assert future_index(hourly, 2, "h")[0] == pd.Timestamp("2020-01-01 05:00")
    years = pd.Index([1700, 1701, 1702], name="YEAR")
    fut = future_index(years, 2)
    assert list(fut) == [1703, 1704] and fut.dtype == np.int64 and fut.name == "YEAR"
    assert list(future_index(pd.RangeIndex(10), 2)) == [10, 11]
    with pytest.raises(SpecError):
        future_index(monthly, 0)
    with pytest.raises(DataError):
        future_index(pd.DatetimeIndex(["2020-01-01"]), 2)


# ----------------------------------------------------------------------------- missing values


GAPPY = "t,x,y\n1,1,10\n2,,20\n3,3,\n4,,40\n5,5,50\n6,,60\n"


def test_apply_missing_error():
    with pytest.raises(DataError) as e:
        apply_missing(csv(GAPPY), ["x"], "error")
    msg = str(e.value)
    assert "Column 'x' has 3 missing values (first on line 3)" in msg
    assert "interpolate, forward-fill or drop rows" in msg


def test_apply_missing_interpolate():
    out, note = apply_missing(csv(GAPPY), ["x", "y"], "interpolate")
    assert out["x"].tolist() == [1, 2, 3, 4, 5, 5]  # edge filled with the nearest value
    assert out["y"].tolist() == [10, 20, 30, 40, 50, 60]
    assert "interpolation" in note and "'x'" in note


def test_apply_missing_ffill():
    df = csv("x\n\n1\n\n3\n")
    df = csv("t,x\n1,\n2,1\n3,\n4,3\n")
    out, note = apply_missing(df, ["x"], "ffill")
    assert out["x"].tolist() == [1, 1, 1, 3]  # leading gap back-filled
    assert "previous value" in note


def test_apply_missing_drop_keeps_line_numbers():
    df = csv(GAPPY)
    out, note = apply_missing(df, ["x", "y"], "drop")
    assert out["t"].tolist() == [1, 5]
    assert "dropped 4 rows" in note.lower() and "line 3" in note
    with pytest.raises(DataError, match="line 6"):  # label 4 is still line 6 of the file
        numeric_column(out.assign(y=["1", "bad"]), "y")


def test_apply_missing_nothing_missing_and_bad_input():
    df = csv("x\n1\n2\n")
    out, note = apply_missing(df, ["x"], "error")
    assert note is None and out["x"].tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match="no values at all"):
        apply_missing(csv("x,y\n1,\n2,\n"), ["y"], "interpolate")
    with pytest.raises(SpecError):
        apply_missing(df, ["x"], "guess")
    with pytest.raises(DataError, match="can't be interpolated"):
        apply_missing(csv("x,y\n1,a\n2,\n3,b\n"), ["y"], "interpolate")


# ----------------------------------------------------------------------------- validation report


def test_report_duplicates_unsorted_irregular():
    df = csv("date,v\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n2020-01-05,4\n2020-01-04,5\n2020-01-06,6\n")
    rep = validate(df, DataSpec(task="forecast", time="date", targets=("v",), window=1, horizon=1,
                                val_fraction=0.0, test_fraction=0.0))
    t = rep.time
    assert t.n_duplicates == 1 and not t.is_sorted and t.frequency == "D"
    errs = messages(rep, "error")
    assert "repeats 1 time(s) (first on line 4" in errs
    assert "not in time order: line 6" in errs


def test_report_irregular_spacing_warns():
    df = csv("date,v\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in (1, 2, 3, 5, 6, 7, 8, 10)))
    rep = validate(df, DataSpec(task="forecast", time="date", targets=("v",), window=2, horizon=1,
                                val_fraction=0.0, test_fraction=0.0))
    assert rep.time.irregular and rep.time.frequency == "D"
    assert "not evenly spaced" in messages(rep, "warning")


def test_report_unparseable_time():
    df = csv("date,v\n2020-01-01,1\n2020-01-02,2\nsoon,3\n2020-01-04,4\n")
    rep = validate(df, DataSpec(task="forecast", time="date", targets=("v",), window=1, horizon=1,
                                val_fraction=0.0, test_fraction=0.0))
    assert rep.time.n_unparseable == 1 and rep.time.first_unparseable == (4, "soon")
    assert "first on line 4: 'soon'" in messages(rep, "error")


def test_report_numeric_problems():
    df = csv("t,x,y,z\n" + "".join(f"{i},{i},{i},5\n" for i in range(1, 40)) + "40,abc,inf,5\n41,,1,5\n")
    rep = validate(df, DataSpec(task="forecast", targets=("x",), features=("y", "z"), window=2, horizon=1))
    errs = messages(rep, "error")
    assert "line 41 has 'abc'" in errs
    assert "infinite" in errs and "line 41" in errs
    assert "1 missing value (first on line 42)" in errs  # explicit spec with missing="error"
    assert "same value (5) in every row" in messages(rep, "warning")
    rep2 = validate(df, DataSpec(task="forecast", targets=("y",), window=2, horizon=1, missing="interpolate"))
    assert not any("abc" in i.message and i.level == "error" for i in rep2.issues)  # x unused: warning only
    assert any("abc" in i.message and i.level == "warning" for i in rep2.issues)


def test_report_too_few_rows():
    df = csv("v\n" + "\n".join(str(i) for i in range(20)) + "\n")
    rep = validate(df, DataSpec(task="forecast", targets=("v",), window=24, horizon=1))
    assert "Too few rows" in messages(rep, "error") and "window" in messages(rep, "error")
    assert validate(df, DataSpec(task="forecast", targets=("v",), window=5, horizon=1)).errors == []


def test_report_class_counts_warnings():
    rows = "".join(f"a,{i},{i}\n" for i in range(10)) + "b,1,2\n"
    rep = validate(csv("label,x0,x1\n" + rows), DataSpec(task="classify", label="label"))
    assert rep.class_counts == {"a": 10, "b": 1}
    assert "single sequence" in messages(rep, "warning")
    one = "".join(f"a,{i},{i}\n" for i in range(10))
    rep = validate(csv("label,x0,x1\n" + one), DataSpec(task="classify", label="label"))
    assert "only one class" in messages(rep, "error")


def test_report_long_layout_mixed_labels():
    text = "case_id,t,x,label\n" + "".join(f"{c},{t},{t * c},{'a' if c % 2 else 'b'}\n"
                                           for c in range(6) for t in range(5))
    text = text.replace("\n3,4,12,a\n", "\n3,4,12,b\n")
    rep = validate(csv(text), DataSpec(task="classify", label="label", id="case_id", order="t", features=("x",)))
    assert rep.layout == "long"
    assert "more than one label" in messages(rep, "error")


def test_report_missing_role_column_and_to_dict():
    df = load("Airline.csv")
    rep = validate(df, DataSpec(task="forecast", time="When", targets=("Passengers",)))
    assert "'When' is not in the data" in messages(rep, "error")
    d = rep.to_dict()
    assert d["n_rows"] == 144 and d["columns"][0]["name"] == "Date" and d["issues"][0]["level"] == "error"
    import json
    json.dumps(d)  # JSON-able


def test_report_text_task_roles():
    df = csv('review,stars,label\n"a long and winding text here",5,pos\n"another quite long text here",1,neg\n'
             '"yet one more long review text",4,pos\n"the last long review of them",2,neg\n')
    assert suggest_task(df) == "text"
    roles = suggest_roles(df, "text")
    assert roles["text"] == "review" and roles["label"] == "label"


def test_suggest_roles_rejects_unknown_task():
    with pytest.raises(SpecError):
        suggest_roles(load("Airline.csv"), "regress")


def _series(n: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(100 + 10 * np.sin(np.arange(n) / 3) + rng.normal(0, 1, n), 2)


@pytest.mark.parametrize("frame, target", [
    # a counter 0..n-1 after the values (what pandas' to_csv(index=True) at the end of a table looks like)
    (lambda n: pd.DataFrame({"sales": _series(n), "row": np.arange(n)}), "sales"),
    # an id-named column counting from 1 after a date and the values
    (lambda n: pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                             "visitors": _series(n), "id": np.arange(1, n + 1)}), "visitors"),
    # an id-named record number that does not start at 0 or 1
    (lambda n: pd.DataFrame({"temperature": _series(n), "record_no": np.arange(5000, 5000 + n)}), "temperature"),
    # an unnamed counter 1..n (any name) after two measurements: the first measurement (the main series
    # usually comes first, e.g. Uschange's Consumption, macrodata's realgdp, seatbelts' KSI)
    (lambda n: pd.DataFrame({"load": _series(n, 1), "price": _series(n, 2), "k": np.arange(1, n + 1)}), "load"),
    # a measurement that only happens to be whole numbers is still a target
    (lambda n: pd.DataFrame({"t": np.arange(n), "visitors": np.round(_series(n)).astype(int)}), "visitors"),
])
def test_suggest_roles_forecast_prefers_a_measurement_to_a_row_counter(frame, target):
    df = read_csv(frame(60).to_csv(index=False).encode()).df
    roles = suggest_roles(df, "forecast")
    assert roles["targets"] == [target], roles
    assert roles["time"] != target
    # the spec the app builds from these roles checks out
    rep = validate(df, DataSpec(task="forecast", time=roles["time"], targets=tuple(roles["targets"])))
    assert rep.errors == [], messages(rep, "error")


def test_suggest_roles_forecast_keeps_the_samples_targets():
    assert suggest_roles(load("Airline.csv"), "forecast")["targets"] == ["Passengers"]
    assert suggest_roles(load("sunspots.csv"), "forecast")["targets"] == ["SUNACTIVITY"]
    # the same files with a row number added in front or at the end
    for name, target in (("Airline.csv", "Passengers"), ("sunspots.csv", "SUNACTIVITY")):
        df = load(name)
        for where in (0, len(df.columns)):
            numbered = df.copy()
            numbered.insert(where, "row", np.arange(1, len(df) + 1))
            again = read_csv(numbered.to_csv(index=False).encode()).df
            assert suggest_roles(again, "forecast")["targets"] == [target], (name, where)


def test_numeric_column_message_names_column_line_and_value_once():
    df = csv("t,y\n1,2\n2,oops\n3,4\n")
    with pytest.raises(DataError) as err:
        numeric_column(df, "y")
    e = err.value
    assert e.message == "Column 'y' should hold numbers, but line 3 has 'oops'."
    assert "pick another column" in e.hint and str(e) == f"{e.message} {e.hint}"


# ----------------------------------------------------------------------------- tasks/common.py: checks and splits


def test_check_columns_names_each_bad_column_once():
    from seqcore.modeling.tasks.common import check_columns

    df = csv("time,a,b,c\n1,1,x,5\n2,2,3,1e999\n3,3,4,6\n")
    with pytest.raises(DataError) as err:
        check_columns(df, {"time": "time", "a": "numeric", "b": "numeric", "c": "numeric"})
    msg = str(err.value)
    assert msg.count("'b'") == 1 and msg.count("'c'") == 1 and "'a'" not in msg
    assert "line 2 has 'x'" in msg and "line 3" in msg
    assert "trained on numbers in these columns" in msg and "pick another column" not in msg
    with pytest.raises(DataError) as err:
        check_columns(df, {"a": "numeric", "b": "numeric"})
    assert str(err.value).count("'b'") == 1 and "in this column" in str(err.value)
    with pytest.raises(DataError, match="no column 'zz'"):
        check_columns(df, {"zz": "numeric"})
    check_columns(df, {"time": "any", "a": "numeric"})   # fine: no error


def test_stratified_split_refuses_a_training_part_with_one_class():
    from seqcore.modeling.tasks.common import stratified_split

    # two examples, one per class: one goes to the test, training would hold a single class
    with pytest.raises(DataError) as err:
        stratified_split(np.array([0, 1]), 0.15, 0.15, seed=0, class_names=["walk", "run"])
    msg = str(err.value)
    assert "only one class" in msg and ("'walk'" in msg or "'run'" in msg) and "2 classes" in msg
    assert "Add more rows" in msg and "lower the validation and test" in msg
    # a rare class whose only example lands outside training
    y = np.array([0] * 6 + [1])
    refused = 0
    for seed in range(10):
        try:
            tr, va, te, notes = stratified_split(y, 0.15, 0.15, seed)
        except DataError as e:
            refused += 1
            assert "only one class" in str(e) and "15% for validation and 15% for the test" in str(e)
            continue
        assert set(y[tr]) == {0, 1}                      # accepted splits really train on both classes
        assert any("too few to appear in every part" in n for n in notes)
    assert refused >= 1
    # with no test part (a separate test file), the message names the validation part only
    with pytest.raises(DataError, match=r"aside 50% for validation, the training"):
        stratified_split(np.array([0, 1]), 0.5, 0.0, seed=0)


def test_stratified_split_keeps_working_when_classes_are_large_enough():
    from seqcore.modeling.tasks.common import stratified_split

    y = np.repeat([0, 1, 2], [20, 12, 8])
    tr, va, te, notes = stratified_split(y, 0.15, 0.15, seed=3)
    assert notes == [] and len(tr) + len(va) + len(te) == len(y)
    assert set(y[tr]) == set(y[va]) == set(y[te]) == {0, 1, 2}
    assert not set(tr) & set(va) and not set(tr) & set(te) and not set(va) & set(te)
    # every example may train when nothing is set aside
    tr, va, te, _ = stratified_split(y, 0.0, 0.0, seed=0)
    assert len(tr) == len(y) and len(va) == len(te) == 0


# ----------------------------------------------------------------------------- robustness

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from seqcore.errors import UserError  # noqa: E402

_CELLS = st.sampled_from(["1", "2.5", "-3", "NA", "", "x", "abc def ghi jkl", "2020-01-01", "2020-01-02",
                          "13/01/2020", "1e309", "inf", '"q,r"', "True", "-", "2020-13-45", "1 234", "now"])
_NAMES = st.sampled_from(["a", "b", "label", "t", "case_id", "text", "date", "", "YEAR", "a"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.integers(1, 5).flatmap(lambda k: st.tuples(st.lists(_NAMES, min_size=k, max_size=k),
                                                     st.lists(st.lists(_CELLS, min_size=k, max_size=k),
                                                              min_size=1, max_size=12))))
def test_schema_functions_raise_only_user_errors(table):
    """Each example within 3 s of CPU time (not a wall-clock Hypothesis deadline: a busy machine cannot fail it)."""
    t0 = time.process_time()
    _schema_functions(table)
    assert time.process_time() - t0 < 3


def _schema_functions(table) -> None:
    header, rows = table
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    try:
        df = read_csv(text.encode()).df
    except UserError:
        return
    infos = infer_columns(df)
    assert len(infos) == df.shape[1] and all(c.kind in KINDS for c in infos)
    for task in ("forecast", "classify", "text"):
        roles = suggest_roles(df, task)
        base = {"time", "targets", "features", "label", "id", "order", "text", "layout"}
        assert base <= set(roles) <= base | {"time_part", "time_format"}
    rep = validate(df)
    assert rep.task in ("forecast", "classify", "text") and rep.summary_lines()
    for col in df.columns:
        for call in (lambda: numeric_column(df, col), lambda: apply_missing(df, [col], "interpolate"),
                     lambda: apply_missing(df, [col], "drop"), lambda: apply_missing(df, [col], "ffill")):
            try:
                call()
            except UserError:
                pass
        try:
            idx = parse_time(df, col)
            infer_frequency(idx)
            future_index(idx, 2)
        except UserError:
            pass


def test_class_counts_name_whole_float_labels_as_training_does():
    # a header-less UCR file reads its class column as floats (0.0000000e+00): the report says "0", not "0.0"
    df = pd.DataFrame({"column_1": [0.0, 1.0, 1.0, 0.0], "column_2": [0.1, 0.2, 0.3, 0.4], "column_3": [1, 2, 3, 4]})
    from seqcore.data.schema import validate
    report = validate(df, DataSpec(task="classify", label="column_1", layout="wide"))
    assert report.class_counts == {"0": 2, "1": 2}
