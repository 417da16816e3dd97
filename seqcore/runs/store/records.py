"""The run store's records: statuses, ids, errors, and the dataclasses a row becomes.

No SQL here beyond reading an ``sqlite3.Row``; :mod:`seqcore.runs.store.schema` owns the tables.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seqcore.errors import UserError

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("finished", "stopped", "failed", "interrupted")
RESUMABLE_STATUSES = ("interrupted", "failed", "stopped")
JOB_KINDS = ("train", "predict")

# whole-string patterns: always use .fullmatch (with .match, "$" also matches before a trailing newline)
_RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]{6,40}")
_DATASET_ID_RE = re.compile(r"[0-9a-f]{64}")


class RunNotFound(UserError):
    """No run (or job) with this id in the store."""


class DatasetNotFound(UserError):
    """No dataset with this id in the store."""


# --------------------------------------------------------------------------- helpers

def default_home() -> Path:
    """The data folder: ``$SEQSTUDIO_HOME`` when set, else ``~/.seqstudio`` (:func:`seqcore.settings.default_home`)."""
    from seqcore import settings

    return settings.default_home()


def new_run_id() -> str:
    """A short random URL-safe id (11 characters), e.g. ``'q3Zr8_Lx0aA'``.

    It never starts with ``-`` or ``_``: an id such as ``-q3Zr8Lx0aA`` would be
    read as an option by the command line (``runs show -q3Zr8Lx0aA`` fails).
    """
    while True:
        rid = secrets.token_urlsafe(8)
        if rid[0].isalnum():
            return rid


def is_valid_run_id(run_id: object) -> bool:
    """True when ``run_id`` looks like a run id (letters, digits, ``_`` and ``-``, 6-40 long).

    Used on anything that comes from a URL or the command line before it reaches
    a file path or the database.
    """
    return isinstance(run_id, str) and bool(_RUN_ID_RE.fullmatch(run_id))


def display_name(name: object, default: str = "data.csv") -> str:
    """An uploaded file's name made safe to show and store: the last path part only (``../../x.csv`` ->
    ``x.csv``), printable characters only (no NUL, newlines or control codes), at most 200 characters.
    Only ever shown to people; files are stored under their content hash, never under this name."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:200] or default


def is_valid_dataset_id(dataset_id: object) -> bool:
    """True when ``dataset_id`` is a lowercase hex sha256."""
    return isinstance(dataset_id, str) and bool(_DATASET_ID_RE.fullmatch(dataset_id))


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
    owner: str = "local"               # the user it belongs to (seqcore.auth)
    share_token: str | None = None     # set while a read-only link to its results works

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
            tags=_loads(row["tags"], {}) or {}, owner=row["owner"], share_token=row["share_token"],
        )
