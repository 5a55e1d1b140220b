"""Request and response shapes of the API. Their JSON is the CLI's `--format json` JSON: responses are the core
types' own `to_json()`, and these models describe them for the OpenAPI docs (a test checks real responses against
them, extra keys forbidden, so the docs cannot drift from what is sent).

Requests check types only (strict: "5" is not a number, true is not 1); values and ranges are checked by the core
types themselves (`GenerateRequest.__post_init__`, `parse_smiles`), whose messages come back as problem+json 422.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from odordiff_core.config import GENERATION

MAX_SMILES = 1_000  # SMILES per predict / screen call; more is a 413 saying to split the batch
MAX_BODY_BYTES = 1 << 20  # 1 MiB per request body: 1,000 SMILES of 1,000 characters fit; more is a 413


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InterpretBody(_Request):
    prompt: str = Field(description='The brief, e.g. "fresh but not sweet, a hint of vanilla".')


class GenerateBody(_Request):
    """The fields of `odordiff_core.GenerateRequest` (the app's and the CLI's generation settings)."""

    prompt: str | None = Field(None, description='The brief, e.g. "a clean citrus top note"; may be omitted when '
                                                 "weights are given.")
    n: int = Field(GENERATION.n, description=f"Candidates to return, 1..{GENERATION.max_n}.")
    seed: int = Field(GENERATION.seed, description="Same brief + settings + seed + model => same candidates.")
    guidance: float = Field(GENERATION.guidance, description=f"Classifier-free guidance, {GENERATION.guidance_min:g}.."
                                                             f"{GENERATION.guidance_max:g}.")
    weights: dict[str, float] | None = Field(None, description="{odor label: weight >= 0}; replaces the brief's reading.")
    note: str | None = Field(None, description="Keep only candidates of this note: top, heart or base.")
    mw_range: list[float] | None = Field(None, description="[low, high] molecular weight in g/mol.")
    hide_caution: bool = Field(False, description='Also drop candidates the safety screen marks "caution".')
    keep_scaffold_of: str | None = Field(None, description='SMILES: "more like this", keep its ring scaffold.')
    edit_of: str | None = Field(None, description="SMILES: re-mask edit_strength of its tokens toward the brief.")
    edit_strength: float = Field(GENERATION.edit_strength, description="Share of the edited molecule re-masked, (0, 1].")
    exploration: float = Field(GENERATION.exploration, description="How far from known materials, 0..1; 1 = de novo.")


class SmilesBatch(_Request):
    smiles: list[str] = Field(description=f"SMILES strings, at most {MAX_SMILES:,} per call.")


class ReportBody(_Request):
    smiles: str = Field(description="One SMILES, e.g. CC(C)=CCCC(C)(O)C=C (linalool).")
    svg: bool = Field(False, description="Also return a 2D depiction as SVG (depiction_svg).")


class KeyBody(_Request):
    name: str = Field(description="A name for the key, e.g. lims; used to list and revoke it.")
    role: str = Field(description="viewer, perfumer or admin.")
    owner_email: str | None = Field(None, description="Whose key it is (default: the admin's own address).")


# ---- responses: the core types' to_json() ------------------------------------------------------------------------

class OdorProfileOut(_Shape):
    labels: list[str]
    probs: list[float]
    std: list[float]
    model_version: str


class FlagOut(_Shape):
    rule: str
    level: str
    reason: str
    source: str


class SafetyOut(_Shape):
    verdict: str
    flags: list[FlagOut]
    version: str


class PropertiesOut(_Shape):
    mw: float
    clogp: float
    tpsa: float
    hbd: int
    hba: int
    rotatable_bonds: int
    heavy_atoms: int
    sa_score: float | None
    sa_class: str | None
    boiling_point_c: float | None
    boiling_point_c_err: float | None
    note: str | None
    substantivity_h: float | None
    substantivity_h_std: float | None
    substantivity_h_range: list[float] | None


class NearestOut(_Shape):
    smiles: str
    name: str | None
    similarity: float
    descriptors: list[str]


class KnownOut(_Shape):
    smiles: str
    names: list[str]
    cas: list[str]
    in_ifra_glossary: bool
    descriptors: list[str]
    sources: list[str]


class InterpretationOut(_Shape):
    prompt: str
    weights: dict[str, float]
    excluded: list[str]
    note: str | None
    unmapped: list[str]
    approximations: dict[str, list[Any]]
    truncated_chars: int
    used_chars: int
    message: str | None
    model_version: str
    readings: list[dict[str, Any]] = Field([], description="Names and words read through their evidence.")
    suggestions: dict[str, list[str]] = Field({}, description="Unmapped word -> known names spelled like it.")


class CandidateOut(_Shape):
    rank: int
    smiles: str
    odor_match: float
    top_descriptors: list[str]
    odor: OdorProfileOut
    novel: bool
    nearest: NearestOut | None
    safety: SafetyOut
    properties: PropertiesOut | None
    seed: int
    model_version: str
    fit_percentile: float | None
    confidence: str | None


class GenerationOut(_Shape):
    """`odordiff generate --format json`'s object for one prompt (without prompt_id)."""

    request: dict[str, Any]
    interpretation: InterpretationOut | None
    candidates: list[CandidateOut]
    n_sampled: int
    n_valid: int
    n_unique: int
    n_novel: int
    n_blocked: int
    message: str | None
    model_version: str
    n_filtered: int
    n_unsound: int


class ReportOut(_Shape):
    """`odordiff predict --format json`'s object for one molecule (error set, the rest null, when it did not parse)."""

    input: str
    smiles: str | None
    descriptors: dict[str, float] | None
    uncertainty: dict[str, float] | None
    model_version: str | None
    safety: SafetyOut | None
    properties: PropertiesOut | None
    known: KnownOut | None
    nearest_known: NearestOut | None
    error: str | None
    depiction_svg: str | None = None  # only /v1/report with svg=true


class PredictOut(_Shape):
    results: list[ReportOut] = Field(description="One report per input SMILES, in input order.")


class ScreenRowOut(_Shape):
    input: str
    smiles: str | None
    verdict: str = Field(description='blocked, caution, no known issue, or "invalid" for an input that did not parse.')
    flags: list[FlagOut]


class ScreenOut(_Shape):
    results: list[ScreenRowOut]


class KeyOut(_Shape):
    id: int
    name: str
    role: str
    owner_email: str
    prefix: str
    created_at: str
    revoked_at: str | None


class NewKeyOut(_Shape):
    key: str = Field(description="The key itself: shown once, only its hash is stored.")
    info: KeyOut


class Health(_Shape):
    status: str


class Readiness(_Shape):
    status: str = Field(description="ready or not ready")
    models: str = Field(description="loaded, loading or failed")
    database: str = Field(description="ok or unavailable")
    redis: str = Field(description="off (memory rate limits), ok or unavailable")
    detail: str | None = None
