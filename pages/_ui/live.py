"""Run and results helpers for the Train, Results, Runs and Predict pages.

Thin glue between the run store and the pages: which run a page follows, the live history
read incrementally, progress and time estimates, artifacts read back from a run folder, and the
downloads (predictions CSV, bundle zip, training script, HTML report). All figures come from
:mod:`seqcore.outputs.viz`; nothing here imports Keras or loads a model (prediction jobs run in a
worker through :func:`seqcore.runs.runner.submit_predict`).

Cached readers use ``st.cache_resource`` keyed on the file's path, size and modification time, so
nothing is pickled; treat the frames they return as read-only.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages._ui.backtest_ui import backtest_phase, choose_phase
from seqcore.modeling.ensemble import first_member_text, member_phase
from pages._ui.base import fmt_seconds, fmt_when, md  # noqa: F401 - md: pages use live.md
from seqcore.config import RunSpec
from seqcore.outputs.export import FORMULA_PREFIXES
from seqcore.outputs.outcome import has_validation, training_outcome
from seqcore.modeling.progress import Progress
from seqcore.runs.store import ACTIVE_STATUSES, FINAL_STATUSES, HistoryColumns, RunRecord, RunStore, is_valid_run_id

#: Page-local session keys of the Train / Results / Runs / Predict pages (initialised by :func:`init_state`).
STATE_DEFAULTS: dict[str, Any] = {
    "train_live": None,          # LiveHistory of the run the Train page follows
    "train_submitted": None,     # {"key": spec hash, "run_id": id} of the last Start press in this session
    "train_start_error": None,   # message of a refused Start (shown once)
    "train_page_status": None,   # (run id, status) the last full run of the Train page saw
    "predict_job_id": None,      # the prediction job the Predict page follows
    "predict_submitted": None,   # {"key": (run, dataset), "job_id": id} of the last Predict press
    "predict_page_status": None,  # (job id, status) the last full run of the Predict page saw
    "runs_confirm_delete": None,  # run id waiting for a delete confirmation
}

LIVE_POLL_S = 0.75                # live chart refresh while a run is active (at most ~1.3 redraws/s)
PREDICT_POLL_S = 0.5
MAX_BATCH_POINTS = 6000           # batch points kept per followed run (older ones are thinned)
STATUS_WORDS = {
    "queued": "waiting in the queue",
    "running": "training",
    "finished": "finished",
    "stopped": "stopped by you (the best weights so far were kept)",
    "failed": "failed",
    "interrupted": "interrupted (the worker stopped while it trained)",
}
RESULTS_STATUSES = ("finished", "stopped")


def init_state() -> None:
    """Initialise this module's session keys (only the missing ones)."""
    for key, value in STATE_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


# ----------------------------------------------------------------------------- which run


def get_run_or_none(store: RunStore, run_id: str | None) -> RunRecord | None:
    """The run, or None when the id is missing, malformed or unknown."""
    if not run_id or not is_valid_run_id(run_id):
        return None
    try:
        return store.get_run(run_id)
    except Exception:  # noqa: BLE001 - RunNotFound (deleted) or a malformed id: nothing to follow
        return None


def follow_run(store: RunStore, current_run_id: str | None) -> RunRecord | None:
    """The training run the Train page shows: the session's current run when it still exists, else
    the newest queued/running run (re-attaching after a refresh), else the newest run."""
    rec = get_run_or_none(store, current_run_id)
    if rec is not None and rec.kind == "train":
        return rec
    active = store.list_runs(kind="train", status=ACTIVE_STATUSES)
    if active:
        running = [r for r in active if r.status == "running"]
        return running[0] if running else active[-1]
    newest = store.list_runs(kind="train", limit=1)
    return newest[0] if newest else None


def queue_position(store: RunStore, run_id: str) -> tuple[int, int]:
    """(1-based place of a queued job among the queued ones, number of jobs training now)."""
    counts = store.queue_counts()          # one read, so the place and the running count agree
    ids = counts["queued_ids"]             # oldest first
    place = ids.index(run_id) + 1 if run_id in ids else 0
    return place, counts["running"]


def spec_key(spec: RunSpec, dataset_id: str | None, test_dataset_id: str | None, csv_options: dict | None) -> str:
    """A hash of everything a Start press submits (same key = same run request)."""
    csv = {k: v for k, v in (csv_options or {}).items() if v is not None}  # None = "detect", same as absent
    payload = json.dumps({"spec": spec.to_dict(), "data": dataset_id, "test": test_dataset_id,
                          "csv": csv}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def results_runs(store: RunStore) -> list[RunRecord]:
    """Training runs that have results to show (finished or stopped with saved metrics), newest first."""
    return [r for r in store.list_runs(kind="train", status=RESULTS_STATUSES)
            if (store.run_dir(r.id) / "metrics.json").exists()]


def model_runs(store: RunStore) -> list[RunRecord]:
    """Training runs with a saved model bundle (usable for predictions), newest first."""
    return [r for r in store.list_runs(kind="train", status=RESULTS_STATUSES)
            if (store.run_dir(r.id) / "bundle" / "spec.json").exists()]


def results_link_path(run_id: str) -> str:
    """The relative address of a run's results page (shareable: the run id is in the query string)."""
    return f"Results?run={run_id}"


# ----------------------------------------------------------------------------- live history


@dataclass
class LiveHistory:
    """The progress points of one run, read incrementally from the store.

    ``points``: Progress objects in store order (batch and epoch points). ``last_seq``: the
    store-wide sequence number of the newest point read; each :meth:`update` reads only newer ones.
    """

    run_id: str
    attempt: int
    last_seq: int = 0
    points: list = field(default_factory=list)
    reads: int = 0            # how many times the store was polled (diagnostics / tests)

    def update(self, store: RunStore) -> int:
        """Append the points written since the last call; returns how many were new."""
        new = store.read_history(self.run_id, after_seq=self.last_seq)
        self.reads += 1
        if not new:
            return 0
        self.last_seq = new[-1][0]
        self.points.extend(p for _, p in new)
        n_batch = sum(1 for p in self.points if p.kind == "batch")
        if n_batch > MAX_BATCH_POINTS:  # keep every epoch point, thin the older half of the batch points
            half = len(self.points) // 2
            self.points = [p for i, p in enumerate(self.points[:half]) if p.kind != "batch" or i % 2 == 0] \
                + self.points[half:]
        return len(new)


def live_history(store: RunStore, rec: RunRecord, key: str = "train_live") -> LiveHistory:
    """The session's LiveHistory for ``rec`` (a fresh one when the run or its attempt changed), updated."""
    hist = st.session_state.get(key)
    if not isinstance(hist, LiveHistory) or hist.run_id != rec.id or hist.attempt != rec.attempt:
        hist = LiveHistory(run_id=rec.id, attempt=rec.attempt)
        st.session_state[key] = hist
    hist.update(store)
    return hist


@dataclass
class ProgressInfo:
    """What the progress bar and the figures beside it show."""

    fraction: float               # 0..1 of the planned epochs
    text: str                     # "Epoch 3 of 20 · batch 12 of 40"
    elapsed: float | None         # seconds since the run started
    remaining: float | None       # estimated seconds left (None before the first batch)
    lr: float | None
    epoch: int
    epochs: int | None
    last_loss: float | None
    best_val_loss: float | None
    best_val_accuracy: float | None = None   # classifiers with validation data: what picks the kept epoch
    best_loss: float | None = None           # the lowest epoch training loss (picks the epoch without validation)


def progress_info(rec: RunRecord, points: list, now: float | None = None) -> ProgressInfo:
    """Progress of a run from its newest point and its record (times in seconds)."""
    now = time.time() if now is None else now
    last = points[-1] if points else None
    elapsed = None
    if rec.started is not None:
        elapsed = max(0.0, (rec.ended if rec.status in FINAL_STATUSES and rec.ended else now) - rec.started)
    epochs = None
    if rec.spec:
        try:
            epochs = int(((rec.spec.get("train") or {}).get("epochs")))
        except (TypeError, ValueError):
            epochs = None
    if last is None:
        frac = 1.0 if rec.status == "finished" else 0.0
        text = {"queued": "Waiting to start", "running": "Starting: preparing the data and the model…"}.get(
            rec.status, "No progress recorded")
        return ProgressInfo(frac, text, elapsed, None, None, 0, epochs, None, rec.best_val_loss)
    epochs = last.epochs or epochs or 1
    phase = first_member_text(last) + ("Final fit on training + validation data: " if last.kind == "final" else "")
    if last.kind == "backtest":   # epoch = the fold, batch = the fold's epoch (pages/_ui/backtest_ui.py)
        done, epochs, text = backtest_phase(last, rec.status in FINAL_STATUSES)
    elif last.kind == "choose":   # epoch = the candidate base, batch = its epoch (seqcore.modeling.base_select)
        done, epochs, text = choose_phase(last)
    elif last.kind == "member":   # epoch = the ensemble member, batch = its epoch (seqcore.modeling.ensemble)
        done, epochs, text = member_phase(last, rec.status in FINAL_STATUSES)
    elif last.kind == "epoch" or not last.batches or (last.kind == "final" and last.batch >= last.batches):
        done = float(last.epoch)
        text = f"{phase}Epoch {last.epoch} of {epochs} done"
    else:
        done = (last.epoch - 1) + min(1.0, last.batch / last.batches)
        text = f"{phase}Epoch {last.epoch} of {epochs} · batch {last.batch} of {last.batches}"
    frac = min(1.0, max(0.0, done / epochs))
    if last.kind in ("batch", "epoch", "final") and first_member_text(last):   # member 1 of K: its share of the run
        frac /= int(last.metrics["members"])
    if rec.status == "finished":
        frac = 1.0
    remaining = None
    if rec.status == "running" and frac > 0 and last.elapsed and last.elapsed > 0:
        # the trainer's clock (since fit started) at the last point, extrapolated to the planned epochs
        remaining = max(0.0, last.elapsed * (1 - frac) / frac)
    epoch_pts = [p for p in points if p.kind == "epoch"]
    losses = [p.val_loss for p in epoch_pts if p.val_loss is not None and math.isfinite(p.val_loss)]
    accs = [float(p.metrics["val_accuracy"]) for p in epoch_pts if isinstance(p.metrics, dict)
            and isinstance(p.metrics.get("val_accuracy"), (int, float)) and math.isfinite(p.metrics["val_accuracy"])]
    train_losses = [p.loss for p in epoch_pts if p.loss is not None and math.isfinite(p.loss)]
    return ProgressInfo(frac, text, elapsed, remaining, last.lr, int(last.epoch), epochs,
                        last.loss, min(losses) if losses else rec.best_val_loss, max(accs) if accs else None,
                        min(train_losses) if train_losses else None)


def without_validation(rec: RunRecord, points: list) -> bool:
    """True when the run trains without a validation part (so the training loss picks the kept epoch and
    early stopping watches it): what its finished training recorded, else its epoch points (none with a
    validation loss), else its spec's validation share."""
    summary = rec.summary if isinstance(rec.summary, dict) else {}
    if summary.get("training"):
        return not has_validation(_spec_or_default(rec), summary)
    epoch_pts = [p for p in points if p.kind == "epoch"]
    if epoch_pts:
        return all(p.val_loss is None or not math.isfinite(p.val_loss) for p in epoch_pts)
    return not has_validation(_spec_or_default(rec))


def _spec_or_default(rec: RunRecord) -> RunSpec:
    try:
        return RunSpec.from_dict(rec.spec)
    except Exception:  # noqa: BLE001 - an old or foreign spec: the defaults (with validation)
        return RunSpec()


def finish_message(rec: RunRecord) -> str:
    """The Train page's line for a finished run: how many epochs, which was kept and why training ended,
    with no validation wording when the run had no validation part (:func:`seqcore.outputs.report.training_outcome`)."""
    summary = rec.summary if isinstance(rec.summary, dict) else {}
    return training_outcome(_spec_or_default(rec), summary, epochs_run=rec.epochs_run,
                            best_epoch=summary.get("best_epoch"))


def training_story(spec: RunSpec, metrics: dict | None) -> list[str]:
    """The Results page's lines under the loss chart: how training ended (empty without training figures)."""
    if not (metrics or {}).get("training"):
        return []
    return [training_outcome(spec, metrics)]


def eta_text(info: ProgressInfo, status: str, patience: int | None = None) -> str:
    if status != "running" or info.remaining is None:
        return "–"
    text = fmt_seconds(info.remaining)
    return f"≤ {text}" if patience else text


# ----------------------------------------------------------------------------- artifacts


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        st_ = path.stat()
    except OSError:
        return None
    return str(path), st_.st_size, st_.st_mtime_ns


@st.cache_resource(show_spinner=False, max_entries=64)
def _read_json(path: str, size: int, mtime: int) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@st.cache_resource(show_spinner=False, max_entries=32)
def _read_csv(path: str, size: int, mtime: int) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def read_json(path: Path) -> Any:
    """A JSON artifact (cached by path, size and mtime); None when the file does not exist."""
    stamp = _stamp(path)
    return None if stamp is None else _read_json(*stamp)


def read_csv_artifact(path: Path) -> pd.DataFrame | None:
    """A CSV artifact written by the worker (cached; read-only); None when it does not exist."""
    stamp = _stamp(path)
    return None if stamp is None else _read_csv(*stamp)


def load_metrics(store: RunStore, rec: RunRecord) -> dict | None:
    """metrics.json of a run ({"test", "baselines", "comparison", "training", "notes"}), else its summary."""
    m = read_json(store.run_dir(rec.id) / "metrics.json")
    if isinstance(m, dict):
        return m
    return rec.summary if isinstance(rec.summary, dict) and rec.summary.get("test") else None


def unescape_for_display(df: pd.DataFrame) -> pd.DataFrame:
    """Undo the spreadsheet-formula escape of exported CSV text cells for showing in the app
    (``'=A1`` -> ``=A1``; Streamlit shows cells as text, never as formulas)."""
    out = df.copy()
    prefixes = tuple("'" + p for p in FORMULA_PREFIXES)

    def fix(v):
        return v[1:] if isinstance(v, str) and v.startswith(prefixes) else v

    out.columns = [fix(str(c)) for c in out.columns]
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].map(fix)
    return out


def predictions(store: RunStore, run_id: str) -> pd.DataFrame | None:
    """predictions.csv of a run or prediction job, text cells unescaped for display."""
    df = read_csv_artifact(store.run_dir(run_id) / "predictions.csv")
    return None if df is None else unescape_for_display(df)


def forecast_table(store: RunStore, run_id: str) -> pd.DataFrame | None:
    """forecast.csv of a forecasting run (step, optional time, one column per target)."""
    df = read_csv_artifact(store.run_dir(run_id) / "forecast.csv")
    return None if df is None else unescape_for_display(df)


def bundle_state(store: RunStore, run_id: str) -> dict | None:
    """The bundle's preprocessing state (preprocess.json: column roles, class names, ...), no model load."""
    st_ = read_json(store.run_dir(run_id) / "bundle" / "preprocess.json")
    return st_ if isinstance(st_, dict) else None


def full_history(store: RunStore, run_id: str) -> list[Progress]:
    """All progress points of a run (epoch and batch)."""
    return [p for _, p in store.read_history(run_id)]


def loss_curves(store: RunStore, run_id: str) -> HistoryColumns:
    """A run's history as columns for ``viz.loss_figure``: read once per process, then only the points
    written since (``RunStore.history_columns``). For a 50,000-point run a redraw costs ~30 ms this
    way against ~0.4-1 s through :func:`full_history` (``bench/speed.py --only chart``)."""
    return store.history_columns(run_id)


def epoch_history(store: RunStore, run_id: str) -> list[Progress]:
    return [p for _, p in store.read_history(run_id, kind="epoch")]


# ----------------------------------------------------------------------------- downloads


def file_bytes(path: Path) -> bytes:
    return Path(path).read_bytes()


def bundle_zip(store: RunStore, run_id: str) -> bytes:
    """The run's model bundle as zip bytes (files only; no model is loaded)."""
    from seqcore.outputs.bundle import bundle_zip_bytes

    return bundle_zip_bytes(store.run_dir(run_id) / "bundle")


def csv_format_of(store: RunStore, rec: RunRecord) -> dict:
    """How the run's CSV was read: the dataset's detected format overridden by the run's CSV options."""
    fmt: dict = {}
    try:
        fmt.update(store.get_dataset(rec.dataset_id).format or {})
    except Exception:  # noqa: BLE001 - a deleted dataset only costs the detected format
        pass
    for k, v in (rec.csv_options or {}).items():
        if v is not None:
            fmt[k] = v
    return {k: v for k, v in fmt.items() if k in ("delimiter", "decimal", "thousands", "encoding")}


def dataset_name(store: RunStore, dataset_id: str | None, default: str = "data.csv") -> str:
    if not dataset_id:
        return default
    try:
        return store.get_dataset(dataset_id).name
    except Exception:  # noqa: BLE001
        return default


def training_script(store: RunStore, rec: RunRecord) -> tuple[str, str]:
    """(script text, file name) of the standalone Keras script that trains this run's model."""
    from seqcore.outputs.codegen import script_filename, training_script as make

    spec = RunSpec.from_dict(rec.spec)
    ens = (load_metrics(store, rec) or {}).get("ensemble")
    text = make(spec, csv_name=dataset_name(store, rec.dataset_id), csv_format=csv_format_of(store, rec),
                created=time.strftime("%Y-%m-%d", time.localtime(rec.created)),
                members=int(ens.get("members") or 1) if isinstance(ens, dict) else 1)
    return text, script_filename(spec)


def report_html(store: RunStore, rec: RunRecord) -> bytes:
    """The self-contained HTML report of a run (plotly.js and figures embedded)."""
    from seqcore.outputs.report import run_report_html

    spec = RunSpec.from_dict(rec.spec)
    html = run_report_html(run_name=rec.name, spec=spec, metrics=load_metrics(store, rec) or {},
                           history=[p.to_dict() for p in epoch_history(store, rec.id)],
                           predictions=read_csv_artifact(store.run_dir(rec.id) / "predictions.csv"),
                           forecast=read_csv_artifact(store.run_dir(rec.id) / "forecast.csv"),
                           created=fmt_when(rec.created),
                           manifest=read_json(store.run_dir(rec.id) / "bundle" / "manifest.json"))
    return html.encode("utf-8")


def safe_file_stem(text: str, default: str = "run") -> str:
    """A download file name part made of letters, digits, '-' and '_' only."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(text))[:60].strip("_")
    return stem or default


# ----------------------------------------------------------------------------- classification results


def confident_mistakes(pred: pd.DataFrame | None, n: int = 10) -> pd.DataFrame:
    """The ``n`` wrong test predictions the model was most sure about (highest confidence first)."""
    if pred is None or len(pred) == 0 or not {"actual", "predicted"} <= set(pred.columns):
        return pd.DataFrame()
    wrong = pred[pred["actual"].astype(str) != pred["predicted"].astype(str)]
    if "confidence" in wrong.columns:
        wrong = wrong.assign(confidence=pd.to_numeric(wrong["confidence"], errors="coerce"))
        wrong = wrong.sort_values("confidence", ascending=False, kind="stable")
    return wrong.head(n).reset_index(drop=True)


def mistake_sequences(store: RunStore, rec: RunRecord, mistakes: pd.DataFrame,
                      csv_options: dict | None = None) -> tuple[dict[str, list[np.ndarray]], list[str]]:
    """The input sequences of the given mistakes, for :func:`seqcore.outputs.viz.sequences_figure`.

    Returns ({"A predicted as B (line 12, 93% sure)": [(steps, features) array]}, feature names).
    The test examples come from the run's test file when it had one, else from its training file;
    wide data is identified by file line, long data by sequence id.
    """
    from seqcore.data.io import CsvOptions, read_table
    from seqcore.modeling.tasks.classify import extract_sequences

    state = bundle_state(store, rec.id)
    if state is None or len(mistakes) == 0:
        return {}, []
    spec = RunSpec.from_dict(rec.spec).data.replace(features=tuple(state["features"]))
    id_col = "line" if "line" in mistakes.columns else (spec.id if spec.id in mistakes.columns else None)
    if id_col is None:
        return {}, []
    ds = rec.test_dataset_id or rec.dataset_id
    table = read_table(store.dataset_bytes(ds), CsvOptions.from_dict(csv_options or rec.csv_options or {}))
    seqs, _, ids, _ = extract_sequences(table.df, spec, list(state["features"]), labels_required=False)
    by_id = {str(v): s for v, s in zip(ids.iloc[:, 0].tolist(), seqs)}
    out: dict[str, list[np.ndarray]] = {}
    for _, row in mistakes.iterrows():
        s = by_id.get(str(row[id_col]))
        if s is None:
            continue
        conf = row.get("confidence")
        conf_txt = f", {float(conf):.0%} sure" if conf is not None and pd.notna(conf) else ""
        where = f"line {row[id_col]}" if id_col == "line" else f"sequence {row[id_col]}"
        out[f"{row['actual']} predicted as {row['predicted']} ({where}{conf_txt})"] = [s]
    names = list(state["features"]) if spec.layout != "wide" and state.get("layout") != "wide" else []
    return out, names


def class_counts_figure(pred: pd.DataFrame) -> go.Figure:
    """Predicted classes of a prediction job: how many of each, and how sure the model was."""
    from plotly.subplots import make_subplots

    from seqcore.outputs.viz import PALETTE, plain

    counts = pred["predicted"].astype(str).value_counts()
    has_conf = "confidence" in pred.columns
    fig = make_subplots(rows=1, cols=2 if has_conf else 1,
                        subplot_titles=("Predicted class", "How sure the model was") if has_conf else None,
                        column_widths=[0.5, 0.5] if has_conf else None)
    fig.add_trace(go.Bar(x=[plain(k) for k in counts.index], y=counts.to_numpy(), text=counts.to_numpy(),
                         textposition="auto", showlegend=False,
                         marker={"color": [PALETTE[i % len(PALETTE)] for i in range(len(counts))]},
                         hovertemplate="%{x}: %{y} rows<extra></extra>"), row=1, col=1)
    fig.update_xaxes(type="category", title="class", row=1, col=1)
    fig.update_yaxes(title="rows", row=1, col=1)
    if has_conf:
        conf = pd.to_numeric(pred["confidence"], errors="coerce").dropna()
        fig.add_trace(go.Histogram(x=conf, nbinsx=20, showlegend=False, marker={"color": PALETTE[0]},
                                   hovertemplate="confidence %{x}: %{y} rows<extra></extra>"), row=1, col=2)
        fig.update_xaxes(title="confidence (probability of the predicted class)", tickformat=".1%", row=1, col=2)
        fig.update_yaxes(title="rows", row=1, col=2)
    fig.update_layout(height=340, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
    return fig


# ----------------------------------------------------------------------------- runs table


def main_metric(summary: dict | None) -> tuple[str | None, float | None]:
    """(metric label, value) of a run's main test metric (MAE for forecasts, accuracy otherwise)."""
    from seqcore.outputs.viz import METRIC_INFO

    comp = (summary or {}).get("comparison") or {}
    key, value = comp.get("metric"), comp.get("model")
    if key is None:
        test = (summary or {}).get("test") or {}
        for k in ("mae", "accuracy"):
            if isinstance(test.get(k), (int, float)):
                key, value = k, test[k]
                break
    if key is None:
        return None, None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return METRIC_INFO.get(key, (key,))[0], None
    return METRIC_INFO.get(key, (key,))[0], value if math.isfinite(value) else None


def runs_frame(runs: list[RunRecord], *, owners: bool = False) -> pd.DataFrame:
    """One row per training run with its key settings and results (for the Runs page table); ``owners``: a
    column with whom each run belongs to (an administrator's view of a shared server)."""
    from seqcore.outputs.viz import format_number

    rows = []
    for r in runs:
        spec = r.spec or {}
        m, t, d = spec.get("model") or {}, spec.get("train") or {}, spec.get("data") or {}
        label, value = main_metric(r.summary)
        pct = label in ("Accuracy",)
        rows.append({
            "name": r.name,
            "status": r.status,
            "task": r.task or d.get("task"),
            "cell": str(m.get("cell", "")).upper() + (" (bi)" if m.get("bidirectional") else ""),
            "units": " + ".join(str(u) for u in m.get("units") or []),
            "window": d.get("window") if (r.task or d.get("task")) == "forecast" else None,
            "epochs": f"{r.epochs_run or 0} / {t.get('epochs', '?')}",
            "batch": t.get("batch_size"),
            "learning rate": t.get("learning_rate"),
            "dropout": m.get("dropout"),
            "best val loss": r.best_val_loss,
            "test metric": f"{label} {format_number(value, percent=pct)}" if label and value is not None else None,
            "duration (s)": None if r.duration is None else round(r.duration, 1),
            "created": datetime.fromtimestamp(r.created) if r.created else None,  # server local time
            "results": results_link_path(r.id) if r.status in RESULTS_STATUSES else None,
            "id": r.id,
        } | ({"owner": r.owner} if owners else {}))
    return pd.DataFrame(rows)


def compare_metrics_frame(runs: list[RunRecord], metrics_by_run: dict[str, dict | None]) -> pd.DataFrame:
    """Test metrics of several runs side by side (rows = metrics, one column per run)."""
    from seqcore.outputs.viz import CARD_METRICS, METRIC_INFO, format_number

    keys: list[str] = []
    for r in runs:
        for k in CARD_METRICS.get(r.task or "", ()):
            if k not in keys:
                keys.append(k)
    data: dict[str, list] = {}
    for r in runs:
        test = ((metrics_by_run.get(r.id) or {}).get("test")) or {}
        col = f"{r.name} ({r.id})"
        data[col] = [format_number(test.get(k), percent=METRIC_INFO[k][2]) for k in keys]
    extra = {"best val loss": [format_number(r.best_val_loss) for r in runs],
             "epochs run": [str(r.epochs_run or 0) for r in runs]}
    index = [METRIC_INFO[k][0] for k in keys] + list(extra)
    for i, r in enumerate(runs):
        col = f"{r.name} ({r.id})"
        data[col] = data[col] + [extra["best val loss"][i], extra["epochs run"][i]]
    return pd.DataFrame(data, index=index)
