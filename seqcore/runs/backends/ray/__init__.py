"""The Ray runner backend (``SEQSTUDIO_RUNNER=ray``): runs and sweep trials as Ray tasks, several at once.

Ray is optional (``pip install -r requirements-ray.txt``); nothing here imports it at module level.

How a run travels::

    run store (app disk)          RaySupervisor process (the app side)            Ray task (any node)
    queued run  ──claim──>  job dict (spec, record) + dataset bytes  ──submit──>  run_job_task(...)
                            ProgressSink actor  <── history / log / summary ───  RemoteStore proxy
    history, log, status <── drained every 0.1 s                                 execute_job (same code
    bundle/, metrics ...  <── result: bundle zip + files (bytes) <── return ───   as a local worker)

- :class:`RaySupervisor` is what ``ensure_supervisor`` starts when ``SEQSTUDIO_RUNNER=ray``
  (``python -m seqcore.runs.backends.ray worker --home H``). It holds the same supervisor lock as the local
  one (one executor per data folder), connects to the cluster at ``RAY_ADDRESS`` (or starts a local Ray
  instance), claims queued jobs while the cluster has room (``slots`` = cluster CPUs / CPUs per run, and
  GPUs likewise) and submits each as a task asking for ``SEQSTUDIO_RAY_CPUS_PER_RUN`` CPUs (1) and
  ``SEQSTUDIO_RAY_GPUS_PER_RUN`` GPUs (0).
- Cluster nodes are not assumed to see the app's disk: the task gets the dataset bytes and the run
  record; progress flows back through a :class:`ProgressSink` actor the supervisor owns (pinned to its
  node), which the supervisor drains into the run store; the trained bundle, metrics, predictions and
  checkpoint come back as bytes and are written into the run folder atomically.
- Stop: the store's stop flag is forwarded to the sink, which the task polls after every batch (the
  ordinary graceful stop: best weights kept, bundle saved, ``stopped``); after the stop grace period the
  task is cancelled (``ray.cancel(force=True)``) and the run marked ``failed``.
- A worker or node lost mid-run: Ray retries the task ``SEQSTUDIO_RAY_MAX_RETRIES`` times (1; the retry
  starts over and replaces the lost attempt's history), then the run ends ``failed`` with a plain message.
  If the supervisor itself dies, Ray ends its tasks and the next supervisor marks the runs ``interrupted``.
"""

from __future__ import annotations

from pathlib import Path

from seqcore.errors import SpecError
from seqcore.runs.backends import Backend, backend_status
from seqcore.runs.backends.ray.actor import ProgressSink, RemoteStore
from seqcore.runs.backends.ray.options import (
    CHECKPOINT_FILES,
    CRASH_MESSAGE,
    DATA_REFS_KEPT,
    MAX_RETURN_BYTES,
    NODE_LOST_MESSAGE,
    RAY_HINT,
    RESULT_FILES,
    RETURN_DAMAGED_MESSAGE,
    RayOptions,
    ray_installed,
)
from seqcore.runs.backends.ray.supervisor import RaySupervisor, main
from seqcore.runs.backends.ray.task import run_job_task, warm_task
from seqcore.runs.supervisor import ensure_supervisor, supervisor_status


class RayBackend(Backend):
    """Runs execute as Ray tasks; a :class:`RaySupervisor` process per data folder hands them out."""

    name = "ray"
    worker_module = "seqcore.runs.backends.ray"

    def __init__(self) -> None:
        if not ray_installed():
            raise SpecError("SEQSTUDIO_RUNNER=ray asks for the Ray backend, but Ray is not installed.", hint=RAY_HINT)
        self.options = RayOptions.from_env()

    def ensure_started(self, home: Path | str | None = None) -> None:
        ensure_supervisor(home)

    def describe(self, home: Path | str | None = None) -> dict:
        info = supervisor_status(home)
        info["backend"] = "ray"
        info.setdefault("ray", {"address": self.options.describe_address(), "connected": False})
        return info


__all__ = [
    "CHECKPOINT_FILES", "CRASH_MESSAGE", "DATA_REFS_KEPT", "MAX_RETURN_BYTES", "NODE_LOST_MESSAGE", "RAY_HINT",
    "RESULT_FILES", "RETURN_DAMAGED_MESSAGE", "ProgressSink", "RayBackend", "RayOptions", "RaySupervisor",
    "RemoteStore", "backend_status", "main", "ray_installed", "run_job_task", "warm_task",
]
