"""The FastAPI app factory: `create_app(settings)` -> routes under /v1, /healthz, /readyz, /metrics, offline /docs.

The models load once per process, in a thread started by the lifespan (5-30 s): meanwhile /healthz answers 200,
/readyz 503, and the routes that need the models 503 with Retry-After. The saved-work store (API keys, users,
projects) opens in the lifespan: SQLite in Settings.work_dir by default, PostgreSQL with ODORDIFF_DATABASE_URL. A store that cannot be opened at start is retried on the next
request that needs it (503 problem+json until then). `uvicorn --factory odordiff_api.app:create_app_from_env`
is what `odordiff serve` runs in each worker.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odordiff_core.cache import ResultCache
from odordiff_core.config import Settings
from odordiff_core.errors import OdorDiffError

from . import metrics, problems
from .models import MAX_BODY_BYTES
from .problems import Problem
from .ratelimit import KeyRateLimiter

log = logging.getLogger(__name__)

API_VERSION = "1"


class Services:
    """What the routes share in one process: settings, models, store, rate limiter, result cache, generation lock.

    pipeline/store may be given (tests share one loaded pipeline between apps); otherwise the lifespan loads them.
    """

    def __init__(self, settings: Settings, *, pipeline: Any = None, store: Any = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.models_state = "loaded" if pipeline is not None else "loading"
        self.models_problem: str | None = None
        self.limiter = KeyRateLimiter(settings.api_rate_limit, settings.redis_url)
        self.cache = ResultCache(settings.redis_url, settings.cache_ttl_s, secret=settings.cache_secret)
        self.generation_lock = threading.Lock()  # one generation at a time: one already keeps every core busy
        self._store_lock = threading.Lock()
        self._owns_store = store is None

    def load_models(self) -> None:
        """Loads the generation pipeline (and with it the reporter), then exports the model versions; a failure is
        kept for /readyz and the routes (503 with the reason)."""
        if self.pipeline is None:
            from odordiff_core.pipeline import load_pipeline

            started = time.perf_counter()
            try:
                self.pipeline = load_pipeline(self.settings)
            except OdorDiffError as exc:  # missing or mismatched weights or data: the message says what to do
                self.models_state, self.models_problem = "failed", str(exc)
                log.error("models not loaded: %s", exc)
                return
            except Exception as exc:  # anything else in this thread would leave /readyz at "loading" forever
                self.models_state = "failed"
                self.models_problem = f"The models failed to load ({type(exc).__name__}); see the server log."
                log.exception("models not loaded")
                return
            log.info("models loaded in %.1f s", time.perf_counter() - started)
        self.models_state = "loaded"
        metrics.record_model_versions(self.pipeline.model_version)
        metrics.READY.set(1)

    def pipeline_or_raise(self) -> Any:
        """Returns the loaded pipeline; raises Problem 503 while loading or after a failed load."""
        if self.pipeline is None:
            raise Problem(503, self.models_problem or "The models are still loading; retry in a few seconds "
                                                      "(GET /readyz says when they are in).",
                          kind="models-not-loaded", headers={"Retry-After": "5"})
        return self.pipeline

    def store_or_raise(self) -> Any:
        """Returns the open store, opening it now if the start could not; StoreUnavailable (503) when it cannot."""
        if self.store is None:
            with self._store_lock:
                if self.store is None:
                    from odordiff_core.store import Store

                    self.store = Store.open(self.settings)
        return self.store

    def database_status(self) -> str:
        try:
            return "ok" if self.store_or_raise().ping() else "unavailable"
        except OdorDiffError:
            return "unavailable"

    def close(self) -> None:
        self.cache.close()
        if self.store is not None and self._owns_store:
            self.store.close()


class BodyLimit:
    """Answers 413 problem+json to a request body over `max_bytes`, by Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problems.problem_response(
            413, f"The request body is larger than {self.max_bytes:,} bytes. Send at most "
                 f"{self.max_bytes:,} bytes per call, e.g. split a batch of SMILES into several calls.",
            instance=scope.get("path"), kind="body-too-large")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class Metrics:
    """Counts and times every HTTP request by route template, method and status (outermost middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or ("unmatched" if status == 404 else "other")
            labels = (route, scope["method"], str(status))
            metrics.REQUESTS.labels(*labels).inc()
            metrics.LATENCY.labels(*labels).observe(time.perf_counter() - started)
            metrics.sync_cache_counts()


def create_app(settings: Settings, *, pipeline: Any = None, store: Any = None) -> FastAPI:
    """Returns the API app. pipeline/store: already-loaded ones to use (tests); None = loaded in the lifespan."""
    from .routes import health_router, v1_router
    from .work import router as work_router

    services = Services(settings, pipeline=pipeline, store=store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The models load in a thread: the server answers at once, /healthz 200 and /readyz 503 until they are in
        # (routes that need them answer 503 with Retry-After), so a proxy or orchestrator sees "up, not ready".
        threading.Thread(target=services.load_models, name="odordiff-load-models", daemon=True).start()
        try:
            services.store_or_raise()
        except OdorDiffError as exc:  # StoreUnavailable: keys cannot be checked until it answers; /readyz says so
            log.error("store not open: %s", exc)
        yield
        metrics.READY.set(0)
        services.close()

    app = FastAPIOffline(
        title="OdorDiff API",
        version=API_VERSION,
        description="Design new odorant molecules from a perfumer's brief; predict, screen and report molecules. "
                    "Routes under /v1 need `Authorization: Bearer <key>`; errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    app.include_router(health_router)
    app.include_router(v1_router)
    app.include_router(work_router)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(Metrics)  # added last = outermost: it also counts 413s and errors
    return app


def create_app_from_env() -> FastAPI:
    """Returns create_app(Settings.from_env()): the factory `odordiff serve` gives uvicorn."""
    return create_app(Settings.from_env())
