"""Saved model bundles: a folder (and a zip for download) the app can trust.

Layout of a bundle folder::

    manifest.json     format name + version, versions used (seqcore, Keras), the Keras backend that
                      trained the model, sha256 of every other file
    model.keras       the Keras model (loaded with safe_mode=True, after its config is checked)
    member_2.keras .. member_K.keras
                      a seed ensemble's other members (seqcore.modeling.ensemble), each checked and loaded
                      like model.keras; the manifest lists them all under "members" (format version 2; a
                      one-network bundle is still written as version 1). Predictions average the members'
                      class probabilities.
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

from seqcore.config import RunSpec
from seqcore.errors import BundleError, UserError
from seqcore.fsutil import atomic_write_bytes
from seqcore.modeling.models import ALLOWED_LAYERS, ModelShape

FORMAT = "seqstudio-bundle"
VERSION = 2                           # 2: may hold seed-ensemble members (member_<i>.keras); 1: one model.keras
JSON_FILES = ("preprocess.json", "spec.json", "shape.json", "metrics.json", "history.json")
ALL_FILES = ("manifest.json", "model.keras", *JSON_FILES)
MAX_BUNDLE_BYTES = 512 * 2**20        # a whole bundle (zip or folder)
MAX_JSON_BYTES = 64 * 2**20
MAX_COMPRESSION_RATIO = 200           # zip-bomb guard
KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
MAX_MODELS = 20                       # networks in one bundle (seqcore.modeling.ensemble.MAX_MEMBERS)


def member_file(i: int) -> str:
    """The file of ensemble member ``i`` (1-based): member 1 is ``model.keras``."""
    return "model.keras" if i == 1 else f"member_{i}.keras"


#: every file name an ensemble bundle may hold besides ALL_FILES
MEMBER_FILES = tuple(member_file(i) for i in range(2, MAX_MODELS + 1))

# (module, class_name) pairs allowed inside model.keras/config.json, besides the layers in ALLOWED_LAYERS.
_ALLOWED_OBJECTS = {
    ("keras.src.models.functional", "Functional"),
    ("keras.src.models.sequential", "Sequential"),
    ("keras.src.models.model", "Model"),
    ("keras.src.ops.numpy", "NotEqual"),   # mask computation created by Masking in functional models
    ("keras.src.ops.numpy", "Any"),
    # masked mean / max pooling over the steps (models._pool): plain arithmetic op nodes, no code
    ("keras.src.ops.core", "Cast"),
    *(("keras.src.ops.numpy", op) for op in ("ExpandDims", "Multiply", "Sum", "Maximum", "TrueDivide", "Add",
                                              "Subtract", "Max", "Mean", "Concatenate")),
    # attention pooling (models._attention): a softmax over the steps
    ("keras.src.ops.nn", "Softmax"),
    # word-pair ids (models._word_pairs): neighbouring ids sliced, hashed with integer arithmetic
    *(("keras.src.ops.numpy", op) for op in ("GetItem", "Mod", "Greater", "LogicalAnd", "Where")),
    (None, "__slice__"),
    ("keras", "DTypePolicy"),
    ("keras", "FloatDTypePolicy"),
    (None, "__keras_tensor__"),
}
_DATA_MODULES = ("keras.initializers", "keras.optimizers", "keras.losses", "keras.metrics",
                 "keras.optimizers.schedules", "keras.regularizers", "keras.constraints")
_DATA_PREFIXES = tuple(m + "." for m in _DATA_MODULES)
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
    model: object = None  # keras.Model once loaded (member 1 of a seed ensemble)
    models: list | None = None   # every member once loaded (one model: [model])

    @property
    def model_files(self) -> list[str]:
        """The bundle's model files, member 1 first (``["model.keras"]`` for one network)."""
        return _model_files(self.manifest)


def _model_files(manifest: dict) -> list[str]:
    """The model files a (checked) manifest lists: its "members", else ``model.keras`` alone."""
    listed = manifest.get("members") if isinstance(manifest, dict) else None
    if listed is None:
        return ["model.keras"]
    expected = [member_file(i) for i in range(1, len(listed) + 1)] if isinstance(listed, list) else None
    if not expected or listed != expected or len(listed) > MAX_MODELS:
        raise BundleError("The bundle's manifest is damaged (its list of member models is not valid).",
                          hint="Re-download the bundle from the run's results page.")
    return list(listed)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_bundle(dest: str | os.PathLike, model, spec: RunSpec, state: dict, shape: ModelShape, metrics: dict,
                history: list) -> Path:
    """Write a complete bundle to ``dest`` atomically (built in a temp folder, then renamed into place).
    ``model``: one Keras model, or a list of them (a seed ensemble's members, member 1 first)."""
    import keras

    models = list(model) if isinstance(model, (list, tuple)) else [model]
    if not 1 <= len(models) <= MAX_MODELS:
        raise ValueError(f"a bundle holds 1 to {MAX_MODELS} models, not {len(models)}")
    files = [member_file(i) for i in range(1, len(models) + 1)]
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for m, f in zip(models, files):
            m.save(str(tmp / f))
        payloads = {
            "preprocess.json": state, "spec.json": spec.to_dict(), "shape.json": shape.to_dict(),
            "metrics.json": metrics, "history.json": history,
        }
        for name, obj in payloads.items():
            atomic_write_bytes(tmp / name, json.dumps(obj, indent=1, default=str, allow_nan=False).encode())
        from seqcore import __version__

        manifest = {
            "format": FORMAT, "version": VERSION if len(models) > 1 else 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seqcore_version": __version__, "keras_version": keras.__version__,
            "backend": keras.backend.backend(), "task": shape.task,
            "files": {n: _sha((tmp / n).read_bytes()) for n in (*files, *JSON_FILES)},
        }
        if len(models) > 1:
            manifest["members"] = files
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
                    isinstance(mod, str) and (mod in _DATA_MODULES or mod.startswith(_DATA_PREFIXES))
                    and isinstance(cls, str) and cls.isidentifier())
                if not ok or (reg not in (None, cls)):
                    what = f"{cls!r} ({mod})" if reg in (None, cls) else f"the custom object {str(reg)[:60]!r}"
                    raise BundleError(
                        f"The model uses a layer or object that is not allowed: {what}.",
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
            names = [i.filename for i in infos]
            if (not set(names) <= KERAS_MEMBERS or "config.json" not in names or len(names) != len(set(names))
                    or any(_is_symlink(i) for i in infos)):
                raise BundleError("The model file has unexpected contents.",
                                  hint="Only models trained in Sequence Studio can be loaded.")
            _check_zip_sizes(infos)
            if z.getinfo("config.json").file_size > MAX_JSON_BYTES:
                raise BundleError("The model's configuration is too large to be a Sequence Studio model.")
            config = json.loads(z.read("config.json"))
    except BundleError:
        raise
    except Exception as err:  # noqa: BLE001 - BadZipFile, zlib.error, encrypted member, bad JSON...: all damage
        raise BundleError(f"The model file is damaged or not a Keras model ({type(err).__name__}).",
                          hint="Re-download the bundle from the run's results page.") from err
    if not isinstance(config, dict):
        raise BundleError("The model file's configuration is damaged.",
                          hint="Re-download the bundle from the run's results page.")
    check_model_config(config)
    return config


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


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
    version = manifest.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise BundleError("The bundle's manifest is damaged (its version is not a number).",
                          hint="Re-download the bundle from the run's results page.")
    if version > VERSION:
        raise BundleError("This bundle was made by a newer Sequence Studio.", hint="Update the app to load it.")
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise BundleError("The bundle's manifest is damaged (no list of checksums).",
                          hint="Re-download the bundle from the run's results page.")
    model_files = _model_files(manifest)
    if verify:
        for name in (*model_files, *JSON_FILES):
            p = path / name
            if not p.is_file() or p.is_symlink():
                raise BundleError(f"The bundle is missing {name}.", hint="Re-download or retrain the model.")
            if p.stat().st_size > MAX_BUNDLE_BYTES or files.get(name) != _sha(p.read_bytes()):
                raise BundleError(f"The bundle's {name} does not match its checksum (changed or damaged).",
                                  hint="Re-download or retrain the model.")
    try:
        spec = RunSpec.from_dict(_read_json(path / "spec.json", "spec")).validate()
        shape = ModelShape.from_dict(_read_json(path / "shape.json", "shape"))
    except BundleError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError, UserError) as err:
        raise BundleError("The bundle's spec is damaged (it is not in the format this version writes).",
                          hint="Re-download the bundle from the run's results page.") from err
    if shape.task != spec.data.task:
        raise BundleError("The bundle's spec and model shape disagree about the task.",
                          hint="Re-download the bundle from the run's results page.")
    state = _read_json(path / "preprocess.json", "preprocessing state")
    metrics = _read_json(path / "metrics.json", "metrics")
    history = _read_json(path / "history.json", "history")
    if not isinstance(state, dict) or not isinstance(metrics, dict) or not isinstance(history, list):
        raise BundleError("The bundle's preprocessing state, metrics or history is damaged.",
                          hint="Re-download the bundle from the run's results page.")
    return Bundle(path=path, spec=spec, state=state, shape=shape, metrics=metrics, history=history,
                  manifest=manifest)


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Read, check, then load the model with ``safe_mode=True``. Call only in a worker or CLI process."""
    return load_model(read_bundle(path))


def load_model(b: Bundle) -> Bundle:
    """Load the model(s) of a bundle already read and checked by :func:`read_bundle` (each config is checked
    against the allow-list first, then loaded with ``safe_mode=True``); returns ``b`` with ``model`` (member 1)
    and ``models`` (every member of a seed ensemble, in order) set."""
    import keras

    files = b.model_files
    for f in files:
        inspect_keras_file(b.path / f)
    models = []
    for f in files:
        try:
            models.append(keras.saving.load_model(str(b.path / f), safe_mode=True, compile=False))
        except Exception as err:  # noqa: BLE001 - any load failure is a damaged bundle for the user
            raise BundleError(f"The model could not be loaded ({type(err).__name__}).",
                              hint="The file may be damaged or from an incompatible version; retrain the run.") from err
    b.model, b.models = models[0], models
    return b


def bundle_zip_bytes(path: str | os.PathLike) -> bytes:
    """The bundle folder as zip bytes (for download)."""
    path = Path(path)
    b = read_bundle(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in (*ALL_FILES, *b.model_files[1:]):
            z.write(path / name, arcname=name)
    return buf.getvalue()


def extract_bundle_zip(data: bytes, dest: str | os.PathLike) -> Path:
    """Unpack an uploaded bundle zip into ``dest`` after size, zip-bomb and path checks; returns the folder.

    Every check runs before anything is written: total and per-member sizes, the compression ratio,
    member names (only the bundle's own flat file names: no folders, ``..``, absolute paths, links or
    duplicates). The files are unpacked into a temporary sibling folder, the bundle is verified there
    (manifest checksums, spec, the model config allow-list) and only then renamed to ``dest``; on any
    failure nothing is left behind. Raises :class:`BundleError`. Nothing is ever loaded or executed.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("extract_bundle_zip expects the uploaded bytes")
    data = bytes(data)
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"The file is larger than the {MAX_BUNDLE_BYTES / 2**20:,.0f} MB a bundle may be.")
    if not data.startswith(b"PK"):
        raise BundleError("This file is not a model bundle (.zip).",
                          hint="Upload the zip downloaded from a run's Results page.")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except Exception as err:  # noqa: BLE001 - BadZipFile, struct errors...: a damaged archive
        raise BundleError("This file is not a model bundle zip (it is damaged or truncated).",
                          hint="Download the bundle again from the run's results page.") from err
    _check_zip_sizes(infos)
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        pp = PurePosixPath(name)
        if (name.startswith(("/", "\\")) or ".." in pp.parts or "\\" in name or len(pp.parts) != 1 or ":" in name
                or "\x00" in name or info.is_dir()):
            raise BundleError(f"The archive contains a path that is not allowed ({name[:80]!r}).",
                              hint="Only bundles downloaded from Sequence Studio can be loaded.")
        if _is_symlink(info):
            raise BundleError("The archive contains a symbolic link, which is not allowed.")
        if name not in ALL_FILES and name not in MEMBER_FILES:
            raise BundleError(f"The archive contains an unexpected file ({name[:80]!r}).",
                              hint="Only bundles downloaded from Sequence Studio can be loaded.")
        if name in seen:
            raise BundleError(f"The archive contains {name!r} twice.",
                              hint="Only bundles downloaded from Sequence Studio can be loaded.")
        if info.flag_bits & 0x1:
            raise BundleError("The archive is password-protected; model bundles never are.")
        seen.add(name)
    missing = [n for n in ALL_FILES if n not in seen]
    if missing:
        raise BundleError(f"The archive is not a complete model bundle (missing {', '.join(missing)}).",
                          hint="Download the bundle again from the run's results page.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.import.", dir=dest.parent))
    try:
        try:
            for info in infos:
                with z.open(info) as src:
                    payload = src.read(info.file_size + 1)
                if len(payload) != info.file_size:
                    raise BundleError("The archive is damaged (a file is not the size it says).")
                atomic_write_bytes(tmp / info.filename, payload)
        except BundleError:
            raise
        except Exception as err:  # noqa: BLE001 - bad CRC, zlib.error, truncated data...: a damaged archive
            raise BundleError(f"The archive is damaged or truncated ({type(err).__name__}).",
                              hint="Download the bundle again from the run's results page.") from err
        listed = read_bundle(tmp).model_files
        if sorted(seen - set(ALL_FILES)) != sorted(listed[1:]):
            raise BundleError("The archive's member models do not match its manifest.",
                              hint="Only bundles downloaded from Sequence Studio can be loaded.")
        for f in listed:
            inspect_keras_file(tmp / f)
        if dest.exists():
            if any(dest.iterdir()):
                raise BundleError(f"{dest.name} already holds files; a bundle is only unpacked into a new folder.")
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def import_bundle_zip(store, data: bytes, file_name: str = "bundle.zip") -> str:
    """Add an uploaded bundle zip to ``store`` as a finished training run; returns the new run id.

    All the checks of :func:`extract_bundle_zip` run first (the model is never loaded here: a worker
    loads it, in safe mode, when a prediction is asked for). The run is ``kind='train'``,
    ``status='finished'``, has the bundle's spec and metrics, no dataset, and ``tags['imported']``.
    ``file_name`` is only shown (never used as a path).
    """
    from seqcore.data.io import _display_name

    shown = _display_name(file_name or "bundle.zip")
    staging = Path(tempfile.mkdtemp(prefix=".import.", dir=store.runs_dir))
    try:
        bdir = extract_bundle_zip(data, staging / "bundle")
        b = read_bundle(bdir)
        epochs = sum(1 for h in b.history if isinstance(h, dict))
        summary = dict(b.metrics)
        training = b.metrics.get("training")
        summary.setdefault("best_epoch", training.get("best_epoch") if isinstance(training, dict) else None)
        stem = shown[:-4] if shown.lower().endswith(".zip") else shown
        run_id = store.create_run(
            spec=b.spec.to_dict(), dataset_id=None, kind="train", task=b.spec.data.task,
            name=f"{b.spec.model.cell.upper()} {'-'.join(map(str, b.spec.model.units))} · imported {stem}",
            tags={"imported": True, "source_file": shown, "created": b.manifest.get("created"),
                  "seqcore_version": b.manifest.get("seqcore_version")},
            status="finished")
        try:
            atomic_write_bytes(staging / "metrics.json",
                               json.dumps(b.metrics, indent=1, default=str).encode())
            run_dir = store.run_dir(run_id)
            os.replace(staging / "bundle", run_dir / "bundle")
            os.replace(staging / "metrics.json", run_dir / "metrics.json")
            store.finish_run(run_id, "finished", summary=summary, epochs_run=epochs or None, only_if=None)
        except BaseException:
            store.delete_run(run_id)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return run_id
