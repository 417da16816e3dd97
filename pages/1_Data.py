"""Data: choose a file (CSV, Parquet or Excel: upload, sample or earlier upload), check how it was read, pick the task and
column roles, see the validation report and a chart, and check that it can be turned into
training examples (a dry run: no Keras, no model). The result is ``session_state["data_spec"]``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pages._ui import common as ui
from pages._ui import panel_ui
from pages._ui.base import md
from pages._ui.data import known_future_widgets
from pages._ui.timefmt import detected_format, seed_time_format, time_format_widgets, time_part_widget
from seqcore.data import schema
from seqcore.data.defaults import few_windows_warning
from seqcore.outputs import viz
from seqcore.config import TASKS, DataSpec
from seqcore.errors import UserError
from seqcore.data.io import UPLOAD_TYPES, CsvOptions, read_table, sha256_bytes
from seqcore.data.understand import understand
from seqcore.modeling.tasks.classify import RNN_STEPS

ui.setup("Data", "📄")
ss = st.session_state

NONE = "(none)"
ENCODINGS = {"auto": "Detect automatically", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
             "cp1252": "Windows-1252 (Western Europe)", "latin-1": "Latin-1 (ISO-8859-1)"}
DELIMITERS = {"auto": "Detect automatically", ",": "comma  ,", ";": "semicolon  ;", "\t": "tab", "|": "pipe  |",
              " ": "spaces"}
DECIMALS = {"auto": "Detect automatically", ".": "point  1.5", ",": "comma  1,5"}
THOUSANDS = {"auto": "Detect automatically", "none": "none", ",": "comma  1,000", ".": "point  1.000",
             " ": "space  1 000", "'": "apostrophe  1'000"}
FIRST_SHEET = "[first]"   # the sheet selectbox's "the first sheet that has data" (no sheet can be named so)
CSV_FMT_KEYS = ("data_fmt_encoding", "data_fmt_delimiter", "data_fmt_decimal", "data_fmt_thousands")
UPLOAD = "Upload a file"
MISSING_CHOICES = {
    "interpolate": "Fill the gaps with a straight line between neighbours (interpolate)",
    "ffill": "Repeat the last known value (forward-fill)",
    "drop": "Leave out the rows or sequences that have gaps (drop)",
    "error": "Stop: I will fix the file myself",
}


def reset_for_new_dataset() -> None:
    ss["data_spec"] = None
    ss["_data_draft"] = None
    ss["csv_options"] = {}
    ui.clear_widgets(*ui.DATA_WIDGET_PREFIXES)


def use_dataset(ds_id: str, name: str) -> None:
    """Make ``ds_id`` the training data (roles start from suggestions)."""
    if ds_id != ss.get("dataset_id"):
        ss["test_dataset_id"], ss["test_dataset_name"] = None, None
        reset_for_new_dataset()
    ss["dataset_id"], ss["dataset_name"] = ds_id, name
    ss["_restored_from"] = ""


# ----------------------------------------------------------------------------- page
st.title("1 · Data")
restored = ui.restore_if_empty()
if restored:
    st.info("Picked up where you left off: the data and settings of your latest run.", icon="↩️")

# ----------------------------------------------------------------------------- 1. choose a file
st.header("Choose a file")
if ss.get("dataset_name"):
    st.caption(f"Now using: {md(ss['dataset_name'])}. Choose another file below to replace it.")
ui.seed("data_source", UPLOAD)
if ss["data_source"] not in (UPLOAD, "Sample dataset", "Earlier upload"):
    ss["data_source"] = UPLOAD
source = st.radio("Where does the data come from?", [UPLOAD, "Sample dataset", "Earlier upload"],
                  key="data_source", horizontal=True, label_visibility="collapsed")
upload_bytes: bytes | None = None     # an upload that could not be read yet (the format box retries it)
upload_name = ""

if source == UPLOAD:
    up = st.file_uploader(
        "CSV, Parquet or Excel file", type=list(UPLOAD_TYPES), key="data_upload",
        help="A CSV text file with a header line (column names) and one row per line (comma, semicolon, tab or "
             "'|' between values all work), a Parquet file, or an Excel workbook (.xlsx: the first sheet, or the "
             "one you choose under *Change how the file is read*). The file is stored in the data folder so "
             "runs can use it later.")
    if up is not None:
        upload_bytes, upload_name = up.getvalue(), up.name
        if sha256_bytes(upload_bytes) == ss.get("dataset_id"):
            upload_bytes = None        # already the current dataset
        elif ss.get("_data_upload_seen") == up.file_id and ss.get("_data_upload_failed") != up.file_id:
            upload_bytes = None        # processed earlier; the user switched to another dataset since
        elif ss.get("_data_upload_seen") != up.file_id:
            ss["_data_upload_seen"] = up.file_id   # a new file: detect its format from scratch
            for key in CSV_FMT_KEYS:
                ss[key] = "auto"
            ss["data_fmt_sheet"] = FIRST_SHEET
elif source == "Sample dataset":
    keys = list(ui.SAMPLES)
    pick = st.selectbox("Sample", keys, key="data_sample", format_func=lambda k: f"{ui.SAMPLES[k].title} · "
                        f"{ui.TASK_LABELS[ui.SAMPLES[k].task].lower()}")
    st.caption(ui.SAMPLES[pick].blurb)
    if st.button("Use this sample", key="data_use_sample"):
        try:
            ui.load_sample(pick)
            st.rerun()
        except UserError as err:
            ui.show_error(err)
else:
    try:
        datasets = ui.store().list_datasets()
    except Exception as err:  # noqa: BLE001
        datasets = []
        ui.show_error(err)
    if not datasets:
        st.info("No earlier uploads yet. Upload a file or pick a sample.", icon="👉")
    else:
        by_id = {d.id: d for d in datasets}
        ids = list(by_id)
        current = ss.get("dataset_id")
        ui.seed("data_earlier", current if current in by_id else ids[0])
        if ss["data_earlier"] not in by_id:
            ss["data_earlier"] = ids[0]
        chosen = st.selectbox(
            "Earlier upload", ids, key="data_earlier",
            format_func=lambda i: f"{by_id[i].name} · {by_id[i].n_rows or '?'} rows × {by_id[i].n_cols or '?'} "
                                  f"columns · {ui.fmt_bytes(by_id[i].size)} · {ui.fmt_when(by_id[i].created)}")
        info = by_id[chosen]
        a, b = st.columns([1, 3])
        if a.button("Use this file", key="data_use_earlier", disabled=chosen == current):
            use_dataset(info.id, info.name)
            st.rerun()
        with b.expander("Delete this file"):
            try:
                users = ui.store().dataset_runs(info.id)
            except Exception:  # noqa: BLE001
                users = []
            confirm = True
            if users:
                confirm = st.checkbox(f"Delete it although {len(users)} run(s) used it (their results stay, but "
                                      "they can't be resumed or rerun)", key="data_delete_confirm")
            if st.button("Delete", key="data_delete", disabled=not confirm):
                try:
                    ui.store().delete_dataset(info.id, force=bool(users))
                    for key, name_key in (("dataset_id", "dataset_name"), ("test_dataset_id", "test_dataset_name")):
                        if ss.get(key) == info.id:
                            ss[key], ss[name_key] = None, None
                            if key == "dataset_id":
                                reset_for_new_dataset()
                    ss.pop("data_earlier", None)
                    ss["_notice"] = f"Deleted {md(info.name)}."
                    st.rerun()
                except UserError as err:
                    ui.show_error(err)

# ----------------------------------------------------------------------------- 2. how the file is read
fmt_box = st.container()
time_fmt_box = None  # "How are dates written?": drawn once the time column is known (further down)
with fmt_box:
    opts = dict(ss.get("csv_options") or {})
    ui.seed("data_fmt_encoding", opts.get("encoding") or "auto")
    ui.seed("data_fmt_delimiter", opts.get("delimiter") or "auto")
    ui.seed("data_fmt_decimal", opts.get("decimal") or "auto")
    ui.seed("data_fmt_thousands", {None: "auto", "": "none"}.get(opts.get("thousands"), opts.get("thousands")))
    ui.seed("data_fmt_sheet", opts.get("sheet") or FIRST_SHEET)
    show_fmt = upload_bytes is not None or ss.get("dataset_id") is not None
    kind, sheets = "csv", []
    if upload_bytes is not None:
        kind, sheets = ui.file_kind(upload_bytes, upload_name)
    elif show_fmt:
        try:
            kind, sheets = ui.dataset_kind(ss["dataset_id"], ss.get("dataset_name") or "data.csv")
        except UserError:
            pass   # a deleted dataset: reading it below says so
    if ss["data_fmt_sheet"] not in sheets:   # another file's sheet
        ss["data_fmt_sheet"] = FIRST_SHEET
    if show_fmt and kind != "csv":
        with st.expander("Change how the file is read", expanded=ss.get("_data_fmt_open", False) or len(sheets) > 1):
            if len(sheets) > 1:
                st.selectbox("Sheet", [FIRST_SHEET] + sheets, key="data_fmt_sheet",
                             format_func=lambda s: "The first sheet with data" if s == FIRST_SHEET else s,
                             help="The workbook's sheet that holds the table.")
            st.caption(("An Excel workbook" if kind == "xlsx" else "A Parquet file") + " stores numbers and dates "
                       "as such, so there is no encoding, delimiter or decimal mark to choose.")
            time_fmt_box = st.container()
    elif show_fmt:
        with st.expander("Change how the file is read", expanded=ss.get("_data_fmt_open", False)):
            st.caption("Everything is detected automatically; change a setting only when the preview below looks "
                       "wrong (for example all values squeezed into one column).")
            f1, f2, f3, f4 = st.columns(4)
            f1.selectbox("Text encoding", list(ENCODINGS), key="data_fmt_encoding", format_func=ENCODINGS.get,
                         help="How characters are stored. Try Windows-1252 when accents look garbled.")
            f2.selectbox("Delimiter", list(DELIMITERS), key="data_fmt_delimiter", format_func=DELIMITERS.get,
                         help="The character between values on a line.")
            f3.selectbox("Decimal mark", list(DECIMALS), key="data_fmt_decimal", format_func=DECIMALS.get,
                         help="Many European files write one and a half as 1,5.")
            f4.selectbox("Thousands separator", list(THOUSANDS), key="data_fmt_thousands",
                         format_func=THOUSANDS.get, help="The character that groups digits in large numbers.")
            time_fmt_box = st.container()
    new_opts = {
        "encoding": None if ss["data_fmt_encoding"] == "auto" else ss["data_fmt_encoding"],
        "delimiter": None if ss["data_fmt_delimiter"] == "auto" else ss["data_fmt_delimiter"],
        "decimal": None if ss["data_fmt_decimal"] == "auto" else ss["data_fmt_decimal"],
        "thousands": {"auto": None, "none": ""}.get(ss["data_fmt_thousands"], ss["data_fmt_thousands"]),
        "sheet": None if ss["data_fmt_sheet"] == FIRST_SHEET else ss["data_fmt_sheet"],
    }

try:
    CsvOptions.from_dict(new_opts).validate()
except UserError as err:
    ui.show_error(err)
    new_opts = opts

# A fresh upload: read it; store it only when it can be read.
if upload_bytes is not None:
    try_opts = new_opts
    try:
        with st.spinner("Reading the file…"):
            table = read_table(upload_bytes, CsvOptions.from_dict(try_opts), name=upload_name)
        ds_id = ui.store().add_dataset(upload_bytes, table.name, n_rows=table.n_rows, n_cols=table.n_columns,
                                       fmt=table.fmt.to_dict())
        ss["_data_upload_failed"] = None
        use_dataset(ds_id, table.name)
        ss["csv_options"] = dict(try_opts)
        ss["_data_fmt_open"] = any(v is not None for v in try_opts.values())
        st.rerun()
    except UserError as err:
        ss["_data_upload_failed"] = ss.get("_data_upload_seen")
        ss["_data_fmt_open"] = True
        ui.show_error(err)
        st.caption("Nothing was stored. If the file is a CSV (or a workbook with several sheets), try other settings "
                   "under *Change how the file is read* above, or fix the file and upload it again.")
        st.stop()

ui.require(bool(ss.get("dataset_id")), "Upload a file (CSV, Parquet or Excel), pick a sample or an earlier upload to "
           "begin.",
           ui.PAGES["home"], "Or start from the Home page")

ds_id, ds_name = ss["dataset_id"], ss.get("dataset_name") or "data.csv"
try:
    table = ui.load_table(ds_id, new_opts, ds_name)
except UserError as err:
    ui.show_error(err)
    st.caption("Try other settings under *Change how the file is read* above.")
    ss["data_spec"] = None
    st.stop()
ss["csv_options"] = dict(new_opts)
df = table.df

st.success(f"**{md(table.name)}**: {table.n_rows:,} rows × {table.n_columns:,} columns, {ui.fmt_bytes(table.n_bytes)}. "
           f"Read as {table.fmt.describe()}.", icon="📄")
for note in table.notes:
    st.caption(f"ℹ️ {md(note)}")

with st.expander("Preview (first 200 rows)", expanded=True):
    preview = df.head(200).copy()
    preview.attrs = {}  # the reader's line mapping is not for display
    st.dataframe(preview, width="stretch", height=260)

# ----------------------------------------------------------------------------- 3. task and roles
infos = schema.infer_columns(df)
columns = [c.name for c in infos]
numeric = [c.name for c in infos if c.kind == "numeric"] or columns
understood = understand(table, infos)   # the suggested task and roles, plus doubts where they are weak
suggested_task = understood.task


def base_spec() -> DataSpec:
    """The spec the widgets start from: the draft for this dataset, the saved spec, or suggestions."""
    draft = ss.get("_data_draft") or {}
    if draft.get("dataset_id") == ds_id and draft.get("spec"):
        return DataSpec.from_dict(draft["spec"])
    if ss.get("data_spec"):
        return DataSpec.from_dict(ss["data_spec"])
    return ui.suggested_data_spec(table, suggested_task)


def seed_roles(spec: DataSpec, *, force: bool) -> None:
    """Put a spec's roles into the role widgets (``force``: overwrite what is there)."""
    set_ = (lambda k, v: ss.__setitem__(k, v)) if force else ui.seed
    wide_all = spec.task == "classify" and not spec.features
    layout = spec.layout if spec.layout != "auto" else ("long" if spec.id else "wide")
    set_("data_role_time", spec.time if spec.time in columns else NONE)
    set_("data_role_targets", [c for c in spec.targets if c in numeric])
    set_("data_role_features", [c for c in spec.features if c in numeric])
    set_("data_role_label", spec.label if spec.label in columns else columns[-1])
    set_("data_role_layout", layout)
    set_("data_role_wide_all", wide_all)
    set_("data_role_id", spec.id if spec.id in columns else columns[0])
    set_("data_role_order", spec.order if spec.order in columns else NONE)
    set_("data_role_text", spec.text if spec.text in columns else columns[0])
    set_("data_role_time_part", spec.time_part if spec.time_part in columns else NONE)
    panel_ui.seed_series_role(spec, columns, NONE, force=force)


def keep_valid(key: str, options: list, *, multi: bool = False, fallback=None) -> None:
    """Drop a widget value that is no longer among its options (before the widget is drawn)."""
    if key not in ss:
        return
    if multi:
        ss[key] = [v for v in (ss[key] or []) if v in options]
    elif ss[key] not in options:
        ss[key] = fallback if fallback is not None else options[0]


def on_task_change() -> None:
    task = ss["data_role_task"]
    spec = ui.suggested_data_spec(table, task)
    seed_roles(spec, force=True)
    # the options start again from the defaults fitted for the new task (the missing-value choice is kept)
    for key in [k for k in ss if isinstance(k, str) and k.startswith("data_opt_") and k != "data_opt_missing"]:
        del ss[key]
    ss["_data_draft"] = {"dataset_id": ds_id, "spec": spec.to_dict()}


start = base_spec()
ui.seed("data_role_task", start.task)
seed_roles(start, force=False)
seed_time_format(start.time_format, detected_format(infos, start.time, start.time_part))

st.header("What should the model learn?")
task = st.radio(
    "Task", TASKS, key="data_role_task", horizontal=True, on_change=on_task_change,
    format_func=lambda t: ui.TASK_LABELS[t] + (" (suggested)" if t == suggested_task else ""),
    help="Forecast: predict the next values of a series. Classify sequences: one class per sequence of numbers. "
         "Classify texts: one class per text.")
if not understood.confident:
    st.warning("Please check: " + " ".join(md(d) for d in understood.doubts), icon="🔎")

st.subheader("Column roles")
spec_kw: dict = {"task": task}
if task == "forecast":
    r1, r2, r3 = st.columns(3)
    keep_valid("data_role_time", [NONE] + columns)
    keep_valid("data_role_targets", numeric, multi=True)
    time_col = r1.selectbox("Time column", [NONE] + columns, key="data_role_time",
                            help="Dates or step numbers, one row per step. Without one, rows are used in file order.")
    targets = r2.multiselect("Column(s) to forecast", numeric, key="data_role_targets",
                             help="The values the model learns to predict. They are also used as inputs.")
    keep_valid("data_role_features", [c for c in numeric if c not in targets], multi=True)
    features = r3.multiselect("Extra input columns (optional)", [c for c in numeric if c not in targets],
                              key="data_role_features",
                              help="Other numbers known at each step that may help (for example temperature).")
    time_part = time_part_widget(r1, df, None if time_col == NONE else time_col, NONE)
    series_id = panel_ui.series_role(r2, columns, [time_col, time_part, *targets, *features], NONE)
    spec_kw.update(time=None if time_col == NONE else time_col, targets=tuple(targets), features=tuple(features),
                   time_part=time_part, id=series_id)
    spec_kw.update(known_future_widgets(r3, [c for c in numeric if c != time_col], [*targets, *features], start,
                                        has_time=time_col != NONE, panel=series_id is not None))
elif task == "classify":
    r1, r2 = st.columns(2)
    layout = r1.radio("Layout", ["wide", "long"], key="data_role_layout", horizontal=True,
                      format_func={"wide": "wide: one row per sequence", "long": "long: one row per step"}.get,
                      help="Wide: each row is a whole sequence (a label and the values in order). Long: each row "
                           "is one step, with a sequence id column saying which sequence it belongs to.")
    keep_valid("data_role_label", columns, fallback=columns[-1])
    label = r2.selectbox("Label column (the class)", columns, key="data_role_label",
                         help="The class each sequence belongs to.")
    if layout == "wide":
        wide_all = st.toggle("Use every numeric column except the label as the sequence values", key="data_role_wide_all",
                             help="Switch off to pick the value columns (in order) yourself.")
        features = ()
        if not wide_all:
            keep_valid("data_role_features", [c for c in numeric if c != label], multi=True)
            features = tuple(st.multiselect("Value columns, in order", [c for c in numeric if c != label],
                                            key="data_role_features"))
        spec_kw.update(layout="wide", label=label, features=features)
    else:
        r3, r4 = st.columns(2)
        keep_valid("data_role_id", columns)
        keep_valid("data_role_order", [NONE] + columns)
        id_col = r3.selectbox("Sequence id column", columns, key="data_role_id",
                              help="Rows with the same id form one sequence.")
        order = r4.selectbox("Step order column (optional)", [NONE] + columns, key="data_role_order",
                             help="Sorts the steps inside a sequence; without it the file order is used.")
        keep_valid("data_role_features", [c for c in numeric if c not in (id_col, order, label)], multi=True)
        features = st.multiselect("Value columns", [c for c in numeric if c not in (id_col, order, label)],
                                  key="data_role_features", help="The measurements at each step.")
        spec_kw.update(layout="long", label=label, id=id_col, order=None if order == NONE else order,
                       features=tuple(features))
else:
    r1, r2 = st.columns(2)
    keep_valid("data_role_text", columns)
    keep_valid("data_role_label", columns, fallback=columns[-1])
    text_col = r1.selectbox("Text column", columns, key="data_role_text", help="The texts to classify.")
    label = r2.selectbox("Label column (the class)", columns, key="data_role_label",
                         help="The class of each text, for example positive / negative.")
    spec_kw.update(text=text_col, label=label)

# Until the user changes the task or a role, weak guesses are still only guesses (see "Please check").
_roles_now = {k: ss.get(k) for k in ss if str(k).startswith("data_role_")}
_seen = ss.get("_data_roles_seen") or {}
if _seen.get("dataset") != ds_id:
    ss["_data_roles_seen"] = {"dataset": ds_id, "values": _roles_now}
elif any(_seen["values"].get(k) != v for k, v in _roles_now.items()):
    ss["_data_roles_touched"] = ds_id
roles_checked = understood.confident or ss.get("_data_roles_touched") == ds_id

# ----------------------------------------------------------------------------- options
st.subheader("Options")
ui.seed("data_opt_window", start.window)
ui.seed("data_opt_horizon", start.horizon)
ui.seed("data_opt_log", start.log_transform)
ui.seed("data_opt_season", start.season or 0)
ui.seed("data_opt_val", float(start.val_fraction))
ui.seed("data_opt_test", float(start.test_fraction))
ui.seed("data_opt_znorm", start.znorm)
ui.seed("data_opt_max_steps", start.max_steps)
ui.seed("data_opt_group_steps", start.group_steps)
ui.seed("data_opt_max_len", start.max_len)
ui.seed("data_opt_max_vocab", start.max_vocab)
ui.seed("data_opt_lowercase", start.lowercase)
has_test_file = task != "forecast" and bool(ss.get("test_dataset_id"))
o1, o2, o3, o4 = st.columns(4)
if task == "forecast":
    spec_kw["window"] = int(o1.number_input(
        "Look-back window (steps)", 1, 10_000, key="data_opt_window",
        help="How many past steps the model sees to make one prediction. Cover at least one season "
             "(for example 12 for monthly data with a yearly pattern)."))
    spec_kw["horizon"] = int(o2.number_input(
        "Horizon (steps ahead)", 1, 1_000, key="data_opt_horizon",
        help="How many future steps the model predicts at once."))
    season = int(o3.number_input(
        "Season length (0 = detect)", 0, 10_000, key="data_opt_season",
        help="The length of a repeating pattern (12 for months in a year, 7 for days in a week). Used by the "
             "'same time last season' baseline."))
    spec_kw["season"] = season or None
    spec_kw["log_transform"] = o4.checkbox(
        "Log scale", key="data_opt_log",
        help="Model the logarithm of the values: good for series that grow by a percentage (like sales), "
             "needs values of 0 or more.")
elif task == "classify":
    spec_kw["znorm"] = o1.checkbox(
        "Normalise each sequence", key="data_opt_znorm",
        help="Rescale every sequence to mean 0 and spread 1 on its own, so only its shape matters.")
    spec_kw["max_steps"] = int(o2.number_input(
        "Longest sequence (steps)", 2, 100_000, key="data_opt_max_steps",
        help="Longer sequences are cut to their last steps. Long sequences train slowly."))
    spec_kw["group_steps"] = int(o3.number_input(
        "Steps read at once (0 = automatic)", 0, 1_000, key="data_opt_group_steps",
        help=f"Read this many time steps at once, so the network loops over fewer, wider steps. 0 picks "
             f"automatically so the network loops over at most {RNN_STEPS} steps: faster, and usually more "
             "accurate on long sequences. 1 reads every step on its own."))
else:
    spec_kw["max_len"] = int(o1.number_input(
        "Words per text", 2, 5_000, key="data_opt_max_len",
        help="Texts are cut to this many words (shorter ones are padded). Longer texts train slower."))
    spec_kw["max_vocab"] = int(o2.number_input(
        "Vocabulary size", 10, 1_000_000, step=1000, key="data_opt_max_vocab",
        help="Only the most frequent words are kept; rarer words count as 'unknown'."))
    spec_kw["lowercase"] = o3.checkbox("Ignore upper/lower case", key="data_opt_lowercase",
                                       help="Treat 'Great' and 'great' as the same word.")
s1, s2 = st.columns(2)
spec_kw["val_fraction"] = float(s1.slider(
    "Validation share", 0.0, 0.5, step=0.05, key="data_opt_val",
    help="Part of the data held back during training to watch for overfitting and to stop early."))
spec_kw["test_fraction"] = float(s2.slider(
    "Test share", 0.0, 0.5, step=0.05, key="data_opt_test", disabled=has_test_file,
    help="Part of the data kept aside until the end to measure the final score." +
         (" Not used: your separate test file is the test set." if has_test_file else "")))
if task == "forecast":
    st.caption("Forecasting splits in time order: the first rows train, the next validate, the last rows test.")
why = ui.explained_defaults(ds_id, spec_kw, csv_options=new_opts, name=ds_name)
if why:
    st.caption("Suggested for this data:  \n" + "  \n".join(md(w) for w in why.values()),
               help="These options start from values fitted to this file (its length, season and sizes); change any "
                    "of them above.")

# ----------------------------------------------------------------------------- optional test file
if task != "forecast":
    with st.expander("Separate test file (optional)", expanded=has_test_file):
        if has_test_file:
            st.write(f"Test data: **{md(ss.get('test_dataset_name'))}** — the model is scored on it at the end.")
            if st.button("Remove the test file", key="data_test_remove"):
                ss["test_dataset_id"], ss["test_dataset_name"] = None, None
                st.rerun()
        st.caption("A file with the same columns, used only for the final score (like the TEST half of a "
                   "benchmark); a workbook is read from its first sheet. Without one, the test share above is split "
                   "off the training file.")
        tup = st.file_uploader("Test file (CSV, Parquet or Excel)", type=list(UPLOAD_TYPES), key="data_test_upload")
        if tup is not None and ss.get("_data_test_seen") != tup.file_id:
            ss["_data_test_seen"] = tup.file_id
            try:
                tbytes = tup.getvalue()
                ttable = read_table(tbytes, CsvOptions.from_dict({**new_opts, "sheet": None}), name=tup.name)
                missing_cols = [c for c in df.columns if c not in ttable.df.columns]
                if missing_cols:
                    shown = ", ".join(f"'{c}'" for c in missing_cols[:8])
                    raise UserError(f"The test file {ttable.name!r} lacks column(s) {shown} of the training file.",
                                    hint="Upload a test file with the same columns.")
                tid = ui.store().add_dataset(tbytes, ttable.name, n_rows=ttable.n_rows, n_cols=ttable.n_columns,
                                             fmt=ttable.fmt.to_dict())
                ss["test_dataset_id"], ss["test_dataset_name"] = tid, ttable.name
                st.rerun()
            except UserError as err:
                ui.show_error(err)

# ----------------------------------------------------------------------------- validation report
st.header("Check the data")
spec_kw["time_format"] = time_format_widgets(time_fmt_box, df, infos, spec_kw.get("time"), spec_kw.get("time_part"))
if task == "forecast":   # set on the Model page (backtest folds, base): kept while the data is set up again here
    spec_kw["backtest"] = int((ss.get("data_spec") or {}).get("backtest") or 0)
    spec_kw["base"] = str((ss.get("data_spec") or {}).get("base") or "auto")
pre = DataSpec(**spec_kw)
report = schema.validate(df, pre)
used = set(pre.targets) | set(pre.features) if task == "forecast" else set(report.roles.get("features") or [])
n_missing_used = sum(c.n_missing for c in report.columns if c.name in used)

missing = "error"
if n_missing_used:
    st.markdown(f"**Missing values:** the columns you use have {n_missing_used:,} empty cells. "
                "Choose what to do with them:")
    if "data_opt_missing" not in ss and start.missing != "error":
        ss["data_opt_missing"] = start.missing
    kwargs = {} if "data_opt_missing" in ss else {"index": None}
    choice = st.radio("Missing values", list(MISSING_CHOICES), key="data_opt_missing",
                      format_func=MISSING_CHOICES.get, label_visibility="collapsed", **kwargs)
    if choice is None:
        st.warning("Choose how to handle the missing values to continue.", icon="👆")
    else:
        missing = choice
    report = schema.validate(df, pre.replace(missing=missing))
spec = pre.replace(missing=missing)

for line in report.summary_lines()[:3]:
    if not line.startswith(("Error:", "Warning:", "Info:")):
        st.write(md(line))
for issue in report.issues:
    {"error": st.error, "warning": st.warning}.get(issue.level, st.info)(md(issue.message))
if not report.errors and not report.warnings:
    st.success("No problems found in the columns you use.", icon="👍")
with st.expander("Columns"):
    st.dataframe(pd.DataFrame([{"column": c.name, "kind": c.kind, "missing": c.n_missing, "distinct": c.n_unique,
                                "not a number": c.n_non_numeric, "example": c.example} for c in report.columns]),
                 width="stretch", hide_index=True)

# ----------------------------------------------------------------------------- chart
st.subheader("A look at the data")
try:
    if task == "forecast":
        rows = df
        if spec.id:   # many series: one at a time
            pick = panel_ui.pick_series(st, panel_ui.series_names(df, spec.id), "data_chart_series")
            rows = panel_ui.one_series(df, pick, spec.id)
        fig = viz.series_figure(rows, spec.time, list(spec.targets) + list(spec.features),
                                time_format=spec.time_format, time_part=spec.time_part)
    elif task == "classify":
        from seqcore.modeling.tasks.classify import extract_sequences, resolve_layout, value_columns

        lay = resolve_layout(spec)
        small = df.head(500) if lay == "wide" else df[df[spec.id].isin(pd.unique(df[spec.id])[:200])]
        cols = value_columns(small, spec, lay)
        plot_spec = spec.replace(missing="interpolate" if spec.missing == "error" else spec.missing)
        seqs, labels, _, _ = extract_sequences(small, plot_spec, cols)
        by_class: dict[str, list[np.ndarray]] = {}
        for s_, lab in zip(seqs, labels):
            by_class.setdefault(str(lab), [])
            if len(by_class[str(lab)]) < 5:
                by_class[str(lab)].append(s_)
        fig = viz.sequences_figure(by_class, 5, feature_names=cols if lay == "long" else None)
        st.caption("Up to five sequences of each class.")
    else:
        texts = df[spec.text].iloc[:20_000].astype("string").fillna("")
        lengths = texts.str.split().str.len().fillna(0).astype(int).tolist()
        fig = viz.text_stats_figure(lengths, report.class_counts or {})
    st.plotly_chart(fig, width="stretch", key="data_chart")
except UserError as err:
    st.caption(f"No chart yet: {md(err)}")
except Exception as err:  # noqa: BLE001
    ui.LOG.exception("data chart failed")
    st.caption("No chart for these columns yet.")

# ----------------------------------------------------------------------------- dry run
st.header("Ready to train?")
ss["task"] = task
ss["_data_draft"] = {"dataset_id": ds_id, "spec": spec.to_dict()}
ready = False
if n_missing_used and missing == "error" and st.session_state.get("data_opt_missing") is None:
    st.info("Choose how to handle the missing values above.", icon="👆")
elif not report.ok:
    st.info("Fix the problems marked in red above (change the column roles or options, or fix the file).", icon="👆")
else:
    try:
        with st.spinner("Preparing the training examples…"):
            dr = ui.dry_run(ds_id, spec.to_dict(), test_dataset_id=ss.get("test_dataset_id") if task != "forecast"
                            else None, csv_options=new_opts, name=ds_name)
        ready = True
    except UserError as err:
        ui.show_error(err)
    except Exception as err:  # noqa: BLE001
        ui.show_error(err)
if ready:
    what = {"forecast": "windows", "classify": "sequences", "text": "texts"}[task]
    m1, m2, m3 = st.columns(3)
    m1.metric(f"Training {what}", f"{dr.sizes['train']:,}")
    m2.metric(f"Validation {what}", f"{dr.sizes['val']:,}")
    m3.metric(f"Test {what}", f"{dr.sizes['test']:,}")
    for note in dr.notes:
        st.caption(f"ℹ️ {md(note)}")
    few = few_windows_warning(dr.sizes["train"], None if spec.id else len(df), spec) if task == "forecast" else None
    if few:
        st.warning(md(few), icon="⚠️")
    ss["data_spec"] = spec.to_dict()
    if roles_checked:
        st.success("The data is ready. Next, choose the model.", icon="✅")
    else:
        st.warning("Ready, but check the column roles above: they are a guess (see 'Please check'). Change "
                   "them if they are wrong; then choose the model.", icon="👆")
    st.page_link(ui.PAGES["model"], label="Go to the Model page", icon="🧠")
else:
    ss["data_spec"] = None
ui.refresh_sidebar()
