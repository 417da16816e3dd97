"""Prediction intervals for forecasts: 80% and 95% bands around every forecast step, calibrated on errors the
model made on data it was not trained on.

How (the default method, ``conformal``; see ``bench/intervals.py`` for how it was chosen):

1. The model kept by validation predicts every validation window. Its errors are taken in the space where they
   are most stable: the log space (``log1p``) when the run uses a log transform (errors then grow with the
   level, so a band of fixed width in log space is a band of fixed *percentage* width), else the data's units.
2. Per horizon step h and target, the band's half-width is the split-conformal quantile of the absolute
   errors: the k-th smallest of n, k = ceil((n + 1) * level) (the finite-sample correction that makes the
   coverage at least ``level`` when errors are exchangeable).
3. A short validation part has too few windows for that (95% needs n >= 19). The errors are then pooled over
   the steps after dividing each step's errors by that step's mean absolute error (its scale); the pooled
   quantile q of those n * H scores gives the half-width q * scale_h ("normalised" conformal). Every
   half-width is at least the previous step's (errors do not shrink further ahead).
4. The same quantiles are taken over the errors of the last training windows (at most :data:`TRAIN_WINDOWS`),
   and each half-width is at least that: a short validation period can be calmer than what follows it (on
   seatbelts the test part holds the seat-belt law's break), and the training errors guard against that
   (``calibrated_on``: ``"validation+training"``).
5. Without a validation part only the training windows' errors are used, widened by :data:`TRAIN_INFLATION`
   (a model fits its own training data better than new data); ``calibrated_on`` then says ``"training"`` and
   the run gets a note.
6. Steps past the trained horizon H (a forecast rolled forward, see ``forecast.roll_forward``) get the last
   step's half-width times sqrt(h / H): errors of a forecast built on earlier forecasts grow roughly like a
   random walk's.

With a final fit (a fresh model trained on the training and validation data together) the bands still come from
the model validation picked, before the final fit: the final model has seen the validation data, so its
validation errors would be too small. Its errors are taken to be like those of the picked model.

The alternatives measured beside it (``bench/intervals.py``): ``conformal_val`` (steps 1-3 only, no training
guard), ``conformal_pooled`` (step 3 always, even with many windows) and ``gaussian``: z * (root mean square
validation error) per step and target (z = 1.28 for 80%, 1.96 for 95%). On the eight forecasting sets (3 seeds)
``conformal`` was the only one to meet the goal of 90-98% average coverage of the 95% band with no set below 85%.

The calibration is stored in the run's JSON state (``state["intervals"]``: numbers and strings only), so a
saved bundle gives the same bands in Predict. Numpy only: importing this module imports no deep-learning library.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LEVELS = (80, 95)
METHODS = ("conformal", "conformal_val", "conformal_pooled", "gaussian")
DEFAULT_METHOD = "conformal"
#: Widening of the half-widths when they come from the training windows' own (in-sample) errors.
TRAIN_INFLATION = 1.5
#: At most this many of the last training windows calibrate a run without a validation part.
TRAIN_WINDOWS = 60
_Z = {80: 1.2815515655446004, 95: 1.959963984540054}


# ----------------------------------------------------------------------------- the maths


def conformal_quantile(scores, level: float) -> float:
    """Split-conformal quantile of ``scores`` at ``level`` (0-1): the k-th smallest of the n finite scores with
    k = ceil((n + 1) * level); ``inf`` when n is too small for that level (k > n), ``nan`` for no scores."""
    s = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    s = s[np.isfinite(s)]
    n = len(s)
    if n == 0:
        return float("nan")
    k = math.ceil((n + 1) * float(level) - 1e-9)
    return float("inf") if k > n else float(s[k - 1])


def _space(state: dict) -> str:
    return "log" if state.get("log_transform") else "original"


def to_space(values, space: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.log1p(np.maximum(v, -1 + 1e-12)) if space == "log" else v


def from_space(values, space: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return np.expm1(np.clip(v, -50, 50)) if space == "log" else v


def _monotone(widths: np.ndarray) -> np.ndarray:
    """(H, T) half-widths made non-decreasing along the steps."""
    return np.maximum.accumulate(widths, axis=0)


def half_widths(residuals: np.ndarray, method: str = DEFAULT_METHOD, levels=LEVELS) -> dict[int, np.ndarray]:
    """(n, H, T) errors (in the calibration space) -> {level: (H, T) half-widths}."""
    r = np.abs(np.asarray(residuals, dtype=np.float64))
    n, H, T = r.shape
    out = {}
    for lev in levels:
        a = lev / 100.0
        if method == "gaussian":
            w = _Z[int(lev)] * np.sqrt(np.nanmean(r ** 2, axis=0))
        elif method == "conformal":
            w = np.array([[conformal_quantile(r[:, h, j], a) for j in range(T)] for h in range(H)])
            if not np.isfinite(w).all():   # too few windows for this level: normalised conformal over all steps
                w = _pooled(r, a)
        elif method == "conformal_pooled":
            w = _pooled(r, a)
        else:
            raise ValueError(f"unknown interval method {method!r}; expected one of {METHODS}")
        out[int(lev)] = _monotone(np.nan_to_num(w, nan=0.0))
    return out


def _pooled(r: np.ndarray, a: float) -> np.ndarray:
    """Normalised conformal: |errors| (n, H, T) divided by each step's mean |error|, pooled over the steps;
    the pooled quantile times each step's scale. Fewer than ~20 errors in all: the largest, doubled."""
    n, H, T = r.shape
    top = np.nanmax(r) if r.size and np.nanmax(r) > 0 else 1.0
    scale = np.nanmean(r, axis=0)
    scale = np.where(scale > 0, scale, top)
    w = np.stack([conformal_quantile(r[:, :, j] / scale[None, :, j], a) * scale[:, j] for j in range(T)], axis=1)
    if not np.isfinite(w).all():
        w = np.broadcast_to(2.0 * np.nanmax(r, axis=(0, 1)), (H, T)).copy()
    return w


# ----------------------------------------------------------------------------- calibration of a run


def calibrate(state: dict, predicted: np.ndarray, actual: np.ndarray, *, source: str = "validation",
              method: str = DEFAULT_METHOD, floor: float | None = None, training=None) -> dict:
    """The JSON-ready calibration of a run from (n, H, T) predictions and actual values in original units.
    ``source``: "validation" or "training" (then widened by :data:`TRAIN_INFLATION`). ``floor``: the lowest
    value a band may reach (0 for data that is never negative), or None. ``training``: (predicted, actual) of
    the last training windows; with the ``conformal`` method and validation errors, the half-widths are at least
    the training errors' (``calibrated_on`` is then "validation+training")."""
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}; expected one of {METHODS}")
    space = _space(state)
    res = to_space(actual, space) - to_space(predicted, space)
    widths = half_widths(res, "conformal" if method == "conformal_val" else method)
    if method == "conformal" and source == "validation" and training is not None and len(training[0]):
        guard = half_widths(to_space(training[1], space) - to_space(training[0], space), "conformal")
        widths = {k: np.maximum(v, guard[k]) for k, v in widths.items()}
        source = "validation+training"
    factor = TRAIN_INFLATION if source == "training" else 1.0
    return {"method": method, "space": space, "levels": list(LEVELS), "calibrated_on": source,
            "n_residuals": int(res.shape[0]), "inflation": factor, "floor": floor,
            "beyond_horizon": "last step x sqrt(h / H)",
            "width": {str(k): (v * factor).round(10).tolist() for k, v in widths.items()}}


class _Tail:
    """The last ``k`` windows of a window source (inputs only: what prediction reads)."""

    def __init__(self, src, k: int):
        self.src, self.first, self.k = src, len(src) - k, k

    def __len__(self) -> int:
        return self.k

    def inputs(self, idx):
        return self.src.inputs(np.asarray(idx) + self.first)


def part_errors(prep, predict_source, part: str, last: int | None = None):
    """(predicted, actual), each (n, H, T) in original units, for the windows of ``part`` (its last ``last``
    when given); ``predict_source(src)`` gives the model's raw outputs for every window of a source."""
    from seqcore.modeling.tasks.forecast import window_actuals, window_predictions

    src = getattr(prep, part)
    k = len(src) if last is None else min(len(src), int(last))
    tail = _Tail(src, k)
    return window_predictions(prep, part, predict_source(tail), tail.first), window_actuals(prep, part, tail.first)


def calibrate_run(prep, predict_source, method: str = DEFAULT_METHOD) -> dict | None:
    """Calibrate a forecasting run with the model kept by validation: ``predict_source(src)`` gives its raw
    outputs for the windows of a source. Validation windows when there are any (never narrower than the last
    training windows' errors), else the last training windows alone."""
    if prep.task != "forecast":
        return None
    if prep.state.get("panel"):   # many series: standardised units pooled over the series
        from seqcore.modeling.panel_mix import calibrate as calibrate_panel

        return calibrate_panel(prep, predict_source, method)
    series = prep.extra["series"][: prep.extra["split"].train_end]
    floor = 0.0 if len(series) and np.nanmin(series) >= 0 else None
    training = part_errors(prep, predict_source, "train", TRAIN_WINDOWS)
    if prep.val is not None and len(prep.val):
        pred, actual = part_errors(prep, predict_source, "val")
        return calibrate(prep.state, pred, actual, source="validation", method=method, floor=floor,
                         training=training)
    return calibrate(prep.state, *training, source="training", method=method, floor=floor)


# ----------------------------------------------------------------------------- bands


def step_widths(calib: dict, level: int, steps) -> np.ndarray:
    """Half-widths (len(steps), T) for 1-based ``steps``; past the trained horizon H the last step's width
    grows with sqrt(h / H)."""
    w = np.asarray(calib["width"][str(int(level))], dtype=np.float64)
    H = w.shape[0]
    steps = np.asarray(steps, dtype=np.int64)
    base = w[np.clip(steps, 1, H) - 1]
    grow = np.sqrt(np.maximum(steps, H) / H)[:, None]
    return base * np.where(steps[:, None] > H, grow, 1.0)


def bands(calib: dict, predicted, steps, level: int) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) around ``predicted`` ((len(steps), T) original units) at ``level``."""
    space = calib.get("space", "original")
    centre = to_space(predicted, space)
    w = step_widths(calib, level, steps)
    lo, hi = from_space(centre - w, space), from_space(centre + w, space)
    if calib.get("floor") is not None:
        lo = np.maximum(lo, calib["floor"])
    return lo, hi


def interval_columns(targets, level: int) -> list[tuple[str, str]]:
    """[(lower name, upper name)] per target: ``lower_80`` with one target, ``<target>_lower_80`` with several."""
    if len(targets) == 1:
        return [(f"lower_{level}", f"upper_{level}")]
    return [(f"{t}_lower_{level}", f"{t}_upper_{level}") for t in targets]


def is_interval_column(name) -> bool:
    parts = str(name).rsplit("_", 2)
    return len(parts) >= 2 and parts[-2] in ("lower", "upper") and parts[-1] in {str(v) for v in LEVELS}


def add_to_forecast(state: dict, frame: pd.DataFrame, pred: np.ndarray) -> pd.DataFrame:
    """A wide forecast table (step, time, one column per target) with its interval columns, when the run has
    a calibration (``state["intervals"]``); unchanged otherwise."""
    calib = state.get("intervals")
    if not calib or not len(frame):
        return frame
    steps = frame["step"].to_numpy()
    for lev in LEVELS:
        lo, hi = bands(calib, pred, steps, lev)
        for j, (a, b) in enumerate(interval_columns(state["targets"], lev)):
            frame[a], frame[b] = lo[:, j], hi[:, j]
    return frame


def add_to_predictions(state: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """The long test predictions (origin, step, time, target, actual, predicted, error) with
    ``lower_80, upper_80, lower_95, upper_95`` (the target of each row is named in its own column)."""
    calib = state.get("intervals")
    if not calib or not len(frame):
        return frame
    if state.get("panel") and "series" in frame.columns:   # each row's band sized by its own series' spread
        from seqcore.modeling.panel_mix import add_to_predictions as add_panel

        return add_panel(state, frame)
    index = {name: j for j, name in enumerate(state["targets"])}
    cols = np.array([index[t] for t in frame["target"]])
    pred = frame["predicted"].to_numpy(dtype=np.float64)
    steps = frame["step"].to_numpy()
    for lev in LEVELS:
        lo, hi = bands(calib, np.repeat(pred[:, None], len(index), axis=1), steps, lev)
        rows = np.arange(len(frame))
        frame[f"lower_{lev}"], frame[f"upper_{lev}"] = lo[rows, cols], hi[rows, cols]
    return frame


def coverage(frame: pd.DataFrame) -> dict[str, float | None]:
    """Share of test values inside each band, from a predictions table with interval columns."""
    out = {}
    actual = frame["actual"].to_numpy(dtype=np.float64)
    ok = np.isfinite(actual)
    for lev in LEVELS:
        lo, hi = frame[f"lower_{lev}"].to_numpy(dtype=np.float64), frame[f"upper_{lev}"].to_numpy(dtype=np.float64)
        inside = (actual >= lo) & (actual <= hi)
        out[str(lev)] = float(inside[ok].mean()) if ok.any() else None
    return out


def summary(calib: dict, frame: pd.DataFrame) -> dict:
    """``metrics.json``'s ``intervals`` entry: method, levels, test coverage, what it was calibrated on."""
    return {"method": calib["method"], "levels": list(LEVELS), "coverage": coverage(frame),
            "calibrated_on": calib["calibrated_on"], "n_residuals": calib["n_residuals"],
            "space": calib["space"]}


def coverage_sentence(intervals: dict | None) -> str | None:
    """The test coverage in plain words, for the Results page and the report; None without intervals."""
    cov = (intervals or {}).get("coverage") or {}
    if cov.get("95") is None:
        return None
    text = (f"95% of the time the true value should fall in the light band; on the test part it did "
            f"{cov['95']:.0%} of the time")
    if cov.get("80") is not None:
        text += f" (the darker 80% band: {cov['80']:.0%})"
    text += "."
    if intervals.get("calibrated_on") == "training":
        text += (" The bands were sized on the training data's own errors (there is no validation part), widened "
                 f"{TRAIN_INFLATION:g} times; they may be too narrow.")
    return text


#: Under a forecast past the end of the data (the Predict page).
BANDS_CAPTION = ("The shaded bands show how far off the forecast may be: the true value should fall in the light "
                 "band 95% of the time and in the darker one 80% of the time (sized on the model's errors on data "
                 "it did not train on). They widen further ahead.")


def apply_to_run(prep, calib: dict | None, predictions: pd.DataFrame, metrics: dict) -> pd.DataFrame:
    """After the test evaluation: store the calibration in the state (the bundle, forecast.csv, Predict), add
    the bands to the test predictions and their coverage to ``metrics["intervals"]``."""
    if not calib:
        return predictions
    prep.state["intervals"] = calib
    predictions = add_to_predictions(prep.state, predictions)
    metrics["intervals"] = summary(calib, predictions)
    if prep.state.get("panel"):   # many series: the pooled coverage above, and each series' own
        from seqcore.modeling.panel_mix import coverage_per_series

        metrics["intervals"]["per_series"] = coverage_per_series(predictions)
    if calib["calibrated_on"] == "training":
        prep.notes.append(   # the run's notes (metrics.json "notes" is built from them just after)
            "The forecast bands (80% and 95%) were sized on the errors of the last training windows, widened "
            f"{TRAIN_INFLATION:g} times, because the run has no validation part; they may be too narrow. Keep a "
            "validation part for calibrated bands.")
    return predictions
