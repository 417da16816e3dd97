"""Per-user workspaces (issue 17): ownership enforced in the run store, read-only share links, the migration of
a workspace made before owners, fair queueing across users, per-user limits and the CLI's --user.

The authorisation matrix: two users (ana, ben) and an administrator (boss) x every store action x their own,
another user's and a shared object. Another user's object is "not found", worded exactly like one that does not
exist, so ids reveal nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqcore.auth import LOCAL, principal
from seqcore.errors import UserError
from seqcore.runs import limits, queue
from seqcore.runs.store import DatasetNotFound, RunNotFound, RunStore
from seqcore.sweeps.state import (SweepNotFound, delete_sweep, get_sweep, list_sweeps, rename_sweep, start_sweep,
                                  stop_sweep)

ROOT = Path(__file__).resolve().parents[1]
CSV = b"t,y\n" + b"".join(f"{i},{i % 7}\n".encode() for i in range(200))
SPEC = {"data": {"task": "forecast", "time": "t", "targets": ["y"], "window": 12, "horizon": 2},
        "model": {"units": [4]}, "train": {"epochs": 1}}


@pytest.fixture
def world(tmp_path, monkeypatch):
    """ana and ben (users) and boss (admin), each with a dataset, a finished run and ana with a sweep."""
    monkeypatch.setenv("SEQSTUDIO_ADMINS", "boss@example.org")
    monkeypatch.setenv("SEQSTUDIO_AUTH", "proxy")
    base = RunStore(tmp_path / "home")
    views = {n: base.for_user(principal(f"{n}@example.org")) for n in ("ana", "ben", "boss")}
    objs = {}
    for n in ("ana", "ben"):
        s = views[n]
        ds = s.add_dataset(CSV + n.encode() * 0, f"{n}.csv")
        run = s.create_run(spec=SPEC, dataset_id=ds, task="forecast", name=f"{n}'s run", status="finished")
        s.run_dir(run).mkdir(parents=True, exist_ok=True)
        (s.run_dir(run) / "predictions.csv").write_text("a\n1\n")
        s.append_history(run, [{"kind": "epoch", "epoch": 1, "epochs": 1, "loss": 1.0}])
        objs[n] = {"ds": ds, "run": run}
    objs["ana"]["sweep"] = start_sweep(views["ana"], SPEC, {"params": [{"name": "units", "values": [4, 8]}],
                                                          "trials": 2}, objs["ana"]["ds"], start=False)
    return base, views, objs


def test_users_see_only_their_own_runs_datasets_and_sweeps(world):
    base, v, o = world
    assert [r.id for r in v["ana"].list_runs()] == [o["ana"]["run"]]
    assert [r.id for r in v["ben"].list_runs()] == [o["ben"]["run"]]
    assert {r.id for r in v["boss"].list_runs()} == {o["ana"]["run"], o["ben"]["run"]}   # the admin: everything
    assert [s.id for s in list_sweeps(v["ana"])] == [o["ana"]["sweep"]]
    assert list_sweeps(v["ben"]) == []
    assert len(list_sweeps(v["boss"])) == 1
    # the same bytes uploaded by both are stored once and listed for each
    assert o["ana"]["ds"] == o["ben"]["ds"]
    assert [d.id for d in v["ana"].list_datasets()] == [o["ana"]["ds"]]
    assert sorted(base.dataset_owners(o["ana"]["ds"])) == ["ana@example.org", "ben@example.org"]
    assert base.get_run(o["ana"]["run"]).owner == "ana@example.org"


RUN_ACTIONS = {
    "show": lambda s, r: s.get_run(r),
    "history": lambda s, r: s.read_history(r),
    "chart": lambda s, r: s.history_columns(r),
    "download": lambda s, r: s.artifacts(r),
    "folder": lambda s, r: s.run_dir(r),
    "stop": lambda s, r: queue.request_stop(s, r),
    "delete": lambda s, r: s.delete_run(r),
    "rename": lambda s, r: s.rename_run(r, "mine now"),
    "resume": lambda s, r: queue.resume_run(s, r, start=False),
    "rerun": lambda s, r: queue.rerun(s, r, start=False),
    "predict": lambda s, r: queue.submit_predict(s, r, s.list_datasets()[0].id if s.list_datasets() else "0" * 64,
                                                 start=False),
    "share": lambda s, r: s.share_run(r),
    "tags": lambda s, r: s.set_tags(r, {"x": 1}),
}
WRITES = {"stop", "delete", "rename", "resume", "rerun", "share", "tags"}


@pytest.mark.parametrize("action", sorted(RUN_ACTIONS))
def test_another_users_run_is_not_found_for_every_action(world, action):
    base, v, o = world
    ana_run = o["ana"]["run"]
    with pytest.raises(RunNotFound) as err:
        RUN_ACTIONS[action](v["ben"], ana_run)
    assert "There is no run" in str(err.value) or "not a valid" in str(err.value)
    with pytest.raises(RunNotFound) as missing:
        v["ben"].get_run("AAAAAAAAAAAA")
    assert str(err.value).replace(ana_run, "X") == str(missing.value).replace("AAAAAAAAAAAA", "X")
    assert base.get_run(ana_run).name == "ana's run" and base.get_run(ana_run).status == "finished"


@pytest.mark.parametrize("action", sorted(RUN_ACTIONS))
@pytest.mark.parametrize("who", ["ana", "boss"])
def test_owner_and_admin_may_do_every_action(world, action, who):
    base, v, o = world
    run = o["ana"]["run"]
    try:
        RUN_ACTIONS[action](v[who], run)
    except RunNotFound:
        pytest.fail(f"{who} could not {action} ana's run")
    except UserError as err:   # an action refused for another reason (a finished run cannot be resumed...)
        assert "There is no run" not in str(err)


@pytest.mark.parametrize("action", sorted(RUN_ACTIONS))
def test_a_shared_run_is_readable_never_writable(world, action):
    base, v, o = world
    run = o["ana"]["run"]
    token = v["ana"].share_run(run)
    ben = v["ben"].with_share(run, token)
    if action in WRITES:
        with pytest.raises(UserError) as err:
            RUN_ACTIONS[action](ben, run)
        assert "read only" in str(err.value) or "There is no run" in str(err.value)
        assert base.get_run(run).name == "ana's run" and base.get_run(run).status == "finished"
    elif action != "predict":   # predicting with someone else's model would use (and queue as) their run
        RUN_ACTIONS[action](ben, run)
    assert [r.id for r in v["ben"].list_runs()] == [o["ben"]["run"]]   # sharing adds nothing to ben's lists
    assert [r.id for r in ben.list_runs()] == [o["ben"]["run"]]


def test_share_links_need_the_current_token_and_can_be_revoked(world):
    base, v, o = world
    run = o["ana"]["run"]
    with pytest.raises(RunNotFound):
        v["ben"].with_share(run, "guess")
    t1 = v["ana"].share_run(run)
    t2 = v["ana"].share_run(run)   # a new link replaces the old
    assert t1 != t2 and len(t2) >= 32
    with pytest.raises(RunNotFound):
        v["ben"].with_share(run, t1)
    assert v["ben"].with_share(run, t2).get_run(run).id == run
    v["ana"].unshare_run(run)
    with pytest.raises(RunNotFound, match="revoked"):
        v["ben"].with_share(run, t2)
    with pytest.raises(RunNotFound):
        v["ben"].unshare_run(run)


def test_datasets_are_scoped(world, tmp_path):
    base, v, o = world
    other = v["ana"].add_dataset(b"a,b\n1,2\n", "only-ana.csv")
    for fn in (lambda s: s.get_dataset(other), lambda s: s.dataset_bytes(other),
               lambda s: s.delete_dataset(other, force=True),
               lambda s: s.create_run(spec=SPEC, dataset_id=other, task="forecast"),
               lambda s: queue.submit_run(s, SPEC, other, start=False)):
        with pytest.raises(DatasetNotFound):
            fn(v["ben"])
    assert v["boss"].get_dataset(other).name == "only-ana.csv"
    # ben deleting the shared file removes his copy only; ana keeps hers
    v["ben"].delete_dataset(o["ben"]["ds"], force=True)
    assert v["ana"].dataset_bytes(o["ana"]["ds"]).startswith(b"t,y")
    assert [d.id for d in v["ben"].list_datasets()] == []


def test_sweeps_are_scoped(world):
    base, v, o = world
    sw = o["ana"]["sweep"]
    for fn in (lambda s: get_sweep(s, sw), lambda s: stop_sweep(s, sw), lambda s: rename_sweep(s, sw, "x"),
               lambda s: delete_sweep(s, sw)):
        with pytest.raises(SweepNotFound):
            fn(v["ben"])
    assert get_sweep(v["boss"], sw).owner == "ana@example.org"
    assert stop_sweep(v["ana"], sw) == "stopped"


def test_a_sweep_driver_queues_trials_for_the_sweeps_owner(world):
    base, v, o = world
    sw = get_sweep(base, o["ana"]["sweep"])
    rid = queue.submit_run(base, SPEC, sw.dataset_id, sweep_id=sw.id, owner=sw.owner, start=False)
    assert base.get_run(rid).owner == "ana@example.org"
    assert rid in {r.id for r in v["ana"].list_runs()} and rid not in {r.id for r in v["ben"].list_runs()}
    # a user's own store cannot create for someone else
    rid2 = v["ben"].create_run(spec=SPEC, dataset_id=o["ben"]["ds"], owner="ana@example.org")
    assert base.get_run(rid2).owner == "ben@example.org"


def test_fair_queue_across_users(world):
    """ana's sweep queued 4 trials before ben queued one run: ben's run is claimed second, not fifth."""
    base, v, o = world
    ana = [v["ana"].create_run(spec=SPEC, dataset_id=o["ana"]["ds"], sweep_id=o["ana"]["sweep"]) for _ in range(4)]
    ben = v["ben"].create_run(spec=SPEC, dataset_id=o["ben"]["ds"])
    order = []
    for _ in range(5):
        job = base.claim_next_job()
        order.append(job.id)
        base.finish_run(job.id, "finished")
    assert order[0] == ana[0] and order[1] == ben, order
    assert order[2:] == ana[1:]


def test_fair_queue_with_one_user_is_oldest_first(tmp_path):
    s = RunStore(tmp_path / "h")
    ds = s.add_dataset(CSV, "x.csv")
    ids = [s.create_run(spec=SPEC, dataset_id=ds) for _ in range(3)]
    assert [s.claim_next_job().id for _ in range(3)] == ids


def test_per_user_limits(world, monkeypatch):
    base, v, o = world
    monkeypatch.setenv("SEQSTUDIO_USER_MAX_ACTIVE_RUNS", "2")
    for _ in range(2):
        queue.submit_run(v["ben"], SPEC, o["ben"]["ds"], start=False)
    with pytest.raises(UserError, match="already have 2 runs queued or running"):
        queue.submit_run(v["ben"], SPEC, o["ben"]["ds"], start=False)
    queue.submit_run(v["ana"], SPEC, o["ana"]["ds"], start=False)    # others are not affected
    queue.submit_run(v["boss"], SPEC, o["ana"]["ds"], start=False)   # nor administrators
    queue.submit_run(v["boss"], SPEC, o["ana"]["ds"], start=False)
    queue.submit_run(v["boss"], SPEC, o["ana"]["ds"], start=False)
    u = limits.usage(v["ben"])
    assert u.active_runs == 2 and u.max_active_runs == 2 and "2 of 2 runs queued or running" in u.sentence()
    monkeypatch.setenv("SEQSTUDIO_USER_MAX_STORAGE_MB", "0.001")
    with pytest.raises(UserError, match="past the"):
        v["ben"].add_dataset(b"x,y\n" + b"1,2\n" * 1000, "big.csv")
    assert limits.usage(LOCAL and base.for_user(LOCAL)).max_active_runs == 0   # no limits without sign-in


def test_migration_gives_old_data_to_local_then_the_first_admin(tmp_path, monkeypatch):
    home = tmp_path / "old"
    home.mkdir()
    from seqcore.runs.store.schema import MIGRATIONS, connect, migrate

    conn = connect(home / "store.sqlite")
    migrate(conn, 3)   # a data folder from before owners existed
    conn.execute("INSERT INTO datasets(id, name, size, created) VALUES (?, 'old.csv', 3, 1.0)", ("a" * 64,))
    conn.execute("INSERT INTO runs(id, name, created, status, spec) VALUES ('oldrun0001', 'old', 1.0, 'finished',"
                 " '{}')")
    conn.close()
    s = RunStore(home)
    assert s.get_run("oldrun0001").owner == "local"
    assert s.dataset_owners("a" * 64) == ["local"]
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    monkeypatch.setenv("SEQSTUDIO_ADMINS", "boss@example.org,other@example.org")
    from seqcore.auth import migrate_local

    assert migrate_local(s) == 1
    assert s.get_run("oldrun0001").owner == "boss@example.org"
    assert s.dataset_owners("a" * 64) == ["boss@example.org"]
    assert migrate_local(s) == 0   # once
    assert len(MIGRATIONS) == 4


def test_cli_user_flag_acts_exactly_as_that_user(world):
    base, v, o = world
    home = base.home
    ana_run = o["ana"]["run"]

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "seqcore", *args], capture_output=True, text=True, cwd=ROOT,
                              timeout=120, env={**__import__("os").environ, "SEQSTUDIO_ADMINS": "boss@example.org",
                                                "SEQSTUDIO_AUTH": "proxy", "SEQSTUDIO_HOME": str(home)})

    p = cli("--user", "ben@example.org", "runs", "show", ana_run)
    assert p.returncode == 2 and "There is no run" in p.stderr and "Traceback" not in p.stderr
    for action in (("runs", "stop", ana_run), ("runs", "delete", ana_run), ("runs", "resume", ana_run),
                   ("runs", "share", ana_run), ("predict", ana_run, str(ROOT / "seqcore/samples/Airline.csv"))):
        p = cli("--user", "ben@example.org", *action)
        assert p.returncode == 2, (action, p.stdout, p.stderr)
        assert "no run" in p.stderr.lower() or "neither a model bundle" in p.stderr
    p = cli("--user", "ben@example.org", "runs", "list", "--json")
    assert p.returncode == 0 and [r["id"] for r in json.loads(p.stdout)] == [o["ben"]["run"]]
    p = cli("runs", "list", "--json")   # the local administrator sees everything
    assert {r["id"] for r in json.loads(p.stdout)} >= {ana_run, o["ben"]["run"]}
    p = cli("--user", "ana@example.org", "runs", "share", ana_run)
    assert p.returncode == 0 and f"Results?run={ana_run}&share=" in p.stdout
    p = cli("--user", "not an address", "runs", "list")
    assert p.returncode == 2 and "not a user name" in p.stderr
    assert base.get_run(ana_run).status == "finished"


def test_prepare_hints_carry_their_owner_and_only_their_uploads(world, monkeypatch):
    base, v, o = world
    monkeypatch.setenv("SEQSTUDIO_PREWARM", "on")
    other = v["ana"].add_dataset(b"t,y\n1,2\n3,4\n", "ana-only.csv")
    with pytest.raises(DatasetNotFound):
        queue.hint_prepare(v["ben"], SPEC, other)
    assert queue.hint_prepare(v["ben"], SPEC, o["ben"]["ds"])
    assert queue.read_prepare_hint(base.home)["owner"] == "ben@example.org"
