"""Home: what Sequence Studio does, one-click samples, the quick path, and the worker / queue status.

Run with ``streamlit run app.py``; the other pages come from the ``pages/`` folder.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import common as ui
from pages._ui.base import md
from seqcore.runs import runner
from seqcore.config import DEFAULT_PRESET, DataSpec, default_run_spec
from seqcore.data.io import CsvOptions
from seqcore.outputs.report import describe_preset

ui.setup("Home", "📈")

st.title("Sequence Studio")
st.markdown(
    "Teach a neural network to learn from **sequences** in a CSV file, without writing code. "
    "Sequence Studio builds an LSTM or GRU model (a kind of network with a memory), trains it in the "
    "background while you watch the learning curve, and tells you how it compares with simple baselines."
)

c1, c2, c3 = st.columns(3)
with c1.container(border=True):
    st.markdown("**📈 Forecast a time series**")
    st.caption("Rows in time order (sales, sensor readings, visitors). The model predicts the next steps.")
with c2.container(border=True):
    st.markdown("**〰️ Classify sequences**")
    st.caption("Each sequence (a movement, a heartbeat, a machine cycle) gets a class.")
with c3.container(border=True):
    st.markdown("**💬 Classify texts**")
    st.caption("Short texts (reviews, messages, tickets) get a label such as positive or negative.")

# ----------------------------------------------------------------------------- samples
st.header("Try it with a sample")
st.caption("One click loads a dataset with sensible settings. You can look at it and change anything later.")

def pick_sample(key: str) -> None:
    """Button callback: store the sample and its suggested setup (runs before the page redraws)."""
    st.session_state["_home_error"] = None
    try:
        ui.load_sample(key)
        st.session_state["_home_sample"] = key
    except Exception as err:  # noqa: BLE001 - shown below the samples, never as a traceback
        st.session_state["_home_sample"] = None
        st.session_state["_home_error"] = err


chosen = st.session_state.get("_home_sample")
if chosen and st.session_state.get("dataset_name") != ui.SAMPLES[chosen].train_file:
    chosen = None  # another dataset was picked since
cols = st.columns(len(ui.SAMPLES))
for col, sample in zip(cols, ui.SAMPLES.values()):
    with col.container(border=True, height="stretch"):
        st.markdown(f"**{sample.title}**")
        st.caption(ui.TASK_LABELS[sample.task])
        st.button("✓ Loaded" if chosen == sample.key else "Use this sample", key=f"home_sample_{sample.key}",
                  width="stretch", on_click=pick_sample, args=(sample.key,),
                  type="primary" if chosen == sample.key else "secondary")
        st.write(sample.blurb)
if st.session_state.get("_home_error") is not None:
    ui.show_error(st.session_state["_home_error"])

# ----------------------------------------------------------------------------- next step
st.header("Next step")
ss = st.session_state
if not ss.get("dataset_id"):
    st.info("Pick a sample above, or bring your own CSV file on the Data page.", icon="👉")
    st.page_link(ui.PAGES["data"], label="Upload your own data", icon="📄")
elif ss.get("data_spec") is None:
    st.warning(f"{md(ss.get('dataset_name'))} is loaded but its columns are not set up yet.", icon="👉")
    st.page_link(ui.PAGES["data"], label="Finish setting up the data", icon="📄")
else:
    spec = ui.current_spec()
    with st.container(border=True):
        st.markdown(f"**{md(ss.get('dataset_name'))}** is ready: {ui.TASK_LABELS[spec.data.task].lower()}.")
        st.write(f"Train now with the default model (the *{DEFAULT_PRESET}* preset: "
                 f"{describe_preset(DEFAULT_PRESET, spec.data.task)}), or look at the data and the model first.")
        a, b, c = st.columns(3)
        train_clicked = a.button("🚀 Train with defaults", key="home_train_defaults", type="primary",
                                 width="stretch",
                                 help=f"Queues a training run with the {DEFAULT_PRESET} preset and opens the Train page "
                                      "to watch it.")
        with b:
            st.page_link(ui.PAGES["data"], label="Look at the data first", icon="📄")
        with c:
            st.page_link(ui.PAGES["model"], label="Choose the model first", icon="🧠")
    if train_clicked:
        run_id = None
        try:
            spec = default_run_spec(DataSpec.from_dict(ss["data_spec"]))
            run_id = runner.submit_run(ui.store(), spec, ss["dataset_id"], test_dataset_id=ss.get("test_dataset_id"),
                                       csv_options=CsvOptions.from_dict(ss.get("csv_options") or {}))
        except Exception as err:  # noqa: BLE001 - shown plainly, never as a traceback
            ui.show_error(err)
        if run_id is not None:
            ss["model_spec"], ss["train_spec"], ss["preset"] = spec.model.to_dict(), spec.train.to_dict(), DEFAULT_PRESET
            ss["current_run_id"] = run_id
            ui.clear_widgets("model_")
            st.switch_page(ui.PAGES["train"])

# ----------------------------------------------------------------------------- status
st.header("Training queue")
ui.worker_status_box()
try:
    recent = ui.store().list_runs(kind="train", limit=5)
except Exception as err:  # noqa: BLE001
    recent = []
    ui.show_error(err)
if recent:
    st.caption("Latest runs:")
    for rec in recent:
        st.page_link(ui.PAGES["results"], label=md(ui.run_label(rec)), query_params={"run": rec.id})
    st.page_link(ui.PAGES["runs"], label="All runs", icon="🗂️")
else:
    st.caption("No runs yet. Your runs keep going when you close the tab; come back any time to see them.")
