"""CSV ingestion: every sample dataset and every hardening case reads or fails clearly."""

from __future__ import annotations

import gzip
import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqcore.config import Limits
from seqcore.errors import DataError, SpecError, UserError
from seqcore.data.io import CsvFormat, CsvOptions, Table, line_number, line_numbers, read_csv, sha256_bytes

SAMPLES = Path(__file__).resolve().parents[1] / "seqcore" / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def err(data: bytes, **kw) -> str:
    with pytest.raises(DataError) as e:
        read_csv(data, **kw)
    return str(e.value)


# ----------------------------------------------------------------------------- samples


def test_airline():
    t = read_csv(sample("Airline.csv"), name="Airline.csv")
    assert isinstance(t, Table)
    assert list(t.df.columns) == ["Date", "Passengers"]
    assert t.df.shape == (144, 2)
    assert t.df["Passengers"].dtype == np.int64
    assert t.df["Date"].iloc[0] == "1949-01"  # dates stay strings; schema parses them
    assert t.fmt == CsvFormat("utf-8", ",", ".", None)
    assert t.sha256 == sha256_bytes(sample("Airline.csv")) and t.n_bytes == len(sample("Airline.csv"))
    assert t.notes == []


def test_sunspots():
    t = read_csv(sample("sunspots.csv"))
    assert list(t.df.columns) == ["YEAR", "SUNACTIVITY"]
    assert t.df["YEAR"].dtype == np.int64 and t.df["SUNACTIVITY"].dtype == np.float64
    assert t.df["YEAR"].iloc[0] == 1700 and len(t.df) == 309


def test_gunpoint_wide():
    t = read_csv(sample("GunPoint_TRAIN.csv"))
    assert t.df.shape == (50, 151)
    assert t.df.columns[0] == "label"
    assert all(t.df[c].dtype == np.float64 for c in t.df.columns[1:])
    assert set(t.df["label"]) == {1, 2}
    assert read_csv(sample("GunPoint_TEST.csv")).df.shape == (150, 151)


def test_basicmotions_long():
    t = read_csv(sample("BasicMotions_TRAIN.csv"))
    assert list(t.df.columns) == ["case_id", "t"] + [f"dim_{i}" for i in range(6)] + ["label"]
    assert t.df.shape == (4000, 9)
    assert t.df["case_id"].nunique() == 40
    assert sorted(t.df["label"].unique()) == ["Badminton", "Running", "Standing", "Walking"]
    assert read_csv(sample("BasicMotions_TEST.csv")).df.shape == (4000, 9)


def test_rt_polarity_text_and_multiline_line_numbers():
    import csv

    data = sample("rt_polarity_subset.csv")
    t = read_csv(data)
    assert list(t.df.columns) == ["text", "label"]
    assert set(t.df["label"]) == {"fresh", "rotten"}
    # some quoted texts span lines: the row -> line mapping must match the csv module's
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    starts, prev = [], 0
    for _ in reader:
        starts.append(prev + 1)
        prev = reader.line_num
    assert len(starts) - 1 == len(t.df)
    assert starts[-1] > len(t.df) + 1  # the file really has multi-line records
    np.testing.assert_array_equal(line_numbers(t.df, np.arange(len(t.df))), starts[1:])


# ----------------------------------------------------------------------------- formats


def test_semicolon_decimal_comma():
    t = read_csv(b"date;value;count\n2020-01-01;1,5;3\n2020-01-02;-2,25;4\n2020-01-03;0,125;5\n")
    assert t.fmt.delimiter == ";" and t.fmt.decimal == ","
    assert t.df["value"].tolist() == [1.5, -2.25, 0.125]
    assert "decimal comma" in t.fmt.describe()
    assert any("decimal comma" in n for n in t.notes)


def test_thousands_comma_quoted():
    t = read_csv(b'item,amount,price\na,"1,234,567",2.5\nb,"2,345",3.75\nc,12,1.0\n')
    assert t.fmt.thousands == "," and t.fmt.decimal == "."
    assert t.df["amount"].tolist() == [1234567, 2345, 12]
    assert t.df["price"].tolist() == [2.5, 3.75, 1.0]


def test_thousands_dot_with_decimal_comma():
    t = read_csv(b"a;b\n1.234,5;2\n2.345.678,25;3\n7,5;4\n")
    assert (t.fmt.decimal, t.fmt.thousands) == (",", ".")
    assert t.df["a"].tolist() == [1234.5, 2345678.25, 7.5]


def test_thousands_space():
    t = read_csv(b"a;b\n1 234,5;2\n12 345 678;3\n3,25;4\n")
    assert (t.fmt.decimal, t.fmt.thousands) == (",", " ")
    assert t.df["a"].tolist() == [1234.5, 12345678.0, 3.25]


def test_options_override_detection():
    data = b'a,b\n"1,500",2\n"2,500",3\n'
    assert read_csv(data).df["a"].tolist() == [1500, 2500]  # detected: thousands separator
    t = read_csv(data, CsvOptions(decimal=",", thousands=""))
    assert t.df["a"].tolist() == [1.5, 2.5]
    t = read_csv(b"a|b\n1|2\n", CsvOptions(delimiter="|"))
    assert list(t.df.columns) == ["a", "b"]
    opts = CsvOptions(encoding="cp1252", delimiter=";", decimal=",", thousands="")
    assert CsvOptions.from_dict(opts.to_dict()) == opts
    with pytest.raises(SpecError):
        read_csv(b"a,b\n1,2\n", CsvOptions(delimiter="x"))
    with pytest.raises(SpecError):
        read_csv(b"a,b\n1,2\n", CsvOptions(decimal=",", thousands=","))
    with pytest.raises(SpecError):
        read_csv(b"a,b\n1,2\n", CsvOptions(encoding="no-such-codec"))


def test_format_round_trip_reads_same():
    data = "x;y\n1,5;caf\u00e9\n2,5;b\n".encode("cp1252")
    t = read_csv(data)
    again = read_csv(data, t.fmt.to_options())
    pd.testing.assert_frame_equal(t.df, again.df)
    assert CsvFormat.from_dict(t.fmt.to_dict()) == t.fmt


def test_utf8_bom():
    t = read_csv("name,value\ncaf\u00e9,1\n".encode("utf-8-sig"))
    assert t.fmt.encoding == "utf-8-sig"
    assert list(t.df.columns) == ["name", "value"]  # no BOM stuck to the first name
    assert t.df["name"].iloc[0] == "caf\u00e9"
    assert t.fmt.describe().startswith("UTF-8 with BOM")


def test_utf16_le_bom():
    data = "name\tvalue\ncaf\u00e9\t1,5\nna\u00efve\t2,5\n".encode("utf-16")
    assert data[:2] == b"\xff\xfe"
    t = read_csv(data)
    assert t.fmt.encoding == "utf-16" and t.fmt.delimiter == "\t"
    assert t.df["name"].tolist() == ["caf\u00e9", "na\u00efve"]
    assert t.df["value"].tolist() == [1.5, 2.5]


def test_cp1252():
    data = "product,price\ncaf\u00e9,\u20ac3\nth\u00e9,\u20ac4\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    t = read_csv(data)
    assert t.fmt.encoding == "cp1252"
    assert t.df["product"].tolist() == ["caf\u00e9", "th\u00e9"]
    assert t.df["price"].tolist() == ["\u20ac3", "\u20ac4"]
    assert any("Windows-1252" in n for n in t.notes)


def test_forced_wrong_encoding_is_clear():
    msg = err("a\ncaf\u00e9\n".encode("cp1252"), options=CsvOptions(encoding="utf-8"))
    assert "utf-8" in msg and "encoding" in msg


def test_crlf_blank_lines_and_excel_sep_hint():
    t = read_csv(b"sep=;\r\na;b\r\n1;2\r\n\r\n3;4\r\n")
    assert t.fmt.delimiter == ";"
    assert t.df.values.tolist() == [[1, 2], [3, 4]]
    assert line_number(t.df, 0) == 3 and line_number(t.df, 1) == 5


def test_first_line_of_numbers_is_data():
    t = read_csv(b"1.5,2.5\n3.5,4.5\n")
    assert list(t.df.columns) == ["column_1", "column_2"]
    assert len(t.df) == 2 and line_number(t.df, 0) == 1


# ----------------------------------------------------------------------------- refusals


def test_empty():
    assert "empty" in err(b"", name="x.csv")
    assert "empty" in err(b"\n \r\n\t\n")
    assert "empty" in err(b"\xef\xbb\xbf")


def test_header_only():
    msg = err(b"a,b,c\n")
    assert "no data rows" in msg and "header" in msg


def test_png_named_csv():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256))
    msg = err(png, name="photo.csv")
    assert "PNG image" in msg and "photo.csv" in msg and "CSV" in msg


def test_binary_nul_bytes():
    msg = err(b"a,b\n1,2\x00\x00\x00\x01\x02\x03\n" * 20)
    assert "binary" in msg


def test_gzip():
    msg = err(gzip.compress(b"a,b\n1,2\n"), name="data.csv")
    assert "compressed" in msg and "unzip it and upload the .csv inside" in msg


def test_zip_and_xlsx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.csv", "a,b\n1,2\n")
    assert "unzip" in err(buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    assert "Excel" in err(buf.getvalue())


def test_wrong_field_count_names_line():
    msg = err(b"a,b\n1,2\n3,4\n5,6,7\n8,9\n")
    assert "Line 4" in msg and "3 fields" in msg and "header has 2" in msg


def test_short_row_names_line():
    # pandas pads short rows with NaN silently; we refuse and say where
    msg = err(b"a,b,c\n1,2,3\n4,5\n6,7,8\n")
    assert "Line 3" in msg and "2 fields" in msg and "header has 3" in msg


def test_extra_field_in_first_row_names_line():
    msg = err(b"a,b\n1,2,3\n4,5\n")
    assert "Line 2" in msg and "3 fields" in msg


def test_unterminated_quote():
    msg = err(b'id,text\n1,"fine"\n2,"never closed\n3,more\n4,rows\n')
    assert "line 3" in msg and "never closed" in msg


def test_quote_inside_unquoted_field_is_text():
    t = read_csv(b'a,b\n1,5" screen\n2,\n')
    assert t.df["b"].iloc[0] == '5" screen' and pd.isna(t.df["b"].iloc[1])


def test_duplicate_column_names_are_renamed_with_note():
    t = read_csv(b"a,a,b,a\n1,2,3,4\n")
    assert list(t.df.columns) == ["a", "a_2", "b", "a_3"]
    assert t.df.iloc[0].tolist() == [1, 2, 3, 4]
    assert any("more than once" in n and "a_2" in n for n in t.notes)


def test_blank_column_names_are_named_with_note():
    t = read_csv(b"a,,b, \n1,2,3,4\n")
    assert list(t.df.columns) == ["a", "column_2", "b", "column_4"]
    assert any("no name" in n and "column_2" in n for n in t.notes)


def test_trailing_delimiter_empty_column_dropped():
    t = read_csv(b"a,b,\n1,2,\n3,4,\n")
    assert list(t.df.columns) == ["a", "b"]
    assert any("Dropped 1 empty column" in n for n in t.notes)


def test_mixed_numbers_and_missing_tokens():
    data = b"t,x,y,z\n1,1.5,NA,a\n2,-,2,N/A\n3,?,n/a,b\n4,4.5,#N/A,null\n5,,5,None\n6,NaN,6,c\n"
    t = read_csv(data)
    assert t.df["x"].dtype == np.float64
    assert np.isnan(t.df["x"].to_numpy()).tolist() == [False, True, True, False, True, True]
    assert t.df["y"].dtype == np.float64 and t.df["y"].isna().sum() == 3
    assert t.df["z"].isna().tolist() == [False, True, False, True, True, False]


def test_mostly_numeric_with_junk_stays_text():
    t = read_csv(b"x,y\n1,1.5\n2,oops\n3,2.5\n")
    assert not pd.api.types.is_numeric_dtype(t.df["y"])
    assert t.df["y"].iloc[1] == "oops"


def test_inf_and_overflow_kept_as_inf():
    t = read_csv(b"a,b\n1,inf\n2,-inf\n3,1e309\n4,2.5\n")
    assert t.df["b"].dtype == np.float64
    assert t.df["b"].tolist() == [np.inf, -np.inf, np.inf, 2.5]


def test_over_size_limit():
    data = b"a,b\n" + b"1,2\n" * 1000
    msg = err(data, limits=Limits(max_bytes=1024))
    assert "SEQSTUDIO_MAX_UPLOAD_MB" in msg and "limit" in msg
    assert read_csv(data, limits=Limits(max_bytes=len(data))).df.shape == (1000, 2)


def test_over_row_limit():
    msg = err(b"a,b\n" + b"1,2\n" * 11, limits=Limits(max_rows=10))
    assert "10 rows" in msg and "SEQSTUDIO_MAX_ROWS" in msg


def test_ten_thousand_columns():
    header = ",".join(f"c{i}" for i in range(10_000)).encode()
    row = ",".join(str(i % 7) for i in range(10_000)).encode()
    data = header + b"\n" + row + b"\n" + row + b"\n"
    msg = err(data, limits=Limits(max_columns=5_000))
    assert "10,000 columns" in msg and "5,000" in msg and "SEQSTUDIO_MAX_COLUMNS" in msg
    t0 = time.process_time()     # CPU time: the parser's work, not how busy the machine is
    t = read_csv(data, limits=Limits(max_columns=20_000))
    assert t.df.shape == (2, 10_000)
    assert time.process_time() - t0 < 10


def test_formulas_and_html_stay_plain_text():
    cells = ['=SUM(A1:A9)', '+cmd|" /C calc"!A0', "<script>alert('x')</script>", "@HYPERLINK(\"http://x\")",
             "<b>bold</b>"]
    lines = ["id,cell"] + [f'{i},"{c.replace(chr(34), chr(34) * 2)}"' for i, c in enumerate(cells)]
    t = read_csv(("\n".join(lines) + "\n").encode())
    assert t.df["cell"].tolist() == cells


def test_display_name_is_not_a_path():
    msg = err(b"", name="../../etc/passwd")
    assert "'passwd'" in msg and "../" not in msg


def test_not_bytes_is_a_programming_error():
    with pytest.raises(TypeError):
        read_csv("a,b\n1,2\n")  # type: ignore[arg-type]


def test_one_million_rows_is_fast():
    rng = np.random.default_rng(0)
    block = pd.DataFrame(rng.normal(size=(1000, 8)).round(6), columns=[f"c{i}" for i in range(8)])
    text = block.to_csv(index=False)
    header, body = text.split("\n", 1)
    data = (header + "\n" + body * 1000).encode()
    assert len(data) > 60 * 2**20
    t0 = time.process_time()     # CPU time (pandas' C parser, one thread): ~0.6 s here
    t = read_csv(data)
    elapsed = time.process_time() - t0
    assert t.df.shape == (1_000_000, 8)
    assert all(t.df[c].dtype == np.float64 for c in t.df.columns)
    assert elapsed < 8, f"1M x 8 took {elapsed:.1f}s"


# ----------------------------------------------------------------------------- fuzz

_CSVISH = st.lists(st.sampled_from(list('abc,;\t|"\n\r 0123456789.-eE\'?NA\u00e9\u20ac')), max_size=400).map(
    lambda cs: "".join(cs))


def _read_bounded(data: bytes) -> None:
    """read_csv gives a table or a UserError, within 2 s of CPU time (no pathological parse); CPU time, not
    wall-clock time or a Hypothesis deadline, so a busy machine cannot fail it."""
    t0 = time.process_time()
    try:
        t = read_csv(data)
        assert isinstance(t.df, pd.DataFrame) and len(t.df) >= 1
    except UserError as e:
        assert str(e)
    assert time.process_time() - t0 < 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_table_or_user_error(data):
    _read_bounded(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_CSVISH, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_csv_like_text_gives_table_or_user_error(text, encoding):
    _read_bounded(text.encode(encoding, errors="replace"))
