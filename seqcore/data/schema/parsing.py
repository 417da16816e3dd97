"""Cell-level reading of a column: missing cells, numbers (with the file's decimal mark), dates, line numbers.

These helpers work on one ``pd.Series`` (or the frame it came from, for the row -> file-line
mapping and the number format that :func:`seqcore.data.io.read_csv` stores in ``df.attrs``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from seqcore.errors import DataError
from seqcore.data.io import MISSING_TOKENS, csv_format, line_numbers

_MISSING = frozenset(MISSING_TOKENS)
_KIND_SAMPLE = 2000          # values looked at to tell dates / text / categories apart
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
    """(thousands, decimal) the frame was read with, when it came from :func:`seqcore.data.io.read_csv`."""
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
    from seqcore.data.schema.timeformat import _to_dt as attempt   # pandas' reader, tz dropped, 1678..2261

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


def labels_as_strings(values: pd.Series) -> pd.Series:
    """Class labels as clean strings: 1.0 -> "1", " fresh " -> "fresh"."""
    def one(v):
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()
    return values.map(one)
