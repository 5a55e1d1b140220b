"""Saved work of the key's owner: projects, runs and shortlists (`odordiff_core.store`), the same the app shows.

A request acts as the key's owner with the key's role (`Store.user_for_key`): it sees the owner's projects and
those shared with them, and nothing else (another project's id is a 404, as a missing one is). Reading needs a
viewer key; creating, keeping and editing a perfumer key (the store refuses a viewer too). An edit carries the
version it was made on: a stale one is a 409 (someone saved first), nothing overwritten.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from odordiff_core.types import Role

from .auth import require
from .models import _Request, _Shape
from .problems import ERROR_RESPONSES

router = APIRouter(prefix="/v1", tags=["saved work"], responses=ERROR_RESPONSES)


class ProjectBody(_Request):
    name: str = Field(description="The new project's name.")


class KeepBody(_Request):
    smiles: str = Field(description="The molecule to keep; its report (odor, safety, properties) is stored with it.")
    note: str = Field("", description="A first note.")


class EntryEdit(_Request):
    expected_version: int = Field(description="The entry's `version` you edited: a newer one on the server is a 409.")
    note: str | None = None
    rating: int | None = Field(None, description="1..5; 0 clears it.")
    status: str | None = Field(None, description='"to smell", "ordered" or "rejected".')


class ProjectOut(_Shape):
    id: int
    name: str
    owner_email: str
    shared_with: list[str]
    shared_with_teams: list[str] = []
    created_at: str


class RunOut(_Shape):
    id: int
    project_id: int
    request: dict[str, Any]
    result: dict[str, Any] | None
    model_versions: dict[str, str]
    created_at: str
    prompt: str


class EntryOut(_Shape):
    id: int
    project_id: int
    smiles: str
    item: dict[str, Any]
    note: str
    rating: int | None
    status: str
    version: int
    updated_at: str


def record_json(record: Any) -> dict[str, Any]:
    """Returns a store record (frozen dataclass) as JSON-ready values: datetimes in ISO 8601, tuples as lists (the
    enums are StrEnums: JSON writes their values)."""
    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v

    return {k: plain(v) for k, v in dataclasses.asdict(record).items()}


def _acting(request: Request, info: Any) -> tuple[Any, Any]:
    """Returns (store, the User this key acts as)."""
    store = request.app.state.services.store_or_raise()
    return store, store.user_for_key(info)


@router.get("/projects", response_model=list[ProjectOut], summary="The key owner's projects and those shared with them")
def projects(request: Request, info: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    store, user = _acting(request, info)
    return JSONResponse([record_json(p) for p in store.projects(user)])


@router.post("/projects", response_model=ProjectOut, status_code=201, summary="Create a project (perfumer)")
def create_project(body: ProjectBody, request: Request, info: Any = Depends(require(Role.PERFUMER))) -> JSONResponse:
    store, user = _acting(request, info)
    return JSONResponse(record_json(store.create_project(user, body.name)), status_code=201)


@router.get("/projects/{project_id}/runs", response_model=list[RunOut], summary="A project's runs, newest first")
def runs(project_id: int, request: Request, info: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    store, user = _acting(request, info)
    return JSONResponse([record_json(r) for r in store.runs(user, project_id)])


@router.get("/projects/{project_id}/shortlist", response_model=list[EntryOut], summary="A project's shortlist")
def shortlist(project_id: int, request: Request, info: Any = Depends(require(Role.VIEWER))) -> JSONResponse:
    store, user = _acting(request, info)
    return JSONResponse([record_json(e) for e in store.shortlist(user, project_id)])


@router.post("/projects/{project_id}/shortlist", response_model=EntryOut, status_code=201,
             summary="Keep a molecule in a project's shortlist (perfumer; keeping it again returns the entry)")
def keep(project_id: int, body: KeepBody, request: Request, info: Any = Depends(require(Role.PERFUMER))) -> JSONResponse:
    from odordiff_core.chem import parse_smiles
    from odordiff_core.export import item_from_report

    store, user = _acting(request, info)
    store.project(user, project_id)  # NotFound before any work
    mol = parse_smiles(body.smiles)  # InvalidSmiles -> 422
    reporter = request.app.state.services.pipeline_or_raise().reporter
    item = item_from_report(reporter.report_mols([mol], [body.smiles])[0], note=body.note)
    entry = store.keep(user, project_id, item.smiles, item.to_json())
    return JSONResponse(record_json(entry), status_code=201)


@router.patch("/shortlist/{entry_id}", response_model=EntryOut, summary="Edit a note, rating or status (perfumer)",
              responses={409: {"description": "Someone saved a newer version first; reload and edit again"}})
def edit_entry(entry_id: int, body: EntryEdit, request: Request, info: Any = Depends(require(Role.PERFUMER))) -> JSONResponse:
    from odordiff_core.errors import InvalidInput
    from odordiff_core.types import ShortlistStatus

    if body.status is not None and body.status not in {str(s) for s in ShortlistStatus}:
        raise InvalidInput(f"status must be one of {', '.join(repr(str(s)) for s in ShortlistStatus)}, got {body.status!r}.")
    store, user = _acting(request, info)
    entry = store.update_entry(user, entry_id, body.expected_version, note=body.note, rating=body.rating,
                               status=ShortlistStatus(body.status) if body.status is not None else None)
    return JSONResponse(record_json(entry))


@router.delete("/shortlist/{entry_id}", status_code=204, summary="Remove a shortlist entry (perfumer)")
def remove_entry(entry_id: int, request: Request, info: Any = Depends(require(Role.PERFUMER))) -> Response:
    store, user = _acting(request, info)
    store.remove_entry(user, entry_id)
    return Response(status_code=204)
