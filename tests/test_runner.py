"""Runs engine end to end: real tiny training runs through the supervisor and worker processes.

Each test uses its own SEQSTUDIO_HOME. Detached supervisors are started with an
idle exit as a safety net and stopped at teardown.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seqcore.cli import runs as cli_runs
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError, UserError
from seqcore.runs.runner import (
    CRASHED_MESSAGE,
    HINT_NAME,
    INTERRUPTED_MESSAGE,
    Supervisor,
    ensure_supervisor,
    get_backend,
    hint_prepare,
    pid_alive,
    queue_status,
    read_prepare_hint,
    request_stop,
    rerun,
    resume_run,
    stop_supervisor,
    submit_predict,
    submit_run,
    supervisor_pid,
    supervisor_status,
    wait_run,
)
from seqcore.modeling.progress import Progress
from seqcore.runs.store import DatasetNotFound, RunStore
from seqcore.runs.worker import HistoryWriter, StopFlag

ROOT = Path(__file__).resolve().parent.parent


def sine_csv(n: int = 300) -> bytes:
    rows = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.1 * math.cos(i / 2):.5f}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def tiny_spec(epochs: int = 3, units: int = 8, **train) -> RunSpec:
    return RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=12),
                   ModelSpec(units=(units,)),
                   TrainSpec(epochs=epochs, batch_size=16, patience=0, **train))


def first_loss_after(store: RunStore, run_id: str, t0: float, timeout: float = 120.0) -> float:
    """Seconds from ``t0`` until the run's first history point with a loss is in the store."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        pts = store.read_history(run_id, limit=5)
        if any(p.loss is not None for _, p in pts):
            return time.perf_counter() - t0
        rec = store.get_run(run_id)
        assert rec.status in ("queued", "running"), (rec.status, rec.error, _log(store, run_id))
        time.sleep(0.01)
    raise AssertionError(f"no loss point within {timeout} s; log: {_log(store, run_id)}")


def wait_epochs(store: RunStore, run_id: str, n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.count_history(run_id, kind="epoch") >= n:
            return
        rec = store.get_run(run_id)
        assert rec.status in ("queued", "running"), (rec.status, rec.error, _log(store, run_id))
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} epochs within {timeout} s")


def wait_warm(home: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor_status(home).get("warm") == "ready":
            return
        time.sleep(0.1)
    raise AssertionError("the warm worker never became ready")


def wait_prewarm(home: Path, key: str, *, states=("done", "interrupted", "skipped", "failed"),
                 timeout: float = 180.0) -> dict:
    """The warm worker's answer about the prepare hint ``key`` once it is in one of ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pw = supervisor_status(home).get("prewarm") or {}
        if pw.get("key") == key and pw.get("state") in states:
            return pw
        time.sleep(0.1)
    raise AssertionError(f"no prewarm of {key} reached {states} within {timeout} s: "
                         f"{supervisor_status(home).get('prewarm')}")


def _log(store: RunStore, run_id: str) -> str:
    p = store.log_path(run_id)
    return p.read_text(errors="replace")[-3000:] if p.exists() else "(no log)"


def supervisors_serving(home: Path) -> list[int]:
    """Pids of supervisor processes started for ``home``."""
    import psutil

    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if "seqcore.cli.runs" in cmd and "worker" in cmd and str(home) in cmd:
            found.append(p.info["pid"])
    return found


def spawned_workers(home: Path) -> set[int]:
    """Pids of the worker processes the supervisor of ``home`` has spawned (jobs and the warm one)."""
    import psutil

    pid = supervisor_pid(home)
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)
                if any("spawn_main" in part for part in (c.cmdline() or []))} if pid and pid > 0 else set()
    except psutil.Error:
        return set()


def epoch_numbers(store: RunStore, run_id: str) -> list[int]:
    return [p.epoch for _, p in store.read_history(run_id, kind="epoch")]


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(h))
    monkeypatch.delenv("SEQSTUDIO_RUNNER", raising=False)
    yield h
    stop_supervisor(h)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """One supervisor (warm worker on) shared by the tests that only need a working engine."""
    h = tmp_path_factory.mktemp("engine") / "home"
    store = RunStore(h)
    ensure_supervisor(h, idle_exit=300)
    yield store
    stop_supervisor(h)


# --------------------------------------------------------------------------- no processes needed

def test_submit_validates_first_and_backend_choice(home, monkeypatch):
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    with pytest.raises(SpecError):
        submit_run(store, tiny_spec(epochs=0), ds, start=False)
    with pytest.raises(SpecError):
        submit_run(store, RunSpec(DataSpec(task="forecast")), ds, start=False)   # no target
    with pytest.raises(DatasetNotFound):
        submit_run(store, tiny_spec(), "f" * 64, start=False)
    assert store.list_runs() == []                                               # nothing was queued
    rid = submit_run(store, tiny_spec(), ds, name=None, tags={"k": 1}, start=False)
    rec = store.get_run(rid)
    assert rec.status == "queued" and rec.task == "forecast" and rec.name == "LSTM 8 · sine.csv"
    assert RunSpec.from_dict(rec.spec) == tiny_spec()
    # a queued run that is stopped never starts
    assert request_stop(store, rid) == "stopped"
    assert store.claim_next_job() is None
    # resume / predict refuse what they cannot do, with user errors
    with pytest.raises(UserError, match="no saved model"):
        submit_predict(store, rid, ds, start=False)
    r2 = submit_run(store, tiny_spec(), ds, start=False)
    with pytest.raises(UserError, match="queued"):
        resume_run(store, r2, start=False)
    new = rerun(store, rid, start=False)
    assert store.get_run(new).name.endswith("(rerun)") and store.get_run(new).spec == rec.spec
    # backends
    assert get_backend().name == "local"
    monkeypatch.setenv("SEQSTUDIO_RUNNER", "nosuch")
    with pytest.raises(SpecError, match="SEQSTUDIO_RUNNER"):
        get_backend()
    assert supervisor_pid(home) is None and supervisor_status(home)["alive"] is False


def test_backends_come_from_a_lazy_registry(home, monkeypatch):
    """The runner picks its backend from a registry of ``"module:attribute"`` entries imported when chosen:
    nothing of the runs layer imports the Ray backend, a new backend plugs in by name, a broken entry is a
    plain error, and each backend's ``worker_module`` is a real ``python -m`` entry point."""
    from seqcore.runs import backends
    from seqcore.runs.backends.local import LocalBackend

    code = ("import sys, seqcore.runs.runner, seqcore.runs.queue, seqcore.runs.supervisor, seqcore.runs.worker, "
            "seqcore.runs.procs, seqcore.runs.backends.local, seqcore.cli.runs; "
            "print(sorted(m for m in sys.modules if m.startswith('seqcore.runs.backends.ray') "
            "or m.split('.')[0] in ('ray', 'keras', 'jax', 'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", (out.stdout, out.stderr)
    monkeypatch.setattr(backends, "BACKENDS", dict(backends.BACKENDS))
    backends.register_backend("Mine", "seqcore.runs.backends.local:LocalBackend")
    assert type(get_backend("mine")) is LocalBackend
    backends.register_backend("broken", "seqcore.runs.nosuchmodule:Backend")
    with pytest.raises(SpecError, match="'broken' runner cannot be loaded"):
        get_backend("broken")
    monkeypatch.setenv("SEQSTUDIO_RUNNER", "broken")
    info = backends.backend_status(home)
    assert info["backend"] == "broken" and info["alive"] is False and "cannot be loaded" in info["error"]
    for name in ("local", "ray"):
        module = backends.backend_class(name).worker_module
        out = subprocess.run([sys.executable, "-m", module, "worker", "--help"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
        assert out.returncode == 0 and "--home" in out.stdout, (name, module, out.stderr)


def test_cli_runs_commands(home, capsys):
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = submit_run(store, tiny_spec(), ds, start=False)
    h = ["--home", str(home)]
    assert cli_runs.main(["runs", "list", "--json", *h]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [rid] and listed[0]["status"] == "queued"
    assert cli_runs.main(["runs", "list", *h]) == 0
    assert rid in capsys.readouterr().out
    assert cli_runs.main(["runs", "show", rid, "--json", *h]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["history_points"] == 0 and shown["spec"]["model"]["units"] == [8]
    assert "folder" in shown["artifacts"]
    assert cli_runs.main(["runs", "stop", rid, *h]) == 0
    assert "stopped" in capsys.readouterr().out
    assert cli_runs.main(["runs", "resume", rid, "--no-start", *h]) == 0
    assert store.get_run(rid).status == "queued" and store.get_run(rid).resume
    for argv in (["runs", "show", "../../etc/passwd", *h], ["runs", "stop", "nosuchrun1", *h],
                 ["runs", "delete", "nosuchrun1", *h]):
        assert cli_runs.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert cli_runs.main(["runs", "delete", rid, *h]) == 0
    assert store.list_runs() == []


def test_main_cli_has_runs_commands(home):
    """``python -m seqcore runs ...`` (the lead's CLI) dispatches to these commands."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SEQSTUDIO_HOME=str(home))
    out = subprocess.run([sys.executable, "-m", "seqcore", "runs", "list", "--json"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    bad = subprocess.run([sys.executable, "-m", "seqcore", "runs", "show", "bad id!"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_prepare_hint_file(home, monkeypatch):
    """The app's prepare hint: written atomically, rewritten only when it changes, off by switch, never for an
    invalid spec; a damaged file reads as no hint."""
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    assert read_prepare_hint(home) is None
    assert hint_prepare(store, tiny_spec(), ds, csv_options={"sep": ","}) is True
    hint = read_prepare_hint(home)
    assert hint["dataset_id"] == ds and hint["test_dataset_id"] is None and hint["csv_options"] == {"sep": ","}
    assert RunSpec.from_dict(hint["spec"]) == tiny_spec() and time.time() - hint["time"] < 60
    assert hint_prepare(store, tiny_spec(), ds, csv_options={"sep": ","}) is False    # unchanged: not rewritten
    assert hint_prepare(store, tiny_spec(units=9), ds) is True
    assert read_prepare_hint(home)["key"] != hint["key"]
    with pytest.raises(SpecError):
        hint_prepare(store, tiny_spec(epochs=0), ds)
    monkeypatch.setenv("SEQSTUDIO_PREWARM", "off")
    assert hint_prepare(store, tiny_spec(units=10), ds) is False
    monkeypatch.delenv("SEQSTUDIO_PREWARM")
    (home / HINT_NAME).write_text("{not json")
    assert read_prepare_hint(home) is None
    (home / HINT_NAME).write_text(json.dumps({"key": 1, "spec": []}))
    assert read_prepare_hint(home) is None
    assert supervisor_pid(home) is None   # start=False (the default) starts nothing


def test_prepare_hint_prewarms_the_warm_worker_and_never_breaks_runs(home):
    """A hint makes the waiting worker prepare and compile that configuration; the run of it then reuses
    that work and trains normally. A hint for another configuration, for a configuration too large to
    train, or naming a missing dataset, changes nothing for the runs."""
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    ensure_supervisor(home, idle_exit=120)
    wait_warm(home)
    # 1. the hinted configuration itself
    spec = tiny_spec(epochs=2, units=11)
    assert hint_prepare(store, spec, ds)
    key = read_prepare_hint(home)["key"]
    info = wait_prewarm(home, key)
    assert info["state"] == "done", info
    if "build" in info["stages"]:   # JAX: compiled ahead (TensorFlow: the data only)
        assert list(info["stages"]) == ["prepare", "build", "train_step", "train_last_batch", "evaluate", "measure",
                                        "predict"]
        assert info["timing"]["train_batch"] > 0     # kept for the Model page in <home>/timings.json
    t0 = time.perf_counter()
    rid = submit_run(store, spec, ds)
    first = first_loss_after(store, rid, t0)
    rec = wait_run(store, rid, timeout=180)
    assert rec.status == "finished", (rec.error, _log(store, rid))
    assert epoch_numbers(store, rid) == [1, 2] and rec.summary["test"]
    assert "prepared ahead while waiting (this configuration): done" in _log(store, rid)
    print(f"\nfirst loss point after submit, prepared ahead: {first:.2f} s")
    # the hint was spent by that run: the next warm worker is not handed it again
    wait_warm(home)
    time.sleep(1.0)
    assert (supervisor_status(home).get("prewarm") or {}).get("key") != key
    # 2. a hint for another configuration: the run of a different one starts while it is being prepared
    assert hint_prepare(store, tiny_spec(epochs=2, units=12), ds)
    key2 = read_prepare_hint(home)["key"]
    wait_prewarm(home, key2, states=("running", "done"))
    other = tiny_spec(epochs=2, units=13)
    rid2 = submit_run(store, other, ds)
    rec2 = wait_run(store, rid2, timeout=180)
    assert rec2.status == "finished", (rec2.error, _log(store, rid2))
    assert epoch_numbers(store, rid2) == [1, 2] and rec2.spec["model"]["units"] == [13]
    assert "prepared ahead while waiting (another one)" in _log(store, rid2)
    assert "Traceback" not in _log(store, rid2)   # the prewarm's background part ran beside the run cleanly
    # 3. hints that cannot be used are skipped with their reason; the worker stays ready for real runs
    wait_warm(home)
    too_large = tiny_spec(units=14).replace(train=TrainSpec(epochs=1, batch_size=16, max_memory_mb=16))
    assert hint_prepare(store, too_large, ds)
    bad = wait_prewarm(home, read_prepare_hint(home)["key"])
    assert bad["state"] == "skipped" and "MB" in bad["reason"] and "build" not in bad.get("stages", {})
    assert hint_prepare(store, tiny_spec(units=15), "f" * 64)
    gone = wait_prewarm(home, read_prepare_hint(home)["key"])
    assert gone["state"] == "skipped", gone
    rid3 = submit_run(store, tiny_spec(epochs=1, units=14), ds)
    assert wait_run(store, rid3, timeout=180).status == "finished", _log(store, rid3)
    assert "Traceback" not in _log(store, rid3)


def test_history_writer_batches_writes_and_stop_flag_caches(home):
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = submit_run(store, tiny_spec(), ds, start=False)
    w = HistoryWriter(store, rid, interval=60.0)
    w(Progress("batch", 1, 3, batch=1, batches=4, loss=1.0))      # first point: written at once
    w(Progress("batch", 1, 3, batch=2, batches=4, loss=0.9))      # within the interval: buffered
    assert store.count_history(rid) == 1
    w(Progress("epoch", 1, 3, loss=0.8, val_loss=0.7))           # epoch points flush
    assert store.count_history(rid) == 3
    rec = store.get_run(rid)
    assert rec.epochs_run == 1 and rec.best_val_loss == 0.7
    w(Progress("epoch", 2, 3, loss=0.6, val_loss=0.9))
    assert store.get_run(rid).best_val_loss == 0.7                # keeps the minimum
    # a resumed attempt redoes epoch 2: its old points go on the first new point
    w2 = HistoryWriter(store, rid, trim_first=True)
    w2(Progress("batch", 2, 3, batch=1, batches=4, loss=0.5))
    assert [(p.kind, p.epoch) for _, p in store.read_history(rid)] == [
        ("batch", 1), ("batch", 1), ("epoch", 1), ("batch", 2)]
    assert store.get_run(rid).epochs_run == 1
    # the stop flag reads the store at most every `interval` seconds, then stays set (the interval's end is
    # simulated by moving the last check back, so a slow machine cannot let it pass before the cached read)
    store.claim_next_job()
    flag = StopFlag(store, rid, interval=60.0)
    assert flag() is False
    request_stop(store, rid)
    assert flag() is False                                         # cached
    flag.last_check -= 60.0
    assert flag() is True and flag() is True


# --------------------------------------------------------------------------- real runs

def test_lifecycle_and_first_loss_latency_cold_then_warm(home):
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    # cold: no supervisor yet; submit starts it, its worker imports TensorFlow
    t0 = time.perf_counter()
    rid = submit_run(store, tiny_spec(epochs=3), ds, start=False)
    seen = [store.get_run(rid).status]
    ensure_supervisor(home)
    cold = first_loss_after(store, rid, t0)
    while True:
        st = store.get_run(rid).status
        if st != seen[-1]:
            seen.append(st)
        if st not in ("queued", "running"):
            break
        time.sleep(0.05)
    rec = store.get_run(rid)
    assert rec.status == "finished", (rec.error, _log(store, rid))
    assert seen[0] == "queued" and seen[-2:] == ["running", "finished"]
    assert rec.started and rec.ended and rec.ended >= rec.started and rec.worker_pid
    assert rec.epochs_run == 3 and rec.best_val_loss is not None
    assert "test" in rec.summary and "baselines" in rec.summary
    assert epoch_numbers(store, rid) == [1, 2, 3]
    assert store.count_history(rid, kind="batch") >= 1
    arts = store.artifacts(rid)
    for key in ("bundle", "metrics", "predictions", "log", "checkpoint"):
        assert key in arts, arts
    assert (arts["bundle"] / "model.keras").exists() and (arts["bundle"] / "spec.json").exists()
    assert "Traceback" not in arts["log"].read_text()
    # warm: the supervisor keeps a worker with the Keras backend loaded waiting, and the next run goes to it
    # (checked by pid, not by a latency bound a busy machine could break; bench/ Figure 3 times it)
    wait_warm(home)
    waiting = spawned_workers(home) - {rec.worker_pid}     # the first run's worker may still be exiting
    assert len(waiting) == 1, waiting
    t0 = time.perf_counter()
    rid2 = submit_run(store, tiny_spec(epochs=2), ds)
    warm = first_loss_after(store, rid2, t0)
    rec2 = wait_run(store, rid2, timeout=120)
    assert rec2.status == "finished" and rec2.worker_pid in waiting, (rec2.worker_pid, waiting)
    print(f"\nfirst loss point after submit: cold {cold:.2f} s (supervisor + backend start), warm {warm:.2f} s")
    assert cold < 90.0


def test_runs_submitted_together_keep_their_own_history(engine):
    """Five 'browser sessions' submit at once (two of them press Stop right away): all queue, none is
    lost, the three others finish, and every run's history stays its own."""
    store = engine
    ds = store.add_dataset(sine_csv(), "sine.csv")
    ids: dict[int, str] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def session(i: int) -> None:
        try:
            own = RunStore(store.home)   # each session has its own store object / connections
            barrier.wait()
            ids[i] = submit_run(own, tiny_spec(epochs=1 + i, units=4 + i), ds, name=f"session {i}")
            if i >= 3:
                request_stop(own, ids[i])
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids.values())) == 5
    assert supervisors_serving(store.home) == [supervisor_pid(store.home)]   # five ensure calls, one supervisor
    for i, rid in ids.items():
        rec = wait_run(store, rid, timeout=180)
        assert rec.spec["model"]["units"] == [4 + i]
        if i >= 3:
            assert rec.status == "stopped", (rec.error, _log(store, rid))
            if rec.started is None:                       # stopped while queued: it never ran
                assert store.count_history(rid) == 0
            continue
        assert rec.status == "finished", (rec.error, _log(store, rid))
        assert epoch_numbers(store, rid) == list(range(1, 2 + i))
        assert all(p.epochs == 1 + i for _, p in store.read_history(rid))
    status = queue_status(store)
    assert status["backend"] == "local" and status["alive"] and status["queued"] == 0
    assert status["warm"] in ("ready", "starting", None) and status["max_workers"] == 1
    # one training run at a time by default: no two overlapped
    spans = sorted((store.get_run(r).started, store.get_run(r).ended) for r in ids.values()
                   if store.get_run(r).started is not None)
    assert all(a[1] <= b[0] + 0.5 for a, b in zip(spans, spans[1:]))


def test_stop_mid_run_keeps_a_usable_bundle(engine):
    store = engine
    data = sine_csv()
    ds = store.add_dataset(data, "sine.csv")
    rid = submit_run(store, tiny_spec(epochs=500), ds)
    wait_epochs(store, rid, 2)
    t0 = time.perf_counter()
    assert request_stop(store, rid) == "running"
    rec = wait_run(store, rid, timeout=60)
    took = time.perf_counter() - t0
    print(f"\nstop request -> status stopped (test evaluation and bundle saved) in {took:.2f} s")
    assert rec.status == "stopped", (rec.error, _log(store, rid))
    assert 2 <= rec.epochs_run < 500 and rec.summary and "test" in rec.summary
    assert (store.run_dir(rid) / "bundle" / "model.keras").exists()
    # the stopped run's model is usable: predict with it in a worker
    job = submit_predict(store, rid, ds)
    done = wait_run(store, job, timeout=120)
    assert done.status == "finished", (done.error, _log(store, job))
    pred = store.artifacts(job)["predictions"].read_text().splitlines()
    assert len(pred) >= 2 and done.summary["rows"] == len(pred) - 1
    assert [r.id for r in store.list_runs(kind="predict")] == [job]


def test_killed_worker_ends_failed_with_a_message(engine):
    store = engine
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = submit_run(store, tiny_spec(epochs=500), ds)
    wait_epochs(store, rid, 1)
    rec = store.get_run(rid)
    assert pid_alive(rec.worker_pid, rec.worker_started)
    os.kill(rec.worker_pid, signal.SIGKILL)
    rec = wait_run(store, rid, timeout=30)
    assert rec.status == "failed" and rec.error == CRASHED_MESSAGE
    assert "exit code -9" in store.log_path(rid).read_text()
    # the supervisor carries on: the next run works
    again = submit_run(store, tiny_spec(epochs=1), ds)
    assert wait_run(store, again, timeout=120).status == "finished"


def test_stop_grace_kills_a_run_that_does_not_stop(home):
    """A run still going ``stop_grace`` seconds after Stop is killed and marked so (grace 0 here)."""
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = submit_run(store, tiny_spec(epochs=500), ds, start=False)
    sup = Supervisor(home, warm=False, stop_grace=0.0)
    thread = threading.Thread(target=sup.run_forever, daemon=True)
    thread.start()
    try:
        wait_epochs(store, rid, 1)
        pid = store.get_run(rid).worker_pid
        request_stop(store, rid)
        rec = wait_run(store, rid, timeout=30)
        assert rec.status == "failed" and "did not stop within 0 seconds" in rec.error
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(pid)
    finally:
        sup.stop()
        thread.join(30)
    assert not thread.is_alive()


def test_restart_adopts_live_workers_marks_orphans_and_resume_continues(home):
    store = RunStore(home)
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = submit_run(store, tiny_spec(epochs=500), ds)
    wait_epochs(store, rid, 2)
    # 1) the supervisor dies but its worker lives: a new supervisor adopts the run
    old = supervisor_pid(home)
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while supervisor_pid(home) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    new = ensure_supervisor(home, idle_exit=300)
    assert new != old
    deadline = time.monotonic() + 60     # a generous deadline: the new supervisor must start and adopt it
    while rid not in supervisor_status(home).get("jobs", {}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rid in supervisor_status(home)["jobs"]
    assert store.get_run(rid).status == "running"
    # 2) supervisor and worker both die (a machine restart): the run becomes interrupted
    worker = store.get_run(rid).worker_pid
    os.kill(new, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (supervisor_pid(home) is not None or pid_alive(worker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get_run(rid).status == "running"      # nobody noticed yet
    ensure_supervisor(home, idle_exit=300)
    rec = wait_run(store, rid, timeout=30)
    assert rec.status == "interrupted" and rec.error == INTERRUPTED_MESSAGE
    # 3) resume continues from the checkpoint: epoch numbering goes on
    ck = json.loads((store.run_dir(rid) / "checkpoint" / "checkpoint.json").read_text())["epoch"]
    before = epoch_numbers(store, rid)
    assert before[:ck] == list(range(1, ck + 1))
    resume_run(store, rid)
    deadline = time.monotonic() + 120
    while max(epoch_numbers(store, rid), default=0) < ck + 2 and time.monotonic() < deadline:
        assert store.get_run(rid).status in ("queued", "running"), _log(store, rid)
        time.sleep(0.05)
    request_stop(store, rid)
    rec = wait_run(store, rid, timeout=60)
    assert rec.status == "stopped" and rec.attempt == 2, (rec.error, _log(store, rid))
    after = epoch_numbers(store, rid)
    assert after == list(range(1, len(after) + 1)) and len(after) >= ck + 2
    assert rec.epochs_run == len(after)
    assert "checkpoint found" in store.log_path(rid).read_text()


def test_cli_train_detach_show_and_second_worker_refused(engine, tmp_path, capsys):
    """``train --detach`` queues into the store and prints the run id; ``runs show`` lists its artifacts."""
    store = engine
    csv = tmp_path / "sine.csv"
    csv.write_bytes(sine_csv())
    env = dict(os.environ, PYTHONPATH=str(ROOT), SEQSTUDIO_HOME=str(store.home))
    out = subprocess.run([sys.executable, "-m", "seqcore", "train", str(csv), "--task", "forecast", "--target", "y",
                          "--time", "t", "--window", "12", "--units", "4", "--epochs", "1", "--patience", "0",
                          "--detach", "--name", "from the cli"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    rid = out.stdout.strip()
    rec = wait_run(store, rid, timeout=120)
    assert rec.status == "finished" and rec.name == "from the cli", (rec.error, _log(store, rid))
    assert cli_runs.main(["runs", "show", rid, "--json", "--home", str(store.home)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "finished" and shown["epoch_points"] == 1
    assert {"bundle", "metrics", "predictions", "log"} <= set(shown["artifacts"])
    # only one supervisor per data folder
    assert cli_runs.main(["worker", "--home", str(store.home)]) == 2
    assert "already serves" in capsys.readouterr().err


def test_bad_data_found_late_fails_with_a_plain_message(engine):
    """A spec that passes validation but does not fit the data fails in the worker with the user's message."""
    store = engine
    ds = store.add_dataset(sine_csv(), "sine.csv")
    spec = RunSpec(DataSpec(task="forecast", time="t", targets=("sales",), window=12), ModelSpec(units=(4,)),
                   TrainSpec(epochs=1))
    rid = submit_run(store, spec, ds)
    rec = wait_run(store, rid, timeout=120)
    assert rec.status == "failed" and "sales" in rec.error
    assert "Traceback" not in rec.error and "crashed" not in rec.error
    assert "Traceback" in store.log_path(rid).read_text()      # the technical detail is kept in the log


def _wait_for_text(path: Path, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path} within {timeout} s: {content[-2000:]!r}")


def test_supervisor_and_workers_log_to_home_logs(engine):
    """The supervisor writes ``<home>/logs/supervisor.log``, its workers ``<home>/logs/worker.log``; their raw
    output is captured in ``logs/supervisor.out`` / ``logs/worker.out``; nothing is left in the home itself."""
    store = engine
    home, folder = store.home, store.home / "logs"
    ds = store.add_dataset(sine_csv(), "sine.csv")
    rid = submit_run(store, tiny_spec(epochs=1), ds)
    rec = wait_run(store, rid, timeout=120)
    assert rec.status == "finished", (rec.error, _log(store, rid))
    sup = _wait_for_text(folder / "supervisor.log", f"run {rid} (train) -> worker pid {rec.worker_pid}")
    assert f"serving {home}" in sup and " INFO seqstudio.supervisor pid=" in sup
    worker = _wait_for_text(folder / "worker.log", f"pid={rec.worker_pid}: run {rid}: ended finished")
    assert "warm in" in worker and f"run {rid}: starts" in worker
    assert (folder / "supervisor.out").is_file() and (folder / "worker.out").is_file()
    assert not (home / "supervisor.log").exists() and not (home / "worker.log").exists()
