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

from seqcore.data import text as seqtext
from seqcore.data import wordvec
from seqcore.outputs.codegen import script_filename, training_script
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.data.io import read_csv
from seqcore.modeling.models import ModelShape
from seqcore.modeling.tasks import get_task
from seqcore.modeling.training import selection_metric
from seqcore.data.windows import ArraySource

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
        model=ModelSpec(cell="lstm", units=(8,), pooling="mean"), train=TINY_TRAIN)),
    "text": lambda tmp, s: (_text_csv(tmp / "data.csv", s), RunSpec(
        data=DataSpec(task="text", text="text", label="label", max_vocab=500, max_len=24),
        model=ModelSpec(cell="lstm", units=(8,), embedding_dim=8, dense_units=4, pooling="mean+max"),
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
    assert "pickle" not in script.replace("allow_pickle=False", "") and "joblib" not in script
    assert "class KeepBestEpoch(keras.callbacks.Callback)" in script and "KeepBestEpoch(monitor, patience)" in script
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
    # the network is built from those settings, like seqcore.modeling.models.build_model
    assert "for i, units in enumerate(UNITS):" in s and "layers.Bidirectional(rnn" in s
    assert "layers.Dropout(DROPOUT" in s and "mask_zero=True" in s
    values = _settings(s)
    assert values["POOLING"] == "last" and values["WORD_VECTORS"] == "auto"
    assert values["WORD_VECTORS_DIR"] == str(wordvec.ASSETS / "glove_6b_50d")
    assert values["AUTO_MIN_COVERAGE"] == wordvec.AUTO_MIN_COVERAGE
    assert 'WORD_VECTORS_DIR = r"' in s  # a readable raw string
    assert "EMBEDDING_DIM = 12" in s and "POOLING" not in training_script(RunSpec(
        data=DataSpec(task="forecast", targets=("a",))))


@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
def test_selection_metric_comes_from_seqcore(task):
    data = {"forecast": DataSpec(task="forecast", targets=("a",)), "classify": DataSpec(task="classify", label="y"),
            "text": DataSpec(task="text", text="t", label="y")}[task]
    values = _settings(training_script(RunSpec(data=data)))
    assert values["SELECT_BY"] == selection_metric(task, True)
    assert values["SELECT_BY_WITHOUT_VALIDATION"] == selection_metric(task, False)


def _settings(script: str) -> dict:
    """The script's top-level constant settings (NAME = literal)."""
    out = {}
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


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
        assert data["state"]["words"] == data["words"] == prep.state["vocab"]["words"]
        assert data["state"]["tokenizer"] == prep.state["vocab"]["tokenizer"] == seqtext.TOKENIZER
        assert data["vector_coverage"] == prep.shape.vector_coverage


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


# ----------------------------------------------------------------------------- tokenizer v2 and word vectors

TRICKY_TEXTS = [
    "It doesn't work, and it's NOT fine -- I'm sure they'll say we'd've known.",
    "DON'T shout: ISN'T it \"quoted\" or 'single-quoted'? rock'n'roll o'clock",
    "Café naïve résumé 123 abc_def can't won't shan't you're we've",
    "", "   ", "n't 's 're alone; 'tis the season' s end",
]


@pytest.mark.parametrize("lowercase", [True, False])
def test_script_tokenizes_like_seqcore(lowercase, tmp_path):
    spec = RunSpec(data=DataSpec(task="text", text="t", label="y", lowercase=lowercase))
    mod = _load_script(_write(tmp_path / "tok.py", training_script(spec)), f"gen_tok_{lowercase}")
    assert mod.TOKENIZER == seqtext.TOKENIZER == 2
    for t in TRICKY_TEXTS:
        assert mod.tokenize(t) == seqtext.tokenize(t, lowercase), t
    assert mod.tokenize("Doesn't it's") == (["does", "n't", "it", "'s"] if lowercase else ["Does", "n't", "it", "'s"])


def _clitic_csv(path: Path) -> Path:
    rows = []
    for i in range(60):
        rows.append({"text": f"It doesn't matter, it's {i % 7} and they're here; I'd say we'll see.", "label": "a"})
        rows.append({"text": f"Don't go: she's {i % 5} o'clock, you've seen what I'm saying", "label": "b"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _gibberish_csv(path: Path) -> Path:
    """Texts the English table barely knows: "auto" learns the word vectors from scratch."""
    rng = np.random.default_rng(0)
    syllables = ["qz", "xv", "kt", "pw", "zr", "vh", "jq", "wx"]
    rows = [{"text": " ".join("".join(rng.choice(syllables, 3)) for _ in range(6)), "label": "ab"[i % 2]}
            for i in range(80)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_clitics_give_the_same_ids(tmp_path):
    csv_path = _clitic_csv(tmp_path / "clitics.csv")
    spec = RunSpec(data=DataSpec(task="text", text="text", label="label", max_vocab=40, max_len=12),
                   model=ModelSpec(units=(4,)), train=TINY_TRAIN)
    prep = _seqcore_prepare(csv_path, spec)
    mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), "gen_clitics")
    data = mod.prepare(mod.read_table(str(csv_path)))
    assert {"n't", "'s", "'re", "'d", "'ll", "'ve", "'m", "does", "do"} <= set(data["words"])
    assert data["words"] == prep.state["vocab"]["words"]
    for part in ("train", "val", "test"):
        src = getattr(prep, part)
        if src is None:
            assert data["x_" + part] is None
            continue
        x, y = _gather(src)
        np.testing.assert_array_equal(data["x_" + part], x, err_msg=part)
        np.testing.assert_array_equal(data["y_" + part], y, err_msg=part)


def _embedding_case(tmp_path, samples, word_vectors, english=True):
    csv_path = _text_csv(tmp_path / "data.csv", samples) if english else _gibberish_csv(tmp_path / "data.csv")
    spec = RunSpec(data=DataSpec(task="text", text="text", label="label", max_vocab=300, max_len=16),
                   model=ModelSpec(units=(4,), embedding_dim=6, word_vectors=word_vectors),
                   train=TINY_TRAIN.replace(seed=7))
    return csv_path, spec


@pytest.mark.parametrize("word_vectors,english,pretrained", [
    ("glove-50", True, True), ("auto", True, True), ("auto", False, False), ("glove-50", False, True),
    ("none", True, False),
])
def test_script_starts_from_the_same_embedding(word_vectors, english, pretrained, tmp_path, samples):
    import keras

    from seqcore.modeling.models import build_model, word_vectors as chosen_vectors

    csv_path, spec = _embedding_case(tmp_path, samples, word_vectors, english)
    prep = _seqcore_prepare(csv_path, spec)
    assert (chosen_vectors(spec.model, prep.shape)[0] != "none") is pretrained
    mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), f"gen_emb_{word_vectors}_{english}")
    data = mod.prepare(mod.read_table(str(csv_path)))
    assert data["word_vectors"] == ("pretrained" if pretrained else "none")
    if word_vectors != "none":
        assert data["vector_coverage"] == prep.shape.vector_coverage
        assert (data["vector_coverage"] >= wordvec.AUTO_MIN_COVERAGE) is english
    keras.utils.set_random_seed(spec.train.seed)
    ours = mod.build_model(data["x_train"].shape[1:], len(data["class_names"]), data["vocab_size"],
                           data["words"], data["word_vectors"])
    keras.utils.set_random_seed(spec.train.seed)
    theirs = build_model(spec.model, spec.train, prep.shape, vocabulary=prep.state["vocab"]["words"])
    ours_emb = ours.get_layer("embedding").get_weights()[0]
    theirs_emb = theirs.get_layer("embedding").get_weights()[0]
    assert ours_emb.shape == theirs_emb.shape == (prep.shape.vocab_size, 50 if pretrained else 6)
    np.testing.assert_array_equal(ours_emb, theirs_emb)
    if pretrained and english:  # a known word starts from its GloVe vector, the padding row from zeros
        table = wordvec.load("glove-50")
        word = next(w for w in data["words"] if w in table.index)
        np.testing.assert_array_equal(ours_emb[data["words"].index(word) + 2],
                                      table.vectors[table.index[word]].astype(np.float32))
        assert not ours_emb[0].any()
    assert ours.count_params() == theirs.count_params()


def test_missing_word_vectors_fail_clearly(tmp_path, samples):
    csv_path, spec = _embedding_case(tmp_path, samples, "auto")
    mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), "gen_novectors")
    mod.WORD_VECTORS_DIR = str(tmp_path / "nowhere")
    with pytest.raises(SystemExit, match='WORD_VECTORS = "none"'):
        mod.prepare(mod.read_table(str(csv_path)))
    mod.WORD_VECTORS = "none"  # learning them from scratch needs no files
    data = mod.prepare(mod.read_table(str(csv_path)))
    assert data["word_vectors"] == "none" and data["vector_coverage"] is None


# ----------------------------------------------------------------------------- same network


def _pooling_models(case, pooling, tmp_path, samples):
    """(the script's model, seqcore's build_model, example inputs) for one pooling choice."""
    from seqcore.modeling.models import build_model

    if case == "classify_plain":  # sequences of one length: no masking, plain mean / max
        spec = RunSpec(data=DataSpec(task="classify", label="y"),
                       model=ModelSpec(cell="gru", units=(4, 3), pooling=pooling, dropout=0.1), train=TINY_TRAIN)
        shape = ModelShape(task="classify", input_shape=(7, 3), output_shape=(3,), masking=False)
        mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), f"gen_pool_{case}_{pooling}")
        x = np.random.default_rng(0).normal(size=(5, 7, 3)).astype(np.float32)
        return mod.build_model(shape.input_shape, 3, False), build_model(spec.model, spec.train, shape), x
    csv_path, spec = CASES[case](tmp_path, samples)
    spec = spec.replace(model=spec.model.replace(pooling=pooling, bidirectional=True,
                                                 embedding_dropout=0.2 if case == "text" else 0.0,
                                                 word_pairs=4 if case == "text" else 0))
    prep = _seqcore_prepare(csv_path, spec)
    mod = _load_script(_write(tmp_path / "train.py", training_script(spec)), f"gen_pool_{case}_{pooling}")
    data = mod.prepare(mod.read_table(str(csv_path)))
    if case == "text":
        ours = mod.build_model(data["x_train"].shape[1:], len(data["class_names"]), data["vocab_size"],
                               data["words"], data["word_vectors"])
        theirs = build_model(spec.model, spec.train, prep.shape, vocabulary=prep.state["vocab"]["words"])
    else:
        assert data["masking"] is True
        ours = mod.build_model(data["x_train"].shape[1:], len(data["class_names"]), data["masking"])
        theirs = build_model(spec.model, spec.train, prep.shape)
    return ours, theirs, data["x_test"][:6]


@pytest.mark.parametrize("case", ["text", "classify_wide", "classify_plain"])
@pytest.mark.parametrize("pooling", ["last", "mean", "mean+max", "attention"])
def test_script_builds_the_same_network(case, pooling, tmp_path, samples):
    ours, theirs, x = _pooling_models(case, pooling, tmp_path, samples)
    assert ours.count_params() == theirs.count_params()
    assert [(type(layer).__name__, layer.name) for layer in ours.layers] == \
        [(type(layer).__name__, layer.name) for layer in theirs.layers]
    # the pooling is built from the same Keras ops, in the same order
    assert [type(op).__name__ for op in ours.operations] == [type(op).__name__ for op in theirs.operations]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- same epoch selection


class _ScriptedModel:
    """Stands in for a Keras model: fit() plays fixed epoch logs to the callbacks (no batches); the
    weights are the number of the epoch that produced them."""

    def __init__(self, logs, loss):
        self.logs, self.loss = logs, loss
        self.stop_training = False
        self.epoch = 0
        self.restored = None
        self.epochs_run = 0

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])

    def fit(self, *args, callbacks=(), epochs=1, initial_epoch=0, **kwargs):
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        for epoch in range(initial_epoch, min(epochs, len(self.logs))):
            self.epoch = epoch + 1
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            for cb in callbacks:
                cb.on_epoch_end(epoch, dict(self.logs[epoch]))
            self.epochs_run = epoch + 1
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()


NAN = float("nan")
SELECTION_LOGS = [  # (loss, val_loss, val_accuracy) per epoch
    (1.0, 0.70, 0.50), (0.9, 0.90, 0.60), (0.8, 0.80, 0.60), (0.8, 0.85, 0.60), (0.7, NAN, 0.60),
    (0.6, 0.60, NAN), (0.5, 0.65, 0.55), (0.5, 0.50, 0.55), (0.4, 0.95, 0.60),
]


@pytest.mark.parametrize("task,has_val,patience,cap", [
    ("classify", True, 3, 0), ("classify", True, 0, 0), ("text", True, 4, 0), ("forecast", True, 2, 0),
    ("forecast", True, 0, 0), ("classify", False, 2, 0), ("forecast", False, 0, 0),
    # a cap on weight updates (one batch an epoch here): fewer epochs, in the script as in the app
    ("classify", True, 0, 5), ("forecast", False, 8, 4),
])
def test_script_keeps_the_same_epoch_as_seqcore(task, has_val, patience, cap, tmp_path):
    from seqcore.modeling.training import fit

    data_spec = {"forecast": DataSpec(task="forecast", targets=("a",)),
                 "classify": DataSpec(task="classify", label="y"),
                 "text": DataSpec(task="text", text="t", label="y")}[task]
    train_spec = TINY_TRAIN.replace(epochs=len(SELECTION_LOGS), patience=patience, lr_schedule="none",
                                    max_updates=cap)
    logs = [{"loss": l, **({"val_loss": vl, "val_accuracy": va} if has_val else {})} for l, vl, va in SELECTION_LOGS]
    loss = "mse" if task == "forecast" else "sparse_categorical_crossentropy"
    x = np.zeros((4, 2), np.float32)

    reference = _ScriptedModel(logs, loss)
    outcome = fit(reference, ArraySource(x, np.zeros(4)), ArraySource(x, np.zeros(4)) if has_val else None,
                  train_spec)
    assert outcome.monitor == selection_metric(task, has_val)

    mod = _load_script(_write(tmp_path / "train.py", training_script(RunSpec(data=data_spec, train=train_spec))),
                       f"gen_select_{task}_{has_val}_{patience}_{cap}")
    ours = _ScriptedModel(logs, loss)
    mod.train(ours, {"x_train": x, "y_train": np.zeros(4), "x_val": x if has_val else None,
                     "y_val": np.zeros(4) if has_val else None})
    assert ours.restored == reference.restored == outcome.best_epoch is not None
    assert ours.epochs_run == reference.epochs_run == outcome.epochs_run
    if cap:
        assert outcome.epochs_run <= cap and outcome.capped is not None and outcome.capped[0] == cap
    if task != "forecast" and has_val:  # the accuracy tie of epochs 2-5 goes to the lower val_loss
        assert outcome.best_epoch == 3


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_script_runs_and_builds_the_same_model(case, tmp_path, samples):
    import keras

    from seqcore.modeling.models import build_model, estimate

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
    assert [type(op).__name__ for op in saved.operations] == [type(op).__name__ for op in reference.operations]
    assert (tmp_path / "preprocessing.json").exists() and (tmp_path / "metrics.json").exists()


@pytest.mark.slow
def test_script_runs_on_jax_too(tmp_path, samples):
    """The header says the script runs on either Keras backend: the text case (word-pair hashing, pooling
    and masking in keras.ops) trains under KERAS_BACKEND=jax as well."""
    pytest.importorskip("jax")
    csv_path, spec = CASES["text"](tmp_path, samples)
    spec = spec.replace(model=spec.model.replace(word_pairs=8))
    script = training_script(spec)
    assert 'os.environ.setdefault("KERAS_BACKEND", "tensorflow")' in script and "KERAS_BACKEND=jax" in script
    path = _write(tmp_path / script_filename(spec), script)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="jax")
    proc = subprocess.run([sys.executable, path.name, csv_path.name], cwd=tmp_path, capture_output=True,
                          text=True, timeout=400, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = re.search(r"^Test accuracy:\s+([0-9.eE+-]+)", proc.stdout, re.M)
    assert m and np.isfinite(float(m.group(1))), proc.stdout[-2000:]
    assert (tmp_path / "model.keras").exists()
