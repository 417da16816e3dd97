"""The runs engine: a job queue in the run store, and a supervisor that runs jobs in worker processes.

Pages and the CLI only *submit* (:func:`submit_run`, :func:`submit_predict`),
*stop* (:func:`request_stop`), *resume* / *rerun*, and read the store. A
:class:`Backend` makes sure someone executes the queue; the default local
backend (``SEQSTUDIO_RUNNER=local``) keeps one detached :class:`Supervisor`
process per data folder (:func:`ensure_supervisor`), which

- claims queued jobs atomically and runs each in a fresh ``spawn``-ed process
  (TensorFlow is not fork-safe; memory returns to the system when a job ends),
  ``max_workers`` training jobs at a time (1 by default) plus one prediction job;
- keeps one *warm* process that has already imported TensorFlow waiting for the
  next job, so the first loss point appears about two seconds after submitting;
- hands that warm process the app's *prepare hint* (:func:`hint_prepare`: the run the
  Train page shows) while nothing else runs, so it prepares the data and compiles that
  model before Start is pressed; a run of new shapes then starts as fast as a rerun;
- kills a job that has not stopped ``stop_grace`` seconds after a stop request;
- marks a job ``failed`` when its process dies (killed, out of memory);
- on start, marks ``interrupted`` the runs whose worker is gone, and adopts
  the ones whose worker is still alive.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcore.config import RunSpec
from seqcore.errors import SpecError, UserError
from seqcore.runs.procs import (
    Daemon,
    install_stop_handlers,
    lock_is_ours,
    log_line,
    pid_alive,
    release_lock,
    resolve_home,
    try_lock,
)
from seqcore.runs.store import (
    FINAL_STATUSES,
    RESUMABLE_STATUSES,
    RunRecord,
    RunStore,
    atomic_write_text,
)

STOP_GRACE_S = 30.0
WARM_RESPAWN_DELAY_S = 3.0   # after a hand-off, wait this long before starting the next warm worker
LOCK_NAME = "supervisor.lock"
STATUS_NAME = "supervisor.json"
START_LOCK_NAME = "supervisor.start.lock"
SUPERVISOR_LOG = "supervisor.log"
HINT_NAME = "prepare_hint.json"
PREWARM_ENV = "SEQSTUDIO_PREWARM"   # "off" (or 0/no/false): no prepare hints, no compiling ahead
HINT_SETTLE_S = 0.5      # a hint is handed out once it is this old (quick successive edits: only the last)
HINT_TTL_S = 1800.0      # older hints are ignored (nobody is looking at that configuration any more)
HINT_REFRESH_S = 300.0   # the app rewrites an unchanged hint at most this often (keeps it from expiring)

CRASHED_MESSAGE = ("The training process stopped unexpectedly (it may have run out of memory). "
                   "Try a smaller batch size, window or model, then resume or rerun the run.")
PREDICT_CRASHED_MESSAGE = ("The prediction process stopped unexpectedly (it may have run out of memory). "
                           "Try a smaller file, then run the prediction again.")
INTERRUPTED_MESSAGE = ("The worker stopped while this run was training (the app or the computer was restarted). "
                       "Resume it to continue from its last checkpoint, or rerun it.")
SHUTDOWN_MESSAGE = ("The worker was shut down while this run was training. "
                    "Resume it to continue from its last checkpoint, or rerun it.")


def _stop_timeout_message(grace: float) -> str:
    return (f"The run did not stop within {grace:g} seconds after Stop was pressed, so it was ended by force; "
            "no model was saved. Resume it to continue from its last checkpoint, or rerun it.")


def cpu_cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _store(store: RunStore | Path | str | None) -> RunStore:
    return store if isinstance(store, RunStore) else RunStore(store)


def _as_dict(obj: Any) -> dict | None:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"expected a dict or an object with to_dict(), got {type(obj).__name__}")


# --------------------------------------------------------------------------- submitting

def submit_run(store: RunStore, spec: RunSpec | dict, dataset_id: str, *, test_dataset_id: str | None = None,
               csv_options: Any = None, name: str | None = None, tags: dict | None = None,
               sweep_id: str | None = None, start: bool = True) -> str:
    """Validate ``spec`` and queue a training run; returns its id.

    Raises :class:`SpecError` (nothing is queued) for a bad spec and
    :class:`~seqcore.runs.store.DatasetNotFound` for an unknown dataset. ``csv_options``
    is a ``CsvOptions`` (or its dict). ``start``: make sure a worker will pick it up
    (the configured backend's :meth:`Backend.ensure_started`).
    """
    if isinstance(spec, dict):
        spec = RunSpec.from_dict(spec)
    if not isinstance(spec, RunSpec):
        raise TypeError("spec must be a RunSpec")
    spec.validate()
    ds = store.get_dataset(dataset_id)
    if test_dataset_id is not None:
        store.get_dataset(test_dataset_id)
    if not name:
        units = "-".join(str(u) for u in spec.model.units)
        name = f"{spec.model.cell.upper()} {units} · {ds.name}"
    run_id = store.create_run(spec=spec.to_dict(), dataset_id=dataset_id, task=spec.data.task,
                              test_dataset_id=test_dataset_id, csv_options=_as_dict(csv_options), name=name,
                              tags=tags, sweep_id=sweep_id)
    if start:
        get_backend().ensure_started(store.home)
    return run_id


def submit_predict(store: RunStore, source_run_id: str, dataset_id: str, csv_options: Any = None, *,
                   start: bool = True) -> str:
    """Queue a prediction job: a worker loads the bundle of ``source_run_id`` and writes
    ``predictions.csv`` into the job's folder (``store.artifacts(job_id)['predictions']``).
    The server never loads a model itself. Returns the job id.
    """
    src = store.get_run(source_run_id)
    if src.kind != "train":
        raise UserError(f"{source_run_id!r} is a prediction job, not a training run.",
                        hint="Pick a finished training run.")
    if not (store.run_dir(src.id) / "bundle" / "spec.json").exists():
        raise UserError(f"Run {src.name!r} has no saved model yet (status: {src.status}).",
                        hint="Pick a finished or stopped run.")
    ds = store.get_dataset(dataset_id)
    job_id = store.create_run(spec={"source_run_id": src.id}, dataset_id=dataset_id, kind="predict", task=src.task,
                              csv_options=_as_dict(csv_options), source_run_id=src.id,
                              name=f"predict {ds.name} with {src.name}")
    if start:
        get_backend().ensure_started(store.home)
    return job_id


def request_stop(store: RunStore, run_id: str) -> str:
    """Ask a run to stop after its current batch (keeping its best weights and saving the bundle).

    A queued run is stopped at once and never starts. Returns the status after the request.
    """
    return store.request_stop(run_id)


def resume_run(store: RunStore, run_id: str, *, start: bool = True) -> str:
    """Re-queue an interrupted, failed or stopped run; it continues from its last checkpoint
    when there is one (epoch numbering continues), else trains from scratch. Returns ``run_id``."""
    rec = store.get_run(run_id)
    if rec.kind != "train":
        raise UserError("Only training runs can be resumed.", hint="Run the prediction again instead.")
    if rec.status not in RESUMABLE_STATUSES:
        raise UserError(f"Run {rec.name!r} is {rec.status}; only an interrupted, failed or stopped run can be "
                        "resumed.", hint="Use rerun to train it again from the start.")
    store.get_dataset(rec.dataset_id)
    if rec.test_dataset_id:
        store.get_dataset(rec.test_dataset_id)
    store.requeue(run_id, resume=True)
    store.append_log(run_id, "resume requested")
    if start:
        get_backend().ensure_started(store.home)
    return run_id


def rerun(store: RunStore, run_id: str, *, start: bool = True) -> str:
    """Queue a new run with the same spec, data and CSV options. Returns the new run's id."""
    rec = store.get_run(run_id)
    if rec.kind != "train":
        raise UserError("Only training runs can be rerun.")
    base = rec.name[:-8] if rec.name.endswith(" (rerun)") else rec.name
    return submit_run(store, RunSpec.from_dict(rec.spec), rec.dataset_id, test_dataset_id=rec.test_dataset_id,
                      csv_options=rec.csv_options, name=f"{base} (rerun)", tags=rec.tags, sweep_id=rec.sweep_id,
                      start=start)


def wait_run(store: RunStore, run_id: str, *, timeout: float | None = None, poll: float = 0.2,
             statuses: Iterable[str] = FINAL_STATUSES) -> RunRecord:
    """Block until the run reaches one of ``statuses`` (default: any final one); TimeoutError after ``timeout``."""
    statuses = tuple(statuses)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        rec = store.get_run(run_id)
        if rec.status in statuses:
            return rec
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {rec.status} after {timeout} s")
        time.sleep(poll)


# --------------------------------------------------------------------------- prepare hints

def prewarm_enabled() -> bool:
    """False when ``$SEQSTUDIO_PREWARM`` is off/0/no/false (on by default)."""
    return os.environ.get(PREWARM_ENV, "on").strip().lower() not in ("off", "0", "no", "false")


def hint_key(spec: dict, dataset_id: str, test_dataset_id: str | None, csv_options: dict | None) -> str:
    """Identifies one hinted configuration (the same inputs give the same key)."""
    text = json.dumps({"spec": spec, "dataset_id": dataset_id, "test_dataset_id": test_dataset_id or None,
                       "csv_options": csv_options or {}}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def hint_prepare(store: RunStore, spec: RunSpec | dict, dataset_id: str, *, test_dataset_id: str | None = None,
                 csv_options: Any = None, start: bool = False) -> bool:
    """Tell the local worker which run is probably next, so it prepares and compiles it ahead.

    The app calls this when the Train page shows a runnable configuration (and as the Model page edits
    it). It writes ``<home>/prepare_hint.json`` (atomically, a few hundred bytes); the supervisor hands it
    to its warm worker (:func:`seqcore.runs.worker.prepare_ahead`) once it has settled and while no job runs or
    waits. Pass exactly what :func:`submit_run` will get. Cheap and never blocks: nothing is validated
    beyond the spec (the worker checks the data and the size itself, and ignores a hint it cannot use).
    ``start``: also start the local supervisor, in a background thread, when none is alive, so the
    worker is warm by the time Start is pressed. Returns True when a new hint was written; False when
    the same hint is already there (rewritten only every :data:`HINT_REFRESH_S`), hints are off
    (``$SEQSTUDIO_PREWARM``) or the runner is not local. Raises :class:`SpecError` for an invalid spec.
    """
    if isinstance(spec, dict):
        spec = RunSpec.from_dict(spec)
    spec.validate()
    if not prewarm_enabled():
        return False
    backend = get_backend()
    if backend.name != "local":
        return False
    spec_d = json.loads(json.dumps(spec.to_dict()))          # as the store keeps it (lists, not tuples)
    options = json.loads(json.dumps(_as_dict(csv_options) or {}, default=str))
    key = hint_key(spec_d, dataset_id, test_dataset_id, options)
    home = store.home
    path = Path(home) / HINT_NAME
    written = False
    old = read_prepare_hint(home)
    if old is None or old.get("key") != key or time.time() - float(old.get("time", 0)) > HINT_REFRESH_S:
        hint = {"version": 1, "key": key, "spec": spec_d, "dataset_id": dataset_id,
                "test_dataset_id": test_dataset_id or None, "csv_options": options, "time": time.time()}
        atomic_write_text(path, json.dumps(hint, indent=1))
        written = True
    if start and supervisor_pid(home) is None:
        def _start() -> None:
            try:
                backend.ensure_started(home)
            except Exception as err:  # noqa: BLE001 - a head start only; Start reports real problems
                print(f"seqstudio: could not start the worker ahead: {err}", file=sys.stderr, flush=True)

        threading.Thread(target=_start, name="seqstudio-start-worker", daemon=True).start()
    return written


def read_prepare_hint(home: Path | str | None = None) -> dict | None:
    """The current prepare hint of ``home`` (a dict with key, spec, dataset_id, test_dataset_id,
    csv_options, time), or None when there is none or it cannot be read."""
    try:
        hint = json.loads((resolve_home(home) / HINT_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(hint, dict) or not isinstance(hint.get("key"), str) or not isinstance(hint.get("spec"), dict) \
            or not isinstance(hint.get("dataset_id"), str) or not isinstance(hint.get("time"), (int, float)):
        return None
    return hint


# --------------------------------------------------------------------------- process liveness

def process_create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):
        return None


def mark_orphans(store: RunStore) -> list[str]:
    """Mark ``interrupted`` every running job whose worker process is gone. Returns their ids."""
    done = []
    for rec in store.running_jobs():
        if not pid_alive(rec.worker_pid, rec.worker_started):
            if store.finish_run(rec.id, "interrupted", error=INTERRUPTED_MESSAGE):
                store.append_log(rec.id, f"worker pid {rec.worker_pid} is gone: marked interrupted")
                done.append(rec.id)
    return done


def recover_orphans(store: RunStore) -> list[str]:
    """When no supervisor serves ``store``, mark ``interrupted`` the running jobs whose worker is gone.

    Called by the app on every page (cheap: one lock probe and one query), so that after the whole
    app was killed and restarted no run is left showing ``running`` until someone starts a new one.
    While a supervisor is alive it does this itself (and tells a crash, ``failed``, from a restart).
    Returns the ids marked.
    """
    if supervisor_pid(store.home) is not None:
        return []
    if not store.running_jobs():
        return []
    return mark_orphans(store)


# --------------------------------------------------------------------------- the supervisor process

#: The supervisor of a data folder, whichever backend runs it (see :mod:`seqcore.runs.procs`).
SUPERVISOR = Daemon("background worker", LOCK_NAME, STATUS_NAME, START_LOCK_NAME, SUPERVISOR_LOG,
                    reaper="reap-supervisor")


def supervisor_pid(home: Path | str | None = None) -> int | None:
    """The pid of the supervisor serving ``home``, or None when none is alive.

    The truth is an exclusive ``flock`` the supervisor holds on ``<home>/supervisor.lock``
    for its whole life (released by the kernel when it dies, whatever the cause); -1 while it
    is held but the supervisor has not written its pid yet.
    """
    return SUPERVISOR.pid(resolve_home(home))


def supervisor_status(home: Path | str | None = None) -> dict:
    """What the app shows about the local workers: alive, pid, max_workers, threads, warm state, jobs."""
    home = resolve_home(home)
    pid = supervisor_pid(home)
    info: dict = {}
    if pid is not None:
        try:
            info = json.loads((home / STATUS_NAME).read_text())
        except (OSError, ValueError):
            info = {}
    info.update({"alive": pid is not None, "pid": pid, "home": str(home), "cores": cpu_cores()})
    if pid is None:
        info.update({"warm": None, "jobs": {}})
    return info


def ensure_supervisor(home: Path | str | None = None, *, max_workers: int | None = None,
                      warm: bool = True, stop_grace: float | None = None, idle_exit: float | None = None,
                      timeout: float = 30.0) -> int:
    """Start a detached supervisor for ``home`` unless one is alive; returns its pid.

    Runs ``python -m seqcore.cli.runs worker --home HOME`` in a new session (it
    outlives the caller, e.g. a Streamlit server). A lock file makes concurrent
    callers wait for each other, so only one supervisor is ever started.
    ``max_workers`` defaults to ``$SEQSTUDIO_MAX_WORKERS`` or 1; ``idle_exit`` (seconds
    with nothing to do before the supervisor exits) to ``$SEQSTUDIO_WORKER_IDLE_EXIT`` or
    never. Test suites set that variable so no supervisor outlives them for long.
    """
    home = resolve_home(home)
    if idle_exit is None and os.environ.get("SEQSTUDIO_WORKER_IDLE_EXIT", "").strip():
        try:
            idle_exit = float(os.environ["SEQSTUDIO_WORKER_IDLE_EXIT"])
        except ValueError:
            idle_exit = None

    def command() -> list[str]:
        cmd = [sys.executable, "-m", get_backend().worker_module, "worker", "--home", str(home)]
        if max_workers is not None:
            cmd += ["--max-workers", str(int(max_workers))]
        if not warm:
            cmd.append("--no-warm")
        if stop_grace is not None:
            cmd += ["--stop-grace", str(float(stop_grace))]
        if idle_exit is not None:
            cmd += ["--idle-exit", str(float(idle_exit))]
        return cmd

    return SUPERVISOR.start(home, command, timeout=timeout)


def stop_supervisor(home: Path | str | None = None, *, timeout: float = 20.0) -> bool:
    """Ask the supervisor of ``home`` to shut down (SIGTERM). Its running jobs end ``interrupted``.
    Returns True when none is alive afterwards."""
    return SUPERVISOR.stop(resolve_home(home), timeout=timeout)


class SupervisorBase(ABC):
    """What every supervisor (the local :class:`Supervisor`, the Ray backend's ``RaySupervisor``) shares:
    the supervisor lock of its data folder (one executor per folder, whatever the backend), the serve
    loop, recovery of the runs left running, the status file and the log.

    A subclass is a dataclass with the fields ``home`` (a resolved Path), ``idle_exit``, ``poll_interval``,
    ``_stopping`` (a threading.Event), ``_lock_fd`` (None) and ``_status_cache`` (""), and implements the
    abstract hooks the loop calls.
    """

    log_name = "supervisor"           # how its log lines name it

    # ---- public
    def stop(self) -> None:
        """Ask :meth:`run_forever` to return (from another thread or a signal handler)."""
        self._stopping.set()

    def run_forever(self) -> None:
        """Serve the queue until :meth:`stop`, SIGTERM/SIGINT or ``idle_exit``.

        Raises :class:`UserError` when another supervisor already serves this home.
        On the way out, jobs still running are ended and marked ``interrupted``.
        """
        self.store = RunStore(self.home)
        self._acquire_lock()
        install_stop_handlers(self.stop)
        try:
            self._start()
            idle_since = last_check = time.monotonic()
            while not self._stopping.is_set():
                if time.monotonic() - last_check > 2.0:
                    last_check = time.monotonic()
                    if not self._lock_is_ours():
                        self._log(f"{self.home / LOCK_NAME} was removed (data folder deleted?): exiting")
                        break
                    self._every_few_seconds()
                self._tick()
                if self._busy():
                    idle_since = time.monotonic()
                elif self.idle_exit is not None and time.monotonic() - idle_since >= self.idle_exit:
                    self._log(f"idle for {self.idle_exit:g} s: exiting")
                    break
                self._write_status()
                self._stopping.wait(self.poll_interval)
        finally:
            self._shutdown()

    # ---- hooks of the loop
    @abstractmethod
    def _start(self) -> None:
        """Once the lock is held: write the first status, :meth:`_recover`, connect to what runs jobs."""

    def _every_few_seconds(self) -> None:
        """Called every 2 s or so (nothing by default)."""

    @abstractmethod
    def _tick(self) -> None:
        """One pass over the queue: collect ended jobs, enforce stops, start queued jobs."""

    @abstractmethod
    def _busy(self) -> bool:
        """True while something runs or waits (it keeps ``idle_exit`` from counting)."""

    @abstractmethod
    def _write_status(self, *, force: bool = False, alive: bool = True) -> None:
        """Publish the state for the app (:meth:`_publish_status`)."""

    @abstractmethod
    def _shutdown(self) -> None:
        """End the running jobs (marked ``interrupted``), then :meth:`_release`."""

    @abstractmethod
    def _adopt(self, rec: RunRecord) -> None:
        """Watch a job left running by an earlier executor whose worker process still lives."""

    # ---- lock, recovery, status, log
    def _acquire_lock(self) -> None:
        fd = try_lock(self.home / LOCK_NAME)
        if fd is None:
            raise UserError(f"A worker supervisor (pid {supervisor_pid(self.home)}) already serves {self.home}.",
                            hint="Only one runs per data folder; stop it first or use another SEQSTUDIO_HOME.")
        self._lock_fd = fd

    def _lock_is_ours(self) -> bool:
        """False when the lock file was deleted or replaced (e.g. the data folder was removed)."""
        return lock_is_ours(self.home / LOCK_NAME, self._lock_fd)

    def _release(self) -> None:
        """The end of :meth:`_shutdown`: give the lock back."""
        if self._lock_fd is not None:
            release_lock(self._lock_fd)
            self._lock_fd = None
        self._log("supervisor stopped")

    def _recover(self) -> None:
        """Runs marked running: adopt those whose worker lives, mark the others interrupted."""
        for rec in self.store.running_jobs():
            if pid_alive(rec.worker_pid, rec.worker_started):
                self._adopt(rec)
        for run_id in mark_orphans(self.store):
            self._log(f"run {run_id}: worker gone, marked interrupted")

    def _publish_status(self, state: dict, *, force: bool = False) -> None:
        """Write ``state`` (plus ``updated``) to ``<home>/supervisor.json`` when it changed or ``force``."""
        text = json.dumps(state, sort_keys=True, default=str)
        if force or text != self._status_cache:
            self._status_cache = text
            try:
                atomic_write_text(self.home / STATUS_NAME,
                                  json.dumps(state | {"updated": time.time()}, indent=1, default=str))
            except OSError as e:
                self._log(f"cannot write {STATUS_NAME}: {e}")

    def _log(self, msg: str) -> None:
        log_line(self.log_name, msg)


@dataclass
class _Proc:
    """A spawned worker process and our end of its pipe."""

    process: Any                      # multiprocessing.Process
    conn: Any                         # multiprocessing Connection
    create_time: float | None
    ready: bool = False
    run_id: str | None = None
    kind: str | None = None
    killed_for_stop: bool = False
    hinted: str | None = None         # key of the prepare hint handed to it
    prewarm: dict | None = None       # its last answer about that hint (state, stages, seconds)

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class _Adopted:
    """A job whose worker outlived an earlier supervisor: watched by pid."""

    pid: int
    create_time: float | None
    kind: str
    killed_for_stop: bool = False


@dataclass
class Supervisor(SupervisorBase):
    """Runs queued jobs of the store at ``home`` in worker processes until told to stop.

    max_workers: training jobs at once (prediction jobs have one more slot of their own).
    warm: keep one process with TensorFlow imported waiting for the next job.
    stop_grace: seconds a job may take to stop after a stop request before it is killed.
    idle_exit: exit after this many seconds with nothing running or queued (None: never).
    """

    home: Path | str | None = None
    max_workers: int = 1
    warm: bool = True
    stop_grace: float = STOP_GRACE_S
    idle_exit: float | None = None
    poll_interval: float = 0.1
    threads: int | None = None        # per worker; default max(1, cores // max_workers)
    _jobs: dict = field(default_factory=dict, init=False, repr=False)
    _adopted: dict = field(default_factory=dict, init=False, repr=False)
    _warm: _Proc | None = field(default=None, init=False, repr=False)
    _warm_failures: int = field(default=0, init=False, repr=False)
    _warm_after: float = field(default=0.0, init=False, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _lock_fd: int | None = field(default=None, init=False, repr=False)
    _status_cache: str = field(default="", init=False, repr=False)
    _hint_stat: tuple | None = field(default=None, init=False, repr=False)
    _hint: dict | None = field(default=None, init=False, repr=False)
    _hint_floor: float = field(default=0.0, init=False, repr=False)   # hints older than the last claim are spent

    def __post_init__(self) -> None:
        self.home = resolve_home(self.home)
        self.max_workers = max(1, int(self.max_workers))
        if self.threads is None:
            self.threads = max(1, cpu_cores() // self.max_workers)
        self._ctx = multiprocessing.get_context("spawn")

    # ---- start / stop (the loop itself: SupervisorBase.run_forever)
    def _start(self) -> None:
        self._write_status(force=True)
        self._recover()

    def _busy(self) -> bool:
        return bool(self._jobs or self._adopted or self.store.queued_count())

    def _adopt(self, rec: RunRecord) -> None:
        self._adopted[rec.id] = _Adopted(rec.worker_pid, rec.worker_started, rec.kind)
        self._log(f"adopted run {rec.id} (worker pid {rec.worker_pid})")

    def _shutdown(self) -> None:
        for run_id, p in list(self._jobs.items()):
            p.process.kill()
            p.process.join(5)
            if self.store.finish_run(run_id, "interrupted", error=SHUTDOWN_MESSAGE):
                self.store.append_log(run_id, "supervisor shut down: worker killed, run marked interrupted")
        self._jobs.clear()
        if self._warm is not None:
            self._retire(self._warm)
            self._warm = None
        self._write_status(force=True, alive=False)
        self._release()

    # ---- the loop
    def _tick(self) -> None:
        self._reap()
        self._enforce_stop_grace()
        self._watch_adopted()
        self._claim()
        self._keep_warm()
        self._offer_hint()

    def _reap(self) -> None:
        if self._warm is not None:
            self._poll_ready(self._warm)
            if not self._warm.process.is_alive():
                self._warm.process.join()
                code = self._warm.process.exitcode
                self._warm_failures += 1
                self._log(f"warm worker {self._warm.pid} exited (code {code}) before getting a job "
                          f"({self._warm_failures} time(s)); see worker.log")
                self._warm = None
        for run_id, p in list(self._jobs.items()):
            if p.process.is_alive():
                continue
            p.process.join()
            del self._jobs[run_id]
            message = CRASHED_MESSAGE if p.kind == "train" else PREDICT_CRASHED_MESSAGE
            if self.store.finish_run(run_id, "failed", error=message):
                self.store.append_log(run_id, f"worker pid {p.pid} ended with exit code {p.process.exitcode} "
                                              "while the run was still running: marked failed")
                self._log(f"run {run_id}: worker died (exit code {p.process.exitcode}), marked failed")

    def _enforce_stop_grace(self) -> None:
        now = time.time()
        for run_id, asked_at in self.store.stop_requests():
            if now - asked_at < self.stop_grace:
                continue
            job = self._jobs.get(run_id) or self._adopted.get(run_id)
            if job is None or job.killed_for_stop:
                continue
            job.killed_for_stop = True
            if isinstance(job, _Proc):
                job.process.kill()
                pid = job.pid
            else:
                pid = job.pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self.store.finish_run(run_id, "failed", error=_stop_timeout_message(self.stop_grace)):
                self.store.append_log(run_id, f"did not stop within {self.stop_grace:g} s of the stop request: "
                                              f"worker pid {pid} killed")
                self._log(f"run {run_id}: killed after the stop grace period")

    def _watch_adopted(self) -> None:
        for run_id, a in list(self._adopted.items()):
            if pid_alive(a.pid, a.create_time):
                continue
            del self._adopted[run_id]
            message = CRASHED_MESSAGE if a.kind == "train" else PREDICT_CRASHED_MESSAGE
            if self.store.finish_run(run_id, "failed", error=message):
                self.store.append_log(run_id, f"adopted worker pid {a.pid} vanished while running: marked failed")

    def _free_slots(self, kind: str) -> int:
        used = sum(1 for p in self._jobs.values() if p.kind == kind)
        used += sum(1 for a in self._adopted.values() if a.kind == kind)
        return (self.max_workers if kind == "train" else 1) - used

    def _claim(self) -> None:
        for kind in ("predict", "train"):
            while self._free_slots(kind) > 0 and self.store.queued_count(kind) > 0:
                proc = self._take_process()
                rec = self.store.claim_next_job(kinds=[kind], worker_pid=proc.pid, worker_started=proc.create_time)
                if rec is None:
                    self._keep_or_retire(proc)
                    break
                try:
                    proc.conn.send(("job", rec.id))
                except (OSError, EOFError, ValueError):
                    self.store.release_claim(rec.id)
                    self._retire(proc)
                    continue
                proc.run_id, proc.kind = rec.id, kind
                self._jobs[rec.id] = proc
                if kind == "train":
                    self._hint_floor = time.time()   # the hint was for this run, or overtaken by it
                # let the job's first steps have the cores before a new warm worker imports TensorFlow
                self._warm_after = time.monotonic() + WARM_RESPAWN_DELAY_S
                self._log(f"run {rec.id} ({kind}) -> worker pid {proc.pid} ({'warm' if proc.ready else 'starting'})")

    def _keep_warm(self) -> None:
        if (self.warm and self._warm is None and not self._stopping.is_set() and self._warm_failures < 3
                and (time.monotonic() >= self._warm_after or self.store.queued_count() > 0)):
            self._warm = self._spawn()

    def _read_hint(self) -> dict | None:
        """The prepare hint file, re-read only when it changed."""
        try:
            st = os.stat(self.home / HINT_NAME)
        except OSError:
            self._hint_stat, self._hint = None, None
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._hint_stat:
            self._hint_stat, self._hint = stamp, read_prepare_hint(self.home)
        return self._hint

    def _offer_hint(self) -> None:
        """Hand the warm worker the app's prepare hint: once per worker and hint, only while no job runs
        or waits (a prewarm must never take cores from a run), only a settled, recent hint, and only one
        written after the last training run was claimed (that run was what the hint announced)."""
        w = self._warm
        if w is None or not self.warm or self._jobs or self._adopted or not prewarm_enabled():
            return
        self._poll_ready(w)
        if not w.ready:
            return
        hint = self._read_hint()
        if hint is None or hint["key"] == w.hinted:
            return
        age = time.time() - float(hint["time"])
        if (age < HINT_SETTLE_S or age > HINT_TTL_S or float(hint["time"]) <= self._hint_floor
                or self.store.queued_count() > 0):
            return
        try:
            w.conn.send(("prepare", hint))
        except (OSError, EOFError, ValueError):
            return
        w.hinted = hint["key"]
        w.prewarm = {"key": hint["key"], "state": "running"}
        self._log(f"warm worker {w.pid}: preparing hinted configuration {hint['key']}")

    # ---- worker processes
    def _spawn(self) -> _Proc:
        from seqcore.runs.worker import worker_main

        parent_conn, child_conn = self._ctx.Pipe()
        process = self._ctx.Process(target=worker_main, args=(child_conn, str(self.home), self.threads),
                                    name="seqstudio-worker", daemon=False)
        process.start()
        child_conn.close()
        return _Proc(process=process, conn=parent_conn, create_time=process_create_time(process.pid))

    def _take_process(self) -> _Proc:
        if self._warm is not None and self._warm.process.is_alive():
            proc, self._warm = self._warm, None
            self._poll_ready(proc)
            return proc
        return self._spawn()

    def _keep_or_retire(self, proc: _Proc) -> None:
        if self._warm is None and self.warm:
            self._warm = proc
        else:
            self._retire(proc)

    def _poll_ready(self, proc: _Proc) -> None:
        """Read what a waiting worker said: ``("ready", pid)``, then ``("prewarm", info)`` per hint."""
        try:
            while proc.conn.poll():
                msg = proc.conn.recv()
                if not msg:
                    continue
                if msg[0] == "ready":
                    proc.ready = True
                    self._warm_failures = 0
                elif msg[0] == "prewarm" and len(msg) > 1 and isinstance(msg[1], dict):
                    proc.prewarm = msg[1]
        except (OSError, EOFError):
            pass

    @staticmethod
    def _retire(proc: _Proc) -> None:
        try:
            proc.conn.send(("exit",))
        except (OSError, EOFError, ValueError):
            pass
        proc.process.join(2)
        if proc.process.is_alive():
            proc.process.kill()
            proc.process.join(2)
        proc.conn.close()

    # ---- status for the app
    def _write_status(self, *, force: bool = False, alive: bool = True) -> None:
        if self._warm is not None:
            self._poll_ready(self._warm)
        warm = "off" if not self.warm else (None if self._warm is None else ("ready" if self._warm.ready else "starting"))
        state = {
            "pid": os.getpid() if alive else None,
            "backend": "local",
            "max_workers": self.max_workers,
            "threads": self.threads,
            "warm": warm,
            "jobs": {rid: p.pid for rid, p in self._jobs.items()} | {rid: a.pid for rid, a in self._adopted.items()},
            "stop_grace": self.stop_grace,
            "prewarm": None if self._warm is None else self._warm.prewarm,
        }
        self._publish_status(state, force=force)


# --------------------------------------------------------------------------- backends

class Backend(ABC):
    """Executes the jobs queued in a run store. Chosen by ``$SEQSTUDIO_RUNNER`` (default ``local``).

    Submitting, stopping (the store's stop flag), resuming and reading history are
    the same for every backend; a backend only decides *where* queued jobs run.
    """

    name: str = ""
    worker_module: str = "seqcore.cli.runs"   # ``python -m <this> worker --home H`` serves the queue

    @abstractmethod
    def ensure_started(self, home: Path | str | None = None) -> None:
        """Make sure queued jobs of the store at ``home`` will be picked up."""

    @abstractmethod
    def describe(self, home: Path | str | None = None) -> dict:
        """What the app shows: backend name, whether it is up, its workers / resources."""


class LocalBackend(Backend):
    """Worker processes on this machine, managed by one detached :class:`Supervisor` per data folder."""

    name = "local"

    def ensure_started(self, home: Path | str | None = None) -> None:
        ensure_supervisor(home)

    def describe(self, home: Path | str | None = None) -> dict:
        return {"backend": self.name} | supervisor_status(home)


BACKENDS: dict[str, type[Backend]] = {"local": LocalBackend}


def queue_status(store: RunStore) -> dict:
    """For the Home page: the backend's description plus how many jobs wait and which run.

    Keys: backend, alive, pid, warm ("ready" | "starting" | "off" | None), max_workers, threads,
    cores, home, jobs ({run id: worker pid}), queued (int), running (list of run ids).
    """
    info = get_backend().describe(store.home)
    info["queued"] = store.queued_count()
    info["running"] = [r.id for r in store.running_jobs()]
    return info


def get_backend(name: str | None = None) -> Backend:
    """The backend named by ``name`` or ``$SEQSTUDIO_RUNNER`` (default ``local``)."""
    name = (name or os.environ.get("SEQSTUDIO_RUNNER") or "local").strip().lower()
    if name == "ray":  # optional (requirements-ray.txt): imported only when chosen
        from seqcore.runs.ray_backend import RayBackend

        return RayBackend()
    if name not in BACKENDS:
        raise SpecError(f"SEQSTUDIO_RUNNER={name!r} is not a runner this version has; "
                        f"choose one of: {', '.join(sorted([*BACKENDS, 'ray']))}.",
                        hint="Unset SEQSTUDIO_RUNNER to use the local worker processes.")
    return BACKENDS[name]()


def backend_status(home: Path | str | None = None) -> dict:
    """Which backend executes runs and what it has, for the app: ``backend`` ("local" | "ray"), ``alive``,
    ``max_workers`` (runs at once), ``jobs``; the Ray backend adds ``ray`` (address, nodes, cluster and
    free resources, CPUs/GPUs per run, ``slots``). Never raises: a bad ``SEQSTUDIO_RUNNER`` or a missing
    Ray comes back as ``{"backend": name, "alive": False, "error": message}``."""
    try:
        return get_backend().describe(home)
    except UserError as err:
        return {"backend": (os.environ.get("SEQSTUDIO_RUNNER") or "local").strip().lower(), "alive": False,
                "error": str(err)}
