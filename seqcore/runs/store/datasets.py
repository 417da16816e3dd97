"""RunStore's datasets: uploaded CSV bytes stored once by content hash, and their rows."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from seqcore.errors import UserError
from seqcore.fsutil import atomic_write_bytes
from seqcore.runs.store.records import (
    ACTIVE_STATUSES,
    DatasetInfo,
    DatasetNotFound,
    _dumps,
    _loads,
    _now,
    display_name,
    is_valid_dataset_id,
)


class DatasetsMixin:
    """Dataset methods of :class:`~seqcore.runs.store.RunStore` (which provides ``_tx`` and ``_query``)."""

    def add_dataset(self, data: bytes, name: str, *, n_rows: int | None = None, n_cols: int | None = None,
                    fmt: dict | None = None) -> str:
        """Store ``data`` once (by sha256) and return its id. Re-adding updates missing shape/format."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("data must be bytes")
        ds_id = hashlib.sha256(data).hexdigest()
        if self.scoped and not self._query("SELECT 1 FROM dataset_owners WHERE dataset_id = ? AND owner = ?",
                                           (ds_id, self.user.name)):
            from seqcore.runs.limits import check_can_store

            check_can_store(self, len(data))   # a signed-in user's storage limit (seqcore.runs.limits)
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
            c.execute("INSERT OR IGNORE INTO dataset_owners(dataset_id, owner, created) VALUES (?, ?, ?)",
                      (ds_id, self.owner_name, _now()))
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
        if rows and self.scoped and not self._query(   # another user's upload: the same words as a missing one
                "SELECT 1 FROM dataset_owners WHERE dataset_id = ? AND owner = ?", (dataset_id, self.user.name)):
            rows = []
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
        """All datasets (a user's own), newest first."""
        if self.scoped:
            return [self._dataset(r) for r in self._query(
                "SELECT d.* FROM datasets d JOIN dataset_owners o ON o.dataset_id = d.id WHERE o.owner = ?"
                " ORDER BY o.created DESC, d.name", (self.user.name,))]
        return [self._dataset(r) for r in self._query("SELECT * FROM datasets ORDER BY created DESC, name")]

    def dataset_runs(self, dataset_id: str) -> list[str]:
        """Ids of runs / jobs that use a dataset (as training or test data; a user's own)."""
        extra, params = self._owner_sql()
        rows = self._query("SELECT id FROM runs WHERE (dataset_id = ? OR test_dataset_id = ?)" + extra
                           + " ORDER BY created", (dataset_id, dataset_id, *params))
        return [r["id"] for r in rows]

    def dataset_owners(self, dataset_id: str) -> list[str]:
        """Who uploaded this file (the same bytes are stored once, for everyone who uploaded them)."""
        return [r["owner"] for r in self._query("SELECT owner FROM dataset_owners WHERE dataset_id = ?"
                                                " ORDER BY created", (dataset_id,))]

    def delete_dataset(self, dataset_id: str, *, force: bool = False) -> None:
        """Delete a dataset and its file.

        Refuses (:class:`UserError`) when runs use it, unless ``force``; even with
        ``force`` it refuses while a queued or running job needs it. Runs that
        used it keep their results.
        """
        info = self.get_dataset(dataset_id)
        extra, params = self._owner_sql()
        with self._tx() as c:
            users = c.execute(
                "SELECT id, status FROM runs WHERE (dataset_id = ? OR test_dataset_id = ?)" + extra,
                (dataset_id, dataset_id, *params)).fetchall()
            active = [r["id"] for r in users if r["status"] in ACTIVE_STATUSES]
            if active:
                raise UserError(f"Dataset {info.name!r} is used by {len(active)} queued or running run(s) "
                                f"({', '.join(active[:5])}).", hint="Stop them first, then delete the dataset.")
            if users and not force:
                raise UserError(f"Dataset {info.name!r} is used by {len(users)} run(s).",
                                hint="Their results stay, but they cannot be resumed or rerun. "
                                     "Confirm to delete it anyway.")
            if self.scoped:   # the user's copy goes; the file stays while someone else has it too
                c.execute("DELETE FROM dataset_owners WHERE dataset_id = ? AND owner = ?", (dataset_id, self.user.name))
                if c.execute("SELECT 1 FROM dataset_owners WHERE dataset_id = ?", (dataset_id,)).fetchone():
                    return
            c.execute("DELETE FROM dataset_owners WHERE dataset_id = ?", (dataset_id,))
            c.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        self.dataset_path(dataset_id).unlink(missing_ok=True)

    @staticmethod
    def _dataset(row: sqlite3.Row) -> DatasetInfo:
        return DatasetInfo(id=row["id"], name=row["name"], size=row["size"], n_rows=row["n_rows"],
                           n_cols=row["n_cols"], format=_loads(row["format"], {}), created=row["created"])
