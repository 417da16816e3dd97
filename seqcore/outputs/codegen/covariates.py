"""Section 2b of a forecast script: known-future inputs (KNOWN_FUTURE columns, led by HORIZON steps) and
calendar features from the time column, as :mod:`seqcore.data.covariates` and :mod:`seqcore.data.calendar`
build them (same parts, same values, same quick check for CALENDAR = "auto").
"""

from __future__ import annotations

COVARIATES_PREP = '''

# -----------------------------------------------------------------------------
# 2b. Inputs known in advance: KNOWN_FUTURE columns and calendar features
# -----------------------------------------------------------------------------
# Each enters the input LED BY HORIZON steps: the input row at position i carries the value at i + HORIZON,
# so a window ending at the origin t carries the values for t+1 .. t+HORIZON in its last HORIZON rows.
CALENDAR_CYCLES = {"month": ("time of year", 365.25), "weekday": ("day of the week", 7.0),
                   "hour": ("hour of the day", 1.0)}


def split_future_rows(df):
    """(history, future rows or None): the last rows with every target empty carry future KNOWN_FUTURE values."""
    if not KNOWN_FUTURE or not len(df) or any(c not in df.columns for c in TARGETS):
        return df, None
    empty = np.ones(len(df), dtype=bool)
    for c in TARGETS:
        empty &= to_numbers(df[c], c).isna().to_numpy()
    filled = np.flatnonzero(~empty)
    k = len(df) - (int(filled[-1]) + 1 if filled.size else 0)
    return (df.iloc[:len(df) - k], df.iloc[len(df) - k:]) if k else (df, None)


def calendar_parts(times):
    """Parts worth encoding: the step is under half the cycle and the data covers two cycles."""
    if times is None or not pd.api.types.is_datetime64_any_dtype(times) or len(times) < 3:
        return []
    t = pd.DatetimeIndex(times)
    t = t.tz_localize(None) if t.tz is not None else t
    days = np.diff(t.as_unit("ns").asi8.astype(np.float64)) / 86_400e9
    days = days[days > 0]
    if not days.size:
        return []
    step, span = float(np.median(days)), float(days.sum())
    return [p for p, (_, cycle) in CALENDAR_CYCLES.items() if step < cycle / 2 and span >= 2 * cycle]


def calendar_features(times, parts):
    """(len(times), 2 * len(parts)): sine and cosine of each part's phase in its cycle."""
    idx = pd.DatetimeIndex(times)
    idx = idx.tz_localize(None) if idx.tz is not None else idx
    cols = []
    for p in parts:
        if p == "month":
            phase = (idx.month - 1 + (idx.day - 1) / idx.days_in_month) / 12.0
        elif p == "weekday":
            phase = (idx.dayofweek + idx.hour / 24.0) / 7.0
        else:
            phase = (idx.hour + idx.minute / 60.0) / 24.0
        phase = np.asarray(phase, dtype=np.float64)
        cols += [np.sin(2 * np.pi * phase), np.cos(2 * np.pi * phase)]
    return np.stack(cols, axis=1) if cols else np.zeros((len(idx), 0))


def future_times(times, steps):
    """The next `steps` times after the data, at its step."""
    t = pd.DatetimeIndex(times)
    freq = pd.infer_freq(t) if len(t) >= 3 else None
    if freq is None:
        return t[-1] + (t[-1] - t[-2]) * np.arange(1, steps + 1)
    offset = pd.tseries.frequencies.to_offset(freq)
    return pd.date_range(start=t[-1] + offset, periods=steps, freq=offset)


def lag_design(y, starts, lags, extra, h):
    """Quick-check inputs per origin: the last `lags` targets (+ `extra` over the first h forecast steps),
    and outputs."""
    x = np.stack([y[s - lags:s] for s in starts])
    out = np.stack([y[s:s + h] for s in starts])
    if RELATIVE:
        last = x[:, -1:, :]
        x, out = x - last, out - last
    parts = [x.reshape(len(starts), -1)]
    if extra is not None and extra.shape[1]:
        parts.append(np.stack([extra[s:s + h] for s in starts]).reshape(len(starts), -1))
    return np.concatenate(parts, axis=1), out.reshape(len(starts), -1)


def ridge_error(xa, ya, xb, yb, alpha=1.0):
    mu, sd = xa.mean(axis=0), xa.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    a = np.hstack([(xa - mu) / sd, np.ones((len(xa), 1))])
    b = np.hstack([(xb - mu) / sd, np.ones((len(xb), 1))])
    reg = alpha * np.eye(a.shape[1])
    reg[-1, -1] = 0.0
    w = np.linalg.solve(a.T @ a + reg, a.T @ ya)
    return float(np.mean((b @ w - yb) ** 2))


def calendar_helps(series, calendar, known, train_starts, val_starts):
    """CALENDAR = "auto": does a ridge regression on lagged targets predict the validation part at least
    2% better with the calendar values of the forecast steps than without? None: too few windows to tell."""
    y = np.log1p(np.clip(series, 0, None)) if LOG_TRANSFORM else np.asarray(series, dtype=np.float64)
    tr, va = np.asarray(train_starts), np.asarray(val_starts)
    if len(va) < 2:
        cut = int(len(tr) * 0.75)
        tr, va = tr[:cut], tr[cut:]
    if len(tr) < 8 or len(va) < 2:
        return None
    train_end = int(tr[-1]) + HORIZON
    mu, sd = y[:train_end].mean(axis=0), y[:train_end].std(axis=0)
    y = (y - mu) / np.where(sd > 1e-12, sd, 1.0)
    if len(tr) > 2000:
        tr = tr[np.linspace(0, len(tr) - 1, 2000).astype(int)]
    if len(va) > 2000:
        va = va[np.linspace(0, len(va) - 1, 2000).astype(int)]
    lags, n, h = int(max(1, min(WINDOW, 48, 480 // y.shape[1]))), len(y), min(HORIZON, 24)
    base = known[:n] if known.shape[1] else None
    both = calendar[:n] if base is None else np.hstack([base, calendar[:n]])
    without = ridge_error(*lag_design(y, tr, lags, base, h), *lag_design(y, va, lags, base, h))
    with_cal = ridge_error(*lag_design(y, tr, lags, both, h), *lag_design(y, va, lags, both, h))
    gain = 1.0 - with_cal / without if without > 0 else 0.0
    print(f"Calendar check: validation error {without:.4g} without, {with_cal:.4g} with ({gain:+.0%}).")
    return round(gain, 4) >= 0.02


def add_covariates(values, times, future_rows, starts):
    """Replace the raw KNOWN_FUTURE columns at the end of `values` by the led KNOWN_FUTURE and calendar
    columns. Returns (values, the calendar parts used)."""
    k, n = len(KNOWN_FUTURE), values.shape[0]
    base, raw = values[:, :values.shape[1] - k], values[:, values.shape[1] - k:]
    fut = np.zeros((HORIZON, 0))
    if k:
        given = np.zeros((0, k))
        if future_rows is not None and len(future_rows):
            given = np.stack([to_numbers(future_rows[c], c).to_numpy() for c in KNOWN_FUTURE], axis=1)
            bad = np.flatnonzero(~np.isfinite(given).all(axis=1))
            given = given[:int(bad[0]) if bad.size else len(given)]
        fut = given[:HORIZON]
        if len(fut) < HORIZON:   # not given: the last value carries on (only the forecast after the data uses it)
            fut = np.vstack([fut, np.repeat(raw[-1:] if len(fut) == 0 else fut[-1:], HORIZON - len(fut), axis=0)])
    parts = calendar_parts(times) if CALENDAR != "off" else []
    cal = np.zeros((n + HORIZON, 0))
    if parts:
        cal = calendar_features(pd.DatetimeIndex(times).append(future_times(times, HORIZON)), parts)
        if CALENDAR == "auto" and not calendar_helps(values[:, :len(TARGETS)], cal, raw, starts["train"],
                                                     starts["val"]):
            parts, cal = [], np.zeros((n + HORIZON, 0))
    if parts:
        print("Calendar features:", ", ".join(CALENDAR_CYCLES[p][0] for p in parts))
    led = np.hstack([np.vstack([raw, fut]), cal])[HORIZON:HORIZON + n]
    return np.hstack([base, led]), parts
'''
