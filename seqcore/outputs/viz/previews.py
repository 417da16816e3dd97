"""Data previews on the Data page: a time series over time, a few sequences per class, text lengths
and label counts.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from seqcore.outputs.viz.common import (PALETTE, SERIES_MAX_POINTS, TRAIN_COLOUR, _column_time_axis,
                                        _message_figure, _style, downsample, plain)


def series_figure(df: pd.DataFrame, time_col: str | None, value_cols: Sequence[str], *,
                  max_points: int = SERIES_MAX_POINTS, time_format: str | None = None,
                  time_part: str | None = None) -> go.Figure:
    """Time series preview: one line per value column over the time column (row number when none),
    with a range slider; each line is cut to ``max_points`` points. The time column is read as the
    forecast reads it (``time_format`` / ``time_part`` of the DataSpec; detected when None)."""
    cols = [c for c in (value_cols or []) if c in df.columns]
    if df is None or len(df) == 0 or not cols:
        return _message_figure("Pick at least one numeric column to see it over time.")
    x_all = _column_time_axis(df, time_col, time_format, time_part) if time_col and time_col in df.columns \
        else np.arange(len(df))
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
