"""The MLP head's input features: the one definition that training and serving share (no train/serve skew)."""
from __future__ import annotations

import numpy as np


def head_features(emb: np.ndarray, label_emb: np.ndarray) -> np.ndarray:
    """Returns (N, 384 + 138) float32 head inputs: each embedding, then its cosine to every label name.

    `emb` (N, 384) and `label_emb` (138, 384) are unit-norm all-MiniLM-L6-v2 embeddings, so the dot
    product is the cosine similarity.
    """
    return np.concatenate([emb, emb @ label_emb.T], axis=1).astype(np.float32)  # (N, 522)
