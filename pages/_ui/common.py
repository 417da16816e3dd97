"""Shared helpers for every page: setup, session state, the run store, errors, samples, estimates.

Pages import this as ``from pages._ui import common as ui`` and call :func:`setup` first.

Session state is initialised here, in one place (:data:`STATE_DEFAULTS`). Pages copy widget
values *out* into these plain keys, because Streamlit deletes the widget keys of a page that is
not shown; a page seeds its widget keys from the plain keys with :func:`seed`.

The Streamlit server never imports TensorFlow: everything here reads the run store, parses CSV
bytes (pandas) or estimates; training and predicting happen in worker processes.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from seqcore.runs import runner
from seqcore.config import DataSpec, ModelSpec, RunSpec, TrainSpec, apply_preset
from seqcore.errors import UserError
from seqcore.data.io import CsvOptions, Table, read_csv
from seqcore.runs.store import RunStore, default_home, is_valid_run_id

LOG = logging.getLogger("seqstudio.app")

# Per script run (each session's script runs in its own thread): the sidebar slot to redraw.
_RUN = threading.local()

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "seqcore" / "samples"

PAGES = {
    "home": "app.py",
    "data": "pages/1_Data.py",
    "model": "pages/2_Model.py",
    "train": "pages/3_Train.py",
    "results": "pages/4_Results.py",
    "runs": "pages/5_Runs.py",
    "predict": "pages/6_Predict.py",
    "sweeps": "pages/7_Sweeps.py",
}

TASK_LABELS = {
    "forecast": "Forecast a time series",
    "classify": "Classify sequences",
    "text": "Classify texts",
}

STATUS_ICONS = {"queued": "⏳", "running": "🏃", "finished": "✅", "stopped": "⏹️", "failed": "❌",
                "interrupted": "⚠️"}


_BALANCED = apply_preset(RunSpec(), "balanced")


def _state_defaults() -> dict[str, Any]:
    return {
        "dataset_id": None,          # sha256 id of the training CSV in the run store
        "dataset_name": None,        # its display name (never a path)
        "test_dataset_id": None,     # optional separate test CSV (classify / text)
        "test_dataset_name": None,
        "csv_options": {},           # seqcore.data.io.CsvOptions.to_dict(); {} = detect everything
        "task": "forecast",          # "forecast" | "classify" | "text"
        "data_spec": None,           # DataSpec.to_dict(), set by the Data page once the data checks out
        "model_spec": _BALANCED.model.to_dict(),   # the "balanced" preset on the defaults
        "train_spec": _BALANCED.train.to_dict(),
        "preset": "balanced",        # last preset applied: "quick" | "balanced" | "thorough"
        "current_run_id": None,      # the run the Train page follows
        # private bookkeeping (underscore = not part of the page contract)
        "_data_draft": None,         # the Data page's widget values while the data does not check out yet
        "_restored_from": None,      # run id the configuration was restored from after a refresh
        "_notice": None,             # one-shot message shown by setup() on the next page (e.g. after a switch)
    }


STATE_DEFAULTS = _state_defaults()

# Widget-key prefixes of the Data page's column roles / options / file format, and of the Model page.
# Cleared when another dataset or configuration is loaded so those widgets re-seed from plain keys.
DATA_WIDGET_PREFIXES = ("data_fmt_", "data_role_", "data_opt_")
MODEL_WIDGET_PREFIXES = ("model_",)


# ----------------------------------------------------------------------------- page setup


def setup(page_title: str, icon: str) -> None:
    """First call on every page: wide layout, session state, sidebar."""
    st.set_page_config(page_title=f"{page_title} · Sequence Studio", page_icon=icon, layout="wide")
    init_state()
    _sidebar()
    notice = st.session_state.get("_notice")
    if notice:
        st.session_state["_notice"] = None
        st.success(notice)


def init_state() -> None:
    """Initialise every session-state key this app uses (only the missing ones)."""
    for key, value in _state_defaults().items():
        if key not in st.session_state:
            st.session_state[key] = value


def seed(key: str, value: Any) -> None:
    """Give the widget ``key`` its starting value unless it already has one (before the widget is drawn)."""
    if key not in st.session_state:
        st.session_state[key] = value


NAV = (("home", "Home", "🏠"), ("data", "1 · Data", "📄"), ("model", "2 · Model", "🧠"),
       ("train", "3 · Train", "🚀"), ("results", "4 · Results", "📊"), ("runs", "5 · Runs", "🗂️"),
       ("predict", "6 · Predict", "🔮"), ("sweeps", "7 · Sweeps", "🔍"))


def _sidebar() -> None:
    # The pages/ folder's own navigation is hidden (client.showSidebarNavigation = false in
    # .streamlit/config.toml) because it would label the main page "app"; these links replace it.
    with st.sidebar:
        st.markdown("### Sequence Studio")
        for key, label, icon in NAV:
            st.page_link(PAGES[key], label=label, icon=icon)
        st.divider()
        _RUN.summary_slot = st.empty()
        _setup_summary(_RUN.summary_slot)
        worker_status_box(compact=True)
        _backend_and_sweeps()
        st.caption("Data folder (runs, datasets, models):")
        st.code(str(home_path()), language=None)


def _backend_and_sweeps() -> None:
    """Which backend runs the jobs (local processes or a Ray cluster, with its resources), and a running
    sweep's driver picked up again after a restart, whatever page the user opens first."""
    from pages._ui import sweeps_ui
    from seqcore import sweeps

    try:
        s = store()
        st.caption(sweeps_ui.describe_backend(runner.backend_status(s.home)))
        sweeps.ensure_driver_if_needed(s)
    except Exception:  # noqa: BLE001 - the sidebar must never break a page; details go to the log
        LOG.exception("backend status / sweep driver check failed")


def refresh_sidebar() -> None:
    """Redraw the sidebar's "Current setup" box (call at the end of a page that changed the setup,
    so the box does not lag one run behind), and tell a running worker what is probably trained next."""
    slot = getattr(_RUN, "summary_slot", None)
    if slot is not None:
        _setup_summary(slot)
    hint_prepare(start=False)


def hint_prepare(*, start: bool = False) -> bool:
    """Tell the background worker which run is probably next: the current setup, with exactly the inputs
    the Train page's Start submits. A waiting worker then prepares the data and compiles the model ahead,
    so the first loss point comes about as fast for new settings as for a rerun
    (:func:`seqcore.runs.runner.hint_prepare`). ``start``: also start the worker when none runs (in the
    background). Cheap (one small file, rewritten only when the setup changes); never raises or blocks.
    Returns True when a new hint was written."""
    ss = st.session_state
    if not ss.get("dataset_id"):
        return False
    try:
        spec = current_spec()
        if spec is None:
            return False
        return runner.hint_prepare(store(), spec, ss["dataset_id"], test_dataset_id=ss.get("test_dataset_id"),
                                   csv_options=run_csv_options(), start=start)
    except UserError:
        return False  # an unfinished or invalid setup: nothing to prepare
    except Exception:  # noqa: BLE001 - only a head start: never break a page
        LOG.exception("prepare hint failed")
        return False


def run_csv_options() -> dict:
    """The session's CSV options as a run is submitted with them (only the ones set)."""
    return {k: v for k, v in (st.session_state.get("csv_options") or {}).items() if v is not None}


def _setup_summary(slot) -> None:
    # Always the same three elements, so a redraw by refresh_sidebar() replaces each of them.
    ss = st.session_state
    name = ss.get("dataset_name")
    note = ""
    if not name:
        body = "No data chosen yet."
    else:
        m = ss.get("model_spec") or {}
        t = ss.get("train_spec") or {}
        units = " + ".join(str(u) for u in m.get("units", []))
        lines = [f"Data: {name}"]
        if ss.get("test_dataset_name"):
            lines.append(f"Test data: {ss['test_dataset_name']}")
        lines += [f"Task: {TASK_LABELS.get(ss.get('task'), '?')}",
                  f"Model: {'bidirectional ' if m.get('bidirectional') else ''}{str(m.get('cell', 'lstm')).upper()} "
                  f"{units}",
                  f"Training: up to {t.get('epochs')} epochs, batch {t.get('batch_size')}"]
        body = "\n".join(lines)
        if ss.get("data_spec") is None:
            note = "The data is not set up yet: finish the Data page."
    with slot.container(border=True):
        st.markdown("**Current setup**")
        st.text(body)
        st.caption(note)


def worker_status_box(*, compact: bool = False) -> None:
    """Worker + queue status: alive or idle, queued and running jobs."""
    try:
        s = store()
        status = runner.supervisor_status(s.home)
        if not status.get("alive"):
            # after the app (and its worker) was killed and restarted: runs whose worker is gone
            # become "interrupted" (resumable) instead of showing "running" forever
            for run_id in runner.recover_orphans(s):
                LOG.warning("run %s: its worker is gone (app restarted?); marked interrupted", run_id)
        queued = s.queued_count()
        running = s.running_jobs()
    except Exception as err:  # noqa: BLE001 - the sidebar must never break a page
        LOG.exception("worker status failed")
        st.caption(f"Worker status unavailable ({type(err).__name__}).")
        return
    if status.get("alive"):
        warm = status.get("warm")
        state = "running" + (", warm and ready" if warm == "ready" else ", warming up" if warm == "starting" else "")
    else:
        state = "idle (starts when you open Train or start a run)"
    if compact:
        st.caption(f"Worker: {state}. Queue: {len(running)} running, {queued} waiting.")
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Worker", "on" if status.get("alive") else "idle", help=f"The background process that trains "
              f"models: {state}. It starts by itself (opening the Train page gets it ready) and uses up to {status.get('cores', '?')} "
              "CPU cores.")
    c2.metric("Training now", len(running), help="Runs being trained right now.")
    c3.metric("Waiting", queued, help="Runs queued behind them; they start one after another.")


# ----------------------------------------------------------------------------- store and worker


def home_path() -> Path:
    """The data folder (``$SEQSTUDIO_HOME`` or ``~/.seqstudio``)."""
    return default_home().expanduser().resolve()


@st.cache_resource(show_spinner=False)
def _store_for(home: str) -> RunStore:
    return RunStore(home)


def store() -> RunStore:
    """The run store of the data folder (one object per process and folder; it is thread-safe)."""
    return _store_for(str(home_path()))


def ensure_worker() -> int | None:
    """Make sure a background worker serves the data folder; returns its pid, or None after an error
    (which is shown on the page). Cheap when one is alive already."""
    try:
        s = store()
        pid = runner.supervisor_pid(s.home)
        if pid is not None:
            return pid
        return runner.ensure_supervisor(s.home)
    except Exception as err:  # noqa: BLE001
        show_error(err)
        return None


# ----------------------------------------------------------------------------- errors and guards


def show_error(err: BaseException) -> None:
    """A user mistake as its plain message; anything else as a short apology (details go to the log)."""
    if isinstance(err, UserError):
        st.error(str(err), icon="⚠️")
        return
    LOG.error("Unexpected error on a page", exc_info=(type(err), err, err.__traceback__))
    st.error("Something went wrong on our side; the details were written to the app log. "
             "Try again, or reload the page.", icon="🛠️")


def require(condition: bool, message: str, page: str, label: str) -> None:
    """Stop the page with ``message`` and a link to ``page`` when ``condition`` is false."""
    if not condition:
        st.info(message, icon="👉")
        st.page_link(page, label=label, icon="➡️")
        st.stop()


# ----------------------------------------------------------------------------- specs


def current_spec() -> RunSpec | None:
    """The RunSpec built from session state, or None while the data is not set up."""
    d = st.session_state.get("data_spec")
    if not d:
        return None
    return RunSpec.from_dict({"data": d, "model": st.session_state.get("model_spec") or {},
                              "train": st.session_state.get("train_spec") or {}})


def load_run_config(run_id: str) -> None:
    """Copy a stored run's data/model/train spec, dataset and CSV options into session state.

    Raises :class:`UserError` (RunNotFound) for an unknown id. Widget keys of the Data and Model
    pages are dropped so those pages re-seed from the loaded configuration.
    """
    s = store()
    rec = s.get_run(run_id)
    if rec.kind != "train":
        raise UserError("That is a prediction job, not a training run; pick a training run.")
    spec = RunSpec.from_dict(rec.spec)
    ss = st.session_state
    ss["data_spec"] = spec.data.to_dict()
    ss["model_spec"] = spec.model.to_dict()
    ss["train_spec"] = spec.train.to_dict()
    ss["task"] = spec.data.task
    ss["csv_options"] = dict(rec.csv_options or {})
    ss["_data_draft"] = None
    ss["_restored_from"] = run_id
    for key, name_key, ds_id in (("dataset_id", "dataset_name", rec.dataset_id),
                                 ("test_dataset_id", "test_dataset_name", rec.test_dataset_id)):
        ss[key], ss[name_key] = None, None
        if ds_id:
            try:
                info = s.get_dataset(ds_id)
                ss[key], ss[name_key] = info.id, info.name
            except UserError:
                pass  # the dataset was deleted; the Data page asks for a file
    clear_widgets(*DATA_WIDGET_PREFIXES, *MODEL_WIDGET_PREFIXES)


def restore_if_empty() -> str | None:
    """After a browser refresh (nothing chosen yet), take the configuration of the newest run.
    Returns the run id restored from, or None."""
    ss = st.session_state
    if ss.get("dataset_id") or ss.get("_restored_from") is not None:
        return None
    ss["_restored_from"] = ""  # only try once per session
    try:
        runs = store().list_runs(kind="train", limit=1)
    except Exception:  # noqa: BLE001
        LOG.exception("restore failed")
        return None
    if not runs:
        return None
    try:
        load_run_config(runs[0].id)
    except UserError:
        return None
    return runs[0].id


def clear_widgets(*prefixes: str) -> None:
    """Forget widget values whose keys start with one of ``prefixes`` (they re-seed from plain keys).
    The plain keys of :data:`STATE_DEFAULTS` (``model_spec``, ``data_spec`` ...) are never touched."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes) and key not in STATE_DEFAULTS:
            del st.session_state[key]


def valid_run_id(value: Any) -> str | None:
    """``value`` when it is a well-formed run id (e.g. from the URL), else None."""
    return value if is_valid_run_id(value) else None


# ----------------------------------------------------------------------------- data


@st.cache_resource(show_spinner=False, max_entries=4, ttl=1800)
def _parse(dataset_id: str, options_json: str, name: str) -> Table:
    data = store().dataset_bytes(dataset_id)
    return read_csv(data, CsvOptions.from_dict(json.loads(options_json)), name=name)


def load_table(dataset_id: str, csv_options: dict | None = None, name: str | None = None) -> Table:
    """The parsed stored dataset (cached per process; treat the frame as read-only).

    Raises :class:`UserError` (DataError / DatasetNotFound) with a plain message."""
    opts = json.dumps(CsvOptions.from_dict(csv_options or {}).to_dict(), sort_keys=True)
    return _parse(dataset_id, opts, name or "data.csv")


@dataclass
class DryRun:
    """What preparing the data gave (no TensorFlow): the model's input/output shape and the split sizes."""

    shape: dict            # seqcore.modeling.models.ModelShape.to_dict()
    sizes: dict            # {"train": n, "val": n, "test": n} examples (windows / sequences / texts)
    notes: list[str]
    seconds: float


@st.cache_resource(show_spinner=False, max_entries=32, ttl=1800)
def _dry_run(dataset_id: str, test_dataset_id: str | None, options_json: str, data_json: str,
             name: str) -> DryRun:
    from seqcore.pipeline import prepare_data

    s = store()
    spec = RunSpec(data=DataSpec.from_dict(json.loads(data_json)))
    t0 = time.perf_counter()
    _, prep, _ = prepare_data(s.dataset_bytes(dataset_id), spec,
                              csv_options=CsvOptions.from_dict(json.loads(options_json)),
                              test_data=s.dataset_bytes(test_dataset_id) if test_dataset_id else None, name=name)
    return DryRun(shape=prep.shape.to_dict(), sizes=prep.sizes(), notes=list(prep.notes),
                  seconds=time.perf_counter() - t0)


def dry_run(dataset_id: str, data_spec: dict, *, test_dataset_id: str | None = None,
            csv_options: dict | None = None, name: str | None = None) -> DryRun:
    """Prepare the data exactly as training will (split, windows, scaling) without TensorFlow.

    Cached per inputs. Raises :class:`UserError` (DataError / SpecError) with the reason."""
    opts = json.dumps(CsvOptions.from_dict(csv_options or {}).to_dict(), sort_keys=True)
    data_json = json.dumps(DataSpec.from_dict(data_spec).to_dict(), sort_keys=True)
    return _dry_run(dataset_id, test_dataset_id, opts, data_json, name or "data.csv")


# ----------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    key: str
    title: str
    task: str
    train_file: str
    test_file: str | None
    blurb: str
    data: dict            # DataSpec fields beyond the suggested roles (window, horizon, ...)


SAMPLES: dict[str, Sample] = {s.key: s for s in (
    Sample("airline", "Airline passengers", "forecast", "Airline.csv", None,
           "Monthly airline passengers 1949-1960 (144 months): growth plus a yearly pattern.",
           {"window": 24, "horizon": 12, "log_transform": True, "season": 12}),
    Sample("sunspots", "Sunspots", "forecast", "sunspots.csv", None,
           "Yearly sunspot numbers 1700-2008 (309 years): an 11-year cycle.",
           {"window": 33, "horizon": 11, "season": 11}),
    Sample("gunpoint", "GunPoint", "classify", "GunPoint_TRAIN.csv", "GunPoint_TEST.csv",
           "Hand movements (150 steps each): drawing a gun or just pointing. 50 training + 150 test sequences.",
           {}),
    Sample("basicmotions", "BasicMotions", "classify", "BasicMotions_TRAIN.csv", "BasicMotions_TEST.csv",
           "Smartwatch motion (6 sensors, 100 steps): standing, walking, running or badminton. "
           "40 training + 40 test sequences.",
           {"znorm": True}),
    Sample("reviews", "Movie reviews", "text", "rt_polarity_subset.csv", None,
           "4,866 one-sentence movie reviews labelled fresh or rotten.",
           {"max_len": 48}),
)}


def suggested_data_spec(table: Table, task: str | None = None, extra: dict | None = None) -> DataSpec:
    """A DataSpec with the suggested task and column roles for ``table`` (plus ``extra`` fields).

    Wide sequence data keeps ``features`` empty: "every numeric column except the label"."""
    from seqcore.data import schema

    infos = schema.infer_columns(table.df)
    task = task or schema.suggest_task(table.df, infos)
    roles = schema.suggest_roles(table.df, task, infos)
    layout = roles.get("layout") or "auto"
    features = tuple(roles["features"])
    if task == "classify" and layout == "wide":
        features = ()
    spec = DataSpec(task=task, time=roles["time"], targets=tuple(roles["targets"]), features=features,
                    label=roles["label"], id=roles["id"], order=roles["order"], text=roles["text"],
                    layout=layout if task == "classify" else "auto")
    return spec.replace(**(extra or {}))


def load_sample(key: str) -> DataSpec:
    """Store a sample's file(s), put them and the suggested spec into session state.

    Returns the DataSpec; ``data_spec`` is only set when the data checks out (dry run).
    Raises :class:`UserError` when the sample cannot be prepared."""
    sample = SAMPLES[key]
    s = store()
    ss = st.session_state
    data = (SAMPLES_DIR / sample.train_file).read_bytes()
    table = read_csv(data, name=sample.train_file)
    ds_id = s.add_dataset(data, sample.train_file, n_rows=table.n_rows, n_cols=table.n_columns,
                          fmt=table.fmt.to_dict())
    test_id = test_name = None
    if sample.test_file:
        tdata = (SAMPLES_DIR / sample.test_file).read_bytes()
        ttable = read_csv(tdata, name=sample.test_file)
        test_id = s.add_dataset(tdata, sample.test_file, n_rows=ttable.n_rows, n_cols=ttable.n_columns,
                                fmt=ttable.fmt.to_dict())
        test_name = sample.test_file
    spec = suggested_data_spec(table, sample.task, sample.data)
    ss["dataset_id"], ss["dataset_name"] = ds_id, sample.train_file
    ss["test_dataset_id"], ss["test_dataset_name"] = test_id, test_name
    ss["csv_options"] = {}
    ss["task"] = spec.task
    ss["_data_draft"] = None
    ss["_restored_from"] = ""
    ss["data_spec"] = None
    clear_widgets(*DATA_WIDGET_PREFIXES)
    dry_run(ds_id, spec.to_dict(), test_dataset_id=test_id, name=sample.train_file)  # raises when unusable
    ss["data_spec"] = spec.to_dict()
    return spec


# ----------------------------------------------------------------------------- time estimate

# Measured once on the development machine (2 shared CPU cores, TensorFlow 2.21 + Keras 3, no XLA,
# 16 configurations: LSTM / GRU, 16-256 units, 1-2 layers, 24-150 steps, batch 32 / 128):
#   seconds per (recurrent parameter x example x time step), forward + backward + optimiser:
SECONDS_PER_PARAM_STEP = 3.0e-10
#   fixed cost per recurrent layer per time step per batch (TensorFlow runs the loop op by op):
SECONDS_PER_LAYER_STEP = {"lstm": 1.6e-4, "gru": 2.6e-4}
XLA_SPEEDUP = 1.6            # jit_compile=True measured ~1.6x faster per epoch on this CPU
VALIDATION_COST = 1 / 3      # a validation example costs about a third of a training one (no backward pass)


def recurrent_params(est_layers: list[dict]) -> int:
    """Parameters of the recurrent layers (they are used at every time step; the embedding table is
    only looked up and the dense head runs once per example). ``est_layers`` is ``Estimate.layers``."""
    return int(sum(layer["params"] for layer in est_layers
                   if any(k in str(layer["name"]) for k in ("LSTM", "GRU"))))


def epoch_seconds(model: ModelSpec, train: TrainSpec, params: int, steps: int, n_train: int,
                  n_val: int = 0, factor: float = 1.0) -> float:
    """Estimated seconds for one training epoch (plus its validation pass) on this machine.

    per pass over n examples = n x steps x params x SECONDS_PER_PARAM_STEP
                             + ceil(n / batch) x steps x layers x directions x SECONDS_PER_LAYER_STEP[cell]
    epoch = train pass + VALIDATION_COST x validation pass, divided by XLA_SPEEDUP with XLA on,
    times ``factor`` (:func:`speed_factor`, learnt from this machine's finished runs; 1.0 without any).

    params: recurrent parameters (:func:`recurrent_params`); steps: time steps per example
    (window / sequence length / words per text).
    """
    loops = len(model.units) * (2 if model.bidirectional else 1)
    per_step = SECONDS_PER_LAYER_STEP.get(model.cell, SECONDS_PER_LAYER_STEP["lstm"])
    steps = max(1, int(steps))

    def one_pass(n: int) -> float:
        batches = math.ceil(max(0, n) / max(1, train.batch_size))
        return n * steps * params * SECONDS_PER_PARAM_STEP + batches * steps * loops * per_step

    seconds = one_pass(n_train) + VALIDATION_COST * one_pass(n_val)
    if train.jit_compile:
        seconds /= XLA_SPEEDUP
    return float(seconds * factor)


@st.cache_resource(ttl=60, show_spinner=False)
def _speed_factor(home: str) -> float | None:
    """Median of measured / estimated epoch time over the newest finished runs (None without any).

    Measured: the median time between consecutive epochs of a run (its epoch history, so the
    start-up and the first epoch's graph building do not count). Estimated: :func:`epoch_seconds`
    for the run's spec and split sizes. Sequence-classification runs are skipped (their sequence
    length is not stored with the run)."""
    from seqcore.modeling.models import ModelShape, estimate

    store_ = RunStore(home)
    ratios = []
    for rec in store_.list_runs(kind="train", status="finished", limit=10):
        tr = (rec.summary or {}).get("training") or {}
        sizes = tr.get("sizes") or {}
        try:
            spec = RunSpec.from_dict(rec.spec)
            n_train, n_val = int(sizes["train"]), int(sizes.get("val") or 0)
        except (KeyError, TypeError, ValueError, UserError):
            continue
        if n_train <= 0 or spec.data.task == "classify":
            continue
        elapsed = [p.elapsed for _, p in store_.read_history(rec.id, kind="epoch")]
        gaps = sorted(b - a for a, b in zip(elapsed, elapsed[1:]) if b > a)
        if not gaps:
            continue
        measured = gaps[len(gaps) // 2]
        d = spec.data
        steps = d.window if d.task == "forecast" else d.max_len
        shape = (ModelShape("forecast", (steps, len(d.targets) + len(d.features)), (d.horizon, len(d.targets)))
                 if d.task == "forecast" else ModelShape("text", (steps,), (2,), vocab_size=10))
        try:
            params = recurrent_params(estimate(spec.model, spec.train, shape).layers)
        except UserError:
            continue
        est = epoch_seconds(spec.model, spec.train, params, steps, n_train, n_val)
        if est > 0:
            ratios.append(measured / est)
    if not ratios:
        return None
    ratios.sort()
    return float(min(20.0, max(0.05, ratios[len(ratios) // 2])))


def speed_factor() -> float | None:
    """How much slower (>1) or faster (<1) this machine trained than the built-in constant, from the
    newest finished runs; None when there are none to learn from."""
    try:
        return _speed_factor(str(home_path()))
    except Exception:  # noqa: BLE001
        LOG.exception("speed factor failed")
        return None


# ----------------------------------------------------------------------------- formatting


def fmt_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1 min 15 s"``; small values keep one decimal."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def fmt_rough_seconds(seconds: float | None) -> str:
    """An estimate's duration, short enough for a metric card: ``294`` -> ``"≈ 5 min"``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 90:
        return fmt_seconds(seconds)
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"≈ {minutes} min"
    hours = minutes / 60
    return f"≈ {hours:.1f} h" if hours < 10 else f"≈ {hours:.0f} h"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def fmt_when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def run_label(rec) -> str:
    """``"✅ LSTM 64 · Airline.csv (finished)"`` for select boxes."""
    return f"{STATUS_ICONS.get(rec.status, '')} {rec.name} ({rec.status})"
