"""Odor predictor: Mol -> calibrated probabilities over the 138 GS-LF labels, with an uncertainty.

Method: an ensemble of K MLPs (different seeds, all the training data) over Morgan, atom-pair and
feature-Morgan counts, MACCS keys and RDKit descriptors (features.py), trained with binary cross-entropy, and a
message-passing network over the molecular graph (graph.py) that takes a fifth of their mean; that mean is then
blended with a nearest-neighbour vote (the labels of the 20 training molecules most similar by continuous Tanimoto
on atom-pair counts, weighted by similarity^10), then with a label co-occurrence vote (each label's P(label | other
label) among the training molecules, weighted by the blend's probabilities). The shares follow the query's similarity
s to its nearest training molecule: 0.1·s for the neighbour vote, 0.6 − 0.2·s for the co-occurrence vote (far from
the training set the neighbours say less, the co-occurrences more). The probability is that, the uncertainty the
MLP members' standard deviation (scaled by 0.9). Calibration is measured, not
assumed: `odordiff evaluate predictor` prints the expected calibration error and the Brier score on
held-out folds (see MODEL_CARD.md). A cross-validation-bagged ensemble with temperature scaling did worse
on the same folds (each member sees 80% of the data; fitted temperature 1.03).

This module loads and predicts only: training and saving are in `odordiff_core/train/predictor.py`, the
cross-validation in `odordiff_core/eval/predictor.py` (neither is imported at runtime).
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import cast

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from . import features
from .chem import Mol
from .config import Settings
from .errors import ModelNotFound
from .graph import DMPNN, MolGraph, graph_proba, mol_graphs
from .types import OdorProfile

PREDICTOR_DIR = "predictor"  # sub-folder of the weights directory


@dataclass(frozen=True)
class PredictorConfig:
    hidden: int = 1024  # one hidden layer; wider overfits less than deeper here (measured, see MODEL_CARD)
    dropout: float = 0.6  # on the hidden layer
    input_dropout: float = 0.2  # on the fingerprint/descriptor input: cheap augmentation
    epochs: int = 25
    batch_size: int = 256  # 128 was as accurate and 1.3x slower (measured, MODEL_CARD)
    lr: float = 2e-3  # peak of the one-cycle schedule
    weight_decay: float = 1e-2  # AdamW
    # Ensemble size: seeds differ; their spread is the uncertainty. 5 since the shares that follow the similarity:
    # +0.0001 to +0.0004 mean AUROC over 3 on each of random seeds 0-2 and scaffold seed 0 (MODEL_CARD.md).
    members: int = 5
    seed: int = 0
    # Blend with the labels of the nearest training molecules (continuous Tanimoto on atom-pair counts):
    # p = (1 - knn_weight) * MLP mean + knn_weight * similarity^knn_power-weighted mean of k neighbours' labels.
    # +0.0018 mean AUROC on folds 0-1 (0.8893 -> 0.8911), where more members or width gave <= +0.0004.
    knn_k: int = 20
    knn_power: float = 10.0
    knn_weight: float = 0.1
    # Then borrow evidence from co-occurring labels: p <- (1 - label_mix) * p + label_mix * (p @ C) / sum(p), where
    # C[i, j] = P(label j | label i) among the training molecules (label_cooccurrence). +0.0036 mean AUROC on folds 0-1
    # of seed 0 (0.8893 -> 0.8929), ECE 0.0028 -> 0.0060; 0.4 gave +0.0038 with ECE 0.0078 (MODEL_CARD.md, issue 17).
    # 0.4 since the features of version 3: +0.0003 over 0.3 on the 5 folds of seed 0 (0.8942 -> 0.8945).
    label_mix: float = 0.4
    # Both shares follow the query's nearest training similarity s (Neighbours.nearest, 0..1): the vote's weight is
    # knn_weight * s, the label mix's share goes from label_mix_far at s = 0 to label_mix at s = 1. Far from the
    # training molecules the neighbours say less and the label co-occurrences more (MODEL_CARD.md, "Shares that
    # follow the similarity"). None / False: the constant shares of the weights saved before (load_predictor).
    label_mix_far: float | None = 0.6
    knn_by_similarity: bool = True
    # Other label sources mapped onto the 138 labels (train.predictor.load_extra), learnt by the members only.
    # Together +0.0007 mean AUROC on folds 0-1 of seed 0, and lower calibration error (MODEL_CARD.md, issue 17).
    extra_sources: tuple[str, ...] = ("ifra", "goodscents", "leffingwell")
    # With > 0, each unmapped raw term of those sources recorded for at least this many GS-LF molecules is an extra
    # output while training (multi-task); the shipped members keep only the label outputs.
    extra_task_min: int = 0
    # A message-passing member (graph.DMPNN) beside the MLPs, trained on GS-LF alone: its probabilities take this share
    # of the members' mean before the vote and the mix (0.2 picked on folds 0-1). Scaffold split 0.8692 -> 0.8710, random
    # split mean over seeds 0-2 0.8951 -> 0.8957, transfer 0.8065 -> 0.8168 (MODEL_CARD.md, "A message-passing member,
    # shipped"). 0: none (the weights saved before it).
    graph_weight: float = 0.2
    graph_hidden: int = 200
    graph_depth: int = 3  # message-passing rounds (bond states updated depth - 1 times)
    graph_dropout: float = 0.2  # in the head
    graph_epochs: int = 100
    graph_batch_size: int = 50
    graph_lr: float = 1e-3  # peak of the one-cycle schedule (AdamW, weight decay as the MLPs')

    def blend_text(self) -> str:
        """Returns how the members' mean is blended, in words, for evaluation printouts."""
        knn = f"kNN(k={self.knn_k}, atom-pair Tanimoto^{self.knn_power:g})"
        if self.label_mix_far is None:
            mix = f"{self.label_mix} x label co-occurrence"
        else:
            mix = f"{self.label_mix_far} - {self.label_mix_far - self.label_mix:.2g} s x label co-occurrence"
        graph = f"{self.graph_weight:g} x D-MPNN({self.graph_hidden}) in the members' mean, " if self.graph_weight else ""
        return (f"{graph}{self.knn_weight}{' s' if self.knn_by_similarity else ''} x {knn}, then {mix}"
                + (" (s = nearest training similarity)" if self.knn_by_similarity or self.label_mix_far is not None
                   else ""))


def recipe_graphs(cfg: PredictorConfig, mols: Sequence[Mol]) -> list[MolGraph] | None:
    """Returns the molecules' graphs when the recipe has a graph member (cfg.graph_weight > 0), else None."""
    return mol_graphs(mols) if cfg.graph_weight else None


class MLP(nn.Module):
    def __init__(self, n_in: int, n_out: int, cfg: PredictorConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(cfg.input_dropout),
            nn.Linear(n_in, cfg.hidden),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, n_labels) logits


def scale_features(X: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> torch.Tensor:
    """Returns X with the descriptor columns standardised and clipped to ±6 (fingerprint columns as they are)."""
    n = features.N_FINGERPRINT
    out = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).clone()
    d = torch.from_numpy((X[:, n:] - mu[n:]) / sd[n:]).clamp_(-6.0, 6.0)
    out[:, n:] = d
    return out


@dataclass(frozen=True)
class Neighbours:
    """The training molecules' atom-pair counts and labels, for the nearest-neighbour part of the blend."""

    counts: np.ndarray  # (M, 1024) float32 raw atom-pair counts
    sq_norms: np.ndarray  # (M,) sum of squared counts
    Y: np.ndarray  # (M, L) 0/1 labels
    k: int
    power: float

    @classmethod
    def from_counts(cls, counts: np.ndarray, Y: np.ndarray, cfg: PredictorConfig) -> Neighbours:
        counts = np.ascontiguousarray(counts, dtype=np.float32)
        return cls(counts, (counts * counts).sum(1), np.asarray(Y, np.float32), cfg.knn_k, cfg.knn_power)

    @cached_property
    def _counts_t(self) -> torch.Tensor:
        """(1024, M): the counts transposed once, contiguous, as the sparse product in similarity() takes them."""
        return torch.from_numpy(self.counts).T.contiguous()

    def similarity(self, X: np.ndarray) -> torch.Tensor:
        """Returns (N, M): the continuous Tanimoto a.b / (|a|^2 + |b|^2 - a.b) of each row's atom-pair counts to
        every training molecule's. The counts are integers and each dot product and its partial sums stay below 2^24
        (training counts <= 80 per bin, a 1,000-character SMILES has < 30,000 atom pairs: about 1e6 at most), so
        they are exact in float32 in any summation order: the sparse product (about 4% of the counts are non-zero)
        gives the dense one's bits."""
        q = torch.from_numpy(features.atom_pair_counts_from(X))
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            dot = q.to_sparse_csr() @ self._counts_t if len(q) and len(self.counts) else q @ self._counts_t  # (N, M)
            denom = (q * q).sum(1)[:, None] + torch.from_numpy(self.sq_norms)[None, :]
            return dot.div_(denom.sub_(dot).clamp_min_(1e-9))

    def vote(self, sim: torch.Tensor) -> np.ndarray:
        """Returns (N, L): the similarity^power-weighted label mean of each row's k most similar molecules."""
        with torch.inference_mode():
            top, idx = sim.topk(min(self.k, sim.shape[1]), dim=1)  # (N, k)
            w = top.pow(self.power)
            p = (w[:, :, None] * torch.from_numpy(self.Y)[idx]).sum(1) / w.sum(1, keepdim=True).clamp_min(1e-12)
        return p.numpy()

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Returns (N, L): the vote of each row's k most similar training molecules (see vote)."""
        return self.vote(self.similarity(X))

    @staticmethod
    def nearest(sim: torch.Tensor) -> np.ndarray:
        """Returns (N,) float32: each row's largest similarity (0 when there is no training molecule): the continuous
        Tanimoto (atom-pair counts, 0..1) to the most similar training molecule, the applicability-domain measure of
        the confidence levels (scores.py)."""
        with torch.inference_mode():
            best = sim.max(dim=1).values if sim.shape[1] else torch.zeros(len(sim))  # (N,)
        return best.numpy().astype(np.float32)


def label_cooccurrence(Y: np.ndarray) -> np.ndarray:
    """Returns (L, L) float32: C[i, j] = the share of the molecules labelled i that are also labelled j (C[i, i] = 1;
    a row of zeros for a label no molecule has)."""
    Y = np.asarray(Y, np.float64)
    counts = Y.T @ Y  # (L, L) molecules with both labels
    return (counts / np.maximum(np.diag(counts), 1.0)[:, None]).astype(np.float32)


def mix_labels(p: np.ndarray, cooccurrence: np.ndarray, share: float | np.ndarray) -> np.ndarray:
    """Returns (N, L): (1 - share) * p + share * the co-occurrence vote, each label's mean P(j | i) over the labels i
    weighted by their probability in p: a molecule likely to be fruity gains a little of "sweet" and "ethereal".
    share: one for all rows, or (N, 1), one per row."""
    if np.isscalar(share) and share == 0.0:
        return p
    vote = (p @ cooccurrence) / np.maximum(p.sum(1, keepdims=True), 1e-9)  # (N, L)
    return ((1.0 - share) * p + share * vote).astype(np.float32)


@dataclass(frozen=True)
class TrainedEnsemble:
    """What predicts: the members and feature statistics (from the weights, or fresh from train.predictor)."""

    members: tuple[MLP, ...]
    mu: np.ndarray  # (F,) feature means (0 for fingerprint columns)
    sd: np.ndarray  # (F,) feature stds (1 for fingerprint columns)
    neighbours: Neighbours
    knn_weight: float
    label_mix: float = 0.0  # PredictorConfig.label_mix; the co-occurrences are the neighbour memory's labels'
    label_mix_far: float | None = None  # PredictorConfig.label_mix_far (None: label_mix whatever the similarity)
    knn_by_similarity: bool = False  # PredictorConfig.knn_by_similarity
    graph: DMPNN | None = None  # the message-passing member (PredictorConfig.graph_weight > 0)
    graph_weight: float = 0.0

    @classmethod
    def from_config(cls, members: tuple[MLP, ...], mu: np.ndarray, sd: np.ndarray, neighbours: Neighbours,
                    cfg: PredictorConfig, graph: DMPNN | None = None) -> TrainedEnsemble:
        """Returns the ensemble with the blend of `cfg` (graph member, neighbour vote and label mix shares)."""
        if (graph is None) != (cfg.graph_weight == 0):
            raise ValueError(f"graph_weight {cfg.graph_weight} needs a graph member exactly when it is > 0")
        return cls(members, mu, sd, neighbours, cfg.knn_weight, cfg.label_mix, cfg.label_mix_far, cfg.knn_by_similarity,
                   graph, cfg.graph_weight)

    def shares(self, nearest: np.ndarray) -> tuple[float | np.ndarray, float | np.ndarray]:
        """Returns (the neighbour vote's weight, the label mix's share) for queries whose nearest training similarity
        is `nearest` (N,): constants, or (N, 1) columns that follow the similarity (PredictorConfig)."""
        s = nearest[:, None].astype(np.float32)
        w = self.knn_weight * s if self.knn_by_similarity else self.knn_weight
        far = self.label_mix_far
        return w, self.label_mix if far is None else far + (self.label_mix - far) * s

    @cached_property
    def cooccurrence(self) -> np.ndarray:
        """(L, L) label co-occurrence of the training molecules (label_cooccurrence of the neighbour memory)."""
        return label_cooccurrence(self.neighbours.Y)

    @cached_property
    def _first_layers(self) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """Each member's first-layer (bias, weight transposed to (F, hidden) and contiguous), made once: given the
        transposed view, the sparse product copied it on every call (about 40 ms for the 3 members whatever the batch
        size, on the 2-core dev machine; 64 molecules now take about 7 ms). Same bits either way. load_predictor
        stores the weights in that layout already, so that this is a view there, not a 66 MB copy."""
        layers = [cast(nn.Linear, m.net[1]) for m in self.members]
        with torch.no_grad():
            return tuple((first.bias.detach(), first.weight.detach().T.contiguous()) for first in layers)


def ensemble_proba(ens: TrainedEnsemble, X: np.ndarray,
                   graphs: Sequence[MolGraph] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (blended probability, spread of the MLP members scaled by 1 - knn_weight), each (N, L).

    graphs: the molecules of X's rows as graph.mol_graph gives them; needed when the ensemble has a graph member."""
    return ensemble_proba_with_similarity(ens, X, graphs)[:2]


def ensemble_proba_with_similarity(ens: TrainedEnsemble, X: np.ndarray, graphs: Sequence[MolGraph] | None = None
                                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns ensemble_proba's two arrays and Neighbours.nearest's (N,), from one similarity matrix (the blend's
    shares follow that similarity)."""
    if ens.graph is not None and (graphs is None or len(graphs) != len(X)):
        raise ValueError("this ensemble has a graph member: pass the graphs of X's molecules (graph.mol_graphs)")
    sim = ens.neighbours.similarity(X)
    nearest = ens.neighbours.nearest(sim)
    x = scale_features(X, ens.mu, ens.sd)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        xs = x.to_sparse_csr()  # ~4% of the inputs are non-zero: the first layer is 2.5x faster sparse
        # Inference forward of each eval-mode MLP (its dropouts are identities): first layer, ReLU, last layer.
        p = torch.stack([torch.sigmoid(cast(nn.Linear, m.net[4])(torch.addmm(b, xs, w_t).relu_()))
                         for m, (b, w_t) in zip(ens.members, ens._first_layers)])  # (K, N, L)
    w, share = ens.shares(nearest)
    members = p.mean(0).numpy()  # (N, L)
    if ens.graph is not None:
        members = (1.0 - ens.graph_weight) * members + ens.graph_weight * graph_proba(ens.graph, graphs or [])
    mean = ((1.0 - w) * members + w * ens.neighbours.vote(sim)).astype(np.float32)
    # The spread stays the members' before the label mix, scaled by 1 - knn_weight whatever the similarity: the
    # confidence thresholds (scores.py) were set on it.
    spread = ((1.0 - ens.knn_weight) * p.std(0, correction=0)).numpy()
    return mix_labels(mean, ens.cooccurrence, share), spread, nearest


class OdorPredictor:
    """Loaded, read-only predictor; safe to share between threads (inference only, no state changes)."""

    def __init__(self, ens: TrainedEnsemble, labels: tuple[str, ...], version: str, feature_workers: int = 1):
        self.ensemble = ens
        self.labels = labels
        self.version = version
        self.feature_workers = feature_workers  # processes sharing the featurisation (features.featurize)

    def predict_proba(self, mols: Sequence[Mol]) -> np.ndarray:
        """Returns calibrated probabilities (N, 138) in label order."""
        return self.predict_with_std(mols)[0]

    def predict_with_std(self, mols: Sequence[Mol]) -> tuple[np.ndarray, np.ndarray]:
        """Returns (probabilities, ensemble spread), each (N, 138)."""
        if not mols:
            n = len(self.labels)
            return np.zeros((0, n), np.float32), np.zeros((0, n), np.float32)
        return ensemble_proba(self.ensemble, features.featurize(mols, self.feature_workers), self.graphs(mols))

    def predict_with_domain(self, mols: Sequence[Mol]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Returns (probabilities (N, 138), ensemble spread (N, 138), similarity to the nearest training molecule (N,)).

        One featurisation for both: the probabilities and spread are exactly `predict_with_std`'s; the similarity
        is `Neighbours.nearest` (continuous Tanimoto on atom-pair counts, 0..1; about 0.1 ms per molecule).
        """
        if not mols:
            n = len(self.labels)
            return np.zeros((0, n), np.float32), np.zeros((0, n), np.float32), np.zeros(0, np.float32)
        return ensemble_proba_with_similarity(self.ensemble, features.featurize(mols, self.feature_workers),
                                              self.graphs(mols))

    def graphs(self, mols: Sequence[Mol]) -> list[MolGraph] | None:
        """Returns the molecules' graphs when the ensemble has a graph member (about 0.1 ms per molecule), else None:
        what ensemble_proba takes beside their features."""
        return mol_graphs(mols) if self.ensemble.graph is not None else None

    def predict(self, mols: Sequence[Mol]) -> list[OdorProfile]:
        """Returns one OdorProfile per molecule."""
        p, s = self.predict_with_std(mols)
        return [OdorProfile(self.labels, tuple(map(float, pi)), tuple(map(float, si)), self.version)
                for pi, si in zip(p, s)]


def load_predictor(settings: Settings) -> OdorPredictor:
    """Returns the shipped predictor. Raises ModelNotFound when the weights are missing or do not match.

    The nearest-neighbour part is rebuilt from the verified training set in the data directory (about
    1 s): the data set itself is not redistributed inside the weights.
    """
    d = settings.weights_dir / PREDICTOR_DIR
    if not (d / "config.json").is_file() or not (d / "weights.safetensors").is_file():
        raise ModelNotFound(f"No odor predictor weights in {d}. Run `odordiff train predictor` "
                            f"(a few minutes) or restore the folder from git.")
    config = json.loads((d / "config.json").read_text())
    if config.get("features") != features.FEATURES_VERSION or config.get("n_features") != (
            features.N_FINGERPRINT + features.N_DESCRIPTORS):
        raise ModelNotFound(f"Predictor weights in {d} were trained on features {config.get('features')!r}, "
                            f"this code computes {features.FEATURES_VERSION!r} (RDKit descriptor list may differ). "
                            f"Run `odordiff train predictor`.")
    # Weights saved before the label mix load without it; before the shares that follow the similarity, with constants.
    # Before the graph member, without it.
    cfg = PredictorConfig(**{"label_mix": 0.0, "label_mix_far": None, "knn_by_similarity": False, "graph_weight": 0.0,
                             **config["config"]})
    tensors = load_file(str(d / "weights.safetensors"))
    labels = tuple(config["labels"])
    members = []
    for k in range(cfg.members):
        m = MLP(config["n_features"], len(labels), cfg)
        m.load_state_dict({n[len(f"m{k}."):]: t.float() for n, t in tensors.items() if n.startswith(f"m{k}.")})
        first = cast(nn.Linear, m.net[1])
        first.weight.data = first.weight.data.T.contiguous().T  # stored as (F, hidden): _first_layers copies nothing
        m.eval()
        members.append(m)
    from .datasets import load_labelled  # the data layer raises DataError with the fix when the file is absent

    data = load_labelled(settings)
    if data.labels != labels:
        raise ModelNotFound(f"The predictor weights in {d} list other labels than the training set in the "
                            f"data directory. Run `odordiff data check`, then `odordiff train predictor`.")
    graph = None
    if cfg.graph_weight:
        graph = DMPNN(len(labels), cfg.graph_hidden, cfg.graph_depth, cfg.graph_dropout)
        graph.load_state_dict({n[2:]: t.float() for n, t in tensors.items() if n.startswith("g.")})
        graph.eval()
    neighbours = Neighbours.from_counts(features.atom_pair_counts(data.mols), data.Y, cfg)
    ens = TrainedEnsemble.from_config(tuple(members), tensors["mu"].numpy(), tensors["sd"].numpy(), neighbours, cfg,
                                      graph)
    features.start_workers(settings.feature_workers)
    return OdorPredictor(ens, labels, config["version"], settings.feature_workers)
