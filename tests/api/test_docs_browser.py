"""/docs in headless Chromium (Debian's, driven by Playwright, as tests/e2e do): the Swagger UI renders the API's
routes and every request the page makes goes to the server itself, none off loopback (no CDN)."""
from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest
import uvicorn
from _apitest import make_client
from _servers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def served_api(api_settings, pipeline, store):
    """The API app on a real uvicorn server on a free loopback port, in a thread of this process."""
    app = make_client(api_settings, pipeline, store).app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.e2e
def test_docs_render_in_chromium_without_any_off_loopback_request(served_api):
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{served_api}/docs")
            page.get_by_text("/v1/generate", exact=True).first.wait_for(timeout=30_000)  # Swagger UI drew the routes
            page.wait_for_load_state("networkidle")
            assert page.locator(".swagger-ui").count() == 1
        finally:
            browser.close()
    hosts = {urlsplit(u).hostname for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, f"/docs requested {sorted(u for u in requested if '127.0.0.1' not in u)}"
    assert any(u.endswith("/openapi.json") for u in requested) and any("swagger-ui-bundle.js" in u for u in requested)
