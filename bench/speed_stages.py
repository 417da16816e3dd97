"""Speed benchmark pieces that are not epoch races: W3 (scale), first-loss latency, live chart cost.

Each ``measure_*`` function returns a plain dict (JSON-able). ``python bench/speed_stages.py scale
ROWS BATCHES CSV`` is the child process of the W3 measurement (a fresh process so its peak RSS is its own).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

W3_COLUMNS = ["t", "y", "f1", "f2", "f3", "f4", "f5", "f6"]  # 8 columns: a step counter, a target, 6 features


# --------------------------------------------------------------------------- W3: scale

def write_scale_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """A ``rows`` x 8 CSV (t, y, f1..f6) of seeded noisy sines, written once and reused."""
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        return path
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    chunk = 200_000
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(",".join(W3_COLUMNS) + "\n")
        for lo in range(0, rows, chunk):
            t = np.arange(lo, min(rows, lo + chunk))
            cols = [np.sin(t / p) * 10 + rng.normal(0, 0.5, len(t)) for p in (24.0, 7.0, 50.0, 3.0, 160.0, 12.0, 90.0)]
            block = np.column_stack([t] + cols)
            f.write("\n".join(f"{int(r[0])}," + ",".join(f"{v:.4f}" for v in r[1:]) for r in block))
            f.write("\n")
    os.replace(tmp, path)
    return path


class PeakRSS:
    """Samples this process's resident memory every few milliseconds; ``take()`` returns the peak since
    the last call (MB) and starts a new interval."""

    def __init__(self, interval: float = 0.005):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.proc.memory_info().rss
            if rss > self.peak:
                self.peak = rss
            time.sleep(self.interval)

    def take(self) -> float:
        rss = self.proc.memory_info().rss
        peak = max(self.peak, rss)
        self.peak = rss
        return round(peak / 2**20, 1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def scale_child(rows: int, batches: int, csv_path: str) -> dict:
    """Parse, validate, window, then train one epoch capped at ``batches`` batches; time and peak RSS of each."""
    sampler = PeakRSS()
    out: dict = {"rows": rows, "columns": len(W3_COLUMNS), "stages": {}}

    def stage(name: str, t0: float) -> None:
        out["stages"][name] = {"seconds": round(time.perf_counter() - t0, 3), "peak_rss_mb": sampler.take()}

    out["start_rss_mb"] = sampler.take()
    t0 = time.perf_counter()
    from seqcore.config import DataSpec, ModelSpec, TrainSpec
    from seqcore.data.io import read_csv
    from seqcore.data.schema import validate
    from seqcore.modeling.tasks import get_task

    data = Path(csv_path).read_bytes()
    table = read_csv(data, name="w3.csv")
    del data
    stage("parse", t0)
    spec = DataSpec(task="forecast", time="t", targets=("y",), features=tuple(W3_COLUMNS[2:]), window=48)
    t0 = time.perf_counter()
    report = validate(table.df, spec)
    stage("validate", t0)
    out["validation_errors"] = [i.message for i in report.errors]
    t0 = time.perf_counter()
    prep = get_task("forecast").prepare(table.df, spec, seed=0)
    stage("window", t0)
    out["windows"] = prep.sizes()
    out["parse_validate_window_s"] = round(sum(out["stages"][k]["seconds"] for k in ("parse", "validate", "window")), 3)
    out["parse_validate_window_peak_rss_mb"] = max(out["stages"][k]["peak_rss_mb"]
                                                   for k in ("parse", "validate", "window"))
    if batches <= 0:  # parse/validate/window only
        import resource

        out["total_s"] = round(sum(s["seconds"] for s in out["stages"].values()), 3)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
        sampler.close()
        return out
    # one epoch capped at `batches` batches, through the app's trainer
    t0 = time.perf_counter()
    from seqcore.modeling.models import build_model
    from seqcore.modeling.training import fit, quiet_tensorflow, set_seed
    from seqcore.data.windows import WindowSource

    quiet_tensorflow()
    import keras

    tspec = TrainSpec(epochs=1, patience=0)
    src = prep.train
    capped = WindowSource(src.inputs_arr, src.targets_arr, src.starts[: batches * tspec.batch_size], src.window,
                          src.horizon, relative=src.relative)
    set_seed(0)
    model = build_model(ModelSpec(), tspec, prep.shape)
    fit(model, capped, None, tspec)
    stage("train_capped", t0)
    out["backend"] = keras.backend.backend()
    out["train_batches"] = math.ceil(len(capped) / tspec.batch_size)
    out["total_s"] = round(sum(s["seconds"] for s in out["stages"].values()), 3)
    import resource

    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    sampler.close()
    return out


def measure_scale(rows: int, batches: int, out_dir: Path) -> dict:
    """W3 in a fresh process (so the peak RSS is the run's own)."""
    csv_path = write_scale_csv(Path(out_dir) / f"w3_{rows}.csv", rows)
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "scale", str(rows), str(batches),
                          str(csv_path)], capture_output=True, text=True, timeout=900)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("SCALE ")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"W3 child failed (exit {res.returncode}): {res.stderr[-2000:]}")
    out = json.loads(lines[-1][6:])
    out["csv_mb"] = round(csv_path.stat().st_size / 2**20, 1)
    return out


# --------------------------------------------------------------------------- first loss point latency

def _sine_csv(n: int = 300) -> bytes:
    rows = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.1 * math.cos(i / 2):.5f}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def _first_loss(store, run_id: str, t0: float, timeout: float = 180.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if any(p.loss is not None for _, p in store.read_history(run_id, limit=5)):
            return time.perf_counter() - t0
        rec = store.get_run(run_id)
        if rec.status not in ("queued", "running"):
            raise RuntimeError(f"run {run_id} ended {rec.status} before a loss point: {rec.error}")
        time.sleep(0.005)
    raise TimeoutError(f"no loss point within {timeout} s")


def _wait_warm(home: Path, timeout: float = 120.0) -> None:
    from seqcore.runs.runner import supervisor_status

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor_status(home).get("warm") == "ready":
            return
        time.sleep(0.05)
    raise TimeoutError("the warm worker never became ready")


def _prewarm_state(home: Path, key: str) -> str | None:
    """The warm worker's prewarm state for the hint ``key`` (None until it has taken that hint), with the
    stages it had finished when it last reported (after the training step, then at the end)."""
    from seqcore.runs.runner import supervisor_status

    pw = supervisor_status(home).get("prewarm") or {}
    if pw.get("key") != key:
        return None
    done = "+".join(pw.get("stages") or {})
    return pw.get("state") + (f" ({done} done)" if done and pw.get("state") == "running" else "")


def _timed_run(store, home: Path, spec, ds: str, *, hint_gap: float | None = None,
               hint_settled: bool = False) -> dict:
    """One warm measurement: wait for the warm worker, optionally give the app's prepare hint ``hint_gap``
    seconds before submitting (or wait until the worker has finished preparing), submit, time the first
    loss point, wait for the end. Returns {"first_s", "total_s", "prewarm"}."""
    from seqcore.runs.runner import hint_prepare, read_prepare_hint, submit_run, wait_run

    _wait_warm(home)
    time.sleep(0.5)
    prewarm = None
    if hint_gap is not None or hint_settled:
        hint_prepare(store, spec, ds)
        key = read_prepare_hint(home)["key"]
        t_hint = time.perf_counter()
        if hint_settled:
            deadline = time.perf_counter() + 300
            while (_prewarm_state(home, key) or "running").startswith("running") and time.perf_counter() < deadline:
                time.sleep(0.05)
        else:
            time.sleep(max(0.0, hint_gap - (time.perf_counter() - t_hint)))
        prewarm = _prewarm_state(home, key) or "not taken yet"
    t0 = time.perf_counter()
    rid = submit_run(store, spec, ds)
    first = _first_loss(store, rid, t0)
    rec = wait_run(store, rid, timeout=300)
    if rec.status != "finished":
        raise RuntimeError(f"latency run ended {rec.status}: {rec.error}")
    if prewarm is not None:   # what the worker had finished when the job reached it (from the run's log)
        import re

        m = re.search(r"prepared ahead while waiting \((.*?)\): (\w+) after [\d.]+ s, stages (\{.*?\})",
                      store.log_path(rid).read_text(errors="replace"))
        if m:
            prewarm = f"{m.group(2)}, done: {'+'.join(json.loads(m.group(3))) or 'nothing'}"
    return {"first_s": round(first, 3), "total_s": round(time.perf_counter() - t0, 3), "prewarm": prewarm}


def measure_latency(warm_runs: int = 3, *, w1_rows: int = 0, w1_epochs: int = 3, hint_gap: float = 4.0) -> dict:
    """Seconds from submitting a run to its first loss point in the store.

    - ``cold_s``: no supervisor yet (it starts, spawns a worker that imports the backend);
    - ``warm_s``: a warm worker (backend imported) and shapes it has never seen (units differ each time),
      no prepare hint: the worker builds the model and XLA-compiles the training step after the submit;
    - ``warm_hint_s``: the same with the app's prepare hint given ``hint_gap`` seconds before the submit
      (the Train page writes it when it opens; pressing Start 3-5 s later is the realistic case), so the
      worker has been preparing for that long; ``warm_hint_prewarm`` says how far it got;
    - ``warm_hint_ready_s``: the hint given long enough before (the worker finished preparing);
    - ``warm_rerun_s``: a spec seen before with another seed (compiled steps come from the disk cache).
    Every list has ``warm_runs`` runs in that order; ``*_median_s`` are their medians and ``*_total_s``
    the submit-to-finished seconds of the same runs (a 2-epoch run of 300 rows).

    With ``w1_rows`` it also trains a W1-sized run (LSTM 64, window 48, batch 32, no validation) through
    the real worker and returns its epoch times from the store (for Figure 1)."""
    from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
    from seqcore.runs.runner import ensure_supervisor, stop_supervisor, submit_run, wait_run
    from seqcore.runs.store import RunStore

    tmp = tempfile.TemporaryDirectory(prefix="seqbench-runs-")
    home = Path(tmp.name) / "home"
    os.environ["SEQSTUDIO_HOME"] = str(home)
    os.environ["SEQSTUDIO_COMPILE_CACHE"] = str(home / "cache" / "xla")  # starts empty, like a new install
    os.environ.pop("SEQSTUDIO_PREWARM", None)
    store = RunStore(home)
    ds = store.add_dataset(_sine_csv(), "sine.csv")
    spec = RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=12), ModelSpec(units=(8,)),
                   TrainSpec(epochs=2, batch_size=16, patience=0))
    out: dict = {"hint_gap_s": hint_gap}
    try:
        t0 = time.perf_counter()
        rid = submit_run(store, spec, ds, start=False)
        ensure_supervisor(home, idle_exit=120)
        out["cold_s"] = round(_first_loss(store, rid, t0), 3)
        wait_run(store, rid, timeout=300)
        units = iter(range(9, 200))   # every warm new-shapes run gets units never compiled before

        def series(name: str, make_spec, **kw) -> None:
            runs = [_timed_run(store, home, make_spec(i), ds, **kw) for i in range(warm_runs)]
            out[name] = [r["first_s"] for r in runs]
            out[name[:-2] + "_median_s"] = statistics.median(out[name])
            out[name[:-2] + "_total_s"] = [r["total_s"] for r in runs]
            if kw:
                out[name[:-2] + "_prewarm"] = [r["prewarm"] for r in runs]

        new_shapes = lambda i: spec.replace(model=ModelSpec(units=(next(units),)))  # noqa: E731
        series("warm_s", new_shapes)
        series("warm_hint_s", new_shapes, hint_gap=hint_gap)
        series("warm_hint_ready_s", new_shapes, hint_settled=True)
        series("warm_rerun_s", lambda i: spec.replace(train=spec.train.replace(seed=100 + i)))
        if w1_rows:
            from speed_engines import make_series

            y = make_series(w1_rows, 1)[:, 0]
            csv = ("t,y\n" + "\n".join(f"{i},{v:.6f}" for i, v in enumerate(y)) + "\n").encode()
            ds1 = store.add_dataset(csv, "w1.csv")
            test_fraction = 100 / w1_rows  # a token test part; the speed run is about training
            w1 = RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=48, val_fraction=0.0,
                                  test_fraction=test_fraction),
                         ModelSpec(units=(64,)), TrainSpec(epochs=w1_epochs, patience=0))
            _wait_warm(home)
            rid = submit_run(store, w1, ds1)
            rec = wait_run(store, rid, timeout=1800)
            if rec.status != "finished":
                raise RuntimeError(f"W1 worker run ended {rec.status}: {rec.error}")
            pts = [p for _, p in store.read_history(rid, kind="epoch")]
            elapsed = [0.0] + [p.elapsed for p in pts]
            out["worker_w1"] = {"epoch_s": [round(b - a, 3) for a, b in zip(elapsed, elapsed[1:])],
                                "windows": int(rec.summary["training"]["sizes"]["train"]),
                                "batch_points": store.count_history(rid, kind="batch")}
    finally:
        stop_supervisor(home)
        tmp.cleanup()
    return out


# --------------------------------------------------------------------------- live chart cost

def _points(epochs: int, per_epoch: int, batches: int = 1563) -> list[dict]:
    """A plausible history: ``per_epoch`` throttled batch points per epoch, then the epoch point."""
    pts = []
    for e in range(1, epochs + 1):
        base = 1.0 / math.sqrt(e)
        for k in range(1, per_epoch + 1):
            b = max(1, int(batches * k / per_epoch))
            pts.append({"kind": "batch", "epoch": e, "epochs": epochs, "batch": b, "batches": batches,
                        "loss": base * (1 + 0.1 * math.sin(k * 7.3 + e))})
        pts.append({"kind": "epoch", "epoch": e, "epochs": epochs, "batch": batches, "batches": batches,
                    "loss": base, "val_loss": base * 1.1})
    return pts


CHART_MODES = (
    ("live", "downsampled (2,000 a curve)", 2000),
    ("live", "every point", 10**9),
    ("first", "downsampled (2,000 a curve)", 2000),
    ("objects", "downsampled (2,000 a curve)", 2000),
)
CHART_READS = {
    "live": "live redraw",                      # history_columns: only the new points are read
    "first": "first draw",                      # the whole history read as columns (a cold cache)
    "objects": "whole history as Progress objects",  # read_history + a Progress per point
}


def measure_chart(sizes=((20, 24), (200, 24), (2000, 24)), repeats: int = 5) -> list[dict]:
    """Milliseconds per redraw of the live loss chart, and bytes sent, for runs of 500 / 5,000 / 50,000 points.

    Every redraw is: read the history from the store + ``seqcore.outputs.viz.loss_figure`` + ``fig.to_json()``.
    The read differs by row (``read``):
      live redraw   what the Train page pays on each poll while a run trains: one new point is written,
                    then ``RunStore.history_columns`` reads only the points written since its last call
                    (kept in memory as columns) and checks the count;
      first draw    the first view of a run in a process: the whole history read as columns
                    (``read_history_columns``, a fresh store with nothing cached);
      whole history as Progress objects   ``read_history`` (every point a ``Progress``), the path that
                    reads everything again on each redraw.
    Curves are downsampled to 2,000 points each (the default) or not at all ("every point").
    ``ms_per_redraw`` is wall time, ``cpu_ms_per_redraw`` this process's CPU time (steadier on a busy machine).
    """
    from seqcore.modeling.progress import Progress
    from seqcore.runs.store import RunStore
    from seqcore.outputs.viz import loss_figure

    rows = []
    with tempfile.TemporaryDirectory(prefix="seqbench-chart-") as tmp:
        home = Path(tmp) / "home"
        store = RunStore(home)
        for epochs, per_epoch in sizes:
            pts = _points(epochs, per_epoch)
            rid = store.create_run(spec={"bench": True}, dataset_id=None, task="forecast", status="running")
            store.append_history(rid, [Progress.from_dict(p) for p in pts])
            store.history_columns(rid)  # the page has drawn this run before
            extra = 0
            for read, label, max_points in CHART_MODES:
                times, cpu, size = [], [], 0
                for _ in range(repeats):
                    reader = store
                    if read == "live":  # the worker wrote one more point since the last redraw
                        extra += 1
                        store.append_history(rid, [Progress(kind="batch", epoch=epochs + 1, epochs=epochs + 1,
                                                            batch=extra, batches=10**6, loss=0.5)])
                    elif read == "first":
                        reader = RunStore(home)  # nothing cached, a new connection
                    t0, c0 = time.perf_counter(), time.process_time()
                    if read == "objects":
                        history = [p for _, p in reader.read_history(rid)]
                    elif read == "first":
                        history = reader.read_history_columns(rid)
                    else:
                        history = reader.history_columns(rid)
                    fig = loss_figure(history, max_points=max_points)
                    payload = fig.to_json()
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    size = len(payload.encode())
                    if reader is not store:
                        reader.close()
                rows.append({"epochs": epochs, "points": len(pts), "read": CHART_READS[read], "mode": label,
                             "ms_per_redraw": round(1000 * statistics.median(times), 1),
                             "cpu_ms_per_redraw": round(1000 * statistics.median(cpu), 1), "bytes": size})
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "scale":
        res = scale_child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        print("SCALE " + json.dumps(res), flush=True)
    else:
        print("usage: speed_stages.py scale ROWS BATCHES CSV", file=sys.stderr)
        sys.exit(2)
