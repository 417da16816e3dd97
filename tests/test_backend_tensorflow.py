"""The TensorFlow backend (``SEQSTUDIO_BACKEND=tensorflow``), which the rest of the suite never trains with:
the suite's own process uses the default (JAX when installed), and a process keeps the backend Keras was
first imported with. So everything here runs in processes started with the variable set:

- ``tests/backend_paths.py`` in a subprocess: train, stop, resume from the checkpoint, save the bundle and
  predict from it again, for forecast, classify and text; it reports the backend Keras used;
- the app's path: a run and a prediction submitted to a supervisor started with the variable, trained in
  its worker processes; the worker shows it is on TensorFlow (TensorFlow loaded, and its prewarm answers
  that there is nothing to compile ahead, which only a non-JAX worker says);
- the bundles TensorFlow saved, read back in this process (whatever its backend) with the same predictions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.runs import runner
from seqcore.runs.store import RunStore

from helpers import ROOT, wait_for

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
TIMEOUT = 180


def backend_env(**values: str) -> dict[str, str]:
    """This process's environment with ``values`` set, no ``KERAS_BACKEND`` unless given (this process may
    have set it for its own backend), and seqcore importable."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(values)
    return env


# ----------------------------------------------------------------------------- choosing the backend


@pytest.mark.parametrize("values, expected", [
    ({"SEQSTUDIO_BACKEND": "tensorflow"}, "tensorflow"),
    ({"SEQSTUDIO_BACKEND": "tensorflow", "KERAS_BACKEND": "jax"}, "tensorflow"),   # the explicit choice wins
    ({"SEQSTUDIO_BACKEND": "auto", "KERAS_BACKEND": "tensorflow"}, "tensorflow"),  # auto honours KERAS_BACKEND
    ({"SEQSTUDIO_BACKEND": "jax"}, "jax"),
], ids=["tensorflow", "tensorflow-over-keras-backend", "auto-keras-backend", "jax"])
def test_seqstudio_backend_picks_the_keras_backend_before_keras_is_imported(values, expected):
    if expected == "jax":
        pytest.importorskip("jax")     # without JAX, a request for it falls back to TensorFlow
    code = ("import os, sys; from seqcore.modeling.training import select_backend; "
            "print(select_backend(), os.environ['KERAS_BACKEND'], 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=backend_env(**values), capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == [expected, expected, "False"], out.stdout


# ----------------------------------------------------------------------------- the core paths, all three tasks


@pytest.fixture(scope="module")
def tf_core(tmp_path_factory) -> dict:
    """What ``tests/backend_paths.py`` reports from a process started with ``SEQSTUDIO_BACKEND=tensorflow``."""
    out = tmp_path_factory.mktemp("tensorflow-core")
    proc = subprocess.run([sys.executable, str(HERE / "backend_paths.py"), str(out)],
                          env=backend_env(SEQSTUDIO_BACKEND="tensorflow", SEQSTUDIO_HOME=str(out / "home")),
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_core_process_trained_with_tensorflow(tf_core):
    assert tf_core["keras_backend"] == "tensorflow" and tf_core["backend_name"] == "tensorflow"
    assert tf_core["tensorflow_imported"]


@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
def test_train_stop_resume_and_bundle_round_trip_on_tensorflow(tf_core, task):
    r = tf_core["tasks"][task]
    # Stop in the first batch: a stopped run with a bundle, and a checkpoint at epoch 1
    assert r["first_status"] == "stopped" and r["first_epochs"] == 1 and r["checkpoint_epoch"] == 1, r
    # resumed from it: the epoch numbering goes on to the last epoch, and the model learns
    assert r["status"] == "finished" and r["epochs"] == [1, 2, 3], r
    assert all(np.isfinite(r["losses"])) and r["losses"][-1] < r["losses"][0], r["losses"]
    expected = {"forecast": ({"mae", "rmse", "mase"}, ["auto_arima", "auto_ets", "auto_theta", "mean", "naive",
                                                       "seasonal_naive"]),
                "classify": ({"accuracy", "confusion_matrix"}, ["majority_class", "nearest_neighbour",
                                                                  "nearest_neighbour_dtw"]),
                "text": ({"accuracy", "confusion_matrix"}, ["bag_of_words", "majority_class"])}[task]
    assert expected[0] <= set(r["test_metrics"]) and r["baselines"] == expected[1], r
    # the saved bundle, read back, predicts what the run itself predicted
    assert r["reloaded_predictions_match"] and r["rows_predicted"] == {"forecast": 3, "classify": 30,
                                                                       "text": 100}[task], r


@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
def test_bundles_saved_under_tensorflow_predict_in_this_process(tf_core, task):
    """A bundle is the same file whichever backend saved it: this process (JAX unless the suite runs under
    another backend) loads TensorFlow's bundles and predicts what the TensorFlow run did."""
    import backend_paths
    from seqcore.pipeline import predict_from_bundle

    bundle = Path(tf_core["tasks"][task]["bundle"])
    spec, data, test_data = {"forecast": backend_paths.forecast_case, "classify": backend_paths.classify_case,
                             "text": backend_paths.text_case}[task]()
    if task == "forecast":
        saved = pd.read_csv(bundle.parent / "forecast.csv")["y"].to_numpy()
        assert np.allclose(predict_from_bundle(bundle, data)["y"].to_numpy(), saved, atol=1e-4)
    else:
        saved = pd.read_csv(bundle.parent / "predictions.csv")
        out = predict_from_bundle(bundle, test_data)
        assert out["predicted"].astype(str).tolist() == saved["predicted"].astype(str).tolist()


# ----------------------------------------------------------------------------- the app's path: supervisor + worker


def _workers(home: Path) -> set[int]:
    """Pids of the worker processes the supervisor of ``home`` has spawned."""
    import psutil

    pid = runner.supervisor_pid(home)
    if not pid or pid < 0:
        return set()
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)
                if any("spawn_main" in part for part in (c.cmdline() or []))}
    except psutil.Error:
        return set()


def _loaded_tensorflow(pid: int) -> bool:
    """Whether process ``pid`` has TensorFlow's native library mapped (Linux)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "_pywrap_tensorflow_internal" in maps or "libtensorflow_framework" in maps


def test_a_run_submitted_to_the_supervisor_trains_in_a_tensorflow_worker(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    monkeypatch.setenv("SEQSTUDIO_BACKEND", "tensorflow")          # what the supervisor and its workers inherit
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.delenv("SEQSTUDIO_RUNNER", raising=False)
    store = RunStore(home)
    t = np.arange(300)
    csv = pd.DataFrame({"t": t, "y": np.sin(t / 6).round(5)}).to_csv(index=False).encode()
    ds = store.add_dataset(csv, "sine.csv")
    spec = RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=12), ModelSpec(units=(8,)),
                   TrainSpec(epochs=2, batch_size=16, patience=0))
    runner.ensure_supervisor(home, idle_exit=120)
    try:
        wait_for(lambda: runner.supervisor_status(home).get("warm") == "ready", TIMEOUT, "the warm worker")
        waiting = _workers(home)
        assert len(waiting) == 1, waiting
        warm = waiting.pop()
        if Path("/proc").is_dir():
            assert _loaded_tensorflow(warm), "the waiting worker has not loaded TensorFlow"
        # the worker's own answer: a prewarm under JAX compiles ahead; under TensorFlow it prepares the data only
        assert runner.hint_prepare(store, spec, ds)
        key = runner.read_prepare_hint(home)["key"]

        def prewarmed():
            pw = runner.supervisor_status(home).get("prewarm") or {}
            return pw if pw.get("key") == key and pw.get("state") != "running" else None

        pw = wait_for(prewarmed, TIMEOUT, "the prewarm")
        assert pw["state"] == "done" and pw.get("reason") == "backend" and list(pw["stages"]) == ["prepare"], pw
        # the run goes to that worker and trains there
        rid = runner.submit_run(store, spec, ds, name="on tensorflow")
        rec = runner.wait_run(store, rid, timeout=TIMEOUT)
        log = store.log_path(rid).read_text(errors="replace")
        assert rec.status == "finished", (rec.error, log[-3000:])
        assert rec.worker_pid == warm and "prepared ahead while waiting (this configuration): done" in log, log
        assert [p.epoch for _, p in store.read_history(rid, kind="epoch")] == [1, 2]
        assert (store.run_dir(rid) / "bundle" / "model.keras").exists() and "Traceback" not in log
        xla_cache = home / "cache" / "xla"          # JAX's compile cache: never written by a TensorFlow worker
        assert not xla_cache.exists() or not any(p.is_file() for p in xla_cache.rglob("*"))
        # a prediction job with that bundle, in the next (TensorFlow) worker
        job = runner.submit_predict(store, rid, ds)
        done = runner.wait_run(store, job, timeout=TIMEOUT)
        assert done.status == "finished", (done.error, store.log_path(job).read_text(errors="replace")[-3000:])
        assert done.worker_pid != warm and len(pd.read_csv(store.artifacts(job)["predictions"])) >= 1
    finally:
        assert runner.stop_supervisor(home)
