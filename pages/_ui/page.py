"""Page setup: the first call on every page (wide layout, session state, the app log, the sidebar with its
navigation, current setup, worker and backend status) and the background worker started on demand."""

from __future__ import annotations

import threading

import streamlit as st

from pages._ui.auth import sidebar_identity, sign_in_or_stop
from pages._ui.base import LOG, NAV, PAGES, TASK_LABELS, home_path, init_state, md, store
from pages._ui.data import hint_prepare
from pages._ui.guards import log_file, show_error
from pages._ui.sweeps_ui import describe_backend
from seqcore.auth import Principal
from seqcore.modeling.device import engine_caption
from seqcore.runs import runner

# Per script run (each session's script runs in its own thread): the sidebar slot to redraw.
_RUN = threading.local()


def setup(page_title: str, icon: str) -> None:
    """First call on every page: wide layout, session state, the app log, the sidebar."""
    st.set_page_config(page_title=f"{page_title} · Sequence Studio", page_icon=icon, layout="wide")
    log_file()   # the app log of this data folder (idempotent; it also records refused sign-ins)
    user = sign_in_or_stop()   # the sign-in page and nothing else for someone not signed in
    init_state()
    _sidebar(user)
    notice = st.session_state.get("_notice")
    if notice:
        st.session_state["_notice"] = None
        st.success(notice)


def _sidebar(user: Principal) -> None:
    # The pages/ folder's own navigation is hidden (client.showSidebarNavigation = false in
    # .streamlit/config.toml) because it would label the main page "app"; these links replace it.
    with st.sidebar:
        st.markdown("### Sequence Studio")
        sidebar_identity(user)
        for key, label, icon in NAV:
            st.page_link(PAGES[key], label=label, icon=icon)
        st.divider()
        _RUN.summary_slot = st.empty()
        _setup_summary(_RUN.summary_slot)
        _live_worker_status()
        _backend_and_sweeps()
        st.caption("Data folder (runs, datasets, models):")
        st.code(str(home_path()), language=None)


def _backend_and_sweeps() -> None:
    """The training engine and its device (Keras 3 + JAX, on the CPU or a GPU), which backend runs the jobs
    (local processes or a Ray cluster, with its resources), and a running sweep's driver picked up again
    after a restart, whatever page the user opens first."""
    from seqcore import sweeps

    try:
        s = store()
        info = runner.backend_status(s.home)
        st.caption(md(engine_caption(info)))
        st.caption(md(describe_backend(info)))
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


#: Seconds between redraws of the sidebar's queue line while a job waits or runs (it follows the run the
#: page shows: a run queued by a click is "waiting" for a moment, then "running").
SIDEBAR_POLL_S = 2.0


def queue_text(counts: dict) -> str:
    """The sidebar's queue line from one :meth:`RunStore.queue_counts` read: ``"1 running, 0 waiting"``; a
    job claimed by a worker that has not reported its first progress yet is running ("getting ready")."""
    running, starting = int(counts.get("running") or 0), int(counts.get("starting") or 0)
    ready = f" ({starting} getting ready)" if starting and starting < running else \
        " (getting ready)" if starting else ""
    return f"{running} running{ready}, {int(counts.get('queued') or 0)} waiting"


def _live_worker_status() -> None:
    """The sidebar's worker line, redrawn every :data:`SIDEBAR_POLL_S` while a job waits or runs, so it never
    says "waiting" for a run the page shows training."""
    try:
        active = any(store().queue_counts()[k] for k in ("queued", "running"))
    except Exception:  # noqa: BLE001 - drawn once; worker_status_box says what went wrong
        active = False
    st.fragment(_compact_worker_status, run_every=SIDEBAR_POLL_S if active else None)()


def _compact_worker_status() -> None:
    worker_status_box(compact=True)


def worker_status_box(*, compact: bool = False) -> None:
    """Worker + queue status: alive or idle, queued and running jobs (one consistent read of the queue)."""
    try:
        s = store()
        status = runner.supervisor_status(s.home)
        if not status.get("alive"):
            # after the app (and its worker) was killed and restarted: runs whose worker is gone
            # become "interrupted" (resumable) instead of showing "running" forever
            for run_id in runner.recover_orphans(s):
                LOG.warning("run %s: its worker is gone (app restarted?); marked interrupted", run_id)
        counts = s.queue_counts()
    except Exception as err:  # noqa: BLE001 - the sidebar must never break a page
        LOG.exception("worker status failed")
        st.caption(f"Worker status unavailable ({md(type(err).__name__)}).")
        return
    if status.get("alive"):
        warm = status.get("warm")
        state = "running" + (", warm and ready" if warm == "ready" else ", warming up" if warm == "starting" else "")
    else:
        state = "idle (starts when you open Train or start a run)"
    if compact:
        st.caption(f"Worker: {state}. Queue: {queue_text(counts)}.")
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Worker", "on" if status.get("alive") else "idle", help=f"The background process that trains "
              f"models: {state}. It starts by itself (opening the Train page gets it ready) and uses up to {status.get('cores', '?')} "
              "CPU cores.")
    c2.metric("Training now", counts["running"], help="Runs being trained right now (a run counts from the moment "
              "a worker takes it, while it still prepares the data and the model).")
    c3.metric("Waiting", counts["queued"], help="Runs queued behind them; they start one after another.")


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
