"""The live tracking sink beside the run store: :class:`RunTracker` gets every progress point a run makes and
writes each epoch to TensorBoard event files in the run's folder (``<run folder>/tensorboard/``, unless
``SEQSTUDIO_TENSORBOARD=off``) and, when ``MLFLOW_TRACKING_URI`` is set, to that MLflow tracking store.

Tracking never fails or stalls a run. Event files are written in the training thread (a few hundred bytes
an epoch); a failure to write them (a full disk) is logged once and ends only the event files. MLflow is
imported and called in a background thread fed through a queue, so a slow or unreachable tracking server
never holds up an epoch; its first error is logged once (the run's log) and ends the MLflow logging of
that run. When the run ends, the thread gets at most ``MLFLOW_WAIT_S`` seconds to finish.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

from seqcore import settings
from seqcore.outputs import tracking

MLFLOW_URI = "MLFLOW_TRACKING_URI"
MLFLOW_EXPERIMENT = "MLFLOW_EXPERIMENT_NAME"
MLFLOW_WAIT_S = 30.0          # how long a finished run waits for MLflow to take its last numbers and files
#: MLflow's own settings, where the user set none: HTTP retries such that a dead server fails in seconds, not
#: minutes; and no INFO lines (creating its tables) in the run's log.
MLFLOW_ENV_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
                       "MLFLOW_LOGGING_LEVEL": "WARNING"}


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:300]}" if text else type(err).__name__


class _MlflowThread:
    """Calls to an :class:`~seqcore.outputs.mlflow_log.MlflowRun`, made in order in a daemon thread."""

    def __init__(self, uri: str, run_id: str | None, name: str, started: float, warn: Callable[[str], None]):
        self.warn = warn
        self.jobs: queue.Queue = queue.Queue()
        self.failed = False
        self.thread = threading.Thread(target=self._work, args=(uri, run_id, name, started), daemon=True,
                                       name="mlflow-tracking")
        self.thread.start()

    def put(self, method: str, *args, **kwargs) -> None:
        if not self.failed:
            self.jobs.put((method, args, kwargs))

    def _work(self, uri: str, run_id: str | None, name: str, started: float) -> None:
        try:
            for key, value in MLFLOW_ENV_DEFAULTS.items():
                os.environ.setdefault(key, value)
            from seqcore.outputs.mlflow_log import EXPERIMENT, MlflowRun

            run = MlflowRun(uri, run_id=run_id, name=name, started=started,
                            experiment=os.environ.get(MLFLOW_EXPERIMENT, "").strip() or EXPERIMENT)
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                method, args, kwargs = job
                getattr(run, method)(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the tracking server never fails a run
            self.failed = True
            self.warn(f"MLflow logging to {uri} stopped ({_first_line(err)}); the run goes on without it.")

    def close(self, wait: float) -> None:
        self.jobs.put(None)
        self.thread.join(wait)
        if self.thread.is_alive() and not self.failed:
            self.failed = True
            self.warn(f"MLflow did not take the run's last numbers and files within {wait:g} s; some may be "
                      "missing there.")


class RunTracker:
    """``tracker(point)`` for every progress point of a run; :meth:`start` first, :meth:`finish` at the end.

    folder: the run's folder (event files go to ``folder/tensorboard``). run_id: our run id (tags the MLflow
    run; None outside the run store). spec: the RunSpec as a dict. warn: called with a one-line message the
    first time a tracker fails. replay: for a resumed run, a callable giving the epoch points already stored
    (the earlier attempt's event files are replaced by these and the new epochs).
    """

    def __init__(self, folder: Path | str, *, run_id: str | None, name: str, spec: dict,
                 warn: Callable[[str], None], started: float | None = None,
                 replay: Callable[[], list] | None = None, tensorboard: bool | None = None,
                 mlflow_uri: str | None = None):
        self.folder, self.run_id, self.name, self.spec = Path(folder), run_id, name, spec
        self.warn, self.started, self.replay = warn, started or time.time(), replay
        self.use_tensorboard = settings.tensorboard() if tensorboard is None else tensorboard
        self.mlflow_uri = (os.environ.get(MLFLOW_URI, "").strip() or None) if mlflow_uri is None else mlflow_uri
        self.events = None
        self.mlflow: _MlflowThread | None = None
        self.last_epoch = 0

    # ---- TensorBoard (in the caller's thread; an error ends only the event files)
    def _tensorboard(self, what: str, *args, **kwargs) -> None:
        if self.events is None:
            return
        try:
            getattr(self.events, what)(*args, **kwargs)
            self.events.flush()
        except Exception as err:  # noqa: BLE001 - event files never fail a run
            self.warn(f"TensorBoard event files stopped ({_first_line(err)}); the run goes on without them.")
            self._close_events()

    def _close_events(self) -> None:
        events, self.events = self.events, None
        try:
            if events is not None:
                events.close()
        except Exception:  # noqa: BLE001
            pass

    def _open_events(self) -> None:
        """Start the event file at the first epoch (a run that fails before training leaves none), with the
        hyperparameters and, for a resumed run, the epochs the store kept."""
        self.use_tensorboard = False    # once
        try:
            from seqcore.outputs.tensorboard import EventWriter

            folder = tracking.tensorboard_dir(self.folder)
            if self.replay is not None:
                shutil.rmtree(folder, ignore_errors=True)   # the earlier attempt's files: rewritten below
            self.events = EventWriter(folder)
        except Exception as err:  # noqa: BLE001
            self.warn(f"TensorBoard event files could not be started ({_first_line(err)}); the run goes on "
                      "without them.")
            return
        self._tensorboard("hparams", tracking.hyperparameters(self.spec), trial_id=self.run_id or self.name,
                          start_time=self.started)

    def start(self) -> "RunTracker":
        """Start MLflow logging (when a tracking URI is set) with the hyperparameters."""
        if self.mlflow_uri:
            self.mlflow = _MlflowThread(self.mlflow_uri, self.run_id, self.name, self.started, self.warn)
            self.mlflow.put("log_params", tracking.hyperparameters(self.spec))
        return self

    def __call__(self, point: Any) -> None:
        if point.kind != "epoch":
            return
        if self.use_tensorboard:
            self._open_events()
        replay, self.replay = self.replay, None
        if replay is not None and self.events is not None:
            try:
                earlier = [p for p in replay() if p.kind == "epoch" and p.epoch < point.epoch]
            except Exception:  # noqa: BLE001 - only the earlier epochs' events are lost
                earlier = []
            for p in earlier:
                self._tensorboard("scalars", p.epoch, tracking.epoch_scalars(p))
        values = tracking.epoch_scalars(point)
        self.last_epoch = max(self.last_epoch, int(point.epoch))
        self._tensorboard("scalars", point.epoch, values)
        if self.mlflow is not None:
            stamp = int(time.time() * 1000)
            self.mlflow.put("log_metrics", [(k, v, int(point.epoch), stamp) for k, v in values.items()])

    def finish(self, status: str, metrics: dict | None = None, *, wait: float = MLFLOW_WAIT_S) -> None:
        """Log the final test and baseline numbers and the run's files, mark the MLflow run ended with
        ``status`` (ours: finished, stopped, failed) and close; waits at most ``wait`` s for MLflow."""
        final = tracking.final_scalars(metrics)
        if final:
            self._tensorboard("scalars", self.last_epoch, final)
        self._close_events()
        if self.mlflow is not None:
            stamp = int(time.time() * 1000)
            if final:
                self.mlflow.put("log_metrics", [(k, v, self.last_epoch, stamp) for k, v in final.items()])
            self.mlflow.put("log_files", self.folder)
            self.mlflow.put("end", status)
            self.mlflow.close(wait)


def tee(*sinks: Callable[[Any], None]) -> Callable[[Any], None]:
    """One ``on_progress`` callback that hands each point to every sink, in order."""
    def each(point: Any) -> None:
        for sink in sinks:
            sink(point)
    return each
