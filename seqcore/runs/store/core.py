"""RunStore: one ``home`` folder's datasets, runs, history and artifacts, one class made of one mixin per area."""

from __future__ import annotations

import copy
import os
import sqlite3
import threading
from pathlib import Path

from seqcore.auth import LOCAL_NAME, Principal
from seqcore.runs.store.artifacts import ArtifactsMixin
from seqcore.runs.store.datasets import DatasetsMixin
from seqcore.runs.store.history import HistoryMixin
from seqcore.runs.store.jobs import JobsMixin
from seqcore.runs.store.records import default_home
from seqcore.runs.store.runs import RunsMixin
from seqcore.runs.store.schema import _Tx, connect, migrate


_VIEWS_LOCK = threading.Lock()


class RunStore(DatasetsMixin, RunsMixin, JobsMixin, HistoryMixin, ArtifactsMixin):
    """Datasets, runs, history and artifact folders under one ``home`` folder.

    Cheap to create; safe to share between threads (each thread gets its own
    connection) and to re-create in child processes (pass ``store.home``).

    Ownership is enforced here, not only in the pages: ``store.for_user(principal)`` is a view of the same
    folder in which everything is scoped to that user. Another user's run, sweep or dataset is "not found"
    (RunNotFound, SweepNotFound, DatasetNotFound, the same as one that does not exist) for every read and
    action; an administrator's view sees and manages everything; what a view creates belongs to its user. A
    run shared by its owner (:meth:`share_run`) can be read, never changed, through :meth:`with_share`. A store
    made without a user (``user=None``: the supervisor, workers, sweep drivers) is the system's: unscoped.
    """

    def __init__(self, home: Path | str | None = None, *, user: Principal | None = None):
        self.user = user
        self._shared: frozenset[str] = frozenset()
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
        who = "" if self.user is None else f", user={self.user.name!r}"
        return f"RunStore({str(self.home)!r}{who})"

    # ---- ownership (seqcore.auth)
    def for_user(self, user: Principal | None) -> "RunStore":
        """This folder's store as ``user`` sees it (see the class docstring); ``None``: the system's. Views share
        this store's connections and caches, and one view per user is kept, so asking again is free."""
        from seqcore.runs.store.history import _curve_cache

        base = self.__dict__.get("_base") or self
        with _VIEWS_LOCK:
            views = base.__dict__.setdefault("_views", {})
            view = views.get(user)
            if view is None:
                _curve_cache(base)
                view = copy.copy(base)   # same folder, connections (per thread) and history cache
                view.user, view._shared, view._base = user, frozenset(), base
                views[user] = view
        return view

    @property
    def scoped(self) -> bool:
        """Whether reads and actions are limited to one user's own objects (a user who is not an admin)."""
        return self.user is not None and not self.user.admin

    @property
    def owner_name(self) -> str:
        """Who owns what this store creates."""
        return self.user.name if self.user is not None else LOCAL_NAME

    def adopt_unowned(self, owner: str) -> int:
        """Give what belongs to ``local`` (everything made before sign-in was switched on) to ``owner``, the
        first administrator; returns how many runs moved (0, and no write, when there is nothing to move)."""
        if owner == LOCAL_NAME or not self._query("SELECT 1 FROM runs WHERE owner = ? UNION ALL SELECT 1 FROM"
                                                   " dataset_owners WHERE owner = ? UNION ALL SELECT 1 FROM sweeps"
                                                   " WHERE owner = ? LIMIT 1", (LOCAL_NAME,) * 3):
            return 0
        with self._tx() as c:
            moved = c.execute("UPDATE runs SET owner = ? WHERE owner = ?", (owner, LOCAL_NAME)).rowcount
            c.execute("UPDATE sweeps SET owner = ? WHERE owner = ?", (owner, LOCAL_NAME))
            c.execute("INSERT OR IGNORE INTO dataset_owners(dataset_id, owner, created) SELECT dataset_id, ?, created"
                      " FROM dataset_owners WHERE owner = ?", (owner, LOCAL_NAME))
            c.execute("DELETE FROM dataset_owners WHERE owner = ?", (LOCAL_NAME,))
        return moved

    def _owner_sql(self, column: str = "owner") -> tuple[str, tuple]:
        """(" AND owner = ?", (name,)) for a scoped store, else ("", ())."""
        return (f" AND {column} = ?", (self.user.name,)) if self.scoped else ("", ())

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
