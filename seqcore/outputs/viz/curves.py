"""Training curves: the live loss chart (:func:`loss_figure`), the epoch the trainer keeps
(:func:`best_epoch`), the overfitting hint and the comparison of several runs' curves.

``points``: training progress, :class:`~seqcore.modeling.progress.Progress` objects or their dicts
(``kind`` "batch" | "epoch"; history entries without ``kind`` count as epochs), or a run's
:class:`~seqcore.runs.store.HistoryColumns`.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from seqcore.modeling.progress import Progress
from seqcore.modeling.progress import NOT_CURVE_KINDS, OVERFIT_EPOCHS, HistoryColumns, overfitting
from seqcore.outputs.viz.common import (BATCH_COLOUR, BEST_COLOUR, PALETTE, TRAIN_COLOUR, VAL_COLOUR, _finite,
                                        _message_figure, _style, downsample, plain)


WAITING_TEXT = "Waiting for the first loss point…"
BATCH_SMOOTHING = 0.6          # exponential smoothing weight of the batch curve (0 = none)
LOG_DECADES = 2.0              # log-scale y when the losses span more than this many decades


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
        if d["kind"] in NOT_CURVE_KINDS:   # the final fit on training + validation, the backtest: not these curves
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


def overfit_hint(points: Sequence, *, min_epochs: int = OVERFIT_EPOCHS, final_fit: bool = False,
                 finished: bool = False) -> str | None:
    """A plain-language hint when the curves show overfitting by the rule of
    :func:`seqcore.modeling.progress.overfitting` (validation loss clearly above its best for ``min_epochs`` or
    more epochs while training loss kept falling; never for flat or falling curves); None otherwise. It names
    the epoch the trainer keeps (:func:`best_epoch`), and with ``final_fit`` what happens after.
    ``finished``: the run has ended (the Results page), so the hint speaks in the past tense."""
    cols = _columns(points)
    rows = _epoch_rows(cols)
    found = overfitting(np.trunc(cols.epoch[rows]), cols.loss[rows], cols.val_loss[rows], min_epochs=min_epochs)
    if found is None:
        return None
    kept = best_epoch(points)
    kept_epoch = kept[0] if kept else found.best_epoch
    since, s = found.epochs_since, "s" if found.epochs_since != 1 else ""
    rise = f"{found.rise:.0%}" if found.rise < 10 else f"{found.rise + 1:.0f} times"
    if finished:
        after = (f"; the final fit then trained a fresh model for {kept_epoch} epoch{'s' if kept_epoch != 1 else ''} "
                 "on the training and validation data" if final_fit else "")
        return (f"Validation loss rose for {since} epoch{s} after its best (epoch {found.best_epoch}), ending "
                f"{rise} above it, while training loss kept falling: the model started to memorise the training "
                f"data. The kept model is from epoch {kept_epoch}{after}; more dropout or a smaller model may "
                "help next time.")
    after = (f"; the final fit then trains a fresh model for {kept_epoch} epoch{'s' if kept_epoch != 1 else ''} "
             "on the training and validation data" if final_fit else "")
    return (f"Validation loss has been rising for {since} epoch{s} (now {rise} above its best, at epoch "
            f"{found.best_epoch}) while training loss keeps falling: the model is starting to memorise. Early "
            f"stopping will keep the best epoch (epoch {kept_epoch}){after}; more dropout or a smaller model may "
            "help.")


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
