"""Sign-in end to end: the real server (``streamlit run app.py``) and Debian's Chromium driven by Playwright, with
nothing of the identity flow mocked.

- ``proxy``: the browser sends the user header as a reverse proxy would (Playwright's extra HTTP headers reach the
  websocket's upgrade request, which is what ``st.context.headers`` reads). From a trusted address (loopback, the
  default) the user is signed in; without the header, or from a server told to trust only another address
  (``SEQSTUDIO_PROXY_ADDRESSES=10.9.9.9``), the sign-in page and nothing else.
- ``oidc``: a real OpenID Connect provider (the certified ``oidc-provider`` package from npm, pinned in
  ``tests/oidc/package-lock.json``, run with Debian's nodejs) started on a loopback port; the app's ``[auth]``
  secrets point at it (a secrets file under the test's temporary folder, given with ``--secrets.files``). Chromium
  clicks Sign in, follows the real redirect to the provider's login and consent forms, comes back signed in, then
  signs out through the provider's end-session page.

Skipped only when Chromium/Playwright (all tests) or node/npm (the oidc test) are missing; ``.ci/run`` installs them.
"""

from __future__ import annotations

import os
import secrets as pysecrets
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from helpers import ROOT, browser_idle, chromium, free_port, kill_group, screenshot, serve_app, wait_for

pytestmark = [pytest.mark.browser]

OIDC_DIR = ROOT / "tests" / "oidc"
USER = "ana@example.org"


def _open(browser, url: str, headers: dict[str, str] | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, extra_http_headers=headers or {})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    browser_idle(page)
    return context, page


def _signed_in_as(page, name: str) -> None:
    page.locator("[data-testid=stSidebar]").get_by_text(f"Signed in as {name}").wait_for()


def _sign_in_page(page, home: Path) -> str:
    """Assert the page is the sign-in page and nothing else; returns its text."""
    page.locator("h3:has-text('Sign in')").wait_for()
    browser_idle(page)
    assert page.locator("[data-testid=stSidebar]").count() == 0 or \
        page.locator("[data-testid=stSidebar] a").count() == 0, "no sidebar links before sign-in"
    text = page.locator("[data-testid=stApp]").inner_text()
    assert str(home) not in text and "Data folder" not in text and "Try it with a sample" not in text
    assert "Signed in as" not in text
    return text


# ----------------------------------------------------------------------------- proxy


@pytest.fixture(scope="module")
def proxy_server(tmp_path_factory):
    # FORWARDED_ALLOW_IPS="": uvicorn keeps the proxy's own address (README, "Deploy for a team")
    yield from serve_app(tmp_path_factory.mktemp("auth_proxy"),
                         env={"SEQSTUDIO_AUTH": "proxy", "SEQSTUDIO_ADMINS": USER, "FORWARDED_ALLOW_IPS": ""})


@pytest.fixture(scope="module")
def untrusted_proxy_server(tmp_path_factory):
    yield from serve_app(tmp_path_factory.mktemp("auth_proxy_untrusted"),
                         env={"SEQSTUDIO_AUTH": "proxy", "SEQSTUDIO_PROXY_ADDRESSES": "10.9.9.9"})


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_proxy_header_from_a_trusted_address_signs_in(proxy_server, browser):
    ctx, page = _open(browser, proxy_server["base"], {"X-Forwarded-Email": USER, "X-Forwarded-For": "203.0.113.9"})
    try:
        _signed_in_as(page, f"{USER} (administrator)")
        page.wait_for_selector("h1:has-text('Sequence Studio')")
        page.locator("[data-testid=stSidebar] a", has_text="1 · Data").wait_for()
        assert page.get_by_role("link", name="Sign out").get_attribute("href").endswith("/oauth2/sign_out")
        screenshot(page, "auth_proxy_signed_in")
        # another page of the app: still the same user (the header comes with the websocket)
        page.locator("[data-testid=stSidebar] a", has_text="5 · Runs").first.click()
        page.wait_for_selector("h1:has-text('5 · Runs')")
        _signed_in_as(page, USER)
    finally:
        ctx.close()


def test_proxy_mode_without_the_header_shows_the_sign_in_page(proxy_server, browser):
    ctx, page = _open(browser, proxy_server["base"])
    try:
        assert "sign-in address" in _sign_in_page(page, proxy_server["home"])
        screenshot(page, "auth_proxy_sign_in")
        page.goto(proxy_server["base"] + "/Runs")      # a page's own address: the same sign-in page
        _sign_in_page(page, proxy_server["home"])
    finally:
        ctx.close()


def test_proxy_header_from_an_untrusted_address_is_ignored(untrusted_proxy_server, browser):
    ctx, page = _open(browser, untrusted_proxy_server["base"], {"X-Forwarded-Email": USER})
    try:
        _sign_in_page(page, untrusted_proxy_server["home"])
    finally:
        ctx.close()
    log = untrusted_proxy_server["home"] / "logs" / "app.log"
    wait_for(lambda: log.exists() and "header ignored" in log.read_text(errors="replace"), 10,
             "the ignored header in the app log")


# ----------------------------------------------------------------------------- oidc


def _oidc_provider_package() -> None:
    """Install the pinned provider beside tests/oidc/provider.mjs (``npm ci``, once); skip when node/npm are missing."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are missing (apt-get install nodejs npm): no OpenID Connect provider to test with")
    if (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"npm ci in tests/oidc failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory):
    _oidc_provider_package()
    tmp = tmp_path_factory.mktemp("auth_oidc")
    app_port, idp_port = free_port(), free_port()
    client_id, client_secret = "seqstudio-test", pysecrets.token_urlsafe(24)
    redirect_uri = f"http://127.0.0.1:{app_port}/oauth2callback"
    idp_log = tmp / "oidc-provider.log"
    with open(idp_log, "ab") as log:
        idp = subprocess.Popen(["node", "provider.mjs", str(idp_port), client_id, client_secret, redirect_uri],
                               cwd=OIDC_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    metadata = f"http://127.0.0.1:{idp_port}/.well-known/openid-configuration"

    def up():
        if idp.poll() is not None:
            raise AssertionError("the OpenID Connect provider did not start: " + idp_log.read_text(errors="replace"))
        try:
            with urllib.request.urlopen(metadata, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_for(up, 30, "the OpenID Connect provider", poll=0.1)
        secrets_file = tmp / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "{redirect_uri}"\n'
            f'cookie_secret = "{pysecrets.token_urlsafe(32)}"\n'
            f'client_id = "{client_id}"\n'
            f'client_secret = "{client_secret}"\n'
            f'server_metadata_url = "{metadata}"\n'
            # oidc-provider knows the standard prompts only (Streamlit asks for select_account by default)
            'client_kwargs = { prompt = "login" }\n', encoding="utf-8")
        os.chmod(secrets_file, 0o600)
        yield from serve_app(tmp, env={"SEQSTUDIO_AUTH": "oidc", "SEQSTUDIO_ADMINS": "li@example.org"},
                             port=app_port, args=("--secrets.files", str(secrets_file)))
    finally:
        kill_group(idp.pid, signal.SIGTERM)
        try:
            idp.wait(10)
        except subprocess.TimeoutExpired:
            kill_group(idp.pid)
            idp.wait(10)


def test_oidc_sign_in_and_out_through_a_real_provider(oidc_app, browser):
    ctx, page = _open(browser, oidc_app["base"])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _sign_in_page(page, oidc_app["home"])
        screenshot(page, "auth_oidc_sign_in")
        page.get_by_role("button", name="Sign in").click()

        # the provider's own login form (a real redirect to another origin), then its consent form
        page.wait_for_url("http://127.0.0.1:*/interaction/**")
        page.locator("input[name=login]").fill(USER)
        page.locator("input[name=password]").fill("any password")
        page.get_by_role("button", name="Sign-in").click()
        page.get_by_role("button", name="Continue").click()

        page.wait_for_url(oidc_app["base"] + "/**")
        browser_idle(page)
        _signed_in_as(page, USER)
        assert "administrator" not in page.locator("[data-testid=stSidebar]").inner_text()
        screenshot(page, "auth_oidc_signed_in")
        page.reload()                                   # the identity cookie survives a reload
        _signed_in_as(page, USER)

        page.locator("[data-testid=stSidebar]").get_by_role("button", name="Sign out").click()
        # the provider's end-session page (Streamlit sends the user there when the provider has one)
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(oidc_app["base"] + "/**")
        _sign_in_page(page, oidc_app["home"])
        assert not errors, errors
    finally:
        ctx.close()
