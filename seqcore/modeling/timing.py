"""How long an epoch takes on this machine: measured from a few timed batches of the real model in the warm
worker (:func:`measure`, called by :func:`seqcore.pipeline.prewarm`), kept per model shape, batch size and
backend in ``<home>/timings.json`` (:func:`save`, :func:`load`), and turned into the ranges the Model page
shows (:func:`epoch_seconds`, :func:`epoch_range`, :func:`run_epochs`).

Nothing here imports Keras at import time (:func:`measure` gets a built model and the feeders from its caller);
the app reads the file only, so the Streamlit process never imports Keras.

Measured on this machine (2 shared CPU cores, JAX): the old estimate, built from per-parameter constants
measured on TensorFlow without XLA, was 5-10x too slow ("about 57 min" for a 4-minute run); a few timed
batches of the real model come within 2x of the real epoch (``tests/test_messages.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Callable

TIMINGS_NAME = "timings.json"
MAX_ENTRIES = 64              # newest shapes kept in the file
MEASURE_EPOCHS = 3            # epochs timed per measurement after a first one (the median is kept)
TARGET_EPOCH_S = 1.0          # the timed epochs cover as many batches as take about this long (or all)
EPOCH_LOW, EPOCH_HIGH = 0.75, 1.5   # the per-epoch range shown around a measured estimate
ROUGH_LOW, ROUGH_HIGH = 0.5, 2.0    # ... around an estimate not measured on this shape


def timing_key(model: dict, train: dict, shape: dict, backend: str) -> str:
    """What one epoch's time depends on: the network (model spec), the batch size, XLA (TensorFlow only),
    the data's shape (time steps, features, vocabulary, classes) and the backend. Dicts as the specs'
    ``to_dict()`` give them (the page and the worker must give the same key for the same run)."""
    text = json.dumps({"model": model, "batch_size": int(train.get("batch_size", 0)),
                       "jit": bool(train.get("jit_compile")) if backend != "jax" else True,
                       "shape": {k: shape.get(k) for k in ("task", "input_shape", "output_shape", "vocab_size",
                                                         "masking")},
                       "vectors": None if shape.get("vector_coverage") is None else round(
                           float(shape["vector_coverage"]), 3),
                       "backend": backend}, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def measure(train_epochs: Callable[[int, int, int], list[float]],
            evaluate_batches: Callable[[int], None] | None = None, *, train_batches: int, val_batches: int = 0,
            epochs: int = MEASURE_EPOCHS, target_seconds: float = TARGET_EPOCH_S,
            clock: Callable[[], float] = time.perf_counter) -> dict:
    """Time an already compiled model on the run's own data, the way a run trains.

    ``train_epochs(k, kv, e)`` trains ``e`` epochs over the first ``k`` training batches, each followed
    by a validation pass over ``kv`` batches, through the run's own training loop (callbacks, best
    weights, checkpoints), and returns each epoch's seconds; ``evaluate_batches(k)`` evaluates ``k``
    validation batches; asked for all of them, both cover the whole data (its last, smaller batch too).
    ``train_batches`` / ``val_batches``: how many batches the data has (the last one may be smaller).

    The median epoch over 1 training batch gives the fixed cost of an epoch (Keras's epoch set-up, the run's
    callbacks, the checkpoint) plus one batch; the median epoch over ``k`` batches, ``k`` chosen so that it
    takes about ``target_seconds`` (all of them when the data is that small), gives the cost of a batch in the
    steady state a run trains in (a short probe is dominated by noise and start-up). Timed evaluations of 1
    and several batches give the cost of a validation batch. Returns ``{"train_batch": s, "eval_batch": s |
    None, "epoch_overhead": s, "batches": k, "seconds": total}``.
    """
    t_start = clock()
    kv = 1 if val_batches > 0 else 0
    eval_batch = None
    if kv and evaluate_batches is not None:
        def timed(n: int) -> float:
            t0 = clock()
            evaluate_batches(n)
            return clock() - t0

        e_one = _median([timed(1) for _ in range(3)])
        ke = max(1, min(val_batches, 1 + int(target_seconds / 4 / max(e_one, 1e-6))))
        eval_batch = e_one
        if ke > 1:
            e_more = _median([timed(ke) for _ in range(3)])
            eval_batch = (e_more - e_one) / (ke - 1)
            if eval_batch <= 0.2 * e_more / ke:   # a noisy pair: the plain average
                eval_batch = e_more / ke
    def steady(k: int, n: int) -> float:   # the first epoch of a fit also sets the fit up: left out
        return _median(train_epochs(k, kv, n + 1)[1:])

    one = steady(1, epochs)
    train_batches = max(1, train_batches)
    per_batch, k, epoch_k = max(one - kv * (eval_batch or 0.0), 1e-6), 1, one
    if train_batches > 1:
        probe_k = min(train_batches, 4)
        rough = steady(probe_k, 1) / probe_k   # the cost of a batch with the fixed cost shared out: sizes k
        k = max(2, min(train_batches, 1 + int(target_seconds / max(rough, 1e-5))))
        epoch_k = steady(k, epochs)
        # the cost of each further batch: the slope between the two, kept within sense (noise can make it
        # anything); it only extrapolates past the k batches timed
        per_batch = min(max((epoch_k - one) / (k - 1), 0.3 * epoch_k / k), epoch_k / k)
    overhead = max(0.0, one - per_batch - kv * (eval_batch or 0.0))
    return {"train_batch": per_batch, "eval_batch": eval_batch, "epoch_overhead": overhead, "batches": k,
            "val_batches": kv, "epoch_batches": epoch_k, "seconds": round(clock() - t_start, 3)}


def epoch_seconds(timing: dict, n_train: int, n_val: int, batch_size: int) -> float:
    """One epoch (training pass plus validation pass) from a :func:`measure` result: every batch costs a
    full batch (the last, smaller one about as much: the network loops over the same time steps)."""
    batch_size = max(1, int(batch_size))
    train_batches = math.ceil(max(0, n_train) / batch_size)
    val_batches = math.ceil(max(0, n_val) / batch_size)
    per_eval = timing.get("eval_batch")
    if per_eval is None:
        per_eval = timing["train_batch"] / 3   # no backward pass
    per_eval, per_batch = float(per_eval), float(timing["train_batch"])
    if isinstance(timing.get("epoch_batches"), (int, float)) and timing.get("batches"):
        # anchored on the epoch timed over k batches (and kv validation batches): only the rest is extrapolated
        k, kv = int(timing["batches"]), int(timing.get("val_batches") or 0)
        return max(0.0, float(timing["epoch_batches"]) + (train_batches - k) * per_batch
                   + (val_batches - kv) * per_eval)
    return float(timing.get("epoch_overhead") or 0.0) + train_batches * per_batch + val_batches * per_eval


def epoch_range(seconds: float, measured: bool) -> tuple[float, float]:
    """(low, high) seconds shown for one epoch: narrower once measured on this shape."""
    lo, hi = (EPOCH_LOW, EPOCH_HIGH) if measured else (ROUGH_LOW, ROUGH_HIGH)
    return seconds * lo, seconds * hi


def run_epochs(epochs: int, patience: int, past: list[tuple[int, int, int]] | None = None) -> tuple[int, int]:
    """(fewest, most) epochs a run probably trains. Without early stopping: all of them. With it, a run
    ends ``patience`` epochs after its best one; its best comes after about 1 to 5 patience lengths here,
    or, from ``past`` runs of this machine ((epochs run, planned epochs, patience) of runs that early
    stopping ended), after as many patience lengths as the middle half of those took."""
    epochs, patience = max(1, int(epochs)), max(0, int(patience))
    if not patience:
        return epochs, epochs
    lo_ratio, hi_ratio = 1.0, 5.0
    ratios = sorted((run - pat) / pat for run, planned, pat in (past or []) if pat > 0 and 0 < run < planned)
    if len(ratios) >= 3:
        lo_ratio = max(0.0, ratios[len(ratios) // 4])
        hi_ratio = max(lo_ratio + 0.5, ratios[(3 * len(ratios)) // 4])
    lo = min(epochs, max(1, round(patience * (1 + lo_ratio))))
    hi = min(epochs, max(lo, round(patience * (1 + hi_ratio))))
    return lo, hi


# ----------------------------------------------------------------------------- the file


def _path(home) -> Path:
    return Path(home) / TIMINGS_NAME


def _read(home) -> dict:
    try:
        data = json.loads(_path(home).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load(home, key: str) -> dict | None:
    """The measurement kept for ``key`` (:func:`timing_key`), or None."""
    entry = _read(home).get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("train_batch"), (int, float)):
        return None
    return entry


def save(home, key: str, timing: dict) -> None:
    """Keep ``timing`` for ``key`` (the newest :data:`MAX_ENTRIES` shapes; atomic write, last writer wins)."""
    from seqcore.fsutil import atomic_write_text

    data = _read(home)
    data.pop(key, None)
    data[key] = dict(timing, time=time.time())
    keep = sorted(data.items(), key=lambda kv: float((kv[1] or {}).get("time", 0)) if isinstance(kv[1], dict)
                  else 0.0)[-MAX_ENTRIES:]
    os.makedirs(home, exist_ok=True)
    atomic_write_text(_path(home), json.dumps(dict(keep), indent=1))


__all__ = ["timing_key", "measure", "epoch_seconds", "epoch_range", "run_epochs", "load", "save", "TIMINGS_NAME"]
