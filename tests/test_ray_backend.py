"""The Ray runner backend against a local Ray instance (2 CPUs) started by the test's supervisor.

One RaySupervisor (``SEQSTUDIO_RUNNER=ray``) serves a data folder for the whole module: a run end to end
with live history and its bundle sent back as bytes, a graceful stop, a sweep whose trials train two at
a time, and a Ray worker killed mid-run (retried once, then the run fails plainly; never stuck running).
Skipped, with the reason, only when Ray is not installed (``pip install -r requirements-ray.txt``).
"""

from __future__ import annotations

import math
import os
import signal
import time

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt)")

from seqcore import sweeps
from seqcore.runs import runner  # noqa: E402
from seqcore.outputs.bundle import read_bundle  # noqa: E402
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec  # noqa: E402
from seqcore.errors import SpecError  # noqa: E402
from seqcore.runs.backends.ray import NODE_LOST_MESSAGE, RayBackend  # noqa: E402
from seqcore.runs.store import RunStore  # noqa: E402
from seqcore.sweeps import SweepConfig, parse_vary  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def sine_csv(n: int = 300) -> bytes:
    rows = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.1 * math.cos(i / 2):.5f}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def spec(epochs: int = 3, units: int = 8) -> RunSpec:
    return RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=12), ModelSpec(units=(units,)),
                   TrainSpec(epochs=epochs, batch_size=16, patience=0))


def _log(store: RunStore, run_id: str) -> str:
    p = store.log_path(run_id)
    return p.read_text(errors="replace")[-3000:] if p.exists() else "(no log)"


def wait_for(cond, timeout: float, what: str, store: RunStore | None = None, run_id: str | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    extra = f"\nlog: {_log(store, run_id)}" if store is not None and run_id else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{extra}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A data folder served by a RaySupervisor on a local 2-CPU Ray instance."""
    home = tmp_path_factory.mktemp("ray") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEQSTUDIO_RUNNER", "ray")
        mp.setenv("SEQSTUDIO_RAY_LOCAL_CPUS", "2")
        mp.setenv("SEQSTUDIO_RAY_CPUS_PER_RUN", "1")
        mp.setenv("SEQSTUDIO_RAY_MAX_RETRIES", "1")
        mp.setenv("SEQSTUDIO_HOME", str(home))
        mp.delenv("RAY_ADDRESS", raising=False)
        store = RunStore(home)
        runner.ensure_supervisor(home, idle_exit=600, stop_grace=20)
        wait_for(lambda: runner.backend_status(home).get("ray", {}).get("connected"), 120, "Ray to start")
        yield store
        sweeps.stop_driver(home)
        runner.stop_supervisor(home, timeout=60)


@pytest.fixture
def ray_env(cluster, monkeypatch):
    """Per test: keep the module's environment (conftest gives every test its own SEQSTUDIO_HOME)."""
    monkeypatch.setenv("SEQSTUDIO_RUNNER", "ray")
    monkeypatch.setenv("SEQSTUDIO_HOME", str(cluster.home))
    return cluster


def test_backend_status_shows_the_cluster(ray_env):
    info = runner.backend_status(ray_env.home)
    assert info["backend"] == "ray" and info["alive"] and info["slots"] == 2
    ray = info["ray"]
    assert ray["connected"] and ray["nodes"] == 1 and ray["resources"]["CPU"] == 2
    assert ray["num_cpus_per_run"] == 1 and ray["num_gpus_per_run"] == 0
    assert isinstance(runner.get_backend(), RayBackend)
    assert runner.supervisor_pid(ray_env.home) == info["pid"]           # one executor per data folder


def test_run_end_to_end_with_live_history(ray_env):
    store = ray_env
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = runner.submit_run(store, spec(epochs=4), ds)
    # history streams into the store while the run is still running
    wait_for(lambda: store.get_run(rid).status != "queued", 120, "the run to start", store, rid)
    live = wait_for(lambda: store.get_run(rid).status == "running" and store.count_history(rid, kind="epoch") >= 1,
                    120, "an epoch point while running", store, rid)
    assert live
    rec = runner.wait_run(store, rid, timeout=180)
    assert rec.status == "finished", (rec.error, _log(store, rid))
    assert rec.epochs_run == 4 and rec.best_val_loss is not None and rec.summary["test"]
    assert [p.epoch for _, p in store.read_history(rid, kind="epoch")] == [1, 2, 3, 4]
    arts = store.artifacts(rid)
    for key in ("bundle", "metrics", "predictions", "forecast", "checkpoint"):
        assert key in arts, key
    b = read_bundle(arts["bundle"])                                     # checksums of the bytes sent back
    assert b.spec == spec(epochs=4)
    log = _log(store, rid)
    assert "sent to Ray" in log and "Ray task started" in log and "training ended: finished" in log
    assert rec.worker_pid == runner.supervisor_pid(store.home)           # the app-side supervisor owns it


def test_stop_is_graceful(ray_env):
    store = ray_env
    ds = store.add_dataset(sine_csv(1200), "long.csv")
    rid = runner.submit_run(store, spec(epochs=400, units=16), ds)
    wait_for(lambda: store.count_history(rid, kind="epoch") >= 1, 180, "the first epoch", store, rid)
    t0 = time.monotonic()
    assert runner.request_stop(store, rid) == "running"
    rec = runner.wait_run(store, rid, timeout=60)
    assert rec.status == "stopped", (rec.error, _log(store, rid))
    assert time.monotonic() - t0 < 20
    assert 1 <= rec.epochs_run < 400
    assert read_bundle(store.run_dir(rid) / "bundle").metrics["training"]["stopped_by_user"] is True


def test_sweep_trials_run_in_parallel(ray_env):
    store = ray_env
    ds = store.add_dataset(sine_csv(), "sine.csv")
    cfg = SweepConfig(params=(parse_vary("units=4,8"), parse_vary("learning_rate=1e-3,1e-2")), method="grid",
                      trials=4, prune=False)
    sid = sweeps.start_sweep(store, spec(epochs=6), cfg, ds)
    wait_for(lambda: sweeps.get_sweep(store, sid).status != "running", 300, "the sweep to end")
    sw = sweeps.get_sweep(store, sid)
    runs = store.list_runs(sweep_id=sid)
    assert sw.status == "finished", (sw.error, [(r.status, r.error) for r in runs])
    assert len(runs) == 4 and all(r.status == "finished" for r in runs)
    spans = sorted((r.started, r.ended) for r in runs)
    overlaps = sum(1 for (s1, e1), (s2, e2) in zip(spans, spans[1:]) if s2 < e1)
    assert overlaps >= 1, f"two trials should train at once on 2 CPUs: {spans}"
    assert sw.best_run_id in {r.id for r in runs}
    assert {tuple(sorted(r.tags["sweep_params"].items())) for r in runs} == {
        (("learning_rate", lr), ("units", u)) for u in (4, 8) for lr in (1e-3, 1e-2)}


def test_killed_ray_worker_is_retried_then_fails_never_stuck(ray_env):
    store = ray_env
    ds = store.add_dataset(sine_csv(1200), "long.csv")
    rid = runner.submit_run(store, spec(epochs=400, units=16), ds)

    def task_pid():
        return (runner.supervisor_status(store.home).get("jobs") or {}).get(rid)

    wait_for(lambda: store.count_history(rid, kind="epoch") >= 2, 180, "two epochs", store, rid)
    first = wait_for(task_pid, 30, "the task's pid")
    os.kill(first, signal.SIGKILL)                                      # the worker dies mid-run
    second = wait_for(lambda: (p := task_pid()) and p != first and p, 120, "the retry to start", store, rid)
    assert store.get_run(rid).status == "running"
    wait_for(lambda: "retried" in _log(store, rid), 30, "the retry in the log", store, rid)
    wait_for(lambda: store.count_history(rid, kind="epoch") >= 1 and
             [p.epoch for _, p in store.read_history(rid, kind="epoch")][0] == 1, 120, "the retry's epochs", store, rid)
    epochs = [p.epoch for _, p in store.read_history(rid, kind="epoch")]
    assert epochs == list(range(1, len(epochs) + 1)), "the lost attempt's history was replaced, not doubled"
    os.kill(second, signal.SIGKILL)                                     # and again: no retries left
    rec = runner.wait_run(store, rid, timeout=120)
    assert rec.status == "failed" and rec.error == NODE_LOST_MESSAGE
    assert "WorkerCrashedError" in _log(store, rid) or "died" in _log(store, rid).lower()


def test_missing_ray_is_a_plain_error(monkeypatch, tmp_path):
    import seqcore.runs.backends.ray as rb   # where RayBackend looks it up

    monkeypatch.setattr(rb, "ray_installed", lambda: False)
    monkeypatch.setenv("SEQSTUDIO_RUNNER", "ray")
    with pytest.raises(SpecError, match="Ray is not installed"):
        runner.get_backend()
    info = runner.backend_status(tmp_path)
    assert info["backend"] == "ray" and info["alive"] is False and "requirements-ray.txt" in info["error"]
    monkeypatch.setenv("SEQSTUDIO_RUNNER", "nosuch")
    with pytest.raises(SpecError, match="local, ray"):
        runner.get_backend()
