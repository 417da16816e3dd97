"""Hyperparameter sweeps: many runs of one configuration with some settings varied, searched by Optuna.

A *sweep* is a row in the run store's ``sweeps`` table: the base :class:`~seqcore.config.RunSpec`
(what the Model page shows), the data, and a :class:`SweepConfig` saying which hyperparameters vary
(:class:`ParamRange`: a list of values or a range), the search method (``grid``, ``random`` or
``tpe``, all Optuna samplers), the trial budget, the metric to optimise and a seed. Each *trial* is an
ordinary training run (same charts, same results page) with ``runs.sweep_id`` set and its trial
number and parameters in ``runs.tags`` (``sweep_trial``, ``sweep_params``).

A :class:`SweepDriver` moves running sweeps forward. It keeps no state of its own: on every tick it
rebuilds an in-memory Optuna study from the trial runs in the store (finished -> COMPLETE, stopped ->
PRUNED, failed -> FAIL, queued/running -> RUNNING, with each epoch's metric as an intermediate value),
then

- prunes: for each new epoch of a running trial it asks the study's pruner (Optuna's ``MedianPruner``)
  and, when told to, tags the run ``pruned`` and asks it to stop the ordinary way
  (:func:`seqcore.runs.runner.request_stop`: it ends after the current batch with its best weights saved);
- launches: while the budget is not spent and fewer trials are active than the backend can run at
  once, it asks the study for the next parameters and queues a run (:func:`seqcore.runs.runner.submit_run`);
- resumes trials that were ``interrupted`` by a restart, stops every trial when the whole sweep is asked
  to stop, and marks the sweep ``finished`` / ``stopped`` / ``failed`` with its best trial.

Because the study is a pure function of the store, a sweep survives refreshes and restarts like a run:
one detached driver process per data folder (:func:`ensure_driver`, ``python -m seqcore.cli.sweeps
sweeps driver``) serves every running sweep and exits when none is left; the app and the CLI start it.

The package, by job: :mod:`.config` (what can vary, :class:`SweepConfig`, ``--vary``), :mod:`.search`
(Optuna's samplers, pruner and trials), :mod:`.state` (sweeps and trials in the store), :mod:`.driver`
(:class:`SweepDriver` and the driver process's loop), :mod:`.process` (starting, finding and stopping that
process). Every public name is importable from ``seqcore.sweeps``.

Importing this package is cheap: Optuna is imported inside the functions that need it.
"""

from seqcore.sweeps.config import (ALIASES, MAX_GRID, MAX_TRIALS, METHOD_TEXT, METHODS, METRICS, TUNABLES, ParamRange,
                                   SweepConfig, Tunable, apply_params, format_params, metrics_for, parse_vary,
                                   tunables_for)
from seqcore.sweeps.driver import MAX_TRIAL_ATTEMPTS, SweepDriver, backend_slots, run_driver
from seqcore.sweeps.process import (DRIVER, DRIVER_IDLE_EXIT_S, DRIVER_LOCK, DRIVER_LOG, DRIVER_START_LOCK,
                                    DRIVER_STATUS, driver_pid, ensure_driver, ensure_driver_if_needed, stop_driver)
from seqcore.sweeps.search import (best_of, distributions, epoch_value, frozen_trial, make_pruner, make_sampler,
                                   plan_params)
from seqcore.sweeps.state import (SWEEP_STATUSES, SweepNotFound, SweepRecord, TrialInfo, delete_sweep, get_sweep,
                                  list_sweeps, rename_sweep, start_sweep, stop_sweep, sweep_trials, trial_runs,
                                  trial_status)

__all__ = [
    "ALIASES", "DRIVER", "DRIVER_IDLE_EXIT_S", "DRIVER_LOCK", "DRIVER_LOG", "DRIVER_START_LOCK", "DRIVER_STATUS",
    "MAX_GRID", "MAX_TRIALS", "MAX_TRIAL_ATTEMPTS", "METHODS", "METHOD_TEXT", "METRICS", "SWEEP_STATUSES",
    "TUNABLES", "ParamRange", "SweepConfig", "SweepDriver", "SweepNotFound", "SweepRecord", "TrialInfo", "Tunable",
    "apply_params", "backend_slots", "best_of", "delete_sweep", "distributions", "driver_pid", "ensure_driver",
    "ensure_driver_if_needed", "epoch_value", "format_params", "frozen_trial", "get_sweep", "list_sweeps",
    "make_pruner", "make_sampler", "metrics_for", "parse_vary", "plan_params", "rename_sweep", "run_driver",
    "start_sweep", "stop_driver", "stop_sweep", "sweep_trials", "trial_runs", "trial_status", "tunables_for",
]
