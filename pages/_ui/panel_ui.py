"""The pages' pieces for many series in one file (a panel forecast, ``DataSpec.id`` set): the Data page's
"Series id" role, a series picker for the charts, and the per-series metrics table of Results and Predict."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui.base import md

SERIES_KEY = "data_role_series"
SERIES_COLUMN = "series"          # the leading column of a panel's predictions.csv / forecast.csv


def series_role(container, columns: list[str], used: list, none: str) -> str | None:
    """The Data page's "Series id column" select box (forecasting); the column, or None for one series."""
    options = [none] + [c for c in columns if c not in used]
    if st.session_state.get(SERIES_KEY) not in options:
        st.session_state[SERIES_KEY] = none
    pick = container.selectbox(
        "Series id column (many series)", options, key=SERIES_KEY,
        help="When the file holds several series stacked one after another (one row per series and time step, "
             "for example a firm or store column), pick the column that names the series: one model then learns "
             "from all of them and forecasts each. Leave it at (none) for a file with one series.")
    return None if pick == none else pick


def seed_series_role(spec, columns: list[str], none: str, *, force: bool) -> None:
    """Put a forecasting spec's series id into the select box (``force``: overwrite what is there)."""
    value = spec.id if spec.task == "forecast" and spec.id in columns else none
    if force or SERIES_KEY not in st.session_state:
        st.session_state[SERIES_KEY] = value


def series_names(frame: pd.DataFrame | None, column: str = SERIES_COLUMN) -> list[str]:
    if frame is None or column not in frame.columns:
        return []
    from seqcore.data.schema.parsing import labels_as_strings

    return [str(s) for s in pd.unique(labels_as_strings(frame[column].dropna()))]


def pick_series(container, names: list[str], key: str, *, what: str = "the charts") -> str | None:
    """A select box over the series names (None when there are none)."""
    if not names:
        return None
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    return container.selectbox("Series", names, key=key,
                               help=f"The file holds {len(names):,} series; pick the one to show in {what}.")


def one_series(frame: pd.DataFrame | None, name: str | None, column: str = SERIES_COLUMN) -> pd.DataFrame | None:
    """The rows of series ``name`` (without the id column), or ``frame`` unchanged when it is not a panel."""
    if frame is None or name is None or column not in frame.columns:
        return frame
    from seqcore.data.schema.parsing import labels_as_strings

    part = frame[(labels_as_strings(frame[column]) == name).to_numpy()].drop(columns=[column]).reset_index(drop=True)
    part.attrs = {}
    return part


def per_series_frame(metrics: dict) -> pd.DataFrame | None:
    """One row per series: the model's test metrics, and the best baseline's MASE beside it."""
    per = ((metrics or {}).get("test") or {}).get("per_series") or {}
    if not per:
        return None
    rows = []
    from seqcore.modeling.statmodels import LABELS

    base = {k: (v or {}).get("per_series") or {} for k, v in ((metrics or {}).get("baselines") or {}).items()}
    cover = ((metrics or {}).get("intervals") or {}).get("per_series") or {}
    for name, m in per.items():
        row = {"series": name, "windows": m.get("n"), "MAE": m.get("mae"), "RMSE": m.get("rmse"),
               "MAPE": m.get("mape"), "MASE": m.get("mase")}
        if cover:
            row["in 95% band"] = (cover.get(name) or {}).get("95")
        best = min(((b[name].get("mase"), k) for k, b in base.items()
                    if name in b and b[name].get("mase") is not None), default=None)
        if best is not None:
            row["best baseline"], row["its MASE"] = LABELS.get(best[1], best[1].replace("_", " ")), best[0]
            row["beats it"] = None if m.get("mase") is None else bool(m["mase"] < best[0])
        rows.append(row)
    return pd.DataFrame(rows)


def per_series_table(metrics: dict) -> None:
    """The per-series metrics table (in an expander), when the run forecast many series."""
    frame = per_series_frame(metrics)
    if frame is None:
        return
    wins = frame["beats it"].dropna() if "beats it" in frame else pd.Series([], dtype=bool)
    label = f"Scores for each of the {len(frame):,} series"
    with st.expander(label, expanded=len(frame) <= 20):
        if len(wins):
            st.caption(md(f"The model beats the best baseline on {int(wins.sum()):,} of {len(wins):,} "
                          "series. MASE compares each series' errors with the naive one-step error in its own "
                          "training part, so series of different sizes can be compared."))
        fmt = {c: st.column_config.NumberColumn(format="%.4g") for c in ("MAE", "RMSE", "MASE", "its MASE")}
        st.dataframe(frame, hide_index=True,
                     column_config=fmt | {"MAPE": st.column_config.NumberColumn(format="percent"),
                                          "in 95% band": st.column_config.NumberColumn(
                                              format="percent",
                                              help="How often this series' test values fell inside its 95% "
                                                   "band (about 95% is right).")})


__all__ = ["SERIES_COLUMN", "SERIES_KEY", "one_series", "per_series_frame", "per_series_table", "pick_series",
           "seed_series_role", "series_names", "series_role"]
