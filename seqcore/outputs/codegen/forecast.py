"""Section 2 of a forecast script: clean the series, split it in time order, scale, cut windows
(the script's ``prepare``), as ``seqcore.modeling.tasks.forecast`` does.
"""

from __future__ import annotations

FORECAST_PREP = '''

# =============================================================================
# 2. Preprocessing: clean the series, split it in time order, scale, cut windows
# =============================================================================
TIME_WORDS = re.compile(r"time|date|stamp|epoch|unix|posix|^ts$|_ts$|^ts_|created|updated|modified|_at$|"
                        r"datetime|when|day|excel|serial|fecha|datum|zeit", re.I)
EXCEL_WORDS = re.compile(r"date|day|excel|serial|stamp|fecha|datum", re.I)
WEEK = r"^(\d{4})[-\s]?[Ww](\d{1,2})(?:[-\s]?([1-7]))?$"                  # 2020-W05, 2020 W5
QUARTER = r"^(\d{4})\s*[-\s]?\s*[Qq]([1-4])$"                              # 1970 Q1
DAY_MONTH = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]+(.+))?$"  # 31/01/2024 or 01/31/2024


def to_dates(frame):
    """year/month/day columns -> datetimes (NaT where the date does not exist)."""
    return pd.to_datetime(frame, errors="coerce")


def numbers_as_dates(numbers, code):
    """yyyymmdd digits, Unix seconds / milliseconds or Excel day numbers -> datetimes."""
    if code == "yyyymmdd":
        whole = numbers.where((numbers == numbers.round()) & numbers.between(10_000_101, 99_991_231))
        v = whole.fillna(0).astype("int64")
        out = to_dates(pd.DataFrame({"year": v // 10_000, "month": v // 100 % 100, "day": v % 100}))
        return out.where(whole.notna())
    if code == "excel":  # day 1 = 1900-01-01; Excel's 29 Feb 1900 never was, so count from 1899-12-30
        days = pd.to_timedelta(numbers.where(numbers >= 61, numbers + 1), unit="D")
        return (pd.Timestamp("1899-12-30") + days).dt.round("ms")  # Excel keeps times to the millisecond
    return pd.to_datetime(numbers, unit="s" if code == "unix_s" else "ms", errors="coerce")


def day_month_dates(text, day_first):
    """31/01/2024 (day first) or 01/31/2024 (month first), with an optional time of day."""
    m = text.str.extract(DAY_MONTH)
    a, b, year = (pd.to_numeric(m[i], errors="coerce") for i in range(3))
    year = year.where(m[2].str.len() != 2, np.where(year < 69, 2000 + year, 1900 + year))
    day, month = (a, b) if day_first else (b, a)
    out = to_dates(pd.DataFrame({"year": year, "month": month, "day": day}))
    clock = m[3].notna()
    if clock.any():
        tod = pd.to_datetime("2000-01-01 " + m[3][clock].str.strip(), errors="coerce", format="mixed")
        out[clock] = out[clock] + (tod - pd.Timestamp("2000-01-01"))
    return out


def text_dates(text):
    """Dates written out: 2024-01-31, 31 Jan 2024, 1991 Jul, 1970 Q1, 2020-W05 (its Monday), time zones."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    week, quarter = text.str.extract(WEEK), text.str.extract(QUARTER)
    is_week, is_quarter = week[0].notna(), quarter[0].notna()
    if is_week.any():
        iso = week[0] + "-W" + week[1].str.zfill(2) + "-" + week[2].fillna("1")
        out[is_week] = pd.to_datetime(iso[is_week], format="%G-W%V-%u", errors="coerce")
    if is_quarter.any():
        q = pd.to_numeric(quarter[1][is_quarter])
        out[is_quarter] = to_dates(pd.DataFrame({"year": pd.to_numeric(quarter[0][is_quarter]),
                                                 "month": 3 * (q - 1) + 1, "day": 1}))
    rest = text[~(is_week | is_quarter)]
    if len(rest):
        try:
            times = pd.to_datetime(rest, errors="coerce")
        except ValueError:  # several time-zone offsets (summer time): everything in UTC
            times = pd.to_datetime(rest, errors="coerce", utc=True)
        if times.isna().any():  # e.g. 31/01/2024: try day-first, then one format per cell
            day_first = pd.to_datetime(rest, errors="coerce", dayfirst=True)
            times = day_first if day_first.isna().sum() < times.isna().sum() else times
            times = times.fillna(pd.to_datetime(rest[times.isna()], errors="coerce", format="mixed"))
        if getattr(times.dt, "tz", None) is not None:  # keep the wall-clock time as written
            times = times.dt.tz_localize(None)
        out[rest.index] = times
    return out


def detect_time_format(values, name):
    """How the time column is written (see TIME_FORMAT), as Sequence Studio detects it."""
    text = as_text(values)
    if text.str.fullmatch(r"\d{8}").all() and numbers_as_dates(pd.to_numeric(text), "yyyymmdd").notna().all():
        return "yyyymmdd"
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        steps = np.diff(numbers.to_numpy())
        rising = len(steps) == 0 or ((steps >= 0).mean() >= 0.9 and (steps > 0).any())
        lo, hi = numbers.min(), numbers.max()
        if TIME_WORDS.search(str(name)) and rising:
            if (numbers == numbers.round()).all() and 1e11 <= lo and hi <= 4.2e12:
                return "unix_ms"
            if 1e8 <= lo and hi <= 4.2e9:
                return "unix_s"
            if EXCEL_WORDS.search(str(name)) and 10_000 <= lo and hi <= 80_000:
                return "excel"
        return "number"
    parts = text.str.extract(DAY_MONTH)
    if parts[0].notna().all():
        day_first = (pd.to_numeric(parts[0]) > 12).any()
        month_first = (pd.to_numeric(parts[1]) > 12).any()
        if day_first != month_first:
            return "dayfirst" if day_first else "monthfirst"
        if not day_first:  # no value tells: month first, unless only day first gives even steps
            def even(times):
                u = pd.DatetimeIndex(times.dropna()).unique().sort_values()
                return len(u) >= 3 and pd.infer_freq(u) is not None
            head = text.iloc[:200]
            if not even(day_month_dates(head, False)) and even(day_month_dates(head, True)):
                return "dayfirst"
            return "monthfirst"
    return "text"


def as_text(values):
    """Stripped strings; whole numbers without '.0' (19580329.0 -> '19580329')."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    return values.astype(str).str.strip()


def year_part_dates(years, parts):
    """Year + quarter (1-4), month (1-12) or week (1-53) in TIME_PART -> the first day of each."""
    name = str(TIME_PART).lower()
    kind = ("quarter" if re.search(r"quarter|qtr|^q$", name) else "month" if re.search(r"month|^m$", name)
            else "week" if re.search(r"week|^wk$|^w$", name) else None)
    p = pd.to_numeric(as_text(parts).str.replace(r"^[QqWw]\s*", "", regex=True), errors="coerce")
    if kind is None:
        kind = "quarter" if p.max() <= 4 else "month" if p.max() <= 12 else "week"
    y = pd.to_numeric(years, errors="coerce")
    if kind == "week":
        iso = y.astype("Int64").astype(str) + "-W" + p.astype("Int64").astype(str).str.zfill(2) + "-1"
        return pd.to_datetime(iso, format="%G-W%V-%u", errors="coerce")
    return to_dates(pd.DataFrame({"year": y, "month": 3 * (p - 1) + 1 if kind == "quarter" else p, "day": 1}))


def parse_times(values, parts=None):
    """The time column as numbers (e.g. years) or datetimes, to put rows in time order."""
    if values.isna().any():
        fail(f"time column {TIME_COLUMN!r} has empty cells.")
    if parts is not None:
        times = year_part_dates(values, parts)
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.Series(values.to_numpy(), index=values.index)
    else:
        code = TIME_FORMAT or detect_time_format(values, TIME_COLUMN)
        text = as_text(values)
        if code == "number":
            times = pd.to_numeric(text, errors="coerce")
        elif code in ("yyyymmdd", "unix_s", "unix_ms", "excel"):
            times = numbers_as_dates(pd.to_numeric(text, errors="coerce"), code)
        elif code in ("dayfirst", "monthfirst"):
            times = day_month_dates(text, code == "dayfirst")
        elif "%" in code:
            times = pd.to_datetime(text, format=code, errors="coerce")
        else:
            times = text_dates(text)
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
    """Rows in time order as float64, shape (rows, len(TARGETS) + len(FEATURES) + len(KNOWN_FUTURE)): targets
    first; their times (None without TIME_COLUMN); the rows after the history that carry future KNOWN_FUTURE
    values (None when there are none)."""
    df, future_rows = split_future_rows(df)
    columns = TARGETS + FEATURES + KNOWN_FUTURE
    part = [TIME_PART] if TIME_COLUMN and TIME_PART else []
    require_columns(df, ([TIME_COLUMN] if TIME_COLUMN else []) + part + columns)
    frame = df[([TIME_COLUMN] if TIME_COLUMN else []) + [c for c in part if c not in columns] + columns].copy()
    if TIME_COLUMN:
        times = parse_times(frame[TIME_COLUMN], frame[TIME_PART] if part else None)
        if times.duplicated().any():
            fail(f"time column {TIME_COLUMN!r} has repeated timestamps; combine those rows first.")
        if not times.is_monotonic_increasing:  # sort by time, keeping equal times in file order
            order = np.argsort(times.to_numpy(), kind="stable")
            frame, times = frame.iloc[order], times.iloc[order]
        frame = frame.reset_index(drop=True)
        frame["__time__"] = times.to_numpy()
    for c in columns:
        frame[c] = to_numbers(frame[c], c)
    frame = handle_missing(frame, columns)
    times = frame["__time__"].reset_index(drop=True) if TIME_COLUMN else None
    return frame[columns].to_numpy(dtype=np.float64), times, future_rows


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
    values, times, future_rows = clean_series(df)
    n, n_targets = values.shape[0], len(TARGETS)
    train_end, val_end = split_rows(n)
    starts = {"train": window_starts(0, train_end), "val": window_starts(train_end, val_end),
              "test": window_starts(val_end, n)}
    if len(starts["train"]) < 2 or len(starts["test"]) < 1 or (VAL_FRACTION > 0 and len(starts["val"]) < 1):
        fail(f"only {n} rows: too few for training, validation and test windows with WINDOW={WINDOW}, "
             f"HORIZON={HORIZON}. Use a shorter window or horizon, or more data.")
    values, calendar = add_covariates(values, times, future_rows, starts)  # section 2b
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
                     "std": std.tolist(), "known_future": KNOWN_FUTURE, "calendar": calendar}
    return data
'''
