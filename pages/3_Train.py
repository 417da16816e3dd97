"""Train: start a run, watch its loss curve and progress live, stop it.

Training runs in a background worker process, never in this script: leaving the page, refreshing
or closing the tab does not stop a run, and coming back re-attaches to it (the session's current
run, else the newest queued or running run, else the newest run). The live panel is a fragment
that polls the run store a little more than once a second while the run is queued or running,
reads only the new history points, and stops polling once the run has ended.
"""

from __future__ import annotations

import time

import streamlit as st

from pages._ui import common as ui
from pages._ui import live
from pages._ui.base import md
from seqcore.modeling import ensemble, models
from seqcore.runs import runner
from seqcore.outputs import viz
from seqcore.config import RunSpec
from seqcore.errors import SpecError
from seqcore.runs.store import ACTIVE_STATUSES, FINAL_STATUSES

ui.setup("Train", "🏋️")
live.init_state()
ss = st.session_state
store = ui.store()

st.title("3 · Train")
if ui.restore_if_empty():  # a refreshed tab: show the newest run's configuration (the run itself is followed below)
    st.info("Picked up where you left off: the settings of your latest run.", icon="↩️")
st.caption("Start a run and watch it learn. Training happens in the background: you can leave this page, "
           "look at other runs or close the tab; the run carries on and this page picks it up again.")


# ----------------------------------------------------------------------------- callbacks


def _active_with_key(key: str) -> str | None:
    """Id of a queued/running run that has exactly this configuration and data, if any."""
    for r in store.list_runs(kind="train", status=ACTIVE_STATUSES):
        try:
            if live.spec_key(RunSpec.from_dict(r.spec), r.dataset_id, r.test_dataset_id, r.csv_options) == key:
                return r.id
        except Exception:  # noqa: BLE001 - a run with an old spec format cannot match
            continue
    return None


def _start(spec: RunSpec, key: str) -> None:
    """Queue a run (once per configuration while it is active: repeated clicks follow the same run)."""
    ss["train_start_error"] = None
    sub = ss.get("train_submitted") or {}
    if sub.get("key") == key:
        prev = live.get_run_or_none(store, sub.get("run_id"))
        if prev is not None and prev.status in ACTIVE_STATUSES:
            ss["current_run_id"] = prev.id
            return
    already = _active_with_key(key)
    if already:
        ss["current_run_id"] = already
        return
    try:
        spec.validate()
        _check_fits(spec)   # a configuration too large for memory is refused here, before it is queued
        if ui.ensure_worker() is None:
            return
        run_id = runner.submit_run(store, spec, ss["dataset_id"], test_dataset_id=ss.get("test_dataset_id"),
                                   csv_options=_csv_options(), name=(ss.get("train_name") or "").strip() or None)
    except Exception as err:  # noqa: BLE001 - shown plainly on the page by ui.show_error
        ss["train_start_error"] = err
        return
    ss["train_submitted"] = {"key": key, "run_id": run_id}
    ss["current_run_id"] = run_id
    ss["train_live"] = None
    ss["train_name"] = ""  # the next run gets its own name


def _check_fits(spec: RunSpec) -> None:
    """Raise SpecError (with the estimate and the limit) when the run would need more memory than allowed;
    DataError when the data cannot be prepared. Uses the cached dry run (no Keras)."""
    dr = ui.dry_run(ss["dataset_id"], spec.data.to_dict(), test_dataset_id=ss.get("test_dataset_id"),
                    csv_options=ss.get("csv_options"), name=ss.get("dataset_name"))
    models.check_fits(spec.model, spec.train, models.ModelShape.from_dict(dr.shape))


def _members_note(spec: RunSpec) -> str:
    """The sentence saying the run trains several networks and averages them, and why ("" for one network).
    Raises SpecError for members > 1 on a forecast; a data problem is left for Start to report."""
    from seqcore.errors import UserError

    if spec.data.task not in ("classify", "text") and spec.train.members <= 1:
        return ""
    try:
        dr = ui.dry_run(ss["dataset_id"], spec.data.to_dict(), test_dataset_id=ss.get("test_dataset_id"),
                        csv_options=ss.get("csv_options"), name=ss.get("dataset_name"))
    except UserError:
        return ""
    return ensemble.plan_note(ensemble.plan(spec.data.task, spec.train.members,
                                            int(dr.sizes.get("train") or 0) + int(dr.sizes.get("val") or 0)))


def _stop(run_id: str) -> None:
    try:
        runner.request_stop(store, run_id)
    except Exception as err:  # noqa: BLE001
        ss["train_start_error"] = err


def _follow() -> None:
    ss["current_run_id"] = ss.get("train_follow")
    ss["train_live"] = None


def _csv_options() -> dict:
    return ui.run_csv_options()


# ----------------------------------------------------------------------------- start a run

with st.container(border=True):
    st.subheader("Start a new run")
    spec = None
    problem = None
    try:
        spec = ui.current_spec()
        if spec is not None:
            spec.validate()
    except SpecError as err:
        problem = err
    if not ss.get("dataset_id"):
        st.info("Choose the data first: upload a CSV file or pick a sample.", icon="👉")
        st.page_link(ui.PAGES["data"], label="Go to the Data page", icon="➡️")
    elif spec is None:
        st.info("Finish the Data page first: pick the column roles until the data checks out.", icon="👉")
        st.page_link(ui.PAGES["data"], label="Go to the Data page", icon="➡️")
    elif problem is not None:
        ui.show_error(problem)
        st.page_link(ui.PAGES["model"], label="Fix it on the Model page", icon="➡️")
    else:
        m, t, d = spec.model, spec.train, spec.data
        units = " + ".join(str(u) for u in m.units)
        cols = st.columns([3, 2])
        with cols[0]:
            st.markdown(f"**Data:** {ui.TASK_LABELS.get(d.task, d.task)}")
            st.text(f"File: {ss.get('dataset_name') or '?'}"
                    + (f" (test file: {ss.get('test_dataset_name')})" if ss.get("test_dataset_id") else ""))
            st.text(f"Model: {'bidirectional ' if m.bidirectional else ''}{m.cell.upper()} {units} units"
                    f"{f', dropout {m.dropout:g}' if m.dropout else ''}")
            st.text(f"Training: up to {t.epochs} epochs, batch {t.batch_size}, learning rate {t.learning_rate:g}, "
                    f"{t.optimizer}" + (f", stops early after {t.patience} epochs without progress"
                                        + ("" if d.val_fraction > 0 else " of the training loss (no validation part)")
                                        if t.patience else "")
                    + (", then a final fit on training + validation data" if t.final_fit and d.val_fraction > 0
                       else ""))
            try:
                note = _members_note(spec)
            except SpecError as err:
                note = ""
                ui.show_error(err)
            if note:
                st.info(note, icon="🎲")
            st.page_link(ui.PAGES["model"], label="Change the model or training settings", icon="⚙️")
        key = live.spec_key(spec, ss["dataset_id"], ss.get("test_dataset_id"), _csv_options())
        already = _active_with_key(key)
        if already is None:
            # the worker prepares and compiles this configuration while the user reads the page (and is
            # started now if none runs), so Start gives a loss point within about a second or two
            ui.hint_prepare(start=True)
        with cols[1]:
            st.text_input("Run name (optional)", key="train_name", max_chars=200,
                          placeholder=f"{m.cell.upper()} {'-'.join(map(str, m.units))} · {ss.get('dataset_name') or ''}",
                          help="A name to find this run again on the Runs page. Leave it empty for an automatic "
                               "name from the model and the file.")
            st.button("Start training", key="train_start", type="primary", icon="▶️", on_click=_start,
                      args=(spec, key), disabled=already is not None, width="stretch",
                      help="Queues the run; a background worker trains it. Pressing again does not start a "
                           "second copy of the same run.")
            if already is not None:
                st.caption("This configuration is training now (shown below). Change a setting to queue "
                           "another run, or stop this one first.")
    err = ss.get("train_start_error")
    if err is not None:
        ss["train_start_error"] = None
        ui.show_error(err)


# ----------------------------------------------------------------------------- the followed run

rec = live.follow_run(store, ss.get("current_run_id"))
if rec is None:
    st.info("No runs yet. Start one above; its loss curve appears here while it trains.", icon="📈")
    st.stop()
if ss.get("current_run_id") != rec.id:
    ss["current_run_id"] = rec.id
ss["train_page_status"] = (rec.id, rec.status)
if rec.status == "queued" and not runner.supervisor_status(store.home).get("alive"):
    ui.ensure_worker()  # a queued run needs someone to pick it up (e.g. after the server restarted)

recent = store.list_runs(kind="train", limit=20)
options = [r.id for r in recent]
if rec.id not in options:
    options.insert(0, rec.id)
# no status in these labels: the live panel below shows it (a select box's labels are only redrawn on a full rerun)
labels = {r.id: f"{r.name} · {ui.fmt_when(r.created)} · {r.id}" for r in [*recent, rec]}
if ss.get("train_follow") != rec.id:
    ss["train_follow"] = rec.id
st.selectbox("Run shown below", options, key="train_follow", format_func=lambda i: labels.get(i, i),
             on_change=_follow, help="The newest run is shown by default; pick another to watch it or look back "
                                     "at how it trained.")


def live_panel(run_id: str) -> None:
    """Status, progress, time left, the loss chart and the overfitting hint of one run."""
    rec = live.get_run_or_none(store, run_id)
    if rec is None:
        st.warning("This run has been deleted.")
        return
    seen = ss.get("train_page_status")
    if rec.status in FINAL_STATUSES and seen and seen[0] == rec.id and seen[1] in ACTIVE_STATUSES:
        st.rerun()  # the run just ended: redraw the page once, without the polling timer
    hist = live.live_history(store, rec)
    info = live.progress_info(rec, hist.points)

    head = st.columns([4, 2])
    with head[0]:
        st.subheader(f"{ui.STATUS_ICONS.get(rec.status, '')} {md(rec.name)}")
        st.caption(f"Run id: {rec.id} · {live.STATUS_WORDS.get(rec.status, rec.status)} · "
                   f"created {ui.fmt_when(rec.created)}")
    with head[1]:
        if rec.status in ("finished", "stopped"):
            st.page_link(ui.PAGES["results"], label="See the results", icon="📊", query_params={"run": rec.id})
        st.caption(f"Shareable results address: …/{md(live.results_link_path(rec.id))}")

    if rec.status == "queued":
        place, running = live.queue_position(store, rec.id)
        ahead = f"{place - 1} more waiting ahead of it, " if place > 1 else ""
        st.info(f"Waiting in the queue (place {place or '?'}): {ahead}{running} run(s) training now. "
                "It starts by itself; you can leave this page.", icon="⏳")
    elif rec.status == "running" and rec.stop_requested:
        st.warning("Stopping… the run ends after the current batch and keeps its best weights.", icon="⏹️")
    elif rec.status == "failed":
        st.error(md(rec.error) if rec.error else "The run failed; the details are in its log.", icon="❌")
        st.page_link(ui.PAGES["runs"], label="Resume or rerun it on the Runs page", icon="🔁")
    elif rec.status == "interrupted":
        st.warning(md(rec.error) if rec.error else "The run was interrupted.", icon="⚠️")
        st.page_link(ui.PAGES["runs"], label="Resume it on the Runs page", icon="🔁")
    elif rec.status == "stopped":
        ens = (rec.summary or {}).get("ensemble") if isinstance(rec.summary, dict) else None
        if isinstance(ens, dict) and ens.get("members"):
            st.info(f"Stopped by you while member {int(ens['members']) + 1} of {ens.get('planned')} trained: the "
                    f"{ens['members']} networks finished before the stop were averaged, saved and tested on the "
                    "test data; the unfinished one was dropped.", icon="⏹️")
        else:
            st.info(f"Stopped by you after {rec.epochs_run or 0} epoch(s). The best weights so far were saved and "
                    "tested on the test data.", icon="⏹️")
    elif rec.status == "finished":
        summary = rec.summary or {}
        best = summary.get("best_epoch")
        final = (summary.get("training") or {}).get("final_fit") or {}
        if final.get("kept"):
            then = (f" Then a fresh model trained {final.get('epochs')} epoch(s) on the training and validation "
                    f"data together ({int(final.get('examples') or 0):,} examples): that is the model kept.")
        elif final:
            then = f" The final fit was not kept ({md(final.get('reason'))}); the model of epoch {best} was kept."
        else:
            then = ""
        spread = ensemble.spread_sentence(summary)
        st.success(live.finish_message(rec) + then + (f" {spread}" if spread else ""), icon="✅")

    st.progress(info.fraction, text=info.text)
    c = st.columns(5)
    c[0].metric("Elapsed", ui.fmt_seconds(info.elapsed), help="Time since the worker started this run.")
    patience = int(((rec.spec or {}).get("train") or {}).get("patience") or 0)
    c[1].metric("Time left", live.eta_text(info, rec.status, patience),
                help="Estimated from the speed so far and the planned epochs. Early stopping can end the run "
                     "sooner (shown as ≤).")
    c[2].metric("Learning rate", "–" if info.lr is None else f"{info.lr:.3g}",
                help="The optimiser's current step size; the schedule lowers it when progress stalls.")
    c[3].metric("Training loss", viz.format_number(info.last_loss), help="The newest loss on the training data.")
    if info.best_val_accuracy is not None:
        c[4].metric("Best val. accuracy", f"{info.best_val_accuracy:.1%}",
                    help="The highest share of validation examples classified right so far; the model of that "
                         "epoch is kept (ties go to the lower validation loss).")
    elif live.without_validation(rec, hist.points):
        c[4].metric("Best training loss", viz.format_number(info.best_loss),
                    help="There is no validation part, so the lowest training loss at the end of an epoch picks the "
                         "model that is kept (and early stopping watches it).")
    else:
        c[4].metric("Best validation loss", viz.format_number(info.best_val_loss),
                    help="The lowest loss on the validation data so far; the model of that epoch is kept.")

    if rec.status in ACTIVE_STATUSES:
        st.button("Stop", key="train_stop", icon="⏹️", on_click=_stop, args=(rec.id,),
                  disabled=bool(rec.stop_requested),
                  help="Ends the run after the current batch. The best weights so far are saved and tested, "
                       "so you still get results.")

    fig = viz.loss_figure(hist.points, uirevision=f"loss-{rec.id}-{rec.attempt}")
    st.plotly_chart(fig, key="train_chart", config={"displaylogo": False})
    n_epochs = sum(1 for p in hist.points if p.kind == "epoch")
    st.caption(f"{len(hist.points)} progress points ({n_epochs} epochs) · updated {time.strftime('%H:%M:%S')}. "
               "Dots: loss at the end of each epoch; light line: smoothed loss per batch; star: best epoch.")
    hint = viz.overfit_hint(hist.points, final_fit=bool(((rec.spec or {}).get("train") or {}).get("final_fit")))
    if hint:
        st.warning(hint, icon="💡")


panel = st.fragment(live_panel, run_every=live.LIVE_POLL_S if rec.status in ACTIVE_STATUSES else None)
panel(rec.id)
