"""The local backend (``SEQSTUDIO_RUNNER=local``, the default): jobs run in worker processes on this machine.

:class:`LocalBackend` keeps one detached :class:`Supervisor` process per data folder
(:func:`~seqcore.runs.supervisor.ensure_supervisor`, ``python -m seqcore.cli.runs worker --home H``), which

- claims queued jobs atomically and runs each in a fresh ``spawn``-ed process
  (TensorFlow is not fork-safe; memory returns to the system when a job ends),
  ``max_workers`` training jobs at a time (1 by default) plus one prediction job;
- keeps one *warm* process that has already imported TensorFlow waiting for the
  next job, so the first loss point appears about two seconds after submitting;
- hands that warm process the app's *prepare hint* (:func:`~seqcore.runs.queue.hint_prepare`: the run the
  Train page shows) while nothing else runs, so it prepares the data and compiles that
  model before Start is pressed; a run of new shapes then starts as fast as a rerun;
- kills a job that has not stopped ``stop_grace`` seconds after a stop request;
- marks a job ``failed`` when its process dies (killed, out of memory);
- on start, marks ``interrupted`` the runs whose worker is gone, and adopts
  the ones whose worker is still alive.

What runs inside a worker process is :mod:`seqcore.runs.worker`. The supervisor logs to
``<home>/logs/supervisor.log``, its workers to ``<home>/logs/worker.log``; a waiting worker's raw output
(TensorFlow / JAX native messages and crashes) goes to ``<home>/logs/worker.out``, a job's to its run log.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcore import logs
from seqcore.runs.backends import Backend
from seqcore.runs.procs import pid_alive, resolve_home
from seqcore.runs.queue import HINT_NAME, HINT_SETTLE_S, HINT_TTL_S, prewarm_enabled, read_prepare_hint
from seqcore.runs.store import RunRecord
from seqcore.runs.supervisor import (
    CRASHED_MESSAGE,
    PREDICT_CRASHED_MESSAGE,
    SHUTDOWN_MESSAGE,
    STOP_GRACE_S,
    SupervisorBase,
    cpu_cores,
    ensure_supervisor,
    process_create_time,
    supervisor_status,
)
from seqcore.runs.worker import WORKER_OUT

WARM_RESPAWN_DELAY_S = 3.0   # after a hand-off, wait this long before starting the next warm worker


def _stop_timeout_message(grace: float) -> str:
    return (f"The run did not stop within {grace:g} seconds after Stop was pressed, so it was ended by force; "
            "no model was saved. Resume it to continue from its last checkpoint, or rerun it.")


class LocalBackend(Backend):
    """Worker processes on this machine, managed by one detached :class:`Supervisor` per data folder."""

    name = "local"

    def ensure_started(self, home: Path | str | None = None) -> None:
        ensure_supervisor(home)

    def describe(self, home: Path | str | None = None) -> dict:
        return {"backend": self.name} | supervisor_status(home)


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
    _device: dict | None = field(default=None, init=False, repr=False)   # what the last warm worker trains on
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
                          f"({self._warm_failures} time(s)); see {self.home / WORKER_OUT} and "
                          f"{logs.log_file(self.home, 'worker')}")
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
        """Read what a waiting worker said: ``("ready", pid, device)``, then ``("prewarm", info)`` per hint."""
        try:
            while proc.conn.poll():
                msg = proc.conn.recv()
                if not msg:
                    continue
                if msg[0] == "ready":
                    proc.ready = True
                    if len(msg) > 2 and isinstance(msg[2], dict):
                        self._device = msg[2]
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
            "device": self._device,
        }
        self._publish_status(state, force=force)
