"""A finished run's results: forecasts on the test part and their errors, the forecast past the end
of the data, and the confusion matrix of a classifier.

``pred_df``: predictions.csv of a forecast run: origin, step, time, target, actual, predicted, error
``forecast_df``: forecast.csv: step, optional time, one column per target
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from seqcore.outputs.viz.common import (PALETTE, SERIES_MAX_POINTS, TRAIN_COLOUR, VAL_COLOUR, _message_figure,
                                        _column_time_axis,
                                        _style, _time_axis, downsample, plain)


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
