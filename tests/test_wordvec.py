"""Pretrained word vectors (seqcore/wordvec.py), tokenizer versions and how text models use them."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from seqcore.data import wordvec
from seqcore.config import DataSpec, ModelSpec, TrainSpec
from seqcore.errors import SpecError
from seqcore.modeling.models import ModelShape, estimate, word_vectors
from seqcore.data.text import Vocabulary, tokenize


def test_shipped_table_is_the_documented_glove_subset():
    table = wordvec.load("glove-50")
    assert table.vectors.shape == (100_000, 50) and table.vectors.dtype == np.float16
    assert table.words[:4] == ("the", ",", ".", "of") and len(set(table.words)) == 100_000
    # the official glove.6B.50d vector of "the" starts 0.418 0.24968 -0.41242
    np.testing.assert_allclose(table.vectors[0, :3].astype(np.float32), [0.418, 0.24968, -0.41242], atol=1e-3)
    notice = (wordvec.ASSETS / "glove_6b_50d" / "NOTICE.txt").read_text()
    for name in ("vectors.npy", "words.txt"):
        assert hashlib.sha256((wordvec.ASSETS / "glove_6b_50d" / name).read_bytes()).hexdigest() in notice
    # related words are closer than unrelated ones: the vectors carry meaning
    v = {w: table.vectors[table.index[w]].astype(np.float32) for w in ("good", "great", "terrible", "carbon")}
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert cos(v["good"], v["great"]) > cos(v["good"], v["carbon"])


def test_tokenizer_v2_splits_english_clitics_and_v1_stays_for_old_bundles():
    assert tokenize("It doesn't, it's 'odd'") == ["it", "does", "n't", ",", "it", "'s", "'", "odd", "'"]
    assert tokenize("It doesn't", version=1) == ["it", "doesn't"]
    old = Vocabulary.from_dict({"words": ["doesn't"], "lowercase": True, "max_len": 4})
    assert old.tokenizer == 1 and old.encode(["doesn't"]).tolist() == [[2, 0, 0, 0]]
    new = Vocabulary.build(["it doesn't"], 100, 4)
    assert new.to_dict()["tokenizer"] == 2 and Vocabulary.from_dict(new.to_dict()).tokenizer == 2
    with pytest.raises(ValueError):
        Vocabulary.from_dict({"words": [], "lowercase": True, "max_len": 4, "tokenizer": 9})


def test_auto_uses_pretrained_vectors_for_english_and_learns_from_scratch_otherwise():
    english = wordvec.resolve("auto", {"the": 5, "movie": 3, "was": 2, "qqzzx": 1})
    assert english[0] == "glove-50" and english[1] == pytest.approx(10 / 11)
    codes = wordvec.resolve("auto", {"x1f9": 5, "k77q": 5, "the": 1})
    assert codes[0] == "none" and codes[1] < wordvec.AUTO_MIN_COVERAGE
    assert wordvec.resolve("none", {"the": 1}) == ("none", None)
    assert wordvec.resolve("glove-50", {"x1f9": 1})[0] == "glove-50"
    with pytest.raises(SpecError):
        wordvec.resolve("word2vec", {})
    with pytest.raises(SpecError):
        ModelSpec(word_vectors="word2vec").validate()


def test_init_matrix_copies_known_words_and_draws_the_rest():
    table = wordvec.load("glove-50")
    m, found = wordvec.init_matrix("glove-50", ["good", "qqzzx-unknown"], seed=1)
    assert m.shape == (4, 50) and m.dtype == np.float32 and found == 1
    assert not m[0].any()                                             # padding
    np.testing.assert_array_equal(m[2], table.vectors[table.index["good"]].astype(np.float32))
    assert 0.1 < m[3].std() < 2.0                                     # unknown: drawn at the table's scale
    again, _ = wordvec.init_matrix("glove-50", ["good", "qqzzx-unknown"], seed=1)
    np.testing.assert_array_equal(m, again)


def test_model_uses_the_table_size_and_estimate_says_so():
    shape = ModelShape(task="text", input_shape=(10,), output_shape=(2,), vocab_size=100, vector_coverage=0.97)
    assert word_vectors(ModelSpec(embedding_dim=64), shape) == ("glove-50", 50)
    assert word_vectors(ModelSpec(embedding_dim=64, word_vectors="none"), shape) == ("none", 64)
    low = ModelShape(task="text", input_shape=(10,), output_shape=(2,), vocab_size=100, vector_coverage=0.2)
    assert word_vectors(ModelSpec(embedding_dim=64), low) == ("none", 64)
    est = estimate(ModelSpec(embedding_dim=64), TrainSpec(), shape)
    assert est.layers[0]["params"] == 100 * 50 and "GloVe" in est.layers[0]["name"]
    fc = ModelShape(task="forecast", input_shape=(10, 1), output_shape=(1, 1))
    assert word_vectors(ModelSpec(), fc)[0] == "none"
    assert ModelShape.from_dict(shape.to_dict()) == shape
    assert ModelShape.from_dict({k: v for k, v in shape.to_dict().items() if k != "vector_coverage"}).vector_coverage is None


def test_text_run_starts_from_glove_and_the_bundle_predicts(tmp_path):
    pytest.importorskip("keras")
    from seqcore.config import RunSpec
    from seqcore.pipeline import predict_from_bundle, run_training

    rows = [("a truly wonderful , moving film", "fresh"), ("dull , tedious and boring", "rotten"),
            ("it's great fun", "fresh"), ("the plot doesn't work", "rotten")] * 15
    csv = pd.DataFrame(rows, columns=["text", "label"]).to_csv(index=False).encode()
    spec = RunSpec(data=DataSpec(task="text", text="text", label="label", max_len=8),
                   model=ModelSpec(units=(4,)), train=TrainSpec(epochs=2, batch_size=8, seed=5))
    res = run_training(csv, spec, tmp_path / "b")
    assert any("pretrained GloVe" in n for n in res.metrics["notes"])
    import keras

    net = keras.saving.load_model(str(res.bundle_dir / "model.keras"), safe_mode=True)
    emb = net.get_layer("embedding").get_weights()[0]
    assert emb.shape[1] == 50
    out = predict_from_bundle(res.bundle_dir, pd.DataFrame({"text": ["wonderful film", "boring"]}).to_csv(index=False).encode())
    assert len(out) == 2
