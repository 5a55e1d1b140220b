#!/usr/bin/env python
"""`make bench`: measures OdorDiff's speed on this machine, prints a table and writes BENCHMARKS.md.

Each figure comes with the command that reproduces it (`python scripts/bench.py --only SECTION`) and
the target it is checked against. A section whose module or weights are not there yet prints
"not available: <why>" instead of a figure, so the script runs at every stage of the project and
never shows a made-up number.

    .venv/bin/python scripts/bench.py                 # every section, writes BENCHMARKS.md
    .venv/bin/python scripts/bench.py --only cache    # one section, prints only (add --out to write)
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without relying on the editable install

from odordiff_core.config import Settings  # noqa: E402
from odordiff_core.errors import OdorDiffError  # noqa: E402

SECTIONS = ("predictor", "text", "generator", "pipeline", "cache", "app")
N_PROMPTS = 20  # warm-generation and text-latency sample size
N_REPEATS = 200  # cached-repeat sample size
GEN_N = 16  # candidates per generation, as in the app
APP_START_TIMEOUT_S = 120  # give up on `streamlit run` after this long

# Perfumer prompts used for text latency and warm generation (fixed, so runs are comparable).
PROMPTS = (
    "a clean citrus top note",
    "a warm amber base with vanilla",
    "fresh summer morning by the sea with a hint of lemon",
    "green cut grass and crushed leaves",
    "creamy sandalwood, soft and milky",
    "a smoky leather accord",
    "juicy pear and apple, not too sweet",
    "white flowers: jasmine and tuberose",
    "spicy cinnamon and clove for winter",
    "earthy vetiver with a dry woody finish",
    "powdery iris and violet",
    "a marine ozonic note without fish",
    "sweet caramel and roasted coffee",
    "mint and eucalyptus, cooling",
    "ripe peach skin with a lactonic heart",
    "pine forest after rain",
    "honeyed beeswax and hay",
    "bitter orange peel and neroli",
    "musky, clean laundry",
    "tropical coconut and pineapple",
)


@dataclass(frozen=True)
class Row:
    figure: str
    value: float | None  # None: an informational row (text in `shown`)
    unit: str
    target: tuple[str, float] | None = None  # ("<=", 2.0) or (">=", 1000)
    how: str = ""  # what exactly was timed
    shown: str = ""  # value as displayed, when not a plain number

    def display(self) -> str:
        if self.shown:
            return self.shown
        v = self.value
        assert v is not None
        text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
        return f"{text} {self.unit}".strip()

    def verdict(self) -> str:
        if self.target is None or self.value is None:
            return ""
        op, limit = self.target
        ok = self.value <= limit if op == "<=" else self.value >= limit
        return "meets" if ok else "MISSES"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        op, limit = self.target
        return f"{'≤' if op == '<=' else '≥'} {limit:g} {self.unit}"


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)
    not_available: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        return f"`.venv/bin/python scripts/bench.py --only {self.name}`"


class NotAvailable(Exception):
    """The section cannot run yet; the message says why (module missing, weights missing, ...)."""


def require(module: str, *names: str) -> Any:
    """Returns the imported module; raises NotAvailable when it or one of `names` is not there yet."""
    if importlib.util.find_spec(module) is None:
        raise NotAvailable(f"{module.replace('.', '/')}.py is not there yet")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:  # a sibling module it imports is still being written
        if not (e.name or "").startswith("odordiff_core"):
            raise
        raise NotAvailable(f"{module} imports {e.name}, which is not there yet") from e
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise NotAvailable(f"{module} has no {', '.join(missing)} yet")
    return mod


def loaded(what: str, load: Callable[[], Any]) -> tuple[Any, float]:
    """Returns (object, seconds to load it); a missing model (OdorDiffError) becomes NotAvailable."""
    started = time.perf_counter()
    try:
        obj = load()
    except OdorDiffError as e:
        raise NotAvailable(f"{what}: {e}") from e
    return obj, time.perf_counter() - started


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


# ---------------------------------------------------------------------------------------------------
# machine


def machine_info() -> list[tuple[str, str]]:
    """Returns (name, value) pairs describing the machine and the versions in use."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024**2:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    server = shutil.which("redis-server")
    server_version = subprocess.run([server, "--version"], capture_output=True, text=True).stdout.split()[2] if server else "not installed"
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    info = [
        ("date", dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("commit", commit.stdout.strip() if commit.returncode == 0 else "no commit yet (working tree)"),
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("memory", mem),
        ("load average at start", " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min; > cores means shared CPUs skew the figures)"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("torch", version("torch")),
        ("rdkit", version("rdkit")),
        ("numpy", version("numpy")),
        ("streamlit", version("streamlit")),
        ("redis-py", version("redis")),
        ("redis-server", server_version),
    ]
    if importlib.util.find_spec("torch") is not None:
        import torch

        info.append(("torch threads", str(torch.get_num_threads())))
    return info


# ---------------------------------------------------------------------------------------------------
# sections


def bench_predictor(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    odor = require("odordiff_core.odor", "load_predictor")
    from odordiff_core.chem import to_mol, without_rdkit_log
    from odordiff_core.data import data_path

    predictor, load_s = loaded("predictor", lambda: odor.load_predictor(settings))
    section.rows.append(Row("predictor load", load_s, "s", ("<=", 2.0), "`load_predictor(Settings.from_env())`, torch/rdkit already imported"))

    import pandas as pd

    smiles = pd.read_csv(data_path("odor/curated_GS_LF_merged_4983.csv", settings))["nonStereoSMILES"]
    with without_rdkit_log():
        mols = [m for m in (to_mol(s) for s in smiles) if m is not None]
    predictor.predict_proba(mols[:64])  # warm-up (lazy init, allocator)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        probs = predictor.predict_proba(mols)
        times.append(time.perf_counter() - started)
    assert probs.shape[0] == len(mols)
    rate = len(mols) / float(np.median(times))
    section.rows.append(Row("predictor throughput", rate, "mol/s", (">=", 1000),
                            f"`predict_proba` on the {len(mols):,} GS-LF molecules (featurisation included), median of 3; "
                            f"runs 2-3 reuse RDKit's per-molecule caches (charges, Crippen contributions)"))
    with without_rdkit_log():
        fresh = [m for m in (to_mol(s) for s in smiles) if m is not None]  # new Mol objects: cold caches
    started = time.perf_counter()
    predictor.predict_proba(fresh)
    section.rows.append(Row("predictor throughput, freshly parsed molecules", len(fresh) / (time.perf_counter() - started),
                            "mol/s", None, "one `predict_proba` pass over newly parsed Mol objects, as generated candidates are"))
    section.notes.append(f"predictor version {getattr(predictor, 'version', '?')}")


def bench_text(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    text = require("odordiff_core.text", "load_interpreter")
    interpreter, load_s = loaded("text interpreter", lambda: text.load_interpreter(settings))
    section.rows.append(Row("text interpreter load", load_s, "s", ("<=", 3.0), "`load_interpreter(Settings.from_env())` (sentence encoder included)"))
    interpreter.interpret("warm-up: a soft floral heart")
    times = []
    for prompt in PROMPTS:
        started = time.perf_counter()
        interpreter.interpret(prompt)
        times.append(time.perf_counter() - started)
    section.rows.append(Row("text interpretation p50", percentile_ms(times, 50), "ms", ("<=", 50), f"`interpret(prompt)` over {len(PROMPTS)} prompts, warm"))
    section.rows.append(Row("text interpretation p95", percentile_ms(times, 95), "ms", None, "same run"))


def bench_generator(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    generator = require("odordiff_core.generator", "load_generator", "condition_vector")
    sampler = require("odordiff_core.sampler", "sample", "SamplerConfig")
    import torch

    from odordiff_core.tokens import decode_smiles

    path = settings.weights_dir / "generator"
    gen, load_s = loaded("generator", lambda: generator.load_generator(path))
    section.rows.append(Row("generator model load", load_s, "s", ("<=", 5.0), f"`load_generator({path.relative_to(REPO) if path.is_relative_to(REPO) else path})`"))
    weights = np.zeros(len(gen.labels), dtype=np.float32)
    for label, w in (("citrus", 1.0), ("fresh", 0.6), ("green", 0.3)):
        if label in gen.labels:
            weights[gen.labels.index(label)] = w
    cond = torch.from_numpy(generator.condition_vector(weights))  # (138,)
    cfg = sampler.SamplerConfig()
    batch = 64
    sampler.sample(gen.model, cond, 8, cfg, gen.schedule, seed=99)  # warm-up
    times, valid = [], 0
    for seed in range(3):
        started = time.perf_counter()
        ids = sampler.sample(gen.model, cond, batch, cfg, gen.schedule, seed=seed)  # (64, L)
        smiles = [decode_smiles(gen.vocab.decode(row)) for row in ids.numpy()]
        times.append(time.perf_counter() - started)
        valid += sum(s is not None for s in smiles)
    section.rows.append(Row("molecules sampled per second (batch 64)", batch / float(np.median(times)), "mol/s", None,
                            f"`sample(model, cond, 64, SamplerConfig(), ...)` + decoding to SMILES ({cfg.steps} steps, "
                            f"guidance {cfg.guidance}), median of 3 seeds"))
    section.notes.append(f"{gen.version}: {valid}/{3 * batch} sampled strings decoded to valid SMILES")


def bench_pipeline(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    pipeline_mod = require("odordiff_core.pipeline", "load_pipeline", "GenerateRequest")
    pipeline, load_s = loaded("pipeline", lambda: pipeline_mod.load_pipeline(settings))
    section.rows.append(Row("pipeline load", load_s, "s", None,
                            "`load_pipeline(Settings.from_env())`: generator + predictor + text + safety, torch/rdkit already imported"))
    request = pipeline_mod.GenerateRequest
    pipeline.generate(request(prompt="warm-up: a soft floral heart", n=GEN_N, seed=0))
    times, sampled = [], 0
    result = None
    for prompt in PROMPTS:
        started = time.perf_counter()
        result = pipeline.generate(request(prompt=prompt, n=GEN_N, seed=0))
        times.append(time.perf_counter() - started)
        sampled += result.n_sampled
    section.rows.append(Row("warm generation p50", float(np.median(times)), "s", ("<=", 2.0),
                            f"`generate(GenerateRequest(prompt, n={GEN_N}, seed=0))` over {len(PROMPTS)} prompts"))
    section.rows.append(Row("warm generation p95", float(np.percentile(times, 95)), "s", None, "same run"))
    section.rows.append(Row("molecules sampled per second, end to end", sampled / sum(times), "mol/s", None,
                            f"n_sampled / wall time of the same run ({sampled / len(PROMPTS):.0f} sampled per request; "
                            "includes interpretation, decoding, scoring and ranking)"))
    if result is not None:
        shared["generation_payload"] = result.to_json()
        shared["generation_version"] = result.model_version


def synthetic_payload() -> dict[str, Any]:
    """Returns a result-shaped JSON object (16 candidates, 138 probabilities and std each), used only to
    time the cache while the real pipeline is not there; BENCHMARKS.md says so next to the figure."""
    rng = np.random.default_rng(0)
    labels = [f"label_{i:03d}" for i in range(138)]
    candidates = []
    for rank in range(1, GEN_N + 1):
        probs, std = rng.random(138), rng.random(138) / 10
        candidates.append({
            "rank": rank, "smiles": "CC(C)=CCCC(C)=CC=O", "odor_match": float(rng.random()),
            "odor": {"labels": labels, "probs": probs.round(4).tolist(), "std": std.round(4).tolist(), "model_version": "x"},
            "novel": True, "seed": 0, "model_version": "x",
        })
    return {"request": {"prompt": "synthetic", "n": GEN_N, "seed": 0}, "candidates": candidates}


def bench_cache(settings: Settings, section: Section, shared: dict[str, Any], redis_url: str | None) -> None:
    from odordiff_core.cache import ResultCache, encode_value, request_key

    payload = shared.get("generation_payload")
    version = shared.get("generation_version", "bench")
    if payload is None:
        payload = synthetic_payload()
        source = "a synthetic 16-candidate result of the real shape (the pipeline is not there yet)"
    else:
        source = "the last real generation result of the pipeline section"
    size = len(json.dumps(payload, separators=(",", ":")))
    section.notes.append(f"payload: {source}; {size / 1024:.1f} kB JSON, {len(encode_value(payload)) / 1024:.1f} kB stored in Redis")
    req = {"prompt": PROMPTS[0], "n": GEN_N, "seed": 0, "guidance": 2.0, "weights": None}

    # Session layer, as the app does it: st.session_state keyed by the request, and st.cache_data.
    session: dict[str, dict[str, Any]] = {request_key("generate", version, req): payload}
    times = []
    for _ in range(N_REPEATS):
        started = time.perf_counter()
        hit = session.get(request_key("generate", version, req))
        times.append(time.perf_counter() - started)
    assert hit is payload
    section.rows.append(Row("cached repeat, session p50", percentile_ms(times, 50), "ms", ("<=", 1.0),
                            f"dict lookup by `request_key(...)` (st.session_state-style), {N_REPEATS} repeats"))
    if importlib.util.find_spec("streamlit") is not None:
        import streamlit as st

        logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)  # "no runtime" notice

        @st.cache_data(show_spinner=False)
        def cached_generate(request_json: str, model_version: str) -> dict[str, Any]:
            return payload

        cached_generate(json.dumps(req, sort_keys=True), version)
        times = []
        for _ in range(N_REPEATS):
            started = time.perf_counter()
            cached_generate(json.dumps(req, sort_keys=True), version)
            times.append(time.perf_counter() - started)
        section.rows.append(Row("cached repeat, st.cache_data p50", percentile_ms(times, 50), "ms", ("<=", 1.0),
                                f"`@st.cache_data` hit (returns a copy), {N_REPEATS} repeats, outside a Streamlit runtime"))

    # Redis layer: our own redis-server unless --redis-url names one.
    server = None
    if redis_url is None:
        binary = shutil.which("redis-server")
        if binary is None:
            section.notes.append("Redis: not available: redis-server not installed (`apt-get install -y redis-server`)")
            return
        server, redis_url = start_redis_server(binary)
    try:
        cache = ResultCache(redis_url, ttl_s=600)
        if cache.status != "ok":
            section.notes.append(f"Redis: not available: {redis_url} is unavailable")
            return
        assert cache.set("generate", version, req, payload)
        hits, misses = [], []
        for i in range(N_REPEATS):
            started = time.perf_counter()
            hit = cache.get("generate", version, req)
            hits.append(time.perf_counter() - started)
            started = time.perf_counter()
            cache.get("generate", version, {**req, "seed": 10_000 + i})
            misses.append(time.perf_counter() - started)
        assert hit == json.loads(json.dumps(payload))  # JSON turns tuples into lists
        how = f"`ResultCache.get` hit incl. unzip + JSON decode, {N_REPEATS} repeats, redis-server on loopback"
        section.rows.append(Row("cached repeat, Redis p50", percentile_ms(hits, 50), "ms", ("<=", 20), how))
        section.rows.append(Row("cached repeat, Redis p95", percentile_ms(hits, 95), "ms", None, "same run"))
        section.rows.append(Row("Redis miss p50", percentile_ms(misses, 50), "ms", None, "`ResultCache.get` of an absent key"))
        cache.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


def start_redis_server(binary: str) -> tuple[subprocess.Popen[bytes], str]:
    """Starts redis-server on a free loopback port without persistence; returns (process, url)."""
    import redis

    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tempfile.gettempdir()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise NotAvailable(f"redis-server did not start on port {port}") from None
            time.sleep(0.02)
        finally:
            client.close()
    return proc, f"redis://127.0.0.1:{port}/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


# ---------------------------------------------------------------------------------------------------
# output


def markdown(machine: list[tuple[str, str]], sections: list[Section]) -> str:
    lines = [
        "# OdorDiff benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python scripts/bench.py`). Every figure below was measured by that run on",
        "the machine described here; rerun one section with the command in its row. A section that could not run says why.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine],
        "",
        "## Figures",
        "",
        "| Figure | Value | Target | | Command | What was timed |",
        "|---|---|---|---|---|---|",
    ]
    for s in sections:
        if s.not_available:
            lines.append(f"| {s.name} | not available: {s.not_available} | | | {s.command} | |")
        for r in s.rows:
            lines.append(f"| {r.figure} | {r.display()} | {r.target_text()} | {r.verdict()} | {s.command} | {r.how} |")
    notes = [f"- {s.name}: {n}" for s in sections for n in s.notes]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def print_section(s: Section) -> None:
    print(f"\n== {s.name}  ({s.command.strip('`')})", flush=True)
    if s.not_available:
        print(f"   not available: {s.not_available}")
    for r in s.rows:
        target = f"  target {r.target_text()}: {r.verdict()}" if r.target else ""
        print(f"   {r.figure:<64} {r.display():>14}{target}")
    for n in s.notes:
        print(f"   note: {n}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable); prints only unless --out")
    parser.add_argument("--out", type=Path, help="Markdown file to write (default BENCHMARKS.md for a full run)")
    parser.add_argument("--redis-url", help="benchmark this Redis instead of starting a redis-server")
    parser.add_argument("--app", type=Path, default=REPO / "app.py", help="Streamlit entry point for the app section")
    args = parser.parse_args(argv)
    out = args.out or (None if args.only else REPO / "BENCHMARKS.md")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    machine = machine_info()
    print("OdorDiff benchmarks")
    for k, v in machine:
        print(f"   {k:<14} {v}")
    settings = Settings.from_env()
    shared: dict[str, Any] = {}
    runners: dict[str, Callable[[Section], None]] = {
        "predictor": lambda s: bench_predictor(settings, s, shared),
        "text": lambda s: bench_text(settings, s, shared),
        "generator": lambda s: bench_generator(settings, s, shared),
        "pipeline": lambda s: bench_pipeline(settings, s, shared),
        "cache": lambda s: bench_cache(settings, s, shared, args.redis_url),
        "app": lambda s: bench_app(settings, s, shared, args.app.resolve()),
    }
    sections = []
    for name in SECTIONS:
        if args.only and name not in args.only:
            continue
        section = Section(name)
        try:
            runners[name](section)
        except NotAvailable as e:
            section.not_available = str(e)
        sections.append(section)
        print_section(section)
    if out is not None:
        out.write_text(markdown(machine, sections))
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
