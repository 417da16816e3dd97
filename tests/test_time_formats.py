"""Time formats (issue 12, point 3): detecting how a time column is written, parsing it (with or without an
override), the frequency, forecast dates past the end, year + quarter columns, the shared datasets, the
generated script, the CLI flags and the Data page's "How are dates written?"."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, RunSpec
from seqcore.data import schema
from seqcore.data.io import read_csv
from seqcore.data.schema import timeformat as tf
from seqcore.errors import DataError, SpecError

DATASETS = Path("/work/shared/datasets")


def csv(text: str) -> pd.DataFrame:
    return read_csv(text.encode()).df


def frame(name: str, values, other=None) -> pd.DataFrame:
    n = len(values)
    other = other if other is not None else [float(i % 7) + 0.5 for i in range(n)]
    return csv(f"{name},value\n" + "".join(f"{v},{o}\n" for v, o in zip(values, other)))


def weekly_yyyymmdd(n: int = 40) -> list[str]:
    return [(pd.Timestamp("1958-03-29") + pd.Timedelta(days=7 * i)).strftime("%Y%m%d") for i in range(n)]


def info(df: pd.DataFrame, col: str):
    return {c.name: c for c in schema.infer_columns(df)}[col]


# ----------------------------------------------------------------------------- every format, detected


DETECTED = {
    # name: (column name, values, code, first timestamp, frequency)
    "iso date": ("date", [f"2024-01-{d:02d}" for d in range(1, 29)], "text", "2024-01-01", "D"),
    "iso datetime": ("when", [f"2024-01-01 {h:02d}:00" for h in range(24)], "text", "2024-01-01 00:00", "h"),
    "Jan-1-1995": ("DATE", [f"{m}-1-1995" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug")],
                   "text", "1995-01-01", "MS"),
    "1991 Jul": ("Month", ["1991 Jul", "1991 Aug", "1991 Sep", "1991 Oct", "1991 Nov", "1991 Dec", "1992 Jan"],
                 "text", "1991-07-01", "MS"),
    "1970 Q1": ("Quarter", [f"{1970 + i // 4} Q{i % 4 + 1}" for i in range(12)], "text", "1970-01-01", "QS"),
    "iso week": ("week", [f"2020-W{w:02d}" for w in range(1, 30)], "text", "2019-12-30", "W-MON"),
    "week with space": ("wk", [f"2020 W{w}" for w in range(1, 30)], "text", "2019-12-30", "W-MON"),
    "day first": ("d", [(pd.Timestamp("2020-01-01") + pd.Timedelta(days=i)).strftime("%d/%m/%Y") for i in range(30)],
                  "dayfirst", "2020-01-01", "D"),
    "day first, dots": ("d", [(pd.Timestamp("2020-01-10") + pd.Timedelta(days=i)).strftime("%d.%m.%Y") for i in range(9)],
                        "dayfirst", "2020-01-10", "D"),
    "month first": ("d", [(pd.Timestamp("2020-01-01") + pd.Timedelta(days=i)).strftime("%m/%d/%Y") for i in range(30)],
                    "monthfirst", "2020-01-01", "D"),
    "yyyymmdd": ("date", weekly_yyyymmdd(), "yyyymmdd", "1958-03-29", "W-SAT"),
    "unix seconds": ("timestamp", [1_600_000_000 + 3600 * i for i in range(30)], "unix_s", "2020-09-13 12:26:40", "h"),
    "unix ms": ("time_ms", [1_600_000_000_000 + 60_000 * i for i in range(30)], "unix_ms", "2020-09-13 12:26:40",
                "min"),
    "excel days": ("Date", [45000 + i for i in range(30)], "excel", "2023-03-15", "D"),
    "excel with time": ("date_serial", [45000 + i / 24 for i in range(30)], "excel", "2023-03-15", "h"),
    "years": ("year", list(range(1990, 2020)), "number", None, "1"),
    "steps": ("step", list(range(0, 300, 10)), "number", None, "10"),
}


@pytest.mark.parametrize("case", list(DETECTED))
def test_each_format_is_detected_parsed_and_continued(case):
    name, values, code, first, freq = DETECTED[case]
    df = frame(name, values)
    assert tf.detect_time_format(df[name], name) == code
    c = info(df, name)
    if code == "number":
        assert c.kind == "numeric" and c.time_format is None
    else:
        assert c.kind == "datetime" and c.time_format == code
    idx = schema.parse_time(df, name)
    assert schema.infer_frequency(idx) == freq
    roles = schema.suggest_roles(df, "forecast")
    assert roles["time"] == name and roles["time_format"] == code and roles["targets"] == ["value"]
    rep = schema.validate(df, DataSpec(task="forecast", time=name, targets=("value",), window=2))
    assert rep.time.parsed and rep.time.frequency == freq and not rep.time.irregular and rep.time.time_format == code
    future = schema.future_index(idx, 3)
    if first is None:
        assert list(future) == [values[-1] + k * (values[1] - values[0]) for k in (1, 2, 3)]
        return
    assert isinstance(idx, pd.DatetimeIndex) and idx[0] == pd.Timestamp(first)
    step = idx[-1] - idx[-2]
    if freq in ("D", "h", "min", "W-SAT", "W-MON"):
        assert list(future) == [idx[-1] + k * step for k in (1, 2, 3)]
    else:
        assert future[0] > idx[-1] and schema.infer_frequency(idx.append(future)) == freq


def test_weekly_co2_written_as_integers_forecasts_real_dates():
    n = (pd.Timestamp("2001-12-29") - pd.Timestamp("1958-03-29")).days // 7 + 1
    values = weekly_yyyymmdd(n)                  # 1958-03-29 ... 2001-12-29, every Saturday
    df = frame("date", values)
    assert df["date"].dtype.kind == "i"         # read as integers
    idx = schema.parse_time(df, "date")
    assert idx[-1] == pd.Timestamp("2001-12-29")
    future = schema.future_index(idx, 2)
    assert list(future) == [pd.Timestamp("2002-01-05"), pd.Timestamp("2002-01-12")]
    rep = schema.validate(df, DataSpec(task="forecast", time="date", targets=("value",)))
    assert rep.time.start == "1958-03-29" and rep.time.end == "2001-12-29" and not rep.time.irregular
    assert not [i for i in rep.issues if "evenly" in i.message]


def test_yyyymmdd_needs_every_value_to_be_a_date():
    values = weekly_yyyymmdd(10)
    values[4] = "19581399"                      # not a date: the column stays numbers
    df = frame("date", values)
    assert tf.detect_time_format(df["date"], "date") == "number"
    assert info(df, "date").kind == "numeric"
    assert tf.detect_time_format(frame("code", [12345678, 12345679])["code"], "code") == "number"


def test_yyyymmdd_as_text_with_quotes():
    df = csv("d,v\n" + "".join(f'"{v}",{i}\n' for i, v in enumerate(weekly_yyyymmdd(12))))
    assert schema.parse_time(df, "d")[1] == pd.Timestamp("1958-04-05")


@pytest.mark.parametrize("name, values", [
    ("sales", [1_600_000_000 + 3600 * i + (i % 3) for i in range(30)]),      # a measurement, not a time
    ("timestamp", [1_600_000_000 + (i % 5) * 3600 for i in range(30)]),       # named a time, but goes up and down
    ("count", [45000 + i for i in range(30)]),                                 # Excel-sized, no date name
    ("time", [45000 + i for i in range(30)]),                                  # "time" alone is not Excel days
])
def test_measurements_are_never_read_as_unix_or_excel(name, values):
    df = frame(name, values)
    assert tf.detect_time_format(df[name], name) == "number"
    assert info(df, name).kind == "numeric"


def test_measurement_is_not_picked_as_time():
    rng = np.random.default_rng(0)
    sales = np.cumsum(rng.integers(1, 50, 40))  # goes up, but not in equal steps
    df = csv("sales,price\n" + "".join(f"{s},{p:.2f}\n" for s, p in zip(sales, rng.normal(10, 1, 40))))
    roles = schema.suggest_roles(df, "forecast")
    assert roles["time"] is None and "time_format" not in roles


def test_ambiguous_day_month_defaults_to_month_first_unless_contradicted():
    # 01/01 .. 12/01: evenly spaced either way (monthly or daily), nothing says which is the day: month first
    ambiguous = [f"{m:02d}/01/2020" for m in range(1, 13)]
    assert tf.detect_time_format(frame("d", ambiguous)["d"], "d") == "monthfirst"
    assert schema.infer_frequency(schema.parse_time(frame("d", ambiguous), "d")) == "MS"
    assert tf.detect_time_format(frame("d", ["01/02/2020", "03/04/2020", "05/06/2020"])["d"], "d") == "monthfirst"
    # 01/02 .. 12/02: only day first gives even steps (1, 2, ... 12 February)
    daily = [f"{d:02d}/02/2020" for d in range(1, 13)]
    assert tf.detect_time_format(frame("d", daily)["d"], "d") == "dayfirst"
    # monthly data written day first (01/01, 01/02, ...): only day first gives even steps
    monthly = [(pd.Timestamp("2020-01-01") + pd.DateOffset(months=i)).strftime("%d/%m/%Y") for i in range(24)]
    df = frame("d", monthly)
    assert tf.detect_time_format(df["d"], "d") == "dayfirst"
    assert schema.infer_frequency(schema.parse_time(df, "d")) == "MS"
    # a value with a second field above 12 settles it
    assert tf.detect_time_format(frame("d", ["01/13/2020", "02/13/2020"])["d"], "d") == "monthfirst"


def test_two_digit_years_and_times_of_day():
    idx = schema.parse_time(frame("d", ["31.12.99 23:30", "01.01.00 00:30"]), "d")
    assert list(idx) == [pd.Timestamp("1999-12-31 23:30"), pd.Timestamp("2000-01-01 00:30")]


def test_time_zones_keep_wall_clock_or_go_to_utc_consistently():
    same = frame("t", ["2021-05-01 00:00:00+01:00", "2021-05-01 00:30:00+01:00", "2021-05-01 01:00:00+01:00"])
    assert list(schema.parse_time(same, "t")) == list(pd.date_range("2021-05-01", periods=3, freq="30min"))
    # across a summer-time change the offsets differ: every stamp in UTC, so the steps stay even
    dst = frame("t", ["2021-03-28 00:00:00+00:00", "2021-03-28 00:30:00+00:00", "2021-03-28 02:00:00+01:00",
                      "2021-03-28 02:30:00+01:00"])
    idx = schema.parse_time(dst, "t")
    assert idx.tz is None and list(np.diff(idx.asi8)) == [30 * 60 * 10**9] * 3


# ----------------------------------------------------------------------------- the override


@pytest.mark.parametrize("fmt, values, first", [
    ("%d.%m.%Y", ["31.01.2024", "01.02.2024"], "2024-01-31"),
    ("%Y%m%d", [20240131, 20240201], "2024-01-31"),
    ("dayfirst", ["01/02/2024", "02/02/2024"], "2024-02-01"),
    ("monthfirst", ["01/02/2024", "01/03/2024"], "2024-01-02"),
    ("yyyymmdd", [20240131, 20240201], "2024-01-31"),
    ("unix_s", [0, 86400], "1970-01-01"),
    ("unix_ms", [86_400_000, 172_800_000], "1970-01-02"),
    ("excel", [1, 2], "1900-01-01"),
    ("excel", [61, 62], "1900-03-01"),
    ("text", ["1991 Jul", "1991 Aug"], "1991-07-01"),
])
def test_override_parses_exactly_that_way(fmt, values, first):
    df = frame("x", values)
    idx = schema.parse_time(df, "x", time_format=fmt)
    assert isinstance(idx, pd.DatetimeIndex) and idx[0] == pd.Timestamp(first)


def test_override_number_keeps_numbers():
    idx = schema.parse_time(frame("date", weekly_yyyymmdd(5)), "date", time_format="number")
    assert not isinstance(idx, pd.DatetimeIndex) and idx[0] == 19580329


def test_override_names_the_first_line_and_value_that_does_not_fit():
    df = frame("d", ["31.01.2024", "01.02.2024", "2024-02-03", "04.02.2024"])
    with pytest.raises(DataError) as err:
        schema.parse_time(df, "d", time_format="%d.%m.%Y")
    msg = str(err.value)
    assert "line 4" in msg and "'2024-02-03'" in msg and "%d.%m.%Y" in msg
    assert "How are dates written?" in err.value.hint
    with pytest.raises(DataError, match=r"line 3 .*Month first.*'13/01/2024'"):
        schema.parse_time(frame("d", ["01/12/2024", "13/01/2024"]), "d", time_format="monthfirst")
    with pytest.raises(DataError, match=r"line 3.*'19581399'"):
        schema.parse_time(frame("d", ["19580329", "19581399"]), "d", time_format="yyyymmdd")
    # the validation report shows the same line
    rep = schema.validate(df, DataSpec(task="forecast", time="d", targets=("value",), time_format="%d.%m.%Y",
                                       window=1))
    assert rep.time.first_unparseable == (4, "2024-02-03") and not rep.ok


def test_messages_for_numbers_and_part_columns():
    with pytest.raises(DataError, match=r"should hold numbers \(like years\) but line 2 has '2024-01-01'.*"
                                        r"How are dates written"):
        schema.parse_time(frame("d", ["2024-01-01", "2024-01-02"]), "d", time_format="number")
    df = csv("year,quarter,v\n2000,1,1\n2000,2,2\n")
    with pytest.raises(DataError, match="quarter/month column must differ from the time column 'year'"):
        schema.parse_time(df, "year", part="year")
    with pytest.raises(DataError, match=r"'v' should hold the quarter \(1-4\), month \(1-12\) or week"):
        schema.parse_time(csv("year,v\n2000,100\n2000,200\n"), "year", part="v")
    rep = schema.validate(frame("date", weekly_yyyymmdd(30)), DataSpec(task="forecast", time="date",
                                                                       targets=("value",), window=2))
    assert "Dates read as: Year, month, day as digits (20240131)." in rep.summary_lines()[1]


def test_spec_checks_the_time_format_and_part():
    DataSpec(task="forecast", targets=("v",), time="t", time_format="%d.%m.%Y").validate()
    DataSpec(task="forecast", targets=("v",), time="t", time_format="yyyymmdd").validate()
    with pytest.raises(SpecError, match="time format must be one of"):
        DataSpec(task="forecast", targets=("v",), time="t", time_format="dd.mm.yyyy").validate()
    with pytest.raises(SpecError, match="different column from the time column"):
        DataSpec(task="forecast", targets=("v",), time="year", time_part="year").validate()
    with pytest.raises(SpecError, match="different column from the time column"):
        DataSpec(task="forecast", targets=("v",), time_part="quarter").validate()
    spec = DataSpec(task="forecast", targets=("v",), time="year", time_part="quarter", time_format="number")
    assert DataSpec.from_dict(spec.to_dict()) == spec


# ----------------------------------------------------------------------------- year + quarter / month / week


def test_macrodata_year_and_quarter():
    df = read_csv((DATASETS / "macrodata.csv").read_bytes()).df
    roles = schema.suggest_roles(df, "forecast")
    assert roles["time"] == "year" and roles["time_part"] == "quarter"
    assert roles["targets"] and roles["targets"][0] not in ("year", "quarter")
    idx = schema.parse_time(df, "year", part="quarter")
    assert list(idx[:3]) == [pd.Timestamp("1959-01-01"), pd.Timestamp("1959-04-01"), pd.Timestamp("1959-07-01")]
    assert schema.infer_frequency(idx) == "QS" and idx.is_unique
    assert schema.future_index(idx, 1)[0] == idx[-1] + pd.DateOffset(months=3)
    rep = schema.validate(df, DataSpec(task="forecast", time="year", time_part="quarter", targets=("realgdp",)))
    assert rep.ok and rep.time.frequency == "QS" and rep.time.start == "1959-01-01"
    rep = schema.validate(df)                                    # suggestions carry the quarter column too
    assert rep.ok and rep.time.frequency == "QS"


@pytest.mark.parametrize("part, values, second", [
    ("month", [1, 2, 3, 4], "2000-02-01"),
    ("mon", ["Jan", "Feb", "Mar", "Apr"], "2000-02-01"),
    ("qtr", ["Q1", "Q2", "Q3", "Q4"], "2000-04-01"),
    ("week", [1, 2, 3, 4], "2000-01-10"),
])
def test_year_with_month_or_week(part, values, second):
    df = csv(f"year,{part},v\n" + "".join(f"2000,{p},{i}\n" for i, p in enumerate(values)))
    assert schema.parse_time(df, "year", part=part)[1] == pd.Timestamp(second)
    assert tf.suggest_time_part(df, "year") == part


def test_bad_part_value_names_the_line():
    df = csv("year,quarter,v\n2000,1,1\n2000,2,2\n2000,5,3\n")
    with pytest.raises(DataError, match=r"Line 4 has year '2000' and quarter '5'.*1 to 4"):
        schema.parse_time(df, "year", part="quarter")


# ----------------------------------------------------------------------------- the shared datasets


SHARED = {
    # file: (time column, part, first, frequency)
    "Airline.csv": ("Date", None, "1949-01-01", "MS"),
    "sunspots.csv": ("YEAR", None, 1700, "1"),
    "elec_equip.csv": ("DATE", None, "1995-01-01", "MS"),
    "PBS_scripts.csv": ("Month", None, "1991-07-01", "MS"),
    "Uschange.csv": ("Quarter", None, "1970-01-01", "QS"),
    "macrodata.csv": ("year", "quarter", "1959-01-01", "QS"),
    "seatbelts.csv": ("column_1", None, "1969-01-01", "MS"),
    "solar_halfhourly.csv": ("datetime_gmt", None, "2021-05-01 00:00", "30min"),
}


@pytest.mark.parametrize("name", list(SHARED))
def test_shared_datasets_time_column(name):
    if not (DATASETS / name).exists():
        pytest.skip("shared datasets not available")
    col, part, first, freq = SHARED[name]
    df = read_csv((DATASETS / name).read_bytes(), name=name).df
    roles = schema.suggest_roles(df, "forecast")
    assert roles["time"] == col and roles.get("time_part") == part
    idx = schema.parse_time(df, col, roles.get("time_format"), part)
    assert idx[0] == (pd.Timestamp(first) if isinstance(first, str) else first)
    assert schema.infer_frequency(idx) == freq and idx.is_unique and idx.is_monotonic_increasing
    future = schema.future_index(idx, 2)
    assert future[0] > idx[-1] and schema.infer_frequency(idx.append(future)) == freq


def test_grunfeld_year_is_a_number_column():
    if not (DATASETS / "grunfeld_panel.csv").exists():
        pytest.skip("shared datasets not available")
    df = read_csv((DATASETS / "grunfeld_panel.csv").read_bytes()).df
    assert tf.detect_time_format(df["year"], "year") == "number"
    idx = schema.parse_time(df, "year")
    assert idx.min() == 1935 and schema.infer_frequency(idx) == "1"
    assert tf.suggest_time_part(df, "year") is None           # panel: years repeat per firm, no quarter column


# ----------------------------------------------------------------------------- the forecast task and the chart


def test_forecast_task_keeps_the_format_for_new_data():
    from seqcore.modeling.tasks import forecast

    df = frame("date", weekly_yyyymmdd(80), [float(i) for i in range(80)])
    spec = DataSpec(task="forecast", time="date", targets=("value",), window=4, horizon=2)
    prep = forecast.prepare(df, spec)
    assert prep.state["time_format"] == "yyyymmdd" and prep.state["frequency"] == "W-SAT"
    assert prep.extra["times"][0] == pd.Timestamp("1958-03-29")
    out = forecast.predict_new(prep.state, spec, df.tail(10), lambda x: np.zeros((1, 2, 1), np.float32))
    last = pd.Timestamp(weekly_yyyymmdd(80)[-1])
    assert list(out["time"]) == [last + pd.Timedelta(days=7), last + pd.Timedelta(days=14)]
    # a short tail of 8-digit numbers is read the way the training data was
    assert forecast._clean_frame(df.tail(5), spec, ["value"], what="x", time_format="yyyymmdd")[1][0] == \
        pd.Timestamp(weekly_yyyymmdd(80)[-5])


def test_forecast_task_with_year_and_quarter():
    from seqcore.modeling.tasks import forecast

    df = read_csv((DATASETS / "macrodata.csv").read_bytes()).df
    spec = DataSpec(task="forecast", time="year", time_part="quarter", targets=("realgdp",), window=8)
    prep = forecast.prepare(df, spec)
    assert prep.state["frequency"] == "QS" and prep.state["time_part"] == "quarter"
    assert forecast.required_columns(prep.state)["quarter"] == "time"
    frame_ = forecast.future_frame(prep.state, np.zeros((1, 1, 1)), prep.extra["times"][-1], np.zeros((1, 1, 1)))
    assert frame_["time"][0] == pd.Timestamp("2009-10-01")


def test_series_chart_shows_real_dates():
    from seqcore.outputs import viz

    df = frame("date", weekly_yyyymmdd(30))
    x = np.asarray(viz.series_figure(df, "date", ["value"]).data[0].x)
    assert x.dtype.kind == "M" and pd.Timestamp(x[0]) == pd.Timestamp("1958-03-29")
    x = np.asarray(viz.series_figure(df, "date", ["value"], time_format="number").data[0].x)
    assert x[0] == 19580329
    macro = read_csv((DATASETS / "macrodata.csv").read_bytes()).df
    x = np.asarray(viz.series_figure(macro, "year", ["realgdp"], time_part="quarter").data[0].x)
    assert pd.Timestamp(x[1]) == pd.Timestamp("1959-04-01")
    fut = pd.DataFrame({"step": [1], "time": [pd.Timestamp("1958-10-25")], "value": [1.0]})
    fig = viz.future_figure(df, fut, time_col="date")
    assert np.asarray(fig.data[0].x).dtype.kind == "M"


def test_describe_first_value():
    assert tf.describe_first(pd.Series([19580329, 19580405]), None) == "19580329 is read as 29 March 1958."
    assert tf.describe_first(pd.Series(["03/04/2024"]), "dayfirst") == "03/04/2024 is read as 3 April 2024."
    assert tf.describe_first(pd.Series(["03/04/2024"]), "monthfirst") == "03/04/2024 is read as 4 March 2024."
    assert tf.describe_first(pd.Series([1995, 1996]), None) == "1995 is read as the number 1995 (not as a date)."
    assert tf.describe_first(pd.Series(["x1"]), "%Y") == "x1 cannot be read this way."


# ----------------------------------------------------------------------------- the generated script


@pytest.mark.parametrize("name, values, fmt", [
    ("date", weekly_yyyymmdd(30), None),
    ("d", [(pd.Timestamp("2020-01-01") + pd.DateOffset(months=i)).strftime("%d/%m/%Y") for i in range(30)], None),
    ("Quarter", [f"{1970 + i // 4} Q{i % 4 + 1}" for i in range(30)], None),
    ("w", [f"2020-W{w:02d}" for w in range(1, 31)], None),
    ("timestamp", [1_600_000_000 + 3600 * i for i in range(30)], None),
    ("Date", [45000 + i for i in range(30)], None),
    ("d", [(pd.Timestamp("2020-01-01") + pd.Timedelta(days=i)).strftime("%d.%m.%Y") for i in range(30)], "%d.%m.%Y"),
])
def test_generated_script_reads_times_like_seqcore(name, values, fmt, tmp_path):
    from seqcore.outputs.codegen import training_script

    spec = RunSpec(data=DataSpec(task="forecast", time=name, targets=("value",), window=2, time_format=fmt))
    path = tmp_path / "train.py"
    path.write_text(training_script(spec), encoding="utf-8")
    mod_spec = importlib.util.spec_from_file_location(f"gen_time_{abs(hash((name, fmt)))}", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    df = frame(name, values)
    ours = np.asarray(mod.parse_times(df[name]))
    theirs = np.asarray(schema.parse_time(df, name, fmt))
    np.testing.assert_array_equal(ours.astype("datetime64[ns]"), theirs.astype("datetime64[ns]"))


def test_generated_script_year_and_quarter(tmp_path):
    from seqcore.outputs.codegen import training_script

    spec = RunSpec(data=DataSpec(task="forecast", time="year", time_part="quarter", targets=("realgdp",)))
    text = training_script(spec)
    assert "TIME_PART = 'quarter'" in text and "TIME_FORMAT = None" in text
    path = tmp_path / "train.py"
    path.write_text(text, encoding="utf-8")
    mod_spec = importlib.util.spec_from_file_location("gen_time_macro", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    df = read_csv((DATASETS / "macrodata.csv").read_bytes()).df
    ours = pd.DatetimeIndex(mod.parse_times(df["year"], df["quarter"]))
    assert ours.equals(pd.DatetimeIndex(schema.parse_time(df, "year", part="quarter"), name=None))


# ----------------------------------------------------------------------------- the CLI


def _train_args(*argv):
    from seqcore.cli.spec import add_train_arguments

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    return p.parse_args(list(argv))


def test_cli_time_format_and_part_reach_the_spec():
    from seqcore.cli.spec import build_spec

    df = frame("d", ["31.01.2024", "01.02.2024", "02.02.2024"] * 1)
    spec = build_spec(_train_args("x.csv", "--task", "forecast", "--time", "d", "--target", "value",
                                  "--time-format", "%d.%m.%Y"), df)
    assert spec.data.time_format == "%d.%m.%Y" and spec.data.time == "d"
    macro = read_csv((DATASETS / "macrodata.csv").read_bytes()).df
    spec = build_spec(_train_args("m.csv", "--task", "forecast", "--time", "year", "--time-part", "quarter",
                                  "--target", "realgdp"), macro)
    assert (spec.data.time, spec.data.time_part) == ("year", "quarter")
    spec = build_spec(_train_args("m.csv", "--task", "forecast"), macro)      # suggested: year + quarter
    assert (spec.data.time, spec.data.time_part) == ("year", "quarter")
    co2 = frame("date", weekly_yyyymmdd(60))
    assert build_spec(_train_args("c.csv", "--task", "forecast"), co2).data.time_format == "yyyymmdd"
    with pytest.raises(SpecError, match="time format must be one of"):
        build_spec(_train_args("x.csv", "--task", "forecast", "--time-format", "dd.mm.yyyy"), df)


def test_cli_train_bad_time_format_value_exits_with_one_line(tmp_path, capsys):
    from seqcore.cli.main import main

    path = tmp_path / "d.csv"
    path.write_text("d,value\n" + "".join(f"{(pd.Timestamp('2024-01-01') + pd.Timedelta(days=i)):%d.%m.%Y},{i}\n"
                                          for i in range(40)), encoding="utf-8")
    code = main(["train", str(path), "--task", "forecast", "--time", "d", "--target", "value",
                 "--time-format", "%Y-%m-%d", "--epochs", "1", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0 and "line 2" in err and "01.01.2024" in err


# ----------------------------------------------------------------------------- the Data page


@pytest.mark.usefixtures("short_worker_idle")
def test_data_page_how_dates_are_written():
    from helpers import app, texts, upload

    data = ("date,co2\n" + "".join(f"{v},{315 + (i % 52) / 10:.2f}\n" for i, v in enumerate(weekly_yyyymmdd(120))))
    at = app("pages/1_Data.py")
    upload(at, "co2.csv", data.encode())
    assert not at.exception and not at.error
    assert at.selectbox(key="data_role_time").value == "date"
    assert at.selectbox(key="data_fmt_time").value == "auto"
    assert "19580329 is read as 29 March 1958" in texts(at.caption)
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert spec.time == "date" and spec.time_format == "yyyymmdd" and spec.targets == ("co2",)
    assert "weekly" in texts(at.markdown) and "uneven" not in texts(at.warning)
    chart = at.get("plotly_chart")[0].proto.spec
    assert "1958-03-29" in chart and "19580329" not in chart.replace("1958-03-29", "")
    # read as plain numbers instead: the spec says so, the chart shows numbers
    at.selectbox(key="data_fmt_time").set_value("number").run()
    assert not at.exception
    assert "19580329 is read as the number 19580329" in texts(at.caption)
    assert DataSpec.from_dict(at.session_state["data_spec"]).time_format == "number"
    # a pattern that does not fit: a clear error naming the line, and the data is not ready
    at.selectbox(key="data_fmt_time").set_value("pattern").run()
    at.text_input(key="data_fmt_time_pattern").set_value("%d.%m.%Y").run()
    assert not at.exception
    assert "line 2" in texts(at.error) and "19580329" in texts(at.error)
    assert at.session_state["data_spec"] is None
    at.text_input(key="data_fmt_time_pattern").set_value("dd.mm.yyyy").run()
    assert "A date pattern needs % codes" in texts(at.warning)
    at.text_input(key="data_fmt_time_pattern").set_value("").run()
    assert "Type a pattern such as %d.%m.%Y" in texts(at.caption)
    at.selectbox(key="data_role_time").set_value("(none)").run()
    assert "Used for the time column of a forecast" in texts(at.caption)
    at.selectbox(key="data_role_time").set_value("date").run()
    at.text_input(key="data_fmt_time_pattern").set_value("%Y%m%d").run()
    assert not at.exception and not at.error
    assert DataSpec.from_dict(at.session_state["data_spec"]).time_format == "%Y%m%d"


@pytest.mark.usefixtures("short_worker_idle")
def test_data_page_year_and_quarter_column():
    from helpers import app, texts, upload
    from pages._ui.base import md

    if not (DATASETS / "macrodata.csv").exists():
        pytest.skip("shared datasets not available")
    at = app("pages/1_Data.py")
    upload(at, "macrodata.csv", (DATASETS / "macrodata.csv").read_bytes())
    assert not at.exception
    assert at.selectbox(key="data_role_time").value == "year"
    assert at.selectbox(key="data_role_time_part").value == "quarter"
    spec = DataSpec.from_dict(at.session_state["data_spec"])
    assert (spec.time, spec.time_part) == ("year", "quarter")
    assert md("Time column 'year' with 'quarter': 1959 and 1 are read as 1 January 1959.") in texts(at.caption)
    at.selectbox(key="data_role_time_part").set_value("(none)").run()
    assert "repeats" in " ".join(e.value for e in at.error)
    assert at.session_state["data_spec"] is None


def test_cli_trains_on_yyyymmdd_and_forecasts_real_dates(tmp_path, capsys):
    """python -m seqcore train on weekly CO2 written 19580329 (one epoch): the forecast past the end and
    predict on the same file are dated a week after the last row, not 19620127 or 19620124."""
    from seqcore.cli.main import main

    values = weekly_yyyymmdd(200)
    path = tmp_path / "co2.csv"
    path.write_text("date,co2\n" + "".join(f"{v},{315 + (i % 52) / 10 + i / 100:.2f}\n" for i, v in enumerate(values)),
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["train", str(path), "--task", "forecast", "--epochs", "1", "--window", "8", "--out", str(out)]) == 0
    next_week = pd.Timestamp(values[-1]) + pd.Timedelta(days=7)
    forecast = pd.read_csv(out / "forecast.csv")
    assert pd.Timestamp(forecast["time"][0]) == next_week == pd.Timestamp("1962-01-27")
    spec = DataSpec.from_dict(__import__("json").loads((out / "bundle" / "spec.json").read_text())["data"])
    assert (spec.time, spec.time_format) == ("date", "yyyymmdd")
    capsys.readouterr()
    assert main(["predict", str(out), str(path)]) == 0
    predicted = capsys.readouterr().out.splitlines()
    assert predicted[0] == "step,time,co2,lower_80,upper_80,lower_95,upper_95"   # the forecast and its bands
    assert predicted[1].startswith("1,1962-01-27,")
