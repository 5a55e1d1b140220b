"""Reverse process: start from MASK (or a partly masked molecule) and unmask over `steps` steps.

MDLM ancestral sampling with carry-over: between times t > s each still-masked token is revealed with
probability (m(t) - m(s)) / m(t) (m = the schedule's mask rate), drawn from the denoiser's distribution;
revealed tokens never change. Classifier-free guidance mixes conditional and unconditional log-probs.
A constraint hook (SEDD's `proj_fun`) is applied to the token ids after every step: it is how fixed
scaffold tokens ("more like this") are held in place.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .config import GENERATION
from .model import Denoiser
from .schedule import Schedule
from .tokens import MASK_ID

Constraint = Callable[[Tensor], Tensor]  # (n, L) ids -> (n, L) ids, applied after every step


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = GENERATION.steps  # fewer steps: faster, tokens revealed together are sampled independently
    guidance: float = GENERATION.guidance  # 0 = unconditional, 1 = plain conditional, > 1 = pushed to the condition
    temperature: float = 1.0  # divides the guided log-probs; < 1 = safer, less diverse


def fix_tokens(template: Tensor, fixed: Tensor) -> Constraint:
    """Returns a constraint that writes template's tokens back wherever `fixed` is True (both (L,) or (n, L))."""
    def apply(x: Tensor) -> Tensor:
        return torch.where(fixed.to(x.device), template.to(x.device), x)
    return apply


def guided_logprobs(model: Denoiser, x: Tensor, cond: Tensor, guidance: float) -> Tensor:
    """Returns guided log-probabilities (n, L, V): log p_u + g (log p_c - log p_u), one batched forward pass."""
    n = x.shape[0]
    if guidance == 1.0:
        return torch.log_softmax(model(x, cond, torch.ones(n, dtype=torch.bool, device=x.device)), -1)
    if guidance == 0.0:
        return torch.log_softmax(model(x, cond, torch.zeros(n, dtype=torch.bool, device=x.device)), -1)
    keep = torch.cat([torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)]).to(x.device)
    lp = torch.log_softmax(model(torch.cat([x, x]), torch.cat([cond, cond]), keep), -1)  # (2n, L, V)
    lp_c, lp_u = lp[:n], lp[n:]
    mix = lp_u + guidance * (lp_c - lp_u)  # (n, L, V); the MASK column is -inf - -inf = nan here
    mix[..., MASK_ID] = float("-inf")
    return torch.log_softmax(mix, -1)


@torch.inference_mode()
def sample(model: Denoiser, cond: Tensor, n: int, cfg: SamplerConfig, schedule: Schedule, *, seed: int,
           init: Tensor | None = None, constraint: Constraint | None = None) -> Tensor:
    """Returns n sampled token-id sequences (n, L); no MASK remains.

    cond: (n_cond,) or (n, n_cond) label weights. init: (n, L) ids to start from, MASK where to generate
    (default all MASK); used for editing. Randomness comes only from a CPU torch.Generator seeded with
    `seed`, so the same inputs and seed give the same output on any thread.
    """
    device = next(model.parameters()).device
    gen = torch.Generator("cpu").manual_seed(seed)
    L = model.cfg.max_len
    x = torch.full((n, L), MASK_ID, dtype=torch.long) if init is None else init.clone().cpu()  # (n, L)
    if constraint is not None:
        x = constraint(x)
    cond = (cond if cond.dim() == 2 else cond[None].expand(n, -1)).float().to(device)  # (n, n_cond)
    ts = torch.linspace(1.0, 0.0, cfg.steps + 1)
    logp, last_x = None, None
    for i in range(cfg.steps):
        masked = x == MASK_ID  # (n, L)
        if not masked.any():
            break
        if logp is None or last_x is None or not torch.equal(x, last_x):  # nothing revealed since the last pass: same logits
            logp = guided_logprobs(model, x.to(device), cond, cfg.guidance).float().cpu() / cfg.temperature
            last_x = x.clone()
        m_t, m_s = schedule.mask_prob(ts[i]), schedule.mask_prob(ts[i + 1])
        p_reveal = float((m_t - m_s) / m_t) if i < cfg.steps - 1 else 1.0
        gumbel = -torch.log(-torch.log(torch.rand(logp.shape, generator=gen).clamp_min(1e-20)))  # (n, L, V)
        draw = (logp + gumbel).argmax(-1)  # (n, L)
        reveal = masked & (torch.rand((n, L), generator=gen) < p_reveal)
        x = torch.where(reveal, draw, x)
        if constraint is not None:
            x = constraint(x)
    return x
