"""Rejection-sampling fine-tuning (RSFT) of the generator: steer samples toward their condition during training.

One round (issue 12 §4, "steer samples toward the brief during training"):
1. **Collect.** For every labelled training molecule (GS-LF minus the evaluation's held-out set and the
   early-stopping set), draw `per_condition` samples conditioned on its 0/1 label set with the shipped sampler.
2. **Keep.** A sample is kept when it decodes to one molecule that is novel (in no data file), chemically sound
   as the pipeline judges a candidate (`Pipeline.sound_form`: an enol kept as its stable ketone), odorant-like
   (MW 80-350, C/H/O/N/S, no charge, <= 25 heavy atoms), not blocked by the safety screen, and fits its labels
   better than `min_percentile` % of the known odorants by the odor predictor's odor match (the pipeline's ranker,
   `scores.fit_percentiles`); of those, the `keep` best per condition.
3. **Fine-tune** the generator on the kept (condition, molecule) pairs, `n_aug` randomized SMILES each, mixed
   batch by batch with the original corpus (`corpus_share`) so that the prior does not drift, at a small
   learning rate, with the same loss and condition dropout as training.

Edits (`exploration` < 1): the samples are the runtime's own edits of retrieved known odorants (`edit_starts`), and
a kept edit is learnt as it was drawn, masked only inside the positions its start re-masked (the states the sampler
visits from that start; `loss.masked_diffusion_loss(region=...)`). Measured in docs/model_card_generator.md ("Raw
uniqueness"): no measurable change; not shipped.

The reward is the product's own ranker; whether the result really fits the briefs better is judged by the
evaluation's independent oracle (a Morgan logistic regression sharing neither features nor recipe with the
ranker) and by odorant-likeness, on prompts from the held-out molecules, which RSFT never sees.
Training only: the runtime loads the folder this writes like any generator checkpoint.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidInput
from ..generator import Generator
from ..tokens import MASK_ID, decode_smiles
from .generator import _batches, condition_of, heldout_loss_of, save, strided
from .loss import masked_diffusion_loss


@dataclass(frozen=True)
class RsftConfig:
    """One RSFT round. The defaults are the run recorded in the shipped weights' config.json (`record.rsft`)."""

    per_condition: int = 8  # samples drawn per training molecule's label set
    keep: int = 2  # best kept samples per condition
    min_percentile: float = 75.0  # a kept sample's odor match beats this % of the known odorants for the same labels
    guidance: float = 2.0  # the sampler settings of the collection (the app's defaults when it ran)
    steps: int = 16
    exploration: float = 1.0  # 1 = de-novo samples; < 1 = the runtime's edits of retrieved known odorants at this
    #   re-masked share (Pipeline.plan's starts: per_condition / oversample known odorants, oversample copies each)
    batch_conditions: int = 64  # conditions per sampler call
    n_aug: int = 4  # randomized SMILES per kept molecule
    ft_steps: int = 1500
    batch_size: int = 128
    corpus_share: float = 0.5  # share of each fine-tuning batch drawn from the original corpus
    lr: float = 2e-4  # constant after warm-up
    warmup_steps: int = 50
    weight_decay: float = 0.01
    cond_dropout: float = 0.15  # as in training: keeps the null condition (guidance) trained
    eval_every: int = 250  # steps between held-out loss evaluations and checkpoints (ckpt_<step>/)
    eval_sequences: int = 1024
    seed: int = 0
    bf16: bool = True  # bfloat16 autocast (the CPU's AMX / AVX512-BF16 where present)
    max_minutes: float = 90.0
    machine: str = "unknown"


def collect(pipeline, data: dict, cfg: RsftConfig, log: Callable[[str], object] = print) -> list[dict]:
    """Returns the kept samples [{row, smiles, match, percentile}] of one collection pass (step 1-2 above).

    pipeline: a loaded `Pipeline` (its generator is sampled; its predictor, known scores, soundness and safety
    screens judge). data: the prepared corpus (`prepare_corpus`), whose non-validation labelled rows are the conditions.
    """
    from ..chem import to_mol
    from ..eval.generator import is_odorant_like
    from ..pipeline import odor_match
    from ..safety import Verdict
    from ..sampler import SamplerConfig, sample
    from ..scores import fit_percentiles

    if pipeline.known_scores is None:
        raise InvalidInput("RSFT ranks by fit percentile: build the pipeline with load_pipeline(settings), which loads the "
                           "known-odorant scores of the shipped predictor")
    gen: Generator = pipeline.generator
    y_row, is_val = data["y_row"].long(), data["val"]
    rows = sorted(set(y_row[(y_row >= 0) & ~is_val].tolist()))
    labels01 = (data["Y"] > 0).float().numpy()  # (N_lab, 138) the molecules' 0/1 label sets
    cond_all = data["Y"].float()  # condition vectors (scaled to sum 1), as in training
    scfg = SamplerConfig(steps=cfg.steps, guidance=cfg.guidance)
    known_probs = pipeline.known_scores.probs
    predictor, screen = pipeline.reporter.predictor, pipeline.reporter.screen
    is_known = pipeline.reporter.known.is_known
    kept: list[dict] = []
    counts = {"sampled": 0, "valid": 0, "novel": 0, "sound": 0, "odorant_like": 0, "not_blocked": 0, "above": 0}
    t0 = time.time()
    for b in range(0, len(rows), cfg.batch_conditions):
        rb = rows[b:b + cfg.batch_conditions]
        cond = cond_all[rb].repeat_interleave(cfg.per_condition, 0)  # (B*k, 138)
        init, start = edit_starts(pipeline, rb, labels01[rb], cfg) if cfg.exploration < 1.0 else (None, 1.0)
        x = sample(gen.model, cond, len(cond), scfg, gen.schedule, seed=cfg.seed * 1_000_003 + b, init=init,
                   start=start)
        smiles = [decode_smiles(gen.vocab.decode(r.tolist())) for r in x]
        cand: list[tuple[int, str, object, dict]] = []
        seen: dict[int, set[str]] = {}  # each condition's samples, as Pipeline.screen sees one request's
        for j, smi in enumerate(smiles):
            if smi:
                seen.setdefault(rb[j // cfg.per_condition], set()).add(smi)
        for j, smi in enumerate(smiles):
            counts["sampled"] += 1
            mol = to_mol(smi) if smi else None
            if mol is None:
                continue
            counts["valid"] += 1
            if is_known(mol):
                continue
            counts["novel"] += 1
            drawn = smi
            form = pipeline.sound_form(str(smi), mol, seen[rb[j // cfg.per_condition]])  # the pipeline's own test
            if form is None:
                continue
            smi, mol = form
            counts["sound"] += 1
            if not is_odorant_like(mol):
                continue
            counts["odorant_like"] += 1
            if screen.screen(mol).verdict == Verdict.BLOCKED:
                continue
            counts["not_blocked"] += 1
            # an edit kept as drawn (not replaced by its stable tautomer) also keeps its tokens and re-masked positions
            edit = {}
            if init is not None and smi == drawn:
                edit = {"ids": x[j].tolist(), "region": (init[j] == MASK_ID).nonzero().flatten().tolist()}
            cand.append((rb[j // cfg.per_condition], str(smi), mol, edit))
        if cand:
            probs = predictor.predict_proba([c[2] for c in cand])
            by_row: dict[int, list[dict]] = {}
            for row in dict.fromkeys(c[0] for c in cand):  # each condition's candidates scored together
                at = [i for i, c in enumerate(cand) if c[0] == row]
                target, none_excluded = labels01[row], np.zeros(labels01.shape[1], bool)
                match = odor_match(probs[at], target, none_excluded)  # (k,)
                pct = fit_percentiles(odor_match(known_probs, target, none_excluded), match)  # (k,)
                for i, m, q in zip(at, match.tolist(), pct.tolist()):
                    smi = cand[i][1]
                    lst = by_row.setdefault(row, [])
                    if q >= cfg.min_percentile and all(d["smiles"] != smi for d in lst):
                        lst.append({"row": row, "smiles": smi, "match": m, "percentile": q, **cand[i][3]})
            for lst in by_row.values():
                counts["above"] += len(lst)
                kept += sorted(lst, key=lambda d: -d["match"])[: cfg.keep]
        if (b // cfg.batch_conditions) % 10 == 0:
            log(f"collect {min(b + cfg.batch_conditions, len(rows))}/{len(rows)} conditions, kept {len(kept)}, "
                f"{counts}, {time.time() - t0:.0f} s")
    log(f"collected {len(kept)} from {len(rows)} conditions: {counts} ({time.time() - t0:.0f} s)")
    return kept


def edit_starts(pipeline, rows: list[int], labels01: np.ndarray, cfg: RsftConfig) -> tuple[torch.Tensor, float]:
    """Returns (init (B * per_condition, L), start): for each 0/1 label set (of the corpus rows `rows`), the starts
    the runtime plans for a request with those labels at cfg.exploration (retrieved known odorants, re-masked)."""
    from ..pipeline import GenerateRequest

    n, rest = divmod(cfg.per_condition, pipeline.oversample)
    if rest or not n:
        raise InvalidInput(f"per_condition ({cfg.per_condition}) must be a multiple of the pipeline's oversample "
                           f"({pipeline.oversample}) when exploration < 1")
    inits, start = [], 1.0
    for row, y in zip(rows, labels01):
        weights = {lab: 1.0 for lab, v in zip(pipeline.labels, y) if v > 0}
        plan = pipeline.plan(GenerateRequest(prompt="", n=n, seed=cfg.seed * 1_000_003 + row, guidance=cfg.guidance,
                                             weights=weights, exploration=cfg.exploration))
        if plan.init is None:
            raise InvalidInput(f"exploration {cfg.exploration:g} planned no edit start ({plan.notice}); use exploration 1")
        inits.append(plan.init)
        start = plan.start
    return torch.cat(inits), start


def encode_kept(kept: list[dict], gen: Generator, n_aug: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (x (M, L) token ids, y_row (M,)) for the kept samples, n_aug randomized SMILES -> SELFIES each."""
    from ..chem import to_mol
    from ..tokens import random_smiles

    L = gen.model.cfg.max_len
    xs: list[list[int]] = []
    ys: list[int] = []
    for i, d in enumerate(kept):
        mol = to_mol(d["smiles"])
        if mol is None:
            continue
        for s in random_smiles(mol, n_aug, seed=seed + i):
            ids = gen.vocab.encode_smiles(s, L)
            if ids is not None:
                xs.append(ids)
                ys.append(d["row"])
    return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)


def encode_edits(kept: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Returns (x (M, L) token ids as drawn, y_row (M,), region (M, L) bool: the start's re-masked positions) for the kept
    edits that carry their tokens (`collect` at exploration < 1)."""
    edits = [d for d in kept if "ids" in d]
    if not edits:
        raise InvalidInput("no kept sample carries its edit tokens: collect again with exploration < 1")
    x = torch.tensor([d["ids"] for d in edits], dtype=torch.long)
    region = torch.zeros(x.shape, dtype=torch.bool)
    for i, d in enumerate(edits):
        region[i, d["region"]] = True
    return x, torch.tensor([d["row"] for d in edits], dtype=torch.long), region


def finetune(gen: Generator, data: dict, x_new: torch.Tensor, y_new: torch.Tensor, out_dir: Path, cfg: RsftConfig,
             record: dict, log: Callable[[str], object] = print, region_new: torch.Tensor | None = None) -> dict:
    """Fine-tunes a copy of gen's denoiser on the kept samples mixed with the corpus; writes checkpoints.

    region_new: (M, L) bool, where each new sequence may be masked (`encode_edits`: an edit's re-masked positions);
    None = anywhere, as in training.

    out_dir/ckpt_<step>/ every eval_every steps and out_dir itself at the end (model.safetensors, config.json
    with `record.rsft`, heldout.json). Returns the RSFT record.
    """
    import copy

    model = copy.deepcopy(gen.model).train()
    dev = torch.device("cpu")
    x_all, y_all, is_val = data["x"].long(), data["y_row"].long(), data["val"]
    x_tr, y_tr = x_all[~is_val], y_all[~is_val]
    x_va, y_va = strided(x_all[is_val], y_all[is_val], cfg.eval_sequences)
    Y = data["Y"].float()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    g = torch.Generator("cpu").manual_seed(cfg.seed)
    n_corpus = int(round(cfg.batch_size * cfg.corpus_share))
    n_new = cfg.batch_size - n_corpus
    it_corpus = _batches(len(x_tr), max(n_corpus, 1), g)
    it_new = _batches(len(x_new), max(n_new, 1), g)

    def heldout_loss() -> float:
        return heldout_loss_of(model, x_va, y_va, Y, gen.schedule, bf16=cfg.bf16, batch=512)

    history = [{"step": 0, "heldout_loss": heldout_loss(), "minutes": 0.0}]
    log(f"RSFT fine-tune: {len(x_new)} new sequences + {len(x_tr)} corpus; held-out loss at start "
        f"{history[0]['heldout_loss']:.4f}")
    t0 = time.time()
    labels = list(gen.labels)
    heldout = gen.heldout()
    step = 0
    while step < cfg.ft_steps:
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps)
        for grp in opt.param_groups:
            grp["lr"] = lr
        parts_x, parts_y, parts_r = [], [], []
        if n_corpus:
            i = next(it_corpus)
            parts_x.append(x_tr[i])
            parts_y.append(y_tr[i])
            parts_r.append(torch.ones(x_tr[i].shape, dtype=torch.bool))
        if n_new:
            i = next(it_new)
            parts_x.append(x_new[i])
            parts_y.append(y_new[i])
            parts_r.append(torch.ones(x_new[i].shape, dtype=torch.bool) if region_new is None else region_new[i])
        xb, yb, rb = torch.cat(parts_x), torch.cat(parts_y), torch.cat(parts_r)  # rb: where a row may be masked
        cond, keep = condition_of(Y, yb, cfg.cond_dropout, g)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            loss = masked_diffusion_loss(model, xb, cond, keep, gen.schedule, g, rb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        minutes = (time.time() - t0) / 60
        if step % cfg.eval_every == 0 or step == cfg.ft_steps or minutes >= cfg.max_minutes:
            val = heldout_loss()
            history.append({"step": step, "train_loss": float(loss.detach()), "heldout_loss": val,
                            "minutes": round(minutes, 2)})
            log(f"step {step:5d}  loss {float(loss.detach()):.4f}  held-out {val:.4f}  {minutes:.1f} min")
            model.eval()
            save(out_dir / f"ckpt_{step}", model, gen.vocab, labels, gen.schedule, heldout,
                 record={**record, "rsft": {**asdict(cfg), "step": step, "history": history}})
            model.train()
            if minutes >= cfg.max_minutes:
                log(f"time budget of {cfg.max_minutes} min spent")
                break
    model.eval()
    rec = {**record, "rsft": {**asdict(cfg), "steps_done": step, "minutes": round((time.time() - t0) / 60, 2),
                              "n_new_sequences": len(x_new), "history": history}}
    save(out_dir, model, gen.vocab, labels, gen.schedule, heldout, record=rec)
    return rec


def run_round(settings, data_file: Path, out_dir: Path, cfg: RsftConfig, *, kept_file: Path | None = None,
              log: Callable[[str], object] = print) -> dict:
    """Runs one RSFT round from the generator in settings.generator_path; writes the fine-tuned one into out_dir.

    kept_file: where the kept samples are written (JSON Lines); when it exists it is read instead of collecting
    again (resumes after the collection's 10-20 CPU minutes). Returns the record written into config.json.
    """
    from ..pipeline import load_pipeline

    data = torch.load(data_file, weights_only=True)
    pipe = load_pipeline(settings)
    base_record = dict(pipe.generator.config.get("record", {}))
    collect_minutes = None  # not collected in this run (read back from kept_file)
    if kept_file is not None and kept_file.is_file():
        kept = [json.loads(line) for line in kept_file.read_text().splitlines() if line.strip()]
        log(f"read {len(kept)} kept samples from {kept_file}")
    else:
        started = time.time()
        kept = collect(pipe, data, cfg, log)
        collect_minutes = round((time.time() - started) / 60, 1)
        if kept_file is not None:
            kept_file.parent.mkdir(parents=True, exist_ok=True)
            kept_file.write_text("".join(json.dumps(d) + "\n" for d in kept))
    if not kept:
        raise InvalidInput("RSFT kept no sample: lower --min_percentile or raise --per_condition")
    region_new = None
    if cfg.exploration < 1.0:  # edits are learnt as drawn, in their start's re-masked positions
        x_new, y_new, region_new = encode_edits(kept)
    else:
        x_new, y_new = encode_kept(kept, pipe.generator, cfg.n_aug, cfg.seed)
    pct = np.array([d["percentile"] for d in kept])
    record = {"base": {"version": pipe.generator.version, "record": base_record},
              "kept": {"n": len(kept), "n_conditions": len({d["row"] for d in kept}), "collect_minutes": collect_minutes,
                       "percentile_median": float(np.median(pct)) if len(pct) else math.nan}}
    return finetune(pipe.generator, data, x_new, y_new, out_dir, cfg, record, log, region_new)
