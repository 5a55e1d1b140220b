"""Masking schedules: diffusion time t in [0, 1] -> probability that a token is masked. No weights.

Absorbing-state (masked) diffusion as in MDLM (Sahoo et al. 2024): a clean token stays itself with
probability alpha(t) and becomes MASK otherwise; mask_prob(t) = 1 - alpha(t) goes from 0 at t = 0 to
1 at t = 1. `loss_weight(t)` is -alpha'(t) / (1 - alpha(t)), the weight of the continuous-time NELBO.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


class LogLinear:
    """mask_prob(t) = t: the MDLM default; the NELBO weight is 1/t."""

    name = "loglinear"

    def mask_prob(self, t: Tensor) -> Tensor:
        return t

    def time_at(self, mask_share: float) -> float:
        """Returns the time t at which mask_prob(t) = mask_share (0..1)."""
        return mask_share

    def loss_weight(self, t: Tensor) -> Tensor:
        return 1.0 / t


class Cosine:
    """mask_prob(t) = 1 - cos(pi t / 2): masks slowly at first, so more steps are spent near clean data."""

    name = "cosine"

    def mask_prob(self, t: Tensor) -> Tensor:
        return 1.0 - torch.cos(0.5 * math.pi * t)

    def time_at(self, mask_share: float) -> float:
        """Returns the time t at which mask_prob(t) = mask_share (0..1)."""
        return 2.0 / math.pi * math.acos(1.0 - mask_share)

    def loss_weight(self, t: Tensor) -> Tensor:
        # -alpha'/(1-alpha) with alpha = cos(pi t/2): (pi/2) sin / (1 - cos)
        return 0.5 * math.pi * torch.sin(0.5 * math.pi * t) / (1.0 - torch.cos(0.5 * math.pi * t))


Schedule = LogLinear | Cosine
_SCHEDULES = {s.name: s for s in (LogLinear, Cosine)}


def get_schedule(name: str) -> Schedule:
    """Returns the schedule called `name`; raises ValueError listing the known names otherwise."""
    try:
        return _SCHEDULES[name]()
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; known: {', '.join(sorted(_SCHEDULES))}") from None
