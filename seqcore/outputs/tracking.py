"""What a run tells experiment trackers (TensorBoard, MLflow): its hyperparameters, its numbers per epoch and
its final numbers, as flat name -> value mappings both formats take as they are. Standard library only.

The writers are :mod:`seqcore.outputs.tensorboard` (event files in the run's folder) and
:mod:`seqcore.outputs.mlflow_log` (an MLflow tracking store); :mod:`seqcore.runs.tracking` feeds them while a
run trains, and ``python -m seqcore runs export --mlflow DIR`` afterwards.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

TENSORBOARD_DIR = "tensorboard"      # <run folder>/tensorboard/: the run's event files
MAX_TEXT = 250                       # longest text hyperparameter (long column lists are cut)

#: A run's files logged as MLflow artifacts, when present: (name in the run folder, folder in MLflow or "").
ARTIFACTS = (("bundle", "bundle"), ("metrics.json", ""), ("predictions.csv", ""), ("forecast.csv", ""),
             ("report.html", ""))


def tensorboard_dir(run_folder: Path | str) -> Path:
    """Where a run's TensorBoard event files go: ``<run folder>/tensorboard``."""
    return Path(run_folder) / TENSORBOARD_DIR


def tensorboard_command(logdir: Path | str) -> str:
    """The command that opens every run under ``logdir`` in TensorBoard, side by side."""
    return f'tensorboard --logdir "{logdir}"'


def _number(v: Any) -> float | None:
    """A finite float, or None for anything else (bools, text, NaN, missing)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def hyperparameters(spec: dict) -> dict[str, bool | int | float | str]:
    """The run's settings flattened to ``"section.name" -> value`` (``model.units``: ``"64,32"``).

    spec: a RunSpec as a dict (``{"data": {...}, "model": {...}, "train": {...}}``). Lists become
    comma-separated text (cut to ``MAX_TEXT`` characters); unset (None) settings are left out, so every
    value is a bool, int, float or str, as TensorBoard's HParams and MLflow's params take them.
    """
    out: dict[str, bool | int | float | str] = {}
    for section in ("data", "model", "train"):
        for key, value in sorted((spec.get(section) or {}).items()):
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            elif not isinstance(value, (bool, int, float, str)):
                value = str(value)
            if isinstance(value, str) and len(value) > MAX_TEXT:
                value = value[:MAX_TEXT - 3] + "..."
            out[f"{section}.{key}"] = value
    return out


def epoch_scalars(point: Any) -> dict[str, float]:
    """One epoch's numbers: ``loss``, ``val_loss``, ``learning_rate`` and the Keras metrics (``accuracy``,
    ``val_accuracy``, ...); missing and non-finite ones are left out. ``point``: a Progress or its dict."""
    d = point if isinstance(point, dict) else point.to_dict()
    values = {"loss": d.get("loss"), "val_loss": d.get("val_loss"), "learning_rate": d.get("lr")}
    for key, value in sorted((d.get("metrics") or {}).items()):
        values.setdefault(str(key), value)
    return {k: v for k, v in ((k, _number(v)) for k, v in values.items()) if v is not None}


def final_scalars(metrics: dict | None) -> dict[str, float]:
    """A finished run's numbers from ``metrics.json``: ``test/<metric>`` for the model on the test part and
    ``baseline/<name>/<metric>`` for each baseline (top-level numbers only: no per-step or per-series lists)."""
    metrics = metrics if isinstance(metrics, dict) else {}
    out: dict[str, float] = {}
    for key, value in sorted((metrics.get("test") or {}).items()):
        if _number(value) is not None:
            out[f"test/{key}"] = _number(value)
    for name, scores in sorted((metrics.get("baselines") or {}).items()):
        for key, value in sorted((scores or {}).items() if isinstance(scores, dict) else ()):
            if _number(value) is not None:
                out[f"baseline/{name}/{key}"] = _number(value)
    return out


def artifact_files(run_folder: Path | str) -> list[tuple[Path, str]]:
    """The run's files to log as artifacts that exist: ``(path, folder in the tracker)``."""
    folder = Path(run_folder)
    return [(folder / name, dest) for name, dest in ARTIFACTS if (folder / name).exists()]
