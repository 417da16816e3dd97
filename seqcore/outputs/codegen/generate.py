"""Assembles a generated script: :func:`training_script` checks the spec and the CSV format, then
joins the header, the settings and the fixed code blocks for the run's task.

Order of a script: header (``preamble.HEADER``), settings (:mod:`.settings`), reading the CSV
(``preamble.READ_CSV``), 2. preprocessing (:mod:`.forecast`, or ``classify.LABELS`` plus
:mod:`.classify` or :mod:`.text`), 3. the network (:mod:`.network`), 4. training and 5. test
metrics (:mod:`.training`), then ``main``.
"""

from __future__ import annotations

import datetime as _dt

from seqcore.config import RunSpec
from seqcore.data.text import TOKENIZER, token_pattern
from seqcore.errors import SpecError
from seqcore.outputs.codegen.classify import CLASSIFY_PREP, LABELS
from seqcore.outputs.codegen.covariates import COVARIATES_PREP
from seqcore.outputs.codegen.forecast import FORECAST_PREP
from seqcore.outputs.codegen.network import (CLASSIFY_MODEL, FORECAST_MODEL, REAL_STEPS_CLASSIFY, REAL_STEPS_TEXT,
                                             RNN_STACK, RNN_STACK_POOLED)
from seqcore.outputs.codegen.preamble import HEADER, READ_CSV
from seqcore.outputs.codegen.settings import raw_literal, settings_block
from seqcore.outputs.codegen.text import TEXT_PREP
from seqcore.outputs.codegen.training import CLASSIFY_EVAL, FORECAST_EVAL, MAIN, TRAIN

DEFAULT_CSV_FORMAT = {"delimiter": ",", "decimal": ".", "thousands": None, "encoding": "utf-8", "header": None}



def _flags_lit(flags: int) -> str:
    """``re`` flags as Python code, e.g. ``re.UNICODE | re.IGNORECASE``."""
    import re

    names = [f"re.{f.name}" for f in (re.ASCII, re.IGNORECASE, re.LOCALE, re.MULTILINE, re.DOTALL, re.UNICODE,
                                     re.VERBOSE) if flags & f]
    return " | ".join(names) or "0"



def _csv_format(csv_format: dict | None) -> dict:
    fmt = dict(DEFAULT_CSV_FORMAT)
    for k, v in (csv_format or {}).items():
        if k in fmt and v is not None:
            fmt[k] = v
    if csv_format and "thousands" in csv_format:
        fmt["thousands"] = csv_format["thousands"] or None
    if fmt["delimiter"] not in (",", ";", "\t", "|", " "):
        raise SpecError(f"delimiter must be one of comma, semicolon, tab, '|' or spaces; got {fmt['delimiter']!r}.")
    if fmt["decimal"] not in (".", ","):
        raise SpecError(f"decimal mark must be '.' or ','; got {fmt['decimal']!r}.")
    return fmt



def _describe(spec: RunSpec, layout: str | None) -> str:
    m, d = spec.model, spec.data
    stack = " + ".join(str(u) for u in m.units)
    cell = ("bidirectional " if m.bidirectional else "") + m.cell.upper()
    what = {"forecast": f"Forecast {d.horizon} step{'s' if d.horizon != 1 else ''} ahead from the last {d.window} rows",
            "classify": f"Classify sequences ({layout} layout)",
            "text": "Classify texts"}[d.task]
    article = "an" if cell[0] in "AEIOUaeiou" or cell.startswith("LSTM") else "a"
    return f"{what} with {article} {cell} network ({stack} units)."



def _members_words(spec: RunSpec, members: int | None) -> str:
    """The header's paragraph on a seed ensemble (seqcore.modeling.ensemble): the script trains one network."""
    task = spec.data.task
    if task == "forecast":
        return ""
    k = members if members is not None else spec.train.members
    if k == 1:
        return ""
    if k and k > 1:
        head = (f"The app trained {k} networks that differ only in their seed and averaged their class\n"
                f"probabilities (a seed ensemble); this script trains ONE of them (seed SEED).")
    else:
        head = ("The app may train several networks that differ only in their seed and average their class\n"
                "probabilities (a seed ensemble, automatic on small training sets); this script trains ONE.")
    return ("\n\n" + head + " To do what the\napp did, run it once per seed and average the "
            "networks' predicted probabilities.")


def training_script(spec: RunSpec, *, csv_name: str = "data.csv", csv_format: dict | None = None,
                    created: str | None = None, members: int | None = None) -> str:
    """A complete, self-contained Python script that trains the same model on the same CSV.

    spec:       the run's spec (validated here)
    csv_name:   the default CSV path inside the script (a command-line argument overrides it)
    csv_format: how to read the file: ``{"delimiter", "decimal", "thousands", "encoding"}``
                (``seqcore.data.io.CsvFormat.to_dict()``; delimiter " " = runs of spaces), and optionally
                ``"header"`` (True/False as the file was read); missing keys take comma / point / none / UTF-8
                / detect
    created:    a date/time text for the header (default: today)
    members:    the networks the app averaged for this run (its ``metrics["ensemble"]["members"]``); the
                script trains one and its header says so (None: what ``spec.train.members`` asks for)
    Raises :class:`SpecError` for an invalid spec or format.
    """
    spec = spec.validate()
    fmt = _csv_format(csv_format)
    task = spec.data.task
    layout = None
    if task == "classify":
        layout = spec.data.layout if spec.data.layout != "auto" else ("long" if spec.data.id else "wide")
    created = created or _dt.date.today().isoformat()
    header = HEADER.format(
        title=_describe(spec, layout), created=created, script_name=f"train_{task}.py",
        second_arg=" [path/to/test.csv]" if task != "forecast" else "",
        default_csv="the CSV_FILE setting below",
        extra_needs=("\nWith pretrained word vectors it also reads the GloVe files in WORD_VECTORS_DIR."
                     if task == "text" and spec.model.word_vectors != "none" else ""),
        extra_state={"forecast": " means and standard deviations", "classify": ", sequence length, class names",
                     "text": ", vocabulary, class names"}[task],
        extra_imports={"text": "import re\nfrom collections import Counter\n", "forecast": "import re\n"}.get(task, ""),
        keras_names="layers" if task == "forecast" else "layers, ops",  # ops: the pooling
    )
    note = _members_words(spec, members)
    if note:   # at the end of the docstring's opening paragraph
        header = header.replace("reproducible.\n\"\"\"", "reproducible." + note + "\n\"\"\"", 1)
    parts = [header, settings_block(spec, csv_name, fmt, layout), READ_CSV]
    if task == "forecast":
        parts += [FORECAST_PREP, COVARIATES_PREP, FORECAST_MODEL.format(rnn_stack=RNN_STACK), TRAIN, FORECAST_EVAL]
        read_block = "    data = prepare(read_table(path))"
        build_call = 'build_model(data["x_train"].shape[1:], len(TARGETS))'
    else:
        parts.append(LABELS)
        if task == "classify":
            parts.append(CLASSIFY_PREP)
            model = CLASSIFY_MODEL.format(
                what="masking of the padding", args="input_shape, n_classes, masking", task=task,
                real_steps=REAL_STEPS_CLASSIFY,
                shapes="input (batch, steps, features) float -> output (batch, classes) probabilities.",
                input_block=('    inputs = keras.Input(shape=input_shape, name="inputs", dtype="float32")\n'
                             "    x = inputs\n"
                             "    if masking:  # skip the padded steps at the end of shorter sequences\n"
                             '        x = layers.Masking(mask_value=PAD_VALUE, name="masking")(x)\n'
                             "    pairs = None  # (word pairs are for texts)\n"
                             "    conv = conv_branch(inputs, real_steps(inputs, masking)) if CONV else None"),
                rnn_stack=RNN_STACK_POOLED.replace("REAL_STEPS", "real_steps(inputs, masking)"))
            build_call = 'build_model(data["x_train"].shape[1:], len(data["class_names"]), data["masking"])'
        else:
            pattern = token_pattern(TOKENIZER)
            parts.append(TEXT_PREP.replace("__TOKEN_PATTERN__", raw_literal(pattern.pattern))
                         .replace("__TOKEN_FLAGS__", _flags_lit(pattern.flags))
                         .replace("__TOKENIZER__", repr(int(TOKENIZER))))
            model = CLASSIFY_MODEL.format(
                what="word vectors", args="input_shape, n_classes, vocab_size, words, vectors", task=task,
                real_steps=REAL_STEPS_TEXT,
                shapes=("input (batch, MAX_LEN) word ids -> output (batch, classes) probabilities.\n"
                        '    words: the vocabulary (word i has id i + 2); vectors: "pretrained" or "none".'),
                input_block=(
                    '    inputs = keras.Input(shape=input_shape, name="inputs", dtype="int32")\n'
                    "    # one vector per word id; mask_zero=True makes the layers skip the padding\n"
                    '    matrix = initial_embedding(words) if vectors != "none" else None\n'
                    "    dim = EMBEDDING_DIM if matrix is None else matrix.shape[1]\n"
                    '    embedding = layers.Embedding(vocab_size, dim, mask_zero=True, name="embedding")\n'
                    "    x = embedding(inputs)\n"
                    "    if matrix is not None:  # start from the pretrained vectors; training fine-tunes them\n"
                    "        embedding.set_weights([matrix])\n"
                    "    if EMBEDDING_DROPOUT > 0:  # whole word vectors switched off while training\n"
                    '        x = layers.SpatialDropout1D(EMBEDDING_DROPOUT, name="embedding_dropout")(x)\n'
                    "    pairs = word_pairs(inputs) if WORD_PAIRS > 0 else None\n"
                    "    conv = None  # (the convolution front end is for sequences)"),
                rnn_stack=RNN_STACK_POOLED.replace("REAL_STEPS", "real_steps(inputs)"))
            build_call = ('build_model(data["x_train"].shape[1:], len(data["class_names"]), data["vocab_size"],\n'
                          '                        data["words"], data["word_vectors"])')
        parts += [model, TRAIN, CLASSIFY_EVAL]
        read_block = ("    test_df = read_table(sys.argv[2]) if len(sys.argv) > 2 else None  # optional separate test file\n"
                      "    data = prepare(read_table(path), test_df)")
    parts.append(MAIN.format(read_block=read_block, build_call=build_call))
    script = "".join(parts)
    compile(script, "training_script.py", "exec")  # a generated script always parses
    return script



def script_filename(spec: RunSpec) -> str:
    """A download name for the script, e.g. ``train_forecast_lstm.py``."""
    return f"train_{spec.data.task}_{spec.model.cell}.py"
