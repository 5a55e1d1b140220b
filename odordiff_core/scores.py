"""Scores a perfumer can read: where a candidate's odor match stands among known odorants, and how far to trust it.

Fit percentile: "fits the brief better than N % of known odorants". The odor match of a candidate (pipeline.odor_match)
is compared with the odor matches, for the same target weights and exclusions, of the 4,983 labelled GS-LF odorants,
each scored by the same predictor. Their predicted probabilities (4,983 x 138) are computed once, when the predictor
is trained (or by `odordiff train predictor --known-scores-only` for the shipped weights), and ship next to the
weights as `known_scores.safetensors` (float16, 1.4 MB) keyed to the predictor version. A request then costs one
matrix-vector product, a sort of 4,983 numbers and a searchsorted (a few ms; MODEL_CARD.md).

Confidence: high / medium / low, from the predictor's ensemble spread on the molecule's most probable descriptors
and from its similarity to the nearest molecule the predictor was trained on (continuous Tanimoto on atom-pair
counts, the predictor's own neighbour measure; `OdorPredictor.predict_with_domain`). The thresholds were chosen on
held-out folds, where they separate better from worse predictions (`odordiff evaluate confidence`, MODEL_CARD.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from safetensors import safe_open

from .config import Settings
from .errors import ModelNotFound

KNOWN_SCORES_FILE = "known_scores.safetensors"  # in the predictor's weights folder (odor.PREDICTOR_DIR)
KNOWN_SCORES_COMMAND = "odordiff train predictor --known-scores-only"  # writes it for the shipped weights
SPREAD_TOP_K = 5  # the spread is averaged over the molecule's k most probable descriptors (those the app shows)


class Confidence(StrEnum):
    """How far to trust a molecule's predicted odor profile (and so its fit percentile)."""

    HIGH = "high"  # close to molecules the predictor learned from, and its members agree
    MEDIUM = "medium"
    LOW = "low"  # unlike anything the predictor learned from, or its members disagree


@dataclass(frozen=True)
class ConfidenceThresholds:
    """Where the levels change. Chosen on held-out scaffold folds 0-1 (1,994 molecules the predictor did not see;
    `odordiff evaluate confidence`, table in MODEL_CARD.md "Confidence levels"): round numbers near the quantiles,
    kept where the three levels came out in order of top-3 hit rate and per-label AUROC. The spread thresholds were
    re-chosen the same way for 5 members (2026-12-01): five members' spread is wider than three's (median 0.026 vs
    0.022), and the old 0.025 / 0.040 let only 16 % of held-out molecules reach high."""

    high_similarity: float = 0.75  # high needs the nearest training molecule at least this similar (~top 28 %) ...
    high_spread: float = 0.030  # ... and the mean top-5 spread at most this (~75th percentile)
    low_similarity: float = 0.55  # low when the nearest training molecule is less similar than this (~bottom 15 %) ...
    low_spread: float = 0.045  # ... or the mean top-5 spread is above this (~98th percentile: the members disagree)


CONFIDENCE = ConfidenceThresholds()


def top_spread(probs: np.ndarray, spread: np.ndarray, k: int = SPREAD_TOP_K) -> np.ndarray:
    """Returns (N,): the mean ensemble spread over each row's k most probable labels (probs, spread: (N, L))."""
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # (N, k)
    return np.take_along_axis(spread, top, axis=1).mean(1)


def confidence_levels(probs: np.ndarray, spread: np.ndarray, similarity: np.ndarray,
                      thresholds: ConfidenceThresholds = CONFIDENCE) -> list[Confidence]:
    """Returns one level per row of probs/spread (N, L) and similarity (N,) to the nearest training molecule."""
    s = top_spread(probs, spread)
    out = []
    for sim, sp in zip(similarity.tolist(), s.tolist()):
        if sim < thresholds.low_similarity or sp > thresholds.low_spread:
            out.append(Confidence.LOW)
        elif sim >= thresholds.high_similarity and sp <= thresholds.high_spread:
            out.append(Confidence.HIGH)
        else:
            out.append(Confidence.MEDIUM)
    return out


def fit_percentiles(known_matches: np.ndarray, matches: np.ndarray) -> np.ndarray:
    """Returns (N,) in [0, 100]: the percentage of known odorants whose odor match (M,) is strictly below each
    of `matches` (N,). Non-decreasing in the match; 100 = better than every known odorant."""
    ref = np.sort(np.asarray(known_matches, np.float64))
    if len(ref) == 0:
        raise ValueError("fit_percentiles needs at least one known odor match")
    return 100.0 * np.searchsorted(ref, np.asarray(matches, np.float64), side="left") / len(ref)


def percent_text(pct: float) -> str:
    """Returns a fit percentile as the app and the CLI show it: "93 %", with one decimal from 99 on ("99.6 %").
    Rounded down, so a candidate is never said to beat more known odorants than it does."""
    return f"{math.floor(pct * 10) / 10:.1f} %" if pct >= 99 else f"{math.floor(pct)} %"


@dataclass(frozen=True, eq=False)
class KnownScores:
    """The known labelled odorants' predicted probabilities: the reference population of the fit percentile."""

    probs: np.ndarray  # (M, L) float32, M = 4,983 GS-LF molecules in the data file's order
    predictor_version: str  # the predictor that scored them


def load_known_scores(settings: Settings, predictor_version: str, n_labels: int) -> KnownScores:
    """Returns the shipped known-odorant scores of this predictor version (about 10 ms).

    Raises ModelNotFound when the file is missing, was computed by another predictor version, or has another
    number of labels: a fit percentile against another model's scores would be wrong, not approximate.
    """
    from .odor import PREDICTOR_DIR

    path = settings.weights_dir / PREDICTOR_DIR / KNOWN_SCORES_FILE
    if not path.is_file():
        raise ModelNotFound(f"No known-odorant scores at {path}: the fit percentile needs them. "
                            f"Run `{KNOWN_SCORES_COMMAND}` (about 10 s) or restore the file from git.")
    with safe_open(str(path), framework="numpy") as fh:
        meta = fh.metadata() or {}
        probs = fh.get_tensor("probs").astype(np.float32)  # stored float16
    if meta.get("predictor_version") != predictor_version:
        raise ModelNotFound(f"{path} holds scores of predictor {meta.get('predictor_version')!r}, but the loaded "
                            f"predictor is {predictor_version!r}. Run `{KNOWN_SCORES_COMMAND}`.")
    if probs.ndim != 2 or probs.shape[1] != n_labels or len(probs) == 0:
        raise ModelNotFound(f"{path} has scores of shape {probs.shape}, expected (molecules, {n_labels}). "
                            f"Run `{KNOWN_SCORES_COMMAND}`.")
    return KnownScores(probs, predictor_version)
