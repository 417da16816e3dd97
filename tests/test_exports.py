"""Standard exports (issue 16, point 1): ONNX, TensorFlow SavedModel and LiteRT, for all three tasks.

The exported file is run by its own runtime (onnxruntime, the LiteRT interpreter, TensorFlow) inside the same
pre- and post-processing that ``seqcore predict`` uses, and must give the same predictions (rtol 1e-4); the
standalone ``predict_example.py`` shipped in the export must too, without seqcore."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import UserError
from seqcore.outputs.export_docs import example_covers
from seqcore.outputs.model_export import FORMATS, export_model, load_runtime

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "seqcore" / "samples"
pytestmark = pytest.mark.timeout(900)


def _csv(name: str, rows: int | None = None) -> bytes:
    df = pd.read_csv(SAMPLES / name)
    return (df if rows is None else df.head(rows)).to_csv(index=False).encode()


def _varying_lengths(n: int, seed: int = 0) -> bytes:
    rs = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        k = int(rs.integers(20, 60))
        v = np.sin(np.arange(k) * (0.2 if i % 2 else 0.5)) + rs.normal(0, 0.1, k)
        rows += [(i, t, v[t], "a" if i % 2 else "b") for t in range(k)]
    return pd.DataFrame(rows, columns=["id", "step", "v", "label"]).to_csv(index=False).encode()


CASES = {
    "forecast": (lambda: _csv("Airline.csv"),
                 RunSpec(DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3,
                                  base="none", calendar="off"),
                         ModelSpec(units=(8,)), TrainSpec(epochs=2, batch_size=16, patience=0))),
    "forecast_base": (lambda: _csv("Airline.csv"),
                      RunSpec(DataSpec(task="forecast", time="Date", targets=("Passengers",), window=12, horizon=3,
                                       base="deseason", calendar="off"),
                              ModelSpec(units=(8,)), TrainSpec(epochs=2, batch_size=16, patience=0))),
    "classify": (lambda: _csv("GunPoint_TRAIN.csv"),
                 RunSpec(DataSpec(task="classify", label="label"), ModelSpec(units=(8,)),
                         TrainSpec(epochs=2, batch_size=16, patience=0))),
    "classify_var": (lambda: _varying_lengths(60),   # long layout, lengths differ (masked), 2 members averaged
                     RunSpec(DataSpec(task="classify", label="label", id="id", order="step"), ModelSpec(units=(8,)),
                             TrainSpec(epochs=2, batch_size=16, patience=0, members=2))),
    "text": (lambda: _csv("rt_polarity_subset.csv", 400),
             RunSpec(DataSpec(task="text", text="text", label="label", max_len=32, max_vocab=2000),
                     ModelSpec(units=(8,)), TrainSpec(epochs=2, batch_size=32, patience=0))),
}
NEW_ROWS = {"forecast": ("Airline.csv", None), "forecast_base": ("Airline.csv", None),
            "classify": ("GunPoint_TEST.csv", 25), "classify_var": (None, None), "text": ("rt_polarity_subset.csv", 40)}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    from seqcore.pipeline import run_training

    root = tmp_path_factory.mktemp("export-bundles")
    out = {}
    for name, (data, spec) in CASES.items():
        res = run_training(data(), spec, root / name, name=f"{name}.csv")
        out[name] = res.bundle_dir
    return out


def _new_data(case: str) -> bytes:
    if case == "classify_var":
        return _varying_lengths(20, seed=1)
    name, rows = NEW_ROWS[case]
    if case.startswith("forecast"):
        return _csv(name)[:]   # the whole history; the forecast starts after its end
    return _csv(name, rows)


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=np.float64)


def _same_as_seqcore(bundle, export_dir, case):
    """The exported network inside predict's own pre- and post-processing == ``seqcore predict``."""
    from seqcore.data.io import read_csv
    from seqcore.modeling.tasks import get_task
    from seqcore.outputs.bundle import read_bundle
    from seqcore.pipeline import predict_from_bundle

    data = _new_data(case)
    want = predict_from_bundle(bundle, data)
    b = read_bundle(bundle)
    got = get_task(b.shape.task).predict_new(b.state, b.spec.data, read_csv(data).df, load_runtime(export_dir))
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    np.testing.assert_allclose(_numeric(got), _numeric(want), rtol=1e-4, atol=1e-6)
    return want


@pytest.mark.parametrize("case,fmt", [(c, f) for c in ("forecast", "classify", "text") for f in FORMATS]
                         + [("forecast_base", "onnx"), ("classify_var", "tflite"), ("classify_var", "onnx")])
def test_export_predicts_like_seqcore_predict(bundles, tmp_path, case, fmt):
    out = tmp_path / f"{case}-{fmt}"
    sig = export_model(bundles[case], fmt, out)
    assert (out / FORMATS[fmt][1]).exists()
    assert {"README.md", "preprocess.json", "signature.json", "predict_example.py"} <= {p.name for p in out.iterdir()}
    assert sig["format"] == fmt and sig["task"] == case.split("_")[0]
    assert sig["parity"]["max_abs_diff"] < 1e-4
    assert json.loads((out / "preprocess.json").read_text()) == json.loads(
        (Path(bundles[case]) / "preprocess.json").read_text())
    _same_as_seqcore(bundles[case], out, case)
    readme = (out / "README.md").read_text()
    assert FORMATS[fmt][0] in readme and "## Inputs and outputs" in readme


@pytest.mark.parametrize("case,fmt", [("forecast", "onnx"), ("classify", "tflite"), ("text", "onnx")])
def test_standalone_example_gives_seqcore_predict_numbers(bundles, tmp_path, case, fmt):
    """predict_example.py runs in a plain Python without seqcore on the path and gives the same numbers."""
    from seqcore.pipeline import predict_from_bundle

    out = tmp_path / "export"
    export_model(bundles[case], fmt, out)
    data = _new_data(case)
    (tmp_path / "new.csv").write_bytes(data)
    proc = subprocess.run([sys.executable, "-I", str(out / "predict_example.py"), str(tmp_path / "new.csv")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = pd.read_csv(io.StringIO(proc.stdout))
    want = predict_from_bundle(bundles[case], data)
    if case == "forecast":
        np.testing.assert_allclose(got["Passengers"].to_numpy(), want["Passengers"].to_numpy(), rtol=1e-4)
    else:
        names = [c for c in want.columns if c.startswith("p(")]
        np.testing.assert_allclose(got[names].to_numpy(), want[names].to_numpy(), rtol=1e-4, atol=1e-6)
        assert list(got["predicted"].astype(str)) == list(want["predicted"].astype(str))
    assert "```python" in (out / "README.md").read_text()   # the same script, in the README


def test_example_says_plainly_what_it_does_not_cover(bundles, tmp_path):
    from seqcore.outputs.bundle import read_bundle

    assert "base forecast" in example_covers(read_bundle(bundles["forecast_base"]).state)
    out = tmp_path / "export.zip"
    export_model(bundles["forecast_base"], "onnx", out)
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"model.onnx", "README.md", "preprocess.json", "signature.json", "predict_example.py"} <= names
        z.extractall(tmp_path / "x")
    proc = subprocess.run([sys.executable, "-I", str(tmp_path / "x" / "predict_example.py"), "new.csv"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "does not cover this model" in proc.stderr
    assert "Traceback" not in proc.stderr


def _cli(*args, home=None, timeout=600):
    env = None
    if home is not None:
        import os

        env = dict(os.environ, SEQSTUDIO_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "seqcore", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


def test_cli_export_from_a_run_id_and_clear_errors(bundles, tmp_path):
    from seqcore.runs import runner
    from seqcore.runs.store import RunStore

    store = RunStore(tmp_path / "home")
    spec = CASES["classify"][1]
    ds = store.add_dataset(_csv("GunPoint_TRAIN.csv"), "GunPoint_TRAIN.csv")
    run_id = runner.submit_run(store, spec, ds)
    assert runner.wait_run(store, run_id, timeout=300).status == "finished"
    p = _cli("export", run_id, "--format", "tflite", "--out", str(tmp_path / "m.zip"), "--home", str(tmp_path / "home"))
    assert p.returncode == 0, p.stderr
    assert "matches the Keras model" in p.stderr
    assert "model.tflite" in zipfile.ZipFile(tmp_path / "m.zip").namelist()

    for args, needle in (
        (("export", "AAAAAAAAAAAA", "--format", "onnx", "--home", str(tmp_path / "home")), "nor a run in"),
        (("export", str(bundles["text"]), "--format", "pickle"), "invalid choice"),
        (("export", str(bundles["text"]), "--format", "onnx", "--out", str(ROOT)), "not an empty folder"),
    ):
        p = _cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert needle in p.stderr and "Traceback" not in p.stderr


def test_a_tampered_bundle_is_refused_before_loading(bundles, tmp_path):
    import shutil

    bad = tmp_path / "bundle"
    shutil.copytree(bundles["classify"], bad)
    state = json.loads((bad / "preprocess.json").read_text())
    state["mean"] = [1.0]
    (bad / "preprocess.json").write_text(json.dumps(state))
    with pytest.raises(UserError, match="checksum"):
        export_model(bad, "onnx", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(UserError, match="Unknown export format"):
        export_model(bundles["classify"], "pickle", tmp_path / "out")
