"""RunStore: one ``home`` folder's datasets, runs, history and artifacts, one class made of one mixin per area."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from seqcore.runs.store.artifacts import ArtifactsMixin
from seqcore.runs.store.datasets import DatasetsMixin
from seqcore.runs.store.history import HistoryMixin
from seqcore.runs.store.jobs import JobsMixin
from seqcore.runs.store.records import default_home
from seqcore.runs.store.runs import RunsMixin
from seqcore.runs.store.schema import _Tx, connect, migrate


class RunStore(DatasetsMixin, RunsMixin, JobsMixin, HistoryMixin, ArtifactsMixin):
    """Datasets, runs, history and artifact folders under one ``home`` folder.

    Cheap to create; safe to share between threads (each thread gets its own
    connection) and to re-create in child processes (pass ``store.home``).
    """

    def __init__(self, home: Path | str | None = None):
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.home = self.home.resolve()
        self.datasets_dir = self.home / "datasets"
        self.runs_dir = self.home / "runs"
        for d in (self.home, self.datasets_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "store.sqlite"
        self._local = threading.local()
        migrate(self._conn(), where=f" at {self.home}")

    def __repr__(self) -> str:
        return f"RunStore({str(self.home)!r})"

    # ---- connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = connect(self.db_path)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def _tx(self) -> _Tx:
        return _Tx(self._conn())

    def _query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()
