"""Plain progress records handed from training to whoever listens (CLI, worker -> run store), and a run's
progress as numpy columns for loss charts (:class:`HistoryColumns`; numpy is imported when one is built)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


#: Progress kinds that are not part of a run's loss curves: the final fit's ("final"), the backtest's
#: ("backtest", seqcore.modeling.backtest: ``epoch`` is the fold, ``batch`` the fold's epoch) and the search
#: for the forecaster's base ("choose", seqcore.modeling.base_select: ``epoch`` is the candidate, ``batch`` its
#: epoch, ``metrics["candidate"]`` its name) and a seed ensemble's members after the first ("member",
#: seqcore.modeling.ensemble: ``epoch`` is the member, ``batch`` its epoch, ``metrics["phase"]`` train or final).
NOT_CURVE_KINDS = ("final", "backtest", "choose", "member")


@dataclass
class Progress:
    """One point of training progress.

    kind: "batch" (throttled, a few a second at most) or "epoch" (every epoch, always); "final" for the
    batches and epochs of the final fit on training + validation data (``TrainSpec.final_fit``), which the
    loss chart leaves out (they have no validation loss) and the progress bar shows as its own phase;
    "backtest" for the backtest's folds (``epoch`` = fold, ``epochs`` = folds, ``batch`` / ``batches`` = the
    fold's epoch / planned epochs), also left out of the loss chart; "choose" for the base search before the
    run trains (``epoch`` = candidate, ``epochs`` = candidates, ``batch`` / ``batches`` = the candidate's epoch /
    planned epochs, ``metrics["candidate"]`` = its name), left out too.
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
            if getattr(p, "kind", None) in NOT_CURVE_KINDS or (isinstance(p, dict)
                                                                and p.get("kind") in NOT_CURVE_KINDS):
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


# ----------------------------------------------------------------------------- the overfitting rule

OVERFIT_EPOCHS = 3        # the best validation loss must be at least this many epochs old
OVERFIT_MARGIN = 0.05     # and the recent validation losses at least this share above it (relative)
OVERFIT_NOISE = 2.5       # and their rise at least this many times the curve's epoch-to-epoch jitter


@dataclass(frozen=True)
class Overfitting:
    """Validation loss rising clearly while training loss falls (see :func:`overfitting`)."""

    best_epoch: int           # the epoch of the lowest validation loss
    epochs_since: int         # epochs run since then
    rise: float               # recent validation loss over the best, relative (0.12 = 12% higher)


def overfitting(epochs, loss, val_loss, *, min_epochs: int = OVERFIT_EPOCHS, margin: float = OVERFIT_MARGIN,
                noise: float = OVERFIT_NOISE) -> Overfitting | None:
    """Whether a run's curves show overfitting: an :class:`Overfitting` when all of these hold, else None.

    - the lowest validation loss is at least ``min_epochs`` epochs old (each epoch's loss taken as the median
      of it and its two neighbours, so one lucky epoch of a noisy curve is not its best);
    - the recent validation loss (the median of the last ``min_epochs`` epochs, so one spike does not count)
      is above that best by at least ``margin`` of it (relative: the same rule for losses of 0.001 or 1000);
    - and by at least ``noise`` times the curve's jitter (the median absolute second difference of the
      validation losses: about 0 for smooth curves, large for noisy ones), so a flat but noisy curve, whose
      best is only its luckiest epoch, does not count;
    - the training loss is lower now than at the best epoch (the model still learns the training data).

    ``epochs``, ``loss``, ``val_loss``: one value per finished epoch (any order of epochs; NaN / None where an
    epoch has no number; epochs without both losses are left out). Flat curves, falling curves and runs without
    validation losses give None.
    """
    rows = []
    for e, lo, va in zip(epochs, loss, val_loss):
        lo, va = _num(lo), _num(va)
        if math.isfinite(lo) and math.isfinite(va) and math.isfinite(_num(e)):
            rows.append((float(e), lo, va))
    rows.sort()
    if len(rows) < min_epochs + 1:
        return None
    vals = [r[2] for r in rows]
    # each epoch's level: the median of it and its neighbours, so one lucky epoch is not "the best"
    level_at = [_median3(vals[max(0, i - 1):i + 2]) for i in range(len(vals))]
    best_i = min(range(len(vals)), key=level_at.__getitem__)      # the first lowest
    since = len(rows) - 1 - best_i
    if since < min_epochs:
        return None
    best = level_at[best_i]
    level = _median3(vals[-min_epochs:])
    rise = level - best
    scale = abs(best) if best != 0 else max(abs(v) for v in vals)
    if scale == 0 or rise < margin * scale:
        return None
    second = sorted(abs(a - 2 * b + c) for a, b, c in zip(vals, vals[1:], vals[2:]))
    jitter = second[len(second) // 2] if second else 0.0
    if rise < noise * jitter:
        return None
    if not rows[-1][1] < rows[best_i][1]:
        return None
    return Overfitting(best_epoch=int(rows[best_i][0]), epochs_since=since, rise=rise / scale)


def _median3(xs: list[float]) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2
