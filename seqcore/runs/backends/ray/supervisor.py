"""The app side of the Ray backend: :class:`RaySupervisor`, the detached process that hands the queued
jobs of a data folder to a Ray cluster and writes what comes back into the run store; and :func:`main`,
its entry point (``python -m seqcore.runs.backends.ray worker --home H``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import seqcore
from seqcore.errors import SpecError, UserError
from seqcore.runs.backends.ray.actor import ProgressSink
from seqcore.runs.backends.ray.options import (
    CHECKPOINT_FILES,
    CRASH_MESSAGE,
    DATA_REFS_KEPT,
    NODE_LOST_MESSAGE,
    RAY_HINT,
    RESULT_FILES,
    RETURN_DAMAGED_MESSAGE,
    RayOptions,
    _stop_timeout_message,
    ray_installed,
)
from seqcore.runs.backends.ray.task import _unzip_flat, _zip_flat, run_job_task, warm_task
from seqcore.runs.procs import pid_alive, resolve_home
from seqcore.runs.store import RunRecord, atomic_write_bytes
from seqcore.runs.supervisor import (
    CRASHED_MESSAGE,
    SHUTDOWN_MESSAGE,
    STOP_GRACE_S,
    SupervisorBase,
    cpu_cores,
    process_create_time,
)


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

    Holds the same lock as the local :class:`~seqcore.runs.backends.local.Supervisor`, so exactly one
    executor serves a data folder whatever the backend. ``max_runs`` caps training runs at once (default:
    what the cluster fits); prediction jobs get one more slot of their own. Logs to
    ``<home>/logs/supervisor.log`` like the local one.
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
            runtime_env["py_modules"] = [str(Path(seqcore.__file__).resolve().parent)]   # the package
            runtime_env["excludes"] = ["samples/", "__pycache__/", "*.pyc"]
        kwargs: dict = {"runtime_env": runtime_env, "namespace": "seqstudio", "log_to_driver": False,
                        "ignore_reinit_error": True}
        if o.address:
            kwargs["address"] = o.address
        else:
            kwargs.update(num_cpus=o.local_cpus or cpu_cores(), include_dashboard=False,
                          object_store_memory=o.object_store_mb * 2**20)
        t0 = time.perf_counter()
        self._log(f"connecting to {o.describe_address()}")
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


# --------------------------------------------------------------------------- process entry

def main(argv: list[str] | None = None) -> int:
    """``python -m seqcore.runs.backends.ray worker --home H [...]``: what ``ensure_supervisor`` starts for Ray."""
    ap = argparse.ArgumentParser(prog="python -m seqcore.runs.backends.ray")
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
        sup.run_forever()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
