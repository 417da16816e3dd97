"""Who is using the app (``SEQSTUDIO_AUTH``, :mod:`seqcore.auth`): the signed-in user of this browser session,
and the sign-in page everyone else sees instead of the app.

- ``none``: everyone is :data:`seqcore.auth.LOCAL` (one local workspace; no sign-in UI at all).
- ``oidc``: Streamlit's own ``st.login`` / ``st.user`` against the OpenID Connect provider of the ``[auth]``
  section of ``.streamlit/secrets.toml``; the user is the ``email`` claim of the ID token, or, when the provider
  gives none (or marks it ``email_verified = false``), the provider's stable subject id ``sub``.
- ``proxy``: the user header (``SEQSTUDIO_PROXY_HEADER``) that a reverse proxy such as oauth2-proxy sets, trusted
  only when the connection comes from ``SEQSTUDIO_PROXY_ADDRESSES``.

The connection's address in proxy mode: Streamlit (1.67, on uvicorn) reports the TCP peer of the page's websocket
as ``st.context.ip_address``, but ``None`` for a loopback peer (``127.0.0.1``/``::1``) and when the session has
no client at all. Headers come from that same client, so a ``None`` address with a header can only be a loopback
(or Unix-socket) peer: it counts as ``127.0.0.1``, trusted only when the proxy addresses hold a loopback address
(the default). uvicorn replaces the peer with the last untrusted ``X-Forwarded-For`` entry when the peer is in
``FORWARDED_ALLOW_IPS`` (loopback by default); behind a proxy that sends ``X-Forwarded-For``, start the app with
``FORWARDED_ALLOW_IPS=""`` so the address checked here is the proxy's own (README, "Deploy for a team"). Either
way the check fails closed: a header from any other address is never trusted.

:mod:`pages._ui.base` keeps the result for the rest of the script (``principal()``, which ``store()`` scopes to).
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

import streamlit as st

from pages._ui.base import LOG, PRINCIPAL_KEY, md
from seqcore import auth, settings
from seqcore.auth import Principal
from seqcore.errors import UserError

#: The address a header-carrying connection has when Streamlit reports none (a loopback or Unix-socket peer).
LOOPBACK = "127.0.0.1"


def current_principal() -> Principal | None:
    """The user of this session, or None when nobody (trusted) is signed in."""
    mode = settings.auth_mode()
    if mode == "none":
        return auth.LOCAL
    name = _oidc_user() if mode == "oidc" else _proxy_user()
    if not name:
        return None
    try:
        return auth.principal(name)
    except UserError:
        LOG.warning("sign-in refused: %r is not a user name", str(name)[:80])
        return None


# ----------------------------------------------------------------------------- oidc


def _user_claims() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:  # noqa: BLE001 - no [auth] section or no session: nobody is signed in
        return {}


def _oidc_user() -> str | None:
    """The signed-in user's e-mail address (unless the provider says it is unverified), else their ``sub``."""
    claims = _user_claims()
    if claims.get("is_logged_in") is not True:
        return None
    email = claims.get("email")
    if isinstance(email, str) and email.strip() and claims.get("email_verified") is not False:
        return email
    sub = claims.get("sub")
    return str(sub) if sub not in (None, "") else None


def providers() -> list[str]:
    """The providers of the ``[auth]`` section: ``["default"]`` for one given directly in it, plus every named
    ``[auth.NAME]`` section; [] when sign-in is not configured."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets file at all
        return []
    if not section:
        return []
    named = [k for k, v in section.items() if hasattr(v, "keys") and k != "client_kwargs"]
    return (["default"] if "client_id" in section else []) + named


# ----------------------------------------------------------------------------- proxy


def _header(name: str) -> str | None:
    try:
        value = st.context.headers.get(name)   # case-insensitive
    except Exception:  # noqa: BLE001 - no client
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


def peer_address() -> str:
    """The address of this session's connection as Streamlit reports it (loopback when it reports none)."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001
        ip = None
    return ip or LOOPBACK


def trusted_proxy(address: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``address`` is one of the ``allowed`` addresses or networks (an IPv4-mapped IPv6 address counts
    as its IPv4 address)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(net, strict=False) for net in allowed)


def _proxy_user() -> str | None:
    allowed = settings.proxy_addresses()          # a malformed setting fails closed even without a header
    settings.proxy_sign_out_url()
    name = _header(settings.proxy_header())
    if name is None:
        return None
    address = peer_address()
    if trusted_proxy(address, allowed):
        return name
    hint = (" (it came with X-Forwarded-For and FORWARDED_ALLOW_IPS is not empty: uvicorn may have replaced the "
            "proxy's address with the browser's; start the app with FORWARDED_ALLOW_IPS=\"\")"
            if _header("X-Forwarded-For") and os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1") else "")
    LOG.warning("%s header ignored: the connection came from %s, not from SEQSTUDIO_PROXY_ADDRESSES%s",
                settings.proxy_header(), address, hint)
    return None


# ----------------------------------------------------------------------------- the pages' part


def sign_in_or_stop() -> Principal:
    """The signed-in user (kept in session state for :func:`pages._ui.base.principal`); otherwise the sign-in
    page, and the script stops there: nothing of the app is drawn for someone who is not signed in."""
    try:
        p = current_principal()
    except Exception as err:  # noqa: BLE001 - a bad SEQSTUDIO_* setting: fail closed, say which
        st.session_state.pop(PRINCIPAL_KEY, None)
        LOG.exception("sign-in check failed")
        st.title("Sequence Studio")
        st.error(md(err) if isinstance(err, UserError) else "Sign-in is not working on this server; the "
                 "details were written to the app log.", icon="⚠️")
        st.stop()
    if p is None:
        st.session_state.pop(PRINCIPAL_KEY, None)
        _sign_in_page()
        st.stop()
    st.session_state[PRINCIPAL_KEY] = p
    return p


def _sign_in_page() -> None:
    st.title("Sequence Studio")
    st.subheader("Sign in")
    if settings.auth_mode() == "proxy":
        st.info("This workspace is for signed-in users. Open it through your organisation's sign-in address "
                "(the proxy in front of this server), not directly.", icon="🔒")
        return
    names = providers()
    if not names:
        st.error("Sign-in is switched on (SEQSTUDIO\\_AUTH=oidc) but not configured: the server needs an "
                 "\\[auth\\] section in .streamlit/secrets.toml.", icon="⚠️")
        return
    st.write("Sign in to see your datasets, runs and models.")
    for name in names:
        label = "Sign in" if len(names) == 1 else f"Sign in with {name.replace('_', ' ').title()}"
        if st.button(label, key=f"auth_sign_in_{name}", type="primary"):
            try:
                st.login(None if name == "default" else name)
            except Exception:  # noqa: BLE001 - a misconfigured [auth] section (StreamlitAuthError): say so, log it
                LOG.exception("st.login(%r) failed", name)
                st.error("Sign-in is not configured correctly on this server (the \\[auth\\] section of "
                         ".streamlit/secrets.toml); the details were written to the app log.", icon="⚠️")


def sidebar_identity(p: Principal) -> None:
    """"Signed in as X" and a sign-out control at the top of the sidebar (nothing without sign-in)."""
    mode = settings.auth_mode()
    if mode == "none":
        return
    st.caption(f"Signed in as **{md(p.name)}**" + (" (administrator)" if p.admin else ""))
    if mode == "oidc":
        if st.button("Sign out", key="auth_sign_out"):
            st.session_state.pop(PRINCIPAL_KEY, None)
            st.logout()
    else:
        url = settings.proxy_sign_out_url()
        if url:
            st.link_button("Sign out", url)
