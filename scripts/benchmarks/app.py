"""Bench section over the running app: cold start, first page in headless Chromium, first generation, RSS."""
from __future__ import annotations

import importlib.util
import os
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
from .common import APP_START_TIMEOUT_S, PROMPTS, REPO, NotAvailable, Row, Section

# Streamlit marks its app container with the script state: "initial", "running", "notRunning".
SCRIPT_FINISHED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SCRIPT_RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


def cpu_seconds(pid: int) -> float:
    """Returns the user + system CPU seconds process `pid` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_cpu_idle(pid: int, started: float, window_s: float = 1.5, busy_below: float = 0.15) -> float:
    """Returns seconds since `started` when process `pid` went idle (under busy_below CPU-seconds per window_s)."""
    last = cpu_seconds(pid)
    while time.perf_counter() - started < APP_START_TIMEOUT_S:
        time.sleep(window_s)
        now = cpu_seconds(pid)
        if now - last < busy_below:
            return time.perf_counter() - started - window_s
        last = now
    raise NotAvailable(f"the app process was still busy {APP_START_TIMEOUT_S} s after start")


def start_server(cmd: list[str], cwd: Path, shown: str) -> tuple[subprocess.Popen, str, float, Path]:
    """Starts an app server, waits for /_stcore/health; returns (process, base URL, perf_counter at start, log)."""
    port = cmd[cmd.index("--server.port") + 1]
    log_path = Path(tempfile.gettempdir()) / f"odordiff-bench-app-{port}.log"
    started = time.perf_counter()
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    while http_ok(f"{base}/_stcore/health") is None:
        if proc.poll() is not None or time.perf_counter() - started > APP_START_TIMEOUT_S:
            stop_server(proc)
            raise NotAvailable(f"{shown} did not become healthy; see {log_path}")
        time.sleep(0.05)
    return proc, base, started, log_path


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def bench_app(settings: Settings, section: Section, shared: dict[str, Any], app: Path) -> None:
    if not app.exists():
        raise NotAvailable(f"{app.name} is not there yet")
    if importlib.util.find_spec("streamlit") is None:
        raise NotAvailable("streamlit is not installed")
    flags = ["--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    shown_cmd = f"`streamlit run {app.name} --server.headless true` on a free port"
    cmd = [sys.executable, "-m", "streamlit", "run", app.name, *flags, "--server.port", str(free_port())]
    proc, base, started, log_path = start_server(cmd, app.parent, shown_cmd)
    try:
        health_s = time.perf_counter() - started
        html = http_ok(f"{base}/")
        page_s = time.perf_counter() - started
        if html is None or b"<html" not in html.lower():
            raise NotAvailable(f"GET / did not return the page HTML; see {log_path}")
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
            return
        section.rows.append(Row("first prompt read in the browser, `streamlit run` (models load here)", browser.prompt_read_s,
                                "s", None, f"{shown_cmd}: type {PROMPTS[0]!r} in the first page's prompt box, commit it; "
                                "seconds until the page showed the Generate button"))
        section.rows.append(Row("first generation in the browser, `streamlit run` (models load on first prompt)",
                                browser.generation_s, "s", None,
                                f"{shown_cmd}: type {PROMPTS[0]!r} in the first page's prompt box, commit it, click Generate; "
                                "seconds from the commit until the run finished"))
        if browser.second_generation_s is not None:
            section.rows.append(Row("second generation in the browser (warm)", browser.second_generation_s, "s", None,
                                    f"same session, then the same for {PROMPTS[1]!r}"))
        section.rows.append(Row("peak RSS of the app process", peak_rss_mb(proc.pid), "MB", ("<=", 1536),
                                "VmHWM of the `streamlit run` process after the first page and the generations"))
    finally:
        stop_server(proc)
    if app.resolve() != (REPO / "app.py").resolve():
        return  # the launcher serves the repository's app.py only
    launcher = "`python -m app_ui.serve --server.headless true` (what `make run` starts) on a free port"
    cmd = [sys.executable, "-m", "app_ui.serve", *flags, "--server.port", str(free_port())]
    proc, base, started, log_path = start_server(cmd, REPO, launcher)
    try:
        warmed_s = wait_cpu_idle(proc.pid, started)
        section.rows.append(Row("`make run`: models loaded and warmed after", warmed_s, "s", None,
                                f"{launcher}: seconds from start until the server process went idle (warm-up thread done)"))
        browser = browse_app(base)
        if browser is not None and browser.generation_s is not None:
            section.rows.append(Row("first prompt read in the browser, `make run` (models loaded at server start)",
                                    browser.prompt_read_s, "s", None, f"{launcher}, browser opened once the warm-up was done, "
                                    "then as for `streamlit run`"))
            section.rows.append(Row("first generation in the browser, `make run` (models loaded at server start)",
                                    browser.generation_s, "s", None,
                                    f"{launcher}, browser opened once the warm-up was done, then as for `streamlit run`"))
    finally:
        stop_server(proc)


@dataclass(frozen=True)
class BrowserRun:
    rendered_at: float  # time.perf_counter() when the first page's script run had finished
    generation_s: float | None  # prompt committed -> Generate clicked -> run finished; None without such controls
    why_no_generation: str = ""
    second_generation_s: float | None = None  # the same for a second prompt in the same session (models warm)
    prompt_read_s: float | None = None  # first prompt committed -> the page read it (Generate button shown)


def browse_app(base: str) -> BrowserRun | None:
    """Opens the first page in headless Chromium, waits for Streamlit's first script run to finish, then,
    when the page has a prompt box and a "Generate" button, runs two generations (two prompts, one session).
    Returns None when no browser is available here."""
    import re

    chromium = shutil.which("chromium")
    if chromium is None or importlib.util.find_spec("playwright") is None:
        return None
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    finished, running = SCRIPT_FINISHED, SCRIPT_RUNNING
    timeout_ms = APP_START_TIMEOUT_S * 1000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base, wait_until="domcontentloaded")
            # The app container reads "notRunning" before the first run has even started: wait for the page's
            # title (every page has one) as well, then for the run to be over.
            page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
            page.wait_for_selector(finished, timeout=timeout_ms)
            rendered_at = time.perf_counter()
            try:  # the first run may still be drawing (or a second run follows the first)
                page.wait_for_selector("textarea", timeout=15000)
            except PlaywrightTimeout:
                return BrowserRun(rendered_at, None, "the first page has no prompt box (textarea)")

            def generate(prompt: str) -> tuple[float, float] | None:
                """Types the prompt, clicks Generate; returns seconds from committing the prompt (the page reads it,
                which needs the models) to the Generate button shown and to the generation's run finished; None
                without a Generate button."""
                box = page.locator("textarea").first
                box.fill(prompt)
                committed = time.perf_counter()
                box.press("Control+Enter")  # commit the text area's value: a rerun shows the Generate button
                try:
                    page.wait_for_selector(running, timeout=5000)
                except PlaywrightTimeout:
                    pass
                page.wait_for_selector(finished, timeout=timeout_ms)
                button = page.get_by_role("button", name=re.compile(r"^\W*generate", re.I))
                if button.count() == 0:
                    return None
                read = time.perf_counter() - committed
                button.first.click()
                try:
                    page.wait_for_selector(running, timeout=5000)
                except PlaywrightTimeout:
                    pass  # the run may already be over
                page.wait_for_selector(finished, timeout=timeout_ms)
                return read, time.perf_counter() - committed

            first = generate(PROMPTS[0])
            if first is None:
                return BrowserRun(rendered_at, None, "the first page shows no Generate button after a prompt is entered")
            second = generate(PROMPTS[1])
            return BrowserRun(rendered_at, first[1], prompt_read_s=first[0],
                              second_generation_s=second[1] if second else None)
        finally:
            browser.close()


