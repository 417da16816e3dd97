"""Fair use on a shared server: each user's queued and running runs and stored data, and their limits.

Limits (``SEQSTUDIO_USER_MAX_ACTIVE_RUNS``, ``SEQSTUDIO_USER_MAX_STORAGE_MB``; 0 = none) apply to signed-in users
who are not administrators; a workspace without sign-in (one local administrator) has none. A sweep's trials count
towards its owner's runs but are never refused one by one (the sweep's own budget bounds them); fairness between
users in the queue is the run store's (:meth:`~seqcore.runs.store.RunStore.claim_next_job`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from seqcore import settings
from seqcore.errors import UserError


@dataclass(frozen=True)
class Usage:
    owner: str
    active_runs: int          # queued or running (sweep trials and prediction jobs included)
    storage_bytes: int        # uploaded files (each once) and run folders
    max_active_runs: int      # 0 = no limit
    max_storage_bytes: int    # 0 = no limit

    def sentence(self) -> str:
        """'2 of 20 runs queued or running · 140 MB of 5,000 MB stored' (no limit: no 'of')."""
        runs = f"{self.active_runs} of {self.max_active_runs}" if self.max_active_runs else f"{self.active_runs}"
        mb = self.storage_bytes / 2**20
        store = (f"{mb:,.0f} MB of {self.max_storage_bytes / 2**20:,.0f} MB" if self.max_storage_bytes
                 else f"{mb:,.0f} MB")
        return f"{runs} run{'s' if (self.max_active_runs or self.active_runs) != 1 else ''} queued or running · {store} stored"


def _folder_bytes(path: Path) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif e.is_file(follow_symlinks=False):
                        total += e.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def usage(store, owner: str | None = None) -> Usage:
    """``owner``'s (default: the store's user's) runs and storage, with the limits that apply to them."""
    owner = owner or store.owner_name
    files = store._query("SELECT COALESCE(SUM(d.size), 0) FROM datasets d JOIN dataset_owners o"
                         " ON o.dataset_id = d.id WHERE o.owner = ?", (owner,))[0][0]
    ids = [r["id"] for r in store._query("SELECT id FROM runs WHERE owner = ?", (owner,))]
    folders = sum(_folder_bytes(store.runs_dir / i) for i in ids)
    limited = store.scoped   # signed-in users who are not administrators
    return Usage(owner=owner, active_runs=store.active_count(owner), storage_bytes=int(files) + folders,
                 max_active_runs=settings.user_max_active_runs() if limited else 0,
                 max_storage_bytes=int(settings.user_max_storage_mb() * 2**20) if limited else 0)


def check_can_queue(store) -> None:
    """UserError (what to do) when the store's user may not queue another run or prediction now."""
    if not store.scoped:
        return
    u = usage(store)
    if u.max_active_runs and u.active_runs >= u.max_active_runs:
        raise UserError(f"You already have {u.active_runs} runs queued or running, the most one person may have at "
                        "once on this server.", hint="Wait until one finishes, or stop one on the Runs page.")
    if u.max_storage_bytes and u.storage_bytes >= u.max_storage_bytes:
        raise UserError(f"Your runs and files take {u.storage_bytes / 2**20:,.0f} MB, the most one person may keep "
                        f"on this server ({u.max_storage_bytes / 2**20:,.0f} MB).",
                        hint="Delete runs or uploaded files you no longer need on the Runs and Data pages.")


def check_can_store(store, extra_bytes: int) -> None:
    """UserError when storing ``extra_bytes`` more would take the store's user over their storage limit."""
    if not store.scoped:
        return
    u = usage(store)
    if u.max_storage_bytes and u.storage_bytes + extra_bytes > u.max_storage_bytes:
        raise UserError(f"This file ({extra_bytes / 2**20:,.1f} MB) would take your runs and files past the "
                        f"{u.max_storage_bytes / 2**20:,.0f} MB one person may keep on this server (you use "
                        f"{u.storage_bytes / 2**20:,.0f} MB).",
                        hint="Delete runs or uploaded files you no longer need on the Runs and Data pages.")


__all__ = ["Usage", "usage", "check_can_queue", "check_can_store"]
