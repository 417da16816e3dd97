"""RunStore's runs: create, read, list, rename, tag and delete runs and prediction jobs."""

from __future__ import annotations

import copy
import secrets
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
                   status: str = "queued", owner: str | None = None) -> str:
        """Insert a run (queued by default), create its folder and return its id. It belongs to this store's
        user; ``owner`` names another only in an unscoped store (a sweep driver queueing a user's trial)."""
        if kind not in JOB_KINDS:
            raise ValueError(f"kind must be one of {JOB_KINDS}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        for ds in (dataset_id, test_dataset_id):
            if ds is not None:
                self.get_dataset(ds)
        owner = owner if (owner and self.user is None) else self.owner_name
        run_id = new_run_id()
        now = _now()
        name = (name or "").strip()[:200] or f"{kind} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))}"
        self._run_dir(run_id).mkdir(parents=True, exist_ok=True)
        with self._tx() as c:
            c.execute(
                "INSERT INTO runs(id, name, created, status, task, spec, dataset_id, test_dataset_id, kind,"
                " csv_options, source_run_id, sweep_id, tags, ended, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, name, now, status, task, _dumps(spec), dataset_id, test_dataset_id, kind,
                 None if csv_options is None else _dumps(csv_options), source_run_id, sweep_id,
                 _dumps(tags or {}), None if status in ACTIVE_STATUSES else now, owner),
            )
        return run_id

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; :class:`RunNotFound` when there is none."""
        if not is_valid_run_id(run_id):
            raise RunNotFound(f"{str(run_id)[:60]!r} is not a valid run id.",
                              hint="Run ids are short codes like 'q3Zr8_Lx0aA'; list them with `runs list`.")
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows or not (self.user is None or self.user.can_see(rows[0]["owner"]) or run_id in self._shared):
            raise RunNotFound(f"There is no run {run_id!r} in {self.home}.",   # another user's: the same words
                              hint="It may have been deleted; list runs with `runs list`.")
        return RunRecord.from_row(rows[0])

    def writable_run(self, run_id: str) -> RunRecord:
        """The run, when this store may change it (its owner, an admin or the system); a run seen only through
        a share link is read-only (UserError)."""
        rec = self.get_run(run_id)
        if self.user is not None and not self.user.can_see(rec.owner):
            raise UserError("This run was shared with you to read only; it cannot be changed here.",
                            hint="Ask its owner, or train your own copy with its settings.")
        return rec

    # ---- read-only share links
    def share_run(self, run_id: str) -> str:
        """Make the run's results readable by anyone with the returned token (a new unguessable token each
        time; the old one stops working). Only its owner or an admin."""
        self.writable_run(run_id)
        token = secrets.token_urlsafe(24)
        with self._tx() as c:
            c.execute("UPDATE runs SET share_token = ? WHERE id = ?", (token, run_id))
        return token

    def unshare_run(self, run_id: str) -> None:
        """Revoke the run's share link."""
        self.writable_run(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET share_token = NULL WHERE id = ?", (run_id,))

    def with_share(self, run_id: str, token: str | None) -> "RunStore":
        """This store, able to read run ``run_id`` too when ``token`` is its current share token (else
        RunNotFound, as for a run that does not exist)."""
        if not is_valid_run_id(run_id):
            return self.get_run(run_id)   # raises the invalid-id message
        rows = self._query("SELECT share_token FROM runs WHERE id = ?", (run_id,))
        good = bool(rows and token and rows[0]["share_token"]
                    and secrets.compare_digest(str(rows[0]["share_token"]), str(token)))
        if not good:
            raise RunNotFound(f"There is no run {run_id!r} in {self.home}, or its share link was revoked.",
                              hint="Ask its owner for a new link.")
        view = copy.copy(self)
        view._shared = frozenset(self._shared | {run_id})
        return view

    def list_runs(self, *, kind: str | None = "train", status: str | Iterable[str] | None = None,
                  sweep_id: str | None = None, limit: int | None = None, owner: str | None = None) -> list[RunRecord]:
        """Runs, newest first (a user's own; all for an admin or the system, or ``owner``'s).
        ``kind=None`` lists training runs and prediction jobs."""
        where, params = [], []
        if self.scoped or owner is not None:
            where.append("owner = ?")
            params.append(self.user.name if self.scoped else owner)
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
        self.writable_run(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))

    def set_tags(self, run_id: str, tags: dict, *, sweep_id: str | None = None) -> None:
        self.writable_run(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET tags = ?, sweep_id = COALESCE(?, sweep_id) WHERE id = ?",
                      (_dumps(tags), sweep_id, run_id))

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its history and its folder. Refuses while it is running."""
        rec = self.writable_run(run_id)
        with self._tx() as c:
            status = c.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if status and status["status"] == "running":
                raise UserError(f"Run {rec.name!r} is running.", hint="Stop it first, then delete it.")
            c.execute("DELETE FROM history WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self._run_dir(run_id), ignore_errors=True)
