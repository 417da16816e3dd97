"""Pieces shared by the tasks: the Prepared container, column checks, label encoding,
stratified splits and the classification evaluation (metrics + baselines + predictions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seqcore.errors import DataError
from seqcore.modeling.models import ModelShape
from seqcore.data.windows import Source
from seqcore.data.schema.parsing import labels_as_strings  # noqa: F401 (the tasks' import place)


@dataclass
class Prepared:
    """A task's data, ready for a model.

    shape:  what the network's input/output must look like
    train/val/test: batch sources (val may be None when the validation fraction is 0)
    state:  JSON-able preprocessing state (scalers, vocabulary, column roles, class names...)
    notes:  plain-language notes on what was done to the data (shown to the user)
    extra:  task-private arrays for evaluation and baselines (not saved)
    """

    task: str
    shape: ModelShape
    train: Source
    val: Source | None
    test: Source
    state: dict
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def sizes(self) -> dict:
        return {"train": len(self.train), "val": 0 if self.val is None else len(self.val), "test": len(self.test)}


def require_columns(df: pd.DataFrame, columns, *, what: str = "the data") -> None:
    """DataError naming every missing column and listing the ones there are."""
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        have = ", ".join(map(str, list(df.columns)[:20])) + (" ..." if len(df.columns) > 20 else "")
        names = ", ".join(f"'{c}'" for c in missing)
        raise DataError(
            f"{what.capitalize()} has no column {names}.",
            hint=f"Columns found: {have}. Pick existing columns, or upload data with the same columns as before.",
        )


def encode_labels(labels: pd.Series, *, column: str) -> tuple[np.ndarray, list[str]]:
    names = sorted(labels.unique().tolist(), key=_natural_key)
    if len(names) < 2:
        only = names[0] if names else "nothing"
        raise DataError(
            f"Column '{column}' has only one class ({only!r}); a classifier needs at least two.",
            hint="Pick a different label column, or add examples of the other classes.",
        )
    index = {n: i for i, n in enumerate(names)}
    return labels.map(index).to_numpy(dtype=np.int64), names


def _natural_key(s: str):
    try:
        return (0, float(s), "")
    except ValueError:
        return (1, 0.0, s)


def stratified_split(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                     class_names: list[str] | None = None):
    """Indices (train, val, test, notes) keeping class proportions; falls back to a plain shuffled split
    (with a note) when a class is too small to be spread over every part.

    y: (n,) class indices. Raises :class:`DataError` when the training part would be empty or would
    hold a single class (nothing to learn); ``class_names`` (index -> name) make that message name it."""
    from sklearn.model_selection import train_test_split

    notes: list[str] = []
    idx = np.arange(len(y))
    counts = np.bincount(y)
    parts = (1 if val_fraction > 0 else 0) + (1 if test_fraction > 0 else 0) + 1
    stratify_ok = counts[counts > 0].min() >= parts
    if not stratify_ok:
        small = int(np.argmin(np.where(counts > 0, counts, 1 << 30)))
        notes.append(
            f"One class has only {counts[small]} example(s), too few to appear in every part of the split, "
            "so the split could not keep class proportions. Add more examples of it for a fair test."
        )

    def cut(pool, frac, rs):
        if frac <= 0 or len(pool) < 2:
            return pool, pool[:0]
        n_take = max(1, int(round(len(pool) * frac)))
        if n_take >= len(pool):
            n_take = len(pool) - 1
        strat = y[pool] if stratify_ok else None
        try:
            keep, take = train_test_split(pool, test_size=n_take, random_state=rs, stratify=strat)
        except ValueError:
            keep, take = train_test_split(pool, test_size=n_take, random_state=rs, stratify=None)
        return np.sort(keep), np.sort(take)

    rest, test = cut(idx, test_fraction, seed)
    val_rel = val_fraction / max(1e-9, 1 - test_fraction)
    train, val = cut(rest, val_rel, seed + 1)
    if len(train) == 0:
        raise DataError("There are too few rows to train on after setting aside validation and test data.",
                        hint="Upload more data or lower the validation and test fractions.")
    in_train = np.unique(y[train])
    if len(in_train) < 2 and len(counts[counts > 0]) >= 2:
        only = int(in_train[0])
        name = f" ({class_names[only]!r})" if class_names and only < len(class_names) else ""
        n_classes = int((counts > 0).sum())
        aside = " and ".join([f"{_pct(val_fraction)} for validation"] * (val_fraction > 0)
                             + [f"{_pct(test_fraction)} for the test"] * (test_fraction > 0))
        raise DataError(
            f"After setting aside {aside or 'validation and test data'}, the training part ({len(train)} "
            f"example(s)) would hold only one class{name} of the {n_classes} classes in the data, so the model "
            "could not learn to tell them apart.",
            hint="Add more rows, with several examples of every class, or lower the validation and test "
                 "fractions (shares) so more examples stay in training.")
    return train, val, test, notes


def _pct(f: float) -> str:
    return f"{f * 100:.0f}%"


MIN_VALIDATION = 20  # a validation part smaller than this cannot pick an epoch: one example moves it by 5%+


def train_on_small_validation(train: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(train, val, notes): a validation part of 1..MIN_VALIDATION-1 examples joins the training part.

    On a handful of examples the validation loss swings with single predictions, so early stopping
    and the learning-rate schedule would follow noise (and those examples would be lost to training).
    With no validation part the trainer watches the training loss and keeps its best epoch, the usual
    protocol for small sequence-classification sets (e.g. the UCR archive)."""
    if len(val) == 0 or len(val) >= MIN_VALIDATION:
        return train, val, []
    note = (f"The validation part would have only {len(val)} example(s), too few to choose the best epoch, so "
            f"they were added to training: the model is trained on {len(train) + len(val)} examples and keeps "
            f"the epoch with the lowest training loss. The test set is unchanged.")
    return np.sort(np.concatenate([train, val])), val[:0], [note]


def baseline_outputs(prep: Prepared, compute) -> dict:
    """The baselines' outputs on ``prep``'s test part, from ``compute()`` the first time and kept in
    ``prep.extra`` after that: they depend on the data only, and a run with a final fit evaluates two models."""
    if "baseline_outputs" not in prep.extra:
        prep.extra["baseline_outputs"] = compute()
    return prep.extra["baseline_outputs"]


def evaluate_classification(prep: Prepared, proba: np.ndarray, baseline_probas: dict[str, np.ndarray],
                            id_frame: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Metrics for the model and each baseline on the same test split, plus a predictions table."""
    from seqcore.modeling.metrics import MAIN_METRIC, classification_metrics, compare_to_baselines

    names = prep.state["class_names"]
    y = prep.extra["y_test"]
    test = classification_metrics(y, proba, names)
    baselines = {k: classification_metrics(y, p, names) for k, p in baseline_probas.items()}
    metric = MAIN_METRIC[prep.task]
    metrics = {"test": test, "baselines": baselines, "comparison": compare_to_baselines(test, baselines, metric)}
    pred = proba.argmax(axis=1)
    frame = id_frame.reset_index(drop=True).copy()
    frame["actual"] = [names[i] for i in y]
    frame["predicted"] = [names[i] for i in pred]
    frame["correct"] = frame["actual"] == frame["predicted"]
    frame["confidence"] = proba.max(axis=1).round(6)
    for i, n in enumerate(names):
        frame[f"p({n})"] = proba[:, i].round(6)
    return metrics, frame


def probability_frame(proba: np.ndarray, names: list[str], id_frame: pd.DataFrame) -> pd.DataFrame:
    """Predicted class, confidence and per-class probabilities beside identifying columns."""
    frame = id_frame.reset_index(drop=True).copy()
    frame["predicted"] = [names[i] for i in proba.argmax(axis=1)]
    frame["confidence"] = proba.max(axis=1).round(6)
    for i, n in enumerate(names):
        frame[f"p({n})"] = proba[:, i].round(6)
    return frame


def check_columns(df: pd.DataFrame, required: dict[str, str]) -> None:
    """New data for a saved model: every required column present, numeric ones really numeric.

    ``required`` maps column -> kind ("numeric", "text", "time", "any"). Raises one DataError naming
    every missing column and every column of the wrong type."""
    from seqcore.data import schema

    require_columns(df, list(required), what="the uploaded data")
    wrong = []
    for col, kind in required.items():
        if kind != "numeric":
            continue
        try:
            schema.numeric_column(df, col)
        except DataError as err:
            wrong.append(err.message)   # names the column, the line and the value
    if wrong:
        more = f" ({len(wrong) - 5} more columns like this)" if len(wrong) > 5 else ""
        raise DataError(" ".join(wrong[:5]) + more,
                        hint="The model was trained on numbers in " + ("this column" if len(wrong) == 1 else
                             "these columns") + ": fix or remove those cells (leave a cell empty to mark it as "
                             "missing), or upload data with the same columns as the training data.")
