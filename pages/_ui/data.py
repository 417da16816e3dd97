"""Data-preparation helpers of the pages: the configuration in session state (the current RunSpec, a
stored run's configuration loaded back, the newest one restored after a refresh), stored datasets parsed
(cached), the dry run that prepares the data as training will, the built-in samples, and the hint that
lets the background worker prepare the next run ahead.

Nothing here imports Keras, JAX or TensorFlow: the dry run only splits, windows and scales the data.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from pages._ui.base import DATA_WIDGET_PREFIXES, LOG, MODEL_WIDGET_PREFIXES, clear_widgets, store
from seqcore.config import DataSpec, RunSpec
from seqcore.data.io import CsvOptions, Table, detect_kind, read_table, sheet_names
from seqcore.errors import UserError
from seqcore.runs import runner

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "seqcore" / "samples"


# ----------------------------------------------------------------------------- the configuration


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



# ----------------------------------------------------------------------------- data


def file_kind(data: bytes, name: str) -> tuple[str, list[str]]:
    """(the file's format, one of ``seqcore.data.io.KINDS``; its sheets when it is an Excel workbook)."""
    kind = detect_kind(data, name)
    return kind, (sheet_names(data, name) if kind == "xlsx" else [])


@st.cache_data(show_spinner=False, max_entries=16, ttl=1800)
def dataset_kind(dataset_id: str, name: str) -> tuple[str, list[str]]:
    """:func:`file_kind` of a stored dataset (cached per process: the Data page asks on every rerun)."""
    return file_kind(store().dataset_bytes(dataset_id), name)


@st.cache_resource(show_spinner=False, max_entries=4, ttl=1800)
def _parse(dataset_id: str, options_json: str, name: str) -> Table:
    data = store().dataset_bytes(dataset_id)
    return read_table(data, CsvOptions.from_dict(json.loads(options_json)), name=name)


def load_table(dataset_id: str, csv_options: dict | None = None, name: str | None = None) -> Table:
    """The parsed stored dataset (cached per process; treat the frame as read-only).

    Raises :class:`UserError` (DataError / DatasetNotFound) with a plain message."""
    opts = json.dumps(CsvOptions.from_dict(csv_options or {}).to_dict(), sort_keys=True)
    return _parse(dataset_id, opts, name or "data.csv")


@dataclass
class DryRun:
    """What preparing the data gave (no Keras): the model's input/output shape and the split sizes."""

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
    """Prepare the data exactly as training will (split, windows, scaling) without Keras (no model is built).

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
    # No sample sets options by hand: window, horizon, season, log scale, shares, normalisation and words per
    # text are fitted to each file by seqcore.data.defaults, exactly as for any file a person brings.
    Sample("airline", "Airline passengers", "forecast", "Airline.csv", None,
           "Monthly airline passengers 1949-1960 (144 months): growth plus a yearly pattern.", {}),
    Sample("sunspots", "Sunspots", "forecast", "sunspots.csv", None,
           "Yearly sunspot numbers 1700-2008 (309 years): an 11-year cycle.", {}),
    Sample("gunpoint", "GunPoint", "classify", "GunPoint_TRAIN.csv", "GunPoint_TEST.csv",
           "Hand movements (150 steps each): drawing a gun or just pointing. 50 training + 150 test sequences.",
           {}),
    Sample("basicmotions", "BasicMotions", "classify", "BasicMotions_TRAIN.csv", "BasicMotions_TEST.csv",
           "Smartwatch motion (6 sensors, 100 steps): standing, walking, running or badminton. "
           "40 training + 40 test sequences.", {}),
    Sample("reviews", "Movie reviews", "text", "rt_polarity_subset.csv", None,
           "4,866 one-sentence movie reviews labelled fresh or rotten.", {}),
)}


def suggested_data_spec(table: Table, task: str | None = None, extra: dict | None = None) -> DataSpec:
    """The default DataSpec for ``table`` (suggested task and roles, options fitted to the data:
    :func:`seqcore.data.defaults.default_data_spec`), with ``extra`` fields set by hand and the rest fitted
    around them. Wide sequence data keeps ``features`` empty: "every numeric column except the label"."""
    from seqcore.data.defaults import default_data_spec

    return default_data_spec(table, task, **(extra or {}))


@st.cache_resource(show_spinner=False, max_entries=64, ttl=1800)
def _explained(dataset_id: str, options_json: str, name: str, given_json: str) -> dict[str, str]:
    from seqcore.data.defaults import explain_defaults

    table = load_table(dataset_id, json.loads(options_json), name)
    return explain_defaults(table, **json.loads(given_json))


def explained_defaults(dataset_id: str, roles: dict, *, csv_options: dict | None = None,
                       name: str | None = None) -> dict[str, str]:
    """Why the default options for the task and column ``roles`` (DataSpec fields: task, time, targets, ...)
    are what they are, one sentence per DataSpec field (cached); {} when they cannot be worked out (the
    page's checks say why)."""
    keep = ("task", "time", "targets", "features", "label", "id", "order", "text", "layout")
    given = {k: list(v) if isinstance(v, tuple) else v for k, v in roles.items() if k in keep}
    try:
        return dict(_explained(dataset_id, json.dumps(csv_options or {}, sort_keys=True), name or "data.csv",
                               json.dumps(given, sort_keys=True)))
    except Exception:  # noqa: BLE001 - an explanation only: never break the page
        LOG.exception("explaining the defaults failed")
        return {}


def load_sample(key: str) -> DataSpec:
    """Store a sample's file(s), put them and the suggested spec into session state.

    Returns the DataSpec; ``data_spec`` is only set when the data checks out (dry run).
    Raises :class:`UserError` when the sample cannot be prepared."""
    sample = SAMPLES[key]
    s = store()
    ss = st.session_state
    data = (SAMPLES_DIR / sample.train_file).read_bytes()
    table = read_table(data, name=sample.train_file)
    ds_id = s.add_dataset(data, sample.train_file, n_rows=table.n_rows, n_cols=table.n_columns,
                          fmt=table.fmt.to_dict())
    test_id = test_name = None
    if sample.test_file:
        tdata = (SAMPLES_DIR / sample.test_file).read_bytes()
        ttable = read_table(tdata, name=sample.test_file)
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


# ----------------------------------------------------------------------------- known-future inputs (forecast)

CALENDAR_CHOICES = {"auto": "Automatic: when they help", "on": "Always", "off": "Never"}
KNOWN_HELP = ("Columns whose future values you know, such as holidays or a planned price; the model may use their "
              "values over the forecast steps. You will give them when you forecast.")
CALENDAR_HELP = ("Month of the year, day of the week and hour of the day, taken from the time column (whichever "
                 "fits its step), are known for any future date, so the model may use them over the forecast "
                 "steps. Automatic adds them when a quick check on the validation part says they lower the error.")


PANEL_KNOWN_CAPTION = ("Columns known in advance and calendar features are not available for many-series files "
                       "yet: with a series id column the model uses the targets and extra input columns only.")


def known_future_widgets(box, numeric: list[str], taken, start: DataSpec, *, has_time: bool,
                         panel: bool = False) -> dict:
    """The Data page's "Known in advance" columns and calendar choice for forecasting, drawn in ``box``;
    ``taken``: the columns already targets or extra inputs (not offered). Returns DataSpec fields.
    ``panel`` (a series id column is picked): neither is available yet, a caption says so."""
    from pages._ui.base import seed

    if panel:
        box.caption(PANEL_KNOWN_CAPTION)
        return {"known_future": (), "calendar": "auto"}

    options = [c for c in numeric if c not in set(taken)]
    seed("data_role_known", [c for c in start.known_future if c in options])
    st.session_state["data_role_known"] = [c for c in st.session_state["data_role_known"] if c in options]
    known = box.multiselect("Known in advance (optional)", options, key="data_role_known", help=KNOWN_HELP)
    seed("data_opt_calendar", start.calendar if start.calendar in CALENDAR_CHOICES else "auto")
    calendar = box.selectbox("Calendar features", list(CALENDAR_CHOICES), key="data_opt_calendar",
                             format_func=CALENDAR_CHOICES.get, disabled=not has_time,
                             help=CALENDAR_HELP + ("" if has_time else " They need a time column."))
    return {"known_future": tuple(known), "calendar": calendar}
