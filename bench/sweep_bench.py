"""Sweep benchmark: the same 8-trial sweep on the local runner and on the Ray backend, on this machine.

Each configuration starts cold in a fresh data folder (no worker, no Ray running), starts a grid sweep
of 8 small trials (LSTM/GRU x 8/16 units x two learning rates, 5 epochs, no pruning, so every
configuration trains exactly the same models) and waits for it to end. Per trial it reads from the
run store:

- queue wait: queued -> a worker started it (``started - created``),
- run time: started -> ended (data preparation, model build, training, evaluation, bundle saving,
  and on Ray the trip of the data and the bundle),
- fit time: the last epoch's ``elapsed`` (time inside ``model.fit``),
- overhead: run time - fit time.

Usage: ``python bench/sweep_bench.py [--only local1,local2,ray] [--epochs 5] [--rows 600] [--update-results]``.
Writes ``bench/out/sweep_bench.json`` and ``bench/out/sweep_bench.md``; ``--update-results`` also puts the
table into the sweeps section of ``bench/RESULTS.md`` (between its ``sweeps`` markers).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_block import marked, replace_marked  # noqa: E402

from seqcore import sweeps
from seqcore.runs import runner  # noqa: E402
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec  # noqa: E402
from seqcore.runs.store import RunStore  # noqa: E402
from seqcore.sweeps import SweepConfig, parse_vary  # noqa: E402

CONFIGS = {
    "local1": {"SEQSTUDIO_RUNNER": "local", "SEQSTUDIO_MAX_WORKERS": "1"},
    "local2": {"SEQSTUDIO_RUNNER": "local", "SEQSTUDIO_MAX_WORKERS": "2"},
    "ray": {"SEQSTUDIO_RUNNER": "ray", "SEQSTUDIO_RAY_CPUS_PER_RUN": "1"},
}
LABELS = {"local1": "local runner, 1 run at a time (default)", "local2": "local runner, 2 runs at a time",
          "ray": "Ray backend, local instance, 1 CPU per run"}


def series_csv(rows: int) -> bytes:
    lines = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.3 * math.sin(i / 17) + 0.05 * math.cos(i * 1.3):.5f}"
                       for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def run_config(name: str, epochs: int, rows: int) -> dict:
    env = CONFIGS[name]
    saved = {k: os.environ.get(k) for k in (*env, "SEQSTUDIO_HOME", "SEQSTUDIO_RAY_LOCAL_CPUS")}
    home = Path(tempfile.mkdtemp(prefix=f"sweepbench-{name}-"))
    os.environ.update(env)
    os.environ["SEQSTUDIO_HOME"] = str(home)
    try:
        store = RunStore(home)
        ds = store.add_dataset(series_csv(rows), "series.csv")
        base = RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=24),
                       ModelSpec(units=(8,)), TrainSpec(epochs=epochs, batch_size=32, patience=0))
        cfg = SweepConfig(params=(parse_vary("cell=lstm,gru"), parse_vary("units=8,16"),
                                  parse_vary("learning_rate=1e-3,1e-2")), method="grid", trials=8, prune=False)
        t0 = time.time()
        sid = sweeps.start_sweep(store, base, cfg, ds)
        while sweeps.get_sweep(store, sid).status == "running":
            time.sleep(0.25)
        wall = time.time() - t0
        sw = sweeps.get_sweep(store, sid)
        runs = sorted(store.list_runs(sweep_id=sid), key=lambda r: r.created)
        trials = []
        for r in runs:
            ep = [p for _, p in store.read_history(r.id, kind="epoch")]
            fit = ep[-1].elapsed if ep else None
            run_s = (r.ended - r.started) if r.started and r.ended else None
            trials.append({"status": r.status, "params": r.tags.get("sweep_params"), "queue_wait_s": r.started - r.created,
                           "run_s": run_s, "fit_s": fit, "overhead_s": None if fit is None or run_s is None else run_s - fit,
                           "started": r.started - t0, "ended": r.ended - t0})
        info = runner.backend_status(home)
        fits = [t["fit_s"] for t in trials if t["fit_s"] is not None]
        over = [t["overhead_s"] for t in trials if t["overhead_s"] is not None]
        first_start = min(t["started"] for t in trials)
        return {
            "config": name, "label": LABELS[name], "status": sw.status, "error": sw.error, "wall_s": wall,
            "trials": trials, "n_finished": sum(t["status"] == "finished" for t in trials),
            "first_trial_started_s": first_start,
            "wall_per_trial_s": wall / len(trials), "mean_fit_s": statistics.mean(fits),
            "mean_run_s": statistics.mean(t["run_s"] for t in trials if t["run_s"]),
            "mean_overhead_s": statistics.mean(over), "median_overhead_s": statistics.median(over),
            "sum_fit_s": sum(fits), "slots": info.get("slots") or info.get("max_workers"),
            "best_value": sw.best_value,
        }
    finally:
        sweeps.stop_driver(home)
        runner.stop_supervisor(home, timeout=60)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


TABLE_HEADER = ("| configuration | runs at once | wall (s) | wall per trial (s) | first trial started (s) | "
                "mean run (s) | mean fit (s) | mean overhead per trial (s) | finished |")


def to_markdown(results: list[dict], meta: dict, *, title: bool = True) -> str:
    """The table of one benchmark run; ``title=False`` leaves out the heading (the RESULTS.md block)."""
    out = ([f"# Sweep benchmark ({meta['when']})", ""] if title else [f"Run {meta['when']}."]) + [
           f"Machine: {meta['cores']} cores, load average at start {meta['load']}. Sweep: grid of 8 trials "
           f"(LSTM/GRU x 8/16 units x lr 1e-3/1e-2), forecast, {meta['rows']} rows, window 24, {meta['epochs']} epochs, "
           "no pruning. Cold start: no worker and no Ray running before each sweep."
           + (f" Command: `{meta['command']}`." if meta.get("command") else ""), "",
           TABLE_HEADER, "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['label']} | {r['slots']} | {r['wall_s']:.1f} | {r['wall_per_trial_s']:.1f} | "
                   f"{r['first_trial_started_s']:.1f} | {r['mean_run_s']:.1f} | {r['mean_fit_s']:.1f} | "
                   f"{r['mean_overhead_s']:.1f} | {r['n_finished']}/8 |")
    out += ["", "run = started -> ended as the store saw it (data prep, build, fit, evaluation, bundle; on Ray also "
            "the data and bundle trips); fit = time inside model.fit; overhead = run - fit.", ""]
    return "\n".join(out)


RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- sweeps:begin (written by bench/sweep_bench.py --update-results) -->", "<!-- sweeps:end -->"


HEADING = "## Sweeps: local runner vs Ray backend"


def update_results(markdown: str, path: Path = RESULTS) -> None:
    """Put ``markdown`` into the sweeps section of ``path``, inside the sweeps markers: between the
    markers when they are there (the text around them is kept), else in place of the section's body
    (up to the next "## " heading), else in a new section at the end."""
    text = path.read_text() if path.exists() else ""
    block = marked(BEGIN, END, markdown.rstrip())
    replaced = replace_marked(text, BEGIN, END, block)
    if replaced is not None:
        text = replaced
    elif HEADING in text:
        head, rest = text.split(HEADING, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
        text = head + HEADING + "\n\n" + block + "\n" + ("\n" + tail if tail else "")
    else:
        text = text.rstrip() + "\n\n" + HEADING + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="local1,local2,ray")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--update-results", action="store_true",
                    help="also write the table into the sweeps section of bench/RESULTS.md")
    args = ap.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    meta = {"when": time.strftime("%Y-%m-%d %H:%M"), "cores": runner.cpu_cores(),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "epochs": args.epochs, "rows": args.rows,
            "command": " ".join(["python bench/sweep_bench.py"] + [shlex.quote(a) for a in given
                                                                    if a != "--update-results"])}
    results = []
    for name in args.only.split(","):
        print(f"== {name}: {LABELS[name]}", file=sys.stderr, flush=True)
        r = run_config(name, args.epochs, args.rows)
        print(f"   {r['status']}: wall {r['wall_s']:.1f}s, {r['wall_per_trial_s']:.1f}s/trial, mean overhead "
              f"{r['mean_overhead_s']:.1f}s, mean fit {r['mean_fit_s']:.1f}s", file=sys.stderr, flush=True)
        results.append(r)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep_bench.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    md = to_markdown(results, meta)
    (out / "sweep_bench.md").write_text(md)
    print(md)
    if args.update_results:
        update_results(to_markdown(results, meta, title=False))
        print(f"updated the sweeps section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
