"""Users' saved work: projects, runs (history), shortlists, roles, teams and API keys, in SQLite or PostgreSQL.

    from odordiff_core.store import Store
    store = Store.open(settings)                 # SQLite work.db in settings.work_dir, or settings.database_url
    me = store.ensure_user("ana@example.com", "Ana")
    project = store.default_project(me)
    entry = store.keep(me, project.id, smiles, item.to_json())
    store.update_entry(me, entry.id, entry.version, note="smells of lemon peel")

The contract shared by the app and the REST API; the choices it leaves open are written in `store.py`'s docstring.
Never imports Streamlit or a web framework.
"""
from __future__ import annotations

from ..errors import EditConflict, NotFound, PermissionDenied, ProjectImportError, StoreUnavailable
from ..types import Role, ShortlistStatus
from .store import (
    MAX_NOTE_BYTES,
    MAX_SHORTLIST,
    ApiKeyInfo,
    Project,
    Run,
    ShortlistEntry,
    Store,
    Team,
    Usage,
    User,
    database_url,
)

__all__ = [
    "ApiKeyInfo", "EditConflict", "MAX_NOTE_BYTES", "MAX_SHORTLIST", "NotFound", "PermissionDenied", "Project",
    "ProjectImportError", "Role", "Run", "ShortlistEntry", "ShortlistStatus", "Store", "StoreUnavailable", "Team",
    "Usage", "User", "database_url",
]

