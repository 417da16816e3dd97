"""Standard model exports: ONNX, TensorFlow SavedModel and LiteRT (TFLite), from a checked model bundle.

:func:`export_model` is what ``python -m seqcore export`` and the Results page call. The work runs in a child
process on the TensorFlow backend (``python -m seqcore.outputs.model_export``): all three formats are written
by TensorFlow's converters, a bundle trained on JAX loads there unchanged (Keras weights are backend-free), and
the app and the workers never import TensorFlow for it.

What an export holds (a folder, or the same files in a zip):
  model.onnx | saved_model/ | model.tflite   the network: scaled windows / padded sequences / word ids in,
                                             the network's raw outputs out (a seed ensemble: the members averaged)
  preprocess.json    the preprocessing the network needs (the bundle's own file: scaling, log transform,
                     window and horizon, grouping and padding, the vocabulary, the class names)
  signature.json     input and output names, shapes and dtypes, the task, and the parity check below
  predict_example.py a short standalone reference (numpy, pandas and the format's runtime; no seqcore) that turns
                     CSV rows into the network's input and its outputs into predictions, where the model's
                     preprocessing fits in a few lines (see :func:`example_covers`)
  README.md          what the inputs and outputs mean, the snippet, and how to run it

Why the preprocessing is a sidecar, not inside the graph: none of the three formats holds all of it (the text
tokeniser and vocabulary lookup, a statistical base model refitted on each history) with its builtin operations,
and one contract for every format and task is easier to use than three. The LiteRT file is converted from an
unrolled copy of the recurrent layers so that it needs only builtin operations (no "Flex" TensorFlow ops), which
phones and microcontrollers require.

Every export is checked before it is handed out: the exported file is run by its own runtime (onnxruntime, the
LiteRT interpreter, TensorFlow) on a batch of inputs shaped like the model's, and must match the Keras model
within rtol 1e-4; the deviation is written into signature.json and the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from seqcore.errors import UserError

#: format -> (label, file or folder name in the export, runtime package, Keras export format)
FORMATS: dict[str, tuple[str, str, str, str]] = {
    "onnx": ("ONNX", "model.onnx", "onnxruntime", "onnx"),
    "savedmodel": ("TensorFlow SavedModel", "saved_model", "tensorflow", "tf_saved_model"),
    "tflite": ("LiteRT / TFLite", "model.tflite", "ai-edge-litert", "litert"),
}
#: How close the exported model's outputs must be to the Keras model's (relative; absolute 1e-5 near zero).
RTOL, ATOL = 1e-4, 1e-5
SIGNATURE = "signature.json"
TIMEOUT_S = 900


class ExportError(UserError):
    """The export could not be written (with what to do)."""


def check_format(fmt: str) -> str:
    f = str(fmt or "").strip().lower().replace("-", "").replace("_", "")
    f = {"tfsavedmodel": "savedmodel", "litert": "tflite"}.get(f, f)
    if f not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}'.", hint=f"Use one of: {', '.join(FORMATS)}.")
    return f


# --------------------------------------------------------------------------- parent side
def export_model(bundle_dir, fmt: str, out, *, timeout_s: float = TIMEOUT_S) -> dict:
    """Export the checked bundle at ``bundle_dir`` to ``out`` (a folder, or a ``.zip`` file); returns the
    signature (see the module docstring). The bundle passes the same checks as everywhere else first."""
    from seqcore.outputs.bundle import read_bundle

    fmt = check_format(fmt)
    read_bundle(bundle_dir)   # checksums and spec: a tampered bundle stops here, before any model is loaded
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="seqstudio-export-") as tmp:
        folder = Path(tmp) / "export"
        env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        try:
            proc = subprocess.run([sys.executable, "-m", "seqcore.outputs.model_export", str(bundle_dir), fmt,
                                   str(folder)], env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as err:
            raise ExportError(f"The {FORMATS[fmt][0]} export took longer than {timeout_s:.0f} s and was stopped.",
                              hint="Try again when the machine is less busy, or pick another format.") from err
        if proc.returncode != 0 or not (folder / SIGNATURE).is_file():
            raise ExportError(_child_error(proc, fmt))
        signature = json.loads((folder / SIGNATURE).read_text(encoding="utf-8"))
        if out.suffix.lower() == ".zip":
            out.parent.mkdir(parents=True, exist_ok=True)
            part = out.with_name(out.name + ".part")
            with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as z:
                for p in sorted(folder.rglob("*")):
                    if p.is_file():
                        z.write(p, arcname=str(p.relative_to(folder)))
            os.replace(part, out)
        else:
            if out.exists() and (not out.is_dir() or any(out.iterdir())):
                raise ExportError(f"'{out}' already exists and is not an empty folder.",
                                  hint="Give a new folder name, or a name ending in .zip.")
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                out.rmdir()
            shutil.move(str(folder), str(out))
    return signature


def _child_error(proc, fmt: str) -> str:
    """The child's one-line message (its last stdout line, JSON ``{"error": ...}``), else a generic one."""
    for line in reversed((proc.stdout or "").strip().splitlines()):
        try:
            msg = json.loads(line).get("error")
        except (ValueError, AttributeError):
            continue
        if msg:
            return str(msg)
    return (f"The {FORMATS[fmt][0]} export failed (the converter stopped with exit code {proc.returncode}). "
            "Check that TensorFlow and the converter packages from requirements.txt are installed.")


def _cached_path(run_dir, fmt: str) -> Path:
    return Path(run_dir) / "exports" / f"{check_format(fmt)}.zip"


def export_is_fresh(run_dir, fmt: str) -> bool:
    """Whether the run folder holds an export in ``fmt`` made from its current bundle."""
    path, manifest = _cached_path(run_dir, fmt), Path(run_dir) / "bundle" / "manifest.json"
    return path.is_file() and manifest.is_file() and path.stat().st_mtime >= manifest.stat().st_mtime


def cached_export_zip(run_dir, fmt: str) -> bytes:
    """The run's export as zip bytes, written once into ``<run>/exports/`` and reused (the Results page)."""
    path = _cached_path(run_dir, fmt)
    if not export_is_fresh(run_dir, fmt):
        export_model(Path(run_dir) / "bundle", fmt, path)
    return path.read_bytes()


# --------------------------------------------------------------------------- runtimes
def load_runtime(export_dir):
    """A ``predict_fn(x) -> np.ndarray`` that runs the exported network of ``export_dir`` with its own runtime
    (onnxruntime, the LiteRT interpreter, or TensorFlow for a SavedModel)."""
    export_dir = Path(export_dir)
    sig = json.loads((export_dir / SIGNATURE).read_text(encoding="utf-8"))
    fmt = sig["format"]
    path = export_dir / FORMATS[fmt][1]
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda x: sess.run(None, {name: np.asarray(x)})[0]
    if fmt == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(path))

        def run(x):
            i, o = it.get_input_details()[0], it.get_output_details()[0]
            x = np.asarray(x, dtype=i["dtype"])
            it.resize_tensor_input(i["index"], x.shape)
            it.allocate_tensors()
            it.set_tensor(i["index"], x)
            it.invoke()
            return it.get_tensor(o["index"])

        return run
    import tensorflow as tf

    sm = tf.saved_model.load(str(path))
    return lambda x: sm.serve(tf.constant(x)).numpy()


# --------------------------------------------------------------------------- child side (TensorFlow backend)
def _copy(model, *, unroll: bool, name: str | None = None):
    """``model`` rebuilt from its config with the same weights: recurrent layers unrolled (builtin LiteRT
    operations only) and/or renamed (ensemble members share a name, which one functional model cannot hold)."""
    cfg = model.get_config()

    def walk(o):
        if isinstance(o, dict):
            if o.get("class_name") in ("LSTM", "GRU", "SimpleRNN") and isinstance(o.get("config"), dict):
                o["config"]["unroll"] = True
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    if unroll:
        walk(cfg)
    if name:
        cfg["name"] = name
    copy = model.__class__.from_config(cfg)
    copy.set_weights(model.get_weights())
    return copy


def _network(models, unroll: bool):
    """One Keras model to export: the single model, or the members' outputs averaged (as predict does)."""
    import keras

    if len(models) == 1:
        return _copy(models[0], unroll=True) if unroll else models[0]
    members = [_copy(m, unroll=unroll, name=f"member_{i + 1}") for i, m in enumerate(models)]
    spec = models[0].inputs[0]
    inp = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name="inputs")
    return keras.Model(inp, keras.layers.Average()([m(inp) for m in members]), name="ensemble")


def _sample_inputs(model, shape, n: int = 16) -> np.ndarray:
    """A batch shaped like the model's input: word ids for a text model, standardised values otherwise."""
    rs = np.random.default_rng(0)
    dims = tuple(int(d) for d in model.inputs[0].shape[1:])
    if "int" in str(model.inputs[0].dtype):
        x = rs.integers(2, max(3, int(shape.vocab_size or 3)), size=(n, *dims)).astype(np.int32)
        for i in range(1, n, 2):   # shorter texts: right-padded with 0
            x[i, dims[0] - i % dims[0]:] = 0
        return x
    x = rs.normal(size=(n, *dims)).astype(np.float32)
    if shape.masking:   # shorter sequences: right-padded with the masked value
        from seqcore.modeling.models import PAD_VALUE

        for i in range(1, n, 2):
            x[i, dims[0] - i % dims[0]:] = PAD_VALUE
    return x


def build(bundle_dir, fmt: str, dest) -> dict:
    """Write the export of ``bundle_dir`` into the new folder ``dest`` (TensorFlow backend); returns its
    signature. Raises ExportError when the exported file does not reproduce the Keras model."""
    import keras

    from seqcore.predictor import Predictor

    fmt = check_format(fmt)
    predictor = Predictor.open(bundle_dir).load()   # the checks and the ensemble averaging of `seqcore predict`
    b = predictor.bundle
    dest = Path(dest)
    dest.mkdir(parents=True)
    net = _network(b.models, unroll=(fmt == "tflite"))
    label, name, runtime, kformat = FORMATS[fmt]
    x = _sample_inputs(b.models[0], b.shape)
    want = predictor.predict_array(x)
    net.predict_on_batch(x[:1])   # the ONNX exporter needs a model that has been called
    try:
        net.export(str(dest / name), format=kformat, verbose=False)
    except Exception as err:  # noqa: BLE001 - a converter failure is a plain message for the user
        raise ExportError(f"The {label} converter could not convert this model ({type(err).__name__}).",
                          hint="Try another format; the model bundle and `seqcore serve` still work.") from err
    shutil.copyfile(b.path / "preprocess.json", dest / "preprocess.json")
    sig = {"format": fmt, "format_label": label, "file": name, "runtime": runtime, "task": b.shape.task,
           "input": {"name": "inputs", "shape": [None, *[int(d) for d in b.models[0].inputs[0].shape[1:]]],
                     "dtype": str(np.dtype(x.dtype))},
           "output": {"shape": [None, *[int(d) for d in want.shape[1:]]], "dtype": "float32"},
           "members": len(b.models), "keras_version": keras.__version__,
           "trained_backend": b.manifest.get("backend")}
    (dest / SIGNATURE).write_text(json.dumps(sig, indent=1), encoding="utf-8")
    got = np.asarray(load_runtime(dest)(x), dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        raise ExportError(f"The {label} file does not reproduce the trained model's outputs, so it was not "
                          "exported.", hint="Try another format; the model bundle and `seqcore serve` still work.")
    sig["parity"] = {"rows": int(len(x)), "max_abs_diff": float(np.max(np.abs(got - want))), "rtol": RTOL,
                     "atol": ATOL}
    (dest / SIGNATURE).write_text(json.dumps(sig, indent=1), encoding="utf-8")
    from seqcore.outputs.export_docs import EXAMPLE_NAME, example_script, readme

    (dest / EXAMPLE_NAME).write_text(example_script(b.state, sig), encoding="utf-8")
    (dest / "README.md").write_text(readme(b.state, sig), encoding="utf-8")
    return sig


def _child(argv: list[str]) -> int:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        build(argv[0], argv[1], argv[2])
    except UserError as err:
        print(json.dumps({"error": str(err)}))
        return 2
    except Exception as err:  # noqa: BLE001 - one plain line for the parent, the details on stderr
        import traceback

        traceback.print_exc()
        label = FORMATS.get(argv[1], (argv[1],))[0]
        print(json.dumps({"error": f"The {label} export failed ({type(err).__name__}: {str(err)[:200]}). "
                                   "The model bundle and `seqcore serve` still work; try another format."}))
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a child by export_model
    sys.exit(_child(sys.argv[1:]))
