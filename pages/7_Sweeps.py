"""Sweeps: try many settings of the Model page's configuration automatically, watch the trials, keep the best.

A sweep starts from the current configuration (Data + Model pages); the settings picked here vary. A
background driver queues each trial as an ordinary run (same charts and results pages) and stops bad
trials early; the page only reads the run store, so a sweep carries on across clicks, refreshes and
restarts. The live part is a fragment that polls while the sweep runs.
"""

from __future__ import annotations

import time

import streamlit as st

from pages._ui import common as ui
from pages._ui import sweeps_ui as sui
from pages._ui.base import md
from seqcore import sweeps
from seqcore.runs import runner
from seqcore.errors import UserError
from seqcore.sweeps import METHOD_TEXT, METHODS, METRICS

ui.setup("Sweeps", "🔍")
sui.init_state()
ss = st.session_state
store = ui.store()

st.title("7 · Sweeps")
st.caption("A sweep trains many versions of your model with some settings changed, and finds the best. Each "
           "try (a *trial*) is an ordinary run: you can open its results like any other. Trials whose validation "
           "loss lags far behind the others are stopped early to save time.")
if ui.restore_if_empty():
    st.info("Picked up where you left off: the data and settings of your latest run.", icon="↩️")
    ui.refresh_sidebar()
try:
    sweeps.ensure_driver_if_needed(store)   # a sweep left running before a restart carries on
except Exception as err:  # noqa: BLE001
    ui.show_error(err)
backend = runner.backend_status(store.home)
st.caption(md(sui.describe_backend(backend)))
err = ss.get("sweeps_error")
if err is not None:
    ss["sweeps_error"] = None
    ui.show_error(err)


# ----------------------------------------------------------------------------- callbacks

def _start(base, cfg) -> None:
    try:
        test_id = None if base.data.task == "forecast" else ss.get("test_dataset_id")
        csv_options = {k: v for k, v in (ss.get("csv_options") or {}).items() if v is not None}
        sweep_id = sweeps.start_sweep(store, base, cfg, ss["dataset_id"], test_dataset_id=test_id,
                                      csv_options=csv_options, name=(ss.get("sweeps_b_name") or "").strip() or None)
    except Exception as e:  # noqa: BLE001 - shown plainly by ui.show_error
        ss["sweeps_error"] = e
        return
    ss["sweeps_current"] = sweep_id


def _stop(sweep_id: str) -> None:
    try:
        sweeps.stop_sweep(store, sweep_id)
    except Exception as e:  # noqa: BLE001
        ss["sweeps_error"] = e


# ----------------------------------------------------------------------------- start a sweep

existing = sweeps.list_sweeps(store, limit=50)
with st.expander("Start a new sweep", expanded=not existing, icon="🧪"):
    sui.restore_draft()
    base = None
    try:
        base = ui.current_spec()
        if base is not None:
            base.validate()
    except UserError as e:
        ui.show_error(e)
        st.page_link(ui.PAGES["model"], label="Fix it on the Model page", icon="➡️")
        base = None
    if not ss.get("dataset_id") or ss.get("data_spec") is None:
        st.info("Choose the data first: a sweep starts from the data and model you set up.", icon="👉")
        st.page_link(ui.PAGES["data"], label="Go to the Data page", icon="➡️")
    elif base is not None:
        m, t = base.model, base.train
        st.markdown(f"**Starts from:** {m.cell.upper()} {' + '.join(map(str, m.units))} units, up to {t.epochs} "
                    f"epochs, batch {t.batch_size}, learning rate {t.learning_rate:g} "
                    f"({ui.TASK_LABELS.get(base.data.task, base.data.task)}). Settings you do not vary keep these "
                    "values.")
        st.page_link(ui.PAGES["model"], label="Change the starting configuration on the Model page", icon="⚙️")
        task = base.data.task
        choices = [tn.name for tn in sweeps.tunables_for(task)]
        ui.seed("sweeps_b_params", [p for p in sui.DEFAULT_PARAMS if p in choices])
        picked = st.multiselect("Settings to vary", choices, key="sweeps_b_params",
                                format_func=lambda n: sweeps.TUNABLES[n].label, max_selections=6,
                                help="Pick two or three settings that you think matter most; the more you vary, "
                                     "the more trials it takes to find good values.")
        params, problems = [], []
        for name in picked:
            try:
                params.append(sui.param_editor(sweeps.TUNABLES[name]))
            except UserError as e:
                problems.append(e)
        st.divider()
        c1, c2, c3 = st.columns(3)
        ui.seed("sweeps_b_method", "tpe")
        method = c1.radio("Search method", METHODS, key="sweeps_b_method", format_func=lambda k: METHOD_TEXT[k],
                          help="Grid tries every combination (ranges are split into 3 points). Random draws "
                               "values at random. Bayesian (TPE) starts randomly, then tries more values near the "
                               "best trials so far; it is usually the quickest way to a good result.")
        ui.seed("sweeps_b_trials", 8)
        trials = c2.number_input("Trials (at most)", 1, sweeps.MAX_TRIALS, key="sweeps_b_trials",
                                 help="How many runs the sweep trains. Each takes about as long as one run.")
        metrics = sweeps.metrics_for(task)
        ui.seed("sweeps_b_metric", "val_loss")
        metric = c3.selectbox("Optimise", metrics, key="sweeps_b_metric", format_func=lambda k: METRICS[k][0],
                              help="What the sweep tries to make best, measured on the validation data after "
                                   "every epoch (never on the test data).")
        d1, d2, d3 = st.columns(3)
        ui.seed("sweeps_b_prune", True)
        prune = d1.toggle("Stop bad trials early", key="sweeps_b_prune",
                          help="Once two trials have finished, a trial whose best validation loss so far is worse "
                               "than the median of the finished trials at the same epoch is stopped, from its third "
                               "epoch on (its model is kept).")
        ui.seed("sweeps_b_seed", 0)
        seed = d2.number_input("Search seed", 0, 2**31 - 1, key="sweeps_b_seed",
                               help="Fixes the random choices of the search, so the same sweep picks the same "
                                    "values again.")
        ui.seed("sweeps_b_parallel", 0)
        parallel = d3.number_input("Trials at once (0 = automatic)", 0, 64, key="sweeps_b_parallel",
                                   help="0 runs as many as the worker (or the Ray cluster) can train at once.")
        st.text_input("Sweep name (optional)", key="sweeps_b_name", max_chars=200,
                      help="A name to find this sweep again; leave empty for an automatic one.")
        sui.save_draft()
        cfg = None
        for e in problems:
            ui.show_error(e)
        if not params and not problems:
            st.info("Pick at least one setting to vary.", icon="👉")
        elif not problems:
            try:
                cfg = sui.sweep_config(params, method=method, trials=trials, metric=metric, seed=seed,
                                       prune=prune, parallel=parallel).validate(base)
            except UserError as e:
                ui.show_error(e)
        if cfg is not None:
            if cfg.method == "grid":
                size = cfg.grid_size()
                st.caption(f"The grid has {size} combination(s); the sweep runs {cfg.budget()} of them"
                           + (" (raise the trial budget to run them all)." if cfg.budget() < size else "."))
            else:
                st.caption(f"The sweep runs {cfg.budget()} trial(s).")
            st.button("Start the sweep", key="sweeps_start", type="primary", icon="▶️", on_click=_start,
                      args=(base, cfg), help="Queues the trials; a background worker trains them.")

# ----------------------------------------------------------------------------- the followed sweep

existing = sweeps.list_sweeps(store, limit=50)
if not existing:
    st.info("No sweeps yet. Start one above: pick the settings to vary and press Start.", icon="🧪")
    st.stop()
by_id = {s.id: s for s in existing}
current = ss.get("sweeps_current")
if current not in by_id:
    running = [s for s in existing if s.status == "running"]
    current = (running or existing)[0].id
    ss["sweeps_current"] = current
if ss.get("sweeps_follow") != current:
    ss["sweeps_follow"] = current
st.selectbox("Sweep shown below", list(by_id), key="sweeps_follow",
             format_func=lambda i: f"{sui.SWEEP_STATUS_ICONS.get(by_id[i].status, '')} {by_id[i].name} · "
                                   f"{ui.fmt_when(by_id[i].created)}",
             on_change=lambda: ss.__setitem__("sweeps_current", ss.get("sweeps_follow")),
             help="The running sweep (else the newest) is shown by default.")


def sweep_panel(sweep_id: str) -> None:
    """Status, the trials table, the plots and the stop button of one sweep."""
    try:
        sw = sweeps.get_sweep(store, sweep_id)
    except UserError:
        st.warning("This sweep has been deleted.")
        return
    seen = ss.get("sweeps_page_status")
    ss["sweeps_page_status"] = (sw.id, sw.status)
    if seen and seen[0] == sw.id and seen[1] == "running" and sw.status != "running":
        st.rerun()   # it just ended: redraw the page once without the timer
    cfg = sw.cfg
    trials = sweeps.sweep_trials(store, sw)
    label = METRICS[cfg.metric][0]
    st.subheader(f"{sui.SWEEP_STATUS_ICONS.get(sw.status, '')} {md(sw.name)}")
    st.caption(f"Sweep id {sw.id} · {cfg.method} search · varies "
               + "; ".join(f"{sweeps.TUNABLES[p.name].label.lower()}: {md(p.describe())}" for p in cfg.params)
               + f" · seed {cfg.seed} · early stopping of bad trials {'on' if cfg.prune else 'off'}")
    done = sum(1 for t in trials if t.run_status not in ("queued", "running") and not t.copy)
    active = sum(1 for t in trials if t.run_status in ("queued", "running"))
    pruned = sum(1 for t in trials if t.status == "pruned")
    budget = cfg.budget()
    st.progress(min(1.0, done / budget) if budget else 1.0,
                text=f"{done} of {budget} trial(s) done, {active} training or waiting, {pruned} stopped early")
    c = st.columns(3)
    best = next((t for t in trials if t.is_best), None)
    c[0].metric(f"Best {label.lower()}", "–" if sw.best_value is None else f"{sw.best_value:.4g}",
                help="The best value of the metric over all trials so far (at each trial's best epoch).")
    c[1].metric("Best trial", "–" if best is None else f"#{best.number + 1}",
                help="" if best is None else md(sweeps.format_params(best.params)))
    c[2].metric("Status", sw.status)
    if sw.status == "running":
        if sw.stop_requested:
            st.warning("Stopping… no new trials start; the running ones end after their current batch.", icon="⏹️")
        else:
            st.button("Stop the whole sweep", key="sweeps_stop", icon="⏹️", on_click=_stop, args=(sw.id,),
                      help="No new trials start; running trials stop after their current batch and keep their "
                           "best weights.")
    elif sw.status == "failed":
        st.error(md(sw.error) if sw.error else "The sweep failed.", icon="❌")
    elif sw.status == "stopped":
        st.info("You stopped this sweep. The trials that ran keep their results.", icon="⏹️")
    elif sw.status == "finished":
        st.success(f"Finished: {done} trial(s)" + ("" if best is None else
                   f"; the best is trial {best.number + 1} ({md(sweeps.format_params(best.params))}).") , icon="✅")
    if not trials:
        st.info("The first trials are being queued…", icon="⏳")
        return
    frame = sui.trials_frame(trials, cfg)
    st.dataframe(
        frame, hide_index=True, key="sweeps_table",
        column_config={
            "best": st.column_config.TextColumn("", width="small", help="★ = the best trial"),
            "trial": st.column_config.NumberColumn("trial", width="small"),
            "status": st.column_config.TextColumn("status", help="; ".join(f"{k}: {v}" for k, v in
                                                                            sui.STATUS_WORDS.items())),
            label: st.column_config.NumberColumn(label, format="%.4g", help="Best value over the trial's epochs."),
            "results": st.column_config.LinkColumn("results", display_text="open results"),
        },
    )
    tab1, tab2 = st.tabs(["Each setting against the result", "All settings at once"])
    with tab1:
        st.plotly_chart(sui.scatter_figure(trials, cfg), key="sweeps_scatter", config={"displaylogo": False})
        st.caption("One dot per trial; the gold star is the best. Orange dots were stopped early.")
    with tab2:
        fig = sui.parallel_figure(trials, cfg)
        if fig is None:
            st.info("This view appears once two trials have a result.", icon="⏳")
        else:
            st.plotly_chart(fig, key="sweeps_parcoords", config={"displaylogo": False})
            st.caption("One line per trial through each setting and the result; drag along an axis to filter.")
    st.caption(f"Updated {time.strftime('%H:%M:%S')}.")


current_rec = by_id[ss["sweeps_current"]]
panel = st.fragment(sweep_panel, run_every=1.5 if current_rec.status == "running" else None)
panel(current_rec.id)

# ----------------------------------------------------------------------------- use a trial's configuration

trials_now = [t for t in sweeps.sweep_trials(store, current_rec.id) if t.epochs_run]
if trials_now:
    st.header("Use a trial's configuration")
    best_first = sorted(trials_now, key=lambda t: (not t.is_best, t.number))
    options = [t.run_id for t in best_first]
    info = {t.run_id: t for t in best_first}
    choice = st.selectbox("Trial", options, key="sweeps_use_trial",
                          format_func=lambda r: f"{'★ ' if info[r].is_best else ''}trial {info[r].number + 1}: "
                                                f"{sweeps.format_params(info[r].params)} ({info[r].status})",
                          help="The best trial is first.")
    u1, u2 = st.columns(2)
    if u1.button("Use this configuration", key="sweeps_use", icon="↩️", type="primary",
                 help="Loads the trial's settings into the Model page, where you can adjust them and train."):
        try:
            ui.load_run_config(choice)
            ss["_notice"] = f"Loaded the settings of trial {info[choice].number + 1} of the sweep."
            st.switch_page(ui.PAGES["model"])
        except UserError as e:
            ui.show_error(e)
    if info[choice].run_status in ("finished", "stopped"):
        u2.page_link(ui.PAGES["results"], label="Open this trial's results", icon="📊",
                     query_params={"run": choice})

# ----------------------------------------------------------------------------- delete

if current_rec.status != "running":
    with st.expander("Delete this sweep"):
        also = st.checkbox("Also delete its trial runs", key="sweeps_delete_runs",
                           help="Without this, the trials stay on the Runs page as ordinary runs.")
        if st.button("Delete the sweep", key="sweeps_delete", icon="🗑️"):
            try:
                sweeps.delete_sweep(store, current_rec.id, delete_runs=also)
                ss["sweeps_current"] = None
                st.rerun()
            except UserError as e:
                ui.show_error(e)
