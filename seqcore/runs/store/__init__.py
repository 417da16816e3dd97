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

Modules, by job:

- :mod:`~seqcore.runs.store.records`: statuses, ids (validation, new ids), errors, ``RunRecord``, ``DatasetInfo``
- :mod:`~seqcore.runs.store.schema`: tables, migrations, connections (WAL), transactions
- :mod:`~seqcore.runs.store.core`: ``RunStore``, made of one mixin per area:
  :mod:`~seqcore.runs.store.datasets`, :mod:`~seqcore.runs.store.runs` (run rows),
  :mod:`~seqcore.runs.store.jobs` (the runner's job life cycle), :mod:`~seqcore.runs.store.history`
  (progress points; ``HistoryColumns`` lives in :mod:`seqcore.modeling.progress`) and
  :mod:`~seqcore.runs.store.artifacts` (run folders, logs)
"""

from __future__ import annotations

from seqcore.fsutil import atomic_write_bytes, atomic_write_text
from seqcore.modeling.progress import HistoryColumns, Progress
from seqcore.runs.store.core import RunStore
from seqcore.runs.store.history import CURVE_CACHE_RUNS
from seqcore.runs.store.records import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    JOB_KINDS,
    RESUMABLE_STATUSES,
    STATUSES,
    DatasetInfo,
    DatasetNotFound,
    RunNotFound,
    RunRecord,
    default_home,
    display_name,
    is_valid_dataset_id,
    is_valid_run_id,
    new_run_id,
)
from seqcore.runs.store.schema import MIGRATIONS, SCHEMA_VERSION, connect, migrate, schema_version

__all__ = [
    "ACTIVE_STATUSES", "CURVE_CACHE_RUNS", "FINAL_STATUSES", "JOB_KINDS", "MIGRATIONS", "RESUMABLE_STATUSES",
    "SCHEMA_VERSION", "STATUSES", "DatasetInfo", "DatasetNotFound", "HistoryColumns", "Progress", "RunNotFound",
    "RunRecord", "RunStore", "atomic_write_bytes", "atomic_write_text", "connect", "default_home", "display_name",
    "is_valid_dataset_id", "is_valid_run_id", "migrate", "new_run_id", "schema_version",
]
