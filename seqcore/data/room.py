"""What a series allows a forecaster: rows in each part of the chronological split, training windows, the
longest window and horizon that leave enough of them, and advice built only from those facts (never a
setting the data cannot take). Used by :mod:`seqcore.data.defaults`, the Data page's warning and the
Results page's advice."""

from __future__ import annotations

from dataclasses import dataclass

from seqcore.config import DataSpec

MIN_TRAIN_WINDOWS = 20      # training windows a forecaster needs to learn from (the Data page warns below it)
MIN_FORECAST_ROWS = 20     # shorter series are refused: too few examples to learn from and to test on
FLOOR_WINDOWS = 10          # a window shorter than one season only when one season would leave fewer than this
MAX_AUTO_WINDOW = 256       # longer windows train slowly; an automatic window or a suggested one never exceeds this


def split_rows(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """(train, validation, test) rows of a chronological split, as forecasting splits (windows.py)."""
    from seqcore.data.windows import chronological_split

    s = chronological_split(int(n), val_fraction, test_fraction)
    return s.train_end, s.val_end - s.train_end, s.n - s.val_end


def train_windows(n: int, window: int, horizon: int, val_fraction: float, test_fraction: float) -> int:
    """Training windows a series of ``n`` rows gives (as seqcore.modeling.tasks.forecast.prepare makes them)."""
    train, _, _ = split_rows(n, val_fraction, test_fraction)
    return max(0, train - int(window) - int(horizon) + 1)


def longest_window(n: int, horizon: int, val_fraction: float, test_fraction: float,
                   min_windows: int = MIN_TRAIN_WINDOWS) -> int:
    """The longest look-back window that leaves ``min_windows`` training windows (0: none does)."""
    train, _, _ = split_rows(n, val_fraction, test_fraction)
    return max(0, train - int(horizon) + 1 - int(min_windows))


def longest_horizon(n: int, window: int, val_fraction: float, test_fraction: float,
                    min_windows: int = MIN_TRAIN_WINDOWS) -> int:
    """The longest horizon the validation and test parts hold that leaves ``min_windows`` training windows."""
    train, val, test = split_rows(n, val_fraction, test_fraction)
    cap = min([test] + ([val] if val_fraction > 0 else []))
    return max(0, min(cap, train - int(window) + 1 - int(min_windows)))


@dataclass(frozen=True)
class Room:
    """What a series of ``n`` rows allows under a spec's shares (forecasting)."""

    n: int
    train_rows: int
    windows: int            # training windows with the spec's window and horizon
    max_window: int         # longest window leaving MIN_TRAIN_WINDOWS (0: none)
    max_horizon: int        # longest horizon with the spec's window leaving MIN_TRAIN_WINDOWS (0: none)


def forecast_room(n: int, spec: DataSpec) -> Room:
    train, _, _ = split_rows(n, spec.val_fraction, spec.test_fraction)
    return Room(n=int(n), train_rows=train,
                windows=train_windows(n, spec.window, spec.horizon, spec.val_fraction, spec.test_fraction),
                max_window=longest_window(n, spec.horizon, spec.val_fraction, spec.test_fraction),
                max_horizon=longest_horizon(n, spec.window, spec.val_fraction, spec.test_fraction))


def rows_from_sizes(spec: DataSpec, sizes: dict | None) -> int | None:
    """The series length behind a forecasting run's window counts ``{"train", "val", "test"}`` (as stored in
    its metrics), or None when they do not fit ``spec``'s window, horizon and shares."""
    try:
        w_tr, w_va, w_te = (int((sizes or {}).get(k) or 0) for k in ("train", "val", "test"))
    except (TypeError, ValueError):
        return None
    L, H = spec.window, spec.horizon
    if w_tr < 1 or w_te < 1:
        return None
    train = w_tr + L + H - 1
    val_end = train + (w_va + H - 1 if spec.val_fraction > 0 and w_va > 0 else 0)
    n = w_te + val_end + H - 1
    if split_rows(n, spec.val_fraction, spec.test_fraction)[0] != train or \
            train_windows(n, L, H, spec.val_fraction, spec.test_fraction) != w_tr:
        return None
    return n


def shorter_window(spec: DataSpec, n_rows: int) -> int:
    """A shorter look-back window worth trying when the training part has fewer than MIN_TRAIN_WINDOWS windows
    (0: none): whole seasons while one season leaves FLOOR_WINDOWS (as the defaults choose), else the longest
    window leaving MIN_TRAIN_WINDOWS; never below one season when the window is one season already and leaves
    FLOOR_WINDOWS."""
    room = forecast_room(n_rows, spec)
    season = spec.season or 0

    def left(window: int) -> int:
        return train_windows(n_rows, window, spec.horizon, spec.val_fraction, spec.test_fraction)

    if room.windows >= MIN_TRAIN_WINDOWS:
        return 0
    if season and season < spec.window and left(season) >= FLOOR_WINDOWS:
        return season * max(1, room.max_window // season)     # keep whole seasons
    if season and spec.window <= season and room.windows >= FLOOR_WINDOWS:
        return 0
    return room.max_window if 1 <= room.max_window < spec.window else 0


def few_windows_warning(n_windows: int, n_rows: int | None = None, spec: DataSpec | None = None) -> str | None:
    """The Data page's warning when the training part has fewer than MIN_TRAIN_WINDOWS windows, with a window
    that would leave enough when there is one (None when there are enough)."""
    if n_windows >= MIN_TRAIN_WINDOWS:
        return None
    text = (f"Only {n_windows} training window(s): too few for the model to learn the pattern (aim for at least "
            f"{MIN_TRAIN_WINDOWS}); it may lose to the simple baselines.")
    if n_rows and spec is not None:
        pick = shorter_window(spec, n_rows)
        if pick:
            left = train_windows(n_rows, pick, spec.horizon, spec.val_fraction, spec.test_fraction)
            text += f" A look-back window of {pick} leaves {left}."
        elif spec.season and spec.window <= spec.season:
            text += f" The window already covers just one season ({spec.season} steps)."
        text += (" A shorter horizon, smaller validation/test shares or more data leave more windows."
                 if spec.horizon > 1 else " Smaller validation/test shares or more data leave more windows.")
    return text


def forecast_advice(spec: DataSpec, n_rows: int) -> list[str]:
    """Concrete changes a forecaster that lost to the baselines can try on this data, each one a setting the
    data can take (checked with :func:`forecast_room`), e.g. ``"a shorter window (12 leaves 20 training
    windows; now 24 leaves 4)"``."""
    room = forecast_room(n_rows, spec)
    out: list[str] = []
    season = spec.season or 0
    if room.windows < MIN_TRAIN_WINDOWS:
        pick = shorter_window(spec, n_rows)
        if pick:
            left = train_windows(n_rows, pick, spec.horizon, spec.val_fraction, spec.test_fraction)
            out.append(f"a shorter look-back window ({pick} leaves {left} training windows; {spec.window} "
                       f"leaves {room.windows})")
        if spec.horizon > 1:
            w1 = train_windows(n_rows, spec.window, 1, spec.val_fraction, spec.test_fraction)
            if w1 > room.windows:
                out.append(f"a horizon of 1 step ({w1} training windows)")
        out.append(f"more data ({n_rows} rows leave {room.windows} training window(s))")
    else:
        longer = [v for v in ((season * (spec.window // season + 1)) if season else 0, 2 * spec.window)
                  if spec.window < v <= min(room.max_window, MAX_AUTO_WINDOW)]
        if longer:
            v = min(longer)
            w = train_windows(n_rows, v, spec.horizon, spec.val_fraction, spec.test_fraction)
            out.append(f"a longer look-back window ({v} still leaves {w} training windows)")
    out.append("more epochs or a different model size")
    return out


__all__ = ["FLOOR_WINDOWS", "MAX_AUTO_WINDOW", "MIN_FORECAST_ROWS", "MIN_TRAIN_WINDOWS", "Room", "few_windows_warning",
           "forecast_advice", "forecast_room", "longest_horizon", "longest_window", "rows_from_sizes", "shorter_window",
           "split_rows", "too_few_rows", "train_windows"]


def too_few_rows(n: int) -> str | None:
    """The refusal for a series too short to forecast (fewer than :data:`MIN_FORECAST_ROWS` rows), else None:
    one message for the Data page's checks and for training (CLI, worker)."""
    if n >= MIN_FORECAST_ROWS:
        return None
    return (f"Too few rows to learn from: the series has {n:,} rows, and forecasting needs at least "
            f"{MIN_FORECAST_ROWS} (about {FLOOR_WINDOWS} examples to learn from, and a few rows kept back to test "
            "the model on). Add more history to the file.")
