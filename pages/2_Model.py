"""Model: LSTM or GRU, every hyperparameter of ModelSpec and TrainSpec, presets, a live architecture
summary (layers, shapes, parameters, memory, estimated time per epoch) and the equivalent standalone
Keras script. Every change is copied into ``session_state["model_spec"]`` / ``["train_spec"]``."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from pages._ui import common as ui
from seqcore import settings as app_settings
from pages._ui.base import md
from seqcore.outputs import codegen
from seqcore.modeling import models
from pages._ui.estimates import backtest_range
from seqcore.modeling.forecast_base import BASE_HELP, BASE_TEXT, MAX_SELECT_ROWS
from seqcore.config import (BASES, CELLS, LR_SCHEDULES, MAX_BACKTEST, OPTIMIZERS, PRESETS, TASKS, ModelSpec,
                            RunSpec, TrainSpec, apply_preset, default_run_spec)
from seqcore.errors import SpecError, UserError
from seqcore.outputs.report import PRESET_PURPOSE, TASK_NAMES, describe_preset

ui.setup("Model", "🧠")
ss = st.session_state

LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024]
OPTIMIZER_TEXT = {"adam": "Adam (good default)", "adamw": "AdamW (Adam + weight decay)", "rmsprop": "RMSprop",
                  "sgd": "SGD with momentum"}
SCHEDULE_TEXT = {"none": "constant", "plateau": "halve when progress stalls", "cosine": "cosine decay to zero"}
HAS_WORD_VECTORS = "word_vectors" in {f.name for f in dataclasses.fields(ModelSpec)}
POOLING_TEXT = {"last": "its last step", "mean": "the average over all steps",
                "mean+max": "the average and the strongest signal over all steps",
                "attention": "attention: a learned weight for every step"}
AUTO_TEXT = {"auto": "Auto: try it, keep it if it helps", "on": "On", "off": "Off"}
WORD_VECTOR_TEXT = {"auto": "Auto: pretrained if English",
                    "none": "Learned from scratch"}
LOSS_TEXT = {"mse": "mean squared error (MSE)", "mae": "mean absolute error (MAE)", "huber": "Huber (robust to outliers)"}

st.title("2 · Model")
restored = ui.restore_if_empty()
if restored:
    st.info("Picked up where you left off: the data and settings of your latest run.", icon="↩️")
ui.require(ss.get("data_spec") is not None, "Set up the data first: choose a file and its columns on the Data page.",
           ui.PAGES["data"], "Go to the Data page")
ui.require(bool(ss.get("dataset_id")), "The data file of this configuration is no longer stored. Choose a file on "
           "the Data page.", ui.PAGES["data"], "Go to the Data page")

spec_now = ui.current_spec()
task = spec_now.data.task
st.caption(f"Task: **{ui.TASK_LABELS[task]}** with {md(ss.get('dataset_name'))}. "
           "Hover over a setting's question mark for a short explanation.")


# ----------------------------------------------------------------------------- widget <-> spec
def seed_widgets(m: ModelSpec, t: TrainSpec, *, force: bool) -> None:
    """Put specs into the widgets (``force``: overwrite; only allowed before they are drawn or in a callback)."""
    put = (lambda k, v: ss.__setitem__(k, v)) if force else ui.seed
    put("model_cell", m.cell)
    put("model_layers", len(m.units))
    for i, u in enumerate(m.units):
        put(f"model_units_{i}", int(u))
    if force:
        for i in range(len(m.units), 8):
            ss.pop(f"model_units_{i}", None)
    put("model_bidirectional", m.bidirectional)
    put("model_dropout", float(m.dropout))
    put("model_recurrent_dropout", float(m.recurrent_dropout))
    put("model_dense_units", int(m.dense_units))
    put("model_embedding_dim", int(m.embedding_dim))
    if HAS_WORD_VECTORS:
        put("model_word_vectors", m.word_vectors)
    put("model_pooling", m.pooling)
    put("model_conv", m.conv)
    put("model_augment", t.augment)
    put("model_embedding_dropout", float(m.embedding_dropout))
    put("model_word_pairs", int(m.word_pairs))
    put("model_optimizer", t.optimizer)
    put("model_lr", float(t.learning_rate))
    put("model_clipnorm", float(t.clipnorm or 0.0))
    put("model_loss", t.loss)
    put("model_batch_size", int(t.batch_size))
    put("model_epochs", int(t.epochs))
    put("model_patience", int(t.patience))
    put("model_lr_schedule", t.lr_schedule)
    put("model_seed", int(t.seed))
    put("model_jit", bool(t.jit_compile))
    put("model_final_fit", bool(t.final_fit))
    put("model_members", int(t.members))
    put("model_max_memory", int(t.max_memory_mb))
    put("model_max_updates", int(t.max_updates))


def specs_from_widgets() -> tuple[ModelSpec, TrainSpec]:
    """The widgets' values on top of the stored specs (a setting without a widget here is kept)."""
    try:
        m_base, t_base = ModelSpec.from_dict(ss.get("model_spec")), TrainSpec.from_dict(ss.get("train_spec"))
    except (TypeError, ValueError):
        m_base, t_base = ModelSpec(), TrainSpec()
    n = int(ss["model_layers"])
    m = m_base.replace(cell=ss["model_cell"], units=tuple(int(ss.get(f"model_units_{i}", 64)) for i in range(n)),
                       bidirectional=bool(ss["model_bidirectional"]), dropout=float(ss["model_dropout"]),
                       recurrent_dropout=float(ss["model_recurrent_dropout"]),
                       dense_units=int(ss["model_dense_units"]), embedding_dim=int(ss["model_embedding_dim"]))
    if HAS_WORD_VECTORS and "model_word_vectors" in ss:
        m = m.replace(word_vectors=ss["model_word_vectors"])
    if "model_pooling" in ss:
        m = m.replace(pooling=ss["model_pooling"])
    if "model_conv" in ss:
        m = m.replace(conv=ss["model_conv"])
    if "model_embedding_dropout" in ss:
        m = m.replace(embedding_dropout=float(ss["model_embedding_dropout"]))
    if "model_word_pairs" in ss:
        m = m.replace(word_pairs=int(ss["model_word_pairs"]))
    clip = float(ss["model_clipnorm"])
    t = t_base.replace(optimizer=ss["model_optimizer"], learning_rate=float(ss["model_lr"]), clipnorm=clip or None,
                       loss=ss["model_loss"], batch_size=int(ss["model_batch_size"]), epochs=int(ss["model_epochs"]),
                       patience=int(ss["model_patience"]), lr_schedule=ss["model_lr_schedule"],
                       seed=int(ss["model_seed"]), jit_compile=bool(ss["model_jit"]),
                       final_fit=bool(ss.get("model_final_fit", t_base.final_fit)),
                       max_memory_mb=int(ss["model_max_memory"]))
    if "model_augment" in ss:
        t = t.replace(augment=ss["model_augment"])
    if "model_max_updates" in ss:
        t = t.replace(max_updates=int(ss["model_max_updates"]))
    if (ss.get("data_spec") or {}).get("task") not in ("classify", "text"):
        t = t.replace(members=0)   # forecasts train one network ("automatic" means one there)
    elif "model_members" in ss:
        t = t.replace(members=int(ss["model_members"]))
    return m, t


def on_preset(name: str) -> None:
    m, t = specs_from_widgets()
    spec = apply_preset(RunSpec(data=spec_now.data, model=m, train=t), name)
    seed_widgets(spec.model, spec.train, force=True)
    ss["preset"] = name
    ss["_model_preset_snapshot"] = {"model": spec.model.to_dict(), "train": spec.train.to_dict()}


def retarget_preset(m: ModelSpec, t: TrainSpec) -> RunSpec | None:
    """The preset in use, for this task, when ``m`` / ``t`` are that preset unchanged but for another task.

    A session starts with the forecasting *balanced* settings and a new dataset can change the task;
    settings the user changed, or restored from a run, are never touched (returns None)."""
    name = ss.get("preset")
    if name not in PRESETS or ss.get("_restored_from"):
        return None
    here = apply_preset(RunSpec(data=spec_now.data, model=m, train=t), name)
    if (here.model, here.train) == (m, t):
        return None
    for other in TASKS:
        there = apply_preset(RunSpec(data=spec_now.data.replace(task=other), model=m, train=t), name)
        if other != task and (there.model, there.train) == (m, t):
            return here
    return None


try:
    m0 = ModelSpec.from_dict(ss.get("model_spec"))
    t0 = TrainSpec.from_dict(ss.get("train_spec"))
except (TypeError, ValueError):
    m0, t0 = default_run_spec(spec_now.data).model, default_run_spec(spec_now.data).train
retargeted = retarget_preset(m0, t0)
if retargeted is not None:
    m0, t0 = retargeted.model, retargeted.train
    ss["model_spec"], ss["train_spec"] = m0.to_dict(), t0.to_dict()
    ss["_model_preset_snapshot"] = {"model": m0.to_dict(), "train": t0.to_dict()}
    ui.clear_widgets(*ui.MODEL_WIDGET_PREFIXES)
seed_widgets(m0, t0, force=False)

# ----------------------------------------------------------------------------- presets
st.header("Start from a preset")
st.caption(f"The presets' settings for {TASK_NAMES[task].lower()}. Pressing one fills in the network and "
           "training settings below; you can still change any of them.")
if retargeted is not None:
    st.info(f"Switched to the *{ss['preset']}* preset's settings for {TASK_NAMES[task].lower()}.", icon="🔁")
cols = st.columns(len(PRESETS))
preset_base = RunSpec(data=spec_now.data, model=ModelSpec(cell=ss.get("model_cell", "lstm")))
for col, name in zip(cols, PRESETS):
    settings = describe_preset(name, task, preset_base)
    purpose = PRESET_PURPOSE.get(name, "")
    col.button(name.capitalize(), key=f"model_preset_{name}", on_click=on_preset, args=(name,),
               width="stretch", help=f"{purpose} {settings}.".strip(),
               type="primary" if ss.get("preset") == name else "secondary")
    col.caption(f"{purpose}  \n{settings}.")

# ----------------------------------------------------------------------------- network
left, right = st.columns([3, 2], gap="large")
with left:
    st.header("Network")
    n1, n2 = st.columns(2)
    n1.radio("Recurrent cell", CELLS, key="model_cell", horizontal=True, format_func=str.upper,
             help="LSTM and GRU are both networks with a memory. LSTM is the classic choice and trains faster "
                  "here; GRU is a little smaller and sometimes learns faster on short series.")
    layers = n2.number_input("Recurrent layers", 1, 8, key="model_layers",
                             help="Stacking layers lets the model learn more complex patterns, but it trains "
                                  "slower and needs more data. One or two is usually enough.")
    ucols = st.columns(min(int(layers), 4))
    for i in range(int(layers)):
        prev = ss.get(f"model_units_{i - 1}", 64) if i else 64
        ui.seed(f"model_units_{i}", int(prev))
        ucols[i % len(ucols)].number_input(
            f"Units in layer {i + 1}", 1, 4096, step=8, key=f"model_units_{i}",
            help="How much the layer can remember at each step. More units = more capacity, slower training "
                 "and a higher risk of memorising the training data.")
    b1, b2 = st.columns(2)
    b1.toggle("Bidirectional", key="model_bidirectional",
              help="Read each sequence forwards and backwards. Helps classification (the whole sequence is "
                   "known); for forecasting the window is read both ways too. Doubles the cost.")
    b2.number_input("Dense layer before the output (units, 0 = none)", 0, 8192, step=16, key="model_dense_units",
                    help="An extra ordinary layer after the recurrent ones. Rarely needed; try 32 if the model "
                         "underfits.")
    d1, d2 = st.columns(2)
    d1.slider("Dropout", 0.0, 0.9, step=0.05, key="model_dropout",
              help="Randomly switches off this share of the signals between layers during training, so the "
                   "model can't rely on single values. 0.1-0.3 fights overfitting.")
    d2.slider("Recurrent dropout", 0.0, 0.9, step=0.05, key="model_recurrent_dropout",
              help="Dropout inside the memory loop. It can help against overfitting but turns off the fast GPU "
                   "kernel.")
    if task != "forecast":
        st.selectbox("Sum up each sequence by", list(POOLING_TEXT), key="model_pooling",
                     format_func=POOLING_TEXT.get,
                     help="What the output layer reads. 'Last step': the memory after the whole sequence was read. "
                          "'Average and strongest signal': every step counts, so a telling word or moment "
                          "anywhere in the sequence is not forgotten; usually better for text. 'Attention': "
                          "the network learns how much each step matters and takes a weighted average.")
    if task == "classify":
        c1, c2 = st.columns(2)
        c1.selectbox("Convolution front end", list(AUTO_TEXT), key="model_conv", format_func=AUTO_TEXT.get,
                     help="Adds three convolution layers beside the recurrent layer (as in LSTM-FCN). They look "
                          "for short telling shapes anywhere in the sequence; their average is passed on with "
                          "what the recurrent layer read. Often better on small sets of long sequences, slower "
                          "to train. 'Auto' tries the network with and without it on the training data "
                          "(cross-validation when there is no validation part) and keeps the better one; "
                          "with both settings on 'Auto' the convolution layers come with augmentation and, "
                          "when sequences are summed up by their last step, with attention. The test data is "
                          "never used for this.")
        c2.selectbox("Augment small training sets", list(AUTO_TEXT), key="model_augment",
                     format_func=AUTO_TEXT.get,
                     help="While training, every batch is slightly changed: a little noise, a random "
                          "stretch of the values, and a random 90% slice stretched back to full length. "
                          "The model sees more variety, which helps when there are few sequences; predictions "
                          "use the sequences as they are. 'Auto' keeps it only if it scores better on the "
                          "training data's checks (the test data is never used).")
    if task == "text":
        w1, w2 = st.columns(2)
        if HAS_WORD_VECTORS:
            from seqcore.data.wordvec import CHOICES, TABLES

            w1.selectbox("Word vectors", CHOICES, key="model_word_vectors",
                         format_func=lambda c: WORD_VECTOR_TEXT.get(c) or f"Pretrained: {TABLES[c][1]}",
                         help="Each word becomes a list of numbers (its vector). Pretrained vectors already "
                              "know what common English words mean, which helps most on a few thousand texts; "
                              "learned ones start from nothing and only know the words of your data.")
        w2.number_input("Word vector size when learned (embedding)", 2, 2048, step=16, key="model_embedding_dim",
                        help="Each word becomes a list of this many numbers the model learns (not used with "
                             "pretrained vectors, which have their own size). 32-128 is typical.")
        p1, p2 = st.columns(2)
        p1.slider("Word-vector dropout", 0.0, 0.9, step=0.05, key="model_embedding_dropout",
                  help="While training, hides this share of the words' vectors in each text, so the model "
                       "learns from the whole sentence instead of memorising a few telling words. 0.2 is a good "
                       "start on a few thousand texts.")
        p2.number_input("Word-pair vector size (0 = off)", 0, 256, step=8, key="model_word_pairs",
                        help="Also learns a vector for every pair of neighbouring words, such as 'not good' or "
                             "'well made', and passes their average to the output beside what the recurrent "
                             "layer read. Short phrases often decide the label of a short text; 16 is a good "
                             "start, 0 turns it off.")

    st.header("Training")
    t1, t2, t3 = st.columns(3)
    t1.selectbox("Optimizer", OPTIMIZERS, key="model_optimizer", format_func=OPTIMIZER_TEXT.get,
                 help="The method that adjusts the weights after each batch. Adam works well almost always.")
    lr_options = sorted(set(LEARNING_RATES) | {float(ss["model_lr"])})
    t2.select_slider("Learning rate", lr_options, key="model_lr", format_func=lambda v: f"{v:g}",
                     help="How big each adjustment step is. Too high: the loss jumps around or becomes NaN; too "
                          "low: training crawls. 0.001 is a good start for Adam.")
    t3.number_input("Gradient clipping (0 = off)", 0.0, 10_000.0, step=0.5, key="model_clipnorm",
                    help="Caps the size of each update, which keeps recurrent networks from blowing up. 1.0 is "
                         "a safe value.")
    t4, t5, t6 = st.columns(3)
    bs_options = sorted(set(BATCH_SIZES) | {int(ss["model_batch_size"])})
    t4.select_slider("Batch size", bs_options, key="model_batch_size",
                     help="How many examples the model looks at before each update. Bigger batches are faster "
                          "per epoch but may generalise a little worse. 32 is a good default.")
    t5.number_input("Epochs (at most)", 1, 10_000, key="model_epochs",
                    help="An epoch is one pass over all training examples. Training usually stops earlier "
                         "thanks to early stopping, and on a big data set 'Most weight updates' (under Advanced) "
                         "may allow fewer.")
    t6.number_input("Early-stopping patience (epochs, 0 = off)", 0, 1_000, key="model_patience",
                    help="Stop when the validation loss has not improved for this many epochs, and keep the "
                         "best weights. With no validation part (validation share 0 on the Data page) it "
                         "watches the training loss instead.")
    t7, t8, t9 = st.columns(3)
    t7.selectbox("Learning-rate schedule", LR_SCHEDULES, key="model_lr_schedule", format_func=SCHEDULE_TEXT.get,
                 help="How the learning rate changes during training. 'Halve when progress stalls' is a safe "
                      "default.")
    if task == "forecast":
        t8.selectbox("Loss", ["mse", "mae", "huber"], key="model_loss", format_func=LOSS_TEXT.get,
                     help="What the model minimises. MAE (the default) aims at the middle value, which is what "
                          "the test scores (MAE, MASE) reward; MSE punishes big misses most and aims at the "
                          "average; Huber is in between. Classification always uses cross-entropy.")
    else:
        t8.text_input("Loss", "cross-entropy (fixed for classification)", disabled=True, key="model_loss_fixed",
                      help="Classification always minimises cross-entropy.")
    t9.number_input("Random seed", 0, 2**31 - 1, key="model_seed",
                    help="Fixes the random start, so the same settings give the same result again.")
    no_val = not spec_now.data.val_fraction
    st.toggle("Final fit on training + validation data", key="model_final_fit", disabled=no_val,
              help=("Not used here: the data has no validation part (Validation share 0 on the Data page), so "
                    "every example outside the test part already trains the model." if no_val else
                    "After the validation data has shown how many epochs work best, train a fresh model on the "
                    "training and validation data together for that many epochs and keep it: it learns from "
                    "more examples. Costs a second, shorter training pass; worth it on a few thousand examples. "
                    "The test data is still never used for training."))
    if task in ("classify", "text"):
        st.number_input("Networks averaged (0 = automatic)", 0, 20, step=1, key="model_members",
                        help="Trains this many networks that differ only in their random start and averages their "
                             "answers, so the result depends less on luck; the Results page shows how far apart "
                             "they scored. Each one costs a full training. 0 (automatic): "
                             + ("3 for texts (under 10,000), as many as fit in about 90 s of training; "
                                if task == "text" else
                                "5 on small sets (under 300 sequences), 3 under 3,000, as many as fit in about 40 s "
                                "of training; ")
                             + "1: a single network.")
    if task == "forecast":
        ui.seed("model_backtest", int(spec_now.data.backtest))
        st.number_input("Backtest folds (0 = off)", 0, MAX_BACKTEST, step=1, key="model_backtest",
                        help="Trains the model K more times, each time on the data before a later point, and tests "
                             "on what follows: shows how much the score moves. Each fold costs about one more "
                             "training run; 3 to 5 folds are usually enough.")
        if not spec_now.data.id:   # many series in one file: the network alone (the search is for one series)
            ui.seed("model_base", spec_now.data.base)
            st.selectbox("What the network starts from", BASES, key="model_base", format_func=BASE_TEXT.get,
                         help=BASE_HELP)
    with st.expander("Advanced"):
        a1, a2 = st.columns(2)
        a1.toggle("Compile with XLA", key="model_jit",
                  help="For the TensorFlow backend: compiles the network into faster code (measured about 1.6x "
                       "faster per epoch on a CPU), but compiling costs a few seconds at the start and results "
                       "may differ very slightly between runs. The JAX backend (the default) always compiles "
                       "with XLA, whatever this switch says.")
        a2.number_input("Memory limit (MB)", 16, 1_000_000, step=256, key="model_max_memory",
                        help="Runs whose estimated memory need is above this are refused before training starts.")
        a1.number_input("Most weight updates (0 = no limit)", 0, 100_000_000, step=1_000, key="model_max_updates",
                        help="The model's weights change once per batch. This caps how often that happens in the "
                             "whole run: on a big data set it trains fewer epochs than 'Epochs (at most)' (and "
                             "early stopping waits proportionally less), so settings made for small data stay "
                             "quick. The classification presets set 2,000 / 6,000 / 15,000; 0 = no limit.")

# ----------------------------------------------------------------------------- copy out + validate
# many series in one file keep their base (the search is for one series): no widget, nothing to copy
base_now = spec_now.data.base if spec_now.data.id else str(ss.get("model_base", spec_now.data.base))
spec_error: UserError | None = None
try:
    m_spec, t_spec = specs_from_widgets()
    ss["model_spec"], ss["train_spec"] = m_spec.to_dict(), t_spec.to_dict()
    m_spec.validate()
    t_spec.validate()
    if task == "forecast" and (int(ss.get("model_backtest", 0)) != spec_now.data.backtest
                               or base_now != spec_now.data.base):
        ss["data_spec"] = spec_now.data.replace(backtest=int(ss["model_backtest"]),
                                                base=base_now).validate().to_dict()
except UserError as err:
    spec_error = err
backtest_folds = int(ss.get("model_backtest", 0)) if task == "forecast" else 0
base_search = task == "forecast" and not spec_now.data.id and base_now == "auto"
ui.refresh_sidebar()
snap = ss.get("_model_preset_snapshot")
edited = bool(snap) and (snap.get("model") != ss["model_spec"] or snap.get("train") != ss["train_spec"])

# ----------------------------------------------------------------------------- summary
with right:
    st.header("Architecture")
    if edited:
        st.caption(f"Started from the *{ss.get('preset')}* preset, then changed.")
    if spec_error is not None:
        ui.show_error(spec_error)
        st.stop()
    try:
        dr = ui.dry_run(ss["dataset_id"], ss["data_spec"], test_dataset_id=ss.get("test_dataset_id") if task != "forecast"
                        else None, csv_options=ss.get("csv_options"), name=ss.get("dataset_name"))
    except UserError as err:
        ui.show_error(err)
        ui.require(False, "The data no longer checks out with these settings.", ui.PAGES["data"], "Fix the data")
    shape = models.ModelShape.from_dict(dr.shape)
    est = models.estimate(m_spec, t_spec, shape)
    steps = int(shape.input_shape[0])
    k1, k2 = st.columns(2)
    k1.metric("Parameters", f"{est.params:,}", help="Numbers the model learns. More parameters need more data.")
    k2.metric("Memory (estimate)", f"{est.memory_mb:,.0f} MB",
              help="Weights, optimiser state and activations of one batch while training.")

    def time_cards() -> None:
        t = ui.time_estimate(m_spec, t_spec, shape, dr.sizes, est.layers)
        k3, k4 = st.columns(2)
        k3.metric("Per epoch (estimate)", ui.fmt_range(t.low, t.high, about=False),
                  help=("Measured on this computer: the background worker timed a few epochs of this very model "
                        "on some batches of your data." if t.measured else
                        "A rough figure from the model size and the number of examples; it becomes a measured "
                        "one once the background worker has timed this model (it does so while it waits).")
                  + " Real times vary with what else the computer is doing.")
        lo, hi = t.epochs
        every = ui.fmt_range(t.at_most * t.low / t.per_epoch, t.at_most * t.high / t.per_epoch)
        k4.metric("Whole run (estimate)", ui.fmt_range(t.run_low, t.run_high, about=False),
                  help=(f"With early stopping, runs like this usually train {lo}–{hi} of the {t.planned} "
                        f"epochs; all {t.planned} would take {every}." if t_spec.patience else
                        f"All {t.planned} epochs (early stopping is off).")
                  + (f" 'Most weight updates' ({t_spec.max_updates:,}) allows {t.planned} of the "
                     f"{t_spec.epochs} epochs on this data." if t.planned < t_spec.epochs else "")
                  + " Plus a few seconds to start (reading the data, building the model).")
        val = (f"{dr.sizes['train']:,} training and {dr.sizes['val']:,} validation examples" if dr.sizes["val"]
               else f"{dr.sizes['train']:,} training examples (no validation part)")
        st.caption(f"For {val} of {steps:,} steps"
                   + ("; per epoch measured on this computer." if t.measured else
                      "; a rough figure until the background worker has timed this model.")
                   + (f" The whole run: {lo}–{hi} epochs with early stopping." if t_spec.patience else ""))
        for line in ui.extra_trainings(RunSpec(data=spec_now.data, model=m_spec, train=t_spec), dr.sizes, steps, t):
            st.caption(line)
        if base_search and not app_settings.base_search():
            st.caption("Automatic start is switched off on this installation (SEQSTUDIO_BASE_SEARCH=0): the "
                       "network works on its own unless you pick another starting point.")
        elif base_search:
            s_lo, s_hi = backtest_range(t, len(BASES) - 1)   # one training per candidate, at most
            st.caption(f"Automatic start: before the run, each of up to {len(BASES) - 1} starting points is "
                       f"trained once and scored on the validation part ({ui.fmt_range(s_lo, s_hi)} more at "
                       f"most; series over {MAX_SELECT_ROWS:,} rows skip this and use the network alone).")
        if backtest_folds:
            b_lo, b_hi = backtest_range(t, backtest_folds)
            st.caption(f"The backtest trains {backtest_folds} more model{'s' if backtest_folds != 1 else ''}: "
                       f"{ui.fmt_range(b_lo, b_hi)} more.")

    # until the worker has timed this model, look again every few seconds (a file read, nothing heavy)
    st.fragment(time_cards, run_every=None if ui.time_estimate(m_spec, t_spec, shape, dr.sizes, est.layers).measured
                else 3.0)()
    table = pd.DataFrame([{"layer": layer["name"], "output shape": "(batch, " + str(layer["output_shape"]).strip("()")
                           .rstrip(",") + ")", "parameters": layer["params"]} for layer in est.layers])
    input_row = pd.DataFrame([{"layer": "Input", "output shape": "(batch, " + ", ".join(map(str, shape.input_shape))
                               + ")", "parameters": 0}])
    st.dataframe(pd.concat([input_row, table], ignore_index=True), hide_index=True, width="stretch",
                 column_config={"layer": st.column_config.TextColumn(width="medium"),   # long names: the other
                                "output shape": st.column_config.TextColumn(width="small"),  # columns stay in view
                                "parameters": st.column_config.NumberColumn(format="localized", width="small")})
    for note in est.gpu_notes:
        st.info(note, icon="🐢" if "slower" in note else "ℹ️")
    try:
        models.check_fits(m_spec, t_spec, shape)
    except SpecError as err:
        ui.show_error(err)

    st.page_link(ui.PAGES["train"], label="Go to training", icon="🚀")

# ----------------------------------------------------------------------------- script
st.header("The same model as a Python script")
st.caption("A standalone Keras script that reads the same CSV, prepares it the same way and trains this model. "
           "Run it with `python` next to your CSV file (it needs pandas, numpy, scikit-learn and Keras 3 with "
           "TensorFlow or JAX; the script's first lines say how to pick the backend).")
try:
    spec_full = RunSpec(data=spec_now.data, model=m_spec, train=t_spec)
    table_now = ui.load_table(ss["dataset_id"], ss.get("csv_options"), ss.get("dataset_name"))
    fmt = dict(table_now.fmt.to_dict(), header=(table_now.df.attrs.get("seqcore") or {}).get("header"))
    script = codegen.training_script(spec_full, csv_name=ss.get("dataset_name") or "data.csv", csv_format=fmt)
    st.download_button("Download the script", script.encode("utf-8"), file_name=codegen.script_filename(spec_full),
                       mime="text/x-python", key="model_script_download", icon="⬇️")
    with st.expander("Show the script", expanded=False):
        st.code(script, language="python", line_numbers=True)
except UserError as err:
    ui.show_error(err)
except Exception as err:  # noqa: BLE001
    ui.show_error(err)

with st.expander("Try many settings automatically", icon="🧪"):
    st.markdown("Not sure which units, learning rate or window work best? A **sweep** trains many versions of "
                "this configuration with the settings you choose varied, stops the hopeless ones early and shows "
                "which one is best; you can load the winner back here.")
    st.page_link("pages/7_Sweeps.py", label="Set up a sweep from this configuration", icon="🔍")

st.divider()
st.page_link(ui.PAGES["train"], label="Next: go to training", icon="🚀")
