"""The job queue: what pages, the CLI and sweeps call to queue, stop, resume and rerun jobs.

Jobs live in the run store (:mod:`seqcore.runs.store`); these functions only validate and write them
there, then ask the configured backend (:func:`seqcore.runs.backends.get_backend`) to make sure someone
executes the queue (:meth:`~seqcore.runs.backends.Backend.ensure_started`). The executor itself is the
supervisor of the data folder (:mod:`seqcore.runs.supervisor`).

*Prepare hints* (:func:`hint_prepare`): the app tells the local supervisor which run the Train page shows,
so that its waiting worker prepares that data and compiles that model before Start is pressed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seqcore.runs.limits import check_can_queue
from seqcore.config import RunSpec
from seqcore.errors import UserError
from seqcore.runs.backends import get_backend
from seqcore.runs.procs import log_line, resolve_home
from seqcore.runs.store import (
    FINAL_STATUSES,
    RESUMABLE_STATUSES,
    RunRecord,
    RunStore,
    atomic_write_text,
)
from seqcore.runs.supervisor import supervisor_pid

HINT_NAME = "prepare_hint.json"
PREWARM_ENV = "SEQSTUDIO_PREWARM"   # "off" (or 0/no/false): no prepare hints, no compiling ahead
HINT_SETTLE_S = 0.5      # a hint is handed out once it is this old (quick successive edits: only the last)
HINT_TTL_S = 1800.0      # older hints are ignored (nobody is looking at that configuration any more)
HINT_REFRESH_S = 300.0   # the app rewrites an unchanged hint at most this often (keeps it from expiring)


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
               sweep_id: str | None = None, start: bool = True, owner: str | None = None) -> str:
    """Validate ``spec`` and queue a training run; returns its id. It belongs to the store's user (``owner``:
    whom a sweep driver's unscoped store queues a trial for), within their limits (:mod:`seqcore.runs.limits`).

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
    if sweep_id is None:   # a sweep's trials are bounded by the sweep itself
        check_can_queue(store)
    if not name:
        units = "-".join(str(u) for u in spec.model.units)
        name = f"{spec.model.cell.upper()} {units} · {ds.name}"
    run_id = store.create_run(spec=spec.to_dict(), dataset_id=dataset_id, task=spec.data.task,
                              test_dataset_id=test_dataset_id, csv_options=_as_dict(csv_options), name=name,
                              tags=tags, sweep_id=sweep_id, owner=owner)
    if start:
        get_backend().ensure_started(store.home)
    return run_id


def submit_predict(store: RunStore, source_run_id: str, dataset_id: str, csv_options: Any = None, *,
                   start: bool = True, steps: int | None = None) -> str:
    """Queue a prediction job: a worker loads the bundle of ``source_run_id`` and writes
    ``predictions.csv`` into the job's folder (``store.artifacts(job_id)['predictions']``).
    ``steps``: how many steps a forecasting model forecasts (None: its trained horizon).
    The server never loads a model itself. Returns the job id.
    """
    src = store.get_run(source_run_id)
    check_can_queue(store)
    if src.kind != "train":
        raise UserError(f"{source_run_id!r} is a prediction job, not a training run.",
                        hint="Pick a finished training run.")
    if not (store.run_dir(src.id) / "bundle" / "spec.json").exists():
        raise UserError(f"Run {src.name!r} has no saved model yet (status: {src.status}).",
                        hint="Pick a finished or stopped run.")
    ds = store.get_dataset(dataset_id)
    job_spec = {"source_run_id": src.id} | ({} if steps is None else {"steps": int(steps)})
    job_id = store.create_run(spec=job_spec, dataset_id=dataset_id, kind="predict", task=src.task,
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
    rec = store.writable_run(run_id)
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
    rec = store.writable_run(run_id)
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


def queue_status(store: RunStore) -> dict:
    """For the Home page: the backend's description plus how many jobs wait and which run.

    Keys: backend, alive, pid, warm ("ready" | "starting" | "off" | None), max_workers, threads,
    cores, home, jobs ({run id: worker pid}), queued (int), running (list of run ids).
    """
    info = get_backend().describe(store.home)
    counts = store.queue_counts()          # one read: a job claimed meanwhile is never counted twice
    info["queued"] = counts["queued"]
    info["running"] = counts["running_ids"]
    return info


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
    to its warm worker (:class:`seqcore.runs.worker.Ahead`) once it has settled and while no job runs or
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
    for ds in (dataset_id, test_dataset_id):   # a user's view: only their own uploads (else DatasetNotFound)
        if ds is not None and store.scoped:
            store.get_dataset(ds)
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
                "test_dataset_id": test_dataset_id or None, "csv_options": options, "time": time.time(),
                "owner": store.owner_name}
        atomic_write_text(path, json.dumps(hint, indent=1))
        written = True
    if start and supervisor_pid(home) is None:
        def _start() -> None:
            try:
                backend.ensure_started(home)
            except Exception as err:  # noqa: BLE001 - a head start only; Start reports real problems
                log_line("seqstudio", f"could not start the worker ahead: {err}", component="app",
                         level=logging.WARNING)

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
