"""Plain progress records handed from training to whoever listens (CLI, worker -> run store)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
