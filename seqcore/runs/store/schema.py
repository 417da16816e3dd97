"""The run store's SQLite schema: tables (DDL), migrations, connections (WAL) and transactions.

Every process and every thread gets its own SQLite connection (:func:`connect`; a connection is
never shared across processes). Writes run in ``BEGIN IMMEDIATE`` transactions (:class:`_Tx`)
with a generous busy timeout, so several browser sessions, the supervisor and its workers can
all write at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from seqcore.errors import UserError

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


_V4 = """
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
ALTER TABLE runs ADD COLUMN share_token TEXT;
ALTER TABLE sweeps ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
CREATE TABLE dataset_owners (
    dataset_id TEXT NOT NULL,
    owner      TEXT NOT NULL,
    created    REAL NOT NULL,
    PRIMARY KEY (dataset_id, owner)
);
INSERT INTO dataset_owners(dataset_id, owner, created) SELECT id, 'local', created FROM datasets;
CREATE INDEX runs_owner ON runs(owner, status, created);
CREATE UNIQUE INDEX runs_share ON runs(share_token);
CREATE INDEX sweeps_owner ON sweeps(owner, created);
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
    _script(_V4),   # -> v4: owners (runs, sweeps, datasets per owner; what existed belongs to 'local'), share links
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
