"""Cross-validated evaluation of the odor predictor (random or Bemis-Murcko scaffold folds).

Each fold retrains the whole ensemble from scratch on the other folds: the shipped weights are never
scored on their own training data.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.metrics import roc_auc_score

from ..chem import Mol
from ..odor import PredictorConfig, ensemble_proba
from ..train.predictor import train_ensemble


@dataclass(frozen=True)
class FoldResult:
    fold: int
    n_train: int
    n_test: int
    n_labels_scored: int  # labels with at least one positive and one negative in the test fold
    mean_auroc: float
    ece: float  # expected calibration error over all (molecule, label) pairs, 10 equal-width bins
    brier: float  # mean squared error of the probabilities
    seconds: float


def mean_auroc(Y: np.ndarray, P: np.ndarray) -> tuple[float, int]:
    """Returns (mean per-label ROC-AUC, labels scored) over labels with both classes present in Y."""
    cols = [j for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
    return float(np.mean([roc_auc_score(Y[:, j], P[:, j]) for j in cols])), len(cols)


def calibration_error(Y: np.ndarray, P: np.ndarray, bins: int = 10) -> float:
    """Returns the expected calibration error: bin-weighted |mean predicted - observed frequency|."""
    y, p = Y.ravel(), P.ravel()
    which = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            err += sel.mean() * abs(p[sel].mean() - y[sel].mean())
    return float(err)


def random_folds(n: int, k: int, seed: int) -> np.ndarray:
    """Returns the fold index (0..k-1) of each of n rows, shuffled with the seed."""
    return np.random.default_rng(seed).permutation(n) % k


def scaffold_folds(mols: list[Mol], k: int, seed: int) -> np.ndarray:
    """Returns fold indices that keep each Bemis-Murcko scaffold within one fold.

    Scaffold groups are shuffled with the seed and dealt greedily to the smallest fold. Acyclic
    molecules have no scaffold; they are dealt one by one like singleton groups.
    """
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(mols):
        scaf = MurckoScaffold.MurckoScaffoldSmiles(mol=m)
        groups.setdefault(scaf or f"acyclic:{i}", []).append(i)
    order = list(groups.values())
    rng = np.random.default_rng(seed)
    rng.shuffle(order)
    order.sort(key=len, reverse=True)  # big groups first, ties in shuffled order (stable sort)
    folds = np.zeros(len(mols), dtype=np.int64)
    sizes = [0] * k
    for members in order:
        f = int(np.argmin(sizes))
        folds[members] = f
        sizes[f] += len(members)
    return folds


def cross_validate(X: np.ndarray, Y: np.ndarray, folds: np.ndarray, cfg: PredictorConfig,
                   report: Callable[[FoldResult], None] = lambda r: None) -> list[FoldResult]:
    """Retrains the ensemble on all folds but one, scores the held-out fold, for each fold."""
    results = []
    for f in range(int(folds.max()) + 1):
        t0 = time.perf_counter()
        tr, te = folds != f, folds == f
        ens = train_ensemble(X[tr], Y[tr], cfg)
        P, _ = ensemble_proba(ens, X[te])
        auc, n_scored = mean_auroc(Y[te], P)
        r = FoldResult(f, int(tr.sum()), int(te.sum()), n_scored, auc, calibration_error(Y[te], P),
                       float(np.mean((P - Y[te]) ** 2)), time.perf_counter() - t0)
        report(r)
        results.append(r)
    return results
