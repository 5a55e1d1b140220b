"""Errors as RFC 9457 problem details (`application/problem+json`): type, title, status, detail, instance.

Every error the API sends has this shape, whoever raised it: the core (an OdorDiffError subclass, mapped to a
status by its class name below), FastAPI's request validation, Starlette (404, 405), the auth and rate-limit
dependencies, and an unexpected exception (500, without the traceback, which goes to the server log).
"""
from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from odordiff_core.errors import OdorDiffError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://odordiff.invalid/problems/"  # problem type URIs: identifiers, not pages to fetch

# OdorDiffError subclass name -> HTTP status. Matched along the exception's class hierarchy, so a subclass the store
# adds later (e.g. a more specific NotFound) keeps its parent's status. Names, not imports: the store's errors are
# optional for the routes that do not use it.
ERROR_STATUS = {
    "InvalidSmiles": 422, "InvalidInput": 422, "ProjectImportError": 422,
    "NotFound": 404, "PermissionDenied": 403, "EditConflict": 409,
    "StoreUnavailable": 503, "ModelNotFound": 503, "DataError": 503,
}


# The errors every /v1 route may answer, for the OpenAPI docs (each is problem+json).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {}}}
    for code, text in ((401, "No key, or an unknown or revoked key"), (403, "The key's role is too low"),
                       (413, "Body or batch too large"), (422, "Invalid request (problem+json `detail` says which field)"),
                       (429, "Rate limit reached (Retry-After)"), (503, "Models loading or database unavailable"))
}


class Problem(Exception):
    """An HTTP error raised by the API's own code (auth, limits, sizes): rendered as problem+json."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers or {}, extra
        self.kind = kind or HTTPStatus(status).phrase.lower().replace(" ", "-")


def problem_response(status: int, detail: str, *, instance: str | None = None, kind: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """Returns the problem+json response: {type, title, status, detail, instance, ...extra}."""
    phrase = HTTPStatus(status).phrase
    body = {"type": TYPE_BASE + (kind or phrase.lower().replace(" ", "-")), "title": phrase, "status": status,
            "detail": detail, **({"instance": instance} if instance else {}), **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def status_of(exc: OdorDiffError) -> int:
    """Returns the HTTP status of a core error: the first class in its hierarchy named in ERROR_STATUS, else 400."""
    for cls in type(exc).__mro__:
        if cls.__name__ in ERROR_STATUS:
            return ERROR_STATUS[cls.__name__]
    return 400


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """Returns (one readable sentence, the errors as {field, message}) from Pydantic's validation errors."""
    errors = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        errors.append({"field": ".".join(loc) or "body", "message": str(e.get("msg", "invalid"))})
    text = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"The request body is not valid: {text}{more}. See /docs for the expected fields.", errors


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every error into problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, instance=request.url.path, kind=exc.kind, headers=exc.headers,
                                **exc.extra)

    @app.exception_handler(OdorDiffError)
    async def _core(request: Request, exc: OdorDiffError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        kind = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()  # InvalidSmiles -> invalid-smiles
        return problem_response(status, str(exc), instance=request.url.path, kind=kind)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem_response(422, detail, instance=request.url.path, kind="invalid-request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        if exc.status_code == 404:
            detail = f"No route {request.method} {request.url.path}; the routes are listed at /docs."
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "An unexpected error occurred on the server; it was logged. Retry, and report "
                                     "it if it persists.", instance=request.url.path)
