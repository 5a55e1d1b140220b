"""Rejection-sampling fine-tuning: only screened, well-fitting samples are kept, and the result is a loadable generator."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from odordiff_core.chem import to_mol
from odordiff_core.eval.generator import is_odorant_like
from odordiff_core.generator import load_generator
from odordiff_core.pipeline import Pipeline
from odordiff_core.report import load_reporter
from odordiff_core.retrieval import load_retriever
from odordiff_core.scores import load_known_scores
from odordiff_core.text import load_interpreter
from odordiff_core.tokens import MASK_ID, decode_smiles
from odordiff_core.train.generator import CorpusConfig, prepare_corpus
from odordiff_core.train.rsft import RsftConfig, collect, encode_edits, encode_kept, finetune

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"
FEW = RsftConfig(per_condition=4, keep=2, min_percentile=0.0, steps=8, batch_conditions=16, n_aug=2, ft_steps=3,
                 batch_size=8, eval_every=2, eval_sequences=16, bf16=False)


@pytest.fixture(scope="module")
def tiny_setup(settings, tmp_path_factory):
    gen = load_generator(TINY)
    reporter = load_reporter(settings)
    pred = reporter.predictor
    pipe = Pipeline(generator=gen, interpreter=load_interpreter(settings), reporter=reporter,
                    known_scores=load_known_scores(settings, pred.version, len(pred.labels)),
                    retriever=load_retriever(settings, gen.labels, (h["smiles"] for h in gen.heldout())))
    data_file = tmp_path_factory.mktemp("rsft") / "tiny.pt"
    prepare_corpus(settings, data_file, CorpusConfig(max_len=40, n_aug=2, max_molecules=600))
    data = torch.load(data_file, weights_only=True)
    y = data["y_row"]
    few_rows = sorted(set(y[(y >= 0) & ~data["val"]].tolist()))[:16]  # 16 conditions keep the test short
    data["y_row"] = torch.where(torch.isin(y, torch.tensor(few_rows)), y, torch.full_like(y, -1))
    return pipe, data


def test_kept_samples_are_novel_sound_odorant_like_and_at_most_keep_per_condition(tiny_setup):
    pipe, data = tiny_setup
    kept = collect(pipe, data, FEW, log=lambda s: None)
    assert kept, "the tiny model at min_percentile 0 keeps something"
    per_row: dict[int, int] = {}
    for d in kept:
        mol = to_mol(d["smiles"])
        assert mol is not None and not pipe.reporter.known.is_known(mol)
        assert pipe.soundness.check(mol).sound and is_odorant_like(mol)
        assert 0.0 <= d["percentile"] <= 100.0
        per_row[d["row"]] = per_row.get(d["row"], 0) + 1
    assert max(per_row.values()) <= FEW.keep


def test_a_high_percentile_floor_keeps_only_samples_above_it(tiny_setup):
    pipe, data = tiny_setup
    kept = collect(pipe, data, replace(FEW, min_percentile=90.0), log=lambda s: None)
    assert all(d["percentile"] >= 90.0 for d in kept)


def test_finetuned_generator_loads_and_records_its_round(tiny_setup, tmp_path):
    pipe, data = tiny_setup
    kept = collect(pipe, data, FEW, log=lambda s: None)
    x_new, y_new = encode_kept(kept, pipe.generator, FEW.n_aug, FEW.seed)
    assert len(x_new) == len(y_new) > 0 and set(y_new.tolist()) <= {d["row"] for d in kept}
    finetune(pipe.generator, data, x_new, y_new, tmp_path, FEW, {"kept": {"n": len(kept)}}, log=lambda s: None)
    tuned = load_generator(tmp_path)
    rec = json.loads((tmp_path / "config.json").read_text())["record"]
    assert rec["rsft"]["steps_done"] == FEW.ft_steps and rec["kept"]["n"] == len(kept)
    assert tuned.vocab == pipe.generator.vocab and tuned.heldout() == pipe.generator.heldout()
    assert (tmp_path / "ckpt_2" / "model.safetensors").is_file()
    before, after = pipe.generator.model.state_dict(), tuned.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the round changed the weights


def test_edits_of_known_odorants_are_kept_with_the_tokens_they_were_drawn_as_and_their_re_masked_positions(tiny_setup):
    pipe, data = tiny_setup
    kept = collect(pipe, data, replace(FEW, exploration=0.5), log=lambda s: None)
    edits = [d for d in kept if "ids" in d]
    assert edits, "at min_percentile 0 some edit is kept as drawn"
    for d in edits:
        assert decode_smiles(pipe.generator.vocab.decode(d["ids"])) == d["smiles"] and d["region"]
    x, rows, region = encode_edits(kept)
    assert len(x) == len(rows) == len(region) == len(edits) and (x != MASK_ID).all()
    assert region.sum(1).tolist() == [len(d["region"]) for d in edits]


def test_an_edit_round_trains_only_inside_the_re_masked_positions_and_loads(tiny_setup, tmp_path):
    pipe, data = tiny_setup
    cfg = replace(FEW, exploration=0.5)
    kept = collect(pipe, data, cfg, log=lambda s: None)
    x, rows, region = encode_edits(kept)
    finetune(pipe.generator, data, x, rows, tmp_path, cfg, {"kept": {"n": len(kept)}}, log=lambda s: None,
             region_new=region)
    assert load_generator(tmp_path).vocab == pipe.generator.vocab
