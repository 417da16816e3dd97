"""Forecasting: the next H steps of one or more numeric targets from the last L steps.

Rows are in time order. Every time step's input vector is [targets..., features...], standardised
with the training part's mean and std (after an optional log1p of the targets). The model predicts
all H steps at once (direct multi-output), shape (H, T).

Past the end of the data (:func:`predict_new`) any number of steps N can be asked for: up to H they are the
model's direct output; beyond H the forecast rolls forward on the trained horizon (the H predicted steps are
appended to the history in scaled space and the model predicts again). A model with feature columns needs
their future values for that: the file's last rows carry them, with the target cells left empty.

Known-future inputs (:mod:`seqcore.data.covariates`: columns known in advance and calendar features) follow
the features in the input, led by H steps, so a window ending at the origin carries their values over the
forecast steps; Predict takes the user columns' future values from those same last rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.data import covariates, schema
from seqcore.config import DataSpec
from seqcore.errors import DataError, SpecError
from seqcore.modeling.models import ModelShape
from seqcore.data.room import too_few_rows
from seqcore.data.windows import WindowSource, chronological_split, window_starts
from seqcore.modeling.tasks.common import Prepared, baseline_outputs, require_columns


def _clean_frame(df: pd.DataFrame, spec: DataSpec, columns: list[str], *, what: str,
                 time_format: str | None = None):
    """Column checks, time parsing/sorting, missing values and numeric conversion.

    ``time_format``: how the time column is written when ``spec.time_format`` is None (the code found in the
    training data, so new data is read the same way); detected when both are None.
    Returns (values (N, len(columns)) float64, time index or None, notes)."""
    part = spec.time_part if spec.time else None
    require_columns(df, [spec.time, *([part] if part else []), *columns], what=what)
    notes: list[str] = []
    keep = ([spec.time] if spec.time else []) + ([part] if part and part not in columns else []) + list(columns)
    frame = df[keep].copy()
    if spec.time:
        times = schema.parse_time(frame, spec.time, spec.time_format or time_format, part)
        if times.has_duplicates:
            dup = times[times.duplicated()][0]
            raise DataError(
                f"Time column '{spec.time}' has repeated timestamps (for example {dup}).",
                hint="Combine the rows of each timestamp (sum or average them) before uploading, or choose no time column.",
            )
        if not times.is_monotonic_increasing:
            order = np.argsort(np.asarray(times), kind="stable")
            frame = frame.iloc[order]
            times = times[order]
            notes.append(f"Rows were sorted by '{spec.time}' because they were not in time order.")
        frame = frame.reset_index(drop=True)
        frame["__time__"] = np.asarray(times)
    for c in columns:
        frame[c] = schema.numeric_column(frame, c)
        bad = ~np.isfinite(frame[c].to_numpy(dtype=np.float64, na_value=np.nan)) & frame[c].notna().to_numpy()
        if bad.any():
            line = int(np.argmax(bad)) + 2
            raise DataError(f"Column '{c}' has an infinite or too-large value (around line {line}).",
                            hint="Replace it with a real number or leave the cell empty.")
    frame, note = schema.apply_missing(frame, list(columns), spec.missing)
    if note:
        notes.append(note)
    values = frame[list(columns)].to_numpy(dtype=np.float64)
    times = pd.Index(frame["__time__"]) if spec.time else None
    if times is not None and np.issubdtype(np.asarray(times).dtype, np.datetime64):
        times = pd.DatetimeIndex(times)
    return values, times, notes


def _panel():
    """The panel task (many series in one file, ``DataSpec.id`` set): imported when needed."""
    from seqcore.modeling.tasks import panel

    return panel


def _time_code(df: pd.DataFrame, spec: DataSpec) -> str | None:
    """How the time column was read: the chosen format, or the one detected in the training data."""
    if spec.time_format or spec.time_part:
        return spec.time_format
    from seqcore.data.schema.timeformat import detect_time_format
    from seqcore.data.schema.parsing import _fmt
    return detect_time_format(df[spec.time], spec.time, _fmt(df))


def _min_rows(spec: DataSpec) -> int:
    n = spec.window + spec.horizon
    for f in (spec.val_fraction, spec.test_fraction):
        n += spec.horizon if f > 0 else 0
    return n + 2


def prepare(df: pd.DataFrame, spec: DataSpec, *, test_df: pd.DataFrame | None = None, seed: int = 0,
            test_rows: int | None = None) -> Prepared:
    """``test_rows``: the test part is exactly the last ``test_rows`` rows (a backtest fold), not a fraction."""
    from seqcore.modeling.baselines import guess_season

    if spec.id:   # many series in one file: seqcore.modeling.tasks.panel
        return _panel().prepare(df, spec, test_df=test_df, seed=seed, test_rows=test_rows)
    spec.validate()
    targets, features, known = list(spec.targets), list(spec.features), list(spec.known_future)
    df, future_rows = covariates.split_future_rows(df, spec)   # rows after the history: known-future values
    values, times, notes = _clean_frame(df, spec, targets + features + known, what="the data")
    if test_df is not None:
        notes.append("A separate test file is used only for classification; forecasting tests on the last part of the series.")
    n, t = values.shape[0], len(targets)
    if too_few_rows(n):
        raise DataError(too_few_rows(n))
    L, H = spec.window, spec.horizon
    split = chronological_split(n, spec.val_fraction, spec.test_fraction, test_rows=test_rows)
    starts = {
        "train": window_starts(0, split.train_end, L, H),
        "val": window_starts(split.train_end, split.val_end, L, H),
        "test": window_starts(split.val_end, n, L, H),
    }
    need_val = spec.val_fraction > 0
    if len(starts["train"]) < 2 or len(starts["test"]) < 1 or (need_val and len(starts["val"]) < 1):
        raise DataError(
            f"Only {n} usable rows: with a window of {L} and a horizon of {H} that is not enough for training, "
            f"validation and test windows (need roughly {max(_min_rows(spec), int((L + H) / max(0.05, 1 - spec.val_fraction - spec.test_fraction)) + 2)} rows).",
            hint="Use a shorter window or horizon, smaller validation/test fractions, or more data.",
        )
    values, cov_state, cov_notes = covariates.add_covariates(values, times, spec, future_rows, starts)
    notes += cov_notes
    series = values[:, :t].copy()  # original units
    transformed = values.copy()
    if spec.log_transform:
        if (series < 0).any():
            c = targets[int(np.argmax((series < 0).any(axis=0)))]
            raise DataError(f"The log transform needs targets of 0 or more, but '{c}' has negative values.",
                            hint="Turn the log transform off for this data.")
        transformed[:, :t] = np.log1p(series)
    train_part = transformed[: split.train_end]
    mean = train_part.mean(axis=0)
    std = train_part.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    scaled = ((transformed - mean) / std).astype(np.float32)
    sources = {k: WindowSource(scaled, scaled[:, :t], s, L, H, relative=spec.relative) for k, s in starts.items()}
    frequency = schema.infer_frequency(times) if times is not None else None
    season = spec.season or guess_season(frequency, n)
    const = [c for c, s in zip(targets + features + known, train_part.std(axis=0)) if s <= 1e-12]
    if const:
        notes.append(f"Column(s) {', '.join(const)} do not change in the training part; they carry no information.")
    state = {
        "task": "forecast",
        "targets": targets,
        "features": features,
        "time": spec.time,
        "time_part": spec.time_part if spec.time else None,
        "time_format": _time_code(df, spec) if spec.time else None,
        "time_kind": None if times is None else ("datetime" if isinstance(times, pd.DatetimeIndex) else "numeric"),
        "frequency": frequency,
        "last_time": None if times is None else str(times[-1]),
        "window": L,
        "horizon": H,
        "log_transform": spec.log_transform,
        "relative": spec.relative,
        "mean": mean.tolist(),
        "std": std.tolist(),
        "floor": target_floors(series[: split.train_end]),
        "season": season,
        "missing": spec.missing,
        "n_rows": n,
        "split": {"train_end": split.train_end, "val_end": split.val_end, "n": n},
        "columns": {c: "numeric" for c in targets + features} | ({spec.time: "time"} if spec.time else {})
        | ({spec.time_part: "time"} if spec.time and spec.time_part else {}) | {c: "numeric" for c in known},
        **cov_state,
    }
    from seqcore.modeling import forecast_base

    based, future = forecast_base.build_sources(state, spec, scaled, series, starts, split, season, notes)
    sources = based or sources
    shape = ModelShape(task="forecast", input_shape=(L, scaled.shape[1]), output_shape=(H, t),
                       small_head=forecast_base.small_head(state))
    return Prepared(
        task="forecast", shape=shape, train=sources["train"], val=sources["val"] if need_val else None,
        test=sources["test"], state=state, notes=notes,
        extra={"series": series, "times": times, "split": split, "starts": starts, "scaled": scaled,
               "base_future": future},
    )


def to_original(state: dict, outputs: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """(n, H, T) model outputs -> original units. ``last`` (n, 1, T): the scaled last observed values,
    added back when the model predicts changes (relative mode)."""
    t = len(state["targets"])
    y = np.asarray(outputs, dtype=np.float64).reshape(-1, state["horizon"], t)
    if (state.get("base") or {}).get("correction") is False:   # the statistical forecast alone (base_select)
        y = np.zeros_like(y)
    if state.get("relative") or (state.get("base") or {}).get("name", "none") != "none":
        y = y + np.asarray(last, dtype=np.float64).reshape(len(y), -1, t)   # (n, 1, T) last value or (n, H, T) base
    return _unscale(state, y)


def _unscale(state: dict, y: np.ndarray) -> np.ndarray:
    """Scaled target values (..., T) -> original units (undoing the standardisation and the log transform;
    a target that never went below zero in training is not forecast below zero, see :func:`target_floors`)."""
    t = len(state["targets"])
    y = np.asarray(y, dtype=np.float64) * np.asarray(state["std"][:t]) + np.asarray(state["mean"][:t])
    if state["log_transform"]:
        y = np.expm1(np.clip(y, -50, 50))
    return apply_floor(state, y)


def target_floors(train_series: np.ndarray) -> list:
    """Per target: 0.0 when its training values are all 0 or more (counts, sales, prices, energy), else None.
    Forecasts of such a target are cut at zero, as the prediction intervals already are: a negative count is
    never a better guess than zero (it always lies further from any possible value)."""
    v = np.asarray(train_series, dtype=np.float64)
    v = v.reshape(len(v), -1)
    return [0.0 if len(v) and np.nanmin(v[:, j]) >= 0 else None for j in range(v.shape[1])]


def apply_floor(state: dict, y: np.ndarray) -> np.ndarray:
    """``y`` (..., T) in original units, cut at each target's floor (bundles saved before floors: unchanged)."""
    floors = state.get("floor")
    if not floors or all(f is None for f in floors):
        return y
    lo = np.array([-np.inf if f is None else f for f in floors], dtype=np.float64)
    return np.maximum(y, lo)


def evaluate(prep: Prepared, outputs: np.ndarray) -> tuple[dict, pd.DataFrame]:
    from seqcore.modeling.metrics import MAIN_METRIC, compare_to_baselines, forecast_metrics
    from seqcore.modeling.statmodels import all_test_baselines

    if prep.state.get("panel"):
        return _panel().evaluate(prep, outputs)
    st = prep.state
    series, split, starts = prep.extra["series"], prep.extra["split"], prep.extra["starts"]["test"]
    H, names = st["horizon"], st["targets"]
    pred = to_original(st, outputs, prep.test.last_values(np.arange(len(prep.test))))
    steps = starts[:, None] + np.arange(H)[None, :]
    actual = series[steps]  # (n, H, T)
    y_train = series[: split.train_end]
    test = forecast_metrics(actual, pred, y_train=y_train, target_names=names)
    # statistical baselines fitted on the data before the test part (rows [:val_end]), see all_test_baselines
    base = baseline_outputs(prep, lambda: all_test_baselines(prep.extra, series, starts, H, split.train_end,
                                                              split.val_end, st["season"]))
    baselines = {k: forecast_metrics(actual, p, y_train=y_train, target_names=names) for k, p in base.items()}
    base_notes = list(prep.extra.get("baseline_notes", []))
    test["notes"] = list(test.get("notes", [])) + base_notes  # they join metrics["notes"]
    metrics = {"test": test, "baselines": baselines, "baseline_notes": base_notes,
               "comparison": compare_to_baselines(test, baselines, MAIN_METRIC["forecast"])}
    if st.get("base"):
        from seqcore.modeling.base_select import model_choice

        metrics["model_choice"] = model_choice(prep)
    times = prep.extra["times"]
    label = (lambda i: times[i]) if times is not None else (lambda i: int(i))
    rows = []
    for w, s in enumerate(starts):
        origin = label(s - 1)
        for h in range(H):
            for j, name in enumerate(names):
                rows.append((origin, h + 1, label(s + h), name, actual[w, h, j], pred[w, h, j]))
    frame = pd.DataFrame(rows, columns=["origin", "step", "time", "target", "actual", "predicted"])
    frame["error"] = frame["predicted"] - frame["actual"]
    return metrics, frame


def window_predictions(prep: Prepared, part: str, outputs: np.ndarray, first: int = 0) -> np.ndarray:
    """Raw model ``outputs`` for the windows ``first``, ``first + 1``, ... of ``part`` ("train", "val" or "test")
    -> (n, H, T) predictions in original units (as :func:`evaluate` does for the test part)."""
    src = {"train": prep.train, "val": prep.val, "test": prep.test}[part]
    return to_original(prep.state, outputs, src.last_values(np.arange(first, first + len(outputs))))


def window_actuals(prep: Prepared, part: str, first: int = 0) -> np.ndarray:
    """The actual (n, H, T) values, original units, that the windows ``first``... of ``part`` forecast."""
    starts = prep.extra["starts"][part][first:]
    return prep.extra["series"][starts[:, None] + np.arange(prep.state["horizon"])[None, :]]


def model_inputs(state: dict, scaled_tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last L scaled rows -> ((1, L, F) model input, (1, 1, T) reference last values)."""
    t = len(state["targets"])
    x = np.array(scaled_tail[-state["window"]:], dtype=np.float32)[None]
    last = x[:, -1:, :t].copy()
    if state.get("relative"):
        x[:, :, :t] -= last
    return x, last


def future_inputs(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Model input and reference values covering the last L rows of the data (of every series in a panel)."""
    if prep.state.get("panel"):
        return _panel().future_inputs(prep)
    if prep.extra.get("base_future") is not None:   # a base (forecast_base): its input and offset
        return prep.extra["base_future"]
    return model_inputs(prep.state, prep.extra["scaled"])


def future_frame(state: dict, outputs: np.ndarray, last_time, last: np.ndarray | None = None) -> pd.DataFrame:
    """Forecast past the end of the data: one row per future step, a column per target (a panel: first a
    ``series`` column, rows for every series)."""
    if state.get("panel"):
        return _panel().future_frame(state, outputs, last)
    return _forecast_table(state, to_original(state, outputs, last)[0], last_time)


def _forecast_table(state: dict, pred: np.ndarray, last_time, frequency: str | None = None) -> pd.DataFrame:
    """(N, T) forecasts in original units -> a table: ``step`` 1..N, ``time`` when known, a column per target."""
    n = len(pred)
    frame = pd.DataFrame({"step": np.arange(1, n + 1)})
    times = _future_times(state, last_time, n, frequency)
    if times is not None:
        frame.insert(1, "time", times)
    for j, name in enumerate(state["targets"]):
        frame[name] = pred[:, j]
    from seqcore.modeling.intervals import add_to_forecast

    return add_to_forecast(state, frame, pred)   # 80% / 95% bands when the run was calibrated


def _future_times(state: dict, last_time, steps: int, frequency: str | None = None):
    """The ``steps`` times after ``last_time`` at the training data's frequency (else ``frequency``, the one
    of the uploaded data); None when there is no time column or the step is unknown."""
    if state.get("time") is None or last_time is None:
        return None
    if state.get("time_kind") == "datetime":
        # microseconds: nanosecond stamps end in 2262, which a long monthly or yearly forecast passes
        idx = pd.DatetimeIndex([pd.Timestamp(last_time)]).as_unit("us")
    else:
        idx = pd.Index([float(last_time)])
        if float(last_time).is_integer():
            idx = pd.Index([int(float(last_time))])
    try:
        return list(schema.future_index(idx, steps, state.get("frequency") or frequency))
    except Exception:  # noqa: BLE001 - an unknown frequency only costs the timestamps
        return None


def required_columns(state: dict) -> dict[str, str]:
    return dict(state["columns"])


#: The most steps :func:`predict_new` forecasts past the end of the data.
MAX_STEPS = 10_000


def check_steps(steps, horizon: int) -> int:
    """How many steps to forecast: ``steps`` checked (a whole number from 1 to :data:`MAX_STEPS`), or the
    trained ``horizon`` when None. A bad value is a :class:`SpecError` saying what is allowed."""
    if steps is None:
        return int(horizon)
    if isinstance(steps, (float, np.floating)) and float(steps).is_integer():
        steps = int(steps)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise SpecError(f"The number of steps to forecast must be a whole number; got {steps!r}.",
                        hint=f"Ask for 1 to {MAX_STEPS:,} steps.")
    if steps < 1:
        raise SpecError(f"The number of steps to forecast must be 1 or more; got {int(steps)}.",
                        hint=f"Ask for 1 to {MAX_STEPS:,} steps (the model was trained for {horizon}).")
    if steps > MAX_STEPS:
        raise SpecError(f"At most {MAX_STEPS:,} steps can be forecast at once; {int(steps):,} were asked for.",
                        hint="Ask for fewer steps: each step past the trained horizon builds on earlier forecasts, "
                             "so forecasts that far ahead say little.")
    return int(steps)


def roll_forward(state: dict, scaled: np.ndarray, steps: int, predict_fn,
                 future_features: np.ndarray | None = None) -> np.ndarray:
    """Forecast ``steps`` values past the end of ``scaled`` ((n >= L, F) rows, scaled as in training; targets
    first). Returns (steps, T) predicted target values in scaled (not relative) units.

    The model predicts H steps at once; for more, those H predictions are appended to the history and the
    model predicts again from the last L rows. Features come from ``future_features`` ((>= steps - H, F - T),
    scaled), which must be given when the model has features and ``steps > H``."""
    L = int(state["window"])
    fut = None if future_features is None else np.asarray(future_features)[None]
    return roll_forward_batch(state, np.asarray(scaled)[None, -L:], steps, predict_fn, fut)[0]


def roll_forward_batch(state: dict, windows: np.ndarray, steps: int, predict_fn,
                       future_features: np.ndarray | None = None) -> np.ndarray:
    """:func:`roll_forward` for B histories at once: ``windows`` (B, L, F) scaled rows -> (B, steps, T).
    Each pass of the model is one batch (B origins), so a backtest over many origins costs ``ceil(steps / H)``
    model calls."""
    t, H = len(state["targets"]), int(state["horizon"])
    hist = np.asarray(windows, dtype=np.float64)
    b = hist.shape[0]
    chunks, done = [], 0
    while done < steps:
        x = hist.astype(np.float32)
        last = x[:, -1:, :t].copy()
        if state.get("relative"):
            x[:, :, :t] -= last
        y = np.asarray(predict_fn(x), dtype=np.float64).reshape(b, H, t)
        if state.get("relative"):
            y = y + last.astype(np.float64)
        chunks.append(y)
        done += H
        if done >= steps:
            break
        new = y
        if hist.shape[2] > t:
            new = np.concatenate([y, np.asarray(future_features, dtype=np.float64)[:, done - H:done]], axis=2)
        hist = np.concatenate([hist, new], axis=1)[:, -hist.shape[1]:]
    return np.concatenate(chunks, axis=1)[:, :steps]


def _future_rows(df: pd.DataFrame, state: dict) -> int:
    """How many of the last rows of ``df`` have every target empty: for a model with features, those rows
    carry the features' future values (0 for a model without features)."""
    if not (state["features"] or state.get("known_future")) or not len(df):
        return 0
    empty = np.ones(len(df), dtype=bool)
    for c in state["targets"]:
        empty &= np.isnan(schema.numeric_column(df, c))
    filled = np.flatnonzero(~empty)
    return len(df) - (int(filled[-1]) + 1 if filled.size else 0)


def _future_features(state: dict, spec: DataSpec, rows: pd.DataFrame, last_time) -> np.ndarray:
    """The future rows' feature values, scaled as in training; DataError for an empty cell or a time that is
    not after the history."""
    feats, t = list(state["features"]), len(state["targets"])
    for c in feats:
        vals = schema.numeric_column(rows, c)
        if np.isnan(vals).any():
            raise DataError(f"Column '{c}' has an empty cell in the rows after the history (the rows with empty "
                            f"{_names(state['targets'])}); those rows must give the future value of every input "
                            "column.", hint=f"Fill in '{c}' in those rows, or remove them.")
    values, times, _ = _clean_frame(rows, spec, feats, what="the rows after the history",
                                    time_format=state.get("time_format"))
    if times is not None and last_time is not None and len(times) and not times[0] > last_time:
        raise DataError(f"The rows with empty {_names(state['targets'])} must come after the history, but one is "
                        f"dated {times[0]}, not after the last known row ({last_time}).",
                        hint="Put the rows that carry future input values at the end of the file, in time order.")
    f = t + len(feats)
    return (values - np.asarray(state["mean"][t:f])) / np.asarray(state["std"][t:f])


def _names(cols) -> str:
    return ", ".join(f"'{c}'" for c in cols)


def predict_new(state: dict, spec: DataSpec, df: pd.DataFrame, predict_fn, steps: int | None = None) -> pd.DataFrame:
    """Forecast ``steps`` (default: the trained horizon H) steps after the end of ``df``, which needs at least
    ``window`` rows of history. Beyond H the forecast rolls forward (see :func:`roll_forward`); a model with
    feature columns then needs their future values in the file's last rows, with the target cells empty."""
    if state.get("panel"):
        return _panel().predict_new(state, spec, df, predict_fn, steps)
    targets, features, known = list(state["targets"]), list(state["features"]), list(state.get("known_future") or [])
    L, H, t = state["window"], state["horizon"], len(state["targets"])
    n = check_steps(steps, H)
    k = _future_rows(df, state)
    history, future = (df.iloc[: len(df) - k], df.iloc[len(df) - k:]) if k else (df, None)
    values, times, _ = _clean_frame(history, spec, targets + features + known, what="the uploaded data",
                                    time_format=state.get("time_format"))
    values, known_hist = values[:, :t + len(features)], values[:, t + len(features):]
    if len(values) < L:
        raise DataError(f"The model looks at the last {L} rows, but the uploaded data has only {len(values)}.",
                        hint=f"Upload at least {L} rows of history.")
    last_time = None if times is None else times[-1]
    fut = None
    if n > H and features:
        need = -(-n // H) * H - H   # the steps whose inputs feed a later pass of the model
        fut = _future_features(state, spec, future, last_time) if future is not None else np.zeros((0, len(features)))
        if len(fut) < need:
            raise DataError(
                f"Forecasting {n} steps with this model needs the future values of its input column(s) "
                f"{_names(features)} for the next {need} steps (it forecasts {H} at a time and feeds them back), "
                f"but the file gives {len(fut)}.",
                hint=f"Add {need} rows after the history that carry the future values of {_names(features)} and "
                     f"leave {_names(targets)} empty, or forecast at most {H} step{'s' if H != 1 else ''}.")
    from seqcore.modeling import forecast_base

    x = values.copy()
    based = forecast_base.active(state)   # a base refits on the whole history, so all of it must fit the log
    if state["log_transform"] and ((x[:, :t] if based else x[-L:, :t]) < 0).any():
        raise DataError("The model was trained with a log transform, so targets must be 0 or more.")
    hist_cov = None
    if covariates.has_covariates(state):   # known-future and calendar columns, led by H steps
        hist_cov, fut_cov = covariates.future_block(state, known_hist, times, future, n)
        if n > H:
            fut = fut_cov if fut is None else np.hstack([fut[:len(fut_cov)], fut_cov])
    f = t + len(features)
    if based:
        feats = (values[:, t:f] - np.asarray(state["mean"][t:f])) / np.asarray(state["std"][t:f])
        if hist_cov is not None:
            cov = np.zeros((len(values), hist_cov.shape[1]))
            cov[-len(hist_cov):] = hist_cov        # only the last L rows reach the network
            feats = np.hstack([feats, cov])
        pred = forecast_base.roll_forward(state, values, n, predict_fn, fut, feats)
        freq = schema.infer_frequency(times) if times is not None and not state.get("frequency") else None
        return _forecast_table(state, pred, last_time, freq)
    if state["log_transform"]:
        x[-L:, :t] = np.log1p(x[-L:, :t])
    scaled = (x[-L:] - np.asarray(state["mean"][:f])) / np.asarray(state["std"][:f])
    if hist_cov is not None:
        scaled = np.hstack([scaled, hist_cov])
    pred = _unscale(state, roll_forward(state, scaled, n, predict_fn, fut))
    freq = schema.infer_frequency(times) if times is not None and not state.get("frequency") else None
    return _forecast_table(state, pred, last_time, freq)
