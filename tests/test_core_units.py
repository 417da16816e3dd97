"""Core building blocks: specs, windows, tokeniser, model shapes and sizes, exports, import hygiene."""

import json
import subprocess
import sys

import numpy as np
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec, apply_preset
from seqcore.errors import SpecError
from seqcore.outputs.export import csv_bytes
from seqcore.modeling.models import ModelShape, estimate
from seqcore.data.text import Vocabulary, tokenize
from seqcore.data.windows import WindowSource, chronological_split, pad_sequences, window_starts


def test_import_does_not_load_tensorflow_or_streamlit():
    code = ("import sys, seqcore, seqcore.config, seqcore.data.io, seqcore.data.schema, seqcore.pipeline, seqcore.cli.main, "
            "seqcore.modeling.tasks, seqcore.modeling.tasks.forecast, seqcore.modeling.tasks.classify, seqcore.modeling.tasks.textclass, seqcore.outputs.bundle, "
            "seqcore.modeling.models, seqcore.modeling.training, seqcore.modeling.metrics, seqcore.modeling.baselines;"
            "bad=[m for m in ('tensorflow','keras','streamlit','torch','jax') if m in sys.modules];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.stdout.strip() == ""


def test_spec_round_trip_and_validation():
    spec = RunSpec(data=DataSpec(task="forecast", targets=("y",), window=12, horizon=3),
                   model=ModelSpec(cell="gru", units=(32, 16), bidirectional=True),
                   train=TrainSpec(learning_rate=0.01))
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    with pytest.raises(SpecError, match="cell"):
        ModelSpec(cell="transformer").validate()
    with pytest.raises(SpecError, match="units of layer 2"):
        ModelSpec(units=(8, 0)).validate()
    with pytest.raises(SpecError, match="learning rate"):
        TrainSpec(learning_rate=-1).validate()
    with pytest.raises(SpecError, match="target"):
        DataSpec(task="forecast").validate()
    with pytest.raises(SpecError, match="label"):
        DataSpec(task="classify").validate()
    assert apply_preset(spec, "thorough").model.units == (128, 64)


def test_window_starts_respect_split_and_history():
    split = chronological_split(100, 0.15, 0.15)
    assert (split.train_end, split.val_end) == (70, 85)
    tr = window_starts(0, split.train_end, 10, 3)
    va = window_starts(split.train_end, split.val_end, 10, 3)
    te = window_starts(split.val_end, 100, 10, 3)
    # targets [t, t+H) never cross into the next part: no leakage of later values into training targets
    assert tr.min() == 10 and tr.max() + 3 <= 70
    assert va.min() == 70 and va.max() + 3 <= 85
    assert te.min() == 85 and te.max() + 3 == 100


def test_window_source_gathers_the_right_values():
    n = 50
    inputs = np.stack([np.arange(n), 100 + np.arange(n)], axis=1).astype(np.float32)
    src = WindowSource(inputs, inputs[:, :1], np.array([5, 20, 44]), window=5, horizon=3)
    x, y = src.gather(np.array([0, 2]))
    assert x.shape == (2, 5, 2) and y.shape == (2, 3, 1)
    assert x[0, :, 0].tolist() == [0, 1, 2, 3, 4]          # inputs strictly before the origin
    assert y[0, :, 0].tolist() == [5, 6, 7]
    assert x[1, -1, 1] == 143 and y[1, -1, 0] == 46
    # the strided view shares memory with the series: no window materialised up front
    assert np.shares_memory(src._xv, src.inputs_arr)


def test_pad_sequences_keeps_the_end_of_long_sequences():
    seqs = [np.arange(3, dtype=float)[:, None], np.arange(6, dtype=float)[:, None]]
    x, lengths = pad_sequences(seqs, max_steps=4, value=-9)
    assert x.shape == (2, 4, 1)
    assert lengths.tolist() == [3, 4]
    assert x[0, :, 0].tolist() == [0, 1, 2, -9]
    assert x[1, :, 0].tolist() == [2, 3, 4, 5]


def test_vocabulary_is_built_deterministically_and_round_trips():
    texts = ["A good film.", "a bad film!", "good good"]
    v = Vocabulary.build(texts, max_vocab=10, max_len=4)
    assert v.words[0] == "good"
    enc = v.encode(["good unknownword film", ""])
    assert enc.shape == (2, 4)
    assert enc[0, 1] == 1  # unknown word id
    assert enc[1].tolist() == [0, 0, 0, 0]
    again = Vocabulary.from_dict(json.loads(json.dumps(v.to_dict())))
    assert (again.encode(texts) == v.encode(texts)).all()
    assert tokenize("Don't STOP!") == ["do", "n't", "stop", "!"]          # tokenizer v2: English clitics split
    assert tokenize("Don't STOP!", version=1) == ["don't", "stop", "!"]  # v1, kept for old bundles


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("task", ["forecast", "classify", "text"])
def test_model_shapes_and_exact_parameter_estimate(cell, task):
    from seqcore.modeling.models import build_model

    shape = {
        "forecast": ModelShape("forecast", (12, 3), (4, 2)),
        "classify": ModelShape("classify", (20, 2), (3,), masking=True),
        "text": ModelShape("text", (16,), (2,), vocab_size=40),
    }[task]
    mspec = ModelSpec(cell=cell, units=(8, 4), bidirectional=task != "forecast", dropout=0.1, dense_units=5)
    model = build_model(mspec, TrainSpec(jit_compile=False), shape)
    batch = np.zeros((3, *shape.input_shape), dtype="int32" if task == "text" else "float32")
    out = np.asarray(model.predict_on_batch(batch))
    assert out.shape == (3, *shape.output_shape)
    if task != "forecast":
        assert np.allclose(out.sum(axis=1), 1, atol=1e-5)
    assert estimate(mspec, TrainSpec(), shape).params == model.count_params()


def test_memory_estimate_refuses_huge_models():
    from seqcore.modeling.models import check_fits

    shape = ModelShape("forecast", (500, 8), (24, 1))
    with pytest.raises(SpecError, match="MB"):
        check_fits(ModelSpec(units=(4096, 4096, 4096)), TrainSpec(batch_size=4096, max_memory_mb=1024), shape)
    est = check_fits(ModelSpec(units=(64,)), TrainSpec(), shape)
    assert est.params > 0 and est.memory_mb < 1024


def test_gpu_kernel_note_for_recurrent_dropout():
    est = estimate(ModelSpec(recurrent_dropout=0.2), TrainSpec(), ModelShape("forecast", (10, 1), (1, 1)))
    assert not est.gpu_kernel and "cuDNN" in est.gpu_notes[0]


def test_csv_export_escapes_formulas_but_not_numbers():
    import pandas as pd

    df = pd.DataFrame({"=cmd": ["=1+1", "@SUM(A1)", "+x", "plain", "-2"], "v": [-1.5, 2, 3, 4, 5]})
    text = csv_bytes(df).decode()
    assert text.splitlines()[0] == "'=cmd,v"
    assert "'=1+1" in text and "'@SUM(A1)" in text and "'+x" in text and "'-2" in text
    assert "-1.5" in text and "'-1.5" not in text


def test_relative_windows_learn_changes_from_the_last_value():
    n = 30
    series = np.arange(n, dtype=np.float32)[:, None] * 2
    src = WindowSource(series, series, np.array([10, 20]), window=4, horizon=2, relative=True)
    x, y = src.gather(np.array([0, 1]))
    # inputs and targets are measured from the last value before the origin
    assert x[0, :, 0].tolist() == [-6, -4, -2, 0]
    assert y[0, :, 0].tolist() == [2, 4]
    assert (src.last_values(np.array([1]))[:, 0, 0] == 38).all()
    # adding the reference back gives the real targets
    assert (y[1, :, 0] + 38).tolist() == [40, 42]
