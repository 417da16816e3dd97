"""What connects a Ray task with the app side: the :class:`ProgressSink` actor the supervisor owns, and
the :class:`RemoteStore` proxy a task trains against, which pushes its progress into that actor."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from seqcore.modeling.progress import Progress
from seqcore.runs.store import DatasetInfo, RunRecord


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
