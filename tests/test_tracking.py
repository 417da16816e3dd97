"""Tracking formats: TensorBoard event files in every run's folder (read back by TensorBoard's own reader),
``runs export --mlflow DIR`` (read back by the MLflow client, idempotent), live MLflow logging when
``MLFLOW_TRACKING_URI`` is set, and a tracking server that fails never failing the run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqcore.cli import runs as cli_runs
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.modeling.progress import Progress
from seqcore.outputs import tracking
from seqcore.outputs.mlflow_log import TAG, folder_uri
from seqcore.runs.store import RunStore

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 3


def sine_csv(n: int = 240) -> bytes:
    rows = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.1 * math.cos(i / 2):.5f}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def tiny_spec(epochs: int = EPOCHS) -> RunSpec:
    return RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=12),
                   ModelSpec(units=(4,)), TrainSpec(epochs=epochs, batch_size=32, patience=0))


def train_in_process(store: RunStore, spec: RunSpec | None = None) -> str:
    """A real tiny run through the worker's job path, in this process; returns its id."""
    from seqcore.runs.queue import submit_run
    from seqcore.runs.worker import execute_job

    ds = store.add_dataset(sine_csv(), "sine.csv")
    run_id = submit_run(store, spec or tiny_spec(), ds, start=False)
    store.claim_next_job(worker_pid=os.getpid())
    assert execute_job(store, run_id) == "finished", store.log_path(run_id).read_text()
    return run_id


def read_events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return acc


def session_hparams(acc) -> dict:
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}


def mlflow_runs(uri: str):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("Sequence Studio")
    return client, (client.search_runs([exp.experiment_id]) if exp else [])


# ----------------------------------------------------------------------------- no training


def test_values_are_flat_and_numbers_finite():
    hp = tracking.hyperparameters(RunSpec(DataSpec(task="forecast", targets=("a", "b"), features=("x" * 400,)),
                                          ModelSpec(units=(64, 32))).to_dict())
    assert hp["model.units"] == "64,32" and hp["data.targets"] == "a,b" and hp["model.cell"] == "lstm"
    assert hp["train.learning_rate"] == 1e-3 and hp["model.bidirectional"] is False
    assert "data.time" not in hp                              # unset settings are left out
    assert len(hp["data.features"]) == tracking.MAX_TEXT      # long texts are cut
    assert all(isinstance(v, (bool, int, float, str)) for v in hp.values())
    p = Progress("epoch", 2, 5, loss=0.5, val_loss=float("nan"), lr=0.01,
                 metrics={"accuracy": 0.75, "val_accuracy": None, "phase": "x"})
    assert tracking.epoch_scalars(p) == {"loss": 0.5, "learning_rate": 0.01, "accuracy": 0.75}
    assert tracking.final_scalars({"test": {"mae": 1.5, "per_step": [1, 2], "n": 10},
                                   "baselines": {"naive": {"mae": 2.0, "note": "x"}}}) == {
        "test/mae": 1.5, "test/n": 10.0, "baseline/naive/mae": 2.0}
    assert tracking.final_scalars(None) == {}


def test_event_writer_needs_no_tensorflow_and_tensorboard_reads_it(tmp_path):
    code = ("import sys; from seqcore.outputs.tensorboard import EventWriter; import seqcore.runs.tracking; "
            "import seqcore.outputs.mlflow_log; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'jax', 'keras', 'mlflow', 'torch'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", (out.stdout, out.stderr)
    code = ("import sys, seqcore, seqcore.runs.worker, seqcore.runs.store, seqcore.cli.main; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorboard', 'mlflow'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", (out.stdout, out.stderr)   # loaded when used
    from seqcore.outputs.tensorboard import EventWriter

    w = EventWriter(tmp_path / "tb")
    w.hparams({"model.cell": "gru", "train.batch_size": 32, "model.bidirectional": True}, trial_id="r1")
    for epoch in (1, 2):
        w.scalars(epoch, {"loss": 1.0 / epoch, "val_loss": 2.0 / epoch})
    w.close()
    acc = read_events(tmp_path / "tb")
    assert [(s.step, s.value) for s in acc.Scalars("loss")] == [(1, 1.0), (2, 0.5)]
    assert session_hparams(acc) == {"model.cell": "gru", "train.batch_size": 32.0, "model.bidirectional": True}


def test_tensorboard_setting_is_checked(monkeypatch):
    from seqcore import settings
    from seqcore.errors import SettingsError

    assert settings.tensorboard() is True
    monkeypatch.setenv("SEQSTUDIO_TENSORBOARD", "off")
    assert settings.tensorboard() is False
    monkeypatch.setenv("SEQSTUDIO_TENSORBOARD", "maybe")
    with pytest.raises(SettingsError, match="SEQSTUDIO_TENSORBOARD"):
        settings.check()


def test_export_cli_refuses_bad_arguments_with_one_line(tmp_path, capsys):
    store = RunStore(tmp_path / "home")
    h = ["--home", str(store.home)]
    afile = tmp_path / "afile"
    afile.write_text("x")
    for argv in (["runs", "export", *h],                                  # no --mlflow
                 ["runs", "export", "--mlflow", str(tmp_path / "m"), *h],  # no runs to export
                 ["runs", "export", "--mlflow", str(tmp_path / "m"), "nosuchrun1", *h],
                 ["runs", "export", "--mlflow", str(tmp_path / "m"), "../../x", *h],
                 ["runs", "export", "--mlflow", str(afile), *h],
                 ["runs", "export", "--mlflow"]):                          # --mlflow without its folder
        with pytest.raises(SystemExit) if argv[-1] == "--mlflow" else _no_raise():
            code = cli_runs.main(argv)
            assert code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, (argv, err)
    assert not (tmp_path / "m").exists()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ----------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_run_writes_event_files_logs_live_to_mlflow_and_exports(tmp_path, monkeypatch, capsys):
    """One real run with MLFLOW_TRACKING_URI set: TensorBoard reads its event files (a point per epoch, the
    final test numbers, the hyperparameters), MLflow got its params, epochs and files live; then
    ``runs export --mlflow DIR`` writes it to a new store, which MLflow reads back, and a second export
    changes nothing."""
    live = tmp_path / "live"
    live.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", folder_uri(live))
    store = RunStore()
    rid = train_in_process(store)
    rec = store.get_run(rid)
    log = store.log_path(rid).read_text()
    assert "warning" not in log, log

    # TensorBoard: the run's folder, read by TensorBoard's own reader
    tb = store.artifacts(rid)["tensorboard"]
    assert tb == store.run_dir(rid) / "tensorboard"
    acc = read_events(tb)
    history = [p for _, p in store.read_history(rid, kind="epoch")]
    for tag in ("loss", "val_loss", "learning_rate"):
        assert [s.step for s in acc.Scalars(tag)] == list(range(1, EPOCHS + 1)), tag
    assert [round(s.value, 5) for s in acc.Scalars("val_loss")] == [round(p.val_loss, 5) for p in history]
    test_mae = rec.summary["test"]["mae"]
    assert acc.Scalars("test/mae")[-1].value == pytest.approx(test_mae, rel=1e-5)
    assert "baseline/naive/mae" in acc.Tags()["scalars"]
    hp = session_hparams(acc)
    assert hp["model.cell"] == "lstm" and hp["model.units"] == "4" and hp["train.epochs"] == EPOCHS

    # the hint: runs show names the folder and the command for all runs side by side
    assert cli_runs.main(["runs", "show", rid]) == 0
    shown = capsys.readouterr().out
    assert f'tensorboard --logdir "{store.runs_dir}"' in shown and str(tb) in shown

    # ... and so does the Results page
    from helpers import page

    at = page("pages/4_Results.py", query={"run": rid})
    assert f'tensorboard --logdir "{store.runs_dir}"' in [c.value for c in at.code]
    assert any(str(tb) in c.value for c in at.caption)

    # live MLflow
    client, found = mlflow_runs(folder_uri(live))
    assert len(found) == 1 and found[0].data.tags[TAG] == rid and found[0].info.status == "FINISHED"
    live_id = found[0].info.run_id
    assert found[0].data.params["model.cell"] == "lstm"
    assert [m.step for m in client.get_metric_history(live_id, "loss")] == list(range(1, EPOCHS + 1))
    assert found[0].data.metrics["test/mae"] == pytest.approx(test_mae)
    assert {"bundle", "metrics.json", "predictions.csv"} <= {f.path for f in client.list_artifacts(live_id)}
    assert (live / "artifacts").is_dir()                 # files beside the database, not in the current folder

    # export to a new store, read back
    dest = tmp_path / "export"
    assert cli_runs.main(["runs", "export", "--mlflow", str(dest)]) == 0
    out = capsys.readouterr()
    assert f"{rid}: exported as MLflow run" in out.out and folder_uri(dest) in out.err
    client, found = mlflow_runs(folder_uri(dest))
    assert len(found) == 1
    run = found[0]
    assert run.data.tags[TAG] == rid and run.info.run_name == rec.name and run.info.status == "FINISHED"
    assert run.data.params == {k: str(v) for k, v in tracking.hyperparameters(rec.spec).items()}
    vals = client.get_metric_history(run.info.run_id, "val_loss")
    assert [(m.step, round(m.value, 5)) for m in vals] == [(p.epoch, round(p.val_loss, 5)) for p in history]
    assert run.data.metrics["test/mae"] == pytest.approx(test_mae)
    arts = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"bundle", "metrics.json", "predictions.csv", "forecast.csv"} <= arts
    assert "bundle/model.keras" in {f.path for f in client.list_artifacts(run.info.run_id, "bundle")}
    local = Path(client.download_artifacts(run.info.run_id, "metrics.json", str(tmp_path)))
    assert json.loads(local.read_text())["test"]["mae"] == pytest.approx(test_mae)

    # a second export (by id, --json) updates the same MLflow run and adds nothing
    assert cli_runs.main(["runs", "export", "--mlflow", str(dest), rid, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == [{"run_id": rid, "mlflow_run_id": run.info.run_id, "created": False, "metrics": 0,
                      "artifacts": again[0]["artifacts"]}]
    client, found = mlflow_runs(folder_uri(dest))
    assert len(found) == 1 and len(client.get_metric_history(run.info.run_id, "val_loss")) == EPOCHS


def test_resumed_run_rewrites_its_event_files_from_the_stored_epochs(tmp_path):
    """A resumed run's event files hold each epoch once: the earlier attempt's file is replaced by the epochs
    the store kept, then the new ones."""
    from seqcore.runs.tracking import RunTracker

    spec = tiny_spec().to_dict()
    first = RunTracker(tmp_path, run_id="r1", name="r1", spec=spec, warn=pytest.fail).start()
    for epoch in (1, 2, 3):
        first(Progress("epoch", epoch, 5, loss=10.0 + epoch))
    # killed here; the store kept epochs 1-2 (epoch 3 is redone on resume)
    kept = [Progress("epoch", 1, 5, loss=11.0), Progress("epoch", 2, 5, loss=12.0)]
    again = RunTracker(tmp_path, run_id="r1", name="r1", spec=spec, warn=pytest.fail, replay=lambda: kept).start()
    again(Progress("batch", 3, 5, batch=1, loss=0.5))       # batch points are not tracked
    for epoch in (3, 4):
        again(Progress("epoch", epoch, 5, loss=float(epoch)))
    again.finish("finished", {"test": {"mae": 0.25}})
    acc = read_events(tmp_path / "tensorboard")
    assert len(list((tmp_path / "tensorboard").iterdir())) == 1
    assert [(s.step, s.value) for s in acc.Scalars("loss")] == [(1, 11.0), (2, 12.0), (3, 3.0), (4, 4.0)]
    assert [(s.step, s.value) for s in acc.Scalars("test/mae")] == [(4, 0.25)]
    assert session_hparams(acc)["model.units"] == "4"


@pytest.mark.slow
def test_runs_through_the_runner_write_event_files_and_log_live(tmp_path, monkeypatch):
    """Through the real supervisor and worker process: the worker (which inherits MLFLOW_TRACKING_URI) writes the
    event files and logs to MLflow as it trains."""
    from seqcore.runs.runner import ensure_supervisor, stop_supervisor, submit_run, wait_run

    from helpers import wait_for

    live = tmp_path / "live"
    live.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", folder_uri(live))
    mlflow_runs(folder_uri(live))   # the tracking store exists, as a user's does (two first users race on its tables)
    store = RunStore()
    ds = store.add_dataset(sine_csv(), "sine.csv")
    try:
        ensure_supervisor(store.home, idle_exit=60)
        rid = submit_run(store, tiny_spec(epochs=2), ds)
        rec = wait_run(store, rid, timeout=240)
        # the run is recorded first; the worker then hands MLflow the final numbers and files
        found = wait_for(lambda: [r for r in mlflow_runs(folder_uri(live))[1] if r.info.status == "FINISHED"],
                         60, "the MLflow run to be marked finished", poll=0.5)
    finally:
        stop_supervisor(store.home)
    assert rec.status == "finished", store.log_path(rid).read_text()
    acc = read_events(store.run_dir(rid) / "tensorboard")
    assert [s.step for s in acc.Scalars("val_loss")] == [1, 2] and "test/mae" in acc.Tags()["scalars"]
    client, _ = mlflow_runs(folder_uri(live))
    assert [r.data.tags[TAG] for r in found] == [rid] and "test/mae" in found[0].data.metrics
    assert [m.step for m in client.get_metric_history(found[0].info.run_id, "val_loss")] == [1, 2]


@pytest.mark.slow
def test_broken_tracking_server_never_fails_the_run(tmp_path, monkeypatch):
    """An MLflow server that is not there, or a URI MLflow cannot use: the run finishes, with one warning in
    its log; SEQSTUDIO_TENSORBOARD=off writes no event files."""
    import socket

    with socket.socket() as s:   # a free local port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = RunStore()
    monkeypatch.setenv("SEQSTUDIO_TENSORBOARD", "off")
    for uri in (f"http://127.0.0.1:{port}", "nosuchscheme://x"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        rid = train_in_process(store, tiny_spec(epochs=2))
        log = store.log_path(rid).read_text()
        assert log.count("warning: MLflow logging to") == 1, log
        assert "the run goes on without it" in log and "Traceback" not in log
        assert "tensorboard" not in store.artifacts(rid)
