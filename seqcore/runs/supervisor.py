"""The supervisor of a data folder: the one detached process that executes its queue, whatever the backend.

- :data:`SUPERVISOR` (a :class:`~seqcore.runs.procs.Daemon`): at most one supervisor serves a data folder;
  it holds ``<home>/supervisor.lock`` for its whole life and writes ``<home>/supervisor.json`` (its status,
  for the app). :func:`ensure_supervisor` starts one (``python -m <backend's worker_module> worker``),
  :func:`stop_supervisor` ends it, :func:`supervisor_pid` / :func:`supervisor_status` read it.
- :class:`SupervisorBase`: the serve loop, the lock, recovery of runs left running, the status file and the
  log, shared by the local :class:`~seqcore.runs.backends.local.Supervisor` and the Ray backend's
  :class:`~seqcore.runs.backends.ray.supervisor.RaySupervisor`.
- Where it writes: log lines go to ``<home>/logs/supervisor.log`` (rotating, :mod:`seqcore.logs`); the raw
  stdout/stderr of the detached process (what the code does not log itself, e.g. a native crash) to
  ``<home>/logs/supervisor.out``, moved aside at a start once it is over :data:`seqcore.logs.MAX_BYTES`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path

from seqcore import logs
from seqcore.errors import UserError
from seqcore.runs.backends import get_backend
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
from seqcore.runs.store import RunRecord, RunStore, atomic_write_text

STOP_GRACE_S = 30.0
LOCK_NAME = "supervisor.lock"
STATUS_NAME = "supervisor.json"
START_LOCK_NAME = "supervisor.start.lock"
SUPERVISOR_OUT = f"{logs.LOG_DIR}/supervisor.out"   # the detached process's raw stdout/stderr
SUPERVISOR_LOG = SUPERVISOR_OUT                     # (its name before the log files moved to logs/)

CRASHED_MESSAGE = ("The training process stopped unexpectedly (it may have run out of memory). "
                   "Try a smaller batch size, window or model, then resume or rerun the run.")
PREDICT_CRASHED_MESSAGE = ("The prediction process stopped unexpectedly (it may have run out of memory). "
                           "Try a smaller file, then run the prediction again.")
INTERRUPTED_MESSAGE = ("The worker stopped while this run was training (the app or the computer was restarted). "
                       "Resume it to continue from its last checkpoint, or rerun it.")
SHUTDOWN_MESSAGE = ("The worker was shut down while this run was training. "
                    "Resume it to continue from its last checkpoint, or rerun it.")


def cpu_cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def process_create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):
        return None


# --------------------------------------------------------------------------- runs left running

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


# --------------------------------------------------------------------------- the detached process

#: The supervisor of a data folder, whichever backend runs it (see :mod:`seqcore.runs.procs`).
SUPERVISOR = Daemon("background worker", LOCK_NAME, STATUS_NAME, START_LOCK_NAME, SUPERVISOR_OUT,
                    reaper="reap-supervisor", component="supervisor")


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

    Runs ``python -m seqcore.cli.runs worker --home HOME`` (the configured backend's
    ``worker_module``) in a new session (it outlives the caller, e.g. a Streamlit server).
    A lock file makes concurrent callers wait for each other, so only one supervisor is
    ever started. ``max_workers`` defaults to ``$SEQSTUDIO_MAX_WORKERS`` or 1; ``idle_exit``
    (seconds with nothing to do before the supervisor exits) to ``$SEQSTUDIO_WORKER_IDLE_EXIT``
    or never. Test suites set that variable so no supervisor outlives them for long.
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


# --------------------------------------------------------------------------- what every supervisor shares

class SupervisorBase(ABC):
    """What every supervisor (the local :class:`~seqcore.runs.backends.local.Supervisor`, the Ray backend's
    ``RaySupervisor``) shares: the supervisor lock of its data folder (one executor per folder, whatever the
    backend), the serve loop, recovery of the runs left running, the status file and the log.

    A subclass is a dataclass with the fields ``home`` (a resolved Path), ``idle_exit``, ``poll_interval``,
    ``_stopping`` (a threading.Event), ``_lock_fd`` (None) and ``_status_cache`` (""), and implements the
    abstract hooks the loop calls.
    """

    log_name = "supervisor"           # how its log lines name it
    log_component = "supervisor"      # its log file: <home>/logs/supervisor.log

    # ---- public
    def stop(self) -> None:
        """Ask :meth:`run_forever` to return (from another thread or a signal handler)."""
        self._stopping.set()

    def run_forever(self) -> None:
        """Serve the queue until :meth:`stop`, SIGTERM/SIGINT or ``idle_exit``.

        Raises :class:`UserError` when another supervisor already serves this home.
        On the way out, jobs still running are ended and marked ``interrupted``.
        """
        logs.setup(self.home, self.log_component)
        self.store = RunStore(self.home)
        self._acquire_lock()
        install_stop_handlers(self.stop)
        self._log(f"serving {self.home}")
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
            other = supervisor_pid(self.home)
            self._log(f"not started: supervisor pid {other} already serves {self.home}")
            raise UserError(f"A worker supervisor (pid {other}) already serves {self.home}.",
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
        log_line(self.log_name, msg, component=self.log_component)
