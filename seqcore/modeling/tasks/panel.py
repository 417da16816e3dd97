"""Forecasting many series at once (a panel): one global model over every series of a long-format file.

The file has a series id column (``DataSpec.id``), one row per (series, time step). Each series is cleaned and
sorted on its own, scaled with the mean and std of its own training part (after the optional log1p), and split
in time order by the same fractions. The scaled series are stacked into one array; the windows of every series
are origins into that array that never cross from one series into the next, so a single
:class:`~seqcore.data.windows.WindowSource` serves them all without copying a window (1,000 series x 500 steps
are 500,000 rows, a few MB). Series too short for the window are left out, with a note saying how many.

Evaluation scores the test windows of every series pooled (the usual ``metrics["test"]`` keys, MASE scaled per
series by its own training part) and per series (``metrics["test"]["per_series"][<id>]``); baselines likewise.
The comparison with the baselines uses MASE, which does not let the largest series drown the others. The
statistical baselines (AutoETS, AutoARIMA, AutoTheta) are fitted per series within one budget for the whole panel,
and the forecast bands are calibrated once in the series' standardised units (:mod:`seqcore.modeling.panel_mix`).
A backtest fold's ``test_rows`` is each series' own test block. Columns known in advance and calendar features
are not available for panels yet (refused / skipped with a note).

Predicting with a saved model (:func:`predict_new`) forecasts every series of the uploaded file. A series the
model was trained on is scaled as in training; a series it has not seen is scaled by its own uploaded history
(the global model learned scaled shapes, so it can forecast a new series), and the table's ``attrs["notes"]``
says which series those were.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.config import DataSpec
from seqcore.data import schema
from seqcore.data.panel import check_series_count, split_series
from seqcore.data.windows import Split, WindowSource, chronological_split, window_starts
from seqcore.errors import DataError
from seqcore.modeling.models import ModelShape
from seqcore.modeling.tasks.common import Prepared, baseline_outputs, require_columns

NOTE_NAMES = 3        # series named in a note before "and N more"


def _names(keys, k: int = NOTE_NAMES) -> str:
    keys = list(keys)
    shown = ", ".join(f"'{x}'" for x in keys[:k])
    return shown + (f" and {len(keys) - k:,} more" if len(keys) > k else "")


def _check_roles(df: pd.DataFrame, spec: DataSpec) -> None:
    roles = [("time column", spec.time), ("quarter/month column", spec.time_part)] + \
        [("target", c) for c in spec.targets] + [("extra input column", c) for c in spec.features]
    clash = [what for what, c in roles if c == spec.id]
    if clash:
        raise DataError(f"The series id column '{spec.id}' is also picked as the {clash[0]}.",
                        hint="Pick a column that only names the series (for example a firm or store name), and "
                             "other columns for the other roles.")
    require_columns(df, [spec.id], what="the data")


def _scaling(transformed: np.ndarray, train_end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    part = transformed[:train_end]
    mean, raw = part.mean(axis=0), part.std(axis=0)
    return mean, np.where(raw > 1e-12, raw, 1.0), raw


def clean_series(df: pd.DataFrame, spec: DataSpec, cols: list[str], groups, time_format: str | None, *,
                 what: str = "the data") -> tuple[list, int]:
    """Every series cleaned as :func:`seqcore.modeling.tasks.forecast._clean_frame` cleans one, but with the
    time parsed and the numbers read once for the whole file: [(key, values (n, F), times or None, notes)] and
    how many series had to be sorted into time order. A time repeated inside a series is a DataError naming it."""
    from seqcore.data.schema.parsing import _line

    part = spec.time_part if spec.time else None
    require_columns(df, [spec.time, *([part] if part else []), *cols], what=what)
    frame = pd.DataFrame({c: schema.numeric_column(df, c) for c in cols}, index=df.index)
    for c in cols:
        v = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(v) & ~np.isnan(v)
        if bad.any():
            raise DataError(f"Column '{c}' has an infinite or too-large value (around line {_line(df, int(np.argmax(bad))):,}).",
                            hint="Replace it with a real number or leave the cell empty.")
    frame.attrs = dict(df.attrs)
    times = schema.parse_time(df, spec.time, spec.time_format or time_format, part) if spec.time else None
    out, sorted_n = [], 0
    every = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    has_nan = np.isnan(every).any(axis=1)
    for key, rows in groups:
        if times is not None:
            t = times[rows]
            order = np.argsort(np.asarray(t), kind="stable")
            if (order != np.arange(len(order))).any():
                sorted_n += 1
                rows, t = rows[order], t[order]
            dup = t.duplicated()
            if dup.any():
                p = int(rows[int(np.argmax(dup))])
                raise DataError(
                    f"Time column '{spec.time}' repeats {str(df[spec.time].iloc[p])!r} in series '{key}' (line "
                    f"{_line(df, p):,}): each "
                    "series needs one row per time step.",
                    hint="Combine the rows of each timestamp in a series (sum or average them) before uploading.")
        notes: list[str] = []
        if has_nan[rows].any():
            sub, note = schema.apply_missing(frame.iloc[rows], cols, spec.missing)
            if note:
                notes.append(note)
            if len(sub) != len(rows):          # dropped rows
                keep = frame.index.get_indexer(sub.index)
                rows = keep
            values = sub[cols].to_numpy(dtype=np.float64)
        else:
            values = every[rows]
        out.append((key, values, None if times is None else times[rows], notes))
    return out, sorted_n


def prepare(df: pd.DataFrame, spec: DataSpec, *, test_df: pd.DataFrame | None = None, seed: int = 0,
            test_rows: int | None = None) -> Prepared:
    """``test_rows``: each series' test part is exactly its last ``test_rows`` steps (a backtest fold)."""
    from seqcore.modeling.baselines import guess_season
    from seqcore.modeling.panel_mix import calendar_notes, check_spec
    from seqcore.modeling.tasks.forecast import _time_code, target_floors

    spec.validate()
    _check_roles(df, spec)
    targets, features = list(spec.targets), list(spec.features)
    cols, t, L, H = targets + features, len(targets), spec.window, spec.horizon
    groups = split_series(df, spec.id)
    check_series_count(groups, spec.id)
    time_format = _time_code(df, spec) if spec.time else None
    check_spec(spec)
    notes: list[str] = []
    if test_df is not None:
        notes.append("A separate test file is used only for classification; forecasting tests on the last part of "
                     "each series.")
    need_val = spec.val_fraction > 0
    kept, short, seen_notes = [], [], {}
    cleaned, sorted_n = clean_series(df, spec, cols, groups, time_format)
    for key, values, times, sub_notes in cleaned:
        for note in sub_notes:
            seen_notes.setdefault(note, key)
        n = len(values)
        split = chronological_split(n, spec.val_fraction, spec.test_fraction, test_rows=test_rows)
        st = {"train": window_starts(0, split.train_end, L, H), "val": window_starts(split.train_end, split.val_end, L, H),
              "test": window_starts(split.val_end, n, L, H)}
        if len(st["train"]) < 1 or len(st["test"]) < 1 or (need_val and len(st["val"]) < 1):
            short.append((key, n))
            continue
        kept.append((key, values, times, split, st))
    if sorted_n:
        notes.append(f"The rows of {sorted_n:,} series were sorted by '{spec.time}' because they were not in time order.")
    notes.extend(list(seen_notes)[:NOTE_NAMES])
    if len(seen_notes) > NOTE_NAMES:
        notes.append(f"({len(seen_notes) - NOTE_NAMES:,} more notes like these for other series.)")
    if not kept:
        longest = max(n for _, n in short)
        raise DataError(
            f"Every series is too short: the longest has {longest} rows, but a window of {L} and a horizon of {H} "
            "need training, validation and test windows in each series.",
            hint="Use a shorter window or horizon, or smaller validation/test fractions.")
    if short:
        one = len(short) == 1
        notes.append(f"{len(short):,} of the {len(groups):,} series ({_names(k for k, _ in short)}) "
                     f"{'is' if one else 'are'} too short for a window of {L} and a horizon of {H} and "
                     f"{'was' if one else 'were'} left out; the model learns from and "
                     f"forecasts the other {len(kept):,}.")
    # per series: log transform, scaling from its own training part; then all series stacked
    pieces, originals, means, stds, const = [], [], {}, {}, set()
    for key, values, _, split, _ in kept:
        series = values[:, :t]
        x = values.copy()
        if spec.log_transform:
            if (series < 0).any():
                c = targets[int(np.argmax((series < 0).any(axis=0)))]
                raise DataError(f"The log transform needs targets of 0 or more, but '{c}' has negative values in "
                                f"series '{key}'.", hint="Turn the log transform off for this data.")
            x[:, :t] = np.log1p(series)
        mean, std, raw = _scaling(x, split.train_end)
        const.update(c for c, s in zip(cols, raw) if s <= 1e-12)
        means[key], stds[key] = mean.tolist(), std.tolist()
        pieces.append(((x - mean) / std).astype(np.float32))
        originals.append(series)
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    scaled = np.concatenate(pieces)
    series_all = np.concatenate(originals)
    starts, sid = {}, {}
    for part in ("train", "val", "test"):
        starts[part] = np.concatenate([k[4][part] + o for k, o in zip(kept, offsets)]).astype(np.int64)
        sid[part] = np.concatenate([np.full(len(k[4][part]), i, np.int64) for i, k in enumerate(kept)])
    if len(starts["train"]) < 2:
        raise DataError(f"Only {len(starts['train'])} training window over all series: too few to learn from.",
                        hint="Use a shorter window or horizon, or more data.")
    sources = {k: WindowSource(scaled, scaled[:, :t], s, L, H, relative=spec.relative) for k, s in starts.items()}
    if const:
        notes.append(f"Column(s) {', '.join(sorted(const))} do not change in the training part of some series; "
                     "there they carry no information.")
    keys = [k[0] for k in kept]
    first_times = kept[0][2]
    frequency = schema.infer_frequency(first_times) if first_times is not None else None
    season = spec.season or guess_season(frequency, int(lengths.min()))
    times_all = None if first_times is None else np.concatenate([np.asarray(k[2]) for k in kept])
    train_all = np.concatenate([p[: k[3].train_end] for p, k in zip(pieces, kept)]).astype(np.float64)
    is_dt = first_times is not None and isinstance(first_times, pd.DatetimeIndex)
    notes.extend(calendar_notes(spec, is_dt))
    state = {
        "task": "forecast", "targets": targets, "features": features, "time": spec.time,
        "time_part": spec.time_part if spec.time else None, "time_format": time_format,
        "time_kind": None if first_times is None else ("datetime" if is_dt else "numeric"),
        "frequency": frequency, "last_time": None, "window": L, "horizon": H,
        "log_transform": spec.log_transform, "relative": spec.relative,
        # the pooled scaled training rows' mean/std (0 and about 1): the per-series scalers are under "panel"
        "mean": train_all.mean(axis=0).tolist(), "std": np.maximum(train_all.std(axis=0), 1e-12).tolist(),
        "floor": target_floors(np.concatenate([o[: k[3].train_end] for o, k in zip(originals, kept)])),
        "season": season, "missing": spec.missing, "n_rows": int(lengths.sum()),
        "columns": {c: "numeric" for c in cols} | {spec.id: "any"} | ({spec.time: "time"} if spec.time else {})
        | ({spec.time_part: "time"} if spec.time and spec.time_part else {}),
        "panel": {"id": spec.id, "series": keys, "mean": means, "std": stds,
                  "last_time": {k[0]: (None if k[2] is None else str(k[2][-1])) for k in kept},
                  "rows": {k: int(n) for k, n in zip(keys, lengths)}, "left_out": [k for k, _ in short]},
    }
    shape = ModelShape(task="forecast", input_shape=(L, len(cols)), output_shape=(H, t))
    panel = {"keys": keys, "offsets": offsets, "lengths": lengths, "sid": sid,
             "train_ends": np.array([k[3].train_end for k in kept], dtype=np.int64),
             "times": times_all, "last_times": [None if k[2] is None else k[2][-1] for k in kept]}
    return Prepared(task="forecast", shape=shape, train=sources["train"], val=sources["val"] if need_val else None,
                    test=sources["test"], state=state, notes=notes,
                    extra={"series": series_all, "times": None, "starts": starts, "scaled": scaled, "panel": panel,
                           # rows over all series (a backtest fold reports how many it trained and tested on)
                           "split": Split(n=int(lengths.sum()), train_end=int(sum(k[3].train_end for k in kept)),
                                         val_end=int(sum(k[3].val_end for k in kept)))})


# ----------------------------------------------------------------------------- scaling back


def _scalers(state: dict, keys) -> tuple[np.ndarray, np.ndarray]:
    """(S, F) means and stds of the series ``keys`` (as in training)."""
    p = state["panel"]
    return (np.array([p["mean"][k] for k in keys], dtype=np.float64),
            np.array([p["std"][k] for k in keys], dtype=np.float64))


def _unscale_rows(state: dict, y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Scaled targets (n, H, T) of series with scalers ``mean``/``std`` (n, F) -> original units."""
    t = len(state["targets"])
    from seqcore.modeling.tasks.forecast import apply_floor

    out = np.asarray(y, dtype=np.float64) * std[:, None, :t] + mean[:, None, :t]
    return apply_floor(state, np.expm1(np.clip(out, -50, 50)) if state["log_transform"] else out)


def _to_original(state: dict, outputs, last, mean, std) -> np.ndarray:
    t, H = len(state["targets"]), int(state["horizon"])
    y = np.asarray(outputs, dtype=np.float64).reshape(-1, H, t)
    if state.get("relative"):
        y = y + np.asarray(last, dtype=np.float64).reshape(-1, 1, t)
    return _unscale_rows(state, y, mean, std)


# ----------------------------------------------------------------------------- evaluation


def _pooled(actual: np.ndarray, pred: np.ndarray, scale: np.ndarray, names: list[str]) -> dict:
    """The usual forecast metrics over every series' windows, with MASE scaled per series: ``scale`` (n, T) is
    each window's series' mean absolute one-step change in its training part."""
    from seqcore.modeling.metrics import _num, forecast_metrics

    out = forecast_metrics(actual, pred, target_names=names)
    out["notes"] = [n for n in out["notes"] if not n.startswith("MASE needs")]
    err = np.abs(pred - actual)
    ok = np.isfinite(scale).all() and np.isfinite(err).all()
    ratio = err / scale[:, None, :] if ok else None

    def mase(r):
        return _num(r.mean()) if r is not None and r.size else None

    out["mase"] = mase(ratio)
    for h, row in enumerate(out["per_step"]):
        row["mase"] = mase(None if ratio is None else ratio[:, h, :])
    for j, name in enumerate(names if "per_target" in out else []):
        out["per_target"][name]["mase"] = mase(None if ratio is None else ratio[:, :, j])
    if not ok:
        out["notes"].append("MASE is missing: a series is constant or too short in its training part to give a "
                            "naive error scale.")
    return out


def _per_series(actual: np.ndarray, pred: np.ndarray, sid: np.ndarray, keys: list[str],
                scale: np.ndarray) -> dict:
    """The headline metrics of every series at once (as :func:`seqcore.modeling.metrics.forecast_metrics`
    computes them on one series' windows, without the per-step and per-target parts): {key: {"mae", "rmse",
    "mape", "smape", "mase", "r2", "n"}}. ``scale`` (S, T): each series' MASE scale. Sums per series are
    bincounts, so 1,000 series cost about as much as one."""
    from seqcore.modeling.metrics import _num

    S, (_, H, T) = len(keys), actual.shape

    def per(a):          # (n, H, T) -> (S, T) sums over each series' windows and steps
        a = a.sum(axis=1)
        return np.stack([np.bincount(sid, weights=a[:, j], minlength=S) for j in range(T)], axis=1)

    windows = np.bincount(sid, minlength=S)
    finite = np.isfinite(actual) & np.isfinite(pred)
    ok = np.bincount(sid, weights=finite.all(axis=(1, 2)).astype(np.float64), minlength=S) == windows
    a = np.where(finite, actual, 0.0)
    err = np.where(finite, pred - actual, 0.0)
    ae = np.abs(err)
    pts = (windows * H * T).astype(np.float64)
    nz = a != 0
    ape = np.divide(ae, np.abs(a), out=np.zeros_like(ae), where=nz)
    denom = np.abs(a) + np.abs(np.where(finite, pred, 0.0))
    sape = np.divide(2 * ae, denom, out=np.zeros_like(ae), where=denom > 0)
    good_scale = np.isfinite(scale).all(axis=1)
    safe = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    sums = {"ae": per(ae).sum(axis=1), "se": per(err ** 2), "ape": per(ape).sum(axis=1),
            "nz": per(nz.astype(np.float64)).sum(axis=1), "sape": per(sape).sum(axis=1),
            "sa": per(ae / safe[sid][:, None, :]).sum(axis=1), "a": per(a)}
    mean_a = sums["a"] / np.maximum(windows * H, 1)[:, None]
    sst = per((a - mean_a[sid][:, None, :]) ** 2)
    out = {}
    for i, key in enumerate(keys):
        if not windows[i]:
            continue
        m = {"mae": None, "rmse": None, "mape": None, "smape": None, "mase": None, "r2": None, "n": int(windows[i])}
        if ok[i]:
            m["mae"] = _num(sums["ae"][i] / pts[i])
            m["rmse"] = _num(np.sqrt(sums["se"][i].sum() / pts[i]))
            m["mape"] = _num(sums["ape"][i] / sums["nz"][i]) if sums["nz"][i] else None
            m["smape"] = _num(sums["sape"][i] / pts[i])
            m["mase"] = _num(sums["sa"][i] / pts[i]) if good_scale[i] else None
            if windows[i] * H >= 2 and (sst[i] > 0).all():
                m["r2"] = _num(np.mean(1.0 - sums["se"][i] / sst[i]))
        out[key] = m
    return out


def evaluate(prep: Prepared, outputs: np.ndarray) -> tuple[dict, pd.DataFrame]:
    from seqcore.modeling.baselines import forecast_baselines
    from seqcore.modeling.metrics import MAIN_METRIC, _mase_scale, compare_to_baselines
    from seqcore.modeling.panel_mix import stat_baselines

    st, p = prep.state, prep.extra["panel"]
    series, starts, sid = prep.extra["series"], prep.extra["starts"]["test"], p["sid"]["test"]
    H, names, keys = st["horizon"], st["targets"], p["keys"]
    mean, std = _scalers(st, keys)
    pred = _to_original(st, outputs, prep.test.last_values(np.arange(len(prep.test))), mean[sid], std[sid])
    steps = starts[:, None] + np.arange(H)[None, :]
    actual = series[steps]
    trains = [series[o:o + e] for o, e in zip(p["offsets"], p["train_ends"])]
    scales = np.array([_mase_scale(tr, len(names)) for tr in trains])
    test = _pooled(actual, pred, scales[sid], names)
    test["per_series"] = _per_series(actual, pred, sid, keys, scales)

    def compute():
        parts: dict[str, list] = {}
        for i, (o, n, e) in enumerate(zip(p["offsets"], p["lengths"], p["train_ends"])):
            local = starts[sid == i] - o
            for name, v in forecast_baselines(series[o:o + n], local, H, int(e), st["season"]).items():
                parts.setdefault(name, []).append(v)
        out = {k: np.concatenate(v) for k, v in parts.items() if len(v) == len(keys)}
        stats, prep.extra["stat_notes"] = stat_baselines(series, p, keys, starts, H, st["season"])
        return out | stats

    baselines = {}
    for name, b in baseline_outputs(prep, compute).items():
        baselines[name] = _pooled(actual, b, scales[sid], names)
        baselines[name]["per_series"] = _per_series(actual, b, sid, keys, scales)
    metric = "mase" if test.get("mase") is not None else MAIN_METRIC["forecast"]
    metrics = {"test": test, "baselines": baselines, "comparison": compare_to_baselines(test, baselines, metric)}
    metrics["baseline_notes"] = list(prep.extra.get("stat_notes") or [])
    prep.notes.extend(n for n in metrics["baseline_notes"] if n not in prep.notes)
    return metrics, _predictions(prep, starts, sid, actual, pred)


def _predictions(prep: Prepared, starts, sid, actual, pred) -> pd.DataFrame:
    """One row per (window, step, target): series, origin, step, time, target, actual, predicted, error."""
    st, p = prep.state, prep.extra["panel"]
    n, H, t = actual.shape
    times = p["times"]
    rows = np.repeat(starts, H * t)
    step = np.tile(np.repeat(np.arange(H), t), n)
    where = rows + step
    local = (lambda idx: idx - np.repeat(p["offsets"][sid], H * t)) if times is None else (lambda idx: times[idx])
    frame = pd.DataFrame({
        "series": pd.Categorical.from_codes(np.repeat(sid, H * t), p["keys"]),   # categories: cheap to write
        "origin": local(rows - 1), "step": step + 1, "time": local(where),
        "target": pd.Categorical.from_codes(np.tile(np.arange(t), n * H), st["targets"]),
        "actual": actual.reshape(-1), "predicted": pred.reshape(-1)})
    frame["error"] = frame["predicted"] - frame["actual"]
    return frame


# ----------------------------------------------------------------------------- past the end of the data


def future_inputs(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """The last L scaled rows of every series: ((S, L, F) model inputs, (S, 1, T) reference last values)."""
    p, st = prep.extra["panel"], prep.state
    L, t = int(st["window"]), len(st["targets"])
    idx = (p["offsets"] + p["lengths"])[:, None] - L + np.arange(L)[None, :]
    x = np.array(prep.extra["scaled"][idx], dtype=np.float32)
    last = x[:, -1:, :t].copy()
    if st.get("relative"):
        x[:, :, :t] -= last
    return x, last


def _table(state: dict, keys, preds, last_times, frequency=None, stds=None) -> pd.DataFrame:
    """``stds``: each series' spread (F,), which sizes its bands when the run has intervals."""
    from seqcore.modeling.panel_mix import series_calib
    from seqcore.modeling.tasks.forecast import _forecast_table

    parts = []
    for i, (key, pred, last_time) in enumerate(zip(keys, preds, last_times)):
        own = state
        if state.get("intervals") and stds is not None:
            own = dict(state, intervals=series_calib(state, state["intervals"], stds[i]))
        elif state.get("intervals"):
            own = {k: v for k, v in state.items() if k != "intervals"}
        part = _forecast_table(own, pred, last_time, frequency)
        part.insert(0, "series", key)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def future_frame(state: dict, outputs: np.ndarray, last: np.ndarray) -> pd.DataFrame:
    """The forecast past the end of every series (training run): a ``series`` column, then step, time, targets."""
    keys = state["panel"]["series"]
    mean, std = _scalers(state, keys)
    pred = _to_original(state, outputs, last, mean, std)
    return _table(state, keys, pred, [state["panel"]["last_time"][k] for k in keys], stds=std)


def predict_new(state: dict, spec: DataSpec, df: pd.DataFrame, predict_fn, steps: int | None = None) -> pd.DataFrame:
    """Forecast ``steps`` (default H) past the end of every series in ``df``. A series the model was trained on
    keeps its training scalers; a new one is scaled by its own history (named in ``attrs["notes"]``)."""
    from seqcore.modeling.tasks.forecast import _future_features, check_steps, roll_forward_batch

    targets, features = list(state["targets"]), list(state["features"])
    L, H, t, id_col = int(state["window"]), int(state["horizon"]), len(targets), state["panel"]["id"]
    n_steps = check_steps(steps, H)
    groups = split_series(df, id_col)
    need = -(-n_steps // H) * H - H if (n_steps > H and features) else 0
    empty = np.zeros(len(df), dtype=bool)
    if features:        # rows with every target empty at the end of a series carry its inputs' future values
        empty = np.ones(len(df), dtype=bool)
        for c in targets:
            empty &= np.isnan(schema.numeric_column(df, c))
    history, futures = [], {}
    for key, rows in groups:
        filled = np.flatnonzero(~empty[rows])
        k = len(rows) - (int(filled[-1]) + 1 if filled.size else 0)
        history.append((key, rows[:len(rows) - k]))
        futures[key] = df.iloc[rows[len(rows) - k:]] if k else None
    cleaned, _ = clean_series(df, spec, targets + features, history, state.get("time_format"),
                              what="the uploaded data")
    keys, windows, futs, means, stds, lasts, short, new, freq = [], [], [], [], [], [], [], [], None
    for key, values, times, _ in cleaned:
        future = futures[key]
        if len(values) < L:
            short.append((key, len(values)))
            continue
        x = values.copy()
        if state["log_transform"]:
            if (x[:, :t] < 0).any():
                raise DataError(f"The model was trained with a log transform, so targets must be 0 or more; series "
                                f"'{key}' has negative values.")
            x[:, :t] = np.log1p(x[:, :t])
        if key in state["panel"]["mean"]:
            mean, std = (np.asarray(v, dtype=np.float64) for v in _scalers(state, [key]))
            mean, std = mean[0], std[0]
        else:
            new.append(key)
            mean, std, _ = _scaling(x, len(x))
        last_time = None if times is None else times[-1]
        if need:
            fut = _future_features(dict(state, mean=mean.tolist(), std=std.tolist()), spec, future, last_time) \
                if future is not None else np.zeros((0, len(features)))
            if len(fut) < need:
                raise DataError(
                    f"Forecasting {n_steps} steps with this model needs the future values of its input column(s) "
                    f"{_names(features)} for the next {need} steps of every series, but series '{key}' gives "
                    f"{len(fut)}.",
                    hint=f"Add {need} rows after each series' history that carry the future values of "
                         f"{_names(features)} and leave {_names(targets)} empty, or forecast at most {H} steps.")
            futs.append(fut[:need])
        if freq is None and times is not None and not state.get("frequency"):
            freq = schema.infer_frequency(times)
        keys.append(key)
        windows.append((x[-L:] - mean) / std)
        means.append(mean), stds.append(std), lasts.append(last_time)
    if short:
        raise DataError(f"The model looks at the last {L} rows of each series, but {_names(k for k, _ in short)} "
                        f"{'has' if len(short) == 1 else 'have'} fewer (series '{short[0][0]}': {short[0][1]} rows).",
                        hint=f"Upload at least {L} rows of history for every series, or remove the shorter ones.")
    fut = np.stack(futs) if need else None
    scaled = roll_forward_batch(state, np.stack(windows), n_steps, predict_fn, fut)
    pred = _unscale_rows(state, scaled, np.stack(means), np.stack(stds))
    table = _table(state, keys, pred, lasts, freq, stds=stds)
    if new:
        one = len(new) == 1
        table.attrs["notes"] = [
            f"{len(new):,} series ({_names(new)}) {'was' if one else 'were'} not in the training data: the model "
            f"forecasts {'it' if one else 'each'} from its own history, scaled by that "
            "history's mean and spread."]
    return table


__all__ = ["evaluate", "future_frame", "future_inputs", "predict_new", "prepare"]
