"""Helpers of the Sweeps page: the sweep builder's widgets, the trials table, the plots, the backend line.

Nothing here imports Keras; sweeps run through :mod:`seqcore.sweeps` (a driver process queues the
trials as ordinary runs). Figures only show parameter names, numbers and the app's own words: no user
text reaches plotly labels.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages._ui.base import seed as seed_widget
from pages._ui.live import results_link_path
from seqcore.errors import SpecError
from seqcore.sweeps import METRICS, TUNABLES, ParamRange, SweepConfig, TrialInfo, Tunable, parse_vary

#: Page-local plain session keys (widget values are copied into ``sweeps_draft`` so they survive a
#: visit to another page, when Streamlit forgets the widget keys).
STATE_DEFAULTS: dict[str, Any] = {
    "sweeps_current": None,       # the sweep the page follows
    "sweeps_draft": {},           # the builder's widget values
    "sweeps_error": None,         # a refused start or stop, shown once
}

DEFAULT_PARAMS = ["units", "learning_rate"]
STATUS_COLORS = {"finished": "#2ca02c", "pruned": "#ff7f0e", "stopped": "#7f7f7f", "failed": "#d62728",
                 "interrupted": "#8c564b", "running": "#1f77b4", "queued": "#aec7e8"}
STATUS_WORDS = {
    "queued": "waiting in the queue", "running": "training", "finished": "finished",
    "pruned": "stopped early by the sweep (its validation loss lagged behind)",
    "stopped": "stopped", "failed": "failed", "interrupted": "interrupted",
}
SWEEP_STATUS_ICONS = {"running": "🏃", "finished": "✅", "stopped": "⏹️", "failed": "❌"}


def init_state() -> None:
    for key, value in STATE_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value if not isinstance(value, dict) else dict(value)


def restore_draft() -> None:
    """Seed the builder's widgets from the saved draft (before they are drawn)."""
    for key, value in (st.session_state.get("sweeps_draft") or {}).items():
        seed_widget(key, value)


def save_draft() -> None:
    """Copy the builder's widget values out (after they are drawn)."""
    st.session_state["sweeps_draft"] = {k: v for k, v in st.session_state.items()
                                        if isinstance(k, str) and k.startswith("sweeps_b_")}


# ----------------------------------------------------------------------------- the builder

def _default_range(t: Tunable) -> ParamRange:
    return parse_vary(f"{t.name}={t.example}")


def param_editor(t: Tunable) -> ParamRange:
    """Widgets for one varied setting; returns its (checked) ParamRange or raises SpecError."""
    default = _default_range(t)
    if t.kind in ("choice", "bool"):
        key = f"sweeps_b_choices_{t.name}"
        seed_widget(key, list(default.values) if t.kind == "choice" else [False, True])
        chosen = st.multiselect(t.label, list(t.choices), key=key,
                                format_func=(lambda v: ("yes" if v else "no")) if t.kind == "bool" else str.upper,
                                help=f"{t.help} Every value you pick is tried.")
        if not chosen:
            raise SpecError(f"{t.label}: pick at least one value to try.")
        return ParamRange(t.name, values=tuple(chosen)).validate()
    mode_key = f"sweeps_b_mode_{t.name}"
    seed_widget(mode_key, "range" if default.is_range else "list")
    c1, c2 = st.columns([1, 3])
    mode = c1.radio(t.label, ["list", "range"], key=mode_key, horizontal=False,
                    format_func={"list": "these values", "range": "a range"}.get,
                    help=f"{t.help} Try a short list of values, or let the search pick values from a range.")
    with c2:
        if mode == "list":
            key = f"sweeps_b_list_{t.name}"
            example = default.describe() if not default.is_range else ", ".join(
                str(v) for v in default.grid_values(3))
            seed_widget(key, example)
            text = st.text_input(f"{t.label}: values to try", key=key,
                                 help="Separate the values with commas, for example " + example + ".")
            items = [v.strip() for v in str(text).split(",") if v.strip()]
            if not items:
                raise SpecError(f"{t.label}: write at least one value to try.")
            return ParamRange(t.name, values=tuple(items)).validate()
        lo_key, hi_key, log_key = f"sweeps_b_low_{t.name}", f"sweeps_b_high_{t.name}", f"sweeps_b_log_{t.name}"
        if default.is_range:
            lo, hi = default.low, default.high
        else:
            nums = [float(v) for v in default.values]
            lo, hi = min(nums), max(nums)
        is_int = t.kind == "int"
        seed_widget(lo_key, int(lo) if is_int else float(lo))
        seed_widget(hi_key, int(hi) if is_int else float(hi))
        seed_widget(log_key, bool(t.log and lo > 0))
        r1, r2, r3 = st.columns([2, 2, 1])
        fmt = None if is_int else "%g"
        step = 1 if is_int else None
        low = r1.number_input("from", min_value=int(t.low) if is_int else float(t.low),
                              max_value=int(t.high) if is_int else float(t.high), key=lo_key, format=fmt, step=step,
                              help="The smallest value to try.")
        high = r2.number_input("to", min_value=int(t.low) if is_int else float(t.low),
                               max_value=int(t.high) if is_int else float(t.high), key=hi_key, format=fmt, step=step,
                               help="The largest value to try.")
        log = r3.checkbox("log scale", key=log_key,
                          help="Spread the tries evenly over orders of magnitude (0.0001, 0.001, 0.01 ...): "
                               "right for learning rates and sizes.")
        return ParamRange(t.name, low=low, high=high, log=bool(log)).validate()


def sweep_config(params: list[ParamRange], *, method: str, trials: int, metric: str, seed: int, prune: bool,
                 parallel: int) -> SweepConfig:
    return SweepConfig(params=tuple(params), method=method, trials=int(trials), metric=metric, seed=int(seed),
                       prune=bool(prune), parallel=int(parallel) or None)


# ----------------------------------------------------------------------------- the trials

def trials_frame(trials: list[TrialInfo], cfg: SweepConfig) -> pd.DataFrame:
    """One row per trial: number, status, each varied setting, the metric, epochs, time, links."""
    label = METRICS[cfg.metric][0]
    rows = []
    for t in trials:
        row: dict[str, Any] = {"best": "★" if t.is_best else "", "trial": t.number + 1,
                               "status": t.status + (f" (epoch {t.pruned_at_epoch})"
                                                          if t.status == "pruned" and t.pruned_at_epoch else "")}
        for p in cfg.params:
            v = t.params.get(p.name)
            row[TUNABLES[p.name].label] = v if not isinstance(v, bool) else ("yes" if v else "no")
        row[label] = t.value
        row["epochs"] = f"{t.epochs_run or 0} / {t.planned_epochs or '?'}"
        row["duration (s)"] = None if t.duration is None else round(t.duration, 1)
        row["results"] = results_link_path(t.run_id) if t.run_status in ("finished", "stopped") else None
        row["run id"] = t.run_id
        rows.append(row)
    return pd.DataFrame(rows)


def _numeric(values: list, p: ParamRange) -> tuple[list[float], list | None, list[str] | None]:
    """Values on a numeric axis; categories get positions 0..n-1 with their names as tick labels."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None) and \
            TUNABLES[p.name].kind in ("int", "float"):
        return [float(v) if v is not None else math.nan for v in values], None, None
    cats = list(p.values) if p.values else sorted({v for v in values if v is not None}, key=str)
    text = [("yes" if c else "no") if isinstance(c, bool) else str(c).upper() if isinstance(c, str) else f"{c:g}"
            for c in cats]
    pos = {c: i for i, c in enumerate(cats)}
    return [float(pos.get(v, math.nan)) for v in values], list(range(len(cats))), text


def _log_axis(p: ParamRange, xs: list[float]) -> bool:
    """A log axis for log-scale ranges and for positive lists spanning a factor of 10 or more."""
    vals = [x for x in xs if x == x]
    if not vals or min(vals) <= 0:
        return False
    return (p.is_range and p.log) or (bool(p.values) and max(vals) / min(vals) >= 10)


def scatter_figure(trials: list[TrialInfo], cfg: SweepConfig) -> go.Figure:
    """One panel per varied setting: its value (x) against the trial's metric (y); the best is a star."""
    label = METRICS[cfg.metric][0]
    done = [t for t in trials if t.value is not None and not t.copy]
    n = max(1, len(cfg.params))
    fig = make_subplots(rows=1, cols=n, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[TUNABLES[p.name].label for p in cfg.params])
    shown = set()
    for i, p in enumerate(cfg.params, start=1):
        xs, tickvals, ticktext = _numeric([t.params.get(p.name) for t in done], p)
        for status in STATUS_COLORS:
            idx = [k for k, t in enumerate(done) if t.status == status]
            if not idx:
                continue
            fig.add_trace(go.Scatter(
                x=[xs[k] for k in idx], y=[done[k].value for k in idx], mode="markers", name=status,
                legendgroup=status, showlegend=status not in shown,
                marker={"color": STATUS_COLORS[status], "size": 9, "line": {"width": 0.5, "color": "white"}},
                customdata=[[done[k].number + 1] for k in idx],
                hovertemplate=f"trial %{{customdata[0]}}<br>{p.name}=%{{x}}<br>{label} %{{y:.4g}}<extra>{status}</extra>",
            ), row=1, col=i)
            shown.add(status)
        best = [k for k, t in enumerate(done) if t.is_best]
        if best:
            k = best[0]
            fig.add_trace(go.Scatter(x=[xs[k]], y=[done[k].value], mode="markers", name="best trial",
                                     legendgroup="best", showlegend=i == 1,
                                     marker={"symbol": "star", "size": 18, "color": "gold",
                                             "line": {"width": 1, "color": "black"}},
                                     hovertemplate=f"best: trial {done[k].number + 1}<extra></extra>"), row=1, col=i)
        axis = {"title": None}
        if tickvals is not None:
            axis.update(tickvals=tickvals, ticktext=ticktext)
        elif _log_axis(p, xs):
            axis.update(type="log")
        fig.update_xaxes(row=1, col=i, **axis)
    fig.update_yaxes(title_text=label, row=1, col=1)
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.15},
                      uirevision="sweep-scatter")
    return fig


def parallel_figure(trials: list[TrialInfo], cfg: SweepConfig) -> go.Figure | None:
    """Parallel coordinates: one line per trial with a result through every varied setting and the metric,
    coloured by the metric (the best trials stand out). None with fewer than two trials."""
    label = METRICS[cfg.metric][0]
    done = [t for t in trials if t.value is not None and not t.copy]
    if len(done) < 2:
        return None
    dims = []
    for p in cfg.params:
        xs, tickvals, ticktext = _numeric([t.params.get(p.name) for t in done], p)
        use_log = tickvals is None and _log_axis(p, xs)
        d = {"label": TUNABLES[p.name].label, "values": [math.log10(x) for x in xs] if use_log else xs}
        if tickvals is not None:
            d.update(tickvals=tickvals, ticktext=ticktext)
        elif use_log:
            lo, hi = math.floor(min(d["values"])), math.ceil(max(d["values"]))
            d.update(tickvals=list(range(lo, hi + 1)), ticktext=[f"{10 ** e:g}" for e in range(lo, hi + 1)])
        dims.append(d)
    values = [t.value for t in done]
    dims.append({"label": label, "values": values})
    reverse = cfg.direction == "minimize"
    fig = go.Figure(go.Parcoords(
        line={"color": values, "colorscale": "Viridis", "reversescale": reverse, "showscale": True,
              "colorbar": {"title": {"text": "better" if not reverse else "lower is better", "side": "right"}}},
        dimensions=dims))
    fig.update_layout(height=360, margin={"l": 60, "r": 60, "t": 50, "b": 20}, uirevision="sweep-parcoords")
    return fig


# ----------------------------------------------------------------------------- the backend

def describe_backend(info: dict) -> str:
    """One plain sentence about where runs execute (from :func:`seqcore.runs.runner.backend_status`)."""
    if info.get("error"):
        return f"Runs cannot start: {info['error']}"
    if info.get("backend") == "ray":
        ray = info.get("ray") or {}
        res = ray.get("resources") or {}
        if not ray.get("connected"):
            return (f"Runs execute on Ray ({ray.get('address', 'a local instance')}); the connection starts with "
                    "the first run.")
        gpus = f", {res.get('GPU', 0):g} GPU(s)" if res.get("GPU") else ""
        return (f"Runs execute on Ray ({ray.get('address')}): {ray.get('nodes', '?')} node(s), "
                f"{res.get('CPU', 0):g} CPU(s){gpus}; {info.get('slots', '?')} run(s) at once, each asking "
                f"{ray.get('num_cpus_per_run', 1):g} CPU and {ray.get('num_gpus_per_run', 0):g} GPU.")
    if info.get("alive"):
        return (f"Runs execute in local worker processes on this computer, {info.get('max_workers', 1)} at a time "
                f"({info.get('threads', '?')} thread(s) each).")
    return "Runs execute in local worker processes on this computer; the worker starts with the first run."
