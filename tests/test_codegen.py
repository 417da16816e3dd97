"""The generated standalone Keras script: it parses, imports nothing of seqcore, prepares the data
exactly as seqcore does, and - run as `python script.py data.csv` - trains the same architecture."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcore.codegen import script_filename, training_script
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.io import read_csv
from seqcore.tasks import get_task

ALLOWED_IMPORTS = {"csv", "json", "math", "os", "sys", "re", "collections", "numpy", "pandas", "keras", "sklearn"}
TINY_TRAIN = TrainSpec(epochs=2, batch_size=16, patience=1, jit_compile=False, seed=3)


# ----------------------------------------------------------------------------- data sets


def _airline_csv(path: Path) -> Path:
    """Airline with an extra feature, one missing value and two rows out of time order."""
    df = pd.read_csv(Path(__file__).resolve().parents[1] / "seqcore" / "samples" / "Airline.csv")
    df["month"] = [int(d[-2:]) for d in df["Date"]]
    df["Passengers"] = df["Passengers"].astype("float64")
    df.loc[40, "Passengers"] = np.nan
    order = list(range(len(df)))
    order[10], order[11] = order[11], order[10]
    df.iloc[order].to_csv(path, index=False)
    return path


def _gunpoint_csv(path: Path, samples: Path) -> Path:
    df = pd.read_csv(samples / "GunPoint_TRAIN.csv")
    df = df[["label"] + [f"t{i}" for i in range(0, 150, 3)]].copy()  # 50 steps keep it fast
    df.iloc[:6, -5:] = np.nan  # a few shorter sequences (trailing empty cells) -> masking
    df.to_csv(path, index=False)
    return path


def _basicmotions_csv(path: Path, samples: Path) -> Path:
    df = pd.read_csv(samples / "BasicMotions_TRAIN.csv")
    df = df[df["t"] < 40]
    df = df[~((df["case_id"] % 5 == 0) & (df["t"] >= 30))]  # some sequences are shorter
    df = df.sample(frac=1.0, random_state=0)                    # rows in any order; `t` sorts them
    df.to_csv(path, index=False)
    return path


def _text_csv(path: Path, samples: Path) -> Path:
    df = pd.read_csv(samples / "rt_polarity_subset.csv")
    df = pd.concat([df[df.label == "fresh"].head(90), df[df.label == "rotten"].head(90)]).sample(frac=1, random_state=1)
    df.to_csv(path, index=False)
    return path


CASES = {
    "forecast": lambda tmp, s: (_airline_csv(tmp / "data.csv"), RunSpec(
        data=DataSpec(task="forecast", time="Date", targets=("Passengers",), features=("month",), window=12,
                      horizon=3, log_transform=True, missing="interpolate"),
        model=ModelSpec(cell="lstm", units=(8, 4), dropout=0.1, dense_units=4), train=TINY_TRAIN)),
    "classify_wide": lambda tmp, s: (_gunpoint_csv(tmp / "data.csv", s), RunSpec(
        data=DataSpec(task="classify", label="label", layout="wide"),
        model=ModelSpec(cell="gru", units=(8,), bidirectional=True), train=TINY_TRAIN.replace(lr_schedule="cosine"))),
    "classify_long": lambda tmp, s: (_basicmotions_csv(tmp / "data.csv", s), RunSpec(
        data=DataSpec(task="classify", label="label", id="case_id", order="t", layout="long",
                      features=("dim_0", "dim_1", "dim_2", "dim_3", "dim_4", "dim_5"), znorm=True),
        model=ModelSpec(cell="lstm", units=(8,)), train=TINY_TRAIN)),
    "text": lambda tmp, s: (_text_csv(tmp / "data.csv", s), RunSpec(
        data=DataSpec(task="text", text="text", label="label", max_vocab=500, max_len=24),
        model=ModelSpec(cell="lstm", units=(8,), embedding_dim=8, dense_units=4),
        train=TINY_TRAIN.replace(optimizer="adamw", clipnorm=None))),
}


def _seqcore_prepare(csv_path: Path, spec: RunSpec):
    table = read_csv(csv_path.read_bytes())
    return get_task(spec.data.task).prepare(table.df, spec.data, seed=spec.train.seed)


def _load_script(path: Path, name: str):
    mod_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def _gather(src):
    x, y = src.gather(np.arange(len(src)))
    return np.asarray(x), np.asarray(y)


# ----------------------------------------------------------------------------- static checks


@pytest.mark.parametrize("case", list(CASES))
def test_script_is_self_contained(case, tmp_path, samples):
    _, spec = CASES[case](tmp_path, samples)
    script = training_script(spec)
    tree = ast.parse(script)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
    assert "seqcore" not in imported
    assert "pickle" not in script and "joblib" not in script
    assert "EarlyStopping" in script and "restore_best_weights=True" in script
    assert "keras.utils.set_random_seed(SEED)" in script
    assert 'model.save(MODEL_FILE)' in script
    assert script_filename(spec).endswith(".py")


def test_settings_follow_the_spec():
    spec = RunSpec(data=DataSpec(task="text", text="t", label="y", max_len=33, max_vocab=777),
                   model=ModelSpec(cell="gru", units=(16, 8), bidirectional=True, dropout=0.2, embedding_dim=12),
                   train=TrainSpec(optimizer="rmsprop", learning_rate=0.003, clipnorm=None, batch_size=7, epochs=9,
                                   patience=0, lr_schedule="cosine", seed=11, jit_compile=True))
    s = training_script(spec)
    for line in ("MAX_LEN = 33", "MAX_VOCAB = 777", "CELL = 'gru'", "UNITS = [16, 8]", "BIDIRECTIONAL = True",
                 "DROPOUT = 0.2", "EMBEDDING_DIM = 12", "OPTIMIZER = 'rmsprop'", "LEARNING_RATE = 0.003",
                 "CLIPNORM = None", "BATCH_SIZE = 7", "EPOCHS = 9", "PATIENCE = 0", "LR_SCHEDULE = 'cosine'",
                 "SEED = 11", "JIT_COMPILE = True"):
        assert re.search(rf"^{re.escape(line)}(?=\s|$)", s, re.M), line
    # the network is built from those settings, like seqcore.models.build_model
    assert "for i, units in enumerate(UNITS):" in s and "layers.Bidirectional(rnn" in s
    assert "layers.Dropout(DROPOUT" in s and "mask_zero=True" in s


def test_user_text_is_only_data(tmp_path):
    """Column names that look like code stay string literals; nothing lands in comments/docstrings."""
    evil = 'x"""; import os; os.system("echo pwned") #\n'
    spec = RunSpec(data=DataSpec(task="forecast", time=evil + "t", targets=(evil,), features=("a'b\\",), window=3))
    s = training_script(spec, csv_name='data"; rm -rf /.csv', csv_format={"delimiter": ";", "decimal": ","})
    tree = ast.parse(s)
    consts = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert evil in consts and evil + "t" in consts and "a'b\\" in consts and 'data"; rm -rf /.csv' in consts
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "system"]
    assert not calls
    assert "CSV_DELIMITER = ';'" in s and "CSV_DECIMAL = ','" in s


def test_bad_format_is_a_spec_error():
    with pytest.raises(SpecError):
        training_script(RunSpec(data=DataSpec(task="text", text="t", label="y")), csv_format={"delimiter": "x"})
    with pytest.raises(SpecError):
        training_script(RunSpec(data=DataSpec(task="forecast", targets=())))


def test_reads_csv_like_seqcore(tmp_path):
    """Semicolons, decimal commas, a BOM, a blank and a repeated header name, a trailing delimiter."""
    text = "\ufeffday;value;value;;\n1;1,5;2,0;x;\n2;NA;3,5;y;\n3;2,5;-;z;\n"
    path = tmp_path / "odd.csv"
    path.write_bytes(text.encode("utf-8"))
    spec = RunSpec(data=DataSpec(task="forecast", time="day", targets=("value",), window=1))
    fmt = {"delimiter": ";", "decimal": ",", "thousands": None, "encoding": "utf-8"}
    mod = _load_script(_write(tmp_path / "s.py", training_script(spec, csv_format=fmt)), "odd_script")
    ours = mod.read_table(str(path))
    theirs = read_csv(path.read_bytes()).df
    assert list(ours.columns) == list(theirs.columns) == ["day", "value", "value_2", "column_4"]
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs.reset_index(drop=True), check_dtype=False,
                                  check_index_type=False)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- same preprocessing


@pytest.mark.parametrize("case", list(CASES))
def test_script_prepares_the_same_arrays(case, tmp_path, samples):
    csv_path, spec = CASES[case](tmp_path, samples)
    prep = _seqcore_prepare(csv_path, spec)
    mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), f"gen_{case}")
    data = mod.prepare(mod.read_table(str(csv_path)))
    for part in ("train", "val", "test"):
        src = getattr(prep, part)
        if src is None:  # a validation part too small to use joined training, in both
            assert data["x_" + part] is None and data["y_" + part] is None, part
            continue
        x, y = _gather(src)
        np.testing.assert_allclose(data["x_" + part], x, rtol=1e-6, atol=1e-6, err_msg=part)
        np.testing.assert_array_equal(np.asarray(data["y_" + part]).shape, y.shape)
        np.testing.assert_allclose(data["y_" + part], y, rtol=1e-6, atol=1e-6, err_msg=part)
    if spec.data.task != "forecast":
        assert data["class_names"] == prep.state["class_names"]
    if spec.data.task == "classify":
        assert data["masking"] == prep.shape.masking is True
    if spec.data.task == "text":
        assert data["vocab_size"] == prep.shape.vocab_size
        assert data["state"]["words"] == prep.state["vocab"]["words"]


def test_separate_test_file_matches_seqcore(tmp_path, samples):
    spec = RunSpec(data=DataSpec(task="classify", label="label", layout="wide", val_fraction=0.2),
                   model=ModelSpec(units=(4,)), train=TINY_TRAIN)
    train_csv, test_csv = samples / "GunPoint_TRAIN.csv", samples / "GunPoint_TEST.csv"
    prep = get_task("classify").prepare(read_csv(train_csv.read_bytes()).df, spec.data,
                                        test_df=read_csv(test_csv.read_bytes()).df, seed=spec.train.seed)
    mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), "gen_testfile")
    data = mod.prepare(mod.read_table(str(train_csv)), mod.read_table(str(test_csv)))
    # 10 validation sequences are too few to choose an epoch: both join them to training
    assert prep.val is None and data["x_val"] is None and len(prep.train) == 50
    assert prep.shape.input_shape == data["x_train"].shape[1:] == (30, 5)  # 150 steps read 5 at a time
    for part in ("train", "test"):
        x, y = _gather(getattr(prep, part))
        np.testing.assert_allclose(data["x_" + part], x, atol=1e-6)
        np.testing.assert_array_equal(data["y_" + part], y)


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_script_runs_and_builds_the_same_model(case, tmp_path, samples):
    import keras

    from seqcore.models import build_model, estimate

    csv_path, spec = CASES[case](tmp_path, samples)
    script = _write(tmp_path / script_filename(spec), training_script(spec))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, script.name, csv_path.name], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    metric = "MAE" if spec.data.task == "forecast" else "accuracy"
    m = re.search(rf"^Test {metric}:\s+([0-9.eE+-]+)", out, re.M)
    assert m and np.isfinite(float(m.group(1))), out[-2000:]

    prep = _seqcore_prepare(csv_path, spec)
    sizes = prep.sizes()
    assert f"Examples: train {sizes['train']}, validation {sizes['val']}, test {sizes['test']}" in out
    assert f"Input shape: {tuple(prep.shape.input_shape)}" in out

    saved = keras.saving.load_model(str(tmp_path / "model.keras"), safe_mode=True, compile=False)
    reference = build_model(spec.model, spec.train, prep.shape)
    assert saved.count_params() == reference.count_params() == estimate(spec.model, spec.train, prep.shape).params
    assert [type(layer).__name__ for layer in saved.layers] == [type(layer).__name__ for layer in reference.layers]
    assert [layer.name for layer in saved.layers] == [layer.name for layer in reference.layers]
    assert (tmp_path / "preprocessing.json").exists() and (tmp_path / "metrics.json").exists()
