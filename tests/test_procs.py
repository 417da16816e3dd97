"""seqcore.runs.procs: lock files, the pid a lock holder publishes, SIGTERM-and-wait, a real detached Daemon,
and where background processes write: log lines into the rotating file of their component
(``<home>/logs/<component>.log``), raw output into a size-bounded capture file."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from seqcore import logs
from seqcore.errors import TrainingFailed
from seqcore.runs.procs import (
    Daemon,
    bounded_output,
    install_stop_handlers,
    lock_holder_pid,
    lock_is_ours,
    log_line,
    release_lock,
    resolve_home,
    terminate_and_wait,
    try_lock,
)

# A minimal daemon of the same protocol as the supervisor and the sweep driver: lock, publish pid, wait for SIGTERM.
DAEMON_SCRIPT = textwrap.dedent("""
    import json, os, sys, threading
    from pathlib import Path
    from seqcore.runs.procs import install_stop_handlers, release_lock, try_lock
    home = Path(sys.argv[1])
    fd = try_lock(home / "t.lock")
    if fd is None:
        sys.exit(0)
    (home / "t.json").write_text(json.dumps({"pid": os.getpid()}))
    print("serving", flush=True)
    stop = threading.Event()
    install_stop_handlers(stop.set)
    stop.wait(60)
    release_lock(fd)
    print("stopped", flush=True)
""")

TEST_DAEMON = Daemon("test daemon", "t.lock", "t.json", "t.start.lock", "t.log", reaper="reap-test-daemon")


def test_resolve_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_HOME", str(tmp_path / "h"))
    assert resolve_home(None) == (tmp_path / "h").resolve()
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_home("~/x/../y") == (tmp_path / "y").resolve()


def test_try_lock_is_exclusive_and_released(tmp_path):
    path = tmp_path / "a.lock"
    fd = try_lock(path)
    assert fd is not None and path.exists()
    try:
        assert try_lock(path) is None            # a second open file description cannot take it
        assert lock_is_ours(path, fd)
    finally:
        release_lock(fd)
    fd2 = try_lock(path)
    assert fd2 is not None
    release_lock(fd2)


def test_lock_is_ours_notices_a_removed_or_replaced_file(tmp_path):
    path = tmp_path / "a.lock"
    fd = try_lock(path)
    try:
        path.unlink()
        assert not lock_is_ours(path, fd)
        path.write_text("")                       # a new file under the old name is not ours either
        assert not lock_is_ours(path, fd)
    finally:
        release_lock(fd)
    assert not lock_is_ours(path, None)


def test_lock_holder_pid(tmp_path):
    lock, status = tmp_path / "x.lock", tmp_path / "x.json"
    assert lock_holder_pid(lock, status) is None                   # no lock file
    lock.write_text("")
    assert lock_holder_pid(lock, status) is None                   # nobody holds it
    fd = try_lock(lock)
    try:
        assert lock_holder_pid(lock, status, tries=2, wait=0.01) == -1   # held, pid not published
        status.write_text(json.dumps({"pid": 999_999}))            # a dead holder's pid, not yet replaced
        assert lock_holder_pid(lock, status, tries=2, wait=0.01) == -1
        status.write_text(json.dumps({"pid": os.getpid()}))
        assert lock_holder_pid(lock, status) == os.getpid()
    finally:
        release_lock(fd)
    assert lock_holder_pid(lock, status) is None                   # a stale status file does not count


def test_terminate_and_wait_ends_a_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert terminate_and_wait(lambda: None if proc.poll() is not None else proc.pid, 20)
        assert proc.returncode == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_terminate_and_wait_without_a_pid():
    assert terminate_and_wait(lambda: None, 1)                     # nothing there: done at once
    assert terminate_and_wait(lambda: -1, 0.2) is False            # pid unknown: nothing sent, gives up


def test_install_stop_handlers_in_the_main_thread_only():
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    hits = []
    try:
        t = threading.Thread(target=install_stop_handlers, args=(lambda: hits.append("thread"),))
        t.start()
        t.join()
        assert signal.getsignal(signal.SIGTERM) is old[signal.SIGTERM]   # not possible outside the main thread
        install_stop_handlers(lambda: hits.append("main"))
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
        assert hits == ["main", "main"]
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def test_log_line(capsys):
    log_line("test thing", "hello")
    err = capsys.readouterr().err
    assert err.startswith("[") and err.endswith(f"] test thing {os.getpid()}: hello\n")


@pytest.fixture
def log_files():
    """Log files set up by a test are closed and detached afterwards (no handler leaks into other tests)."""
    yield
    for component in logs.COMPONENTS:
        logger = logs.get(component)
        for h in list(logger.handlers):
            if getattr(h, "_seqstudio", False):
                logger.removeHandler(h)
                h.close()


def _flush(component: str) -> None:
    for h in logs.get(component).handlers:
        h.flush()


def test_log_line_goes_to_the_log_file_of_its_component(tmp_path, capsys, log_files):
    home = tmp_path / "home"
    path = logs.setup(home, "supervisor")
    assert path == (home / "logs" / "supervisor.log").resolve()
    log_line("supervisor", "claimed run abc", component="supervisor")
    log_line("ray supervisor", "connected", component="supervisor", level=logging.WARNING)
    try:
        raise ValueError("boom")
    except ValueError:
        log_line("supervisor", "it failed", component="supervisor", level=logging.ERROR, exc_info=True)
    _flush("supervisor")
    text = path.read_text()
    assert f"INFO seqstudio.supervisor pid={os.getpid()}: claimed run abc\n" in text
    assert "WARNING seqstudio.supervisor" in text and ": ray supervisor: connected" in text
    assert "it failed" in text and "ValueError: boom" in text       # the traceback is in the file
    assert capsys.readouterr().err == ""       # stderr (a detached process's raw capture) gets none of it
    # a component without a file (not set up in this process): the line goes to stderr as before
    log_line("worker", "hello", component="worker")
    assert capsys.readouterr().err.endswith(f"] worker {os.getpid()}: hello\n")


def test_log_files_rotate(tmp_path, monkeypatch, log_files):
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    home = tmp_path / "home"
    path = logs.setup(home, "worker")
    for i in range(200):
        log_line("worker", f"line {i:03d} " + "x" * 80, component="worker")
    _flush("worker")
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["worker.log", "worker.log.1", "worker.log.2", "worker.log.3"]   # BACKUPS = 3 kept
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    assert "line 199" in path.read_text() and "line 000" not in "".join(p.read_text() for p in path.parent.iterdir())


def test_bounded_output_moves_a_large_capture_aside(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 100)
    out = tmp_path / "home" / "logs" / "supervisor.out"
    assert bounded_output(out) == out and out.parent.is_dir() and not out.exists()   # folder made, no file
    out.write_bytes(b"a" * 100)
    bounded_output(out)
    assert out.read_bytes() == b"a" * 100                                             # at the limit: kept
    out.write_bytes(b"b" * 101)
    bounded_output(out)
    assert not out.exists() and (out.parent / "supervisor.out.1").read_bytes() == b"b" * 101
    out.write_bytes(b"c" * 500)
    bounded_output(out)                                                               # the older copy is replaced
    assert (out.parent / "supervisor.out.1").read_bytes() == b"c" * 500
    assert sorted(p.name for p in out.parent.iterdir()) == ["supervisor.out.1"]


def test_daemon_output_goes_under_logs_and_is_bounded_at_each_start(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 50)
    home = tmp_path / "home"
    daemon = Daemon("test daemon", "t.lock", "t.json", "t.start.lock", "logs/t.out", reaper="reap-test-daemon",
                    component="supervisor")
    cmd = [sys.executable, "-c", "print('x' * 60); raise SystemExit(3)"]
    with pytest.raises(TrainingFailed) as err:
        daemon.start(home, lambda: cmd, timeout=60)
    out = home / "logs" / "t.out"
    assert out.read_text() == "x" * 60 + "\n"
    # the hint names the real files: the raw output and the component's log
    assert err.value.hint == f"The details are in {out} and {home / 'logs' / 'supervisor.log'}."
    with pytest.raises(TrainingFailed):
        daemon.start(home, lambda: cmd, timeout=60)      # over the limit: moved aside before this start
    assert out.read_text() == "x" * 60 + "\n" and (home / "logs" / "t.out.1").read_text() == "x" * 60 + "\n"


def test_daemon_starts_once_and_stops(tmp_path):
    home = tmp_path / "home"                     # start creates it
    cmd = [sys.executable, "-c", DAEMON_SCRIPT, str(home)]
    pid = TEST_DAEMON.start(home, lambda: cmd, timeout=60)
    try:
        assert pid > 0 and pid != os.getpid()
        assert TEST_DAEMON.pid(home) == pid
        # one is alive: the command is not even asked for
        assert TEST_DAEMON.start(home, lambda: pytest.fail("started a second daemon")) == pid
    finally:
        assert TEST_DAEMON.stop(home, timeout=30)
    assert TEST_DAEMON.pid(home) is None
    assert TEST_DAEMON.stop(home, timeout=1)     # none alive: True at once
    log = (home / "t.log").read_text()
    assert "serving" in log and "stopped" in log  # it ran in home with seqcore importable, SIGTERM ended it


def test_daemon_that_exits_at_once_fails_plainly(tmp_path):
    home = tmp_path / "home"
    with pytest.raises(TrainingFailed) as err:
        TEST_DAEMON.start(home, lambda: [sys.executable, "-c", "raise SystemExit(3)"], timeout=60)
    assert "test daemon could not be started (exit code 3)" in str(err.value)
    assert str(home / "t.log") in err.value.hint


def test_daemon_start_is_not_fooled_by_a_stale_status(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "t.lock").write_text("")
    (home / "t.json").write_text(json.dumps({"pid": 999_999}))    # left by a daemon that died
    assert TEST_DAEMON.pid(home) is None
    with pytest.raises(TrainingFailed, match="did not start within"):
        TEST_DAEMON.start(home, lambda: [sys.executable, "-c", "import time; time.sleep(3)"], timeout=0.5)


def test_importing_procs_stays_light():
    code = ("import sys, seqcore.runs.procs; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'streamlit', 'optuna', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
