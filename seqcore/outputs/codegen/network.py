"""Section 3 of a script: the network, as ``seqcore.modeling.models`` builds it.

``FORECAST_MODEL`` (windows -> all HORIZON steps at once) and ``CLASSIFY_MODEL`` (sequences or
word ids -> class probabilities, with optional pooling) take the recurrent stack ``RNN_STACK`` /
``RNN_STACK_POOLED``; ``REAL_STEPS_CLASSIFY`` / ``REAL_STEPS_TEXT`` tell the pooling which steps
are padding (the text one also holds the word-pair vectors).
"""

from __future__ import annotations

from seqcore.modeling.models import ATTENTION_UNITS, CONV_BLOCKS, PAIR_BUCKETS, PAIR_MIX


RNN_STACK = """\
    rnn_layer = {"lstm": layers.LSTM, "gru": layers.GRU}[CELL]
    # recurrent layers: all but the last pass on the whole sequence, the last only its final state
    for i, units in enumerate(UNITS):
        last = i == len(UNITS) - 1
        rnn = rnn_layer(units, return_sequences=not last, recurrent_dropout=RECURRENT_DROPOUT, name=f"{CELL}_{i + 1}")
        if BIDIRECTIONAL:  # one pass forwards and one backwards, outputs side by side
            rnn = layers.Bidirectional(rnn, name=f"bidirectional_{i + 1}")
        x = rnn(x)
        if DROPOUT > 0:
            x = layers.Dropout(DROPOUT, name=f"dropout_{i + 1}")(x)
    if DENSE_UNITS:
        x = layers.Dense(DENSE_UNITS, activation="relu", name="dense_hidden")(x)"""



RNN_STACK_POOLED = """\
    rnn_layer = {"lstm": layers.LSTM, "gru": layers.GRU}[CELL]
    pooled = POOLING != "last"
    # recurrent layers: all but the last pass on the whole sequence; the last passes on only its final
    # state, or with pooling the outputs of every step, which pool() sums up
    for i, units in enumerate(UNITS):
        last = i == len(UNITS) - 1
        rnn = rnn_layer(units, return_sequences=pooled or not last, recurrent_dropout=RECURRENT_DROPOUT,
                        name=f"{CELL}_{i + 1}")
        if BIDIRECTIONAL:  # one pass forwards and one backwards, outputs side by side
            rnn = layers.Bidirectional(rnn, name=f"bidirectional_{i + 1}")
        x = rnn(x)
        if last and pooled:
            x = pool(x, REAL_STEPS)
        if last and pairs is not None:  # the word-pair summary joins the recurrent one, side by side
            x = ops.concatenate([x, pairs], axis=-1)
        if last and conv is not None:  # the convolution summary joins the recurrent one, side by side
            x = ops.concatenate([x, conv], axis=-1)
        if DROPOUT > 0:
            x = layers.Dropout(DROPOUT, name=f"dropout_{i + 1}")(x)
    if DENSE_UNITS:
        x = layers.Dense(DENSE_UNITS, activation="relu", name="dense_hidden")(x)"""



FORECAST_MODEL = '''

# =============================================================================
# 3. The network: recurrent layer(s) -> optional dense layer -> all HORIZON steps at once
# =============================================================================
def build_model(input_shape, n_targets):
    """input (batch, WINDOW, inputs) -> output (batch, HORIZON, targets)."""
    inputs = keras.Input(shape=input_shape, name="inputs", dtype="float32")
    x = inputs
{rnn_stack}
    x = layers.Dense(HORIZON * n_targets, name="forecast")(x)         # every step of every target
    outputs = layers.Reshape((HORIZON, n_targets), name="forecast_steps")(x)
    model = keras.Model(inputs, outputs, name="seqstudio_forecast_" + CELL)
    loss = {{"mse": "mse", "mae": "mae", "huber": keras.losses.Huber()}}[LOSS]
    model.compile(optimizer=make_optimizer(), loss=loss, metrics=["mae"], jit_compile=JIT_COMPILE)
    return model
'''



CLASSIFY_MODEL = '''

# =============================================================================
# 3. The network: {what} -> recurrent layer(s) -> optional pooling and dense layer
#    -> class probabilities
# =============================================================================
{real_steps}
ATTENTION_UNITS = __ATTENTION_UNITS__  # attention pooling: size of the small layer that scores each step


def pool(seq, real):
    """(batch, steps, D) outputs of every step -> (batch, D) their mean (POOLING = "mean"), or (batch, 2D)
    mean and maximum side by side ("mean+max"), or (batch, D) their attention-weighted sum ("attention"),
    over the real steps only. real: (batch, steps) bool, True for a real step and False for padding, or None
    when nothing is padded."""
    if POOLING == "attention":
        return attention(seq, real)
    if real is None:
        mean, top = ops.mean(seq, axis=1), ops.max(seq, axis=1)
    else:
        w = ops.expand_dims(ops.cast(real, seq.dtype), -1)          # (batch, steps, 1): 1 real, 0 padding
        mean = masked_mean(seq, w)
        top = ops.max(seq + (w - 1.0) * 1e4, axis=1)                # padding can never be the maximum
    return mean if POOLING == "mean" else ops.concatenate([mean, top], axis=-1)


def attention(seq, real):
    """(batch, steps, D) -> (batch, D): every step's output weighted by a learned score (a small tanh layer,
    then one number), softmax over the real steps only."""
    score = layers.Dense(ATTENTION_UNITS, activation="tanh", name="attention_hidden")(seq)
    score = layers.Dense(1, name="attention_score")(score)               # (batch, steps, 1)
    if real is not None:  # padding gets a weight of ~0
        score = score + (ops.expand_dims(ops.cast(real, score.dtype), -1) - 1.0) * 1e4
    return ops.sum(seq * ops.softmax(score, axis=1), axis=1)


def masked_mean(seq, w):
    """(batch, steps, D) -> (batch, D): the mean over the steps whose weight w (batch, steps, 1) is 1."""
    return ops.sum(seq * w, axis=1) / ops.maximum(ops.sum(w, axis=1), 1.0)


def build_model({args}):
    """{shapes}"""
{input_block}
{rnn_stack}
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="seqstudio_{task}_" + CELL)
    model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=JIT_COMPILE)
    return model
'''.replace("__ATTENTION_UNITS__", repr(ATTENTION_UNITS))



REAL_STEPS_TEXT = '''
def real_steps(inputs):
    """(batch, MAX_LEN) word ids -> (batch, MAX_LEN) bool: True for words, False for the padding (id 0)."""
    return ops.not_equal(inputs, 0)


# Word pairs: every pair of neighbouring words ("not good") gets a learned vector too, looked up by a hash
# of the two word ids into PAIR_BUCKETS rows (unrelated pairs may share a row, as in fastText). The
# arithmetic stays below 2**31 for any ids, so every backend computes the same rows.
PAIR_BUCKETS = __PAIR_BUCKETS__
PAIR_MIX = __PAIR_MIX__


def pair_ids(ids):
    """(batch, MAX_LEN) word ids -> (batch, MAX_LEN - 1) word-pair rows, 0 where either word is padding."""
    a, b = ids[:, :-1], ids[:, 1:]
    code = ops.mod(ops.mod(a, PAIR_BUCKETS) * PAIR_MIX[0] + ops.mod(b, PAIR_BUCKETS) * PAIR_MIX[1],
                   PAIR_BUCKETS - 1) + 1
    return ops.where(ops.logical_and(ops.greater(a, 0), ops.greater(b, 0)), code, 0)


def word_pairs(inputs):
    """(batch, MAX_LEN) word ids -> (batch, WORD_PAIRS): the mean of the vectors of every word pair."""
    pair = pair_ids(inputs)
    x = layers.Embedding(PAIR_BUCKETS, WORD_PAIRS, name="word_pairs")(pair)
    if EMBEDDING_DROPOUT > 0:  # whole pair vectors switched off while training, like the word vectors
        x = layers.SpatialDropout1D(EMBEDDING_DROPOUT, name="word_pair_dropout")(x)
    return masked_mean(x, ops.expand_dims(ops.cast(ops.not_equal(pair, 0), x.dtype), -1))
'''.replace("__PAIR_BUCKETS__", repr(PAIR_BUCKETS)).replace("__PAIR_MIX__", repr(PAIR_MIX))



REAL_STEPS_CLASSIFY = '''
CONV_BLOCKS = __CONV_BLOCKS__  # the convolution front end: (filters, kernel) of each block


def real_steps(inputs, masking):
    """(batch, steps, features) -> (batch, steps) bool: True for real steps, False for the padding at the
    end of shorter sequences (what the Masking layer computes); None when no sequence is padded."""
    return ops.any(ops.not_equal(inputs, PAD_VALUE), axis=-1) if masking else None


def conv_branch(inputs, real):
    """The convolution front end (CONV = True, as in LSTM-FCN): CONV_BLOCKS of (filters, kernel), each a
    Conv1D + batch normalisation + ReLU, over the same input the recurrent layer reads, then their average
    over the real steps: (batch, steps, features) -> (batch, last filters). Padded steps are set to 0 first
    and after every block, so they add nothing."""
    w = None if real is None else ops.expand_dims(ops.cast(real, "float32"), -1)
    x = inputs if w is None else inputs * w
    for i, (filters, kernel) in enumerate(CONV_BLOCKS, 1):
        x = layers.Conv1D(filters, kernel, padding="same", kernel_initializer=keras.initializers.HeUniform(seed=SEED + i),
                          name=f"conv_{i}")(x)
        x = layers.BatchNormalization(name=f"conv_{i}_norm")(x)
        x = layers.Activation("relu", name=f"conv_{i}_relu")(x)
        if w is not None:
            x = x * w
    return ops.mean(x, axis=1) if w is None else masked_mean(x, w)
'''.replace("__CONV_BLOCKS__", repr(CONV_BLOCKS))
