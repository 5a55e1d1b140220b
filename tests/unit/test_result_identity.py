"""The speed-ups of generation change no result: same request + seed => the same result JSON, byte for byte.

The sampler recomputes only the rows that changed and uses a bfloat16 copy of the weights (`sampler.bf16_twin`);
the pipeline keeps its prompt readings. Each test compares with the plain way of doing the same thing.
"""
from __future__ import annotations

import json
import math
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from odordiff_core.cache import request_key
from odordiff_core.config import Settings
from odordiff_core.generator import condition_vector, load_generator
from odordiff_core.pipeline import GenerateRequest, Pipeline
from odordiff_core.report import load_reporter
from odordiff_core.retrieval import load_retriever
from odordiff_core.sampler import SamplerConfig, bf16_twin, guided_logprobs, resolved_precision
from odordiff_core.text import load_interpreter
from odordiff_core.tokens import MASK_ID, decode_smiles

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"

REQUESTS = (  # de novo, exploration from known odorants, "more like this", edit, weights only, another seed
    GenerateRequest("a clean citrus top note", n=4, seed=0),
    GenerateRequest("warm woody amber, not sweet", n=4, seed=3, exploration=0.5),
    GenerateRequest("rose with a hint of citrus", n=3, seed=4, keep_scaffold_of="CC1=CCC(CC1)C(C)=C"),
    GenerateRequest("lemon", n=4, seed=5, edit_of="CC(C)=CCCC(C)=CC=O", guidance=1.5),
    GenerateRequest("", n=4, seed=1, weights={"citrus": 1.0, "green": 0.4}),
)


@pytest.fixture(scope="module")
def tiny_pipeline() -> Pipeline:
    settings = Settings.from_env()
    gen = load_generator(TINY)
    return Pipeline(generator=gen, interpreter=load_interpreter(settings), reporter=load_reporter(settings),
                    retriever=load_retriever(settings, gen.labels, (h["smiles"] for h in gen.heldout())))


@torch.inference_mode()
def plain_sample(model, cond, n, cfg, schedule, *, seed, init=None, constraint=None, start=1.0):
    """The reverse loop without the speed-ups: every row through the model (autocast's own weight casts) at
    every step in which any token changed, the same random draws in the same order as `sampler.sample`, from
    time `start` in ceil(steps * start) steps."""
    gen = torch.Generator("cpu").manual_seed(seed)
    L, V = model.cfg.max_len, model.cfg.vocab_size
    x = torch.full((n, L), MASK_ID, dtype=torch.long) if init is None else init.clone()
    x = constraint(x) if constraint is not None else x
    cond = cond[None].expand(n, -1).float()
    steps = cfg.steps if start >= 1.0 else max(1, math.ceil(cfg.steps * start))
    ts = torch.linspace(start, 0.0, steps + 1)
    bf16 = resolved_precision(cfg) == "bfloat16"
    logp, last = None, None
    with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
        for i in range(steps):
            masked = x == MASK_ID
            if not masked.any():
                break
            if last is None or not torch.equal(x, last):
                logp = guided_logprobs(model, x, cond, cfg.guidance) / cfg.temperature
                last = x.clone()
            m_t, m_s = schedule.mask_prob(ts[i]), schedule.mask_prob(ts[i + 1])
            p_reveal = float((m_t - m_s) / m_t) if i < steps - 1 else 1.0
            u = torch.rand((n, L, V), generator=gen)
            reveal = masked & (torch.rand((n, L), generator=gen) < p_reveal)
            draw = (logp + -torch.log(-torch.log(u.clamp_min(1e-20)))).argmax(-1)
            x = torch.where(reveal, draw, x)
            x = constraint(x) if constraint is not None else x
    return x


def _json(result) -> str:
    return json.dumps(result.to_json(), sort_keys=True)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_samples_and_result_json_are_byte_identical_to_the_plain_sampler_loop(tiny_pipeline, precision):
    pipe = replace(tiny_pipeline, sampler=SamplerConfig(precision=precision, temperature=0.9))
    g = pipe.generator
    for req in REQUESTS:
        plan = pipe.plan(req)
        cond = torch.from_numpy(condition_vector(plan.target))
        x = plain_sample(g.model, cond, plan.n_samples, replace(pipe.sampler, guidance=req.guidance), g.schedule,
                         seed=req.seed, init=plan.init, constraint=plan.constraint, start=plan.start)
        raw = [decode_smiles(g.vocab.decode(row.tolist())) for row in x]
        drawn = pipe.sample(plan)  # the k * n draws, then the refill rounds' (test_generate.py tests those)
        assert drawn[:plan.n_samples] == raw, req  # screen and rank are deterministic functions of these
        if req is REQUESTS[0]:
            assert _json(pipe.generate(req)) == _json(pipe.rank(plan, pipe.screen(plan, drawn)))


def test_reading_a_brief_first_changes_nothing_in_its_result(tiny_pipeline):
    req = GenerateRequest("fresh green apple, not sweet", n=2, seed=2)
    cold = _json(replace(tiny_pipeline).generate(req))  # replace(): a new Pipeline, with no reading kept yet
    warm = replace(tiny_pipeline)
    reading = warm.interpret(req.prompt)
    assert warm.interpret(req.prompt) is reading  # read once, kept
    assert _json(warm.generate(req)) == cold


def test_the_bfloat16_copy_is_made_once_per_model_and_again_after_its_weights_change():
    model = load_generator(TINY).model
    twin = bf16_twin(model)
    assert bf16_twin(model) is twin
    assert twin.head.weight.dtype == torch.bfloat16 and model.head.weight.dtype == torch.float32
    assert torch.equal(twin.head.weight, model.head.weight.bfloat16())
    with torch.no_grad():
        model.head.weight.mul_(2.0)  # as an optimizer step would
    again = bf16_twin(model)
    assert again is not twin and torch.equal(again.head.weight, model.head.weight.bfloat16())


def test_the_cache_key_names_the_sampler_precision():
    key = request_key("generate", "gen-1", {"prompt": "x"})
    assert f":gen-1:{resolved_precision(SamplerConfig())}:" in key
