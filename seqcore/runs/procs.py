"""Process, lock-file and log helpers shared by the detached background processes of a data folder.

The worker supervisor (:mod:`seqcore.runs.supervisor`, run by the local or the Ray backend) and the sweep
driver (:mod:`seqcore.sweeps`) follow one protocol, described by a :class:`Daemon`:

- at most one of each kind serves a data folder: it holds an exclusive ``flock`` on ``<home>/<lock>``
  for its whole life (the kernel releases it whatever way the process dies) and writes its pid into
  ``<home>/<status>`` (JSON with a ``"pid"`` key) right after taking the lock;
- :meth:`Daemon.start` starts one detached (new session, its raw stdout/stderr appended to ``<home>/<log>``,
  e.g. ``logs/supervisor.out``, which :func:`bounded_output` moves aside once it is large) unless one is
  alive, with a second lock (``<home>/<start_lock>``) so that concurrent callers start only one;
- :meth:`Daemon.stop` sends it SIGTERM and waits until the lock is free.

What such a process says goes through :func:`log_line` into the rotating log file of its component
(:mod:`seqcore.logs`: ``<home>/logs/<component>.log``).

Only the standard library (and of seqcore the error types, :mod:`seqcore.logs` and ``default_home``) is
imported here.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqcore import logs
from seqcore.errors import TrainingFailed
from seqcore.runs.store import default_home

POLL_S = 0.05   # how often start / stop look whether the process is up / gone


def resolve_home(home: Path | str | None) -> Path:
    """``home`` as an absolute path (``~`` expanded); None means the default data folder."""
    return (Path(home).expanduser() if home is not None else default_home()).resolve()


# --------------------------------------------------------------------------- lock files

def try_lock(path: Path | str) -> int | None:
    """Take an exclusive ``flock`` on ``path`` (created when missing) without waiting.

    Returns the open file descriptor that holds the lock (keep it open as long as the lock should be
    held; :func:`release_lock` ends it), or None when someone else holds it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def release_lock(fd: int) -> None:
    """Release a lock taken by :func:`try_lock` (or a blocking ``flock``) and close its descriptor."""
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_is_ours(path: Path | str, fd: int | None) -> bool:
    """True while ``path`` is still the file locked through ``fd``; False when it was deleted or replaced
    (e.g. the data folder was removed) or ``fd`` is None."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except (OSError, TypeError):
        return False


def lock_holder_pid(lock: Path | str, status: Path | str, *, tries: int = 50, wait: float = 0.02) -> int | None:
    """The pid of the process holding ``lock``, as it wrote it in the JSON file ``status``.

    None when the lock file is missing or nobody holds the lock; -1 when it is held but ``status`` gave
    no pid within ``tries`` reads ``wait`` seconds apart (the holder writes it right after locking).
    """
    lock = Path(lock)
    if not lock.exists():
        return None
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        for _ in range(tries):
            try:
                pid = int(json.loads(Path(status).read_text())["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                pid = None
            # a dead pid is the previous holder's, left in the file (the new holder has taken the lock but
            # not yet written its own pid): read again
            if pid is not None and pid > 0 and pid_alive(pid):
                return pid
            time.sleep(wait)
        return -1
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- processes

def pid_alive(pid: int | None, create_time: float | None = None) -> bool:
    """True when ``pid`` runs (a zombie does not count) and, when given, was created at ``create_time``
    (not a reused pid)."""
    if not pid or pid < 0:
        return False
    import psutil

    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(p.create_time() - create_time) < 1.0
    except (psutil.Error, ValueError):
        return False


def install_stop_handlers(stop: Callable[[], object]) -> None:
    """Call ``stop()`` on SIGTERM and SIGINT (only possible, and only done, in the main thread)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop())


def terminate_and_wait(pid_of: Callable[[], int | None], timeout: float) -> bool:
    """SIGTERM the process ``pid_of()`` names, then wait until ``pid_of()`` says None.

    ``pid_of`` returns a pid, None (no process) or -1 (one is there but its pid is unknown: nothing is
    sent, only waited for). Returns True when none is there afterwards, False after ``timeout`` seconds.
    """
    pid = pid_of()
    if pid is None:
        return True
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid_of() is None:
            return True
        time.sleep(POLL_S)
    return False


def _has_log_file(logger: logging.Logger) -> bool:
    return any(getattr(h, "_seqstudio", False) for h in logger.handlers)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def log_line(who: str, msg: str, *, component: str | None = None, level: int = logging.INFO,
             exc_info: bool = False) -> None:
    """Log ``msg`` as ``who`` (a supervisor, a worker ...) in this process's log file.

    ``component`` (one of :data:`seqcore.logs.COMPONENTS`) names the logger (``seqstudio.<component>``);
    once :func:`seqcore.logs.setup` gave it its file (``<home>/logs/<component>.log``, rotating), the line
    goes there. The line is also written to stderr as ``[time] who pid: msg`` when there is no such file
    (no ``component``, or not set up) or stderr is a terminal (a supervisor run in the foreground); a
    detached process's stderr is its raw output capture, which then gets only what nobody logged (native
    crash output). ``exc_info``: add the traceback of the exception being handled.
    """
    echo = True
    if component is not None:
        logger = logs.get(component)
        logger.log(level, msg if who == component else f"{who}: {msg}", exc_info=exc_info)
        echo = not _has_log_file(logger) or _isatty(sys.stderr)
    if echo:
        text = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {who} {os.getpid()}: {msg}"
        if exc_info and sys.exc_info()[0] is not None:
            text += "\n" + traceback.format_exc().rstrip()
        print(text, file=sys.stderr, flush=True)


def bounded_output(path: Path | str, max_bytes: int | None = None) -> Path:
    """Prepare ``path`` (a capture file of raw process output) for appending: create its folder and, when
    it is over ``max_bytes`` (default :data:`seqcore.logs.MAX_BYTES`), move it to ``<path>.1`` (replacing
    the one there). Called at each start of a process that appends to it, so such a file never grows far
    beyond the limit and the last start's output is still there to read. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = logs.MAX_BYTES if max_bytes is None else max_bytes
    try:
        if path.stat().st_size > limit:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass   # missing (nothing to bound), or another process moved it first
    return path


@dataclass(frozen=True)
class Daemon:
    """A kind of detached process of which at most one serves a data folder (see the module docstring).

    title: what it is called in error messages ("background worker"); lock, status, start_lock and log are
    paths relative to the data folder (``log``: where its raw stdout/stderr go); reaper: the name of the
    thread that reaps the started process; component: its log file's component (:mod:`seqcore.logs`),
    named in the hints of start errors beside ``log``.
    """

    title: str
    lock: str
    status: str
    start_lock: str
    log: str
    reaper: str = "reap-daemon"
    component: str | None = None

    def details(self, home: Path) -> str:
        """The hint of a start error: which files say what went wrong."""
        files = [str(home / self.log)]
        if self.component is not None:
            files.append(str(logs.log_file(home, self.component)))
        return f"The details are in {' and '.join(files)}."

    def pid(self, home: Path) -> int | None:
        """Its pid in ``home``: None when none is alive, -1 while one starts and has not written it yet."""
        return lock_holder_pid(home / self.lock, home / self.status)

    def start(self, home: Path, command: Callable[[], list[str]], *, timeout: float = 30.0) -> int:
        """Start one for ``home`` unless one is alive; returns its pid (or -1, see :meth:`pid`).

        ``command()`` (called only when one must be started) gives the argv; it runs in ``home`` in a new
        session with ``SEQSTUDIO_HOME=home`` and this package on ``PYTHONPATH``, stdout and stderr
        appended to ``<home>/<log>`` (size-bounded: :func:`bounded_output`). Raises :class:`TrainingFailed`
        when it exits before taking the lock (and no other one serves ``home`` by then) or has not taken it
        after ``timeout`` seconds; its hint names the files to read (:meth:`details`).
        """
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home / self.start_lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            pid = self.pid(home)
            if pid is not None:
                return pid
            cmd = command()
            env = dict(os.environ, SEQSTUDIO_HOME=str(home))
            pkg_root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            with open(bounded_output(home / self.log), "ab") as log:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                        cwd=str(home), start_new_session=True, close_fds=True)
            threading.Thread(target=proc.wait, name=self.reaper, daemon=True).start()  # no zombie
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pid = self.pid(home)
                if pid is not None and pid > 0:
                    return pid
                if proc.poll() is not None:
                    pid = self.pid(home)      # it may have found another one serving home, and left
                    if pid:
                        return pid
                    raise TrainingFailed(f"The {self.title} could not be started (exit code {proc.returncode}).",
                                         hint=self.details(home))
                time.sleep(POLL_S)
            raise TrainingFailed(f"The {self.title} did not start within {timeout:g} seconds.",
                                 hint=self.details(home))
        finally:
            release_lock(fd)

    def stop(self, home: Path, *, timeout: float = 20.0) -> bool:
        """SIGTERM the one serving ``home``; True when none is alive afterwards."""
        return terminate_and_wait(lambda: self.pid(home), timeout)
