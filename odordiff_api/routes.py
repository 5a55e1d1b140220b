"""The routes: thin handlers over the core's public API, answering the core types' own `to_json()`.

Handlers are plain `def`: the core is CPU-bound and synchronous, so FastAPI runs them in its thread pool.
Generation goes through the shared Redis result cache when one is configured (the same keys as the app's),
one generation at a time per process.
"""
from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from odordiff_core.cache import cached_call
from odordiff_core.errors import InvalidInput
from odordiff_core.types import Role

from . import metrics
from .auth import require
from .models import (
    MAX_SMILES,
    GenerateBody,
    GenerationOut,
    Health,
    InterpretationOut,
    InterpretBody,
    KeyBody,
    KeyOut,
    NewKeyOut,
    PredictOut,
    Readiness,
    ReportBody,
    ReportOut,
    ScreenOut,
    SmilesBatch,
)
from .problems import ERROR_RESPONSES, Problem
from .work import record_json

health_router = APIRouter(tags=["health"])
v1_router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


def services_of(request: Request) -> Any:
    return request.app.state.services


def _check_text(value: Any, where: str) -> None:
    """Raises InvalidInput when a string in `value` holds a lone UTF-16 surrogate (JSON "\\ud800"): not UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{where} holds an invalid character (a lone UTF-16 surrogate such as \\ud800); remove it "
                           f"or write the character itself.") from None


def _batch(texts: list[str]) -> list[str]:
    if not texts:
        raise InvalidInput('Give at least one SMILES, e.g. {"smiles": ["CC(C)=CCCC(C)(O)C=C"]}.')
    if len(texts) > MAX_SMILES:
        raise Problem(413, f"{len(texts):,} SMILES in one call; send at most {MAX_SMILES:,} per call (split the "
                           f"batch into several calls).", kind="batch-too-large")
    _check_text(texts, "smiles")
    return texts


# ---- health, readiness, metrics -----------------------------------------------------------------------------------

@health_router.get("/healthz", response_model=Health, summary="The process is up (no key needed)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", response_model=Readiness, summary="Models loaded and database answering (no key)",
                   responses={503: {"model": Readiness, "description": "Not ready"}})
def readyz(request: Request) -> JSONResponse:
    s = services_of(request)
    database = s.database_status()
    ready = s.models_state == "loaded" and database == "ok"
    body = {"status": "ready" if ready else "not ready", "models": s.models_state, "database": database,
            "redis": s.limiter.redis_status(), "detail": s.models_problem}
    metrics.READY.set(1 if ready else 0)
    return JSONResponse(body, status_code=200 if ready else 503)


@health_router.get("/metrics", summary="Prometheus metrics (no key)", response_class=Response)
def prometheus_metrics() -> Response:
    data, content_type = metrics.exposition()
    return Response(data, media_type=content_type)


# ---- the core -----------------------------------------------------------------------------------------------------

@v1_router.post("/interpret", response_model=InterpretationOut, tags=["molecules"],
                summary="Read a brief into weighted odor descriptors (viewer)")
def interpret(body: InterpretBody, request: Request, _: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    _check_text(body.prompt, "prompt")
    return JSONResponse(services_of(request).pipeline_or_raise().interpret(body.prompt).to_json())


@v1_router.post("/generate", response_model=GenerationOut, tags=["molecules"],
                summary="Design ranked, novel candidate molecules from a brief (perfumer)")
def generate(body: GenerateBody, request: Request, _: Any = Depends(require(Role.PERFUMER))) -> JSONResponse:
    from odordiff_core.pipeline import GenerateRequest, GenerationResult

    fields = body.model_dump()
    _check_text(fields, "the request")
    req = GenerateRequest(**fields)  # validates every value (InvalidInput -> 422)
    s = services_of(request)
    pipeline = s.pipeline_or_raise()

    def compute() -> dict[str, Any]:
        with s.generation_lock:
            started = time.perf_counter()
            result = pipeline.generate(req)
            metrics.record_generation(time.perf_counter() - started, result.n_sampled, len(result.candidates))
        return result.to_json()

    if s.cache.status in ("off", "misconfigured"):
        return JSONResponse(compute())
    version, asked = pipeline.model_version, req.to_json()

    def checked(value: dict[str, Any]) -> dict[str, Any]:  # a cached value for another request is recomputed
        if GenerationResult.from_json(value).request.to_json() != asked or value.get("model_version") != version:
            raise ValueError("the cached result is for another request or model version")
        return value

    return JSONResponse(cached_call(s.cache, "generate", version, asked, compute, decode=checked))


@v1_router.post("/predict", response_model=PredictOut, tags=["molecules"],
                summary=f"Odor profile, safety and properties of up to {MAX_SMILES:,} SMILES (viewer)")
def predict(body: SmilesBatch, request: Request, _: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    from odordiff_core.cli.predictor import report_batches

    texts = _batch(body.smiles)
    reporter = services_of(request).pipeline_or_raise().reporter
    return JSONResponse({"results": [r.to_json() for batch in report_batches(reporter, texts) for r in batch]})


@v1_router.post("/screen", response_model=ScreenOut, tags=["molecules"],
                summary=f"Safety screen of up to {MAX_SMILES:,} SMILES (viewer)")
def screen(body: SmilesBatch, request: Request, _: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    from odordiff_core.safety import screen_smiles

    texts = _batch(body.smiles)
    return JSONResponse({"results": screen_smiles(texts, services_of(request).pipeline_or_raise().reporter.screen)})


@v1_router.post("/report", response_model=ReportOut, tags=["molecules"],
                summary="Everything the Analyze page shows about one molecule (viewer)")
def report(body: ReportBody, request: Request, _: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    from odordiff_core.chem import parse_smiles
    from odordiff_core.depict import mol_svg

    _check_text(body.smiles, "smiles")
    mol = parse_smiles(body.smiles)  # InvalidSmiles -> 422
    rep = services_of(request).pipeline_or_raise().reporter.report_mols([mol], [body.smiles])[0]
    return JSONResponse({**rep.to_json(), "depiction_svg": mol_svg(mol) if body.svg else None})


# ---- keys (admin) -------------------------------------------------------------------------------------------------

@v1_router.get("/keys", response_model=list[KeyOut], tags=["keys"], summary="List the API keys (admin)")
def list_keys(request: Request, _: Any = Depends(require(Role.ADMIN))) -> JSONResponse:
    return JSONResponse([record_json(k) for k in services_of(request).store_or_raise().api_keys()])


@v1_router.post("/keys", response_model=NewKeyOut, status_code=201, tags=["keys"],
                summary="Create an API key; the key is in this answer only (admin)")
def create_key(body: KeyBody, request: Request, admin: Any = Depends(require(Role.ADMIN))) -> JSONResponse:
    if body.role not in {str(r) for r in Role}:
        raise InvalidInput(f"role must be one of {', '.join(str(r) for r in Role)}, got {body.role!r}.")
    _check_text(body.model_dump(), "the request")
    store = services_of(request).store_or_raise()
    owner = store.user_for_operator(body.owner_email or admin.owner_email)
    key, info = store.create_api_key(owner, body.name, Role(body.role))
    return JSONResponse({"key": key, "info": record_json(info)}, status_code=201)


@v1_router.delete("/keys/{name_or_prefix}", response_model=KeyOut, tags=["keys"],
                  summary="Revoke an API key by name or prefix (admin)")
def revoke_key(name_or_prefix: str, request: Request, _: Any = Depends(require(Role.ADMIN))) -> JSONResponse:
    return JSONResponse(record_json(services_of(request).store_or_raise().revoke_api_key(name_or_prefix)))
