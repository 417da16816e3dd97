"""The runs engine's public face: every name pages, the CLI and sweeps use, in one place.

The engine itself is split by job (read these to change something):

- :mod:`seqcore.runs.queue`: submit, stop, resume, rerun and wait for jobs; prepare hints;
- :mod:`seqcore.runs.supervisor`: the one supervisor process per data folder (start, stop, status,
  recovery of runs left running) and what every supervisor shares (:class:`SupervisorBase`);
- :mod:`seqcore.runs.backends`: which backend executes the queue (``$SEQSTUDIO_RUNNER``), a registry;
  :mod:`seqcore.runs.backends.local` (worker processes and the warm worker, the default) and
  :mod:`seqcore.runs.backends.ray` (Ray tasks; imported only when chosen);
- :mod:`seqcore.runs.worker`: what runs inside a worker process;
- :mod:`seqcore.runs.store`: the run store on disk.
"""

from __future__ import annotations

from seqcore.runs.backends import BACKENDS, Backend, backend_status, get_backend, register_backend
from seqcore.runs.backends.local import WARM_RESPAWN_DELAY_S, LocalBackend, Supervisor
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
from seqcore.runs.queue import (
    HINT_NAME,
    HINT_REFRESH_S,
    HINT_SETTLE_S,
    HINT_TTL_S,
    PREWARM_ENV,
    hint_key,
    hint_prepare,
    prewarm_enabled,
    queue_status,
    read_prepare_hint,
    request_stop,
    rerun,
    resume_run,
    submit_predict,
    submit_run,
    wait_run,
)
from seqcore.runs.store import FINAL_STATUSES, RESUMABLE_STATUSES, RunRecord, RunStore, atomic_write_text
from seqcore.runs.supervisor import (
    CRASHED_MESSAGE,
    INTERRUPTED_MESSAGE,
    LOCK_NAME,
    PREDICT_CRASHED_MESSAGE,
    SHUTDOWN_MESSAGE,
    START_LOCK_NAME,
    STATUS_NAME,
    STOP_GRACE_S,
    SUPERVISOR,
    SUPERVISOR_LOG,
    SUPERVISOR_OUT,
    SupervisorBase,
    cpu_cores,
    ensure_supervisor,
    mark_orphans,
    process_create_time,
    recover_orphans,
    stop_supervisor,
    supervisor_pid,
    supervisor_status,
)

__all__ = [
    # the queue
    "submit_run", "submit_predict", "request_stop", "resume_run", "rerun", "wait_run", "queue_status",
    "hint_prepare", "read_prepare_hint", "hint_key", "prewarm_enabled",
    "HINT_NAME", "HINT_REFRESH_S", "HINT_SETTLE_S", "HINT_TTL_S", "PREWARM_ENV",
    # the supervisor of a data folder
    "ensure_supervisor", "stop_supervisor", "supervisor_pid", "supervisor_status", "recover_orphans",
    "mark_orphans", "cpu_cores", "process_create_time", "SupervisorBase", "Supervisor", "SUPERVISOR",
    "STOP_GRACE_S", "WARM_RESPAWN_DELAY_S", "LOCK_NAME", "STATUS_NAME", "START_LOCK_NAME", "SUPERVISOR_LOG",
    "SUPERVISOR_OUT", "CRASHED_MESSAGE", "PREDICT_CRASHED_MESSAGE", "INTERRUPTED_MESSAGE", "SHUTDOWN_MESSAGE",
    # backends
    "Backend", "LocalBackend", "BACKENDS", "get_backend", "backend_status", "register_backend",
    # re-exported helpers
    "Daemon", "install_stop_handlers", "lock_is_ours", "log_line", "pid_alive", "release_lock", "resolve_home",
    "try_lock", "FINAL_STATUSES", "RESUMABLE_STATUSES", "RunRecord", "RunStore", "atomic_write_text",
]
