"""Cells that arrive typed (Parquet columns, Excel cells) -> the frame a CSV read gives: the same column
names rules, missing tokens as NaN, numbers as float64/int64, dates as datetime64, anything mixed as text
(so the schema report can point at the odd cell by its line), and the row -> line mapping in ``df.attrs``."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from seqcore.data.io.checks import check_columns, check_rows
from seqcore.data.io.lines import attach_rows
from seqcore.data.io.options import MISSING_TOKENS, CsvFormat
from seqcore.data.io.read import _clean_names, _drop_unnamed_empty
from seqcore.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits

_MISSING = frozenset(MISSING_TOKENS)
_NUMBER = (int, float, np.integer, np.floating, Decimal)
_DATE = (dt.date, pd.Timestamp, np.datetime64)   # dt.datetime is a dt.date


def is_blank(v) -> bool:
    """An empty cell: None, NaN / NaT, or text that is a missing token (``MISSING_TOKENS``)."""
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, str):
        return v.strip() in _MISSING
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    return False


def _is_number(v) -> bool:
    return isinstance(v, _NUMBER) and not isinstance(v, (bool, np.bool_))


def _number_text(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v.strip())
        return True
    except ValueError:
        return False


def cell_text(v) -> str:
    """A cell as a person reads it: ``12`` (not ``12.0``), ``2024-01-31`` (no midnight), ``""`` when blank."""
    if is_blank(v):
        return ""
    if _is_number(v):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _as_datetime(v):
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


def typed_column(values) -> np.ndarray | pd.Series:
    """One column of typed cells as a CSV read would give it (see the module docstring)."""
    cells = [None if is_blank(v) else v for v in values]
    present = [v for v in cells if v is not None]
    if not present:
        return np.full(len(cells), np.nan)
    if all(_is_number(v) or _number_text(v) for v in present):   # numbers, also "numbers stored as text"
        num = np.array([np.nan if v is None else float(v) for v in cells], dtype=np.float64)
        whole = len(present) == len(cells) and np.all(np.isfinite(num)) and np.all(num == np.round(num)) \
            and np.all(np.abs(num) < 2**53)
        return num.astype(np.int64) if whole else num
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return np.array(cells, dtype=bool if len(present) == len(cells) else object)
    if all(isinstance(v, _DATE) for v in present):
        try:
            return pd.to_datetime(pd.Series([_as_datetime(v) for v in cells], dtype=object), utc=False)
        except (ValueError, TypeError, OverflowError):
            pass   # mixed time zones or far-off years: as text, which the time-format checks explain
    return np.array([np.nan if v is None else (v if isinstance(v, str) else cell_text(v)) for v in cells],
                    dtype=object)


def finish_frame(columns: list, header: list[str] | None, fmt: CsvFormat, name: str, limits: "Limits",
                 notes: list[str], *, first_line: int = 2, lines=None, where: str | None = None) -> pd.DataFrame:
    """The frame from typed columns (each a list of cells, or an array / Series already typed).

    ``header``: the column names as written (``None``: the file has none; named column_1 ...); ``lines``:
    each row's line (an Excel sheet's row numbers); ``where``: how messages name the place ("the sheet
    'Data' of 'book.xlsx'", default the file)."""
    where = where[0].upper() + where[1:] if where else f"'{name}'"
    check_columns(len(columns), name, limits)
    n_rows = len(columns[0]) if columns else 0
    check_rows(n_rows, name, limits)
    if not columns:
        raise DataError(f"{where} has no columns. Choose the file (or sheet) that holds the data.")
    if n_rows == 0:
        raise DataError(f"{where} has column names but no data rows. Add the data rows below the column names.")
    if header is None:
        names = [f"column_{i + 1}" for i in range(len(columns))]
        notes.append(f"The first row holds numbers, not column names, so it was read as data; the columns are "
                     f"named column_1 ... column_{len(columns)}.")
    else:
        header = [cell_text(h) for h in header]
        names = _clean_names(header, notes)
    df = pd.DataFrame({i: c if isinstance(c, (np.ndarray, pd.Series)) else typed_column(c)
                       for i, c in enumerate(columns)})
    df.columns = names
    df = _drop_unnamed_empty(df, header, notes)
    attach_rows(df, fmt, name, first_line, lines, header=header is not None)
    return df
