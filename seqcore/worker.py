"""What runs inside a worker process: one job (a training run or a prediction), then exit.

The supervisor (:mod:`seqcore.runner`) spawns :func:`worker_main` with the
``spawn`` start method. The process fits its thread pools to its share of the
cores, imports TensorFlow (:func:`seqcore.pipeline.warm_up`), says ``ready`` on
its pipe and waits for one job id; a warm process therefore starts training the
moment a job arrives. Each job gets a fresh process, so its memory goes back to
the system when it ends.

:func:`execute_job` is the backend-independent part: it needs only a store-like
object (``get_run``, ``dataset_bytes``, ``append_history``, ``stop_requested``,
``finish_run``, ``run_dir``, ...), which is the seam another backend (Ray, issue 7)
plugs a proxy into.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from .errors import BundleError, UserError
from .progress import Progress
from .store import RunRecord, RunStore, atomic_write_bytes

CRASH_MESSAGE = "Training crashed unexpectedly; details are in the run log."
PREDICT_CRASH_MESSAGE = "Prediction crashed unexpectedly; details are in the job log."
OOM_MESSAGE = ("The training process ran out of memory. Try a smaller batch size, a shorter window, "
               "fewer units or layers, or a smaller dataset, then rerun.")


class HistoryWriter:
    """``on_progress`` callback that writes Progress points into the store in small batches.

    Epoch points are written at once; batch points (already throttled by the
    trainer to a few a second) are grouped so that SQLite sees at most one write
    per ``interval`` seconds. ``trim_first``: on the first point of a resumed run,
    delete the stored points of the epochs it is about to redo.
    """

    def __init__(self, store: Any, run_id: str, *, interval: float = 0.25, trim_first: bool = False):
        self.store, self.run_id, self.interval = store, run_id, interval
        self.trim_first = trim_first
        self.buffer: list[Progress] = []
        self.last_flush = 0.0
        self.written = 0

    def __call__(self, point: Progress) -> None:
        if self.trim_first:
            self.trim_first = False
            self.store.trim_history(self.run_id, point.epoch)
        self.buffer.append(point)
        if point.kind == "epoch" or time.monotonic() - self.last_flush >= self.interval:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        points, self.buffer = self.buffer, []
        self.store.append_history(self.run_id, points)
        self.written += len(points)
        self.last_flush = time.monotonic()
        epochs = [p for p in points if p.kind == "epoch"]
        if epochs:
            vals = [p.val_loss for p in epochs if p.val_loss is not None and math.isfinite(p.val_loss)]
            self.store.update_progress_summary(self.run_id, epochs_run=max(p.epoch for p in epochs),
                                               best_val_loss=min(vals) if vals else None)


class StopFlag:
    """``should_stop`` callback: reads the run's stop flag from the store at most every ``interval`` s."""

    def __init__(self, store: Any, run_id: str, *, interval: float = 0.2):
        self.store, self.run_id, self.interval = store, run_id, interval
        self.value = False
        self.last_check = -math.inf

    def __call__(self) -> bool:
        if self.value:
            return True
        now = time.monotonic()
        if now - self.last_check >= self.interval:
            self.last_check = now
            self.value = bool(self.store.stop_requested(self.run_id))
        return self.value


def _best_val_loss(history: list[dict]) -> float | None:
    vals = []
    for h in history or []:
        v = h.get("val_loss")
        if v is None:
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            vals.append(v)
    return min(vals) if vals else None


def _csv_options(d: dict | None):
    if not d:
        return None
    from .io import CsvOptions

    return CsvOptions.from_dict(d)


def _train(store: Any, rec: RunRecord) -> None:
    from . import pipeline
    from .config import RunSpec

    spec = RunSpec.from_dict(rec.spec)
    ds = store.get_dataset(rec.dataset_id)
    data = store.dataset_bytes(rec.dataset_id)
    test_data = store.dataset_bytes(rec.test_dataset_id) if rec.test_dataset_id else None
    out_dir = store.run_dir(rec.id)
    checkpoint_dir = out_dir / "checkpoint"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    has_checkpoint = (checkpoint_dir / "checkpoint.json").exists()
    store.append_log(rec.id, f"training starts: attempt {rec.attempt}, pid {os.getpid()}, "
                             f"resume={rec.resume} (checkpoint {'found' if has_checkpoint else 'none'})")
    writer = HistoryWriter(store, rec.id, trim_first=rec.attempt > 1)
    stop = StopFlag(store, rec.id)
    try:
        result = pipeline.run_training(
            data, spec, out_dir, csv_options=_csv_options(rec.csv_options), test_data=test_data, name=ds.name,
            on_progress=writer, should_stop=stop, checkpoint_dir=checkpoint_dir, resume=bool(rec.resume))
    finally:
        writer.flush()
    summary = dict(result.metrics or {})
    summary["best_epoch"] = result.best_epoch
    store.finish_run(rec.id, result.status, summary=summary, epochs_run=result.epochs_run,
                     best_val_loss=_best_val_loss(result.history))
    store.append_log(rec.id, f"training ended: {result.status} after {result.epochs_run} epoch(s), "
                             f"best epoch {result.best_epoch}")


def _predict(store: Any, rec: RunRecord) -> None:
    from . import pipeline

    source = rec.source_run_id or rec.spec.get("source_run_id")
    src = store.get_run(source)
    bundle = store.run_dir(src.id) / "bundle"
    if not (bundle / "spec.json").exists():
        raise BundleError(f"Run {src.name!r} has no saved model to predict with (status: {src.status}).",
                          hint="Pick a finished or stopped run.")
    data = store.dataset_bytes(rec.dataset_id)
    store.append_log(rec.id, f"prediction starts with the model of run {src.id}, pid {os.getpid()}")
    df = pipeline.predict_from_bundle(bundle, data, csv_options=_csv_options(rec.csv_options))
    from .export import csv_bytes  # spreadsheet formula cells escaped, like the run's own predictions.csv

    out = store.run_dir(rec.id) / "predictions.csv"
    atomic_write_bytes(out, csv_bytes(df))
    store.finish_run(rec.id, "finished", summary={"rows": int(len(df)), "columns": [str(c) for c in df.columns],
                                                  "source_run_id": src.id})
    store.append_log(rec.id, f"prediction finished: {len(df)} rows written to {out.name}")


def execute_job(store: Any, run_id: str) -> str:
    """Run one claimed job to its end and record the outcome. Returns the final status.

    User mistakes (:class:`UserError`) end as ``failed`` with their message; anything
    else ends as ``failed`` with a plain message, the traceback going to the run log.
    """
    rec = store.get_run(run_id)
    try:
        if rec.kind == "predict":
            _predict(store, rec)
        else:
            _train(store, rec)
    except UserError as e:
        store.append_log(run_id, f"ended with a user error: {e}")
        store.log_exception(run_id, e)
        store.finish_run(run_id, "failed", error=str(e))
    except MemoryError as e:
        store.log_exception(run_id, e, "out of memory")
        store.finish_run(run_id, "failed", error=OOM_MESSAGE)
    except Exception as e:  # noqa: BLE001 - any crash must end the run with a plain message
        store.log_exception(run_id, e, "unexpected error")
        if type(e).__name__ == "ResourceExhaustedError":  # TensorFlow's out-of-memory error
            message = OOM_MESSAGE
        else:
            message = PREDICT_CRASH_MESSAGE if rec.kind == "predict" else CRASH_MESSAGE
        store.finish_run(run_id, "failed", error=message)
    return store.get_run(run_id).status


# --------------------------------------------------------------------------- process entry

def _redirect_output(path: Path) -> None:
    """Send this process's stdout/stderr (Python and C++ level, e.g. TensorFlow logs) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _watch_parent(parent_pid: int) -> None:
    """Log when the supervisor goes away; the job carries on (a new supervisor adopts it)."""
    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != parent_pid:
                print(f"[worker {os.getpid()}] supervisor {parent_pid} is gone; finishing the job anyway",
                      file=sys.stderr, flush=True)
                return
    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


#: Modules a training run imports lazily; a warm worker imports them while it waits.
PRELOAD = ("pandas", "seqcore.io", "seqcore.schema", "seqcore.tasks.forecast", "seqcore.tasks.classify",
           "seqcore.tasks.textclass", "seqcore.models", "seqcore.training", "seqcore.bundle", "seqcore.export")


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as e:  # a missing optional piece fails the job later, with a clear message
            print(f"[worker {os.getpid()}] preload of {name} failed: {e}", file=sys.stderr, flush=True)


def _nice_level() -> int:
    try:
        return int(os.environ.get("SEQSTUDIO_WORKER_NICE", "2"))
    except ValueError:
        return 2


def worker_main(conn, home: str, threads: int, nice: int | None = None) -> None:
    """Entry point of a spawned worker process.

    conn: a multiprocessing Connection. The worker sends ``("ready", pid)`` once
    TensorFlow is imported, then receives ``("job", run_id)`` (run it and exit) or
    ``("exit",)``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when workers end
    store_home = Path(home)
    _redirect_output(store_home / "worker.log")
    parent = os.getppid()
    _watch_parent(parent)
    nice = _nice_level() if nice is None else nice
    try:
        if nice > 0:
            os.nice(nice)  # a lower priority than the web server keeps pages responsive ($SEQSTUDIO_WORKER_NICE)
    except OSError:
        pass
    t0 = time.perf_counter()
    from . import pipeline

    pipeline.configure_threads(threads)
    pipeline.warm_up()
    _preload()
    print(f"[worker {os.getpid()}] warm in {time.perf_counter() - t0:.1f}s ({threads} threads)",
          file=sys.stderr, flush=True)
    conn.send(("ready", os.getpid()))
    try:
        msg = conn.recv()
    except (EOFError, OSError):
        return  # the supervisor went away before giving us a job
    if not msg or msg[0] != "job":
        return
    run_id = msg[1]
    store = RunStore(store_home)
    _redirect_output(store.log_path(run_id))
    try:
        execute_job(store, run_id)
    except Exception:  # noqa: BLE001 - the store itself failed: leave a trace, the supervisor marks the run
        traceback.print_exc()
        raise
    finally:
        try:
            conn.send(("done", run_id))
        except (OSError, EOFError):
            pass
