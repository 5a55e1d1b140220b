"""Masked-diffusion training loss (MDLM continuous-time NELBO). Used by training only."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..model import Denoiser
from ..schedule import Schedule
from ..tokens import MASK_ID

T_MIN = 1e-3  # smallest diffusion time drawn: keeps the 1/t weight finite


def masked_diffusion_loss(model: Denoiser, x0: Tensor, cond: Tensor, keep_cond: Tensor, schedule: Schedule,
                          gen: torch.Generator | None = None, region: Tensor | None = None) -> Tensor:
    """Returns the mean per-token NELBO of a batch: cross-entropy on the masked tokens, weighted by the schedule.

    x0: (B, L) clean ids; cond: (B, n_cond); keep_cond: (B,) bool. Times are drawn low-discrepancy
    (one uniform offset, evenly spaced over the batch) to cut the variance, as in MDLM.
    `gen` (on x0's device) makes the draw reproducible, e.g. for a fixed held-out loss. region: (B, L) bool, the
    positions that may be masked (default all): an edit's re-masked positions, so that the denoiser is trained in the
    states the sampler visits from that start, where t is the share of the region still masked.
    """
    B, L = x0.shape
    u = torch.rand(1, device=x0.device, generator=gen)
    t = (u + torch.arange(B, device=x0.device) / B) % 1.0  # (B,)
    t = T_MIN + (1 - T_MIN) * t
    masked = torch.rand(B, L, device=x0.device, generator=gen) < schedule.mask_prob(t)[:, None]  # (B, L)
    if region is not None:
        masked &= region
    x_t = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
    logits = model(x_t, cond, keep_cond)  # (B, L, V)
    ce = F.cross_entropy(logits.float().transpose(1, 2), x0, reduction="none")  # (B, L)
    return (ce * masked * schedule.loss_weight(t)[:, None]).sum() / (B * L)
