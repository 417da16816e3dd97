"""Errors and guards of the pages: a user mistake shown as its message, anything else logged to the app's
log file (``SEQSTUDIO_HOME/logs/app.log``, :mod:`seqcore.logs`) and shown as a short apology naming
that file; a page stopped with a link to the page that fixes what is missing."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages._ui.base import LOG, home_path, md
from seqcore import logs
from seqcore.errors import UserError


def log_file() -> Path | None:
    """Attach the app log of the data folder to :data:`~pages._ui.base.LOG` (once per process and folder:
    :func:`seqcore.logs.setup` is idempotent) and return the file's path; None when the folder cannot
    hold one (the records then reach the server's console through :mod:`logging`'s last resort)."""
    try:
        return logs.setup(home_path(), "app")
    except Exception:  # noqa: BLE001 - a page must not break because its log cannot be opened
        return None


def show_error(err: BaseException) -> None:
    """A user mistake as its plain message; anything else as a short apology, its traceback in the app log."""
    if isinstance(err, UserError):
        st.error(md(err), icon="⚠️")
        return
    path = log_file()
    LOG.error("Unexpected error on a page", exc_info=(type(err), err, err.__traceback__))
    where = f"the details were written to the app log ({md(path)})" if path is not None else \
        "the details were written to the server's console output"
    st.error(f"Something went wrong on our side; {where}. Try again, or reload the page.", icon="🛠️")


def require(condition: bool, message: str, page: str, label: str) -> None:
    """Stop the page with ``message`` (the app's own Markdown) and a link to ``page`` when ``condition``
    is false."""
    if not condition:
        st.info(message, icon="👉")
        st.page_link(page, label=label, icon="➡️")
        st.stop()
