"""Sequence Studio runs as MLflow runs: :class:`MlflowRun` (one run in a tracking store, found again by its
``seqstudio.run_id`` tag, so logging a run twice updates it instead of adding a copy) and
:func:`export_runs` (``python -m seqcore runs export --mlflow DIR``).

``mlflow`` (the ``mlflow-skinny`` client) is imported when a function here is called, never by ``import
seqcore``. An export folder is an MLflow store MLflow 3 reads without options: ``DIR/mlflow.db`` (SQLite)
and ``DIR/artifacts/``. (MLflow 3 refuses its old plain-folder store ``file:DIR`` unless
``MLFLOW_ALLOW_FILE_STORE=true``; SQLite is what it recommends.) Read it with
``MlflowClient(tracking_uri="sqlite:///DIR/mlflow.db")`` or ``mlflow ui --backend-store-uri
sqlite:///DIR/mlflow.db`` (the ``mlflow`` package, for the web page).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from seqcore.errors import UserError
from seqcore.outputs import tracking

TAG = "seqstudio.run_id"              # our run id, on every MLflow run we create
EXPERIMENT = "Sequence Studio"        # the experiment runs go to (live: unless MLFLOW_EXPERIMENT_NAME says)
DB_NAME = "mlflow.db"
ARTIFACTS_DIR = "artifacts"
#: Our run status -> MLflow's.
STATUS = {"finished": "FINISHED", "stopped": "KILLED", "failed": "FAILED", "interrupted": "FAILED",
          "running": "RUNNING", "queued": "SCHEDULED"}


def folder_uri(folder: Path | str) -> str:
    """The tracking URI of an export folder: ``sqlite:///<folder>/mlflow.db``."""
    return "sqlite:///" + str(Path(folder).resolve() / DB_NAME)


def _artifacts_beside(uri: str) -> str | None:
    """For a local SQLite store (``sqlite:///path/mlflow.db``), ``path/artifacts`` as a file URI: where a new
    experiment keeps its files (MLflow's own default is ``./mlruns`` under whatever folder the process runs in).
    None for other stores, whose server decides."""
    if not uri.startswith("sqlite:///") or uri.endswith(":memory:"):
        return None
    return (Path(uri[len("sqlite:///"):]).resolve().parent / ARTIFACTS_DIR).as_uri()


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


class MlflowRun:
    """One of our runs in an MLflow tracking store: created the first time, then found by its tag and updated.

    tracking_uri: any MLflow tracking URI (``sqlite:///...``, ``http://server:5000``, ``databricks``...).
    run_id: our run id (the ``seqstudio.run_id`` tag), or None for a run outside the store (``train --out``),
    which always starts a new MLflow run. Every call talks to the tracking store and may raise whatever
    MLflow raises; callers that must not fail catch it (:mod:`seqcore.runs.tracking`).
    """

    def __init__(self, tracking_uri: str, *, run_id: str | None, name: str, started: float | None = None,
                 experiment: str = EXPERIMENT):
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri)
        exp = self.client.get_experiment_by_name(experiment)
        if exp is not None:
            self.experiment_id = exp.experiment_id
        else:
            try:
                self.experiment_id = self.client.create_experiment(
                    experiment, artifact_location=_artifacts_beside(tracking_uri))
            except Exception:  # noqa: BLE001 - created meanwhile by another process: use that one
                exp = self.client.get_experiment_by_name(experiment)
                if exp is None:
                    raise
                self.experiment_id = exp.experiment_id
        found = None
        if run_id is not None:
            hits = self.client.search_runs([self.experiment_id], filter_string=f"tags.`{TAG}` = '{run_id}'",
                                           max_results=1)
            found = hits[0] if hits else None
        self.created = found is None
        if found is None:
            found = self.client.create_run(self.experiment_id, start_time=_ms(started), run_name=name,
                                           tags={TAG: run_id} if run_id is not None else None)
        self.id = found.info.run_id
        self._params = dict(found.data.params)

    def log_params(self, params: dict[str, Any]) -> None:
        """The hyperparameters not logged yet (MLflow keeps a param's first value for good)."""
        from mlflow.entities import Param

        new = [Param(k, str(v)) for k, v in params.items() if k not in self._params]
        for i in range(0, len(new), 100):
            self.client.log_batch(self.id, params=new[i:i + 100])
        self._params.update({p.key: p.value for p in new})

    def log_metrics(self, rows: list[tuple[str, float, int, int]], *, only_new: bool = False) -> int:
        """``(name, value, step, time in ms)`` rows; ``only_new``: leave out the (name, step) pairs the run
        already has (a second export adds nothing). Returns how many were logged."""
        from mlflow.entities import Metric

        if only_new:
            have = {(key, m.step) for key in {r[0] for r in rows}
                    for m in self.client.get_metric_history(self.id, key)}
            rows = [r for r in rows if (r[0], r[2]) not in have]
        metrics = [Metric(key, float(value), int(stamp), int(step)) for key, value, step, stamp in rows]
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(self.id, metrics=metrics[i:i + 1000])
        return len(metrics)

    def log_files(self, run_folder: Path | str) -> list[str]:
        """The run's bundle, metrics, predictions, forecast and report (those that exist), replacing any copy
        already logged. Returns the names logged."""
        names = []
        for path, dest in tracking.artifact_files(run_folder):
            if path.is_dir():
                self.client.log_artifacts(self.id, str(path), dest or None)
            else:
                self.client.log_artifact(self.id, str(path), dest or None)
            names.append(path.name)
        return names

    def end(self, status: str, ended: float | None = None) -> None:
        """Set the MLflow run's status from ours (finished, stopped, failed, ...) and its end time."""
        mstatus = STATUS.get(status, "FAILED")
        if mstatus in ("RUNNING", "SCHEDULED"):
            self.client.update_run(self.id, status=mstatus)
        else:
            self.client.set_terminated(self.id, status=mstatus, end_time=_ms(ended or time.time()))


def history_rows(points, started: float) -> list[tuple[str, float, int, int]]:
    """The metric rows of a run's epoch points (``(name, value, epoch, time in ms)``; the time is the run's
    start plus the point's seconds of training, so the same history always gives the same rows)."""
    rows = []
    for p in points:
        if p.kind != "epoch":
            continue
        stamp = _ms(started + float(p.elapsed or 0.0))
        rows += [(k, v, int(p.epoch), stamp) for k, v in tracking.epoch_scalars(p).items()]
    return rows


def final_rows(metrics: dict | None, step: int, ended: float) -> list[tuple[str, float, int, int]]:
    """The metric rows of a finished run's test and baseline numbers, at ``step`` (its last epoch)."""
    return [(k, v, int(step), _ms(ended)) for k, v in tracking.final_scalars(metrics).items()]


def _metrics_of(store, rec) -> dict | None:
    import json

    path = store.run_dir(rec.id) / "metrics.json"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metrics = None
    return metrics if isinstance(metrics, dict) else rec.summary


def export_run(store, rec, tracking_uri: str) -> dict:
    """Log one of our runs (record ``rec`` of ``store``) to ``tracking_uri``: params, every epoch's numbers
    (step = epoch), the final test and baseline numbers, its files and its status; a run exported before is
    updated, never copied. Returns ``{"run_id", "mlflow_run_id", "created", "metrics", "artifacts"}``."""
    started = rec.started or rec.created
    points = [p for _, p in store.read_history(rec.id, kind="epoch")]
    run = MlflowRun(tracking_uri, run_id=rec.id, name=rec.name, started=started)
    run.log_params(tracking.hyperparameters(rec.spec or {}))
    rows = history_rows(points, started)
    ended = rec.ended or time.time()
    rows += final_rows(_metrics_of(store, rec), rec.epochs_run or max((p.epoch for p in points), default=0), ended)
    logged = run.log_metrics(rows, only_new=not run.created)
    files = run.log_files(store.run_dir(rec.id))
    run.end(rec.status, rec.ended)
    return {"run_id": rec.id, "mlflow_run_id": run.id, "created": run.created, "metrics": logged,
            "artifacts": files}


def export_runs(store, folder: Path | str, run_ids: list[str] | None = None) -> list[dict]:
    """Export training runs of ``store`` (``run_ids``, or every one) to the MLflow store in ``folder``
    (created if needed). Unknown ids are refused before anything is written. Returns :func:`export_run`'s
    answer for each run, in order."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"'{folder}' is a file; give a folder for the MLflow store.")
    if run_ids:
        recs = [store.get_run(rid) for rid in run_ids]
        bad = [r.id for r in recs if r.kind != "train"]
        if bad:
            raise UserError(f"{', '.join(bad)} is a prediction job, not a training run; only training runs "
                            "are exported.")
    else:
        recs = [r for r in reversed(store.list_runs(kind="train"))]   # oldest first
    if not recs:
        raise UserError(f"There are no training runs in {store.home} to export.")
    folder.mkdir(parents=True, exist_ok=True)
    return [export_run(store, rec, folder_uri(folder)) for rec in recs]
