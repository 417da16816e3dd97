"""The time column: parsed to an index, and summarised (order, repeats, spacing) for the validation report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.errors import DataError
from seqcore.data.schema.frequency import _fmt_step, infer_frequency
from seqcore.data.schema.parsing import (_KIND_SAMPLE, _col, _fmt, _is_numeric_dtype, _line, _looks_dates, _missing_mask,
                      _numeric_share, _parse_dates, _short, _to_numbers)
from seqcore.data.schema.report import TimeInfo


def parse_time(df: pd.DataFrame, col: str) -> pd.Index:
    """The time column as a DatetimeIndex, or a numeric Index (e.g. years 1700, 1701, ...).

    Shape ``(n_rows,)``, named ``col``. Raises :class:`DataError` naming the line and value of a
    missing or unparseable time.
    """
    s = _col(df, col)
    miss = _missing_mask(s)
    if miss.any():
        p = int(np.flatnonzero(miss)[0])
        raise DataError(f"Time column '{col}' is empty on line {_line(df, p):,} ({int(miss.sum()):,} rows without "
                        "a time). Fill in the time, or remove those rows.")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        idx = pd.DatetimeIndex(s, name=col)
        return idx.tz_localize(None) if idx.tz is not None else idx
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"Column '{col}' holds true/false values, not times. Pick another time column.")
    if not _is_numeric_dtype(s) and _numeric_share(s, _fmt(df)) < 0.3:
        bad = np.ones(len(s), bool)
    else:
        vals, _, bad = _to_numbers(s, _fmt(df))
    if _is_numeric_dtype(s) or (not bad.all() and bad.sum() <= 0.5 * len(s) and not
                                 _looks_dates(s.astype(str).str.strip().iloc[:_KIND_SAMPLE])):
        if bad.any():
            p = int(np.flatnonzero(bad)[0])
            raise DataError(f"Time column '{col}' should hold numbers (like years) but line {_line(df, p):,} has "
                            f"{_short(s.iloc[p], 60)!r}. Fix or remove that row.")
        if np.isinf(vals).any():
            p = int(np.flatnonzero(np.isinf(vals))[0])
            raise DataError(f"Time column '{col}' has an infinite value on line {_line(df, p):,}. Fix that row.")
        if np.all(vals == np.round(vals)) and np.abs(vals).max(initial=0) < 2**53:
            return pd.Index(vals.astype(np.int64), name=col)
        return pd.Index(vals, name=col)
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


def _time_info(df: pd.DataFrame, col: str) -> tuple[TimeInfo, pd.Index | None, int | None]:
    """(TimeInfo, parsed index or None, position of first out-of-order row or None)."""
    s = _col(df, col)
    try:
        idx = parse_time(df, col)
        n_unparse, first_unparse = 0, None
    except DataError:
        idx = None
        miss = _missing_mask(s)
        if _is_numeric_dtype(s):
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
    info = TimeInfo(col, True, is_sorted, n_dup, 0, None, freq, irregular, fmt_ts(idx.min()), fmt_ts(idx.max()))
    return info, idx, (int(unsorted[0]) + 1 if unsorted.size else None)
