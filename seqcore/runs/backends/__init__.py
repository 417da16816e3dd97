"""Runner backends: who executes the jobs queued in a run store. ``$SEQSTUDIO_RUNNER`` picks one.

A backend only decides *where* queued jobs run; submitting, stopping (the store's stop flag), resuming
and reading history are the same for all (:mod:`seqcore.runs.queue`). Built in:

- ``local`` (default, :mod:`seqcore.runs.backends.local`): worker processes on this machine, handed out
  by one detached supervisor per data folder;
- ``ray`` (optional, :mod:`seqcore.runs.backends.ray`): Ray tasks on a cluster or a local Ray instance.

:data:`BACKENDS` maps a name to ``"module:attribute"`` of its :class:`Backend` subclass; the module is
imported only when that backend is asked for (:func:`get_backend`), so choosing ``local`` never imports
the Ray backend, and a new backend plugs in with :func:`register_backend` without this package knowing it.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from pathlib import Path

from seqcore.errors import SpecError, UserError

RUNNER_ENV = "SEQSTUDIO_RUNNER"
DEFAULT_BACKEND = "local"

#: name -> "module:attribute" of the Backend subclass (imported lazily).
BACKENDS: dict[str, str] = {
    "local": "seqcore.runs.backends.local:LocalBackend",
    "ray": "seqcore.runs.backends.ray:RayBackend",
}


class Backend(ABC):
    """Executes the jobs queued in a run store. Chosen by ``$SEQSTUDIO_RUNNER`` (default ``local``).

    Submitting, stopping (the store's stop flag), resuming and reading history are
    the same for every backend; a backend only decides *where* queued jobs run.
    """

    name: str = ""
    worker_module: str = "seqcore.cli.runs"   # ``python -m <this> worker --home H`` serves the queue

    @abstractmethod
    def ensure_started(self, home: Path | str | None = None) -> None:
        """Make sure queued jobs of the store at ``home`` will be picked up."""

    @abstractmethod
    def describe(self, home: Path | str | None = None) -> dict:
        """What the app shows: backend name, whether it is up, its workers / resources."""


def register_backend(name: str, target: str) -> None:
    """Make ``$SEQSTUDIO_RUNNER=name`` use the Backend subclass at ``target`` (``"package.module:Class"``)."""
    if ":" not in target:
        raise ValueError(f"backend target {target!r} must read 'module:attribute'")
    BACKENDS[name.strip().lower()] = target


def backend_name(name: str | None = None) -> str:
    """``name``, else ``$SEQSTUDIO_RUNNER``, else ``local``; stripped and lower case."""
    return (name or os.environ.get(RUNNER_ENV) or DEFAULT_BACKEND).strip().lower()


def backend_class(name: str | None = None) -> type[Backend]:
    """The Backend subclass registered as ``name`` (see :func:`backend_name`), its module imported now.

    Raises :class:`SpecError` for a name no backend is registered under."""
    name = backend_name(name)
    if name not in BACKENDS:
        raise SpecError(f"{RUNNER_ENV}={name!r} is not a runner this version has; "
                        f"choose one of: {', '.join(sorted(BACKENDS))}.",
                        hint=f"Unset {RUNNER_ENV} to use the local worker processes.")
    module, _, attr = BACKENDS[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise SpecError(f"The {name!r} runner cannot be loaded ({type(err).__name__}: {err}).",
                        hint=f"Unset {RUNNER_ENV} to use the local worker processes.") from err
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise TypeError(f"{BACKENDS[name]} is not a Backend subclass")
    return cls


def get_backend(name: str | None = None) -> Backend:
    """The backend named by ``name`` or ``$SEQSTUDIO_RUNNER`` (default ``local``).

    Raises :class:`SpecError` for an unknown name, or when the backend cannot run here (e.g. Ray is
    not installed)."""
    return backend_class(name)()


def backend_status(home: Path | str | None = None) -> dict:
    """Which backend executes runs and what it has, for the app: ``backend`` ("local" | "ray"), ``alive``,
    ``max_workers`` (runs at once), ``jobs``; the Ray backend adds ``ray`` (address, nodes, cluster and
    free resources, CPUs/GPUs per run, ``slots``). Never raises: a bad ``SEQSTUDIO_RUNNER`` or a missing
    Ray comes back as ``{"backend": name, "alive": False, "error": message}``."""
    try:
        return get_backend().describe(home)
    except UserError as err:
        return {"backend": backend_name(), "alive": False, "error": str(err)}
