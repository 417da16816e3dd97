"""A saved model ready to predict: one checked bundle, its networks loaded once, reused for every call.

``seqcore predict`` (:func:`seqcore.pipeline.predict_from_bundle`), the prediction worker and the HTTP
service (:mod:`seqcore.serving`) all predict through :class:`Predictor`, so they give the same numbers for
the same rows::

    p = Predictor.open(bundle_dir)       # read_bundle: manifest, checksums, spec (JSON only, no Keras)
    p.check(df, steps=None)              # columns and steps, before Keras is imported (a clear DataError)
    p.load()                             # each model's config allow-listed, then loaded with safe_mode=True
    frame = p.predict(df, steps=None)    # the task's predict_new on the raw table

The networks are called under a lock: Keras does not promise that concurrent ``predict_on_batch`` calls on
one model are safe (the first call builds the compiled function), and on a CPU one call already uses every
core. Each call's rows are padded up to a power of two (at most :data:`BATCH` rows a call) and the padding
dropped again, so a long-running process compiles at most a handful of batch shapes instead of one per
request size (under JAX each new shape costs a compilation, ~0.15 s for a small LSTM here). A row's outputs
can differ in the last bits between batch sizes (as they do between any two batch sizes); the command line
and the service pad the same rows the same way, so they give identical numbers.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

BATCH = 256   # rows per network call


def padded_size(n: int) -> int:
    """The batch ``n`` rows are padded to: the next power of two, at most :data:`BATCH` (``n`` >= 1)."""
    return min(BATCH, 1 << max(0, int(n) - 1).bit_length())


class Predictor:
    """One checked bundle (:class:`seqcore.outputs.bundle.Bundle`) and, once :meth:`load` ran, its networks."""

    def __init__(self, bundle):
        from seqcore.modeling.tasks import get_task

        self.bundle = bundle
        self.task = get_task(bundle.shape.task)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path) -> "Predictor":
        """Read and check the bundle folder ``path`` (manifest, checksums, spec); Keras is not imported."""
        from seqcore.outputs.bundle import read_bundle

        return cls(read_bundle(Path(path)))

    @property
    def task_name(self) -> str:
        return self.bundle.shape.task

    @property
    def loaded(self) -> bool:
        return self.bundle.models is not None

    def describe(self) -> dict:
        """What the model is: task, cell and units, members, the columns it reads, the bundle's id, and the Keras
        backend running it (None until :meth:`load`)."""
        b = self.bundle
        backend = None
        if self.loaded:
            import keras

            backend = keras.backend.backend()
        return {"backend": backend, "task": self.task_name, "name": f"{b.spec.model.cell.upper()} {list(b.spec.model.units)}",
                "members": len(b.model_files), "columns": self.task.required_columns(b.state),
                "bundle_id": b.manifest.get("files", {}).get("model.keras", "")[:16],
                "created": b.manifest.get("created"), "seqcore_version": b.manifest.get("seqcore_version"),
                "horizon": b.state.get("horizon") if self.task_name == "forecast" else None}

    def check(self, df, steps: int | None = None) -> dict:
        """The schema and ``steps`` checks of new data; returns the keyword arguments of the task's
        ``predict_new``. A missing or mistyped column, or steps for a classifier, is a clear UserError."""
        from seqcore.errors import SpecError
        from seqcore.modeling.tasks.common import check_columns

        b = self.bundle
        kwargs = {}
        if self.task_name == "forecast":
            from seqcore.modeling.tasks.forecast import check_steps

            kwargs["steps"] = check_steps(steps, b.state["horizon"])
        elif steps is not None:
            what = "classifies sequences" if self.task_name == "classify" else "classifies texts"
            raise SpecError(f"This model {what}: it has no steps ahead to forecast.",
                            hint="Leave out the number of steps, or pick a forecasting model.")
        check_columns(df, self.task.required_columns(b.state))
        return kwargs

    def load(self) -> "Predictor":
        """Load the networks (once): each config checked against the allow-list, then ``safe_mode=True``."""
        if not self.loaded:
            from seqcore.modeling.training import quiet_tensorflow
            from seqcore.outputs.bundle import load_model

            with self._lock:
                if not self.loaded:
                    quiet_tensorflow()
                    load_model(self.bundle)
        return self

    def warm_up(self) -> None:
        """Compile the smallest batch shape now, so the first request does not pay for it."""
        self.load()
        shape = tuple(self.bundle.shape.input_shape)
        if all(isinstance(d, int) and d > 0 for d in shape):
            dtype = np.int32 if self.task_name == "text" else np.float32
            self.predict_array(np.zeros((1, *shape), dtype))

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """The networks' outputs for the model inputs ``x`` (``(rows, ...)``); a seed ensemble's members'
        class probabilities averaged, as in training."""
        from seqcore.modeling.ensemble import average

        self.load()
        x = np.asarray(x)
        per = []
        with self._lock:
            for m in self.bundle.models:
                chunks = []
                for i in range(0, len(x), BATCH):
                    part = x[i:i + BATCH]
                    pad = padded_size(len(part)) - len(part)
                    if pad:
                        part = np.concatenate([part, np.zeros((pad, *part.shape[1:]), part.dtype)])
                    chunks.append(np.asarray(m.predict_on_batch(part))[:len(part) - pad])
                per.append(np.concatenate(chunks, axis=0))
        return per[0] if len(per) == 1 else average(per)

    def predict(self, df, steps: int | None = None):
        """Predictions (a DataFrame) for the raw table ``df`` with the training data's columns.

        forecast: the next ``steps`` steps (default: the trained horizon H) after the end of the history; past
        H the forecast rolls forward on the trained horizon. classify/text: a class per sequence/text."""
        kwargs = self.check(df, steps)
        self.load()
        b = self.bundle
        return self.task.predict_new(b.state, b.spec.data, df, self.predict_array, **kwargs)


def read_table(data: bytes, csv_options=None, name: str = "new.csv"):
    """The raw table of new data (CSV, Parquet or Excel bytes), read as training data is read
    (:func:`seqcore.data.io.read_table`)."""
    from seqcore.data.io import read_table as read

    return read(data, csv_options, name=name).df
