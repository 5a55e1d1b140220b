"""Denoiser: (x_t, condition) -> logits over the clean token at every position. Nothing else.

A small bidirectional transformer (nanoGPT blocks without the causal mask). The condition, a 138-dim
vector of odor-label weights, becomes one prefix token; a learned "null" token replaces it when the
condition is dropped (classifier-free guidance). No time input: for absorbing-state diffusion the
number of MASK tokens already tells the model how noisy x_t is, and MDLM reports no loss from dropping it;
it also lets the sampler skip a forward pass when no token changed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int  # PAD + MASK + SELFIES symbols
    max_len: int = 64  # tokens per molecule; longer SELFIES are left out of training
    n_cond: int = 138  # GS-LF odor labels
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 8
    dropout: float = 0.1  # training only

    def to_dict(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(),
                                 nn.Linear(4 * cfg.d_model, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: Tensor) -> Tensor:
        B, T, C = h.shape
        q, k, v = self.qkv(self.ln1(h)).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (z.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        p = self.drop.p if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (B, nh, T, hs)
        h = h + self.drop(self.proj(a.transpose(1, 2).reshape(B, T, C)))  # (B, T, C)
        return h + self.drop(self.mlp(self.ln2(h)))  # (B, T, C)


class Denoiser(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Parameter(torch.zeros(1, cfg.max_len + 1, cfg.d_model))
        self.cond = nn.Linear(cfg.n_cond, cfg.d_model)
        self.null_cond = nn.Parameter(torch.zeros(cfg.d_model))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)
        nn.init.normal_(self.pos, std=0.02)
        nn.init.normal_(self.null_cond, std=0.02)

    def forward(self, x_t: Tensor, cond: Tensor, keep_cond: Tensor) -> Tensor:
        """Returns logits (B, L, V) of the clean tokens; MASK (id 1) gets -inf, it is never a clean token.

        x_t: (B, L) token ids; cond: (B, n_cond) label weights; keep_cond: (B,) bool, False = use the null token.
        """
        c = torch.where(keep_cond[:, None], self.cond(cond), self.null_cond.expand(cond.shape[0], -1))  # (B, C)
        h = torch.cat([c[:, None, :], self.tok(x_t)], dim=1) + self.pos  # (B, L+1, C)
        for block in self.blocks:
            h = block(h)
        logits = self.head(self.ln_f(h[:, 1:]))  # (B, L, V)
        logits[..., 1] = float("-inf")
        return logits

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
