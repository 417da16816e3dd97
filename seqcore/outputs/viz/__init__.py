"""Plotly figure builders for the app and the HTML report (no Streamlit, no TensorFlow).

Every builder returns a ``plotly.graph_objects.Figure``; an empty input gives a figure with a
short message instead of an error, so a page can always draw something.

User-provided text (column names, class labels, run names) only ever goes into plotly as
*text*, passed through :func:`plain` so that plotly.js shows it literally: plotly.js
interprets a few HTML-like tags in labels (``<b>``, ``<a href>``, ``<br>``), so ``<`` ``>`` and
``&`` are turned into the entities plotly.js decodes back to those characters. No HTML string
is ever built from user input here.

Where each part lives (everything is importable from here, ``from seqcore.outputs import viz``):
  common.py    colours and limits, the common look, plain(), downsampling, metric names,
               format_number() and metric_cards()
  curves.py    training curves: loss_figure() (the live chart), best_epoch(), overfit_hint(),
               compare_loss_figure()
  previews.py  data previews: series_figure(), sequences_figure(), text_stats_figure()
  results.py   a run's results: forecast_figure(), residuals_figure(), future_figure(),
               confusion_figure()
"""

from seqcore.outputs.viz.common import (BASELINE_NAMES, BATCH_COLOUR, BEST_COLOUR, CARD_METRICS, METRIC_INFO, PALETTE,
                                        SERIES_MAX_POINTS, TRAIN_COLOUR, VAL_COLOUR, downsample, downsample_indices,
                                        baseline_table, format_number, metric_cards, plain)
from seqcore.outputs.viz.curves import (BATCH_SMOOTHING, LOG_DECADES, OVERFIT_EPOCHS, WAITING_TEXT, best_epoch,
                                        compare_loss_figure, loss_figure, overfit_hint)
from seqcore.outputs.viz.previews import sequences_figure, series_figure, text_stats_figure
from seqcore.outputs.viz.results import confusion_figure, forecast_figure, future_figure, residuals_figure

__all__ = [
    "plain", "downsample", "downsample_indices", "best_epoch", "loss_figure", "overfit_hint",
    "compare_loss_figure", "series_figure", "sequences_figure", "text_stats_figure", "forecast_figure",
    "residuals_figure", "future_figure", "confusion_figure", "metric_cards", "baseline_table", "format_number",
    "METRIC_INFO", "BASELINE_NAMES",
]
