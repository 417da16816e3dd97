"""RunStore's artifact folders and technical logs: ``<home>/runs/<run id>/``."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from seqcore.outputs.tracking import tensorboard_command, tensorboard_dir
from seqcore.runs.store.records import RunNotFound, is_valid_run_id


class ArtifactsMixin:
    """Artifact and log methods of :class:`~seqcore.runs.store.RunStore` (which provides ``runs_dir``)."""

    def run_dir(self, run_id: str) -> Path:
        """``<home>/runs/<run id>/`` (not created here); for a user's view, only of a run they may read."""
        if self.scoped:
            self.get_run(run_id)   # another user's run: RunNotFound
        return self._run_dir(run_id)

    def _run_dir(self, run_id: str) -> Path:
        if not is_valid_run_id(run_id):
            raise RunNotFound(f"{str(run_id)[:60]!r} is not a valid run id.")
        return self.runs_dir / run_id

    def log_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "log.txt"

    def append_log(self, run_id: str, text: str) -> None:
        """Append a timestamped line (or block) to the run's technical log."""
        path = self._run_dir(run_id) / "log.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"[{stamp}] {text.rstrip()}\n")

    def log_exception(self, run_id: str, exc: BaseException, context: str = "") -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.append_log(run_id, f"{context}\n{tb}" if context else tb)

    def artifacts(self, run_id: str) -> dict[str, Path]:
        """Artifact paths of a run that exist: folder, bundle, metrics, predictions, forecast, checkpoint, log,
        tensorboard (its event files' folder)."""
        d = self.run_dir(run_id)
        candidates = {
            "folder": d,
            "bundle": d / "bundle",
            "metrics": d / "metrics.json",
            "predictions": d / "predictions.csv",
            "forecast": d / "forecast.csv",
            "checkpoint": d / "checkpoint",
            "log": d / "log.txt",
            "tensorboard": tensorboard_dir(d),
        }
        return {k: p for k, p in candidates.items() if p.exists()}

    def tensorboard_command(self) -> str:
        """The command that opens every run's TensorBoard event files side by side (logdir: the runs folder)."""
        return tensorboard_command(self.runs_dir)
