"""The forecasting suite of ``bench/accuracy.py``: our default forecaster beside the seasonal naive and the
statistical models (AutoETS, AutoARIMA, AutoTheta) on the same split and horizon, with interval coverage,
a rolling-origin backtest and the base the model picked.

Everything is read from the run's ``metrics.json`` when it is there (``baselines.auto_*``,
``intervals.coverage``, ``backtest``, ``model_choice.picked``). The statistical baselines are computed here,
with :func:`seqcore.modeling.statmodels.stat_forecasts` on the run's own split and horizon, only while
``metrics.json`` does not carry them; coverage, backtest and the picked base show "-" until the run reports
them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.results_block import table_lines
from bench.understanding import shared_datasets

ROOT = Path(__file__).resolve().parents[1]
#: ``../shared/datasets`` beside the checkout, or the folder in SEQSTUDIO_SHARED_DATASETS
DATASETS = shared_datasets() or ROOT.parent / "shared" / "datasets"

STATS = ("auto_ets", "auto_arima", "auto_theta")
STAT_LABELS = {"auto_ets": "AutoETS", "auto_arima": "AutoARIMA", "auto_theta": "AutoTheta"}
WITHIN = 0.05                 # "within 5% of the best statistical baseline's MASE"
GOAL_WITHIN_SHARE = 0.70
GOAL_COVERAGE = (0.90, 0.98)  # mean 95% coverage over the suite
GOAL_COVERAGE_FLOOR = 0.85    # no set below this
GOAL_AIRLINE_MAPE = 0.05      # the published 36-month protocol (AutoARIMA 0.042)

HEADER = ("set", "rows / season / H", "ours MASE", "seasonal naive", "AutoETS", "AutoARIMA", "AutoTheta",
          "best stat", "ours ÷ best stat", "beats s. naive?", "within 5% of best stat?", "80% cover",
          "95% cover", "backtest MASE", "base picked")


def backtest_supported() -> bool:
    """True once ``DataSpec`` has the ``backtest`` field (K rolling-origin folds)."""
    from seqcore.config import DataSpec

    return hasattr(DataSpec, "backtest")


# ----------------------------------------------------------------------------- one run


def stat_metrics(prep, budget_s: float = 20.0) -> tuple[dict, list[str]]:
    """``{name: forecast metrics}`` of the statistical models on ``prep``'s test origins and horizon (fitted on
    its training part, original units, MASE scaled as the model's), and the skip notes."""
    from seqcore.modeling.metrics import forecast_metrics
    from seqcore.modeling.statmodels import stat_forecasts

    series, split = prep.extra["series"], prep.extra["split"]
    starts, H = prep.extra["starts"]["test"], prep.state["horizon"]
    sf = stat_forecasts(series, starts, H, split.train_end, prep.state.get("season"), budget_s=budget_s)
    actual = series[starts[:, None] + np.arange(H)[None, :]]
    y_train = series[: split.train_end]
    return ({k: forecast_metrics(actual, p, y_train=y_train, target_names=prep.state["targets"])
             for k, p in sf.forecasts.items()}, list(sf.notes))


def _pick(d: dict | None, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def suite_fields(metrics: dict, prep=None, *, budget_s: float = 20.0, cache: dict | None = None,
                 cache_key=None) -> dict:
    """The suite's figures of one run (JSON-ready) from its ``metrics.json`` dict; ``prep`` (the run's
    prepared data) computes the statistical baselines when ``metrics`` lacks them (``cache`` keeps them per
    ``cache_key``: they depend on the data and split only, not on the seed)."""
    base = metrics.get("baselines") or {}
    from_run = any(k in base for k in STATS) or "baseline_notes" in metrics
    if from_run:
        stats = {k: {m: base[k].get(m) for m in ("mase", "mape")} for k in STATS if k in base}
        notes, source = list(metrics.get("baseline_notes") or []), "metrics.json"
    elif cache is not None and cache_key in cache:
        stats, notes, source = cache[cache_key]
    elif prep is not None:
        full, notes = stat_metrics(prep, budget_s)
        stats = {k: {m: v.get(m) for m in ("mase", "mape")} for k, v in full.items()}
        source = "bench"
        if cache is not None:
            cache[cache_key] = (stats, notes, source)
    else:
        stats, notes, source = {}, [], None
    cover = _pick(metrics, "intervals", "coverage") or {}
    bt = metrics.get("backtest")
    return {
        "mase": _pick(metrics, "test", "mase"), "mape": _pick(metrics, "test", "mape"),
        "seasonal_naive": {m: _pick(base, "seasonal_naive", m) for m in ("mase", "mape")}
        if "seasonal_naive" in base else None,
        "stats": stats, "stats_source": source, "stat_notes": notes,
        "coverage": {k: cover.get(k, cover.get(int(k))) for k in ("80", "95")} if cover else None,
        "interval_method": _pick(metrics, "intervals", "method"),
        "backtest": {"folds": bt.get("folds"), "model": bt.get("model"), "baselines": bt.get("baselines")}
        if isinstance(bt, dict) else None,
        "picked": _pick(metrics, "model_choice", "picked"),
    }


# ----------------------------------------------------------------------------- over seeds


def _mean_sd(values) -> tuple[float | None, float | None]:
    v = [float(x) for x in values if x is not None]
    if not v:
        return None, None
    return float(np.mean(v)), (float(np.std(v, ddof=1)) if len(v) > 1 else None)


def summarise_suite(runs: list[dict]) -> dict:
    """One suite row from the per-seed rows of a case (each with the :func:`suite_fields` under "suite")."""
    first = runs[0]["suite"]
    mean, sd = _mean_sd(r["suite"]["mase"] for r in runs)
    mape, mape_sd = _mean_sd(r["suite"]["mape"] for r in runs)
    stats = {k: v.get("mase") for k, v in (first["stats"] or {}).items() if v.get("mase") is not None}
    best = min(stats, key=stats.get) if stats else None
    snaive = (first["seasonal_naive"] or {}).get("mase")
    cover = {}
    for level in ("80", "95"):
        cover[level] = _mean_sd((r["suite"]["coverage"] or {}).get(level) for r in runs)[0]
    bt_run = next((r for r in runs if r["suite"]["backtest"]), None)
    bt = None
    if bt_run:
        b = bt_run["suite"]["backtest"]
        bt = {"folds": b["folds"], "mase": _pick(b, "model", "mase"),
              "best_baseline": _best_backtest(b.get("baselines") or {})}
    picked = [r["suite"]["picked"] for r in runs if r["suite"]["picked"]]
    return {
        "seeds": len(runs), "mase_mean": mean, "mase_sd": sd, "mape_mean": mape, "mape_sd": mape_sd,
        "seasonal_naive": snaive, "seasonal_naive_mape": (first["seasonal_naive"] or {}).get("mape"),
        "stats": stats, "stats_mape": {k: v.get("mape") for k, v in (first["stats"] or {}).items()},
        "stats_source": first["stats_source"], "stat_notes": first["stat_notes"],
        "best_stat": best, "best_stat_mase": stats.get(best) if best else None,
        "ratio": mean / stats[best] if best and mean is not None and stats[best] else None,
        "beats_seasonal_naive": None if snaive is None or mean is None else bool(mean < snaive),
        "within_5pct": None if not best or mean is None else bool(mean <= (1 + WITHIN) * stats[best]),
        "coverage": cover if any(v is not None for v in cover.values()) else None,
        "backtest": bt, "picked": {p: picked.count(p) for p in dict.fromkeys(picked)},
        "backtest_note": next((r["backtest_note"] for r in runs if r.get("backtest_note")), None),
    }


def _best_backtest(baselines: dict) -> tuple[str, float] | None:
    scored = {k: _pick(v, "mase", "mean") for k, v in baselines.items()}
    scored = {k: v for k, v in scored.items() if v is not None}
    if not scored:
        return None
    k = min(scored, key=scored.get)
    return k, scored[k]


# ----------------------------------------------------------------------------- markdown


def _f(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:,.0f}"


def _pm(mean, sd) -> str:
    if mean is None:
        return "-"
    return _f(mean) + ("" if sd is None else f" ± {_f(sd)}")


def _yes(v) -> str:
    return "-" if v is None else ("yes" if v else "**no**")


def suite_row_cells(row: dict) -> tuple[str, ...]:
    """The table cells of one case row (``bench/accuracy.py``'s summarised row with "suite")."""
    s = row["suite"]
    shape = f"{row.get('rows', '-')} / {row.get('season') or '-'} / {row.get('horizon', '-')}"
    best = f"{STAT_LABELS[s['best_stat']]} {_f(s['best_stat_mase'])}" if s["best_stat"] else "-"
    cover = s["coverage"] or {}
    bt = s["backtest"]
    if bt and bt.get("mase"):
        m = bt["mase"]
        backtest = f"{_pm(m.get('mean'), m.get('sd'))} ({bt['folds']} folds)"
        if bt.get("best_baseline"):
            name, v = bt["best_baseline"]
            backtest += f"; best baseline {STAT_LABELS.get(name, name)} {_f(v)}"
    else:
        backtest = "-"
    picked = ", ".join(f"{k} ×{n}" if len(s["picked"]) > 1 else k for k, n in s["picked"].items()) or "-"
    return (row["title"], shape, _pm(s["mase_mean"], s["mase_sd"]) + f" ({s['seeds']})",
            _f(s["seasonal_naive"]), *(_f(s["stats"].get(k)) for k in STATS), best, _f(s["ratio"], 2),
            _yes(s["beats_seasonal_naive"]), _yes(s["within_5pct"]), _f(cover.get("80")), _f(cover.get("95")),
            backtest, picked)


def suite_summary(rows: list[dict]) -> list[str]:
    """The goal lines under the table: sets beating the seasonal naive, the share within 5% of the best
    statistical baseline, the mean 95% coverage, and Airline's published 36-month MAPE."""
    sets = [r for r in rows if r.get("suite_role") == "set"]
    lines = []
    snaive = [r for r in sets if r["suite"]["beats_seasonal_naive"] is not None]
    lost = [r["title"] for r in snaive if not r["suite"]["beats_seasonal_naive"]]
    within = [r for r in sets if r["suite"]["within_5pct"] is not None]
    if not snaive and not within:
        lines.append("- No set with a seasonal naive or statistical baseline in this run (the Airline 36-month row "
                     "is judged below).")
    if snaive:
        lines.append(f"- Beats the seasonal naive (mean MASE over seeds) on {len(snaive) - len(lost)} of "
                     f"{len(snaive)} sets (goal: all)" + (f"; not on {', '.join(lost)}." if lost else "."))
    if within:
        k = sum(r["suite"]["within_5pct"] for r in within)
        share = k / len(within)
        verdict = "met" if share >= GOAL_WITHIN_SHARE else "**missed**"
        lines.append(f"- Within 5% of the best statistical baseline's MASE (or better) on {k} of {len(within)} sets"
                     f" = {share:.0%} (goal >= {GOAL_WITHIN_SHARE:.0%}: {verdict}).")
    cov = {r["title"]: r["suite"]["coverage"]["95"] for r in sets
           if r["suite"]["coverage"] and r["suite"]["coverage"].get("95") is not None}
    if cov:
        mean95 = float(np.mean(list(cov.values())))
        low = min(cov, key=cov.get)
        ok = GOAL_COVERAGE[0] <= mean95 <= GOAL_COVERAGE[1] and cov[low] >= GOAL_COVERAGE_FLOOR
        lines.append(f"- Mean 95% interval coverage over {len(cov)} sets: {_f(mean95)} (lowest {low} "
                     f"{_f(cov[low])}; goal {GOAL_COVERAGE[0]:.2f}-{GOAL_COVERAGE[1]:.2f} on average, none below "
                     f"{GOAL_COVERAGE_FLOOR:.2f}: {'met' if ok else '**missed**'}).")
    else:
        lines.append("- 95% interval coverage: not reported (the runs' metrics.json has no intervals.coverage).")
    h36 = next((r for r in rows if r["key"] == "airline_h36"), None)
    if h36:
        s = h36["suite"]
        m = s["mape_mean"]
        ok = "-" if m is None else ("met" if m <= GOAL_AIRLINE_MAPE else "**missed**")
        arima = s["stats_mape"].get("auto_arima")
        lines.append(f"- Airline, published protocol (train on the first 108 months, one 36-month forecast): MAPE "
                     f"{_pm(m, s['mape_sd'])} over {s['seeds']} seed{'s' if s['seeds'] > 1 else ''} "
                     f"(goal <= {GOAL_AIRLINE_MAPE}: {ok}); "
                     f"AutoARIMA {_f(arima)}, seasonal naive {_f(s['seasonal_naive_mape'])} on the same split.")
    return lines


def suite_markdown(rows: list[dict]) -> str:
    """The forecasting suite table, its notes and the goal lines."""
    lines = table_lines(HEADER, (suite_row_cells(r) for r in rows))
    sources = {r["suite"]["stats_source"] for r in rows} - {None}
    src = {"metrics.json": "from each run's metrics.json",
           "bench": "computed by the bench (seqcore.modeling.statmodels.stat_forecasts) on the run's split and "
                    "horizon, since metrics.json does not carry them"}
    lines += ["", "MASE in original units on each run's test part (scaled by the training part's one-step naive "
              "error); ours: mean ± sd over the seeds (count in brackets); baselines on the same split and horizon "
              "(they do not depend on the seed). Statistical baselines " + "; ".join(src[s] for s in sorted(sources))
              + ". Coverage: share of test points inside the 80% / 95% intervals, mean over seeds. Backtest: "
              "rolling-origin folds on the first seed, MASE mean ± sd over folds. \"-\": the run's metrics.json "
              "does not report it. rows / season / H: series "
              "length, season and horizon the app's defaults chose. The goals count each set once: Airline by its "
              "rolling row; its 36-month row is the published protocol, judged by MAPE in the last goal line.", ""]
    notes = [(r["title"], n) for r in rows for n in r["suite"]["stat_notes"]]
    notes += [(r["title"], f"no backtest: {r['suite']['backtest_note']}") for r in rows
              if r["suite"].get("backtest_note")]
    if notes:
        lines += ["Skipped baselines and backtests:", ""] + [f"- {t}: {n}" for t, n in notes] + [""]
    lines += ["Goals (issue 13):", ""] + suite_summary(rows)
    return "\n".join(lines)


# ============================================================================= classification suite
#
# GunPoint, Coffee, PigCVP, BasicMotions and the generated sets of bench/synth_classify.py: our accuracy (mean ±
# sd over the seeds) beside 1-NN Euclidean, 1-NN DTW (window picked on the training part) and the majority
# class on the same split, with the goals of issue 14.

CLASSIFY_HEADER = ("set", "train / test / steps / channels / classes", "ours accuracy", "per seed",
                   "1-NN Euclidean", "1-NN DTW (window)", "majority", "beats 1-NN Euclidean?", "beats 1-NN DTW?",
                   "fit s / wall s", "epochs (best)")
GOAL_SD_POINTS = 2.0          # sd over the seeds, in accuracy points
GOAL_WALL_S = 60.0            # balanced preset, wall seconds per set (first seed)
#: key -> (goal text, check(mean accuracy, fields) -> bool): the issue's goals for single sets
CLASSIFY_SET_GOALS = {
    "gunpoint": ("GunPoint >= 0.98", lambda m, f: m >= 0.98),
    "coffee": ("Coffee >= 0.96", lambda m, f: m >= 0.96),
    "pigcvp": ("PigCVP beats both 1-NN baselines",
               lambda m, f: f["euclid"] is not None and f["dtw"] is not None and m > f["euclid"] and m > f["dtw"]),
    "basicmotions": ("BasicMotions = 1.0", lambda m, f: m >= 1.0),
}


def prepared_shape(prep) -> dict:
    """Sizes of a prepared classification run: training part (training + validation: what the model and
    the baselines learn from), test part, steps, channels and classes."""
    ex = prep.extra
    return {"train": int(len(ex["y_train"])), "test": int(len(ex["y_test"])), "steps": int(prep.state["steps"]),
            "channels": int(prep.state["n_features"]), "classes": len(prep.state["class_names"])}


def dtw_here(prep, budget_s: float) -> dict:
    """1-NN DTW on ``prep``'s split computed here (the full window grid within ``budget_s``), for runs whose
    ``metrics.json`` has none, or a cut grid."""
    from seqcore.modeling.baselines import nearest_neighbour_dtw_baseline
    from seqcore.modeling.models import PAD_VALUE

    ex, c = prep.extra, len(prep.state["class_names"])
    xtr = np.where(ex["x_train"] == PAD_VALUE, np.nan, ex["x_train"])
    xte = np.where(ex["x_test"] == PAD_VALUE, np.nan, ex["x_test"])
    res = nearest_neighbour_dtw_baseline(xtr, ex["y_train"], xte, c, lengths_train=ex["lengths_train"],
                                         lengths_test=ex["lengths_test"], budget_s=budget_s)
    acc = None if res.proba is None else float(np.mean(res.proba.argmax(axis=1) == ex["y_test"]))
    return {"accuracy": acc, "info": res.info(), "note": res.note}


def classify_fields(metrics: dict, prep=None, *, budget_s: float = 600.0, cache: dict | None = None,
                    cache_key=None) -> dict:
    """The suite's figures of one classification run from its ``metrics.json`` dict. 1-NN DTW is the run's
    own when it tried the whole window grid; otherwise (skipped or cut by the app's time budget, or a run
    without it) it is computed here on the same split with ``budget_s`` (kept in ``cache`` per
    ``cache_key``: it depends on the data and split, not on the seed)."""
    base = metrics.get("baselines") or {}
    acc = lambda name: (base.get(name) or {}).get("accuracy")  # noqa: E731
    info = (metrics.get("baseline_info") or {}).get("nearest_neighbour_dtw") or {}
    own = acc("nearest_neighbour_dtw")
    fields = {"euclid": acc("nearest_neighbour"), "majority": acc("majority_class"), "dtw": own,
              "dtw_window": info.get("window"), "dtw_source": "metrics.json",
              "dtw_note": next((n for n in metrics.get("baseline_notes") or [] if "(DTW)" in n), None),
              "shape": prepared_shape(prep) if prep is not None else None}
    if (own is None or info.get("grid_truncated")) and prep is not None:
        if cache is not None and cache_key in cache:
            here = cache[cache_key]
        else:
            here = dtw_here(prep, budget_s)
            if cache is not None:
                cache[cache_key] = here
        if here["accuracy"] is not None:
            fields.update(dtw=here["accuracy"], dtw_window=here["info"]["window"], dtw_source="bench",
                          dtw_cut=bool(here["info"].get("grid_truncated")),
                          dtw_run=own, dtw_run_note=fields["dtw_note"], dtw_note=here["note"])
        elif own is None:
            fields.update(dtw_source="-", dtw_note=here["note"])
    return fields


def summarise_classify(runs: list[dict]) -> dict:
    """One classification-suite row from the per-seed rows of a case (each with :func:`classify_fields`
    under "classify", "ours", "seed", "train_seconds", "wall_seconds")."""
    first = runs[0]["classify"]
    values = [r["ours"] for r in runs]
    mean, sd = _mean_sd(values)
    def beats(bar):   # strictly above; a perfect baseline is matched by a perfect score (nothing left to beat)
        if mean is None or bar is None:
            return None
        return bool(mean > bar or (bar >= 1.0 and mean >= 1.0))

    return {**first, "seeds": len(runs), "mean": mean, "sd": sd,
            "per_seed": {str(r["seed"]): r["ours"] for r in runs},
            "beats_euclid": beats(first["euclid"]), "beats_dtw": beats(first["dtw"]),
            "fit_s": runs[0]["train_seconds"], "wall_s": runs[0]["wall_seconds"]}


def _beat(v, bar) -> str:
    return "yes (both 1.000)" if v and bar is not None and bar >= 1.0 else _yes(v)


def classify_row_cells(row: dict) -> tuple[str, ...]:
    c = row["classify"]
    s = c.get("shape") or {}
    shape = " / ".join(str(s.get(k, "-")) for k in ("train", "test", "steps", "channels", "classes"))
    dtw = _f(c["dtw"])
    if c["dtw"] is not None and c.get("dtw_window") is not None:
        dtw += f" ({c['dtw_window'] * 100:g}%)" + ("*" if c.get("dtw_source") == "bench" else "")
        if c.get("dtw_cut"):
            dtw += ", grid cut"
    return (row["title"], shape, _pm(c["mean"], c["sd"]) + f" ({c['seeds']})",
            " / ".join(_f(v) for v in c["per_seed"].values()), _f(c["euclid"]), dtw, _f(c["majority"]),
            _beat(c["beats_euclid"], c["euclid"]), _beat(c["beats_dtw"], c["dtw"]), f"{c['fit_s']:.1f} / {c['wall_s']:.0f}",
            f"{row.get('epochs_run', '-')} ({row.get('best_epoch', '-')})")


def classify_summary(rows: list[dict]) -> list[str]:
    """The goal lines of issue 14 (points 3, 4 and 6) under the table, each marked met / missed."""
    cs = {r["key"]: r["classify"] for r in rows}
    titles = {r["key"]: r["title"] for r in rows}
    out = []

    def line(text: str, ok: bool | None) -> None:
        out.append(f"- {text} ({'-' if ok is None else ('met' if ok else '**missed**')}).")

    def names(keys) -> str:
        return ", ".join(titles[k] for k in keys)

    n = len(cs)
    ed_known = [k for k, c in cs.items() if c["beats_euclid"] is not None]
    ed_lost = [k for k in ed_known if not cs[k]["beats_euclid"]]
    line(f"Beats 1-NN Euclidean (mean over seeds) on {len(ed_known) - len(ed_lost)} of {n} sets (goal: every set)"
         + (f"; not on {names(ed_lost)}" if ed_lost else ""), None if not ed_known else not ed_lost and
         len(ed_known) == n)
    dtw_known = [k for k, c in cs.items() if c["beats_dtw"] is not None]
    dtw_won = [k for k in dtw_known if cs[k]["beats_dtw"]]
    line(f"Beats 1-NN DTW on {len(dtw_won)} of {len(dtw_known)} sets with a DTW figure (goal: most, more than half)"
         + (f"; not on {names(k for k in dtw_known if k not in dtw_won)}" if len(dtw_won) < len(dtw_known) else ""),
         None if not dtw_known else len(dtw_won) * 2 > len(dtw_known))
    for key, (text, check) in CLASSIFY_SET_GOALS.items():
        if key in cs and cs[key]["mean"] is not None:
            c = cs[key]
            line(f"{text}: {_pm(c['mean'], c['sd'])} over {c['seeds']} seed(s)", bool(check(c["mean"], c)))
    sds = {k: c["sd"] for k, c in cs.items() if c["sd"] is not None}
    wide = [k for k, v in sds.items() if v * 100 > GOAL_SD_POINTS]
    line(f"Seed spread: sd <= {GOAL_SD_POINTS:g} points on {len(sds) - len(wide)} of {len(sds)} sets with several "
         f"seeds" + (f"; above on {', '.join(f'{titles[k]} ({sds[k] * 100:.1f})' for k in wide)}" if wide else ""),
         None if not sds else not wide and len(sds) == n)
    slow = [k for k, c in cs.items() if c["wall_s"] > GOAL_WALL_S]
    longer = ", ".join(f"{titles[k]} ({cs[k]['wall_s']:.0f} s)" for k in slow)
    line(f"Wall time of one run (first seed) <= {GOAL_WALL_S:g} s on {n - len(slow)} of {n} sets"
         + (f"; longer on {longer}" if slow else "") + " (goal for the balanced preset)", not slow)
    return out


def classify_markdown(rows: list[dict], preset: str = "balanced") -> str:
    """The classification suite table and its goal lines (rows: summarised bench/accuracy.py rows with
    "classify")."""
    lines = table_lines(CLASSIFY_HEADER, (classify_row_cells(r) for r in rows))
    lines += ["", "Accuracy on each set's test part; ours: mean ± sd over the seeds (count in brackets), each "
              "seed's value after it. Baselines on the same split (they do not depend on the seed), learning "
              "from the training and validation parts. 1-NN DTW: warping window (share of the length) picked by "
              "leave-one-out 1-NN accuracy on the training part over 0%, 1%, ..., 10%, 20% (the UCR DTW_R "
              "protocol); * computed by the bench with the whole grid where the run's own baseline was cut or "
              "skipped by the app's time budget (see the notes); 'grid cut': the bench's own "
              "budget (`--dtw-budget`) cut the grid too. Beats: our mean above the baseline's accuracy, or 1.000 where the "
              "baseline is already perfect. fit s: `model.fit` only; wall s: the whole "
              f"`run_training` call, first seed, preset `{preset}`. train: training + validation sequences."]
    notes = [(r["title"], r["classify"].get("dtw_run_note") or r["classify"].get("dtw_note")) for r in rows
             if r["classify"].get("dtw_source") != "metrics.json"]
    if any(n for _, n in notes):
        lines += ["", "The app's own 1-NN DTW where the bench computed it again:", ""]
        lines += [f"- {t}: {n}" for t, n in notes if n]
    lines += ["", "Goals (issue 14):", ""] + classify_summary(rows)
    return "\n".join(lines)
