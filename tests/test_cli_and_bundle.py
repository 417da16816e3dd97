"""The CLI contract (exit codes, one-line errors, files written) and bundle safety checks."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.outputs.bundle import (BundleError, bundle_zip_bytes, check_model_config, extract_bundle_zip, load_bundle,
                            read_bundle)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "seqcore" / "samples"


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "seqcore", *map(str, args)], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=timeout)


def test_inspect_text_and_json():
    r = cli("inspect", SAMPLES / "Airline.csv")
    assert r.returncode == 0, r.stderr
    assert "suggested task: forecast" in r.stdout and "Passengers" in r.stdout
    r = cli("inspect", SAMPLES / "BasicMotions_TRAIN.csv", "--json")
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["suggested_task"] == "classify"
    assert out["roles"]["id"] == "case_id" and out["roles"]["label"] == "label"
    assert out["format"]["delimiter"] == ","


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image"),
])
def test_inspect_unreadable_input_is_one_line_exit_2(tmp_path, content, needle):
    f = tmp_path / "bad.csv"
    f.write_bytes(content)
    r = cli("inspect", f)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert needle in lines[0].lower()
    assert "Traceback" not in r.stderr


def test_missing_file_and_bad_arguments_exit_2(tmp_path):
    r = cli("inspect", tmp_path / "nope.csv")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", SAMPLES / "Airline.csv", "--task", "nonsense")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = cli("train", SAMPLES / "Airline.csv", "--task", "forecast", "--units", "0", "--epochs", "1")
    assert r.returncode == 2 and "units" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", SAMPLES / "Airline.csv", "--task", "forecast", "--target", "Nope", "--epochs", "1")
    assert r.returncode == 2 and "'Nope'" in r.stderr


def test_a_failed_train_leaves_no_empty_output_folder(tmp_path):
    """Without --out the CLI names a folder seqstudio-run-<time> in the current directory; a run refused once it
    has started (a window longer than the series) must not leave that folder behind, empty."""
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "seqcore", "train", str(SAMPLES / "Airline.csv"), "--task", "forecast",
                        "--window", "500", "--epochs", "1"], capture_output=True, text=True, cwd=str(tmp_path),
                       env=env, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert not list(tmp_path.glob("seqstudio-run-*"))
    kept = tmp_path / "mine"
    kept.mkdir()
    (kept / "notes.txt").write_text("the user's own file")
    r = subprocess.run([sys.executable, "-m", "seqcore", "train", str(SAMPLES / "Airline.csv"), "--task", "forecast",
                        "--window", "500", "--epochs", "1", "--out", str(kept)], capture_output=True, text=True,
                       cwd=str(tmp_path), env=env, timeout=300)
    assert r.returncode == 2 and (kept / "notes.txt").read_text() == "the user's own file"


@pytest.mark.slow
def test_train_and_predict_through_the_cli(tmp_path):
    out = tmp_path / "run"
    r = cli("train", SAMPLES / "Airline.csv", "--task", "forecast", "--window", "12", "--horizon", "2",
            "--epochs", "3", "--units", "8", "--out", out)
    assert r.returncode == 0, r.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"test", "baselines"}
    assert {"naive", "seasonal_naive", "mean"} <= set(metrics["baselines"])
    assert metrics["test"]["mae"] > 0
    assert (out / "bundle" / "model.keras").exists()
    pred_file = tmp_path / "pred.csv"
    r = cli("predict", out, SAMPLES / "Airline.csv", "--out", pred_file)
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(pred_file)
    assert pred["time"].tolist() == ["1961-01-01", "1961-02-01"]
    # a prediction file missing the target column: clear message, exit 2
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Other\n1949-01,1\n")
    r = cli("predict", out, bad)
    assert r.returncode == 2 and "'Passengers'" in r.stderr and "Traceback" not in r.stderr

    # bundle zip round trip, and hostile archives refused
    z = bundle_zip_bytes(out / "bundle")
    dest = extract_bundle_zip(z, tmp_path / "unzipped")
    b = load_bundle(dest)
    assert b.shape.task == "forecast"
    x = np.zeros((1, *b.shape.input_shape), np.float32)   # 12 steps; the target (+ calendar inputs when they help)
    assert b.shape.input_shape[0] == 12
    ref = load_bundle(out / "bundle").model.predict_on_batch(x)
    assert np.allclose(b.model.predict_on_batch(x), ref)

    with pytest.raises(BundleError, match="truncated|damaged"):
        extract_bundle_zip(z[: len(z) // 2], tmp_path / "trunc")
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../x", "boom")
    with pytest.raises(BundleError, match="not allowed"):
        extract_bundle_zip(evil.getvalue(), tmp_path / "evil")
    assert not (tmp_path / "x").exists()

    # tampered files fail the checksum
    (dest / "preprocess.json").write_text("{}")
    with pytest.raises(BundleError, match="checksum"):
        read_bundle(dest)


def test_model_config_allow_list():
    ok = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
          "config": {"layers": [{"module": "keras.layers", "class_name": "LSTM", "registered_name": None,
                                 "config": {"kernel_initializer": {"module": "keras.initializers",
                                                                   "class_name": "GlorotUniform",
                                                                   "registered_name": None}}}]}}
    check_model_config(ok)
    lam = json.loads(json.dumps(ok))
    lam["config"]["layers"].append({"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                                    "config": {"function": {"class_name": "__lambda__"}}})
    with pytest.raises(BundleError):
        check_model_config(lam)
    custom = json.loads(json.dumps(ok))
    custom["config"]["layers"].append({"module": "evil.module", "class_name": "Reader", "registered_name": "x>Reader"})
    with pytest.raises(BundleError, match="not allowed"):
        check_model_config(custom)
    unsafe = json.loads(json.dumps(ok))
    unsafe["config"]["safe_mode"] = False
    with pytest.raises(BundleError, match="forbidden"):
        check_model_config(unsafe)


# ----------------------------------------------------------------------------- --group-steps


def _train_spec(*flags):
    from seqcore.cli.main import build_spec, make_parser
    from seqcore.data.io import read_csv

    path = SAMPLES / "BasicMotions_TRAIN.csv"
    args = make_parser().parse_args(["train", str(path), "--task", "classify", *map(str, flags)])
    df = read_csv(path.read_bytes(), name=path.name).df
    return build_spec(args, df), df


def test_group_steps_flag_reaches_the_spec_and_the_prepared_data():
    from seqcore.modeling.tasks import classify

    spec, df = _train_spec("--group-steps", 4, "--max-steps", 60, "--preset", "quick")
    assert spec.data.group_steps == 4 and spec.data.max_steps == 60
    prep = classify.prepare(df, spec.data, seed=0)
    steps = prep.state["steps"]
    assert prep.state["group"] == 4
    assert prep.shape.input_shape == (-(-steps // 4), 4 * prep.state["n_features"])
    assert any("reads 4 consecutive steps" in n for n in prep.notes)
    # left out: automatic (0), which keeps the network at most RNN_STEPS steps long
    spec, _ = _train_spec()
    assert spec.data.group_steps == 0
    auto = classify.prepare(df, spec.data, seed=0)
    assert auto.shape.input_shape[0] <= classify.RNN_STEPS
    spec, _ = _train_spec("--group-steps", 1)
    assert classify.prepare(df, spec.data, seed=0).state["group"] == 1


def test_group_steps_flag_is_documented_and_checked():
    from seqcore.modeling.tasks.classify import RNN_STEPS

    r = cli("train", "--help")
    assert r.returncode == 0
    help_text = " ".join(r.stdout.split())
    assert "--group-steps K" in help_text and f"at most {RNN_STEPS} steps" in help_text
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "--group-steps" in readme and f"at most {RNN_STEPS} steps" in readme
    r = cli("train", SAMPLES / "BasicMotions_TRAIN.csv", "--task", "classify", "--group-steps", "-1")
    assert r.returncode == 2 and "steps grouped together" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
