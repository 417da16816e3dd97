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

Importing this module is cheap: Optuna is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seqcore.config import POOLING, WORD_VECTORS, RunSpec
from seqcore.errors import SpecError, UserError
from seqcore.runs.procs import Daemon, install_stop_handlers, log_line, release_lock, resolve_home, try_lock
from seqcore.runs.store import ACTIVE_STATUSES, RunRecord, RunStore, atomic_write_text, is_valid_run_id, new_run_id

METHODS = ("grid", "random", "tpe")
METHOD_TEXT = {
    "grid": "Grid: every combination of the listed values (ranges are split into a few points)",
    "random": "Random: values drawn at random from the lists and ranges",
    "tpe": "Bayesian (TPE): learns from finished trials which values look promising",
}
SWEEP_STATUSES = ("running", "finished", "stopped", "failed")
MAX_TRIALS = 1000
MAX_GRID = 10_000
DRIVER_LOCK = "sweep_driver.lock"
DRIVER_STATUS = "sweep_driver.json"
DRIVER_START_LOCK = "sweep_driver.start.lock"
DRIVER_LOG = "sweep_driver.log"
DRIVER_IDLE_EXIT_S = 15.0
MAX_TRIAL_ATTEMPTS = 3          # an interrupted trial is resumed until it has started this many times
#: The sweep driver of a data folder (see :mod:`seqcore.runs.procs`).
DRIVER = Daemon("sweep driver", DRIVER_LOCK, DRIVER_STATUS, DRIVER_START_LOCK, DRIVER_LOG, reaper="reap-sweep-driver")


class SweepNotFound(UserError):
    """No sweep with this id in the store."""


# --------------------------------------------------------------------------- what can vary

@dataclass(frozen=True)
class Tunable:
    """A hyperparameter a sweep can vary: where it lives in the RunSpec, its kind and allowed range."""

    name: str                       # the name used in --vary and in trial tags
    label: str                      # plain-language label for the app
    section: str                    # "model" | "train" | "data"
    kind: str                       # "int" | "float" | "choice" | "bool"
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    tasks: tuple[str, ...] = ("forecast", "classify", "text")
    log: bool = False               # ranges of this parameter are usually searched on a log scale
    example: str = ""               # an example of values to try (CLI syntax after '=')
    help: str = ""

    @property
    def field(self) -> str:
        return self.name


TUNABLES: dict[str, Tunable] = {t.name: t for t in (
    Tunable("cell", "Recurrent cell", "model", "choice", choices=("lstm", "gru"), example="lstm,gru",
            help="LSTM or GRU."),
    Tunable("units", "Units per layer", "model", "int", 1, 4096, log=True, example="32,64,128",
            help="Units of every recurrent layer."),
    Tunable("layers", "Recurrent layers", "model", "int", 1, 8, example="1,2",
            help="How many recurrent layers are stacked."),
    Tunable("bidirectional", "Bidirectional", "model", "bool", choices=(False, True), example="false,true",
            help="Read sequences both ways."),
    Tunable("dropout", "Dropout", "model", "float", 0.0, 0.9, example="0:0.5",
            help="Share of signals switched off between layers while training."),
    Tunable("recurrent_dropout", "Recurrent dropout", "model", "float", 0.0, 0.9, example="0,0.2",
            help="Dropout inside the memory loop."),
    Tunable("dense_units", "Dense layer units", "model", "int", 0, 8192, example="0,32",
            help="An extra dense layer before the output (0 = none)."),
    Tunable("embedding_dim", "Word vector size", "model", "int", 2, 2048, tasks=("text",), log=True,
            example="32,64,128", help="Size of each word vector learned from scratch (text only; pretrained "
                                      "vectors have their own size)."),
    Tunable("embedding_dropout", "Word-vector dropout", "model", "float", 0.0, 0.9, tasks=("text",),
            example="0,0.2,0.4", help="Share of word vectors hidden while training (text only)."),
    Tunable("word_pairs", "Word-pair vector size", "model", "int", 0, 256, tasks=("text",), example="0,16,32",
            help="Size of the vector learned for each pair of neighbouring words (text only; 0 = off)."),
    Tunable("pooling", "Sum up each sequence by", "model", "choice", choices=POOLING, tasks=("classify", "text"),
            example="last,mean+max", help="Last step, average, or average and strongest signal of every step."),
    Tunable("word_vectors", "Word vectors", "model", "choice", choices=WORD_VECTORS, tasks=("text",),
            example="glove-50,none", help="Start from pretrained English vectors, or learn them from scratch."),
    Tunable("final_fit", "Final fit on training + validation", "train", "bool", choices=(False, True),
            example="false,true", help="Retrain on training + validation data for the epochs validation picked."),
    Tunable("learning_rate", "Learning rate", "train", "float", 1e-7, 10.0, log=True, example="1e-4:1e-2:log",
            help="Size of each weight update."),
    Tunable("batch_size", "Batch size", "train", "int", 1, 65_536, log=True, example="16,32,64",
            help="Examples per weight update."),
    Tunable("optimizer", "Optimizer", "train", "choice", choices=("adam", "adamw", "rmsprop", "sgd"),
            example="adam,rmsprop", help="The method that updates the weights."),
    Tunable("epochs", "Epochs (at most)", "train", "int", 1, 10_000, example="20,50",
            help="Passes over the training data."),
    Tunable("patience", "Early-stopping patience", "train", "int", 0, 1_000, example="5,10",
            help="Epochs without progress before stopping."),
    Tunable("lr_schedule", "Learning-rate schedule", "train", "choice", choices=("none", "plateau", "cosine"),
            example="plateau,cosine", help="How the learning rate changes while training."),
    Tunable("clipnorm", "Gradient clipping", "train", "float", 1e-4, 1e4, log=True, example="0.5,1,5",
            help="Cap on the size of each update."),
    Tunable("loss", "Loss", "train", "choice", choices=("mse", "mae", "huber"), tasks=("forecast",),
            example="mse,huber", help="What a forecast minimises."),
    Tunable("window", "Window (past steps)", "data", "int", 1, 10_000, tasks=("forecast",), example="12,24,36",
            help="How many past steps the model sees (forecast only)."),
    Tunable("max_len", "Words kept per text", "data", "int", 2, 5_000, tasks=("text",), example="32,64",
            help="Tokens kept per text (text only)."),
)}

ALIASES = {"lr": "learning_rate", "batch": "batch_size", "cells": "cell", "unit": "units", "layer": "layers",
           "schedule": "lr_schedule", "bidi": "bidirectional", "embedding": "embedding_dim"}

#: Metrics a sweep can optimise: label, direction, tasks. Each is read per epoch from the run's history.
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "val_loss": ("Validation loss", "minimize", ("forecast", "classify", "text")),
    "val_accuracy": ("Validation accuracy", "maximize", ("classify", "text")),
    "val_mae": ("Validation mean absolute error (scaled)", "minimize", ("forecast",)),
}


def tunables_for(task: str) -> list[Tunable]:
    """The hyperparameters that can vary for ``task``, in display order."""
    return [t for t in TUNABLES.values() if task in t.tasks]


def metrics_for(task: str) -> list[str]:
    return [k for k, (_, _, tasks) in METRICS.items() if task in tasks]


def _tunable(name: str) -> Tunable:
    key = str(name).strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in TUNABLES:
        raise SpecError(f"{name!r} is not a setting a sweep can vary.",
                        hint=f"Choose from: {', '.join(TUNABLES)}.")
    return TUNABLES[key]


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _convert(t: Tunable, raw: Any) -> Any:
    """One value for ``t`` from text (or a number), checked against its allowed values / bounds."""
    text = str(raw).strip()
    if t.kind == "bool":
        if isinstance(raw, bool):
            return raw
        low = text.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise SpecError(f"{t.name}: {text!r} is not true or false.", hint=f"Write for example {t.name}=false,true.")
    if t.kind == "choice":
        low = text.lower()
        if low not in t.choices:
            raise SpecError(f"{t.name}: {text!r} is not one of {', '.join(t.choices)}.")
        return low
    try:
        value = float(raw) if not isinstance(raw, str) else float(text)
    except (TypeError, ValueError):
        raise SpecError(f"{t.name}: {text!r} is not a number.", hint=f"Write for example {t.name}={t.example}.") from None
    if not math.isfinite(value):
        raise SpecError(f"{t.name}: {text!r} is not a finite number.")
    if t.kind == "int":
        if not float(value).is_integer():
            raise SpecError(f"{t.name}: {text} is not a whole number.", hint=f"Write for example {t.name}={t.example}.")
        value = int(value)
    if not (t.low <= value <= t.high):
        raise SpecError(f"{t.name}: {_fmt(value)} is outside the allowed range {_fmt(t.low)} to {_fmt(t.high)}.")
    return value


@dataclass(frozen=True)
class ParamRange:
    """The values a sweep tries for one hyperparameter: a list (``values``) or a range ``low``..``high``.

    A range may be searched on a log scale (``log``; good for learning rates) or in steps (``step``).
    Grid search splits a range without a step into ``SweepConfig.grid_points`` points.
    """

    name: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def is_range(self) -> bool:
        return not self.values

    @property
    def tunable(self) -> Tunable:
        return TUNABLES[self.name]

    def validate(self) -> "ParamRange":
        """Check the values against the parameter's kind and bounds; returns a normalised copy."""
        t = _tunable(self.name)
        if self.values:
            values = tuple(_convert(t, v) for v in self.values)
            unique = tuple(dict.fromkeys(values))
            return ParamRange(t.name, values=unique)
        if t.kind in ("choice", "bool"):
            raise SpecError(f"{t.name} takes a list of values, not a range.",
                            hint=f"Write for example {t.name}={t.example}.")
        if self.low is None or self.high is None:
            raise SpecError(f"{t.name}: give a list of values or a range low:high.",
                            hint=f"Write for example {t.name}={t.example}.")
        low, high = _convert(t, self.low), _convert(t, self.high)
        if not low < high:
            raise SpecError(f"{t.name}: the range {_fmt(low)}:{_fmt(high)} is empty; the first number must be "
                            "the smaller one.")
        step = self.step
        if step is not None:
            if self.log:
                raise SpecError(f"{t.name}: a range is either on a log scale or in steps, not both.")
            try:
                step = float(step)
            except (TypeError, ValueError):
                raise SpecError(f"{t.name}: the step {step!r} is not a number.") from None
            if not (math.isfinite(step) and 0 < step <= high - low):
                raise SpecError(f"{t.name}: the step must be above 0 and at most {_fmt(high - low)}; got {_fmt(step)}.")
            if t.kind == "int":
                if not step.is_integer():
                    raise SpecError(f"{t.name}: the step must be a whole number; got {_fmt(step)}.")
                step = int(step)
        if self.log and low <= 0:
            raise SpecError(f"{t.name}: a log-scale range must start above 0; got {_fmt(low)}.",
                            hint="Start at a small positive value, for example 1e-4.")
        return ParamRange(t.name, low=low, high=high, log=bool(self.log), step=step)

    def grid_values(self, points: int = 3) -> list:
        """The values grid search tries: the list, or the range cut into steps / ``points`` points."""
        if self.values:
            return list(self.values)
        t = self.tunable
        lo, hi = self.low, self.high
        if self.step is not None:
            n = int(math.floor((hi - lo) / self.step + 1e-9)) + 1
            raw = [lo + i * self.step for i in range(n)]
        elif self.log:
            raw = [lo * (hi / lo) ** (i / (points - 1)) for i in range(points)]
        else:
            raw = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
        if t.kind == "int":
            return sorted(dict.fromkeys(int(round(v)) for v in raw))
        return [float(f"{v:.6g}") for v in raw]

    def describe(self) -> str:
        """``"32, 64, 128"`` or ``"0.0001 to 0.01 (log scale)"``."""
        if self.values:
            return ", ".join(_fmt(v) for v in self.values)
        extra = " (log scale)" if self.log else (f" in steps of {_fmt(self.step)}" if self.step is not None else "")
        return f"{_fmt(self.low)} to {_fmt(self.high)}{extra}"

    def to_text(self) -> str:
        """The ``--vary`` syntax: ``units=32,64,128`` / ``learning_rate=0.0001:0.01:log``."""
        if self.values:
            return f"{self.name}=" + ",".join(_fmt(v) if not isinstance(v, float) else repr(v) for v in self.values)
        tail = ":log" if self.log else (f":{self.step!r}" if self.step is not None else "")
        return f"{self.name}={self.low!r}:{self.high!r}{tail}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["values"] = list(self.values)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ParamRange":
        return cls(name=d["name"], values=tuple(d.get("values") or ()), low=d.get("low"), high=d.get("high"),
                   log=bool(d.get("log")), step=d.get("step"))


def parse_vary(text: str) -> ParamRange:
    """``"units=32,64,128"`` / ``"learning_rate=1e-4:1e-2:log"`` / ``"dropout=0:0.5:0.1"`` -> a checked ParamRange.

    Raises :class:`SpecError` with a one-line message naming the problem.
    """
    text = str(text or "").strip()
    name, sep, rhs = text.partition("=")
    if not sep or not name.strip() or not rhs.strip():
        raise SpecError(f"{text!r} is not NAME=VALUES.",
                        hint="Write a list like units=32,64,128 or a range like learning_rate=1e-4:1e-2:log.")
    t = _tunable(name)
    rhs = rhs.strip()
    if ":" in rhs:
        parts = [p.strip() for p in rhs.split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise SpecError(f"{t.name}: {rhs!r} is not a range.", hint="Write low:high, low:high:log or low:high:step.")
        log, step = False, None
        if len(parts) == 3:
            if parts[2].lower() == "log":
                log = True
            else:
                step = parts[2]
        return ParamRange(t.name, low=parts[0], high=parts[1], log=log, step=step).validate()
    values = [v.strip() for v in rhs.split(",")]
    if not all(values):
        raise SpecError(f"{t.name}: {rhs!r} has an empty value.", hint=f"Write for example {t.name}={t.example}.")
    return ParamRange(t.name, values=tuple(values)).validate()


# --------------------------------------------------------------------------- the sweep's configuration

@dataclass(frozen=True)
class SweepConfig:
    """What a sweep searches and how.

    params: the hyperparameters that vary (the others keep the base configuration's values).
    method: "grid" | "random" | "tpe" (Optuna's GridSampler / RandomSampler / TPESampler).
    trials: the trial budget (grid: at most the number of combinations).
    metric: what to optimise, read per epoch (:data:`METRICS`; validation loss by default).
    prune: stop trials early whose best metric so far is worse than the median of the finished trials at
           the same epoch (Optuna's MedianPruner, once ``prune_startup`` trials have finished, from epoch
           ``prune_warmup`` on: early epochs are noisy).
    parallel: trials at once (None: as many as the backend runs at once).
    """

    params: tuple[ParamRange, ...] = ()
    method: str = "tpe"
    trials: int = 10
    metric: str = "val_loss"
    seed: int = 0
    prune: bool = True
    prune_startup: int = 2
    prune_warmup: int = 3
    parallel: int | None = None
    grid_points: int = 3

    @property
    def direction(self) -> str:
        return METRICS[self.metric][1]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def grid_space(self) -> dict[str, list]:
        return {p.name: p.grid_values(self.grid_points) for p in self.params}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid_space().values()) if self.params else 0

    def budget(self) -> int:
        """How many trials the sweep runs in all."""
        return min(self.trials, self.grid_size()) if self.method == "grid" else self.trials

    def validate(self, base: RunSpec | None = None) -> "SweepConfig":
        """Check everything (and, with ``base``, that every listed value gives a valid run); returns a
        normalised copy. Raises :class:`SpecError`."""
        if self.method not in METHODS:
            raise SpecError(f"The search method must be one of {', '.join(METHODS)}; got {self.method!r}.")
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or not 1 <= self.trials <= MAX_TRIALS:
            raise SpecError(f"The number of trials must be a whole number from 1 to {MAX_TRIALS}; got {self.trials!r}.")
        if self.metric not in METRICS:
            raise SpecError(f"The metric must be one of {', '.join(METRICS)}; got {self.metric!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**31:
            raise SpecError(f"The seed must be a whole number from 0 to {2**31 - 1}; got {self.seed!r}.")
        if self.parallel is not None and (not isinstance(self.parallel, int) or not 1 <= self.parallel <= 64):
            raise SpecError(f"Trials at once must be a whole number from 1 to 64; got {self.parallel!r}.")
        if not isinstance(self.grid_points, int) or not 2 <= self.grid_points <= 20:
            raise SpecError(f"Grid points per range must be from 2 to 20; got {self.grid_points!r}.")
        if not 0 <= int(self.prune_startup) <= 100 or not 0 <= int(self.prune_warmup) <= 1000:
            raise SpecError("Pruning settings are out of range (startup trials 0-100, warm-up epochs 0-1000).")
        if not self.params:
            raise SpecError("A sweep needs at least one setting to vary.",
                            hint="Pick for example the units and the learning rate.")
        params = tuple(p.validate() for p in self.params)
        names = [p.name for p in params]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"{', '.join(dup)} is varied twice; give each setting once.")
        cfg = SweepConfig(params=params, method=self.method, trials=self.trials, metric=self.metric,
                          seed=self.seed, prune=bool(self.prune), prune_startup=int(self.prune_startup),
                          prune_warmup=int(self.prune_warmup), parallel=self.parallel, grid_points=self.grid_points)
        if cfg.method == "grid" and cfg.grid_size() > MAX_GRID:
            raise SpecError(f"The grid has {cfg.grid_size():,} combinations, more than {MAX_GRID:,}.",
                            hint="List fewer values, or use random or Bayesian search with a trial budget.")
        if base is not None:
            _check_against(cfg, base)
        return cfg

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("method", "trials", "metric", "seed", "prune", "prune_startup",
                                           "prune_warmup", "parallel", "grid_points")}
        d["params"] = [p.to_dict() for p in self.params]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SweepConfig":
        d = dict(d or {})
        known = {k: d[k] for k in ("method", "trials", "metric", "seed", "prune", "prune_startup", "prune_warmup",
                                   "parallel", "grid_points") if k in d}
        return cls(params=tuple(ParamRange.from_dict(p) for p in d.get("params") or ()), **known)


def _check_against(cfg: SweepConfig, base: RunSpec) -> None:
    task = base.data.task
    label, _, tasks = METRICS[cfg.metric]
    if task not in tasks:
        raise SpecError(f"{label} is not measured for this task.",
                        hint=f"Choose one of: {', '.join(metrics_for(task))}.")
    if cfg.metric.startswith("val_") and not base.data.val_fraction:
        raise SpecError("The sweep optimises a validation metric, but the validation share of the data is 0.",
                        hint="Set a validation fraction above 0 on the Data page (0.15 is typical).")
    for p in cfg.params:
        if task not in p.tunable.tasks:
            raise SpecError(f"{p.tunable.label} ({p.name}) does not apply to this task.",
                            hint=f"Vary one of: {', '.join(t.name for t in tunables_for(task))}.")
        probe = p.values or (p.low, p.high)
        for v in probe:
            try:
                apply_params(base, {p.name: v}).validate()
            except SpecError as err:
                raise SpecError(f"{p.name}={_fmt(v)} gives an invalid configuration: {err.message}") from None


def apply_params(base: RunSpec, params: dict[str, Any]) -> RunSpec:
    """The base spec with a trial's parameters put in (not validated).

    ``units`` sets every recurrent layer; ``layers`` sets how many there are (new layers repeat the
    last layer's units, or ``units`` when that varies too).
    """
    kw: dict[str, dict] = {"model": {}, "train": {}, "data": {}}
    for name, value in params.items():
        t = TUNABLES[name]
        if name in ("units", "layers"):
            continue
        if t.kind == "int":
            value = int(value)
        elif t.kind == "float":
            value = float(value)
        kw[t.section][t.field] = value
    units = list(base.model.units) or [64]
    n = int(params.get("layers", len(units)))
    if "units" in params:
        units = [int(params["units"])] * n
    else:
        units = (units + [units[-1]] * n)[:n]
    kw["model"]["units"] = tuple(units)
    return RunSpec(data=base.data.replace(**kw["data"]), model=base.model.replace(**kw["model"]),
                   train=base.train.replace(**kw["train"]))


def format_params(params: dict[str, Any]) -> str:
    """``"units=64, learning_rate=0.001"``."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


# --------------------------------------------------------------------------- Optuna pieces

def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(cfg: SweepConfig) -> dict:
    """The Optuna distribution of each varied parameter (grid: the grid values as categories)."""
    optuna = _optuna()
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
    optuna = _optuna()
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
    optuna = _optuna()
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


# --------------------------------------------------------------------------- sweep records

@dataclass
class SweepRecord:
    """One sweep as stored. ``config`` is a :class:`SweepConfig` dict, ``base_spec`` a RunSpec dict."""

    id: str
    name: str
    status: str
    task: str | None
    config: dict
    base_spec: dict
    dataset_id: str | None
    test_dataset_id: str | None
    csv_options: dict | None
    created: float
    ended: float | None = None
    stop_requested: bool = False
    n_trials: int = 0
    best_run_id: str | None = None
    best_value: float | None = None
    error: str | None = None

    @property
    def cfg(self) -> SweepConfig:
        return SweepConfig.from_dict(self.config)

    @property
    def spec(self) -> RunSpec:
        return RunSpec.from_dict(self.base_spec)

    @property
    def is_active(self) -> bool:
        return self.status == "running"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_row(cls, row) -> "SweepRecord":
        return cls(id=row["id"], name=row["name"], status=row["status"], task=row["task"],
                   config=json.loads(row["config"]), base_spec=json.loads(row["base_spec"]),
                   dataset_id=row["dataset_id"], test_dataset_id=row["test_dataset_id"],
                   csv_options=json.loads(row["csv_options"]) if row["csv_options"] else None,
                   created=row["created"], ended=row["ended"], stop_requested=bool(row["stop_requested"]),
                   n_trials=int(row["n_trials"]), best_run_id=row["best_run_id"], best_value=row["best_value"],
                   error=row["error"])


def _as_dict(obj: Any) -> dict | None:
    if obj is None:
        return None
    return dict(obj) if isinstance(obj, dict) else obj.to_dict()


def start_sweep(store: RunStore, base: RunSpec | dict, config: SweepConfig | dict, dataset_id: str, *,
                test_dataset_id: str | None = None, csv_options: Any = None, name: str | None = None,
                start: bool = True) -> str:
    """Validate and store a sweep (status ``running``); its driver then queues the trials. Returns its id.

    Raises :class:`SpecError` (nothing stored) for a bad base spec or sweep configuration and
    :class:`~seqcore.runs.store.DatasetNotFound` for an unknown dataset. ``start``: make sure a driver runs.
    """
    base = RunSpec.from_dict(base) if isinstance(base, dict) else base
    base.validate()
    cfg = (SweepConfig.from_dict(config) if isinstance(config, dict) else config).validate(base)
    ds = store.get_dataset(dataset_id)
    if test_dataset_id is not None:
        store.get_dataset(test_dataset_id)
    sweep_id = new_run_id()
    if not (name or "").strip():
        name = f"{cfg.method.upper() if cfg.method == 'tpe' else cfg.method.capitalize()} sweep of " \
               f"{', '.join(cfg.names)} · {ds.name}"
    with store._tx() as c:
        c.execute("INSERT INTO sweeps(id, name, created, status, task, config, base_spec, dataset_id,"
                  " test_dataset_id, csv_options) VALUES (?,?,?,?,?,?,?,?,?,?)",
                  (sweep_id, name.strip()[:200], time.time(), "running", base.data.task, json.dumps(cfg.to_dict()),
                   json.dumps(base.to_dict()), dataset_id, test_dataset_id,
                   None if csv_options is None else json.dumps(_as_dict(csv_options))))
    if start:
        ensure_driver(store.home)
    return sweep_id


def get_sweep(store: RunStore, sweep_id: str) -> SweepRecord:
    if not is_valid_run_id(sweep_id):
        raise SweepNotFound(f"{str(sweep_id)[:60]!r} is not a valid sweep id.",
                            hint="Sweep ids are short codes like 'q3Zr8_Lx0aA'; list them with `sweeps list`.")
    rows = store._query("SELECT * FROM sweeps WHERE id = ?", (sweep_id,))
    if not rows:
        raise SweepNotFound(f"There is no sweep {sweep_id!r} in {store.home}.",
                            hint="It may have been deleted; list sweeps with `sweeps list`.")
    return SweepRecord.from_row(rows[0])


def list_sweeps(store: RunStore, *, status: str | Iterable[str] | None = None,
                limit: int | None = None) -> list[SweepRecord]:
    """Sweeps, newest first."""
    sql, params = "SELECT * FROM sweeps", []
    if status is not None:
        sts = [status] if isinstance(status, str) else list(status)
        sql += f" WHERE status IN ({','.join('?' * len(sts))})"
        params += sts
    sql += " ORDER BY created DESC, rowid DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [SweepRecord.from_row(r) for r in store._query(sql, params)]


def trial_runs(store: RunStore, sweep_id: str) -> list[RunRecord]:
    """The runs of a sweep, oldest first."""
    return sorted(store.list_runs(kind="train", sweep_id=sweep_id), key=lambda r: r.created)


def stop_sweep(store: RunStore, sweep_id: str) -> str:
    """Stop a whole sweep: no new trials, every queued or running trial asked to stop. Returns its status.

    The sweep ends ``stopped`` once its trials have ended (at once when none is active).
    """
    from seqcore.runs.runner import request_stop

    sw = get_sweep(store, sweep_id)
    if sw.status != "running":
        return sw.status
    with store._tx() as c:
        c.execute("UPDATE sweeps SET stop_requested = 1 WHERE id = ?", (sweep_id,))
    active = [r for r in trial_runs(store, sweep_id) if r.status in ACTIVE_STATUSES]
    for r in active:
        request_stop(store, r.id)
    if not any(store.get_run(r.id).status in ACTIVE_STATUSES for r in active):
        _finish(store, sweep_id, "stopped")
    else:
        ensure_driver(store.home)   # it marks the sweep stopped when the last trial has ended
    return get_sweep(store, sweep_id).status


def delete_sweep(store: RunStore, sweep_id: str, *, delete_runs: bool = False) -> None:
    """Delete a sweep (refused while it runs). ``delete_runs``: delete its trial runs too."""
    sw = get_sweep(store, sweep_id)
    if sw.status == "running":
        raise UserError(f"Sweep {sw.name!r} is running.", hint="Stop it first, then delete it.")
    if delete_runs:
        for r in trial_runs(store, sweep_id):
            store.delete_run(r.id)
    with store._tx() as c:
        c.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))


def rename_sweep(store: RunStore, sweep_id: str, name: str) -> None:
    name = (name or "").strip()
    if not name:
        raise UserError("A sweep name cannot be empty.")
    get_sweep(store, sweep_id)
    with store._tx() as c:
        c.execute("UPDATE sweeps SET name = ? WHERE id = ?", (name[:200], sweep_id))


def _finish(store: RunStore, sweep_id: str, status: str, error: str | None = None) -> bool:
    with store._tx() as c:
        return c.execute("UPDATE sweeps SET status = ?, ended = ?, error = COALESCE(?, error)"
                         " WHERE id = ? AND status = 'running'", (status, time.time(), error, sweep_id)).rowcount == 1


def _set_best(store: RunStore, sweep_id: str, run_id: str | None, value: float | None) -> None:
    with store._tx() as c:
        c.execute("UPDATE sweeps SET best_run_id = ?, best_value = ? WHERE id = ?", (run_id, value, sweep_id))


def _reserve_trial(store: RunStore, sweep_id: str, number: int) -> bool:
    """Claim trial ``number`` (so two drivers never start the same trial)."""
    with store._tx() as c:
        return c.execute("UPDATE sweeps SET n_trials = ? WHERE id = ? AND n_trials = ? AND status = 'running'",
                         (number + 1, sweep_id, number)).rowcount == 1


# --------------------------------------------------------------------------- trials as the app shows them

@dataclass
class TrialInfo:
    """One trial of a sweep for tables and plots.

    status: the run's status, except ``"pruned"`` for a run the sweep stopped early.
    value: the best value of the sweep's metric over the epochs so far (None before the first epoch).
    """

    number: int
    run_id: str
    name: str
    status: str
    run_status: str
    params: dict
    value: float | None
    epochs_run: int | None
    planned_epochs: int | None
    duration: float | None
    started: float | None
    ended: float | None
    error: str | None = None
    pruned_at_epoch: int | None = None
    is_best: bool = False
    copy: bool = False            # a rerun of an earlier trial (not part of the search)

    def to_dict(self) -> dict:
        return asdict(self)


def trial_status(rec: RunRecord) -> str:
    return "pruned" if rec.status == "stopped" and rec.tags.get("pruned") else rec.status


def _metric_values(store: RunStore, rec: RunRecord, metric: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for _, p in store.read_history(rec.id, kind="epoch"):
        v = epoch_value(p, metric)
        if v is not None:
            out[int(p.epoch)] = v
    return out


def sweep_trials(store: RunStore, sweep: SweepRecord | str) -> list[TrialInfo]:
    """Every trial run of a sweep, in trial order, with its status, parameters and best metric so far."""
    sw = get_sweep(store, sweep) if isinstance(sweep, str) else sweep
    cfg = sw.cfg
    seen: set[int] = set()
    out = []
    for rec in trial_runs(store, sw.id):
        number = rec.tags.get("sweep_trial")
        if not isinstance(number, int):
            continue
        if cfg.metric == "val_loss":
            value = rec.best_val_loss
        else:
            value = best_of(_metric_values(store, rec, cfg.metric).values(), cfg.direction)
        out.append(TrialInfo(
            number=number, run_id=rec.id, name=rec.name, status=trial_status(rec), run_status=rec.status,
            params=dict(rec.tags.get("sweep_params") or {}), value=value, epochs_run=rec.epochs_run,
            planned_epochs=((rec.spec or {}).get("train") or {}).get("epochs"), duration=rec.duration,
            started=rec.started, ended=rec.ended, error=rec.error, pruned_at_epoch=rec.tags.get("pruned_at_epoch"),
            is_best=rec.id == sw.best_run_id, copy=number in seen))
        seen.add(number)
    out.sort(key=lambda t: (t.number, t.copy, t.started or 0))
    return out


# --------------------------------------------------------------------------- the driver

@dataclass
class _Seen:
    """What the driver has read of one trial run's epoch history."""

    attempt: int
    last_seq: int = 0
    values: dict = field(default_factory=dict)    # epoch -> metric value
    checked: int = 0                              # epochs already put to the pruner


@dataclass
class _Trial:
    number: int
    rec: RunRecord
    params: dict
    seen: _Seen


def backend_slots(home: Path | str) -> int:
    """How many training runs the configured backend runs at once (what a sweep keeps active)."""
    from seqcore.runs.runner import backend_status

    info = backend_status(home)
    for key in ("slots", "max_workers"):
        try:
            if info.get(key):
                return max(1, int(info[key]))
        except (TypeError, ValueError):
            pass
    try:
        return max(1, int(os.environ.get("SEQSTUDIO_MAX_WORKERS", "1")))
    except ValueError:
        return 1


class SweepDriver:
    """Moves the running sweeps of one store forward; see the module docstring.

    ``start_runs=False`` queues trials without starting a backend (tests drive the queue themselves).
    """

    def __init__(self, store: RunStore, *, start_runs: bool = True, slots: int | None = None):
        self.store = store
        self.start_runs = start_runs
        self.slots = slots
        self._seen: dict[str, _Seen] = {}
        self._errors: dict[str, int] = {}

    # ---- public
    def tick(self) -> int:
        """Drive every running sweep once. Returns how many are still running."""
        running = 0
        for sw in list_sweeps(self.store, status="running"):
            try:
                if self.drive(sw.id).status == "running":
                    running += 1
                self._errors.pop(sw.id, None)
            except UserError as err:   # e.g. the dataset was deleted: the sweep cannot go on
                _log(f"sweep {sw.id}: {err}")
                self._stop_trials(sw.id)
                _finish(self.store, sw.id, "failed", error=str(err))
            except Exception as err:  # noqa: BLE001 - keep serving the other sweeps
                n = self._errors[sw.id] = self._errors.get(sw.id, 0) + 1
                _log(f"sweep {sw.id}: unexpected error ({n} in a row): {type(err).__name__}: {err}")
                import traceback

                traceback.print_exc()
                running += 1
                if n >= 5:
                    self._stop_trials(sw.id)
                    _finish(self.store, sw.id, "failed",
                            error=f"The sweep stopped after an unexpected error; details are in {DRIVER_LOG}.")
        return running

    def drive(self, sweep_id: str) -> SweepRecord:
        """One step of one sweep: stop-all, resume, prune, launch, finish. Returns its record."""
        from seqcore.runs.runner import get_backend, request_stop

        sw = get_sweep(self.store, sweep_id)
        if sw.status != "running":
            return sw
        cfg, base = sw.cfg, sw.spec
        trials, copies = self._trials(sw)
        active = [t for t in trials + copies if t.rec.status in ACTIVE_STATUSES]

        if sw.stop_requested:
            for t in active:
                request_stop(self.store, t.rec.id)
            if not any(self.store.get_run(t.rec.id).status in ACTIVE_STATUSES for t in active):
                self._update_best(sw, trials)
                _finish(self.store, sw.id, "stopped")
            return get_sweep(self.store, sw.id)

        for t in trials:   # a restart interrupted it: continue from its checkpoint
            if t.rec.status == "interrupted" and t.rec.attempt < MAX_TRIAL_ATTEMPTS:
                from seqcore.runs.runner import resume_run

                resume_run(self.store, t.rec.id, start=self.start_runs)
                self.store.append_log(t.rec.id, f"resumed by sweep {sw.id} after an interruption")
                t.rec = self.store.get_run(t.rec.id)
                active.append(t)

        if cfg.prune:
            self._prune(sw, cfg, trials)

        slots = cfg.parallel or self.slots or backend_slots(self.store.home)
        lookahead = 0 if cfg.method == "tpe" else 1      # keep the queue fed when order does not matter
        n_active = sum(1 for t in trials + copies if self.store.get_run(t.rec.id).status in ACTIVE_STATUSES)
        launched = sw.n_trials
        while launched < cfg.budget() and n_active < slots + lookahead:
            if not self._launch(sw, cfg, base, launched):
                break
            launched += 1
            n_active += 1
            trials, copies = self._trials(sw)

        if self.start_runs and any(t.rec.status == "queued" for t in trials):
            get_backend().ensure_started(self.store.home)   # e.g. after the app restarted

        trials, copies = self._trials(sw)
        self._update_best(sw, trials)
        sw = get_sweep(self.store, sw.id)
        if sw.n_trials >= cfg.budget() and not any(t.rec.status in ACTIVE_STATUSES for t in trials + copies):
            if trials and all(t.rec.status in ("failed", "interrupted") for t in trials):
                first = next((t.rec.error for t in trials if t.rec.error), None) or "see the trial logs"
                _finish(self.store, sw.id, "failed", error=f"Every trial failed; the first one said: {first}")
            else:
                _finish(self.store, sw.id, "finished")
        return get_sweep(self.store, sw.id)

    def run_forever(self, *, poll: float = 0.5, idle_exit: float | None = DRIVER_IDLE_EXIT_S,
                    stopping: threading.Event | None = None) -> None:
        """Tick until ``stopping`` is set or no sweep has run for ``idle_exit`` seconds."""
        stopping = stopping or threading.Event()
        idle_since = time.monotonic()
        while not stopping.is_set():
            if self.tick():
                idle_since = time.monotonic()
            elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                _log(f"no running sweep for {idle_exit:g} s: exiting")
                return
            stopping.wait(poll)

    # ---- the study
    def _trials(self, sw: SweepRecord) -> tuple[list[_Trial], list[_Trial]]:
        """(the first run of each trial number, later copies such as reruns), with their epochs read."""
        cfg = sw.cfg
        trials, copies, numbers = [], [], set()
        for rec in trial_runs(self.store, sw.id):
            number = rec.tags.get("sweep_trial")
            if not isinstance(number, int):
                continue
            seen = self._seen.get(rec.id)
            if seen is None or seen.attempt != rec.attempt:
                seen = self._seen[rec.id] = _Seen(attempt=rec.attempt)
            for seq, p in self.store.read_history(rec.id, seen.last_seq, kind="epoch"):
                seen.last_seq = seq
                v = epoch_value(p, cfg.metric)
                if v is not None:
                    seen.values[int(p.epoch)] = v
            t = _Trial(number, rec, dict(rec.tags.get("sweep_params") or {}), seen)
            (copies if number in numbers else trials).append(t)
            numbers.add(number)
        return trials, copies

    def _study(self, sw: SweepRecord, cfg: SweepConfig, trials: list[_Trial], next_number: int):
        """An in-memory study holding trials 0 .. next_number - 1, ready to sample trial ``next_number``."""
        optuna = _optuna()
        dists = distributions(cfg)
        study = optuna.create_study(direction=cfg.direction, sampler=make_sampler(cfg, next_number),
                                    pruner=make_pruner(cfg))
        by_number = {t.number: t for t in trials}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(next_number):
                t = by_number.get(k)
                study.add_trial(frozen_trial(cfg, dists, k, None if t is None else t.params,
                                             {} if t is None else t.seen.values, None if t is None else t.rec.status))
        return study, dists

    # ---- steps
    def _launch(self, sw: SweepRecord, cfg: SweepConfig, base: RunSpec, number: int) -> bool:
        from seqcore.runs.runner import submit_run

        trials, _ = self._trials(sw)
        study, dists = self._study(sw, cfg, trials, number)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = study.ask(dists).params
        params = {p.name: params[p.name] for p in cfg.params}
        spec = apply_params(base, params)
        if not _reserve_trial(self.store, sw.id, number):
            return False
        ds_name = self.store.get_dataset(sw.dataset_id).name
        name = f"Trial {number + 1} · {format_params(params)} · {ds_name}"
        run_id = submit_run(self.store, spec, sw.dataset_id, test_dataset_id=sw.test_dataset_id,
                            csv_options=sw.csv_options, name=name, sweep_id=sw.id,
                            tags={"sweep_trial": number, "sweep_params": params}, start=self.start_runs)
        self.store.append_log(run_id, f"trial {number + 1} of sweep {sw.id}: {format_params(params)}")
        return True

    def _prune(self, sw: SweepRecord, cfg: SweepConfig, trials: list[_Trial]) -> None:
        from optuna.trial import TrialState, create_trial

        from seqcore.runs.runner import request_stop

        todo = [t for t in trials if t.rec.status == "running" and not t.rec.stop_requested
                and max(t.seen.values, default=0) > t.seen.checked]
        if not todo:
            return
        study, dists = self._study(sw, cfg, trials, sw.n_trials)
        for t in todo:
            for epoch in sorted(e for e in t.seen.values if e > t.seen.checked):
                t.seen.checked = epoch
                iv = {e: v for e, v in t.seen.values.items() if e <= epoch}
                frozen = create_trial(state=TrialState.RUNNING, params=t.params, distributions=dists,
                                      intermediate_values=iv)
                if not study.pruner.prune(study, frozen):
                    continue
                tags = dict(t.rec.tags) | {"pruned": True, "pruned_at_epoch": epoch}
                self.store.set_tags(t.rec.id, tags)
                status = request_stop(self.store, t.rec.id)
                if status not in ("running", "stopped"):   # it ended on its own meanwhile
                    self.store.set_tags(t.rec.id, dict(t.rec.tags))
                    break
                label = METRICS[cfg.metric][0].lower()
                self.store.append_log(t.rec.id, f"pruned by sweep {sw.id} after epoch {epoch}: its {label} "
                                                f"{t.seen.values[epoch]:.4g} is worse than the median of earlier "
                                                "trials at that epoch")
                break

    def _stop_trials(self, sweep_id: str) -> None:
        from seqcore.runs.runner import request_stop

        for r in trial_runs(self.store, sweep_id):
            if r.status in ACTIVE_STATUSES:
                try:
                    request_stop(self.store, r.id)
                except UserError:
                    pass

    def _update_best(self, sw: SweepRecord, trials: list[_Trial]) -> None:
        cfg = sw.cfg
        sign = 1 if cfg.direction == "minimize" else -1

        def pick(cands):
            scored = [(best_of(t.seen.values.values(), cfg.direction), t) for t in cands]
            scored = [(v, t) for v, t in scored if v is not None]
            return min(scored, key=lambda vt: (sign * vt[0], vt[1].number)) if scored else None

        best = pick([t for t in trials if t.rec.status == "finished"]) or pick(trials)
        run_id, value = (best[1].rec.id, best[0]) if best else (None, None)
        if run_id != sw.best_run_id or value != sw.best_value:
            _set_best(self.store, sw.id, run_id, value)


# --------------------------------------------------------------------------- the driver process

def _log(msg: str) -> None:
    log_line("sweep driver", msg)


def driver_pid(home: Path | str | None = None) -> int | None:
    """The pid of the sweep driver serving ``home`` (None when none is alive): it holds an flock on
    ``<home>/sweep_driver.lock`` for its whole life."""
    return DRIVER.pid(resolve_home(home))


def run_driver(home: Path | str | None = None, *, poll: float = 0.5,
               idle_exit: float | None = DRIVER_IDLE_EXIT_S) -> int:
    """The driver process's main loop (``python -m seqcore.cli.sweeps sweeps driver``). Returns an exit code:
    0, also when another driver already serves ``home`` (then it returns at once)."""
    home = resolve_home(home)
    store = RunStore(home)
    fd = try_lock(home / DRIVER_LOCK)
    if fd is None:
        _log(f"another sweep driver (pid {driver_pid(home)}) serves {home}")
        return 0
    stopping = threading.Event()
    install_stop_handlers(stopping.set)
    try:
        atomic_write_text(home / DRIVER_STATUS, json.dumps({"pid": os.getpid(), "started": time.time()}))
        _log(f"serving sweeps of {home}")
        SweepDriver(store).run_forever(poll=poll, idle_exit=idle_exit, stopping=stopping)
    finally:
        release_lock(fd)
    return 0


def ensure_driver(home: Path | str | None = None, *, idle_exit: float | None = None, timeout: float = 30.0) -> int:
    """Start a detached sweep driver for ``home`` unless one is alive; returns its pid."""
    home = resolve_home(home)

    def command() -> list[str]:
        cmd = [sys.executable, "-m", "seqcore.cli.sweeps", "sweeps", "driver", "--home", str(home)]
        if idle_exit is not None:
            cmd += ["--idle-exit", str(float(idle_exit))]
        return cmd

    return DRIVER.start(home, command, timeout=timeout)


def ensure_driver_if_needed(store: RunStore) -> int | None:
    """Start the sweep driver when a sweep is running and none serves it (call on app load). Cheap."""
    if not store._query("SELECT 1 FROM sweeps WHERE status = 'running' LIMIT 1"):
        return None
    return ensure_driver(store.home)


def stop_driver(home: Path | str | None = None, *, timeout: float = 20.0) -> bool:
    """SIGTERM the driver of ``home``; True when none is alive afterwards (sweeps stay running)."""
    return DRIVER.stop(resolve_home(home), timeout=timeout)


def plan_params(cfg: SweepConfig, n: int | None = None) -> list[dict]:
    """The parameters the first ``n`` trials get when none has a result yet (what grid and random search
    will run; for TPE only its random start-up trials are known ahead)."""
    optuna = _optuna()
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


__all__ = [
    "METHODS", "METRICS", "TUNABLES", "ParamRange", "SweepConfig", "SweepDriver", "SweepRecord", "TrialInfo",
    "apply_params", "backend_slots", "delete_sweep", "driver_pid", "ensure_driver", "ensure_driver_if_needed",
    "format_params", "get_sweep", "list_sweeps", "metrics_for", "parse_vary", "plan_params", "rename_sweep",
    "run_driver", "start_sweep", "stop_driver", "stop_sweep", "sweep_trials", "trial_runs", "tunables_for",
]
