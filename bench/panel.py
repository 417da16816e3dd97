"""Panel benchmark: many series in one file, trained as one global model (``DataSpec.id``).

A generated panel (seeded): ``--series`` series (default 1,000) of ``--steps`` monthly steps (default 500), each
a level, a trend, a yearly season and noise at its own scale, in long format (series, month, value). The run
goes the app's way: CSV bytes -> :func:`seqcore.pipeline.run_training` with the data-fitted defaults
(:func:`seqcore.data.defaults.default_data_spec` with the series id) and the default preset, for ``--epochs``
epochs (no early stopping, no final fit). Reported: the training windows, seconds to read and prepare the data,
seconds per epoch (each epoch's own time from the training history), the whole run's seconds (evaluation of
every series and the CSVs included), and the peak resident memory (psutil, sampled every 50 ms, and the
process's own peak). ``--batch-size`` adds a second run with larger batches (the same data).

Goal (issue 13): one epoch <= 60 s on this machine.

Usage: ``python bench/panel.py [--series 1000] [--steps 500] [--epochs 2] [--batch-size 256] [--update-results]``
(writes ``bench/out/panel.json``; ``--update-results`` puts the table into bench/RESULTS.md between its
``panel`` markers).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_block import write_block  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- panel:begin (written by bench/panel.py --update-results) -->", "<!-- panel:end -->"
HEADING = "## Many series in one file (panel)"


def make_panel(n_series: int, steps: int, seed: int = 0) -> pd.DataFrame:
    """Seasonal + trend + noise series at different levels and scales, long format."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    level = rng.lognormal(3, 1, (n_series, 1))
    trend = rng.normal(0, 0.02, (n_series, 1)) * level / 10
    season = rng.uniform(0.05, 0.3, (n_series, 1)) * level * np.sin(2 * np.pi * (t / 12 + rng.uniform(0, 1, (n_series, 1))))
    y = level + trend * t + season + rng.normal(0, 0.05, (n_series, steps)) * level
    months = pd.date_range("1980-01-01", periods=steps, freq="MS").strftime("%Y-%m-%d")
    return pd.DataFrame({"series": np.repeat([f"s{i:04d}" for i in range(n_series)], steps),
                         "month": np.tile(months, n_series), "value": np.round(y.reshape(-1), 4)})


class PeakRSS:
    """Peak resident memory of this process, sampled in a thread (psutil) while the block runs."""

    def __init__(self, every: float = 0.05):
        import psutil

        self.proc, self.every, self.peak, self._stop = psutil.Process(), every, 0, threading.Event()

    def __enter__(self):
        self.peak = self.proc.memory_info().rss
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def run_once(data: bytes, spec, out: Path) -> dict:
    from seqcore.pipeline import prepare_data, run_training

    t0 = time.perf_counter()
    _, prep, _ = prepare_data(data, spec, name="panel.csv")
    prepare_s = time.perf_counter() - t0
    sizes = prep.sizes()
    del prep
    t0 = time.perf_counter()
    result = run_training(data, spec, out, name="panel.csv")
    total_s = time.perf_counter() - t0
    ends = [float(h["elapsed"]) for h in result.history if "elapsed" in h]
    epochs = [b - a for a, b in zip([0.0] + ends, ends)]
    test = result.metrics["test"]
    naive = result.metrics["baselines"]["naive"]
    return {"batch_size": spec.train.batch_size, "windows": sizes, "prepare_s": round(prepare_s, 2),
            "epoch_s": [round(e, 1) for e in epochs], "run_s": round(total_s, 1),
            "series_scored": len(test.get("per_series") or {}), "mase": test.get("mase"),
            "naive_mase": naive.get("mase")}


def to_markdown(meta: dict, runs: list[dict]) -> str:
    lines = [f"{meta['series']:,} series x {meta['steps']} monthly steps ({meta['series'] * meta['steps']:,} rows, "
             f"CSV {meta['csv_mb']:.1f} MB), window {meta['window']}, horizon {meta['horizon']}, LSTM "
             f"{meta['units']}, {meta['epochs']} epochs; {meta['when']}, {meta['cores']} cores, load {meta['load']} "
             f"(`{meta['command']}`).", "",
             "| batch | training / val / test windows | prepare (s) | seconds per epoch | whole run (s) | "
             "peak RSS (MB) | test MASE (naive) |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        w = r["windows"]
        lines.append(f"| {r['batch_size']} | {w['train']:,} / {w['val']:,} / {w['test']:,} | {r['prepare_s']:.1f} | "
                     f"{', '.join(f'{e:.1f}' for e in r['epoch_s'])} | {r['run_s']:.0f} | {r['peak_rss_mb']:,.0f} | "
                     f"{r['mase']:.3f} ({r['naive_mase']:.3f}) |")
    lines += ["", "Goal: one epoch <= 60 s. The first epoch includes compiling the model; the whole run adds "
              "scoring every series and its baselines and writing the CSVs and the bundle. Peak RSS is the "
              "benchmark process (it holds the generated frame and its CSV bytes too)."]
    return "\n".join(lines)


def update_results(block: str) -> None:
    write_block(RESULTS, BEGIN, END, block, HEADING)


def main(argv: list[str] | None = None) -> int:
    from seqcore.config import default_run_spec
    from seqcore.data.defaults import default_data_spec
    from seqcore.runs.runner import cpu_cores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256, help="a second run with this batch size (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--update-results", action="store_true")
    args = ap.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    df = make_panel(args.series, args.steps, args.seed)
    data = df.to_csv(index=False).encode()
    spec = default_run_spec(default_data_spec(df, "forecast", id="series", time="month", targets=("value",)))
    spec = spec.replace(train=spec.train.replace(epochs=args.epochs, patience=0, final_fit=False))
    meta = {"when": time.strftime("%Y-%m-%d %H:%M"), "cores": cpu_cores(),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "series": args.series, "steps": args.steps,
            "csv_mb": len(data) / 1e6, "window": spec.data.window, "horizon": spec.data.horizon,
            "units": list(spec.model.units), "epochs": args.epochs,
            "command": " ".join(["python bench/panel.py"] + [shlex.quote(a) for a in given if a != "--update-results"])}
    print(f"panel: {args.series} series x {args.steps} steps, window {spec.data.window}, horizon {spec.data.horizon}",
          file=sys.stderr, flush=True)
    runs = []
    sizes = [spec.train.batch_size] + ([args.batch_size] if args.batch_size and args.batch_size != spec.train.batch_size else [])
    for bs in sizes:
        run_spec = spec.replace(train=spec.train.replace(batch_size=bs))
        with tempfile.TemporaryDirectory(prefix="panel-bench-") as tmp, PeakRSS() as mem:
            r = run_once(data, run_spec, Path(tmp))
        r["peak_rss_mb"] = max(mem.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 1e6
        print(f"batch {bs}: windows {r['windows']}, prepare {r['prepare_s']}s, epochs {r['epoch_s']} s, run "
              f"{r['run_s']}s, peak RSS {r['peak_rss_mb']:.0f} MB, MASE {r['mase']:.3f} (naive {r['naive_mase']:.3f})",
              file=sys.stderr, flush=True)
        runs.append(r)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "panel.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    md = to_markdown(meta, runs)
    print(md)
    if args.update_results:
        update_results(md)
        print(f"updated the panel section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
