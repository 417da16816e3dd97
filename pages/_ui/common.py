"""Every helper a page needs, under one name: pages import this as ``from pages._ui import common as ui``
and call :func:`setup` first.

This module only gathers the helpers; each lives in the module of its job:

- :mod:`pages._ui.base`: session state, the signed-in user (:func:`principal`), the run store (scoped to that
  user), :func:`md` (Markdown escaping), formatting
- :mod:`pages._ui.guards`: :func:`show_error` (and the app log), :func:`require`
- :mod:`pages._ui.data`: the configuration in session state, stored datasets, the dry run, samples
- :mod:`pages._ui.estimates`: the time estimate per epoch
- :mod:`pages._ui.page`: :func:`setup` (the sign-in check of :mod:`pages._ui.auth` first), the sidebar, the
  worker status
- :mod:`pages._ui.live` and :mod:`pages._ui.sweeps_ui`: the run and sweep pages' helpers (imported by
  those pages directly)

The Streamlit server never imports Keras, JAX or TensorFlow: these helpers read the run store, parse CSV
bytes (pandas) or estimate; training and predicting happen in worker processes.
"""

from __future__ import annotations

from pages._ui.base import (DATA_WIDGET_PREFIXES, LOG, MD_SPECIAL, MODEL_WIDGET_PREFIXES, NAV, PAGES,
                            STATE_DEFAULTS, STATUS_ICONS, TASK_LABELS, clear_widgets, fmt_bytes, fmt_rough_seconds,
                            fmt_seconds, fmt_when, home_path, init_state, md, principal, run_label, seed, store,
                            valid_run_id)
from pages._ui.data import (SAMPLES, SAMPLES_DIR, DryRun, Sample, current_spec, dataset_kind, dry_run,
                            explained_defaults, file_kind, hint_prepare, load_run_config, load_sample, load_table,
                            restore_if_empty, run_csv_options, suggested_data_spec)
from pages._ui.estimates import (SECONDS_PER_LAYER_STEP, SECONDS_PER_PARAM_STEP, VALIDATION_COST, XLA_SPEEDUP,
                                 TimeEstimate, epoch_seconds, extra_trainings, fmt_range, recurrent_params, speed_factor,
                                 time_estimate)
from pages._ui.guards import log_file, require, show_error
from pages._ui.page import ensure_worker, refresh_sidebar, setup, worker_status_box

__all__ = [
    "DATA_WIDGET_PREFIXES", "LOG", "MD_SPECIAL", "MODEL_WIDGET_PREFIXES", "NAV", "PAGES", "STATE_DEFAULTS",
    "STATUS_ICONS", "TASK_LABELS", "clear_widgets", "fmt_bytes", "fmt_rough_seconds", "fmt_seconds", "fmt_when",
    "home_path", "init_state", "md", "principal", "run_label", "seed", "store", "valid_run_id",
    "SAMPLES", "SAMPLES_DIR", "DryRun", "Sample", "current_spec", "dataset_kind", "dry_run", "explained_defaults",
    "file_kind", "hint_prepare", "load_run_config",
    "load_sample", "load_table", "restore_if_empty", "run_csv_options", "suggested_data_spec",
    "SECONDS_PER_LAYER_STEP", "SECONDS_PER_PARAM_STEP", "VALIDATION_COST", "XLA_SPEEDUP", "epoch_seconds",
    "recurrent_params", "speed_factor", "TimeEstimate", "extra_trainings", "fmt_range", "time_estimate",
    "log_file", "require", "show_error",
    "ensure_worker", "refresh_sidebar", "setup", "worker_status_box",
]
