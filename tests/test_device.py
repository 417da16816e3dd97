"""The compute device a run trains on ("GPU ready"): described in the worker (seqcore.modeling.device),
recorded in every run's metrics and notes, and shown in the sidebar without importing a backend."""

from __future__ import annotations

import html
import subprocess
import sys
import types

import pytest

from pages._ui.base import md
from seqcore.modeling import device as dev

from helpers import app, texts

pytestmark = pytest.mark.usefixtures("short_worker_idle")


@pytest.fixture(autouse=True)
def _fresh_caches():
    dev._describe.cache_clear()
    dev._probe.cache_clear()
    yield
    dev._describe.cache_clear()
    dev._probe.cache_clear()


class _FakeDevice:
    def __init__(self, platform: str, kind: str):
        self.platform, self.device_kind = platform, kind


def _fake_jax(monkeypatch, devices):
    calls = []

    def devices_():
        calls.append(1)
        return devices

    monkeypatch.setitem(sys.modules, "jax", types.SimpleNamespace(devices=devices_))
    return calls


def test_describe_a_gpu_under_jax_once(monkeypatch):
    calls = _fake_jax(monkeypatch, [_FakeDevice("gpu", "NVIDIA H100 80GB HBM3")] * 2)
    monkeypatch.setattr("seqcore.modeling.training.backend_name", lambda: "jax")
    d = dev.describe_device()
    assert d == {"backend": "jax", "kind": "GPU", "name": "NVIDIA H100 80GB HBM3", "count": 2}
    d["name"] = "changed by a caller"                     # a copy: the cache stays intact
    assert dev.describe_device()["name"] == "NVIDIA H100 80GB HBM3"
    assert len(calls) == 1                                # cached: the backend is asked once


def test_describe_the_cpu_under_jax(monkeypatch):
    _fake_jax(monkeypatch, [_FakeDevice("cpu", "cpu")])
    monkeypatch.setattr("seqcore.modeling.training.backend_name", lambda: "jax")
    monkeypatch.setattr(dev, "cpu_name", lambda: "Intel Xeon Platinum 8488C")
    monkeypatch.setattr(dev, "_cores", lambda: 2)
    d = dev.describe_device()
    assert d == {"backend": "jax", "kind": "CPU", "name": "Intel Xeon Platinum 8488C", "count": 2}
    assert dev.run_note(d) == "Trained with Keras 3 on JAX, on the CPU (Intel Xeon Platinum 8488C, 2 cores)."


def test_describe_a_gpu_under_tensorflow(monkeypatch):
    gpu = object()
    config = types.SimpleNamespace(
        list_physical_devices=lambda kind: [gpu] if kind == "GPU" else [],
        experimental=types.SimpleNamespace(get_device_details=lambda d: {"device_name": "NVIDIA A10G"}))
    monkeypatch.setitem(sys.modules, "tensorflow", types.SimpleNamespace(config=config))
    monkeypatch.setattr("seqcore.modeling.training.backend_name", lambda: "tensorflow")
    assert dev.describe_device() == {"backend": "tensorflow", "kind": "GPU", "name": "NVIDIA A10G", "count": 1}


@pytest.mark.parametrize("backend, cell, rdrop, masked, cudnn, words", [
    ("jax", "lstm", 0.0, False, True, "the fused cuDNN kernel for the LSTM layers"),
    ("jax", "lstm", 0.2, False, False, "recurrent dropout rules it out"),
    ("jax", "gru", 0.0, False, False, "JAX has none for GRU"),
    ("jax", "lstm", 0.0, True, False, "no padding mask"),
    ("tensorflow", "gru", 0.0, True, True, "the fused cuDNN kernel for the GRU layers"),
    ("tensorflow", "lstm", 0.1, False, False, "recurrent dropout rules it out"),
])
def test_recurrent_kernel(backend, cell, rdrop, masked, cudnn, words):
    ok, text = dev.recurrent_kernel(backend, cell, recurrent_dropout=rdrop, masked=masked)
    assert ok is cudnn and words in text


def test_gpu_run_note_names_the_gpu_and_its_kernel():
    d = {"backend": "jax", "kind": "GPU", "name": "NVIDIA H100 80GB HBM3", "count": 1,
         "kernel": dev.recurrent_kernel("jax", "lstm")[1]}
    assert dev.run_note(d) == ("Trained with Keras 3 on JAX, on a GPU (NVIDIA H100 80GB HBM3, the fused cuDNN "
                               "kernel for the LSTM layers).")
    assert "4 found, one used" in dev.run_note(dict(d, count=4))
    assert dev.sidebar_line(d) == "Training engine: Keras 3 + JAX, on a GPU (NVIDIA H100 80GB HBM3)"


def test_probe_on_this_machine_is_the_cpu_and_imports_no_backend():
    code = ("import sys; from seqcore.modeling.device import probe_device, engine_caption; d = probe_device(); "
            "print(d['kind'], engine_caption({'backend': 'local'})); "
            "assert not {'jax', 'keras', 'tensorflow'} & set(sys.modules), 'a backend was imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    if not dev.nvidia_gpus():
        assert out.stdout.startswith("CPU Training engine: Keras 3 + ")
        assert out.stdout.rstrip().endswith(", on the CPU")


def test_probe_sees_a_gpu_only_with_the_cuda_plugin(monkeypatch):
    monkeypatch.setattr(dev, "nvidia_gpus", lambda: ["NVIDIA H100 80GB HBM3"])
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    real_find = dev.importlib.util.find_spec
    monkeypatch.setattr(dev.importlib.util, "find_spec", lambda name, *a: object()
                        if name == "jax_cuda12_plugin" else real_find(name, *a))
    d = dev.probe_device("jax")
    assert d["kind"] == "GPU" and d["name"] == "NVIDIA H100 80GB HBM3" and d["count"] == 1
    assert dev.engine_caption({"backend": "local"}).startswith("Training engine: Keras 3 + ")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")              # forced onto the CPU
    assert dev.probe_device("jax")["kind"] == "CPU"
    monkeypatch.delenv("JAX_PLATFORMS")
    monkeypatch.setattr(dev.importlib.util, "find_spec", lambda name, *a: None)   # no plugin
    dev._probe.cache_clear()                                # (an install is only seen after a restart)
    d = dev.probe_device("jax")
    assert d["kind"] == "CPU" and d["gpu_unused"] == "NVIDIA H100 80GB HBM3"
    assert "requirements-gpu.txt" in dev.sidebar_line(d)


def test_engine_caption_prefers_what_the_warm_worker_reported():
    gpu = {"backend": "jax", "kind": "GPU", "name": "NVIDIA L4", "count": 1}
    assert dev.engine_caption({"backend": "local", "device": gpu}) == \
        "Training engine: Keras 3 + JAX, on a GPU (NVIDIA L4)"
    assert dev.engine_caption({"backend": "ray"}).endswith("on the Ray cluster's machines")


def test_a_run_records_its_device_and_says_it_in_its_notes(tmp_path):
    from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
    from seqcore.outputs.report import run_report_html
    from seqcore.pipeline import run_training

    from test_update_cap import _sequences

    spec = RunSpec(data=DataSpec(task="classify", label="label", val_fraction=0.2, test_fraction=0.2),
                   model=ModelSpec(units=(4,)), train=TrainSpec(epochs=1, batch_size=16, seed=1))
    res = run_training(_sequences(40), spec, tmp_path / "run", name="seqs.csv")
    device = res.metrics["training"]["device"]
    assert device["backend"] in ("jax", "tensorflow") and device["kind"] in ("CPU", "GPU") and device["count"] >= 1
    note = dev.run_note(device)
    assert note in res.metrics["notes"] and note in res.notes
    if device["kind"] == "CPU":
        assert ", on the CPU (" in note and note.endswith(("cores).", "core)."))
    else:
        assert "kernel for the LSTM layers" in note
    page = run_report_html(run_name="r", spec=spec, metrics=res.metrics, history=res.history, predictions=None,
                           forecast=None)
    assert html.escape(note) in page


def test_sidebar_caption_on_every_page():
    expected = dev.engine_caption({"backend": "local"})
    assert expected.startswith("Training engine: Keras 3 + ")
    at = app()
    assert md(expected) in texts(at.sidebar.caption)      # as the page writes it (markdown escaped)
    at.switch_page("pages/5_Runs.py").run()
    assert not at.exception
    assert md(expected) in texts(at.sidebar.caption)


def test_the_warm_worker_reports_its_device(tmp_path, monkeypatch):
    """The supervisor's status carries what the warm worker trains on, so the sidebar can say it without
    importing a backend in the app."""
    from seqcore.runs.runner import ensure_supervisor, stop_supervisor, supervisor_status

    from test_runner import wait_warm

    home = tmp_path / "home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    monkeypatch.delenv("SEQSTUDIO_RUNNER", raising=False)
    ensure_supervisor(home, idle_exit=60)
    try:
        wait_warm(home)
        status = supervisor_status(home)
        device = status.get("device")
        assert device and device["kind"] in ("CPU", "GPU") and device["backend"] in ("jax", "tensorflow")
        assert dev.engine_caption(dict(status, backend="local")) == dev.sidebar_line(device)
    finally:
        stop_supervisor(home)
