"""The run store: datasets, runs, their history and artifacts, on disk.

One SQLite database (standard library, WAL mode) at ``<home>/store.sqlite`` holds
datasets, runs and per-run history; files live beside it::

    <home>/store.sqlite
    <home>/datasets/<sha256>.csv      uploaded bytes, stored once by content hash
    <home>/runs/<run id>/             one folder per run (bundle/, metrics.json,
                                      predictions.csv, checkpoint/, log.txt)

``home`` is ``$SEQSTUDIO_HOME`` or ``~/.seqstudio`` (:func:`default_home`).

Every process and every thread gets its own SQLite connection (a connection is
never shared across processes). Writes run in ``BEGIN IMMEDIATE`` transactions
with a generous busy timeout, so several browser sessions, the supervisor and
its workers can all write at once. Files are written atomically
(:func:`atomic_write_bytes`): a crash never leaves a half-written artifact that
looks complete.

History points carry a store-wide, never-reused sequence number ``seq``; a page
polls ``read_history(run_id, after_seq=last_seen)`` to get only what is new.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seqcore.errors import UserError
from seqcore.fsutil import atomic_write_bytes, atomic_write_text  # noqa: F401 - re-exported
from seqcore.modeling.progress import Progress

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("finished", "stopped", "failed", "interrupted")
RESUMABLE_STATUSES = ("interrupted", "failed", "stopped")
JOB_KINDS = ("train", "predict")

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_-]{6,40}$")
_DATASET_ID_RE = re.compile(r"^[0-9a-f]{64}$")


class RunNotFound(UserError):
    """No run (or job) with this id in the store."""


class DatasetNotFound(UserError):
    """No dataset with this id in the store."""


# --------------------------------------------------------------------------- helpers

def default_home() -> Path:
    """The data folder: ``$SEQSTUDIO_HOME`` when set, else ``~/.seqstudio``."""
    env = os.environ.get("SEQSTUDIO_HOME", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".seqstudio"


def new_run_id() -> str:
    """A short random URL-safe id (11 characters), e.g. ``'q3Zr8_Lx0aA'``."""
    return secrets.token_urlsafe(8)


def is_valid_run_id(run_id: object) -> bool:
    """True when ``run_id`` looks like a run id (letters, digits, ``_`` and ``-``, 6-40 long).

    Used on anything that comes from a URL or the command line before it reaches
    a file path or the database.
    """
    return isinstance(run_id, str) and bool(_RUN_ID_RE.match(run_id))


def display_name(name: object, default: str = "data.csv") -> str:
    """An uploaded file's name made safe to show and store: the last path part only (``../../x.csv`` ->
    ``x.csv``), printable characters only (no NUL, newlines or control codes), at most 200 characters.
    Only ever shown to people; files are stored under their content hash, never under this name."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:200] or default


def is_valid_dataset_id(dataset_id: object) -> bool:
    """True when ``dataset_id`` is a lowercase hex sha256."""
    return isinstance(dataset_id, str) and bool(_DATASET_ID_RE.match(dataset_id))


def _now() -> float:
    return time.time()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, default=_json_default)


def _json_default(o: Any):
    # numpy scalars / arrays, paths and tuples sneak into metrics dicts
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (Path, set, frozenset)):
        return str(o) if isinstance(o, Path) else sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


# --------------------------------------------------------------------------- schema

_V1 = """
CREATE TABLE datasets (
    id       TEXT PRIMARY KEY,            -- sha256 of the bytes
    name     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    n_rows   INTEGER,
    n_cols   INTEGER,
    format   TEXT NOT NULL DEFAULT '{}',  -- detected CSV format, JSON
    created  REAL NOT NULL
);
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    created         REAL NOT NULL,
    started         REAL,
    ended           REAL,
    status          TEXT NOT NULL,
    task            TEXT,
    spec            TEXT NOT NULL,        -- RunSpec JSON
    dataset_id      TEXT,
    test_dataset_id TEXT,
    error           TEXT,                 -- plain message for users
    worker_pid      INTEGER,
    stop_requested  INTEGER NOT NULL DEFAULT 0,
    summary         TEXT                  -- metrics JSON
);
CREATE INDEX runs_status ON runs(status, created);
CREATE TABLE history (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,  -- store-wide, never reused
    run_id  TEXT NOT NULL,
    kind    TEXT NOT NULL,                      -- epoch | batch
    point   TEXT NOT NULL                       -- Progress JSON
);
CREATE INDEX history_run ON history(run_id, seq);
"""

_V2 = """
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'train';
ALTER TABLE runs ADD COLUMN csv_options TEXT;
ALTER TABLE runs ADD COLUMN epochs_run INTEGER;
ALTER TABLE runs ADD COLUMN best_val_loss REAL;
ALTER TABLE runs ADD COLUMN worker_started REAL;
ALTER TABLE runs ADD COLUMN stop_requested_at REAL;
ALTER TABLE runs ADD COLUMN resume INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN source_run_id TEXT;
ALTER TABLE runs ADD COLUMN sweep_id TEXT;
ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
CREATE INDEX runs_kind ON runs(kind, created);
CREATE INDEX runs_sweep ON runs(sweep_id);
"""

_V3 = """
CREATE TABLE sweeps (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    created        REAL NOT NULL,
    ended          REAL,
    status         TEXT NOT NULL,        -- running | finished | stopped | failed
    task           TEXT,
    config         TEXT NOT NULL,        -- seqcore.sweeps.SweepConfig JSON (what varies, method, budget...)
    base_spec      TEXT NOT NULL,        -- RunSpec JSON every trial starts from
    dataset_id     TEXT,
    test_dataset_id TEXT,
    csv_options    TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    n_trials       INTEGER NOT NULL DEFAULT 0,   -- trials started so far
    best_run_id    TEXT,
    best_value     REAL,
    error          TEXT
);
CREATE INDEX sweeps_status ON sweeps(status, created);
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        for stmt in sql.split(";"):
            if stmt.strip():
                conn.execute(stmt)
    return step


#: Schema migrations, applied in order inside one transaction each. Step i takes
#: the database from version i to i + 1. Never edit a released step: append one.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _script(_V1),   # -> v1: datasets, runs, history
    _script(_V2),   # -> v2: job kinds, csv options, live summary columns, resume, sweeps/tags
    _script(_V3),   # -> v3: sweeps (hyperparameter searches; their trials are runs with sweep_id)
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (0 for an empty database)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, target: int | None = None, *, where: str = "") -> int:
    """Apply pending :data:`MIGRATIONS` up to ``target`` (default: latest). Returns the version.

    Safe when several processes open the store at once: the version is re-read
    inside an exclusive transaction before each step.
    """
    target = SCHEMA_VERSION if target is None else target
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise UserError(
                    f"The run store{where} was written by a newer version of Sequence Studio "
                    f"(schema {version}, this one knows {SCHEMA_VERSION}).",
                    hint="Update Sequence Studio, or set SEQSTUDIO_HOME to another folder.",
                )
            if version >= target:
                conn.execute("COMMIT")
                return version
            MIGRATIONS[version](conn)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version(version) VALUES (?)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def connect(db_path: Path | str) -> sqlite3.Connection:
    """A new autocommit connection with WAL, a 30 s busy timeout and Row results."""
    conn = sqlite3.connect(str(db_path), timeout=30.0, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


# --------------------------------------------------------------------------- records

@dataclass
class DatasetInfo:
    """A stored dataset. ``id`` is the sha256 of its bytes; ``format`` the detected CSV options."""

    id: str
    name: str
    size: int
    n_rows: int | None
    n_cols: int | None
    format: dict
    created: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunRecord:
    """One run (``kind='train'``) or prediction job (``kind='predict'``) as stored.

    Times are Unix seconds. ``spec`` is the RunSpec JSON for training runs and
    ``{"source_run_id": ...}`` for prediction jobs. ``summary`` holds the final
    metrics (``{"test": ..., "baselines": ..., "comparison": ...}``) once a run ends.
    ``attempt`` counts starts (1 for the first, +1 on every resume): a page that
    caches history should re-read it when the attempt changes.
    """

    id: str
    name: str
    kind: str
    status: str
    task: str | None
    spec: dict
    dataset_id: str | None
    test_dataset_id: str | None
    csv_options: dict | None
    created: float
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    worker_pid: int | None = None
    worker_started: float | None = None
    stop_requested: bool = False
    stop_requested_at: float | None = None
    summary: dict | None = None
    epochs_run: int | None = None
    best_val_loss: float | None = None
    resume: bool = False
    attempt: int = 1
    source_run_id: str | None = None
    sweep_id: str | None = None
    tags: dict = field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to now while running)."""
        if self.started is None:
            return None
        return (self.ended or _now()) - self.started

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "RunRecord":
        return cls(
            id=row["id"], name=row["name"], kind=row["kind"], status=row["status"], task=row["task"],
            spec=_loads(row["spec"], {}), dataset_id=row["dataset_id"], test_dataset_id=row["test_dataset_id"],
            csv_options=_loads(row["csv_options"]), created=row["created"], started=row["started"],
            ended=row["ended"], error=row["error"], worker_pid=row["worker_pid"],
            worker_started=row["worker_started"], stop_requested=bool(row["stop_requested"]),
            stop_requested_at=row["stop_requested_at"], summary=_loads(row["summary"]),
            epochs_run=row["epochs_run"], best_val_loss=row["best_val_loss"], resume=bool(row["resume"]),
            attempt=row["attempt"], source_run_id=row["source_run_id"], sweep_id=row["sweep_id"],
            tags=_loads(row["tags"], {}) or {},
        )


# --------------------------------------------------------------------------- store

# The points a loss chart draws: all but the final fit's (kind "final", see seqcore.modeling.progress.Progress).
_CURVE_POINTS = "kind != 'final'"


class RunStore:
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

    def _tx(self) -> "_Tx":
        return _Tx(self._conn())

    def _query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    # ---- datasets
    def add_dataset(self, data: bytes, name: str, *, n_rows: int | None = None, n_cols: int | None = None,
                    fmt: dict | None = None) -> str:
        """Store ``data`` once (by sha256) and return its id. Re-adding updates missing shape/format."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("data must be bytes")
        ds_id = hashlib.sha256(data).hexdigest()
        path = self.dataset_path(ds_id)
        if not path.exists() or path.stat().st_size != len(data):
            atomic_write_bytes(path, bytes(data))
        name = display_name(name)
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO datasets(id, name, size, n_rows, n_cols, format, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ds_id, name, len(data), n_rows, n_cols, _dumps(fmt or {}), _now()),
            )
            if n_rows is not None or n_cols is not None or fmt:
                c.execute(
                    "UPDATE datasets SET n_rows = COALESCE(?, n_rows), n_cols = COALESCE(?, n_cols),"
                    " format = CASE WHEN ? = '{}' THEN format ELSE ? END WHERE id = ?",
                    (n_rows, n_cols, _dumps(fmt or {}), _dumps(fmt or {}), ds_id),
                )
        return ds_id

    def dataset_path(self, dataset_id: str) -> Path:
        if not is_valid_dataset_id(dataset_id):
            raise DatasetNotFound(f"{dataset_id!r} is not a dataset id.")
        return self.datasets_dir / f"{dataset_id}.csv"

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        self.dataset_path(dataset_id)  # validates
        rows = self._query("SELECT * FROM datasets WHERE id = ?", (dataset_id,))
        if not rows:
            raise DatasetNotFound(f"Dataset {dataset_id[:12]} is not in the store (it may have been deleted).",
                                  hint="Upload the file again.")
        return self._dataset(rows[0])

    def dataset_bytes(self, dataset_id: str) -> bytes:
        """The stored bytes of a dataset (raises :class:`DatasetNotFound` when gone)."""
        info = self.get_dataset(dataset_id)
        try:
            return self.dataset_path(dataset_id).read_bytes()
        except FileNotFoundError:
            raise DatasetNotFound(f"The file of dataset {info.name!r} is missing from {self.datasets_dir}.",
                                  hint="Upload the file again.") from None

    def list_datasets(self) -> list[DatasetInfo]:
        """All datasets, newest first."""
        return [self._dataset(r) for r in self._query("SELECT * FROM datasets ORDER BY created DESC, name")]

    def dataset_runs(self, dataset_id: str) -> list[str]:
        """Ids of runs / jobs that use a dataset (as training or test data)."""
        rows = self._query("SELECT id FROM runs WHERE dataset_id = ? OR test_dataset_id = ? ORDER BY created",
                           (dataset_id, dataset_id))
        return [r["id"] for r in rows]

    def delete_dataset(self, dataset_id: str, *, force: bool = False) -> None:
        """Delete a dataset and its file.

        Refuses (:class:`UserError`) when runs use it, unless ``force``; even with
        ``force`` it refuses while a queued or running job needs it. Runs that
        used it keep their results.
        """
        info = self.get_dataset(dataset_id)
        with self._tx() as c:
            users = c.execute(
                "SELECT id, status FROM runs WHERE dataset_id = ? OR test_dataset_id = ?",
                (dataset_id, dataset_id)).fetchall()
            active = [r["id"] for r in users if r["status"] in ACTIVE_STATUSES]
            if active:
                raise UserError(f"Dataset {info.name!r} is used by {len(active)} queued or running run(s) "
                                f"({', '.join(active[:5])}).", hint="Stop them first, then delete the dataset.")
            if users and not force:
                raise UserError(f"Dataset {info.name!r} is used by {len(users)} run(s).",
                                hint="Their results stay, but they cannot be resumed or rerun. "
                                     "Confirm to delete it anyway.")
            c.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        self.dataset_path(dataset_id).unlink(missing_ok=True)

    @staticmethod
    def _dataset(row: sqlite3.Row) -> DatasetInfo:
        return DatasetInfo(id=row["id"], name=row["name"], size=row["size"], n_rows=row["n_rows"],
                           n_cols=row["n_cols"], format=_loads(row["format"], {}), created=row["created"])

    # ---- runs
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

    # ---- job life cycle (used by the runner)
    def claim_next_job(self, *, kinds: Iterable[str] = JOB_KINDS, worker_pid: int | None = None,
                       worker_started: float | None = None) -> RunRecord | None:
        """Atomically move the oldest queued job of ``kinds`` to ``running``; None when none is queued."""
        kinds = list(kinds)
        with self._tx() as c:
            row = c.execute(
                f"SELECT id FROM runs WHERE status = 'queued' AND kind IN ({','.join('?' * len(kinds))})"
                " ORDER BY created, rowid LIMIT 1", kinds).fetchone()
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
        rec = self.get_run(run_id)
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
        rec = self.get_run(run_id)
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

    def running_jobs(self) -> list[RunRecord]:
        """All jobs (training and prediction) with status ``running``."""
        return self.list_runs(kind=None, status="running")

    def stop_requests(self) -> list[tuple[str, float]]:
        """``(run id, stop requested at)`` of running jobs asked to stop."""
        rows = self._query("SELECT id, stop_requested_at FROM runs WHERE status = 'running' AND stop_requested = 1")
        return [(r["id"], r["stop_requested_at"] or _now()) for r in rows]

    # ---- history
    def append_history(self, run_id: str, points: Iterable[Progress | dict]) -> int:
        """Append progress points in one transaction. Returns the last ``seq`` written (0 when none)."""
        rows = []
        for p in points:
            d = p.to_dict() if isinstance(p, Progress) else dict(p)
            rows.append((run_id, str(d.get("kind", "epoch")), _dumps(d)))
        if not rows:
            return 0
        with self._tx() as c:
            c.executemany("INSERT INTO history(run_id, kind, point) VALUES (?, ?, ?)", rows)
            return int(c.execute("SELECT last_insert_rowid()").fetchone()[0])

    def read_history(self, run_id: str, after_seq: int = 0, *, kind: str | None = None,
                     limit: int | None = None) -> list[tuple[int, Progress]]:
        """Points of a run with ``seq > after_seq``, oldest first, as ``(seq, Progress)``.

        Cheap: one indexed range scan. Poll with the last ``seq`` you saw.
        """
        sql = "SELECT seq, point FROM history WHERE run_id = ? AND seq > ?"
        params: list = [run_id, int(after_seq)]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cur = self._conn().execute(sql, params)
        cur.row_factory = None  # plain tuples: cheaper than sqlite3.Row for many rows
        rows = cur.fetchall()
        if not rows:
            return []
        # one json.loads over all points: a third cheaper than one call per point for long histories;
        # the cyclic garbage collector paused meanwhile (it would rescan the growing heap of new dicts
        # many times: up to half the cost of a 50,000-point read)
        with _gc_paused(len(rows) > 5_000):
            dicts = json.loads("[" + ",".join([r[1] for r in rows]) + "]")
            return [(r[0], _progress(d)) for r, d in zip(rows, dicts)]

    def read_history_columns(self, run_id: str, after_seq: int = 0) -> "HistoryColumns":
        """Points of a run with ``seq > after_seq`` as columns (what a loss chart needs), oldest first.

        The fields are picked out of the stored JSON by SQLite (no Python object per point): for 50,000
        points about 120 ms of CPU here, against ~300 ms for :meth:`read_history`. Points SQLite's JSON reader refuses (a
        ``NaN`` token) fall back to reading them in Python.
        """
        # batch points: epoch, batch, batches, loss; epoch points: epoch, loss, val_loss (each json_extract
        # parses the point again, so fields a chart does not use for that kind are not extracted)
        sql = ("SELECT seq, kind != 'batch', json_extract(point, '$.epoch'),"
               " CASE WHEN kind = 'batch' THEN json_extract(point, '$.batch') END,"
               " CASE WHEN kind = 'batch' THEN json_extract(point, '$.batches') END,"
               " json_extract(point, '$.loss'),"
               " CASE WHEN kind = 'batch' THEN NULL ELSE json_extract(point, '$.val_loss') END,"
               " CASE WHEN kind = 'batch' THEN NULL ELSE json_extract(point, '$.metrics.val_accuracy') END"
               f" FROM history WHERE run_id = ? AND seq > ? AND {_CURVE_POINTS} ORDER BY seq")
        try:
            cur = self._conn().execute(sql, (run_id, int(after_seq)))
            cur.row_factory = None
            rows = cur.fetchall()
        except sqlite3.OperationalError:  # malformed JSON for SQLite (NaN / Infinity written by json.dumps)
            cur = self._conn().execute("SELECT seq, kind, point FROM history WHERE run_id = ? AND seq > ?"
                                       f" AND {_CURVE_POINTS} ORDER BY seq", (run_id, int(after_seq)))
            cur.row_factory = None
            rows = []
            for seq, kind, point in cur.fetchall():
                try:
                    d = json.loads(point)
                except ValueError:
                    d = {}
                d = d if isinstance(d, dict) else {}
                rows.append((seq, kind != "batch", *(_num(d.get(k)) for k in HistoryColumns.FIELDS[:-1]),
                             _num(_val_accuracy(d)) if kind != "batch" else None))
        return HistoryColumns.from_rows(rows)

    def history_columns(self, run_id: str) -> "HistoryColumns":
        """All points of a run as columns, read incrementally and kept in memory (for live charts).

        The first call reads the whole history once; later calls read only the points written since
        (an indexed range scan) plus one count, in one read transaction, to notice deleted points (a
        resumed run redoing epochs, a deleted run) and then start over. The newest
        ``CURVE_CACHE_RUNS`` runs are kept. Thread safe; the arrays returned are shared: read only.
        """
        cache, lock = _curve_cache(self)
        with lock:
            cached = cache.get(run_id)
        conn = self._conn()
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")  # one snapshot for the new points and the count
        try:
            if cached is None:
                cols = self.read_history_columns(run_id)
            else:
                new = self.read_history_columns(run_id, after_seq=cached.last_seq)
                cols = cached.concat(new)
                if len(cols) != self.count_history(run_id, curve=True):
                    cols = self.read_history_columns(run_id)
        finally:
            if own:
                conn.execute("COMMIT")
        with lock:
            cache[run_id] = cols
            cache.move_to_end(run_id)
            while len(cache) > CURVE_CACHE_RUNS:
                cache.popitem(last=False)
        return cols

    def count_history(self, run_id: str, *, kind: str | None = None, curve: bool = False) -> int:
        """How many points a run has (of ``kind``; ``curve``: those a loss chart draws, without the final fit's)."""
        sql, params = "SELECT COUNT(*) FROM history WHERE run_id = ?", [run_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if curve:
            sql += f" AND {_CURVE_POINTS}"
        return int(self._query(sql, params)[0][0])

    def trim_history(self, run_id: str, from_epoch: int) -> int:
        """Delete points of epochs >= ``from_epoch`` and any final fit's (a resumed run redoes them).
        Returns how many."""
        with self._tx() as c:
            n = c.execute(
                "DELETE FROM history WHERE run_id = ? AND (kind = 'final'"
                " OR CAST(json_extract(point, '$.epoch') AS INTEGER) >= ?)",
                (run_id, int(from_epoch))).rowcount
            c.execute(
                "UPDATE runs SET"
                " epochs_run = (SELECT MAX(CAST(json_extract(point, '$.epoch') AS INTEGER)) FROM history"
                "               WHERE run_id = ?1 AND kind = 'epoch'),"
                " best_val_loss = (SELECT MIN(json_extract(point, '$.val_loss')) FROM history"
                "                  WHERE run_id = ?1 AND kind = 'epoch')"
                " WHERE id = ?1", (run_id,))
            return n

    # ---- artifacts and logs
    def run_dir(self, run_id: str) -> Path:
        """``<home>/runs/<run id>/`` (not created here)."""
        if not is_valid_run_id(run_id):
            raise RunNotFound(f"{str(run_id)[:60]!r} is not a valid run id.")
        return self.runs_dir / run_id

    def log_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "log.txt"

    def append_log(self, run_id: str, text: str) -> None:
        """Append a timestamped line (or block) to the run's technical log."""
        path = self.log_path(run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"[{stamp}] {text.rstrip()}\n")

    def log_exception(self, run_id: str, exc: BaseException, context: str = "") -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.append_log(run_id, f"{context}\n{tb}" if context else tb)

    def artifacts(self, run_id: str) -> dict[str, Path]:
        """Artifact paths of a run that exist: folder, bundle, metrics, predictions, forecast, checkpoint, log."""
        d = self.run_dir(run_id)
        candidates = {
            "folder": d,
            "bundle": d / "bundle",
            "metrics": d / "metrics.json",
            "predictions": d / "predictions.csv",
            "forecast": d / "forecast.csv",
            "checkpoint": d / "checkpoint",
            "log": d / "log.txt",
        }
        return {k: p for k, p in candidates.items() if p.exists()}


# --------------------------------------------------------------------------- history as columns

CURVE_CACHE_RUNS = 8            # runs whose history columns RunStore.history_columns keeps in memory
_CURVE_CACHE_LOCK = threading.Lock()


def _curve_cache(store: "RunStore"):
    """(OrderedDict run id -> HistoryColumns, lock) of one RunStore, created on first use."""
    with _CURVE_CACHE_LOCK:
        got = store.__dict__.get("_curves")
        if got is None:
            from collections import OrderedDict

            got = store.__dict__["_curves"] = (OrderedDict(), threading.Lock())
        return got


class _gc_paused:
    """``with _gc_paused(flag):`` no cyclic garbage collection inside while ``flag`` (restored after)."""

    def __init__(self, flag: bool):
        self.flag = flag and gc.isenabled()

    def __enter__(self) -> None:
        if self.flag:
            gc.disable()

    def __exit__(self, *exc) -> None:
        if self.flag:
            gc.enable()


def _progress(d: dict) -> Progress:
    """Progress from a stored dict (fast path when it holds only Progress fields, as written)."""
    try:
        return Progress(**d)
    except TypeError:  # extra or missing keys (older or foreign rows)
        return Progress.from_dict(d)


def _num(v) -> float:
    """A stored value as a float; NaN for None, text, or anything else that is not a number."""
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _val_accuracy(d: dict):
    """An epoch point's validation accuracy (kept in its metrics), or None."""
    if d.get("kind", "epoch") == "batch":
        return None
    m = d.get("metrics")
    return m.get("val_accuracy") if isinstance(m, dict) else None


@dataclass(frozen=True)
class HistoryColumns:
    """The progress points of one run as columns, store order; every array has the run's n points.

    seq:      (n,) int64 store-wide sequence numbers (increasing)
    is_epoch: (n,) bool, True for an epoch point (points without a kind count as epochs), else a batch point
    epoch, batch, batches, loss, val_loss, val_accuracy: (n,) float64, NaN where the point has no (finite)
    number (val_accuracy: an epoch point's ``metrics["val_accuracy"]``, classification with validation data)
    """

    seq: Any
    is_epoch: Any
    epoch: Any
    batch: Any
    batches: Any
    loss: Any
    val_loss: Any
    val_accuracy: Any

    FIELDS = ("epoch", "batch", "batches", "loss", "val_loss", "val_accuracy")

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    @property
    def last_seq(self) -> int:
        """The newest point's ``seq`` (0 when empty): poll with ``after_seq=last_seq``."""
        return int(self.seq[-1]) if len(self) else 0

    @classmethod
    def from_rows(cls, rows: list) -> "HistoryColumns":
        """From ``(seq, is_epoch, epoch, batch, batches, loss, val_loss, val_accuracy)`` tuples (SQL NULL -> NaN)."""
        import numpy as np

        if not rows:
            return cls.empty()
        try:
            vals = np.array(rows, dtype=np.float64)   # None -> NaN; seq stays exact below 2**53
        except (TypeError, ValueError):  # text where a number belongs
            vals = np.array([[_num(v) for v in r] for r in rows], dtype=np.float64)
        seq = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return cls(seq, vals[:, 1] == 1, *(np.ascontiguousarray(vals[:, i]) for i in range(2, 8)))

    @classmethod
    def from_points(cls, points, seqs=None) -> "HistoryColumns":
        """From Progress objects or dicts (``(seq, point)`` pairs also work); ``seqs`` default 1..n."""
        import numpy as np

        rows = []
        for i, p in enumerate(points or []):
            seq = seqs[i] if seqs is not None else i + 1
            if isinstance(p, tuple) and len(p) == 2:
                seq, p = p
            if getattr(p, "kind", None) == "final" or (isinstance(p, dict) and p.get("kind") == "final"):
                continue                         # the final fit's points are not part of the loss curves
            if isinstance(p, Progress):
                rows.append((seq, p.kind == "batch", p.epoch, p.batch, p.batches, p.loss, p.val_loss,
                             (p.metrics or {}).get("val_accuracy") if p.kind != "batch" else None))
                continue
            d = p.to_dict() if hasattr(p, "to_dict") else p
            if not isinstance(d, dict):
                raise TypeError(f"a progress point must be a Progress or a dict, got {type(p).__name__}")
            rows.append((seq, d.get("kind", "epoch") == "batch", d.get("epoch"), d.get("batch"),
                         d.get("batches"), d.get("loss"), d.get("val_loss"), _val_accuracy(d)))
        if not rows:
            return cls.empty()
        seq = np.array([r[0] for r in rows], dtype=np.int64)
        try:
            vals = np.array([r[2:] for r in rows], dtype=np.float64)   # None -> NaN
            if vals.shape != (len(rows), 6):
                raise ValueError("ragged")
        except (TypeError, ValueError):  # text or other objects where numbers belong
            vals = np.array([[_num(v) for v in r[2:]] for r in rows], dtype=np.float64).reshape(len(rows), 6)
        is_batch = np.array([r[1] for r in rows], dtype=bool)
        return cls(seq, ~is_batch, *(np.ascontiguousarray(vals[:, i]) for i in range(6)))

    @classmethod
    def empty(cls) -> "HistoryColumns":
        import numpy as np

        f = np.zeros(0, np.float64)
        return cls(np.zeros(0, np.int64), np.zeros(0, bool), f, f, f, f, f, f)

    def concat(self, other: "HistoryColumns") -> "HistoryColumns":
        """These points followed by ``other``'s (new arrays; neither input changes)."""
        import numpy as np

        if not len(other):
            return self
        if not len(self):
            return other
        return HistoryColumns(*(np.concatenate([getattr(self, k), getattr(other, k)])
                                for k in ("seq", "is_epoch") + self.FIELDS))


class _Tx:
    """``with store._tx() as conn:`` runs statements in one BEGIN IMMEDIATE transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
