"""Odor predictor: Mol -> calibrated probabilities over the 138 GS-LF labels, with an uncertainty.

Method: an ensemble of K MLPs (different seeds, all the training data) over Morgan, atom-pair and
feature-Morgan counts, MACCS keys and RDKit descriptors (features.py), trained with binary cross-entropy,
blended 9:1 with a nearest-neighbour vote (the labels of the 20 training molecules most similar by
continuous Tanimoto on atom-pair counts, weighted by similarity^10). The probability is that blend, the
uncertainty the members' standard deviation (scaled by their 0.9 share). Calibration is measured, not
assumed: `odordiff evaluate predictor` prints the expected calibration error and the Brier score on
held-out folds (see MODEL_CARD.md). A cross-validation-bagged ensemble with temperature scaling did worse
on the same folds (each member sees 80% of the data; fitted temperature 1.03).
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import features
from .chem import Mol
from .config import Settings
from .errors import ModelNotFound
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
    members: int = 3  # ensemble size: seeds differ; 3 gives the spread used as uncertainty
    seed: int = 0
    # Blend with the labels of the nearest training molecules (continuous Tanimoto on atom-pair counts):
    # p = (1 - knn_weight) * MLP mean + knn_weight * similarity^knn_power-weighted mean of k neighbours' labels.
    # +0.0018 mean AUROC on folds 0-1 (0.8893 -> 0.8911), where more members or width gave <= +0.0004.
    knn_k: int = 20
    knn_power: float = 10.0
    knn_weight: float = 0.1


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


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns (mean, std) that leave fingerprint columns unchanged and standardise descriptors."""
    mu = np.zeros(X.shape[1], np.float32)
    sd = np.ones(X.shape[1], np.float32)
    mu[features.N_FINGERPRINT:] = X[:, features.N_FINGERPRINT:].mean(0)
    sd[features.N_FINGERPRINT:] = X[:, features.N_FINGERPRINT:].std(0) + 1e-3
    return mu, sd


def _scale(X: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> torch.Tensor:
    """Returns X with the descriptor columns standardised and clipped to ±6 (fingerprint columns as they are)."""
    n = features.N_FINGERPRINT
    out = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).clone()
    d = torch.from_numpy((X[:, n:] - mu[n:]) / sd[n:]).clamp_(-6.0, 6.0)
    out[:, n:] = d
    return out


def train_member(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig, seed: int) -> MLP:
    """Returns one MLP trained with BCE on scaled features X (N, F) and 0/1 labels Y (N, L)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # weight init; training is single-process and not shared with sessions
    net = MLP(X.shape[1], Y.shape[1], cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)  # fused: 5x faster step
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    n = len(Xt)
    steps = cfg.epochs * ((n + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    net.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = nn.functional.binary_cross_entropy_with_logits(net(Xt[idx]), Yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return net


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

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Returns (N, L): the similarity^power-weighted label mean of each row's k most similar molecules."""
        q = torch.from_numpy(features.atom_pair_counts_from(X))
        ref = torch.from_numpy(self.counts)
        with torch.inference_mode():
            dot = q @ ref.T  # (N, M); continuous Tanimoto = a.b / (|a|^2 + |b|^2 - a.b)
            sim = dot / ((q * q).sum(1)[:, None] + torch.from_numpy(self.sq_norms)[None, :] - dot).clamp_min(1e-9)
            top, idx = sim.topk(min(self.k, sim.shape[1]), dim=1)  # (N, k)
            w = top.pow(self.power)
            p = (w[:, :, None] * torch.from_numpy(self.Y)[idx]).sum(1) / w.sum(1, keepdim=True).clamp_min(1e-12)
        return p.numpy()


@dataclass(frozen=True)
class TrainedEnsemble:
    members: tuple[MLP, ...]
    mu: np.ndarray  # (F,) feature means (0 for fingerprint columns)
    sd: np.ndarray  # (F,) feature stds (1 for fingerprint columns)
    neighbours: Neighbours
    knn_weight: float


def train_ensemble(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig) -> TrainedEnsemble:
    """Trains cfg.members MLPs with different seeds on raw features X (N, F) and labels Y (N, L)."""
    mu, sd = _standardizer(X)
    Xs = _scale(X, mu, sd).numpy()
    members = tuple(train_member(Xs, Y, cfg, seed=cfg.seed * 1000 + k) for k in range(cfg.members))
    neighbours = Neighbours.from_counts(features.atom_pair_counts_from(X), Y, cfg)
    return TrainedEnsemble(members, mu, sd, neighbours, cfg.knn_weight)


def ensemble_proba(ens: TrainedEnsemble, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns (blended probability, spread of the MLP members scaled by their blend weight), each (N, L)."""
    x = _scale(X, ens.mu, ens.sd)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        xs = x.to_sparse_csr()  # ~4% of the inputs are non-zero: the first layer is 2.5x faster sparse
        p = torch.stack([torch.sigmoid(_logits(m, xs)) for m in ens.members])  # (K, N, L)
    w = ens.knn_weight
    mean = (1.0 - w) * p.mean(0).numpy() + w * ens.neighbours.proba(X)
    return mean.astype(np.float32), ((1.0 - w) * p.std(0, correction=0)).numpy()


def _logits(m: MLP, xs: torch.Tensor) -> torch.Tensor:
    """Inference forward of an eval-mode MLP on a sparse CSR input (dropouts are identities in eval)."""
    first, last = m.net[1], m.net[4]
    return last(torch.addmm(first.bias, xs, first.weight.T).relu_())


class OdorPredictor:
    """Loaded, read-only predictor; safe to share between threads (inference only, no state changes)."""

    def __init__(self, ens: TrainedEnsemble, labels: tuple[str, ...], version: str):
        self.ensemble = ens
        self.labels = labels
        self.version = version

    def predict_proba(self, mols: Sequence[Mol]) -> np.ndarray:
        """Returns calibrated probabilities (N, 138) in label order."""
        return self.predict_with_std(mols)[0]

    def predict_with_std(self, mols: Sequence[Mol]) -> tuple[np.ndarray, np.ndarray]:
        """Returns (probabilities, ensemble spread), each (N, 138)."""
        if not mols:
            n = len(self.labels)
            return np.zeros((0, n), np.float32), np.zeros((0, n), np.float32)
        return ensemble_proba(self.ensemble, features.featurize(mols))

    def predict(self, mols: Sequence[Mol]) -> list[OdorProfile]:
        """Returns one OdorProfile per molecule."""
        p, s = self.predict_with_std(mols)
        return [OdorProfile(self.labels, tuple(map(float, pi)), tuple(map(float, si)), self.version)
                for pi, si in zip(p, s)]


def save_predictor(ens: TrainedEnsemble, labels: Sequence[str], cfg: PredictorConfig, out_dir: Path,
                   meta: dict) -> str:
    """Writes weights.safetensors (fp16 member weights) + config.json; returns the model version."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {"mu": torch.from_numpy(ens.mu), "sd": torch.from_numpy(ens.sd)}
    for k, m in enumerate(ens.members):
        for name, t in m.state_dict().items():
            tensors[f"m{k}.{name}"] = t.detach().to(torch.float16).contiguous()  # fp16 halves the file
    path = out_dir / "weights.safetensors"
    save_file(tensors, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    version = f"predictor-1+{digest}"
    config = {
        "version": version,
        "features": features.FEATURES_VERSION,
        "n_features": int(ens.mu.shape[0]),
        "labels": list(labels),
        "config": asdict(cfg),
        **meta,
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    return version


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
    cfg = PredictorConfig(**config["config"])
    tensors = load_file(str(d / "weights.safetensors"))
    labels = tuple(config["labels"])
    members = []
    for k in range(cfg.members):
        m = MLP(config["n_features"], len(labels), cfg)
        m.load_state_dict({n[len(f"m{k}."):]: t.float() for n, t in tensors.items() if n.startswith(f"m{k}.")})
        m.eval()
        members.append(m)
    from .datasets import load_labelled  # the data layer raises DataError with the fix when the file is absent

    data = load_labelled(settings)
    if data.labels != labels:
        raise ModelNotFound(f"The predictor weights in {d} list other labels than the training set in the "
                            f"data directory. Run `odordiff data check`, then `odordiff train predictor`.")
    neighbours = Neighbours.from_counts(features.atom_pair_counts(data.mols), data.Y, cfg)
    ens = TrainedEnsemble(tuple(members), tensors["mu"].numpy(), tensors["sd"].numpy(), neighbours, cfg.knn_weight)
    return OdorPredictor(ens, labels, config["version"])
