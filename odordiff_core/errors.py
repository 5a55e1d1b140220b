"""Errors raised by odordiff_core. Each message says what happened and what to do next."""
from __future__ import annotations


class OdorDiffError(Exception):
    """Base class of every expected, user-fixable error. The UI and CLI catch only this."""


class InvalidSmiles(OdorDiffError, ValueError):
    """A SMILES string that RDKit cannot parse or sanitize."""


class InvalidInput(OdorDiffError, ValueError):
    """An argument outside its allowed range (empty prompt, n=0, ...)."""


class DataError(OdorDiffError):
    """A data file is missing, corrupted, or cannot be downloaded."""


class ModelNotFound(OdorDiffError):
    """Trained weights are missing or do not match the code that loads them."""


class StoreUnavailable(OdorDiffError):
    """The saved-work database is down, unreachable or read-only: the change was NOT saved."""


class NotFound(OdorDiffError, LookupError):
    """No such project, run or shortlist entry for this user. Also raised when it exists but is not shared with the
    user, so that nobody learns which ids exist."""


class PermissionDenied(OdorDiffError):
    """The user's role (or not owning the project) does not allow this change."""


class EditConflict(OdorDiffError):
    """Someone saved the same shortlist entry first (optimistic locking): nothing was overwritten; reload and redo."""


class ProjectImportError(OdorDiffError, ValueError):
    """A project file that cannot be imported (not a zip, too large, bad JSON, wrong version, missing fields);
    nothing of it was saved."""
