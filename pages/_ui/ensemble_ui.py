"""The Results page's seed spread (:func:`ensemble_section`): how much the networks of a seed ensemble scored
alone, and what their average scored. The figures come from ``metrics.json``'s ``ensemble`` block
(:mod:`seqcore.modeling.ensemble`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui.base import md
from seqcore.modeling.ensemble import spread_sentence


def ensemble_section(metrics: dict, *, key: str = "results_ensemble") -> bool:
    """Draw the seed spread of a run's ``metrics`` (nothing for one network). Returns whether it drew one."""
    sentence = spread_sentence(metrics)
    if not sentence:
        return False
    ens = metrics["ensemble"]
    st.info(md(sentence), icon="🎲")
    st.caption(f"This model is the average of {ens.get('members')} networks that differ only in their seed (their "
               "starting weights and the order they saw the examples in). Each network's own test accuracy shows "
               "how much one training run depends on luck; the averaged model, the one saved and scored above, "
               "depends on it much less.")
    acc = (ens.get("per_member") or {}).get("accuracy") or []
    seeds = ens.get("seeds") or []
    if acc:
        with st.expander(f"The {len(acc)} networks one by one"):
            st.dataframe(pd.DataFrame({"network": list(range(1, len(acc) + 1)),
                                       "seed": [seeds[i] if i < len(seeds) else None for i in range(len(acc))],
                                       "test accuracy alone": [round(float(a), 4) for a in acc]}),
                         hide_index=True, key=f"{key}_members")
    return True
