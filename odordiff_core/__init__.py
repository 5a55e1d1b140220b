"""OdorDiff's core: design new odorant molecules from a perfumer's words.

The public API a library user needs (everything else is internal and may move)::

    from odordiff_core import Settings, load_pipeline, GenerateRequest
    pipeline = load_pipeline(Settings.from_env())
    result = pipeline.generate(GenerateRequest(prompt="a clean citrus top note", n=8, seed=0))
    for c in result.candidates:
        print(c.rank, c.smiles, c.odor_match, c.safety.verdict)

Names resolve on first use (PEP 562), so `import odordiff_core` and `odordiff --help` stay fast and
loading torch or RDKit waits until a model or molecule is needed. Training and evaluation live in
`odordiff_core.train` and `odordiff_core.eval` and are never imported by these names.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {  # public name -> the module that owns it
    "Settings": "config", "GenerationDefaults": "config", "GENERATION": "config",
    "OdorDiffError": "errors", "InvalidInput": "errors", "InvalidSmiles": "errors", "DataError": "errors",
    "ModelNotFound": "errors",
    "OdorProfile": "types", "Verdict": "types", "FlagLevel": "types", "Note": "types",
    "parse_smiles": "chem", "canonical_smiles": "chem",
    "load_pipeline": "pipeline", "Pipeline": "pipeline", "GenerateRequest": "pipeline", "Candidate": "pipeline",
    "GenerationResult": "pipeline",
    "load_reporter": "report", "Reporter": "report", "MoleculeReport": "report",
    "SafetyReport": "safety", "Flag": "safety",
    "Properties": "properties", "Confidence": "scores",
    "NearestKnown": "known", "KnownMaterial": "known",
    "Interpretation": "text",
    "ShortlistItem": "export", "to_csv": "export", "to_sdf": "export",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'odordiff_core' has no attribute {name!r}; the public names are {__all__}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from .chem import canonical_smiles, parse_smiles
    from .config import GENERATION, GenerationDefaults, Settings
    from .errors import DataError, InvalidInput, InvalidSmiles, ModelNotFound, OdorDiffError
    from .export import ShortlistItem, to_csv, to_sdf
    from .known import KnownMaterial, NearestKnown
    from .pipeline import Candidate, GenerateRequest, GenerationResult, Pipeline, load_pipeline
    from .properties import Properties
    from .report import MoleculeReport, Reporter, load_reporter
    from .safety import Flag, SafetyReport
    from .scores import Confidence
    from .text import Interpretation
    from .types import FlagLevel, Note, OdorProfile, Verdict
