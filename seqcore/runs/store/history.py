"""RunStore's history: the progress points of each run, appended live and read back by pages.

History points carry a store-wide, never-reused sequence number ``seq``; a page polls
``read_history(run_id, after_seq=last_seen)`` to get only what is new, or
``history_columns(run_id)`` for a loss chart's columns (cached per store, read incrementally).
"""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
from collections.abc import Iterable

from seqcore.modeling.progress import NOT_CURVE_KINDS, HistoryColumns, Progress, _num, _val_accuracy
from seqcore.runs.store.records import _dumps

# The kinds no loss chart draws (the final fit's, the backtest's, the base search's: seqcore.modeling.progress),
# as an SQL list; the points a loss chart draws are all the others.
_NOT_CURVE_SQL = "(" + ", ".join(f"'{k}'" for k in NOT_CURVE_KINDS) + ")"
_CURVE_POINTS = f"kind NOT IN {_NOT_CURVE_SQL}"

CURVE_CACHE_RUNS = 8            # runs whose history columns RunStore.history_columns keeps in memory
_CURVE_CACHE_LOCK = threading.Lock()


def _curve_cache(store):
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


class HistoryMixin:
    """History methods of :class:`~seqcore.runs.store.RunStore` (which provides ``_tx``, ``_query``
    and ``_conn``)."""

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
        if self.scoped:
            self.get_run(run_id)   # another user's run: RunNotFound
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
        if self.scoped:
            self.get_run(run_id)   # another user's run: RunNotFound
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
        if self.scoped:
            self.get_run(run_id)   # another user's run: RunNotFound (the cache is shared by every view)
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
        if self.scoped:
            self.get_run(run_id)   # another user's run: RunNotFound
        sql, params = "SELECT COUNT(*) FROM history WHERE run_id = ?", [run_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if curve:
            sql += f" AND {_CURVE_POINTS}"
        return int(self._query(sql, params)[0][0])

    def trim_history(self, run_id: str, from_epoch: int) -> int:
        """Delete points of epochs >= ``from_epoch`` and any final fit's or backtest's (a resumed run redoes
        them). Returns how many."""
        with self._tx() as c:
            n = c.execute(
                f"DELETE FROM history WHERE run_id = ? AND (kind IN {_NOT_CURVE_SQL}"
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
