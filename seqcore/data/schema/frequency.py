"""Time-step arithmetic on an index: the frequency alias or numeric step, its plain words, and future stamps."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from seqcore.errors import DataError, SpecError


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
        # keep the index's unit (pandas 2 would fall back to nanoseconds, which end in 2262)
        return pd.date_range(start=last + offset, periods=steps, freq=offset, name=name, unit=index.unit)
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
