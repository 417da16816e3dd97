"""Sign-in in the app (``SEQSTUDIO_AUTH``, pages/_ui/auth.py) through Streamlit's AppTest: without sign-in nothing
changes; with it, someone not signed in sees the sign-in page and nothing else (no page links, no data folder, no
runs); a signed-in user sees who they are. The real server and browser flows (proxy headers, a real OpenID Connect
provider) are in tests/test_auth_browser.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from helpers import APP, texts
from pages._ui.auth import trusted_proxy
from pages._ui.base import md
from seqcore import settings
from seqcore.errors import SettingsError

AUTH_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                "client_id": "seqstudio", "client_secret": "s3cret",
                "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}


def _run(path: str | None = None, *, user: dict | None = None, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if path:
        at.switch_page(path)
    if user is not None:
        at.user = user
    for k, v in (secrets or {}).items():
        at.secrets[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _all_text(at: AppTest) -> str:
    return "\n".join(texts(getattr(at, kind)) for kind in ("title", "subheader", "markdown", "caption", "info",
                                                            "error", "code", "text"))


def _assert_sign_in_page_only(at: AppTest, home) -> None:
    assert [t.value for t in at.title] == ["Sequence Studio"]
    assert len(at.sidebar.children) == 0, "nothing in the sidebar before sign-in"
    assert not at.get("page_link"), "no page links before sign-in"
    everything = _all_text(at)
    assert str(home) not in everything and "Data folder" not in everything
    assert "Try it with a sample" not in everything and "Worker" not in everything


def test_no_sign_in_mode_changes_nothing(monkeypatch, _isolated_home):
    monkeypatch.delenv("SEQSTUDIO_AUTH", raising=False)
    at = _run()
    assert "Signed in as" not in _all_text(at)
    assert "auth_sign_out" not in [b.key for b in at.button]
    assert len(at.get("page_link")) >= 8, "the sidebar's page links are there"
    assert at.session_state["_principal"].name == "local" and at.session_state["_principal"].admin


@pytest.mark.parametrize("path", [None, "pages/5_Runs.py"])
def test_proxy_mode_without_a_header_shows_only_the_sign_in_page(monkeypatch, _isolated_home, path):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "proxy")
    at = _run(path)
    _assert_sign_in_page_only(at, _isolated_home)
    assert "sign-in address" in texts(at.info)
    assert "_principal" not in at.session_state


def test_oidc_signed_out_shows_a_sign_in_button_only(monkeypatch, _isolated_home):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    at = _run("pages/1_Data.py", user={"is_logged_in": False}, secrets={"auth": AUTH_SECRETS})
    _assert_sign_in_page_only(at, _isolated_home)
    assert [b.label for b in at.button] == ["Sign in"]


def test_oidc_with_several_providers_offers_each(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    named = {"redirect_uri": AUTH_SECRETS["redirect_uri"], "cookie_secret": AUTH_SECRETS["cookie_secret"],
             "google": {k: AUTH_SECRETS[k] for k in ("client_id", "client_secret", "server_metadata_url")},
             "microsoft": {k: AUTH_SECRETS[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    at = _run(user={"is_logged_in": False}, secrets={"auth": named})
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Microsoft"]


def test_oidc_without_configuration_says_so(monkeypatch, _isolated_home):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    at = _run(user={"is_logged_in": False})
    _assert_sign_in_page_only(at, _isolated_home)
    assert "not configured" in texts(at.error) and not at.button


def test_oidc_signed_in_user_sees_the_app_and_who_they_are(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    monkeypatch.setenv("SEQSTUDIO_ADMINS", "li@example.org")
    at = _run(user={"is_logged_in": True, "email": "Ana@Example.org", "sub": "123"},
              secrets={"auth": AUTH_SECRETS})
    assert f"Signed in as **{md('ana@example.org')}**" in texts(at.sidebar.caption)
    assert "administrator" not in texts(at.sidebar.caption)
    assert "Sign out" in [b.label for b in at.sidebar.button]
    assert len(at.get("page_link")) >= 8
    assert at.session_state["_principal"].name == "ana@example.org"

    at = _run(user={"is_logged_in": True, "email": "li@example.org"}, secrets={"auth": AUTH_SECRETS})
    assert "(administrator)" in texts(at.sidebar.caption)


def test_oidc_unverified_email_falls_back_to_the_subject(monkeypatch):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    at = _run(user={"is_logged_in": True, "email": "boss@example.org", "email_verified": False, "sub": "u-42"},
              secrets={"auth": AUTH_SECRETS})
    assert at.session_state["_principal"].name == "u-42"


def test_a_bad_auth_setting_fails_closed(monkeypatch, _isolated_home):
    monkeypatch.setenv("SEQSTUDIO_AUTH", "proxy")
    monkeypatch.setenv("SEQSTUDIO_PROXY_ADDRESSES", "not-an-address")
    at = _run()
    assert "SEQSTUDIO\\_PROXY\\_ADDRESSES" in texts(at.error)
    _assert_sign_in_page_only(at, _isolated_home)


@pytest.mark.parametrize("address, allowed, ok", [
    ("127.0.0.1", ("127.0.0.1", "::1"), True),
    ("::1", ("127.0.0.1", "::1"), True),
    ("::ffff:127.0.0.1", ("127.0.0.1",), True),
    ("10.0.0.7", ("10.0.0.0/24",), True),
    ("10.0.1.7", ("10.0.0.0/24",), False),
    ("127.0.0.1", ("10.9.9.9",), False),
    ("203.0.113.5", ("127.0.0.1", "::1"), False),
    ("not an ip", ("0.0.0.0/0",), False),
])
def test_trusted_proxy_addresses(address, allowed, ok):
    assert trusted_proxy(address, allowed) is ok


def test_proxy_sign_out_url_setting(monkeypatch):
    assert settings.proxy_sign_out_url() == "/oauth2/sign_out"
    monkeypatch.setenv("SEQSTUDIO_PROXY_SIGN_OUT_URL", "none")
    assert settings.proxy_sign_out_url() is None
    monkeypatch.setenv("SEQSTUDIO_PROXY_SIGN_OUT_URL", "https://sso.example.org/logout")
    assert settings.proxy_sign_out_url() == "https://sso.example.org/logout"
    for bad in ("javascript:alert(1)", "//evil.example", "/a b"):
        monkeypatch.setenv("SEQSTUDIO_PROXY_SIGN_OUT_URL", bad)
        with pytest.raises(SettingsError, match="SEQSTUDIO_PROXY_SIGN_OUT_URL"):
            settings.check()


def test_secrets_example_has_what_st_login_needs():
    import tomllib

    from helpers import ROOT

    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"))["auth"]
    assert {"redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"} <= set(example)
    assert example["redirect_uri"].endswith("/oauth2callback")
    assert not (ROOT / ".streamlit" / "secrets.toml").exists() or \
        ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text(), "real secrets are never committed"


def test_a_sign_in_that_streamlit_refuses_is_explained_not_raised(monkeypatch, _isolated_home):
    # AppTest's secrets do not reach the [auth] section st.login checks, so Streamlit refuses the login here exactly
    # as on a server whose secrets.toml lacks a value
    monkeypatch.setenv("SEQSTUDIO_AUTH", "oidc")
    at = _run(user={"is_logged_in": False}, secrets={"auth": AUTH_SECRETS})
    at.button(key="auth_sign_in_default").click().run()
    assert not at.exception
    assert "not configured correctly" in texts(at.error)
    _assert_sign_in_page_only(at, _isolated_home)
