"""Sweeps on the local backend: --vary parsing, grid/random/TPE parameters, the driver's pruning, stop-all,
restarts, the CLI, the Sweeps page, and one real sweep end to end through the worker.

Most driver tests play the worker's part by hand (claim a queued trial, append epoch points, finish it),
so they are fast and deterministic; ``test_sweep_end_to_end_cli`` trains real tiny models.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path

import pytest

from seqcore import sweeps
from seqcore.cli import main as cli
from seqcore.cli import sweeps as cli_sweep
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError, UserError
from seqcore.modeling.progress import Progress
from seqcore.runs.runner import stop_supervisor
from seqcore.runs.store import RunStore
from seqcore.sweeps import ParamRange, SweepConfig, SweepDriver, parse_vary

ROOT = Path(__file__).resolve().parents[1]


def sine_csv(n: int = 240) -> bytes:
    rows = ["t,y"] + [f"{i},{math.sin(i / 6) + 0.1 * math.cos(i / 2):.5f}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def base_spec(epochs: int = 3) -> RunSpec:
    return RunSpec(DataSpec(task="forecast", time="t", targets=("y",), window=12),
                   ModelSpec(units=(8,)), TrainSpec(epochs=epochs, batch_size=16, patience=0))


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("SEQSTUDIO_RUNNER", raising=False)
    s = RunStore(tmp_path / "home")
    yield s
    sweeps.stop_driver(s.home)
    stop_supervisor(s.home)


def new_sweep(store: RunStore, cfg: SweepConfig, epochs: int = 3) -> str:
    ds = store.add_dataset(sine_csv(), "sine.csv")
    return sweeps.start_sweep(store, base_spec(epochs), cfg, ds, start=False)


def play(store: RunStore, run_id: str, val_losses: list[float], end: str | None = "finished") -> None:
    """Act as the worker: the run goes running, gets one epoch point per value, then ends with ``end``."""
    rec = store.get_run(run_id)
    if rec.status == "queued":
        claimed = store.claim_next_job(kinds=["train"])
        assert claimed is not None and claimed.id == run_id, "trials are claimed in queue order"
    start = store.count_history(run_id, kind="epoch")
    pts = [Progress(kind="epoch", epoch=start + i + 1, epochs=len(val_losses), loss=v, val_loss=v)
           for i, v in enumerate(val_losses)]
    store.append_history(run_id, pts)
    store.update_progress_summary(run_id, epochs_run=start + len(val_losses), best_val_loss=min(val_losses))
    if end is not None:
        assert store.finish_run(run_id, end)


def trial_ids(store: RunStore, sweep_id: str) -> list[str]:
    return [t.run_id for t in sweeps.sweep_trials(store, sweep_id)]


# --------------------------------------------------------------------------- --vary and configurations

def test_parse_vary_lists_and_ranges():
    assert parse_vary("units=32,64,128") == ParamRange("units", values=(32, 64, 128))
    assert parse_vary(" lr = 1e-4:1e-2:log ") == ParamRange("learning_rate", low=1e-4, high=1e-2, log=True)
    p = parse_vary("dropout=0:0.5:0.25")
    assert (p.low, p.high, p.step) == (0.0, 0.5, 0.25) and p.grid_values() == [0.0, 0.25, 0.5]
    assert parse_vary("cell=LSTM,gru").values == ("lstm", "gru")
    assert parse_vary("bidirectional=no,yes").values == (False, True)
    assert parse_vary("units=16:64").grid_values(3) == [16, 40, 64]
    assert parse_vary("batch_size=16:256:log").grid_values(5) == [16, 32, 64, 128, 256]
    assert parse_vary("units=8,8,16").values == (8, 16)          # duplicates dropped
    for p in (parse_vary("units=32,64"), parse_vary("learning_rate=1e-4:1e-2:log"), parse_vary("dropout=0:0.5:0.1")):
        assert parse_vary(p.to_text()) == p
        assert ParamRange.from_dict(json.loads(json.dumps(p.to_dict()))) == p


@pytest.mark.parametrize("text, words", [
    ("units", "NAME=VALUES"),
    ("foo=1,2", "not a setting"),
    ("units=1.5", "whole number"),
    ("units=0", "outside the allowed range"),
    ("units=abc", "not a number"),
    ("units=64:32", "empty"),
    ("learning_rate=0:1:log", "outside the allowed range"),
    ("dropout=0:0.5:log:2", "not a range"),
    ("dropout=0:0.5:0", "step"),
    ("cell=lstm,transformer", "not one of"),
    ("cell=a:b", "list of values"),
    ("units=32,,64", "empty value"),
    ("dropout=0.1:0.5:0.3x", "not a number"),
])
def test_parse_vary_errors(text, words):
    with pytest.raises(SpecError) as err:
        parse_vary(text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_config_checked_against_the_base_configuration():
    base = base_spec()
    ok = SweepConfig(params=(parse_vary("units=8,16"),), method="grid").validate(base)
    assert ok.budget() == 2 and ok.grid_size() == 2
    bad = [
        (SweepConfig(params=()), "at least one setting"),
        (SweepConfig(params=(parse_vary("units=8"), parse_vary("units=16"))), "varied twice"),
        (SweepConfig(params=(parse_vary("units=8,16"),), metric="val_accuracy"), "not measured"),
        (SweepConfig(params=(parse_vary("max_len=16,32"),)), "does not apply"),
        (SweepConfig(params=(parse_vary("units=8,16"),), method="bayes"), "search method"),
        (SweepConfig(params=(parse_vary("units=8,16"),), trials=0), "number of trials"),
        (SweepConfig(params=tuple(parse_vary(f"{n}=1:8:1") for n in ("units", "layers", "window", "epochs")) +
                     (parse_vary("patience=0:20"),), method="grid", grid_points=20), "combinations"),
    ]
    for cfg, words in bad:
        with pytest.raises(SpecError, match=words):
            cfg.validate(base)
    no_val = RunSpec(base.data.replace(val_fraction=0.0), base.model, base.train)
    with pytest.raises(SpecError, match="validation share"):
        SweepConfig(params=(parse_vary("units=8,16"),)).validate(no_val)
    cfg = SweepConfig(params=(parse_vary("units=8,16"), parse_vary("lr=1e-3:1e-2:log")), method="random", trials=4,
                      seed=7, parallel=2)
    assert SweepConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg.validate()


def test_apply_params():
    base = RunSpec(DataSpec(task="forecast", targets=("y",)), ModelSpec(units=(64, 32)), TrainSpec())
    s = sweeps.apply_params(base, {"units": 16, "learning_rate": 0.01, "window": 36, "cell": "gru"})
    assert s.model.units == (16, 16) and s.train.learning_rate == 0.01 and s.data.window == 36 and s.model.cell == "gru"
    assert sweeps.apply_params(base, {"layers": 3}).model.units == (64, 32, 32)
    assert sweeps.apply_params(base, {"layers": 1}).model.units == (64,)
    assert sweeps.apply_params(base, {"layers": 2, "units": 8}).model.units == (8, 8)
    assert sweeps.apply_params(base, {"bidirectional": True}).model.bidirectional is True
    assert sweeps.apply_params(base, {}).validate() == base


# --------------------------------------------------------------------------- parameters from Optuna

def test_grid_random_and_tpe_parameters():
    grid = SweepConfig(params=(parse_vary("units=8,16,32"), parse_vary("cell=lstm,gru")), method="grid", trials=50)
    plan = sweeps.plan_params(grid)
    assert len(plan) == grid.budget() == 6
    assert {(p["units"], p["cell"]) for p in plan} == {(u, c) for u in (8, 16, 32) for c in ("lstm", "gru")}
    assert sweeps.plan_params(grid) == plan                                # the seed fixes the order
    assert len(sweeps.plan_params(SweepConfig(params=grid.params, method="grid", trials=4))) == 4

    rnd = SweepConfig(params=(parse_vary("units=8:64"), parse_vary("lr=1e-4:1e-2:log")), method="random", trials=12,
                      seed=3)
    a = sweeps.plan_params(rnd)
    assert a == sweeps.plan_params(rnd) and len(a) == 12
    assert a != sweeps.plan_params(SweepConfig(params=rnd.params, method="random", trials=12, seed=4))
    assert all(8 <= p["units"] <= 64 and isinstance(p["units"], int) and 1e-4 <= p["learning_rate"] <= 1e-2 for p in a)
    assert len({p["units"] for p in a}) > 3                                 # trials differ from each other
    small = sum(p["learning_rate"] < 1e-3 for p in a)
    assert 2 <= small <= 10, "log scale: about half the draws below the geometric middle"

    tpe = SweepConfig(params=(parse_vary("dropout=0:0.5:0.1"), parse_vary("cell=lstm,gru")), method="tpe", trials=9,
                      seed=1)
    t = sweeps.plan_params(tpe, 3)
    assert t == sweeps.plan_params(tpe, 3)
    assert all(p["dropout"] in [0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5] or 0 <= p["dropout"] <= 0.5 for p in t)


def test_tpe_learns_from_results(store):
    """After its random start-up, TPE proposes values near the best trials (the driver feeds it the store)."""
    cfg = SweepConfig(params=(parse_vary("lr=1e-4:1e-1:log"),), method="tpe", trials=14, seed=5, prune=False)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=1)
    for _ in range(cfg.trials):
        driver.drive(sid)
        (rid,) = [r.id for r in store.list_runs(sweep_id=sid, status="queued")]
        lr = store.get_run(rid).tags["sweep_params"]["learning_rate"]
        play(store, rid, [abs(math.log10(lr) + 3.0) + 0.01])               # best at lr = 1e-3
    assert driver.drive(sid).status == "finished"
    lrs = [t.params["learning_rate"] for t in sweeps.sweep_trials(store, sid)]
    late = [abs(math.log10(v) + 3) for v in lrs[-5:]]
    early = [abs(math.log10(v) + 3) for v in lrs[:4]]
    assert sum(late) / len(late) < sum(early) / len(early)
    sw = sweeps.get_sweep(store, sid)
    best = store.get_run(sw.best_run_id)
    assert sw.best_value == pytest.approx(min(abs(math.log10(v) + 3.0) + 0.01 for v in lrs))
    assert best.tags["sweep_trial"] == min(range(len(lrs)), key=lambda i: abs(math.log10(lrs[i]) + 3))


# --------------------------------------------------------------------------- the driver (worker played by hand)

def test_driver_queues_prunes_and_finishes(store):
    cfg = SweepConfig(params=(parse_vary("units=8,16,32"),), method="grid", trials=3, prune=True,
                      prune_startup=2, prune_warmup=1)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=1)
    sw = driver.drive(sid)
    queued = store.list_runs(sweep_id=sid, status="queued")
    assert sw.n_trials == 2 and len(queued) == 2, "grid keeps one more trial queued than it can run"
    first, second = trial_ids(store, sid)
    r1 = store.get_run(first)
    assert r1.tags["sweep_trial"] == 0 and r1.sweep_id == sid and r1.name.startswith("Trial 1 · units=")
    assert RunSpec.from_dict(r1.spec).model.units == (r1.tags["sweep_params"]["units"],)
    assert RunSpec.from_dict(r1.spec).train == base_spec().train          # the rest is the base configuration

    play(store, first, [1.0, 0.5, 0.3])
    play(store, second, [1.0, 0.6, 0.4])
    driver.drive(sid)
    third = trial_ids(store, sid)[2]
    play(store, third, [1.0], end=None)                                     # epoch 1: still in warm-up
    driver.drive(sid)
    assert not store.get_run(third).stop_requested
    play(store, third, [2.0], end=None)                                     # epoch 2: far worse than the median
    driver.drive(sid)
    rec = store.get_run(third)
    assert rec.stop_requested and rec.tags["pruned"] is True and rec.tags["pruned_at_epoch"] == 2
    assert "pruned by sweep" in store.log_path(third).read_text()
    assert sweeps.get_sweep(store, sid).status == "running"                # waits for the trial to end
    assert store.finish_run(third, "stopped")
    sw = driver.drive(sid)
    assert sw.status == "finished" and sw.ended and sw.n_trials == 3
    assert sw.best_run_id == first and sw.best_value == pytest.approx(0.3)
    infos = sweeps.sweep_trials(store, sid)
    assert [t.status for t in infos] == ["finished", "finished", "pruned"]
    assert [t.is_best for t in infos] == [True, False, False] and infos[2].pruned_at_epoch == 2
    assert {t.params["units"] for t in infos} == {8, 16, 32}
    # a fresh driver (a restart) changes nothing
    assert SweepDriver(store, start_runs=False, slots=1).drive(sid).n_trials == 3
    assert len(store.list_runs(sweep_id=sid)) == 3


def test_no_pruning_when_turned_off_or_before_startup(store):
    cfg = SweepConfig(params=(parse_vary("units=8,16,32"),), method="grid", trials=3, prune=False)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=3)
    driver.drive(sid)
    a, b, c = trial_ids(store, sid)
    play(store, a, [0.1, 0.1, 0.1])
    play(store, b, [0.1, 0.1, 0.1])
    play(store, c, [5.0, 5.0, 5.0], end=None)
    driver.drive(sid)
    assert not store.get_run(c).stop_requested
    cfg2 = SweepConfig(params=(parse_vary("units=8,16,32"),), method="grid", trials=3, prune_startup=2,
                       prune_warmup=0)
    sid2 = new_sweep(store, cfg2)
    driver.drive(sid2)
    x, y, z = trial_ids(store, sid2)
    play(store, x, [0.1, 0.1])
    play(store, y, [9.0, 9.0], end=None)                                   # only one finished trial so far
    driver.drive(sid2)
    assert not store.get_run(y).stop_requested


def test_stop_whole_sweep(store):
    cfg = SweepConfig(params=(parse_vary("units=8:64"),), method="random", trials=10)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=2)
    driver.drive(sid)
    ids = trial_ids(store, sid)
    assert len(ids) == 3                                                   # 2 slots + 1 waiting
    play(store, ids[0], [0.5], end=None)                                    # one is training
    assert sweeps.stop_sweep(store, sid) == "running"                       # waits for the running trial
    assert [store.get_run(i).status for i in ids] == ["running", "stopped", "stopped"]
    assert store.get_run(ids[0]).stop_requested
    driver.drive(sid)
    assert len(store.list_runs(sweep_id=sid)) == 3, "no new trials after a stop"
    assert store.finish_run(ids[0], "stopped")
    sw = driver.drive(sid)
    assert sw.status == "stopped" and sw.ended and sw.best_run_id == ids[0]
    assert sweeps.stop_sweep(store, sid) == "stopped"                       # again: nothing to do
    # a sweep with nothing active stops at once
    sid2 = new_sweep(store, cfg)
    assert sweeps.stop_sweep(store, sid2) == "stopped"
    with pytest.raises(UserError, match="running"):
        sweeps.delete_sweep(store, new_sweep(store, cfg))
    sweeps.delete_sweep(store, sid, delete_runs=True)
    assert store.list_runs(sweep_id=sid) == []
    with pytest.raises(sweeps.SweepNotFound):
        sweeps.get_sweep(store, sid)


def test_restart_resumes_interrupted_and_counts_deleted_trials(store):
    cfg = SweepConfig(params=(parse_vary("units=8,16,32,64"),), method="grid", trials=4, prune=False)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=1)
    driver.drive(sid)
    a, b = trial_ids(store, sid)
    play(store, a, [0.5], end="interrupted")                                # the app restarted meanwhile
    store.delete_run(b)                                                     # the user deleted a queued trial
    SweepDriver(store, start_runs=False, slots=1).drive(sid)                # a new driver after the restart
    rec = store.get_run(a)
    assert rec.status == "queued" and rec.attempt == 2 and rec.resume
    assert "resumed by sweep" in store.log_path(a).read_text()
    play(store, a, [0.4])
    d2 = SweepDriver(store, start_runs=False, slots=1)
    for _ in range(3):
        d2.drive(sid)
        for r in reversed(store.list_runs(sweep_id=sid, status="queued")):   # oldest first
            play(store, r.id, [0.6])
    sw = d2.drive(sid)
    assert sw.status == "finished" and sw.n_trials == 4
    units = [t.params["units"] for t in sweeps.sweep_trials(store, sid)]
    assert len(units) == 3 and len(set(units)) == 3, "the deleted trial's grid point is not tried twice"


def test_every_trial_failing_fails_the_sweep(store):
    cfg = SweepConfig(params=(parse_vary("units=8,16"),), method="grid", trials=2)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=2)
    driver.drive(sid)
    for rid in trial_ids(store, sid):
        store.claim_next_job()
        store.finish_run(rid, "failed", error="Training diverged: the loss became NaN.")
    sw = driver.drive(sid)
    assert sw.status == "failed" and "Every trial failed" in sw.error and "NaN" in sw.error


def test_deleted_dataset_fails_the_sweep_plainly(store):
    cfg = SweepConfig(params=(parse_vary("units=8,16,32"),), method="grid", trials=3)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=1)
    driver.tick()
    for r in store.list_runs(sweep_id=sid):
        store.delete_run(r.id)
    store.delete_dataset(sweeps.get_sweep(store, sid).dataset_id, force=True)
    driver.tick()
    sw = sweeps.get_sweep(store, sid)
    assert sw.status == "failed" and "not in the store" in sw.error


# --------------------------------------------------------------------------- CLI

def test_cli_errors_are_one_line_exit_2(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    csv = tmp_path / "sine.csv"
    csv.write_bytes(sine_csv())
    cases = [
        ["sweep", str(csv), "--task", "forecast", "--vary", "units=abc"],
        ["sweep", str(csv), "--task", "forecast", "--vary", "nonsense=1,2"],
        ["sweep", str(csv), "--task", "forecast"],                                  # nothing varies
        ["sweep", str(csv), "--task", "forecast", "--vary", "units=8,16", "--trials", "0"],
        ["sweep", str(csv), "--task", "forecast", "--vary", "units=8,16", "--metric", "val_accuracy"],
        ["sweep", str(tmp_path / "missing.csv"), "--task", "forecast", "--vary", "units=8,16"],
        ["sweep", str(csv), "--task", "forecast", "--vary", "units=8,16", "--method", "bayes"],
        ["sweeps", "show", "../../etc"],
        ["sweeps", "stop", "nosuchsweep"],
    ]
    for argv in cases:
        try:
            code = cli.main(argv)
        except SystemExit as e:        # argparse's own errors (bad choice) exit the same way
            code = e.code
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, (argv, err)
    assert sweeps.list_sweeps(RunStore(home)) == [], "nothing was started"
    assert cli.main(["sweeps", "list"]) == 0 and "no sweeps yet" in capsys.readouterr().out


def test_sweep_flags_leave_train_untouched(capsys):
    """``sweep`` borrows every flag of ``train``; ``train`` itself must parse exactly as before."""
    ap = cli.make_parser()
    a = ap.parse_args(["train", "x.csv", "--task", "forecast", "--detach", "--name", "n", "--units", "8", "16"])
    assert a.func is cli.cmd_train and a.detach and a.name == "n" and a.units == [8, 16]
    b = ap.parse_args(["sweep", "x.csv", "--task", "forecast", "--vary", "units=8,16", "--vary", "lr=1e-3,1e-2",
                       "--epochs", "5", "--detach", "--method", "grid"])
    assert b.func is cli_sweep.cmd_sweep and b.vary == ["units=8,16", "lr=1e-3,1e-2"] and b.epochs == 5
    with pytest.raises(SystemExit) as e:
        ap.parse_args(["sweep", "--help"])
    assert e.value.code == 0 and "--vary" in capsys.readouterr().out


@pytest.mark.slow
def test_sweep_end_to_end_cli(tmp_path, capsys, monkeypatch):
    """``sweep --detach`` -> the driver queues trials -> the local worker trains them -> finished, best set."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    monkeypatch.delenv("SEQSTUDIO_RUNNER", raising=False)
    monkeypatch.setenv("SEQSTUDIO_WORKER_IDLE_EXIT", "30")
    csv = tmp_path / "sine.csv"
    csv.write_bytes(sine_csv())
    try:
        code = cli.main(["sweep", str(csv), "--task", "forecast", "--target", "y", "--time", "t", "--window", "12",
                         "--units", "4", "--epochs", "2", "--batch-size", "32", "--patience", "0",
                         "--vary", "units=4,8", "--vary", "learning_rate=1e-3,1e-2", "--method", "grid",
                         "--trials", "3", "--detach", "--name", "cli sweep"])
        out = capsys.readouterr()
        assert code == 0, out.err
        sid = out.out.strip()
        store = RunStore(home)
        sw = sweeps.get_sweep(store, sid)
        assert sw.name == "cli sweep" and sw.status == "running" and sweeps.driver_pid(home)
        # the driver dies (the app or the machine restarted): the next app load starts a new one that carries on
        deadline = time.monotonic() + 120
        while not store.list_runs(sweep_id=sid):
            assert time.monotonic() < deadline, "no trial was queued"
            time.sleep(0.1)
        old_pid = sweeps.driver_pid(home)
        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while sweeps.driver_pid(home) is not None:
            assert time.monotonic() < deadline, "the killed driver still holds its lock"
            time.sleep(0.05)
        assert sweeps.ensure_driver_if_needed(store) not in (None, old_pid)
        deadline = time.monotonic() + 240
        while sweeps.get_sweep(store, sid).status == "running":
            assert time.monotonic() < deadline, [(r.status, r.error) for r in store.list_runs(sweep_id=sid)]
            time.sleep(0.5)
        sw = sweeps.get_sweep(store, sid)
        assert sw.status == "finished", sw.error
        runs = store.list_runs(sweep_id=sid)
        assert len(runs) == 3 and all(r.status in ("finished", "stopped") for r in runs)
        for r in runs:
            assert store.count_history(r.id, kind="epoch") >= 1
            assert (store.run_dir(r.id) / "bundle" / "manifest.json").exists()
        assert sw.best_run_id in {r.id for r in runs} and sw.best_value == pytest.approx(
            min(r.best_val_loss for r in runs if r.status == "finished"))
        # the CLI's views of it
        assert cli.main(["sweeps", "show", sid, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["status"] == "finished" and len(shown["trials"]) == 3
        assert sum(t["is_best"] for t in shown["trials"]) == 1
        assert cli.main(["sweeps", "list"]) == 0 and sid in capsys.readouterr().out
        assert cli.main(["sweeps", "show", sid]) == 0 and "*trial" in capsys.readouterr().out
        assert cli.main(["sweeps", "stop", sid]) == 0 and "finished" in capsys.readouterr().out
        assert cli_sweep.follow(store, sid, poll=0.05) == 0
        assert "best: run" in capsys.readouterr().err
    finally:
        sweeps.stop_driver(home)
        stop_supervisor(home)


# --------------------------------------------------------------------------- the Sweeps page

def _page(state: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/7_Sweeps.py")
    for k, v in (state or {}).items():
        at.session_state[k] = v
    return at


def test_sweeps_page_empty_and_builder(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_HOME", str(tmp_path / "home"))
    at = _page()
    at.run()
    assert not at.exception
    assert "Choose the data first" in "\n".join(i.value for i in at.info)
    assert "No sweeps yet" in "\n".join(i.value for i in at.info)

    store = RunStore(tmp_path / "home")
    ds = store.add_dataset(sine_csv(), "sine.csv")
    spec = base_spec()
    at = _page({"dataset_id": ds, "dataset_name": "sine.csv", "task": "forecast", "data_spec": spec.data.to_dict(),
                "model_spec": spec.model.to_dict(), "train_spec": spec.train.to_dict(), "_restored_from": ""})
    at.run()
    assert not at.exception
    assert at.multiselect(key="sweeps_b_params").value == ["units", "learning_rate"]
    assert at.button(key="sweeps_start")
    at.text_input(key="sweeps_b_list_units").set_value("8, 16, abc").run()
    assert not at.exception and "not a number" in "\n".join(e.value for e in at.error)
    at.text_input(key="sweeps_b_list_units").set_value("4, 8").run()
    at.radio(key="sweeps_b_method").set_value("random").run()
    at.number_input(key="sweeps_b_trials").set_value(2).run()
    monkeypatch.setattr(sweeps.process, "ensure_driver", lambda home=None, **kw: 0)   # no processes in a page test
    at.button(key="sweeps_start").click().run()
    assert not at.exception
    (sw,) = sweeps.list_sweeps(store)
    assert sw.cfg.method == "random" and sw.cfg.trials == 2 and sw.cfg.names == ["units", "learning_rate"]
    assert sw.cfg.params[0].values == (4, 8) and sw.status == "running"
    assert at.session_state["sweeps_current"] == sw.id
    assert at.button(key="sweeps_stop")
    at.button(key="sweeps_stop").click().run()
    assert not at.exception and sweeps.get_sweep(store, sw.id).status == "stopped"


def test_sweeps_page_shows_trials_plots_and_uses_a_configuration(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    store = RunStore(home)
    cfg = SweepConfig(params=(parse_vary("units=8,16,32"), parse_vary("lr=1e-3:1e-2:log")), method="random",
                      trials=3, prune_warmup=0)
    sid = new_sweep(store, cfg)
    driver = SweepDriver(store, start_runs=False, slots=3)
    driver.drive(sid)
    a, b, c = trial_ids(store, sid)
    play(store, a, [0.9, 0.5])
    play(store, b, [0.8, 0.3])
    play(store, c, [3.0, 2.5], end=None)
    driver.drive(sid)
    store.finish_run(c, "stopped")
    assert driver.drive(sid).status == "finished"
    at = _page()
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["trial"]) == [1, 2, 3] and list(frame["best"]) == ["", "★", ""]
    assert frame["status"].iloc[2].startswith("pruned")
    assert {"Units per layer", "Learning rate", "Validation loss"} <= set(frame.columns)
    assert len(at.get("plotly_chart")) >= 1
    assert at.selectbox(key="sweeps_use_trial").value == b                   # the best trial first
    at.button(key="sweeps_use").click().run()
    assert not at.exception
    assert at.session_state["_restored_from"] == b
    assert at.session_state["model_spec"]["units"] == [store.get_run(b).tags["sweep_params"]["units"]]


def test_figures(store):
    from pages._ui import sweeps_ui

    cfg = SweepConfig(params=(parse_vary("cell=lstm,gru"), parse_vary("lr=1e-4:1e-2:log")), method="random",
                      trials=3).validate()
    infos = [sweeps.TrialInfo(number=i, run_id=f"run{i:05d}", name="x", status=s, run_status="finished",
                              params={"cell": c, "learning_rate": lr}, value=v, epochs_run=3, planned_epochs=3,
                              duration=1.0, started=0, ended=1, is_best=i == 1)
             for i, (s, c, lr, v) in enumerate([("finished", "lstm", 1e-3, 0.5), ("finished", "gru", 3e-4, 0.2),
                                                ("pruned", "gru", 1e-2, 1.5)])]
    fig = sweeps_ui.scatter_figure(infos, cfg)
    names = [t.name for t in fig.data]
    assert "best trial" in names and "pruned" in names
    star = [t for t in fig.data if t.name == "best trial"]
    assert star[0].y[0] == 0.2
    par = sweeps_ui.parallel_figure(infos, cfg)
    dims = par.data[0].dimensions
    assert [d.label for d in dims] == ["Recurrent cell", "Learning rate", "Validation loss"]
    assert list(dims[0].ticktext) == ["LSTM", "GRU"] and list(dims[2].values) == [0.5, 0.2, 1.5]
    assert sweeps_ui.parallel_figure(infos[:1], cfg) is None
    frame = sweeps_ui.trials_frame(infos, cfg)
    assert list(frame["status"]) == ["finished", "finished", "pruned"] and frame["best"].tolist() == ["", "★", ""]
    assert "Ray" in sweeps_ui.describe_backend({"backend": "ray", "slots": 2, "ray": {
        "connected": True, "address": "x", "nodes": 1, "resources": {"CPU": 2}, "num_cpus_per_run": 1}})
