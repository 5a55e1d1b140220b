"""Measures the chemical-soundness screen (`odordiff evaluate soundness`).

- Known molecules: every molecule of the known-odorant index (all its data files: GS-LF, GoodScents,
  Leffingwell, the IFRA glossary, the Pyrfume corpus). Goal: >= 99 % pass. Each exception is listed with the
  rules that fired, so a wrong rule can be fixed and a really unusual molecule (a reagent, a salt, a record
  drawn as the wrong tautomer) recognised. Also given for the described odorants and the IFRA glossary alone.
- Generated molecules: the shipped generator through the pipeline's public stages (plan, sample, screen, rank)
  on the evocative prompts and on the label sets of held-out molecules. Raw samples (goal >= 90 % sound), the
  returned candidates (100 % by construction) and, for comparison, the candidates the same pipeline returns
  with an empty rule table (what users saw before the screen).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..chem import parse_smiles, to_mol
from ..config import GENERATION, Settings
from ..soundness import SoundnessScreen
from .generator import EVOCATIVE_PROMPTS

if TYPE_CHECKING:
    from ..pipeline import Pipeline


@dataclass(frozen=True)
class KnownException:
    """A known molecule the screen rejects."""

    smiles: str
    name: str  # first name in the data files, "" when none
    rules: tuple[str, ...]  # rule ids that fired
    described: bool  # has recorded odor descriptors
    in_ifra_glossary: bool


@dataclass(frozen=True)
class SoundnessEvaluation:
    version: str  # the screen's version (rule table hash included)
    n_rules: int
    n_known: int  # molecules in the known-odorant index
    n_known_sound: int
    n_described: int  # of them, with recorded odor descriptors
    n_described_sound: int
    n_glossary: int  # of them, in the IFRA 2019 glossary (ingredients perfumers use)
    n_glossary_sound: int
    exceptions: tuple[KnownException, ...]
    ms_per_molecule: float  # screen time per known molecule (parsing excluded)
    prompts: tuple[str, ...]  # evocative prompts as written, held-out label sets as "held-out:label;label"
    samples_per_prompt: int
    n_raw: int  # valid samples (duplicates and known molecules included)
    n_raw_sound: int  # sound as written
    n_raw_tautomer: int  # unsound as written, sound as their stable tautomer (the pipeline shows that tautomer)
    n_novel: int  # unique novel samples: what the screen filters
    n_novel_sound: int  # passed by the pipeline's screen, as written or as their stable tautomer
    raw_by_rule: tuple[tuple[str, int], ...]  # (rule id, valid samples it fires on), most frequent first
    n_returned: int  # candidates returned with the screen
    n_returned_sound: int
    n_returned_unscreened: int  # candidates returned by the same pipeline with an empty rule table
    n_returned_unscreened_sound: int
    unscreened_by_rule: tuple[tuple[str, int], ...]
    minutes: float


def _prompts(pipeline: Pipeline, settings: Settings, n_evocative: int, n_heldout: int,
             seed: int) -> list[tuple[str, dict[str, float] | None]]:
    """Returns (name, weights) per prompt: weights None = read the prompt with the interpreter."""
    from ..datasets import load_labelled

    out: list[tuple[str, dict[str, float] | None]] = [(p, None) for p in EVOCATIVE_PROMPTS[:n_evocative]]
    if n_heldout:
        lab = load_labelled(settings)
        held = {h["smiles"] for h in pipeline.generator.heldout()}
        idx = [i for i, s in enumerate(lab.smiles) if s in held and lab.Y[i].sum() > 0]
        for i in np.random.default_rng(seed).permutation(len(idx))[:n_heldout]:
            labels = [lab_ for lab_, y in zip(lab.labels, lab.Y[idx[i]]) if y]
            out.append(("held-out:" + ";".join(labels), dict.fromkeys(labels, 1.0)))
    return out


def evaluate_soundness(pipeline: Pipeline, settings: Settings, *, n_evocative: int = 15, n_heldout: int = 5,
                       n: int = GENERATION.n, seed: int = GENERATION.seed,
                       log: Callable[[str], None] = print) -> SoundnessEvaluation:
    """Returns the pass rates of the shipped screen on the known molecules and on generated ones.

    Generation: n_evocative evocative prompts + n_heldout held-out label sets, each one request of n candidates
    (oversample * n samples) at the app's defaults; about 20 s per prompt on one CPU core, plus a minute to load.
    n_evocative = n_heldout = 0 measures the known molecules only (a few seconds after loading).
    """
    from ..pipeline import GenerateRequest

    t0 = time.time()
    screen: SoundnessScreen = pipeline.soundness
    known = pipeline.reporter.known
    materials = list(known.materials())
    mols = [to_mol(m.smiles) for m in materials]  # canonical SMILES RDKit wrote: every one parses
    t1 = time.perf_counter()
    reports = [screen.check(m) if m is not None else None for m in mols]
    ms = (time.perf_counter() - t1) / max(len(mols), 1) * 1000
    exceptions = tuple(
        KnownException(m.smiles, m.names[0] if m.names else "", tuple(f.rule for f in r.failures), bool(m.descriptors),
                       m.in_ifra_glossary)
        for m, r in zip(materials, reports) if r is not None and not r.sound)
    n_sound = sum(r is not None and r.sound for r in reports)
    described = [r for m, r in zip(materials, reports) if m.descriptors]
    glossary = [r for m, r in zip(materials, reports) if m.in_ifra_glossary]
    log(f"known molecules: {n_sound}/{len(materials)} sound ({time.time() - t0:.0f} s)")

    prompts = _prompts(pipeline, settings, n_evocative, n_heldout, seed)
    unscreened = replace(pipeline, soundness=SoundnessScreen((), "no-rules"))  # same models, empty rule table
    raw_rules: Counter[str] = Counter()
    unscreened_rules: Counter[str] = Counter()
    n_raw = n_raw_sound = n_raw_tautomer = n_novel = n_novel_sound = 0
    n_ret = n_ret_sound = n_unscr = n_unscr_sound = 0
    samples = 0
    for pi, (name, weights) in enumerate(prompts):
        req = GenerateRequest(prompt="" if weights else name, n=n, seed=seed, weights=weights)
        plan = pipeline.plan(req)
        raw = pipeline.sample(plan)
        samples = max(samples, len(raw))
        checked = {s: screen.check(m) for s in set(raw) if s is not None and (m := to_mol(s)) is not None}
        rescued = {s for s, r in checked.items() if not r.sound and screen.stable_tautomer(parse_smiles(s), r) is not None}
        for s in raw:
            if s is None or s not in checked:
                continue
            n_raw += 1
            n_raw_sound += checked[s].sound
            n_raw_tautomer += s in rescued
            raw_rules.update(f.rule for f in checked[s].failures)
        scr = pipeline.screen(plan, raw)
        n_novel += scr.n_novel
        n_novel_sound += scr.n_novel - scr.n_unsound
        res = pipeline.rank(plan, scr)
        n_ret += len(res.candidates)
        n_ret_sound += sum((checked.get(c.smiles) or screen.check(parse_smiles(c.smiles))).sound  # a stable tautomer
                           for c in res.candidates)  # the sample was an enol, ... : not among the checked
        res_u = unscreened.rank(plan, unscreened.screen(plan, raw))
        n_unscr += len(res_u.candidates)
        for c in res_u.candidates:
            n_unscr_sound += checked[c.smiles].sound
            unscreened_rules.update(f.rule for f in checked[c.smiles].failures)
        log(f"[{pi + 1}/{len(prompts)}] {name[:60]}: {scr.n_unsound} of {scr.n_novel} novel unsound "
            f"({time.time() - t0:.0f} s)")
    return SoundnessEvaluation(
        version=screen.version, n_rules=len(screen.rules), n_known=len(materials), n_known_sound=n_sound,
        n_described=len(described), n_described_sound=sum(r is not None and r.sound for r in described),
        n_glossary=len(glossary), n_glossary_sound=sum(r is not None and r.sound for r in glossary),
        exceptions=exceptions, ms_per_molecule=ms, prompts=tuple(p for p, _ in prompts), samples_per_prompt=samples,
        n_raw=n_raw, n_raw_sound=n_raw_sound, n_raw_tautomer=n_raw_tautomer, n_novel=n_novel, n_novel_sound=n_novel_sound,
        raw_by_rule=tuple(raw_rules.most_common()), n_returned=n_ret, n_returned_sound=n_ret_sound,
        n_returned_unscreened=n_unscr, n_returned_unscreened_sound=n_unscr_sound,
        unscreened_by_rule=tuple(unscreened_rules.most_common()), minutes=round((time.time() - t0) / 60, 1))
