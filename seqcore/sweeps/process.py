"""The sweep driver as a process: at most one per data folder, detached, found through the flock it holds
on ``<home>/sweep_driver.lock`` (a :class:`~seqcore.runs.procs.Daemon`). :func:`ensure_driver` starts it
(``python -m seqcore.cli.sweeps sweeps driver --home H``, which runs :func:`seqcore.sweeps.driver.run_driver`),
:func:`stop_driver` stops it, :func:`driver_pid` finds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from seqcore.runs.procs import Daemon, resolve_home
from seqcore.runs.store import RunStore

DRIVER_LOCK = "sweep_driver.lock"
DRIVER_STATUS = "sweep_driver.json"
DRIVER_START_LOCK = "sweep_driver.start.lock"
DRIVER_LOG = "sweep_driver.log"   # the process's stdout and stderr; its log lines go to logs/sweeps.log
DRIVER_IDLE_EXIT_S = 15.0
#: The sweep driver of a data folder (see :mod:`seqcore.runs.procs`).
DRIVER = Daemon("sweep driver", DRIVER_LOCK, DRIVER_STATUS, DRIVER_START_LOCK, DRIVER_LOG, reaper="reap-sweep-driver")


def driver_pid(home: Path | str | None = None) -> int | None:
    """The pid of the sweep driver serving ``home`` (None when none is alive): it holds an flock on
    ``<home>/sweep_driver.lock`` for its whole life."""
    return DRIVER.pid(resolve_home(home))


def ensure_driver(home: Path | str | None = None, *, idle_exit: float | None = None, timeout: float = 30.0) -> int:
    """Start a detached sweep driver for ``home`` unless one is alive; returns its pid."""
    home = resolve_home(home)

    def command() -> list[str]:
        cmd = [sys.executable, "-m", "seqcore.cli.sweeps", "sweeps", "driver", "--home", str(home)]
        if idle_exit is not None:
            cmd += ["--idle-exit", str(float(idle_exit))]
        return cmd

    return DRIVER.start(home, command, timeout=timeout)


def ensure_driver_if_needed(store: RunStore) -> int | None:
    """Start the sweep driver when a sweep is running and none serves it (call on app load). Cheap."""
    if not store._query("SELECT 1 FROM sweeps WHERE status = 'running' LIMIT 1"):
        return None
    return ensure_driver(store.home)


def stop_driver(home: Path | str | None = None, *, timeout: float = 20.0) -> bool:
    """SIGTERM the driver of ``home``; True when none is alive afterwards (sweeps stay running)."""
    return DRIVER.stop(resolve_home(home), timeout=timeout)
