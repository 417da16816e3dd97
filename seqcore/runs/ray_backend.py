"""Former home of the Ray backend, now the package :mod:`seqcore.runs.backends.ray` (options, actor, task,
supervisor); its names stay importable from here. ``python -m seqcore.runs.ray_backend worker`` still
starts the Ray supervisor."""

from __future__ import annotations

import sys

from seqcore.runs.backends.ray import (  # noqa: F401 - re-exports
    CHECKPOINT_FILES,
    CRASH_MESSAGE,
    DATA_REFS_KEPT,
    MAX_RETURN_BYTES,
    NODE_LOST_MESSAGE,
    RAY_HINT,
    RESULT_FILES,
    RETURN_DAMAGED_MESSAGE,
    ProgressSink,
    RayBackend,
    RayOptions,
    RaySupervisor,
    RemoteStore,
    backend_status,
    main,
    ray_installed,
    run_job_task,
    warm_task,
)

if __name__ == "__main__":
    sys.exit(main())
