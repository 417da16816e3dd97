"""How to compute the 1-nearest-neighbour DTW baseline: dtaidistance's C core against numpy, side by side.

For each set (the sequences as the app prepares them, :func:`seqcore.pipeline.prepare_data` with the app's
defaults; unequal lengths resampled as the baselines do), prints:

* the seconds each engine takes to compare every test sequence with every training sequence at two band
  widths (1% and 10% of the length), and the cells of the cost matrices per second;
* the largest difference between the engines and from a plain O(n*m) DTW (``dtw.dtw_reference``) on a
  few pairs;
* the whole baseline as the app runs it (window picked by leave-one-out on the training part over the UCR
  grid) with the default engine: window, accuracy, seconds; and the 1-NN Euclidean accuracy beside it.

numpy on a long set is timed on the first ``--numpy-rows`` test sequences and scaled up (said in the row).

Usage::

    python bench/dtw.py                          # GunPoint, PigCVP, BasicMotions
    python bench/dtw.py --only gunpoint coffee --budget 60
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SETS = ("gunpoint", "pigcvp", "basicmotions")


def arrays(key: str):
    """(x_train, y_train, x_test, y_test, n_classes) of a classification case of bench/accuracy.py, as the
    app's baselines see them (one length, NaN-free)."""
    from bench.accuracy import CASES, run_spec
    from seqcore.modeling.baselines import _aligned
    from seqcore.modeling.models import PAD_VALUE
    from seqcore.pipeline import prepare_data

    case = CASES[key]
    _, prep, _ = prepare_data(case.read(), run_spec(case), test_data=case.read("test"), name=case.train_file)
    ex = prep.extra
    nan = lambda a: np.where(a == PAD_VALUE, np.nan, a)  # noqa: E731
    xtr, xte, ytr = _aligned(nan(ex["x_train"]), ex["y_train"], nan(ex["x_test"]), ex["lengths_train"],
                             ex["lengths_test"], "bench")
    return xtr, ytr, xte, np.asarray(ex["y_test"]), len(prep.state["class_names"])


def time_engine(engine: str, xte, xtr, band: int, rows: int | None) -> tuple[float, np.ndarray, bool]:
    from seqcore.modeling import dtw

    part = xte if rows is None or rows >= len(xte) else xte[:rows]
    t0 = time.perf_counter()
    dist = dtw.distance_matrix(part, xtr, band, engine=engine)
    spent = time.perf_counter() - t0
    scaled = len(part) < len(xte)
    return spent * len(xte) / len(part), dist, scaled


def main(argv: list[str] | None = None) -> int:
    from bench.accuracy import CASES
    from seqcore.modeling import dtw
    from seqcore.modeling.baselines import nearest_neighbour_baseline

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=list(DEFAULT_SETS),
                    choices=[k for k, c in CASES.items() if c.suite_role == "classify"
                             and not str(c.data_dir).startswith("<")])
    ap.add_argument("--numpy-rows", type=int, default=20,
                    help="numpy on sets over 500 steps: time this many test sequences and scale up (default 20)")
    ap.add_argument("--budget", type=float, default=dtw.DEFAULT_BUDGET_S,
                    help=f"seconds for the whole baseline (default: the app's {dtw.DEFAULT_BUDGET_S:g})")
    args = ap.parse_args(argv)
    engines = [e for e in ("dtaidistance", "numpy") if dtw.engine_available(e)]
    print(f"engines: {', '.join(engines)}; default {dtw.default_engine()}")
    lines = ["| set | n train x steps x channels, n test | band | " + " | ".join(f"{e} s" for e in engines)
             + " | speed-up | max |difference| between engines | max |difference| from plain DTW |",
             "|---|---|---|" + "---|" * len(engines) + "---|---|---|"]
    whole = ["| set | engine | window picked | 1-NN DTW accuracy | 1-NN Euclidean | seconds | note |",
             "|---|---|---|---|---|---|---|"]
    for key in args.only:
        xtr, ytr, xte, yte, c = arrays(key)
        L = xtr.shape[1]
        rng = np.random.default_rng(0)
        for frac in (0.01, 0.10):
            band = dtw.band_steps(frac, L)
            times, dists, scaled = {}, {}, {}
            for e in engines:
                rows = args.numpy_rows if e == "numpy" and L > 500 else None
                times[e], dists[e], scaled[e] = time_engine(e, xte, xtr, band, rows)
            n = min(len(d) for d in dists.values())
            diff = (max(float(np.max(np.abs(dists[a][:n] - dists[b][:n]))) for a in engines for b in engines
                        if a < b) if len(engines) > 1 else None)
            pairs = [(int(rng.integers(n)), int(rng.integers(len(xtr)))) for _ in range(3 if L <= 500 else 1)]
            ref = max(abs(dtw.dtw_reference(xte[i], xtr[j], band) - dists[engines[0]][i, j]) for i, j in pairs)
            cells = [f"{times[e]:.2f}" + (" (scaled)" if scaled[e] else "") for e in engines]
            speed = f"{times['numpy'] / times['dtaidistance']:.1f}x" if len(engines) > 1 else "-"
            lines.append(f"| {CASES[key].title} | {len(xtr)} x {L} x {xtr.shape[2]}, {len(xte)} | {band} "
                         f"({frac * 100:g}%) | " + " | ".join(cells) + f" | {speed} | "
                         + ("-" if diff is None else f"{diff:.1e}") + f" | {ref:.1e} ({len(pairs)} pairs) |")
            print(lines[-1], flush=True)
        res = dtw.nearest_neighbour_dtw(xtr, ytr, xte, c, budget_s=args.budget)
        acc = "-" if res.proba is None else f"{np.mean(res.proba.argmax(1) == yte):.3f}"
        ed = float(np.mean(nearest_neighbour_baseline(xtr, ytr, xte, c).argmax(1) == yte))
        whole.append(f"| {CASES[key].title} | {res.engine} | "
                     + ("-" if res.window is None else f"{res.window * 100:g}% ({res.band} steps)")
                     + f" | {acc} | {ed:.3f} | {res.seconds:.1f} | {res.note} |")
        print(whole[-1], flush=True)
    print()
    print("\n".join(lines))
    print()
    print(f"The whole baseline as the app runs it (budget {args.budget:g} s):")
    print()
    print("\n".join(whole))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
