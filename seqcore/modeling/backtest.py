"""Rolling-origin backtest of a forecaster (``DataSpec.backtest`` = K folds; 0 = off).

One test split says how good a model was on one stretch of the series; a backtest says how much that
score moves. The model is trained K more times, each time only on the data before a later point in
time (the fold's *origin*), and tested on the block right after it:

- **Fold sizes.** Each fold's test block holds ``B = max(horizon, test rows // K)`` time points, where
  *test rows* is the size of the run's own test part (``test_fraction`` of the series). The K blocks tile
  the end of the series: fold K's block is the last B points, fold K-1's the B before them, and so on, so
  together they cover the run's test part (or the last ``K x horizon`` points when that is longer).
- **Fold k** keeps the first ``end_k = n - (K - k) x B`` time points of the raw table (rows after them are
  cut off before anything else happens, so nothing after the fold can leak in) and runs the task's normal
  ``prepare`` on them with a test part of exactly B points: its training and validation parts are carved
  from the ``end_k - B`` points before its origin exactly as a normal run carves them (the validation part
  is ``val_fraction`` of the fold's points; scaling, season and the statistical baselines are fitted on the
  fold's own training part). A fresh model of the same spec is trained with seed ``seed + k`` (and the
  final fit when the spec asks for one), then scored with the task's own ``evaluate``: the model and every
  baseline it reports (naive, seasonal naive, mean and the statistical ones) on the same windows.
- **Cutting by time.** With a time column the table is cut at a time (every row before the fold's end
  time), so a long file with several series (an id column) is cut at the same time in every series;
  without one, by row. With an id column the fold sizes are counted in distinct time points; the test part
  the panel's ``prepare`` carves from ``test_rows`` is then per series.

``metrics.json`` gets ``"backtest": {"folds", "model", "baselines", "per_fold", "base"}`` (:func:`run_backtest`):
``model`` / ``baselines`` hold ``{metric: {"mean", "sd"}}`` over the folds for :data:`METRICS` (``sd`` is
the sample standard deviation, None with one fold), ``per_fold`` one entry per finished fold, ``base`` what
every fold started from (``{"name", "correction"}``: the run's own pick when its base was "auto", fitted again
on each fold's training part). A stop request
ends the backtest after the fold in progress is dropped; the finished folds are kept.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from seqcore.config import RunSpec
from seqcore.errors import DataError, TrainingFailed
from seqcore.modeling.progress import Progress

#: The figures the backtest summarises, as ``forecast_metrics`` names them.
METRICS = ("mase", "mape", "mae", "rmse")


@dataclass(frozen=True)
class Fold:
    """One fold: the first ``end`` time points are kept; the last ``block`` of them are its test block."""

    fold: int       # 1-based
    end: int
    block: int

    @property
    def origin(self) -> int:
        """Time points before the test block (what the fold trains and validates on)."""
        return self.end - self.block


def fold_block(points: int, folds: int, horizon: int, test_rows: int) -> int:
    """Time points in each fold's test block: ``max(horizon, test_rows // folds)``."""
    return max(int(horizon), int(test_rows) // max(1, int(folds)))


def plan_folds(points: int, folds: int, horizon: int, test_rows: int) -> list[Fold]:
    """The K folds over ``points`` time points, oldest first; their test blocks tile the end of the series."""
    b = fold_block(points, folds, horizon, test_rows)
    return [Fold(k, points - (folds - k) * b, b) for k in range(1, folds + 1)]


class _Cutter:
    """Cuts the raw table at a number of distinct time points (by time when there is a time column)."""

    def __init__(self, df, spec: RunSpec):
        self.df = df
        d = spec.data
        self.times = None
        if d.time:
            from seqcore.data import schema
            from seqcore.modeling.tasks.forecast import _time_code

            part = d.time_part
            self.times = np.asarray(schema.parse_time(df, d.time, d.time_format or _time_code(df, d), part))
            self.points = np.unique(self.times)          # sorted distinct times (one per row for one series)
        elif d.id:   # many series without a time column: a row's step is its place within its own series
            from seqcore.data.panel import series_keys

            keys = series_keys(df, d.id)
            self.times = keys.groupby(keys).cumcount().to_numpy()
            self.points = np.unique(self.times)
        else:
            self.points = None
        self.n = len(self.points) if self.points is not None else len(df)

    def cut(self, end: int):
        """The rows of the first ``end`` time points (rows, without a time column), in file order."""
        if self.points is None:
            return self.df.iloc[:end]
        if end >= self.n:
            return self.df
        return self.df[self.times < self.points[end]]

    def label(self, i: int):
        """The time (or 0-based row number) of time point ``i``."""
        if self.points is None:
            return int(i)
        v = self.points[i]
        if isinstance(v, np.datetime64):
            import pandas as pd

            ts = pd.Timestamp(v)
            return str(ts.date()) if ts == ts.normalize() else str(ts)
        return v.item() if hasattr(v, "item") else v


@dataclass
class Plan:
    """The folds of a run's backtest and how to cut the table for each; made before the main training
    (:func:`plan`), so a backtest that cannot work is refused before anything trains."""

    spec: RunSpec
    folds: list[Fold]
    cutter: _Cutter
    _first: object = field(default=None, repr=False)   # fold 1's Prepared (checked up front)
    correction: bool = True   # False: the statistical base's forecast alone (the run switched the network off)

    def use_base(self, name: str, correction: bool = True, calendar: str | None = None) -> None:
        """Test what the run picked (``DataSpec.base = "auto"`` is settled once, by the run's own validation
        check): every fold starts from base ``name``, fitted again on that fold's training part, and with
        ``correction`` False the fold's forecast is that base's alone, as the run's is. ``calendar`` "off": the
        run's check left the calendar features out, so the folds do too."""
        data = self.spec.data.replace(base=name)
        if calendar == "off" and data.calendar == "auto":
            data = data.replace(calendar="off")
        if data != self.spec.data:
            self.spec = self.spec.replace(data=data)
            self._first = None
        self.correction = bool(correction)

    def prepared(self, fold: Fold):
        """Fold ``fold``'s data: the table cut at its end, prepared with a test part of its block."""
        from seqcore.modeling.tasks import forecast

        if fold.fold == 1 and self._first is not None:
            prep, self._first = self._first, None
        else:
            prep = forecast.prepare(self.cutter.cut(fold.end), self.spec.data, seed=self.spec.train.seed,
                                    test_rows=fold.block)
        if not self.correction and (prep.state.get("base") or {}).get("name", "none") != "none":
            prep.state["base"]["correction"] = False
        return prep


def plan(df, spec: RunSpec) -> Plan | None:
    """The backtest of ``spec`` on the raw table ``df`` (None when ``spec.data.backtest`` is 0).

    Raises :class:`DataError` in plain words when the first (shortest) fold has too little data."""
    from seqcore.data.windows import chronological_split
    from seqcore.modeling.tasks import forecast

    k = int(spec.data.backtest or 0)
    if not k or spec.data.task != "forecast":
        return None
    cutter = _Cutter(df, spec)
    n = cutter.n
    split = chronological_split(n, spec.data.val_fraction, spec.data.test_fraction)
    folds = plan_folds(n, k, spec.data.horizon, n - split.val_end)
    first = folds[0]
    fail = DataError(
        f"A backtest with {k} folds needs more data: the folds test on the last {k * first.block} steps "
        f"({first.block} each), which leaves the first fold {max(0, first.origin)} of the {n} steps to learn from, "
        f"too few for a window of {spec.data.window} and a horizon of {spec.data.horizon}.",
        hint="Use fewer backtest folds, a smaller test share, a shorter window or horizon, or turn the backtest off.")
    if first.origin < 2:
        raise fail
    try:
        prep = forecast.prepare(cutter.cut(first.end), spec.data, seed=spec.train.seed, test_rows=first.block)
    except DataError as err:   # its own message speaks of "the series", which is only the first fold's part
        raise fail from err
    return Plan(spec, folds, cutter, prep)


def _summary(values: list) -> dict:
    vals = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return {"mean": None, "sd": None}
    mean = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else None
    return {"mean": mean, "sd": sd}


def _pick(metrics: dict | None) -> dict:
    metrics = metrics if isinstance(metrics, dict) else {}
    return {m: metrics.get(m) for m in METRICS}


def summarise(per_fold: list[dict]) -> dict:
    """The ``backtest`` block of metrics.json from the finished folds' entries."""
    names: list[str] = []
    for f in per_fold:
        names += [b for b in f["baselines"] if b not in names]
    return {
        "folds": len(per_fold),
        "model": {m: _summary([f["model"].get(m) for f in per_fold]) for m in METRICS},
        "baselines": {b: {m: _summary([(f["baselines"].get(b) or {}).get(m) for f in per_fold]) for m in METRICS}
                      for b in names},
        "per_fold": per_fold,
    }


@dataclass
class BacktestOutcome:
    result: dict | None                          # the metrics.json ``backtest`` block (None: no fold finished)
    stopped: bool = False                        # the user stopped it
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_backtest(bt: Plan, *, on_progress: Callable[[Progress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> BacktestOutcome:
    """Train and score every fold of ``bt`` (see the module doc). Progress points come as kind "backtest"
    (``epoch`` = the fold, ``epochs`` = K, ``batch`` / ``batches`` = the fold's epoch / planned epochs)."""
    from seqcore.modeling.models import build_model
    from seqcore.modeling.tasks import forecast
    from seqcore.modeling.training import final_fit, fit, predict, set_seed

    spec, k_all = bt.spec, len(bt.folds)
    t0 = time.perf_counter()
    per_fold: list[dict] = []
    notes: list[str] = []
    stopped = False

    def point(fold: int, epoch: int, epochs: int, loss=None, val_loss=None) -> None:
        if on_progress is not None:
            on_progress(Progress(kind="backtest", epoch=fold, epochs=k_all, batch=epoch, batches=epochs,
                                 elapsed=round(time.perf_counter() - t0, 4), loss=loss, val_loss=val_loss))

    for fold in bt.folds:
        if should_stop is not None and should_stop():
            stopped = True
            break
        seed = (spec.train.seed + fold.fold) % (2**31 - 1)
        train_spec = spec.train.replace(seed=seed)
        point(fold.fold, 0, train_spec.epochs)
        prep = bt.prepared(fold)

        def forward(p: Progress, k: int = fold.fold) -> None:   # the fold's epochs as backtest points
            if p.kind == "epoch":
                point(k, p.epoch, p.epochs, p.loss, p.val_loss)

        set_seed(seed, strict=not spec.train.jit_compile)

        def build():
            return build_model(spec.model, train_spec, prep.shape)

        try:
            model = build()
            out = fit(model, prep.train, prep.val, train_spec, on_progress=forward if on_progress else None,
                      should_stop=should_stop)
            if out.stopped:
                stopped = True
                break
            if train_spec.final_fit and prep.val is not None and len(prep.val) and out.best_epoch:
                again, ff = final_fit(build, prep.train, prep.val, train_spec, out.best_epoch,
                                      should_stop=should_stop)
                if ff.stopped:
                    stopped = True
                    break
                model = again if again is not None else model
            outputs = predict(model, prep.test, batch_size=max(256, train_spec.batch_size))
        except TrainingFailed as err:
            notes.append(f"Backtest fold {fold.fold} was left out: {err}")
            continue
        metrics, _ = forecast.evaluate(prep, outputs)
        per_fold.append({
            "fold": fold.fold,
            "origin": bt.cutter.label(fold.origin - 1),
            "train_rows": int(prep.extra["split"].val_end),
            "test_rows": int(prep.extra["split"].n - prep.extra["split"].val_end),
            "model": _pick(metrics.get("test")),
            "baselines": {name: _pick(b) for name, b in (metrics.get("baselines") or {}).items()},
        })
        point(fold.fold, out.epochs_run, out.epochs_run)
    if stopped:
        notes.append(f"The backtest was stopped after {len(per_fold)} of {k_all} folds; the finished folds are kept.")
    result = summarise(per_fold) if per_fold else None
    if result is not None:   # what every fold started from (the run's pick when its base was "auto")
        result["base"] = {"name": bt.spec.data.base, "correction": bt.correction}
    return BacktestOutcome(result, stopped, notes, round(time.perf_counter() - t0, 3))


# ----------------------------------------------------------------------------- plain words


def lead_sentence(bt: dict | None, metric: str = "mae") -> str | None:
    """Whether the model's lead over the best baseline (lowest mean ``metric`` over the folds) holds fold by
    fold, in one plain sentence; None without a backtest or without the figures."""
    if not isinstance(bt, dict) or not bt.get("per_fold"):
        return None
    best, best_mean = None, None
    for name, mets in (bt.get("baselines") or {}).items():
        v = ((mets or {}).get(metric) or {}).get("mean")
        if isinstance(v, (int, float)) and (best_mean is None or v < best_mean):
            best, best_mean = name, v
    model_mean = ((bt.get("model") or {}).get(metric) or {}).get("mean")
    if best is None or not isinstance(model_mean, (int, float)):
        return None
    wins = total = 0
    for f in bt["per_fold"]:
        m, b = (f.get("model") or {}).get(metric), ((f.get("baselines") or {}).get(best) or {}).get(metric)
        if isinstance(m, (int, float)) and isinstance(b, (int, float)):
            total += 1
            wins += m < b
    if not total:
        return None
    label = baseline_label(best)
    what = metric.upper()
    folds = f"{wins} of {total} fold{'s' if total != 1 else ''}"
    if wins == total:
        if total == 1:
            return f"The model beat the best baseline ({label}) on {what} in the one backtest fold."
        return (f"The model's lead holds across folds: it beat the best baseline ({label}) on {what} in all "
                f"{total} folds.")
    if wins == 0:
        return f"The model did not beat the best baseline ({label}) on {what} in any of the {total} folds."
    if model_mean < best_mean:
        return (f"The model leads on average, but not in every fold: it beat the best baseline ({label}) on {what} "
                f"in {folds}.")
    return (f"The model's lead does not hold across folds: on average the best baseline ({label}) was better on "
            f"{what}, and the model beat it in only {folds}.")


def base_words(base) -> str:
    """" Every fold ...": what the folds' forecaster started from, in a sentence ("" for the network alone)."""
    if not isinstance(base, dict) or base.get("name", "none") == "none":
        return ""
    name = base["name"]
    if name == "deseason":
        return " Every fold's network worked on the deseasonalised series, as the run's did."
    label = baseline_label(name)
    if base.get("correction") is False:
        return f" Every fold's forecast is {label}'s own, fitted again on that fold's data, as the run's is."
    return (f" Every fold's network learned the remaining error of {label}, fitted again on that fold's data, "
            "as the run's did.")


def baseline_label(name: str) -> str:
    """A baseline's name as people say it."""
    try:
        from seqcore.modeling.statmodels import LABELS
    except Exception:  # noqa: BLE001 - the statistical models are optional here
        LABELS = {}
    return {"naive": "naive", "seasonal_naive": "seasonal naive", "mean": "mean", **dict(LABELS)}.get(
        name, name.replace("_", " "))


def table_rows(bt: dict) -> list[dict]:
    """One row per metric: the model's and every baseline's mean ± sd over the folds (text cells)."""
    rows = []
    for m in METRICS:
        row = {"metric": m.upper(), "model": _pm((bt.get("model") or {}).get(m))}
        for name, mets in (bt.get("baselines") or {}).items():
            row[baseline_label(name)] = _pm((mets or {}).get(m))
        rows.append(row)
    return rows


def fold_rows(bt: dict) -> list[dict]:
    """One row per fold: its origin, sizes and every figure (numbers)."""
    rows = []
    for f in bt.get("per_fold") or []:
        row = {"fold": f.get("fold"), "origin": f.get("origin"), "train rows": f.get("train_rows"),
               "test rows": f.get("test_rows")}
        for m in METRICS:
            row[f"model {m.upper()}"] = (f.get("model") or {}).get(m)
            for name, mets in (f.get("baselines") or {}).items():
                row[f"{baseline_label(name)} {m.upper()}"] = (mets or {}).get(m)
        rows.append(row)
    return rows


def _pm(s: dict | None) -> str:
    s = s or {}
    mean, sd = s.get("mean"), s.get("sd")
    if not isinstance(mean, (int, float)):
        return "–"
    return f"{mean:.4g} ± {sd:.2g}" if isinstance(sd, (int, float)) else f"{mean:.4g}"


__all__ = ["METRICS", "Fold", "Plan", "BacktestOutcome", "fold_block", "plan_folds", "plan", "run_backtest",
           "summarise", "lead_sentence", "table_rows", "fold_rows", "baseline_label", "base_words"]
