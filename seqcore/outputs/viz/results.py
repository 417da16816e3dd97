"""A finished run's results: forecasts on the test part and their errors, the forecast past the end
of the data, and the confusion matrix of a classifier.

``pred_df``: predictions.csv of a forecast run: origin, step, time, target, actual, predicted, error
``forecast_df``: forecast.csv: step, optional time, one column per target
Both may carry 80% / 95% bands (``lower_80, upper_80, lower_95, upper_95``; ``<target>_lower_80`` ... in a
forecast of several targets): the figures then shade them (a fan past the end of the data).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from seqcore.outputs.viz.common import (PALETTE, SERIES_MAX_POINTS, TRAIN_COLOUR, VAL_COLOUR, _message_figure,
                                        _column_time_axis,
                                        _style, _time_axis, downsample, downsample_indices, plain)


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


#: Band shading: the 95% band light, the 80% band (drawn over it) darker.
BAND_ALPHA = {95: 0.15, 80: 0.3}


def _rgba(colour: str, alpha: float) -> str:
    c = colour.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _band_names(columns, target: str | None, n_targets: int) -> dict[int, tuple[str, str]]:
    """{level: (lower column, upper column)} of the bands present for ``target``: ``<target>_lower_95`` ..., or
    ``lower_95`` ... when the table holds one target (or is long, with a ``target`` column)."""
    cols = {str(c) for c in columns}
    out = {}
    for lev in (95, 80):
        for lo, hi in ((f"{target}_lower_{lev}", f"{target}_upper_{lev}"), (f"lower_{lev}", f"upper_{lev}")):
            if lo in cols and hi in cols and (lo.startswith(f"{target}_") or n_targets <= 1 or "target" in cols):
                out[lev] = (lo, hi)
                break
    return out


def _add_bands(fig: go.Figure, x, df: pd.DataFrame, names: dict[int, tuple[str, str]], colour: str,
               idx=None, *, label: str = "", group: str | None = None, head: tuple | None = None) -> None:
    """Shaded 95% and 80% bands (lower/upper columns of ``df``), under the lines drawn after them. ``head``:
    (x, y) of a point the bands start from (the last known value of a forecast)."""
    for lev in (95, 80):
        if lev not in names:
            continue
        lo = pd.to_numeric(df[names[lev][0]], errors="coerce").to_numpy(dtype=np.float64)
        hi = pd.to_numeric(df[names[lev][1]], errors="coerce").to_numpy(dtype=np.float64)
        xs = np.asarray(x)
        if idx is not None:
            xs, lo, hi = xs[idx], lo[idx], hi[idx]
        if head is not None:
            xs = pd.Index(head[0]).append(pd.Index(xs))
            lo, hi = np.concatenate([head[1], lo]), np.concatenate([head[1], hi])
        fig.add_trace(go.Scatter(x=xs, y=hi, mode="lines", line={"width": 0, "color": colour}, showlegend=False,
                                 hoverinfo="skip", legendgroup=group))
        fig.add_trace(go.Scatter(x=xs, y=lo, mode="lines", line={"width": 0, "color": colour}, fill="tonexty",
                                 fillcolor=_rgba(colour, BAND_ALPHA[lev]), name=f"{label}{lev}% band",
                                 hovertemplate=f"{lev}% band: %{{y:.4g}}<extra></extra>", legendgroup=group))


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
    bands = _band_names(df.columns, tgt, 1)
    if bands:   # the 80% / 95% bands around the predictions, sampled at the predicted line's points
        keep = downsample_indices(pd.to_numeric(df["predicted"], errors="coerce").to_numpy(dtype=np.float64),
                                  max_points)
        _add_bands(fig, x, df, bands, VAL_COLOUR, keep)
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
                  targets: Sequence[str] | None = None, tail: int | None = None, time_format: str | None = None,
                  time_part: str | None = None) -> go.Figure:
    """The last part of the data and the forecast past its end (dashed), one colour per target.

    history: the data as a DataFrame (``time_col`` optional, target columns named as in the forecast)
             or one Series (its index is the time axis).
    forecast_df: forecast.csv (``step``, optional ``time``, one column per target).
    tail: how many history rows to show (default: 5 horizons, at least 100).
    time_format / time_part: how the history's time column is written (as in the DataSpec; detected when None).
    """
    if forecast_df is None or len(forecast_df) == 0:
        return _message_figure("No forecast yet: train a forecasting run first.")
    from seqcore.modeling.intervals import is_interval_column

    fc_cols = [c for c in forecast_df.columns if c not in ("step", "time", "series") and not is_interval_column(c)]
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
        hx = _column_time_axis(hist.reset_index(drop=True), time_col, time_format, time_part) \
            if time_col != "__time__" else _time_axis(hist[time_col].reset_index(drop=True))
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
        bands = _band_names(forecast_df.columns, c, len(fc_cols))
        if bands:   # a fan: the 95% and 80% bands widen from the last known value
            _add_bands(fig, fx, forecast_df, bands, colour, label=f"{plain(c)}: ", group=str(i),
                       head=(fxx[:1], fyy[:1]) if len(fxx) > len(fx) else None)
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
