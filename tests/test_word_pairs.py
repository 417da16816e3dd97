"""Word-pair (bigram) vectors for text models: the hashed ids, the network, the bundle round trip."""

import io

import numpy as np
import pandas as pd
import pytest

from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.modeling.models import PAIR_BUCKETS, ModelShape, estimate, pair_ids


def test_pair_ids_stay_in_range_without_overflow_and_skip_padding():
    ids = np.array([[5, 9, 1, 0, 0], [1_000_001, 999_999, 2, 3, 7]], dtype=np.int64)
    rows = pair_ids(ids, np)
    assert rows.shape == (2, 4)
    assert rows[0].tolist()[2:] == [0, 0]                       # a pair with padding has no row
    assert ((rows[rows > 0] >= 1) & (rows[rows > 0] < PAIR_BUCKETS)).all()
    big = np.array([[PAIR_BUCKETS - 1, 1_000_002]], dtype=np.int64)
    # the largest intermediate value fits in int32, so every backend computes the same row
    assert (PAIR_BUCKETS - 1) * 20261 + (PAIR_BUCKETS - 1) * 12503 < 2**31
    assert pair_ids(big.astype(np.int32), np).tolist() == pair_ids(big, np).tolist()
    # order matters: "not good" and "good not" are different pairs
    assert pair_ids(np.array([[4, 7]]), np)[0, 0] != pair_ids(np.array([[7, 4]]), np)[0, 0]


def test_keras_computes_the_same_rows_as_numpy():
    keras = pytest.importorskip("keras")
    ids = np.random.default_rng(0).integers(0, 20_000, size=(8, 30)).astype(np.int32)
    ids[:, 20:] = 0
    assert np.array_equal(np.asarray(pair_ids(keras.ops.convert_to_tensor(ids), keras.ops)), pair_ids(ids, np))


def test_word_pairs_validated_and_counted_in_the_estimate():
    with pytest.raises(SpecError, match="word-pair"):
        ModelSpec(word_pairs=-1).validate()
    shape = ModelShape(task="text", input_shape=(24,), output_shape=(2,), vocab_size=500)
    off = estimate(ModelSpec(units=(8,), word_vectors="none", embedding_dim=8), TrainSpec(), shape)
    on = estimate(ModelSpec(units=(8,), word_vectors="none", embedding_dim=8, word_pairs=4), TrainSpec(), shape)
    assert on.params - off.params == PAIR_BUCKETS * 4 + 4 * 2         # the pair table + the wider output layer
    assert any("Word-pair" in layer["name"] for layer in on.layers)
    # forecasting and sequence classification ignore the setting
    fshape = ModelShape(task="classify", input_shape=(10, 2), output_shape=(3,))
    assert estimate(ModelSpec(units=(8,), word_pairs=4), TrainSpec(), fshape).params == \
        estimate(ModelSpec(units=(8,)), TrainSpec(), fshape).params


def test_text_run_with_word_pairs_round_trips_through_a_safe_bundle(tmp_path, sample_bytes):
    pytest.importorskip("keras")
    from seqcore.outputs.bundle import load_bundle
    from seqcore.pipeline import predict_from_bundle, run_training

    df = pd.read_csv(io.BytesIO(sample_bytes("rt_polarity_subset.csv"))).iloc[:400]
    data = df.to_csv(index=False).encode()
    spec = RunSpec(data=DataSpec(task="text", text="text", label="label", max_len=20, max_vocab=1500),
                   model=ModelSpec(units=(8,), word_vectors="none", embedding_dim=8, word_pairs=4,
                                   pooling="mean+max", embedding_dropout=0.1),
                   train=TrainSpec(epochs=2, batch_size=32, patience=0))
    res = run_training(data, spec, tmp_path / "run")
    b = load_bundle(res.bundle_dir)                                 # the config passes the allow-list
    names = [layer.name for layer in b.model.layers]
    assert "word_pairs" in names and "word_pair_dropout" in names
    est = estimate(spec.model, spec.train, b.shape)
    assert est.params == b.model.count_params()
    first = predict_from_bundle(res.bundle_dir, data)
    again = predict_from_bundle(res.bundle_dir, data)
    assert first.equals(again) and len(first) == len(df)
