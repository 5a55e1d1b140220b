"""A real `streamlit run app.py` on a free loopback port, driven by Debian's Chromium through Playwright.

Never downloads a browser (no `playwright install`): Chromium comes from `apt-get install chromium`
(`make test` installs it). Every request to a non-loopback host is aborted and recorded, so a test can
assert that nothing tried to leave the machine.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
STARTUP_TIMEOUT_S = 60
# The browser tests drive the UI, not the model: the app runs the tiny committed generator unless the environment
# names another (as it always did in the full suite, where tests/app's generator setting used to leak into these
# tests); `make bench` times the shipped one in a browser.
TINY_GENERATOR = REPO / "tests" / "data" / "tiny_generator"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_loopback(url: str) -> bool:
    """Returns True for URLs the app may load: loopback hosts and in-page data (data:, blob:, about:)."""
    u = urlparse(url)
    if u.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return (u.hostname or "") in LOOPBACK


@contextmanager
def _serve(extra_env: dict[str, str] | None = None, log_name: str = "e2e_streamlit.log",
           extra_args: tuple[str, ...] = (), procs: list[subprocess.Popen] | None = None, port: int | None = None):
    """Starts the app, waits for /_stcore/health, yields (base URL, seconds to healthy); stops it by PID.

    Saved work goes to a fresh temporary ODORDIFF_WORK_DIR unless `extra_env` names one; `extra_args` are more
    `streamlit run` flags (e.g. `--secrets.files`); the server process is appended to `procs` when given; `port`
    reuses a port (a restarted server at the same URL, as the sign-in cookie, bound to its origin, needs).
    """
    port = port or _free_port()
    (REPO / "artifacts").mkdir(exist_ok=True)
    log = open(REPO / "artifacts" / log_name, "w")  # the server's output, kept for debugging
    work = tempfile.TemporaryDirectory(prefix="odordiff-e2e-work-", ignore_cleanup_errors=True)
    env = {"ODORDIFF_GENERATOR_DIR": str(TINY_GENERATOR), **os.environ, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "ODORDIFF_WORK_DIR": work.name, **(extra_env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           *extra_args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    if procs is not None:
        procs.append(proc)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see artifacts/{log_name}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"streamlit not healthy after {STARTUP_TIMEOUT_S} s")
            time.sleep(0.2)
        yield base, time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        work.cleanup()


@pytest.fixture(scope="session")
def app_server():
    """The app as `streamlit run app.py` starts it, with this process's environment: (base URL, s to healthy)."""
    with _serve() as served:
        yield served


REDIS_SECRET = "s3cret-pass"


@pytest.fixture(scope="module")
def app_server_with_redis_password():
    """A second app whose ODORDIFF_REDIS_URL carries a password (nothing listens on port 1): it must never show it."""
    with _serve({"ODORDIFF_REDIS_URL": f"redis://:{REDIS_SECRET}@127.0.0.1:1/0"},
                log_name="e2e_streamlit_redis_password.log") as served:
        yield served


@pytest.fixture(scope="session")
def playwright_driver():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-test-deps` (apt-get install chromium). "
                    "Never `playwright install`.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver):
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture()
def browser_without_webgl(playwright_driver):
    """Chromium with WebGL switched off, as on a machine whose browser has none."""
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM,
                                          args=CHROMIUM_ARGS + ["--disable-3d-apis", "--disable-webgl"])
    yield b
    b.close()


@pytest.fixture()
def guarded_page(browser):
    """A page whose non-loopback requests (HTTP and WebSocket) are aborted and listed in `page.blocked`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    blocked: list[str] = []

    def route(r):
        if is_loopback(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort("blockedbyclient")

    def route_ws(ws):
        if is_loopback(ws.url):
            ws.connect_to_server()
        else:
            blocked.append(ws.url)
            ws.close()

    context.route("**/*", route)
    context.route_web_socket("**/*", route_ws)
    context.on("request", lambda req: None if is_loopback(req.url) else blocked.append(req.url))
    page = context.new_page()
    page.blocked = blocked
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield page
    context.close()
