"""Results: how good is a trained model, compared with simple baselines, and where does it go wrong.

The run comes from the address (``?run=<id>``, so a results page can be shared), else the newest
run with results. Everything shown is read from the run's folder; nothing loads a model.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from pages._ui import common as ui
from pages._ui import backtest_ui, live, panel_ui
from pages._ui.baselines_ui import baselines_section
from pages._ui.ensemble_ui import ensemble_section
from pages._ui.export_ui import export_section, share_section
from pages._ui.base import md
from seqcore.outputs import viz
from seqcore.config import RunSpec
from seqcore.modeling.intervals import coverage_sentence
from seqcore.outputs.report import verdict
from seqcore.runs.store import ACTIVE_STATUSES, is_valid_run_id

ui.setup("Results", "📊")
live.init_state()
ss = st.session_state
store = ui.store()

st.title("4 · Results")


# ----------------------------------------------------------------------------- which run

def _select_changed() -> None:
    st.query_params["run"] = ss["results_run"]


asked = st.query_params.get("run")
shared_view = False   # a run someone else shared with a read-only link (?run=ID&share=TOKEN)
if asked is not None and st.query_params.get("share") and is_valid_run_id(asked):
    try:
        store = store.with_share(asked, st.query_params.get("share"))
        shared_view = store.user is not None and not store.user.can_see(store.get_run(asked).owner)
    except Exception:  # noqa: BLE001 - a wrong or revoked token reads as a run that is not there
        pass
runs = live.results_runs(store)
if shared_view:
    runs = [r for r in [store.get_run(asked)] if r.status in ("finished", "stopped")] or runs
target = None
if asked is not None:
    if not is_valid_run_id(asked):
        st.error("The address asks for a run id that is not valid (run ids are 6 to 40 letters, digits, '-' or "
                 "'_'). Check the link, or pick a run below.", icon="🔗")
    else:
        asked_rec = live.get_run_or_none(store, asked)
        if asked_rec is None:
            st.error(f"There is no run {asked} in this Sequence Studio: it may have been deleted, or the link comes "
                     "from another installation. Pick a run below.", icon="🔗")
        elif asked_rec.kind != "train":
            st.error("That address points at a prediction job, not a training run. Its results are on the "
                     "Predict page.", icon="🔗")
        elif asked_rec.id in {r.id for r in runs}:
            target = asked_rec.id
        elif asked_rec.status in ACTIVE_STATUSES:
            st.info(f"Run “{md(asked_rec.name)}” is still {asked_rec.status}; its results appear here when it "
                    "ends.", icon="⏳")
            ss["current_run_id"] = asked_rec.id
            st.page_link(ui.PAGES["train"], label="Watch it train", icon="📈")
        else:
            st.error(f"Run “{md(asked_rec.name)}” has no results ({asked_rec.status}): "
                     f"{md(asked_rec.error or 'it ended before it was tested.')}", icon="❌")
            st.page_link(ui.PAGES["runs"], label="Resume or rerun it on the Runs page", icon="🔁")

if not runs:
    st.info("No results yet. Train a model first: its test metrics, charts and downloads appear here when the "
            "run ends.", icon="👉")
    st.page_link(ui.PAGES["train"], label="Go to the Train page", icon="▶️")
    st.stop()

options = [r.id for r in runs]
by_id = {r.id: r for r in runs}
if target is not None:
    ss["results_run"] = target
elif ss.get("results_run") not in by_id:
    ss["results_run"] = options[0]
st.selectbox("Run", options, key="results_run", format_func=lambda i: ui.run_label(by_id[i]),
             on_change=_select_changed,
             help="Runs that finished (or were stopped) and were tested. The newest is shown by default; the "
                  "address of this page names the run, so you can share it.")

rec = by_id[ss["results_run"]]
spec = RunSpec.from_dict(rec.spec)
task = spec.data.task
metrics = live.load_metrics(store, rec) or {}

# ----------------------------------------------------------------------------- summary

st.header(md(rec.name))
bits = [ui.TASK_LABELS.get(task, task), live.STATUS_WORDS.get(rec.status, rec.status),
        f"{rec.epochs_run or 0} epochs", f"trained in {ui.fmt_seconds(rec.duration)}",
        f"created {ui.fmt_when(rec.created)}", f"run id {rec.id}"]
st.caption(" · ".join(bits))
sentence, won = verdict(metrics, task, spec)
(st.success if won else st.warning if won is False else st.info)(sentence)

cards = viz.metric_cards(metrics, task)
if cards:
    st.subheader("Test metrics")
    st.caption("Measured on the test part, which the model never saw while training. The small number under "
               "each metric is the difference from the best baseline on the same examples (for a forecast, "
               "statistical models such as AutoARIMA are among them).")
    cols = st.columns(len(cards))
    for col, card in zip(cols, cards):
        with col:
            st.metric(card["label"], card["value"], delta=card["delta"], delta_color=card["delta_color"],
                      help=card["help"], border=True,
                      delta_description="vs best baseline" if card.get("baseline_name") else None)
            if card.get("baseline_name"):
                st.caption(f"Best baseline: {md(card['baseline_name'])} = {md(card['baseline_value'])}")
            else:
                st.caption("No baseline for this metric.")
    ensemble_section(metrics)
    baselines_section(metrics, task)

# ----------------------------------------------------------------------------- downloads

st.subheader("Downloads")
stem = live.safe_file_stem(rec.name)
arts = store.artifacts(rec.id)
d = st.columns(4)
if "predictions" in arts:
    d[0].download_button("Predictions (CSV)", data=partial(live.file_bytes, arts["predictions"]),
                         file_name=f"predictions_{stem}.csv", mime="text/csv", key="results_dl_pred",
                         on_click="ignore", icon="📄", width="stretch",
                         help="Every test prediction beside the actual value. Cells that a spreadsheet could run as "
                              "a formula are escaped.")
if "bundle" in arts:
    d[1].download_button("Model bundle (zip)", data=partial(live.bundle_zip, store, rec.id),
                         file_name=f"model_{stem}.zip", mime="application/zip", key="results_dl_bundle",
                         on_click="ignore", icon="📦", width="stretch",
                         help="The trained Keras model with its preprocessing (JSON) and settings; use it with "
                              "`python -m seqcore predict` or keep it as a record.")
d[2].download_button("Training script (.py)", data=lambda: live.training_script(store, rec)[0],
                     file_name=f"train_{task}_{spec.model.cell}.py", mime="text/x-python", key="results_dl_script",
                     on_click="ignore", icon="🐍", width="stretch",
                     help="A standalone Keras script that trains the same model on the same CSV file.")
d[3].download_button("Report (HTML)", data=partial(live.report_html, store, rec),
                     file_name=f"report_{stem}.html", mime="text/html", key="results_dl_report",
                     on_click="ignore", icon="🧾", width="stretch",
                     help="One self-contained page with the metrics and interactive charts, for people who do not "
                          "use the app. It works offline.")
if "bundle" in arts and not shared_view:
    export_section(arts["folder"], stem)


def _reuse() -> None:
    try:
        ui.load_run_config(rec.id)
        ss["_notice"] = f"Loaded the settings of run {md(rec.name)}."
        ss["_results_switch"] = True
    except Exception as err:  # noqa: BLE001
        ss["_results_error"] = err


if shared_view:   # read-only: nothing that changes the run or uses its owner's data
    st.info("You are reading results someone shared with you: you can look and download, not change them.",
            icon="🔗")
else:
    share_section(store, rec)
    links = st.columns(3)
    links[0].page_link(ui.PAGES["predict"], label="Predict new data with this model", icon="🔮",
                       query_params={"run": rec.id})
    links[1].button("Use these settings again", key="results_reuse", icon="⚙️", on_click=_reuse,
                    help="Copies this run's data, model and training settings to the Model page, to change and "
                         "train again.")
    if ss.pop("_results_error", None) is not None:
        st.error("The settings of this run could not be loaded (its data may have been deleted).")
    if ss.pop("_results_switch", False):
        st.switch_page(ui.PAGES["model"])

    if "tensorboard" in arts:
        st.caption("Open in TensorBoard, beside every other run (loss curves, metrics, settings); this run's event "
                   f"files are in `{arts['tensorboard']}`:")
        st.code(store.tensorboard_command(), language="bash")

pred = live.predictions(store, rec.id)

# ----------------------------------------------------------------------------- forecast


def forecast_sections() -> None:
    targets = list(spec.data.targets)
    horizon = int(spec.data.horizon)
    st.header("Forecasts on the test part")
    shown = panel_ui.series_names(pred)          # many series in one file: one at a time in the charts
    series = panel_ui.pick_series(st, shown, "results_series")
    if series is not None:
        panel_ui.per_series_table(metrics)
    test_pred = panel_ui.one_series(pred, series)
    c = st.columns([2, 3])
    target = targets[0] if targets else None
    if len(targets) > 1:
        target = c[0].selectbox("Target", targets, key="results_target",
                                help="Which predicted column to look at.")
    step = 1
    if horizon > 1:
        step = c[1].select_slider("How many steps ahead", options=list(range(1, horizon + 1)), key="results_step",
                                  help="The model predicts several steps at once; errors usually grow the further "
                                       "ahead it looks. 1 = the next step.")
    st.plotly_chart(viz.forecast_figure(test_pred, step=step, target=target), key="results_forecast",
                    config={"displaylogo": False})
    covered = coverage_sentence(metrics.get("intervals"))
    if covered:
        st.caption("The shaded bands show how far off the forecast may be. " + covered)
    st.subheader("Errors")
    st.caption("Predicted minus actual. Errors centred on zero with no pattern over time mean the model has "
               "learnt what it can from the data.")
    st.plotly_chart(viz.residuals_figure(test_pred, step=step, target=target), key="results_residuals",
                    config={"displaylogo": False})
    per_step = (metrics.get("test") or {}).get("per_step") or []
    if len(per_step) > 1:
        with st.expander("Error by how far ahead the forecast looks"):
            st.dataframe(pd.DataFrame([{"steps ahead": p.get("step"), "MAE": p.get("mae"), "RMSE": p.get("rmse"),
                                        "MAPE": p.get("mape")} for p in per_step]),
                         hide_index=True, column_config={"MAPE": st.column_config.NumberColumn(format="percent"),
                                                         "MAE": st.column_config.NumberColumn(format="%.4g"),
                                                         "RMSE": st.column_config.NumberColumn(format="%.4g")})

    backtest_ui.backtest_section(metrics)

    st.header("Forecast past the end of the data")
    future = live.forecast_table(store, rec.id)
    if future is None:
        st.info("This run saved no forecast past the end of the data.")
        return
    history = None
    try:
        history = ui.load_table(rec.dataset_id, rec.csv_options, live.dataset_name(store, rec.dataset_id)).df
    except Exception:  # noqa: BLE001 - the dataset was deleted: draw the forecast alone
        st.caption("The training data is no longer stored, so only the forecast is drawn.")
    if series is not None:
        history, future = panel_ui.one_series(history, series, spec.data.id), panel_ui.one_series(future, series)
    st.plotly_chart(viz.future_figure(history, future, time_col=spec.data.time, targets=[target] if target else None,
                                      time_format=spec.data.time_format, time_part=spec.data.time_part),
                    key="results_future", config={"displaylogo": False})
    st.dataframe(future, hide_index=True)


# ----------------------------------------------------------------------------- classification


def classification_sections() -> None:
    test = metrics.get("test") or {}
    per_class = test.get("per_class") or []
    names = [str(p.get("class")) for p in per_class]
    cm = test.get("confusion_matrix")
    st.header("Where the model goes wrong")
    if cm and len(names) == len(cm):
        norm = st.toggle("Show shares of each true class", key="results_norm",
                         help="Colour each row by the share of that class's test examples instead of counts.")
        st.plotly_chart(viz.confusion_figure(cm, names, normalize=norm), key="results_confusion",
                        config={"displaylogo": False})
    if per_class:
        st.subheader("Per class")
        st.caption("Precision: of the examples predicted as this class, the share that really are. Recall: of the "
                   "examples of this class, the share found. F1 balances both.")
        st.dataframe(pd.DataFrame([{"class": str(p.get("class")), "precision": p.get("precision"),
                                    "recall": p.get("recall"), "F1": p.get("f1"),
                                    "test examples": p.get("support")} for p in per_class]),
                     hide_index=True,
                     column_config={k: st.column_config.ProgressColumn(k, min_value=0.0, max_value=1.0, format="%.2f")
                                    for k in ("precision", "recall", "F1")})
    st.subheader("The most confident mistakes")
    wrong = live.confident_mistakes(pred, 10)
    if pred is None:
        st.info("This run saved no test predictions.")
        return
    if len(wrong) == 0:
        st.success("The model classified every test example correctly.")
        return
    shown_cols = [c for c in wrong.columns if c not in ("correct",) and not str(c).startswith("p(")]
    st.caption("Test examples the model got wrong although it was sure of itself: often mislabelled data, or cases "
               "the classes overlap.")
    if task == "text" and "text" in wrong.columns:
        for _, row in wrong.iterrows():
            conf = row.get("confidence")
            with st.container(border=True):
                st.caption(f"True label: {md(row['actual'])} · predicted: {md(row['predicted'])}"
                           + (f" · {float(conf):.0%} sure" if conf is not None and pd.notna(conf) else ""))
                st.markdown(md(row["text"]))
        return
    st.dataframe(wrong[shown_cols], hide_index=True,
                 column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0.0,
                                                                              max_value=1.0, format="percent"),
                                "text": st.column_config.TextColumn("text", width="large")})
    if task == "classify":
        try:
            seqs, feature_names = live.mistake_sequences(store, rec, wrong.head(5))
        except Exception:  # noqa: BLE001 - the data was deleted or changed: the table above is enough
            seqs, feature_names = {}, []
        if seqs:
            st.caption("The first mistakes above, drawn as the sequences the model saw:")
            st.plotly_chart(viz.sequences_figure(seqs, max_per_class=1, feature_names=feature_names),
                            key="results_mistake_seqs", config={"displaylogo": False})


if task == "forecast":
    forecast_sections()
else:
    classification_sections()

# ----------------------------------------------------------------------------- training, notes, settings

st.header("How it trained")
curves = live.loss_curves(store, rec.id)
st.plotly_chart(viz.loss_figure(curves, uirevision=f"results-{rec.id}"), key="results_loss",
                config={"displaylogo": False})
for line in live.training_story(spec, metrics):
    st.caption(line)
overfit = viz.overfit_hint(curves, final_fit=bool(spec.train.final_fit), finished=True)
if overfit:
    st.info(overfit, icon="💡")
notes = [str(n) for n in (metrics.get("notes") or [])]
if notes:
    st.subheader("Notes")
    st.markdown("\n".join(f"- {md(n)}" for n in notes))
with st.expander("All settings of this run"):
    st.json(spec.to_dict())
    st.caption(f"Data: {md(live.dataset_name(store, rec.dataset_id))}"
               + (f" · test file: {md(live.dataset_name(store, rec.test_dataset_id))}"
                  if rec.test_dataset_id else ""))
