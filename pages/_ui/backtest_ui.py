"""The Results page's backtest section (:func:`backtest_section`): the model's and every baseline's score as
mean ± sd over the backtest folds, whether the model's lead holds fold by fold, and the folds one by one.
The figures come from the run's ``metrics.json`` ``backtest`` block (:mod:`seqcore.modeling.backtest`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui.base import md
from seqcore.modeling.backtest import base_words, fold_rows, lead_sentence, table_rows
from seqcore.modeling.metrics import MAIN_METRIC


def backtest_phase(last, ended: bool) -> tuple[float, int, str]:
    """The Train page's progress during the backtest, from its newest point ``last`` (kind "backtest": ``epoch``
    is the fold, ``epochs`` the folds, ``batch`` / ``batches`` the fold's epoch / planned epochs): (folds done,
    with the fold in progress as a fraction; folds; the progress text). ``ended``: the run has ended."""
    folds = max(1, int(last.epochs or 1))
    within = min(1.0, last.batch / last.batches) if last.batches else 0.0
    if ended:
        return float(last.epoch), folds, f"Backtest: {last.epoch} of {folds} folds trained"
    text = f"Backtest: fold {last.epoch} of {folds} · " + (f"epoch {last.batch} of {last.batches}" if last.batch
                                                           else "starting")
    return last.epoch - 1 + within, folds, text


def choose_phase(last) -> tuple[float, int, str]:
    """The Train page's progress while the run picks its forecaster's base (``DataSpec.base = "auto"``), from
    its newest point ``last`` (kind "choose": ``epoch`` is the candidate, ``epochs`` the candidates, ``batch`` /
    ``batches`` the candidate's epoch / planned epochs): (candidates done, with the one in progress as a
    fraction; candidates; the progress text)."""
    from seqcore.modeling.base_select import candidate_text

    k = max(1, int(last.epochs or 1))
    within = min(1.0, last.batch / last.batches) if last.batches else 0.0
    what = candidate_text((last.metrics or {}).get("candidate"))
    lead = ("Choosing the network's design" if str((last.metrics or {}).get("candidate")).startswith("arch:")
            else "Choosing what the network starts from")   # arch: seqcore.modeling.arch_select
    text = (f"{lead}: option {last.epoch} of {k}"
            + (f" ({what.lower()})" if what else "")
            + (f" · epoch {last.batch} of {last.batches}" if last.batch else " · starting")
            + ". The run itself trains after this.")
    return last.epoch - 1 + within, k, text


def backtest_section(metrics: dict, *, key: str = "results_backtest") -> bool:
    """Draw the backtest of a run's ``metrics`` (nothing when it has none). Returns whether it drew one."""
    bt = (metrics or {}).get("backtest")
    if not isinstance(bt, dict) or not bt.get("per_fold"):
        return False
    k = int(bt.get("folds") or len(bt["per_fold"]))
    st.subheader("Backtest: how much the score moves")
    st.caption(f"The model was trained {k} more time{'s' if k != 1 else ''}, each time only on the data before a "
               "later point, and tested on the stretch right after it; the baselines were scored on the same "
               "stretches. Each cell is the average over the folds ± how much it varies between them "
               "(standard deviation). Lower is better for every one of these errors."
               + base_words(bt.get("base")))
    sentence = lead_sentence(bt, MAIN_METRIC["forecast"])
    if sentence:
        st.markdown(md(sentence))
    st.dataframe(pd.DataFrame(table_rows(bt)), hide_index=True, key=f"{key}_table")
    with st.expander(f"The {k} folds one by one"):
        st.caption("origin: the last point in time (or row) each fold learned from; it was tested on the "
                   "test rows after it.")
        st.dataframe(pd.DataFrame(fold_rows(bt)), hide_index=True, key=f"{key}_folds")
    return True
