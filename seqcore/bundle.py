"""Saved model bundles: a folder (and a zip for download) the app can trust.

Layout of a bundle folder::

    manifest.json     format name + version, versions used, sha256 of every other file
    model.keras       the Keras model (loaded with safe_mode=True, after its config is checked)
    preprocess.json   scalers, vocabulary, column roles, class names, window, horizon (the task state)
    spec.json         the RunSpec
    shape.json        the ModelShape
    metrics.json      {"test": ..., "baselines": ..., "comparison": ...}
    history.json      per-epoch history

Nothing here is pickled. Before a model is loaded its ``config.json`` is walked and every object must
be on an allow-list (recurrent, dense, dropout, embedding, masking, reshape layers, Keras initializers,
optimizers and losses); Lambda layers, custom objects and anything else are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .config import RunSpec
from .errors import BundleError
from .fsutil import atomic_write_bytes
from .models import ALLOWED_LAYERS, ModelShape

FORMAT = "seqstudio-bundle"
VERSION = 1
JSON_FILES = ("preprocess.json", "spec.json", "shape.json", "metrics.json", "history.json")
ALL_FILES = ("manifest.json", "model.keras", *JSON_FILES)
MAX_BUNDLE_BYTES = 512 * 2**20        # a whole bundle (zip or folder)
MAX_JSON_BYTES = 64 * 2**20
MAX_COMPRESSION_RATIO = 200           # zip-bomb guard
KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}

# (module, class_name) pairs allowed inside model.keras/config.json, besides the layers in ALLOWED_LAYERS.
_ALLOWED_OBJECTS = {
    ("keras.src.models.functional", "Functional"),
    ("keras.src.models.sequential", "Sequential"),
    ("keras.src.models.model", "Model"),
    ("keras.src.ops.numpy", "NotEqual"),   # mask computation created by Masking in functional models
    ("keras.src.ops.numpy", "Any"),
    ("keras", "DTypePolicy"),
    ("keras", "FloatDTypePolicy"),
    (None, "__keras_tensor__"),
}
_DATA_MODULES = ("keras.initializers", "keras.optimizers", "keras.losses", "keras.metrics",
                 "keras.optimizers.schedules", "keras.regularizers", "keras.constraints")
_FORBIDDEN_KEYS = {"safe_mode", "function", "function_type", "module_path", "__lambda__", "__python_function__"}


@dataclass
class Bundle:
    path: Path
    spec: RunSpec
    state: dict
    shape: ModelShape
    metrics: dict
    history: list
    manifest: dict
    model: object = None  # keras.Model once loaded


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_bundle(dest: str | os.PathLike, model, spec: RunSpec, state: dict, shape: ModelShape, metrics: dict,
                history: list) -> Path:
    """Write a complete bundle to ``dest`` atomically (built in a temp folder, then renamed into place)."""
    import keras

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        model.save(str(tmp / "model.keras"))
        payloads = {
            "preprocess.json": state, "spec.json": spec.to_dict(), "shape.json": shape.to_dict(),
            "metrics.json": metrics, "history.json": history,
        }
        for name, obj in payloads.items():
            atomic_write_bytes(tmp / name, json.dumps(obj, indent=1, default=str, allow_nan=False).encode())
        from . import __version__

        manifest = {
            "format": FORMAT, "version": VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seqcore_version": __version__, "keras_version": keras.__version__, "task": shape.task,
            "files": {n: _sha((tmp / n).read_bytes()) for n in ("model.keras", *JSON_FILES)},
        }
        atomic_write_bytes(tmp / "manifest.json", json.dumps(manifest, indent=1).encode())
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old.{os.getpid()}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _read_json(path: Path, what: str):
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise BundleError(f"The bundle's {what} is too large to be a Sequence Studio file.")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"The bundle's {what} is missing or damaged ({type(err).__name__}).",
                          hint="Re-download the bundle from the run's results page.") from err


def check_model_config(config: dict) -> None:
    """Refuse any object in a Keras config that is not on the allow-list."""
    def walk(o, where: str):
        if isinstance(o, dict):
            bad_keys = _FORBIDDEN_KEYS & set(o)
            if bad_keys:
                raise BundleError(f"The model file contains a forbidden setting ({', '.join(sorted(bad_keys))}).",
                                  hint="Only models trained in Sequence Studio can be loaded.")
            if "class_name" in o:
                cls, mod = o.get("class_name"), o.get("module")
                reg = o.get("registered_name")
                ok = (mod, cls) in _ALLOWED_OBJECTS or (mod == "keras.layers" and cls in ALLOWED_LAYERS) or (
                    isinstance(mod, str) and mod.startswith(_DATA_MODULES) and isinstance(cls, str)
                    and cls.isidentifier())
                if not ok or (reg not in (None, cls)):
                    raise BundleError(
                        f"The model uses a layer or object that is not allowed: {cls!r} ({mod}).",
                        hint="Only recurrent, dense, dropout, embedding and masking layers can be loaded; "
                             "Lambda layers and custom code are refused for safety.")
            for k, v in o.items():
                walk(v, f"{where}.{k}")
        elif isinstance(o, list):
            for v in o:
                walk(v, where)

    walk(config, "config")


def inspect_keras_file(path: Path) -> dict:
    """Open model.keras (a zip) without loading it: check members, sizes, and the config allow-list."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = {i.filename for i in infos}
            if not names <= KERAS_MEMBERS or "config.json" not in names:
                raise BundleError("The model file has unexpected contents.",
                                  hint="Only models trained in Sequence Studio can be loaded.")
            _check_zip_sizes(infos)
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
        raise BundleError(f"The model file is damaged or not a Keras model ({type(err).__name__}).",
                          hint="Re-download the bundle from the run's results page.") from err
    check_model_config(config)
    return config


def _check_zip_sizes(infos) -> None:
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_BUNDLE_BYTES:
        raise BundleError(f"The bundle unpacks to {total / 2**20:,.0f} MB, more than the "
                          f"{MAX_BUNDLE_BYTES / 2**20:,.0f} MB allowed.")
    if total / packed > MAX_COMPRESSION_RATIO and total > 10 * 2**20:
        raise BundleError("The archive expands far more than a real model does (a 'zip bomb'); it was refused.")


def read_bundle(path: str | os.PathLike, *, verify: bool = True) -> Bundle:
    """Read and check a bundle folder without loading the model."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError("No model bundle was found for this run.",
                          hint="Train the run to the end (or stop it) so a model is saved.")
    manifest = _read_json(path / "manifest.json", "manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError("This is not a Sequence Studio model bundle.")
    if int(manifest.get("version", 0)) > VERSION:
        raise BundleError("This bundle was made by a newer Sequence Studio.", hint="Update the app to load it.")
    files = manifest.get("files", {})
    if verify:
        for name in ("model.keras", *JSON_FILES):
            p = path / name
            if not p.is_file() or p.is_symlink():
                raise BundleError(f"The bundle is missing {name}.", hint="Re-download or retrain the model.")
            if p.stat().st_size > MAX_BUNDLE_BYTES or files.get(name) != _sha(p.read_bytes()):
                raise BundleError(f"The bundle's {name} does not match its checksum (changed or damaged).",
                                  hint="Re-download or retrain the model.")
    try:
        spec = RunSpec.from_dict(_read_json(path / "spec.json", "spec")).validate()
        shape = ModelShape.from_dict(_read_json(path / "shape.json", "shape"))
    except (TypeError, KeyError, ValueError) as err:
        raise BundleError("The bundle's spec is damaged.") from err
    return Bundle(path=path, spec=spec, state=_read_json(path / "preprocess.json", "preprocessing state"),
                  shape=shape, metrics=_read_json(path / "metrics.json", "metrics"),
                  history=_read_json(path / "history.json", "history"), manifest=manifest)


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read, check, then load the model with ``safe_mode=True``. Call only in a worker or CLI process."""
    import keras

    b = read_bundle(path)
    inspect_keras_file(b.path / "model.keras")
    try:
        b.model = keras.saving.load_model(str(b.path / "model.keras"), safe_mode=True, compile=False)
    except Exception as err:  # noqa: BLE001 - any load failure is a damaged bundle for the user
        raise BundleError(f"The model could not be loaded ({type(err).__name__}).",
                          hint="The file may be damaged or from an incompatible version; retrain the run.") from err
    return b


def bundle_zip_bytes(path: str | os.PathLike) -> bytes:
    """The bundle folder as zip bytes (for download)."""
    path = Path(path)
    read_bundle(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in ALL_FILES:
            z.write(path / name, arcname=name)
    return buf.getvalue()


def extract_bundle_zip(data: bytes, dest: str | os.PathLike) -> Path:
    """Unpack an uploaded bundle zip into ``dest`` after size, zip-bomb and path checks; returns the folder."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"The file is larger than the {MAX_BUNDLE_BYTES / 2**20:,.0f} MB a bundle may be.")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise BundleError("This file is not a model bundle zip (it is damaged or truncated).",
                          hint="Download the bundle again from the run's results page.") from err
    _check_zip_sizes(infos)
    for info in infos:
        name = info.filename
        pp = PurePosixPath(name)
        if name.startswith(("/", "\\")) or ".." in pp.parts or "\\" in name or len(pp.parts) != 1 or ":" in name:
            raise BundleError(f"The archive contains a path that is not allowed ({name!r}).")
        if name not in ALL_FILES:
            raise BundleError(f"The archive contains an unexpected file ({name!r}).",
                              hint="Only bundles downloaded from Sequence Studio can be loaded.")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise BundleError("The archive contains a symbolic link, which is not allowed.")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for info in infos:
            atomic_write_bytes(dest / info.filename, z.read(info))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise BundleError("The archive is damaged or truncated.",
                          hint="Download the bundle again from the run's results page.") from err
    read_bundle(dest)
    inspect_keras_file(dest / "model.keras")
    return dest
