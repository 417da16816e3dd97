"""Sequence-classification architectures on small, long sets (issue 14, point 2): accuracy and seconds.

Each set trains through :func:`seqcore.pipeline.run_training` with the app's default RunSpec for the task
(the balanced preset) and one change per column:

- ``default``: today's network (the preset with the convolution front end, attention and augmentation off)
- ``conv``: + the convolution front end (LSTM-FCN style, in parallel with the recurrent layer)
- ``attention``: + attention pooling over time
- ``augment``: + augmentation of the training batches (jitter, scaling, window slicing)
- ``auto``: the app's default: every "auto" setting, chosen per set on the training part (search included)

Usage::

    python bench/classify_models.py --seeds 42                 # every set, every variant
    python bench/classify_models.py --only gunpoint --variants default auto --seeds 42 1

Prints a table (accuracy, wall seconds) and writes bench/out/classify_models.json.

Measured 2026-12-06 on the shared 2-core machine (JAX, CPU; other jobs running, load 1-7), seeds 42 and 1,
mean accuracy (slowest wall seconds of the two, search included for auto); the given TRAIN/TEST splits::

    set           default       conv          attention     augment       conv+aug+attn  auto          1-NN Eucl.
    GunPoint      0.967 (9 s)   0.990 (9 s)   0.940 (6 s)   0.963 (6 s)   0.987 (48 s*)  0.987 (25 s)  0.913
    Coffee        1.000 (5 s)   1.000 (8 s)   1.000 (4 s)   1.000 (4 s)   1.000 (13 s)   1.000 (17 s)  1.000
    PigCVP        0.250 (9 s)   0.435 (19 s)  0.370 (19 s)  0.312 (17 s)  0.589 (61 s*)  0.589 (34 s)  0.139
    BasicMotions  1.000 (3 s)   1.000 (9 s)   0.975 (6 s)   0.988 (5 s)   1.000 (10 s)   1.000 (24 s)  0.575

    (* under a load of ~7 on 2 cores.) auto picked conv+augment+attention in all 8 runs (3-fold cross-validation
    on the training part; 2-fold on PigCVP, 2 sequences a class).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.accuracy import Case, default_data_spec  # noqa: E402
from bench.accuracy_suite import DATASETS  # noqa: E402
from seqcore.config import default_run_spec  # noqa: E402

SETS = {
    "gunpoint": ("GunPoint", "GunPoint_TRAIN.csv", "GunPoint_TEST.csv"),
    "coffee": ("Coffee", "Coffee_TRAIN.txt", "Coffee_TEST.txt"),
    "pigcvp": ("PigCVP", "PigCVP_TRAIN.csv", "PigCVP_TEST.csv"),
    "basicmotions": ("BasicMotions", "BasicMotions_TRAIN.csv", "BasicMotions_TEST.csv"),
}

OFF = {"model": {"conv": "off", "pooling": "last"}, "train": {"augment": "off"}}
VARIANTS = {
    "default": OFF,
    "conv": {"model": {"conv": "on", "pooling": "last"}, "train": {"augment": "off"}},
    "attention": {"model": {"conv": "off", "pooling": "attention"}, "train": {"augment": "off"}},
    "augment": {"model": {"conv": "off", "pooling": "last"}, "train": {"augment": "on"}},
    "conv+augment": {"model": {"conv": "on", "pooling": "last"}, "train": {"augment": "on"}},
    "conv+augment+attention": {"model": {"conv": "on", "pooling": "attention"}, "train": {"augment": "on"}},
    "auto": {},
}


def case_for(key: str) -> Case:
    title, train, test = SETS[key]
    return Case(key, title, "classify", train, test, {}, "accuracy", True, 0.0, "", data_dir=DATASETS)


def run_one(key: str, variant: str, seed: int, work: Path) -> dict:
    from seqcore.pipeline import run_training

    case = case_for(key)
    spec = default_run_spec(default_data_spec(case))
    over = VARIANTS[variant]
    spec = spec.replace(model=spec.model.replace(**over.get("model", {})),
                        train=spec.train.replace(seed=seed, **over.get("train", {})))
    t0 = time.perf_counter()
    res = run_training(case.read(), spec, work / f"{key}_{variant}_{seed}", test_data=case.read("test"),
                       name=case.train_file)
    wall = time.perf_counter() - t0
    m = res.metrics
    base = {k: v.get("accuracy") for k, v in m["baselines"].items()}
    return {"set": key, "variant": variant, "seed": seed, "accuracy": m["test"]["accuracy"],
            "wall_seconds": round(wall, 1), "epochs_run": m["training"]["epochs_run"],
            "baselines": base, "choice": m.get("model_choice")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(SETS), choices=list(SETS))
    ap.add_argument("--variants", nargs="*", default=["default", "conv", "attention", "augment", "auto"],
                    choices=list(VARIANTS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[42])
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "classify_models.json"))
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="classify-models-") as tmp:
        for key in args.only:
            for variant in args.variants:
                for seed in args.seeds:
                    row = run_one(key, variant, seed, Path(tmp))
                    rows.append(row)
                    print(json.dumps(row, default=str), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1, default=str))
    print()
    print(f"| set | {' | '.join(args.variants)} |")
    print("|---|" + "---|" * len(args.variants))
    for key in args.only:
        cells = []
        for v in args.variants:
            rs = [r for r in rows if r["set"] == key and r["variant"] == v]
            acc = sum(r["accuracy"] for r in rs) / len(rs)
            sec = sum(r["wall_seconds"] for r in rs) / len(rs)
            cells.append(f"{acc:.3f} ({sec:.0f} s)")
        print(f"| {SETS[key][0]} | {' | '.join(cells)} |")
    nn = {key: next((r["baselines"] for r in rows if r["set"] == key), {}) for key in args.only}
    print("\n1-NN baselines (same split):", json.dumps({k: v.get("nearest_neighbour") for k, v in nn.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
