"""The README and the standalone reference script that go into a model export (see
:mod:`seqcore.outputs.model_export`).

The script is fixed text per task and format; the only values it takes from the run come from the export's own
``preprocess.json`` at run time, and the tokeniser pattern (written with :func:`repr`). It reads a CSV with the
training data's columns and prints the predictions as CSV, with the same numbers as ``python -m seqcore predict``
for the models it covers (:func:`example_covers`); for the others it stops with a message that says why.
"""

from __future__ import annotations

EXAMPLE_NAME = "predict_example.py"

#: The network call in each runtime (the export's file sits next to the script).
_RUNTIME = {
    "onnx": '''\
import onnxruntime as ort
_sess = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
def network(x):
    return _sess.run(None, {_sess.get_inputs()[0].name: x})[0]
''',
    "tflite": '''\
from ai_edge_litert.interpreter import Interpreter   # or: tf.lite.Interpreter
_it = Interpreter(model_path=str(HERE / "model.tflite"))
def network(x):
    i, o = _it.get_input_details()[0], _it.get_output_details()[0]
    _it.resize_tensor_input(i["index"], x.shape)
    _it.allocate_tensors()
    _it.set_tensor(i["index"], x)
    _it.invoke()
    return _it.get_tensor(o["index"])
''',
    "savedmodel": '''\
import tensorflow as tf
_sm = tf.saved_model.load(str(HERE / "saved_model"))
def network(x):
    return _sm.serve(tf.constant(x)).numpy()
''',
}

_FORECAST = '''\
t, L, H = len(P["targets"]), P["window"], P["horizon"]
cols = P["targets"] + P["features"]
x = df[cols].to_numpy(dtype=float)[-L:]                       # the last L rows, targets first
if P["log_transform"]:
    x[:, :t] = np.log1p(x[:, :t])
x = ((x - np.array(P["mean"][:len(cols)])) / np.array(P["std"][:len(cols)]))[None].astype(np.float32)
last = x[:, -1:, :t].copy()
if P["relative"]:                                              # the network sees changes from the last value
    x[:, :, :t] -= last
y = np.asarray(network(x), dtype=float).reshape(H, t)
if P["relative"]:
    y = y + last[0]
y = y * np.array(P["std"][:t]) + np.array(P["mean"][:t])      # back to the original units
if P["log_transform"]:
    y = np.expm1(np.clip(y, -50, 50))
floors = [-np.inf if f is None else f for f in (P.get("floor") or [None] * t)]
out = pd.DataFrame(np.maximum(y, floors), columns=P["targets"])
out.insert(0, "step", np.arange(1, H + 1))
'''

_CLASSIFY = '''\
x = df[P["features"]].to_numpy(dtype=float)[:, :, None]      # one row per sequence, one value per step
if P["znorm"]:                                                 # each sequence to mean 0, sd 1
    sd = x.std(axis=1, keepdims=True)
    x = (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 1e-8, sd, 1.0)
x = (x[:, -P["steps"]:] - np.array(P["mean"])) / np.array(P["std"])
n, s, f = x.shape
k = int(P.get("group", 1))                                     # k steps side by side per network step
if s % k:
    x = np.concatenate([x, np.repeat(x[:, -1:], k - s % k, axis=1)], axis=1)
x = x.reshape(n, -1, k * f).astype(np.float32)
proba = np.asarray(network(x), dtype=float)
out = pd.DataFrame(proba, columns=[f"p({c})" for c in P["class_names"]])
out.insert(0, "predicted", np.array(P["class_names"])[proba.argmax(axis=1)])
'''

_TEXT = '''\
V = P["vocab"]
index = {w: i + 2 for i, w in enumerate(V["words"])}           # 0 = padding, 1 = unknown word
texts = ["" if pd.isna(v) else str(v) for v in df[P["text"]]]
x = np.zeros((len(texts), V["max_len"]), dtype=np.int32)
for r, text in enumerate(texts):
    tokens = TOKENS.findall(text.lower() if V["lowercase"] else text)[: V["max_len"]]
    x[r, : len(tokens)] = [index.get(w, 1) for w in tokens]
proba = np.asarray(network(x), dtype=float)
out = pd.DataFrame(proba, columns=[f"p({c})" for c in P["class_names"]])
out.insert(0, "predicted", np.array(P["class_names"])[proba.argmax(axis=1)])
'''


def example_covers(state: dict) -> str | None:
    """None when the reference script reproduces ``seqcore predict`` for this model, else why it does not."""
    task = state.get("task")
    if task == "forecast":
        if state.get("panel"):
            return "it forecasts a panel of series (each series' rows are cut and scaled separately)"
        if (state.get("base") or {}).get("name", "none") not in (None, "none"):
            return ("its network corrects a statistical or seasonal base forecast "
                    f"('{state['base']['name']}') that is refitted on each uploaded history")
        if state.get("covariates") or state.get("known_future"):
            return "it uses calendar or known-future columns that are shifted ahead of the history"
        return None
    if task == "classify":
        if state.get("layout") != "wide" or int(state.get("n_features", 1)) != 1:
            return "its sequences come in the long layout (one row per step), which must be grouped by id first"
        return None
    return None


def _tokens_line(state: dict) -> str:
    if state.get("task") != "text":
        return ""
    import re

    from seqcore.data.text import token_pattern

    rx = token_pattern(int(state["vocab"].get("tokenizer", 1)))
    flags = " | ".join(f"re.{f}" for f in ("IGNORECASE", "UNICODE") if rx.flags & getattr(re, f)) or "0"
    return f"TOKENS = re.compile({rx.pattern!r}, {flags})\n"


def example_script(state: dict, sig: dict) -> str:
    """``predict_example.py`` for an export: ``python predict_example.py new.csv`` prints predictions as CSV."""
    why = example_covers(state)
    head = f'''\
"""Predictions from the exported {sig["format_label"]} model, without Sequence Studio.

Usage: python predict_example.py new.csv > predictions.csv
The CSV needs the columns the model was trained on. Needs numpy, pandas and {sig["runtime"]}.
"""
import json, pathlib, re, sys
import numpy as np, pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
P = json.loads((HERE / "preprocess.json").read_text(encoding="utf-8"))
'''
    if why:
        return head + (f"\nsys.exit({('This reference does not cover this model: ' + why + '. Use `python -m seqcore predict` or `python -m seqcore serve` with the model bundle, or build the inputs as README.md describes.')!r})\n")
    body = {"forecast": _FORECAST, "classify": _CLASSIFY, "text": _TEXT}[state["task"]]
    return (head + _tokens_line(state) + "\n" + _RUNTIME[sig["format"]] + "\n"
            + "df = pd.read_csv(sys.argv[1])\n" + body + "sys.stdout.write(out.to_csv(index=False))\n")


_INPUTS = {
    "forecast": "the last `window` rows of the series, targets first then the input columns (the order of "
                "`targets` + `features` in preprocess.json), each standardised with `mean` and `std` (after "
                "`log1p` on the targets when `log_transform` is true); with `relative` true, the last row's "
                "targets are subtracted from every row's targets",
    "classify": "each sequence standardised with `mean` and `std` (after scaling each sequence to mean 0, sd 1 "
                "when `znorm` is true), cut to its last `steps` steps, `group` consecutive steps side by side per "
                "network step, right-padded with -1000 (masked) when shorter",
    "text": "word ids: the text tokenised (lower-cased when `vocab.lowercase`), each token's position in "
            "`vocab.words` plus 2 (1 = unknown word, 0 = padding), cut or right-padded with 0 to `vocab.max_len`",
}
_OUTPUTS = {
    "forecast": "(batch, horizon, targets) in the scaled space: add back the last value when `relative`, "
                "multiply by `std` and add `mean`, then `expm1` when `log_transform`; targets with a `floor` are cut "
                "there. A model with a `base` adds the network's output to the base forecast (scaled) first",
    "classify": "(batch, classes): class probabilities in the order of `class_names`",
    "text": "(batch, classes): class probabilities in the order of `class_names`",
}


def readme(state: dict, sig: dict) -> str:
    task = sig["task"]
    why = example_covers(state)
    par = sig.get("parity") or {}
    snippet = example_script(state, sig)
    lines = [
        f"# {sig['format_label']} export of a Sequence Studio model ({task})", "",
        f"- `{sig['file']}`: the trained network ({sig['members']} member{'s' if sig['members'] != 1 else ''}"
        f"{', averaged' if sig['members'] > 1 else ''}). Input `{sig['input']['name']}` "
        f"{sig['input']['dtype']} {sig['input']['shape']}; output float32 {sig['output']['shape']}.",
        "- `preprocess.json`: the preprocessing the network needs (it is not inside the graph).",
        f"- `{EXAMPLE_NAME}`: a standalone reference: `python {EXAMPLE_NAME} new.csv > predictions.csv` "
        f"(numpy, pandas, {sig['runtime']}).",
        f"- `signature.json`: names, shapes and the check below.", "",
        "## Inputs and outputs", "",
        f"**Input:** {_INPUTS[task]}.", "",
        f"**Output:** {_OUTPUTS[task]}.", "",
        "## Checked", "",
        f"Before it was written, this file was run by {sig['runtime']} on {par.get('rows', '?')} inputs shaped like "
        f"the model's and matched the trained Keras model within rtol {par.get('rtol')} (largest difference "
        f"{par.get('max_abs_diff', 0):.2g}).", "",
        "## Reference", "",
    ]
    if why:
        lines += [f"The reference script does not cover this model: {why}. `python -m seqcore predict` and "
                  "`python -m seqcore serve` with the model bundle do; or build the inputs as described above.", ""]
    else:
        lines += ["It gives the same numbers as `python -m seqcore predict` on a clean CSV (no empty cells, the "
                  "training columns, in time order for a forecast):", "", "```python", snippet.rstrip(), "```", ""]
    return "\n".join(lines)


__all__ = ["example_script", "readme", "example_covers", "EXAMPLE_NAME"]
