"""Plotly figure builders for the app and the HTML report (no Streamlit, no TensorFlow).

Every builder returns a ``plotly.graph_objects.Figure``; an empty input gives a figure with a
short message instead of an error, so a page can always draw something.

User-provided text (column names, class labels, run names) only ever goes into plotly as
*text*, passed through :func:`plain` so that plotly.js shows it literally: plotly.js
interprets a few HTML-like tags in labels (``<b>``, ``<a href>``, ``<br>``), so ``<`` ``>`` and
``&`` are turned into the entities plotly.js decodes back to those characters. No HTML string
is ever built from user input here.

Data shapes used below:
  points:     training progress, :class:`~seqcore.modeling.progress.Progress` objects or their dicts
              (``kind`` "batch" | "epoch"; history entries without ``kind`` count as epochs)
  pred_df:    predictions.csv of a forecast run: origin, step, time, target, actual, predicted, error
  forecast:   forecast.csv: step, optional time, one column per target
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from seqcore.modeling.progress import Progress
from seqcore.modeling.progress import HistoryColumns

# Colours (plotly's default qualitative palette, named for readability).
TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"
BATCH_COLOUR = "rgba(31, 119, 180, 0.35)"
BEST_COLOUR = "#d62728"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")

SERIES_MAX_POINTS = 5000       # data previews and forecast plots are downsampled above this
WAITING_TEXT = "Waiting for the first loss point…"
BATCH_SMOOTHING = 0.6          # exponential smoothing weight of the batch curve (0 = none)
LOG_DECADES = 2.0              # log-scale y when the losses span more than this many decades
OVERFIT_EPOCHS = 3             # epochs of rising val_loss before the overfitting hint


# ----------------------------------------------------------------------------- helpers

_TEMPLATE = None


def _template():
    """A small white template (plotly's "plotly_white" look). Built once: assigning a named full
    template costs 10-70 ms per figure, far more than the data of a live loss chart."""
    global _TEMPLATE
    if _TEMPLATE is None:
        axis = {"gridcolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "linecolor": "#C8D4E3", "automargin": True,
                "ticks": "", "title": {"standoff": 12}}
        _TEMPLATE = go.layout.Template(layout={
            "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "#2a3f5f"},
            "xaxis": axis, "yaxis": axis, "colorway": list(PALETTE), "hoverlabel": {"align": "left"},
            "title": {"x": 0.02}})
    return _TEMPLATE


def _style(fig: go.Figure, **layout) -> go.Figure:
    """Apply the common look plus ``layout`` in one update."""
    fig.update_layout(template=_template(), **layout)
    return fig



def plain(text: Any) -> str:
    """User text made safe to show literally in plotly labels, legends, ticks and hovers."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _message_figure(message: str, *, height: int = 320) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 15, "color": "#666"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _style(fig, height=height, margin={"l": 20, "r": 20, "t": 30, "b": 20})
    return fig


def downsample_indices(y, max_points: int) -> np.ndarray:
    """Sorted indices of at most ``max_points`` samples of ``y`` (n,) that keep its shape.

    The series is cut into buckets; each bucket keeps its lowest and highest value, and the first
    and last samples are always kept, so the global minimum (the best loss) and spikes survive.
    NaN values are never picked over finite ones.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = y.shape[0]
    max_points = int(max_points)
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    if n <= max_points:
        return np.arange(n)
    if max_points < 4:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    n_buckets = (max_points - 2) // 2
    inner = np.arange(1, n - 1)
    bucket = (inner - 1) * n_buckets // (n - 2)          # contiguous runs: bucket k = inner[starts[k]:ends[k]]
    starts = np.r_[0, np.flatnonzero(np.diff(bucket)) + 1]
    ends = np.r_[starts[1:], len(inner)]
    yi = y[inner]
    lo_key = np.where(np.isnan(yi), np.inf, yi)
    hi_key = np.where(np.isnan(yi), -np.inf, yi)
    sizes = ends - starts
    # per bucket the first position of its lowest value and the last of its highest (no sorting: O(n))
    at_lo = np.flatnonzero(lo_key == np.repeat(np.minimum.reduceat(lo_key, starts), sizes))
    at_hi = np.flatnonzero(hi_key == np.repeat(np.maximum.reduceat(hi_key, starts), sizes))
    lo = at_lo[np.searchsorted(at_lo, starts)]
    hi = at_hi[np.searchsorted(at_hi, ends) - 1]
    keep = np.concatenate([[0, n - 1], inner[lo], inner[hi]])
    return np.unique(keep)


def downsample(x, y, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` cut to at most ``max_points`` samples (see :func:`downsample_indices`).

    ``x`` may be numbers, dates or strings; both come back as numpy arrays of the same kind."""
    x_arr = np.asarray(x)
    y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if x_arr.shape[0] != y_arr.shape[0]:
        raise ValueError(f"x has {x_arr.shape[0]} values but y has {y_arr.shape[0]}")
    idx = downsample_indices(y_arr, max_points)
    return x_arr[idx], y_arr[idx]


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _as_point(p) -> dict:
    if isinstance(p, Progress):  # attribute copy: dataclasses.asdict deep-copies and is 10x slower
        d = {"kind": p.kind, "epoch": p.epoch, "batch": p.batch, "batches": p.batches, "loss": p.loss,
             "val_loss": p.val_loss}
    elif hasattr(p, "to_dict"):
        d = p.to_dict()
    elif isinstance(p, Mapping):
        d = dict(p)
    else:
        raise TypeError(f"a progress point must be a Progress or a dict, got {type(p).__name__}")
    d.setdefault("kind", "epoch")
    return d


def _split_points(points) -> tuple[list[dict], list[dict]]:
    """(epoch points sorted by epoch, one per epoch (the last wins); batch points in order)."""
    epochs: dict[int, dict] = {}
    batches: list[dict] = []
    for p in points or []:
        d = _as_point(p)
        if d["kind"] == "final":   # the final fit on training + validation: not part of these curves
            continue
        if d["kind"] == "batch":
            batches.append(d)
        else:
            try:
                epochs[int(d["epoch"])] = d
            except (KeyError, TypeError, ValueError):
                continue
    return [epochs[k] for k in sorted(epochs)], batches


def _smooth(y: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard style) of finite values ``y`` (n,):
    ``s[i] = sum_k w^k (1-w) y[i-k] / sum_k w^k (1-w)``."""
    y = np.asarray(y, dtype=np.float64)
    if weight <= 0 or y.size == 0:
        return y.copy()
    try:
        from scipy.signal import lfilter
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        out, acc, norm = np.empty_like(y), 0.0, 0.0
        for i, v in enumerate(y):
            acc, norm = weight * acc + (1 - weight) * v, weight * norm + (1 - weight)
            out[i] = acc / norm
        return out
    num = lfilter([1 - weight], [1, -weight], y)
    den = 1 - weight ** np.arange(1, y.size + 1)
    return num / den


def _use_log(values: Iterable[float | None]) -> bool:
    if isinstance(values, np.ndarray):
        vals = values.astype(np.float64, copy=False).reshape(-1)
        vals = vals[np.isfinite(vals)]
    else:
        vals = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if vals.size < 2 or (vals <= 0).any():
        return False
    return bool(np.log10(vals.max() / vals.min()) > LOG_DECADES)


def _series_xy(points: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    xs = [int(p["epoch"]) for p in points if _finite(p.get(key)) is not None]
    ys = [_finite(p.get(key)) for p in points if _finite(p.get(key)) is not None]
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def _columns(points) -> HistoryColumns:
    """``points`` (Progress objects, dicts, or a :class:`~seqcore.runs.store.HistoryColumns`) as columns."""
    if isinstance(points, HistoryColumns):
        return points
    return HistoryColumns.from_points(points)


def _epoch_rows(cols: HistoryColumns) -> np.ndarray:
    """Indices of the epoch points, one per epoch (the last one written wins), sorted by epoch."""
    idx = np.flatnonzero(cols.is_epoch & np.isfinite(cols.epoch))
    if not idx.size:
        return idx
    ep = np.trunc(cols.epoch[idx])
    rev = idx[::-1]                                   # np.unique keeps the first: the last written
    _, first = np.unique(ep[::-1], return_index=True)
    return rev[first]


def _epoch_series(cols: HistoryColumns, rows: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(epochs (k,), values (k,)) of ``key`` at the epoch ``rows``, finite values only."""
    y = getattr(cols, key)[rows]
    ok = np.isfinite(y)
    return np.trunc(cols.epoch[rows][ok]), y[ok]


def _batch_series(cols: HistoryColumns) -> tuple[np.ndarray, np.ndarray]:
    """(fractional epoch (m,), loss (m,)) of the batch points with a finite loss, in store order:
    epoch 3, batch 5 of 10 -> 2.5 (a point without a batch count sits at the end of its epoch)."""
    b = ~cols.is_epoch & np.isfinite(cols.loss)
    ep = cols.epoch[b]
    ep = np.where(np.isfinite(ep) & (ep != 0), ep, 1.0)
    nb = cols.batches[b]
    has_nb = np.isfinite(nb) & (nb != 0)
    bt = np.nan_to_num(cols.batch[b], nan=0.0)
    frac = np.divide(bt, nb, out=np.ones_like(bt), where=has_nb)
    return ep - 1 + frac, cols.loss[b]


def best_epoch(points) -> tuple[int, float, str] | None:
    """(epoch, value, key) of the epoch the trainer keeps (``seqcore.modeling.training.selection_metric``): the
    highest validation accuracy, ties to the lower validation loss, for a classifier with validation data
    (value: that epoch's validation loss, key "val_accuracy"); else the lowest validation loss (key
    "val_loss"), else the lowest training loss ("loss"). None before the first epoch ends.
    ``points``: as for :func:`loss_figure`."""
    from seqcore.modeling.training import epoch_score, improves   # light: training imports Keras only inside fit

    cols = _columns(points)
    rows = _epoch_rows(cols)
    series = {"epoch": np.trunc(cols.epoch[rows]), "loss": cols.loss[rows], "val_loss": cols.val_loss[rows],
              "val_accuracy": cols.val_accuracy[rows]}
    monitor = next((k for k in ("val_accuracy", "val_loss", "loss") if np.isfinite(series[k]).any()), None)
    if monitor is None:
        return None
    best, at = (math.inf, math.inf), None
    for i in np.argsort(series["epoch"], kind="stable"):
        score = epoch_score({k: v[i] for k, v in series.items()}, monitor)
        if improves(score, best):
            best, at = (score[0], score[1]), i
    if monitor != "val_accuracy":
        return int(series["epoch"][at]), float(best[0]), monitor
    shown = series["val_loss"][at] if np.isfinite(series["val_loss"][at]) else series["loss"][at]
    return int(series["epoch"][at]), float(shown), monitor


# ----------------------------------------------------------------------------- training curves


def loss_figure(points, *, title: str | None = None, max_points: int = 2000,
                uirevision: str = "loss") -> go.Figure:
    """Live training curve: epoch loss / val_loss as lines with markers, throttled batch losses as a
    light smoothed line (x = fractional epoch), the best epoch starred; log-scale y when the values
    span more than two decades; every curve cut to at most ``max_points`` points (the last one kept).

    ``points``: Progress objects or their dicts, or a run's :class:`~seqcore.runs.store.HistoryColumns`
    (``RunStore.history_columns``: no Python object per point, the cheap input for long runs).
    ``uirevision`` stays the same between redraws so the user's zoom and hidden traces survive.
    """
    cols = _columns(points)
    rows = _epoch_rows(cols)
    bx, by = _batch_series(cols)
    if not rows.size and not by.size:
        fig = _message_figure(WAITING_TEXT)
        fig.update_layout(uirevision=uirevision)
        if title:
            fig.update_layout(title=plain(title))
        return fig
    fig = go.Figure()
    all_y: list[np.ndarray] = []
    if by.size:
        order = np.argsort(bx, kind="stable")
        bx, by = downsample(bx[order], _smooth(by[order], BATCH_SMOOTHING), max_points)
        all_y.append(by)
        fig.add_trace(go.Scatter(x=bx, y=by, mode="lines", name="training loss (per batch, smoothed)",
                                 line={"color": BATCH_COLOUR, "width": 1.5},
                                 hovertemplate="epoch %{x:.2f}<br>batch loss %{y:.4g}<extra></extra>"))
    for key, name, colour in (("loss", "training loss", TRAIN_COLOUR), ("val_loss", "validation loss", VAL_COLOUR)):
        x, y = _epoch_series(cols, rows, key)
        if not len(y):
            continue
        x, y = downsample(x, y, max_points)
        all_y.append(y)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers" if len(y) <= 300 else "lines", name=name,
                                 line={"color": colour, "width": 2}, marker={"size": 6},
                                 hovertemplate=f"epoch %{{x}}<br>{name} %{{y:.4g}}<extra></extra>"))
    best = best_epoch(cols)
    if best is not None:
        ep, val, key = best
        label = {"val_loss": "lowest validation loss", "loss": "lowest training loss",
                 "val_accuracy": "highest validation accuracy; its validation loss"}[key]
        fig.add_trace(go.Scatter(x=[ep], y=[val], mode="markers", name=f"best epoch ({ep})",
                                 marker={"symbol": "star", "size": 16, "color": BEST_COLOUR,
                                         "line": {"width": 1, "color": "white"}},
                                 hovertemplate=f"best epoch {ep}<br>{label} %{{y:.4g}}<extra></extra>"))
    log = _use_log(np.concatenate(all_y) if all_y else np.zeros(0))
    if best is not None:
        ep, val, _ = best
        fig.add_annotation(x=ep, y=math.log10(val) if log else val, text=f"best: epoch {ep}", showarrow=True,
                           arrowhead=2, ax=0, ay=-32, font={"color": BEST_COLOUR})
    _style(fig, 
        title=plain(title) if title else None, uirevision=uirevision,
        margin={"l": 50, "r": 20, "t": 50 if title else 20, "b": 40}, height=380, hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="loss (log scale)" if log else "loss", type="log" if log else "linear",
                     **({"dtick": 1, "exponentformat": "power"} if log else {}))
    return fig


def overfit_hint(points: Sequence, *, min_epochs: int = OVERFIT_EPOCHS, final_fit: bool = False) -> str | None:
    """A plain-language hint when validation loss has been rising for ``min_epochs`` or more epochs
    (counted from its best epoch) while training loss kept falling; None otherwise. It names the epoch the
    trainer keeps (:func:`best_epoch`), and with ``final_fit`` what happens after."""
    epochs, _ = _split_points(points)
    rows = [(int(p["epoch"]), _finite(p.get("loss")), _finite(p.get("val_loss"))) for p in epochs]
    rows = [r for r in rows if r[1] is not None and r[2] is not None]
    if len(rows) < min_epochs + 1:
        return None
    vals = [r[2] for r in rows]
    best_i = int(np.argmin(vals))
    since = len(rows) - 1 - best_i
    if since < min_epochs:
        return None
    tail = vals[best_i:]
    rises = sum(1 for a, b in zip(tail, tail[1:]) if b > a)
    rising = vals[-1] > vals[best_i] * (1 + 1e-3) and rises * 2 >= since
    falling = rows[-1][1] < rows[best_i][1]
    if not (rising and falling):
        return None
    kept = best_epoch(points)
    kept_epoch = kept[0] if kept else rows[best_i][0]
    after = (f"; the final fit then trains a fresh model for {kept_epoch} epoch{'s' if kept_epoch != 1 else ''} "
             "on the training and validation data" if final_fit else "")
    return (f"Validation loss has been rising for {since} epochs while training loss keeps falling: "
            f"the model is starting to memorise. Early stopping will keep the best epoch (epoch {kept_epoch})"
            f"{after}; more dropout or a smaller model may help.")


def compare_loss_figure(runs: Mapping[str, Sequence], *, max_points: int = 2000) -> go.Figure:
    """Overlay the validation loss (training loss when a run has none) of several runs by epoch."""
    fig = go.Figure()
    all_y: list[float] = []
    for i, (name, points) in enumerate((runs or {}).items()):
        epochs, _ = _split_points(points)
        key, label = "val_loss", "validation loss"
        x, y = _series_xy(epochs, key)
        if not len(y):
            key, label = "loss", "training loss"
            x, y = _series_xy(epochs, key)
        if not len(y):
            continue
        x, y = downsample(x, y, max_points)
        all_y += y.tolist()
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers" if len(y) <= 200 else "lines",
                                 name=f"{plain(name)} · {label}", line={"color": colour, "width": 2},
                                 marker={"size": 5}, legendgroup=str(i),
                                 hovertemplate=f"{plain(name)}<br>epoch %{{x}}<br>{label} %{{y:.4g}}<extra></extra>"))
        j = int(np.argmin(y))
        fig.add_trace(go.Scatter(x=[x[j]], y=[y[j]], mode="markers", showlegend=False, legendgroup=str(i),
                                 marker={"symbol": "star", "size": 13, "color": colour},
                                 hovertemplate=f"{plain(name)}<br>best epoch %{{x}}: %{{y:.4g}}<extra></extra>"))
    if not fig.data:
        return _message_figure("Pick runs that have finished at least one epoch to compare their curves.")
    log = _use_log(all_y)
    _style(fig, height=400, margin={"l": 50, "r": 20, "t": 20, "b": 40},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, uirevision="compare")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="loss (log scale)" if log else "loss", type="log" if log else "linear",
                     **({"dtick": 1, "exponentformat": "power"} if log else {}))
    return fig


# ----------------------------------------------------------------------------- data previews


def _time_axis(values: pd.Series):
    """A time column as something plotly can order: datetimes, numbers, or the strings as they are."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy()
    s = values.astype("string")
    parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    if parsed.notna().mean() >= 0.9:
        return parsed.to_numpy()
    return s.to_numpy(dtype=object, na_value="")


def series_figure(df: pd.DataFrame, time_col: str | None, value_cols: Sequence[str], *,
                  max_points: int = SERIES_MAX_POINTS) -> go.Figure:
    """Time series preview: one line per value column over the time column (row number when none),
    with a range slider; each line is cut to ``max_points`` points."""
    cols = [c for c in (value_cols or []) if c in df.columns]
    if df is None or len(df) == 0 or not cols:
        return _message_figure("Pick at least one numeric column to see it over time.")
    x_all = _time_axis(df[time_col]) if time_col and time_col in df.columns else np.arange(len(df))
    fig = go.Figure()
    for i, c in enumerate(cols):
        y = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        x, yy = downsample(x_all, y, max_points)
        fig.add_trace(go.Scatter(x=x, y=yy, mode="lines", name=plain(c), connectgaps=False,
                                 line={"color": PALETTE[i % len(PALETTE)], "width": 1.5}))
    sampled = len(df) > max_points
    _style(fig, height=420, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      showlegend=len(cols) > 1, uirevision="series",
                      title=(f"{len(df):,} rows (showing {max_points:,} representative points per line)"
                             if sampled else None))
    fig.update_xaxes(title=plain(time_col) if time_col else "row", rangeslider={"visible": True})
    return fig


def sequences_figure(seqs_by_class: Mapping[str, Sequence[np.ndarray]], max_per_class: int = 5, *,
                     feature_names: Sequence[str] | None = None, max_features: int = 8) -> go.Figure:
    """A few sequences per class: one subplot row per feature (at most ``max_features``), one colour per
    class. Each sequence is ``(steps,)`` or ``(steps, features)``."""
    classes = [(str(k), [np.asarray(s, dtype=np.float64) for s in list(v)[:max_per_class]])
               for k, v in (seqs_by_class or {}).items()]
    classes = [(k, [s if s.ndim == 2 else s.reshape(-1, 1) for s in v]) for k, v in classes if v]
    if not classes:
        return _message_figure("No sequences to show yet: pick the label and value columns.")
    n_feat = max(s.shape[1] for _, v in classes for s in v)
    rows = min(n_feat, max_features)
    names = list(feature_names or [])
    titles = [plain(names[f]) if f < len(names) else f"feature {f + 1}" for f in range(rows)] if rows > 1 else None
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04 if rows > 3 else 0.08,
                        subplot_titles=titles)
    for ci, (label, seqs) in enumerate(classes):
        colour = PALETTE[ci % len(PALETTE)]
        for si, s in enumerate(seqs):
            for f in range(min(rows, s.shape[1])):
                fig.add_trace(go.Scatter(
                    x=np.arange(1, s.shape[0] + 1), y=s[:, f], mode="lines", name=f"class {plain(label)}",
                    legendgroup=f"c{ci}", showlegend=si == 0 and f == 0, line={"color": colour, "width": 1.2},
                    opacity=0.8, hovertemplate=f"class {plain(label)}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>",
                ), row=f + 1, col=1)
    _style(fig, height=max(320, 150 * rows + 80),
                      margin={"l": 50, "r": 20, "t": 40, "b": 40}, uirevision="sequences",
                      title=(f"Showing the first {rows} of {n_feat} features" if n_feat > rows else None))
    fig.update_xaxes(title="step", row=rows, col=1)
    return fig


def text_stats_figure(lengths: Sequence[int], class_counts: Mapping[str, int]) -> go.Figure:
    """Two panels: a histogram of text lengths (words) and the number of examples per label."""
    lengths = [int(v) for v in (lengths or [])]
    counts = {str(k): int(v) for k, v in (class_counts or {}).items()}
    if not lengths and not counts:
        return _message_figure("Pick the text and label columns to see text lengths and label counts.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Text length (words)", "Examples per label"),
                        column_widths=[0.6, 0.4])
    fig.add_trace(go.Histogram(x=lengths, name="texts", marker={"color": TRAIN_COLOUR}, showlegend=False,
                               hovertemplate="%{x} words: %{y} texts<extra></extra>"), row=1, col=1)
    labels = list(counts)
    fig.add_trace(go.Bar(x=[plain(k) for k in labels], y=[counts[k] for k in labels], showlegend=False,
                         marker={"color": [PALETTE[i % len(PALETTE)] for i in range(len(labels))]},
                         text=[counts[k] for k in labels], textposition="auto",
                         hovertemplate="%{x}: %{y} examples<extra></extra>"), row=1, col=2)
    fig.update_xaxes(title="words", row=1, col=1)
    fig.update_xaxes(type="category", row=1, col=2)
    fig.update_yaxes(title="texts", row=1, col=1)
    _style(fig, height=360, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      bargap=0.05)
    return fig


# ----------------------------------------------------------------------------- forecast results


def _pick(pred_df: pd.DataFrame, step: int, target: str | None) -> tuple[pd.DataFrame, str | None]:
    df = pred_df
    tgt = None
    if "target" in df.columns and len(df):
        targets = list(dict.fromkeys(df["target"].astype(str)))
        tgt = str(target) if target is not None and str(target) in targets else targets[0]
        df = df[df["target"].astype(str) == tgt]
    if "step" in df.columns:
        df = df[pd.to_numeric(df["step"], errors="coerce") == int(step)]
    return df, tgt


def _x_of(df: pd.DataFrame) -> np.ndarray:
    if "time" in df.columns:
        return _time_axis(df["time"].reset_index(drop=True))
    return np.arange(len(df))


def forecast_figure(pred_df: pd.DataFrame | None, *, step: int = 1, target: str | None = None,
                    max_points: int = SERIES_MAX_POINTS) -> go.Figure:
    """Actual vs predicted values on the test split for one horizon ``step`` (1 = one step ahead) and
    one target (the first when not given), with a range slider."""
    if pred_df is None or len(pred_df) == 0:
        return _message_figure("No test predictions yet: train a forecasting run first.")
    df, tgt = _pick(pred_df, step, target)
    if len(df) == 0:
        return _message_figure(f"No predictions for horizon step {int(step)}.")
    x = _x_of(df)
    fig = go.Figure()
    for col, name, colour, dash in (("actual", "actual", "#333333", None), ("predicted", "predicted", VAL_COLOUR, None)):
        xs, ys = downsample(x, pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64), max_points)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(ys) <= 200 else "lines", name=name,
                                 line={"color": colour, "width": 2, "dash": dash}, marker={"size": 4}))
    what = f"{plain(tgt)}: " if tgt else ""
    ahead = "1 step ahead" if int(step) == 1 else f"{int(step)} steps ahead"
    _style(fig, height=420, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                      title=f"{what}actual vs predicted on the test part, {ahead}", uirevision="forecast",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 1, "xanchor": "right"})
    fig.update_xaxes(title="time" if "time" in df.columns else "test window", rangeslider={"visible": True})
    fig.update_yaxes(title=plain(tgt) if tgt else "value")
    return fig


def residuals_figure(pred_df: pd.DataFrame | None, step: int = 1, target: str | None = None, *,
                     max_points: int = SERIES_MAX_POINTS) -> go.Figure:
    """Errors (predicted - actual) over time and their histogram, for one horizon step and target."""
    if pred_df is None or len(pred_df) == 0:
        return _message_figure("No test predictions yet: train a forecasting run first.")
    df, tgt = _pick(pred_df, step, target)
    if len(df) == 0:
        return _message_figure(f"No predictions for horizon step {int(step)}.")
    if "error" in df.columns:
        err = pd.to_numeric(df["error"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        err = (pd.to_numeric(df["predicted"], errors="coerce") - pd.to_numeric(df["actual"], errors="coerce")
               ).to_numpy(dtype=np.float64)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.68, 0.32],
                        subplot_titles=("Error over time (predicted − actual)", "How often each error size occurs"))
    xs, ys = downsample(_x_of(df), err, max_points)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+lines" if len(ys) <= 200 else "lines", name="error",
                             line={"color": TRAIN_COLOUR, "width": 1}, marker={"size": 4}, showlegend=False),
                  row=1, col=1)
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot"}, row=1, col=1)
    fig.add_trace(go.Histogram(x=err[np.isfinite(err)], name="errors", marker={"color": TRAIN_COLOUR},
                               showlegend=False), row=1, col=2)
    fig.update_xaxes(title="error", row=1, col=2)
    fig.update_yaxes(title="count", row=1, col=2)
    fig.update_yaxes(title=f"error ({plain(tgt)})" if tgt else "error", row=1, col=1)
    _style(fig, height=360, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      uirevision="residuals")
    return fig


def future_figure(history, forecast_df: pd.DataFrame | None, *, time_col: str | None = None,
                  targets: Sequence[str] | None = None, tail: int | None = None) -> go.Figure:
    """The last part of the data and the forecast past its end (dashed), one colour per target.

    history: the data as a DataFrame (``time_col`` optional, target columns named as in the forecast)
             or one Series (its index is the time axis).
    forecast_df: forecast.csv (``step``, optional ``time``, one column per target).
    tail: how many history rows to show (default: 5 horizons, at least 100).
    """
    if forecast_df is None or len(forecast_df) == 0:
        return _message_figure("No forecast yet: train a forecasting run first.")
    fc_cols = [c for c in forecast_df.columns if c not in ("step", "time")]
    if isinstance(history, pd.Series):
        name = str(history.name) if history.name is not None else (fc_cols[0] if fc_cols else "value")
        idx = history.index
        hist = pd.DataFrame({name: history.to_numpy()})
        if not isinstance(idx, pd.RangeIndex):
            hist["__time__"] = np.asarray(idx)
            time_col = "__time__"
        history = hist
    if history is None:
        history = pd.DataFrame()
    cols = [c for c in (targets or fc_cols) if c in fc_cols]
    if not cols:
        return _message_figure("The forecast has no target columns to draw.")
    horizon = len(forecast_df)
    tail = int(tail or max(100, 5 * horizon))
    hist = history.iloc[-tail:] if len(history) else history
    n_hist = len(history)
    has_time = bool(time_col) and time_col in hist.columns and "time" in forecast_df.columns
    if has_time:
        hx = _time_axis(hist[time_col].reset_index(drop=True))
        fx = _time_axis(forecast_df["time"].reset_index(drop=True))
    else:
        hx = np.arange(n_hist - len(hist), n_hist)
        steps = pd.to_numeric(forecast_df["step"], errors="coerce").to_numpy() if "step" in forecast_df.columns \
            else np.arange(1, horizon + 1)
        fx = (n_hist - 1) + steps
    fig = go.Figure()
    for i, c in enumerate(cols):
        colour = PALETTE[i % len(PALETTE)]
        fy = pd.to_numeric(forecast_df[c], errors="coerce").to_numpy(dtype=np.float64)
        if c in hist.columns and len(hist):
            hy = pd.to_numeric(hist[c], errors="coerce").to_numpy(dtype=np.float64)
            fig.add_trace(go.Scatter(x=hx, y=hy, mode="lines", name=f"{plain(c)} (data)",
                                     line={"color": colour, "width": 1.8}, legendgroup=str(i)))
            # join the forecast to the last known value so the line continues
            fxx = pd.Index(hx[-1:]).append(pd.Index(fx))
            fyy = np.concatenate([hy[-1:], fy])
        else:
            fxx, fyy = fx, fy
        fig.add_trace(go.Scatter(x=fxx, y=fyy, mode="lines+markers", name=f"{plain(c)} (forecast)",
                                 line={"color": colour, "width": 2.2, "dash": "dash"}, marker={"size": 6},
                                 legendgroup=str(i)))
    _style(fig, height=400, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                      title=f"Forecast of the next {horizon} step{'s' if horizon != 1 else ''} past the end of the data",
                      uirevision="future",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 1, "xanchor": "right"})
    fig.update_xaxes(title=plain(time_col) if has_time and time_col != "__time__" else ("time" if has_time else "row"))
    return fig


# ----------------------------------------------------------------------------- classification results


def confusion_figure(confusion_matrix, class_names: Sequence[str], normalize: bool = False) -> go.Figure:
    """Heatmap of a C x C confusion matrix (rows = true class, columns = predicted) with counts written
    in the cells; ``normalize`` colours by the share of each true class (and writes it beside the count)."""
    cm = np.asarray(confusion_matrix, dtype=np.float64)
    if cm.size == 0:
        return _message_figure("No test predictions yet: train a classification run first.")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion_matrix must be square (C, C); got shape {cm.shape}")
    names = [plain(c) for c in class_names]
    if len(names) != cm.shape[0]:
        raise ValueError(f"{len(names)} class names for a {cm.shape[0]} x {cm.shape[0]} confusion matrix")
    counts = cm.astype(np.int64)
    if normalize:
        sums = cm.sum(axis=1, keepdims=True)
        z = np.divide(cm, sums, out=np.zeros_like(cm), where=sums > 0)
        text = [[f"{counts[i, j]}<br>({z[i, j]:.0%})" for j in range(cm.shape[1])] for i in range(cm.shape[0])]
        hover = "true %{y}<br>predicted %{x}<br>%{z:.1%} of this class<extra></extra>"
        cbar = {"title": "share", "tickformat": ".0%"}
    else:
        z = cm
        text = [[str(counts[i, j]) for j in range(cm.shape[1])] for i in range(cm.shape[0])]
        hover = "true %{y}<br>predicted %{x}<br>%{z:.0f} examples<extra></extra>"
        cbar = {"title": "count"}
    # unique category labels for the axes even if two class names render the same
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues",
                               hovertemplate=hover, colorbar=cbar, zmin=0))
    c = cm.shape[0]
    size = min(900, max(360, 60 * c + 160))
    _style(fig, height=size, margin={"l": 80, "r": 20, "t": 40, "b": 60},
                      title="Confusion matrix (rows: true class, columns: predicted)")
    fig.update_xaxes(title="predicted class", type="category", side="bottom")
    fig.update_yaxes(title="true class", type="category", autorange="reversed")
    return fig


# ----------------------------------------------------------------------------- metric cards

METRIC_INFO: dict[str, tuple[str, str, bool]] = {
    # key: (label, plain-language help, shown as percent)
    "mae": ("MAE", "Mean absolute error: the typical size of a miss, in the data's own units. Lower is better.", False),
    "rmse": ("RMSE", "Root mean squared error: like MAE but big misses count more. Lower is better.", False),
    "mape": ("MAPE", "Mean absolute percentage error: the typical miss as a share of the actual value. Lower is better.", True),
    "mase": ("MASE", "Mean absolute scaled error: the error relative to a naive one-step forecast on the training "
                     "data. Below 1 beats that naive forecast. Lower is better.", False),
    "accuracy": ("Accuracy", "Share of test examples classified correctly. Higher is better.", True),
    "balanced_accuracy": ("Balanced accuracy", "Accuracy averaged over classes, so rare classes count as much as "
                                               "common ones. Higher is better.", True),
    "macro_f1": ("Macro F1", "Balance of precision and recall, averaged over classes (0 to 1). Higher is better.", False),
    "roc_auc": ("ROC AUC", "How well the predicted probabilities rank the two classes (0.5 = chance, 1 = "
                           "perfect). Higher is better.", False),
}
CARD_METRICS = {"forecast": ("mae", "rmse", "mape", "mase"),
                "classify": ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc"),
                "text": ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")}
BASELINE_NAMES = {"naive": "naive (last value)", "seasonal_naive": "seasonal naive", "mean": "training mean",
                  "majority_class": "majority class", "nearest_neighbour": "1-nearest neighbour",
                  "bag_of_words": "bag of words"}


def format_number(v: float | None, *, percent: bool = False) -> str:
    """Human formatting: 0.1234 -> "12.3%" (percent), 1234.5 -> "1,234", 12.345 -> "12.35", None -> "–"."""
    v = _finite(v)
    if v is None:
        return "–"
    if percent:
        return f"{v * 100:.1f}%"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def _format_delta(d: float | None, percent: bool) -> str | None:
    d = _finite(d)
    if d is None:
        return None
    if percent:
        return f"{d * 100:+.1f} pp"
    return ("+" if d >= 0 else "-") + format_number(abs(d))


def metric_cards(metrics: Mapping, task: str) -> list[dict]:
    """Cards for the main test metrics, each beside the best baseline on that metric.

    Returns ``[{"key", "label", "value", "baseline_name", "baseline_value", "delta", "better", "help",
    "raw_value", "raw_baseline", "raw_delta", "delta_color"}]`` where ``value`` / ``baseline_value`` /
    ``delta`` are display strings (percent for MAPE and accuracies; the delta of a percent metric is in
    percentage points), ``raw_*`` the numbers, ``better`` True when the model beats the best baseline,
    False when not, None when either side is missing, and ``delta_color`` "normal" (higher is better)
    or "inverse" (lower is better) for ``st.metric``. Metrics the run does not have (e.g. ROC AUC with
    more than two classes) are left out.
    """
    from seqcore.modeling.metrics import HIGHER_IS_BETTER

    if task not in CARD_METRICS:
        raise ValueError(f"task must be one of {', '.join(CARD_METRICS)}; got {task!r}")
    test = (metrics or {}).get("test") or {}
    baselines = (metrics or {}).get("baselines") or {}
    cards = []
    for key in CARD_METRICS[task]:
        label, help_text, pct = METRIC_INFO[key]
        value = _finite(test.get(key))
        if value is None and key == "roc_auc":
            continue
        higher = HIGHER_IS_BETTER[key]
        best_name, best_value = None, None
        for name, mets in baselines.items():
            v = _finite((mets or {}).get(key))
            if v is not None and (best_value is None or (v > best_value if higher else v < best_value)):
                best_name, best_value = str(name), v
        delta = None if value is None or best_value is None else value - best_value
        better = None if delta is None else (value > best_value if higher else value < best_value)
        cards.append({
            "key": key, "label": label, "value": format_number(value, percent=pct),
            "baseline_name": BASELINE_NAMES.get(best_name, best_name) if best_name else None,
            "baseline_value": format_number(best_value, percent=pct) if best_name else None,
            "delta": _format_delta(delta, pct), "better": better, "help": help_text,
            "raw_value": value, "raw_baseline": best_value, "raw_delta": delta,
            "delta_color": "normal" if higher else "inverse",
        })
    return cards


__all__ = [
    "plain", "downsample", "downsample_indices", "best_epoch", "loss_figure", "overfit_hint",
    "compare_loss_figure", "series_figure", "sequences_figure", "text_stats_figure", "forecast_figure",
    "residuals_figure", "future_figure", "confusion_figure", "metric_cards", "format_number",
    "METRIC_INFO", "BASELINE_NAMES",
]
