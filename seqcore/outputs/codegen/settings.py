"""The settings block at the top of a generated script: every value of the run's spec as a Python
literal (written with :func:`repr`, so user text such as a column name is only ever a string),
one ``NAME = value  # comment`` line each.
"""

from __future__ import annotations

from seqcore.config import RunSpec
from seqcore.data import wordvec
from seqcore.modeling.models import PAD_VALUE
from seqcore.modeling.tasks.classify import RNN_STEPS
from seqcore.modeling.tasks.common import MIN_VALIDATION
from seqcore.modeling.training import selection_metric


def _missing_tokens() -> list[str]:
    from seqcore.data.io import MISSING_TOKENS

    return list(MISSING_TOKENS)



def _lit(value) -> str:
    """A Python literal for a setting (tuples become lists)."""
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)



def raw_literal(text: str) -> str:
    """A string literal that is easy to read: ``r"..."`` when the text allows it (paths, regular
    expressions), else :func:`repr`. Either way the script's value is exactly ``text``."""
    if '"' in text or text.endswith("\\") or not text.isprintable():
        return repr(text)
    return f'r"{text}"'



def _set(name: str, value, comment: str | None = None) -> str:
    """One settings line, ``NAME = <repr of value>  # comment`` with the comments aligned."""
    code = f"{name} = {_lit(value)}"
    if not comment:
        return code
    if len(code) > 60:  # a long value: the comment goes on the line above
        return f"# {comment}\n{code}"
    return f"{code.ljust(30)}  # {comment}"



def settings_block(spec: RunSpec, csv_name: str, fmt: dict, layout: str | None) -> str:
    d, m, t = spec.data, spec.model, spec.train
    lines = [
        "",
        "# =============================================================================",
        "# Settings (from Sequence Studio; change them here)",
        "# =============================================================================",
        _set("CSV_FILE", csv_name, "read when no path is given on the command line"),
        _set("CSV_DELIMITER", fmt['delimiter'], "' ' means: one or more spaces" if fmt['delimiter'] == " " else None),
        _set("CSV_HEADER", fmt.get('header'), "does the first line hold the column names? None = detect"),
        _set("CSV_DECIMAL", fmt['decimal'], "decimal mark of the numbers"),
        _set("CSV_THOUSANDS", fmt['thousands'], "thousands separator (None = none)"),
        _set("CSV_ENCODING", fmt['encoding']),
        _set("MISSING_MARKERS", _missing_tokens(), "cells that mean 'missing'"),
        "",
    ]
    if d.task == "forecast":
        lines += [
            "# data: predict the next HORIZON values of TARGETS from the last WINDOW rows",
            _set("TIME_COLUMN", d.time),
            _set("TIME_FORMAT", d.time_format, "how the times are written: None = detect; text, dayfirst, monthfirst, "
                 "yyyymmdd, unix_s, unix_ms, excel, number, or a pattern such as %d.%m.%Y"),
            _set("TIME_PART", d.time_part, "a column with the quarter/month/week inside the year in TIME_COLUMN"),
            _set("TARGETS", d.targets),
            _set("FEATURES", d.features, "extra input columns (not predicted)"),
            _set("KNOWN_FUTURE", d.known_future, "columns whose future values are known in advance (section 2b)"),
            _set("CALENDAR", d.calendar, "calendar features from the time column: auto | on | off"),
            _set("MISSING_VALUES", d.missing, "error | interpolate | ffill | drop"),
            _set("WINDOW", d.window),
            _set("HORIZON", d.horizon),
            _set("LOG_TRANSFORM", d.log_transform, "log(1 + x) of the targets before scaling"),
            _set("RELATIVE", d.relative, "learn changes from the last seen value (follows trends)"),
            _set("VAL_FRACTION", d.val_fraction, "the last rows are the test part; the ones before it validation"),
            _set("TEST_FRACTION", d.test_fraction),
        ]
    elif d.task == "classify":
        lines += [
            "# data: one class per sequence",
            _set("LAYOUT", layout, "wide: one row per sequence; long: one row per step"),
            _set("LABEL_COLUMN", d.label),
            _set("ID_COLUMN", d.id if layout == 'long' else None, "long layout: which sequence a row belongs to"),
            _set("ORDER_COLUMN", d.order if layout == 'long' else None, "long layout: step order (None = file order)"),
            _set("FEATURES", d.features, "value columns ([] = every other numeric column)"),
            _set("MISSING_VALUES", d.missing, "error | interpolate | ffill | drop"),
            _set("ZNORM", d.znorm, "scale each sequence on its own first"),
            _set("MAX_STEPS", d.max_steps, "longer sequences keep their last MAX_STEPS steps"),
            _set("GROUP_STEPS", d.group_steps, "steps the network reads at once (0 = auto)"),
            _set("RNN_STEPS", RNN_STEPS, "auto grouping keeps the recurrent layer this short"),
            _set("PAD_VALUE", PAD_VALUE, "fills the end of shorter sequences; masked out"),
            _set("VAL_FRACTION", d.val_fraction),
            _set("TEST_FRACTION", d.test_fraction),
            _set("MIN_VALIDATION", MIN_VALIDATION, "a smaller validation part joins training"),
        ]
    else:
        lines += [
            "# data: one class per text",
            _set("TEXT_COLUMN", d.text),
            _set("LABEL_COLUMN", d.label),
            _set("MISSING_VALUES", d.missing, "rows without a label: error, or left out otherwise"),
            _set("MAX_VOCAB", d.max_vocab, "vocabulary size, including the padding and unknown ids"),
            _set("MAX_LEN", d.max_len, "words kept per text"),
            _set("LOWERCASE", d.lowercase),
            _set("VAL_FRACTION", d.val_fraction),
            _set("TEST_FRACTION", d.test_fraction),
            _set("MIN_VALIDATION", MIN_VALIDATION, "a smaller validation part joins training"),
        ]
    lines += [
        "",
        "# model",
        _set("CELL", m.cell, "lstm or gru"),
        _set("UNITS", m.units, "one entry per stacked recurrent layer"),
        _set("BIDIRECTIONAL", m.bidirectional, "read sequences both ways"),
        _set("DROPOUT", m.dropout, "dropout after each recurrent layer (0 = none)"),
        _set("RECURRENT_DROPOUT", m.recurrent_dropout, "dropout inside the recurrence"),
        _set("DENSE_UNITS", m.dense_units, "hidden dense layer before the output (0 = none)"),
    ]
    if d.task != "forecast":
        lines.append(_set("POOLING", m.pooling,
                          "last | mean | mean+max | attention: what the last recurrent layer passes on"))
    if d.task == "classify":
        lines += _design_settings(m, t)
    if d.task == "text":
        lines += _word_vector_settings(m)
    lines += [
        "",
        "# training",
        _set("OPTIMIZER", t.optimizer),
        _set("LEARNING_RATE", t.learning_rate),
        _set("CLIPNORM", t.clipnorm, "gradient clipping by norm (None = off)"),
    ]
    if d.task == "forecast":
        lines.append(_set("LOSS", t.loss, "mse | mae | huber"))
    lines += [
        _set("BATCH_SIZE", t.batch_size),
        _set("EPOCHS", t.epochs),
        _set("PATIENCE", t.patience, "early stopping: epochs without improvement (0 = off)"),
        _set("MAX_UPDATES", t.max_updates, "at most this many weight updates in all: fewer epochs (and a shorter "
             "patience) on a big training set (0 = no limit)"),
        "# the epoch whose weights are kept, and what the plateau schedule watches (as in Sequence Studio)",
        _set("SELECT_BY", selection_metric(d.task, True),
             "with a validation part" + (" (ties: the lower val_loss)"
                                         if selection_metric(d.task, True) == "val_accuracy" else "")),
        _set("SELECT_BY_WITHOUT_VALIDATION", selection_metric(d.task, False)),
        _set("LR_SCHEDULE", t.lr_schedule, "none | plateau | cosine"),
        _set("SEED", t.seed),
        _set("FINAL_FIT", t.final_fit, "then retrain on training + validation data for the epochs validation picked"),
        _set("JIT_COMPILE", t.jit_compile, "XLA compilation (faster on CPU)"),
        _set("MODEL_FILE", "model.keras", "where the trained model is saved"),
    ]
    return "\n".join(lines) + "\n"



def _word_vector_settings(m) -> list[str]:
    """The text model's word-vector settings: the choice, the table's folder (an absolute path on the
    machine that generated the script) and the "auto" threshold."""
    table = wordvec.AUTO_TABLE if m.word_vectors in ("auto", "none") else m.word_vectors
    folder = wordvec.ASSETS / wordvec.TABLES[table][0]
    return [
        _set("WORD_VECTORS", m.word_vectors, "auto | glove-50 | none (learn them from scratch)"),
        _set("EMBEDDING_DROPOUT", m.embedding_dropout, "share of word vectors switched off while training"),
        _set("EMBEDDING_DIM", m.embedding_dim, "size of each word vector learned from scratch"),
        _set("WORD_PAIRS", m.word_pairs, "size of the vector learned for each pair of neighbouring words (0 = off)"),
        "# GloVe 6B 50d word vectors (Stanford NLP, public domain: PDDL 1.0), shipped with Sequence Studio:",
        "# vectors.npy (float16, one row a word) and words.txt (one word a line). To use them elsewhere,",
        "# copy the folder and point WORD_VECTORS_DIR at the copy; pretrained vectors have 50 numbers a word",
        "# (EMBEDDING_DIM is then not used).",
        f"WORD_VECTORS_DIR = {raw_literal(str(folder))}",
        _set("AUTO_MIN_COVERAGE", wordvec.AUTO_MIN_COVERAGE,
             '"auto" uses them when they know this share of the training words'),
    ]


def _design_settings(m, t) -> list[str]:
    """CONV (the convolution front end) and a plain word on augmentation, which the script leaves out."""
    if m.conv == "auto":
        conv = _set("CONV", False, "convolution front end beside the recurrent layer; the app chose it per data "
                                   "set ('auto', by cross-validation on the training part), which this script "
                                   "does not do: set True to add it")
    else:
        conv = _set("CONV", m.conv == "on", "convolution front end beside the recurrent layer (LSTM-FCN style)")
    out = [conv]
    if t.augment != "off":
        out.append("# The app " + ("may augment" if t.augment == "auto" else "augments")
                   + " the training batches (jitter, scaling, window slicing: seqcore/modeling/augment.py);")
        out.append("# this script trains on the sequences as they are.")
    return out
