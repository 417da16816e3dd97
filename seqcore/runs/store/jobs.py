"""RunStore's job life cycle, used by the runner: claim queued jobs, record workers, stop, end, requeue."""

from __future__ import annotations

from collections.abc import Iterable

from seqcore.errors import UserError
from seqcore.runs.store.records import FINAL_STATUSES, JOB_KINDS, RunRecord, _dumps, _now


class JobsMixin:
    """Job life-cycle methods of :class:`~seqcore.runs.store.RunStore` (which provides ``_tx``,
    ``_query``, ``_conn``, ``get_run`` and ``list_runs``)."""

    def claim_next_job(self, *, kinds: Iterable[str] = JOB_KINDS, worker_pid: int | None = None,
                       worker_started: float | None = None) -> RunRecord | None:
        """Atomically move the next queued job of ``kinds`` to ``running``; None when none is queued.

        Fair across users: the next job is the oldest queued one of the user with the fewest jobs running,
        ties going to the user whose last job started longest ago, so one user's sweep (or long queue) cannot
        keep everyone else's single runs waiting. With one user this is simply the oldest queued job."""
        kinds = list(kinds)
        with self._tx() as c:
            row = c.execute(
                f"SELECT id FROM runs q WHERE status = 'queued' AND kind IN ({','.join('?' * len(kinds))})"
                " ORDER BY (SELECT COUNT(*) FROM runs x WHERE x.owner = q.owner AND x.status = 'running'),"
                " COALESCE((SELECT MAX(x.started) FROM runs x WHERE x.owner = q.owner AND x.status != 'queued'),"
                " 0), created, rowid LIMIT 1", kinds).fetchone()
            if row is None:
                return None
            cur = c.execute(
                "UPDATE runs SET status = 'running', started = ?, ended = NULL, error = NULL, worker_pid = ?,"
                " worker_started = ? WHERE id = ? AND status = 'queued'",
                (_now(), worker_pid, worker_started, row["id"]))
            if cur.rowcount != 1:
                return None
        return self.get_run(row["id"])

    def set_worker(self, run_id: str, pid: int | None, started: float | None) -> None:
        """Record which process runs a job (``started`` is its creation time, to tell reused pids apart)."""
        with self._tx() as c:
            c.execute("UPDATE runs SET worker_pid = ?, worker_started = ? WHERE id = ?", (pid, started, run_id))

    def finish_run(self, run_id: str, status: str, *, error: str | None = None, summary: dict | None = None,
                   epochs_run: int | None = None, best_val_loss: float | None = None,
                   only_if: Iterable[str] | None = ("running",)) -> bool:
        """End a job with a final ``status``. Returns False when it was not in ``only_if`` (already ended)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"final status must be one of {FINAL_STATUSES}")
        sql = ("UPDATE runs SET status = ?, ended = ?, error = ?, summary = COALESCE(?, summary),"
               " epochs_run = COALESCE(?, epochs_run), best_val_loss = COALESCE(?, best_val_loss) WHERE id = ?")
        params: list = [status, _now(), error, None if summary is None else _dumps(summary), epochs_run,
                        best_val_loss, run_id]
        if only_if is not None:
            sts = list(only_if)
            sql += f" AND status IN ({','.join('?' * len(sts))})"
            params += sts
        with self._tx() as c:
            return c.execute(sql, params).rowcount == 1

    def update_progress_summary(self, run_id: str, *, epochs_run: int | None, best_val_loss: float | None) -> None:
        """Live columns for the runs table while a run trains (``best_val_loss`` keeps the minimum)."""
        with self._tx() as c:
            c.execute("UPDATE runs SET epochs_run = COALESCE(?1, epochs_run),"
                      " best_val_loss = CASE WHEN ?2 IS NULL THEN best_val_loss"
                      " WHEN best_val_loss IS NULL OR ?2 < best_val_loss THEN ?2 ELSE best_val_loss END"
                      " WHERE id = ?3", (epochs_run, best_val_loss, run_id))

    def request_stop(self, run_id: str) -> str:
        """Ask a job to stop. A queued one is stopped at once (it never starts); returns the new status."""
        rec = self.writable_run(run_id)
        with self._tx() as c:
            c.execute("UPDATE runs SET status = 'stopped', ended = ?, stop_requested = 1, stop_requested_at = ?"
                      " WHERE id = ? AND status = 'queued'", (_now(), _now(), run_id))
            c.execute("UPDATE runs SET stop_requested = 1, stop_requested_at = COALESCE(stop_requested_at, ?)"
                      " WHERE id = ? AND status = 'running'", (_now(), run_id))
            row = c.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row["status"] if row else rec.status

    def stop_requested(self, run_id: str) -> bool:
        row = self._conn().execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def requeue(self, run_id: str, *, resume: bool) -> None:
        """Put an ended run back in the queue (``resume``: continue from its checkpoint)."""
        rec = self.writable_run(run_id)
        with self._tx() as c:
            cur = c.execute(
                "UPDATE runs SET status = 'queued', resume = ?, attempt = attempt + 1, stop_requested = 0,"
                " stop_requested_at = NULL, error = NULL, ended = NULL, worker_pid = NULL, worker_started = NULL"
                " WHERE id = ? AND status IN ('interrupted', 'failed', 'stopped')",
                (int(resume), run_id))
            if cur.rowcount != 1:
                raise UserError(f"Run {rec.name!r} is {rec.status}; only an interrupted, failed or stopped run can be resumed.",
                                hint="Use rerun to train a finished run again.")

    def release_claim(self, run_id: str) -> None:
        """Undo :meth:`claim_next_job` when the job could not be handed to a worker (back to queued)."""
        with self._tx() as c:
            c.execute("UPDATE runs SET status = 'queued', started = NULL, worker_pid = NULL, worker_started = NULL"
                      " WHERE id = ? AND status = 'running'", (run_id,))

    def queued_count(self, kind: str | None = None) -> int:
        """How many jobs wait in the queue (of one kind, or all)."""
        if kind is None:
            return int(self._query("SELECT COUNT(*) FROM runs WHERE status = 'queued'")[0][0])
        return int(self._query("SELECT COUNT(*) FROM runs WHERE status = 'queued' AND kind = ?", (kind,))[0][0])

    def queue_counts(self) -> dict:
        """The queue in one consistent read (one SQL statement, so a job claimed meanwhile is counted once):
        ``{"queued": n, "running": n, "starting": n, "queued_ids": [...], "running_ids": [...]}``, ids oldest
        first. A claimed job is running from the moment it is claimed, before its first progress point
        (``starting`` counts those among ``running``: the worker is still preparing the data or the model)."""
        rows = self._query(
            "SELECT id, status, EXISTS(SELECT 1 FROM history h WHERE h.run_id = runs.id) AS has_history FROM runs"
            " WHERE status IN ('queued', 'running') ORDER BY created, rowid")
        queued = [r["id"] for r in rows if r["status"] == "queued"]
        running = [r["id"] for r in rows if r["status"] == "running"]
        starting = sum(1 for r in rows if r["status"] == "running" and not r["has_history"])
        return {"queued": len(queued), "running": len(running), "starting": starting, "queued_ids": queued,
                "running_ids": running}

    def active_count(self, owner: str) -> int:
        """How many jobs ``owner`` has queued or running (their per-user limit, seqcore.runs.queue)."""
        return int(self._query("SELECT COUNT(*) FROM runs WHERE owner = ? AND status IN ('queued', 'running')",
                               (owner,))[0][0])

    def running_jobs(self) -> list[RunRecord]:
        """All jobs (training and prediction) with status ``running``."""
        return self.list_runs(kind=None, status="running")

    def stop_requests(self) -> list[tuple[str, float]]:
        """``(run id, stop requested at)`` of running jobs asked to stop."""
        rows = self._query("SELECT id, stop_requested_at FROM runs WHERE status = 'running' AND stop_requested = 1")
        return [(r["id"], r["stop_requested_at"] or _now()) for r in rows]
