"""How a run's training went, in words true to its data: whether it had a validation part, which curve
picked the kept epoch and why training stopped (the Train page's finish message, the Results page and the
HTML report; with no validation part early stopping watches the training loss, see
:func:`seqcore.modeling.training.fit`)."""

from __future__ import annotations

from seqcore.config import RunSpec

WATCHED = {"val_loss": "validation loss", "val_accuracy": "validation accuracy", "loss": "training loss"}


def has_validation(spec: RunSpec, metrics: dict | None = None) -> bool:
    """Whether the run had a validation part: from what training recorded (``metrics["training"]``: the
    split sizes, what picked the epoch) when there is that, else from the spec's validation share. A
    classification set too small for one trains without it whatever the share (``tasks/common.py``)."""
    tr = (metrics or {}).get("training") or {}
    if tr.get("selected_by"):
        return tr["selected_by"] != "loss"
    sizes = tr.get("sizes") or {}
    if "val" in sizes:
        return bool(sizes.get("val"))
    return spec.data.val_fraction > 0


def training_outcome(spec: RunSpec, metrics: dict | None = None, *, epochs_run: int | None = None,
                     best_epoch: int | None = None) -> str:
    """How a finished run's training ended, in plain words true to its data: which curve picked the kept
    epoch and why training stopped (early stopping watches the validation score, or the training loss when
    there is no validation part; the Train page's finish message and the Results page)."""
    tr = (metrics or {}).get("training") or {}
    epochs = tr.get("epochs_run", epochs_run)
    best = tr.get("best_epoch", best_epoch)
    val = has_validation(spec, metrics)
    watched = WATCHED.get(tr.get("selected_by") or ("val_loss" if val else "loss"), "validation loss")
    out = f"Finished after {epochs or 0} epoch{'s' if epochs != 1 else ''}"
    if best:
        out += f"; the best was epoch {best}, with the {'highest' if watched.endswith('accuracy') else 'lowest'} " \
               f"{watched}"
    out += "."
    if not val:
        out += " There was no validation part, so the training loss picked the epoch to keep."
    if tr.get("stopped_by_user"):
        out += " You stopped it by hand."
    elif tr.get("early_stopped"):
        out += f" Early stopping ended it: the {watched} had not improved for {spec.train.patience} epochs."
    elif spec.train.patience == 0:
        out += " Early stopping was off, so it ran every planned epoch."
    elif epochs is not None and epochs >= spec.train.epochs:
        out += f" It ran all {spec.train.epochs} planned epochs: the {watched} was still improving."
    return out
