"""Build LSTM / GRU networks per task, and estimate their size without building them.

Shapes:
  forecast: input (batch, window, n_inputs)  -> output (batch, horizon, n_targets)
  classify: input (batch, steps, n_features) -> output (batch, n_classes) probabilities
  text:     input (batch, max_len) int ids   -> output (batch, n_classes) probabilities
"""

from __future__ import annotations

from dataclasses import dataclass

from seqcore.config import ModelSpec, TrainSpec
from seqcore.errors import SpecError

# A checked string picks the Keras layer class (darts style).
CELL_LAYERS = {"lstm": "LSTM", "gru": "GRU"}
GATES = {"lstm": 4, "gru": 3}

# Layers a bundle may contain (anything else is refused before loading).
ALLOWED_LAYERS = frozenset({
    "InputLayer", "LSTM", "GRU", "Bidirectional", "Dense", "Dropout", "Embedding", "Masking", "SpatialDropout1D",
    "Reshape", "Functional", "Sequential", "Model", "LSTMCell", "GRUCell",
    "Conv1D", "BatchNormalization", "Activation",   # the convolution front end (ModelSpec.conv)
})

# The convolution front end (LSTM-FCN, Karim et al. 2017): (filters, kernel) of each Conv1D block, each followed
# by batch normalisation and ReLU; their outputs are averaged over the real steps. The blocks read what the
# recurrent layer reads (long sequences grouped k steps at a time, tasks/classify.py), so a kernel of 8 spans
# 8 network steps. The paper's 128/256/128 filters are halved: 3 times faster per epoch on a CPU, and as
# accurate on GunPoint / Coffee / PigCVP / BasicMotions (bench/classify_models.py).
CONV_BLOCKS = ((64, 8), (128, 5), (64, 3))
ATTENTION_UNITS = 32   # attention pooling: the size of the small tanh layer that scores each step

PAD_VALUE = -1000.0  # right padding of varying-length sequences; masked out

# Word pairs (text): every pair of neighbouring words gets a learned vector, looked up by a hash of the two
# word ids into PAIR_BUCKETS rows (as fastText does; unrelated pairs may share a row). The hash is integer
# arithmetic that stays below 2**31 for any ids, so every backend computes the same rows:
#   ((a mod B) * 20261 + (b mod B) * 12503) mod (B - 1) + 1, and 0 (padding) when either word is padding.
PAIR_BUCKETS = 65536
PAIR_MIX = (20261, 12503)


@dataclass(frozen=True)
class ModelShape:
    """What the data dictates about the network (filled in by the task's prepare step)."""

    task: str
    input_shape: tuple             # without the batch axis
    output_shape: tuple            # without the batch axis: (H, T) or (C,)
    vocab_size: int | None = None  # text only
    masking: bool = False          # varying-length sequences (padded with PAD_VALUE)
    vector_coverage: float | None = None  # text only: share of training tokens the pretrained table knows
    small_head: bool = False       # forecast: the last layer starts near zero (residual of a statistical forecast)

    def to_dict(self) -> dict:
        return {"task": self.task, "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
                "vocab_size": self.vocab_size, "masking": self.masking, "vector_coverage": self.vector_coverage,
                "small_head": self.small_head}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelShape":
        cov = d.get("vector_coverage")
        return cls(task=d["task"], input_shape=tuple(d["input_shape"]), output_shape=tuple(d["output_shape"]),
                   vocab_size=d.get("vocab_size"), masking=bool(d.get("masking")),
                   vector_coverage=None if cov is None else float(cov), small_head=bool(d.get("small_head")))


def word_vectors(model: ModelSpec, shape: ModelShape) -> tuple[str, int]:
    """(table name or "none", numbers a word) the text model's embedding uses: "auto" takes the
    pretrained table when enough of the training tokens are in it (seqcore/wordvec.py)."""
    from seqcore.data import wordvec

    name = wordvec.choose(model.word_vectors, shape.vector_coverage) if shape.task == "text" else "none"
    return (name, wordvec.dim(name)) if name != "none" else ("none", model.embedding_dim)


@dataclass
class Estimate:
    params: int
    memory_mb: float
    layers: list[dict]             # [{"name", "output_shape", "params"}] for the architecture summary
    gpu_kernel: bool               # True when the fused cuDNN kernel can be used on a GPU
    gpu_notes: list[str]

    def to_dict(self) -> dict:
        return {"params": self.params, "memory_mb": self.memory_mb, "layers": self.layers,
                "gpu_kernel": self.gpu_kernel, "gpu_notes": self.gpu_notes}


def _rnn_params(cell: str, n_in: int, units: int) -> int:
    if cell == "lstm":
        return 4 * (units * (n_in + units) + units)
    return 3 * (units * (n_in + units) + 2 * units)  # GRU, reset_after=True


def estimate(model: ModelSpec, train: TrainSpec, shape: ModelShape) -> Estimate:
    """Parameter count (exact for these architectures), a rough training-memory figure, and the layer table."""
    model.validate()
    layers: list[dict] = []
    steps = int(shape.input_shape[0])
    vectors, emb_dim = word_vectors(model, shape)
    if shape.task == "text":
        n_in = emb_dim
        p = int(shape.vocab_size or 0) * emb_dim
        name = "Embedding" + (" (pretrained GloVe, fine-tuned)" if vectors != "none" else "")
        layers.append({"name": name, "output_shape": f"({steps}, {n_in})", "params": p})
        if model.embedding_dropout > 0:
            layers.append({"name": f"Word-vector dropout {model.embedding_dropout:g}",
                           "output_shape": f"({steps}, {n_in})", "params": 0})
    else:
        n_in = int(shape.input_shape[1])
        if shape.masking:
            layers.append({"name": "Masking (varying lengths)", "output_shape": f"({steps}, {n_in})", "params": 0})
    total = sum(layer["params"] for layer in layers)
    dirs = 2 if model.bidirectional else 1
    pairs = shape.task == "text" and model.word_pairs > 0
    act_floats = steps * model.word_pairs if pairs else 0
    for i, u in enumerate(model.units):
        last = i == len(model.units) - 1
        p = dirs * _rnn_params(model.cell, n_in, u)
        out_w = dirs * u
        name = ("Bidirectional " if model.bidirectional else "") + CELL_LAYERS[model.cell] + f" {u}"
        pooled = last and shape.task != "forecast" and model.pooling != "last"
        layers.append({"name": name, "output_shape": f"({out_w},)" if last and not pooled else f"({steps}, {out_w})",
                       "params": p})
        total += p
        act_floats += steps * dirs * u * (GATES[model.cell] + 2)
        if pooled and model.pooling == "attention":
            p = out_w * ATTENTION_UNITS + ATTENTION_UNITS + ATTENTION_UNITS + 1
            layers.append({"name": "Attention pooling (a learned weight for every step)",
                           "output_shape": f"({out_w},)", "params": p})
            total += p
        elif pooled:
            what = "mean" if model.pooling == "mean" else "mean and max"
            out_w *= 1 if model.pooling == "mean" else 2
            layers.append({"name": f"Pooling ({what} over the steps)", "output_shape": f"({out_w},)", "params": 0})
        if last and uses_conv(model, shape):
            c_in = int(shape.input_shape[1])
            for filters, kernel in CONV_BLOCKS:
                p = kernel * c_in * filters + filters + 4 * filters
                layers.append({"name": f"Conv1D {filters} filters, kernel {kernel} + batch norm + ReLU "
                                       "(beside the recurrent layer)", "output_shape": f"({steps}, {filters})",
                               "params": p})
                total += p
                act_floats += steps * filters * 4
                c_in = filters
            layers.append({"name": "Average of the convolution outputs, joined to the recurrent summary",
                           "output_shape": f"({out_w + c_in},)", "params": 0})
            out_w += c_in
        if last and pairs:
            p = PAIR_BUCKETS * model.word_pairs
            layers.append({"name": f"Word-pair vectors ({PAIR_BUCKETS:,} hashed rows, averaged)",
                           "output_shape": f"({model.word_pairs},)", "params": p})
            total += p
            out_w += model.word_pairs
            layers.append({"name": "Joined side by side", "output_shape": f"({out_w},)", "params": 0})
        if model.dropout > 0:
            layers.append({"name": f"Dropout {model.dropout:g}", "output_shape": layers[-1]["output_shape"], "params": 0})
        n_in = out_w
    if model.dense_units:
        p = n_in * model.dense_units + model.dense_units
        layers.append({"name": f"Dense {model.dense_units} (relu)", "output_shape": f"({model.dense_units},)", "params": p})
        total += p
        n_in = model.dense_units
    n_out = 1
    for d in shape.output_shape:
        n_out *= int(d)
    p = n_in * n_out + n_out
    head = "Dense (softmax)" if shape.task != "forecast" else "Dense (linear)"
    layers.append({"name": head, "output_shape": str(tuple(shape.output_shape)), "params": p})
    total += p
    # weights + gradients + two Adam moments (+ a copy for best weights), float32
    weight_mb = total * 4 * 5 / 2**20
    act_mb = train.batch_size * (act_floats + steps * max(1, int(shape.input_shape[-1]) if shape.task != "text"
                                                           else emb_dim)) * 4 / 2**20
    notes = []
    if model.recurrent_dropout > 0:
        notes.append("Recurrent dropout turns off the fast GPU (cuDNN) kernel; training on a GPU will be several times slower.")
    if shape.masking:
        notes.append("Sequences of different lengths are padded and masked; the GPU kernel still works with right padding.")
    return Estimate(params=int(total), memory_mb=round(weight_mb + act_mb + 50.0, 1), layers=layers,
                    gpu_kernel=model.recurrent_dropout == 0, gpu_notes=notes)


def check_fits(model: ModelSpec, train: TrainSpec, shape: ModelShape) -> Estimate:
    est = estimate(model, train, shape)
    if est.memory_mb > train.max_memory_mb:
        raise SpecError(
            f"This configuration needs about {est.memory_mb:,.0f} MB to train ({est.params:,} parameters), more than "
            f"the {train.max_memory_mb:,} MB allowed. Use fewer or smaller layers, a smaller batch size or a shorter window."
        )
    return est


def build_model(model: ModelSpec, train: TrainSpec, shape: ModelShape, *, steps_per_execution: int = 1,
                vocabulary=None):
    """Build and compile the Keras model. Imports Keras (call only where training/predicting).

    ``steps_per_execution``: training steps per compiled call (Keras runs batch callbacks once per
    group, so progress points and stop checks come at most that many batches apart).
    ``vocabulary``: text only, the vocabulary's words (word i has id i + 2): with pretrained word vectors
    (:func:`word_vectors`) the embedding starts from theirs. Without it the embedding has the same shape
    but random values (enough to compile ahead of a run)."""
    import keras
    from keras import layers as L

    model.validate()
    train.validate()
    backend = keras.backend.backend()
    gpu = has_gpu()
    if backend == "jax":
        # JAX always runs XLA-compiled (jit_compile=False would mean op-by-op eager execution, many times
        # slower). use_cudnn="auto" lets GRU use Keras's fused JAX scan (input projections hoisted out of
        # the loop) on a CPU too, and cuDNN on a GPU; LSTM takes cuDNN on a GPU, the generic scan on a CPU.
        use_cudnn, jit = "auto", True
    else:
        # TensorFlow: on a GPU the fused cuDNN kernel wins (and cannot be XLA-compiled); on a CPU the
        # generic loop is XLA-compiled when asked. Keras only allows XLA when no layer may pick cuDNN,
        # hence use_cudnn=False there.
        use_cudnn = "auto" if gpu else False
        jit = bool(train.jit_compile and not gpu)
    cell_cls = getattr(L, CELL_LAYERS[model.cell])
    inputs = keras.Input(shape=tuple(shape.input_shape), name="inputs",
                         dtype="int32" if shape.task == "text" else "float32")
    x = inputs
    if shape.task == "text":
        vectors, emb_dim = word_vectors(model, shape)
        embedding = L.Embedding(int(shape.vocab_size), emb_dim, mask_zero=True, name="embedding")
        x = embedding(x)
        if vectors != "none" and vocabulary is not None:
            # set as weights, not as a Constant initializer (which would copy the matrix into the saved config)
            from seqcore.data.wordvec import init_matrix

            matrix, _ = init_matrix(vectors, list(vocabulary)[: int(shape.vocab_size) - 2], seed=train.seed)
            embedding.set_weights([matrix])
        if model.embedding_dropout > 0:
            # whole word vectors off at once (not single numbers), so the network cannot lean on a few words
            x = L.SpatialDropout1D(model.embedding_dropout, name="embedding_dropout")(x)
    elif shape.masking:
        x = L.Masking(mask_value=PAD_VALUE, name="masking")(x)
    pairs = _word_pairs(inputs, model) if shape.task == "text" and model.word_pairs > 0 else None
    conv = _conv_branch(inputs, shape, train.seed) if uses_conv(model, shape) else None
    pooled = shape.task != "forecast" and model.pooling != "last"
    for i, units in enumerate(model.units):
        last = i == len(model.units) - 1
        rnn = cell_cls(units, return_sequences=pooled or not last, recurrent_dropout=model.recurrent_dropout,
                       use_cudnn=use_cudnn, name=f"{model.cell}_{i + 1}")
        if model.bidirectional:
            rnn = L.Bidirectional(rnn, name=f"bidirectional_{i + 1}")
        x = rnn(x)
        if last and pooled:
            x = _pool(x, inputs, shape, model.pooling)
        if last and pairs is not None:
            x = keras.ops.concatenate([x, pairs], axis=-1)
        if last and conv is not None:
            x = keras.ops.concatenate([x, conv], axis=-1)
        if model.dropout > 0:
            x = L.Dropout(model.dropout, name=f"dropout_{i + 1}")(x)
    if model.dense_units:
        x = L.Dense(model.dense_units, activation="relu", name="dense_hidden")(x)
    if shape.task == "forecast":
        h, t = shape.output_shape
        init = keras.initializers.VarianceScaling(1e-4, "fan_avg", "uniform", seed=train.seed) \
            if shape.small_head else "glorot_uniform"   # near zero: an untrained network adds ~nothing to its base
        x = L.Dense(int(h) * int(t), kernel_initializer=init, name="forecast")(x)
        outputs = L.Reshape((int(h), int(t)), name="forecast_steps")(x)
        loss = {"mse": "mse", "mae": "mae", "huber": keras.losses.Huber()}[train.loss]
        metrics = ["mae"]
    else:
        outputs = L.Dense(int(shape.output_shape[0]), activation="softmax", name="probabilities")(x)
        loss = "sparse_categorical_crossentropy"
        metrics = ["accuracy"]
    net = keras.Model(inputs, outputs, name=f"seqstudio_{shape.task}_{model.cell}")
    opt_cls = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
               "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}[train.optimizer]
    opt_kwargs = {"learning_rate": train.learning_rate}
    if train.clipnorm:
        opt_kwargs["clipnorm"] = train.clipnorm
    if train.optimizer == "sgd":
        opt_kwargs["momentum"] = 0.9
    net.compile(optimizer=opt_cls(**opt_kwargs), loss=loss, metrics=metrics, jit_compile=jit,
                steps_per_execution=max(1, int(steps_per_execution)))
    if backend == "jax" and not gpu:
        from seqcore.modeling.data_parallel import install

        install(net, train.batch_size)   # each batch split over the CPU cores (seqcore.modeling.data_parallel)
    return net


def pair_ids(ids, ops):
    """(batch, steps) word ids -> (batch, steps - 1) word-pair rows (see PAIR_BUCKETS): 0 where either
    word is padding. ``ops``: ``keras.ops`` (in a model) or ``numpy`` (to check the arithmetic)."""
    b_ = PAIR_BUCKETS
    a, b = ids[:, :-1], ids[:, 1:]
    code = ops.mod(ops.mod(a, b_) * PAIR_MIX[0] + ops.mod(b, b_) * PAIR_MIX[1], b_ - 1) + 1
    return ops.where(ops.logical_and(ops.greater(a, 0), ops.greater(b, 0)), code, 0)


def _word_pairs(inputs, model: ModelSpec):
    """(batch, steps) word ids -> (batch, model.word_pairs): the mean of the learned vectors of every pair of
    neighbouring words (padding left out), with the word-vector dropout applied to whole pair vectors too.
    Built from Keras ops and standard layers (saved as plain op nodes, no custom code)."""
    from keras import layers as L
    from keras import ops

    pair = pair_ids(inputs, ops)
    x = L.Embedding(PAIR_BUCKETS, model.word_pairs, name="word_pairs")(pair)
    if model.embedding_dropout > 0:
        x = L.SpatialDropout1D(model.embedding_dropout, name="word_pair_dropout")(x)
    return _masked_mean(x, _step_weights(ops.not_equal(pair, 0), x))


def _step_weights(real, seq):
    """(batch, steps) bool, True for a real step -> (batch, steps, 1) weights of ``seq``'s dtype: 1 or 0."""
    from keras import ops

    return ops.expand_dims(ops.cast(real, seq.dtype), -1)


def _masked_mean(seq, w):
    """(batch, steps, D) -> (batch, D): the mean over the steps whose weight ``w`` (from :func:`_step_weights`)
    is 1; a sequence with none gives zeros."""
    from keras import ops

    return ops.sum(seq * w, axis=1) / ops.maximum(ops.sum(w, axis=1), 1.0)


def uses_conv(model: ModelSpec, shape: ModelShape) -> bool:
    """Whether the network gets the convolution front end: sequence classification with ``conv="on"`` ("auto"
    is settled before a model is built, :mod:`seqcore.modeling.arch_select`; left unsettled it means off)."""
    return shape.task == "classify" and model.conv == "on"


def _real_steps(inputs, shape: ModelShape):
    """(batch, steps) bool, True for a real (not padding) step; None when no step is padding."""
    from keras import ops

    if shape.task == "text":
        return ops.not_equal(inputs, 0)                              # id 0 pads
    if shape.masking:
        return ops.any(ops.not_equal(inputs, PAD_VALUE), axis=-1)   # what the Masking layer computes
    return None


def _conv_branch(inputs, shape: ModelShape, seed: int):
    """(batch, steps, F) -> (batch, filters): :data:`CONV_BLOCKS` (Conv1D, batch normalisation, ReLU) over the
    input sequence, averaged over the real steps. Padded steps are zeroed before every block, so they add
    nothing to a real step's output nor to the average (built-in layers and plain op nodes only)."""
    from keras import initializers
    from keras import layers as L

    real = _real_steps(inputs, shape)
    w = None if real is None else _step_weights(real, inputs)
    x = inputs if w is None else inputs * w                           # padding (PAD_VALUE) -> 0
    for i, (filters, kernel) in enumerate(CONV_BLOCKS, 1):
        x = L.Conv1D(filters, kernel, padding="same", kernel_initializer=initializers.HeUniform(seed=seed + i),
                     name=f"conv_{i}")(x)
        x = L.BatchNormalization(name=f"conv_{i}_norm")(x)
        x = L.Activation("relu", name=f"conv_{i}_relu")(x)
        if w is not None:
            x = x * w
    if w is None:
        from keras import ops

        return ops.mean(x, axis=1)
    return _masked_mean(x, w)


def _attention(seq, real):
    """(batch, steps, D) -> (batch, D): the steps' outputs weighted by a learned score each (a small tanh
    layer, then one number), softmax over the real steps only (``real`` None: every step is real)."""
    from keras import layers as L
    from keras import ops

    score = L.Dense(ATTENTION_UNITS, activation="tanh", name="attention_hidden")(seq)
    score = L.Dense(1, name="attention_score")(score)                 # (batch, steps, 1)
    if real is not None:
        score = score + (_step_weights(real, score) - 1.0) * 1e4      # padding: weight ~0 after the softmax
    weights = ops.softmax(score, axis=1)
    return ops.sum(seq * weights, axis=1)


def _pool(seq, inputs, shape: ModelShape, how: str):
    """(batch, steps, D) outputs of every step -> (batch, D) mean, or (batch, 2D) mean and max side by side,
    over the real steps only (padding masked out). Built from Keras ops (saved as plain op nodes, no custom
    code), the same way the standalone script does it."""
    from keras import ops

    real = _real_steps(inputs, shape)                                # (batch, steps), or None: no padding
    if how == "attention":
        return _attention(seq, real)
    if real is None:
        mean, top = ops.mean(seq, axis=1), ops.max(seq, axis=1)
    else:
        w = _step_weights(real, seq)                                 # (batch, steps, 1): 1 real, 0 padding
        mean = _masked_mean(seq, w)
        top = ops.max(seq + (w - 1.0) * 1e4, axis=1)                # padding can never be the max
    return mean if how == "mean" else ops.concatenate([mean, top], axis=-1)


def has_gpu() -> bool:
    """True when the Keras backend sees a GPU (imports the backend; cached: :func:`seqcore.modeling.device.describe_device`)."""
    from seqcore.modeling.device import describe_device

    return describe_device()["kind"] == "GPU"
