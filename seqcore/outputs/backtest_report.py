"""The HTML report's backtest section (:func:`backtest_html`): mean ± sd over the folds for the model and every
baseline, whether the model's lead holds fold by fold, and the folds one by one in a collapsible block."""

from __future__ import annotations

import html

from seqcore.modeling.backtest import base_words, fold_rows, lead_sentence, table_rows
from seqcore.modeling.metrics import MAIN_METRIC


def _cell(v) -> str:
    if isinstance(v, float):
        return f"<td class='num'>{html.escape(f'{v:.4g}')}</td>"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"<td class='num'>{v}</td>"
    return f"<td>{html.escape('–' if v is None else str(v))}</td>"


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def backtest_html(metrics: dict | None) -> str:
    """The section for a run's ``metrics`` (metrics.json); "" when the run has no backtest."""
    bt = (metrics or {}).get("backtest")
    if not isinstance(bt, dict) or not bt.get("per_fold"):
        return ""
    k = int(bt.get("folds") or len(bt["per_fold"]))
    parts = ["<h2>Backtest: how much the score moves</h2>",
             f"<p>The model was trained {k} more time{'s' if k != 1 else ''}, each time only on the data before a "
             "later point, and tested on the stretch right after it; the baselines were scored on the same "
             "stretches. Each cell is the average over the folds ± their standard deviation (lower is better)."
             f"{html.escape(base_words(bt.get('base')))}</p>"]
    sentence = lead_sentence(bt, MAIN_METRIC["forecast"])
    if sentence:
        parts.append(f"<p>{html.escape(sentence)}</p>")
    parts.append(_table(table_rows(bt)))
    parts.append(f"<details><summary>The {k} folds one by one</summary>{_table(fold_rows(bt))}</details>")
    return "".join(parts)
