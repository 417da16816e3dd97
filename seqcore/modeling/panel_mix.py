"""Many-series (panel) forecasting beside the other forecast features: statistical baselines fitted per series,
prediction intervals calibrated once for the whole panel, and the known-future / calendar settings.

Statistical baselines (:mod:`seqcore.modeling.statmodels`): AutoETS, AutoARIMA and AutoTheta are fitted on each
series' own data before its test part and forecast that series' test windows, so they are compared with the
model on the same windows. Each model gets one time budget for the whole panel (:data:`STAT_BUDGET_S`, the same
a single series gets): a baseline must be measured on every series or it is not reported, so a model that runs
out of time (or cannot be fitted to one series) is left out with a plain note saying how far it got; one whose
pace on the first few series says it would need far more than its budget is given up then, not after spending it.

Intervals (:mod:`seqcore.modeling.intervals`): the model's errors are taken in each series' standardised units
(the scaled space the network works in: after the optional log transform, minus the series' training mean,
divided by its training spread), pooled over all series, so one set of half-widths serves every series; a
series' band is that half-width times the series' own spread, in its own units (:func:`series_calib`). The
training guard uses the last training windows of every series (:func:`_guard_windows`), not only the last
series'.

Numpy only at import time.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from seqcore.errors import SpecError

#: Seconds each statistical model may take over all the series of a panel together.
STAT_BUDGET_S = 20.0
#: A model is given up early when, after this many series, its pace says it would need this many times its budget.
PACE_AFTER, PACE_FACTOR = 3, 2.0


# ----------------------------------------------------------------------------- settings a panel does not support


def check_spec(spec) -> None:
    """Refuse known-future columns, and the calendar switched on, with a series id (plain SpecError)."""
    known = list(getattr(spec, "known_future", ()) or ())
    if known:
        raise SpecError(
            f"Columns known in advance ({', '.join(known)}) are not available for many-series files yet (the series "
            f"id column '{spec.id}' is set).",
            hint="Use them as ordinary extra input columns, or forecast one series at a time without a series id.")
    if getattr(spec, "calendar", "off") == "on":
        raise SpecError("Calendar features are not available for many-series files yet (the series id column "
                        f"'{spec.id}' is set).",
                        hint="Set the calendar option to 'auto' or 'off', or forecast one series at a time.")


def calendar_notes(spec, datetime_times: bool) -> list[str]:
    """The note for ``calendar="auto"`` on a panel with real dates: the calendar is skipped, not tried."""
    if getattr(spec, "calendar", "off") == "auto" and datetime_times:
        return ["Calendar features (month, weekday, hour) were not tried: they are not available for many-series "
                "files yet."]
    return []


# ----------------------------------------------------------------------------- statistical baselines


def stat_baselines(series: np.ndarray, panel: dict, keys, starts: np.ndarray, horizon: int, season,
                   budget_s: float | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """({name: (n_windows, H, T) forecasts in the order of ``starts``}, notes) for every statistical model that
    could be measured on every series within its budget. ``panel``: offsets, lengths, train_ends, sid["test"]."""
    from seqcore.modeling.statmodels import LABELS, STAT_MODELS, stat_forecasts

    budget = STAT_BUDGET_S if budget_s is None else float(budget_s)
    sid = panel["sid"]["test"]
    S = len(keys)
    out, notes = {}, []
    for name in STAT_MODELS:
        label = LABELS[name]
        t0 = time.perf_counter()
        parts, unseasonal, failed = [], 0, None
        for i, (o, n, e) in enumerate(zip(panel["offsets"], panel["lengths"], panel["train_ends"])):
            left = budget - (time.perf_counter() - t0)
            if left <= 0:
                failed = _budget_note(label, budget, i, S)
                break
            local = starts[sid == i] - int(o)
            r = stat_forecasts(series[int(o):int(o) + int(n)], local, horizon, int(e), season, (name,), budget_s=left)
            if name not in r.forecasts:
                if time.perf_counter() - t0 >= budget:
                    failed = _budget_note(label, budget, i, S)
                else:
                    why = next((x for x in r.notes if "skipped" in x), f"{label} could not be fitted.")
                    why = why.split(": ", 1)[-1].rstrip(".")
                    failed = (f"{label} is not reported: on series '{keys[i]}' {why[:1].lower() + why[1:]}. A "
                              "baseline is reported only when it can be measured on every series.")
                break
            unseasonal += any("without a season" in x for x in r.notes)
            parts.append(r.forecasts[name])
            spent = time.perf_counter() - t0
            pace = spent / (i + 1) * S
            if i + 1 < S and i + 1 >= PACE_AFTER and pace > PACE_FACTOR * budget:   # clearly will not make it
                failed = (f"{label} is not reported: at its pace on the first {i + 1:,} series it would take about "
                          f"{pace:,.0f} s for all {S:,}, well past its {budget:.0f} s budget for the whole panel "
                          "(a baseline is reported only when it is measured on every series).")
                break
        if failed:
            notes.append(failed)
            continue
        out[name] = np.concatenate(parts) if parts else np.zeros((0, horizon, series.shape[1]))
        if unseasonal:
            notes.append(f"{label} was fitted without a season on {unseasonal:,} of the {S:,} series (fewer than two "
                         "whole seasons in their training part).")
    return out, notes


def _budget_note(label: str, budget: float, done: int, total: int) -> str:
    return (f"{label} is not reported: its {budget:.0f} s budget for the whole panel ran out after {done:,} of the "
            f"{total:,} series, and a baseline is reported only when it is measured on every series.")


# ----------------------------------------------------------------------------- intervals


class _Subset:
    """Some windows of a window source (inputs only: what prediction reads)."""

    def __init__(self, src, idx):
        self.src, self.idx = src, np.asarray(idx, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.idx)

    def inputs(self, idx):
        return self.src.inputs(self.idx[np.asarray(idx)])


def _guard_windows(prep, per_series_total: int) -> np.ndarray:
    """Positions in the training source of the last few training windows of every series."""
    sid = prep.extra["panel"]["sid"]["train"]
    S = len(prep.extra["panel"]["keys"])
    k = max(1, math.ceil(per_series_total / max(S, 1)))
    return np.concatenate([np.flatnonzero(sid == i)[-k:] for i in range(S)])


def scaled_errors(prep, predict_source, part: str, idx=None) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, actual), each (n, H, T), in the series' standardised units, for windows ``idx`` of ``part``."""
    st = prep.state
    src = getattr(prep, part)
    idx = np.arange(len(src)) if idx is None else np.asarray(idx, dtype=np.int64)
    H, t = int(st["horizon"]), len(st["targets"])
    pred = np.asarray(predict_source(_Subset(src, idx)), dtype=np.float64).reshape(-1, H, t)
    if st.get("relative"):
        pred = pred + np.asarray(src.last_values(idx), dtype=np.float64).reshape(-1, 1, t)
    starts = prep.extra["starts"][part][idx]
    actual = np.asarray(prep.extra["scaled"][starts[:, None] + np.arange(H)[None, :]], dtype=np.float64)[:, :, :t]
    return pred, actual


def calibrate(prep, predict_source, method: str | None = None) -> dict:
    """The calibration of a panel run, in standardised units pooled over all series (``space``: "standardised")."""
    from seqcore.modeling import intervals as iv

    method = method or iv.DEFAULT_METHOD
    p = prep.extra["panel"]
    series = prep.extra["series"]
    nonneg = all(np.nanmin(series[o:o + e]) >= 0 for o, e in zip(p["offsets"], p["train_ends"]) if e > 0)
    plain = {"log_transform": False}
    training = scaled_errors(prep, predict_source, "train", _guard_windows(prep, iv.TRAIN_WINDOWS))
    if prep.val is not None and len(prep.val):
        calib = iv.calibrate(plain, *scaled_errors(prep, predict_source, "val"), source="validation", method=method,
                             training=training)
    else:
        calib = iv.calibrate(plain, *training, source="training", method=method)
    calib["space"] = "standardised"
    calib["floor"] = 0.0 if nonneg else None
    return calib


def series_calib(state: dict, calib: dict, std) -> dict:
    """A panel calibration made into one series' own (the half-widths times its spread, in its own space)."""
    t = len(state["targets"])
    s = np.asarray(std, dtype=np.float64)[:t]
    return dict(calib, space="log" if state.get("log_transform") else "original",
                width={k: (np.asarray(w, dtype=np.float64) * s[None, :]).tolist() for k, w in calib["width"].items()})


def add_to_predictions(state: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """The panel's long test predictions with ``lower_80, upper_80, lower_95, upper_95``, each row's band sized by
    its own series' spread (rows matched by their ``series`` and ``target`` columns)."""
    from seqcore.modeling import intervals as iv

    calib = state["intervals"]
    t = len(state["targets"])
    space = "log" if state.get("log_transform") else "original"
    codes_s = pd.Categorical(frame["series"].astype(str))
    std_tab = np.array([np.asarray(state["panel"]["std"][k], dtype=np.float64)[:t] for k in codes_s.categories])
    index = {name: j for j, name in enumerate(state["targets"])}
    cols = np.array([index[x] for x in frame["target"]])
    rows = np.arange(len(frame))
    scale = std_tab[codes_s.codes, cols]
    centre = iv.to_space(frame["predicted"].to_numpy(dtype=np.float64), space)
    steps = frame["step"].to_numpy()
    for lev in iv.LEVELS:
        w = iv.step_widths(calib, lev, steps)[rows, cols] * scale
        lo, hi = iv.from_space(centre - w, space), iv.from_space(centre + w, space)
        if calib.get("floor") is not None:
            lo = np.maximum(lo, calib["floor"])
        frame[f"lower_{lev}"], frame[f"upper_{lev}"] = lo, hi
    return frame


def coverage_per_series(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """{series: {"80": share, "95": share}}: how often each series' test values fell inside its bands."""
    from seqcore.modeling import intervals as iv

    return {str(k): iv.coverage(rows) for k, rows in frame.groupby(frame["series"].astype(str), sort=False)}


__all__ = ["STAT_BUDGET_S", "add_to_predictions", "coverage_per_series", "calendar_notes", "calibrate", "check_spec", "scaled_errors", "series_calib",
           "stat_baselines"]
