"""The bottom of the page helpers: session state, the signed-in user, the run store, Markdown escaping, formatting.

Imports no other ``pages._ui`` module, so every other one may import it (the order is
``base`` <- ``auth``, ``guards``, ``data``, ``estimates``, ``live`` <- ``sweeps_ui`` <- ``page`` <- ``common``;
``tests/test_ui_helpers.py`` checks that no import goes the other way).

Session state is initialised here, in one place (:data:`STATE_DEFAULTS`). Pages copy widget
values *out* into these plain keys, because Streamlit deletes the widget keys of a page that is
not shown; a page seeds its widget keys from the plain keys with :func:`seed`.

Text shown through Markdown (``st.markdown``, ``st.caption``, ``st.error`` and the other message
boxes, headers, widget labels and help texts) goes through :func:`md` whenever it holds anything a
user or a file chose: file, column, run and sweep names, class labels, error messages.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import streamlit as st

from seqcore import logs, settings
from seqcore.auth import LOCAL, Principal
from seqcore.config import DEFAULT_PRESET, DataSpec, default_run_spec
from seqcore.errors import UserError
from seqcore.runs.store import RunStore, default_home, is_valid_run_id

#: The app's logger (``seqstudio.app``); :func:`pages._ui.guards.log_file` gives it its file.
LOG = logs.get("app")

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

NAV = (("home", "Home", "🏠"), ("data", "1 · Data", "📄"), ("model", "2 · Model", "🧠"),
       ("train", "3 · Train", "🚀"), ("results", "4 · Results", "📊"), ("runs", "5 · Runs", "🗂️"),
       ("predict", "6 · Predict", "🔮"), ("sweeps", "7 · Sweeps", "🔍"))

TASK_LABELS = {
    "forecast": "Forecast a time series",
    "classify": "Classify sequences",
    "text": "Classify texts",
}

STATUS_ICONS = {"queued": "⏳", "running": "🏃", "finished": "✅", "stopped": "⏹️", "failed": "❌",
                "interrupted": "⚠️"}


# ----------------------------------------------------------------------------- Markdown

#: Characters with a meaning in Streamlit's Markdown: CommonMark and GitHub (emphasis, links, images,
#: code, headings, lists, tables, strikethrough, autolinks, HTML, entities), LaTeX ($), emoji and
#: colour directives (:name: / :red[...]). Every one is backslash-escaped by :func:`md`.
MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$:=&@")


def md(text: Any) -> str:
    """User text (file, column, run and sweep names, labels, error messages) made literal inside
    Streamlit Markdown: every Markdown character (:data:`MD_SPECIAL`) is backslash-escaped and line
    breaks become spaces, so no link, image, emphasis or heading can come from the text. For Markdown
    only: ``st.text``, ``st.code``, data frames and select-box options show text as it is."""
    return "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in str(text)).replace("\r", " ").replace("\n", " ")


# ----------------------------------------------------------------------------- session state


_DEFAULT = default_run_spec(DataSpec())   # the default preset for forecasting; the Model page retargets it


def _state_defaults() -> dict[str, Any]:
    return {
        "dataset_id": None,          # sha256 id of the training CSV in the run store
        "dataset_name": None,        # its display name (never a path)
        "test_dataset_id": None,     # optional separate test CSV (classify / text)
        "test_dataset_name": None,
        "csv_options": {},           # seqcore.data.io.CsvOptions.to_dict(); {} = detect everything
        "task": "forecast",          # "forecast" | "classify" | "text"
        "data_spec": None,           # DataSpec.to_dict(), set by the Data page once the data checks out
        "model_spec": _DEFAULT.model.to_dict(),   # config.DEFAULT_PRESET on the defaults
        "train_spec": _DEFAULT.train.to_dict(),
        "preset": DEFAULT_PRESET,    # last preset applied: "quick" | "balanced" | "thorough"
        "current_run_id": None,      # the run the Train page follows
        # private bookkeeping (underscore = not part of the page contract)
        "_data_draft": None,         # the Data page's widget values while the data does not check out yet
        "_restored_from": None,      # run id the configuration was restored from after a refresh
        "_notice": None,             # one-shot Markdown shown by page.setup() on the next page (user text
                                     # in it must already be escaped with md())
    }


STATE_DEFAULTS = _state_defaults()

#: Session-state key of the signed-in :class:`~seqcore.auth.Principal` (set on every script run by
#: ``pages._ui.auth.sign_in_or_stop``; no widget has it).
PRINCIPAL_KEY = "_principal"

# Widget-key prefixes of the Data page's column roles / options / file format, and of the Model page.
# Cleared when another dataset or configuration is loaded so those widgets re-seed from plain keys.
DATA_WIDGET_PREFIXES = ("data_fmt_", "data_role_", "data_opt_")
MODEL_WIDGET_PREFIXES = ("model_",)


def init_state() -> None:
    """Initialise every session-state key this app uses (only the missing ones)."""
    for key, value in _state_defaults().items():
        if key not in st.session_state:
            st.session_state[key] = value


def seed(key: str, value: Any) -> None:
    """Give the widget ``key`` its starting value unless it already has one (before the widget is drawn)."""
    if key not in st.session_state:
        st.session_state[key] = value


def clear_widgets(*prefixes: str) -> None:
    """Forget widget values whose keys start with one of ``prefixes`` (they re-seed from plain keys).
    The plain keys of :data:`STATE_DEFAULTS` (``model_spec``, ``data_spec`` ...) are never touched."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes) and key not in STATE_DEFAULTS:
            del st.session_state[key]


def valid_run_id(value: Any) -> str | None:
    """``value`` when it is a well-formed run id (e.g. from the URL), else None."""
    return value if is_valid_run_id(value) else None


# ----------------------------------------------------------------------------- the store


def home_path() -> Path:
    """The data folder (``$SEQSTUDIO_HOME`` or ``~/.seqstudio``)."""
    return default_home().expanduser().resolve()


@st.cache_resource(show_spinner=False)
def _store_for(home: str) -> RunStore:
    from seqcore.auth import migrate_local

    store = RunStore(home)
    migrate_local(store)   # sign-in switched on: what the workspace held before goes to the first admin, once
    return store


def principal() -> Principal:
    """The signed-in user of this session, as :func:`pages._ui.auth.sign_in_or_stop` (called by ``setup``) left
    it; without sign-in (``SEQSTUDIO_AUTH=none``) the local administrator. Fails closed: with sign-in on and
    nobody signed in, a :class:`~seqcore.errors.UserError` instead of anyone's data."""
    p = st.session_state.get(PRINCIPAL_KEY)
    if isinstance(p, Principal):
        return p
    if settings.auth_mode() == "none":
        return LOCAL
    raise UserError("Nobody is signed in.", hint="Reload the page and sign in.")


def store() -> RunStore:
    """The run store of the data folder as the signed-in user sees it (the process's one store object per
    folder, thread-safe, scoped with ``RunStore.for_user`` where the store has owners)."""
    return _store_for(str(home_path())).for_user(principal())


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
    """``"✅ LSTM 64 · Airline.csv (finished)"`` for select boxes (plain text: wrap in :func:`md` for Markdown)."""
    return f"{STATUS_ICONS.get(rec.status, '')} {rec.name} ({rec.status})"
