"""Prometheus metrics of the API and the app, with prometheus-client. No FastAPI here: the Streamlit app imports
this module too (`app_ui.metrics`) and serves the same registry on its own port.

One process (`odordiff serve`, the app): the default registry, which also holds prometheus-client's process
and Python collectors. Several uvicorn workers (`odordiff serve --workers N`): `odordiff serve` sets
PROMETHEUS_MULTIPROC_DIR before the workers start (prometheus-client's documented multi-process mode), and
`exposition()` merges every worker's files, so a scrape sees the whole server, not one worker.

The core counts cache lookups without importing this library (`odordiff_core.cache.STATS`); `sync_cache_counts`
copies the new counts into a Counter after each request and before each scrape.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.metrics_core import Metric

from odordiff_core.cache import STATS

# Latency buckets in seconds: API calls from ~1 ms (auth + a cached answer) to a 64-candidate generation (~10 s).
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
GENERATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0)

REQUESTS = Counter("odordiff_http_requests", "HTTP requests answered, by route template, method and status",
                   ("route", "method", "status"))
LATENCY = Histogram("odordiff_http_request_duration_seconds", "Time to answer an HTTP request, by route and status",
                    ("route", "method", "status"), buckets=REQUEST_BUCKETS)
GENERATION_LATENCY = Histogram("odordiff_generation_duration_seconds",
                               "Time of one generation (plan, sample, screen, rank; cache hits excluded)",
                               buckets=GENERATION_BUCKETS)
MOLECULES_SAMPLED = Counter("odordiff_molecules_sampled", "Molecules drawn by the diffusion model (k * n per request)")
CANDIDATES_RETURNED = Counter("odordiff_candidates_returned", "Ranked candidates returned by generations")
CACHE_LOOKUPS = Counter("odordiff_cache_lookups", "Result-cache lookups by layer and outcome (hit, miss, error)",
                        ("layer", "outcome"))
RATE_LIMITED = Counter("odordiff_rate_limited", "Requests refused with 429 by the per-key rate limit", ("route",))
MODEL_INFO = Gauge("odordiff_model_info", "Model and table versions in use (value 1; the versions are the labels)",
                   ("generator", "predictor", "interpreter", "safety", "soundness"), multiprocess_mode="livemax")
REDIS_UP = Gauge("odordiff_redis_up", "1 when the last rate-limit call reached Redis, 0 when it failed "
                 "(limits then counted in this process only)", multiprocess_mode="livemin")
READY = Gauge("odordiff_ready", "1 when this process has its models loaded and answers /readyz with 200",
              multiprocess_mode="livemin")

_synced: dict[tuple[str, str], int] = {}
_sync_lock = threading.Lock()


def sync_cache_counts() -> None:
    """Adds the core's cache lookups counted since the last call (`odordiff_core.cache.STATS`) to CACHE_LOOKUPS."""
    now = STATS.snapshot()
    with _sync_lock:
        for (layer, outcome), count in now.items():
            delta = count - _synced.get((layer, outcome), 0)
            if delta > 0:
                CACHE_LOOKUPS.labels(layer, outcome).inc(delta)
                _synced[layer, outcome] = count


def record_model_versions(model_version: str) -> None:
    """Sets MODEL_INFO from a pipeline's "|"-joined model_version (generator|predictor|interpreter|safety|soundness)."""
    parts = (model_version.split("|") + [""] * 5)[:5]
    if not multiprocess_dir():  # prometheus-client cannot clear labels in multi-process mode (each worker sets once)
        MODEL_INFO.clear()
    MODEL_INFO.labels(*parts).set(1)


def record_generation(seconds: float, n_sampled: int, n_candidates: int) -> None:
    """Records one computed generation (not a cache hit): its latency, the molecules sampled, the candidates kept."""
    GENERATION_LATENCY.observe(seconds)
    MOLECULES_SAMPLED.inc(n_sampled)
    CANDIDATES_RETURNED.inc(n_candidates)


def multiprocess_dir() -> str | None:
    """Returns prometheus-client's multi-process folder when `odordiff serve --workers N` set one, else None.

    PROMETHEUS_MULTIPROC_DIR is prometheus-client's own switch (read by the library at import), not an OdorDiff
    setting, so it is read here rather than in Settings.
    """
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> tuple[bytes, str]:
    """Returns (the text exposition of every metric, its content type), merged across workers in multi-process mode."""
    sync_cache_counts()
    if multiprocess_dir():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class SyncedRegistry(CollectorRegistry):
    """The default registry, read through `collect()` after syncing the core's cache counts: what the Streamlit app
    serves with `prometheus_client.start_http_server` (it has no request middleware to sync them)."""

    def collect(self) -> Iterator[Metric]:
        sync_cache_counts()
        yield from REGISTRY.collect()
