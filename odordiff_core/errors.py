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
