"""Fit a compiled Keras model on batch sources, streaming progress and obeying a stop check.

The trainer knows nothing of the model or the task: it takes a compiled model,
two :class:`~seqcore.windows.Source` objects and a :class:`TrainSpec`.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .config import TrainSpec
from .errors import TrainingFailed
from .progress import Progress
from .windows import Source

BATCH_POINT_INTERVAL = 0.25  # seconds between batch-level progress points (at most ~4 a second)


def configure_threads(n: int | None) -> None:
    """Fit TensorFlow's thread pools to ``n`` cores (call before TensorFlow runs anything)."""
    if not n:
        return
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, n)))
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, n)))
    except (RuntimeError, ImportError):  # already initialised: the env vars apply to the next process
        pass


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing, oneDNN notes) kept off stderr."""
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # CUDA probing happens here
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def set_seed(seed: int, *, strict: bool = False) -> None:
    """Seed Python, NumPy and the backend. ``strict`` also turns on TensorFlow's op determinism, which
    Keras answers by switching XLA off; on a CPU XLA-compiled runs are repeatable without it (tested)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    if strict:
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # noqa: BLE001 - older TF without the switch
            pass


def make_feeder(src: Source, batch_size: int, *, shuffle: bool, seed: int):
    """A keras.utils.PyDataset over ``src`` that gathers one batch per call (no materialised copy)."""
    import keras

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
            return max(1, math.ceil(len(src) / batch_size))

        def __len__(self):
            return self.num_batches

        def __getitem__(self, i):
            return src.gather(self.order[i * batch_size:(i + 1) * batch_size])

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


@dataclass
class _State:
    history: list[dict] = field(default_factory=list)
    best: float = math.inf
    best_epoch: int | None = None
    wait: int = 0


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
) -> FitOutcome:
    """Train ``model``; returns the per-epoch history and whether/why it stopped.

    - progress: batch points at most every BATCH_POINT_INTERVAL s, every epoch always;
    - stop: ``should_stop()`` is polled after every batch; training ends after the current batch;
    - early stopping on val_loss (loss when there is no validation data) with the best weights restored;
    - NaN/inf loss raises :class:`TrainingFailed` with a suggestion;
    - checkpoint_dir: after every epoch the model (with optimizer state) and the fit state are saved there,
      and ``resume_state`` (read back by :func:`load_checkpoint_state`) continues from it.
    """
    import keras

    from .fsutil import atomic_write_text

    state = _State()
    initial_epoch = 0
    if resume_state:
        state.history = list(resume_state.get("history", []))
        state.best = resume_state.get("best", math.inf) if resume_state.get("best") is not None else math.inf
        state.best_epoch = resume_state.get("best_epoch")
        state.wait = int(resume_state.get("wait", 0))
        initial_epoch = int(resume_state.get("epoch", 0))
    monitor = "val_loss" if val is not None and len(val) else "loss"
    train_feed = make_feeder(train, spec.batch_size, shuffle=True, seed=spec.seed)
    val_feed = make_feeder(val, spec.batch_size, shuffle=False, seed=spec.seed) if monitor == "val_loss" else None
    n_batches = len(train_feed)
    flags = {"stopped": False, "early": False, "nan": None}
    best_weights = {"w": None}
    if checkpoint_dir is not None and resume_state and (Path(checkpoint_dir) / "best.weights.h5").exists():
        best_weights["file"] = True
    t0 = time.perf_counter()
    elapsed_before = float(state.history[-1]["elapsed"]) if state.history else 0.0
    epochs = spec.epochs

    class Stream(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.last_point = 0.0
            self.epoch = initial_epoch
            self.seen = initial_epoch * len(train)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            self.seen += min(spec.batch_size, len(train) - batch * spec.batch_size)
            loss = _clean(logs.get("loss"))
            if loss is None and logs.get("loss") is not None:
                flags["nan"] = self.epoch
                self.model.stop_training = True
                return
            if should_stop is not None and should_stop():
                flags["stopped"] = True
                self.model.stop_training = True
            now = time.perf_counter()
            if on_progress is not None and now - self.last_point >= BATCH_POINT_INTERVAL:
                self.last_point = now
                on_progress(Progress(kind="batch", epoch=self.epoch, epochs=epochs, batch=batch + 1,
                                     batches=n_batches, seen=self.seen, elapsed=elapsed_before + now - t0,
                                     loss=loss, lr=_lr(self.model)))

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            loss = _clean(logs.get("loss"))
            if loss is None and flags["nan"] is None:
                flags["nan"] = epoch + 1
                self.model.stop_training = True
                return
            point = {"epoch": epoch + 1, "loss": loss, "val_loss": _clean(logs.get("val_loss")),
                     "lr": _lr(self.model), "elapsed": round(elapsed_before + time.perf_counter() - t0, 4)}
            extra = {k: _clean(v) for k, v in logs.items() if k not in ("loss", "val_loss", "learning_rate")}
            point["metrics"] = extra
            value = _clean(logs.get(monitor))
            if value is not None and value < state.best - 1e-12:
                state.best, state.best_epoch, state.wait = value, epoch + 1, 0
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
            if spec.patience and state.wait >= spec.patience and not flags["stopped"]:
                flags["early"] = True
                self.model.stop_training = True
            if checkpoint_dir is not None:
                ck = Path(checkpoint_dir)
                ck.mkdir(parents=True, exist_ok=True)
                tmp = ck / "checkpoint.tmp.keras"
                self.model.save(str(tmp))
                os.replace(tmp, ck / "checkpoint.keras")
                atomic_write_text(ck / "checkpoint.json", json.dumps({
                    "epoch": epoch + 1, "history": state.history, "best": None if math.isinf(state.best) else state.best,
                    "best_epoch": state.best_epoch, "wait": state.wait}))
            if on_progress is not None:
                on_progress(Progress(kind="epoch", epoch=epoch + 1, epochs=epochs, batch=n_batches, batches=n_batches,
                                     seen=self.seen, elapsed=point["elapsed"], loss=loss, val_loss=point["val_loss"],
                                     metrics=extra, lr=point["lr"]))

    callbacks: list = [Stream()]
    if spec.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                           patience=max(2, spec.patience // 3 if spec.patience else 3),
                                                           min_lr=spec.learning_rate / 100, verbose=0))
    elif spec.lr_schedule == "cosine":
        base = spec.learning_rate

        def cosine(epoch, lr):
            return float(base * 0.5 * (1 + math.cos(math.pi * min(epoch, epochs) / epochs)))

        callbacks.append(keras.callbacks.LearningRateScheduler(cosine, verbose=0))

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
    if best_weights["w"] is not None:
        model.set_weights(best_weights["w"])
    elif checkpoint_dir is not None and (Path(checkpoint_dir) / "best.weights.h5").exists():
        model.load_weights(str(Path(checkpoint_dir) / "best.weights.h5"))
    return FitOutcome(
        history=state.history,
        best_epoch=state.best_epoch,
        best_value=None if math.isinf(state.best) else state.best,
        stopped=flags["stopped"],
        early_stopped=flags["early"],
        epochs_run=len(state.history),
    )


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
    from .windows import iterate_inputs

    outs = [np.asarray(model.predict_on_batch(x)) for x in iterate_inputs(src, batch_size)]
    if not outs:
        return np.zeros((0,), np.float32)
    return np.concatenate(outs, axis=0)
