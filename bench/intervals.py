"""Forecast intervals: how often the 80% and 95% bands hold the true value on the test part.

For each forecasting dataset the app's default run (:func:`seqcore.data.defaults.default_data_spec`, then
:func:`seqcore.config.default_run_spec`) is trained once through :func:`seqcore.pipeline.run_training`, which
calibrates the bands with the default method. The bench records what the pipeline calibrated on (the kept
model's validation windows, and its last training windows too) and applies every method of
:mod:`seqcore.modeling.intervals` to the same test predictions, so the methods are compared on the same models:

- ``conformal``: split-conformal per horizon step and target on the validation errors (normalised and pooled
  over steps when the validation part has too few windows), never narrower than the same on the last training
  windows' errors; the default;
- ``conformal_val``: the same from the validation errors alone;
- ``conformal_pooled``: the normalised, pooled version of ``conformal_val`` always;
- ``gaussian``: 1.28 / 1.96 x the root mean square validation error per step and target;
- ``training errors x1.5 (no validation)``: ``conformal_val`` sized on the last training windows' errors alone,
  widened x TRAIN_INFLATION (what a run without a validation part gets).

Coverage is the share of test values (every origin, step and target) inside the band; width is the 95% band's
mean width divided by the standard deviation of the training part of the series (lower is sharper). Goal (issue 13): 95% bands cover
90-98% on average over the suite and never below 85% on one set.

Usage::

    python bench/intervals.py                    # all 8 datasets, seed 42
    python bench/intervals.py --only Airline sunspots --seeds 0 1
    python bench/intervals.py --update-results   # also write the block in bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.results_block import write_block  # noqa: E402
from bench.understanding import shared_datasets  # noqa: E402

DATASETS_DIR = shared_datasets() or ROOT.parent / "shared" / "datasets"
FILES = {"Airline": "Airline.csv", "sunspots": "sunspots.csv", "elec_equip": "elec_equip.csv",
         "PBS_scripts": "PBS_scripts.csv", "Uschange": "Uschange.csv", "macrodata": "macrodata.csv",
         "seatbelts": "seatbelts.csv", "solar": "solar_halfhourly.csv"}
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- intervals:begin (written by bench/intervals.py --update-results) -->", "<!-- intervals:end -->"
SEED = 42


def _path(file: str) -> Path:
    p = DATASETS_DIR / file
    return p if p.is_file() else ROOT / "seqcore" / "samples" / file


def one(name: str, seed: int, work: Path) -> dict:
    """Train the default run on one dataset; coverage of every method on its test predictions."""
    from seqcore.config import default_run_spec
    from seqcore.data.defaults import default_data_spec
    from seqcore.data.io import read_csv
    from seqcore.modeling import intervals
    from seqcore.pipeline import run_training

    file = FILES[name]
    data = _path(file).read_bytes()
    table = read_csv(data, name=file)
    spec = default_run_spec(default_data_spec(table, "forecast"))
    spec = spec.replace(train=spec.train.replace(seed=seed))
    seen: dict = {}
    original = intervals.calibrate_run

    def recording(prep, predict_source, method=intervals.DEFAULT_METHOD):
        for part in ("val", "train"):
            src = getattr(prep, part)
            if src is not None and len(src):
                seen[part] = intervals.part_errors(prep, predict_source, part)
        seen["state"] = copy.deepcopy(prep.state)
        seen["floor"] = 0.0 if np.nanmin(prep.extra["series"][: prep.extra["split"].train_end]) >= 0 else None
        seen["sd"] = np.nanstd(prep.extra["series"][: prep.extra["split"].train_end], axis=0)
        return original(prep, predict_source, method)

    intervals.calibrate_run = recording
    t0 = time.perf_counter()
    try:
        res = run_training(data, spec, work / f"{name}_{seed}", name=file)
    finally:
        intervals.calibrate_run = original
    test = pd.read_csv(work / f"{name}_{seed}" / "predictions.csv")
    test = test[["step", "target", "actual", "predicted"]].copy()
    test["target"] = test["target"].astype(str)
    state = seen["state"]
    state["targets"] = [str(t) for t in state["targets"]]
    options = [(m, "validation") for m in intervals.METHODS] + [("conformal_val", "training")]
    row = {"dataset": name, "seed": seed, "targets": len(state["targets"]), "horizon": state["horizon"],
           "space": "log" if state.get("log_transform") else "original",
           "val_windows": len(seen["val"][0]) if "val" in seen else 0, "test_points": len(test),
           "pipeline": res.metrics.get("intervals"), "methods": {}, "seconds": round(time.perf_counter() - t0, 1)}
    sd = {str(t): float(v) or 1.0 for t, v in zip(state["targets"], seen["sd"])}
    scale = test["target"].map(sd).to_numpy()
    for method, source in options:
        part = "val" if source == "validation" else "train"
        if part not in seen:
            continue
        k = min(len(seen["train"][0]), intervals.TRAIN_WINDOWS)
        training = (seen["train"][0][-k:], seen["train"][1][-k:])
        pred, actual = seen[part] if part == "val" else training
        calib = intervals.calibrate(state, pred, actual, source=source, method=method, floor=seen["floor"],
                                    training=training)
        frame = intervals.add_to_predictions(dict(state, intervals=calib), test.copy())
        cov = intervals.coverage(frame)
        width = float(np.mean((frame["upper_95"] - frame["lower_95"]) / scale))
        label = {"conformal": "conformal (default)"}.get(method, method) if part == "val" else \
            f"training errors x{intervals.TRAIN_INFLATION:g} (no validation)"
        row["methods"][label] = {
            "80": cov["80"], "95": cov["95"], "width95": width}
    return row


def table(rows: list[dict], seeds: list[int]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r["methods"]))
    names = list(dict.fromkeys(r["dataset"] for r in rows))
    lines = [f"Empirical coverage of the 80% / 95% bands on the test part (the app's default run per dataset, "
             f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; mean over seeds). "
             "Width: the 95% band's mean width / the standard deviation of the training part of the series.", "",
             "| dataset | H | space | val windows | " + " | ".join(f"{k} 80 / 95 (width)" for k in keys) + " |",
             "|---|---|---|---|" + "---|" * len(keys)]
    summary = {k: {"80": [], "95": [], "width95": []} for k in keys}
    for n in names:
        rs = [r for r in rows if r["dataset"] == n]
        cells = []
        for k in keys:
            vals = {q: float(np.mean([r["methods"][k][q] for r in rs if k in r["methods"]]))
                    for q in ("80", "95", "width95")} if any(k in r["methods"] for r in rs) else None
            if vals is None:
                cells.append("-")
                continue
            for q in vals:
                summary[k][q].append(vals[q])
            cells.append(f"{vals['80']:.0%} / {vals['95']:.0%} ({vals['width95']:.2f})")
        r0 = rs[0]
        lines.append(f"| {n} | {r0['horizon']} | {r0['space']} | {r0['val_windows']} | " + " | ".join(cells) + " |")
    avg = [f"**{np.mean(s['80']):.1%} / {np.mean(s['95']):.1%}** ({np.mean(s['width95']):.2f})" for s in summary.values()]
    low = [f"{min(s['95']):.0%}" for s in summary.values()]
    lines.append("| **average** | | | | " + " | ".join(avg) + " |")
    lines.append("| lowest 95% coverage | | | | " + " | ".join(low) + " |")
    ok = {k: 0.90 <= np.mean(s["95"]) <= 0.98 and min(s["95"]) >= 0.85 for k, s in summary.items()}
    lines += ["", "Goal (95% bands: 90-98% on average, never below 85%) met by: "
              + (", ".join(k for k, v in ok.items() if v) or "none") + "."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=list(FILES), default=list(FILES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[SEED])
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for the backend (the machine is shared)")
    ap.add_argument("--json", help="also write every run's numbers here")
    ap.add_argument("--update-results", action="store_true", help="write the block in bench/RESULTS.md")
    args = ap.parse_args(argv)
    from seqcore.modeling.training import configure_threads, quiet_tensorflow

    configure_threads(args.threads)
    quiet_tensorflow()
    rows, t0 = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-intervals-") as tmp:
        for name in args.only:
            for seed in args.seeds:
                r = one(name, seed, Path(tmp))
                rows.append(r)
                print(f"{name} seed {seed}: " + "; ".join(
                    f"{k} {v['80']:.0%}/{v['95']:.0%}" for k, v in r["methods"].items()) + f" ({r['seconds']} s)",
                    file=sys.stderr, flush=True)
    md = table(rows, args.seeds)
    cmd = "python bench/intervals.py" + ("" if args.only == list(FILES) else " --only " + " ".join(args.only)) \
        + ("" if args.seeds == [SEED] else " --seeds " + " ".join(map(str, args.seeds)))
    md += f"\n\n{len(rows)} runs in {time.perf_counter() - t0:.0f} s. Reproduce: `{cmd.strip()}`."
    print(md)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    if args.update_results and RESULTS.exists():
        write_block(RESULTS, BEGIN, END, md, "## Forecast intervals")
        print(f"updated {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
