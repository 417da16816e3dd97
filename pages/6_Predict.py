"""Predict: use a trained model on new data with the same columns.

The model is never loaded in this (server) process: pressing Predict stores the uploaded file and
queues a prediction job; a background worker loads the run's bundle (safe mode), checks the
columns and writes the predictions, which this page polls for and then shows.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from pages._ui import common as ui
from pages._ui import panel_ui
from pages._ui import live
from pages._ui.base import md
from seqcore.outputs import bundle as bundle_mod
from seqcore.runs import runner
from seqcore.outputs import viz
from seqcore.config import RunSpec
from seqcore.data.io import UPLOAD_TYPES
from seqcore.errors import UserError
from seqcore.modeling.intervals import BANDS_CAPTION
from seqcore.data.covariates import predict_instructions
from seqcore.modeling.tasks.forecast import MAX_STEPS
from seqcore.runs.store import ACTIVE_STATUSES, FINAL_STATUSES

ui.setup("Predict", "🔮")
live.init_state()
ss = st.session_state
store = ui.store()

st.title("6 · Predict")
st.caption("Use a trained model on new data. The file needs the same columns as the data the model was "
           "trained on; the model runs in the background worker.")

runs = live.model_runs(store)

# ----------------------------------------------------------------------------- import a bundle

with st.expander("Import a model bundle (.zip)", expanded=not runs):
    st.caption("A model downloaded from a Sequence Studio Results page (\"Download the model bundle\"). Only that "
               "format is accepted: the archive is checked (size, contents, checksums, and every layer against "
               "an allow-list: no Lambda layers or custom code) before anything is unpacked, and the model "
               "itself is only ever loaded, in safe mode, by the background worker.")
    bundle_up = st.file_uploader("Model bundle (.zip)", type=["zip"], key="predict_import_upload",
                                 help="The .zip file of a model bundle. It becomes a run you can predict with.")
    if st.button("Import this model", key="predict_import_go", icon="📦", disabled=bundle_up is None):
        try:
            imported = bundle_mod.import_bundle_zip(store, bundle_up.getvalue(), bundle_up.name or "bundle.zip")
            ss["predict_run"] = imported
            ss["_predict_asked"] = imported
            ss["predict_job_id"] = None
            st.query_params["run"] = imported
            ss["_notice"] = "Imported the model; it is selected below."
            st.rerun()
        except UserError as err:
            ui.show_error(err)
            st.caption("Nothing was imported.")
        except Exception as err:  # noqa: BLE001
            ui.show_error(err)

if not runs:
    st.info("No trained model yet. Train a run first; when it finishes (or you stop it) its model can be used "
            "here. Or import a model bundle above.", icon="👉")
    st.page_link(ui.PAGES["train"], label="Go to the Train page", icon="▶️")
    st.stop()

by_id = {r.id: r for r in runs}
options = [r.id for r in runs]


def _model_changed() -> None:
    st.query_params["run"] = ss["predict_run"]
    ss["predict_job_id"] = None


asked = st.query_params.get("run")
if asked is not None and asked in by_id and ss.get("_predict_asked") != asked:
    ss["predict_run"] = asked
    ss["_predict_asked"] = asked
if ss.get("predict_run") not in by_id:
    ss["predict_run"] = options[0]
st.selectbox("Model", options, key="predict_run", format_func=lambda i: f"{ui.run_label(by_id[i])} · {i}",
             on_change=_model_changed, help="A finished (or stopped) training run; its saved model makes the "
                                            "predictions.")
rec = by_id[ss["predict_run"]]
spec = RunSpec.from_dict(rec.spec)
task = spec.data.task
state = live.bundle_state(store, rec.id) or {}

# ----------------------------------------------------------------------------- what the file needs

with st.container(border=True):
    st.markdown("**What the new file needs**")
    required = dict(state.get("columns") or {})
    kinds = {"numeric": "numbers", "time": "time", "text": "text", "any": "any values"}
    if task == "classify" and len(required) > 12:
        st.text(f"{len(required)} value columns named as in the training file "
                f"({', '.join(list(required)[:4])}, …), one row per sequence" if state.get("layout") == "wide"
                else f"{len(required)} columns named as in the training file")
        with st.expander("All required columns"):
            st.text(", ".join(required))
    elif required:
        st.text("Columns: " + ", ".join(f"'{c}' ({kinds.get(k, k)})" for c, k in required.items()))
    if task == "forecast":
        h = spec.data.horizon
        st.text(f"At least {spec.data.window} rows of history, in time order. The model was trained to forecast "
                + (f"{h} steps" if h != 1 else "1 step") + " after the last row; further ahead, it builds on its "
                "own forecasts.")
        if spec.data.features:
            feats = ", ".join(f"'{c}'" for c in spec.data.features)
            st.text(f"To forecast more than {h} step{'s' if h != 1 else ''}, add rows after the history that give "
                    f"the future values of {feats}, with the target cells left empty.")
        for line in predict_instructions(state):   # known-in-advance columns and calendar features
            st.text(line)
    else:
        st.text("A label column is optional: when it is there, the page also says how many predictions were right.")

# ----------------------------------------------------------------------------- upload and submit

upload = st.file_uploader("New data (CSV, Parquet or Excel)", type=list(UPLOAD_TYPES), key="predict_upload",
                          help="Same columns as the training data. Nothing is changed in the file; predictions "
                               "come back as a table you can download.")
sheet = None
if upload is not None:
    sheets = ui.file_kind(upload.getvalue(), upload.name or "new.csv")[1]
    if len(sheets) > 1:
        sheet = st.selectbox("Sheet", sheets, key="predict_sheet", help="The workbook's sheet that holds the data.")
steps = None
if task == "forecast":
    h = spec.data.horizon
    if ss.get("_predict_steps_run") != rec.id or "predict_steps" not in ss:
        ss["predict_steps"] = h   # each model starts at its own trained horizon
        ss["_predict_steps_run"] = rec.id
    steps = int(st.number_input(
        "How many steps ahead?", min_value=1, max_value=MAX_STEPS, step=1, key="predict_steps",
        help=f"How many time steps past the end of the file to forecast (for monthly data, 12 is a year). The model "
             f"was trained to forecast {h} at a time; beyond that each forecast builds on the ones before it, so "
             "the further ahead, the less certain."))
c = st.columns([1, 2])
go_upload = c[0].button("Predict", key="predict_go", type="primary", icon="🔮", disabled=upload is None,
                        width="stretch")
own_data = rec.test_dataset_id or rec.dataset_id
go_train = c[1].button("Try it on the model's own test file" if rec.test_dataset_id
                       else "Try it on the model's own training file", key="predict_go_training",
                       disabled=not own_data,
                       help="A quick check without a new file: predicts on data the model has seen (or was tested "
                            "on).")


def _submit(dataset_id: str, csv_options: dict | None = None) -> None:
    key = f"{rec.id}:{dataset_id}:{steps}:{csv_options}"
    sub = ss.get("predict_submitted") or {}
    if sub.get("key") == key:
        prev = live.get_run_or_none(store, sub.get("job_id"))
        if prev is not None and prev.status in ACTIVE_STATUSES:
            ss["predict_job_id"] = prev.id  # the same file for the same model is already being predicted
            return
    if ui.ensure_worker() is None:
        return
    job_id = runner.submit_predict(store, rec.id, dataset_id, csv_options, steps=steps)
    ss["predict_submitted"] = {"key": key, "job_id": job_id}
    ss["predict_job_id"] = job_id


try:
    if go_upload and upload is not None:
        data = upload.getvalue()
        if not data:
            st.error("The uploaded file is empty. Choose a CSV, Parquet or Excel file with a header row and data "
                     "rows.")
        else:
            _submit(store.add_dataset(data, upload.name or "new.csv"), {"sheet": sheet} if sheet else None)
    elif go_train:   # read as the run read it (a separate test file: from its first sheet)
        _submit(own_data, {**(rec.csv_options or {}), **({"sheet": None} if rec.test_dataset_id else {})} or None)
except Exception as err:  # noqa: BLE001
    ui.show_error(err)

# ----------------------------------------------------------------------------- the job

job = live.get_run_or_none(store, ss.get("predict_job_id"))
if job is None or job.kind != "predict" or job.source_run_id != rec.id:
    earlier = [j for j in store.list_runs(kind="predict") if j.source_run_id == rec.id]
    job = earlier[0] if earlier else None
if job is None:
    st.caption("Predictions appear here.")
    st.stop()
ss["predict_job_id"] = job.id
ss["predict_page_status"] = (job.id, job.status)


def job_panel(job_id: str) -> None:
    job = live.get_run_or_none(store, job_id)
    if job is None:
        st.info("This prediction was deleted.")
        return
    seen = ss.get("predict_page_status")
    if job.status in FINAL_STATUSES and seen and seen[0] == job.id and seen[1] in ACTIVE_STATUSES:
        st.rerun()
    source = live.dataset_name(store, job.dataset_id, "(deleted file)")
    st.subheader(f"Predictions for {md(source)}")
    st.caption(f"Job {job.id} · {live.STATUS_WORDS.get(job.status, job.status) if job.status != 'running' else 'predicting'}"
               f" · {ui.fmt_when(job.created)}")
    if job.status == "queued":
        place, running = live.queue_position(store, job.id)
        st.info(f"Waiting for the worker (place {place or '?'} in the queue).", icon="⏳")
        return
    if job.status == "running":
        st.info("Predicting: the worker is loading the model and reading the file…", icon="⚙️")
        return
    if job.status != "finished":
        st.error(md(job.error) if job.error else "The prediction failed.", icon="❌")
        return
    df = live.predictions(store, job.id)
    if df is None:
        st.error("The prediction finished but wrote no file; run it again.")
        return
    if task == "forecast":
        try:
            history = ui.load_table(job.dataset_id, job.csv_options, source).df
        except Exception:  # noqa: BLE001 - the uploaded file was removed: draw the forecast alone
            history = None
        names = panel_ui.series_names(df)       # many series: a forecast for each, one at a time in the chart
        series = panel_ui.pick_series(st, names, "predict_series")
        if series is not None:
            trained = (state.get("panel") or {}).get("series") or []
            unseen = [n for n in names if n not in trained]
            if unseen:
                st.caption(md(f"Not in the training data, so forecast from their own history (scaled by its mean "
                              f"and spread): {', '.join(unseen[:10])}{' …' if len(unseen) > 10 else ''}."))
            panel_ui.per_series_table(live.load_metrics(store, rec) or {})
            history, df = panel_ui.one_series(history, series, spec.data.id), panel_ui.one_series(df, series)
        st.caption(f"The forecast for the {len(df)} step{'s' if len(df) != 1 else ''} after the last row of the "
                   + ("series" if series is not None else "file")
                   + (f" (the model forecasts {spec.data.horizon} at a time; later steps build on its own "
                      "forecasts)." if len(df) > spec.data.horizon else "."))
        st.plotly_chart(viz.future_figure(history, df, time_col=spec.data.time, targets=list(spec.data.targets),
                                          time_format=spec.data.time_format, time_part=spec.data.time_part),
                        key="predict_future", config={"displaylogo": False})
        if any(str(c).endswith("lower_95") for c in df.columns):
            st.caption(BANDS_CAPTION)
    else:
        if "actual" in df.columns and len(df):
            right = (df["actual"].astype(str) == df["predicted"].astype(str)).mean()
            st.metric("Right on these rows", f"{right:.1%}", help="Share of rows whose label column matches the "
                                                                   "prediction.")
        st.plotly_chart(live.class_counts_figure(df), key="predict_counts", config={"displaylogo": False})
    shown = df
    st.dataframe(shown, hide_index=True, column_config={
        "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="percent"),
        "text": st.column_config.TextColumn("text", width="large")})
    path = store.artifacts(job.id).get("predictions")
    if path is not None:
        st.download_button("Download the predictions (CSV)", data=partial(live.file_bytes, path),
                           file_name=f"predictions_{live.safe_file_stem(source.rsplit('.', 1)[0], 'new')}.csv",
                           mime="text/csv", key="predict_download", on_click="ignore", icon="⬇️",
                           help="Cells that a spreadsheet could run as a formula are escaped.")


st.divider()
panel = st.fragment(job_panel, run_every=live.PREDICT_POLL_S if job.status in ACTIVE_STATUSES else None)
panel(job.id)
