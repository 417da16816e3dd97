"""Known-future covariates for forecasting: user columns marked "known in advance" and calendar features.

The model keeps one input tensor. A known-future column enters it **led by H steps**: the input row at
position i carries that column's value at i + H. A window ending at origin t (rows t-L+1 .. t) therefore
carries the values for t+1 .. t+H in its last H rows (and earlier ones before them), never a target.
Calendar features (:mod:`seqcore.data.calendar`) are computed for those same future times.

Input columns, in order: targets, past features, known-future columns, calendar columns. ``state`` records
``known_future`` (the user columns), ``calendar`` ({"setting", "parts", "check"}) and ``covariates`` (the
names of the led input columns) so Predict rebuilds them.

``calendar="auto"`` uses the calendar when a quick, honest check says it helps: a ridge regression from the
training part's lagged targets to the next H values, with and without the calendar values of those H steps,
compared on the validation part (no network is trained twice).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.data import schema
from seqcore.data.calendar import calendar_features, calendar_names, calendar_parts, describe
from seqcore.errors import DataError

#: the calendar is used in "auto" when the quick check's validation error is at least this much lower
AUTO_GAIN = 0.02


def _names(cols) -> str:
    return ", ".join(f"'{c}'" for c in cols)


def _empty_targets(df: pd.DataFrame, targets) -> np.ndarray:
    empty = np.ones(len(df), dtype=bool)
    for c in targets:
        if c in df.columns:
            empty &= np.isnan(schema.numeric_column(df, c))
    return empty


def split_future_rows(df: pd.DataFrame, spec) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(history, future rows or None): with known-future columns the file's last rows may have every target
    empty and carry the known columns' future values (as Predict expects); they are kept apart from the
    history. Without known-future columns the frame is returned as it is."""
    if not spec.known_future or not len(df) or any(c not in df.columns for c in spec.targets):
        return df, None
    filled = np.flatnonzero(~_empty_targets(df, spec.targets))
    k = len(df) - (int(filled[-1]) + 1 if filled.size else 0)
    if not k:
        return df, None
    return df.iloc[: len(df) - k], df.iloc[len(df) - k:]


def _leading_filled(rows: pd.DataFrame | None, known) -> np.ndarray:
    """(m, K) the known columns' values in the future rows, up to the first row with an empty cell."""
    if rows is None or not len(rows) or not known:
        return np.zeros((0, len(known)))
    vals = np.stack([schema.numeric_column(rows, c) for c in known], axis=1)
    bad = np.flatnonzero(~np.isfinite(vals).all(axis=1))
    return vals[: int(bad[0]) if bad.size else len(vals)]


def _future_times(times, steps: int, frequency: str | None = None):
    if not isinstance(times, pd.DatetimeIndex) or steps < 1:
        return None
    try:   # microseconds: nanosecond stamps end in 2262, which a long monthly forecast passes
        offset = pd.tseries.frequencies.to_offset(frequency or schema.infer_frequency(times))
        return pd.date_range(start=times.max() + offset, periods=steps, freq=offset, unit="us")
    except Exception:  # noqa: BLE001 - an unknown step only costs the calendar
        return None


def _lag_design(y: np.ndarray, starts: np.ndarray, lags: int, horizon: int, relative: bool,
                extra: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Ridge inputs/outputs per origin s: the last ``lags`` target rows, ``extra`` rows s .. s+H-1 (the
    known-future values of the forecast steps), and the targets s .. s+H-1."""
    x = np.stack([y[s - lags:s] for s in starts])          # (n, lags, T)
    out = np.stack([y[s:s + horizon] for s in starts])     # (n, H, T)
    if relative:
        last = x[:, -1:, :]
        x, out = x - last, out - last
    parts = [x.reshape(len(starts), -1)]
    if extra is not None and extra.shape[1]:
        parts.append(np.stack([extra[s:s + horizon] for s in starts]).reshape(len(starts), -1))
    return np.concatenate(parts, axis=1), out.reshape(len(starts), -1)


def _ridge_error(xa, ya, xb, yb, alpha: float = 1.0) -> float:
    mu, sd = xa.mean(axis=0), xa.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    a, b = (xa - mu) / sd, (xb - mu) / sd
    a1, b1 = np.hstack([a, np.ones((len(a), 1))]), np.hstack([b, np.ones((len(b), 1))])
    reg = alpha * np.eye(a1.shape[1])
    reg[-1, -1] = 0.0
    w = np.linalg.solve(a1.T @ a1 + reg, a1.T @ ya)
    return float(np.mean((b1 @ w - yb) ** 2))


def calendar_check(series: np.ndarray, calendar: np.ndarray, known: np.ndarray | None, train_starts, val_starts,
                   window: int, horizon: int, *, log_transform: bool, relative: bool) -> dict | None:
    """The quick linear check behind ``calendar="auto"``: validation MSE (scaled targets) of a ridge regression
    on lagged targets (+ user known-future values) without and with the calendar values of the forecast steps.
    ``calendar`` / ``known``: (>= n, C) / (>= n, K) values at each time (not led). None when there are too few
    windows to tell."""
    y = np.log1p(np.clip(series, 0, None)) if log_transform else np.asarray(series, dtype=np.float64)
    tr, va = np.asarray(train_starts), np.asarray(val_starts)
    if len(va) < 2:    # no validation part: hold out the last quarter of the training windows
        cut = int(len(tr) * 0.75)
        tr, va = tr[:cut], tr[cut:]
    if len(tr) < 8 or len(va) < 2:
        return None
    train_end = int(tr[-1]) + horizon
    mu, sd = y[:train_end].mean(axis=0), y[:train_end].std(axis=0)
    y = (y - mu) / np.where(sd > 1e-12, sd, 1.0)
    if len(tr) > 2000:
        tr = tr[np.linspace(0, len(tr) - 1, 2000).astype(int)]
    if len(va) > 2000:
        va = va[np.linspace(0, len(va) - 1, 2000).astype(int)]
    lags = int(max(1, min(window, 48, 480 // y.shape[1])))   # a cheap check: at most ~480 lag inputs,
    h = min(horizon, 24)                                       # the first 24 steps, 2,000 training windows
    n = len(y)
    base = None if known is None or not known.shape[1] else known[:n]
    both = calendar[:n] if base is None else np.hstack([base, calendar[:n]])
    errs = {}
    for name, extra in (("without", base), ("with", both)):
        xa, ya = _lag_design(y, tr, lags, h, relative, extra)
        xb, yb = _lag_design(y, va, lags, h, relative, extra)
        errs[name] = _ridge_error(xa, ya, xb, yb)
    gain = 1.0 - errs["with"] / errs["without"] if errs["without"] > 0 else 0.0
    return {"without": round(errs["without"], 6), "with": round(errs["with"], 6), "gain": round(gain, 4)}


def add_covariates(values: np.ndarray, times, spec, future_rows: pd.DataFrame | None, starts: dict):
    """Replace the raw known-future columns at the end of ``values`` ((n, T + F + K), from the cleaned data)
    by the led known-future and calendar columns. Returns (values (n, T + F + K + C), state part, notes)."""
    known, H, t = list(spec.known_future), spec.horizon, len(spec.targets)
    k = len(known)
    n = values.shape[0]
    base, raw = values[:, : values.shape[1] - k], values[:, values.shape[1] - k:]
    notes: list[str] = []
    fut = _leading_filled(future_rows, known)[:H] if k else np.zeros((H, 0))
    if k and len(fut) < H:
        last = raw[-1:] if len(fut) == 0 else fut[-1:]
        fill = np.repeat(last, H - len(fut), axis=0)
        notes.append(f"The forecast after the data (forecast.csv) assumes {_names(known)} keep{'s' if k == 1 else ''} "
                     f"{'its' if k == 1 else 'their'} last value over the steps not given in the file; give the "
                     "future values in Predict for a real forecast.")
        fut = np.vstack([fut, fill])
    parts = calendar_parts(times) if spec.calendar != "off" else []
    ftimes = _future_times(times, H)
    if parts and ftimes is None:
        parts = []
    check = None
    if spec.calendar == "on" and not parts:
        notes.append("Calendar features need a date or time column with a regular step shorter than the cycle "
                     "(months, weekdays or hours) and at least two cycles of data; none were added.")
    cal = calendar_features(times.as_unit("us").append(ftimes), parts) if parts else np.zeros((n + H, 0))
    if parts and spec.calendar == "auto":
        check = calendar_check(values[:, :t], cal, raw if k else None, starts["train"], starts["val"],
                               spec.window, H, log_transform=spec.log_transform, relative=spec.relative)
        what = describe(parts)
        if check is not None and check["gain"] >= AUTO_GAIN:
            notes.append(f"Calendar features ({what}) were added: they lowered the validation error of a quick "
                         f"linear check by {check['gain'] * 100:.0f}%.")
        else:
            g = 0.0 if check is None else check["gain"] * 100
            why = "there was too little data to check" if check is None else (
                f"they did not lower the validation error of a quick linear check (it rose by {-g:.0f}%)" if g < 0
                else f"they lowered the validation error of a quick linear check by only {g:.0f}% (2% needed)")
            notes.append(f"Calendar features ({what}) were not added: {why}.")
            parts, cal = [], np.zeros((n + H, 0))
    full = np.hstack([np.vstack([raw, fut]), cal])          # (n + H, K + C) values at each time
    led = full[H:H + n]
    state = {"known_future": known,
             "calendar": {"setting": spec.calendar, "parts": list(parts), "check": check},
             "covariates": known + calendar_names(parts)}
    return np.hstack([base, led]), state, notes


def has_covariates(state: dict) -> bool:
    return bool(state.get("covariates"))


def future_block(state: dict, known_hist: np.ndarray, times, future_rows: pd.DataFrame | None, steps: int):
    """The led covariate columns for Predict, scaled as in training: (rows for the last L history rows, rows for
    the future rows a roll-forward feeds back). ``known_hist`` (n, K): the known columns over the history.

    The model needs the known columns' values for ceil(steps / H) * H future steps (it forecasts H at a time);
    they come from the rows after the history (targets empty). A plain DataError says what is missing."""
    known = list(state.get("known_future") or [])
    parts = list((state.get("calendar") or {}).get("parts") or [])
    L, H, t = int(state["window"]), int(state["horizon"]), len(state["targets"])
    m = -(-steps // H) * H
    n = known_hist.shape[0]
    if known:
        fut = _leading_filled(future_rows, known)
        if len(fut) < m:
            given = 0 if future_rows is None else len(future_rows)
            empty = [c for c in known if future_rows is not None and len(future_rows) > len(fut)
                     and np.isnan(schema.numeric_column(future_rows.iloc[len(fut):len(fut) + 1], c)).any()]
            col = empty or known
            targets = _names(state["targets"])
            found = (f"the rows after the history give {len(fut)} complete one{'s' if len(fut) != 1 else ''}"
                     + (f" ({_names(col)} is empty in the next)" if empty else "")) if given else \
                "the file has no rows after the history"
            raise DataError(
                f"This model uses the future values of {_names(col)} (known in advance): forecasting {steps} "
                f"step{'s' if steps != 1 else ''} needs them for the next {m} steps, but {found}.",
                hint=f"Add {m} rows after the history, one per future step in time order, with {targets} left "
                     f"empty and {_names(known)} filled in.")
        fut = fut[:m]
    else:
        fut = np.zeros((m, 0))
    if parts:
        ftimes = _future_times(times, m, state.get("frequency"))
        if ftimes is None:
            raise DataError("This model uses calendar features, which need the uploaded data's time column to be "
                            "dates with a regular step.", hint="Upload the history with its date/time column.")
        cal = calendar_features(times.as_unit("us").append(ftimes), parts)
    else:
        cal = np.zeros((n + m, 0))
    full = np.hstack([np.vstack([known_hist, fut]), cal])
    led = full[H:]                                          # (n + m - H, E): row i carries time i + H
    e = led.shape[1]
    mean = np.asarray(state["mean"][-e:]) if e else np.zeros(0)
    std = np.asarray(state["std"][-e:]) if e else np.ones(0)
    led = (led - mean) / std
    return led[n - L:n], led[n:]


def predict_instructions(state: dict) -> list[str]:
    """What a file for Predict needs for this model's known-future inputs, in plain sentences ([] when none)."""
    out = []
    known = list(state.get("known_future") or [])
    H = int(state.get("horizon") or 1)
    if known:
        out.append(f"This model uses the future values of {_names(known)} (known in advance): after the history, "
                   f"add one row per step to forecast, with {_names(state.get('targets') or [])} left empty and "
                   f"{_names(known)} filled in. It forecasts {H} step{'s' if H != 1 else ''} at a time, so give "
                   f"{H} such row{'s' if H != 1 else ''} for up to {H} step{'s' if H != 1 else ''}, and a whole "
                   f"multiple of {H} for more.")
    parts = list((state.get("calendar") or {}).get("parts") or [])
    if parts:
        out.append(f"It also uses calendar features ({describe(parts)}) from the time column; they are worked out "
                   "for the future dates, so you do not add them.")
    return out
