"""Bench section over the three cache layers: session dict, st.cache_data, Redis."""
from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any

import numpy as np

from odordiff_core.config import Settings

from .common import GEN_N, N_REPEATS, PROMPTS, NotAvailable, Row, Section, percentile_ms


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
    from odordiff_core.cache import ResultCache, encode_value, redact_url, request_key

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
        cache = ResultCache(redis_url, ttl_s=600, secret="bench")  # a fixed secret: the hit includes tag verification
        if cache.status != "ok":
            section.notes.append(f"Redis: not available: {redact_url(redis_url)} is unavailable")
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


