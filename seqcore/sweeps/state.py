"""Sweeps as stored: a :class:`SweepRecord` per row of the run store's ``sweeps`` table; start, get, list,
stop, delete and rename a sweep; its trial runs as the app shows them (:class:`TrialInfo`,
:func:`sweep_trials`). The small updates the driver makes (:func:`_finish`, :func:`_set_best`,
:func:`_reserve_trial`) live here too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from seqcore.config import RunSpec
from seqcore.errors import UserError
from seqcore.runs.store import ACTIVE_STATUSES, RunRecord, RunStore, is_valid_run_id, new_run_id
from seqcore.sweeps import process
from seqcore.sweeps.config import SweepConfig
from seqcore.sweeps.search import best_of, epoch_value

SWEEP_STATUSES = ("running", "finished", "stopped", "failed")


class SweepNotFound(UserError):
    """No sweep with this id in the store."""


# --------------------------------------------------------------------------- sweep records

@dataclass
class SweepRecord:
    """One sweep as stored. ``config`` is a :class:`SweepConfig` dict, ``base_spec`` a RunSpec dict."""

    id: str
    name: str
    status: str
    task: str | None
    config: dict
    base_spec: dict
    dataset_id: str | None
    test_dataset_id: str | None
    csv_options: dict | None
    created: float
    ended: float | None = None
    stop_requested: bool = False
    n_trials: int = 0
    best_run_id: str | None = None
    best_value: float | None = None
    error: str | None = None
    owner: str = "local"

    @property
    def cfg(self) -> SweepConfig:
        return SweepConfig.from_dict(self.config)

    @property
    def spec(self) -> RunSpec:
        return RunSpec.from_dict(self.base_spec)

    @property
    def is_active(self) -> bool:
        return self.status == "running"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_row(cls, row) -> "SweepRecord":
        return cls(id=row["id"], name=row["name"], status=row["status"], task=row["task"],
                   config=json.loads(row["config"]), base_spec=json.loads(row["base_spec"]),
                   dataset_id=row["dataset_id"], test_dataset_id=row["test_dataset_id"],
                   csv_options=json.loads(row["csv_options"]) if row["csv_options"] else None,
                   created=row["created"], ended=row["ended"], stop_requested=bool(row["stop_requested"]),
                   n_trials=int(row["n_trials"]), best_run_id=row["best_run_id"], best_value=row["best_value"],
                   error=row["error"], owner=row["owner"])


def _as_dict(obj: Any) -> dict | None:
    if obj is None:
        return None
    return dict(obj) if isinstance(obj, dict) else obj.to_dict()


def start_sweep(store: RunStore, base: RunSpec | dict, config: SweepConfig | dict, dataset_id: str, *,
                test_dataset_id: str | None = None, csv_options: Any = None, name: str | None = None,
                start: bool = True) -> str:
    """Validate and store a sweep (status ``running``); its driver then queues the trials. Returns its id.

    Raises :class:`SpecError` (nothing stored) for a bad base spec or sweep configuration and
    :class:`~seqcore.runs.store.DatasetNotFound` for an unknown dataset. ``start``: make sure a driver runs.
    """
    base = RunSpec.from_dict(base) if isinstance(base, dict) else base
    base.validate()
    cfg = (SweepConfig.from_dict(config) if isinstance(config, dict) else config).validate(base)
    ds = store.get_dataset(dataset_id)
    if test_dataset_id is not None:
        store.get_dataset(test_dataset_id)
    from seqcore.runs.limits import check_can_queue

    check_can_queue(store)
    sweep_id = new_run_id()
    if not (name or "").strip():
        name = f"{cfg.method.upper() if cfg.method == 'tpe' else cfg.method.capitalize()} sweep of " \
               f"{', '.join(cfg.names)} · {ds.name}"
    with store._tx() as c:
        c.execute("INSERT INTO sweeps(id, name, created, status, task, config, base_spec, dataset_id,"
                  " test_dataset_id, csv_options, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  (sweep_id, name.strip()[:200], time.time(), "running", base.data.task, json.dumps(cfg.to_dict()),
                   json.dumps(base.to_dict()), dataset_id, test_dataset_id,
                   None if csv_options is None else json.dumps(_as_dict(csv_options)), store.owner_name))
    if start:
        process.ensure_driver(store.home)
    return sweep_id


def get_sweep(store: RunStore, sweep_id: str) -> SweepRecord:
    if not is_valid_run_id(sweep_id):
        raise SweepNotFound(f"{str(sweep_id)[:60]!r} is not a valid sweep id.",
                            hint="Sweep ids are short codes like 'q3Zr8_Lx0aA'; list them with `sweeps list`.")
    extra, params = store._owner_sql()
    rows = store._query("SELECT * FROM sweeps WHERE id = ?" + extra, (sweep_id, *params))
    if not rows:   # another user's sweep: the same words as a missing one
        raise SweepNotFound(f"There is no sweep {sweep_id!r} in {store.home}.",
                            hint="It may have been deleted; list sweeps with `sweeps list`.")
    return SweepRecord.from_row(rows[0])


def list_sweeps(store: RunStore, *, status: str | Iterable[str] | None = None,
                limit: int | None = None) -> list[SweepRecord]:
    """Sweeps, newest first."""
    extra, own = store._owner_sql()
    sql, params = "SELECT * FROM sweeps WHERE 1 = 1" + extra, list(own)
    if status is not None:
        sts = [status] if isinstance(status, str) else list(status)
        sql += f" AND status IN ({','.join('?' * len(sts))})"
        params += sts
    sql += " ORDER BY created DESC, rowid DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [SweepRecord.from_row(r) for r in store._query(sql, params)]


def trial_runs(store: RunStore, sweep_id: str) -> list[RunRecord]:
    """The runs of a sweep, oldest first."""
    return sorted(store.list_runs(kind="train", sweep_id=sweep_id), key=lambda r: r.created)


def stop_sweep(store: RunStore, sweep_id: str) -> str:
    """Stop a whole sweep: no new trials, every queued or running trial asked to stop. Returns its status.

    The sweep ends ``stopped`` once its trials have ended (at once when none is active).
    """
    from seqcore.runs.runner import request_stop

    sw = get_sweep(store, sweep_id)
    if sw.status != "running":
        return sw.status
    with store._tx() as c:
        c.execute("UPDATE sweeps SET stop_requested = 1 WHERE id = ?", (sweep_id,))
    active = [r for r in trial_runs(store, sweep_id) if r.status in ACTIVE_STATUSES]
    for r in active:
        request_stop(store, r.id)
    if not any(store.get_run(r.id).status in ACTIVE_STATUSES for r in active):
        _finish(store, sweep_id, "stopped")
    else:
        process.ensure_driver(store.home)   # it marks the sweep stopped when the last trial has ended
    return get_sweep(store, sweep_id).status


def delete_sweep(store: RunStore, sweep_id: str, *, delete_runs: bool = False) -> None:
    """Delete a sweep (refused while it runs). ``delete_runs``: delete its trial runs too."""
    sw = get_sweep(store, sweep_id)
    if sw.status == "running":
        raise UserError(f"Sweep {sw.name!r} is running.", hint="Stop it first, then delete it.")
    if delete_runs:
        for r in trial_runs(store, sweep_id):
            store.delete_run(r.id)
    with store._tx() as c:
        c.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))


def rename_sweep(store: RunStore, sweep_id: str, name: str) -> None:
    name = (name or "").strip()
    if not name:
        raise UserError("A sweep name cannot be empty.")
    get_sweep(store, sweep_id)
    with store._tx() as c:
        c.execute("UPDATE sweeps SET name = ? WHERE id = ?", (name[:200], sweep_id))


def _finish(store: RunStore, sweep_id: str, status: str, error: str | None = None) -> bool:
    with store._tx() as c:
        return c.execute("UPDATE sweeps SET status = ?, ended = ?, error = COALESCE(?, error)"
                         " WHERE id = ? AND status = 'running'", (status, time.time(), error, sweep_id)).rowcount == 1


def _set_best(store: RunStore, sweep_id: str, run_id: str | None, value: float | None) -> None:
    with store._tx() as c:
        c.execute("UPDATE sweeps SET best_run_id = ?, best_value = ? WHERE id = ?", (run_id, value, sweep_id))


def _reserve_trial(store: RunStore, sweep_id: str, number: int) -> bool:
    """Claim trial ``number`` (so two drivers never start the same trial)."""
    with store._tx() as c:
        return c.execute("UPDATE sweeps SET n_trials = ? WHERE id = ? AND n_trials = ? AND status = 'running'",
                         (number + 1, sweep_id, number)).rowcount == 1


# --------------------------------------------------------------------------- trials as the app shows them

@dataclass
class TrialInfo:
    """One trial of a sweep for tables and plots.

    status: the run's status, except ``"pruned"`` for a run the sweep stopped early.
    value: the best value of the sweep's metric over the epochs so far (None before the first epoch).
    """

    number: int
    run_id: str
    name: str
    status: str
    run_status: str
    params: dict
    value: float | None
    epochs_run: int | None
    planned_epochs: int | None
    duration: float | None
    started: float | None
    ended: float | None
    error: str | None = None
    pruned_at_epoch: int | None = None
    is_best: bool = False
    copy: bool = False            # a rerun of an earlier trial (not part of the search)

    def to_dict(self) -> dict:
        return asdict(self)


def trial_status(rec: RunRecord) -> str:
    return "pruned" if rec.status == "stopped" and rec.tags.get("pruned") else rec.status


def _metric_values(store: RunStore, rec: RunRecord, metric: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for _, p in store.read_history(rec.id, kind="epoch"):
        v = epoch_value(p, metric)
        if v is not None:
            out[int(p.epoch)] = v
    return out


def sweep_trials(store: RunStore, sweep: SweepRecord | str) -> list[TrialInfo]:
    """Every trial run of a sweep, in trial order, with its status, parameters and best metric so far."""
    sw = get_sweep(store, sweep) if isinstance(sweep, str) else sweep
    cfg = sw.cfg
    seen: set[int] = set()
    out = []
    for rec in trial_runs(store, sw.id):
        number = rec.tags.get("sweep_trial")
        if not isinstance(number, int):
            continue
        if cfg.metric == "val_loss":
            value = rec.best_val_loss
        else:
            value = best_of(_metric_values(store, rec, cfg.metric).values(), cfg.direction)
        out.append(TrialInfo(
            number=number, run_id=rec.id, name=rec.name, status=trial_status(rec), run_status=rec.status,
            params=dict(rec.tags.get("sweep_params") or {}), value=value, epochs_run=rec.epochs_run,
            planned_epochs=((rec.spec or {}).get("train") or {}).get("epochs"), duration=rec.duration,
            started=rec.started, ended=rec.ended, error=rec.error, pruned_at_epoch=rec.tags.get("pruned_at_epoch"),
            is_best=rec.id == sw.best_run_id, copy=number in seen))
        seen.add(number)
    out.sort(key=lambda t: (t.number, t.copy, t.started or 0))
    return out
