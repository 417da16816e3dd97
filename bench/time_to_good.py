"""Time to a good model: seconds from Start until the run's network first beats the best baseline on validation.

A figure users feel. For one run of ``bench/accuracy.py`` (:func:`bench.accuracy.run_case`):

- **Start** is the call of :func:`seqcore.pipeline.run_training`, so everything the app does before the network
  trains counts: parsing and preparing the data, the forecaster's base search (one training per candidate,
  :mod:`seqcore.modeling.base_select`), the classifier's design search (:mod:`seqcore.modeling.arch_select`),
  building and compiling the network.
- **Each epoch** of the main fit is read from its kind "epoch" progress point (:class:`EpochClock`), stamped with
  ``time.perf_counter()`` when the point arrives (the end of the epoch, after its validation pass). Only kind
  "epoch" is the main fit: the base and design searches report kind "choose", the final fit on training +
  validation data "final" (it has no validation score), the backtest "backtest", and a seed ensemble's members
  after the first "member"; member 1 of an ensemble is the main fit (its points keep kind "epoch"), so the figure
  is when the first network beats the baseline, before the other members are trained and averaged.
- **The score** compared is the epoch's validation score: forecasting, ``val_loss`` (the run's loss, ``TrainSpec.loss``:
  MAE, MSE or Huber, on the network's scaled targets); classification and text, ``val_accuracy``.
- **The baseline** is the best of the task's baselines on the same validation part, in the same units
  (:func:`forecast_val_baselines`, :func:`classify_val_baselines`, :func:`text_val_baselines`), learning only
  from the training part.

Forecasting. The network's target is the scaled future (log1p when the log scale is on, then standardised by
the training part) minus a per-window offset: the last observed value (``DataSpec.relative``), plus the base's
forecast (``seqcore.modeling.forecast_base``: the seasonal indices for "deseason", AutoETS / AutoARIMA /
AutoTheta's forecast for those bases). So a network that outputs zero *is* its base's own forecast, and any
forecast ``B`` in original units scores ``loss(scaled(actual) - scaled(B))`` in the network's units: the
offsets cancel. The baselines scored that way on the validation windows: naive, seasonal naive, mean (of the
training part), AutoETS / AutoARIMA / AutoTheta fitted on the training part (as the base search fits them), and
"base alone": the zero output of the network on the base the run picked (read from the run's
``model_choice.picked``), computed from that base's prepared validation targets. The base search picks the
best network + base on validation (MASE), not the best bare baseline, so the bench takes the lowest of all of
these. Where the base search switched the network off (``model_choice.correction`` false: the forecast is the
statistical model's own) the delivered model *is* a baseline: the figure is "not reached".

Classification. ``val_accuracy`` against the majority class of the training part, 1-NN Euclidean and 1-NN DTW
(training part as reference, validation part as queries, on the same ungrouped sequences the app's test-time
baselines compare). 1-NN DTW uses the warping window the run's own test-time baseline picked (or the bench's,
``classify_fields``), which leave-one-out chose on training + validation: a window tuned with the validation
labels in view, which can only favour the baseline; one pass, within ``--dtw-budget``. A perfect baseline
(1.000) is matched by a perfect epoch. Sets whose validation part is under 20 sequences have none (the app
trains on it: ``train_on_small_validation``), so there is no figure ("no validation part").

Text. ``val_accuracy`` against the majority class and bag-of-words (TF-IDF + logistic regression), both fitted
on the training part and scored on the validation part.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np

from bench.results_block import table_lines

#: The labels of the baselines in the table.
LABELS = {"naive": "naive", "seasonal_naive": "seasonal naive", "mean": "mean", "auto_ets": "AutoETS",
          "auto_arima": "AutoARIMA", "auto_theta": "AutoTheta", "base_alone": "base alone",
          "majority_class": "majority", "nearest_neighbour": "1-NN Euclidean", "nearest_neighbour_dtw": "1-NN DTW",
          "bag_of_words": "bag-of-words"}


class EpochClock:
    """A progress listener (``run_training(on_progress=...)``) that keeps every kind "epoch" point of the main
    fit: its epoch, the wall seconds since ``start`` (a ``time.perf_counter()`` reading taken just before
    ``run_training``) when it arrived, the fit's own clock, ``val_loss`` and its metrics."""

    def __init__(self, start: float):
        self.start = float(start)
        self.epochs: list[dict] = []

    def __call__(self, p) -> None:
        if getattr(p, "kind", None) != "epoch":
            return
        now = time.perf_counter()
        m = dict(p.metrics or {})
        self.epochs.append({"epoch": int(p.epoch), "seconds": round(now - self.start, 3),
                            "fit_elapsed": p.elapsed, "val_loss": p.val_loss,
                            "val_accuracy": m.get("val_accuracy"), "val_mae": m.get("val_mae")})


# ----------------------------------------------------------------------------- scores

def loss_values(name: str, err: np.ndarray) -> float:
    """The mean Keras loss ``name`` ("mae", "mse", "huber": ``keras.losses.Huber()``, delta 1) of errors ``err``."""
    e = np.abs(np.asarray(err, dtype=np.float64))
    if name == "mae":
        return float(e.mean())
    if name == "mse":
        return float((e ** 2).mean())
    if name == "huber":
        return float(np.where(e <= 1.0, 0.5 * e ** 2, e - 0.5).mean())
    raise ValueError(f"unknown loss {name!r}")


def first_good(epochs: list[dict], baseline: float | None, score: str, higher_is_better: bool) -> dict | None:
    """The first epoch whose ``score`` beats ``baseline`` ({"epoch", "seconds", "score"}), or None.

    Lower is better: strictly below. Higher is better: strictly above, or a perfect 1.0 against a perfect baseline
    (nothing is left to beat)."""
    if baseline is None:
        return None
    for e in epochs:
        v = e.get(score)
        if v is None or not math.isfinite(v):
            continue
        ok = (v > baseline or (baseline >= 1.0 and v >= 1.0)) if higher_is_better else v < baseline
        if ok:
            return {"epoch": e["epoch"], "seconds": e["seconds"], "score": v}
    return None


def time_to_good(epochs: list[dict], baselines: dict, *, score: str, higher_is_better: bool, run_seconds: float,
                 note: str | None = None, off: str | None = None) -> dict:
    """The row's ``time_to_good``: the best validation baseline, the first epoch beating it, its seconds since
    Start, and the run's total seconds. ``off``: why the figure cannot be reached (the network switched off, no
    validation part); ``note``: skipped baselines."""
    usable = {k: v for k, v in baselines.items() if v is not None and math.isfinite(v)}
    pick = max if higher_is_better else min
    best = pick(usable, key=usable.get) if usable else None
    hit = None if off else first_good(epochs, usable.get(best), score, higher_is_better)
    return {"seconds": None if hit is None else hit["seconds"], "epoch": None if hit is None else hit["epoch"],
            "score_then": None if hit is None else hit["score"], "score": score, "baseline": best,
            "baseline_val": usable.get(best), "baselines_val": {k: baselines[k] for k in baselines},
            "run_seconds": round(float(run_seconds), 1), "epochs_seen": len(epochs),
            "first_epoch_seconds": epochs[0]["seconds"] if epochs else None,
            "epochs": epochs, "off": off, "note": note}


# ----------------------------------------------------------------------------- baselines on validation

def _to_scaled(state: dict, y: np.ndarray) -> np.ndarray:
    from seqcore.modeling.forecast_base import _to_scaled as scaled

    return scaled(state, y)


def forecast_val_baselines(df, spec, prep, picked: str | None, *, stat_budget_s: float = 20.0) -> tuple[dict, list]:
    """{name: validation loss in the network's units} and skip notes, for a forecasting run.

    ``prep``: :func:`seqcore.pipeline.prepare_data`'s result for the run's spec (the network alone); ``df``: the
    raw table; ``picked``: the base the run used (``metrics["model_choice"]["picked"]``). Empty without a
    validation part."""
    from seqcore.modeling.baselines import forecast_baselines
    from seqcore.modeling.statmodels import stat_forecasts
    from seqcore.modeling.tasks import forecast

    loss = spec.train.loss
    notes: list[str] = []
    if prep.val is None or not len(prep.val):
        return {}, ["no validation part"]
    out: dict = {}
    if not prep.state.get("panel"):
        st, split = prep.state, prep.extra["split"]
        series, starts, H = prep.extra["series"], prep.extra["starts"]["val"], st["horizon"]
        actual = _to_scaled(st, series[starts[:, None] + np.arange(H)[None, :]])
        cands = dict(forecast_baselines(series, starts, H, split.train_end, st.get("season")))
        sf = stat_forecasts(series, starts, H, split.train_end, st.get("season"), budget_s=stat_budget_s)
        cands.update(sf.forecasts)
        notes += list(sf.notes)
        for k, b in cands.items():
            out[k] = loss_values(loss, actual - _to_scaled(st, np.asarray(b)))
    base_prep = prep
    if picked and picked != prep.state.get("base", {}).get("name"):
        base_prep = forecast.prepare(df, spec.data.replace(base=picked), seed=spec.train.seed)
    if base_prep.val is not None and len(base_prep.val):
        y = base_prep.val.gather(np.arange(len(base_prep.val)))[1]
        out["base_alone"] = loss_values(loss, y)   # the network's zero output: its base's own forecast
    return out, notes


def _split_fit(prep) -> int:
    """Training sequences first, validation after, in ``prep.extra``'s "train" arrays (fit = train + val)."""
    return len(prep.train)


def classify_val_baselines(prep, metrics: dict | None = None, window: float | None = None, *,
                           budget_s: float = 600.0) -> tuple[dict, list]:
    """{name: accuracy on the validation part} of the majority class, 1-NN Euclidean and 1-NN DTW (at
    ``window``, the share of the length the test-time baseline picked), all learning from the training part."""
    from seqcore.modeling import dtw
    from seqcore.modeling.baselines import _aligned, majority_baseline, nearest_neighbour_baseline
    from seqcore.modeling.models import PAD_VALUE

    if prep.val is None or not len(prep.val):
        return {}, ["no validation part"]
    ex, c, n = prep.extra, len(prep.state["class_names"]), _split_fit(prep)
    x = np.where(ex["x_train"] == PAD_VALUE, np.nan, ex["x_train"])
    xtr, xva, ytr, yva = x[:n], x[n:], ex["y_train"][:n], ex["y_train"][n:]
    ltr, lva = ex["lengths_train"][:n], ex["lengths_train"][n:]
    acc = lambda p: float(np.mean(np.asarray(p).argmax(axis=1) == yva))  # noqa: E731
    out = {"majority_class": acc(majority_baseline(ytr, len(yva), c)),
           "nearest_neighbour": acc(nearest_neighbour_baseline(xtr, ytr, xva, c, lengths_train=ltr, lengths_test=lva))}
    notes = []
    if window is None:
        notes.append("1-NN DTW: no warping window from the run or the bench, left out")
        return out, notes
    atr, ava, _ = _aligned(xtr, ytr, xva, ltr, lva, "time_to_good")
    band = min(dtw.band_steps(window, atr.shape[1]), max(atr.shape[1] - 1, 0))
    try:
        idx = dtw.nearest(ava, atr, band, deadline=time.perf_counter() + budget_s)
        out["nearest_neighbour_dtw"] = float(np.mean(ytr[idx] == yva))
    except dtw.BudgetExceeded:
        notes.append(f"1-NN DTW on validation took longer than {budget_s:g} s, left out")
    return out, notes


def text_val_baselines(prep) -> tuple[dict, list]:
    """{name: accuracy on the validation part} of the majority class and bag-of-words, fitted on the training part."""
    from seqcore.modeling.baselines import bag_of_words_baseline, majority_baseline

    if prep.val is None or not len(prep.val):
        return {}, ["no validation part"]
    ex, c, n = prep.extra, len(prep.state["class_names"]), _split_fit(prep)
    ytr, yva = ex["y_train"][:n], ex["y_train"][n:]
    ttr, tva = ex["texts_train"][:n], ex["texts_train"][n:]
    acc = lambda p: float(np.mean(np.asarray(p).argmax(axis=1) == yva))  # noqa: E731
    return {"majority_class": acc(majority_baseline(ytr, len(yva), c)),
            "bag_of_words": acc(bag_of_words_baseline(ttr, ytr, tva, c))}, []


def for_run(case, spec, data: bytes, test: bytes | None, metrics: dict, prep, clock: EpochClock, run_seconds: float,
            *, stat_budget_s: float = 20.0, dtw_budget_s: float = 600.0, dtw_window: float | None = None,
            cache: dict | None = None) -> dict:
    """The ``time_to_good`` of one :func:`bench.accuracy.run_case` run. ``prep``: ``prepare_data`` for the run's
    spec; ``cache``: keeps the baselines per (set, data spec, seed, base)."""
    task = case.task
    higher = task != "forecast"
    score = "val_accuracy" if higher else "val_loss"
    choice = metrics.get("model_choice") or {}
    picked = choice.get("picked") if task == "forecast" else None
    # forecasting's split is chronological (the same for every seed); classification's is shuffled by the seed
    key = ("time_to_good", case.key, json.dumps(spec.data.to_dict(), sort_keys=True, default=str),
           None if task == "forecast" else spec.train.seed, spec.train.loss, picked, dtw_window)
    if cache is not None and key in cache:
        baselines, notes = cache[key]
    else:
        if task == "forecast":
            from seqcore.data.io import read_csv

            df = read_csv(data, name=case.train_file).df
            baselines, notes = forecast_val_baselines(df, spec, prep, picked, stat_budget_s=stat_budget_s)
        elif task == "classify":
            baselines, notes = classify_val_baselines(prep, metrics, dtw_window, budget_s=dtw_budget_s)
        else:
            baselines, notes = text_val_baselines(prep)
        if cache is not None:
            cache[key] = (baselines, notes)
    off = None
    if prep.val is None or not len(prep.val):
        off = "no validation part"
    elif task == "forecast" and choice.get("correction") is False:
        off = "network switched off"
    return time_to_good(clock.epochs, baselines, score=score, higher_is_better=higher, run_seconds=run_seconds,
                        note="; ".join(notes) or None, off=off)


# ----------------------------------------------------------------------------- over seeds and markdown

def summarise(runs: list[dict]) -> dict | None:
    """Median seconds over the seeds (a seed that never beat its baseline counts as never: the median is
    "not reached" when half the seeds or more did not), the range over the seeds that did, and the first seed's
    baseline."""
    ttg = [r.get("time_to_good") for r in runs if r.get("time_to_good")]
    if not ttg:
        return None
    secs = [t["seconds"] for t in ttg]
    reached = [s for s in secs if s is not None]
    ordered = sorted(np.inf if s is None else s for s in secs)
    med = float(np.median(ordered)) if ordered else None
    epochs = [t["epoch"] for t in ttg if t["epoch"] is not None]
    first = ttg[0]
    return {"seeds": len(ttg), "reached": len(reached),
            "median_seconds": None if med is None or not math.isfinite(med) else round(med, 1),
            "min_seconds": min(reached) if reached else None, "max_seconds": max(reached) if reached else None,
            "median_epoch": float(np.median(epochs)) if epochs else None,
            "per_seed": {str(r["seed"]): r["time_to_good"]["seconds"] for r in runs if r.get("time_to_good")},
            "baseline": first["baseline"], "baseline_val": first["baseline_val"], "score": first["score"],
            "baselines_val": first["baselines_val"],
            "run_seconds": float(np.median([t["run_seconds"] for t in ttg])),
            "first_epoch_seconds": float(np.median([t["first_epoch_seconds"] for t in ttg
                                                    if t["first_epoch_seconds"] is not None] or [np.nan])),
            "off": first["off"], "note": first["note"]}


HEADER = ("set", "score", "best baseline on validation", "seconds to beat it", "epoch", "seeds that beat it",
          "first epoch s", "run s")


def _f(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:,.0f}"


def row_cells(row: dict) -> tuple[str, ...]:
    t = row["time_to_good"]
    base = f"{LABELS.get(t['baseline'], t['baseline'])} {_f(t['baseline_val'])}" if t["baseline"] else "-"
    if t["off"]:
        secs = f"n/a ({t['off']})"
    elif t["median_seconds"] is None:
        secs = "not reached"
    else:
        secs = f"{t['median_seconds']:.1f}"
        if t["reached"] > 1 and t["min_seconds"] != t["max_seconds"]:
            secs += f" ({t['min_seconds']:.1f}-{t['max_seconds']:.1f})"
    epoch = "-" if t["median_epoch"] is None or t["off"] else f"{t['median_epoch']:g}"
    return (row["title"], t["score"], base, secs, epoch, f"{t['reached']} of {t['seeds']}",
            _f(t["first_epoch_seconds"], 1), f"{t['run_seconds']:.0f}")


def markdown(rows: list[dict]) -> str:
    """The "Time to a good model" table of the rows that carry it ("" when none does)."""
    rows = [r for r in rows if r.get("time_to_good")]
    if not rows:
        return ""
    lines = table_lines(HEADER, (row_cells(r) for r in rows))
    lines += ["", "Seconds from Start (the `run_training` call: data preparation, the base / design search and "
              "compiling count) until the end of the first epoch of the main fit whose validation score beats the "
              "best baseline on the same validation part: median over the seeds (a seed that never beat it counts "
              "as never), range over the seeds that did in brackets. score: `val_loss` (forecasting: the run's loss "
              "on the network's scaled targets, where the baselines are scored too; \"base alone\" is the network's "
              "zero output, its base's own forecast) or `val_accuracy` (classification: majority, 1-NN Euclidean, "
              "1-NN DTW at the run's window; text: majority, bag-of-words; each learning from the training part). "
              "Baselines of the first seed. first epoch s: Start to the end of the first epoch; run s: the whole "
              "`run_training` call (median). n/a: no validation part, or the base search switched the network off "
              "(the forecast is then a baseline's own)."]
    notes = [(r["title"], r["time_to_good"]["note"]) for r in rows if r["time_to_good"].get("note")]
    if notes:
        lines += ["", "Baselines left out on validation:", ""] + [f"- {t}: {n}" for t, n in notes]
    return "\n".join(lines)


def line(key: str, t: dict) -> str:
    """One run's figure, printed as it finishes."""
    base = f"{LABELS.get(t['baseline'], t['baseline'])} {_f(t['baseline_val'])}" if t["baseline"] else "none"
    if t["off"]:
        what = f"n/a ({t['off']})"
    elif t["seconds"] is None:
        what = f"not reached in {t['epochs_seen']} epochs"
    else:
        what = f"{t['seconds']:.1f} s (epoch {t['epoch']}, {t['score']} {_f(t['score_then'])})"
    return (f"[{key}] time to a good model: {what}; best baseline on validation {base} ({t['score']}); "
            f"run {t['run_seconds']:.0f} s")
