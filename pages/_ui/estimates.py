"""The Model page's time estimate (:func:`time_estimate`): seconds per training epoch as the warm worker
measured them for this very model shape, batch size and backend (a few timed epochs over some batches of
the run's own data, :mod:`seqcore.modeling.timing`, kept in ``<home>/timings.json``), shown as a range; the
whole run as a range of epochs early stopping probably allows. Until the worker has measured a shape, a
rough figure from the model size, the number of examples and the time steps (:func:`epoch_seconds`),
corrected by how fast this machine trained its finished runs (:func:`speed_factor`). The Streamlit process
only reads the file: it never imports Keras."""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from pages._ui.base import LOG, home_path
from seqcore.config import ModelSpec, RunSpec, TrainSpec
from seqcore.errors import UserError
from seqcore.modeling import timing
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
# The JAX backend (the app's default, always XLA-compiled), measured here (2 shared cores, balanced presets:
# forecast LSTM 64 x 48 steps ~6 ms a batch of 32, text bidirectional LSTM 64 ~40-70 ms): per parameter-step
# and per layer-step costs, and a fixed cost per epoch (callbacks, the checkpoint a run writes every epoch).
JAX_SECONDS_PER_PARAM_STEP = 1.5e-10
JAX_SECONDS_PER_LAYER_STEP = {"lstm": 4e-5, "gru": 4e-5}
JAX_EPOCH_OVERHEAD = 0.08


def recurrent_params(est_layers: list[dict]) -> int:
    """Parameters of the recurrent layers (they are used at every time step; the embedding table is
    only looked up and the dense head runs once per example). ``est_layers`` is ``Estimate.layers``."""
    return int(sum(layer["params"] for layer in est_layers
                   if any(k in str(layer["name"]) for k in ("LSTM", "GRU"))))


def epoch_seconds(model: ModelSpec, train: TrainSpec, params: int, steps: int, n_train: int,
                  n_val: int = 0, factor: float = 1.0, backend: str = "tensorflow") -> float:
    """Estimated seconds for one training epoch (plus its validation pass) on this machine.

    per pass over n examples = n x steps x params x SECONDS_PER_PARAM_STEP
                             + ceil(n / batch) x steps x layers x directions x SECONDS_PER_LAYER_STEP[cell]
    epoch = train pass + VALIDATION_COST x validation pass, divided by XLA_SPEEDUP with XLA on,
    times ``factor`` (:func:`speed_factor`, learnt from this machine's finished runs; 1.0 without any).
    ``backend`` "jax" uses the JAX constants (always compiled, plus a fixed cost per epoch).

    params: recurrent parameters (:func:`recurrent_params`); steps: time steps per example
    (window / sequence length / words per text).
    """
    loops = len(model.units) * (2 if model.bidirectional else 1)
    jax = backend == "jax"
    table = JAX_SECONDS_PER_LAYER_STEP if jax else SECONDS_PER_LAYER_STEP
    per_step = table.get(model.cell, table["lstm"])
    per_param = JAX_SECONDS_PER_PARAM_STEP if jax else SECONDS_PER_PARAM_STEP
    steps = max(1, int(steps))

    def one_pass(n: int) -> float:
        batches = math.ceil(max(0, n) / max(1, train.batch_size))
        return n * steps * params * per_param + batches * steps * loops * per_step

    seconds = one_pass(n_train) + VALIDATION_COST * one_pass(n_val)
    if train.jit_compile and not jax:
        seconds /= XLA_SPEEDUP
    return float((seconds + (JAX_EPOCH_OVERHEAD if jax else 0.0)) * factor)


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
        est = epoch_seconds(spec.model, spec.train, params, steps, n_train, n_val, backend=_backend())
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


def _backend() -> str:
    """The backend the worker trains with (read from the settings; Keras is never imported here)."""
    from seqcore.modeling.training import backend_name

    try:
        return backend_name()
    except Exception:  # noqa: BLE001 - a bad setting is reported elsewhere
        return "jax"


@st.cache_resource(ttl=60, show_spinner=False)
def _past_runs(home: str) -> list[tuple[int, int, int]]:
    """(epochs run, planned epochs, patience) of this machine's newest runs that early stopping ended."""
    out = []
    for rec in RunStore(home).list_runs(kind="train", status="finished", limit=30):
        tr = (rec.summary or {}).get("training") or {}
        train = (rec.spec or {}).get("train") or {}
        try:
            if tr.get("early_stopped") and rec.epochs_run:
                out.append((int(rec.epochs_run), int(train["epochs"]), int(train["patience"])))
        except (KeyError, TypeError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class TimeEstimate:
    """What the Model page says about time (seconds)."""

    per_epoch: float                 # the best guess for one epoch (training and validation pass)
    low: float                       # the range shown for one epoch
    high: float
    measured: bool                   # measured on this machine for this shape (else a rough figure)
    epochs: tuple[int, int]          # (fewest, most) epochs the run probably trains, early stopping included
    run_low: float                   # the whole run, over those epochs
    run_high: float
    at_most: float                   # every planned epoch
    planned: int = 0                 # epochs planned: TrainSpec.epochs, or fewer under its max_updates


def time_estimate(model: ModelSpec, train: TrainSpec, shape, sizes: dict, layers: list[dict],
                  home=None) -> TimeEstimate:
    """The time a run of ``model`` / ``train`` on data of ``shape`` (a ``ModelShape``) with split ``sizes``
    (``{"train", "val"}`` examples) takes on this machine: measured by the warm worker for this shape when
    it has (``<home>/timings.json``), else the rough :func:`epoch_seconds` (corrected by
    :func:`speed_factor`). ``layers``: ``models.estimate(...).layers``."""
    home = str(home or home_path())
    backend = _backend()
    n_train, n_val = int(sizes.get("train") or 0), int(sizes.get("val") or 0)
    measured = None
    try:
        measured = timing.load(home, timing.timing_key(model.to_dict(), train.to_dict(), shape.to_dict(), backend))
    except Exception:  # noqa: BLE001 - an unreadable file: the rough figure
        LOG.exception("reading the measured timings failed")
    if measured is not None:
        per = timing.epoch_seconds(measured, n_train, n_val, train.batch_size)
    else:
        per = epoch_seconds(model, train, recurrent_params(layers), int(shape.input_shape[0]), n_train, n_val,
                            speed_factor() or 1.0, backend=backend)
    low, high = timing.epoch_range(per, measured is not None)
    try:
        past = _past_runs(home)
    except Exception:  # noqa: BLE001
        past = []
    from seqcore.modeling.training import batches_per_epoch, capped_schedule

    planned, patience = capped_schedule(train, batches_per_epoch(n_train, train.batch_size))
    e_lo, e_hi = timing.run_epochs(planned, patience, past)
    return TimeEstimate(per, low, high, measured is not None, (e_lo, e_hi), per * e_lo, per * e_hi,
                        per * planned, planned)


def backtest_range(t: TimeEstimate, folds: int) -> tuple[float, float]:
    """Extra seconds a backtest of ``folds`` folds adds to the run of estimate ``t``: each fold trains a fresh
    model of the same settings on a little less data (the data before its origin), so at most ``folds`` times
    the whole run's range."""
    k = max(0, int(folds))
    return k * t.run_low, k * t.run_high


def fmt_range(low: float, high: float, *, about: bool = True) -> str:
    """``(14.6, 31)`` -> ``"about 15–30 s"``, ``(130, 370)`` -> ``"about 2–6 min"`` (one unit, rounded).
    ``about=False`` leaves out the leading "about" (for a metric card, whose label says "estimate")."""
    text = _range_text(low, high)
    return text if about else text.removeprefix("about ")


def _range_text(low: float, high: float) -> str:
    low, high = max(0.0, float(low)), max(float(low), float(high))
    if high < 0.1:
        return "under 0.1 s"
    if high < 1:
        lo, hi = max(0.1, round(low, 1)), round(high, 1)
        return f"about {lo:g}–{hi:g} s" if hi > lo else f"about {hi:g} s"
    if high < 90:
        lo, hi = _round(low), _round(high)
        return f"about {lo:g}–{hi:g} s" if hi > lo else f"about {hi:g} s"
    if high < 90 * 60:
        lo, hi = max(1, round(low / 60)), max(1, round(high / 60))
        return f"about {lo}–{hi} min" if hi > lo else f"about {hi} min"
    lo, hi = low / 3600, high / 3600
    lo, hi = (round(lo, 1), round(hi, 1)) if hi < 10 else (round(lo), round(hi))
    return f"about {lo:g}–{hi:g} h" if hi > lo else f"about {hi:g} h"


def _round(seconds: float) -> float:
    """Seconds rounded the way people say them: 0.4 -> 0.4, 1.44 -> 1.4, 7.3 -> 7, 23 -> 25, 47 -> 45."""
    if seconds < 3:
        return round(seconds, 1)
    if seconds < 10:
        return float(round(seconds))
    return float(5 * round(seconds / 5)) or 5.0


def extra_trainings(spec: RunSpec, sizes: dict, steps: int, t: TimeEstimate) -> list[str]:
    """Plain captions for what a classification run trains besides its one network, with the time each adds
    (from ``t``): the design search of "auto" settings (:mod:`seqcore.modeling.arch_select`) and the networks
    averaged (:mod:`seqcore.modeling.ensemble`). Empty for forecasts and for runs that train one network."""
    from seqcore import settings
    from seqcore.modeling import arch_select, ensemble

    out: list[str] = []
    task = spec.data.task
    n_train, n_val = int(sizes.get("train") or 0), int(sizes.get("val") or 0)
    if task not in ("classify", "text") or n_train <= 0:
        return out
    if arch_select.pending(spec) and settings.arch_search() and n_train * steps <= arch_select.MAX_SEARCH_CELLS:
        cands = arch_select.candidates(spec)
        use_val = n_val >= arch_select.MIN_VALIDATION
        folds = 1 if use_val else arch_select.FOLDS
        n_fit = n_train if use_val else max(1, n_train * (folds - 1) // folds)
        search = arch_select._search_train(spec.train)
        epochs = arch_select._planned_epochs(search, n_fit)
        most = len(cands) * folds * epochs * t.per_epoch * n_fit / n_train
        how = "on the validation part" if use_val else f"by {folds}-fold cross-validation on the training part"
        out.append(f"Design left on 'Auto': before the run, {len(cands)} designs are each trained on a shortened "
                   f"schedule and compared {how}: {fmt_range(most / 3, most)} more, at most (early stopping "
                   "usually ends them sooner).")
    try:
        p = ensemble.plan(task, spec.train.members, n_train)
    except UserError:
        return out
    if p.on:
        more = p.members - 1
        cut = (f"; fewer are trained when the first shows they would take the run past about "
               f"{ensemble.budget(task)[1]:.0f} s of training") if p.auto else ""
        out.append(f"{p.members} networks are trained and averaged ({'automatic' if p.auto else 'your setting'}): "
                   f"{fmt_range(more * t.run_low, more * t.run_high)} more for the other {more}{cut}.")
    return out
