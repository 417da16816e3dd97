"""Seed ensembles (issue 14 point 3): single models vs the K-member average, on the small classification sets.

For each set and seed it trains the app's default RunSpec (the balanced preset, ``bench.accuracy.run_spec``)
once with ``members=1`` (one network) and once with the automatic member count (``members=0``), through
:func:`seqcore.pipeline.run_training`, and prints the test accuracy mean ± sd over the seeds and the wall
seconds of each. A single model's spread is also read off the ensemble run's members
(``metrics["ensemble"]["per_member"]``): they are single models with other seeds on the same split.

    python -m bench.ensemble                       # GunPoint, Coffee, BasicMotions; seeds 42 1 2
    python -m bench.ensemble --sets gunpoint --seeds 42 --only auto
    python -m bench.ensemble --sets reviews --only auto --members 3   # text: 3 networks (the singles: per member)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.accuracy import CASES, DATASETS, Case, run_spec

SETS = {
    "gunpoint": Case("gunpoint", "GunPoint", "classify", "GunPoint_TRAIN.csv", "GunPoint_TEST.csv", {},
                     "accuracy", True, 0.98, ">= 0.98", data_dir=DATASETS),
    "coffee": Case("coffee", "Coffee", "classify", "Coffee_TRAIN.txt", "Coffee_TEST.txt", {},
                   "accuracy", True, 0.96, ">= 0.96", data_dir=DATASETS),
    "basicmotions": Case("basicmotions", "BasicMotions", "classify", "BasicMotions_TRAIN.csv",
                         "BasicMotions_TEST.csv", {}, "accuracy", True, 1.0, "1.0", data_dir=DATASETS),
    "pigcvp": Case("pigcvp", "PigCVP", "classify", "PigCVP_TRAIN.csv", "PigCVP_TEST.csv", {},
                   "accuracy", True, 0.0, "beat 1-NN", data_dir=DATASETS),
    "reviews": CASES["reviews"],   # movie-review snippets, stratified 80/20 split (bench/accuracy.py)
}


def one(case: Case, seed: int, members: int, work: Path) -> dict:
    from seqcore.pipeline import run_training

    spec = run_spec(case, seed=seed)
    spec = spec.replace(train=spec.train.replace(members=members))
    t0 = time.perf_counter()
    res = run_training(case.read(), spec, work / f"{case.key}_{seed}_{members}", test_data=case.read("test"),
                       name=case.train_file)
    wall = time.perf_counter() - t0
    ens = res.metrics.get("ensemble") or {}
    return {"set": case.key, "seed": seed, "members": ens.get("members", 1), "accuracy": res.metrics["test"]["accuracy"],
            "per_member": (ens.get("per_member") or {}).get("accuracy"), "wall": round(wall, 1),
            "member_seconds": ens.get("seconds"), "member_work": ens.get("work"),
            "work": ens.get("work", [None])[0] if ens else None, "epochs_run": res.metrics["training"]["epochs_run"]}


def _ms(xs: list[float]) -> str:
    if not xs:
        return "-"
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.3f} ± {sd:.3f}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["gunpoint", "coffee", "basicmotions"], choices=sorted(SETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[42, 1, 2])
    ap.add_argument("--only", choices=("single", "auto"), default=None, help="run one arm only")
    ap.add_argument("--members", type=int, default=0,
                    help="the ensemble arm's TrainSpec.members (default 0: automatic)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="seqstudio-ens-") as tmp:
        for key in a.sets:
            for seed in a.seeds:
                ens = a.members
                for members in ((1,) if a.only == "single" else (ens,) if a.only == "auto" else (1, ens)):
                    r = one(SETS[key], seed, members, Path(tmp))
                    rows.append(r)
                    print(json.dumps(r), flush=True)
    print()
    print("| set | single model: accuracy (mean ± sd) | wall s | members K | ensemble: accuracy | wall s "
          "| members of the ensemble runs: accuracy |")
    print("|---|---|---|---|---|---|---|")
    for key in a.sets:
        s = [r for r in rows if r["set"] == key and r["members"] == 1]
        e = [r for r in rows if r["set"] == key and r["members"] > 1]
        pm = [x for r in e for x in (r["per_member"] or [])]
        print(f"| {SETS[key].title} | {_ms([r['accuracy'] for r in s])} | "
              f"{max((r['wall'] for r in s), default='-')} | {e[0]['members'] if e else '-'} | "
              f"{_ms([r['accuracy'] for r in e])} | {max((r['wall'] for r in e), default='-')} | {_ms(pm)} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
