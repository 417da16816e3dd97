"""The Optuna side of a sweep: distributions, samplers and the pruner for a :class:`SweepConfig`, trials
rebuilt from their runs (:func:`frozen_trial`), and the parameters the first trials will get
(:func:`plan_params`).

Importing this module is cheap: Optuna is imported inside the functions that need it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from seqcore.runs.store import ACTIVE_STATUSES
from seqcore.sweeps.config import SweepConfig


def load_optuna():
    """``import optuna``, with its per-trial INFO messages silenced."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(cfg: SweepConfig) -> dict:
    """The Optuna distribution of each varied parameter (grid: the grid values as categories)."""
    optuna = load_optuna()
    D = optuna.distributions
    out = {}
    for p in cfg.params:
        if cfg.method == "grid":
            out[p.name] = D.CategoricalDistribution(p.grid_values(cfg.grid_points))
        elif p.values:
            out[p.name] = D.CategoricalDistribution(list(p.values))
        elif p.tunable.kind == "int":
            out[p.name] = D.IntDistribution(int(p.low), int(p.high), log=p.log, step=int(p.step or 1))
        else:
            out[p.name] = D.FloatDistribution(float(p.low), float(p.high), log=p.log, step=p.step)
    return out


def _trial_seed(seed: int, number: int) -> int:
    """A seed for trial ``number`` of a sweep with ``seed`` (so rebuilding the study never repeats draws)."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1)[0])


def make_sampler(cfg: SweepConfig, number: int):
    """The Optuna sampler that picks trial ``number``'s parameters."""
    optuna = load_optuna()
    if cfg.method == "grid":   # the grid order is shuffled by the sweep's seed; trial k takes grid point k
        return optuna.samplers.GridSampler(cfg.grid_space(), seed=cfg.seed)
    if cfg.method == "random":
        return optuna.samplers.RandomSampler(seed=_trial_seed(cfg.seed, number))
    startup = max(2, min(10, cfg.budget() // 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # constant_liar is marked experimental
        return optuna.samplers.TPESampler(seed=_trial_seed(cfg.seed, number), n_startup_trials=startup,
                                          constant_liar=True)


def make_pruner(cfg: SweepConfig):
    optuna = load_optuna()
    if not cfg.prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=cfg.prune_startup, n_warmup_steps=cfg.prune_warmup)


def epoch_value(point, metric: str) -> float | None:
    """The sweep metric of one epoch Progress point (None when missing or not finite)."""
    v = point.val_loss if metric == "val_loss" else (point.metrics or {}).get(metric)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def best_of(values: Iterable[float], direction: str) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None
    return min(vals) if direction == "minimize" else max(vals)


def frozen_trial(cfg: SweepConfig, dists: dict, number: int, params: dict | None, values: dict[int, float],
                 status: str | None):
    """Trial ``number`` as an Optuna FrozenTrial, from its run's status and per-epoch metric ``values``.

    finished -> COMPLETE (value: the best epoch), stopped -> PRUNED, queued/running -> RUNNING,
    failed/interrupted -> FAIL; ``status=None`` (its run was deleted) -> FAIL. Grid trials carry their
    grid point (``grid_id`` = trial number) so the GridSampler never repeats one.
    """
    from optuna.trial import TrialState, create_trial

    system = {}
    if cfg.method == "grid" and number < cfg.grid_size():
        system = {"grid_id": number, "search_space": cfg.grid_space()}
    params = {k: v for k, v in (params or {}).items() if k in dists}
    if status is None or set(params) != set(dists) or not all(
            dists[k]._contains(dists[k].to_internal_repr(v)) for k, v in params.items()):
        return create_trial(state=TrialState.FAIL, system_attrs=system)
    iv = dict(sorted(values.items()))
    value = best_of(iv.values(), cfg.direction)
    if status == "finished" and value is not None:
        state = TrialState.COMPLETE
    elif status == "stopped" and iv:
        state, value = TrialState.PRUNED, None
    elif status in ACTIVE_STATUSES:
        state, value = TrialState.RUNNING, None
    else:
        state, value = TrialState.FAIL, None
    return create_trial(state=state, value=value, params=params, distributions=dists, intermediate_values=iv,
                        system_attrs=system)


def plan_params(cfg: SweepConfig, n: int | None = None) -> list[dict]:
    """The parameters the first ``n`` trials get when none has a result yet (what grid and random search
    will run; for TPE only its random start-up trials are known ahead)."""
    optuna = load_optuna()
    cfg = cfg.validate()
    n = cfg.budget() if n is None else min(n, cfg.budget())
    dists = distributions(cfg)
    out: list[dict] = []
    for k in range(n):
        study = optuna.create_study(direction=cfg.direction, sampler=make_sampler(cfg, k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for j, params in enumerate(out):
                study.add_trial(frozen_trial(cfg, dists, j, params, {}, "running"))
            params = study.ask(dists).params
        out.append({p.name: params[p.name] for p in cfg.params})
    return out
