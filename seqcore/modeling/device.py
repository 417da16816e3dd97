"""The compute device a worker trains on, in data (for a run's metrics) and in plain words (for its notes
and the app's sidebar).

Two ways to find it:

- :func:`describe_device` asks the Keras backend itself (imports JAX or TensorFlow: call it in a worker,
  where they are imported anyway). Cached, so repeated calls cost nothing.
- :func:`probe_device` guesses without importing any backend (for the Streamlit process): a GPU counts when
  the NVIDIA driver shows one and the backend's CUDA support is installed.

A description is a dict ``{"backend", "kind", "name", "count"}``: backend ``"jax"`` or ``"tensorflow"``;
kind ``"CPU"`` or ``"GPU"``; name the GPU's model (``"NVIDIA H100 80GB HBM3"``) or the processor's
(``"Intel Xeon Platinum 8488C"``), None when unknown; count the GPUs seen, or on a CPU the cores this
process may use. A run's record adds, on a GPU, ``"cudnn"`` and ``"kernel"`` (:func:`recurrent_kernel`).
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import platform
import re
import shutil

BACKEND_LABELS = {"jax": "JAX", "tensorflow": "TensorFlow"}

#: JAX's CUDA plugins (installed by ``jax[cuda12]`` / ``jax[cuda13]``, see requirements-gpu.txt).
JAX_CUDA_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin")


def describe_device() -> dict:
    """The device this process's Keras backend trains on (imports the backend; cached per backend)."""
    from seqcore.modeling.training import backend_name

    return dict(_describe(backend_name()))


@functools.lru_cache(maxsize=4)
def _describe(backend: str) -> dict:
    kind, name, count = "CPU", None, 0
    if backend == "jax":
        import jax

        try:
            devices = jax.devices()
        except RuntimeError:   # no usable platform: JAX trains on nothing better than the CPU
            devices = []
        if devices and devices[0].platform != "cpu":
            kind = "GPU" if devices[0].platform in ("gpu", "cuda", "rocm") else devices[0].platform.upper()
            name, count = str(devices[0].device_kind), len(devices)
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            kind, count = "GPU", len(gpus)
            try:
                name = tf.config.experimental.get_device_details(gpus[0]).get("device_name")
            except (RuntimeError, ValueError, AttributeError):
                name = None
    if kind == "CPU":
        name, count = cpu_name(), _cores()
    return {"backend": backend, "kind": kind, "name": name, "count": count}


def probe_device(backend: str | None = None) -> dict:
    """Where a worker would train, guessed without importing Keras, JAX or TensorFlow (cheap; cached)."""
    if backend is None:
        from seqcore.modeling.training import backend_name

        backend = backend_name()
    return dict(_probe(backend, os.environ.get("JAX_PLATFORMS", ""), os.environ.get("CUDA_VISIBLE_DEVICES")))


@functools.lru_cache(maxsize=8)
def _probe(backend: str, jax_platforms: str, visible: str | None) -> dict:
    gpus = nvidia_gpus()
    cpu = {"backend": backend, "kind": "CPU", "name": cpu_name(), "count": _cores()}
    if not gpus or (visible is not None and visible.strip() in ("", "-1")):
        return cpu
    if backend == "jax":
        usable = any(importlib.util.find_spec(p) is not None for p in JAX_CUDA_PLUGINS) and \
            (not jax_platforms.strip() or any(p in jax_platforms.lower() for p in ("cuda", "gpu")))
    else:   # TensorFlow's Linux wheels find CUDA through the nvidia-* wheels (tensorflow[and-cuda])
        usable = _installed("nvidia.cudnn")
    if not usable:
        return dict(cpu, gpu_unused=gpus[0] or "an NVIDIA GPU")
    return {"backend": backend, "kind": "GPU", "name": gpus[0], "count": len(gpus)}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):   # the parent package is missing
        return False


def nvidia_gpus() -> list[str | None]:
    """The NVIDIA GPUs the driver shows (their model names, None where unreadable), without CUDA:
    ``/proc/driver/nvidia/gpus/*/information``, else one unnamed GPU when ``nvidia-smi`` exists."""
    names: list[str | None] = []
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            with open(info, encoding="utf-8", errors="replace") as f:
                model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("Model:")), None)
        except OSError:
            model = None
        names.append(model or None)
    if not names and shutil.which("nvidia-smi"):
        names.append(None)
    return names


@functools.lru_cache(maxsize=1)
def cpu_name() -> str | None:
    """The processor's model in plain words (``"Intel Xeon Platinum 8488C"``), None when unknown."""
    name = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            name = next((line.split(":", 1)[1] for line in f if line.lower().startswith("model name")), None)
    except OSError:
        pass
    name = name or platform.processor() or platform.machine()
    name = re.sub(r"\((R|TM|r|tm)\)|\bCPU\b|\s@\s.*$|\b\d+-Core Processor\b", " ", name or "")
    return " ".join(name.split()) or None


def _cores() -> int:
    from seqcore.runs.supervisor import cpu_cores

    return cpu_cores()


def recurrent_kernel(backend: str, cell: str, *, recurrent_dropout: float = 0.0,
                     masked: bool = False) -> tuple[bool, str]:
    """On a GPU: whether the recurrent layers run the fused cuDNN kernel, and that in plain words.

    The kernel needs ``recurrent_dropout=0`` (and the default activations, no unrolling, biases: what
    :func:`seqcore.modeling.models.build_model` builds). TensorFlow has it for LSTM and GRU, padding masks
    included; Keras's JAX backend only for LSTM and without a padding mask (JAX has no cuDNN GRU: GRU runs
    a fused scan)."""
    layers = f"the {str(cell).upper()} layers"
    if recurrent_dropout > 0:
        return False, f"no cuDNN kernel for {layers}: recurrent dropout rules it out, so training is slower"
    if backend == "jax" and cell != "lstm":
        return False, f"no cuDNN kernel for {layers} (JAX has none for GRU; it runs a fused scan)"
    if backend == "jax" and masked:
        return False, f"no cuDNN kernel for {layers}: under JAX it takes no padding mask"
    return True, f"the fused cuDNN kernel for {layers}"


def device_phrase(device: dict | None) -> str:
    """``"the CPU (Intel Xeon, 2 cores)"`` or ``"a GPU (NVIDIA H100, the fused cuDNN kernel for the LSTM
    layers)"`` (the kernel phrase from ``device["kernel"]``, see :func:`recurrent_kernel`)."""
    device = device or {}
    kind, name, count = device.get("kind") or "CPU", device.get("name"), int(device.get("count") or 0)
    bits = [name] if name else []
    if kind == "CPU":
        if count:
            bits.append(f"{count} core{'s' if count != 1 else ''}")
        return "the CPU" + (f" ({', '.join(bits)})" if bits else "")
    if count > 1:
        bits.append(f"{count} found, one used")
    if device.get("kernel"):
        bits.append(str(device["kernel"]))
    article = "an" if kind[:1] in "AEIOU" else "a"
    return f"{article} {kind}" + (f" ({', '.join(bits)})" if bits else "")


def engine_label(backend: str | None) -> str:
    """``"Keras 3 + JAX"``: the training engine in a few words."""
    return f"Keras 3 + {BACKEND_LABELS.get(str(backend), str(backend))}"


def run_note(device: dict | None) -> str:
    """A run's note: ``"Trained with Keras 3 on JAX, on the CPU (Intel Xeon, 2 cores)."``"""
    backend = (device or {}).get("backend")
    return f"Trained with Keras 3 on {BACKEND_LABELS.get(str(backend), str(backend))}, on {device_phrase(device)}."


def sidebar_line(device: dict | None, *, where: str | None = None) -> str:
    """The sidebar's caption: ``"Training engine: Keras 3 + JAX, on the CPU"`` (a GPU the backend cannot
    use is named, with the file that makes it usable); ``where`` replaces the device's words."""
    device = device or {}
    if where is None:
        where = "a GPU" + (f" ({device['name']})" if device.get("name") else "") if device.get("kind") == "GPU" \
            else f"the {device.get('kind') or 'CPU'}"
    line = f"Training engine: {engine_label(device.get('backend'))}, on {where}"
    if device.get("gpu_unused"):
        line += (f" ({device['gpu_unused']} is here, but this install cannot use it: "
                 "pip install -r requirements-gpu.txt)")
    return line


def engine_caption(status: dict) -> str:
    """The sidebar's caption from the runner's status (:func:`seqcore.runs.runner.backend_status`): the
    device the warm worker reported, else :func:`probe_device` (never imports a backend)."""
    device = status.get("device")
    if isinstance(device, dict) and device.get("backend"):
        return sidebar_line(device)
    if status.get("backend") == "ray":   # the workers run on the cluster's machines, not this one
        from seqcore.modeling.training import backend_name

        return sidebar_line({"backend": backend_name()}, where="the Ray cluster's machines")
    return sidebar_line(probe_device())
