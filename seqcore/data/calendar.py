"""Calendar features from a date/time column: cyclic (sine, cosine) encodings of the time of year, the day of
the week and the hour of the day.

Which parts are meaningful depends on the time step and on how long the data runs: a part is used when the
step is shorter than half its cycle (so it takes several values) and the data covers at least two cycles
(so the model sees each value more than once). Monthly data gets the time of year; daily data the day of the
week (and the time of year from two years on); hourly data the hour of the day and the day of the week.
Yearly data and numeric (non-date) time columns get none.

Calendar values are known for any future time, so they are known-future inputs (see
:mod:`seqcore.data.covariates`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: part -> (plain name, cycle length in days)
PARTS = {
    "month": ("time of year", 365.25),
    "weekday": ("day of the week", 7.0),
    "hour": ("hour of the day", 1.0),
}


def calendar_parts(times) -> list[str]:
    """The calendar parts worth encoding for ``times`` (a DatetimeIndex; anything else gives [])."""
    if not isinstance(times, pd.DatetimeIndex) or len(times) < 3:
        return []
    t = times.tz_localize(None) if times.tz is not None else times
    days = np.diff(t.asi8.astype(np.float64)) / 86_400e9 if t.unit == "ns" else \
        np.diff(t.as_unit("ns").asi8.astype(np.float64)) / 86_400e9
    days = days[days > 0]
    if not days.size:
        return []
    step = float(np.median(days))
    span = float(days.sum())
    return [p for p, (_, cycle) in PARTS.items() if step < cycle / 2 and span >= 2 * cycle]


def calendar_names(parts) -> list[str]:
    """Column names of the encoded parts, in order: two (sine, cosine) per part."""
    return [f"calendar: {PARTS[p][0]} ({w})" for p in parts for w in ("sin", "cos")]


def calendar_features(times, parts) -> np.ndarray:
    """(len(times), 2 * len(parts)) float64: sine and cosine of each part's phase in its cycle."""
    idx = pd.DatetimeIndex(times)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    cols = []
    for p in parts:
        if p == "month":     # month of year, with the day inside the month (smooth for daily data)
            phase = (idx.month - 1 + (idx.day - 1) / idx.days_in_month) / 12.0
        elif p == "weekday":
            phase = (idx.dayofweek + idx.hour / 24.0) / 7.0
        elif p == "hour":
            phase = (idx.hour + idx.minute / 60.0) / 24.0
        else:
            raise ValueError(f"unknown calendar part {p!r}")
        phase = np.asarray(phase, dtype=np.float64)
        cols += [np.sin(2 * np.pi * phase), np.cos(2 * np.pi * phase)]
    if not cols:
        return np.zeros((len(idx), 0))
    return np.stack(cols, axis=1)


def describe(parts) -> str:
    """'time of year and day of the week'."""
    names = [PARTS[p][0] for p in parts]
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else (names[0] if names else "")
