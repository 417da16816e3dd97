"""Fit a compiled Keras model on batch sources, streaming progress and obeying a stop check.

The trainer knows nothing of the model or the task: it takes a compiled model,
two :class:`~seqcore.data.windows.Source` objects and a :class:`TrainSpec`.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from seqcore.config import TrainSpec
from seqcore.errors import SettingsError, TrainingFailed
from seqcore.modeling.progress import Progress
from seqcore.data.windows import ConcatSource, Source

BATCH_POINT_INTERVAL = 0.25  # seconds between batch-level progress points (at most ~4 a second)


BACKEND_ENV = "SEQSTUDIO_BACKEND"  # "auto" (default), "jax" or "tensorflow" (seqcore.settings.BACKENDS)


def _jax_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("jax") is not None and importlib.util.find_spec("jaxlib") is not None


def backend_name() -> str:
    """The Keras backend this process trains with (``"jax"`` or ``"tensorflow"``), without importing it.

    Once Keras is imported its backend is fixed, so that answer wins. Otherwise ``$SEQSTUDIO_BACKEND``
    decides; ``auto`` (the default) takes JAX when it is installed (``python bench/speed.py --only w1 --leads
    --tf-leads`` races it against TensorFlow), else TensorFlow. An explicit ``$KERAS_BACKEND`` is honoured
    under ``auto``.
    """
    import sys

    if "keras" in sys.modules:
        try:
            return str(sys.modules["keras"].backend.backend())
        except AttributeError:  # keras half-imported
            pass
    from seqcore import settings

    choice = settings.backend()   # refuses an unknown value, naming the variable
    if choice == "auto":
        explicit = os.environ.get("KERAS_BACKEND", "").strip().lower()
        if explicit in ("jax", "tensorflow"):
            return explicit
        return "jax" if _jax_installed() else "tensorflow"
    if choice == "jax" and not _jax_installed():
        raise SettingsError(f"{BACKEND_ENV}=jax but JAX is not installed: install it (pip install jax jaxlib), "
                            f"or set {BACKEND_ENV}=tensorflow or auto.")
    return choice


def select_backend() -> str:
    """Fix ``$KERAS_BACKEND`` for this process (call before Keras is imported); returns the backend."""
    name = backend_name()
    os.environ["KERAS_BACKEND"] = name
    if name == "jax":
        from seqcore.modeling.data_parallel import configure_devices

        configure_devices()   # one JAX CPU device per core, for data-parallel training steps
    return name


def configure_threads(n: int | None) -> None:
    """Fit the backend's thread pools to ``n`` cores (call before TensorFlow / JAX runs anything)."""
    if not n:
        return
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, n)))
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    if n == 1 and "--xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        # XLA (JAX, and TensorFlow's jit_compile) on one core: no Eigen thread pool to hand work to
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    import sys

    if "tensorflow" not in sys.modules:
        return  # the environment variables apply when (if) it is imported
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, n)))
    except (RuntimeError, ImportError):  # already initialised: the env vars apply to the next process
        pass


def quiet_tensorflow() -> None:
    """Pick the Keras backend (:func:`select_backend`) and import it with its C++ start-up chatter
    (CUDA probing, oneDNN notes) kept off stderr. Under JAX, TensorFlow is not imported at all."""
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    backend = select_backend()
    if "keras" in sys.modules:
        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        if backend == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # CUDA probing happens here
        else:
            import jax

            jax.devices()  # platform probing happens here
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    if backend != "tensorflow":
        _keras_without_tensorflow()
        enable_compile_cache()


COMPILE_CACHE_ENV = "SEQSTUDIO_COMPILE_CACHE"   # a folder, or "off"; default <SEQSTUDIO_HOME>/cache/xla
COMPILE_CACHE_MAX_BYTES = 512 * 2**20


def enable_compile_cache(folder: str | os.PathLike | None = None) -> str | None:
    """JAX only: keep compiled training/prediction steps on disk, so a run whose shapes were seen before
    (a rerun, another learning rate or seed, the same window/batch/units) skips XLA compilation: measured
    here a tiny run went from 10.7 s to 2.0 s and its first loss point from 5.3 s to 1.4 s. Returns the
    folder, or None when off. Entries are keyed by the program, so a hit is the same executable."""
    from seqcore import settings

    if folder is None:
        folder = settings.compile_cache()
        if folder is None:
            return None
    if not folder:
        folder = str(settings.default_home() / "cache" / "xla")
    try:
        import jax

        Path(folder).mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
        try:
            jax.config.update("jax_compilation_cache_max_size", COMPILE_CACHE_MAX_BYTES)
        except (AttributeError, ValueError):  # an older JAX without the bound
            pass
    except (ImportError, OSError, AttributeError, ValueError):
        return None
    return str(folder)


def _keras_without_tensorflow() -> None:
    """Under JAX, stop Keras from importing TensorFlow behind our back: saving a model and seeding probe
    ``tf.available``, which imports it (seconds, ~300 MB) only to handle TensorFlow objects that a JAX run
    never has. Only done while TensorFlow is not imported; harmless if Keras's layout changes."""
    import sys

    if "tensorflow" in sys.modules:
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:
        return
    lazy = getattr(module_utils, "tensorflow", None)
    if lazy is not None and getattr(lazy, "module", None) is None and hasattr(lazy, "_available"):
        lazy._available = False


def set_seed(seed: int, *, strict: bool = False) -> None:
    """Seed Python, NumPy and the backend. ``strict`` (TensorFlow only) also turns on op determinism,
    which Keras answers by switching XLA off; on a CPU XLA-compiled runs are repeatable without it
    (tested), and JAX on a CPU is deterministic as it is."""
    import sys

    import keras

    if keras.backend.backend() != "tensorflow" and "tensorflow" not in sys.modules:
        _seed_without_tensorflow(int(seed))
    else:
        keras.utils.set_random_seed(int(seed))
    if strict and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # noqa: BLE001 - older TF without the switch
            pass


def _seed_without_tensorflow(seed: int) -> None:
    """What ``keras.utils.set_random_seed`` does, less seeding TensorFlow: it imports TensorFlow for
    that (seconds of start-up and ~300 MB) even under JAX, only for tf.data pipelines, which we don't use."""
    import random

    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # another Keras layout: pay for the import
        import keras

        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def make_feeder(src: Source, batch_size: int, *, shuffle: bool, seed: int, augment: bool = False):
    """A keras.utils.PyDataset over ``src`` that gathers one batch per call (no materialised copy).
    ``augment``: every batch's inputs are perturbed afresh (:mod:`seqcore.modeling.augment`), from the seed,
    the epoch and the batch number, so a rerun sees the same batches."""
    import keras

    from seqcore.modeling.augment import augment_batch, batch_rng
    from seqcore.modeling.models import PAD_VALUE

    class Feeder(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self.order = np.arange(len(src))
            self._shuffle()

        def _shuffle(self):
            if shuffle:
                rng = np.random.default_rng(seed + self.epoch)
                self.order = rng.permutation(len(src))

        @property
        def num_batches(self):
            return batches_per_epoch(len(src), batch_size)

        def __len__(self):
            return self.num_batches

        def __getitem__(self, i):
            x, y = src.gather(self.order[i * batch_size:(i + 1) * batch_size])
            if augment:
                x = augment_batch(x, batch_rng(seed, self.epoch, i), PAD_VALUE)
            return x, y

        def on_epoch_end(self):
            self.epoch += 1
            self._shuffle()

    return Feeder()


@dataclass
class FitOutcome:
    history: list[dict]            # one dict per epoch: epoch, loss, val_loss, metrics..., lr, elapsed
    best_epoch: int | None
    best_value: float | None
    stopped: bool                  # the user asked to stop
    early_stopped: bool            # patience ran out
    epochs_run: int
    monitor: str = "val_loss"      # what picked the best epoch: val_loss | val_accuracy | loss
    capped: tuple[int, int] | None = None   # (epochs, patience) when TrainSpec.max_updates cut them (capped_schedule)


@dataclass
class _State:
    history: list[dict] = field(default_factory=list)
    best: float = math.inf         # the monitored value at the best epoch, lower is better (see _score)
    best_tie: float = math.inf     # val_loss there, which breaks ties when selecting by accuracy
    best_epoch: int | None = None
    wait: int = 0


def selection_metric(task: str, has_val: bool) -> str:
    """What picks the epoch whose weights a run keeps: "val_accuracy" (classification with a validation
    part), "val_loss" (forecasting with one), or "loss" (no validation part). The standalone script
    (codegen) asks the same question."""
    if not has_val:
        return "loss"
    return "val_accuracy" if task in ("classify", "text") else "val_loss"


def _is_classifier(model) -> bool:
    """Whether ``model`` was compiled as a classifier (cross-entropy loss)."""
    loss = getattr(model, "loss", None)
    return isinstance(loss, str) and "categorical_crossentropy" in loss


def _selects_by_accuracy(model, has_val: bool) -> bool:
    """Whether :func:`fit` selects by validation accuracy: a classifier (cross-entropy loss) with validation data."""
    task = "classify" if _is_classifier(model) else "forecast"
    return selection_metric(task, has_val) == "val_accuracy"


def epoch_score(logs: Mapping, monitor: str) -> tuple[float | None, float]:
    """(value, tie-break), both lower-is-better, of one epoch's logs for ``monitor`` (value None: not
    measured). The one rule for which epoch a run keeps: the trainer, the live chart's star
    (:func:`seqcore.outputs.viz.best_epoch`) and the Train page's best-epoch card all rank epochs with it."""
    if monitor == "val_accuracy":
        acc = _clean(logs.get("val_accuracy"))
        tie = _clean(logs.get("val_loss"))
        return (None if acc is None else -acc), (math.inf if tie is None else tie)
    return _clean(logs.get(monitor)), math.inf


def improves(score: tuple[float | None, float], best: tuple[float, float]) -> bool:
    """Whether an epoch with ``score`` (from :func:`epoch_score`) beats the ``best`` (value, tie) so far;
    on a full tie the earlier epoch stays."""
    value, tie = score
    return value is not None and (value < best[0] - 1e-12 or (value <= best[0] + 1e-12 and tie < best[1] - 1e-12))


def _lr(model) -> float | None:
    try:
        return float(np.asarray(model.optimizer.learning_rate))
    except Exception:  # noqa: BLE001 - schedule objects etc.
        return None


def _clean(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def batches_per_epoch(examples: int, batch_size: int) -> int:
    """Weight updates in one epoch over ``examples`` (the feeder's length: the last batch may be short)."""
    return max(1, math.ceil(int(examples) / max(1, int(batch_size))))


#: The shortest patience a cap on weight updates leaves (a spec's own shorter patience is kept).
MIN_CAPPED_PATIENCE = 5


def capped_schedule(spec: TrainSpec, batches_per_epoch: int) -> tuple[int, int]:
    """(epochs, patience) a fit of ``spec`` runs with ``batches_per_epoch`` batches an epoch.

    ``spec``'s own, unless ``spec.max_updates`` (weight updates in all, 0 = no limit) allows fewer epochs: then
    as many whole epochs as fit in it (at least 1), and the patience shortened in the same proportion (at least
    :data:`MIN_CAPPED_PATIENCE`, never longer than ``spec``'s). A classification preset sized for tens of
    sequences (400 epochs of 3 batches) thus trains a set of thousands (85 batches an epoch) for about 70
    epochs, not 400. The standalone script (codegen) applies the same rule."""
    epochs, patience = int(spec.epochs), int(spec.patience)
    cap = int(getattr(spec, "max_updates", 0) or 0)
    if cap <= 0 or batches_per_epoch <= 0 or cap >= epochs * batches_per_epoch:
        return epochs, patience
    fitted = max(1, min(epochs, cap // int(batches_per_epoch)))
    if patience:
        patience = min(patience, max(MIN_CAPPED_PATIENCE, round(patience * fitted / epochs)))
    return fitted, patience


def fit(
    model,
    train: Source,
    val: Source | None,
    spec: TrainSpec,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: Path | None = None,
    resume_state: dict | None = None,
    restore_best: bool = True,
) -> FitOutcome:
    """Train ``model``; returns the per-epoch history and whether/why it stopped.

    - progress: batch points at most every BATCH_POINT_INTERVAL s, every epoch always;
    - stop: ``should_stop()`` is polled after every batch; training ends after the current batch;
    - early stopping with the best weights restored, on val_loss (loss when there is no validation
      data); classification with validation data selects by val_accuracy, ties broken by val_loss (the
      validation loss of a small text set bottoms out after 1-2 epochs from over-confidence while its
      accuracy still climbs for several more: bench/RESULTS.md);
    - NaN/inf loss raises :class:`TrainingFailed` with a suggestion;
    - checkpoint_dir: after every epoch the model (with optimizer state) and the fit state are saved there,
      and ``resume_state`` (read back by :func:`load_checkpoint_state`) continues from it;
    - ``restore_best=False`` keeps the last epoch's weights (the final fit runs a fixed number of epochs).
    """
    import keras

    from seqcore.fsutil import atomic_write_text

    state = _State()
    initial_epoch = 0
    if resume_state:
        state.history = list(resume_state.get("history", []))
        state.best = resume_state.get("best", math.inf) if resume_state.get("best") is not None else math.inf
        state.best_tie = resume_state.get("best_tie", math.inf) if resume_state.get("best_tie") is not None else math.inf
        state.best_epoch = resume_state.get("best_epoch")
        state.wait = int(resume_state.get("wait", 0))
        initial_epoch = int(resume_state.get("epoch", 0))
    has_val = val is not None and len(val) > 0
    monitor = ("val_accuracy" if _selects_by_accuracy(model, has_val) else "val_loss") if has_val else "loss"
    if resume_state and resume_state.get("monitor", "val_loss" if has_val else "loss") != monitor:
        # a checkpoint from before the selection rule changed: its best value measures something else
        state.best, state.best_tie = math.inf, math.inf
    # augmentation: classification of sequences only (a classifier's loss; text ids are left alone by it)
    train_feed = make_feeder(train, spec.batch_size, shuffle=True, seed=spec.seed,
                             augment=spec.augment == "on" and _is_classifier(model))
    val_feed = make_feeder(val, spec.batch_size, shuffle=False, seed=spec.seed) if has_val else None
    n_batches = len(train_feed)
    flags = {"stopped": False, "early": False, "nan": None}
    best_weights = {"w": None}
    t0 = time.perf_counter()
    elapsed_before = float(state.history[-1]["elapsed"]) if state.history else 0.0
    epochs, patience = capped_schedule(spec, n_batches)
    capped = (epochs, patience) if (epochs, patience) != (spec.epochs, spec.patience) else None

    class Stream(keras.callbacks.Callback):
        async_safe = True  # see on_train_batch_end; Keras ignores it on TensorFlow (not thread safe)

        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()
            self.lr = None
            self.last_point = 0.0
            self.epoch = initial_epoch
            self.seen = initial_epoch * len(train)

        def on_epoch_begin(self, epoch, logs=None):
            # Stream runs after the learning-rate callbacks, so this is the rate used in this epoch. It is
            # read here, on the main thread between steps: under JAX the optimizer's variables are handed
            # (donated) to each step, so batch hooks must not touch them.
            self.epoch = epoch + 1
            self.lr = _lr(self.model)

        def on_train_batch_end(self, batch, logs=None):
            # Keras may call this from a helper thread without waiting for the step to finish (JAX:
            # ``async_safe``), so the next steps are dispatched meanwhile. Reading the loss waits for its step,
            # so it is read only when a progress point is due (a NaN loss stays NaN in the running mean, so it
            # is still caught within BATCH_POINT_INTERVAL), unless it is a plain number already.
            # It touches ``self._model``, never ``self.model``: under JAX that property copies the whole
            # training state back into the model's variables on every access (slow, and unsafe while the
            # next step runs). ``batch`` is the index of the last step done (with steps_per_execution > 1
            # this hook runs once per group of steps), so samples seen come from it, not from counting calls.
            with self.lock:
                logs = logs or {}
                done = (self.epoch - 1) * len(train) + min(len(train), (batch + 1) * spec.batch_size)
                self.seen = max(self.seen, done)
                if should_stop is not None and should_stop():
                    flags["stopped"] = True
                    self._model.stop_training = True
                now = time.perf_counter()
                raw = logs.get("loss")
                due = on_progress is not None and now - self.last_point >= BATCH_POINT_INTERVAL
                if not (due or isinstance(raw, (int, float))):
                    return
                loss = _clean(raw)
                if loss is None and raw is not None:
                    flags["nan"] = self.epoch
                    self._model.stop_training = True
                    return
                if due:
                    self.last_point = time.perf_counter()
                    on_progress(Progress(kind="batch", epoch=self.epoch, epochs=epochs, batch=batch + 1,
                                         batches=n_batches, seen=self.seen,
                                         elapsed=elapsed_before + self.last_point - t0, loss=loss,
                                         lr=self.lr))

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            self.seen = (epoch + 1) * len(train)
            loss = _clean(logs.get("loss"))
            if loss is None and flags["nan"] is None:
                flags["nan"] = epoch + 1
                self.model.stop_training = True
                return
            point = {"epoch": epoch + 1, "loss": loss, "val_loss": _clean(logs.get("val_loss")),
                     "lr": self.lr, "elapsed": round(elapsed_before + time.perf_counter() - t0, 4)}
            extra = {k: _clean(v) for k, v in logs.items() if k not in ("loss", "val_loss", "learning_rate")}
            point["metrics"] = extra
            value, tie = score = epoch_score(logs, monitor)
            if improves(score, (state.best, state.best_tie)):
                state.best, state.best_tie, state.best_epoch, state.wait = value, tie, epoch + 1, 0
                best_weights["w"] = self.model.get_weights()
                if checkpoint_dir is not None:
                    ck = Path(checkpoint_dir)
                    ck.mkdir(parents=True, exist_ok=True)
                    self.model.save_weights(str(ck / "best.tmp.weights.h5"))
                    os.replace(ck / "best.tmp.weights.h5", ck / "best.weights.h5")
            else:
                state.wait += 1
            point["best"] = state.best_epoch == epoch + 1
            state.history.append(point)
            if patience and state.wait >= patience and not flags["stopped"]:
                flags["early"] = True
                self.model.stop_training = True
            # The epoch's point is recorded before its checkpoint: a process killed in between leaves the store
            # one epoch ahead of the checkpoint (a resume trims it and redoes that epoch), never a gap.
            if on_progress is not None:
                on_progress(Progress(kind="epoch", epoch=epoch + 1, epochs=epochs, batch=n_batches, batches=n_batches,
                                     seen=self.seen, elapsed=point["elapsed"], loss=loss, val_loss=point["val_loss"],
                                     metrics=extra, lr=point["lr"]))
            if checkpoint_dir is not None:
                ck = Path(checkpoint_dir)
                ck.mkdir(parents=True, exist_ok=True)
                tmp = ck / "checkpoint.tmp.keras"
                self.model.save(str(tmp))
                os.replace(tmp, ck / "checkpoint.keras")
                atomic_write_text(ck / "checkpoint.json", json.dumps({
                    "epoch": epoch + 1, "history": state.history, "best": None if math.isinf(state.best) else state.best,
                    "best_tie": None if math.isinf(state.best_tie) else state.best_tie,
                    "best_epoch": state.best_epoch, "wait": state.wait, "monitor": monitor}))

    callbacks: list = []
    if spec.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                           mode="max" if monitor == "val_accuracy" else "min",
                                                           patience=max(2, patience // 3 if patience else 3),
                                                           min_lr=spec.learning_rate / 100, verbose=0))
    elif spec.lr_schedule == "cosine":
        base = spec.learning_rate

        def cosine(epoch, lr):
            return float(base * 0.5 * (1 + math.cos(math.pi * min(epoch, epochs) / epochs)))

        callbacks.append(keras.callbacks.LearningRateScheduler(cosine, verbose=0))

    callbacks.append(Stream())  # last: see Stream.on_epoch_begin
    if initial_epoch < epochs and not (resume_state and resume_state.get("done")):
        model.fit(train_feed, validation_data=val_feed, epochs=epochs, initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=0)
    if flags["nan"] is not None:
        raise TrainingFailed(
            f"Training diverged: the loss became NaN (not a number) in epoch {flags['nan']}.",
            hint="Try a lower learning rate (for example 10 times smaller), keep gradient clipping on, "
                 "or check the data for extreme values.",
        )
    # restore the best weights (also when the user stopped or patience ran out)
    if restore_best:
        if best_weights["w"] is not None:
            model.set_weights(best_weights["w"])
        elif checkpoint_dir is not None and (Path(checkpoint_dir) / "best.weights.h5").exists():
            model.load_weights(str(Path(checkpoint_dir) / "best.weights.h5"))
    return FitOutcome(
        history=state.history,
        best_epoch=state.best_epoch,
        best_value=None if math.isinf(state.best) else (-state.best if monitor == "val_accuracy" else state.best),
        monitor=monitor,
        stopped=flags["stopped"],
        early_stopped=flags["early"],
        epochs_run=len(state.history),
        capped=capped,
    )


@dataclass
class FinalFit:
    """What the final fit (``TrainSpec.final_fit``) did."""

    epochs: int                    # as many as validation picked
    examples: int                  # training + validation examples it trained on
    seconds: float
    kept: bool                     # False: stopped by the user or failed, so the picked model was kept
    reason: str | None = None      # why it was not kept
    stopped: bool = False          # the user stopped it

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "examples": self.examples, "seconds": round(self.seconds, 3),
                "kept": self.kept, "reason": self.reason}


def final_fit(build: Callable[[], object], train: Source, val: Source, spec: TrainSpec, epochs: int, *,
              on_progress: Callable[[Progress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> tuple[object | None, FinalFit]:
    """Train a fresh model (``build()``, same seed) on ``train`` and ``val`` together for ``epochs`` epochs
    (the count validation picked) and keep its last epoch: nothing is held out, so nothing can pick an
    epoch. Progress points come as kind "final". Returns (the model, or None when the user stopped it or
    it failed, in which case the caller keeps the picked model; what happened)."""
    set_seed(spec.seed, strict=not spec.jit_compile)
    model = build()
    both = ConcatSource(train, val)
    forward = (lambda p: on_progress(replace(p, kind="final"))) if on_progress is not None else None
    t0 = time.perf_counter()
    try:
        out = fit(model, both, None, spec.replace(epochs=int(epochs), patience=0, max_updates=0), on_progress=forward,
                  should_stop=should_stop, restore_best=False)
    except TrainingFailed as err:
        return None, FinalFit(int(epochs), len(both), time.perf_counter() - t0, False, f"it failed: {err}")
    if out.stopped:
        return None, FinalFit(int(epochs), len(both), time.perf_counter() - t0, False, "it was stopped", stopped=True)
    return model, FinalFit(int(epochs), len(both), time.perf_counter() - t0, True)


def load_checkpoint_state(checkpoint_dir: Path) -> dict | None:
    p = Path(checkpoint_dir) / "checkpoint.json"
    if not p.exists() or not (Path(checkpoint_dir) / "checkpoint.keras").exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def predict(model, src: Source, batch_size: int = 256) -> np.ndarray:
    """Model outputs for every example of ``src`` in order."""
    from seqcore.data.windows import iterate_inputs

    outs = [np.asarray(model.predict_on_batch(x)) for x in iterate_inputs(src, batch_size)]
    if not outs:
        return np.zeros((0,), np.float32)
    return np.concatenate(outs, axis=0)
