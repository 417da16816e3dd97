"""RunStore's runs: create, read, list, rename, tag and delete runs and prediction jobs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable

from seqcore.errors import UserError
from seqcore.runs.store.records import (
    ACTIVE_STATUSES,
    JOB_KINDS,
    STATUSES,
    RunNotFound,
    RunRecord,
    _dumps,
    _now,
    is_valid_run_id,
    new_run_id,
)


class RunsMixin:
    """Run methods of :class:`~seqcore.runs.store.RunStore` (which provides ``_tx``, ``_query``,
    ``get_dataset`` and ``run_dir``)."""

    def create_run(self, *, spec: dict, dataset_id: str | None, kind: str = "train", task: str | None = None,
                   test_dataset_id: str | None = None, csv_options: dict | None = None, name: str | None = None,
                   tags: dict | None = None, sweep_id: str | None = None, source_run_id: str | None = None,
                   status: str = "queued") -> str:
        """Insert a run (queued by default), create its folder and return its id."""
        if kind not in JOB_KINDS:
            raise ValueError(f"kind must be one of {JOB_KINDS}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        for ds in (dataset_id, test_dataset_id):
            if ds is not None:
                self.get_dataset(ds)
        run_id = new_run_id()
        now = _now()
        name = (name or "").strip()[:200] or f"{kind} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))}"
        self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
        with self._tx() as c:
            c.execute(
                "INSERT INTO runs(id, name, created, status, task, spec, dataset_id, test_dataset_id, kind,"
                " csv_options, source_run_id, sweep_id, tags, ended) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, name, now, status, task, _dumps(spec), dataset_id, test_dataset_id, kind,
                 None if csv_options is None else _dumps(csv_options), source_run_id, sweep_id,
                 _dumps(tags or {}), None if status in ACTIVE_STATUSES else now),
            )
        return run_id

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; :class:`RunNotFound` when there is none."""
        if not is_valid_run_id(run_id):
            raise RunNotFound(f"{str(run_id)[:60]!r} is not a valid run id.",
                              hint="Run ids are short codes like 'q3Zr8_Lx0aA'; list them with `runs list`.")
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise RunNotFound(f"There is no run {run_id!r} in {self.home}.",
                              hint="It may have been deleted; list runs with `runs list`.")
        return RunRecord.from_row(rows[0])

    def list_runs(self, *, kind: str | None = "train", status: str | Iterable[str] | None = None,
                  sweep_id: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first. ``kind=None`` lists training runs and prediction jobs."""
        where, params = [], []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if status is not None:
            sts = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({','.join('?' * len(sts))})")
            params += sts
        if sweep_id is not None:
            where.append("sweep_id = ?")
            params.append(sweep_id)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [RunRecord.from_row(r) for r in self._query(sql, params)]

    def rename_run(self, run_id: str, name: str) -> None:
        name = (name or "").strip()
        if not name:
            raise UserError("A run name cannot be empty.", hint="Type a name, for example 'LSTM 64 units'.")
        if len(name) > 200:
            raise UserError(f"A run name can be at most 200 characters; this one has {len(name)}.")
        self.get_run(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))

    def set_tags(self, run_id: str, tags: dict, *, sweep_id: str | None = None) -> None:
        self.get_run(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET tags = ?, sweep_id = COALESCE(?, sweep_id) WHERE id = ?",
                      (_dumps(tags), sweep_id, run_id))

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its history and its folder. Refuses while it is running."""
        rec = self.get_run(run_id)
        with self._tx() as c:
            status = c.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if status and status["status"] == "running":
                raise UserError(f"Run {rec.name!r} is running.", hint="Stop it first, then delete it.")
            c.execute("DELETE FROM history WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
