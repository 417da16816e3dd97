"""Who is acting: the signed-in user (a :class:`Principal`) that the run store scopes everything to.

Modes (``SEQSTUDIO_AUTH``, :func:`seqcore.settings.auth_mode`):
  none   one local workspace, as a single-user tool on a laptop: everyone is :data:`LOCAL`, an administrator,
         and sees everything (the default; nothing changes for a laptop user).
  oidc   the app signs people in with an OpenID Connect provider (Streamlit's ``st.login`` / ``st.user``,
         configured in ``.streamlit/secrets.toml``); the user is their e-mail address.
  proxy  a reverse proxy (oauth2-proxy and the like) signs people in and passes the user in a header
         (``SEQSTUDIO_PROXY_HEADER``, ``X-Forwarded-Email`` by default), trusted only from
         ``SEQSTUDIO_PROXY_ADDRESSES``.

Administrators (``SEQSTUDIO_ADMINS``, e-mail addresses) see and manage everything. The command line acts as the
local administrator unless ``--user NAME`` says otherwise (:func:`cli_principal`), and then acts exactly as that
user would in the app. Reading the identity from a request is the app's part (``pages/_ui/auth.py``); this module
only names users, so it imports nothing but the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqcore import settings
from seqcore.errors import UserError

#: The owner of everything in a workspace without sign-in (and of data made before owners existed).
LOCAL_NAME = "local"


@dataclass(frozen=True)
class Principal:
    """A user: ``name`` (lower-cased e-mail address or proxy user name; ``local`` without sign-in) and
    whether they administer the workspace (see and manage everyone's data)."""
    name: str
    admin: bool = False

    def can_see(self, owner: str | None) -> bool:
        return self.admin or (owner or LOCAL_NAME) == self.name


LOCAL = Principal(LOCAL_NAME, admin=True)


def normalise(name: str | None) -> str:
    """A user name as stored: stripped and lower-cased; UserError for an empty or malformed one."""
    v = str(name or "").strip().lower()
    if not v or len(v) > 254 or any(ch.isspace() or not ch.isprintable() for ch in v):
        raise UserError(f"{str(name)[:80]!r} is not a user name or e-mail address.",
                        hint="Use the e-mail address the person signs in with.")
    return v


def principal(name: str) -> Principal:
    """The signed-in user ``name``; an administrator when listed in ``SEQSTUDIO_ADMINS``."""
    n = normalise(name)
    return Principal(n, admin=n in settings.admins())


def cli_principal(user: str | None) -> Principal:
    """Who the command line acts as: the local administrator, or ``--user NAME`` exactly as in the app."""
    return LOCAL if user is None else principal(user)


def first_admin() -> str:
    """Who owns data made before owners existed once sign-in is switched on: the first listed administrator,
    else :data:`LOCAL_NAME` (then only administrators see it)."""
    admins = settings.admins()
    return admins[0] if admins else LOCAL_NAME


def migrate_local(store) -> int:
    """With sign-in switched on and administrators listed, hand what the workspace held before (owned by
    ``local``) to the first administrator, once; returns how many runs moved."""
    if settings.auth_mode() == "none" or not settings.admins():
        return 0
    return store.adopt_unowned(first_admin())


__all__ = ["migrate_local", "Principal", "LOCAL", "LOCAL_NAME", "normalise", "principal", "cli_principal", "first_admin"]
