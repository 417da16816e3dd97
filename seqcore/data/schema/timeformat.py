"""How a time column is written: detecting its format (a short code) and parsing it with a given one.

Codes (also the values of ``DataSpec.time_format``):

- ``"text"``        dates written out, parsed automatically: 2024-01-31, 31 Jan 2024, Jan-1-1995,
                    1991 Jul, 1970 Q1, 2020-W05 / 2020 W5 (ISO weeks: their Monday), time-zone-aware stamps
- ``"dayfirst"``    31/01/2024 (also with . or - and an optional time of day)
- ``"monthfirst"``  01/31/2024
- ``"yyyymmdd"``    19580329, as an integer or as text
- ``"unix_s"``      seconds since 1970-01-01 (UTC)
- ``"unix_ms"``     milliseconds since 1970-01-01 (UTC)
- ``"excel"``       Excel serial days (45322 = 2024-01-31; a fraction is the time of day)
- ``"number"``      plain numbers (years, step counts): an index of numbers, not dates
- any strftime pattern containing ``%`` (``"%d.%m.%Y"``)

Time-zone-aware stamps keep the wall-clock time as written when the whole column uses one offset;
when the offsets differ (daylight saving), every stamp is converted to UTC so the steps stay even.

Integer columns are read as Unix or Excel times only when the column's name says it holds times
(time, date, timestamp, epoch, ...) and the values are plausible and mostly increasing, so a
measurement is never mistaken for a date. yyyymmdd needs every value to be a valid 8-digit date.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from seqcore.config import TIME_FORMATS as CODES, check_time_format  # noqa: F401 (re-exported)
from seqcore.errors import SpecError

FORMAT_WORDS = {
    "text": "Written out (2024-01-31, 31 Jan 2024, 1991 Jul, 1970 Q1, 2020-W05)",
    "dayfirst": "Day first (31/01/2024)",
    "monthfirst": "Month first (01/31/2024)",
    "yyyymmdd": "Year, month, day as digits (20240131)",
    "unix_s": "Unix time in seconds (1706659200)",
    "unix_ms": "Unix time in milliseconds (1706659200000)",
    "excel": "Excel day numbers (45322)",
    "number": "Plain numbers (years such as 1995, or step counts)",
}

_WEEK = re.compile(r"^(\d{4})[-\s]?W(\d{1,2})(?:[-\s]?([1-7]))?$", re.I)
_QUARTER = re.compile(r"^(\d{4})\s*[-\s]?\s*Q([1-4])$|^Q([1-4])[-\s]?(\d{4})$", re.I)
_NUMERIC_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:(?:[ T]+)(.+))?$")
_EIGHT = re.compile(r"^\d{8}$")
_TZ = re.compile(r"(Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.I)
_TIME_HINT = re.compile(r"time|date|stamp|epoch|unix|posix|^ts$|_ts$|^ts_|created|updated|modified|_at$|"
                        r"datetime|when|day|excel|serial|fecha|datum|zeit", re.I)
_EXCEL_HINT = re.compile(r"date|day|excel|serial|stamp|fecha|datum", re.I)
_PART_NAMES = {"quarter": re.compile(r"quarter|qtr|^q$|quartal|trimestre", re.I),
               "month": re.compile(r"month|^mon$|^m$|monat|^mes$|mois", re.I),
               "week": re.compile(r"week|^wk$|^w$|woche|semaine", re.I)}
_YEAR_NAME = re.compile(r"year|^yr$|^y$|jahr|annee|año|^ano$", re.I)

# plausible ranges (values) of the integer encodings
_UNIX_S = (1e8, 4.2e9)        # 1973 .. 2103
_UNIX_MS = (1e11, 4.2e12)
_EXCEL = (1.0, 80_000.0)      # 1900 .. 2119
_EXCEL_MIN_HINTED = 10_000.0  # 1927: smaller "day" numbers are step counts
_HEAD = 2000                  # values looked at first, to skip whole-column passes that cannot match


def is_pattern(fmt) -> bool:
    return isinstance(fmt, str) and "%" in fmt


def format_words(fmt: str | None) -> str:
    if fmt is None:
        return "detected automatically"
    return FORMAT_WORDS.get(fmt, f"the pattern {fmt}")


# ----------------------------------------------------------------------------- small helpers


def _numbers(s: pd.Series, fmt=None) -> tuple[np.ndarray, np.ndarray]:
    """(float values, bad mask) of a column read as numbers (missing cells are NaN, not bad)."""
    from seqcore.data.schema.parsing import _to_numbers
    vals, _, bad = _to_numbers(s, fmt)
    return vals, bad


def _as_text(s: pd.Series) -> pd.Series:
    """Stripped strings; whole numbers print without '.0' (19580329.0 -> '19580329')."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(v) & (v == np.round(v))
        out = s.astype(str).str.strip()
        if whole.any():
            out[whole] = [str(int(x)) for x in v[whole]]
        return out
    return s.astype(str).str.strip()


def _naive(out: pd.Series) -> pd.Series:
    """datetime64[ns] without a time zone; times outside 1678..2261 become NaT."""
    if not pd.api.types.is_datetime64_any_dtype(out.dtype):
        return pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    year = out.dt.year
    return out.where((year >= 1678) & (year <= 2261)).astype("datetime64[ns]")


def _to_dt(values, **kw) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_datetime(values, errors="coerce", **kw)
            if getattr(out, "dtype", None) == object and "utc" not in kw:
                raise ValueError("mixed time zones")   # pandas 2 returns objects where pandas 3 raises
        except (ValueError, TypeError, OverflowError):
            try:
                out = pd.to_datetime(values, errors="coerce", utc=True, **kw)
            except (ValueError, TypeError, OverflowError):
                out = pd.Series(pd.NaT, index=getattr(values, "index", None), dtype="datetime64[ns]")
    if not isinstance(out, pd.Series):
        out = pd.Series(out, index=getattr(values, "index", None))
    return _naive(out)


def _ymd(v: np.ndarray, index=None) -> pd.Series:
    """Whole numbers yyyymmdd -> datetimes (NaT where the date does not exist)."""
    v = np.asarray(v, dtype="int64")
    return _to_dt(pd.DataFrame({"year": v // 10_000, "month": v // 100 % 100, "day": v % 100}, index=index))


def _nat(index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")


# ----------------------------------------------------------------------------- parsers, one per code


def _parse_week(st: pd.Series) -> pd.Series:
    m = st.str.extract(_WEEK)
    y = pd.to_numeric(m[0], errors="coerce")
    w = pd.to_numeric(m[1], errors="coerce")
    d = pd.to_numeric(m[2], errors="coerce").fillna(1)
    text = y.astype("Int64").astype(str) + "-W" + w.astype("Int64").astype(str).str.zfill(2) + "-" + \
        d.astype("Int64").astype(str)
    out = _to_dt(text.where(y.notna() & w.notna()), format="%G-W%V-%u")
    return out


def _parse_quarter(st: pd.Series) -> pd.Series:
    m = st.str.extract(_QUARTER)
    y = pd.to_numeric(m[0].fillna(m[3]), errors="coerce")
    q = pd.to_numeric(m[1].fillna(m[2]), errors="coerce")
    ok = y.notna() & q.notna()
    out = _nat(st.index)
    if ok.any():
        out[ok] = _to_dt(pd.DataFrame({"year": y[ok], "month": 3 * (q[ok] - 1) + 1, "day": 1}))
    return out


def _parse_text(st: pd.Series) -> pd.Series:
    """Dates written out: ISO weeks and quarters by pattern, everything else as pandas reads it."""
    from seqcore.data.schema.parsing import _parse_dates
    head = st.iloc[:_HEAD]
    if not (head.str.match(_WEEK) | head.str.match(_QUARTER)).any():
        out = _parse_dates(st)          # the common case: no week or quarter among the first values
        nat = out.isna().to_numpy()
        if nat.any():
            rest = st[nat]
            special = rest.str.match(_WEEK).fillna(False).astype(bool) | \
                rest.str.match(_QUARTER).fillna(False).astype(bool)
            if special.any():
                out = out.copy()
                out[special[special].index] = _parse_text(rest[special])
        return out
    out = _nat(st.index)
    week = st.str.match(_WEEK).fillna(False).astype(bool)
    quarter = st.str.match(_QUARTER).fillna(False).astype(bool)
    if week.any():
        out[week] = _parse_week(st[week])
    if quarter.any():
        out[quarter] = _parse_quarter(st[quarter])
    rest = ~(week | quarter)
    if rest.any():
        out[rest] = _parse_dates(st[rest])
    return out


def _dmy_format(st: pd.Series, dayfirst: bool) -> str | None:
    """The strftime pattern of the first value (31/01/2024 13:45 -> %d/%m/%Y %H:%M), for a fast first pass."""
    if st.empty:
        return None
    m = re.match(r"^\d{1,2}([/.\-])\d{1,2}([/.\-])(\d{2}|\d{4})(?:([ T]+)(\d{1,2}:\d{2}(:\d{2})?))?$", str(st.iloc[0]))
    if not m:
        return None
    fields = ("%d", "%m") if dayfirst else ("%m", "%d")
    fmt = f"{fields[0]}{m.group(1)}{fields[1]}{m.group(2)}{'%Y' if len(m.group(3)) == 4 else '%y'}"
    if m.group(5):
        fmt += m.group(4) + ("%H:%M:%S" if m.group(6) else "%H:%M")
    return fmt


def _parse_numeric_dmy(st: pd.Series, dayfirst: bool) -> pd.Series:
    fmt = _dmy_format(st, dayfirst)
    if fmt is not None:            # one pattern for the whole column (fast); other cells one by one below
        out = _to_dt(st, format=fmt)
        nat = out.isna().to_numpy()
        if not nat.any():
            return out
        if nat.mean() < 0.5:
            out = out.copy()
            out[nat] = _parse_numeric_dmy_slow(st[nat], dayfirst)
            return out
    return _parse_numeric_dmy_slow(st, dayfirst)


def _parse_numeric_dmy_slow(st: pd.Series, dayfirst: bool) -> pd.Series:
    m = st.str.extract(_NUMERIC_DMY)
    a = pd.to_numeric(m[0], errors="coerce")
    b = pd.to_numeric(m[1], errors="coerce")
    y = pd.to_numeric(m[2], errors="coerce")
    two = m[2].str.len() == 2
    y = y.where(~two, np.where(y < 69, 2000 + y, 1900 + y))
    day, month = (a, b) if dayfirst else (b, a)
    ok = day.notna() & month.notna() & y.notna()
    out = _nat(st.index)
    if not ok.any():
        return out
    date = _to_dt(pd.DataFrame({"year": y[ok], "month": month[ok], "day": day[ok]}))
    clock = m[3][ok]
    has_clock = clock.notna()
    if has_clock.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tod = pd.to_datetime("2000-01-01 " + clock[has_clock].str.strip(), errors="coerce", format="mixed")
        tod = _naive(pd.Series(tod, index=clock[has_clock].index))
        date[has_clock] = date[has_clock] + (tod - pd.Timestamp("2000-01-01"))
    out[ok] = date
    return out


def _parse_numbers_as(s: pd.Series, code: str, fmt=None) -> pd.Series:
    vals, _ = _numbers(s, fmt)
    out = _nat(s.index)
    ok = np.isfinite(vals)
    if code == "yyyymmdd":
        ok &= (vals == np.round(vals)) & (vals >= 10_000_101) & (vals <= 99_991_231)
        if ok.any():
            out[ok] = _ymd(vals[ok], s.index[ok])
        return out
    lo, hi = {"unix_s": (-1e10, 1e10), "unix_ms": (-1e13, 1e13), "excel": _EXCEL}[code]
    ok &= (vals >= lo) & (vals <= hi)
    if ok.any():
        if code == "excel":
            # Excel counts 1900-01-01 as day 1 and has a 29 Feb 1900 that never was: from day 61 on
            # the days are counted from 1899-12-30.
            v = vals[ok]
            days = pd.to_timedelta(np.where(v >= 61, v, v + 1), unit="D")
            out[ok] = _naive(pd.Series(pd.Timestamp("1899-12-30") + days, index=s.index[ok])).dt.round("ms")
        else:
            out[ok] = _to_dt(pd.Series(vals[ok], index=s.index[ok]), unit="s" if code == "unix_s" else "ms")
    return out


def parse_dates_as(s: pd.Series, code: str, fmt=None) -> pd.Series:
    """The present cells of ``s`` as naive datetime64[ns] read with ``code`` (not "number"); NaT where a
    cell does not fit. Shape ``(n,)``, same index as ``s``."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _naive(pd.Series(s))
    if code in ("yyyymmdd", "unix_s", "unix_ms", "excel"):
        if code == "yyyymmdd" and not pd.api.types.is_numeric_dtype(s.dtype):
            st = _as_text(s)
            eight = st.str.match(_EIGHT).fillna(False).astype(bool)
            return _to_dt(st.where(eight), format="%Y%m%d")
        return _parse_numbers_as(s, code, fmt)
    st = _as_text(s)
    if code == "text":
        return _parse_text(st)
    if code in ("dayfirst", "monthfirst"):
        return _parse_numeric_dmy(st, code == "dayfirst")
    if is_pattern(code):
        out = _to_dt(st, format=code)
        return out
    raise SpecError(f"Unknown time format {code!r}.")


# ----------------------------------------------------------------------------- detection


def _increasing_ish(v: np.ndarray) -> bool:
    if v.size < 2:
        return True
    d = np.diff(v)
    return bool((d >= 0).mean() >= 0.9 and (d > 0).any())


def _detect_numbers(v: np.ndarray, name: str) -> str:
    """Code for a column of numbers (NaNs dropped): yyyymmdd, unix_s, unix_ms, excel or number."""
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "number"
    whole = bool(np.all(v == np.round(v)))
    if whole and v.min() >= 10_000_101 and v.max() <= 99_991_231 and (v.size == 1 or np.unique(v).size > 1):
        if _ymd(v).notna().all():
            return "yyyymmdd"
    if _TIME_HINT.search(name) and _increasing_ish(v):
        lo, hi = v.min(), v.max()
        if whole and _UNIX_MS[0] <= lo and hi <= _UNIX_MS[1]:
            return "unix_ms"
        if _UNIX_S[0] <= lo and hi <= _UNIX_S[1]:
            return "unix_s"
        if _EXCEL_HINT.search(name) and _EXCEL_MIN_HINTED <= lo and hi <= _EXCEL[1]:
            return "excel"
    return "number"


def _regular(parsed: pd.Series) -> bool:
    u = pd.DatetimeIndex(parsed.dropna().iloc[:200]).unique().sort_values()
    if len(u) < 3:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.infer_freq(u) is not None
        except (ValueError, TypeError):
            return False


def _day_or_month(st: pd.Series) -> str:
    """dayfirst or monthfirst for numeric dates like 05/01/2020: a first field above 12 means day first,
    a second field above 12 month first; when no value tells, month first unless only day first gives
    evenly spaced dates."""
    fd, fm = _dmy_format(st, True), _dmy_format(st, False)
    if fd is not None:             # fast: read the column both ways with the first value's pattern
        as_dayfirst = _to_dt(st, format=fd)
        nd = int(as_dayfirst.isna().sum())
        if nd == 0:                # every value is a date read day first; a day above 12 rules month first out
            nm = 0
            day_first, month_first = bool((as_dayfirst.dt.day > 12).any()), False
            if day_first:
                return "dayfirst"
        else:
            nm = int(_to_dt(st, format=fm).isna().sum())
            if nm == 0:
                return "monthfirst"
    if fd is None or nd or nm:
        m = st.str.extract(_NUMERIC_DMY)
        a = pd.to_numeric(m[0], errors="coerce")
        b = pd.to_numeric(m[1], errors="coerce")
        day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
    if day_first and not month_first:
        return "dayfirst"
    if month_first and not day_first:
        return "monthfirst"
    if day_first and month_first:
        return "text"      # both orders in one column: let the general reader try each value
    if not _regular(_parse_numeric_dmy(st.iloc[:200], False)) and _regular(_parse_numeric_dmy(st.iloc[:200], True)):
        return "dayfirst"
    return "monthfirst"


def detect_text_format(st: pd.Series) -> str | None:
    """Code for stripped, present strings that are dates (or None when they are not all dates):
    yyyymmdd, dayfirst, monthfirst or text. Looks at pattern only (cheap); the caller parses."""
    if st.empty:
        return None
    if st.str.match(_EIGHT).all():
        if _to_dt(st, format="%Y%m%d").notna().all():
            return "yyyymmdd"
        return None
    dmy = st.str.match(_NUMERIC_DMY).fillna(False).astype(bool)
    if dmy.all():
        return _day_or_month(st)
    return "text"


def detect_time_format(s: pd.Series, name: str = "", fmt=None, *, sample: int | None = None) -> str | None:
    """The code that reads column ``s`` (named ``name``) as times, or None when it does not look like
    times at all. ``fmt`` = (thousands, decimal) of the file; ``sample``: look at the first rows only."""
    from seqcore.data.schema.parsing import _looks_dates, _missing_mask
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "text"
    if pd.api.types.is_bool_dtype(s.dtype):
        return None
    miss = _missing_mask(s)
    present = s[~miss]
    if sample:
        present = present.iloc[:sample]
    if present.empty:
        return None
    if pd.api.types.is_numeric_dtype(present.dtype):
        return _detect_numbers(present.to_numpy(dtype="float64", na_value=np.nan), str(name))
    st = present.astype(str).str.strip()
    head = st.iloc[:_HEAD]        # cheap looks at the first values before any pass over the whole column
    if head.str.match(_EIGHT).all():
        if st.str.match(_EIGHT).all():
            return detect_text_format(st) or "number"
    if not _numbers(head, fmt)[1].any():
        vals, bad = _numbers(present, fmt)
        if not bad.any():
            return _detect_numbers(vals, str(name))
    if (head.str.match(_WEEK) | head.str.match(_QUARTER)).mean() >= 0.8:
        return "text"
    if not _looks_dates(head):
        return None
    if head.str.match(_NUMERIC_DMY).all():
        return detect_text_format(st)
    return "text"


# ----------------------------------------------------------------------------- year + quarter/month/week


def part_kind(name: str, s: pd.Series, fmt=None) -> str | None:
    """"quarter", "month" or "week" for a column that holds the part of a year, else None."""
    for kind, rx in _PART_NAMES.items():
        if rx.search(str(name)):
            return kind
    vals, bad = _numbers(s, fmt)
    if bad.any():
        st = s.dropna().astype(str).str.strip()
        if st.str.match(r"^Q[1-4]$", case=False).all():
            return "quarter"
        if st.str.match(r"^W\d{1,2}$", case=False).all():
            return "week"
        if _to_dt(st, format="%b").notna().all() or _to_dt(st, format="%B").notna().all():
            return "month"
    return None


def _part_numbers(s: pd.Series, kind: str, fmt=None) -> np.ndarray:
    vals, bad = _numbers(s, fmt)
    if bad.any():
        st = s.astype(str).str.strip()
        digits = pd.to_numeric(st.str.extract(r"^[QqWw]?\s*(\d{1,2})$")[0], errors="coerce").to_numpy(dtype="float64")
        if kind == "month":
            for f in ("%b", "%B"):
                m = _to_dt(st, format=f).dt.month.to_numpy(dtype="float64", na_value=np.nan)
                digits = np.where(np.isnan(digits), m, digits)
        vals = np.where(bad, digits, vals)
    return vals


def combine_year_part(years: np.ndarray, s: pd.Series, kind: str, fmt=None) -> tuple[pd.Series, np.ndarray]:
    """Timestamps (first day of the quarter / month / ISO week) from years and parts; the bad mask marks rows
    whose year or part is not valid. Shapes ``(n,)``."""
    parts = _part_numbers(s, kind, fmt)
    top = {"quarter": 4, "month": 12, "week": 53}[kind]
    ok = np.isfinite(years) & np.isfinite(parts) & (years == np.round(years)) & (parts == np.round(parts)) \
        & (parts >= 1) & (parts <= top) & (years >= 1678) & (years <= 2261)
    out = _nat(s.index)
    if ok.any():
        y, p = years[ok].astype(int), parts[ok].astype(int)
        if kind == "week":
            text = pd.Series([f"{a}-W{b:02d}-1" for a, b in zip(y, p)], index=s.index[ok])
            out[ok] = _to_dt(text, format="%G-W%V-%u")
        else:
            month = 3 * (p - 1) + 1 if kind == "quarter" else p
            out[ok] = _to_dt(pd.DataFrame({"year": y, "month": month, "day": 1}, index=s.index[ok]))
    return out, ~ok | out.isna().to_numpy()


def _looks_like_years(v: np.ndarray) -> bool:
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v == np.round(v)) and v.min() >= 1000 and v.max() <= 2200)


def suggest_time_part(df: pd.DataFrame, year_col: str, fmt=None) -> str | None:
    """A column that holds the quarter / month / week inside the years of ``year_col`` (macrodata's
    ``quarter`` next to ``year``): together they give distinct, increasing dates. None when there is none."""
    if year_col not in df.columns or len(df) < 2:
        return None
    years, bad = _numbers(df[year_col], fmt)
    if bad.any() or not _looks_like_years(years) or np.isnan(years).any():
        return None
    if np.all(np.diff(years) > 0):
        return None      # one row per year: no part needed
    for c in df.columns:
        if c == year_col:
            continue
        kind = part_kind(str(c), df[c], fmt)
        if kind is None:
            continue
        stamps, badp = combine_year_part(years, df[c], kind, fmt)
        if badp.any():
            continue
        t = stamps.to_numpy()
        if len(pd.unique(t)) == len(t) and np.all(np.diff(t.astype("int64")) > 0):
            return str(c)
    return None


def describe_first(s: pd.Series, code: str | None, fmt=None) -> str | None:
    """'19580329 is read as 29 March 1958' for the first present value of ``s`` read with ``code``
    (detected when None); None when it cannot be read."""
    from seqcore.data.schema.parsing import _missing_mask
    miss = _missing_mask(s)
    if miss.all():
        return None
    first = s[~miss].iloc[:1]
    code = code or detect_time_format(s, str(s.name or ""), fmt, sample=2000)
    if code is None:
        return None
    raw = str(_as_text(first).iloc[0])
    if code == "number":
        return f"{raw} is read as the number {raw} (not as a date)."
    try:
        t = parse_dates_as(first if code not in ("dayfirst", "monthfirst", "text") else s[~miss].iloc[:1],
                           code, fmt).iloc[0]
    except (SpecError, ValueError, TypeError):
        return None
    if pd.isna(t):
        return f"{raw} cannot be read this way."
    when = f"{t.day} {t.strftime('%B %Y')}"
    if t != t.normalize():
        when += t.strftime(", %H:%M") + (t.strftime(":%S") if t.second else "")
    return f"{raw} is read as {when}."


def _even_increasing(v: np.ndarray) -> bool:
    """Whole numbers going up in equal steps (1, 2, 3 or 1990, 1991, ...)."""
    if v.size < 2 or not np.isfinite(v).all() or not np.all(v == np.round(v)):
        return False
    d = np.diff(v)
    return bool(np.all(d > 0) and np.all(d == d[0]))


def column_format(info) -> str | None:
    """The time-format code a column's :class:`ColumnInfo` stands for when it is the time column alone:
    its detected code for a date column, "number" for a numeric one, None otherwise."""
    if info is None:
        return None
    if info.kind == "datetime":
        return info.time_format or "text"
    return "number" if info.kind == "numeric" else None


def suggest_time(df: pd.DataFrame, infos: list, time_name) -> dict:
    """The forecast time column: ``{"time", "time_part", "time_format"}`` (None where there is none).

    A date column first (one with a distinct value per row and a time-like name preferred, including
    integer dates such as yyyymmdd or named Unix / Excel times); then a column of whole numbers named like
    a time (``time_name``: a compiled regex) that goes up row by row, or the first numeric column when it
    counts up in equal steps; then years that repeat next to a quarter / month / week column (macrodata's
    year + quarter). A measurement (a number that does not go up evenly) is never picked.
    """
    from seqcore.data.schema.parsing import _fmt
    none = {"time": None, "time_part": None, "time_format": None}
    fmt = _fmt(df)
    dates = [c for c in infos if c.kind == "datetime"]
    if dates:
        n = len(df)
        best = max(dates, key=lambda c: (c.n_unique == n - c.n_missing, bool(time_name.search(c.name))))
        return {"time": best.name, "time_part": None, "time_format": column_format(best)}
    numeric = [c.name for c in infos if c.kind == "numeric"]
    series = [c.name for c in infos if c.kind in ("numeric", "empty")]   # an empty column is still a series
    if len(series) < 2:
        return none
    counting = []   # whole numbers going up row by row (another series column is always left to forecast)
    for name in numeric:
        v, bad = _numbers(df[name], fmt)
        if bad.any() or np.isnan(v).any():
            continue
        if v.size >= 2 and np.all(np.diff(v) > 0) and np.all(v == np.round(v)):
            counting.append((name, v))
    for name, v in counting:          # a time-like name first (YEAR after an 'Obs' row counter: longley)
        if time_name.search(name):
            return {"time": name, "time_part": None, "time_format": "number"}
    for name, v in counting:          # else the first column, when it counts up in equal steps
        if name == numeric[0] and _even_increasing(v):
            return {"time": name, "time_part": None, "time_format": "number"}
    for name in numeric:
        if _YEAR_NAME.search(name) or time_name.search(name):
            part = suggest_time_part(df, name, fmt)
            if part is not None and part in numeric + [c.name for c in infos if c.kind == "categorical"]:
                return {"time": name, "time_part": part, "time_format": None}
    return none
