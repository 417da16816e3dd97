"""What every figure shares: colours and limits, the common look (``_style``), :func:`plain` for user
text, the placeholder figure (``_message_figure``), downsampling, time axes, and the metric names and
number formatting of the pages and the report (:data:`METRIC_INFO`, :data:`BASELINE_NAMES`,
:func:`format_number`, :func:`metric_cards`). The ``_`` helpers are for the other viz modules.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from seqcore.modeling.statmodels import LABELS as STAT_LABELS


# Colours (plotly's default qualitative palette, named for readability).
TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"
BATCH_COLOUR = "rgba(31, 119, 180, 0.35)"
BEST_COLOUR = "#d62728"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")

SERIES_MAX_POINTS = 5000       # data previews and forecast plots are downsampled above this


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


def _column_time_axis(df: pd.DataFrame, col: str, time_format: str | None = None, part: str | None = None):
    """The time column ``col`` of ``df`` as the data pages read it (``time_format`` and the quarter/month
    column ``part`` as in the DataSpec; detected when None), so integer dates such as 19580329 plot as
    dates; the plain column when it cannot be read that way."""
    from seqcore.data import schema
    from seqcore.errors import UserError

    try:
        idx = schema.parse_time(df, col, time_format, part if part in df.columns else None)
        return np.asarray(idx)
    except (UserError, ValueError, TypeError):
        return _time_axis(df[col].reset_index(drop=True))


def _time_axis(values: pd.Series):
    """A time column as something plotly can order: datetimes, numbers, or the strings as they are."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy()
    s = values.astype("string")
    parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    if parsed.notna().mean() >= 0.9:
        return parsed.to_numpy()
    return s.to_numpy(dtype=object, na_value="")


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
                  "majority_class": "majority class", "nearest_neighbour": "1-nearest-neighbour (Euclidean)",
                  "nearest_neighbour_dtw": "1-nearest-neighbour (DTW)",
                  "bag_of_words": "bag of words", **STAT_LABELS}


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


def baseline_table(metrics: Mapping, task: str) -> pd.DataFrame:
    """The model and every baseline on the card metrics: one row each (``"model"`` first, then the baselines by
    their plain labels), a column per metric the run has, values as display strings. Empty without metrics."""
    if task not in CARD_METRICS:
        raise ValueError(f"task must be one of {', '.join(CARD_METRICS)}; got {task!r}")
    test = (metrics or {}).get("test") or {}
    rows = [("this model", test)] + [(BASELINE_NAMES.get(n, n), m or {})
                                     for n, m in ((metrics or {}).get("baselines") or {}).items()]
    keys = [k for k in CARD_METRICS[task] if any(_finite(m.get(k)) is not None for _, m in rows)]
    if not test or not keys:
        return pd.DataFrame()
    return pd.DataFrame([{"": name, **{METRIC_INFO[k][0]: format_number(_finite(m.get(k)), percent=METRIC_INFO[k][2])
                                       for k in keys}} for name, m in rows])
