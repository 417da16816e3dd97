"""Column kinds (numeric, datetime, categorical, text, empty) and a column read as numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.errors import DataError
from seqcore.data.schema.parsing import (_KIND_SAMPLE, _col, _fmt, _is_numeric_dtype, _line, _looks_dates, _missing_mask,
                      _numeric_share, _parse_dates, _short, _to_numbers)
from seqcore.data.schema.report import ColumnInfo
from seqcore.data.schema.timeformat import _QUARTER, _TIME_HINT, _WEEK, detect_text_format, detect_time_format, parse_dates_as


def _numeric_stats(df: pd.DataFrame, cols: list[int]) -> dict[int, tuple[int, int, int]]:
    """Vectorised (n_missing, n_unique, n_inf) of the plain numeric columns at positions ``cols``
    (fast on 10,000 columns)."""
    if not cols:
        return {}
    arr = df.iloc[:, cols].to_numpy(dtype="float64", na_value=np.nan)
    n_missing = np.isnan(arr).sum(axis=0)
    n_inf = np.isinf(arr).sum(axis=0)
    srt = np.sort(arr, axis=0)  # NaN last
    if len(srt) > 1:
        changes = (srt[1:] != srt[:-1]) & ~np.isnan(srt[1:])
        n_unique = changes.sum(axis=0) + (~np.isnan(srt[0]))
    else:
        n_unique = (~np.isnan(srt[0])).astype(int) if len(srt) else np.zeros(len(cols), int)
    return {c: (int(n_missing[i]), int(n_unique[i]), int(n_inf[i])) for i, c in enumerate(cols)}


def _first_present(s: pd.Series, miss: np.ndarray) -> str:
    pos = np.flatnonzero(~miss)
    return _short(s.iloc[int(pos[0])]) if pos.size else ""


# ----------------------------------------------------------------------------- columns


def infer_columns(df: pd.DataFrame) -> list[ColumnInfo]:
    """One :class:`ColumnInfo` per column, in column order."""
    plain = [p for p in range(df.shape[1]) if _is_numeric_dtype(df.iloc[:, p])]
    stats = _numeric_stats(df, plain)
    out = []
    for pos, c in enumerate(df.columns):
        s = df.iloc[:, pos]
        if pos in stats:
            n_missing, n_unique, n_inf = stats[pos]
            n = len(s)
            kind = "empty" if n_missing == n else "numeric"
            example = ""
            code = None
            if kind == "numeric":
                first = int(np.flatnonzero(s.notna().to_numpy())[0])
                example = _short(s.iloc[first])
                code = _integer_time_format(s, str(c), s.iloc[first], n_unique, n_inf)
            out.append(ColumnInfo(str(c), "datetime" if code else kind, str(s.dtype), n_missing, n_unique, 0, None,
                                  n_inf, n_unique <= 1 and n_missing < n, example, code))
        else:
            out.append(_infer_other(df, pos))
    return out


def _integer_time_format(s: pd.Series, name: str, first, n_unique: int, n_inf: int, fmt=None) -> str | None:
    """yyyymmdd / unix_s / unix_ms / excel for a numeric column that holds times, else None. Cheap: only
    columns whose first value has 8 digits or whose name says time/date/... are looked at closely."""
    if n_inf or n_unique < 2:
        return None
    try:
        v = float(first)
    except (TypeError, ValueError):
        return None
    if not (10_000_101 <= v <= 99_991_231 or _TIME_HINT.search(name)):
        return None
    code = detect_time_format(s, name, fmt)
    return code if code not in (None, "number") else None


def _infer_other(df: pd.DataFrame, pos: int) -> ColumnInfo:
    s = df.iloc[:, pos]
    name = str(df.columns[pos])
    dtype = str(s.dtype)
    miss = _missing_mask(s)
    n_missing = int(miss.sum())
    n_present = len(s) - n_missing
    if n_present == 0:
        return ColumnInfo(name, "empty", dtype, n_missing, 0, 0, None, 0, False, "")
    example = _first_present(s, miss)
    if pd.api.types.is_bool_dtype(s.dtype):
        n_unique = int(s[~miss].nunique())
        return ColumnInfo(name, "categorical", dtype, n_missing, n_unique, 0, None, 0, n_unique <= 1, example)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        n_unique = int(s[~miss].nunique())
        return ColumnInfo(name, "datetime", dtype, n_missing, n_unique, 0, None, 0, n_unique <= 1, example, "text")
    present = s[~miss].astype(str)
    n_unique = int(present.nunique())
    if _numeric_share(s, _fmt(df)) >= 0.3:
        vals, _, bad = _to_numbers(s, _fmt(df))
        n_bad = int(bad.sum())
    else:
        n_bad = n_present
    n_num = n_present - n_bad
    if n_num > 0 and n_num >= 0.5 * n_present:
        first_bad = None
        if n_bad:
            p = int(np.flatnonzero(bad)[0])
            first_bad = (_line(df, p), _short(s.iloc[p], 80))
        n_inf = int(np.isinf(vals).sum())
        code = None
        if not n_bad:
            first = vals[np.flatnonzero(~miss)[0]]
            code = _integer_time_format(s, name, first, n_unique, n_inf, _fmt(df))
        return ColumnInfo(name, "datetime" if code else "numeric", dtype, n_missing, n_unique, n_bad, first_bad,
                          n_inf, n_unique <= 1, example, code)
    stripped = present.str.strip()
    sample = stripped.iloc[:_KIND_SAMPLE]
    if (sample.str.match(_WEEK) | sample.str.match(_QUARTER)).mean() >= 0.8:
        parsed = parse_dates_as(stripped, "text")
        if parsed.notna().mean() >= 0.8:
            return ColumnInfo(name, "datetime", dtype, n_missing, n_unique, 0, None, 0, n_unique <= 1, example,
                              "text")
    if _looks_dates(sample):
        parsed = _parse_dates(stripped)
        ok = parsed.notna().to_numpy()
        if ok.mean() >= 0.8:
            first_bad = None
            if not ok.all():
                p_present = int(np.flatnonzero(~ok)[0])
                p = int(np.flatnonzero(~miss)[p_present])
                first_bad = (_line(df, p), _short(s.iloc[p], 80))
            return ColumnInfo(name, "datetime", dtype, n_missing, n_unique, 0, first_bad, 0, n_unique <= 1,
                              example, detect_text_format(sample) or "text")
    words = sample.str.count(r"\s+") + 1
    lengths = sample.str.len()
    is_text = (words.mean() >= 4 or lengths.mean() >= 40) and n_unique > 0.5 * n_present
    return ColumnInfo(name, "text" if is_text else "categorical", dtype, n_missing, n_unique, 0, None, 0,
                      n_unique <= 1, example)


# ----------------------------------------------------------------------------- conversions


def numeric_column(df: pd.DataFrame, col: str, *, allow_inf: bool = False) -> np.ndarray:
    """Column ``col`` as float64, shape ``(n_rows,)``; missing cells are NaN.

    Raises :class:`DataError` naming the line and value of the first cell that is not a
    number, or (unless ``allow_inf``) that is infinite.
    """
    s = _col(df, col)
    vals, miss, bad = _to_numbers(s, _fmt(df))
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        n = int(bad.sum())
        more = f" ({n:,} cells like this)" if n > 1 else ""
        raise DataError(
            f"Column '{col}' should hold numbers, but line {_line(df, p):,} has {_short(s.iloc[p], 60)!r}{more}.",
            hint="Fix or remove those cells (leave a cell empty to mark it as missing), or pick another column.")
    if not allow_inf:
        inf = np.isinf(vals)
        if inf.any():
            p = int(np.flatnonzero(inf)[0])
            n = int(inf.sum())
            more = f" ({n:,} cells like this)" if n > 1 else ""
            raw = s.iloc[p]
            raise DataError(
                f"Column '{col}' has an infinite or too-large number on line {_line(df, p):,} "
                f"({_short(raw, 40)!r}){more}.", hint="Replace it with a real value or leave the cell empty.")
    return vals
