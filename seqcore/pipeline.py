"""One training run end to end: CSV bytes + RunSpec -> trained bundle, metrics, predictions.

Used by the CLI (foreground) and by worker processes (background runs). Everything a user can
fix comes out as a :class:`~seqcore.errors.UserError`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .config import RunSpec
from .errors import UserError
from .fsutil import atomic_write_bytes, atomic_write_text
from .progress import Progress
from .training import configure_threads, quiet_tensorflow  # noqa: F401 - re-exported for workers


@dataclass
class RunResult:
    status: str            # "finished" | "stopped"
    metrics: dict          # {"test": {...}, "baselines": {name: {...}}, "comparison": {...}, ...}
    bundle_dir: Path
    epochs_run: int
    best_epoch: int | None
    history: list[dict]
    notes: list[str]


def warm_up() -> None:
    """What a warm worker does while it waits: import the Keras backend (JAX or TensorFlow, see
    :func:`seqcore.training.backend_name`) and Keras; under JAX also train a tiny network for one step,
    which sets up the XLA compiler (about a second saved on the next run's first compilation)."""
    quiet_tensorflow()
    import keras

    if keras.backend.backend() != "jax":
        return
    try:
        x = np.zeros((2, 3, 1), np.float32)
        net = keras.Sequential([keras.Input((3, 1)), keras.layers.LSTM(2), keras.layers.Dense(1)])
        net.compile(optimizer="adam", loss="mse")
        net.train_on_batch(x, np.zeros((2, 1), np.float32))
    except Exception:  # noqa: BLE001 - only a head start; the run itself reports real problems
        pass


def load_tables(data: bytes, spec: RunSpec, csv_options=None, test_data: bytes | None = None, name: str = "data.csv"):
    from .io import read_csv

    table = read_csv(data, csv_options, name=name)
    test_table = read_csv(test_data, csv_options, name="test.csv") if test_data is not None else None
    return table, test_table


def prepare_data(data: bytes, spec: RunSpec, *, csv_options=None, test_data: bytes | None = None,
                 name: str = "data.csv"):
    """Parse and prepare without touching TensorFlow (also used by the app for a dry run / estimate)."""
    from .tasks import get_task

    spec.validate()
    table, test_table = load_tables(data, spec, csv_options, test_data, name)
    task = get_task(spec.data.task)
    prep = task.prepare(table.df, spec.data, test_df=None if test_table is None else test_table.df,
                        seed=spec.train.seed)
    return task, prep, table


def run_training(
    data: bytes,
    spec: RunSpec,
    out_dir,
    *,
    csv_options=None,
    test_data: bytes | None = None,
    name: str = "data.csv",
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> RunResult:
    """Train, evaluate against baselines, and save the bundle + predictions into ``out_dir``.

    Writes ``out_dir/bundle/``, ``out_dir/metrics.json``, ``out_dir/predictions.csv`` and, for forecasts,
    ``out_dir/forecast.csv`` (the next H steps past the end of the data).
    """
    from .bundle import save_bundle
    from .export import csv_bytes
    from .models import build_model, check_fits
    from .training import fit, load_checkpoint_state, predict, set_seed

    quiet_tensorflow()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task, prep, table = prepare_data(data, spec, csv_options=csv_options, test_data=test_data, name=name)
    estimate = check_fits(spec.model, spec.train, prep.shape)
    import keras

    set_seed(spec.train.seed, strict=not spec.train.jit_compile)
    resume_state = load_checkpoint_state(checkpoint_dir) if (resume and checkpoint_dir) else None
    if resume_state is not None:
        from .bundle import check_model_config, inspect_keras_file  # noqa: F401 - same checks as bundles

        inspect_keras_file(Path(checkpoint_dir) / "checkpoint.keras")
        model = keras.saving.load_model(str(Path(checkpoint_dir) / "checkpoint.keras"), safe_mode=True)
    else:
        model = build_model(spec.model, spec.train, prep.shape)
    t0 = time.perf_counter()
    outcome = fit(model, prep.train, prep.val, spec.train, on_progress=on_progress, should_stop=should_stop,
                  checkpoint_dir=checkpoint_dir, resume_state=resume_state)
    train_seconds = time.perf_counter() - t0
    outputs = predict(model, prep.test, batch_size=max(256, spec.train.batch_size))
    metrics, predictions = task.evaluate(prep, outputs)
    metrics["training"] = {
        "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch, "best_val_loss": outcome.best_value,
        "stopped_by_user": outcome.stopped, "early_stopped": outcome.early_stopped,
        "seconds": round(train_seconds, 3), "params": estimate.params, "sizes": prep.sizes(),
    }
    metrics["notes"] = list(prep.notes) + list(metrics["test"].get("notes", []) if isinstance(metrics["test"], dict) else [])
    if prep.task == "forecast":
        from .tasks.forecast import future_frame, future_inputs

        times = prep.extra["times"]
        x_future, last = future_inputs(prep)
        fut = future_frame(prep.state, np.asarray(model.predict_on_batch(x_future)),
                           None if times is None else times[-1], last)
        atomic_write_bytes(out_dir / "forecast.csv", csv_bytes(fut))
    atomic_write_bytes(out_dir / "predictions.csv", csv_bytes(predictions))
    bundle_dir = save_bundle(out_dir / "bundle", model, spec, prep.state, prep.shape, metrics, outcome.history)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=1, default=str, allow_nan=False))
    return RunResult(status="stopped" if outcome.stopped else "finished", metrics=metrics, bundle_dir=bundle_dir,
                     epochs_run=outcome.epochs_run, best_epoch=outcome.best_epoch, history=outcome.history,
                     notes=metrics["notes"])


def predict_from_bundle(bundle_dir, data: bytes, *, csv_options=None, name: str = "new.csv"):
    """Predictions for new raw CSV bytes with the same columns as the training data.

    forecast: the next H steps after the end of the uploaded history; classify/text: a class per sequence/text.
    The schema is checked first: a missing or mistyped column is a clear DataError.
    """
    from .bundle import load_bundle
    from .io import read_csv
    from .tasks import get_task
    from .tasks.common import check_columns

    quiet_tensorflow()
    table = read_csv(data, csv_options, name=name)
    b = load_bundle(bundle_dir)
    task = get_task(b.shape.task)
    check_columns(table.df, task.required_columns(b.state))
    batch = 256

    def predict_fn(x):
        outs = [np.asarray(b.model.predict_on_batch(x[i:i + batch])) for i in range(0, len(x), batch)]
        return np.concatenate(outs, axis=0)

    return task.predict_new(b.state, b.spec.data, table.df, predict_fn)


__all__ = ["RunResult", "run_training", "predict_from_bundle", "prepare_data", "warm_up", "configure_threads",
           "UserError"]
