"""Plain progress records handed from training to whoever listens (CLI, worker -> run store), and a run's
progress as numpy columns for loss charts (:class:`HistoryColumns`; numpy is imported when one is built)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Progress:
    """One point of training progress.

    kind: "batch" (throttled, a few a second at most) or "epoch" (every epoch, always); "final" for the
    batches and epochs of the final fit on training + validation data (``TrainSpec.final_fit``), which the
    loss chart leaves out (they have no validation loss) and the progress bar shows as its own phase.
    loss / val_loss are the running training loss and the epoch's validation loss.
    """

    kind: str
    epoch: int                 # 1-based epoch number
    epochs: int                # planned epochs
    batch: int = 0             # 1-based batch within the epoch (batches per epoch in `batches`)
    batches: int = 0
    seen: int = 0              # training samples seen since the run started
    elapsed: float = 0.0       # seconds since fit started
    loss: float | None = None
    val_loss: float | None = None
    metrics: dict = field(default_factory=dict)   # e.g. {"accuracy": .9, "val_accuracy": .8}
    lr: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Progress":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


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
