"""Run store: round trips, migrations, history polling, artifacts, concurrency."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading

import pytest

from seqcore.errors import UserError
from seqcore.modeling.progress import Progress
from seqcore.runs.store import (
    SCHEMA_VERSION,
    DatasetNotFound,
    RunNotFound,
    RunStore,
    atomic_write_bytes,
    atomic_write_text,
    connect,
    default_home,
    is_valid_dataset_id,
    is_valid_run_id,
    migrate,
    new_run_id,
    schema_version,
)

CSV = b"t,y\n1,2.0\n2,3.5\n3,4.0\n"
SPEC = {"data": {"task": "forecast", "targets": ["y"]}, "model": {"cell": "lstm", "units": [8]},
        "train": {"epochs": 2}}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_HOME", str(tmp_path / "home"))
    return RunStore()


def test_default_home_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    monkeypatch.delenv("SEQSTUDIO_HOME")
    assert default_home().name == ".seqstudio"


def test_store_layout_and_wal(store):
    assert store.home.name == "home"
    assert (store.home / "store.sqlite").exists()
    assert store.datasets_dir.is_dir() and store.runs_dir.is_dir()
    mode = store._conn().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"
    assert schema_version(store._conn()) == SCHEMA_VERSION


def test_run_ids():
    ids = {new_run_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(is_valid_run_id(i) for i in ids)
    # one in 32 random tokens starts with '-' or '_'; such an id is read as an option on the command line
    assert all(i[0].isalnum() for i in ids)
    for bad in ["", "abc", "../../etc", "a b c d e f", "x" * 41, None, 12345678, "abc/def12"]:
        assert not is_valid_run_id(bad)


@pytest.mark.parametrize("bad", ["abcdef\n", "abcdef\r\n", "\nabcdef", "abcdef\x00", "abcdef ", " abcdef",
                                 "abc\ndef", "abcdé1", "abcdef\u0660", "ab.cdef", "abcdef/", "x" * 41 + "\n"])
def test_near_miss_run_ids_are_refused(store, bad):
    assert is_valid_run_id("abcdef") and is_valid_run_id("x" * 40)
    assert not is_valid_run_id(bad)
    with pytest.raises(RunNotFound):
        store.get_run(bad)
    with pytest.raises(RunNotFound):
        store.run_dir(bad)


def test_near_miss_dataset_ids_are_refused(store):
    good = "a" * 64
    assert is_valid_dataset_id(good)
    for bad in [good + "\n", good + "\r\n", "\n" + good, good[:-1] + "A", good + "0", good[:-1], good + " "]:
        assert not is_valid_dataset_id(bad)
        with pytest.raises(DatasetNotFound):
            store.dataset_path(bad)


def test_dataset_round_trip(store):
    ds = store.add_dataset(CSV, "tiny.csv", n_rows=3, n_cols=2, fmt={"delimiter": ","})
    assert ds == hashlib.sha256(CSV).hexdigest()
    assert store.add_dataset(CSV, "again.csv") == ds          # stored once by content
    info = store.get_dataset(ds)
    assert (info.name, info.size, info.n_rows, info.n_cols) == ("tiny.csv", len(CSV), 3, 2)
    assert info.format == {"delimiter": ","}
    assert store.dataset_bytes(ds) == CSV
    assert [d.id for d in store.list_datasets()] == [ds]
    assert store.dataset_path(ds).read_bytes() == CSV
    with pytest.raises(DatasetNotFound):
        store.get_dataset("0" * 64)
    with pytest.raises(DatasetNotFound):
        store.get_dataset("../secret")


def test_run_round_trip(store):
    ds = store.add_dataset(CSV, "tiny.csv")
    rid = store.create_run(spec=SPEC, dataset_id=ds, task="forecast", csv_options={"delimiter": ";"},
                           name="first", tags={"sweep": "s1", "trial": 3}, sweep_id="s1")
    assert is_valid_run_id(rid)
    rec = store.get_run(rid)
    assert (rec.status, rec.kind, rec.task, rec.name) == ("queued", "train", "forecast", "first")
    assert rec.spec == SPEC and rec.csv_options == {"delimiter": ";"}
    assert rec.tags == {"sweep": "s1", "trial": 3} and rec.sweep_id == "s1"
    assert rec.attempt == 1 and not rec.stop_requested and rec.started is None
    assert store.run_dir(rid).is_dir()
    store.rename_run(rid, "  renamed  ")
    assert store.get_run(rid).name == "renamed"
    with pytest.raises(UserError):
        store.rename_run(rid, "   ")
    json.dumps(rec.to_dict())  # JSON-able for the CLI
    # default names and listing order (newest first)
    rid2 = store.create_run(spec=SPEC, dataset_id=ds, task="forecast")
    assert store.get_run(rid2).name.startswith("train ")
    pid = store.create_run(spec={"source_run_id": rid}, dataset_id=ds, kind="predict", source_run_id=rid)
    assert [r.id for r in store.list_runs()] == [rid2, rid]
    assert {r.id for r in store.list_runs(kind=None)} == {rid, rid2, pid}
    assert [r.id for r in store.list_runs(kind="predict")] == [pid]
    assert [r.id for r in store.list_runs(sweep_id="s1")] == [rid]
    with pytest.raises(RunNotFound):
        store.get_run("nosuchrun1")
    with pytest.raises(RunNotFound):
        store.get_run("../../x")


def test_life_cycle_claim_finish_stop_requeue(store):
    ds = store.add_dataset(CSV, "tiny.csv")
    a = store.create_run(spec=SPEC, dataset_id=ds)
    b = store.create_run(spec=SPEC, dataset_id=ds)
    p = store.create_run(spec={}, dataset_id=ds, kind="predict")
    # a queued run that is stopped never starts
    assert store.request_stop(b) == "stopped"
    rec = store.get_run(b)
    assert rec.status == "stopped" and rec.ended is not None
    claimed = store.claim_next_job(kinds=["train"], worker_pid=123, worker_started=1.0)
    assert claimed.id == a and claimed.status == "running" and claimed.worker_pid == 123
    assert store.claim_next_job(kinds=["train"]) is None      # b was stopped, p is another kind
    assert store.claim_next_job(kinds=["predict"]).id == p
    # stop a running run: only a flag
    assert store.request_stop(a) == "running"
    assert store.stop_requested(a) and store.get_run(a).stop_requested_at is not None
    assert store.finish_run(a, "stopped", summary={"test": {"rmse": 1.0}}, epochs_run=2, best_val_loss=0.5)
    assert not store.finish_run(a, "failed", error="late")     # already ended: untouched
    rec = store.get_run(a)
    assert (rec.status, rec.summary, rec.epochs_run, rec.best_val_loss, rec.error) == (
        "stopped", {"test": {"rmse": 1.0}}, 2, 0.5, None)
    # resume puts it back in the queue with a fresh attempt
    store.requeue(a, resume=True)
    rec = store.get_run(a)
    assert (rec.status, rec.resume, rec.attempt, rec.stop_requested, rec.ended) == ("queued", True, 2, False, None)
    with pytest.raises(UserError):
        store.requeue(a, resume=True)                          # queued: cannot be resumed again


def test_history_incremental_reads(store):
    ds = store.add_dataset(CSV, "tiny.csv")
    a = store.create_run(spec=SPEC, dataset_id=ds)
    b = store.create_run(spec=SPEC, dataset_id=ds)
    assert store.read_history(a) == []
    last = store.append_history(a, [Progress("batch", 1, 3, batch=1, batches=4, loss=1.0),
                                    Progress("epoch", 1, 3, loss=0.9, val_loss=1.1, metrics={"mae": 0.5})])
    store.append_history(b, [{"kind": "epoch", "epoch": 1, "epochs": 2, "loss": 5.0}])
    pts = store.read_history(a)
    assert [p.kind for _, p in pts] == ["batch", "epoch"]
    assert pts[-1][0] == last
    assert pts[1][1].metrics == {"mae": 0.5} and pts[1][1].val_loss == 1.1
    assert store.read_history(a, after_seq=last) == []
    store.append_history(a, [Progress("epoch", 2, 3, loss=0.8)])
    new = store.read_history(a, after_seq=last)
    assert len(new) == 1 and new[0][1].epoch == 2 and new[0][0] > last
    assert [p.epoch for _, p in store.read_history(a, kind="epoch")] == [1, 2]
    assert [p.loss for _, p in store.read_history(b)] == [5.0]      # histories stay separate
    assert store.count_history(a) == 3 and store.count_history(a, kind="batch") == 1
    assert store.append_history(a, []) == 0
    # resume redoes epoch 2: its points go, seq numbers are never reused
    assert store.trim_history(a, 2) == 1
    again = store.append_history(a, [Progress("epoch", 2, 3, loss=0.7)])
    assert again > new[0][0]


def test_artifacts_log_and_delete(store):
    ds = store.add_dataset(CSV, "tiny.csv")
    rid = store.create_run(spec=SPEC, dataset_id=ds)
    d = store.run_dir(rid)
    atomic_write_text(d / "metrics.json", '{"a": 1}')
    atomic_write_bytes(d / "bundle" / "spec.json", b"{}")
    store.append_log(rid, "hello")
    try:
        raise ValueError("boom")
    except ValueError as e:
        store.log_exception(rid, e, "while testing")
    log = store.log_path(rid).read_text()
    assert "hello" in log and "ValueError: boom" in log and "Traceback" in log
    arts = store.artifacts(rid)
    assert set(arts) == {"folder", "bundle", "metrics", "log"}
    assert not list(d.glob("*.tmp"))
    store.append_history(rid, [Progress("epoch", 1, 1, loss=1.0)])
    # a running run cannot be deleted
    store.claim_next_job()
    with pytest.raises(UserError):
        store.delete_run(rid)
    store.finish_run(rid, "finished")
    store.delete_run(rid)
    assert not d.exists()
    assert store.count_history(rid) == 0
    with pytest.raises(RunNotFound):
        store.get_run(rid)


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "sub" / "f.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert sorted(x.name for x in p.parent.iterdir()) == ["f.txt"]

    with pytest.raises(TypeError):
        atomic_write_bytes(p, "not bytes")  # type: ignore[arg-type]
    assert p.read_text() == "two"
    assert sorted(x.name for x in p.parent.iterdir()) == ["f.txt"]


def test_delete_dataset_refuses_when_used(store):
    ds = store.add_dataset(CSV, "tiny.csv")
    other = store.add_dataset(b"a,b\n1,2\n", "other.csv")
    store.delete_dataset(other)
    assert not store.dataset_path(other).exists()
    rid = store.create_run(spec=SPEC, dataset_id=ds)
    with pytest.raises(UserError, match="queued or running"):
        store.delete_dataset(ds, force=True)                  # a queued run needs it
    store.request_stop(rid)
    with pytest.raises(UserError, match="used by 1 run"):
        store.delete_dataset(ds)
    store.delete_dataset(ds, force=True)
    assert store.list_datasets() == []
    assert store.get_run(rid).status == "stopped"             # the run keeps its record


def test_migration_from_v1(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    conn = connect(home / "store.sqlite")
    assert migrate(conn, target=1) == 1
    conn.execute("INSERT INTO datasets(id, name, size, created) VALUES (?, 'old.csv', 3, 1.0)", ("a" * 64,))
    conn.execute("INSERT INTO runs(id, name, created, status, task, spec, dataset_id, summary)"
                 " VALUES ('oldrun01', 'old run', 2.0, 'finished', 'forecast', ?, ?, '{\"test\": {}}')",
                 (json.dumps(SPEC), "a" * 64))
    conn.execute("INSERT INTO history(run_id, kind, point) VALUES ('oldrun01', 'epoch', ?)",
                 (json.dumps({"kind": "epoch", "epoch": 1, "epochs": 1, "loss": 0.3}),))
    conn.close()
    store = RunStore(home)
    assert schema_version(store._conn()) == SCHEMA_VERSION
    rec = store.get_run("oldrun01")
    assert (rec.kind, rec.tags, rec.attempt, rec.csv_options, rec.summary) == ("train", {}, 1, None, {"test": {}})
    assert store.read_history("oldrun01")[0][1].loss == 0.3
    assert store.get_dataset("a" * 64).format == {}
    # opening again is a no-op
    assert migrate(store._conn()) == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path):
    home = tmp_path / "home"
    RunStore(home)
    conn = sqlite3.connect(home / "store.sqlite")
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match="newer version"):
        RunStore(home)


def test_concurrent_writers_threads(store):
    """Five 'browser sessions' add data, create runs and write history at once."""
    errors = []
    ids: list[str] = []

    def session(i: int) -> None:
        try:
            ds = store.add_dataset(CSV, f"s{i}.csv")
            rid = store.create_run(spec=SPEC, dataset_id=ds, name=f"session {i}")
            ids.append(rid)
            for e in range(1, 21):
                store.append_history(rid, [Progress("epoch", e, 20, loss=float(i))])
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_datasets()) == 1 and len(ids) == 5
    for rid in ids:
        pts = store.read_history(rid)
        assert [p.epoch for _, p in pts] == list(range(1, 21))
        assert len({p.loss for _, p in pts}) == 1
    # every claim hands out a distinct run
    claimed = [store.claim_next_job() for _ in range(6)]
    assert sorted(c.id for c in claimed if c) == sorted(ids) and claimed[-1] is None
