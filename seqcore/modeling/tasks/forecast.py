"""Forecasting: the next H steps of one or more numeric targets from the last L steps.

Rows are in time order. Every time step's input vector is [targets..., features...], standardised
with the training part's mean and std (after an optional log1p of the targets). The model predicts
all H steps at once (direct multi-output), shape (H, T).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.data import schema
from seqcore.config import DataSpec
from seqcore.errors import DataError
from seqcore.modeling.models import ModelShape
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


def prepare(df: pd.DataFrame, spec: DataSpec, *, test_df: pd.DataFrame | None = None, seed: int = 0) -> Prepared:
    from seqcore.modeling.baselines import guess_season

    spec.validate()
    targets, features = list(spec.targets), list(spec.features)
    values, times, notes = _clean_frame(df, spec, targets + features, what="the data")
    if test_df is not None:
        notes.append("A separate test file is used only for classification; forecasting tests on the last part of the series.")
    n, t = values.shape[0], len(targets)
    L, H = spec.window, spec.horizon
    split = chronological_split(n, spec.val_fraction, spec.test_fraction)
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
    const = [c for c, s in zip(targets + features, train_part.std(axis=0)) if s <= 1e-12]
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
        "season": season,
        "missing": spec.missing,
        "n_rows": n,
        "split": {"train_end": split.train_end, "val_end": split.val_end, "n": n},
        "columns": {c: "numeric" for c in targets + features} | ({spec.time: "time"} if spec.time else {})
        | ({spec.time_part: "time"} if spec.time and spec.time_part else {}),
    }
    shape = ModelShape(task="forecast", input_shape=(L, t + len(features)), output_shape=(H, t))
    return Prepared(
        task="forecast", shape=shape, train=sources["train"], val=sources["val"] if need_val else None,
        test=sources["test"], state=state, notes=notes,
        extra={"series": series, "times": times, "split": split, "starts": starts, "scaled": scaled},
    )


def to_original(state: dict, outputs: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """(n, H, T) model outputs -> original units. ``last`` (n, 1, T): the scaled last observed values,
    added back when the model predicts changes (relative mode)."""
    t = len(state["targets"])
    mean = np.asarray(state["mean"][:t])
    std = np.asarray(state["std"][:t])
    y = np.asarray(outputs, dtype=np.float64).reshape(-1, state["horizon"], t)
    if state.get("relative"):
        y = y + np.asarray(last, dtype=np.float64).reshape(-1, 1, t)
    y = y * std + mean
    if state["log_transform"]:
        y = np.expm1(np.clip(y, -50, 50))
    return y


def evaluate(prep: Prepared, outputs: np.ndarray) -> tuple[dict, pd.DataFrame]:
    from seqcore.modeling.baselines import forecast_baselines
    from seqcore.modeling.metrics import MAIN_METRIC, compare_to_baselines, forecast_metrics

    st = prep.state
    series, split, starts = prep.extra["series"], prep.extra["split"], prep.extra["starts"]["test"]
    H, names = st["horizon"], st["targets"]
    pred = to_original(st, outputs, prep.test.last_values(np.arange(len(prep.test))))
    steps = starts[:, None] + np.arange(H)[None, :]
    actual = series[steps]  # (n, H, T)
    y_train = series[: split.train_end]
    test = forecast_metrics(actual, pred, y_train=y_train, target_names=names)
    base = baseline_outputs(prep, lambda: forecast_baselines(series, starts, H, split.train_end, st["season"]))
    baselines = {k: forecast_metrics(actual, p, y_train=y_train, target_names=names) for k, p in base.items()}
    metrics = {"test": test, "baselines": baselines,
               "comparison": compare_to_baselines(test, baselines, MAIN_METRIC["forecast"])}
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


def model_inputs(state: dict, scaled_tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last L scaled rows -> ((1, L, F) model input, (1, 1, T) reference last values)."""
    t = len(state["targets"])
    x = np.array(scaled_tail[-state["window"]:], dtype=np.float32)[None]
    last = x[:, -1:, :t].copy()
    if state.get("relative"):
        x[:, :, :t] -= last
    return x, last


def future_inputs(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Model input and reference values covering the last L rows of the data."""
    return model_inputs(prep.state, prep.extra["scaled"])


def future_frame(state: dict, outputs: np.ndarray, last_time, last: np.ndarray | None = None) -> pd.DataFrame:
    """Forecast past the end of the data: one row per future step, a column per target."""
    pred = to_original(state, outputs, last)[0]  # (H, T)
    H = state["horizon"]
    times = _future_times(state, last_time, H)
    frame = pd.DataFrame({"step": np.arange(1, H + 1)})
    if times is not None:
        frame.insert(1, "time", times)
    for j, name in enumerate(state["targets"]):
        frame[name] = pred[:, j]
    return frame


def _future_times(state: dict, last_time, steps: int):
    if state.get("time") is None or last_time is None:
        return None
    if state.get("time_kind") == "datetime":
        idx = pd.DatetimeIndex([pd.Timestamp(last_time)])
    else:
        idx = pd.Index([float(last_time)])
        if float(last_time).is_integer():
            idx = pd.Index([int(float(last_time))])
    try:
        return list(schema.future_index(idx, steps, state.get("frequency")))
    except Exception:  # noqa: BLE001 - an unknown frequency only costs the timestamps
        return None


def required_columns(state: dict) -> dict[str, str]:
    return dict(state["columns"])


def predict_new(state: dict, spec: DataSpec, df: pd.DataFrame, predict_fn) -> pd.DataFrame:
    """Forecast the next H steps after the end of ``df`` (which needs at least ``window`` rows)."""
    cols = list(state["targets"]) + list(state["features"])
    values, times, _ = _clean_frame(df, spec, cols, what="the uploaded data", time_format=state.get("time_format"))
    L = state["window"]
    if len(values) < L:
        raise DataError(f"The model looks at the last {L} rows, but the uploaded data has only {len(values)}.",
                        hint=f"Upload at least {L} rows of history.")
    t = len(state["targets"])
    x = values[-L:].copy()
    if state["log_transform"]:
        if (x[:, :t] < 0).any():
            raise DataError("The model was trained with a log transform, so targets must be 0 or more.")
        x[:, :t] = np.log1p(x[:, :t])
    x, last = model_inputs(state, (x - np.asarray(state["mean"])) / np.asarray(state["std"]))
    out = predict_fn(x)
    return future_frame(state, out, None if times is None else times[-1], last)
