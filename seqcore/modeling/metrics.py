"""Test-set metrics for the three tasks, as plain JSON-ready dicts.

Everything returned here is made of ``float`` / ``int`` / ``str`` / ``list`` /
``dict`` / ``None`` only, so ``json.dumps(result, allow_nan=False)`` works.
A metric that cannot be computed (non-finite predictions, undefined R², a
single class for ROC AUC...) is ``None``, never NaN and never an exception.

Forecast arrays are in ORIGINAL units with shape ``(n_windows, horizon,
n_targets)``; ``(n, H)`` and ``(n,)`` are accepted and reshaped to
``(n, H, 1)`` and ``(n, 1, 1)``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

MAIN_METRIC: dict[str, str] = {"forecast": "mae", "classify": "accuracy", "text": "accuracy"}

HIGHER_IS_BETTER: dict[str, bool] = {
    "mae": False,
    "rmse": False,
    "mape": False,
    "smape": False,
    "mase": False,
    "r2": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "macro_f1": True,
    "roc_auc": True,
    "log_loss": False,
}

FORECAST_KEYS = ("mae", "rmse", "mape", "smape", "mase", "r2")


# --------------------------------------------------------------------------- helpers
def _num(x: Any) -> float | None:
    """Plain float, or None when missing / NaN / infinite."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _as_3d(a: Any, name: str) -> np.ndarray:
    """(n,) -> (n, 1, 1); (n, H) -> (n, H, 1); (n, H, T) unchanged. Float64."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        return arr.reshape(-1, 1, 1)
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim == 3:
        return arr
    raise ValueError(f"{name} must have 1, 2 or 3 dimensions (n_windows, horizon, n_targets); got shape {arr.shape}")


def _mase_scale(y_train: Any, n_targets: int) -> np.ndarray | None:
    """Mean absolute one-step difference of the training series, per target: (n_targets,).

    Entries are NaN where the scale is unusable (fewer than 2 finite values or a
    flat series). Returns None when no training series is given.
    """
    if y_train is None:
        return None
    tr = np.asarray(y_train, dtype=np.float64)
    if tr.ndim == 1:
        tr = tr[:, None]
    if tr.ndim != 2 or tr.shape[1] != n_targets:
        raise ValueError(
            f"y_train must be 1-D or (n_train, {n_targets}) to match the {n_targets} target(s); got shape {tr.shape}"
        )
    scale = np.full(n_targets, np.nan)
    for t in range(n_targets):
        col = tr[:, t]
        col = col[np.isfinite(col)]
        if col.size >= 2:
            s = float(np.mean(np.abs(np.diff(col))))
            if s > 0:
                scale[t] = s
    return scale


def _r2(yt: np.ndarray, yp: np.ndarray) -> float | None:
    """sklearn r2_score over (n_samples, n_outputs), uniform average; None when undefined."""
    from sklearn.metrics import r2_score

    if yt.shape[0] < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = r2_score(yt, yp, multioutput="uniform_average", force_finite=False)
        except ValueError:
            return None
    return _num(v)


def _block_metrics(yt: np.ndarray, yp: np.ndarray, scale: np.ndarray | None) -> dict[str, float | None]:
    """Metrics for one block. yt, yp: (n_samples, n_targets); scale: (n_targets,) or None."""
    out: dict[str, float | None] = {k: None for k in FORECAST_KEYS}
    if yt.size == 0 or not np.all(np.isfinite(yt)) or not np.all(np.isfinite(yp)):
        return out
    err = yp - yt
    abs_err = np.abs(err)
    out["mae"] = _num(abs_err.mean())
    out["rmse"] = _num(np.sqrt(np.mean(err**2)))
    nz = yt != 0
    if nz.any():
        out["mape"] = _num(np.mean(abs_err[nz] / np.abs(yt[nz])))
    denom = np.abs(yt) + np.abs(yp)
    ratio = np.divide(2.0 * abs_err, denom, out=np.zeros_like(abs_err), where=denom > 0)
    out["smape"] = _num(ratio.mean())
    if scale is not None and np.all(np.isfinite(scale)):
        out["mase"] = _num(np.mean(abs_err / scale[None, :]))
    out["r2"] = _r2(yt, yp)
    return out


# --------------------------------------------------------------------------- forecast
def forecast_metrics(
    y_true: Any,
    y_pred: Any,
    *,
    y_train: Any = None,
    target_names: list[str] | None = None,
) -> dict:
    """Forecast accuracy in original units.

    Args:
        y_true, y_pred: ``(n_windows, horizon, n_targets)`` (or ``(n, H)`` / ``(n,)``).
        y_train: training part of the target series, ``(n_train,)`` or
            ``(n_train, n_targets)``, original units. Gives the MASE scale: the
            mean absolute one-step (naive) difference per target. Without it,
            or when a target's training series is flat, ``mase`` is None.
        target_names: one name per target (default ``target_1``...).

    Returns a JSON-ready dict::

        {"mae", "rmse", "mape", "smape", "mase", "r2",   # overall
         "mape_skipped": int,   # zero actuals left out of MAPE
         "n": int,              # number of windows
         "notes": [str],        # plain-language remarks (e.g. MAPE skipping)
         "per_step": [{"step": 1, "mae", ...}, ...],     # one per horizon step
         "per_target": {name: {"mae", ...}}}             # only when n_targets > 1

    MAPE and sMAPE are fractions (0.05 = 5 %); sMAPE is ``2|y-p|/(|y|+|p|)``
    in ``[0, 2]`` with 0/0 counted as 0. R² is sklearn's ``r2_score``
    (uniform average over targets; None when undefined, e.g. constant actuals
    or fewer than 2 samples). Any non-finite value in a block makes that
    block's metrics None.
    """
    yt = _as_3d(y_true, "y_true")
    yp = _as_3d(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true shape {yt.shape} and y_pred shape {yp.shape} differ")
    n, horizon, n_targets = yt.shape
    if target_names is None:
        target_names = [f"target_{i + 1}" for i in range(n_targets)]
    target_names = [str(t) for t in target_names]
    if len(target_names) != n_targets:
        raise ValueError(f"{len(target_names)} target names given for {n_targets} targets")
    scale = _mase_scale(y_train, n_targets)

    result: dict[str, Any] = dict(_block_metrics(yt.reshape(-1, n_targets), yp.reshape(-1, n_targets), scale))
    skipped = int(np.sum(yt == 0))
    result["mape_skipped"] = skipped
    result["n"] = int(n)
    notes: list[str] = []
    if skipped:
        notes.append(
            f"MAPE leaves out {skipped} actual value(s) equal to zero (a percentage error of zero is undefined)."
        )
    if not (np.all(np.isfinite(yp)) and np.all(np.isfinite(yt))):
        notes.append("Some predictions or actual values are not finite numbers, so some metrics are missing.")
    if scale is None:
        notes.append("MASE needs the training series; it was not given.")
    elif not np.all(np.isfinite(scale)):
        notes.append("MASE is missing: a training series is constant or too short to give a naive error scale.")
    result["notes"] = notes
    result["per_step"] = [
        {"step": h + 1, **_block_metrics(yt[:, h, :], yp[:, h, :], scale)} for h in range(horizon)
    ]
    if n_targets > 1:
        result["per_target"] = {
            name: _block_metrics(
                yt[:, :, t].reshape(-1, 1),
                yp[:, :, t].reshape(-1, 1),
                None if scale is None else scale[t : t + 1],
            )
            for t, name in enumerate(target_names)
        }
    return result


# --------------------------------------------------------------------------- classification
def classification_metrics(y_true: Any, proba: Any, class_names: list[str]) -> dict:
    """Classification quality from class probabilities.

    Args:
        y_true: ``(n,)`` int class indices in ``0..C-1``.
        proba: ``(n, C)`` class probabilities (rows are renormalised to sum to 1).
        class_names: ``C`` names, index-aligned with the columns of ``proba``.

    Returns a JSON-ready dict::

        {"accuracy", "balanced_accuracy", "macro_f1", "log_loss",
         "roc_auc",            # 2 classes only (positive = class 1), else None
         "n": int,
         "per_class": [{"class": name, "precision", "recall", "f1", "support"}],
         "confusion_matrix": [[int]]}   # rows = true, cols = predicted, C x C

    ``per_class`` and the confusion matrix cover all C classes even when a class
    is absent from the test set. ``macro_f1`` averages over the classes that
    occur in the actual or predicted labels (sklearn's default), so a class
    missing from the test set does not count as a zero. Rows of ``proba`` with
    non-finite values make ``log_loss`` / ``roc_auc`` None; their predicted class
    is taken from the finite entries.
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        log_loss,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    names = [str(c) for c in class_names]
    n_classes = len(names)
    yt = np.asarray(y_true).reshape(-1)
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != n_classes:
        raise ValueError(f"proba must be (n, {n_classes}) for {n_classes} classes; got shape {p.shape}")
    if p.shape[0] != yt.shape[0]:
        raise ValueError(f"y_true has {yt.shape[0]} rows but proba has {p.shape[0]}")
    if yt.size and (not np.all(np.equal(np.mod(yt, 1), 0)) or yt.min() < 0 or yt.max() >= n_classes):
        raise ValueError(f"y_true must hold class indices 0..{n_classes - 1}")
    yt = yt.astype(np.int64)
    labels = list(range(n_classes))
    n = int(yt.size)

    if n == 0:
        return {
            "accuracy": None,
            "balanced_accuracy": None,
            "macro_f1": None,
            "log_loss": None,
            "roc_auc": None,
            "n": 0,
            "per_class": [
                {"class": c, "precision": None, "recall": None, "f1": None, "support": 0} for c in names
            ],
            "confusion_matrix": [[0] * n_classes for _ in range(n_classes)],
        }

    finite = np.isfinite(p)
    y_hat = np.argmax(np.where(finite, p, -np.inf), axis=1).astype(np.int64)
    all_finite = bool(finite.all())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acc = accuracy_score(yt, y_hat)
        bal = balanced_accuracy_score(yt, y_hat)
        present = sorted(set(yt.tolist()) | set(y_hat.tolist()))
        macro = f1_score(yt, y_hat, labels=present, average="macro", zero_division=0)
        prec, rec, f1, sup = precision_recall_fscore_support(yt, y_hat, labels=labels, zero_division=0)
        cm = confusion_matrix(yt, y_hat, labels=labels)

        ll = None
        auc = None
        if all_finite:
            q = np.clip(p, 0.0, None)
            sums = q.sum(axis=1, keepdims=True)
            q = np.divide(q, sums, out=np.full_like(q, 1.0 / n_classes), where=sums > 0)
            try:
                ll = log_loss(yt, q, labels=labels)
            except ValueError:
                ll = None
            if n_classes == 2 and len(np.unique(yt)) == 2:
                try:
                    auc = roc_auc_score(yt, q[:, 1])
                except ValueError:
                    auc = None

    return {
        "accuracy": _num(acc),
        "balanced_accuracy": _num(bal),
        "macro_f1": _num(macro),
        "log_loss": _num(ll),
        "roc_auc": _num(auc),
        "n": n,
        "per_class": [
            {
                "class": names[i],
                "precision": _num(prec[i]),
                "recall": _num(rec[i]),
                "f1": _num(f1[i]),
                "support": int(sup[i]),
            }
            for i in range(n_classes)
        ],
        "confusion_matrix": [[int(v) for v in row] for row in cm],
    }


# --------------------------------------------------------------------------- comparison
def compare_to_baselines(test: dict, baselines: dict[str, dict], metric: str) -> dict:
    """Compare the model's ``test[metric]`` with the best baseline on that metric.

    Args:
        test: the model's metrics dict (from :func:`forecast_metrics` or
            :func:`classification_metrics`).
        baselines: ``{baseline_name: metrics_dict}``.
        metric: a key of :data:`HIGHER_IS_BETTER`.

    Returns ``{"metric", "model", "best_baseline", "best_baseline_value",
    "difference" (model - best), "better"}``. ``better`` is True when the model
    strictly beats the best baseline, False when it does not, None when either
    side has no value. Baselines without a value for the metric are ignored.

    When ``baselines`` holds statistical models (``auto_ets``, ``auto_arima``, ``auto_theta``; see
    :mod:`seqcore.modeling.statmodels`) it also gives ``"best_statistical"`` (the best of them, or None
    when none has a value), ``"best_statistical_value"`` and ``"beats_statistical"`` (like ``better``,
    against that one), so the verdict can name the statistical model it beat or lost to.
    """
    from seqcore.modeling.statmodels import STAT_MODELS

    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(HIGHER_IS_BETTER)}")
    higher = HIGHER_IS_BETTER[metric]
    model_value = _num(test.get(metric)) if test else None

    def best(names) -> tuple[str | None, float | None]:
        best_name: str | None = None
        best_value: float | None = None
        for name in names:
            v = _num((baselines[name] or {}).get(metric))
            if v is None:
                continue
            if best_value is None or (v > best_value if higher else v < best_value):
                best_name, best_value = str(name), v
        return best_name, best_value

    def beats(value: float | None) -> bool | None:
        if model_value is None or value is None:
            return None
        return bool(model_value > value) if higher else bool(model_value < value)

    baselines = baselines or {}
    best_name, best_value = best(baselines)
    difference = None
    if model_value is not None and best_value is not None:
        difference = _num(model_value - best_value)
    out = {
        "metric": metric,
        "model": model_value,
        "best_baseline": best_name,
        "best_baseline_value": best_value,
        "difference": difference,
        "better": beats(best_value),
    }
    stat = [n for n in baselines if n in STAT_MODELS]
    if stat:
        stat_name, stat_value = best(stat)
        out.update(best_statistical=stat_name, best_statistical_value=stat_value, beats_statistical=beats(stat_value))
    return out
