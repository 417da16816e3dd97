"""Understanding a file people bring: the labelled corpus (one test per file, every field against the answer
written by hand in tests/data/understanding/answers.json), the inference rules behind it, the doubts that
say when a guess is weak, and the CLI refusing files with nothing to learn.

The corpus comparison is the one ``bench/understanding.py`` prints (its ``compare``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec
from seqcore.data import schema
from seqcore.data.io import CsvOptions, read_csv
from seqcore.data.understand import Understanding, understand
from seqcore.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import understanding as bench  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "understanding"
ANSWERS = bench.load_answers()


def table(text: str, name: str = "data.csv"):
    return read_csv(text.encode(), name=name)


def frame_table(df: pd.DataFrame, **kw):
    return read_csv(df.to_csv(index=False, **kw).encode())


def doubts_text(u: Understanding) -> str:
    return "\n".join(u.doubts)


# ----------------------------------------------------------------------------- the corpus


def test_corpus_is_large_and_every_variant_has_an_answer():
    assert len(ANSWERS) >= 44
    variants = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".txt", ".tsv")}
    answered = {Path(k).name for k in ANSWERS if k.startswith("tests/")}
    assert variants == answered
    shared = [k for k in ANSWERS if k.startswith("../shared/datasets/")]
    folder = bench.shared_datasets()
    if folder is not None:  # every public test file is in the corpus
        on_disk = {p.name for p in folder.iterdir() if p.suffix in (".csv", ".txt")}
        assert on_disk == {Path(k).name for k in shared}
    for rel, exp in ANSWERS.items():
        assert set(exp) == set(bench.FIELDS) | {"task"}, rel
    for p in CORPUS.iterdir():
        if p.suffix in (".csv", ".txt", ".tsv"):
            assert p.stat().st_size < 12_000, p.name   # small files


@pytest.mark.parametrize("rel", sorted(ANSWERS))
def test_corpus_file_is_understood(rel):
    path = bench.resolve(rel)
    if path is None:
        pytest.skip(f"{rel} not found (the public datasets live in ../shared/datasets beside the checkout)")
    got = bench.got_fields(path)
    right = bench.compare(ANSWERS[rel], got)
    wrong = {f: (ANSWERS[rel][f], got[f]) for f, ok in right.items() if not ok}
    assert not wrong, f"{rel}: field: (expected, got): {wrong}"


def test_compare_treats_the_same_instant_alike():
    assert bench._same_time("2021-05-01T00:00:00", "2021-05-01T00:00:00+00:00")
    assert bench._same_time("1949-01-01", "1949-01-01T00:00:00")
    assert bench._same_time(1700, 1700.0)
    assert not bench._same_time("1958-03-29", 19580329)
    assert not bench._same_time(None, 0)


def test_bench_prints_the_shares_and_the_wrong_fields(capsys):
    res = bench.run()
    assert res["n_files"] == len(ANSWERS) - len(res["missing"])
    assert 0 <= res["all_right_share"] <= 1 and set(res["per_field"]) == set(bench.FIELDS)
    md = bench.results_markdown(res)
    assert "| **every field** |" in md and md.count("\n| ") >= len(bench.FIELDS)


# ----------------------------------------------------------------------------- reading


def test_whitespace_delimited_file_is_read_with_line_numbers():
    rows = ["  1  0.5  0.25  -1.5e-01", "  2  0.6  0.35  -2.5e-01", "", "  1  0.7  oops  -3.5e-01"]
    t = table("\n".join(rows) + "\n", "raw.txt")
    assert t.fmt.delimiter == " " and t.df.shape == (3, 4)
    assert list(t.df.columns) == ["column_1", "column_2", "column_3", "column_4"]
    assert "space delimited" in t.fmt.describe()
    assert any("separated by spaces" in n for n in t.notes)
    col = schema.infer_columns(t.df)[2]
    assert col.first_bad == (4, "oops")          # the line a person sees in an editor
    again = read_csv("7 2 3\n4 5 6\n".encode(), t.fmt.to_options())   # the same options read new data alike
    assert again.df.shape == (2, 3)
    assert CsvOptions(delimiter=" ").validate().delimiter == " "


def test_text_with_spaces_is_not_taken_for_a_whitespace_file():
    t = table("name\nAnn Lee\nBob Ray\n")
    assert t.df.shape == (2, 1) and t.fmt.delimiter != " "


def test_header_is_reported_as_read():
    assert understand(table("a,b\n1,2\n3,4\n")).header is True
    u = understand(table("5,2\n3,4\n5,6\n"))
    assert u.header is False and u.delimiter == "," and u.decimal == "."


# ----------------------------------------------------------------------------- rules


def _ucr(n_rows=24, n_values=60, labels=(1, 2), fmt=str, seed=0, last=False) -> str:
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n_rows):
        lab = fmt(labels[i % len(labels)])
        vals = [f"{v:.4f}" for v in np.sin(np.arange(n_values) / (3 + i % 2)) + rng.normal(0, 0.1, n_values)]
        lines.append(",".join(vals + [lab] if last else [lab] + vals))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, label", [
    (_ucr(), "column_1"),                                              # 1/2
    (_ucr(labels=(1.0, 2.0), fmt=lambda v: f"{v:.1f}"), "column_1"),  # 1.0/2.0
    (_ucr(labels=(-1, 1)), "column_1"),                                # -1/1
    (_ucr(labels=(1, 2, 3), last=True), "column_61"),                  # label last
])
def test_headerless_integer_column_next_to_many_values_is_the_label(text, label):
    t = table(text)
    assert schema.suggest_task(t.df) == "classify"
    roles = schema.suggest_roles(t.df, "classify")
    assert roles["label"] == label and roles["layout"] == "wide" and label not in roles["features"]
    u = understand(t)
    assert u.task == "classify" and u.roles["label"] == label and u.header is False
    # a label named only by its position is a guess: the user is asked to check it
    assert f"The class column '{label}' holds numbers" in doubts_text(u)
    assert "class codes" in doubts_text(u)


def test_few_valued_integer_column_among_calendar_columns_is_no_label():
    # macrodata-like: year and quarter next to many measurements stays a forecast
    n = 40
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"year": np.repeat(np.arange(2000, 2010), 4), "quarter": np.tile([1, 2, 3, 4], 10)})
    for k in range(10):
        df[f"m{k}"] = np.round(rng.normal(100, 5, n), 2)
    t = frame_table(df)
    assert schema.suggest_task(t.df) == "forecast"
    assert schema.suggest_roles(t.df, "forecast")["targets"] == ["m0"]


@pytest.mark.parametrize("df", [
    pd.DataFrame({"k": np.arange(60)}),                                            # a lone counter
    pd.DataFrame({"id": np.arange(1, 61), "year": np.arange(1950, 2010)}),          # an id and a year
    pd.DataFrame({"index": np.arange(60), "row_id": np.arange(100, 160)}),          # index + record numbers
])
def test_row_counters_ids_and_calendar_parts_are_never_forecast_targets(df):
    t = frame_table(df)
    assert schema.suggest_roles(t.df, "forecast")["targets"] == []
    rep = schema.validate(t.df, DataSpec(task="forecast"))
    msg = " ".join(i.message for i in rep.errors)
    assert "nothing to forecast" in msg or "none of the number columns looks like a measurement" in msg, msg
    assert "Pick the target column (it must hold numbers)" not in msg


def test_first_measurement_is_the_target_and_flags_come_last():
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=40, freq="MS").strftime("%Y-%m-%d"),
                       "law": [0] * 20 + [1] * 20, "deaths": np.arange(40) * 3 + 100, "station": 7})
    t = frame_table(df)
    assert schema.suggest_roles(t.df, "forecast")["targets"] == ["deaths"]


def test_all_missing_column_is_refused_by_name():
    t = table("t,y\n" + "".join(f"{i},\n" for i in range(1, 51)))
    roles = schema.suggest_roles(t.df, "forecast")
    assert roles["targets"] == []                       # never the row counter t
    rep = schema.validate(t.df, DataSpec(task="forecast", time=roles["time"]))
    assert rep.errors[0].message == (
        "Column 'y' has no values at all (every cell is empty), so there is nothing to forecast. Fill in its "
        "values, or use a file that has them.")
    u = understand(t)
    assert not u.confident and "Column 'y' has no values at all" in doubts_text(u)
    # asked for explicitly, the empty column is refused by name too
    rep = schema.validate(t.df, DataSpec(task="forecast", targets=("y",)))
    assert any(i.column == "y" and "no values at all" in i.message for i in rep.errors)


def test_file_without_numbers_says_exactly_that():
    t = read_csv((CORPUS / "text_only_comments.csv").read_bytes())
    rep = schema.validate(t.df, DataSpec(task="forecast"))
    assert rep.errors[0].message.startswith("This file has no column of numbers, so there is nothing to forecast")
    assert "Classify texts" in rep.errors[0].message
    assert all("Pick the target column" not in i.message for i in rep.issues)
    u = understand(t)
    assert u.task == "text" and u.roles["text"] == "comment" and u.roles["label"] is None
    assert "No column looks like the class of each text" in doubts_text(u)


def test_deselected_target_asks_to_pick_one_and_names_a_candidate():
    t = read_csv((ROOT / "seqcore" / "samples" / "Airline.csv").read_bytes())
    rep = schema.validate(t.df, DataSpec(task="forecast", time="Date"))
    assert rep.errors[0].message == ("Forecasting needs a column of numbers to predict. Pick the column(s) to "
                                     "forecast, for example 'Passengers'.")


# ----------------------------------------------------------------------------- doubts


def test_two_plausible_label_columns_are_a_doubt():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"outcome": rng.choice(["win", "loss"], 40), "group": rng.choice(["a", "b", "c"], 40)})
    for k in range(12):
        df[f"v{k}"] = np.round(rng.normal(0, 1, 40), 3)
    u = understand(frame_table(df))
    assert u.task == "classify" and u.roles["label"] == "outcome"
    assert "Besides 'outcome', 'group' could also hold the class. Check that 'outcome' is the column you want " \
           "to predict." in u.doubts


def test_label_with_many_classes_for_few_rows_is_a_doubt():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"class": [f"c{i % 12}" for i in range(30)]})
    for k in range(10):
        df[f"v{k}"] = np.round(rng.normal(0, 1, 30), 3)
    u = understand(frame_table(df))
    assert u.roles["label"] == "class"
    assert "The class column 'class' has 12 different classes for 30 rows, fewer than three examples per class." \
        in doubts_text(u)


def test_forecast_without_time_column_is_a_doubt():
    u = understand(table("sales\n" + "".join(f"{100 + i % 7}.5\n" for i in range(40))))
    assert u.task == "forecast" and u.roles["time"] is None and u.roles["targets"] == ["sales"]
    assert any(d.startswith("No column with dates or times was found") and "time order" in d for d in u.doubts)
    assert u.time_format is None and u.frequency is None and u.first_time is None


def test_stacked_series_are_a_doubt_with_the_id_named():
    u = understand(read_csv((CORPUS / "store_sales_panel.csv").read_bytes()))
    assert u.roles["id"] == "store" and u.roles["time"] == "date" and u.roles["targets"] == ["sales"]
    assert any("3 series stacked" in d and "'store'" in d and "'North'" in d for d in u.doubts)


@pytest.mark.parametrize("name", ["Airline.csv", "sunspots.csv", "GunPoint_TRAIN.csv", "BasicMotions_TRAIN.csv",
                                  "rt_polarity_subset.csv"])
def test_samples_are_understood_with_confidence(name):
    t = read_csv((ROOT / "seqcore" / "samples" / name).read_bytes(), name=name)
    u = understand(t)
    assert u.confident and u.doubts == [], u.doubts
    assert u.task == schema.suggest_task(t.df)
    assert {k: u.roles[k] for k in ("time", "targets", "label", "id", "order", "text", "layout")} == \
        {k: v for k, v in schema.suggest_roles(t.df, u.task).items()
         if k in ("time", "targets", "label", "id", "order", "text", "layout")}
    assert u.to_dict()["confident"] is True
    assert understand(t, schema.infer_columns(t.df)).to_dict() == u.to_dict()   # the page passes its infos


@pytest.mark.parametrize("text", [
    "a\n1\n", "a,b\n,\n,\n", "x\ntrue\nfalse\n", "a,b\n1,1\n1,1\n1,1\n", "d,v\n2020-01-01,1\n2020-01-01,2\n",
    "d,v\n2020-01-01,1\nsoon,2\n2020-01-03,3\n", "t,t2\ninf,1\n2,2\n", "label,v\n1,2\n", "é,ü\nà,1\nè,2\n",
    "year,quarter,v\n2000,1,1\n2000,2,2\n2000,3,3\n", "k\n" + "".join(f"{i}\n" for i in range(30)),
])
def test_understand_never_raises_on_odd_files(text):
    u = understand(table(text))
    assert u.task in ("forecast", "classify", "text") and isinstance(u.doubts, list)
    assert all(isinstance(d, str) and d for d in u.doubts)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELLS = st.sampled_from(["1", "2", "2.5", "-1", "NA", "", "x", "abc def ghi jkl", "2020-01-01", "2020-01-02",
                          "13/01/2020", "1e309", "19580329", "1685577600", "45292", "2020-W05", "1970 Q1", "yes"])
_NAMES = st.sampled_from(["a", "b", "label", "t", "id", "case_id", "text", "date", "", "year", "quarter", "y"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6).flatmap(lambda k: st.tuples(st.lists(_NAMES, min_size=k, max_size=k),
                                                     st.lists(st.lists(_CELLS, min_size=k, max_size=k),
                                                              min_size=1, max_size=14))))
def test_understand_works_out_odd_files_without_an_internal_failure(tab):
    header, rows = tab
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    try:
        t = table(text)
    except UserError:
        return
    u = understand(t)
    assert not any("could not make sense" in d for d in u.doubts), u.doubts
    assert u.task in ("forecast", "classify", "text")
    assert set(u.roles) >= {"time", "targets", "features", "label", "id", "order", "text", "layout"}


def test_understand_turns_an_unexpected_failure_into_a_doubt(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("x")
    monkeypatch.setattr(schema, "suggest_task", boom)
    u = understand(table("a,b\n1,2\n3,4\n"))
    assert not u.confident and "could not make sense of this file" in doubts_text(u)


# ----------------------------------------------------------------------------- the CLI refuses


@pytest.mark.parametrize("name, expected", [
    ("t_y_empty.csv", "Column 'y' has no values at all (every cell is empty), so there is nothing to forecast."),
    ("text_only_comments.csv", "This file has no column of numbers, so there is nothing to forecast"),
])
def test_cli_train_refuses_files_with_nothing_to_forecast(tmp_path, name, expected):
    res = subprocess.run([sys.executable, "-m", "seqcore", "train", str(CORPUS / name), "--task", "forecast",
                          "--epochs", "1", "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    assert res.returncode != 0
    assert expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()   # nothing was trained


# ----------------------------------------------------------------------------- the Data page asks


@pytest.mark.usefixtures("short_worker_idle")
def test_data_page_asks_to_check_a_weak_guess_until_the_roles_are_touched():
    from helpers import app, texts, upload

    at = app("pages/1_Data.py")
    upload(at, "ucr.csv", _ucr().encode())
    assert not at.exception and not at.error
    assert at.radio(key="data_role_task").value == "classify"
    assert at.selectbox(key="data_role_label").value == "column_1"
    warnings = texts(at.warning)
    assert "Please check: The class column 'column\\_1' holds numbers" in warnings
    assert "Ready, but check the column roles above" in warnings
    assert "The data is ready" not in texts(at.success)
    assert at.session_state["data_spec"] is not None          # still usable as it is
    at.checkbox(key="data_opt_znorm").set_value(True).run()    # an option is not a role: still a guess
    assert "Ready, but check the column roles above" in texts(at.warning)
    # the user looks at the roles and changes one: now it is their choice
    at.toggle(key="data_role_wide_all").set_value(False).run()
    assert not at.exception
    assert "Ready, but check the column roles above" not in texts(at.warning)
    assert "The data is ready" in texts(at.success)


@pytest.mark.usefixtures("short_worker_idle")
def test_data_page_says_ready_without_doubts_for_a_clear_file():
    from helpers import SAMPLES, app, texts, upload

    at = app("pages/1_Data.py")
    upload(at, "Airline.csv", (SAMPLES / "Airline.csv").read_bytes())
    assert not at.exception
    assert "Please check" not in texts(at.warning)
    assert "The data is ready" in texts(at.success)


def test_cli_sweep_refuses_a_file_with_nothing_to_forecast(tmp_path):
    res = subprocess.run([sys.executable, "-m", "seqcore", "sweep", str(CORPUS / "t_y_empty.csv"), "--task",
                          "forecast", "--vary", "units=32,64", "--home", str(tmp_path / "home")],
                         capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "Column 'y' has no values at all" in res.stderr, res.stderr


@pytest.mark.parametrize("text, header", [
    ("walk,0.12,0.5,0.7,0.9,1.1\nrun,0.2,0.4,0.6,0.8,1.0\n", False),   # a word class, then the values
    ("label,0,1,2,3,4\nA,0.2,0.4,0.6,0.8,1.0\nB,0.3,0.1,0.2,0.5,0.6\n", True),   # numbered columns
    ("name,2019,2021,2023,2025\nA,2,4,6,8\nB,3,1,2,5\n", True),         # years as column names
    ("x,0.5,0.25,0.125,0.1\n1,2,3,4,5\n", True),                         # numbers below a text: a header
    ("5,2\n3,4\n", False), ("0,1,2\n5,6,7\n", True),
    ("1,0.5,0.25,NaN,NaN\n2,0.1,0.2,0.3,0.4\n", False),                # a shorter sequence padded with NaN
    ("2,0.5,0.25,,\n1,0.1,0.2,0.3,0.4\n", False),
    (",0,1,2\n0,5.5,6,7\n1,8,9,1\n", True),                            # pandas' index and column numbers
])
def test_header_detection(text, header):
    t = table(text)
    assert understand(t).header is header
    numbered = [f"column_{i + 1}" for i in range(t.df.shape[1])]
    assert (list(t.df.columns) == numbered) is (not header)


def test_a_stock_files_close_is_the_target():
    n = 50
    df = pd.DataFrame({"Date": pd.date_range("2024-01-01", periods=n, freq="B").strftime("%Y-%m-%d"),
                       "Open": np.arange(n) + 100.5, "High": np.arange(n) + 101.5, "Low": np.arange(n) + 99.5,
                       "Close": np.arange(n) + 100.25, "Adj Close": np.arange(n) + 99.9,
                       "Volume": np.arange(n) * 1000 + 5})
    assert schema.suggest_roles(frame_table(df).df, "forecast")["targets"] == ["Close"]


def test_long_sequences_with_a_session_id_are_found():
    rows = [(s, k, float(np.sin(k / 3 + s)), ["walk", "run"][s % 2]) for s in range(6) for k in range(20)]
    u = understand(frame_table(pd.DataFrame(rows, columns=["session", "frame", "acc", "activity"])))
    assert u.task == "classify"
    assert {k: u.roles[k] for k in ("label", "id", "order", "layout")} == \
        {"label": "activity", "id": "session", "order": "frame", "layout": "long"}


@pytest.mark.usefixtures("short_worker_idle")
def test_data_page_reads_a_space_separated_file_and_offers_spaces_as_delimiter():
    from helpers import app, texts, upload

    at = app("pages/1_Data.py")
    upload(at, "ucr.txt", (CORPUS / "ucr_whitespace_pm1.txt").read_bytes())
    assert not at.exception and not at.error
    assert "space delimited" in texts(at.success)
    assert "spaces" in at.selectbox(key="data_fmt_delimiter").options
    assert at.radio(key="data_role_task").value == "classify"
    assert at.selectbox(key="data_role_label").value == "column_1"
    at.selectbox(key="data_fmt_delimiter").set_value(" ").run()     # chosen by hand: read the same way
    assert not at.exception and not at.error
    assert at.session_state["csv_options"]["delimiter"] == " "
    assert at.selectbox(key="data_role_label").value == "column_1"


# ----------------------------------------------------------------------------- the generated script reads alike


@pytest.mark.parametrize("name", ["ucr_whitespace_pm1.txt", "ucr_text_labels_headerless.csv", "ucr_2018_tab.tsv"])
def test_generated_script_reads_header_less_and_space_separated_files_like_seqcore(name, tmp_path):
    import importlib.util

    from seqcore.config import RunSpec
    from seqcore.outputs.codegen import training_script

    data = (CORPUS / name).read_bytes()
    t = read_csv(data, name=name)
    fmt = dict(t.fmt.to_dict(), header=understand(t).header)
    spec = RunSpec(data=DataSpec(task="classify", label="column_1", layout="wide"))
    script = tmp_path / "s.py"
    script.write_text(training_script(spec, csv_format=fmt), encoding="utf-8")
    mod_spec = importlib.util.spec_from_file_location(f"script_{script.stem}", script)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    (tmp_path / name).write_bytes(data)
    ours = mod.read_table(str(tmp_path / name))
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), t.df.reset_index(drop=True), check_dtype=False,
                                  check_index_type=False)
