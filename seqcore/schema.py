"""Column kinds, role suggestions and the validation report for a parsed CSV.

Works on the frame from :func:`seqcore.io.read_csv` (it reads the decimal mark and the
row -> file-line mapping from ``df.attrs``; any DataFrame works, with line = row + 2).
Every problem a person can fix raises :class:`DataError` naming the line and the value,
or shows up as an :class:`Issue` in the :class:`ValidationReport`.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import DataError, SpecError
from .io import MISSING_TOKENS, csv_format, line_numbers

if TYPE_CHECKING:  # pragma: no cover
    from .config import DataSpec

KINDS = ("numeric", "datetime", "categorical", "text", "empty")
POLICIES = ("error", "interpolate", "ffill", "drop")

_MISSING = frozenset(MISSING_TOKENS)
_KIND_SAMPLE = 2000          # values looked at to tell dates / text / categories apart
_LABEL_NAME = re.compile(r"^(labels?|class(es)?|target|y|category|outcome|sentiment|tag|classe|klasse|"
                         r"ground_?truth|gt)$", re.I)
_ID_NAME = re.compile(r"(^|[_\s-])(id|case|series|sequence|seq|sample|subject|instance|trial|unit)"
                      r"([_\s-]|$)|^(case|series|sequence|sample|subject)(_?id)?$|^id$", re.I)
_ORDER_NAME = re.compile(r"^(t|step|steps|time_?step|timestep|time|order|idx|index|position|pos|frame|tick|"
                         r"sample_?index|seq_?index)$", re.I)
_TIME_NAME = re.compile(r"(year|date|time|month|week|day|quarter|period|timestamp|^t$|^step$|^ds$|^idx$|"
                        r"^index$|jahr|datum|annee|fecha)", re.I)
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    r"^\s*("
    r"\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?"                       # 2020-01, 2020-01-05, 2020/1/5
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"                        # 05/01/2020, 5.1.20
    r"|\d{1,2}[-\s]" + _MONTHS + r"[-\s,]+\d{2,4}"             # 5 Jan 2020, 05-Jan-2020
    r"|" + _MONTHS + r"[-\s]+\d{1,2},?[-\s]+\d{4}"             # Jan 5, 2020
    r"|" + _MONTHS + r"[-\s]+\d{2,4}"                          # Jan-2020, January 2020
    r"|\d{4}[-\s]" + _MONTHS +                                 # 2020-Jan
    r"|\d{4}-?Q[1-4]|Q[1-4][-\s]\d{4}"                         # 2020Q1, Q1 2020
    r"|\d{8}T\d{4,6}"                                          # 20200105T1230
    r")([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*$",
    re.I)


# ----------------------------------------------------------------------------- dataclasses


@dataclass
class ColumnInfo:
    """What one column holds.

    ``first_bad`` is ``(file line, raw value)`` of the first cell that is not a number in a
    numeric-ish column, or not a date in a datetime column; ``None`` when there is none.
    """

    name: str
    kind: str                              # one of KINDS
    dtype: str                             # pandas dtype as read
    n_missing: int
    n_unique: int
    n_non_numeric: int                     # non-number cells in a numeric-ish column
    first_bad: tuple[int, str] | None
    n_inf: int
    constant: bool
    example: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["first_bad"] = list(self.first_bad) if self.first_bad else None
        return d


@dataclass
class Issue:
    level: str                # "error" | "warning" | "info"
    column: str | None
    message: str              # plain language, says what to do

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TimeInfo:
    column: str
    parsed: bool                             # every value is a date/time (or a number)
    is_sorted: bool
    n_duplicates: int
    n_unparseable: int
    first_unparseable: tuple[int, str] | None
    frequency: str | None                    # pandas alias ("MS", "D", "h", "YS") or numeric step ("1")
    irregular: bool
    start: str
    end: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["first_unparseable"] = list(self.first_unparseable) if self.first_unparseable else None
        return d


@dataclass
class ValidationReport:
    n_rows: int
    n_columns: int
    columns: list[ColumnInfo]
    issues: list[Issue]
    time: TimeInfo | None = None
    class_counts: dict[str, int] | None = None
    layout: str | None = None              # classify: "wide" or "long"
    task: str | None = None
    roles: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "n_rows": self.n_rows, "n_columns": self.n_columns,
            "columns": [c.to_dict() for c in self.columns], "issues": [i.to_dict() for i in self.issues],
            "time": self.time.to_dict() if self.time else None, "class_counts": self.class_counts,
            "layout": self.layout, "task": self.task, "roles": self.roles,
        }

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def summary_lines(self) -> list[str]:
        """Short plain-language lines: size, time axis, classes, then every issue."""
        lines = [f"{self.n_rows:,} rows x {self.n_columns:,} columns."]
        if self.time is not None:
            t = self.time
            freq = _freq_words(t.frequency) if t.frequency else "unknown spacing"
            if t.frequency and not _is_number(t.frequency):
                freq += f" ({t.frequency})"
            if t.irregular:
                freq += ", with gaps or uneven steps"
            lines.append(f"Time column '{t.column}': {freq}, from {t.start} to {t.end}.")
        if self.class_counts:
            shown = ", ".join(f"{k}: {v:,}" for k, v in list(self.class_counts.items())[:10])
            more = " ..." if len(self.class_counts) > 10 else ""
            lines.append(f"{len(self.class_counts)} classes ({shown}{more}).")
        for i in self.issues:
            lines.append(f"{i.level.capitalize()}: {i.message}")
        return lines


# ----------------------------------------------------------------------------- helpers


def _line(df: pd.DataFrame, pos: int) -> int:
    """File line of the row at position ``pos``."""
    idx = df.index
    if pd.api.types.is_integer_dtype(idx.dtype):
        return int(line_numbers(df, [idx[pos]])[0])
    return int(pos) + 2


def _short(v, n: int = 40) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _is_numeric_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _col(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        have = ", ".join(map(str, list(df.columns)[:8])) + (" ..." if df.shape[1] > 8 else "")
        raise DataError(f"There is no column named '{col}' in the data (columns: {have}). Pick one of those.")
    s = df[col]
    if isinstance(s, pd.DataFrame):
        raise DataError(f"There are several columns named '{col}'; rename them so each name is used once.")
    return s


def _missing_mask(s: pd.Series) -> np.ndarray:
    """True where the cell is missing (NaN/None or a missing token such as 'NA' or '-')."""
    na = s.isna().to_numpy()
    if _is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s):
        return na
    st = s.astype(str).str.strip()
    return na | st.isin(_MISSING).to_numpy()


def _to_numbers(s: pd.Series, fmt: tuple[str | None, str] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float64 values, missing mask, bad mask) of a column; bad = present but not a number.

    String cells are stripped; ``fmt = (thousands, decimal)`` of the file (see :func:`_fmt`)
    is honoured. Shapes: all ``(n_rows,)``.
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        vals = s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
        miss = np.isnan(vals)
        return vals, miss, np.zeros(len(s), bool)
    if _is_numeric_dtype(s):
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        return vals, np.isnan(vals), np.zeros(len(s), bool)
    miss = _missing_mask(s)
    vals = np.full(len(s), np.nan)
    present = ~miss
    if present.any():
        st = s[present].astype(str).str.strip()
        thousands, decimal = fmt or (None, ".")
        if thousands:
            st = st.str.replace(thousands, "", regex=False)
        if decimal == ",":
            st = st.str.replace(",", ".", regex=False)
        st = st.str.replace(r"^\+", "", regex=True)
        vals[present] = pd.to_numeric(st, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = present & np.isnan(vals)
    return vals, miss, bad


def _numeric_share(s: pd.Series, fmt, n: int = 1000) -> float:
    """Share of numbers among the first ``n`` present cells (cheap pre-check before a full pass)."""
    miss = _missing_mask(s.iloc[: 4 * n])
    head = s.iloc[: 4 * n][~miss].iloc[:n]
    if head.empty:
        return 0.0
    _, _, bad = _to_numbers(head, fmt)
    return 1.0 - float(bad.mean())


def _fmt(df: pd.DataFrame) -> tuple[str | None, str] | None:
    """(thousands, decimal) the frame was read with, when it came from :func:`seqcore.io.read_csv`."""
    fmt = csv_format(df)
    return (fmt.thousands, fmt.decimal) if fmt is not None else None


def _looks_dates(values: pd.Series) -> bool:
    """Most of the (string) sample matches a date pattern."""
    if values.empty:
        return False
    hits = values.str.match(_DATE).sum()
    return hits >= 0.8 * len(values)


def _parse_dates(st: pd.Series) -> pd.Series:
    """Parse stripped strings to naive datetime64[ns], NaT where impossible. Shape ``(n,)``.

    Tries the format pandas infers (month first, then day first); values still unparsed are
    tried one by one only when they look like dates. Times outside 1678..2261 become NaT.
    """
    def attempt(values: pd.Series, **kw) -> pd.Series:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = pd.to_datetime(values, errors="coerce", **kw)
            except (ValueError, TypeError, OverflowError):
                try:
                    out = pd.to_datetime(values, errors="coerce", utc=True, **kw)
                except (ValueError, TypeError, OverflowError):
                    return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        if not pd.api.types.is_datetime64_any_dtype(out.dtype):
            return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        year = out.dt.year
        out = out.where((year >= 1678) & (year <= 2261))
        return out.astype("datetime64[ns]")

    best = attempt(st)
    n_bad = int(best.isna().sum())
    if n_bad:
        alt = attempt(st, dayfirst=True)
        if int(alt.isna().sum()) < n_bad:
            best, n_bad = alt, int(alt.isna().sum())
    if n_bad and n_bad <= 10_000:
        fail = best.isna() & st.str.match(_DATE).fillna(False).astype(bool)
        if fail.any():
            best = best.copy()
            best[fail] = attempt(st[fail], format="mixed")
    has_digit = st.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    return best.where(has_digit)


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
            if kind == "numeric":
                first = int(np.flatnonzero(s.notna().to_numpy())[0])
                example = _short(s.iloc[first])
            out.append(ColumnInfo(str(c), kind, str(s.dtype), n_missing, n_unique, 0, None, n_inf,
                                  n_unique <= 1 and n_missing < n, example))
        else:
            out.append(_infer_other(df, pos))
    return out


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
        return ColumnInfo(name, "datetime", dtype, n_missing, n_unique, 0, None, 0, n_unique <= 1, example)
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
        return ColumnInfo(name, "numeric", dtype, n_missing, n_unique, n_bad, first_bad, n_inf,
                          n_unique <= 1, example)
    stripped = present.str.strip()
    sample = stripped.iloc[:_KIND_SAMPLE]
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
                              example)
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


# ----------------------------------------------------------------------------- frequency


_ANCHOR_DEFAULT = {"YS": "YS", "YE": "YE", "QS": "QS", "QE": "QE", "BYS": "BYS", "BYE": "BYE", "BQS": "BQS",
                   "BQE": "BQE"}


def _norm_alias(freq: str) -> str:
    """'YS-JAN' -> 'YS', 'QS-OCT' -> 'QS' (quarters starting any of Jan/Apr/Jul/Oct are the same dates)."""
    m = re.match(r"^(\d*)([A-Z]+)-([A-Z]{3})$", freq)
    if not m:
        return freq
    mult, base, anchor = m.groups()
    if base in ("YS", "BYS") and anchor == "JAN" or base in ("YE", "BYE") and anchor == "DEC":
        return mult + base
    if base in ("QS", "BQS") and anchor in ("JAN", "APR", "JUL", "OCT"):
        return mult + base
    if base in ("QE", "BQE") and anchor in ("MAR", "JUN", "SEP", "DEC"):
        return mult + base
    return freq


def _fmt_step(step: float) -> str:
    if float(step).is_integer():
        return str(int(step))
    return f"{step:.10g}"


def infer_frequency(index) -> str | None:
    """Pandas offset alias of a DatetimeIndex ("MS", "D", "h", "YS", "W-SUN", ...), or the step
    of a numeric index as a string ("1", "0.5"); None when fewer than 2 distinct points."""
    if isinstance(index, pd.Series):
        index = pd.Index(index)
    if isinstance(index, pd.DatetimeIndex):
        idx = index.dropna().unique().sort_values()
        if len(idx) < 2:
            return None
        if len(idx) >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    f = pd.infer_freq(idx)
                except (ValueError, TypeError):
                    f = None
            if f is not None:
                return _norm_alias(getattr(f, "freqstr", str(f)))
        return _alias_from_diffs(idx)
    if pd.api.types.is_numeric_dtype(getattr(index, "dtype", None)) and not pd.api.types.is_bool_dtype(index.dtype):
        vals = np.unique(np.asarray(index, dtype="float64"))
        vals = vals[np.isfinite(vals)]
        if vals.size < 2:
            return None
        diffs = np.round(np.diff(vals), 10)
        uniq, counts = np.unique(diffs, return_counts=True)
        return _fmt_step(float(uniq[np.argmax(counts)]))
    return None


def _alias_from_diffs(idx: pd.DatetimeIndex) -> str:
    """Alias from the most common gap when pd.infer_freq can't tell (gaps, irregular)."""
    ns = np.diff(idx.as_unit("ns").asi8)
    uniq, counts = np.unique(ns, return_counts=True)
    step = int(uniq[np.argmax(counts)])
    day = 86_400 * 10**9
    if step % day == 0:
        days = step // day
        if days == 1:
            return "D"
        if days == 7:
            return "W-" + idx[0].day_name()[:3].upper()
        for lo, hi, start, end in ((28, 31, "MS", "ME"), (89, 92, "QS", "QE"), (365, 366, "YS", "YE")):
            if lo <= days <= hi:
                if idx.is_month_end.mean() > 0.5:
                    return end
                return start
        return f"{days}D"
    for unit, alias in ((3600 * 10**9, "h"), (60 * 10**9, "min"), (10**9, "s"), (10**6, "ms"), (10**3, "us")):
        if step % unit == 0:
            k = step // unit
            return alias if k == 1 else f"{k}{alias}"
    return f"{step}ns"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _freq_words(freq: str | None) -> str:
    if not freq:
        return "unknown"
    words = {"D": "daily", "h": "hourly", "min": "every minute", "s": "every second", "MS": "monthly",
             "ME": "monthly", "QS": "quarterly", "QE": "quarterly", "YS": "yearly", "YE": "yearly",
             "B": "business days"}
    if freq in words:
        return words[freq]
    if freq.startswith("W"):
        return "weekly"
    if _is_number(freq):
        return f"steps of {freq}"
    return f"every {freq}"


def future_index(index, steps: int, frequency: str | None = None) -> pd.Index:
    """The ``steps`` time stamps after the end of ``index`` (shape ``(steps,)``).

    DatetimeIndex: continues with ``frequency`` (default: inferred). Numeric index: continues
    with the numeric step. Anything else: integer positions after the last row.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise SpecError(f"The number of future steps must be a whole number of at least 1; got {steps!r}.")
    steps = int(steps)
    if isinstance(index, pd.Series):
        index = pd.Index(index)
    name = getattr(index, "name", None)
    if isinstance(index, pd.DatetimeIndex):
        freq = frequency or infer_frequency(index)
        if freq is None:
            raise DataError("Can't tell the time step: the time column needs at least two different times. "
                            "Choose the frequency by hand.")
        try:
            offset = pd.tseries.frequencies.to_offset(freq)
        except (ValueError, TypeError):
            raise SpecError(f"{freq!r} is not a frequency pandas knows (examples: D, h, MS, YS, W-SUN).") from None
        last = index.dropna().max()
        return pd.date_range(start=last + offset, periods=steps, freq=offset, name=name)
    if isinstance(index, pd.RangeIndex):
        return pd.RangeIndex(index.stop, index.stop + steps * index.step, index.step, name=name) \
            if len(index) else pd.RangeIndex(0, steps, name=name)
    if pd.api.types.is_numeric_dtype(getattr(index, "dtype", None)) and not pd.api.types.is_bool_dtype(index.dtype):
        if frequency is not None:
            try:
                step = float(frequency)
            except ValueError:
                raise SpecError(f"A numeric time column needs a numeric step; got {frequency!r}.") from None
        else:
            f = infer_frequency(index)
            step = float(f) if f is not None else 1.0
        vals = np.asarray(index, dtype="float64")
        last = np.nanmax(vals) if vals.size else 0.0
        out = last + step * np.arange(1, steps + 1)
        if pd.api.types.is_integer_dtype(index.dtype) and float(step).is_integer():
            return pd.Index(out.astype(np.int64), name=name)
        return pd.Index(out, name=name)
    n = len(index)
    return pd.RangeIndex(n, n + steps, name=name)


# ----------------------------------------------------------------------------- missing values


def apply_missing(df: pd.DataFrame, columns: list[str], policy: str) -> tuple[pd.DataFrame, str | None]:
    """Handle missing values in ``columns`` by ``policy`` (error | interpolate | ffill | drop).

    Numeric-ish columns come back as float64. Returns ``(new frame, plain note or None)``;
    index labels are kept (so line numbers still map after "drop").
    """
    if policy not in POLICIES:
        raise SpecError(f"missing values must be one of {', '.join(POLICIES)}; got {policy!r}.")
    out = df.copy()
    notes: list[str] = []
    numeric: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for col in dict.fromkeys(columns):
        s = _col(df, col)
        miss = _missing_mask(s)
        if miss.all():
            raise DataError(f"Column '{col}' has no values at all (every cell is empty). Fill it in, remove "
                            "it, or pick another column.")
        is_num = _is_numeric_dtype(s)
        if not is_num and not pd.api.types.is_bool_dtype(s.dtype):
            _, _, bad = _to_numbers(s, _fmt(df))
            is_num = bad.sum() < 0.5 * (~miss).sum()
        if is_num:
            numeric[col] = numeric_column(df, col, allow_inf=True)
        masks[col] = miss
    for col, miss in masks.items():
        n = int(miss.sum())
        if not n:
            continue
        first = _line(df, int(np.flatnonzero(miss)[0]))
        where = f"{n:,} missing value{'s' if n > 1 else ''} (first on line {first:,})"
        if policy == "error":
            raise DataError(f"Column '{col}' has {where}. Choose how to handle them: interpolate, "
                            "forward-fill or drop rows.")
        if policy == "interpolate":
            if col not in numeric:
                raise DataError(f"Column '{col}' holds text, which can't be interpolated; it has {where}. "
                                "Choose forward-fill or drop rows instead.")
            numeric[col] = pd.Series(numeric[col]).interpolate(method="linear", limit_direction="both") \
                .to_numpy(dtype="float64")
            notes.append(f"filled {n:,} missing value{'s' if n > 1 else ''} in '{col}' by straight-line "
                         f"interpolation (first on line {first:,})")
        elif policy == "ffill":
            if col in numeric:
                numeric[col] = pd.Series(numeric[col]).ffill().bfill().to_numpy(dtype="float64")
            else:
                s = out[col].mask(pd.Series(miss, index=out.index))
                out[col] = s.ffill().bfill()
            notes.append(f"filled {n:,} missing value{'s' if n > 1 else ''} in '{col}' with the previous value "
                         f"(first on line {first:,})")
    for col, vals in numeric.items():
        out[col] = vals
    if policy == "drop":
        any_miss = np.zeros(len(df), bool)
        for miss in masks.values():
            any_miss |= miss
        n = int(any_miss.sum())
        if n:
            if n == len(df):
                raise DataError("Every row has a missing value in " + ", ".join(f"'{c}'" for c in masks)
                                + ", so dropping them leaves nothing. Fill in the values or use interpolation.")
            first = _line(df, int(np.flatnonzero(any_miss)[0]))
            out = out.loc[~any_miss]
            cols = ", ".join(f"'{c}'" for c, m in masks.items() if m.any())
            notes.append(f"dropped {n:,} row{'s' if n > 1 else ''} with missing values in {cols} "
                         f"(first on line {first:,})")
    if not notes:
        return out, None
    note = "; ".join(notes)
    return out, note[0].upper() + note[1:] + "."


# ----------------------------------------------------------------------------- roles


def _infos(df: pd.DataFrame, infos: list[ColumnInfo] | None) -> dict[str, ColumnInfo]:
    return {c.name: c for c in (infos if infos is not None else infer_columns(df))}


def _label_ok(c: ColumnInfo, n_rows: int) -> bool:
    if c.kind in ("empty", "text", "datetime") or c.n_unique < 2:
        return False
    if c.kind == "numeric" and (c.n_non_numeric or c.n_inf):
        return False
    limit = max(2, min(100, n_rows // 2))
    return c.n_unique <= limit


def _pick_label(df: pd.DataFrame, infos: dict[str, ColumnInfo], exclude=()) -> str | None:
    n = len(df)
    named = [c for c in infos.values() if c.name not in exclude and _LABEL_NAME.match(c.name) and _label_ok(c, n)]
    if named:
        return named[0].name
    cats = [c for c in infos.values() if c.name not in exclude and c.kind == "categorical" and _label_ok(c, n)
            and not _ID_NAME.search(c.name) and c.n_unique <= max(2, min(50, n // 5 or 2))]
    if cats:
        return min(cats, key=lambda c: c.n_unique).name
    return None


def _pick_long(df: pd.DataFrame, infos: dict[str, ColumnInfo], label: str | None) -> tuple[str | None, str | None]:
    """(id column, order column) when the data is in long format, else (None, None)."""
    n = len(df)
    ids = [c for c in infos.values() if c.name != label and _ID_NAME.search(c.name)
           and c.kind in ("numeric", "categorical") and 1 <= c.n_unique <= n // 2 and c.n_missing == 0
           and (c.kind == "categorical" or _is_integer_valued(df, c.name))]
    if not ids:
        return None, None
    id_col = ids[0].name
    orders = [c for c in infos.values() if c.name not in (label, id_col) and _ORDER_NAME.match(c.name)
              and c.kind in ("numeric", "datetime")]
    return id_col, orders[0].name if orders else None


def _is_integer_valued(df: pd.DataFrame, col: str) -> bool:
    s = df[col]
    if pd.api.types.is_integer_dtype(s.dtype):
        return True
    if not _is_numeric_dtype(s):
        return False
    v = s.to_numpy(dtype="float64", na_value=np.nan)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v == np.round(v)))


def _row_id(c: ColumnInfo, n_rows: int) -> bool:
    """An id-named column with one distinct value per row (not a measurement)."""
    return bool(_ID_NAME.search(c.name)) and c.n_unique == n_rows and n_rows > 1


def _is_increasing_int(df: pd.DataFrame, col: str) -> bool:
    s = df[col]
    if not _is_numeric_dtype(s):
        return False
    v = s.to_numpy(dtype="float64", na_value=np.nan)
    if v.size < 2 or np.isnan(v).any() or not np.isfinite(v).all():
        return False
    return bool(np.all(v == np.round(v)) and np.all(np.diff(v) > 0))


_ROW_ID_NAME = re.compile(r"^(id|idx|index|row|rows|row_?(id|no|nr|num|number|index)|no|nr|num|number|#|n|"
                          r"record|record_?(id|no|number)|key|serial|counter|count_?id|obs|observation|"
                          r"unnamed:?\s*\d*|column_\d+)$|(^|[_\s-])(id|idx|index)$", re.I)


def _looks_like_row_id(df: pd.DataFrame, col: str) -> bool:
    """A row counter or id rather than a measurement: whole numbers counting 0, 1, 2, ... or 1, 2, 3, ...
    down the rows (whatever the name), or strictly increasing whole numbers in a column named like an id
    (id, index, row, no, record, ...)."""
    if not _is_increasing_int(df, col):
        return False
    v = df[col].to_numpy(dtype="float64")
    if v[0] in (0.0, 1.0) and np.all(np.diff(v) == 1):
        return True
    return bool(_ROW_ID_NAME.search(str(col).strip()))


def suggest_task(df: pd.DataFrame, infos: list[ColumnInfo] | None = None) -> str:
    """Best guess of the task: "forecast", "classify" or "text"."""
    inf = _infos(df, infos)
    texts = [c.name for c in inf.values() if c.kind == "text"]
    if texts and _pick_label(df, inf, exclude=texts) is not None:
        return "text"
    label = _pick_label(df, inf)
    if label is None:
        return "forecast"
    numeric = [c for c in inf.values() if c.kind == "numeric" and c.name != label]
    id_col, _ = _pick_long(df, inf, label)
    has_time = any(c.kind == "datetime" for c in inf.values())
    if id_col is not None and numeric:
        return "classify"
    if _LABEL_NAME.match(label) and len(numeric) >= 2 and not has_time:
        return "classify"
    if len(numeric) >= 5 and not has_time:
        return "classify"
    return "forecast"


def suggest_roles(df: pd.DataFrame, task: str, infos: list[ColumnInfo] | None = None) -> dict:
    """Suggested column roles for ``task``.

    Keys: time, targets, features, label, id, order, text, layout; values are a column name or
    None, lists of names for targets/features, and "wide"/"long"/None for layout.
    """
    if task not in ("forecast", "classify", "text"):
        raise SpecError(f"task must be one of forecast, classify, text; got {task!r}.")
    inf = _infos(df, infos)
    roles: dict = {"time": None, "targets": [], "features": [], "label": None, "id": None, "order": None,
                   "text": None, "layout": None}
    numeric = [c.name for c in inf.values() if c.kind == "numeric"]
    if task == "forecast":
        dates = [c.name for c in inf.values() if c.kind == "datetime"]
        if dates:
            roles["time"] = dates[0]
        elif len(numeric) >= 2:
            for name in numeric[:-1]:
                if (_TIME_NAME.search(name) or name == numeric[0]) and _is_increasing_int(df, name):
                    roles["time"] = name
                    break
        # the last numeric column that is a measurement: not the time, not a row counter or id column
        candidates = [n for n in numeric if n != roles["time"]]
        values = [n for n in candidates
                  if not _looks_like_row_id(df, n) and not (_ID_NAME.search(n) and len(numeric) > 2)]
        roles["targets"] = (values or candidates)[-1:]
    elif task == "classify":
        label = _pick_label(df, inf)
        roles["label"] = label
        id_col, order = _pick_long(df, inf, label)
        if id_col is not None:
            roles.update(layout="long", id=id_col, order=order)
            roles["features"] = [n for n in numeric if n not in (id_col, order, label)]
        else:
            roles["layout"] = "wide"
            roles["features"] = [n for n in numeric if n != label and not _row_id(inf[n], len(df))]
    else:
        texts = [c for c in inf.values() if c.kind == "text"] or \
                [c for c in inf.values() if c.kind == "categorical" and not pd.api.types.is_bool_dtype(df[c.name])]
        if texts:
            def avg_len(c: ColumnInfo) -> float:
                s = df[c.name].dropna().astype(str).iloc[:_KIND_SAMPLE]
                return float(s.str.len().mean()) + (1000.0 if s.str.contains(" ").mean() > 0.5 else 0.0) \
                    if len(s) else 0.0
            roles["text"] = max(texts, key=avg_len).name
        roles["label"] = _pick_label(df, inf, exclude=(roles["text"],))
    return roles


# ----------------------------------------------------------------------------- validation


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


def validate(df: pd.DataFrame, spec: "DataSpec | None" = None) -> ValidationReport:
    """Check ``df`` for the task and roles in ``spec`` (suggested ones when ``spec`` is None)."""
    from .config import DataSpec

    infos = infer_columns(df)
    by_name = {c.name: c for c in infos}
    explicit = spec is not None
    if spec is None:
        task = suggest_task(df, infos)
        roles = suggest_roles(df, task, infos)
        spec = DataSpec(task=task, time=roles["time"], targets=tuple(roles["targets"]),
                        features=tuple(roles["features"]), label=roles["label"], id=roles["id"],
                        order=roles["order"], text=roles["text"], layout=roles["layout"] or "auto")
    task = spec.task
    roles = {"time": spec.time, "targets": list(spec.targets), "features": list(spec.features),
             "label": spec.label, "id": spec.id, "order": spec.order, "text": spec.text, "layout": None}
    issues: list[Issue] = []
    report = ValidationReport(n_rows=int(len(df)), n_columns=int(df.shape[1]), columns=infos, issues=issues,
                              task=task, roles=roles)
    if len(df) == 0:
        issues.append(Issue("error", None, "The data has no rows. Upload a file with data rows."))
        return report

    # which columns are used, and how
    if task == "classify":
        layout = spec.layout
        if layout == "auto":
            layout = "long" if spec.id else "wide"
        roles["layout"] = report.layout = layout
        if layout == "wide" and not spec.features:
            roles["features"] = [c.name for c in infos if c.kind == "numeric" and c.name not in
                                 (spec.label, spec.id) and not _row_id(c, len(df))]
        elif not spec.features:
            roles["features"] = [c.name for c in infos if c.kind == "numeric" and c.name not in
                                 (spec.label, spec.id, spec.order)]
    used_numeric = (list(roles["targets"]) + list(roles["features"])) if task in ("forecast", "classify") else []
    named = {"time": roles["time"], "label": roles["label"], "id": roles["id"], "order": roles["order"],
             "text": roles["text"]}
    for role, col in list(named.items()) + [("target", c) for c in roles["targets"]] + \
            [("feature", c) for c in roles["features"]]:
        if col is not None and col not in df.columns:
            issues.append(Issue("error", col, f"The {role} column '{col}' is not in the data. Pick one of the "
                                              "file's columns."))
    missing_cols = {i.column for i in issues}
    used_numeric = [c for c in used_numeric if c not in missing_cols]
    used_other = {c for c in named.values() if c is not None and c not in missing_cols}

    _check_columns(df, infos, used_numeric, used_other, roles, spec, explicit, issues)
    if task == "forecast":
        _check_forecast(df, by_name, roles, spec, explicit, issues, report, missing_cols)
    elif task == "classify":
        _check_classify(df, by_name, roles, spec, issues, report, missing_cols)
    else:
        _check_text(df, by_name, roles, issues, report, missing_cols)
    order = {"error": 0, "warning": 1, "info": 2}
    issues.sort(key=lambda i: order.get(i.level, 3))
    return report


def _check_columns(df, infos, used_numeric, used_other, roles, spec, explicit, issues) -> None:
    for c in infos:
        used = c.name in used_numeric
        in_role = used or c.name in used_other
        if c.kind == "empty":
            if in_role:
                issues.append(Issue("error", c.name, f"Column '{c.name}' has no values at all. Pick another "
                                                     "column or fill it in."))
            else:
                issues.append(Issue("info", c.name, f"Column '{c.name}' is empty and will be ignored."))
            continue
        if used and c.kind != "numeric":
            issues.append(Issue("error", c.name, f"Column '{c.name}' holds {c.kind} values, not numbers "
                                                 f"(e.g. {c.example!r}); pick a numeric column instead."))
            continue
        if c.n_non_numeric:
            line, raw = c.first_bad
            more = f" ({c.n_non_numeric:,} cells)" if c.n_non_numeric > 1 else ""
            issues.append(Issue(
                "error" if used else "warning", c.name,
                f"Column '{c.name}' holds numbers but line {line:,} has {raw!r}{more}. Fix or remove those cells "
                "(leave a cell empty to mark it as missing)."))
        if c.n_inf:
            vals = df[c.name]
            try:
                v, _, _ = _to_numbers(df[c.name], _fmt(df))
                p = int(np.flatnonzero(np.isinf(v))[0])
                where = f" (first on line {_line(df, p):,}: {_short(vals.iloc[p])!r})"
            except (IndexError, DataError):
                where = ""
            issues.append(Issue(
                "error" if used else "warning", c.name,
                f"Column '{c.name}' has {c.n_inf:,} infinite or too-large value{'s' if c.n_inf > 1 else ''}{where}. "
                "Replace them with real values or leave the cells empty."))
        if c.n_missing:
            miss = _missing_mask(df[c.name])
            first = _line(df, int(np.flatnonzero(miss)[0]))
            where = f"{c.n_missing:,} missing value{'s' if c.n_missing > 1 else ''} (first on line {first:,})"
            if used:
                if spec.missing == "error":
                    level = "error" if explicit else "warning"
                    issues.append(Issue(level, c.name, f"Column '{c.name}' has {where}. Choose how to handle them: "
                                                       "interpolate, forward-fill or drop rows."))
                else:
                    how = {"interpolate": "filled by interpolation", "ffill": "filled with the previous value",
                           "drop": "dropped (the whole row)"}[spec.missing]
                    issues.append(Issue("info", c.name, f"Column '{c.name}' has {where}; they will be {how}."))
            elif c.name == roles.get("label"):
                issues.append(Issue("error", c.name, f"Label column '{c.name}' has {where}. Every row needs a "
                                                     "label: fill them in or remove those rows."))
            elif c.name == roles.get("text"):
                issues.append(Issue("warning", c.name, f"Text column '{c.name}' has {where}; they are read as "
                                                       "empty texts."))
            elif c.name not in used_other:
                issues.append(Issue("info", c.name, f"Column '{c.name}' has {where} (not used)."))
        if c.constant and c.name in used_numeric and len(df) > 1:
            issues.append(Issue("warning", c.name, f"Column '{c.name}' has the same value ({c.example}) in every "
                                                   "row, so it tells the model nothing. Consider leaving it out."))


def _check_forecast(df, by_name, roles, spec, explicit, issues, report, missing_cols) -> None:
    n = len(df)
    if not roles["targets"]:
        issues.append(Issue("error", None, "Forecasting needs a numeric column to predict; none was found. "
                                           "Pick the target column (it must hold numbers)."))
    time_col = roles["time"]
    if time_col is None:
        issues.append(Issue("info", None, "No time column: rows are used in file order, one step per row."))
    elif time_col not in missing_cols:
        info, idx, unsorted_pos = _time_info(df, time_col)
        report.time = info
        if not info.parsed:
            line, raw = info.first_unparseable or (None, "")
            issues.append(Issue("error", time_col, f"Time column '{time_col}' has {info.n_unparseable:,} value(s) "
                                                   f"that are not dates/times (first on line {line:,}: {raw!r}). "
                                                   "Fix or remove those rows, or choose no time column."))
        else:
            if info.n_duplicates:
                dup = pd.Index(idx).duplicated()
                p = int(np.flatnonzero(dup)[0])
                issues.append(Issue(
                    "error", time_col, f"Time column '{time_col}' repeats {info.n_duplicates:,} time(s) (first on "
                                       f"line {_line(df, p):,}: {_short(df[time_col].iloc[p])!r}). Forecasting needs "
                                       "one row per time step: remove or combine the repeated rows."))
            if not info.is_sorted:
                issues.append(Issue(
                    "error", time_col, f"Rows are not in time order: line {_line(df, unsorted_pos):,} "
                                       f"({_short(df[time_col].iloc[unsorted_pos])!r}) is earlier than the line above it. "
                                       f"Sort the file by '{time_col}'."))
            if info.irregular:
                issues.append(Issue(
                    "warning", time_col, f"Time steps in '{time_col}' are not evenly spaced (most are "
                                         f"{_freq_words(info.frequency)}); the model treats rows as "
                                         "equally spaced. Fill the gaps (one row per step) for best results."))
    frac_train = 1.0 - spec.val_fraction - spec.test_fraction
    need = spec.window + spec.horizon
    n_train = int(math.floor(n * frac_train))
    if n_train < need:
        min_rows = int(math.ceil(need / max(frac_train, 1e-9)))
        issues.append(Issue(
            "error", None, f"Too few rows: {n:,} rows leave {n_train:,} for training, but a window of "
                           f"{spec.window} plus a horizon of {spec.horizon} needs at least {need}. Lower the window "
                           f"or horizon, or use at least {min_rows:,} rows."))
    else:
        for part, frac in (("validation", spec.val_fraction), ("test", spec.test_fraction)):
            if frac > 0 and int(n * frac) < spec.horizon:
                issues.append(Issue("warning", None, f"The {part} part has only {int(n * frac)} rows, fewer than "
                                                     f"the horizon ({spec.horizon}); its scores will be unreliable."))


def _class_counts(labels: pd.Series) -> dict[str, int]:
    counts = labels.dropna().astype(str).str.strip().value_counts()
    counts = counts[counts.index != ""]
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _check_labels(counts: dict[str, int], label: str, what: str, issues: list[Issue]) -> None:
    if len(counts) < 2:
        only = next(iter(counts), None)
        issues.append(Issue("error", label, f"Label column '{label}' has only one class ({only!r}); a classifier "
                                            "needs at least two. Add examples of the other classes."
                            if only is not None else f"Label column '{label}' has no labels."))
        return
    singles = [k for k, v in counts.items() if v == 1]
    if singles:
        shown = ", ".join(repr(s) for s in singles[:5]) + (" ..." if len(singles) > 5 else "")
        issues.append(Issue("warning", label, f"Class {shown} has a single {what}; it can't be in both the training "
                                              "and test parts. Add more examples or remove it."))
    total = sum(counts.values())
    if total < 2 * len(counts) or total < 10:
        issues.append(Issue("warning", label, f"Only {total:,} {what}s for {len(counts)} classes; results will be "
                                              "unreliable. More examples help."))


def _check_classify(df, by_name, roles, spec, issues, report, missing_cols) -> None:
    label = roles["label"]
    if label is None:
        issues.append(Issue("error", None, "Sequence classification needs a label column (the class of each "
                                           "sequence). Pick it."))
        return
    if label in missing_cols:
        return
    if not roles["features"]:
        issues.append(Issue("error", None, "No numeric value columns were found for the sequences. Pick the "
                                           "feature columns (they must hold numbers)."))
    if report.layout == "long":
        id_col = roles["id"]
        if id_col is None:
            issues.append(Issue("error", None, "Long layout needs a sequence id column (which rows belong to the "
                                               "same sequence). Pick it, or use the wide layout."))
            return
        if id_col in missing_cols:
            return
        g = df[[id_col, label]].dropna()
        per = g.groupby(id_col, sort=False)[label].nunique()
        mixed = per[per > 1]
        if len(mixed):
            sid = mixed.index[0]
            issues.append(Issue("error", label, f"Sequence {sid!r} (column '{id_col}') has more than one label; every "
                                                "row of a sequence needs the same label. Fix the labels."))
        first = g.groupby(id_col, sort=False)[label].first()
        report.class_counts = _class_counts(first)
        lengths = df.groupby(id_col, sort=False).size()
        if len(lengths):
            lo, hi = int(lengths.min()), int(lengths.max())
            span = f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"
            issues.append(Issue("info", id_col, f"{len(lengths):,} sequences of {span} steps each."))
        if lengths.max() > spec.max_steps:
            issues.append(Issue("info", id_col, f"Sequences longer than {spec.max_steps:,} steps are cut to their "
                                                "last steps."))
        _check_labels(report.class_counts, label, "sequence", issues)
    else:
        report.class_counts = _class_counts(df[label])
        _check_labels(report.class_counts, label, "sequence", issues)


def _check_text(df, by_name, roles, issues, report, missing_cols) -> None:
    text, label = roles["text"], roles["label"]
    if text is None:
        issues.append(Issue("error", None, "Text classification needs a text column. Pick it."))
    elif text not in missing_cols and by_name[text].kind == "numeric":
        issues.append(Issue("warning", text, f"Column '{text}' holds numbers, not text. Check the text column."))
    if label is None:
        issues.append(Issue("error", None, "Text classification needs a label column (the class of each text). "
                                           "Pick it."))
        return
    if label in missing_cols:
        return
    if text is not None and text == label:
        issues.append(Issue("error", label, "The text column and the label column must be different."))
    report.class_counts = _class_counts(df[label])
    _check_labels(report.class_counts, label, "text", issues)
