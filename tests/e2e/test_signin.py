"""Sign-in end to end: Chromium, a real `streamlit run app.py` and a real OpenID Connect provider on loopback.

The provider is the PyPI package `oidc-provider-mock`: its authorization page asks for a subject (`sub`); the
test types an email there, and the claims the provider puts in the ID token (email, name, the role claim) are set
beforehand with its `PUT /users/<sub>` route. The app reads a throwaway secrets file written here (`--secrets.files`),
never `.streamlit/secrets.toml`. Two users each keep a molecule and neither sees the other's; a reload and a server
restart (same database, same cookie secret) keep the user signed in and their shortlist.
"""
from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import REPO, _free_port, _serve
from .test_browser import go_to, wait_idle

pytestmark = pytest.mark.e2e

LINALOOL = "C=CC(C)(O)CCC=C(C)C"  # canonical SMILES of the "linalool" example on the Analyze page
VANILLIN = "COc1cc(C=O)ccc1O"
# email: (name, role claim, role shown: Ana signs in first, and the first user of a database is its admin,
#         the example each keeps on the Analyze page, its canonical SMILES)
USERS = {"ana@example.com": ("Ana", "perfumer", "admin", "linalool", LINALOOL),
         "ben@example.com": ("Ben", "perfumer", "perfumer", "vanillin", VANILLIN)}
STARTUP_TIMEOUT_S = 30
RUN_TIMEOUT_MS = 180_000  # the first Analyze loads the predictor on a 2-core machine


@contextmanager
def _oidc_provider():
    """Runs `oidc-provider-mock` on a free loopback port; yields its base URL; stops it by PID."""
    port = _free_port()
    log = open(REPO / "artifacts" / "e2e_oidc_provider.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > STARTUP_TIMEOUT_S:
                    raise RuntimeError("oidc-provider-mock did not start; see artifacts/e2e_oidc_provider.log") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _set_claims(provider: str, sub: str, claims: dict[str, str]) -> None:
    """Sets the claims the provider will put in `sub`'s ID token (oidc-provider-mock's PUT /users/<sub>)."""
    req = urllib.request.Request(f"{provider}/users/{sub}", data=json.dumps(claims).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 204


@pytest.fixture(scope="module")
def provider():
    (REPO / "artifacts").mkdir(exist_ok=True)
    with _oidc_provider() as base:
        for email, (name, claim, *_) in USERS.items():
            _set_claims(base, email, {"email": email, "name": name, "odordiff_role": claim})
        yield base


@pytest.fixture(scope="module")
def secrets_file(provider, tmp_path_factory):
    """A throwaway secrets.toml: the `[auth]` block of .streamlit/secrets.example.toml pointed at the provider."""
    path = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "odordiff-e2e"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        "[odordiff]\n"
        'roles_claim = "odordiff_role"\n', encoding="utf-8")
    return path


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=30_000)
    page.fill("input[name=sub]", email)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=60_000)
    wait_idle(page)


def _keep_example(page: Page, example: str) -> None:
    go_to(page, "Analyze a molecule")
    page.get_by_role("button", name=example, exact=True).click()
    page.get_by_role("button", name="Add to shortlist").click(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name="On the shortlist ✓")).to_be_visible(timeout=60_000)


def _shortlist_smiles(page: Page) -> list[str]:
    """The SMILES the Shortlist page lists under "Structures" (the table itself is drawn on a canvas)."""
    go_to(page, "Shortlist")
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_role("heading", name="Structures")).to_be_visible(timeout=60_000)  # the list has drawn
    wait_idle(page)
    return [s for s in (LINALOOL, VANILLIN) if main.get_by_text(s, exact=True).count()]


def test_two_users_keep_privately_and_a_reload_and_a_restart_keep_everything(browser: Browser, secrets_file,
                                                                             tmp_path):
    work = {"ODORDIFF_WORK_DIR": str(tmp_path / "work")}
    flags = ("--secrets.files", str(secrets_file))
    contexts = {email: browser.new_context(viewport={"width": 1400, "height": 1000}) for email in USERS}
    pages = {email: ctx.new_page() for email, ctx in contexts.items()}
    try:
        with _serve(work, log_name="e2e_signin_1.log", extra_args=flags) as (base, _):
            page = pages["ana@example.com"]
            page.goto(base)
            expect(page.get_by_role("heading", name="Sign in to OdorDiff")).to_be_visible(timeout=60_000)
            for email, (_, _, role, example, _) in USERS.items():
                _sign_in(pages[email], base, email)
                expect(pages[email].locator("[data-testid='stSidebar']").get_by_text(f"Role: {role}")).to_be_visible()
                _keep_example(pages[email], example)
            for email, (*_, smiles) in USERS.items():
                assert _shortlist_smiles(pages[email]) == [smiles], email  # own molecule only
            page.reload()
            wait_idle(page)
            expect(page.get_by_text("Signed in as")).to_be_visible(timeout=60_000)  # the cookie keeps the sign-in
            assert _shortlist_smiles(page) == [LINALOOL]
        port = int(base.rsplit(":", 1)[1])  # the same URL: the sign-in cookie is bound to the app's origin
        with _serve(work, log_name="e2e_signin_2.log", extra_args=flags, port=port) as (base, _):  # a restart
            for email, (*_, smiles) in USERS.items():
                pages[email].goto(base)
                expect(pages[email].get_by_text("Signed in as")).to_be_visible(timeout=60_000)
                assert _shortlist_smiles(pages[email]) == [smiles], email
    finally:
        for ctx in contexts.values():
            ctx.close()
