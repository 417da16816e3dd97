"""Log files: one rotating file per component under ``SEQSTUDIO_HOME/logs/``.

Components: ``app`` (the Streamlit server's pages), ``supervisor`` (the queue's supervisor process),
``worker`` (training and prediction workers), ``sweeps`` (the sweep driver), ``serve`` (the prediction
service, ``seqcore serve``). Everything logs through the standard :mod:`logging` module under the
``seqstudio`` logger; :func:`setup` attaches the file handler once per process. Each file rotates at :data:`MAX_BYTES` and keeps :data:`BACKUPS` old copies, so a
long-running server never fills the disk.

    from seqcore import logs
    path = logs.setup(home, "app")          # idempotent; returns the file's path
    logs.get("app").error("...", exc_info=err)
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

ROOT_LOGGER = "seqstudio"
LOG_DIR = "logs"
MAX_BYTES = 5 * 2**20      # rotate at 5 MiB
BACKUPS = 3                # keep app.log.1 .. app.log.3
FORMAT = "%(asctime)s %(levelname)s %(name)s pid=%(process)d: %(message)s"
COMPONENTS = ("app", "supervisor", "worker", "sweeps", "serve")


def log_dir(home: str | Path) -> Path:
    """``home/logs`` (not created)."""
    return Path(home).expanduser() / LOG_DIR


def log_file(home: str | Path, component: str) -> Path:
    """The log file of ``component`` (one of :data:`COMPONENTS`) in the data folder ``home``."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown log component {component!r}; expected one of {', '.join(COMPONENTS)}")
    return log_dir(home) / f"{component}.log"


def get(component: str) -> logging.Logger:
    """The logger of ``component`` (``seqstudio.<component>``)."""
    return logging.getLogger(f"{ROOT_LOGGER}.{component}")


def setup(home: str | Path, component: str, level: int = logging.INFO) -> Path:
    """Send ``seqstudio.<component>`` records to ``home/logs/<component>.log`` (rotating); idempotent.

    Returns the file's path. A second call for the same file does nothing; a call for another home
    (tests use many) moves the handler there."""
    path = log_file(home, component).resolve()
    logger = get(component)
    logger.setLevel(level)
    for h in list(logger.handlers):
        if getattr(h, "_seqstudio", False):
            if Path(h.baseFilename) == path:
                return path
            logger.removeHandler(h)
            h.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                   encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._seqstudio = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    return path
