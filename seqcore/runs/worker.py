"""What runs inside a worker process: one job (a training run or a prediction), then exit.

The local supervisor (:mod:`seqcore.runs.backends.local`) spawns :func:`worker_main` with the
``spawn`` start method. The process fits its thread pools to its share of the
cores, imports TensorFlow (:func:`seqcore.pipeline.warm_up`), says ``ready`` on
its pipe and waits for one job id; a warm process therefore starts training the
moment a job arrives. Each job gets a fresh process, so its memory goes back to
the system when it ends.

While it waits, the supervisor may pass it the app's *prepare hint* (the run the
Train page shows, see :func:`seqcore.runs.queue.hint_prepare`): the worker then
prepares that data and compiles that model's steps (:func:`seqcore.pipeline.prewarm`),
checking its pipe between stages, so a job that arrives meanwhile starts as soon
as the stage in progress ends. A hint that fails (bad data, too large, deleted
dataset) is only logged.

:func:`execute_job` is the backend-independent part: it needs only a store-like
object (``get_run``, ``dataset_bytes``, ``append_history``, ``stop_requested``,
``finish_run``, ``run_dir``, ...), which is the seam another backend (Ray, issue 7)
plugs a proxy into.

A worker process logs to ``<home>/logs/worker.log`` (rotating, :mod:`seqcore.logs`). Its raw
stdout/stderr (TensorFlow / JAX native messages, a native crash) go to ``<home>/logs/worker.out``
while it waits, and to the run's own log once it has a job.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from seqcore import logs
from seqcore.errors import BundleError, UserError
from seqcore.modeling.progress import Progress
from seqcore.runs.procs import bounded_output, log_line
from seqcore.runs.store import RunRecord, RunStore, atomic_write_bytes
from seqcore.runs.tracking import RunTracker, tee

CRASH_MESSAGE = "Training crashed unexpectedly; details are in the run log."
PREDICT_CRASH_MESSAGE = "Prediction crashed unexpectedly; details are in the job log."
OOM_MESSAGE = ("The training process ran out of memory. Try a smaller batch size, a shorter window, "
               "fewer units or layers, or a smaller dataset, then rerun.")
WORKER_OUT = f"{logs.LOG_DIR}/worker.out"   # raw stdout/stderr of worker processes until they get a job


def _log(msg: str, *, level: int = logging.INFO, exc_info: bool = False) -> None:
    """A line in ``<home>/logs/worker.log`` (see :func:`seqcore.runs.procs.log_line`)."""
    log_line("worker", msg, component="worker", level=level, exc_info=exc_info)


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
    from seqcore.data.io import CsvOptions

    return CsvOptions.from_dict(d)


def _train(store: Any, rec: RunRecord) -> None:
    from seqcore import pipeline
    from seqcore.config import RunSpec

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
    tracker = _tracker(store, rec)
    try:
        result = pipeline.run_training(
            data, spec, out_dir, csv_options=_csv_options(rec.csv_options), test_data=test_data, name=ds.name,
            on_progress=tee(writer, tracker), should_stop=stop, checkpoint_dir=checkpoint_dir,
            resume=bool(rec.resume))
    except BaseException:
        tracker.finish("failed", wait=5.0)   # the run fails anyway: MLflow gets a short while to hear it
        raise
    finally:
        writer.flush()
    summary = dict(result.metrics or {})
    summary["best_epoch"] = result.best_epoch
    store.finish_run(rec.id, result.status, summary=summary, epochs_run=result.epochs_run,
                     best_val_loss=_best_val_loss(result.history))
    store.append_log(rec.id, f"training ended: {result.status} after {result.epochs_run} epoch(s), "
                             f"best epoch {result.best_epoch}")
    tracker.finish(result.status, result.metrics)   # after the run is recorded: a slow MLflow delays nothing


def _tracker(store: Any, rec: RunRecord) -> RunTracker:
    """The run's TensorBoard / MLflow sink (:mod:`seqcore.runs.tracking`), started; its warnings go to the
    run's log. A resumed run rewrites its event files from the epochs the store kept."""
    warned: list[str] = []

    def warn(message: str) -> None:
        if message not in warned:
            warned.append(message)
            store.append_log(rec.id, f"warning: {message}")

    replay = None
    if rec.attempt > 1 and hasattr(store, "read_history"):
        def replay() -> list:
            return [p for _, p in store.read_history(rec.id, kind="epoch")]
    return RunTracker(store.run_dir(rec.id), run_id=rec.id, name=rec.name, spec=rec.spec or {}, warn=warn,
                      started=rec.started, replay=replay).start()


def _predict(store: Any, rec: RunRecord) -> None:
    from seqcore import pipeline

    source = rec.source_run_id or rec.spec.get("source_run_id")
    src = store.get_run(source)
    bundle = store.run_dir(src.id) / "bundle"
    if not (bundle / "spec.json").exists():
        raise BundleError(f"Run {src.name!r} has no saved model to predict with (status: {src.status}).",
                          hint="Pick a finished or stopped run.")
    data = store.dataset_bytes(rec.dataset_id)
    store.append_log(rec.id, f"prediction starts with the model of run {src.id}, pid {os.getpid()}")
    df = pipeline.predict_from_bundle(bundle, data, csv_options=_csv_options(rec.csv_options),
                                      steps=(rec.spec or {}).get("steps"))
    from seqcore.outputs.export import csv_bytes  # spreadsheet formula cells escaped, like the run's own predictions.csv

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
                _log(f"supervisor {parent_pid} is gone; finishing the job anyway", level=logging.WARNING)
                return
    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


#: Modules a training run imports lazily; a warm worker imports them while it waits.
PRELOAD = ("pandas", "seqcore.data.io", "seqcore.data.schema", "seqcore.modeling.tasks.forecast", "seqcore.modeling.tasks.classify",
           "seqcore.modeling.tasks.textclass", "seqcore.modeling.models", "seqcore.modeling.training", "seqcore.outputs.bundle", "seqcore.outputs.export",
           "seqcore.outputs.tensorboard")


def _device() -> dict | None:
    """The device this worker trains on (for the app's sidebar); None if it cannot be told."""
    try:
        from seqcore.modeling.device import describe_device

        return describe_device()
    except Exception as err:  # noqa: BLE001 - a description is never worth a worker
        _log(f"device description failed: {err!r}")
        return None


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as e:  # a missing optional piece fails the job later, with a clear message
            _log(f"preload of {name} failed: {e}", level=logging.WARNING)


def _exit_now() -> None:
    """End the process at once (no interpreter shutdown, which a compile running in another thread could
    crash): used when only the prewarm's background part is left."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    os._exit(0)


def _log_ahead(store: Any, run_id: str, ahead: Ahead) -> None:
    """Say in the run's log what this worker prepared while it waited, and whether it was this run."""
    try:
        rec = store.get_run(run_id)
        hint, info = ahead.hint, dict(ahead.info)
        same = (rec.kind == "train" and hint.get("spec") == rec.spec and hint.get("dataset_id") == rec.dataset_id
                and (hint.get("test_dataset_id") or None) == (rec.test_dataset_id or None))
        store.append_log(run_id, f"prepared ahead while waiting ({'this configuration' if same else 'another one'}): "
                                 f"{info['state']} after {info.get('seconds', 0):.1f} s, stages "
                                 f"{json.dumps(info.get('stages', {}))}"
                                 + (f", left: {', '.join(info['pending'])}" if info.get("pending") else ""))
    except Exception:  # noqa: BLE001 - only a log line
        _log(f"run {run_id}: could not log what was prepared ahead", level=logging.ERROR, exc_info=True)


def _nice_level() -> int:
    try:
        return int(os.environ.get("SEQSTUDIO_WORKER_NICE", "2"))
    except ValueError:
        return 2


class Ahead:
    """One prewarm for the app's prepare hint, in a waiting worker (:func:`seqcore.pipeline.prewarm`).

    :meth:`start` does, in the calling thread, what a run needs for its first steps (data, model, the
    training step), checking ``interrupted`` between stages; the remaining shapes (last batch,
    validation, prediction) are then compiled in a background thread, which stops between stages once
    :meth:`stop` is called: a job that arrives meanwhile starts at once, beside it. ``info`` is what the
    supervisor is told: ``{"key", "state", "stages", "seconds", "reason"?}`` where state is ``running``,
    ``done``, ``interrupted`` (a message came in), ``skipped`` (a user error: bad spec or data, too
    large, dataset gone; ``reason`` says which) or ``failed`` (anything else; the traceback goes to the
    worker log). Nothing here raises.
    """

    def __init__(self, store: Any, hint: Any, report_to: Any = None):
        self.store, self.hint = store, hint if isinstance(hint, dict) else {}
        self.report_to = report_to            # callable(info) told when the background part ends
        self.info: dict = {"key": self.hint.get("key"), "state": "running"}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.perf_counter()

    def _fail(self, e: BaseException) -> None:
        if isinstance(e, UserError):
            self.info.update(state="skipped", reason=str(e))
        elif isinstance(e, MemoryError):
            self.info.update(state="skipped", reason="out of memory")
        else:
            _log("preparing ahead failed", level=logging.ERROR, exc_info=True)
            self.info.update(state="failed", reason=f"{type(e).__name__}: {e}")

    def _update(self, report) -> None:
        self.info.update({k: v for k, v in report.to_dict().items() if k != "complete"})
        self.info["seconds"] = round(time.perf_counter() - self._t0, 3)

    def start(self, interrupted=None) -> dict:
        """The first stages, here; then the rest in a background thread. Returns ``info``."""
        from seqcore import pipeline
        from seqcore.config import RunSpec

        try:
            if not self.hint:
                raise TypeError("the hint is not a dict")
            spec = RunSpec.from_dict(self.hint["spec"]).validate()
            ds = self.store.get_dataset(self.hint["dataset_id"])
            data = self.store.dataset_bytes(ds.id)
            test_id = self.hint.get("test_dataset_id")
            test_data = self.store.dataset_bytes(test_id) if test_id else None
            report = pipeline.prewarm(data, spec, csv_options=_csv_options(self.hint.get("csv_options")),
                                      test_data=test_data, name=ds.name, interrupted=interrupted, defer_rest=True)
        except Exception as e:  # noqa: BLE001 - a hint is only a head start: never let it end the worker
            self._fail(e)
            self.info["seconds"] = round(time.perf_counter() - self._t0, 3)
            return self.info
        self._update(report)
        if report.reason is not None or not report.pending:
            self.info["state"] = "done" if report.complete else (
                "interrupted" if report.reason == "interrupted" else "skipped")
            return self.info
        self._thread = threading.Thread(target=self._finish, args=(report,), name="prewarm-rest", daemon=True)
        self._thread.start()
        return self.info

    def _finish(self, report) -> None:
        try:
            report.finish(self._stop.is_set)
            self._update(report)
            self.info["state"] = "done" if report.complete else "interrupted"
            self._keep_timing(report)
        except Exception as e:  # noqa: BLE001
            self._fail(e)
        self._log()
        if self.report_to is not None:
            self.report_to(dict(self.info))

    def _keep_timing(self, report) -> None:
        """Keep the measured time per batch for the Model page (``<home>/timings.json``), unless a job
        arrived while it was measured (it would have shared the cores)."""
        if report.timing is None or self._stop.is_set():
            return
        from seqcore.modeling import timing

        t = dict(report.timing)
        timing.save(self.store.home, t.pop("key"), t)
        self.info["timing"] = {k: t[k] for k in ("train_batch", "eval_batch", "epoch_overhead") if k in t}

    def stop(self) -> None:
        """Stop the background part after its current stage (it never delays the caller)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def running(self) -> bool:
        """True while the background part still runs."""
        return self._thread is not None and self._thread.is_alive()

    def _log(self) -> None:
        i = self.info
        _log(f"prepared ahead: {i['state']} in {i.get('seconds', 0):.1f}s "
             f"{json.dumps(i.get('stages', {}))}" + (f" ({i['reason']})" if i.get("reason") else ""))


def worker_main(conn, home: str, threads: int, nice: int | None = None) -> None:
    """Entry point of a spawned worker process.

    conn: a multiprocessing Connection. The worker sends ``("ready", pid, device)`` once
    TensorFlow is imported (device: :func:`seqcore.modeling.device.describe_device`, or None), then receives ``("job", run_id)`` (run it and exit),
    ``("prepare", hint)`` (prewarm for the hint, answer ``("prewarm", info)``, keep
    waiting) or ``("exit",)``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when workers end
    store_home = Path(home)
    logs.setup(store_home, "worker")
    _redirect_output(bounded_output(store_home / WORKER_OUT))
    parent = os.getppid()
    _watch_parent(parent)
    nice = _nice_level() if nice is None else nice
    try:
        if nice > 0:
            os.nice(nice)  # a lower priority than the web server keeps pages responsive ($SEQSTUDIO_WORKER_NICE)
    except OSError:
        pass
    t0 = time.perf_counter()
    from seqcore import pipeline

    pipeline.configure_threads(threads)
    pipeline.warm_up()
    _preload()
    _log(f"warm in {time.perf_counter() - t0:.1f}s ({threads} threads)")
    conn.send(("ready", os.getpid(), _device()))
    store = RunStore(store_home)
    send_lock = threading.Lock()

    def tell(info: dict) -> None:
        with send_lock:
            try:
                conn.send(("prewarm", info))
            except (OSError, EOFError, ValueError):
                pass

    ahead: Ahead | None = None   # the last prewarm (its background part may still run)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the supervisor went away before giving us a job
        if ahead is not None:
            ahead.stop()   # whatever came in, the background part ends after its current stage
        if not msg or msg[0] != "prepare":
            break
        if ahead is not None:
            ahead.join()   # one prewarm at a time (never while a run trains: no job here yet)
        ahead = Ahead(store, msg[1] if len(msg) > 1 else None, report_to=tell)
        info = ahead.start(interrupted=conn.poll)
        if info["state"] != "running":
            ahead._log()
        tell(dict(info))
    if not msg or msg[0] != "job":
        if ahead is not None and ahead.running():
            _exit_now()
        return
    run_id = msg[1]
    _log(f"run {run_id}: starts (its output goes to {store.log_path(run_id)})")
    _redirect_output(store.log_path(run_id))
    if ahead is not None:
        _log_ahead(store, run_id, ahead)
    try:
        status = execute_job(store, run_id)
        _log(f"run {run_id}: ended {status}")
    except Exception:  # noqa: BLE001 - the store itself failed: leave a trace, the supervisor marks the run
        traceback.print_exc()
        _log(f"run {run_id}: the job could not be recorded", level=logging.ERROR, exc_info=True)
        raise
    finally:
        with send_lock:
            try:
                conn.send(("done", run_id))
            except (OSError, EOFError):
                pass
    if ahead is not None and ahead.running():
        # The job is over, so the prewarm's background compile is of no use any more: end the process now
        # rather than let it hold a core. Everything the job wrote is already in the store (SQLite commits)
        # and its files were written atomically.
        _exit_now()
