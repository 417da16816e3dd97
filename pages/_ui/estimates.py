"""The Model page's time estimate: seconds per training epoch from the model size, the number of examples
and the time steps, corrected by how fast this machine trained its finished runs (:func:`speed_factor`)."""

from __future__ import annotations

import math

import streamlit as st

from pages._ui.base import LOG, home_path
from seqcore.config import ModelSpec, RunSpec, TrainSpec
from seqcore.errors import UserError
from seqcore.runs.store import RunStore

# Measured once on the development machine with the TensorFlow backend (2 shared CPU cores, TensorFlow 2.21 +
# Keras 3, no XLA, 16 configurations: LSTM / GRU, 16-256 units, 1-2 layers, 24-150 steps, batch 32 / 128).
# The app trains on JAX by default ($SEQSTUDIO_BACKEND), which always runs XLA-compiled; these constants were
# not measured on it. speed_factor(), learnt from this machine's finished runs (on whichever backend trained
# them), scales the estimate once there are any.
#   seconds per (recurrent parameter x example x time step), forward + backward + optimiser:
SECONDS_PER_PARAM_STEP = 3.0e-10
#   fixed cost per recurrent layer per time step per batch (TensorFlow without XLA runs the loop op by op):
SECONDS_PER_LAYER_STEP = {"lstm": 1.6e-4, "gru": 2.6e-4}
XLA_SPEEDUP = 1.6            # TensorFlow with jit_compile=True measured ~1.6x faster per epoch on this CPU
VALIDATION_COST = 1 / 3      # a validation example costs about a third of a training one (no backward pass)


def recurrent_params(est_layers: list[dict]) -> int:
    """Parameters of the recurrent layers (they are used at every time step; the embedding table is
    only looked up and the dense head runs once per example). ``est_layers`` is ``Estimate.layers``."""
    return int(sum(layer["params"] for layer in est_layers
                   if any(k in str(layer["name"]) for k in ("LSTM", "GRU"))))


def epoch_seconds(model: ModelSpec, train: TrainSpec, params: int, steps: int, n_train: int,
                  n_val: int = 0, factor: float = 1.0) -> float:
    """Estimated seconds for one training epoch (plus its validation pass) on this machine.

    per pass over n examples = n x steps x params x SECONDS_PER_PARAM_STEP
                             + ceil(n / batch) x steps x layers x directions x SECONDS_PER_LAYER_STEP[cell]
    epoch = train pass + VALIDATION_COST x validation pass, divided by XLA_SPEEDUP with XLA on,
    times ``factor`` (:func:`speed_factor`, learnt from this machine's finished runs; 1.0 without any).

    params: recurrent parameters (:func:`recurrent_params`); steps: time steps per example
    (window / sequence length / words per text).
    """
    loops = len(model.units) * (2 if model.bidirectional else 1)
    per_step = SECONDS_PER_LAYER_STEP.get(model.cell, SECONDS_PER_LAYER_STEP["lstm"])
    steps = max(1, int(steps))

    def one_pass(n: int) -> float:
        batches = math.ceil(max(0, n) / max(1, train.batch_size))
        return n * steps * params * SECONDS_PER_PARAM_STEP + batches * steps * loops * per_step

    seconds = one_pass(n_train) + VALIDATION_COST * one_pass(n_val)
    if train.jit_compile:
        seconds /= XLA_SPEEDUP
    return float(seconds * factor)


@st.cache_resource(ttl=60, show_spinner=False)
def _speed_factor(home: str) -> float | None:
    """Median of measured / estimated epoch time over the newest finished runs (None without any).

    Measured: the median time between consecutive epochs of a run (its epoch history, so the
    start-up and the first epoch's graph building do not count). Estimated: :func:`epoch_seconds`
    for the run's spec and split sizes. Sequence-classification runs are skipped (their sequence
    length is not stored with the run)."""
    from seqcore.modeling.models import ModelShape, estimate

    store_ = RunStore(home)
    ratios = []
    for rec in store_.list_runs(kind="train", status="finished", limit=10):
        tr = (rec.summary or {}).get("training") or {}
        sizes = tr.get("sizes") or {}
        try:
            spec = RunSpec.from_dict(rec.spec)
            n_train, n_val = int(sizes["train"]), int(sizes.get("val") or 0)
        except (KeyError, TypeError, ValueError, UserError):
            continue
        if n_train <= 0 or spec.data.task == "classify":
            continue
        elapsed = [p.elapsed for _, p in store_.read_history(rec.id, kind="epoch")]
        gaps = sorted(b - a for a, b in zip(elapsed, elapsed[1:]) if b > a)
        if not gaps:
            continue
        measured = gaps[len(gaps) // 2]
        d = spec.data
        steps = d.window if d.task == "forecast" else d.max_len
        shape = (ModelShape("forecast", (steps, len(d.targets) + len(d.features)), (d.horizon, len(d.targets)))
                 if d.task == "forecast" else ModelShape("text", (steps,), (2,), vocab_size=10))
        try:
            params = recurrent_params(estimate(spec.model, spec.train, shape).layers)
        except UserError:
            continue
        est = epoch_seconds(spec.model, spec.train, params, steps, n_train, n_val)
        if est > 0:
            ratios.append(measured / est)
    if not ratios:
        return None
    ratios.sort()
    return float(min(20.0, max(0.05, ratios[len(ratios) // 2])))


def speed_factor() -> float | None:
    """How much slower (>1) or faster (<1) this machine trained than the built-in constant, from the
    newest finished runs; None when there are none to learn from."""
    try:
        return _speed_factor(str(home_path()))
    except Exception:  # noqa: BLE001
        LOG.exception("speed factor failed")
        return None
