"""Cross-validated evaluation of the odor predictor (random or Bemis-Murcko scaffold folds).

Each fold retrains the whole ensemble from scratch on the other folds: the shipped weights are never
scored on their own training data.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.metrics import roc_auc_score

from ..chem import Mol, morgan_fp
from ..graph import MolGraph
from ..odor import PredictorConfig, ensemble_proba, recipe_graphs
from ..train.predictor import ExtraData, train_ensemble


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


def rows_of(graphs: Sequence[MolGraph] | None, mask: np.ndarray) -> list[MolGraph] | None:
    """Returns the graphs of the rows where the boolean `mask` is set (None stays None)."""
    return None if graphs is None else [graphs[i] for i in np.flatnonzero(mask).tolist()]


def cross_validate(X: np.ndarray, Y: np.ndarray, folds: np.ndarray, cfg: PredictorConfig,
                   report: Callable[[FoldResult], None] = lambda r: None, extra: ExtraData | None = None,
                   only_folds: Sequence[int] | None = None,
                   graphs: Sequence[MolGraph] | None = None) -> list[FoldResult]:
    """Retrains the ensemble on all folds but one, scores the held-out fold, for each fold (or `only_folds`).

    With `extra`, the training folds also get the other sources' mapped labels (extra positives of their own
    molecules, and the molecules outside the labelled set); the held-out fold is scored on its GS-LF labels only.
    """
    results = []
    for f in range(int(folds.max()) + 1) if only_folds is None else only_folds:
        t0 = time.perf_counter()
        tr, te = folds != f, folds == f
        ens = train_ensemble(X[tr], Y[tr], cfg, extra=None if extra is None else extra.for_training(tr),
                             graphs=rows_of(graphs, tr))
        P, _ = ensemble_proba(ens, X[te], rows_of(graphs, te))
        auc, n_scored = mean_auroc(Y[te], P)
        r = FoldResult(f, int(tr.sum()), int(te.sum()), n_scored, auc, calibration_error(Y[te], P),
                       float(np.mean((P - Y[te]) ** 2)), time.perf_counter() - t0)
        report(r)
        results.append(r)
    return results


@dataclass(frozen=True)
class SeedResult:
    seed: int
    folds: tuple[FoldResult, ...]

    @property
    def mean_auroc(self) -> float:
        return float(np.mean([r.mean_auroc for r in self.folds]))

    @property
    def std_auroc(self) -> float:
        """Standard deviation of the fold AUROCs (population, as the model card has always printed it)."""
        return float(np.std([r.mean_auroc for r in self.folds]))


def make_folds(split: str, mols: Sequence[Mol], k: int, seed: int) -> np.ndarray:
    """Returns the fold index of each molecule for split "random" or "scaffold"."""
    return random_folds(len(mols), k, seed) if split == "random" else scaffold_folds(list(mols), k, seed)


@dataclass(frozen=True)
class TransferResult:
    """Trained on all of GS-LF, scored on another source's molecules that GS-LF lacks (their mapped labels)."""

    source: str
    n_molecules: int
    n_labels_scored: int
    ensemble_auroc: float
    baseline_auroc: float  # Morgan radius-2 2,048-bit logistic regression, one per label, same training data
    seconds: float


def morgan_bits(mols: Sequence[Mol]) -> np.ndarray:
    """Returns the (N, 2048) 0/1 Morgan radius-2 fingerprints of the baseline (chem.morgan_fp)."""
    from rdkit import DataStructs

    out = np.zeros((len(mols), 2048), np.float32)
    for i, m in enumerate(mols):
        DataStructs.ConvertToNumpyArray(morgan_fp(m), out[i])  # type: ignore[attr-defined]  # rdkit-stubs lack it
    return out


def logistic_baseline(X_train: np.ndarray, Y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """Returns (N_test, L) probabilities of one plain logistic regression per label (scikit-learn defaults, C=1)."""
    from sklearn.linear_model import LogisticRegression

    P = np.zeros((len(X_test), Y_train.shape[1]), np.float32)
    for j in range(Y_train.shape[1]):
        if 0 < Y_train[:, j].sum() < len(Y_train):
            P[:, j] = LogisticRegression(max_iter=1000).fit(X_train, Y_train[:, j]).predict_proba(X_test)[:, 1]
    return P


def transfer_check(source: str, data_X: np.ndarray, data_Y: np.ndarray, train_mols: Sequence[Mol],
                   test_mols: Sequence[Mol], test_Y: np.ndarray, cfg: PredictorConfig,
                   extra: ExtraData | None = None, graphs: Sequence[MolGraph] | None = None) -> TransferResult:
    """Trains the ensemble (with `extra`, which must hold no test molecule; `graphs`: train_mols' graphs) and the
    Morgan logistic regression on the whole labelled set and scores both on the test molecules, over labels with both
    classes in test_Y."""
    from ..features import featurize

    t0 = time.perf_counter()
    ens = train_ensemble(data_X, data_Y, cfg, extra=extra, graphs=graphs)
    P, _ = ensemble_proba(ens, featurize(test_mols), recipe_graphs(cfg, test_mols))
    auc, n_scored = mean_auroc(test_Y, P)
    base, _ = mean_auroc(test_Y, logistic_baseline(morgan_bits(train_mols), data_Y, morgan_bits(test_mols)))
    return TransferResult(source, len(test_mols), n_scored, auc, base, time.perf_counter() - t0)
