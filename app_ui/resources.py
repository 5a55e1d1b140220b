"""The app's only globals: settings and models, loaded once per process and shared by every session.

`st.cache_resource` objects are shared across sessions and threads, so everything here is read-only
after loading (the core's loaders return models in eval mode that are never mutated). A loader that
raises (missing weights, missing data) is not cached: the page shows the error, and the next run retries.

`warm_up()` fills these caches at server start (`python -m app_ui.serve`, what `make run` starts), so the
first visitor's Generate does not wait for the models to load; under a plain `streamlit run app.py` they
load on first use, as before.
"""
from __future__ import annotations

import json
import logging
import threading
import time

import streamlit as st

from app_ui import metrics, state
from odordiff_core.cache import ResultCache
from odordiff_core.config import GENERATION, Settings

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    """Returns the settings read once from the environment (ODORDIFF_* variables, see config.py)."""
    return Settings.from_env()


@st.cache_resource(show_spinner="Loading the odor predictor, safety screen and property models…")
def get_reporter():
    """Returns the `report.Reporter` (predictor, safety screen, property models, known-odorant index).

    Raises OdorDiffError (ModelNotFound, DataError) when weights or data are missing.
    """
    from odordiff_core.report import load_reporter

    return load_reporter(get_settings())


@st.cache_resource(show_spinner="Loading the generator and the text interpreter…")
def get_pipeline():
    """Returns the generation `pipeline.Pipeline`. Raises OdorDiffError when a model is missing.

    Built around the already-loaded reporter, so the predictor, the safety tables and the known-odorant
    index are held once per process, not twice. The generator comes from settings.generator_dir
    ($ODORDIFF_GENERATOR_DIR; tests point it at tests/data/tiny_generator), else <weights_dir>/generator.
    """
    from odordiff_core.pipeline import load_pipeline

    return load_pipeline(get_settings(), reporter=get_reporter())


@st.cache_resource(show_spinner=False)
def get_result_cache() -> ResultCache:
    """Returns the shared Redis result cache; with no ODORDIFF_REDIS_URL it is off (in-process cache only).

    A malformed URL does not raise: the cache is off, `status` is "misconfigured" and `problem` says why.
    Without ODORDIFF_CACHE_SECRET values are signed with a per-process key (`shared` is False).
    """
    s = get_settings()
    return ResultCache(s.redis_url, s.cache_ttl_s, secret=s.cache_secret)


@st.cache_resource(show_spinner=False)
def get_store():
    """Returns the saved-work `store.Store` (SQLite work.db in settings.work_dir, or ODORDIFF_DATABASE_URL), migrated
    to the latest schema. Thread-safe: every call opens its own transaction. Raises StoreUnavailable when the
    database cannot be opened; that is not cached, so the next run tries again."""
    from odordiff_core.store import Store

    return Store.open(get_settings())


@st.cache_resource(show_spinner=False)
def generation_lock() -> threading.Lock:
    """Returns the process's generation lock: one generation runs at a time, the others wait their turn.

    One generation already keeps every core busy (torch's intra-op threads); two at once oversubscribe the
    cores, and OpenMP threads waiting on each other make both much slower than running them one after the other.
    """
    return threading.Lock()


def warm_up() -> None:
    """Loads the generation pipeline into this process's cache and runs one generation at the app's default n.

    Meant for a background thread started with the server (`app_ui.serve`): afterwards the first request
    finds the models loaded and the kernels for its batch shape prepared. Never raises: a failure is logged
    and left for the first page that needs the models to show (a failed loader is not cached).
    """
    from odordiff_core.pipeline import GenerateRequest

    try:
        pipeline = get_pipeline()
        get_result_cache()
        with generation_lock():
            pipeline.generate(GenerateRequest("warm-up: fresh citrus", n=GENERATION.n, seed=GENERATION.seed))
    except Exception:  # anything: the server must start whatever happens here; the page shows the error
        log.exception("warm-up failed; the models will load on first use")


def request_key(request) -> str:
    """Returns the canonical JSON of a GenerateRequest: the session-cache key (same request, same result)."""
    return json.dumps(request.to_json(), sort_keys=True, separators=(",", ":"))


def generate(request):
    """Returns the GenerationResult of `request` through the cache layers, fastest first.

    1. this session (`st.session_state`): a repeated prompt with the same settings answers instantly;
    2. Redis shared by every app process (off without ODORDIFF_REDIS_URL);
    3. the pipeline itself. Errors propagate (OdorDiffError for the page to show) and are never cached.
    """
    from odordiff_core.cache import cached_call
    from odordiff_core.pipeline import GenerationResult

    session = st.session_state[state.GEN_CACHE]
    key = request_key(request)
    if key in session:
        return session[key]
    pipeline = get_pipeline()
    cache = get_result_cache()
    if cache.status in ("off", "misconfigured"):
        result = _generate_locked(pipeline, request)
    else:  # JSON round trip, so a result from Redis and a fresh one are the same objects
        version, asked = pipeline.model_version, request.to_json()

        def decode(value: dict) -> GenerationResult:  # a cached result it rejects is recomputed and overwritten
            res = GenerationResult.from_json(value)
            if res.request.to_json() != asked or res.model_version != version:
                raise ValueError("the cached result is for another request or model version")
            return res

        result = cached_call(cache, "generate", version, asked, lambda: _generate_locked(pipeline, request).to_json(),
                             decode=decode)
    session[key] = result
    return result


def _generate_locked(pipeline, request):
    """Returns pipeline.generate(request), run while holding the process's generation lock."""
    with generation_lock():
        start = time.perf_counter()
        result = pipeline.generate(request)
    metrics.record_generation(time.perf_counter() - start, result)
    return result
