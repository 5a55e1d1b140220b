"""Bench section over the running app: cold start, first page in headless Chromium, first generation, RSS."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odordiff_core.config import Settings

from .cache import free_port
from .common import APP_START_TIMEOUT_S, PROMPTS, NotAvailable, Row, Section


def http_ok(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read() if response.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def peak_rss_mb(pid: int) -> float:
    """Returns the process's peak resident set size (VmHWM) in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise NotAvailable("no VmHWM in /proc (not Linux?)")


def bench_app(settings: Settings, section: Section, shared: dict[str, Any], app: Path) -> None:
    if not app.exists():
        raise NotAvailable(f"{app.name} is not there yet")
    if importlib.util.find_spec("streamlit") is None:
        raise NotAvailable("streamlit is not installed")
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", app.name, "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    log_path = Path(tempfile.gettempdir()) / f"odordiff-bench-app-{port}.log"
    started = time.perf_counter()
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=app.parent, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        while http_ok(f"{base}/_stcore/health") is None:
            if proc.poll() is not None or time.perf_counter() - started > APP_START_TIMEOUT_S:
                raise NotAvailable(f"`streamlit run {app.name}` did not become healthy; see {log_path}")
            time.sleep(0.05)
        health_s = time.perf_counter() - started
        html = http_ok(f"{base}/")
        page_s = time.perf_counter() - started
        if html is None or b"<html" not in html.lower():
            raise NotAvailable(f"GET / did not return the page HTML; see {log_path}")
        shown_cmd = f"`streamlit run {app.name} --server.headless true` on a free port"
        section.rows.append(Row("cold start to /_stcore/health", health_s, "s", None, shown_cmd))
        section.rows.append(Row("cold start to first page HTML", page_s, "s", None, f"{shown_cmd}, then `GET /`"))
        browser = browse_app(base)
        if browser is None:
            section.notes.append("first page rendered in a browser: not available: needs /usr/bin/chromium and playwright "
                                 "(`apt-get install -y chromium`); without a browser session the page script never runs")
            section.rows.append(Row("peak RSS of the app process (server only, no session ran)", peak_rss_mb(proc.pid), "MB",
                                    None, "VmHWM of the `streamlit run` process after `GET /`"))
            return
        section.rows.append(Row("cold start to first page rendered", browser.rendered_at - started, "s", None,
                                f"{shown_cmd}, headless Chromium until the first script run finished"))
        if browser.generation_s is None:
            section.notes.append(f"first generation in the browser: not available: {browser.why_no_generation}")
            section.rows.append(Row("peak RSS of the app process (first page only, no generation)", peak_rss_mb(proc.pid), "MB",
                                    ("<=", 1536), "VmHWM of the `streamlit run` process after one browser session rendered the first page"))
        else:
            section.rows.append(Row("first generation in the browser (cold models)", browser.generation_s, "s", None,
                                    f"fill the first page's prompt box with {PROMPTS[0]!r}, click Generate, until the run finished"))
            section.rows.append(Row("peak RSS of the app process", peak_rss_mb(proc.pid), "MB", ("<=", 1536),
                                    "VmHWM of the `streamlit run` process after the first page and one generation"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@dataclass(frozen=True)
class BrowserRun:
    rendered_at: float  # time.perf_counter() when the first page's script run had finished
    generation_s: float | None  # click on Generate -> run finished; None when the page has no such controls
    why_no_generation: str = ""


def browse_app(base: str) -> BrowserRun | None:
    """Opens the first page in headless Chromium, waits for Streamlit's first script run to finish, then,
    when the page has a prompt box and a "Generate" button, runs one generation. Returns None when no
    browser is available here."""
    import re

    chromium = shutil.which("chromium")
    if chromium is None or importlib.util.find_spec("playwright") is None:
        return None
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    # Streamlit marks its app container with the script state: "initial", "running", "notRunning".
    finished = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    running = '[data-testid="stApp"][data-test-script-state="running"]'
    timeout_ms = APP_START_TIMEOUT_S * 1000
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_page()
            page.goto(base, wait_until="domcontentloaded")
            page.wait_for_selector(finished, timeout=timeout_ms)
            rendered_at = time.perf_counter()
            prompt_box = page.locator("textarea")
            button = page.get_by_role("button", name=re.compile(r"^\W*generate", re.I))
            if prompt_box.count() == 0 or button.count() == 0:
                return BrowserRun(rendered_at, None, "the first page has no prompt box (textarea) and Generate button yet")
            prompt_box.first.fill(PROMPTS[0])
            prompt_box.first.press("Control+Enter")  # commit the text area's value
            page.wait_for_selector(finished, timeout=timeout_ms)
            clicked = time.perf_counter()
            button.first.click()
            try:
                page.wait_for_selector(running, timeout=5000)
            except PlaywrightTimeout:
                pass  # the run may already be over
            page.wait_for_selector(finished, timeout=timeout_ms)
            return BrowserRun(rendered_at, time.perf_counter() - clicked)
        finally:
            browser.close()


