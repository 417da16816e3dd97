"""Text classification: a text column and a label column.

The vocabulary is built on the training split only; texts become (max_len,) int ids,
right-padded with 0 and masked by the embedding layer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.config import DataSpec
from seqcore.errors import DataError
from seqcore.modeling.models import ModelShape
from seqcore.data import wordvec
from seqcore.data.text import Vocabulary, count_tokens
from seqcore.data.windows import ArraySource
from seqcore.modeling.tasks.common import (Prepared, baseline_outputs, encode_labels, evaluate_classification, labels_as_strings,
                     probability_frame, require_columns, stratified_split, train_on_small_validation)


def _texts(df: pd.DataFrame, col: str) -> list[str]:
    return ["" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v) for v in df[col].tolist()]


def _labelled(df: pd.DataFrame, spec: DataSpec, what: str):
    require_columns(df, [spec.text, spec.label], what=what)
    notes = []
    missing = df[spec.label].isna()
    if missing.any():
        if spec.missing == "error":
            line = int(np.argmax(missing.to_numpy())) + 2
            raise DataError(f"Column '{spec.label}' has {int(missing.sum())} empty label(s) (first on line {line}).",
                            hint="Choose 'drop rows' for missing values, or fill in the labels.")
        notes.append(f"{int(missing.sum())} row(s) without a label were left out.")
        df = df[~missing]
    texts = _texts(df, spec.text)
    empty = sum(1 for t in texts if not t.strip())
    if empty == len(texts):
        raise DataError(f"Column '{spec.text}' has no text.", hint="Pick the column that holds the texts.")
    if empty:
        notes.append(f"{empty} row(s) have an empty text.")
    return texts, labels_as_strings(df[spec.label]), notes


def prepare(df: pd.DataFrame, spec: DataSpec, *, test_df: pd.DataFrame | None = None, seed: int = 0) -> Prepared:
    spec.validate()
    texts, labels, notes = _labelled(df, spec, "the data")
    y, names = encode_labels(labels, column=spec.label)
    if test_df is not None:
        t_texts, t_labels, t_notes = _labelled(test_df, spec, "the test file")
        notes += [f"Test file: {n}" for n in t_notes]
        unknown = sorted(set(t_labels) - set(names))
        if unknown:
            raise DataError(f"The test file has label(s) that the training file never uses: {', '.join(unknown[:5])}.",
                            hint="Make sure both files use the same class names.")
        index = {n: i for i, n in enumerate(names)}
        tr, va, _, split_notes = stratified_split(y, spec.val_fraction, 0.0, seed, class_names=names)
        te = np.arange(len(texts), len(texts) + len(t_texts))
        texts = texts + t_texts
        y = np.concatenate([y, t_labels.map(index).to_numpy(dtype=np.int64)])
    else:
        tr, va, te, split_notes = stratified_split(y, spec.val_fraction, spec.test_fraction, seed, class_names=names)
        if len(te) == 0:
            raise DataError("There are too few rows for a test set.",
                            hint="Upload more rows or raise the test fraction.")
    notes += split_notes
    tr, va, small_note = train_on_small_validation(tr, va)
    notes += small_note
    counts = count_tokens([texts[i] for i in tr], spec.lowercase)   # training texts only
    vocab = Vocabulary.from_counts(counts, spec.max_vocab, spec.max_len, spec.lowercase)
    vector_coverage = round(wordvec.coverage(wordvec.AUTO_TABLE, counts), 4)
    x = vocab.encode(texts)
    n_tokens = np.array([len(t.split()) for t in texts])
    if (n_tokens[tr] > spec.max_len).mean() > 0.1:
        notes.append(f"More than 10% of texts are longer than {spec.max_len} words and were cut; "
                     "raise 'max length' to keep more of each text.")
    state = {
        "task": "text", "text": spec.text, "label": spec.label, "class_names": names,
        "vocab": vocab.to_dict(), "max_len": spec.max_len, "missing": spec.missing,
        "columns": {spec.text: "text"},
    }
    shape = ModelShape(task="text", input_shape=(spec.max_len,), output_shape=(len(names),), vocab_size=vocab.size,
                       vector_coverage=vector_coverage)
    texts_arr = np.asarray(texts, dtype=object)
    return Prepared(
        task="text", shape=shape, train=ArraySource(x[tr], y[tr]), val=ArraySource(x[va], y[va]) if len(va) else None,
        test=ArraySource(x[te], y[te]), state=state, notes=notes,
        # baselines have nothing to tune, so they learn from everything the model saw (train + validation)
        extra={"y_train": y[np.concatenate([tr, va])], "y_test": y[te],
               "texts_train": texts_arr[np.concatenate([tr, va])].tolist(),
               "texts_test": texts_arr[te].tolist(), "vocab_coverage": vocab.coverage(texts_arr[te].tolist())},
    )


def evaluate(prep: Prepared, outputs: np.ndarray) -> tuple[dict, pd.DataFrame]:
    from seqcore.modeling.baselines import bag_of_words_baseline, majority_baseline

    ex, c = prep.extra, len(prep.state["class_names"])
    base = baseline_outputs(prep, lambda: {
        "majority_class": majority_baseline(ex["y_train"], len(ex["y_test"]), c),
        "bag_of_words": bag_of_words_baseline(ex["texts_train"], ex["y_train"], ex["texts_test"], c),
    })
    return evaluate_classification(prep, np.asarray(outputs, dtype=np.float64), base,
                                   pd.DataFrame({"text": ex["texts_test"]}))


def required_columns(state: dict) -> dict[str, str]:
    return dict(state["columns"])


def predict_new(state: dict, spec: DataSpec, df: pd.DataFrame, predict_fn) -> pd.DataFrame:
    require_columns(df, [state["text"]], what="the uploaded data")
    texts = _texts(df, state["text"])
    vocab = Vocabulary.from_dict(state["vocab"])
    proba = np.asarray(predict_fn(vocab.encode(texts)), dtype=np.float64)
    frame = probability_frame(proba, state["class_names"], pd.DataFrame({"text": texts}))
    if state["label"] in df.columns:
        frame.insert(1, "actual", labels_as_strings(df[state["label"]]).to_numpy())
    return frame
