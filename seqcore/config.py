"""Frozen, validated spec dataclasses: what to read, what to build, how to train.

Pages turn widgets into these; the CLI turns flags into these; the run store
keeps them as JSON (``to_dict`` / ``from_dict``). ``validate()`` raises
:class:`SpecError` naming the field and its allowed range.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from typing import Any

from seqcore.errors import SpecError

TASKS = ("forecast", "classify", "text")
CELLS = ("lstm", "gru")
WORD_VECTORS = ("auto", "none", "glove-50")  # the tables themselves: seqcore/wordvec.py
POOLING = ("last", "mean", "mean+max", "attention")  # how the last recurrent layer sums up a sequence (models.py)
CONV = ("auto", "off", "on")   # sequence classification: convolution front end beside the recurrent layer
AUGMENT = ("auto", "off", "on")  # sequence classification: jitter / scaling / window slicing of training batches
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
FORECAST_LOSSES = ("mse", "mae", "huber")
MISSING = ("error", "interpolate", "ffill", "drop")
#: DataSpec.base choices (seqcore.modeling.forecast_base): what the forecasting network starts from.
BASES = ("auto", "none", "deseason", "auto_ets", "auto_arima", "auto_theta")
LR_SCHEDULES = ("none", "plateau", "cosine")
BACKENDS = ("tensorflow", "jax")
# how a time column is written (seqcore.data.schema.timeformat reads them); or a strftime pattern with %
TIME_FORMATS = ("text", "dayfirst", "monthfirst", "yyyymmdd", "unix_s", "unix_ms", "excel", "number")


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise SpecError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}.")


def _check_range(name: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> None:
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise SpecError(f"{name} must be a whole number between {lo} and {hi}; got {value!r}.")
    if not integer and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SpecError(f"{name} must be a number between {lo} and {hi}; got {value!r}.")
    if not (lo <= value <= hi):
        raise SpecError(f"{name} must be between {lo} and {hi}; got {value}.")


def check_time_format(value: Any) -> Any:
    """``value`` when it is None, a code of TIME_FORMATS or a strftime pattern (with %); else SpecError."""
    if value is None or value in TIME_FORMATS:
        return value
    if isinstance(value, str) and "%" in value:
        return value
    raise SpecError(f"time format must be one of {', '.join(TIME_FORMATS)} or a date pattern with % codes such "
                    f"as %d.%m.%Y; got {value!r}.")


MAX_BACKTEST = 20   # most backtest folds (each trains one more model)


def check_backtest(value: Any, task: str = "forecast") -> None:
    """``value`` is a valid number of backtest folds for ``task`` (0 = off); else SpecError in plain words."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BACKTEST:
        raise SpecError(f"Backtest folds must be a whole number from 0 (no backtest) to {MAX_BACKTEST}; got {value!r}.",
                        hint="Each fold trains the model once more: 3 to 5 folds are usually enough.")
    if value and task != "forecast":
        raise SpecError("A backtest is only for forecasting: it trains on the data before later points in time.",
                        hint="Set the backtest folds to 0 for this task.")
CALENDAR = ("auto", "on", "off")


def _check_known_future(d) -> None:
    known = list(d.known_future)
    if any(not isinstance(c, str) or not c for c in known):
        raise SpecError("Known-in-advance columns must be column names.")
    if len(set(known)) != len(known):
        raise SpecError("A column is listed twice as known in advance; list each column once.")
    for role, cols in (("a target (the column to predict)", d.targets), ("an extra input feature", d.features)):
        both = [c for c in known if c in cols]
        if both:
            raise SpecError(f"Column '{both[0]}' is both known in advance and {role}; pick one role for it.",
                            hint="A column known in advance is an input whose future values you will give; "
                                 "the column to predict can't be one.")
    if d.time is not None and d.time in known:
        raise SpecError(f"Column '{d.time}' is the time column; calendar features from it are added "
                        "automatically, so it can't also be known in advance.")


class _Spec:
    """Shared JSON round trip for the spec dataclasses."""

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, d: dict | None):
        d = dict(d or {})
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        kwargs = {}
        for k, v in d.items():
            if k not in known:
                continue  # tolerate fields from newer / older versions
            if isinstance(v, list):
                v = tuple(v)
            kwargs[k] = v
        return cls(**kwargs)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class DataSpec(_Spec):
    """What the data is and how to turn it into training examples.

    Column roles (names of columns in the CSV):
      forecast: ``time`` (optional), ``targets`` (>= 1 numeric), ``features`` (numeric, optional)
      classify: wide: ``label`` + ``features`` (value columns, in order; all other numeric
                columns when empty); long: ``id``, ``order`` (optional), ``features``, ``label``
      text:     ``text``, ``label``
    """

    task: str = "forecast"
    # --- column roles ---
    time: str | None = None
    targets: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    label: str | None = None
    id: str | None = None          # long-format sequence id (classify)
    order: str | None = None       # long-format step order (classify)
    text: str | None = None
    layout: str = "auto"           # classify: "wide", "long" or "auto"
    time_format: str | None = None  # how the time column is written (schema.timeformat code or a %-pattern;
                                    # None = detected)
    time_part: str | None = None    # forecast: column with the quarter/month/week inside the year in ``time``
    # --- cleaning ---
    missing: str = "error"         # error | interpolate | ffill | drop (never silent)
    # --- forecast ---
    window: int = 24               # lookback L: how many past steps the model sees
    horizon: int = 1               # H: how many future steps it predicts at once
    log_transform: bool = False    # log1p on positive targets (growth series)
    relative: bool = True          # learn changes from the last observed value (extrapolates trends)
    season: int | None = None      # seasonal period for the seasonal-naive baseline (auto when None)
    backtest: int = 0              # rolling-origin backtest: K more models, each trained on the data before a
                                   # later origin and tested on the block after it (0 = off; forecasting only;
                                   # seqcore/modeling/backtest.py)
    known_future: tuple[str, ...] = ()  # forecast: columns whose future values are known in advance (holidays,
                                   # a planned price); the model sees their values over the forecast steps
    calendar: str = "auto"         # forecast: calendar features from the time column: auto (when a quick
                                   # validation check says they help) | on | off
    base: str = "auto"             # what the network starts from (seqcore.modeling.forecast_base): auto | none |
                                   # deseason | auto_ets | auto_arima | auto_theta
    # --- splits ---
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    # --- sequence classification ---
    znorm: bool = False            # z-normalise each sequence on its own
    max_steps: int = 2000          # sequences longer than this are cut (keeps the end)
    group_steps: int = 0           # feed k consecutive steps to the network as one step (k x features inputs);
                                   # 0 = auto: k keeps the recurrent layer at <= 30 steps (faster, learns better)
    # --- text ---
    max_vocab: int = 20000
    max_len: int = 64              # tokens kept per text
    lowercase: bool = True

    def validate(self) -> "DataSpec":
        _check_choice("task", self.task, TASKS)
        _check_choice("missing values", self.missing, MISSING)
        _check_choice("layout", self.layout, ("auto", "wide", "long"))
        _check_range("window", self.window, 1, 10_000, integer=True)
        _check_range("horizon", self.horizon, 1, 1_000, integer=True)
        _check_range("validation fraction", self.val_fraction, 0.0, 0.5)
        _check_range("test fraction", self.test_fraction, 0.0, 0.5)
        if self.val_fraction + self.test_fraction > 0.8:
            raise SpecError("validation + test fractions leave too little to train on; keep their sum at 0.8 or less.")
        if self.season is not None:
            _check_range("season", self.season, 1, 10_000, integer=True)
        check_backtest(self.backtest, self.task)
        if self.base not in BASES:
            raise SpecError(f"Unknown forecast base {self.base!r}: choose one of {', '.join(BASES)}.",
                            hint="'auto' picks the best by validation; 'none' uses the network alone.")
        _check_range("max steps", self.max_steps, 2, 100_000, integer=True)
        _check_range("steps grouped together", self.group_steps, 0, 1_000, integer=True)
        _check_range("max vocabulary", self.max_vocab, 10, 1_000_000, integer=True)
        _check_range("max length", self.max_len, 2, 5_000, integer=True)
        if self.time_format is not None:
            check_time_format(self.time_format)
        if self.time_part is not None and (not self.time or self.time_part == self.time):
            raise SpecError("The quarter/month column must be a different column from the time column "
                            "(which holds the years); pick both or neither.")
        if self.task == "forecast" and not self.targets:
            raise SpecError("Forecasting needs at least one target column: pick the column(s) to predict.")
        if self.task == "forecast" and set(self.targets) & set(self.features):
            both = ", ".join(sorted(set(self.targets) & set(self.features)))
            raise SpecError(f"Column {both} is both a target and an extra feature; targets are used as inputs already.")
        _check_choice("calendar features", self.calendar, CALENDAR)
        if self.task == "forecast" and self.known_future:
            _check_known_future(self)
        if self.task == "classify" and not self.label:
            raise SpecError("Sequence classification needs a label column: pick the column that holds the class.")
        if self.task == "text" and (not self.text or not self.label):
            raise SpecError("Text classification needs a text column and a label column.")
        return self


@dataclass(frozen=True)
class ModelSpec(_Spec):
    """The network: recurrent layers, then a dense head, then the task's output layer."""

    cell: str = "lstm"                 # "lstm" or "gru"
    units: tuple[int, ...] = (64,)     # one entry per stacked recurrent layer
    bidirectional: bool = False        # read sequences both ways (not for forecasting the future of the same series... allowed though)
    dropout: float = 0.0               # dropout on recurrent layer inputs / outputs
    recurrent_dropout: float = 0.0     # dropout inside the recurrence (disables the fast GPU kernel)
    dense_units: int = 0               # hidden dense layer before the output (0 = none)
    embedding_dim: int = 64            # text only: size of each word vector learned from scratch
    embedding_dropout: float = 0.0     # text only: share of word vectors switched off as a whole while training
    pooling: str = "last"              # classify/text: summary of the sequence the output layer reads: "last"
                                       # state, "mean" of every step's output, "mean+max" (both, side by side), or
                                       # "attention" (a learned weight per step, softmax over the real steps)
    conv: str = "off"                  # classify only: "on" adds three convolution blocks (LSTM-FCN style) in
                                       # parallel with the recurrent layer, their average beside its summary;
                                       # "auto" lets the run pick on the training part (arch_select.py;
                                       # with augment "auto" too and pooling "last", the design it tries
                                       # also pools with attention)
    word_vectors: str = "auto"         # text only: "auto" (pretrained GloVe when the text is English),
                                       # "glove-50" (always), "none" (learn from scratch); see seqcore/wordvec.py
    word_pairs: int = 0                # text only: size of the vector learned for each pair of neighbouring
                                       # words ("not good"), averaged beside the recurrent summary (0 = off)

    def validate(self) -> "ModelSpec":
        _check_choice("cell", self.cell, CELLS)
        if not self.units:
            raise SpecError("units: give at least one recurrent layer (for example 64).")
        if len(self.units) > 8:
            raise SpecError(f"layers: at most 8 stacked recurrent layers; got {len(self.units)}.")
        for i, u in enumerate(self.units):
            _check_range(f"units of layer {i + 1}", u, 1, 4096, integer=True)
        _check_range("dropout", self.dropout, 0.0, 0.9)
        _check_range("recurrent dropout", self.recurrent_dropout, 0.0, 0.9)
        _check_range("dense units", self.dense_units, 0, 8192, integer=True)
        _check_range("embedding size", self.embedding_dim, 2, 2048, integer=True)
        _check_choice("word vectors", self.word_vectors, WORD_VECTORS)
        _check_choice("pooling", self.pooling, POOLING)
        if self.conv not in CONV:
            raise SpecError(f"convolution front end must be one of {', '.join(CONV)}; got {self.conv!r}.",
                            hint="'auto' tries it on the training data and keeps it only when it helps.")
        _check_range("word-vector dropout", self.embedding_dropout, 0.0, 0.9)
        _check_range("word-pair vector size", self.word_pairs, 0, 256, integer=True)
        return self


@dataclass(frozen=True)
class TrainSpec(_Spec):
    """How to fit: optimiser, learning rate, batch size, epochs, early stopping, seed."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    clipnorm: float | None = 1.0       # gradient clipping by norm (None = off)
    loss: str = "mae"                  # forecast only: mae | mse | huber (classification uses cross-entropy).
                                       # MAE by default: forecasts are judged by MAE/MASE, whose best guess is the
                                       # median, and MSE trains for the mean (NeuralForecast's default is MAE too).
                                       # Forecasting suite, 5 seeds (bench/RESULTS.md): PBS scripts MASE 0.053
                                       # -> 0.008, Sunspots 1.660 -> 1.506, US change 0.452 -> 0.417.
    batch_size: int = 32
    epochs: int = 50
    patience: int = 8                  # early stopping: epochs without val improvement (0 = off)
    lr_schedule: str = "plateau"       # none | plateau (halve on stall) | cosine
    seed: int = 42
    jit_compile: bool = False          # XLA: faster per epoch on big data, but compiling costs seconds up front
    final_fit: bool = False            # after validation picks the epoch count, train a fresh model on the
                                       # training + validation parts for that many epochs and keep it
    max_memory_mb: int = 4096          # refuse configurations whose estimate exceeds this
    members: int = 0                   # classification: networks trained with different seeds, probabilities
                                       # averaged (0 = auto: several on small training sets, 1 = one network;
                                       # seqcore.modeling.ensemble)
    augment: str = "off"               # sequence classification: "on" perturbs training batches (jitter, scaling,
                                       # window slicing); "auto" lets the run pick on the training part
    max_updates: int = 0               # at most this many weight updates (batches) in all: a big training set then
                                       # runs fewer epochs (and a proportionally shorter patience), so a preset's
                                       # epochs sized for tens of sequences stay interactive on thousands
                                       # (0 = no limit; training.capped_schedule)

    def validate(self) -> "TrainSpec":
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_range("learning rate", self.learning_rate, 1e-7, 10.0)
        if self.clipnorm is not None:
            _check_range("gradient clipping", self.clipnorm, 1e-4, 1e4)
        _check_choice("loss", self.loss, FORECAST_LOSSES)
        _check_range("batch size", self.batch_size, 1, 65_536, integer=True)
        _check_range("epochs", self.epochs, 1, 10_000, integer=True)
        _check_range("patience", self.patience, 0, 1_000, integer=True)
        _check_choice("learning-rate schedule", self.lr_schedule, LR_SCHEDULES)
        _check_range("seed", self.seed, 0, 2**31 - 1, integer=True)
        _check_range("memory limit (MB)", self.max_memory_mb, 16, 1_000_000, integer=True)
        _check_range("members (networks averaged)", self.members, 0, 20, integer=True)
        _check_range("most weight updates", self.max_updates, 0, 100_000_000, integer=True)
        if self.augment not in AUGMENT:
            raise SpecError(f"augmentation must be one of {', '.join(AUGMENT)}; got {self.augment!r}.",
                            hint="'auto' tries it on the training data and keeps it only when it helps.")
        return self


@dataclass(frozen=True)
class RunSpec(_Spec):
    """Everything needed to reproduce a run (the dataset itself is referenced by hash elsewhere)."""

    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)

    def validate(self) -> "RunSpec":
        self.data.validate()
        self.model.validate()
        self.train.validate()
        if self.data.task != "classify":   # "auto" means off there; "on" is a plain mistake
            what = "forecasting" if self.data.task == "forecast" else "text classification"
            if self.model.conv == "on":
                raise SpecError(f"The convolution front end is for sequence classification only, not {what}.",
                                hint="Set it to off (or auto, which leaves it off here).")
            if self.train.augment == "on":
                raise SpecError(f"Augmenting the training data is for sequence classification only, not {what}.",
                                hint="Set it to off (or auto, which leaves it off here).")
        return self

    def to_dict(self) -> dict:
        return {"data": self.data.to_dict(), "model": self.model.to_dict(), "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, d: dict | None) -> "RunSpec":
        d = d or {}
        return cls(
            data=DataSpec.from_dict(d.get("data")),
            model=ModelSpec.from_dict(d.get("model")),
            train=TrainSpec.from_dict(d.get("train")),
        )


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Plain-language presets shown in the app; values are overrides on the current spec. These are the
    # forecasting values; TASK_PRESETS adds what differs for the classification tasks. Every preset sets
    # the same keys, so pressing one gives the same configuration whatever was set before.
    # quick: few epochs, so a higher learning rate and batches of 32 (64 left small series with ~30 updates
    # in all: Airline MAPE 0.092, worse than the seasonal naive 0.081; now 0.068).
    "quick": {"model": {"units": (32,), "bidirectional": False, "dropout": 0.0, "pooling": "last",
                        "word_vectors": "auto", "embedding_dropout": 0.0, "conv": "off"},
              "train": {"epochs": 20, "patience": 5, "batch_size": 32, "learning_rate": 3e-3,
                        "lr_schedule": "plateau", "augment": "off", "max_updates": 0}},
    "balanced": {"model": {"units": (64,), "bidirectional": False, "dropout": 0.0, "pooling": "last",
                        "word_vectors": "auto", "embedding_dropout": 0.0, "conv": "off"},
                 "train": {"epochs": 60, "patience": 10, "batch_size": 32, "learning_rate": 1e-3,
                           "lr_schedule": "plateau", "augment": "off", "max_updates": 0}},
    "thorough": {"model": {"units": (128, 64), "bidirectional": False, "dropout": 0.1, "pooling": "last",
                        "word_vectors": "auto", "embedding_dropout": 0.0, "conv": "off"},
                 "train": {"epochs": 200, "patience": 20, "batch_size": 32, "learning_rate": 1e-3,
                           "lr_schedule": "plateau", "augment": "off", "max_updates": 0}},
}

# What the classification tasks change on top of PRESETS (measured in bench/accuracy.py):
#  - classify: the whole sequence is known, so it is read both ways (bidirectional); sets are usually
#    small (tens to thousands of sequences), so smaller batches, a higher learning rate and more
#    epochs give the network enough updates, with a little dropout against memorising them. Small
#    sets train without a validation part (tasks/common.py), watching the training loss, which is
#    noisy under dropout: hence the long patience. Over 5 seeds, GunPoint / BasicMotions accuracy was
#    0.936 / 0.995 with 200 epochs and patience 30, 0.972 / 0.995 with 400 and 50 (lowest 0.967);
#    128 units did worse (0.953 / 0.955): these sets are too small for them.
#    The balanced and thorough presets leave the convolution front end and augmentation on "auto": each run
#    compares the network alone with both (and attention pooling) by cross-validation on its training part
#    (arch_select.py); see bench/classify_models.py for the measurements.
#  - text: the word vectors start from pretrained GloVe (when the text is English) and are fine-tuned;
#    the network reads both ways and passes on the average and the strongest signal of every word's
#    output (mean+max pooling: the telling word can be anywhere), with dropout on whole word vectors
#    and after the pooling. Movie reviews, 3 seeds: learned vectors + last state 0.718, + GloVe 0.732,
#    + pooling and word-vector dropout 0.736-0.744; the epoch is picked by validation accuracy. Word-pair
#    vectors (16 numbers for every pair of neighbouring words, averaged beside the recurrent summary): 5 seeds
#    0.734 -> 0.739 through the app's path, 0.741 -> 0.751 in a stand-alone replica (bench/RESULTS.md).
#    The text presets pick the cell (the others leave it as the user set it): a GRU; and up to 3 networks are
#    averaged (TrainSpec.members = 0, seqcore/modeling/ensemble.py). Picked on the development part of
#    bench/text_models.py (3 seeds; the held-out slice played no part; its block in bench/RESULTS.md): one LSTM
#    0.756, one GRU 0.763, LSTMs averaged 0.766, GRUs averaged 0.767 (exactly 3 GRUs: 0.772); bag-of-words 0.745.
#  - classify, max_updates: 400 epochs of a 50-sequence set are ~1,200 weight updates, but of 1,600 sequences
#    34,000 (177 s); a cap of 6,000 (training.capped_schedule) leaves the small sets alone and trains the large
#    one ~70 epochs (bench/RESULTS.md, classification suite).
TASK_PRESETS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "classify": {
        "quick": {"model": {"bidirectional": True, "dropout": 0.2},
                  "train": {"epochs": 60, "patience": 15, "batch_size": 16, "learning_rate": 3e-3,
                            "max_updates": 2_000}},
        "balanced": {"model": {"bidirectional": True, "dropout": 0.2, "conv": "auto"},
                     "train": {"epochs": 400, "patience": 50, "batch_size": 16, "learning_rate": 3e-3,
                               "augment": "auto", "max_updates": 6_000}},
        "thorough": {"model": {"units": (64, 64), "bidirectional": True, "dropout": 0.2, "conv": "auto"},
                     "train": {"epochs": 600, "patience": 80, "batch_size": 16, "learning_rate": 2e-3,
                               "augment": "auto", "max_updates": 15_000}},
    },
    "text": {
        "quick": {"model": {"cell": "gru", "bidirectional": True, "dropout": 0.5, "pooling": "mean+max",
                            "embedding_dropout": 0.2, "word_pairs": 16},
                  "train": {"patience": 5, "learning_rate": 1e-3}},
        "balanced": {"model": {"cell": "gru", "bidirectional": True, "dropout": 0.5, "pooling": "mean+max",
                               "embedding_dropout": 0.2, "word_pairs": 16},
                     "train": {"patience": 10, "learning_rate": 1e-3, "final_fit": True}},
        "thorough": {"model": {"cell": "gru", "bidirectional": True, "dropout": 0.5, "pooling": "mean+max",
                               "embedding_dropout": 0.2, "word_pairs": 16},
                     "train": {"patience": 15, "learning_rate": 1e-3, "final_fit": True}},
    },
}


# The one default: what the app's Model page starts from, what "Train with defaults" trains, what
# ``python -m seqcore train`` trains without --preset and what a sweep's base configuration starts from.
DEFAULT_PRESET = "balanced"


def default_run_spec(data: "DataSpec") -> "RunSpec":
    """The RunSpec every entry point trains by default for ``data``: :data:`DEFAULT_PRESET` for its task."""
    return apply_preset(RunSpec(data=data), DEFAULT_PRESET)


def preset_overrides(preset: str, task: str = "forecast") -> dict[str, dict[str, Any]]:
    """The ``{"data"?, "model", "train"}`` field overrides of ``preset`` for ``task``."""
    _check_choice("preset", preset, tuple(PRESETS))
    _check_choice("task", task, TASKS)
    out = {part: dict(values) for part, values in PRESETS[preset].items()}
    for part, values in TASK_PRESETS.get(task, {}).get(preset, {}).items():
        out.setdefault(part, {}).update(values)
    return out


def apply_preset(spec: RunSpec, preset: str) -> RunSpec:
    """``spec`` with the preset's model and training settings for its task (the data settings are kept)."""
    p = preset_overrides(preset, spec.data.task)
    return RunSpec(
        data=spec.data.replace(**p.get("data", {})),
        model=spec.model.replace(**p.get("model", {})),
        train=spec.train.replace(**p.get("train", {})),
    )


@dataclass(frozen=True)
class Limits:
    """Size limits for uploads. Override with SEQSTUDIO_MAX_UPLOAD_MB / _MAX_ROWS / _MAX_COLUMNS."""

    max_bytes: int = 200 * 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 5_000

    @classmethod
    def from_env(cls) -> "Limits":
        """The limits with SEQSTUDIO_MAX_UPLOAD_MB / _MAX_ROWS / _MAX_COLUMNS applied; a malformed value is
        refused (:class:`~seqcore.errors.SettingsError` naming the variable), never silently ignored."""
        from seqcore import settings

        d = cls()
        lim = settings.upload_limits(d.max_bytes, d.max_rows, d.max_columns)
        return cls(max_bytes=lim.max_bytes, max_rows=lim.max_rows, max_columns=lim.max_columns)
