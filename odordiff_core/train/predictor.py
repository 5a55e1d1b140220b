"""Training of the odor predictor: the MLP ensemble on the GS-LF set, and the weights folder it ships in.

The runtime (`odordiff_core/odor.py`) only loads what `save_predictor` writes; `odordiff train predictor`
and the cross-validation (`odordiff_core/eval/predictor.py`) call `train_ensemble`.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from .. import features
from ..odor import MLP, Neighbours, PredictorConfig, TrainedEnsemble, scale_features
from ..scores import KNOWN_SCORES_FILE


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns (mean, std) that leave fingerprint columns unchanged and standardise descriptors."""
    mu = np.zeros(X.shape[1], np.float32)
    sd = np.ones(X.shape[1], np.float32)
    mu[features.N_FINGERPRINT:] = X[:, features.N_FINGERPRINT:].mean(0)
    sd[features.N_FINGERPRINT:] = X[:, features.N_FINGERPRINT:].std(0) + 1e-3
    return mu, sd


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


def train_ensemble(X: np.ndarray, Y: np.ndarray, cfg: PredictorConfig) -> TrainedEnsemble:
    """Trains cfg.members MLPs with different seeds on raw features X (N, F) and labels Y (N, L)."""
    mu, sd = _standardizer(X)
    Xs = scale_features(X, mu, sd).numpy()
    members = tuple(train_member(Xs, Y, cfg, seed=cfg.seed * 1000 + k) for k in range(cfg.members))
    neighbours = Neighbours.from_counts(features.atom_pair_counts_from(X), Y, cfg)
    return TrainedEnsemble(members, mu, sd, neighbours, cfg.knn_weight)


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


def save_known_scores(probs: np.ndarray, predictor_version: str, out_dir: Path, meta: dict[str, str]) -> Path:
    """Writes the known odorants' predicted probabilities (M, L) as float16 safetensors keyed to the predictor
    version (the runtime's `scores.load_known_scores` refuses another version); returns the path."""
    path = out_dir / KNOWN_SCORES_FILE
    tensors = {"probs": torch.from_numpy(np.ascontiguousarray(probs, np.float32)).to(torch.float16)}
    save_file(tensors, str(path), metadata={"predictor_version": predictor_version, **meta})
    return path
