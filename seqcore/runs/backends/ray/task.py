"""What runs on a cluster node: :func:`run_job_task` (one claimed job, via
:func:`seqcore.runs.worker.execute_job` against a :class:`~seqcore.runs.backends.ray.actor.RemoteStore`),
:func:`warm_task`, and the zip helpers that carry checkpoints between the app and the node."""

from __future__ import annotations

import io
import os
import shutil
import socket
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from seqcore.errors import BundleError
from seqcore.runs.backends.ray.actor import RemoteStore
from seqcore.runs.backends.ray.options import CHECKPOINT_FILES, MAX_RETURN_BYTES, RESULT_FILES
from seqcore.runs.store import atomic_write_bytes


def _zip_flat(folder: Path, names: tuple[str, ...]) -> bytes | None:
    """The listed files of ``folder`` (those that exist) as zip bytes; None when there are none."""
    present = [n for n in names if (folder / n).is_file()]
    if not present:
        return None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n in present:
            z.write(folder / n, arcname=n)
    return buf.getvalue()


def _unzip_flat(data: bytes, dest: Path, names: tuple[str, ...]) -> None:
    """Unpack a :func:`_zip_flat` archive; only the allowed flat file names, sizes checked."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise BundleError("A checkpoint sent between the app and the cluster is damaged.") from err
    if sum(i.file_size for i in infos) > MAX_RETURN_BYTES:
        raise BundleError("A checkpoint sent between the app and the cluster is too large.")
    for info in infos:
        pp = PurePosixPath(info.filename)
        if info.filename not in names or len(pp.parts) != 1:
            raise BundleError(f"A checkpoint archive contains an unexpected file ({info.filename!r}).")
    dest.mkdir(parents=True, exist_ok=True)
    for info in infos:
        atomic_write_bytes(dest / info.filename, z.read(info))


def _clear_keras() -> None:
    """Ray reuses worker processes: start every run from a clean Keras session."""
    if "keras" in sys.modules:
        try:
            sys.modules["keras"].backend.clear_session()
        except Exception:  # noqa: BLE001
            pass


def run_job_task(job: dict, sink: Any, threads: int, *data: bytes) -> dict:
    """Body of the Ray task: run one claimed job with :func:`seqcore.runs.worker.execute_job` on this node.

    job: {"run_id", "records": {id: RunRecord dict}, "datasets": {id: DatasetInfo dict},
          "data_ids": [dataset id of each ``data`` argument], "checkpoint": zip bytes | None,
          "source_bundle": zip bytes | None}
    data: the CSV bytes of those datasets (passed as object refs put once per dataset, which Ray resolves).
    Returns {"final": {...} | None, "files": {name: bytes}, "bundle": zip bytes | None,
    "checkpoint": zip bytes | None}.
    """
    import ray

    blobs = dict(zip(job["data_ids"], data))
    run_id = job["run_id"]
    workdir = Path(tempfile.mkdtemp(prefix="seqstudio-ray-"))
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname()}
        try:
            info["node"] = ray.get_runtime_context().get_node_id()
            attempt = int(ray.get(sink.started.remote(run_id, info), timeout=30))
        except Exception:  # noqa: BLE001 - progress is best effort; the result still comes back
            attempt = 1
        proxy = RemoteStore(job, blobs, sink, workdir, retry=attempt > 1)
        rec = proxy.get_run(run_id)
        out = proxy.run_dir(run_id)
        out.mkdir(parents=True, exist_ok=True)
        if job.get("checkpoint"):
            _unzip_flat(job["checkpoint"], out / "checkpoint", CHECKPOINT_FILES)
        if job.get("source_bundle") and rec.source_run_id:
            from seqcore.outputs.bundle import extract_bundle_zip

            extract_bundle_zip(job["source_bundle"], proxy.run_dir(rec.source_run_id) / "bundle")
        proxy.append_log(run_id, f"Ray task started on {info['host']} (node {str(info.get('node'))[:12]}, "
                                 f"pid {info['pid']}, task attempt {attempt}, {threads} thread(s))")
        from seqcore import pipeline
        from seqcore.runs.worker import execute_job

        pipeline.configure_threads(threads)
        _clear_keras()
        execute_job(proxy, run_id)
        result: dict = {"final": proxy.final, "files": {}, "bundle": None, "checkpoint": None}
        for name in RESULT_FILES:
            if (out / name).is_file():
                result["files"][name] = (out / name).read_bytes()
        if (out / "bundle" / "manifest.json").is_file():
            from seqcore.outputs.bundle import bundle_zip_bytes

            result["bundle"] = bundle_zip_bytes(out / "bundle")
        result["checkpoint"] = _zip_flat(out / "checkpoint", CHECKPOINT_FILES)
        return result
    finally:
        try:
            ray.get(sink.flush.remote(run_id), timeout=30)   # everything pushed is in the sink now
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(workdir, ignore_errors=True)


def warm_task(threads: int) -> int:
    """Import TensorFlow in a Ray worker process, so the first run on it starts at once."""
    from seqcore import pipeline

    pipeline.configure_threads(threads)
    pipeline.warm_up()
    return os.getpid()
