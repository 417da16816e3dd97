"""The entry point: :func:`read_table` takes uploaded bytes through the size check, picks the reader their
content needs (CSV text, Parquet, an Excel workbook) and returns a :class:`Table`; the CSV reader here goes
through the checks, decoding and sniffing and parses with pandas' C engine."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from seqcore.data.io.checks import _check_magic, _check_size, _check_text, _display_name, check_columns, check_rows, \
    detect_kind
from seqcore.data.io.encoding import _decode
from seqcore.data.io.layout import _check_rows, _explain_parse_error
from seqcore.data.io.lines import _attach_lines
from seqcore.data.io.options import _ENCODING_NAMES, ATTRS_KEY, DELIMITERS, MISSING_TOKENS, WHITESPACE, CsvFormat, \
    CsvOptions, Table, encoding_label, sha256_bytes
from seqcore.data.io.sniff import _detect_numbers, _has_header, _sample, _sample_records, _sniff_delimiter, \
    normalise_whitespace
from seqcore.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits


def read_table(data: bytes, options: CsvOptions | None = None, *, name: str = "data.csv",
               limits: "Limits | None" = None) -> Table:
    """Parse an uploaded file's bytes (CSV text, Parquet or an Excel workbook) into a :class:`Table`.

    The one way in for every upload, CLI file, stored dataset and new data for a trained model. The size
    limit is checked first; then the content picks the reader (:func:`~seqcore.data.io.checks.detect_kind`).
    Numeric-looking columns become float64/int64; missing tokens (``MISSING_TOKENS``) become NaN; columns
    with a few non-numeric cells and text stay strings so the schema report can point at the offending line;
    Parquet and Excel dates arrive as datetime64. Every problem raises :class:`DataError`.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"read_table expects the file's bytes, got {type(data).__name__}")
    from seqcore.config import Limits

    limits = limits or Limits.from_env()
    options = (options or CsvOptions()).validate()
    name = _display_name(name)
    notes: list[str] = []

    _check_size(data, name, limits)
    kind = detect_kind(data, name)
    if kind == "parquet":
        from seqcore.data.io.parquet import read_parquet

        df, fmt = read_parquet(data, name, limits, notes)
    elif kind == "xlsx":
        from seqcore.data.io.excel import read_xlsx

        df, fmt = read_xlsx(data, options.sheet, name, limits, notes)
    else:
        df, fmt = _read_csv(data, options, name, limits, notes)
    return Table(df=df, fmt=fmt, name=name, n_bytes=len(data), sha256=sha256_bytes(data), notes=notes)


read_csv = read_table   # its older name: every format goes through the same door


def _read_csv(data: bytes, options: CsvOptions, name: str, limits: "Limits",
              notes: list[str]) -> tuple[pd.DataFrame, CsvFormat]:
    """CSV text -> (frame, format): decode, sniff, parse with pandas' C engine, map rows to file lines."""
    _check_magic(data, name)
    encoding, text = _decode(data, options.encoding, name, notes)
    _check_text(text, name)
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not re.search(r"\S", text):
        raise DataError(f"'{name}' is empty (it has no text). Upload a CSV file with a header line and data rows.")

    line_offset = 0
    sep_hint = re.match(r"sep=(.)[ \t]*\n", text)
    if sep_hint:  # Excel writes "sep=;" as its first line
        text = text[sep_hint.end():]
        line_offset = 1
        if options.delimiter is None and sep_hint.group(1) in DELIMITERS:
            options = CsvOptions(options.encoding, sep_hint.group(1), options.decimal, options.thousands)
        notes.append(f"Skipped the first line 'sep={sep_hint.group(1)}' (a hint written by Excel).")

    sample = _sample(text)
    delimiter = options.delimiter or _sniff_delimiter(sample)
    read_delim = delimiter
    if delimiter == WHITESPACE:  # runs of spaces: rewrite as tabs line for line, then read as usual
        text, read_delim = normalise_whitespace(text), "\t"
        sample = _sample(text)
        notes.append("Values are separated by spaces (no comma, semicolon or tab between them).")
    records = _sample_records(sample, read_delim)
    if not records:
        raise DataError(f"'{name}' has no lines with data. Upload a CSV file with a header line and data rows.")
    header = records[0]
    check_columns(len(header), name, limits)
    decimal, thousands = _detect_numbers(records[1:], read_delim, options, notes)
    fmt = CsvFormat(encoding=encoding, delimiter=delimiter, decimal=decimal, thousands=thousands)
    read_fmt = CsvFormat(encoding=encoding, delimiter=read_delim, decimal=decimal, thousands=thousands)
    if options.delimiter is None and len(header) == 1 and len(text) > 0:
        notes.append("Found a single column (no comma, semicolon, tab or '|' between values). If the file has "
                     "several columns, choose the delimiter by hand.")

    has_header = _has_header(records)
    if has_header:
        names = _clean_names(header, notes)
    else:
        names = [f"column_{i + 1}" for i in range(len(header))]
        notes.append("The first line holds numbers, not column names, so it was read as data; "
                     f"the columns are named column_1 ... column_{len(header)}.")

    raw = text.encode("utf-8")
    df = _parse(raw, read_fmt, names, has_header, name, limits, line_offset)
    layout = None
    if len(df) == 0:
        raise DataError(f"'{name}' has a header line but no data rows. Add the data rows below the header.")
    if not isinstance(df.index, pd.RangeIndex) or df.iloc[:, -1].isna().any():
        # pandas silently pads short rows with NaN and turns an extra first field into an index
        layout = _check_rows(raw, read_fmt, len(names), len(df) + has_header, name, line_offset)
        if not isinstance(df.index, pd.RangeIndex):
            raise DataError(f"Some rows of '{name}' have more fields than the header ({len(names)}). "
                            "Check the delimiter, and put text that contains the delimiter in double quotes.")
    df = _drop_unnamed_empty(df, header if has_header else None, notes)
    _attach_lines(df, raw, has_header, line_offset, layout, read_fmt, name)
    df.attrs[ATTRS_KEY].update(format=fmt.to_dict(), header=has_header)
    if encoding in ("cp1252", "latin-1"):
        notes.append(f"Read the file as {_ENCODING_NAMES.get(encoding, encoding)} text (it is not UTF-8). "
                     "If accented letters look wrong, choose the encoding by hand.")
    elif options.encoding is None and not encoding.startswith("utf"):
        notes.append(f"The file is not UTF-8; its text encoding was detected as {encoding_label(encoding)}. "
                     "If letters look wrong, choose the encoding by hand.")
    if decimal == ",":
        notes.append("Numbers use a decimal comma (1,5 means one and a half).")
    if thousands:
        notes.append(f"Numbers use {'a space' if thousands == ' ' else repr(thousands)} as thousands separator "
                     f"(1{thousands}234 means one thousand two hundred thirty-four).")
    return df, fmt


# ----------------------------------------------------------------------------- names


def _clean_names(header: list[str], notes: list[str]) -> list[str]:
    """Strip names; blank -> column_<n>; duplicates -> name_2, name_3 (each with a note)."""
    names = [h.strip() for h in header]
    blanks = [i for i, h in enumerate(names) if not h]
    taken = set(n for n in names if n)
    for i in blanks:
        cand = f"column_{i + 1}"
        while cand in taken:
            cand += "_"
        names[i] = cand
        taken.add(cand)
    if blanks:
        shown = ", ".join(names[i] for i in blanks[:5]) + (" ..." if len(blanks) > 5 else "")
        notes.append(f"{len(blanks)} column(s) had no name in the header and were named {shown}.")
    seen: dict[str, int] = {}
    renamed: list[str] = []
    for i, n in enumerate(names):
        if n in seen:
            k = seen[n] + 1
            cand = f"{n}_{k}"
            while cand in taken:
                k += 1
                cand = f"{n}_{k}"
            seen[n] = k
            names[i] = cand
            taken.add(cand)
            renamed.append(f"'{n}' -> '{cand}'")
        else:
            seen[n] = 1
    if renamed:
        notes.append("Some column names appear more than once; the copies were renamed: "
                     + ", ".join(renamed[:5]) + (" ..." if len(renamed) > 5 else "") + ".")
    return names


def _drop_unnamed_empty(df: pd.DataFrame, header: list[str] | None, notes: list[str]) -> pd.DataFrame:
    """Drop columns with a blank header that are entirely empty (trailing delimiters)."""
    if header is None:
        return df
    drop = [df.columns[i] for i, h in enumerate(header) if not h.strip() and df.iloc[:, i].isna().all()]
    if drop and len(drop) < df.shape[1]:
        notes.append(f"Dropped {len(drop)} empty column(s) with no name (usually a delimiter at the end of "
                     "each line).")
        return df.drop(columns=drop)
    return df


# ----------------------------------------------------------------------------- parsing


def _parse(raw: bytes, fmt: CsvFormat, names: list[str], has_header: bool, name: str,
           limits: "Limits", line_offset: int) -> pd.DataFrame:
    try:
        df = pd.read_csv(
            io.BytesIO(raw), sep=fmt.delimiter, decimal=fmt.decimal, thousands=fmt.thousands,
            quotechar='"', header=0 if has_header else None, names=names, engine="c",
            na_values=list(MISSING_TOKENS), keep_default_na=False, skip_blank_lines=True,
            nrows=limits.max_rows + 1, low_memory=False, encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"'{name}' has no data. Upload a CSV file with a header line and data rows.") from None
    except MemoryError:
        raise DataError(f"'{name}' is too large to load into memory. Upload a smaller file.") from None
    except Exception as e:  # ParserError, ValueError, OverflowError...: explain with line numbers
        _explain_parse_error(raw, fmt.delimiter, len(names), name, line_offset, e)
        raise AssertionError("unreachable")  # pragma: no cover
    check_rows(len(df), name, limits, over=True)
    return _overflow_as_inf(df, fmt)


def _overflow_as_inf(df: pd.DataFrame, fmt: CsvFormat) -> pd.DataFrame:
    """Columns that pandas 2's C parser left as text only because a number overflows a float (``1e309``)
    become float columns holding inf, as pandas 3 reads them, so the checks can name the cell."""
    for c in df.columns:
        col = df[c]
        if col.dtype != object or not col.map(lambda v: isinstance(v, str)).any():
            continue
        text = col.astype("string").str.strip()
        if fmt.thousands:
            text = text.str.replace(fmt.thousands, "", regex=False)
        if fmt.decimal != ".":
            text = text.str.replace(fmt.decimal, ".", regex=False)
        try:
            num = np.array([np.nan if v is pd.NA else float(v) for v in text], dtype=np.float64)
        except ValueError:
            continue
        if not np.isinf(num).any():
            continue
        df[c] = num
    return df
