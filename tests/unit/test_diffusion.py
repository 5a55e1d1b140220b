"""The four diffusion pieces tested alone: tokens, schedule, model, sampler, loss (STYLE.md §3.6)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from rdkit import Chem
from torch import nn

from odordiff_core.chem import to_mol
from odordiff_core.errors import ModelNotFound
from odordiff_core.generator import condition_vector, load_generator
from odordiff_core.model import Denoiser, ModelConfig
from odordiff_core.sampler import SamplerConfig, fix_tokens, guided_logprobs, resolved_precision, sample
from odordiff_core.schedule import Cosine, LogLinear, get_schedule
from odordiff_core.tokens import (
    MASK_ID,
    PAD_ID,
    build_vocab,
    decode_smiles,
    random_smiles,
    scaffold_template,
    to_selfies,
)
from odordiff_core.train.loss import masked_diffusion_loss

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"


class FixedLogits(nn.Module):
    """A fake denoiser: the same logits whatever the input (MASK forbidden), for testing the sampler alone."""

    def __init__(self, logits: torch.Tensor, uncond: torch.Tensor | None = None) -> None:
        super().__init__()
        self.cfg = ModelConfig(vocab_size=logits.shape[-1], max_len=logits.shape[0], n_cond=3)
        self.logits = nn.Parameter(logits.clone(), requires_grad=False)
        self.uncond = uncond if uncond is not None else logits
        self.calls = 0

    def forward(self, x, cond, keep):
        self.calls += 1
        out = torch.where(keep[:, None, None], self.logits[None], self.uncond[None]).expand(x.shape[0], -1, -1).clone()
        out[..., MASK_ID] = float("-inf")
        return out


def test_schedules_are_monotone_with_0_at_t0_and_1_at_t1():
    t = torch.linspace(0, 1, 101)
    for sch in (LogLinear(), Cosine()):
        m = sch.mask_prob(t)
        assert torch.all(m[1:] >= m[:-1])
        assert m[0].item() == pytest.approx(0.0, abs=1e-7) and m[-1].item() == pytest.approx(1.0, abs=1e-6)
        assert torch.all(sch.loss_weight(t[1:]) > 0)


def test_unknown_schedule_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="cosine, loglinear"):
        get_schedule("linear")


def test_sampler_with_peaked_fixed_logits_returns_those_tokens_and_no_mask():
    L, V = 12, 8
    logits = torch.full((L, V), -30.0)
    target = torch.tensor([2, 3, 4, 5, 6, 7, 2, 3, 0, 0, 0, 0])
    logits[torch.arange(L), target] = 10.0
    x = sample(FixedLogits(logits), torch.zeros(3), 5, SamplerConfig(steps=6, guidance=1.0), LogLinear(), seed=0)
    assert x.shape == (5, L)
    assert not (x == MASK_ID).any()
    assert torch.equal(x, target.expand(5, -1))


def test_same_seed_gives_same_tokens_and_other_seed_differs():
    model = FixedLogits(torch.zeros(16, 10))
    cfg = SamplerConfig(steps=8, guidance=1.0)
    a = sample(model, torch.zeros(3), 4, cfg, LogLinear(), seed=1)
    b = sample(model, torch.zeros(3), 4, cfg, LogLinear(), seed=1)
    c = sample(model, torch.zeros(3), 4, cfg, LogLinear(), seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_guidance_zero_samples_from_the_unconditional_logits():
    L, V = 6, 6
    cond, uncond = torch.full((L, V), -30.0), torch.full((L, V), -30.0)
    cond[:, 2], uncond[:, 3] = 10.0, 10.0
    model = FixedLogits(cond, uncond)
    x0 = sample(model, torch.zeros(3), 2, SamplerConfig(steps=4, guidance=0.0), LogLinear(), seed=0)
    x2 = sample(model, torch.zeros(3), 2, SamplerConfig(steps=4, guidance=2.0), LogLinear(), seed=0)
    assert (x0 == 3).all() and (x2 == 2).all()


def test_constraint_hook_keeps_fixed_tokens_after_every_step():
    L, V = 10, 9
    template = torch.tensor([4, 5, 6, 0, 0, 0, 0, 0, 0, 0])
    fixed = torch.tensor([True, True, True] + [False] * 7)
    hook = fix_tokens(template, fixed)
    seen = []

    def spy(x):
        x = hook(x)
        seen.append(x.clone())
        return x

    init = torch.where(fixed, template, torch.full_like(template, MASK_ID))[None].repeat(3, 1)
    x = sample(FixedLogits(torch.zeros(L, V)), torch.zeros(3), 3, SamplerConfig(steps=5, guidance=1.0), LogLinear(),
               seed=3, init=init, constraint=spy)
    assert len(seen) >= 5
    assert all(torch.equal(s[:, :3], template[:3].expand(3, -1)) for s in seen)
    assert not (x == MASK_ID).any()


def _reference_sample(model, cond, n, cfg, schedule, *, seed):
    """The plain reverse loop the sampler must reproduce: two forward passes per step (conditional, then
    unconditional), a Gumbel-max draw at every position, no logits reuse."""
    gen = torch.Generator("cpu").manual_seed(seed)
    L = model.cfg.max_len
    x = torch.full((n, L), MASK_ID, dtype=torch.long)
    cond = cond[None].expand(n, -1).float()
    ts = torch.linspace(1.0, 0.0, cfg.steps + 1)
    for i in range(cfg.steps):
        masked = x == MASK_ID
        if not masked.any():
            break
        lp_c = torch.log_softmax(model(x, cond, torch.ones(n, dtype=torch.bool)), -1)
        lp_u = torch.log_softmax(model(x, cond, torch.zeros(n, dtype=torch.bool)), -1)
        mix = lp_u + cfg.guidance * (lp_c - lp_u)
        mix[..., MASK_ID] = float("-inf")
        logp = torch.log_softmax(mix, -1)
        m_t, m_s = schedule.mask_prob(ts[i]), schedule.mask_prob(ts[i + 1])
        p_reveal = float((m_t - m_s) / m_t) if i < cfg.steps - 1 else 1.0
        gumbel = -torch.log(-torch.log(torch.rand(logp.shape, generator=gen).clamp_min(1e-20)))
        draw = (logp + gumbel).argmax(-1)
        reveal = masked & (torch.rand((n, L), generator=gen) < p_reveal)
        x = torch.where(reveal, draw, x)
    return x


def test_batched_guidance_pass_gives_the_two_pass_log_probs():
    g = load_generator(TINY)
    x = torch.full((6, g.model.cfg.max_len), MASK_ID, dtype=torch.long)
    x[:, :5] = torch.randint(2, g.vocab.size, (6, 5), generator=torch.Generator().manual_seed(0))
    cond = torch.rand(6, len(g.labels), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        got = guided_logprobs(g.model, x, cond, 2.0)
        lp_c = torch.log_softmax(g.model(x, cond, torch.ones(6, dtype=torch.bool)), -1)
        lp_u = torch.log_softmax(g.model(x, cond, torch.zeros(6, dtype=torch.bool)), -1)
    want = torch.log_softmax((lp_u + 2.0 * (lp_c - lp_u)).nan_to_num(float("-inf")), -1)
    finite = torch.isfinite(want)
    assert torch.equal(finite, torch.isfinite(got))
    assert torch.allclose(got[finite], want[finite], atol=1e-5, rtol=0)


def test_float32_sampler_gives_the_same_tokens_as_the_plain_two_pass_loop():
    g = load_generator(TINY)
    cond = torch.from_numpy(condition_vector(torch.rand(len(g.labels), generator=torch.Generator().manual_seed(2)).numpy()))
    for guidance, seed in ((2.0, 0), (2.0, 1), (0.0, 2)):
        cfg = SamplerConfig(steps=6, guidance=guidance, precision="float32")
        want = _reference_sample(g.model, cond, 6, cfg, g.schedule, seed=seed)
        assert torch.equal(sample(g.model, cond, 6, cfg, g.schedule, seed=seed), want)


def test_sampler_makes_one_forward_pass_per_step_with_guidance():
    model = FixedLogits(torch.zeros(16, 10))
    sample(model, torch.zeros(3), 4, SamplerConfig(steps=6, guidance=2.0), LogLinear(), seed=0)
    assert 1 <= model.calls <= 6


def test_a_half_masked_start_at_time_one_half_takes_half_the_steps_and_keeps_its_unmasked_tokens():
    g = load_generator(TINY)
    L = g.model.cfg.max_len
    base = torch.full((8, L), 5, dtype=torch.long)
    init = torch.where(torch.arange(L) % 2 == 0, torch.full_like(base, MASK_ID), base)  # (8, L): half masked
    calls = []
    hook = g.model.register_forward_hook(lambda module, args, out: calls.append(1))
    try:
        out = sample(g.model, torch.zeros(g.model.cfg.n_cond), 8, SamplerConfig(steps=12), g.schedule, seed=0,
                     init=init, start=g.schedule.time_at(0.5))
    finally:
        hook.remove()
    assert not (out == MASK_ID).any() and torch.equal(out[init != MASK_ID], init[init != MASK_ID])
    assert 1 <= len(calls) <= 6  # one forward pass per step at most, ceil(12 * 0.5) steps


def test_time_at_inverts_each_schedules_mask_probability():
    for sch in (LogLinear(), Cosine()):
        for share in (0.0, 0.05, 0.3, 0.5, 0.9, 1.0):
            assert sch.mask_prob(torch.tensor(sch.time_at(share))).item() == pytest.approx(share, abs=1e-6)


def test_bfloat16_sampler_returns_complete_samples_and_unknown_precision_is_refused():
    L, V = 12, 8
    logits = torch.full((L, V), -30.0)
    target = torch.tensor([2, 3, 4, 5, 6, 7, 2, 3, 0, 0, 0, 0])
    logits[torch.arange(L), target] = 10.0
    x = sample(FixedLogits(logits), torch.zeros(3), 5, SamplerConfig(steps=6, guidance=2.0, precision="bfloat16"),
               LogLinear(), seed=0)
    assert torch.equal(x, target.expand(5, -1))
    assert resolved_precision(SamplerConfig(precision="float32")) == "float32"
    assert resolved_precision(SamplerConfig()) in ("float32", "bfloat16")
    with pytest.raises(ValueError, match="precision must be one of"):
        SamplerConfig(precision="fp8")  # type: ignore[arg-type]


def test_model_never_predicts_mask_and_has_the_right_shape():
    cfg = ModelConfig(vocab_size=20, max_len=12, n_cond=5, d_model=16, n_layers=1, n_heads=2)
    model = Denoiser(cfg).eval()
    x = torch.randint(0, 20, (3, 12))
    logits = model(x, torch.rand(3, 5), torch.tensor([True, False, True]))
    assert logits.shape == (3, 12, 20)
    assert torch.isinf(logits[..., MASK_ID]).all()


def test_loss_is_near_zero_for_a_model_that_knows_the_answer():
    x0 = torch.randint(2, 9, (4, 10))

    class Oracle(nn.Module):
        def forward(self, x, cond, keep):
            out = torch.full((*x.shape, 9), -50.0)
            out.scatter_(2, x0[..., None], 50.0)
            return out

    loss = masked_diffusion_loss(Oracle(), x0, torch.zeros(4, 3), torch.ones(4, dtype=torch.bool), LogLinear(),
                                 torch.Generator().manual_seed(0))
    assert 0 <= loss.item() < 1e-6


def test_the_loss_counts_only_positions_inside_the_region():
    x0 = torch.randint(2, 10, (4, 6))

    class RightButLast(nn.Module):  # predicts x0 everywhere except the last position
        def forward(self, x, cond, keep):
            out = torch.full((*x0.shape, 10), -50.0)
            out.scatter_(2, x0[..., None], 50.0)
            out[:, -1] = 0.0
            return out

    region = torch.ones(4, 6, dtype=torch.bool)
    args = (RightButLast(), x0, torch.zeros(4, 3), torch.ones(4, dtype=torch.bool), LogLinear())
    assert masked_diffusion_loss(*args, torch.Generator().manual_seed(0), region).item() > 0.1
    region[:, -1] = False
    assert 0 <= masked_diffusion_loss(*args, torch.Generator().manual_seed(0), region).item() < 1e-6


def test_selfies_round_trip_through_the_vocab_is_the_same_molecule():
    smiles = ["CC(C)=CCCC(C)(O)C=C", "O=Cc1ccc(O)c(OC)c1", "CC1=CCC(CC1)C(C)=C"]
    sfs = [to_selfies(s) for s in smiles]
    vocab = build_vocab(sfs)
    for _s, sf_str in zip(smiles, sfs):
        ids = vocab.encode(sf_str, 40)
        assert ids is not None and len(ids) == 40 and ids[-1] == PAD_ID
        assert decode_smiles(vocab.decode(ids)) == decode_smiles(sf_str)
    assert vocab.encode(sfs[0], 3) is None  # too long


def test_scaffold_template_fixes_the_ring_tokens_only():
    smi = "CC(=O)c1ccccc1"
    vocab = build_vocab([to_selfies("CC(=O)c1ccccc1")])
    ids, fixed = scaffold_template(smi, vocab, 30)
    toks = [vocab.tokens[i] for i, f in zip(ids, fixed) if f]
    assert toks.count("[C]") + toks.count("[=C]") == 6 and "[=O]" not in toks
    assert scaffold_template("CCCCCC=O", vocab, 30) is None  # acyclic: no scaffold


def test_condition_vector_sums_to_one_and_keeps_zero_rows():
    w = condition_vector(torch.tensor([[0, 1, 1, 0], [0, 0, 0, 0]], dtype=torch.float32).numpy())
    assert w[0].sum() == pytest.approx(1.0) and w[1].sum() == 0


def test_tiny_checkpoint_loads_and_a_wrong_vocab_is_refused(tmp_path):
    g = load_generator(TINY)
    assert g.version.startswith("generator-1.0+") and len(g.labels) == 138
    bad = tmp_path / "bad"
    shutil.copytree(TINY, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["vocab"] = cfg["vocab"][:-1]
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelNotFound, match="Retrain"):
        load_generator(bad)
    with pytest.raises(ModelNotFound, match="odordiff train generator"):
        load_generator(tmp_path / "missing")


@pytest.mark.parametrize("seed", [0, 1, 2**31, 2**63 - 1])
def test_randomized_smiles_are_the_same_for_the_same_seed_whatever_its_size(seed):
    mol = to_mol("CC(C)=CCCC(C)=CC=O")
    assert mol is not None
    first = random_smiles(mol, 6, seed)
    assert random_smiles(mol, 6, seed) == first  # RDKit alone leaves 0 unseeded and overflows above 2**31
    assert len(first) > 2 and {Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in first} == {Chem.MolToSmiles(mol)}
