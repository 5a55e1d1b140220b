"""Bench section over memory: peak RSS of the app (`make run`'s server) while several browser sessions generate.

Starts `python -m app_ui.serve` (what `make run` starts) on a free loopback port, waits for its warm-up, opens
SESSIONS headless Chromium pages (one browser, one context each: separate Streamlit sessions), gives each a
different prompt, clicks Generate in all of them, then waits for every run to finish. A thread samples the RSS
of the server's process tree (the server and any children, from /proc) every SAMPLE_S while that happens.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from odordiff_core.config import Settings

from .app import CHROMIUM_ARGS, SCRIPT_FINISHED, cpu_seconds, start_server, stop_server
from .cache import free_port
from .common import APP_START_TIMEOUT_S, PROMPTS, REPO, NotAvailable, Row, Section

SESSIONS = 6  # concurrent browser sessions (issue 14 measured 1.79 GB with six)
SAMPLE_S = 0.1  # RSS sampling period
RSS_TARGET_MB = 1536  # issue 14 §10: <= 1.5 GB with several sessions generating
GENERATIONS_TIMEOUT_S = 900  # all sessions' generations run one after another (the app's generation lock)
WARM_TIMEOUT_S = 900  # on a shared CPU the warm-up (load the models, one generation) took over 2 minutes


def tree_rss_mb(pid: int) -> float:
    """Returns the summed resident set size (VmRSS) of process `pid` and its descendants in MB, from /proc."""
    total_kb, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process ended between two reads
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


class RssSampler:
    """Samples tree_rss_mb(pid) every SAMPLE_S in a daemon thread; `peak` is the largest value seen."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.samples = pid, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            self.samples += 1
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_memory(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    chromium = shutil.which("chromium")
    if chromium is None or importlib.util.find_spec("playwright") is None:
        raise NotAvailable("needs /usr/bin/chromium and playwright (`apt-get install -y chromium`)")
    if importlib.util.find_spec("streamlit") is None:
        raise NotAvailable("streamlit is not installed")
    flags = ["--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    cmd = [sys.executable, "-m", "app_ui.serve", *flags, "--server.port", str(free_port())]
    launcher = "`python -m app_ui.serve --server.headless true` (what `make run` starts) on a free port"
    proc, base, started, log_path = start_server(cmd, REPO, launcher)
    try:
        idle_mb = wait_warm(proc.pid)
        with RssSampler(proc.pid) as sampler:
            seconds, finished = generate_in_sessions(chromium, base, SESSIONS)
        after_mb = tree_rss_mb(proc.pid)
    finally:
        stop_server(proc)
    if finished < SESSIONS:
        raise NotAvailable(f"only {finished} of {SESSIONS} browser sessions showed candidates (peak RSS so far "
                           f"{sampler.peak:.0f} MB); see {log_path} and the screenshots beside it")
    how = (f"{launcher}, warmed up; {SESSIONS} headless Chromium sessions each submit a different prompt and click "
           f"Generate together; RSS of the server's process tree sampled every {SAMPLE_S * 1000:.0f} ms")
    section.rows.append(Row(f"peak RSS of the app, {SESSIONS} sessions generating", sampler.peak, "MB",
                            ("<=", RSS_TARGET_MB), how))
    section.rows.append(Row("RSS of the app after warm-up, before any session", idle_mb, "MB", None, "same run"))
    section.rows.append(Row("peak RSS increment per session", (sampler.peak - idle_mb) / SESSIONS, "MB", None,
                            f"(peak - RSS before any session) / {SESSIONS}, same run"))
    section.rows.append(Row(f"RSS of the app after the {SESSIONS} sessions", after_mb, "MB", None, "same run"))
    section.notes.append(f"{SESSIONS} sessions: all {SESSIONS} generations finished in {seconds:.1f} s "
                         f"({sampler.samples} RSS samples)")


def wait_warm(pid: int, window_s: float = 3.0) -> float:
    """Waits until the server has loaded and warmed its models; returns its tree RSS (MB) then.

    Warm = one window_s in which the process used under 2 % of a core and its RSS grew by under 2 MB. The
    warm-up thread is quieter than that only when it is done: starved by other jobs it still used ~10 % of a
    core (a looser test, as the app section's `wait_cpu_idle`, fired while the models were still loading).
    """
    deadline = time.perf_counter() + WARM_TIMEOUT_S
    cpu, rss = cpu_seconds(pid), tree_rss_mb(pid)
    while time.perf_counter() < deadline:
        time.sleep(window_s)
        cpu_now, rss_now = cpu_seconds(pid), tree_rss_mb(pid)
        if cpu_now - cpu < 0.02 * window_s and rss_now - rss < 2.0:
            return rss_now
        cpu, rss = cpu_now, rss_now
    raise NotAvailable(f"the app was still busy {WARM_TIMEOUT_S} s after start (warm-up not done)")


def generate_in_sessions(chromium: str, base: str, k: int) -> tuple[float, int]:
    """Opens k sessions, types a prompt in each, clicks Generate in all, waits for every run to finish.

    Returns (seconds from the first click until the last session finished, sessions showing candidates).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    timeout_ms = APP_START_TIMEOUT_S * 1000
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            pages = [browser.new_context().new_page() for _ in range(k)]
            for page in pages:
                page.goto(base, wait_until="domcontentloaded")
            for page, prompt in zip(pages, PROMPTS):
                page.wait_for_selector("textarea", timeout=timeout_ms)
                box = page.locator("textarea").first
                box.fill(prompt)
                box.press("Control+Enter")  # commit the prompt: the rerun shows the Generate button
            buttons = [page.get_by_role("button", name=re.compile(r"^\W*generate", re.I)).first for page in pages]
            for button in buttons:
                button.wait_for(timeout=timeout_ms)
            clicked = time.perf_counter()
            for button in buttons:
                button.click()
            done, deadline = 0, clicked + GENERATIONS_TIMEOUT_S
            for i, page in enumerate(pages):
                left_ms = max(1000.0, (deadline - time.perf_counter()) * 1000)
                try:  # the page titles the candidates "Candidates for “<prompt>”" once the generation is over
                    page.get_by_text("Candidates for").first.wait_for(timeout=left_ms)
                    page.wait_for_selector(SCRIPT_FINISHED, timeout=left_ms)
                    done += 1
                except PlaywrightTimeout:
                    page.screenshot(path=str(Path(tempfile.gettempdir()) / f"odordiff-bench-memory-session-{i}.png"))
            return time.perf_counter() - clicked, done
        finally:
            browser.close()
