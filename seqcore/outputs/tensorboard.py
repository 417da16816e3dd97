"""TensorBoard event files without TensorFlow: :class:`EventWriter` appends scalars and a hyperparameter
summary (the HParams tab) to one ``events.out.tfevents.*`` file.

It uses only the ``tensorboard`` package's protocol buffers, its record framing and its HParams summary
builder (pure Python; importing them loads neither TensorFlow nor JAX, about 0.3 s), so a worker on the JAX
backend stays light. The files are what ``tf.summary`` writes: TensorBoard and its
``EventAccumulator`` read them (``tests/test_tracking.py``).
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.summary.writer.record_writer import RecordWriter

_FILES = itertools.count()


class EventWriter:
    """Appends events to a new event file in ``folder`` (created if needed); close it when done.

    One writer per run attempt: TensorBoard reads every event file of a folder, in name order (the name starts
    with the time), as one run.
    """

    def __init__(self, folder: Path | str):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                              f"{os.getpid()}.{next(_FILES)}")
        self._records = RecordWriter(open(self.path, "ab"))
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event) -> None:
        self._records.write(event.SerializeToString())

    def scalars(self, step: int, values: dict[str, float], wall_time: float | None = None) -> None:
        """One value per tag at ``step`` (the epoch), as TensorBoard's scalar charts read them."""
        if not values:
            return
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(v))
                                             for tag, v in values.items()])
        self._write(event_pb2.Event(wall_time=wall_time or time.time(), step=int(step), summary=summary))

    def hparams(self, values: dict[str, bool | int | float | str], *, trial_id: str | None = None,
                start_time: float | None = None) -> None:
        """The run's hyperparameters (bool, int, float or str values), for the HParams tab; TensorBoard takes
        the metrics to show beside them from the run's scalar tags."""
        summary = hparams_summary.hparams_pb(values, trial_id=trial_id, start_time_secs=start_time)
        self._write(event_pb2.Event(wall_time=time.time(), summary=summary))

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        if not self._records.closed:
            self._records.close()
