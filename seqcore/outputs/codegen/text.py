"""Section 2 of a text-classification script: tokenising, the vocabulary, word ids and the pretrained
word vectors, as ``seqcore.data.text`` / ``seqcore.data.wordvec`` / ``seqcore.modeling.tasks.text`` do.

``__TOKEN_PATTERN__``, ``__TOKEN_FLAGS__`` and ``__TOKENIZER__`` are filled in by
:func:`seqcore.outputs.codegen.generate.training_script` from ``seqcore.data.text``.
"""

from __future__ import annotations

TEXT_PREP = '''

# =============================================================================
# 2. Preprocessing: words -> ids with a vocabulary built on the training texts
# =============================================================================
# A token is a word (letters, digits, _), an English clitic split off the word before it ("doesn't" ->
# "does" "n't", "it's" -> "it" "'s", as GloVe's own tokenizer did) or one punctuation mark.
TOKEN = re.compile(__TOKEN_PATTERN__, __TOKEN_FLAGS__)
TOKENIZER = __TOKENIZER__                      # Sequence Studio's number for this way of tokenising
PAD_ID, UNKNOWN_ID = 0, 1                      # id 0 pads short texts, id 1 is any word not in the vocabulary


def tokenize(text):
    text = "" if text is None else str(text)
    return TOKEN.findall(text.lower() if LOWERCASE else text)


def count_tokens(texts):
    """Token -> how often it occurs in texts."""
    counts = Counter()
    for t in texts:
        counts.update(tokenize(t))
    return counts


def build_vocabulary(texts):
    """The MAX_VOCAB - 2 most frequent words of the training texts (ties alphabetically); word i gets id i + 2."""
    ranked = sorted(count_tokens(texts).items(), key=lambda kv: (-kv[1], kv[0]))
    return {word: i + 2 for i, (word, _) in enumerate(ranked[: max(0, MAX_VOCAB - 2)])}


def encode(texts, vocabulary):
    """(n,) texts -> (n, MAX_LEN) int32 ids: the first MAX_LEN tokens, right-padded with 0."""
    out = np.zeros((len(texts), MAX_LEN), dtype=np.int32)
    for r, t in enumerate(texts):
        ids = [vocabulary.get(tok, UNKNOWN_ID) for tok in tokenize(t)[:MAX_LEN]]
        out[r, : len(ids)] = ids
    return out


_TABLE = {}  # the word-vector table, read once


def word_vector_table():
    """The pretrained word vectors in WORD_VECTORS_DIR: (word -> row, (words, dim) array).
    vectors.npy is a plain array (read with allow_pickle=False), words.txt one word a line."""
    if "vectors" not in _TABLE:
        vectors_file = os.path.join(WORD_VECTORS_DIR, "vectors.npy")
        words_file = os.path.join(WORD_VECTORS_DIR, "words.txt")
        if not (os.path.isfile(vectors_file) and os.path.isfile(words_file)):
            raise SystemExit(
                f"Word vectors not found: WORD_VECTORS_DIR ({WORD_VECTORS_DIR}) should hold vectors.npy and "
                "words.txt (Sequence Studio ships them in seqcore/assets/glove_6b_50d). Point WORD_VECTORS_DIR "
                'at a copy of that folder, or set WORD_VECTORS = "none" to learn the word vectors from scratch.')
        vectors = np.load(vectors_file, allow_pickle=False)
        with open(words_file, encoding="utf-8") as f:
            words = f.read().split("\\n")[: vectors.shape[0]]
        if vectors.ndim != 2 or len(words) != vectors.shape[0]:
            raise SystemExit(f"The word vectors in {WORD_VECTORS_DIR} are damaged ({len(words)} words, "
                             f"{len(vectors)} vectors). Copy them again, or set WORD_VECTORS = 'none'.")
        _TABLE["index"] = {w: i for i, w in enumerate(words)}
        _TABLE["vectors"] = vectors
    return _TABLE["index"], _TABLE["vectors"]


def choose_word_vectors(train_texts):
    """("pretrained" or "none", share of the training tokens the table knows, or None without a table).
    "auto" takes the pretrained vectors when at least AUTO_MIN_COVERAGE of the training tokens (counted
    with repeats) are in the table, i.e. the texts are English; otherwise they are learned from scratch."""
    if WORD_VECTORS == "none":
        return "none", None
    index, _ = word_vector_table()
    counts = count_tokens(train_texts)
    total = sum(counts.values())
    coverage = round(sum(n for w, n in counts.items() if w in index) / total, 4) if total else 0.0
    if WORD_VECTORS == "auto" and coverage < AUTO_MIN_COVERAGE:
        print(f"Word vectors: learned from scratch (the pretrained table knows only {coverage:.0%} of the "
              "training words)")
        return "none", coverage
    print(f"Word vectors: pretrained, fine-tuned while training (the table knows {coverage:.0%} of the "
          "training words)")
    return "pretrained", coverage


def initial_embedding(words):
    """(len(words) + 2, dim) float32 starting word vectors: row 0 (padding) zeros, the words the table
    knows get its vectors, the unknown-word row and the other words random ones at the table's scale."""
    index, vectors = word_vector_table()
    rng = np.random.default_rng(SEED)
    scale = float(np.std(vectors[:5000].astype(np.float32)))
    out = rng.normal(0.0, scale, size=(len(words) + 2, vectors.shape[1])).astype(np.float32)
    out[0] = 0.0
    for i, w in enumerate(words):
        j = index.get(w)
        if j is not None:
            out[i + 2] = vectors[j]
    return out


def labelled_texts(df):
    """(texts, labels as strings); rows without a label stop the script or are left out."""
    require_columns(df, [TEXT_COLUMN, LABEL_COLUMN])
    missing = df[LABEL_COLUMN].isna()
    if missing.any():
        if MISSING_VALUES == "error":
            fail(f"column {LABEL_COLUMN!r} has {int(missing.sum())} empty label(s); set MISSING_VALUES to drop.")
        df = df[~missing]
    texts = ["" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v) for v in df[TEXT_COLUMN].tolist()]
    if not any(t.strip() for t in texts):
        fail(f"column {TEXT_COLUMN!r} has no text.")
    return texts, labels_as_strings(df[LABEL_COLUMN])


def prepare(df, test_df=None):
    texts, labels = labelled_texts(df)
    y, class_names = encode_labels(labels)
    y_test_file = None
    n_train_file = len(texts)
    if test_df is not None:
        test_texts, test_labels = labelled_texts(test_df)
        y_test_file, _ = encode_labels(test_labels, known=class_names)
        texts, y = texts + test_texts, np.concatenate([y, y_test_file])
    train, val, test = split_examples(y[:n_train_file], y_test_file)
    train_texts = [texts[i] for i in train]
    vocabulary = build_vocabulary(train_texts)  # training texts only
    vectors, coverage = choose_word_vectors(train_texts)
    x = encode(texts, vocabulary)
    words = sorted(vocabulary, key=vocabulary.get)  # words[i] has id i + 2
    data = {"class_names": class_names, "vocab_size": len(vocabulary) + 2, "words": words,
            "word_vectors": vectors, "vector_coverage": coverage, "x_val": None, "y_val": None}
    for part, idx in (("train", train), ("val", val), ("test", test)):
        if part == "val" and len(idx) == 0:
            continue
        data["x_" + part], data["y_" + part] = x[idx], y[idx]
    data["state"] = {"class_names": class_names, "max_len": MAX_LEN, "lowercase": LOWERCASE,
                     "tokenizer": TOKENIZER, "words": words}
    return data
'''
