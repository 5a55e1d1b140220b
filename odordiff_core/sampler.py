"""Reverse process: start from MASK (or a partly masked molecule) and unmask over `steps` steps.

MDLM ancestral sampling with carry-over: between times t > s each still-masked token is revealed with
probability (m(t) - m(s)) / m(t) (m = the schedule's mask rate), drawn from the denoiser's distribution;
revealed tokens never change. Classifier-free guidance mixes conditional and unconditional log-probs,
both from one batched forward pass. A constraint hook (SEDD's `proj_fun`) is applied to the token ids
after every step: it is how fixed scaffold tokens ("more like this") are held in place.

Speed (docs/model_card_generator.md, Speed): the forward passes are almost all of the time. They run in
bfloat16 autocast where the hardware multiplies bfloat16 natively (the precision the model was trained in),
else in float32; the sampler never changes torch's thread settings (the process owns them). Neither of the
following changes a sampled token (tests/unit/test_diffusion.py, tests/unit/test_generate.py):
- autocast does not keep its bfloat16 copies of the weights under inference mode, so it would cast every linear
  layer's weights again on every pass; `bf16_twin` casts them once per model instead (the same bfloat16 values);
- a row's log-probs are recomputed only when one of its tokens was revealed since its last pass and it still
  has a MASK: rows do not interact in the denoiser, and a row's numbers do not depend on the batch it is in.
"""
from __future__ import annotations

import copy
import functools
import math
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

import torch
from torch import Tensor, nn

from .config import GENERATION
from .model import Denoiser
from .schedule import Schedule
from .tokens import MASK_ID

Constraint = Callable[[Tensor], Tensor]  # (n, L) ids -> (n, L) ids, applied after every step
Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS: tuple[Precision, ...] = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = GENERATION.steps  # fewer steps: faster, tokens revealed together are sampled independently
    guidance: float = GENERATION.guidance  # 0 = unconditional, 1 = plain conditional, > 1 = pushed to the condition
    temperature: float = GENERATION.temperature  # divides the guided log-probs; < 1 = safer, less diverse
    # Matmul precision of the forward passes. "auto": bfloat16 autocast where the device multiplies bfloat16
    # natively (CPU AMX / AVX512-BF16, a bf16-capable GPU), as the model was trained; float32 elsewhere, where
    # emulated bfloat16 would be slower. Mean KL to float32 ~1e-4 nats per token (model card, Speed).
    precision: Precision = "auto"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


@functools.cache
def native_bf16(device_type: str) -> bool:
    """Returns True when `device_type` ("cpu", "cuda") multiplies bfloat16 in hardware, so autocast is faster."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type != "cpu":
        return False
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu's ISA probes (private, stable since 2.3)
    return any(bool(getattr(torch.cpu, p, lambda: False)()) for p in probes)


def resolved_precision(cfg: SamplerConfig, device_type: str = "cpu") -> Literal["float32", "bfloat16"]:
    """Returns the precision `sample` uses for cfg on this device: "auto" resolved by `native_bf16`."""
    if cfg.precision == "auto":
        return "bfloat16" if native_bf16(device_type) else "float32"
    return cfg.precision


def fix_tokens(template: Tensor, fixed: Tensor) -> Constraint:
    """Returns a constraint that writes template's tokens back wherever `fixed` is True (both (L,) or (n, L))."""
    def apply(x: Tensor) -> Tensor:
        return torch.where(fixed.to(x.device), template.to(x.device), x)
    return apply


def guided_logprobs(model: Denoiser, x: Tensor, cond: Tensor, guidance: float) -> Tensor:
    """Returns guided log-probabilities (n, L, V) in float32: log p_u + g (log p_c - log p_u).

    One forward pass: x is stacked with itself, the first half with the condition, the second with the
    null condition (same numbers as two passes: rows do not interact). g = 0 or 1 needs only one half.
    Runs under whatever autocast the caller set; the logits are taken to float32 before the softmax.
    """
    n = x.shape[0]
    if guidance == 1.0:
        return torch.log_softmax(model(x, cond, torch.ones(n, dtype=torch.bool, device=x.device)).float(), -1)
    if guidance == 0.0:
        return torch.log_softmax(model(x, cond, torch.zeros(n, dtype=torch.bool, device=x.device)).float(), -1)
    keep = torch.cat([torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)]).to(x.device)  # (2n,)
    lp = torch.log_softmax(model(torch.cat([x, x]), torch.cat([cond, cond]), keep).float(), -1)  # (2n, L, V)
    lp_c, lp_u = lp[:n], lp[n:]  # (n, L, V) each
    mix = lp_u + guidance * (lp_c - lp_u)  # (n, L, V); the MASK column is -inf - -inf = nan here
    mix[..., MASK_ID] = float("-inf")
    return torch.log_softmax(mix, -1)  # (n, L, V)


def _autocast(precision: str, device_type: str) -> AbstractContextManager[object]:
    if precision == "bfloat16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return nullcontext()


M = TypeVar("M", bound=nn.Module)
_TWINS: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], nn.Module]] = weakref.WeakKeyDictionary()
_TWINS_LOCK = threading.Lock()


def bf16_twin(model: M) -> M:
    """Returns a copy of `model` whose nn.Linear weights and biases are stored in bfloat16, for bfloat16 autocast.

    Under autocast a linear layer computes in bfloat16 from bfloat16 casts of its float32 weights; the twin holds
    those casts, so its outputs are the same numbers without a cast per forward pass (otherwise the linear
    layers, 98% of the shipped model's 3.3 M weights, are cast again on every pass). Made once per model and kept while the model lives; made
    again when a parameter changed in place since (training), which its version counters tell. A model with no
    linear layer is returned as it is. Thread-safe: the app's sessions share one model.
    """
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        return model
    stamp = tuple(-1 if p.is_inference() else p._version for p in model.parameters())  # inference tensors have no counter
    with _TWINS_LOCK:
        hit = _TWINS.get(model)
        if hit is None or hit[0] != stamp:
            twin = copy.deepcopy(model)
            for m in twin.modules():
                if isinstance(m, nn.Linear):
                    m.to(torch.bfloat16)
            hit = (stamp, twin)
            _TWINS[model] = hit
    return cast(M, hit[1])


@torch.inference_mode()
def sample(model: Denoiser, cond: Tensor, n: int, cfg: SamplerConfig, schedule: Schedule, *, seed: int,
           init: Tensor | None = None, constraint: Constraint | None = None, start: float = 1.0) -> Tensor:
    """Returns n sampled token-id sequences (n, L); no MASK remains.

    cond: (n_cond,) or (n, n_cond) label weights. init: (n, L) ids to start from, MASK where to generate
    (default all MASK); used for editing. start: the diffusion time init is at (1 = all MASK; an edit that re-masked
    a share m of the tokens is at `schedule.time_at(m)`): the reverse process runs from there to 0 in
    ceil(cfg.steps * start) steps, so a half-masked start takes half the steps, each revealing as many tokens as a
    de-novo step. Randomness comes only from a CPU torch.Generator seeded with
    `seed`, so the same inputs and seed give the same output on any thread (and, at one precision, on
    any machine up to floating-point rounding; `resolved_precision` says which precision ran).
    """
    device = next(model.parameters()).device
    gen = torch.Generator("cpu").manual_seed(seed)
    L, V = model.cfg.max_len, model.cfg.vocab_size
    x = torch.full((n, L), MASK_ID, dtype=torch.long) if init is None else init.clone().cpu()  # (n, L)
    if constraint is not None:
        x = constraint(x)
    cond = (cond if cond.dim() == 2 else cond[None].expand(n, -1)).float().to(device)  # (n, n_cond)
    one_cond = bool((cond == cond[:1]).all())  # every row has the same condition (one prompt)
    steps = cfg.steps if start >= 1.0 else max(1, math.ceil(cfg.steps * start))
    ts = torch.linspace(min(start, 1.0), 0.0, steps + 1)
    precision = resolved_precision(cfg, device.type)
    net = bf16_twin(model) if precision == "bfloat16" else model
    logp = torch.empty(0)  # (n, L, V) once set: each row's guided log-probs at `seen`
    seen: Tensor | None = None  # (n, L): the ids each row's log-probs were computed from
    with _autocast(precision, device.type):
        for i in range(steps):
            masked = x == MASK_ID  # (n, L)
            if not masked.any():
                break
            if seen is None and one_cond and bool((x == x[:1]).all()):  # all rows alike (all MASK, or one scaffold): one row serves all
                logp = _guided(net, x[:1], cond[:1], cfg, device).expand(n, -1, -1).clone()  # (n, L, V)
            else:  # only rows revealed since their last pass that still have a MASK need new log-probs
                stale = masked.any(1) if seen is None else masked.any(1) & (x != seen).any(1)  # (n,)
                todo = stale.nonzero(as_tuple=True)[0]  # (k,)
                if seen is None:
                    logp = torch.empty((n, L, V))  # rows without a MASK are never read
                if len(todo):
                    logp[todo] = _guided(net, x[todo], cond[todo], cfg, device)  # (k, L, V)
            seen = x.clone()
            m_t, m_s = schedule.mask_prob(ts[i]), schedule.mask_prob(ts[i + 1])
            p_reveal = float((m_t - m_s) / m_t) if i < steps - 1 else 1.0
            u = torch.rand((n, L, V), generator=gen)  # (n, L, V) Gumbel uniforms, drawn for every position...
            reveal = masked & (torch.rand((n, L), generator=gen) < p_reveal)  # (n, L)
            rows, cols = reveal.nonzero(as_tuple=True)  # ...but only the revealed ones need the Gumbel-max draw
            gumbel = -torch.log(-torch.log(u[rows, cols].clamp_min(1e-20)))  # (k, V)
            x = x.clone()
            x[rows, cols] = (logp[rows, cols] + gumbel).argmax(-1)  # (k,)
            if constraint is not None:
                x = constraint(x)
    return x


def _guided(model: Denoiser, x: Tensor, cond: Tensor, cfg: SamplerConfig, device: torch.device) -> Tensor:
    """Returns the guided log-probs (k, L, V) of x (k, L) on the CPU, divided by the temperature."""
    logp = guided_logprobs(model, x.to(device), cond, cfg.guidance).cpu()
    return logp / cfg.temperature if cfg.temperature != 1.0 else logp
