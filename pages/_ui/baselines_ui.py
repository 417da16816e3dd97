"""The Results page's table of every baseline beside the model, with the statistical models' skip notes."""

from __future__ import annotations

import streamlit as st

from pages._ui.base import md
from seqcore.modeling.statmodels import STAT_BASELINES_TEXT, STAT_MODELS
from seqcore.outputs import viz


def baselines_section(metrics: dict, task: str) -> None:
    """An expander with the model and every baseline on the main metrics; for a forecast, what the statistical
    baselines are and the ones left out (``metrics["baseline_notes"]``)."""
    table = viz.baseline_table(metrics, task)
    notes = [str(n) for n in (metrics.get("baseline_notes") or [])]
    if table.empty and not notes:
        return
    with st.expander("The model beside every baseline", expanded=False):
        if not table.empty:
            st.dataframe(table, hide_index=True)
        if task == "forecast" and (notes or any(n in STAT_MODELS for n in metrics.get("baselines") or {})):
            st.caption(STAT_BASELINES_TEXT)
        for note in notes:
            st.caption(md(note))
