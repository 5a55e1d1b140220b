"""API keys and roles: `Authorization: Bearer <key>` -> the key's record in the store -> its rate limit -> its role.

A missing, unknown or revoked key is a 401; a key whose role is below the route's a 403; a key over its rate
limit a 429 with Retry-After. Only a hash of each key is stored (`Store.verify_api_key`). Roles, lowest first:
viewer (interpret, predict, screen, report), perfumer (+ generate), admin (+ keys).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from odordiff_core.types import Role

from . import metrics
from .problems import Problem

bearer = HTTPBearer(auto_error=False, scheme_name="api key",
                    description="An OdorDiff API key: `odordiff api-key create --name NAME --role perfumer` prints one.")


def route_label(request: Request) -> str:
    """Returns the route template of the request (e.g. /v1/generate), the metrics label."""
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


def api_key(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Any:
    """Returns the caller's ApiKeyInfo after counting the request against its rate limit.

    Raises Problem 401 (no Bearer key, unknown or revoked key), 429 (over the limit, with Retry-After).
    """
    if creds is None or not creds.credentials:
        raise Problem(401, "This route needs an API key: send `Authorization: Bearer <key>`. An admin creates one "
                           "with `odordiff api-key create --name NAME --role viewer|perfumer|admin`.",
                      kind="missing-api-key", headers={"WWW-Authenticate": "Bearer"})
    services = request.app.state.services
    info = services.store_or_raise().verify_api_key(creds.credentials)
    if info is None:
        raise Problem(401, "This API key is unknown or revoked. Ask an admin for a valid key (`odordiff api-key "
                           "list` shows the keys by name and prefix).", kind="invalid-api-key",
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    decision = services.limiter.hit(f"key:{info.id}")
    if not decision.allowed:
        metrics.RATE_LIMITED.labels(route_label(request)).inc()
        raise Problem(429, f"Rate limit of key {info.name!r} reached ({services.limiter.item}); retry in "
                           f"{decision.retry_after_s} s, or ask an admin for a higher ODORDIFF_API_RATE_LIMIT.",
                      kind="rate-limited", headers={"Retry-After": str(decision.retry_after_s)})
    return info


def require(role: Role) -> Callable[..., Any]:
    """Returns a dependency that lets through keys of `role` or higher (`Role.rank`), else raises Problem 403."""

    def check(request: Request, info: Any = Depends(api_key)) -> Any:
        if info.role.rank < role.rank:
            raise Problem(403, f"Key {info.name!r} has role {info.role}; {request.method} {route_label(request)} "
                               f"needs {role} or higher. Ask an admin for a key with that role.", kind="role-too-low")
        return info

    return check
