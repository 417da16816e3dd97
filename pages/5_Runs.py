"""Runs: every training run in one table; compare several; rename, delete, resume, rerun or reuse one."""

from __future__ import annotations

import streamlit as st

from pages._ui import common as ui
from pages._ui import live
from pages._ui.base import md
from seqcore import settings
from seqcore.runs.limits import usage
from seqcore.runs import runner
from seqcore.outputs import viz
from seqcore.runs.store import ACTIVE_STATUSES, RESUMABLE_STATUSES

ui.setup("Runs", "🗂️")
live.init_state()
ss = st.session_state
store = ui.store()

st.title("5 · Runs")
st.caption("Every model you have trained, newest first. Click a column header to sort.")
signed_in = settings.auth_mode() != "none"
if signed_in and store.user is not None:
    who = "everyone's runs (you are an administrator)" if store.user.admin else "your runs"
    st.caption(f"Signed in as {md(store.user.name)}: this page lists {who}. Your use: {usage(store).sentence()}.")

runs = store.list_runs(kind="train")
if not runs:
    st.info("No runs yet. Pick data, choose a model and start training; every run is listed here.", icon="👉")
    st.page_link(ui.PAGES["data"], label="Start with the data", icon="📄")
    st.stop()

by_id = {r.id: r for r in runs}
options = [r.id for r in runs]


def label(run_id: str) -> str:
    return f"{ui.run_label(by_id[run_id])} · {run_id}"


msg = ss.pop("runs_msg", None)
if msg is not None:
    kind, payload = msg
    if kind == "error":
        ui.show_error(payload)
    else:
        st.success(payload)

# ----------------------------------------------------------------------------- the table

frame = live.runs_frame(runs, owners=signed_in and store.user is not None and store.user.admin)
st.dataframe(
    frame, hide_index=True, key="runs_table",
    column_order=["name", "status", "task", "test metric", "best val loss", "cell", "units", "epochs", "batch",
                  "learning rate", "window", "duration (s)", "created", "results", "id"],
    column_config={
        "name": st.column_config.TextColumn("name", width="medium"),
        "cell": st.column_config.TextColumn("cell", width="small"),
        "units": st.column_config.TextColumn("units", width="small"),
        "batch": st.column_config.NumberColumn("batch", width="small"),
        "status": st.column_config.TextColumn("status", help="queued, running, finished, stopped, failed or "
                                                             "interrupted"),
        "window": st.column_config.NumberColumn("window", width="small",
                                                help="Forecasting: past steps the model sees."),
        "epochs": st.column_config.TextColumn("epochs", width="small", help="Epochs trained / planned."),
        "learning rate": st.column_config.NumberColumn("learning rate", format="%g", width="small"),
        "best val loss": st.column_config.NumberColumn("best val loss", format="%.4g",
                                                       help="Lowest loss on the validation data."),
        "test metric": st.column_config.TextColumn("test metric", help="MAE for forecasts (lower is better), "
                                                                       "accuracy for classifiers."),
        "duration (s)": st.column_config.NumberColumn("duration (s)", format="%.1f", width="small"),
        "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
        "results": st.column_config.LinkColumn("results", display_text="open results",
                                               help="The run's results page (its address can be shared)."),
        "id": st.column_config.TextColumn("id", help="The run id (used in shareable addresses)."),
    },
)

# ----------------------------------------------------------------------------- compare

st.header("Compare runs")
with_results = [r.id for r in runs if r.epochs_run]
if "runs_compare" not in ss:
    ss["runs_compare"] = with_results[:2]
else:
    ss["runs_compare"] = [i for i in ss["runs_compare"] if i in by_id]
chosen = st.multiselect("Runs to compare", options, key="runs_compare", format_func=label, max_selections=8,
                        help="Their validation loss curves are drawn on one chart and their test metrics side by side.")
if chosen:
    recs = [by_id[i] for i in chosen]
    curves = {f"{r.name} ({r.id})": live.epoch_history(store, r.id) for r in recs}
    st.plotly_chart(viz.compare_loss_figure(curves), key="runs_compare_chart", config={"displaylogo": False})
    if len({r.task for r in recs}) > 1:
        st.caption("These runs solve different tasks, so only some metrics apply to each.")
    table = live.compare_metrics_frame(recs, {r.id: live.load_metrics(store, r) for r in recs})
    st.dataframe(table, key="runs_compare_table")
else:
    st.caption("Pick two or more runs to compare them.")

# ----------------------------------------------------------------------------- manage one run

st.header("Manage a run")
if ss.get("runs_manage") not in by_id:
    ss["runs_manage"] = options[0]
run_id = st.selectbox("Run", options, key="runs_manage", format_func=label)
rec = by_id[run_id]
st.caption(f"{live.STATUS_WORDS.get(rec.status, rec.status)} · created {ui.fmt_when(rec.created)} · "
           f"data: {md(live.dataset_name(store, rec.dataset_id, '(deleted)'))}")
if rec.status in ("failed", "interrupted") and rec.error:
    st.error(md(rec.error), icon="❌" if rec.status == "failed" else "⚠️")

if ss.get("runs_rename_for") != rec.id:
    ss["runs_rename_name"] = rec.name
    ss["runs_rename_for"] = rec.id
rn = st.columns([4, 1], vertical_alignment="bottom")
new_name = rn[0].text_input("Name", key="runs_rename_name", max_chars=200,
                            help="A name that tells you later what this run tried, e.g. 'GRU 128, window 48'.")
if rn[1].button("Rename", key="runs_rename", width="stretch", disabled=new_name.strip() == rec.name):
    try:
        store.rename_run(rec.id, new_name)
        ss["runs_msg"] = ("success", "Renamed.")
    except Exception as err:  # noqa: BLE001
        ss["runs_msg"] = ("error", err)
    st.rerun()

a = st.columns(5)
if rec.status in ("finished", "stopped"):
    a[0].page_link(ui.PAGES["results"], label="Open results", icon="📊", query_params={"run": rec.id})
if rec.status in ACTIVE_STATUSES:
    if a[0].button("Watch it train", key="runs_watch", icon="📈", width="stretch"):
        ss["current_run_id"] = rec.id
        st.switch_page(ui.PAGES["train"])
if a[1].button("Reuse settings", key="runs_open", icon="⚙️", width="stretch",
               help="Opens this run's data, model and training settings in the Model page, to change "
                    "them and train again."):
    loaded = False
    try:
        ui.load_run_config(rec.id)
        loaded = True
    except Exception as err:  # noqa: BLE001
        ui.show_error(err)
    if loaded:
        ss["_notice"] = "Loaded the settings of the run you picked."
        st.switch_page(ui.PAGES["model"])
if rec.status in RESUMABLE_STATUSES:
    if a[2].button("Resume", key="runs_resume", icon="⏯️", width="stretch",
                   help="Continues from the last saved epoch (or starts again when none was saved)."):
        try:
            runner.resume_run(store, rec.id)
            ss["current_run_id"] = rec.id
            ss["train_live"] = None
            ss["runs_msg"] = ("success", "Resumed: the run is back in the queue.")
        except Exception as err:  # noqa: BLE001
            ss["runs_msg"] = ("error", err)
        st.rerun()
if rec.status in ACTIVE_STATUSES:
    if a[2].button("Stop", key="runs_stop", icon="⏹️", width="stretch", disabled=rec.stop_requested):
        try:
            runner.request_stop(store, rec.id)
            ss["runs_msg"] = ("success", "Stop requested: the run ends after its current batch.")
        except Exception as err:  # noqa: BLE001
            ss["runs_msg"] = ("error", err)
        st.rerun()
if a[3].button("Rerun", key="runs_rerun", icon="🔁", width="stretch",
               help="Queues a new run with exactly the same data and settings."):
    try:
        new_id = runner.rerun(store, rec.id)
        ss["current_run_id"] = new_id
        ss["train_live"] = None
        ss["runs_msg"] = ("success", "A copy of the run is queued; watch it on the Train page.")
    except Exception as err:  # noqa: BLE001
        ss["runs_msg"] = ("error", err)
    st.rerun()
if a[4].button("Delete…", key="runs_delete", icon="🗑️", width="stretch",
               disabled=rec.status == "running", help="Deletes the run, its model and its results (stop it first "
                                                      "if it is running)."):
    ss["runs_confirm_delete"] = rec.id

if ss.get("runs_confirm_delete") == rec.id:
    with st.container(border=True):
        st.warning(f"Delete “{md(rec.name)}” with its model and results? This cannot be undone.", icon="🗑️")
        c = st.columns([1, 1, 4])
        if c[0].button("Yes, delete it", key="runs_delete_yes", type="primary"):
            ss["runs_confirm_delete"] = None
            try:
                store.delete_run(rec.id)
                if ss.get("current_run_id") == rec.id:
                    ss["current_run_id"] = None
                ss["runs_msg"] = ("success", "Deleted.")
            except Exception as err:  # noqa: BLE001
                ss["runs_msg"] = ("error", err)
            st.rerun()
        if c[1].button("Cancel", key="runs_delete_no"):
            ss["runs_confirm_delete"] = None
            st.rerun()
