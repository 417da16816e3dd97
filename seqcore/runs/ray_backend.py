"""The Ray runner backend (``SEQSTUDIO_RUNNER=ray``): runs and sweep trials as Ray tasks, several at once.

Ray is optional (``pip install -r requirements-ray.txt``); nothing here imports it at module level.

How a run travels::

    run store (app disk)          RaySupervisor process (the app side)            Ray task (any node)
    queued run  ──claim──>  job dict (spec, record) + dataset bytes  ──submit──>  run_job_task(...)
                            ProgressSink actor  <── history / log / summary ───  RemoteStore proxy
    history, log, status <── drained every 0.1 s                                 execute_job (same code
    bundle/, metrics ...  <── result: bundle zip + files (bytes) <── return ───   as a local worker)

- :class:`RaySupervisor` is what ``ensure_supervisor`` starts when ``SEQSTUDIO_RUNNER=ray``
  (``python -m seqcore.runs.ray_backend worker --home H``). It holds the same supervisor lock as the local
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

import argparse
import importlib.util
import io
import math
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from seqcore.errors import BundleError, SpecError, UserError
from seqcore.runs.procs import resolve_home
from seqcore.modeling.progress import Progress
from seqcore.runs.runner import (
    SHUTDOWN_MESSAGE,
    STOP_GRACE_S,
    Backend,
    SupervisorBase,
    cpu_cores,
    ensure_supervisor,
    pid_alive,
    process_create_time,
    supervisor_status,
)
from seqcore.runs.store import DatasetInfo, RunRecord, atomic_write_bytes

RAY_HINT = ("Install it with `pip install -r requirements-ray.txt`, or unset SEQSTUDIO_RUNNER to train with "
            "local worker processes.")
NODE_LOST_MESSAGE = ("The Ray worker or cluster node running this run was lost (it crashed, ran out of memory or "
                     "left the cluster), also on the retry. Resume or rerun the run.")
CRASH_MESSAGE = "The run crashed on the Ray cluster; details are in the run log."
RETURN_DAMAGED_MESSAGE = ("The trained model came back from the Ray cluster damaged, so it was not saved. "
                          "Rerun the run.")
CHECKPOINT_FILES = ("checkpoint.keras", "checkpoint.json", "best.weights.h5")
RESULT_FILES = ("metrics.json", "predictions.csv", "forecast.csv")
MAX_RETURN_BYTES = 1024 * 2**20
DATA_REFS_KEPT = 4              # datasets kept in the object store for the next runs that use them


def _stop_timeout_message(grace: float) -> str:
    return (f"The run did not stop within {grace:g} seconds after Stop was pressed, so its Ray task was "
            "cancelled; no model was saved. Resume it to continue, or rerun it.")


def ray_installed() -> bool:
    """True when the ``ray`` package can be imported."""
    return importlib.util.find_spec("ray") is not None


def _env_float(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{name}={raw!r} is not a number.") from None
    if not math.isfinite(value) or value < 0:
        raise SpecError(f"{name} must be 0 or more; got {raw}.")
    return value


@dataclass(frozen=True)
class RayOptions:
    """How runs use the cluster; from the environment (:meth:`from_env`).

    address: ``RAY_ADDRESS`` of an existing cluster; None starts a local Ray instance with the worker.
    num_cpus / num_gpus: resources each run asks for (``SEQSTUDIO_RAY_CPUS_PER_RUN``, ``..._GPUS_PER_RUN``).
    max_retries: retries of a run whose worker or node died (``SEQSTUDIO_RAY_MAX_RETRIES``).
    max_runs: cap on runs at once (``SEQSTUDIO_RAY_MAX_RUNS``; default: what the cluster fits).
    local_cpus: CPUs of a local instance (``SEQSTUDIO_RAY_LOCAL_CPUS``; default: this machine's cores).
    ship_code: send the ``seqcore`` package to the cluster (runtime_env py_modules); on by default for a
               remote cluster (``SEQSTUDIO_RAY_SHIP_CODE=0/1``). Its nodes need the same Python packages.
    """

    address: str | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_retries: int = 1
    max_runs: int | None = None
    local_cpus: int | None = None
    ship_code: bool = False
    object_store_mb: int = 512

    @classmethod
    def from_env(cls) -> "RayOptions":
        address = os.environ.get("RAY_ADDRESS", "").strip() or None
        ship = os.environ.get("SEQSTUDIO_RAY_SHIP_CODE", "").strip().lower()
        max_runs = _env_float("SEQSTUDIO_RAY_MAX_RUNS", None)
        local = _env_float("SEQSTUDIO_RAY_LOCAL_CPUS", None)
        cpus = _env_float("SEQSTUDIO_RAY_CPUS_PER_RUN", 1.0)
        if cpus <= 0:
            raise SpecError("SEQSTUDIO_RAY_CPUS_PER_RUN must be above 0.")
        return cls(address=address, num_cpus=cpus, num_gpus=_env_float("SEQSTUDIO_RAY_GPUS_PER_RUN", 0.0),
                   max_retries=int(_env_float("SEQSTUDIO_RAY_MAX_RETRIES", 1)),
                   max_runs=None if max_runs is None else max(1, int(max_runs)),
                   local_cpus=None if local is None else max(1, int(local)),
                   ship_code=(ship in ("1", "true", "yes")) if ship else address is not None)

    def describe_address(self) -> str:
        return self.address or "a local Ray instance started by the worker"


# --------------------------------------------------------------------------- the backend

class RayBackend(Backend):
    """Runs execute as Ray tasks; a :class:`RaySupervisor` process per data folder hands them out."""

    name = "ray"
    worker_module = "seqcore.runs.ray_backend"

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


# --------------------------------------------------------------------------- the actor and the task

class ProgressSink:
    """Ray actor owned by the supervisor: tasks push progress into it, the supervisor drains it.

    Calls from one task arrive in order, so a task's last blocking call (:meth:`flush`) guarantees
    that everything it pushed is here before its result is read.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self.stops: set[str] = set()
        self.starts: dict[str, int] = {}

    def started(self, run_id: str, info: dict) -> int:
        n = self.starts.get(run_id, 0) + 1
        self.starts[run_id] = n
        self.events.append((run_id, "started", dict(info, attempt=n)))
        return n

    def push(self, run_id: str, kind: str, payload: Any) -> None:
        self.events.append((run_id, kind, payload))

    def should_stop(self, run_id: str) -> bool:
        return run_id in self.stops

    def set_stop(self, run_id: str) -> None:
        self.stops.add(run_id)

    def forget(self, run_id: str) -> None:
        self.stops.discard(run_id)
        self.starts.pop(run_id, None)

    def flush(self, run_id: str) -> bool:
        return True

    def drain(self) -> list:
        out, self.events = self.events, []
        return out


class RemoteStore:
    """The store-like object :func:`seqcore.runs.worker.execute_job` runs against inside a Ray task.

    Reads come from the job sent with the task; writes become events pushed to the
    :class:`ProgressSink` (history, live summary, log) or are kept for the task's result (the final
    status). Artifact folders live in a temporary folder on the node.
    """

    def __init__(self, job: dict, blobs: dict[str, bytes], sink: Any, workdir: Path, *, retry: bool = False):
        self.job, self.blobs, self.sink, self.workdir = job, blobs, sink, Path(workdir)
        self.records = {rid: RunRecord(**d) for rid, d in job["records"].items()}
        self.datasets = {did: DatasetInfo(**d) for did, d in job["datasets"].items()}
        self.final: dict | None = None
        self._replace_history = retry   # a retried task redoes the epochs its lost attempt already streamed

    # ---- reads
    def get_run(self, run_id: str) -> RunRecord:
        from seqcore.runs.store import RunNotFound

        if run_id not in self.records:
            raise RunNotFound(f"Run {run_id!r} was not sent to the cluster with this job.")
        return self.records[run_id]

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        from seqcore.runs.store import DatasetNotFound

        if dataset_id not in self.datasets:
            raise DatasetNotFound(f"Dataset {str(dataset_id)[:12]} was not sent to the cluster with this job.")
        return self.datasets[dataset_id]

    def dataset_bytes(self, dataset_id: str) -> bytes:
        self.get_dataset(dataset_id)
        return self.blobs[dataset_id]

    def run_dir(self, run_id: str) -> Path:
        return self.workdir / run_id

    def log_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "log.txt"

    def stop_requested(self, run_id: str) -> bool:
        import ray

        try:
            return bool(ray.get(self.sink.should_stop.remote(run_id), timeout=10))
        except Exception:  # noqa: BLE001 - the app side is unreachable: keep training; Ray ends us if it is gone
            return False

    # ---- writes (streamed back)
    def _push(self, run_id: str, kind: str, payload: Any) -> None:
        self.sink.push.remote(run_id, kind, payload)

    def append_history(self, run_id: str, points) -> int:
        rows = [p.to_dict() if isinstance(p, Progress) else dict(p) for p in points]
        if not rows:
            return 0
        if self._replace_history:
            self._replace_history = False
            self._push(run_id, "trim", min(int(r.get("epoch", 1)) for r in rows))
        self._push(run_id, "history", rows)
        return 0

    def update_progress_summary(self, run_id: str, *, epochs_run: int | None, best_val_loss: float | None) -> None:
        self._push(run_id, "summary", {"epochs_run": epochs_run, "best_val_loss": best_val_loss})

    def trim_history(self, run_id: str, from_epoch: int) -> int:
        self._replace_history = False
        self._push(run_id, "trim", int(from_epoch))
        return 0

    def append_log(self, run_id: str, text: str) -> None:
        self._push(run_id, "log", str(text))

    def log_exception(self, run_id: str, exc: BaseException, context: str = "") -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.append_log(run_id, f"{context}\n{tb}" if context else tb)

    def finish_run(self, run_id: str, status: str, *, error: str | None = None, summary: dict | None = None,
                   epochs_run: int | None = None, best_val_loss: float | None = None, only_if=("running",)) -> bool:
        rec = self.get_run(run_id)
        if only_if is not None and rec.status not in tuple(only_if):
            return False
        self.final = {"status": status, "error": error, "summary": summary, "epochs_run": epochs_run,
                      "best_val_loss": best_val_loss}
        self.records[run_id] = RunRecord(**(rec.to_dict() | {"status": status, "error": error}))
        return True


def _zip_flat(folder: Path, names: tuple[str, ...]) -> bytes | None:
    """The listed files of ``folder`` (those that exist) as zip bytes; None when there are none."""
    present = [n for n in names if (folder / n).is_file()]
    if not present:
        return None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n in present:
            z.write(folder / n, arcname=n)
    return buf.getvalue()


def _unzip_flat(data: bytes, dest: Path, names: tuple[str, ...]) -> None:
    """Unpack a :func:`_zip_flat` archive; only the allowed flat file names, sizes checked."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise BundleError("A checkpoint sent between the app and the cluster is damaged.") from err
    if sum(i.file_size for i in infos) > MAX_RETURN_BYTES:
        raise BundleError("A checkpoint sent between the app and the cluster is too large.")
    for info in infos:
        pp = PurePosixPath(info.filename)
        if info.filename not in names or len(pp.parts) != 1:
            raise BundleError(f"A checkpoint archive contains an unexpected file ({info.filename!r}).")
    dest.mkdir(parents=True, exist_ok=True)
    for info in infos:
        atomic_write_bytes(dest / info.filename, z.read(info))


def _clear_keras() -> None:
    """Ray reuses worker processes: start every run from a clean Keras session."""
    if "keras" in sys.modules:
        try:
            sys.modules["keras"].backend.clear_session()
        except Exception:  # noqa: BLE001
            pass


def run_job_task(job: dict, sink: Any, threads: int, *data: bytes) -> dict:
    """Body of the Ray task: run one claimed job with :func:`seqcore.runs.worker.execute_job` on this node.

    job: {"run_id", "records": {id: RunRecord dict}, "datasets": {id: DatasetInfo dict},
          "data_ids": [dataset id of each ``data`` argument], "checkpoint": zip bytes | None,
          "source_bundle": zip bytes | None}
    data: the CSV bytes of those datasets (passed as object refs put once per dataset, which Ray resolves).
    Returns {"final": {...} | None, "files": {name: bytes}, "bundle": zip bytes | None,
    "checkpoint": zip bytes | None}.
    """
    import ray

    blobs = dict(zip(job["data_ids"], data))
    run_id = job["run_id"]
    workdir = Path(tempfile.mkdtemp(prefix="seqstudio-ray-"))
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname()}
        try:
            info["node"] = ray.get_runtime_context().get_node_id()
            attempt = int(ray.get(sink.started.remote(run_id, info), timeout=30))
        except Exception:  # noqa: BLE001 - progress is best effort; the result still comes back
            attempt = 1
        proxy = RemoteStore(job, blobs, sink, workdir, retry=attempt > 1)
        rec = proxy.get_run(run_id)
        out = proxy.run_dir(run_id)
        out.mkdir(parents=True, exist_ok=True)
        if job.get("checkpoint"):
            _unzip_flat(job["checkpoint"], out / "checkpoint", CHECKPOINT_FILES)
        if job.get("source_bundle") and rec.source_run_id:
            from seqcore.outputs.bundle import extract_bundle_zip

            extract_bundle_zip(job["source_bundle"], proxy.run_dir(rec.source_run_id) / "bundle")
        proxy.append_log(run_id, f"Ray task started on {info['host']} (node {str(info.get('node'))[:12]}, "
                                 f"pid {info['pid']}, task attempt {attempt}, {threads} thread(s))")
        from seqcore import pipeline
        from seqcore.runs.worker import execute_job

        pipeline.configure_threads(threads)
        _clear_keras()
        execute_job(proxy, run_id)
        result: dict = {"final": proxy.final, "files": {}, "bundle": None, "checkpoint": None}
        for name in RESULT_FILES:
            if (out / name).is_file():
                result["files"][name] = (out / name).read_bytes()
        if (out / "bundle" / "manifest.json").is_file():
            from seqcore.outputs.bundle import bundle_zip_bytes

            result["bundle"] = bundle_zip_bytes(out / "bundle")
        result["checkpoint"] = _zip_flat(out / "checkpoint", CHECKPOINT_FILES)
        return result
    finally:
        try:
            ray.get(sink.flush.remote(run_id), timeout=30)   # everything pushed is in the sink now
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(workdir, ignore_errors=True)


def warm_task(threads: int) -> int:
    """Import TensorFlow in a Ray worker process, so the first run on it starts at once."""
    from seqcore import pipeline

    pipeline.configure_threads(threads)
    pipeline.warm_up()
    return os.getpid()


# --------------------------------------------------------------------------- the supervisor (app side)

@dataclass
class _RayJob:
    run_id: str
    kind: str
    ref: Any
    submitted: float
    stop_sent: bool = False
    cancelled: bool = False
    pid: int | None = None
    host: str | None = None


@dataclass
class RaySupervisor(SupervisorBase):
    """Hands the queued jobs of the store at ``home`` to a Ray cluster until told to stop.

    Holds the same lock as the local :class:`~seqcore.runs.runner.Supervisor`, so exactly one executor serves
    a data folder whatever the backend. ``max_runs`` caps training runs at once (default: what the
    cluster fits); prediction jobs get one more slot of their own.
    """

    home: Path | str | None = None
    options: RayOptions = field(default_factory=RayOptions.from_env)
    stop_grace: float = STOP_GRACE_S
    idle_exit: float | None = None
    poll_interval: float = 0.1
    warm: bool = True
    max_runs: int | None = None
    _jobs: dict = field(default_factory=dict, init=False, repr=False)
    _watched: dict = field(default_factory=dict, init=False, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _lock_fd: int | None = field(default=None, init=False, repr=False)
    _cluster: dict = field(default_factory=dict, init=False, repr=False)
    _data_refs: dict = field(default_factory=dict, init=False, repr=False)
    _status_cache: str = field(default="", init=False, repr=False)

    log_name = "ray supervisor"

    def __post_init__(self) -> None:
        self.home = resolve_home(self.home)
        self.max_runs = self.max_runs or self.options.max_runs

    # ---- the loop's hooks (the loop, the lock and the status file: SupervisorBase)
    def _start(self) -> None:
        self.create_time = process_create_time(os.getpid())
        self._write_status(force=True, connected=False)
        self._recover()
        self._connect()

    def _every_few_seconds(self) -> None:
        self._refresh_cluster()

    def _busy(self) -> bool:
        return bool(self._jobs or self._watched or self.store.queued_count())

    def slots(self) -> int:
        """Training runs at once: what the cluster fits with each run's CPUs and GPUs (at least 1)."""
        total = self._cluster.get("resources") or {}
        fits = [int(total.get("CPU", 0) // self.options.num_cpus)] if self.options.num_cpus else []
        if self.options.num_gpus:
            fits.append(int(total.get("GPU", 0) // self.options.num_gpus))
        n = max(1, min(fits)) if fits else 1
        return min(n, self.max_runs) if self.max_runs else n

    def _write_status(self, *, force: bool = False, alive: bool = True, connected: bool = True) -> None:
        o = self.options
        state = {
            "pid": os.getpid() if alive else None,
            "backend": "ray",
            "max_workers": self.slots(),
            "slots": self.slots(),
            "threads": max(1, int(o.num_cpus)),
            "warm": "off",
            "jobs": {rid: j.pid for rid, j in self._jobs.items()},
            "stop_grace": self.stop_grace,
            "ray": {
                "address": o.describe_address(), "connected": connected and bool(self._cluster),
                "num_cpus_per_run": o.num_cpus, "num_gpus_per_run": o.num_gpus, "max_retries": o.max_retries,
                **self._cluster,
                "hosts": {rid: j.host for rid, j in self._jobs.items() if j.host},
            },
        }
        self._publish_status(state, force=force)

    # ---- start / stop
    def _adopt(self, rec: RunRecord) -> None:
        """Watch a run whose process lives (a local worker from before) until it ends."""
        self._watched[rec.id] = (rec.worker_pid, rec.worker_started)

    def _connect(self) -> None:
        import ray

        o = self.options
        runtime_env: dict = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}}
        if o.ship_code:
            runtime_env["py_modules"] = [str(Path(__file__).resolve().parents[1])]
            runtime_env["excludes"] = ["samples/", "__pycache__/", "*.pyc"]
        kwargs: dict = {"runtime_env": runtime_env, "namespace": "seqstudio", "log_to_driver": False,
                        "ignore_reinit_error": True}
        if o.address:
            kwargs["address"] = o.address
        else:
            kwargs.update(num_cpus=o.local_cpus or cpu_cores(), include_dashboard=False,
                          object_store_memory=o.object_store_mb * 2**20)
        t0 = time.perf_counter()
        ray.init(**kwargs)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = ray.get_runtime_context().get_node_id()
        self._sink = ray.remote(ProgressSink).options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote()
        self._task = ray.remote(run_job_task).options(
            num_cpus=o.num_cpus, num_gpus=o.num_gpus, max_retries=o.max_retries, retry_exceptions=False)
        self._refresh_cluster()
        self._log(f"connected to {o.describe_address()} in {time.perf_counter() - t0:.1f}s: "
                  f"{self._cluster.get('resources')} ({self.slots()} run(s) at once)")
        if self.warm:
            warm = ray.remote(warm_task).options(num_cpus=o.num_cpus, num_gpus=o.num_gpus)
            self._warm_refs = [warm.remote(max(1, int(o.num_cpus))) for _ in range(self.slots())]
        self._write_status(force=True)

    def _refresh_cluster(self) -> None:
        import ray

        try:
            nodes = [n for n in ray.nodes() if n.get("Alive")]
            total = ray.cluster_resources()
            free = ray.available_resources()
        except Exception as e:  # noqa: BLE001 - keep serving; the status shows the last known state
            self._log(f"cannot read the cluster's resources: {e}")
            return

        def keep(res: dict) -> dict:
            out = {k: v for k, v in res.items() if k in ("CPU", "GPU")}
            if "memory" in res:
                out["memory_gb"] = round(res["memory"] / 2**30, 1)
            return out

        self._cluster = {
            "nodes": len(nodes),
            "node_list": [{"host": n.get("NodeManagerHostname") or n.get("NodeManagerAddress"),
                           "CPU": n.get("Resources", {}).get("CPU", 0), "GPU": n.get("Resources", {}).get("GPU", 0)}
                          for n in nodes],
            "resources": keep(total),
            "available": keep(free),
            "ray_version": getattr(ray, "__version__", "?"),
        }

    def _shutdown(self) -> None:
        for run_id, job in list(self._jobs.items()):
            self._cancel(job)
            if self.store.finish_run(run_id, "interrupted", error=SHUTDOWN_MESSAGE):
                self.store.append_log(run_id, "supervisor shut down: Ray task cancelled, run marked interrupted")
        self._jobs.clear()
        try:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        except Exception as e:  # noqa: BLE001
            self._log(f"ray.shutdown failed: {e}")
        self._write_status(force=True, alive=False, connected=False)
        self._release()

    # ---- the loop
    def _tick(self) -> None:
        self._drain()
        self._collect()
        self._forward_stops()
        self._watch()
        self._claim()

    def _drain(self) -> None:
        import ray

        try:
            events = ray.get(self._sink.drain.remote(), timeout=30)
        except Exception as e:  # noqa: BLE001
            self._log(f"cannot read progress from the cluster: {e}")
            return
        pending: dict[str, list] = {}
        for run_id, kind, payload in events:
            if kind == "history":
                pending.setdefault(run_id, []).extend(payload)
                continue
            self._flush_history(run_id, pending)
            if kind == "trim":
                self.store.trim_history(run_id, int(payload))
            elif kind == "summary":
                self.store.update_progress_summary(run_id, **payload)
            elif kind == "log":
                self.store.append_log(run_id, payload)
            elif kind == "started":
                job = self._jobs.get(run_id)
                if job is not None:
                    job.pid, job.host = payload.get("pid"), payload.get("host")
                if payload.get("attempt", 1) > 1:
                    self.store.append_log(run_id, f"the Ray task is retried (attempt {payload['attempt']}) after "
                                                  "its worker or node was lost; its epochs start over")
        for run_id in list(pending):
            self._flush_history(run_id, pending)

    def _flush_history(self, run_id: str, pending: dict) -> None:
        rows = pending.pop(run_id, None)
        if rows:
            self.store.append_history(run_id, rows)

    def _collect(self) -> None:
        import ray

        if not self._jobs:
            return
        refs = {j.ref: j for j in self._jobs.values()}
        ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=0)
        if not ready:
            return
        self._drain()   # the task flushed its progress before returning
        for ref in ready:
            job = refs[ref]
            del self._jobs[job.run_id]
            try:
                self._sink.forget.remote(job.run_id)
            except Exception:  # noqa: BLE001
                pass
            try:
                result = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - any failure ends the run plainly, never stuck running
                self._failed(job, err)
                continue
            self._finish(job, result)

    def _failed(self, job: _RayJob, err: BaseException) -> None:
        import ray.exceptions as rex

        if job.cancelled:
            return   # already marked (stop grace)
        lost = (rex.WorkerCrashedError, rex.NodeDiedError, rex.ObjectLostError, rex.OwnerDiedError,
                rex.LocalRayletDiedError, rex.TaskCancelledError)
        oom = getattr(rex, "OutOfMemoryError", ())
        if oom and isinstance(err, oom):
            message = ("The run ran out of memory on the Ray cluster. Try a smaller batch size, window or model, "
                       "or ask for more memory per run, then rerun.")
        elif isinstance(err, lost):
            message = NODE_LOST_MESSAGE
        else:
            message = CRASH_MESSAGE
        self.store.append_log(job.run_id, f"the Ray task ended with {type(err).__name__}: {err}")
        if self.store.finish_run(job.run_id, "failed", error=message):
            self._log(f"run {job.run_id}: {type(err).__name__}, marked failed")

    def _finish(self, job: _RayJob, result: dict) -> None:
        run_id = job.run_id
        final = (result or {}).get("final")
        folder = self.store.run_dir(run_id)
        try:
            for name, data in (result.get("files") or {}).items():
                if name in RESULT_FILES:
                    atomic_write_bytes(folder / name, data)
            if result.get("bundle"):
                from seqcore.outputs.bundle import extract_bundle_zip

                incoming = folder / ".bundle.incoming"
                shutil.rmtree(incoming, ignore_errors=True)
                extract_bundle_zip(result["bundle"], incoming)
                shutil.rmtree(folder / "bundle", ignore_errors=True)
                os.replace(incoming, folder / "bundle")
            if result.get("checkpoint"):
                _unzip_flat(result["checkpoint"], folder / "checkpoint", CHECKPOINT_FILES)
        except UserError as err:
            self.store.log_exception(run_id, err, "the result sent back by the Ray task is damaged")
            self.store.finish_run(run_id, "failed", error=RETURN_DAMAGED_MESSAGE)
            return
        if not final:
            self.store.finish_run(run_id, "failed", error=CRASH_MESSAGE)
            return
        self.store.finish_run(run_id, final["status"], error=final.get("error"), summary=final.get("summary"),
                              epochs_run=final.get("epochs_run"), best_val_loss=final.get("best_val_loss"))

    def _forward_stops(self) -> None:
        now = time.time()
        for run_id, asked_at in self.store.stop_requests():
            job = self._jobs.get(run_id)
            if job is None:
                continue
            if not job.stop_sent:
                job.stop_sent = True
                self._sink.set_stop.remote(run_id)
            if now - asked_at >= self.stop_grace and not job.cancelled:
                job.cancelled = True
                self._cancel(job)
                if self.store.finish_run(run_id, "failed", error=_stop_timeout_message(self.stop_grace)):
                    self.store.append_log(run_id, f"did not stop within {self.stop_grace:g} s: Ray task cancelled")

    def _cancel(self, job: _RayJob) -> None:
        import ray

        try:
            ray.cancel(job.ref, force=True)
        except Exception as e:  # noqa: BLE001
            self._log(f"cancel of run {job.run_id} failed: {e}")

    def _watch(self) -> None:
        for run_id, (pid, started) in list(self._watched.items()):
            if pid_alive(pid, started):
                continue
            del self._watched[run_id]
            from seqcore.runs.runner import CRASHED_MESSAGE

            if self.store.finish_run(run_id, "failed", error=CRASHED_MESSAGE):
                self.store.append_log(run_id, f"local worker pid {pid} vanished while running: marked failed")

    def _free(self, kind: str) -> int:
        used = sum(1 for j in self._jobs.values() if j.kind == kind)
        return (self.slots() if kind == "train" else 1) - used

    def _claim(self) -> None:
        for kind in ("predict", "train"):
            while self._free(kind) > 0 and self.store.queued_count(kind) > 0:
                rec = self.store.claim_next_job(kinds=[kind], worker_pid=os.getpid(), worker_started=self.create_time)
                if rec is None:
                    break
                try:
                    self._submit(rec)
                except UserError as err:
                    self.store.append_log(rec.id, f"could not be sent to the cluster: {err}")
                    self.store.finish_run(rec.id, "failed", error=str(err))
                except Exception as err:  # noqa: BLE001
                    self.store.log_exception(rec.id, err, "could not be sent to the Ray cluster")
                    self.store.finish_run(rec.id, "failed", error=CRASH_MESSAGE)

    def _submit(self, rec: RunRecord) -> None:
        job: dict = {"run_id": rec.id, "records": {rec.id: rec.to_dict()}, "datasets": {}, "data_ids": [],
                     "checkpoint": None, "source_bundle": None}
        data = []
        for ds_id in (rec.dataset_id, rec.test_dataset_id):
            if ds_id:
                job["datasets"][ds_id] = self.store.get_dataset(ds_id).to_dict()
                job["data_ids"].append(ds_id)
                data.append(self._data_ref(ds_id))
        if rec.kind == "predict":
            from seqcore.outputs.bundle import bundle_zip_bytes

            src = self.store.get_run(rec.source_run_id or rec.spec.get("source_run_id"))
            job["records"][src.id] = src.to_dict()
            job["source_bundle"] = bundle_zip_bytes(self.store.run_dir(src.id) / "bundle")
        elif rec.resume:
            job["checkpoint"] = _zip_flat(self.store.run_dir(rec.id) / "checkpoint", CHECKPOINT_FILES)
        ref = self._task.remote(job, self._sink, max(1, int(self.options.num_cpus)), *data)
        self._jobs[rec.id] = _RayJob(rec.id, rec.kind, ref, time.time())
        self.store.append_log(rec.id, f"sent to Ray ({self.options.describe_address()}): "
                                      f"{self.options.num_cpus:g} CPU, {self.options.num_gpus:g} GPU")
        self._log(f"run {rec.id} ({rec.kind}) -> Ray task")

    def _data_ref(self, dataset_id: str):
        """The dataset's bytes in the object store, put once and shared by every run that uses them
        (a sweep's trials), for the last few datasets."""
        import ray

        if dataset_id not in self._data_refs:
            self._data_refs[dataset_id] = ray.put(self.store.dataset_bytes(dataset_id))
            while len(self._data_refs) > DATA_REFS_KEPT:
                self._data_refs.pop(next(iter(self._data_refs)))
        else:
            self._data_refs[dataset_id] = self._data_refs.pop(dataset_id)   # most recently used last
        return self._data_refs[dataset_id]


def backend_status(home: Path | str | None = None) -> dict:
    """The Ray backend's description (see :func:`seqcore.runs.runner.backend_status`, which the app should call)."""
    from seqcore.runs.runner import backend_status as status

    return status(home)


# --------------------------------------------------------------------------- process entry

def main(argv: list[str] | None = None) -> int:
    """``python -m seqcore.runs.ray_backend worker --home H [...]``: what ``ensure_supervisor`` starts for Ray."""
    ap = argparse.ArgumentParser(prog="python -m seqcore.runs.ray_backend")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("worker", help="hand the queue of a data folder to a Ray cluster (foreground)")
    p.add_argument("--home")
    p.add_argument("--max-workers", type=int, help="training runs at once (default: what the cluster fits)")
    p.add_argument("--no-warm", action="store_true", help="do not import TensorFlow in Ray workers ahead")
    p.add_argument("--stop-grace", type=float)
    p.add_argument("--idle-exit", type=float)
    args = ap.parse_args(argv)
    try:
        if not ray_installed():
            raise SpecError("Ray is not installed.", hint=RAY_HINT)
        sup = RaySupervisor(args.home, stop_grace=STOP_GRACE_S if args.stop_grace is None else args.stop_grace,
                            idle_exit=args.idle_exit, warm=not args.no_warm,
                            max_runs=args.max_workers or None)
        print(f"ray supervisor for {sup.home} ({sup.options.describe_address()})", file=sys.stderr, flush=True)
        sup.run_forever()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
