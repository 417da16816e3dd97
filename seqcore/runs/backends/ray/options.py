"""The Ray backend's settings (:class:`RayOptions`, from ``SEQSTUDIO_RAY_*`` and ``RAY_ADDRESS``), its
constants and its plain messages. Standard library only."""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass

from seqcore.errors import SpecError

RAY_HINT = ("Install it with `pip install -r requirements-ray.txt`, or unset SEQSTUDIO_RUNNER to train with "
            "local worker processes.")
NODE_LOST_MESSAGE = ("The Ray worker or cluster node running this run was lost (it crashed, ran out of memory or "
                     "left the cluster), also on the retry. Resume or rerun the run.")
CRASH_MESSAGE = "The run crashed on the Ray cluster; details are in the run log."
RETURN_DAMAGED_MESSAGE = ("The trained model came back from the Ray cluster damaged, so it was not saved. "
                          "Rerun the run.")
CHECKPOINT_FILES = ("checkpoint.keras", "checkpoint.json", "best.weights.h5")
RESULT_FILES = ("metrics.json", "predictions.csv", "forecast.csv")
MAX_RETURN_BYTES = 1024 * 2**20
DATA_REFS_KEPT = 4              # datasets kept in the object store for the next runs that use them


def _stop_timeout_message(grace: float) -> str:
    return (f"The run did not stop within {grace:g} seconds after Stop was pressed, so its Ray task was "
            "cancelled; no model was saved. Resume it to continue, or rerun it.")


def ray_installed() -> bool:
    """True when the ``ray`` package can be imported."""
    return importlib.util.find_spec("ray") is not None


def _env_float(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{name}={raw!r} is not a number.") from None
    if not math.isfinite(value) or value < 0:
        raise SpecError(f"{name} must be 0 or more; got {raw}.")
    return value


@dataclass(frozen=True)
class RayOptions:
    """How runs use the cluster; from the environment (:meth:`from_env`).

    address: ``RAY_ADDRESS`` of an existing cluster; None starts a local Ray instance with the worker.
    num_cpus / num_gpus: resources each run asks for (``SEQSTUDIO_RAY_CPUS_PER_RUN``, ``..._GPUS_PER_RUN``).
    max_retries: retries of a run whose worker or node died (``SEQSTUDIO_RAY_MAX_RETRIES``).
    max_runs: cap on runs at once (``SEQSTUDIO_RAY_MAX_RUNS``; default: what the cluster fits).
    local_cpus: CPUs of a local instance (``SEQSTUDIO_RAY_LOCAL_CPUS``; default: this machine's cores).
    ship_code: send the ``seqcore`` package to the cluster (runtime_env py_modules); on by default for a
               remote cluster (``SEQSTUDIO_RAY_SHIP_CODE=0/1``). Its nodes need the same Python packages.
    """

    address: str | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_retries: int = 1
    max_runs: int | None = None
    local_cpus: int | None = None
    ship_code: bool = False
    object_store_mb: int = 512

    @classmethod
    def from_env(cls) -> "RayOptions":
        address = os.environ.get("RAY_ADDRESS", "").strip() or None
        ship = os.environ.get("SEQSTUDIO_RAY_SHIP_CODE", "").strip().lower()
        max_runs = _env_float("SEQSTUDIO_RAY_MAX_RUNS", None)
        local = _env_float("SEQSTUDIO_RAY_LOCAL_CPUS", None)
        cpus = _env_float("SEQSTUDIO_RAY_CPUS_PER_RUN", 1.0)
        if cpus <= 0:
            raise SpecError("SEQSTUDIO_RAY_CPUS_PER_RUN must be above 0.")
        return cls(address=address, num_cpus=cpus, num_gpus=_env_float("SEQSTUDIO_RAY_GPUS_PER_RUN", 0.0),
                   max_retries=int(_env_float("SEQSTUDIO_RAY_MAX_RETRIES", 1)),
                   max_runs=None if max_runs is None else max(1, int(max_runs)),
                   local_cpus=None if local is None else max(1, int(local)),
                   ship_code=(ship in ("1", "true", "yes")) if ship else address is not None)

    def describe_address(self) -> str:
        return self.address or "a local Ray instance started by the worker"
