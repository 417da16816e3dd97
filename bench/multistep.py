"""Multi-step forecasts: a horizon-1 model rolled forward vs a direct multi-horizon model.

For each dataset and seed two models are trained with the same window, preset, epochs and split:

- **recursive**: horizon 1, rolled forward N steps the way the Predict page and ``seqcore predict --steps N``
  do it (:func:`seqcore.modeling.tasks.forecast.roll_forward_batch`: each prediction is fed back as input);
- **direct**: horizon N, all N steps from one pass of the model.

Both are scored on the same forecast origins (every origin of the test part, the last ``--test-fraction`` of
the series, that has N actual values after it) by the MAE over all N steps, in the data's units. The naive
forecast (the last value repeated) is shown for scale. The ratio is recursive MAE / direct MAE: below 1 the
recursive model is more accurate.

Usage::

    python bench/multistep.py                 # 4 datasets x 3 seeds, balanced preset (about 3 minutes on 2 cores)
    python bench/multistep.py --quick         # smoke test: Airline, 1 seed, 2 epochs
    python bench/multistep.py --steps 24 --preset balanced --epochs 40 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.understanding import shared_datasets  # noqa: E402
from seqcore.config import DataSpec, RunSpec, apply_preset  # noqa: E402

DATASETS_DIR = shared_datasets() or ROOT.parent / "shared" / "datasets"

#: name -> (file, target column). The time column is not needed to score (and not every date format parses
#: everywhere), so the series is read in file order, which is time order in all four.
DATASETS = {
    "Airline": ("Airline.csv", "Passengers"),
    "sunspots": ("sunspots.csv", "SUNACTIVITY"),
    "elec_equip": ("elec_equip.csv", "STS.M.I7.W.TOVT.NS0016.4.000"),
    "PBS_scripts": ("PBS_scripts.csv", "Scripts"),
}


def specs(target: str, steps: int, args) -> tuple[RunSpec, RunSpec]:
    """(recursive horizon-1 spec, direct horizon-N spec): everything else the same."""
    data = DataSpec(task="forecast", targets=(target,), window=args.window, horizon=1,
                    val_fraction=args.val_fraction, test_fraction=args.test_fraction)
    base = apply_preset(RunSpec(data=data), args.preset)
    train = base.train.replace(seed=args.seed_now)
    if args.epochs:
        train = train.replace(epochs=args.epochs, patience=min(train.patience, args.epochs))
    if args.units:
        base = base.replace(model=base.model.replace(units=(args.units,)))
    rec = base.replace(train=train)
    return rec, rec.replace(data=rec.data.replace(horizon=steps))


def train(spec: RunSpec, df):
    from seqcore.modeling.models import build_model
    from seqcore.modeling.tasks import forecast
    from seqcore.modeling.training import fit, set_seed

    prep = forecast.prepare(df, spec.data, seed=spec.train.seed)
    set_seed(spec.train.seed)
    model = build_model(spec.model, spec.train, prep.shape)
    outcome = fit(model, prep.train, prep.val, spec.train)
    return model, prep, outcome.epochs_run


def one(name: str, seed: int, args) -> dict:
    """Train both models on one dataset with one seed; MAE of each over the direct model's test origins."""
    import keras
    from seqcore.data.io import read_csv
    from seqcore.modeling.tasks import forecast
    from seqcore.modeling.training import predict

    file, target = DATASETS[name]
    path = DATASETS_DIR / file
    if not path.is_file():   # Airline and sunspots also ship with the app
        path = ROOT / "seqcore" / "samples" / file
    df = read_csv(path.read_bytes(), name=file).df
    args.seed_now = seed
    steps = args.steps
    spec_rec, spec_dir = specs(target, steps, args)
    t0 = time.perf_counter()
    m_dir, p_dir, ep_dir = train(spec_dir, df)
    starts = p_dir.extra["starts"]["test"]                  # origins with N actual values after them
    series = p_dir.extra["series"]
    actual = series[starts[:, None] + np.arange(steps)[None, :]]          # (n, N, 1)
    direct = forecast.to_original(p_dir.state, predict(m_dir, p_dir.test), p_dir.test.last_values(np.arange(len(starts))))
    keras.backend.clear_session(free_memory=False)
    m_rec, p_rec, ep_rec = train(spec_rec, df)
    assert p_rec.state["mean"] == p_dir.state["mean"]        # same split, same scaling
    scaled, L = p_rec.extra["scaled"], spec_rec.data.window
    windows = np.stack([scaled[s - L:s] for s in starts])
    rolled = forecast.roll_forward_batch(p_rec.state, windows, steps, lambda x: np.asarray(m_rec.predict_on_batch(x)))
    recursive = forecast._unscale(p_rec.state, rolled)
    keras.backend.clear_session(free_memory=False)
    naive = np.repeat(series[starts - 1][:, None, :], steps, axis=1)
    mae = {k: float(np.mean(np.abs(v - actual))) for k, v in
           {"recursive": recursive, "direct": direct, "naive": naive}.items()}
    per_step = {k: np.mean(np.abs(v - actual), axis=(0, 2)).round(4).tolist()
                for k, v in {"recursive": recursive, "direct": direct}.items()}
    return {"dataset": name, "seed": seed, "origins": int(len(starts)), "mae": mae, "per_step_mae": per_step,
            "epochs_run": {"recursive": ep_rec, "direct": ep_dir}, "seconds": round(time.perf_counter() - t0, 1)}


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        rs = [r for r in rows if r["dataset"] == name]
        line = {"dataset": name, "origins": rs[0]["origins"], "seeds": len(rs)}
        for k in ("recursive", "direct", "naive"):
            v = np.array([r["mae"][k] for r in rs])
            sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            line[k] = (float(v.mean()), sd if sd > 1e-9 * abs(float(v.mean())) else 0.0)
        ratios = [r["mae"]["recursive"] / r["mae"]["direct"] for r in rs]
        line["ratio"] = float(np.mean(ratios))
        line["recursive_wins"] = sum(x < 1 for x in ratios)
        out.append(line)
    return out


def table(summary: list[dict], args) -> str:
    lines = [f"Multi-step MAE, {args.steps} steps ahead (window {args.window}, preset {args.preset}"
             + (f", {args.epochs} epochs max" if args.epochs else "") + (f", {args.units} units" if args.units else "")
             + "; mean ± sd over seeds)", "",
             "| dataset | origins | recursive (h=1 rolled) | direct (h=N) | naive | ratio rec/direct | seeds rec. better |",
             "|---|---|---|---|---|---|---|"]
    for s in summary:
        cell = {k: f"{s[k][0]:.4g} ± {s[k][1]:.2g}" for k in ("recursive", "direct", "naive")}
        lines.append(f"| {s['dataset']} | {s['origins']} | {cell['recursive']} | {cell['direct']} | {cell['naive']} "
                     f"| {s['ratio']:.3f} | {s['recursive_wins']}/{s['seeds']} |")
    geo = float(np.exp(np.mean([np.log(s["ratio"]) for s in summary])))
    lines += ["", f"geometric mean of the ratios: {geo:.3f} "
                  f"({'recursive' if geo < 1 else 'direct'} is more accurate overall)"]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: Airline, 1 seed, 2 epochs, 8 units, 6 steps")
    ap.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=12, help="N: steps ahead scored (and the direct model's horizon)")
    ap.add_argument("--window", type=int, default=24)
    ap.add_argument("--preset", default="balanced", help="the app's default is balanced")
    ap.add_argument("--epochs", type=int, default=None, help="cap on the preset's epochs")
    ap.add_argument("--units", type=int, default=None, help="override the preset's units")
    ap.add_argument("--val-fraction", type=float, default=0.15)
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for the backend (the machine is shared)")
    ap.add_argument("--json", help="also write every run's numbers here")
    args = ap.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.epochs, args.units, args.steps = ["Airline"], [0], 2, 8, 6
    from seqcore.modeling.training import configure_threads, quiet_tensorflow

    configure_threads(args.threads)
    quiet_tensorflow()
    t0 = time.perf_counter()
    rows = []
    from seqcore.errors import DataError

    for name in args.datasets:
        for seed in args.seeds:
            try:
                r = one(name, seed, args)
            except DataError as err:   # too short for a horizon-N model with this split
                print(f"{name}: skipped ({err})", file=sys.stderr, flush=True)
                break
            rows.append(r)
            print(f"{name} seed {seed}: recursive {r['mae']['recursive']:.4g}  direct {r['mae']['direct']:.4g}  "
                  f"naive {r['mae']['naive']:.4g}  ({r['seconds']} s)", file=sys.stderr, flush=True)
    if not rows:
        print("no dataset could be scored", file=sys.stderr)
        return 1
    summary = summarise(rows)
    print(table(summary, args))
    cmd = "python bench/multistep.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"\n{len(rows)} dataset/seed pairs in {time.perf_counter() - t0:.0f} s; reproduce: `{cmd.strip()}`")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "seed_now"},
                                               "runs": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
