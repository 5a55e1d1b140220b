"""Held-out check of the confidence levels (`odordiff_core/scores.py`): are "high" predictions better than "low"?

Each fold retrains the whole predictor on the other folds (as `eval/predictor.py` does) and predicts the held-out
molecules with their ensemble spread and their similarity to the nearest *training-fold* molecule, which is what the
runtime computes for a generated candidate against the whole training set. The molecules are then grouped by the
confidence level the runtime would give them, and each group's predictions are scored against the recorded labels.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from ..graph import MolGraph
from ..odor import PredictorConfig, ensemble_proba_with_similarity
from ..scores import CONFIDENCE, Confidence, ConfidenceThresholds, confidence_levels, top_spread
from ..train.predictor import ExtraData, train_ensemble
from .predictor import rows_of


@dataclass(frozen=True)
class HeldOut:
    """Predictions for held-out molecules, one row each (rows of all the folds scored, in fold order)."""

    probs: np.ndarray  # (N, L) blended probabilities
    spread: np.ndarray  # (N, L) ensemble spread
    similarity: np.ndarray  # (N,) continuous Tanimoto (atom-pair counts) to the nearest training-fold molecule
    Y: np.ndarray  # (N, L) recorded 0/1 labels
    fold: np.ndarray  # (N,) fold index


@dataclass(frozen=True)
class LevelRow:
    level: Confidence
    n: int  # held-out molecules at this level
    molecule_auroc: float  # mean over molecules of the AUROC of its 138 probabilities against its labels
    top3_hit: float  # share of molecules with at least one recorded label among the 3 most probable
    label_auroc: float  # mean per-label AUROC within the group (labels with both classes present in it)


def held_out_predictions(X: np.ndarray, Y: np.ndarray, folds: np.ndarray, cfg: PredictorConfig,
                         use_folds: Sequence[int], report: Callable[[str], None] = lambda s: None,
                         extra: ExtraData | None = None, graphs: Sequence[MolGraph] | None = None) -> HeldOut:
    """Returns the held-out predictions of the folds `use_folds`, retraining the ensemble for each (with `extra`,
    the other label sources for the training folds, as `eval.predictor.cross_validate` takes them; `graphs`: X's
    molecules' graphs, for a recipe with a graph member)."""
    parts = []
    for f in use_folds:
        t0 = time.perf_counter()
        tr, te = folds != f, folds == f
        ens = train_ensemble(X[tr], Y[tr], cfg, extra=None if extra is None else extra.for_training(tr),
                             graphs=rows_of(graphs, tr))
        # one similarity matrix for the vote and the domain
        p, s, sim = ensemble_proba_with_similarity(ens, X[te], rows_of(graphs, te))
        parts.append((p, s, sim, Y[te], np.full(int(te.sum()), f)))
        report(f"fold {f}: {int(tr.sum())} train, {int(te.sum())} held out, {time.perf_counter() - t0:.0f} s")
    return HeldOut(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


def molecule_auroc(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Returns (N,): per molecule, the AUROC of its probabilities over the labels against its recorded labels
    (the chance that a recorded label is ranked above an unrecorded one); NaN for a molecule with no label."""
    out = np.full(len(Y), np.nan)
    for i, (y, p) in enumerate(zip(Y, P)):
        pos = int(y.sum())
        if 0 < pos < len(y):
            out[i] = (rankdata(p)[y > 0].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos))
    return out


def level_table(held: HeldOut, thresholds: ConfidenceThresholds = CONFIDENCE) -> list[LevelRow]:
    """Returns one row per confidence level: how good the held-out predictions at that level are."""
    levels = np.array([str(c) for c in confidence_levels(held.probs, held.spread, held.similarity, thresholds)])
    mol_auc = molecule_auroc(held.Y, held.probs)
    top3 = np.argsort(-held.probs, axis=1)[:, :3]
    hit = np.take_along_axis(held.Y, top3, axis=1).max(1) > 0
    rows = []
    for level in Confidence:
        sel = levels == level
        if not sel.any():
            rows.append(LevelRow(level, 0, float("nan"), float("nan"), float("nan")))
            continue
        y, p = held.Y[sel], held.probs[sel]
        cols = [j for j in range(y.shape[1]) if 0 < y[:, j].sum() < len(y)]
        lab = float(np.mean([roc_auc_score(y[:, j], p[:, j]) for j in cols])) if cols else float("nan")
        rows.append(LevelRow(level, int(sel.sum()), float(np.nanmean(mol_auc[sel])), float(hit[sel].mean()), lab))
    return rows


def describe(held: HeldOut) -> str:
    """Returns quantiles of the two inputs of the confidence level, for choosing its thresholds."""
    q = (0.1, 0.25, 0.5, 0.75, 0.9)
    spread = top_spread(held.probs, held.spread)
    return (f"similarity to nearest training molecule, quantiles {q}: "
            + " ".join(f"{v:.3f}" for v in np.quantile(held.similarity, q)) + "\n"
            f"top-5 spread, quantiles {q}: " + " ".join(f"{v:.4f}" for v in np.quantile(spread, q)))
