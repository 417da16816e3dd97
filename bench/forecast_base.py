"""What the forecasting network starts from (``DataSpec.base``), measured on the forecasting suite.

For every dataset the app's data-fitted defaults are used (:func:`seqcore.data.defaults.default_data_spec`,
:func:`seqcore.config.default_run_spec`); only ``base`` changes. Each candidate (the network alone, on the
deseasonalised series, on the residual of AutoETS / AutoARIMA / AutoTheta) is trained with the same spec and
seed and scored by MASE on the validation part and on the test part (original units). ``auto`` is the
candidate with the lowest validation MASE, a statistical base counted without the network's correction when
that scored better on validation: exactly what :func:`seqcore.modeling.base_select.choose` picks with the
same seed (it trains the same candidates the same way), so the candidates are not trained twice.
Beside them: the seasonal naive and the statistical models themselves on the same test windows.

``airline_h36`` is the published Airline protocol (train on the first 108 months, one 36-month forecast of
the last 36; no validation part), run through :func:`seqcore.pipeline.run_training` with ``base="auto"``
(the choice then comes from a holdout at the end of the training part); its metric is MAPE.

Usage::

    python bench/forecast_base.py                          # all sets, seeds 0-4
    python bench/forecast_base.py --only Airline --seeds 0
    python bench/forecast_base.py --update-results         # also rewrite its block in bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.results_block import write_block  # noqa: E402
from bench.understanding import shared_datasets  # noqa: E402

DATA = shared_datasets() or ROOT.parent / "shared" / "datasets"
SETS = ("Airline", "sunspots", "elec_equip", "PBS_scripts", "Uschange", "macrodata", "seatbelts",
        "solar_halfhourly")
CANDS = ("none", "deseason", "auto_ets", "auto_arima", "auto_theta")
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- forecast_base:begin (written by bench/forecast_base.py --update-results) -->", "<!-- forecast_base:end -->"


def load(name: str):
    from seqcore.config import default_run_spec
    from seqcore.data.defaults import default_data_spec
    from seqcore.data.io import read_csv

    raw = (DATA / f"{name}.csv").read_bytes()
    table = read_csv(raw, name=f"{name}.csv")
    return raw, table.df, default_run_spec(default_data_spec(table, "forecast"))


def baselines(name: str) -> dict:
    """Test MASE of the seasonal naive (and naive, mean) and of each statistical model on the same windows; the
    statistical models get a generous time budget (a busy machine must not skip them here)."""
    from seqcore.modeling.baselines import forecast_baselines
    from seqcore.modeling.metrics import forecast_metrics
    from seqcore.modeling.statmodels import stat_forecasts
    from seqcore.modeling.tasks import forecast

    _, df, spec = load(name)
    p = forecast.prepare(df, spec.data.replace(base="none"))
    st, split, starts = p.state, p.extra["split"], p.extra["starts"]["test"]
    series, H = p.extra["series"], st["horizon"]
    actual = series[starts[:, None] + np.arange(H)[None, :]]

    def score(pred):
        return forecast_metrics(actual, pred, y_train=series[: split.train_end])["mase"]

    out = {k: score(v) for k, v in forecast_baselines(series, starts, H, split.train_end, st["season"]).items()}
    stats = stat_forecasts(series, starts, H, split.train_end, st["season"], budget_s=600)
    out.update({k: score(v) for k, v in stats.forecasts.items()})
    return out


def one_set(name: str, seeds, epochs: int | None = None) -> dict:
    """Val and test MASE of every candidate per seed, the statistical baselines' test MASE."""
    import keras

    from seqcore.modeling.base_select import val_mase
    from seqcore.modeling.forecast_base import STAT_BASES
    from seqcore.modeling.metrics import forecast_metrics
    from seqcore.modeling.models import build_model
    from seqcore.modeling.tasks import forecast
    from seqcore.modeling.training import fit, predict, set_seed

    _, df, spec = load(name)
    if epochs:
        spec = spec.replace(train=spec.train.replace(epochs=epochs, patience=min(spec.train.patience, epochs)))
    row = {"set": name, "spec": {k: getattr(spec.data, k) for k in ("window", "horizon", "season", "log_transform")},
           "seeds": {}}
    base_prep = forecast.prepare(df, spec.data.replace(base="none"))
    st, split, starts = base_prep.state, base_prep.extra["split"], base_prep.extra["starts"]["test"]
    series, H = base_prep.extra["series"], st["horizon"]
    actual = series[starts[:, None] + np.arange(H)[None, :]]
    y_train = series[: split.train_end]

    def score(pred):
        return forecast_metrics(actual, pred, y_train=y_train)["mase"]

    row["baselines"] = baselines(name)
    for seed in seeds:
        per = {}
        for cand in CANDS:
            p = forecast.prepare(df, spec.data.replace(base=cand), seed=seed)
            if p.state["base"]["name"] != cand:
                continue
            t0 = time.perf_counter()
            set_seed(seed, strict=not spec.train.jit_compile)
            model = build_model(spec.model, spec.train.replace(seed=seed), p.shape)
            fit(model, p.train, p.val, spec.train.replace(seed=seed))
            v = val_mase(forecast, p, model)
            out = predict(model, p.test, batch_size=256)
            pred = forecast.to_original(p.state, out, p.test.last_values(np.arange(len(p.test))))
            per[cand] = {"val": v, "test": score(pred), "seconds": round(time.perf_counter() - t0, 1)}
            if cand in STAT_BASES:   # the statistical forecast alone (choose() switches the network off then)
                zero = np.zeros_like(out)
                per[cand]["val_alone"] = val_mase(forecast, p, None)
                per[cand]["test_alone"] = score(forecast.to_original(p.state, zero,
                                                                     p.test.last_values(np.arange(len(p.test)))))
            keras.backend.clear_session(free_memory=False)

        def eff(r, key):
            off = "val_alone" in r and r["val_alone"] is not None and (r["val"] is None or r["val_alone"] < r["val"])
            return r[key + "_alone"] if off else r[key]

        usable = {k: eff(r, "val") for k, r in per.items() if eff(r, "val") is not None}
        pick = min(usable, key=usable.get)
        off = per[pick].get("val_alone") is not None and eff(per[pick], "val") == per[pick]["val_alone"]
        row["seeds"][str(seed)] = {"candidates": per, "auto": pick + (" (alone)" if off else ""),
                                   "auto_test": eff(per[pick], "test")}
        print(f"  {name} seed {seed}: auto={row['seeds'][str(seed)]['auto']} test MASE "
              f"{row['seeds'][str(seed)]['auto_test']:.3f}  "
              + " ".join(f"{k}={r['test']:.3f}(v{r['val']:.3f})" for k, r in per.items()), flush=True)
    return row


def airline_h36(seeds, epochs: int | None = None) -> dict:
    """The published protocol through run_training with base=auto; MAPE of the one 36-month forecast."""
    from seqcore.pipeline import run_training

    from seqcore.config import default_run_spec
    from seqcore.data.defaults import default_data_spec
    from seqcore.data.io import read_csv

    raw = (DATA / "Airline.csv").read_bytes()
    spec = default_run_spec(default_data_spec(read_csv(raw, name="Airline.csv"), "forecast", test_fraction=36 / 144,
                                              horizon=36, val_fraction=0.0))
    if epochs:
        spec = spec.replace(train=spec.train.replace(epochs=epochs, patience=min(spec.train.patience, epochs)))
    row = {"set": "airline_h36", "spec": {k: getattr(spec.data, k) for k in ("window", "horizon", "season",
                                                                                "log_transform", "val_fraction")},
           "seeds": {}}
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            res = run_training(raw, spec.replace(train=spec.train.replace(seed=seed)), tmp, name="Airline.csv")
        m = res.metrics
        row["seeds"][str(seed)] = {"mape": m["test"]["mape"], "mase": m["test"]["mase"],
                                   "choice": m.get("model_choice")}
        print(f"  airline_h36 seed {seed}: MAPE {m['test']['mape']:.4f} choice {m.get('model_choice')}", flush=True)
    return row


def table(rows: list[dict], h36: dict | None) -> str:
    lines = ["| set | " + " | ".join(CANDS) + " | auto (picks) | seasonal naive | best statistical | auto / best stat |",
             "|---|" + "---|" * (len(CANDS) + 4)]
    beat_snaive, within = 0, 0
    for r in rows:
        seeds = r["seeds"].values()
        cells = []
        for c in CANDS:
            vals = [s["candidates"][c]["test"] for s in seeds if c in s["candidates"]]
            cells.append(f"{np.mean(vals):.3f}" if vals else "-")
        auto = float(np.mean([s["auto_test"] for s in seeds]))
        picks = {}
        for s in seeds:
            picks[s["auto"]] = picks.get(s["auto"], 0) + 1
        stat = {k: v for k, v in r["baselines"].items() if k in CANDS and v is not None}
        best = min(stat, key=stat.get) if stat else None
        sn = r["baselines"].get("seasonal_naive") or r["baselines"].get("naive")
        beat_snaive += auto < sn
        within += best is None or auto <= 1.05 * stat[best]
        pk = ", ".join(f"{k} x{v}" for k, v in sorted(picks.items(), key=lambda kv: -kv[1]))
        lines.append(f"| {r['set']} | " + " | ".join(cells) + f" | **{auto:.3f}** ({pk}) | {sn:.3f} | "
                     + (f"{stat[best]:.3f} ({best})" if best else "-") + " | "
                     + (f"{auto / stat[best]:.2f}" if best else "-") + " |")
    n = len(rows)
    lines.append("")
    if n:
        lines.append(f"Test MASE, mean over {len(rows[0]['seeds'])} seeds. auto beats the seasonal naive "
                     f"on {beat_snaive}/{n} sets; within 5% of the best statistical model (or better) on {within}/{n}.")
    if h36:
        mapes = [s["mape"] for s in h36["seeds"].values()]
        picks = [(s["choice"] or {}).get("picked") for s in h36["seeds"].values()]
        lines.append(f"Airline published protocol (one 36-month forecast, base=auto via a holdout): MAPE "
                     f"{np.mean(mapes):.4f} (min {min(mapes):.4f}, max {max(mapes):.4f}; picks {picks}); "
                     "AutoARIMA 0.042.")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, help="dataset names (and/or airline_h36)")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, default=None, help="cap the preset's epochs (smoke tests)")
    ap.add_argument("--json", default=str(ROOT / "bench" / "out" / "forecast_base.json"))
    ap.add_argument("--update-results", action="store_true")
    ap.add_argument("--from-json", nargs="*", default=None, help="print the table of earlier --json files")
    ap.add_argument("--rescore-baselines", action="store_true", help="with --from-json: score the baselines again")
    args = ap.parse_args(argv)
    from seqcore.modeling.training import configure_threads, quiet_tensorflow

    quiet_tensorflow()
    configure_threads(None)
    only = args.only or list(SETS) + ["airline_h36"]
    t0 = time.perf_counter()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    if args.from_json:   # the table of earlier runs (one JSON per group of sets), without training
        rows, h36 = [], None
        for f in args.from_json:
            d = json.loads(Path(f).read_text())
            rows += d["rows"]
            h36 = d.get("airline_h36") or h36
        rows.sort(key=lambda r: SETS.index(r["set"]))
        if args.rescore_baselines:
            for r in rows:
                r["baselines"] = baselines(r["set"])
    else:
        rows, h36 = [], None
        for s in only:
            if s in SETS:
                rows.append(one_set(s, args.seeds, args.epochs))
                Path(args.json).write_text(json.dumps({"rows": rows, "airline_h36": None}, indent=1, default=str))
        h36 = airline_h36(args.seeds, args.epochs) if "airline_h36" in only else None
    text = table(rows, h36) + f"\n\n`python bench/forecast_base.py {' '.join(argv or sys.argv[1:])}`".rstrip() \
        + f" ({time.perf_counter() - t0:.0f} s)"
    print(text)
    if not args.from_json or args.rescore_baselines:
        Path(args.json).write_text(json.dumps({"rows": rows, "airline_h36": h36}, indent=1, default=str))
    if args.update_results:
        write_block(RESULTS, BEGIN, END, text, "## What the forecaster starts from (base)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
