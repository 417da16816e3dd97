"""What a sweep searches: the settings that can vary (:data:`TUNABLES`), the values tried for each
(:class:`ParamRange`, :func:`parse_vary`, the ``--vary`` syntax), the metrics it can optimise (:data:`METRICS`),
the whole configuration (:class:`SweepConfig`) and how a trial's parameters go into a RunSpec
(:func:`apply_params`).

Pure data and checks: no store, no Optuna, no processes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from seqcore.config import POOLING, WORD_VECTORS, RunSpec
from seqcore.errors import SpecError

METHODS = ("grid", "random", "tpe")
METHOD_TEXT = {
    "grid": "Grid: every combination of the listed values (ranges are split into a few points)",
    "random": "Random: values drawn at random from the lists and ranges",
    "tpe": "Bayesian (TPE): learns from finished trials which values look promising",
}
MAX_TRIALS = 1000
MAX_GRID = 10_000


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
