"""The time column: parsed to an index, and summarised (order, repeats, spacing) for the validation report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.errors import DataError
from seqcore.data.schema.frequency import _fmt_step, infer_frequency
from seqcore.data.schema.parsing import (_KIND_SAMPLE, _col, _fmt, _is_numeric_dtype, _line, _looks_dates, _missing_mask,
                      _numeric_share, _parse_dates, _short, _to_numbers)
from seqcore.data.schema.report import TimeInfo
from seqcore.data.schema.timeformat import (check_time_format, is_pattern, combine_year_part, detect_time_format, format_words,
                                            parse_dates_as, part_kind)


def parse_time(df: pd.DataFrame, col: str, time_format: str | None = None, part: str | None = None) -> pd.Index:
    """The time column as a DatetimeIndex, or a numeric Index (e.g. years 1700, 1701, ...).

    ``time_format``: a code of :mod:`~seqcore.data.schema.timeformat` ("text", "dayfirst", "yyyymmdd",
    "unix_s", ...) or a strftime pattern such as "%d.%m.%Y"; None detects it from the values (and the
    column's name, for Unix / Excel numbers). ``part``: a second column holding the quarter, month or
    week inside the year that ``col`` holds (``year`` + ``quarter`` -> 1959-01-01, 1959-04-01, ...).
    Shape ``(n_rows,)``, named ``col``. Raises :class:`DataError` naming the line and value of a
    missing or unparseable time.
    """
    s = _col(df, col)
    time_format = check_time_format(time_format)
    miss = _missing_mask(s)
    if miss.any():
        p = int(np.flatnonzero(miss)[0])
        raise DataError(f"Time column '{col}' is empty on line {_line(df, p):,} ({int(miss.sum()):,} rows without "
                        "a time). Fill in the time, or remove those rows.")
    if part:
        return _parse_with_part(df, col, part)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        idx = pd.DatetimeIndex(s, name=col)
        return idx.tz_localize(None) if idx.tz is not None else idx
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"Column '{col}' holds true/false values, not times. Pick another time column.")
    code = time_format or detect_time_format(s, col, _fmt(df))
    if code is None:
        return _parse_legacy(df, col, s)
    if code == "number":
        return _parse_numbers(df, col, s, explicit=time_format is not None)
    parsed = parse_dates_as(s, code, _fmt(df))
    nat = parsed.isna().to_numpy()
    if nat.any():
        if time_format is None and code == "text":
            return _parse_legacy(df, col, s)
        p = int(np.flatnonzero(nat)[0])
        n = int(nat.sum())
        more = f" ({n:,} values like this)" if n > 1 else ""
        how = format_words(code) if time_format is not None else f"{format_words(code)}, as detected"
        raise DataError(
            f"Time column '{col}' has a value on line {_line(df, p):,} that is not a date written as {how}: "
            f"{_short(s.iloc[p], 60)!r}{more}.",
            hint="Choose another way under 'How are dates written?' (Change how the file is read), or fix or "
                 "remove those rows.")
    return pd.DatetimeIndex(parsed.to_numpy(), name=col)


def _parse_with_part(df: pd.DataFrame, col: str, part: str) -> pd.DatetimeIndex:
    """Years in ``col`` + quarter / month / week in ``part`` -> the first day of each period."""
    if part == col:
        raise DataError(f"The quarter/month column must differ from the time column '{col}'.")
    sp = _col(df, part)
    s = df[col]
    kind = part_kind(part, sp, _fmt(df))
    if kind is None:
        vals, _, bad = _to_numbers(sp, _fmt(df))
        top = float(np.nanmax(vals[~bad])) if (~bad).any() and np.isfinite(vals[~bad]).any() else np.inf
        kind = "quarter" if top <= 4 else "month" if top <= 12 else "week" if top <= 53 else None
    if kind is None:
        raise DataError(f"Column '{part}' should hold the quarter (1-4), month (1-12) or week (1-53) of the year "
                        f"in '{col}', but it holds other values.", hint="Pick another quarter/month column or none.")
    years, _, badyear = _to_numbers(s, _fmt(df))
    stamps, bad = combine_year_part(years, sp, kind, _fmt(df))
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        top = {"quarter": "1 to 4", "month": "1 to 12", "week": "1 to 53"}[kind]
        raise DataError(
            f"Line {_line(df, p):,} has year {_short(s.iloc[p], 20)!r} and {kind} {_short(sp.iloc[p], 20)!r}, "
            f"which is not a date: '{col}' needs whole years and '{part}' a {kind} from {top}.",
            hint="Fix or remove that row, or choose no quarter/month column.")
    return pd.DatetimeIndex(stamps.to_numpy(), name=col)


def _parse_numbers(df: pd.DataFrame, col: str, s: pd.Series, *, explicit: bool = False) -> pd.Index:
    vals, _, bad = _to_numbers(s, _fmt(df))
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        raise DataError(f"Time column '{col}' should hold numbers (like years) but line {_line(df, p):,} has "
                        f"{_short(s.iloc[p], 60)!r}. Fix or remove that row"
                        + (", or choose another way under 'How are dates written?'." if explicit else "."))
    if np.isinf(vals).any():
        p = int(np.flatnonzero(np.isinf(vals))[0])
        raise DataError(f"Time column '{col}' has an infinite value on line {_line(df, p):,}. Fix that row.")
    if np.all(vals == np.round(vals)) and np.abs(vals).max(initial=0) < 2**53:
        return pd.Index(vals.astype(np.int64), name=col)
    return pd.Index(vals, name=col)


def _parse_legacy(df: pd.DataFrame, col: str, s: pd.Series) -> pd.Index:
    """A column detection could not name: numbers when most cells are numbers, else dates, each value
    read on its own when needed."""
    if not _is_numeric_dtype(s) and _numeric_share(s, _fmt(df)) < 0.3:
        bad = np.ones(len(s), bool)
    else:
        vals, _, bad = _to_numbers(s, _fmt(df))
    if _is_numeric_dtype(s) or (not bad.all() and bad.sum() <= 0.5 * len(s) and not
                                 _looks_dates(s.astype(str).str.strip().iloc[:_KIND_SAMPLE])):
        return _parse_numbers(df, col, s)
    st = s.astype(str).str.strip()
    parsed = _parse_dates(st)
    nat = parsed.isna().to_numpy()
    if nat.any():
        p = int(np.flatnonzero(nat)[0])
        n = int(nat.sum())
        more = f" ({n:,} values like this)" if n > 1 else ""
        raise DataError(
            f"Time column '{col}' has a value that is not a date/time on line {_line(df, p):,}: "
            f"{_short(s.iloc[p], 60)!r}{more}. Use one format such as 2024-01-31 or 2024-01-31 13:45, "
            "fix or remove those rows, or choose no time column.")
    return pd.DatetimeIndex(parsed.to_numpy(), name=col)


def _time_info(df: pd.DataFrame, col: str, time_format: str | None = None, part: str | None = None
               ) -> tuple[TimeInfo, pd.Index | None, int | None]:
    """(TimeInfo, parsed index or None, position of first out-of-order row or None)."""
    s = _col(df, col)
    try:
        idx = parse_time(df, col, time_format, part)
        n_unparse, first_unparse = 0, None
    except DataError:
        idx = None
        miss = _missing_mask(s)
        code = time_format or detect_time_format(s, col, _fmt(df))
        if part:
            bad = miss | _part_bad(df, col, part)
        elif code not in (None, "number") and not _is_numeric_dtype(s) or code in ("yyyymmdd", "unix_s", "unix_ms",
                                                                                    "excel") or is_pattern(code):
            bad = miss | parse_dates_as(s, code, _fmt(df)).isna().to_numpy()
        elif _is_numeric_dtype(s):
            bad = miss
        else:
            vals, _, badnum = _to_numbers(s, _fmt(df))
            if (~badnum & ~miss).sum() >= 0.5 * len(s):
                bad = miss | badnum | np.isinf(vals)
            else:
                parsed = _parse_dates(s.astype(str).str.strip()).isna().to_numpy()
                bad = miss | parsed
        n_unparse = int(bad.sum())
        p = int(np.flatnonzero(bad)[0]) if n_unparse else None
        first_unparse = (_line(df, p), _short(s.iloc[p], 60)) if p is not None else None
    if idx is None:
        return TimeInfo(col, False, False, 0, n_unparse, first_unparse, None, False, "", ""), None, None
    values = idx.asi8 if isinstance(idx, pd.DatetimeIndex) else np.asarray(idx, dtype="float64")
    d = np.diff(values)
    unsorted = np.flatnonzero(d < 0)
    is_sorted = unsorted.size == 0
    n_dup = int(len(idx) - idx.nunique())
    freq = infer_frequency(idx)
    irregular = False
    if freq is not None and len(idx) >= 3:
        u = idx.unique().sort_values()
        if isinstance(idx, pd.DatetimeIndex):
            try:
                expected = pd.date_range(start=u[0], periods=len(u), freq=freq)
                irregular = not np.array_equal(expected.as_unit("ns").asi8, u.as_unit("ns").asi8)
            except (ValueError, TypeError):
                irregular = True
        else:
            step = float(freq)
            irregular = not np.allclose(np.diff(np.asarray(u, dtype="float64")), step)
    fmt_ts = (lambda t: str(t.date()) if t == t.normalize() else str(t)) if isinstance(idx, pd.DatetimeIndex) \
        else (lambda v: _fmt_step(float(v)))
    code = None if part else time_format or (
        "text" if pd.api.types.is_datetime64_any_dtype(s.dtype) else detect_time_format(s, col, _fmt(df)))
    if code is None:
        code = "text" if isinstance(idx, pd.DatetimeIndex) else "number"
    info = TimeInfo(col, True, is_sorted, n_dup, 0, None, freq, irregular, fmt_ts(idx.min()), fmt_ts(idx.max()),
                    code)
    return info, idx, (int(unsorted[0]) + 1 if unsorted.size else None)


def _part_bad(df: pd.DataFrame, col: str, part: str) -> np.ndarray:
    """Rows whose year + part is not a date (all rows when the part column cannot be read at all)."""
    if part not in df.columns or part == col:
        return np.ones(len(df), bool)
    kind = part_kind(part, df[part], _fmt(df))
    if kind is None:
        return np.ones(len(df), bool)
    years = _to_numbers(df[col], _fmt(df))[0]
    return combine_year_part(years, df[part], kind, _fmt(df))[1]
