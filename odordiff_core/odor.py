"""Odor predictor: Mol -> calibrated probabilities over the 138 GS-LF labels, with an uncertainty.

Method: an ensemble of K MLPs (different seeds, all the training data) over Morgan, atom-pair and
topological-torsion counts and RDKit descriptors (features.py), trained with binary cross-entropy.
The probability is the members' mean, the uncertainty their standard deviation. Calibration is
measured, not assumed: `odordiff evaluate predictor` prints the expected calibration error and the
Brier score on held-out folds (see MODEL_CARD.md). Measured alternatives that did worse on the
same folds: a cross-validation-bagged ensemble with temperature scaling (each member sees 80% of the
data; fitted temperature 1.03, i.e. the plain members are already calibrated) and a Tanimoto-kNN blend.
"""
from __future__ import annotations

import hashlib
import json
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
    batch_size: int = 128
    lr: float = 1e-3  # peak of the one-cycle schedule
    weight_decay: float = 1e-2  # AdamW
    members: int = 3  # ensemble size: seeds differ; 3 gives the spread used as uncertainty
    seed: int = 0


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
    return torch.from_numpy(np.clip((X - mu) / sd, -6.0, 6.0).astype(np.float32))


def train_member(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig, seed: int) -> MLP:
    """Returns one MLP trained with BCE on scaled features X (N, F) and 0/1 labels Y (N, L)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # weight init; training is single-process and not shared with sessions
    net = MLP(X.shape[1], Y.shape[1], cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
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
class TrainedEnsemble:
    members: tuple[MLP, ...]
    mu: np.ndarray  # (F,) feature means (0 for fingerprint columns)
    sd: np.ndarray  # (F,) feature stds (1 for fingerprint columns)


def train_ensemble(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig) -> TrainedEnsemble:
    """Trains cfg.members MLPs with different seeds on raw features X (N, F) and labels Y (N, L)."""
    mu, sd = _standardizer(X)
    Xs = _scale(X, mu, sd).numpy()
    members = tuple(train_member(Xs, Y, cfg, seed=cfg.seed * 1000 + k) for k in range(cfg.members))
    return TrainedEnsemble(members, mu, sd)


def ensemble_proba(ens: TrainedEnsemble, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns (mean, std) of the member probabilities, each (N, L)."""
    x = _scale(X, ens.mu, ens.sd)
    with torch.inference_mode():
        p = torch.stack([torch.sigmoid(m(x)) for m in ens.members])  # (K, N, L)
    return p.mean(0).numpy(), p.std(0, correction=0).numpy()


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
    """Returns the shipped predictor. Raises ModelNotFound when the weights are missing or do not match."""
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
    ens = TrainedEnsemble(tuple(members), tensors["mu"].numpy(), tensors["sd"].numpy())
    return OdorPredictor(ens, labels, config["version"])
