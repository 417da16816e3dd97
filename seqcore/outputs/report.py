"""A self-contained HTML report of one run, for people who will not open the app.

One file: what was trained (in plain words), the test metrics beside every baseline, notes, the
loss curve and the task's figures (plotly, with plotly.js inlined once so the file works
offline), and the full spec. Every piece of user text (run name, column names, class labels,
notes, texts) is escaped with :func:`html.escape`; figures get user text only as plotly data,
which plotly serialises with ``<``, ``>`` and ``/`` escaped.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from typing import Any, Sequence

import pandas as pd

from seqcore import __version__
from seqcore.outputs.backtest_report import backtest_html
from seqcore.outputs.outcome import WATCHED, has_validation, training_outcome  # noqa: F401 - re-exported
from seqcore.config import RunSpec, apply_preset, preset_overrides
from seqcore.modeling.statmodels import STAT_BASELINES_TEXT, STAT_MODELS
from seqcore.outputs.viz import (BASELINE_NAMES, METRIC_INFO, confusion_figure, forecast_figure, format_number, future_figure,
                  loss_figure, residuals_figure)

# metrics shown in the table, in order: key -> (label, shown as percent)
REPORT_METRICS = {
    "forecast": [("mae", "MAE", False), ("rmse", "RMSE", False), ("mape", "MAPE", True), ("smape", "sMAPE", True),
                 ("mase", "MASE", False), ("r2", "R²", False)],
    "classify": [("accuracy", "Accuracy", True), ("balanced_accuracy", "Balanced accuracy", True),
                 ("macro_f1", "Macro F1", False), ("log_loss", "Log loss", False), ("roc_auc", "ROC AUC", False)],
}
REPORT_METRICS["text"] = REPORT_METRICS["classify"]
TASK_NAMES = {"forecast": "Forecasting", "classify": "Sequence classification", "text": "Text classification"}
MAX_MISTAKES = 10

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f9fb}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{margin:0 0 4px;font-size:1.8em}h2{margin-top:2em;border-bottom:1px solid #e4e7eb;padding-bottom:4px}
.sub{color:#616e7c;margin:0 0 1.5em}.verdict{font-size:1.1em;padding:10px 14px;border-radius:6px;background:#f0f4f8}
.good{color:#1a7f37}.bad{color:#b42318}table{border-collapse:collapse;margin:8px 0 16px;font-size:.95em}
th,td{border:1px solid #e4e7eb;padding:5px 10px;text-align:left;vertical-align:top}
th{background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
ul{padding-left:1.2em}li{margin:3px 0}.fig{margin:10px 0 24px}footer{color:#9aa5b1;margin-top:40px;font-size:.85em}
td.text{max-width:520px}
"""


def _e(value: Any) -> str:
    """HTML-escape any value as text."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ----------------------------------------------------------------------------- plain words


def _cols(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _pct(f: float) -> str:
    return f"{f * 100:.0f}%"


def _word_vector_words(m) -> str:
    """How a text model's words became numbers (``m``: ModelSpec)."""
    choice = getattr(m, "word_vectors", "none")
    learned = f"word vectors of size {m.embedding_dim} learned from scratch"
    if choice == "none":
        return learned
    if choice == "auto":
        return f"pretrained word vectors when the texts are English (else {learned})"
    return f"pretrained word vectors ({choice})"


def _rnn_steps() -> int:
    """The step count automatic grouping aims for (sequence classification)."""
    from seqcore.modeling.tasks.classify import RNN_STEPS

    return RNN_STEPS


def describe_run(spec: RunSpec, metrics: dict | None = None) -> list[str]:
    """Plain-language sentences (unescaped text) on what was trained and how it went."""
    d, m, t = spec.data, spec.model, spec.train
    train_frac = 1 - d.val_fraction - d.test_fraction
    val = has_validation(spec, metrics)
    out: list[str] = []
    if d.task == "forecast":
        what = (f"A forecasting model that predicts the next {d.horizon} value{'s' if d.horizon != 1 else ''} of "
                f"{_cols(d.targets)} from the last {d.window} rows")
        what += f", with {_cols(d.features)} as extra inputs" if d.features else ""
        what += f" (time column '{d.time}')." if d.time else " (rows in file order)."
        out.append(what)
        split = (f"The data was split in time order: the first {_pct(train_frac)} for training, then "
                 f"{_pct(d.val_fraction)} for validation and the last {_pct(d.test_fraction)} for the test."
                 if val else f"The data was split in time order: the first {_pct(train_frac + d.val_fraction)} for training "
                 f"(no validation part) and the last {_pct(d.test_fraction)} for the test.")
        if d.log_transform:
            split += " Targets were log-transformed before scaling."
        if d.relative:
            split += " The model learned changes from the last observed value rather than the values themselves."
        out.append(split)
    elif d.task == "classify":
        layout = d.layout if d.layout != "auto" else ("long" if d.id else "wide")
        if layout == "long":
            what = (f"A sequence classifier that predicts '{d.label}' for each sequence, one row per step "
                    f"(sequence id '{d.id}'" + (f", step order '{d.order}'" if d.order else "") + ").")
        else:
            what = f"A sequence classifier that predicts '{d.label}' for each row, whose values form one sequence."
        out.append(what)
        out.append(f"Examples were split at random keeping class proportions: {_split_words(d, val)}"
                   + (" (each sequence was scaled on its own first)." if d.znorm else "."))
        reading = f"Each sequence was kept to its last {d.max_steps:,} steps at most; "
        if d.group_steps == 1:
            reading += "the network read every time step on its own."
        elif d.group_steps:
            reading += (f"the network read {d.group_steps} consecutive time steps at once (as one step), so it "
                        f"looped over {d.group_steps} times fewer steps.")
        else:
            reading += ("the network read as many consecutive time steps at once as needed to loop over at most "
                        f"{_rnn_steps()} steps (chosen automatically).")
        out.append(reading)
    else:
        out.append(f"A text classifier that predicts '{d.label}' from the text in '{d.text}' (up to {d.max_len} "
                   f"words per text, a vocabulary of up to {d.max_vocab:,} words"
                   + (", upper and lower case treated alike)." if d.lowercase
                      else ", upper and lower case kept apart)."))
        out.append(f"Examples were split at random keeping class proportions: {_split_words(d, val)}.")
    cell = ("bidirectional " if m.bidirectional else "") + m.cell.upper()
    layers = (f"{len(m.units)} stacked layers ({', '.join(map(str, m.units))} units)" if len(m.units) > 1
              else f"one layer of {m.units[0]} units")
    net = f"The network: {_word_vector_words(m) + ', then ' if d.task == 'text' else ''}" \
          f"{'an' if cell.startswith('LSTM') else 'a'} {cell} with {layers}"
    if d.task != "forecast" and getattr(m, "pooling", "last") == "attention":
        net += ", reading an attention-weighted average of every step's output"
    elif d.task != "forecast" and getattr(m, "pooling", "last") != "last":
        net += (", reading the average" + (" and the strongest signal" if m.pooling == "mean+max" else "")
                + " of every step's output")
    if d.task == "classify" and getattr(m, "conv", "off") == "on":
        net += ", with a convolution front end (three convolution layers) beside it"
    if d.task == "classify" and getattr(t, "augment", "off") == "on":
        net += ", trained on augmented batches (noise, scaling, window slices)"
    if d.task == "text" and getattr(m, "word_pairs", 0):
        net += f", plus the average of learned {m.word_pairs}-number vectors of every pair of neighbouring words"
    if d.task == "text" and getattr(m, "embedding_dropout", 0):
        net += f", word-vector dropout {m.embedding_dropout:g}"
    if m.dropout:
        net += f", dropout {m.dropout:g}"
    if m.recurrent_dropout:
        net += f", recurrent dropout {m.recurrent_dropout:g}"
    if m.dense_units:
        net += f", then a dense layer of {m.dense_units} units"
    out.append(net + ".")
    sched = {"plateau": "halved when progress stalled", "cosine": "lowered along a cosine curve",
             "none": "kept fixed"}[t.lr_schedule]
    optimiser = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD with momentum"}[t.optimizer]
    how = (f"Training: {optimiser} optimiser, learning rate {t.learning_rate:g} ({sched}), batch size "
           f"{t.batch_size}, up to {t.epochs} epochs")
    if val:
        how += (f", stopping after {t.patience} epochs without improvement and keeping the best epoch's weights."
                if t.patience else ", keeping the best epoch's weights.")
    else:
        how += (f"; with no validation part, stopping after {t.patience} epochs without improvement of the "
                "training loss and keeping the weights of the epoch with the lowest training loss."
                if t.patience else "; with no validation part, keeping the weights of the epoch with the lowest "
                "training loss.")
    if getattr(t, "final_fit", False) and val:
        how += (" Then a fresh model was to be trained on the training and validation data together for the "
                "number of epochs validation picked, and kept.")
    out.append(how)
    tr = (metrics or {}).get("training") or {}
    if tr:
        bits = []
        if tr.get("epochs_run") is not None:
            bits.append(f"ran {tr['epochs_run']} epoch{'s' if tr['epochs_run'] != 1 else ''}")
        if tr.get("best_epoch") is not None:
            bits.append(f"the best was epoch {tr['best_epoch']}")
        if tr.get("stopped_by_user"):
            bits.append("it was stopped by hand")
        elif tr.get("early_stopped"):
            bits.append("early stopping ended it (the " + WATCHED.get(tr.get("selected_by") or
                                                                    ("val_loss" if val else "loss"), "validation loss")
                        + " had stopped improving)")
        ff = tr.get("final_fit") or {}
        if ff.get("kept"):
            bits.append(f"the final fit trained {ff.get('epochs')} epochs on {int(ff.get('examples') or 0):,} "
                        "examples")
        elif ff:
            bits.append(f"the final fit was not kept ({ff.get('reason')})")
        if tr.get("seconds") is not None:
            bits.append(f"it took {_duration(tr['seconds'])}")
        if tr.get("params") is not None:
            bits.append(f"the model has {int(tr['params']):,} parameters")
        sizes = tr.get("sizes") or {}
        if sizes:
            unit = "windows" if d.task == "forecast" else "examples"
            bits.append(f"{unit}: {sizes.get('train', 0):,} training, "
                        + (f"{sizes.get('val', 0):,} validation, " if sizes.get("val") else "no validation, ")
                        + f"{sizes.get('test', 0):,} test")
        if bits:
            out.append("This run " + "; ".join(bits) + ".")
    return out


# what each preset is for, in one line; its settings are described from config.preset_overrides, never here
PRESET_PURPOSE = {
    "quick": "A first result fast: a small network and few epochs.",
    "balanced": "A good default for most data.",
    "thorough": "More capacity and patience: slower, sometimes better.",
}
_OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD with momentum"}
_SCHEDULE_NAMES = {"plateau": "halved when progress stalls", "cosine": "lowered along a cosine curve",
                   "none": "kept fixed"}


def _network_words(units: Sequence[int], cell: str, bidirectional: bool) -> str:
    """"Bidirectional LSTM, 64 units" / "2 stacked GRU layers of 128 and 64 units"."""
    kind = ("bidirectional " if bidirectional else "") + cell.upper()
    if len(units) == 1:
        return f"{kind[0].upper()}{kind[1:]}, {units[0]} units"
    sizes = ", ".join(map(str, units[:-1])) + f" and {units[-1]}"
    return f"{len(units)} stacked {kind} layers of {sizes} units"


def describe_preset(preset: str, task: str, base: RunSpec | None = None) -> str:
    """The settings a preset gives ``task``, in plain words, read from :func:`preset_overrides` (so the
    text follows the presets): "Bidirectional LSTM, 64 units, dropout 0.2, up to 400 epochs, stops after 50
    epochs without improvement, batch 16, learning rate 0.003". Only what the preset sets is described,
    plus the network it gives (its cell type, which presets leave alone, comes from ``base``)."""
    over = preset_overrides(preset, task)
    base = base or RunSpec()
    spec = apply_preset(RunSpec(data=base.data.replace(task=task), model=base.model, train=base.train), preset)
    m, t, d = spec.model, spec.train, spec.data
    set_model, set_train = over.get("model", {}), over.get("train", {})
    model_words = {
        "dropout": lambda v: f"dropout {v:g}" if v else "",
        "recurrent_dropout": lambda v: f"recurrent dropout {v:g}" if v else "",
        "dense_units": lambda v: f"then a dense layer of {v} units" if v else "",
        "word_vectors": lambda v: ({"none": "word vectors learned from scratch",
                                    "auto": "pretrained word vectors for English texts"}.get(v, f"{v} word vectors")
                                   if task == "text" else ""),
        "embedding_dim": lambda v: f"learned word vectors of size {v}" if task == "text" else "",
        "embedding_dropout": lambda v: f"word-vector dropout {v:g}" if v and task == "text" else "",
        "word_pairs": lambda v: f"vectors for word pairs ({v} numbers)" if v and task == "text" else "",
        "pooling": lambda v: ({"mean": "average of every step", "mean+max": "average and strongest signal of every "
                               "step", "attention": "attention over the steps"}.get(v, "") if task != "forecast"
                              else ""),
        "conv": lambda v: ({"on": "convolution front end", "auto": "convolution front end and augmentation where "
                            "they help (tried on the training data)"}.get(v, "") if task == "classify" else ""),
        "units": lambda v: "", "bidirectional": lambda v: "", "cell": lambda v: "",
    }
    train_words = {
        "epochs": lambda v: f"up to {v} epochs",
        "patience": lambda v: f"stops after {v} epochs without improvement" if v else "no early stopping",
        "batch_size": lambda v: f"batch {v}",
        "learning_rate": lambda v: f"learning rate {v:g}",
        "lr_schedule": lambda v: f"learning rate {_SCHEDULE_NAMES.get(v, v)}" if v != "plateau" else "",
        "optimizer": lambda v: f"{_OPTIMIZER_NAMES.get(v, v)} optimiser",
        "clipnorm": lambda v: f"gradient clipping {v:g}" if v else "no gradient clipping",
        "jit_compile": lambda v: "compiled with XLA" if v else "",
        "final_fit": lambda v: "then retrained on training + validation data" if v else "",
        "loss": lambda v: f"{v.upper()} loss" if task == "forecast" else "",
        "seed": lambda v: "", "max_memory_mb": lambda v: "",
        "max_updates": lambda v: f"at most {v:,} weight updates" if v else "",
        # "auto" is described with the convolution front end (the two are chosen together)
        "augment": lambda v: "augmented training batches" if v == "on" and task == "classify" else "",
    }

    def words(table: dict, keys, obj) -> list[str]:
        ordered = [k for k in table if k in keys] + [k for k in keys if k not in table]
        out = []
        for k in ordered:
            say = table.get(k, lambda v, k=k: f"{k.replace('_', ' ')} {v}")
            out.append(say(getattr(obj, k)))
        return out

    bits = [_network_words(m.units, m.cell, m.bidirectional)]
    bits += words(model_words, set_model, m) + words(train_words, set_train, t)
    bits += [f"{k.replace('_', ' ')} {getattr(d, k)}" for k in over.get("data", {})]
    return ", ".join(b for b in bits if b)


def _duration(seconds) -> str:
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"


def _split_words(d, val: bool) -> str:
    """"70% training, 15% validation, 15% test" (the validation share only when there was a part)."""
    if val:
        return f"{_pct(1 - d.val_fraction - d.test_fraction)} training, {_pct(d.val_fraction)} validation, " \
               f"{_pct(d.test_fraction)} test"
    return f"{_pct(1 - d.test_fraction)} training (no validation part), {_pct(d.test_fraction)} test"


def verdict(metrics: dict, task: str, spec: RunSpec | None = None) -> tuple[str, bool | None]:
    """One sentence on the main metric against the best baseline, and whether the model won. When it lost,
    the advice for a forecaster comes from the run's facts (``spec`` and the window counts in ``metrics``):
    only settings the data can take (:func:`seqcore.data.defaults.forecast_advice`)."""
    comp = (metrics or {}).get("comparison") or {}
    key = comp.get("metric")
    if not key or comp.get("model") is None:
        return "The test metrics are missing.", None
    label, _, pct = METRIC_INFO.get(key, (key, "", False))
    model = format_number(comp["model"], percent=pct)
    if comp.get("best_baseline") is None:
        return f"Test {label}: {model} (no baseline could be computed).", None
    base_name = BASELINE_NAMES.get(comp["best_baseline"], comp["best_baseline"])
    base = format_number(comp["best_baseline_value"], percent=pct)
    stat = comp.get("best_statistical")
    stat_name = BASELINE_NAMES.get(stat, stat)
    stat_value = format_number(comp.get("best_statistical_value"), percent=pct)
    if comp.get("better"):
        if stat and stat == comp["best_baseline"]:
            return (f"The model beats every baseline on {label}, the statistical models included: {model} against "
                    f"{base} for the best of them, {stat_name}.", True)
        if stat:
            return (f"The model beats every baseline on {label}: {model} against {base} for the best ({base_name}). "
                    f"The best statistical model, {stat_name}, scores {stat_value}.", True)
        return (f"The model beats the best simple baseline ({base_name}) on {label}: {model} against {base}.", True)
    advice = "more epochs, a different model size or more training data"
    if task == "forecast":
        from seqcore.data.defaults import forecast_advice, rows_from_sizes

        n = rows_from_sizes(spec.data, (metrics.get("training") or {}).get("sizes")) \
            if spec is not None and not spec.data.id else None   # many series: no single series' rows
        tips = forecast_advice(spec.data, n) if n else ["more epochs or a different model size"]
        advice = tips[0] if len(tips) == 1 else ", ".join(tips[:-1]) + " or " + tips[-1]
    if stat and stat == comp["best_baseline"]:
        return (f"{stat_name} beats this model on {label}: {base} against {model}. A statistical model is the better "
                f"forecaster for this data: use {stat_name}'s forecasts, or try {advice}.", False)
    return (f"The model does not beat the best simple baseline ({base_name}) on {label}: {model} against {base}. "
            f"Try {advice}.", False)


# ----------------------------------------------------------------------------- HTML pieces


def _metric_table(metrics: dict, task: str) -> str:
    test = metrics.get("test") or {}
    baselines = metrics.get("baselines") or {}
    from seqcore.modeling.metrics import HIGHER_IS_BETTER

    names = list(baselines)
    head = "".join(f"<th>{_e(BASELINE_NAMES.get(n, n))}</th>" for n in names)
    rows = []
    for key, label, pct in REPORT_METRICS[task]:
        value = _num(test.get(key))
        base_vals = {n: _num((baselines[n] or {}).get(key)) for n in names}
        if value is None and all(v is None for v in base_vals.values()):
            continue
        higher = HIGHER_IS_BETTER.get(key, True)
        known = {n: v for n, v in base_vals.items() if v is not None}
        best = (max if higher else min)(known, key=known.get) if known else None
        diff, cls = "–", ""
        if value is not None and best is not None:
            delta = value - known[best]
            good = delta > 0 if higher else delta < 0
            diff = (f"{delta * 100:+.1f} pp" if pct else ("+" if delta >= 0 else "−") + format_number(abs(delta)))
            cls = "good" if good else ("" if delta == 0 else "bad")
            diff += " (better)" if good else (" (same)" if delta == 0 else " (worse)")
        cells = "".join(f"<td class='num'>{_e(format_number(base_vals[n], percent=pct))}</td>" for n in names)
        arrow = "higher is better" if higher else "lower is better"
        rows.append(f"<tr><th title='{_e(arrow)}'>{_e(label)}</th><td class='num'><b>"
                    f"{_e(format_number(value, percent=pct))}</b></td>{cells}"
                    f"<td class='num {cls}'>{_e(diff)}</td></tr>")
    return ("<table><tr><th>metric</th><th>model</th>" + head + "<th>model − best baseline</th></tr>"
            + "".join(rows) + "</table>")


def _baseline_notes(metrics: dict) -> str:
    """What the statistical baselines are (a forecast), and the notes on the baselines (``baseline_notes``:
    the ones left out, the window the DTW baseline picked)."""
    names = metrics.get("baselines") or {}
    notes = [str(n) for n in (metrics.get("baseline_notes") or [])]
    stat = any(n in STAT_MODELS for n in names)
    if not notes and not stat:
        return ""
    forecast = stat or "mase" in (metrics.get("test") or {})
    return ((f"<p class='sub'>{_e(STAT_BASELINES_TEXT)}</p>" if forecast else "")
            + ("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>" if notes else ""))


def _table(df: pd.DataFrame, *, numeric_fmt=None, text_cols=()) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f"<td class='num'>{_e(numeric_fmt(v) if numeric_fmt else v)}</td>")
            else:
                cells.append(f"<td class='{'text' if c in text_cols else ''}'>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return "<table><tr>" + head + "</tr>" + "".join(body) + "</table>"


def _per_class_table(metrics: dict) -> str:
    per = (metrics.get("test") or {}).get("per_class") or []
    if not per:
        return ""
    df = pd.DataFrame([{"class": p.get("class"), "precision": format_number(p.get("precision")),
                        "recall": format_number(p.get("recall")), "F1": format_number(p.get("f1")),
                        "test examples": int(p.get("support") or 0)} for p in per])
    return _table(df)


def _mistakes_table(predictions: pd.DataFrame | None) -> str:
    if predictions is None or len(predictions) == 0 or not {"actual", "predicted"} <= set(predictions.columns):
        return ""
    wrong = predictions[predictions["actual"].astype(str) != predictions["predicted"].astype(str)]
    if len(wrong) == 0:
        return "<p>The model classified every test example correctly.</p>"
    if "confidence" in wrong.columns:
        wrong = wrong.assign(confidence=pd.to_numeric(wrong["confidence"], errors="coerce")) \
            .sort_values("confidence", ascending=False)
    ident = [c for c in wrong.columns if c not in ("actual", "predicted", "correct", "confidence")
             and not str(c).startswith("p(")][:1]
    cols = ident + ["actual", "predicted"] + (["confidence"] if "confidence" in wrong.columns else [])
    shown = wrong[cols].head(MAX_MISTAKES).copy()
    if "confidence" in shown.columns:
        shown["confidence"] = [format_number(v, percent=True) for v in shown["confidence"]]
    if "text" in shown.columns:
        shown["text"] = [str(t)[:300] + ("…" if len(str(t)) > 300 else "") for t in shown["text"]]
    return (f"<p>The {min(MAX_MISTAKES, len(wrong))} most confident mistakes (of {len(wrong):,}):</p>"
            + _table(shown, text_cols=("text",)))


# settings that mean something for each task (the others keep their defaults and are not shown)
_TASK_FIELDS = {
    "forecast": {"time", "targets", "features", "window", "horizon", "log_transform", "relative", "season", "loss"},
    "classify": {"label", "id", "order", "features", "layout", "znorm", "max_steps", "group_steps", "pooling",
                 "conv", "augment"},
    "text": {"text", "label", "max_vocab", "max_len", "lowercase", "embedding_dim", "word_vectors", "pooling",
             "embedding_dropout", "word_pairs"},
}
_TASK_SPECIFIC = set().union(*_TASK_FIELDS.values())


def _spec_table(spec: RunSpec) -> str:
    rows = []
    keep = _TASK_FIELDS.get(spec.data.task, _TASK_SPECIFIC)
    for part, obj in (("data", spec.data), ("model", spec.model), ("training", spec.train)):
        for k, v in obj.to_dict().items():
            if k in _TASK_SPECIFIC and k not in keep:
                continue
            shown = ", ".join(map(str, v)) if isinstance(v, list) else ("–" if v is None else v)
            rows.append(f"<tr><td>{_e(part)}</td><th>{_e(k)}</th><td>{_e(shown)}</td></tr>")
    return "<table><tr><th>part</th><th>setting</th><th>value</th></tr>" + "".join(rows) + "</table>"


def _history_from_predictions(pred: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The actual test-part values per target in time order (the end of the data), from predictions."""
    if not {"target", "actual"} <= set(pred.columns):
        return pd.DataFrame(), None
    key = "time" if "time" in pred.columns else None
    frame = pred.copy()
    if key is None:
        frame["__pos__"] = pd.to_numeric(frame["origin"], errors="coerce") + pd.to_numeric(frame["step"],
                                                                                            errors="coerce")
        key = "__pos__"
    wide = frame.drop_duplicates([key, "target"]).pivot(index=key, columns="target", values="actual")
    wide = wide.reset_index()
    wide.columns = [str(c) for c in wide.columns]
    if key == "time":
        return wide, "time"
    return wide.drop(columns=[key]), None


def _figure_html(fig, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, default_width="100%",
                       config={"displaylogo": False, "responsive": True})


def _per_step_table(metrics: dict) -> str:
    steps = (metrics.get("test") or {}).get("per_step") or []
    if len(steps) <= 1:
        return ""
    df = pd.DataFrame([{"steps ahead": s.get("step"), "MAE": format_number(s.get("mae")),
                        "RMSE": format_number(s.get("rmse")), "MAPE": format_number(s.get("mape"), percent=True)}
                       for s in steps])
    return "<p>Error by how far ahead the forecast looks:</p>" + _table(df)


# ----------------------------------------------------------------------------- the report


BACKEND_NAMES = {"jax": "JAX", "tensorflow": "TensorFlow", "torch": "PyTorch", "numpy": "NumPy"}


def framework_words(manifest: dict | None) -> str | None:
    """What trained the model, from the bundle's manifest.json: ``"Keras 3.6.0 (JAX backend)"``;
    ``"Keras 3.6.0"`` for a bundle saved before the manifest recorded the backend; None without one."""
    manifest = manifest if isinstance(manifest, dict) else {}
    version = manifest.get("keras_version")
    if not version:
        return None
    backend = manifest.get("backend")
    if not backend:
        return f"Keras {version}"
    return f"Keras {version} ({BACKEND_NAMES.get(str(backend), str(backend))} backend)"


def run_report_html(*, run_name: str, spec: RunSpec, metrics: dict, history: list, predictions: pd.DataFrame | None,
                    forecast: pd.DataFrame | None, created: str | None = None, manifest: dict | None = None) -> str:
    """The whole report as one HTML document (a few MB: plotly.js is inlined so it works offline).

    run_name:    shown as the title (escaped)
    spec:        the run's RunSpec
    metrics:     metrics.json of the run: {"test", "baselines", "comparison", "training", "notes"}
    history:     per-epoch history (or progress points) for the loss curve
    predictions: predictions.csv as a DataFrame (test split), or None
    forecast:    forecast.csv as a DataFrame (forecasting only), or None
    created:     when the run was made (text); default now (UTC)
    manifest:    the model bundle's manifest.json, for the Keras version and backend that trained the model
                 (left out of the report when None)
    """
    from plotly.offline import get_plotlyjs

    metrics = metrics or {}
    task = spec.data.task
    created = created or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sentence, won = verdict(metrics, task, spec)
    parts: list[str] = []
    parts.append(f"<h1>{_e(run_name)}</h1>")
    framework = framework_words(manifest)
    parts.append(f"<p class='sub'>{_e(TASK_NAMES.get(task, task))} run · {_e(created)} · Sequence Studio "
                 f"{_e(__version__)}{' · ' + _e(framework) if framework else ''}</p>")
    parts.append(f"<p class='verdict {'good' if won else ('bad' if won is False else '')}'>{_e(sentence)}</p>")

    parts.append("<h2>What was trained</h2><ul>" + "".join(f"<li>{_e(s)}</li>" for s in describe_run(spec, metrics))
                 + "</ul>")

    parts.append("<h2>Test results</h2><p>Every metric is measured on the test part, which the model never saw "
                 "while training, beside baselines measured on the same examples.</p>")
    parts.append(_metric_table(metrics, task))
    from seqcore.modeling.ensemble import spread_sentence

    spread = spread_sentence(metrics)
    if spread:   # a seed ensemble: each network alone, and their average (the model scored above)
        parts.append(f"<p class='spread'>{_e(spread)} The model scored above is the average of the networks' class "
                     "probabilities; each one alone shows how much a single training run depends on luck.</p>")
    parts.append(_baseline_notes(metrics))
    shown = set(metrics.get("baseline_notes") or [])
    notes = [str(n) for n in (metrics.get("notes") or []) if n not in shown]
    if notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")

    parts.append("<h2>Training curve</h2>")
    parts.append("<div class='fig'>" + _figure_html(loss_figure(history or [], uirevision="report"), "fig-loss")
                 + "</div>")

    if task == "forecast":
        parts.append("<h2>Forecasts on the test part</h2>")
        parts.append(_per_step_table(metrics))
        from seqcore.modeling.intervals import coverage_sentence

        covered = coverage_sentence(metrics.get("intervals"))
        if covered:
            parts.append(f"<p class='coverage'>The shaded bands show how far off the forecast may be. {_e(covered)}</p>")
        parts.append(backtest_html(metrics))
        from seqcore.data.panel import first_series_view
        (predictions, forecast), series, count = first_series_view(predictions, forecast)
        if series is not None:   # many series: the charts and the forecast table show the first
            parts.append(f"<p>{_e(f'{count:,} series; the charts and the forecast table show the first, {series!r}.')}</p>")
        if predictions is not None and len(predictions):
            targets = list(dict.fromkeys(predictions["target"].astype(str))) if "target" in predictions else [None]
            for i, tgt in enumerate(targets):
                parts.append("<div class='fig'>" + _figure_html(forecast_figure(predictions, step=1, target=tgt),
                                                                 f"fig-forecast-{i}") + "</div>")
                parts.append("<div class='fig'>" + _figure_html(residuals_figure(predictions, step=1, target=tgt),
                                                                 f"fig-residuals-{i}") + "</div>")
        else:
            parts.append("<p>No test predictions were saved for this run.</p>")
        if forecast is not None and len(forecast):
            parts.append("<h2>Forecast past the end of the data</h2>")
            hist, time_col = _history_from_predictions(predictions) if predictions is not None else (None, None)
            parts.append("<div class='fig'>" + _figure_html(future_figure(hist, forecast, time_col=time_col),
                                                             "fig-future") + "</div>")
            shown = forecast.copy()
            for c in shown.columns:
                if c not in ("step", "time"):
                    shown[c] = [format_number(v) for v in pd.to_numeric(shown[c], errors="coerce")]
            parts.append(_table(shown))
    else:
        test = metrics.get("test") or {}
        cm = test.get("confusion_matrix")
        names = [p.get("class") for p in test.get("per_class") or []]
        parts.append("<h2>Where the model goes wrong</h2>")
        if cm and names and len(names) == len(cm):
            parts.append("<div class='fig'>" + _figure_html(confusion_figure(cm, names), "fig-confusion") + "</div>")
        parts.append(_per_class_table(metrics))
        parts.append(_mistakes_table(predictions))

    parts.append("<h2>All settings</h2>" + _spec_table(spec))
    parts.append("<footer>Made with Sequence Studio. This file works offline: the charts are interactive "
                 "(zoom by dragging, double-click to reset).</footer>")
    body = "\n".join(p for p in parts if p)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(run_name)} · Sequence Studio report</title><style>{_CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
            f"<body><main>\n{body}\n</main></body></html>\n")


__all__ = ["run_report_html", "describe_run", "describe_preset", "verdict", "framework_words", "PRESET_PURPOSE",
           "has_validation", "training_outcome"]
