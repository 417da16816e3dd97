"""Parquet and Excel inputs (issue 16, point 4): the same door (``read_table``), checks and messages as CSV, in
the core, the CLI and the Data page; files over the limits refused before their data is read.

Workbooks are written here with openpyxl and Parquet files with pandas/pyarrow (no binary fixtures)."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seqcore.config import DataSpec, Limits, RunSpec
from seqcore.data import schema
from seqcore.data.io import CsvOptions, detect_kind, line_number, read_table, sheet_names
from seqcore.errors import DataError

from helpers import app, texts, upload

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "seqcore" / "samples"


# ----------------------------------------------------------------------------- writing the files


def parquet_bytes(df: pd.DataFrame, **kw) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, **kw)
    return buf.getvalue()


def xlsx_bytes(sheets: dict[str, list[list]], merge: dict[str, str] | None = None) -> bytes:
    """A workbook with one sheet per entry (rows of cell values; ``None`` = empty cell)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        if merge and title in merge:
            ws.merge_cells(merge[title])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def daily(n: int = 60, start=dt.datetime(2021, 3, 1)) -> list[list]:
    return [[start + dt.timedelta(days=i), round(100 + 10 * math.sin(i / 3) + i, 3), i % 7] for i in range(n)]


def rewrite_part(data: bytes, part: str, edit) -> bytes:
    """The workbook with one zip member changed by ``edit(bytes) -> bytes``."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            z.writestr(info, edit(body) if info.filename == part else body)
    return out.getvalue()


def err(data: bytes, **kw) -> str:
    with pytest.raises(DataError) as e:
        read_table(data, **kw)
    return str(e.value)


def kinds(df: pd.DataFrame) -> dict[str, str]:
    return {c.name: c.kind for c in schema.infer_columns(df)}


# ----------------------------------------------------------------------------- Parquet


def test_parquet_reads_with_column_kinds_and_the_time_column():
    n = 80
    df = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=n, freq="D"),
                       "sales": np.linspace(10, 50, n), "stores": np.arange(n) % 5,
                       "region": pd.Categorical(["north", "south"] * (n // 2)),
                       "comment": ["ok"] * (n - 1) + ["NA"]})
    t = read_table(parquet_bytes(df), name="sales.parquet")
    assert t.fmt.kind == "parquet" and t.fmt.describe() == "a Parquet file"
    assert list(t.df.columns) == ["when", "sales", "stores", "region", "comment"]
    assert pd.api.types.is_datetime64_any_dtype(t.df["when"])
    assert t.df["stores"].dtype == np.int64 and t.df["region"].dtype == object
    assert t.df["comment"].isna().sum() == 1            # missing tokens as in a CSV
    k = kinds(t.df)
    assert k["when"] == "datetime" and k["sales"] == "numeric" and k["region"] == "categorical"
    assert schema.suggest_task(t.df) == "forecast"
    assert schema.suggest_roles(t.df, "forecast")["time"] == "when"
    assert line_number(t.df, 0) == 2                    # messages count as in a CSV: header on line 1
    assert t.sha256 and t.n_bytes > 0


def test_parquet_index_and_nested_columns():
    df = pd.DataFrame({"y": np.arange(30.0), "tags": [[1, 2]] * 30},
                      index=pd.date_range("2022-01-01", periods=30, freq="h", name="stamp"))
    t = read_table(parquet_bytes(df), name="x.parquet")
    assert list(t.df.columns) == ["stamp", "y"]
    assert any("'stamp'" in n for n in t.notes) and any("'tags'" in n for n in t.notes)
    only_nested = parquet_bytes(pd.DataFrame({"tags": [[1, 2]] * 3}))
    assert "no columns of plain values" in err(only_nested, name="n.parquet")


def test_parquet_over_the_limits_is_refused_from_its_footer(monkeypatch):
    data = parquet_bytes(pd.DataFrame({f"c{j}": np.arange(500.0) for j in range(12)}))

    def no_read(*a, **k):
        raise AssertionError("the data was read")

    monkeypatch.setattr(pq.ParquetFile, "read", no_read)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_read)
    msg = err(data, name="big.parquet", limits=Limits(max_rows=100))
    assert "500 rows" in msg and "limit of 100" in msg and "SEQSTUDIO_MAX_ROWS" in msg
    msg = err(data, name="wide.parquet", limits=Limits(max_columns=10))
    assert "12 columns" in msg and "SEQSTUDIO_MAX_COLUMNS" in msg
    # the byte limit comes first, for every format
    assert "over the upload limit" in err(data, name="big.parquet", limits=Limits(max_bytes=100, max_rows=100))


def test_damaged_parquet_is_a_clear_data_error():
    data = parquet_bytes(pd.DataFrame({"a": np.arange(100.0)}))
    for bad in (data[: len(data) // 2], data[:4] + b"\x00" * 60, b"not parquet at all, just text\n"):
        msg = err(bad, name="cut.parquet")
        assert "can't be read as a Parquet file" in msg and "damaged" in msg


# ----------------------------------------------------------------------------- Excel


def test_xlsx_first_sheet_with_dates_title_rows_and_blank_rows():
    rows = [["Monthly report (draft)"], [], ["Day", "Units", "Shop"]] + daily(40)
    rows.insert(10, [])   # a blank row inside the table
    data = xlsx_bytes({"Report": rows, "Other": [["a", "b"], [1, 2]]}, merge={"Report": "A1:C1"})
    assert detect_kind(data, "whatever.csv") == "xlsx"   # the content decides, not the name
    t = read_table(data, name="report.xlsx")
    assert t.fmt.kind == "xlsx" and t.fmt.sheet == "Report"
    assert t.fmt.describe() == "an Excel workbook, sheet 'Report'"
    assert list(t.df.columns) == ["Day", "Units", "Shop"] and len(t.df) == 40
    assert pd.api.types.is_datetime64_any_dtype(t.df["Day"])
    assert t.df["Day"].iloc[0] == pd.Timestamp("2021-03-01")
    assert t.df["Shop"].dtype == np.int64            # whole numbers, as a CSV gives them
    assert kinds(t.df)["Day"] == "datetime" and kinds(t.df)["Units"] == "numeric"
    assert schema.suggest_roles(t.df, "forecast")["time"] == "Day"
    notes = " ".join(t.notes)
    assert "Skipped 1 row(s) above the table" in notes and "'Other'" in notes and "row numbers" in notes
    # messages name the sheet's row numbers: the table starts on row 4, a blank row sits at sheet row 11
    assert line_number(t.df, 0) == 4 and line_number(t.df, 7) == 12


def test_xlsx_chosen_sheet_and_sheet_names():
    data = xlsx_bytes({"Notes": [["read me first"]], "Train": [["t", "y", "k"]] + daily(30),
                       "Empty": [], "Test": [["t", "y", "k"]] + daily(12)})
    assert sheet_names(data) == ["Notes", "Train", "Empty", "Test"]
    assert sheet_names(b"a,b\n1,2\n") == []
    t = read_table(data, name="book.xlsx")   # the first sheet holds no table: the first one that does
    assert t.fmt.sheet == "Train" and len(t.df) == 30 and any("'Notes' holds no table" in n for n in t.notes)
    t = read_table(data, CsvOptions(sheet="Test"), name="book.xlsx")
    assert t.fmt.sheet == "Test" and len(t.df) == 12
    assert t.fmt.to_options() == CsvOptions(sheet="Test")
    assert read_table(data, CsvOptions(sheet="test"), name="book.xlsx").fmt.sheet == "Test"   # case aside
    msg = err(data, options=CsvOptions(sheet="Sales"), name="book.xlsx")
    assert "no sheet named 'Sales'" in msg and "'Train'" in msg and "'Test'" in msg
    msg = err(data, options=CsvOptions(sheet="Empty"), name="book.xlsx")
    assert "The sheet 'Empty' of 'book.xlsx' is empty" in msg and "choose the one that holds the data" in msg
    msg = err(data, options=CsvOptions(sheet="Notes"), name="book.xlsx")
    assert "has column names but no data rows" in msg
    assert "no table on any of its sheets" in err(xlsx_bytes({"A": [], "B": [["x"]]}), name="e.xlsx")
    # the options carry the sheet through the run store as a dict
    assert CsvOptions.from_dict(CsvOptions(sheet="Test").to_dict()).sheet == "Test"


def test_xlsx_formulas_use_their_saved_results():
    rows = [["x", "y"]] + [[i, f"=A{i + 2}*2"] for i in range(20)]
    plain = xlsx_bytes({"S": rows})   # openpyxl saves formulas without results, as some exporters do
    t = read_table(plain, name="f.xlsx")
    assert t.df["y"].isna().all() and any("20 formula cell(s)" in n and "save it again" in n for n in t.notes)

    def cache(xml: bytes) -> bytes:   # what Excel writes: the formula and its last result
        return re.sub(rb"<f>A(\d+)\*2</f><v\s*/?>(?:</v>)?",
                      lambda m: b"<f>A%s*2</f><v>%d</v>" % (m.group(1), 2 * (int(m.group(1)) - 2)), xml)

    saved = rewrite_part(plain, "xl/worksheets/sheet1.xml", cache)
    t = read_table(saved, name="f.xlsx")
    assert t.df["y"].tolist() == [2 * i for i in range(20)] and not any("formula" in n for n in t.notes)


def test_xlsx_header_detection_and_mixed_cells():
    no_header = xlsx_bytes({"S": [[0.1 * i, 0.2 * i, 0.3 * i, 0.4 * i, 0.5 * i] for i in range(1, 30)]})
    t = read_table(no_header, name="n.xlsx")
    assert list(t.df.columns) == [f"column_{i}" for i in range(1, 6)] and len(t.df) == 29
    mixed = xlsx_bytes({"S": [["t", "y", "n"]] + [[i, "oops" if i == 5 else i * 1.5, str(i)] for i in range(20)]})
    t = read_table(mixed, name="m.xlsx")
    assert t.df["y"].dtype == object and t.df["y"].iloc[5] == "oops"   # left as text: the checks name the cell
    assert t.df["n"].dtype == np.int64                                   # numbers stored as text are numbers
    rep = schema.validate(t.df, DataSpec(task="forecast", time="t", targets=("y",)))
    assert any("line 7" in str(i.to_dict()) for i in rep.issues), rep.to_dict()["issues"]   # sheet row 7: "oops"


def test_xlsx_over_the_limits_is_refused_before_it_is_loaded(monkeypatch):
    from seqcore.data.io import excel

    data = xlsx_bytes({"S": [["a", "b", "c"]] + [[i, i, i] for i in range(400)]})

    def no_load(*a, **k):
        raise AssertionError("the sheet was loaded")

    monkeypatch.setattr(excel, "_load", no_load)
    msg = err(data, name="big.xlsx", limits=Limits(max_rows=100))
    assert "rows, over the limit of 100" in msg and "SEQSTUDIO_MAX_ROWS" in msg
    assert "2 columns" not in msg
    msg = err(data, name="wide.xlsx", limits=Limits(max_columns=2))
    assert "3 columns" in msg and "SEQSTUDIO_MAX_COLUMNS" in msg
    # a sheet without a <dimension>: its rows are counted as they stream by
    undimensioned = rewrite_part(data, "xl/worksheets/sheet1.xml", lambda x: re.sub(rb"<dimension[^>]*/>", b"", x))
    assert "more than 100 rows" in err(undimensioned, name="big.xlsx", limits=Limits(max_rows=100))
    # a small file that unpacks to far more (a zip bomb): refused from the sizes the zip declares
    bomb = xlsx_bytes({"S": [["a"]] + [["same text again and again"] for _ in range(20_000)]})
    msg = err(bomb, name="bomb.xlsx", limits=Limits(max_bytes=len(bomb) + 1))
    assert "unpacks to" in msg and "SEQSTUDIO_MAX_UPLOAD_MB" in msg


def test_damaged_and_unsupported_workbooks_are_clear_data_errors():
    good = xlsx_bytes({"S": [["a", "b"], [1, 2]]})
    assert "can't be read as an Excel workbook" in err(good[: len(good) // 2], name="cut.xlsx")
    broken_xml = rewrite_part(good, "xl/workbook.xml", lambda x: x[: len(x) // 2])
    assert "can't be read as an Excel workbook" in err(broken_xml, name="b.xlsx")
    broken_sheet = rewrite_part(good, "xl/worksheets/sheet1.xml", lambda x: x[: len(x) // 2])
    assert "can't be read as an Excel workbook" in err(broken_sheet, name="b.xlsx")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    msg = err(ole, name="old.xls")
    assert "old Excel workbook (.xls)" in msg and ".xlsx" in msg and "CSV" in msg
    assert "password" in err(ole, name="locked.xlsx")
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    assert "OpenDocument spreadsheet (.ods)" in err(ods.getvalue(), name="calc.ods")


# ----------------------------------------------------------------------------- the pipeline (store, worker, predict)


def test_prepare_data_reads_workbooks_and_a_separate_test_workbook_from_its_first_sheet():
    from seqcore.pipeline import prepare_data, prepared_key

    def wide(n, seed):
        rng = np.random.default_rng(seed)
        return [["label"] + [f"s{j}" for j in range(8)]] + [
            [("up" if i % 2 else "down")] + list(np.round(np.sin(np.arange(8) / 2 + i % 2) + rng.normal(0, .1, 8), 4))
            for i in range(n)]

    train = xlsx_bytes({"Cover": [["about"], ["text"]], "Train": wide(40, 0)})
    test = xlsx_bytes({"Only": wide(12, 1)})
    spec = RunSpec(DataSpec(task="classify", label="label", layout="wide"))
    opts = CsvOptions(sheet="Train")
    task, prep, table = prepare_data(train, spec, csv_options=opts, test_data=test, name="train.xlsx")
    assert table.fmt.sheet == "Train" and len(table.df) == 40
    assert prepared_key(train, spec, csv_options=opts, name="t.xlsx") != \
        prepared_key(train, spec, csv_options=CsvOptions(sheet="Cover"), name="t.xlsx")


# ----------------------------------------------------------------------------- the CLI


def cli(*args, env: dict | None = None, timeout=600):
    import os

    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=timeout, env={**os.environ, **(env or {})})


def one_line_error(r) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_cli_inspect_parquet_and_xlsx_and_bad_files_exit_2(tmp_path):
    pqf = tmp_path / "s.parquet"
    pqf.write_bytes(parquet_bytes(pd.DataFrame({"d": pd.date_range("2020", periods=50), "v": np.arange(50.0)})))
    r = cli("inspect", pqf, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["format"]["kind"] == "parquet" and out["roles"]["time"] == "d" and out["suggested_task"] == "forecast"
    book = tmp_path / "b.xlsx"
    book.write_bytes(xlsx_bytes({"One": [["x", "y"], ["a", 1], ["b", 2]], "Two": [["t", "y", "z"]] + daily(30)}))
    r = cli("inspect", book, "--sheet", "Two")
    assert r.returncode == 0, r.stderr
    assert "b.xlsx: an Excel workbook, sheet 'Two'; 30 rows x 3 columns" in r.stdout
    assert "no sheet named 'Three'" in one_line_error(cli("inspect", book, "--sheet", "Three"))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(pqf.read_bytes()[:200])
    assert "can't be read as a Parquet file" in one_line_error(cli("inspect", bad))
    assert "over the upload limit" in one_line_error(cli("inspect", pqf, env={"SEQSTUDIO_MAX_UPLOAD_MB": "0.0001"}))


def test_cli_refuses_a_file_over_the_size_limit_before_reading_it(tmp_path, monkeypatch):
    from seqcore.cli.common import _read_file

    big = tmp_path / "big.parquet"
    big.write_bytes(b"PAR1" + b"\x00" * 4000)
    monkeypatch.setenv("SEQSTUDIO_MAX_UPLOAD_MB", "0.001")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the file was read"))
    with pytest.raises(DataError, match="over the upload limit"):
        _read_file(str(big))


def test_train_from_parquet_and_predict_from_xlsx_through_the_cli(tmp_path):
    air = pd.read_csv(SAMPLES / "Airline.csv")
    air["Date"] = pd.to_datetime(air["Date"])
    train_file = tmp_path / "airline.parquet"
    train_file.write_bytes(parquet_bytes(air, index=False))
    out = tmp_path / "run"
    r = cli("train", train_file, "--task", "forecast", "--window", "12", "--horizon", "2", "--epochs", "2",
            "--units", "8", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "metrics.json").read_text())["test"]["mae"] > 0
    new = tmp_path / "new.xlsx"
    new.write_bytes(xlsx_bytes({"History": [["Date", "Passengers"]] + air.values.tolist()}))
    r = cli("predict", out, new, "--out", tmp_path / "from_xlsx.csv")
    assert r.returncode == 0, r.stderr
    r = cli("predict", out, SAMPLES / "Airline.csv", "--out", tmp_path / "from_csv.csv")
    assert r.returncode == 0, r.stderr
    a, b = pd.read_csv(tmp_path / "from_xlsx.csv"), pd.read_csv(tmp_path / "from_csv.csv")
    assert a["time"].tolist() == ["1961-01-01", "1961-02-01"]
    pd.testing.assert_frame_equal(a, b)   # the same numbers whichever format the history came in


# ----------------------------------------------------------------------------- the Data page


@pytest.mark.usefixtures("short_worker_idle")
def test_data_page_uploads_parquet_and_a_workbook_with_a_sheet_choice():
    at = app("pages/1_Data.py")
    df = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=120, freq="D"),
                       "load": 50 + 10 * np.sin(np.arange(120) / 5)})
    upload(at, "load.parquet", parquet_bytes(df))
    assert not at.exception and not at.error, texts(at.error)
    assert "Read as a Parquet file" in texts(at.success)
    assert at.radio(key="data_role_task").value == "forecast"
    assert at.selectbox(key="data_role_time").value == "when"

    at = app("pages/1_Data.py")
    book = xlsx_bytes({"Readme": [["what this is"]], "Shop A": [["Day", "Units"]] + [r[:2] for r in daily(90)],
                       "Shop B": [["Day", "Units", "Price"]] + daily(70)})
    upload(at, "shops.xlsx", book)
    assert not at.exception and not at.error, texts(at.error)
    assert "sheet 'Shop A'" in texts(at.success)
    assert at.selectbox(key="data_role_time").value == "Day"
    at.selectbox(key="data_fmt_sheet").set_value("Shop B").run()
    assert not at.exception and not at.error, texts(at.error)
    assert "70 rows" in texts(at.success) and "sheet 'Shop B'" in texts(at.success)
    assert at.session_state["csv_options"]["sheet"] == "Shop B"
    assert at.session_state["data_spec"] is not None


# ----------------------------------------------------------------------------- the run store, the worker, Predict


@pytest.mark.usefixtures("short_worker_idle")
def test_a_run_on_a_stored_parquet_file_and_predict_from_a_chosen_sheet():
    """The stored bytes are the uploaded file: the worker trains on the Parquet file and predicts on a workbook's
    second sheet, each read through read_table as the app read it."""
    from seqcore.config import ModelSpec, TrainSpec
    from seqcore.runs import runner
    from seqcore.runs.store import RunStore

    from helpers import page

    air = pd.read_csv(SAMPLES / "Airline.csv")
    air["Date"] = pd.to_datetime(air["Date"])
    store = RunStore()
    ds = store.add_dataset(parquet_bytes(air, index=False), "airline.parquet")
    spec = RunSpec(DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3),
                   ModelSpec(units=(8,)), TrainSpec(epochs=2, batch_size=16, patience=0))
    run_id = runner.submit_run(store, spec, ds)
    rec = runner.wait_run(store, run_id, timeout=240)
    assert rec.status == "finished", rec.error

    at = page("pages/6_Predict.py", query={"run": run_id})
    book = xlsx_bytes({"Readme": [["the history is on the next sheet"]],
                       "History": [["Date", "Passengers"]] + air.values.tolist()})
    at.file_uploader(key="predict_upload").set_value(("history.xlsx", book, "application/octet-stream"))
    at.run()
    assert not at.exception
    at.selectbox(key="predict_sheet").set_value("History")
    at.button(key="predict_go").click().run()
    assert not at.exception and not at.error, texts(at.error)
    job = runner.wait_run(store, at.session_state["predict_job_id"], timeout=180)
    assert job.status == "finished", job.error
    assert job.csv_options == {"sheet": "History"}
    at.run()
    df = at.dataframe[0].value
    assert len(df) == 3 and df["time"].tolist()[0] == "1961-01-01"
