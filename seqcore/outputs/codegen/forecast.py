"""Section 2 of a forecast script: clean the series, split it in time order, scale, cut windows
(the script's ``prepare``), as ``seqcore.modeling.tasks.forecast`` does.
"""

from __future__ import annotations

FORECAST_PREP = '''

# =============================================================================
# 2. Preprocessing: clean the series, split it in time order, scale, cut windows
# =============================================================================
def parse_times(values):
    """The time column as numbers (e.g. years) or datetimes, to put rows in time order."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.Series(values.to_numpy(), index=values.index)
    if values.isna().any():
        fail(f"time column {TIME_COLUMN!r} has empty cells.")
    text = values.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        return numbers
    times = pd.to_datetime(text, errors="coerce")
    if times.isna().any():  # e.g. 31/01/2024: try day-first, then one format per cell
        day_first = pd.to_datetime(text, errors="coerce", dayfirst=True)
        times = day_first if day_first.isna().sum() < times.isna().sum() else times
        times = times.fillna(pd.to_datetime(text[times.isna()], errors="coerce", format="mixed"))
    if times.isna().any():
        fail(f"time column {TIME_COLUMN!r} has a value that is not a date: {values[times.isna()].iloc[0]!r}.")
    return times


def handle_missing(frame, columns):
    """Empty cells, handled the way you chose (never silently)."""
    if not frame[columns].isna().any().any():
        return frame
    if MISSING_VALUES == "error":
        bad = [c for c in columns if frame[c].isna().any()]
        fail(f"column {bad[0]!r} has missing values; choose interpolate, ffill or drop for MISSING_VALUES.")
    if MISSING_VALUES == "interpolate":  # straight line between the neighbours (ends: nearest value)
        frame[columns] = frame[columns].interpolate(method="linear", limit_direction="both")
    elif MISSING_VALUES == "ffill":      # repeat the previous value (the first rows take the next one)
        frame[columns] = frame[columns].ffill().bfill()
    elif MISSING_VALUES == "drop":       # leave out rows with a missing value
        frame = frame.dropna(subset=columns)
    return frame


def clean_series(df):
    """Rows in time order as float64, shape (rows, len(TARGETS) + len(FEATURES)): targets first."""
    columns = TARGETS + FEATURES
    require_columns(df, ([TIME_COLUMN] if TIME_COLUMN else []) + columns)
    frame = df[([TIME_COLUMN] if TIME_COLUMN else []) + columns].copy()
    if TIME_COLUMN:
        times = parse_times(frame[TIME_COLUMN])
        if times.duplicated().any():
            fail(f"time column {TIME_COLUMN!r} has repeated timestamps; combine those rows first.")
        if not times.is_monotonic_increasing:  # sort by time, keeping equal times in file order
            frame = frame.iloc[np.argsort(times.to_numpy(), kind="stable")]
        frame = frame.reset_index(drop=True)
    for c in columns:
        frame[c] = to_numbers(frame[c], c)
    frame = handle_missing(frame, columns)
    return frame[columns].to_numpy(dtype=np.float64)


def split_rows(n):
    """Chronological split: train = rows [0, a), validation = [a, b), test = [b, n)."""
    n_test = int(round(n * TEST_FRACTION))
    n_val = int(round(n * VAL_FRACTION))
    return n - n_test - n_val, n - n_test


def window_starts(lo, hi):
    """Forecast origins t whose targets [t, t + HORIZON) lie in rows [lo, hi) and whose inputs
    [t - WINDOW, t) exist (inputs may reach back into the previous part; targets never do)."""
    first, last = max(lo, WINDOW), hi - HORIZON
    return np.arange(first, last + 1) if last >= first else np.zeros(0, dtype=np.int64)


def make_windows(scaled, starts, n_targets):
    """x: (n, WINDOW, inputs) the last WINDOW rows before each origin; y: (n, HORIZON, targets).
    With RELATIVE the targets (and the target inputs) are measured from the last value seen
    before the origin, so the network learns changes rather than levels."""
    x = np.zeros((len(starts), WINDOW, scaled.shape[1]), dtype=np.float32)
    y = np.zeros((len(starts), HORIZON, n_targets), dtype=np.float32)
    for i, t in enumerate(starts):
        x[i] = scaled[t - WINDOW:t]
        y[i] = scaled[t:t + HORIZON, :n_targets]
        if RELATIVE:
            last = scaled[t - 1, :n_targets]
            x[i, :, :n_targets] -= last
            y[i] -= last
    return x, y


def prepare(df):
    values = clean_series(df)
    n, n_targets = values.shape[0], len(TARGETS)
    train_end, val_end = split_rows(n)
    starts = {"train": window_starts(0, train_end), "val": window_starts(train_end, val_end),
              "test": window_starts(val_end, n)}
    if len(starts["train"]) < 2 or len(starts["test"]) < 1 or (VAL_FRACTION > 0 and len(starts["val"]) < 1):
        fail(f"only {n} rows: too few for training, validation and test windows with WINDOW={WINDOW}, "
             f"HORIZON={HORIZON}. Use a shorter window or horizon, or more data.")
    series = values[:, :n_targets].copy()  # the targets in their original units (for the metrics)
    transformed = values.copy()
    if LOG_TRANSFORM:
        if (series < 0).any():
            fail("the log transform needs targets of 0 or more.")
        transformed[:, :n_targets] = np.log1p(series)
    # Standardise every column with the mean and std of the TRAINING rows only,
    # so nothing about the validation or test period leaks into training.
    mean = transformed[:train_end].mean(axis=0)
    std = transformed[:train_end].std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant column is left unscaled
    scaled = ((transformed - mean) / std).astype(np.float32)
    last_window = scaled[-WINDOW:][None].copy()
    last_seen = last_window[:, -1:, :n_targets].copy()  # (1, 1, targets): the reference of RELATIVE
    if RELATIVE:
        last_window[:, :, :n_targets] -= last_seen
    data = {"series": series, "test_starts": starts["test"], "mean": mean, "std": std,
            "last_window": last_window, "last_seen": last_seen,
            "test_last": scaled[starts["test"] - 1, :n_targets][:, None, :]}
    for part, s in starts.items():
        data["x_" + part], data["y_" + part] = make_windows(scaled, s, n_targets)
    if VAL_FRACTION == 0:
        data["x_val"] = data["y_val"] = None
    data["state"] = {"targets": TARGETS, "features": FEATURES, "window": WINDOW, "horizon": HORIZON,
                     "log_transform": LOG_TRANSFORM, "relative": RELATIVE, "mean": mean.tolist(),
                     "std": std.tolist()}
    return data
'''
