"""Prompt -> ranked novel candidate molecules: the one entry point the CLI and the app use for generation.

`Pipeline.generate(req)` runs four public stages, each returning a frozen record; the evaluation
(`odordiff_core.eval.generator`) calls the same stages:

1. `plan(req) -> Plan`: validate the request, read the prompt (interpreter weights over the 138 GS-LF labels),
   build the target and excluded label vectors and, for "more like this" / edit, the start and the constraint.
2. `sample(plan) -> list[str | None]`: draw k*n SELFIES with the diffusion model, decode and canonicalise; then
   draw again, from the same starts, those that gave no new molecule (GENERATION.refill_rounds rounds at most).
3. `screen(plan, raw) -> Screened`: de-duplicate, then drop, in this order, known molecules (novelty test:
   connectivity key in any data file), chemically unsound ones (`soundness.py`: unstable or implausible groups
   such as a sulfenic acid, an enol written for its ketone, a ketene), those the safety screen blocks and
   those outside the request's filters.
4. `rank(plan, screened) -> GenerationResult`: score each (odor match of the predictor's probabilities
   against the targets), rank, keep at most n. The list is never padded: when fewer than n survive,
   `message` says where the others went.
"""
from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from itertools import chain
from typing import Any

import numpy as np
import torch
from rdkit import Chem

from .chem import Mol, canonical_smiles, morgan_fp, parse_smiles, tanimoto_many, to_mol
from .config import GENERATION, Settings
from .errors import InvalidInput, ModelNotFound
from .generator import Generator, condition_vector, load_generator
from .known import NearestKnown
from .properties import Properties, compute_properties
from .report import Reporter, load_reporter
from .retrieval import Retriever, load_retriever
from .safety import SafetyReport
from .sampler import Constraint, SamplerConfig, fix_tokens, sample
from .scores import Confidence, KnownScores, confidence_levels, fit_percentiles, load_known_scores
from .soundness import SoundnessScreen, default_screen
from .text import Interpretation, Interpreter, load_interpreter
from .tokens import MASK_ID, PAD_ID, Vocab, decode_smiles, random_smiles, scaffold_template
from .types import Note, OdorProfile, Verdict

INTERPRETATIONS_KEPT = 256  # prompts whose reading a Pipeline keeps (a few kB each)
SEED_MAX = 2**63 - 1  # a seed is a signed 64-bit integer (torch.Generator.manual_seed; seed + 7919 still fits)


def _whole(value: Any, name: str, allowed: str) -> int:
    """Returns value as an int; raises InvalidInput naming the field for a bool, float or non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{name} must be {allowed}, got {value!r}.")
    return int(value)


def _real(value: Any, name: str, *, finite: bool = True) -> float:
    """Returns value as a float; raises InvalidInput naming the field for a bool, a non-number or (finite) NaN/inf.

    finite=False leaves NaN/inf to the caller's range check, whose message names the range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{name} must be a number, got {value!r}.")
    x = float(value)
    if finite and not math.isfinite(x):
        raise InvalidInput(f"{name} must be a finite number, got {x}.")
    return x


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    n: int = GENERATION.n  # 1..GENERATION.max_n
    seed: int = GENERATION.seed
    guidance: float = GENERATION.guidance  # classifier-free guidance scale: 0 unconditional, 1 conditional, >1 stronger
    weights: dict[str, float] | None = None  # edited label weights; override the interpretation's
    note: str | None = None  # a Note value ("top" | "heart" | "base"): keep candidates whose estimated note matches
    mw_range: tuple[float, float] | None = None  # keep candidates with MW inside (g/mol)
    hide_caution: bool = False  # also drop candidates the safety screen marks "caution"
    keep_scaffold_of: str | None = None  # SMILES: "more like this", keep its ring scaffold, regenerate the rest
    edit_of: str | None = None  # SMILES: re-mask edit_strength of its tokens and denoise toward the prompt
    edit_strength: float = GENERATION.edit_strength  # share of the edited molecule's tokens re-masked (0..1)
    # how far from known materials, 0..1: edit the known odorants whose labels best match the brief (the
    # generator's training molecules, `retrieval.py`; GENERATION.copies_per_known samples from each of the best), re-masking
    # this share of their tokens (at least GENERATION.min_remasked); 1 = de novo.
    # keep_scaffold_of and edit_of take precedence: with either set, exploration is ignored.
    exploration: float = GENERATION.exploration

    def __post_init__(self) -> None:
        """Refuses a request the pipeline cannot honour, naming the field and its allowed values (InvalidInput).

        Types are strict (a bool field takes only True/False; numbers must be finite; n and seed are integers),
        so a bad value fails here instead of as a traceback or a silent empty result. Normalises: prompt=None
        with weights becomes "" (the documented "weights, no prompt" request); numbers become int/float;
        mw_range becomes a (low, high) float tuple; note becomes its plain string value.
        """
        put = object.__setattr__  # frozen: normalised values are written once, here
        if self.prompt is None and self.weights is not None:
            put(self, "prompt", "")
        if not isinstance(self.prompt, str):
            raise InvalidInput(f"prompt must be a string (None only when weights are given), got "
                               f"{type(self.prompt).__name__}.")
        put(self, "n", _whole(self.n, "n", f"an integer between 1 and {GENERATION.max_n}"))
        if not 1 <= self.n <= GENERATION.max_n:
            raise InvalidInput(f"n must be between 1 and {GENERATION.max_n}, got {self.n}.")
        put(self, "seed", _whole(self.seed, "seed", f"an integer between 0 and {SEED_MAX}"))
        if not 0 <= self.seed <= SEED_MAX:
            raise InvalidInput(f"seed must be between 0 and {SEED_MAX} (2**63 - 1), got {self.seed}.")
        put(self, "guidance", _real(self.guidance, "guidance", finite=False))
        if not GENERATION.guidance_min <= self.guidance <= GENERATION.guidance_max:
            raise InvalidInput(f"guidance must be between {GENERATION.guidance_min:g} and {GENERATION.guidance_max:g}, "
                               f"got {self.guidance}.")
        put(self, "exploration", _real(self.exploration, "exploration", finite=False))
        if not 0.0 <= self.exploration <= 1.0:  # also refuses NaN
            raise InvalidInput(f"exploration must be between 0 (close analogues of known odorants) and 1 (de novo), "
                               f"got {self.exploration}.")
        put(self, "edit_strength", _real(self.edit_strength, "edit_strength", finite=False))
        if not 0.0 < self.edit_strength <= 1.0:
            raise InvalidInput(f"edit_strength must be in (0, 1], got {self.edit_strength}.")
        if self.note is not None:
            if not isinstance(self.note, str) or self.note not in tuple(Note):
                raise InvalidInput(f"note must be top, heart or base, got {self.note!r}.")
            put(self, "note", str(Note(self.note).value))
        if not isinstance(self.hide_caution, bool):
            raise InvalidInput(f"hide_caution must be True or False, got {self.hide_caution!r}.")
        for name in ("keep_scaffold_of", "edit_of"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"{name} must be a SMILES string or None, got {type(value).__name__}.")
        if self.weights is not None:
            if not isinstance(self.weights, dict):
                raise InvalidInput(f"weights must be a dict {{label: weight >= 0}}, got {type(self.weights).__name__}.")
            clean: dict[str, float] = {}
            for label, w in self.weights.items():
                if not isinstance(label, str):
                    raise InvalidInput(f"weights keys must be odor label strings, got {label!r}.")
                w = _real(w, f"weights[{label!r}]")
                if w < 0:
                    raise InvalidInput(f"weights[{label!r}] must be a finite number >= 0, got {w}.")
                clean[label] = w
            put(self, "weights", clean)
        if self.mw_range is not None:
            pair = self.mw_range
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise InvalidInput(f"mw_range must be two numbers (low, high) in g/mol with 0 <= low < high, "
                                   f"got {pair!r}.")
            low, high = (_real(x, "mw_range") for x in pair)
            if not 0 <= low < high:
                raise InvalidInput(f"mw_range must be two numbers (low, high) in g/mol with 0 <= low < high, "
                                   f"got ({low:g}, {high:g}).")
            put(self, "mw_range", (low, high))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["mw_range"] = list(self.mw_range) if self.mw_range else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GenerateRequest:
        """Returns the request `to_json` wrote (JSON has a list for mw_range, the request a tuple).

        JSON written before the exploration dial existed has no "exploration": those results were sampled
        de novo, so it reads as 1.0 (not today's default, which may differ).
        """
        return cls(**{**d, "mw_range": tuple(d["mw_range"]) if d.get("mw_range") else None,
                      "exploration": d.get("exploration", 1.0)})


@dataclass(frozen=True)
class Candidate:
    rank: int  # 1 = best odor match
    smiles: str  # canonical RDKit SMILES
    odor_match: float  # weighted mean predicted probability of the target labels minus that of excluded ones
    top_descriptors: tuple[str, ...]  # the predictor's 5 most probable labels
    odor: OdorProfile
    novel: bool  # not in any data file (connectivity key); always True in generate() output
    nearest: NearestKnown | None  # most similar described odorant
    safety: SafetyReport
    properties: Properties | None
    seed: int  # the request's seed: re-running the request reproduces this candidate
    model_version: str
    # % of the 4,983 known GS-LF odorants whose odor match for the same brief is lower (scores.py); None = not computed
    fit_percentile: float | None = None
    confidence: Confidence | None = None  # how far to trust the predicted profile (scores.py); None = not computed

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "smiles": self.smiles, "odor_match": self.odor_match,
                "top_descriptors": list(self.top_descriptors), "odor": self.odor.to_json(), "novel": self.novel,
                "nearest": self.nearest.to_json() if self.nearest else None, "safety": self.safety.to_json(),
                "properties": self.properties.to_json() if self.properties else None, "seed": self.seed,
                "model_version": self.model_version, "fit_percentile": self.fit_percentile,
                "confidence": str(self.confidence) if self.confidence is not None else None}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Candidate:
        """Returns the candidate `to_json` wrote; each part is rebuilt by its own type's from_json.

        JSON cached before the fit percentile and confidence existed has neither key: they read as None (not computed).
        """
        conf = d.get("confidence")
        return cls(rank=d["rank"], smiles=d["smiles"], odor_match=d["odor_match"],
                   top_descriptors=tuple(d["top_descriptors"]), odor=OdorProfile.from_json(d["odor"]),
                   novel=d["novel"], nearest=NearestKnown.from_json(d["nearest"]) if d["nearest"] else None,
                   safety=SafetyReport.from_json(d["safety"]),
                   properties=Properties.from_json(d["properties"]) if d["properties"] is not None else None,
                   seed=d["seed"], model_version=d["model_version"], fit_percentile=d.get("fit_percentile"),
                   confidence=Confidence(conf) if conf is not None else None)


@dataclass(frozen=True)
class GenerationResult:
    request: GenerateRequest
    interpretation: Interpretation | None  # None when the request gave weights and no prompt
    candidates: tuple[Candidate, ...]
    n_sampled: int  # strings sampled (k * n)
    n_valid: int  # decoded to an RDKit molecule
    n_unique: int  # distinct canonical SMILES among the valid
    n_novel: int  # unique molecules not in any data file
    n_blocked: int  # novel, sound molecules the safety screen blocked
    message: str | None  # why fewer than n candidates, or why none
    model_version: str
    n_filtered: int = 0  # novel, unblocked molecules dropped by note / MW / caution filters
    n_unsound: int = 0  # novel molecules the soundness screen dropped (JSON cached before it existed reads 0)

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["request"] = self.request.to_json()
        d["interpretation"] = self.interpretation.to_json() if self.interpretation else None
        d["candidates"] = [c.to_json() for c in self.candidates]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GenerationResult:
        it = d.get("interpretation")
        rest = {k: v for k, v in d.items() if k not in ("request", "interpretation", "candidates")}
        return cls(request=GenerateRequest.from_json(d["request"]),
                   interpretation=Interpretation.from_json(it) if it is not None else None,
                   candidates=tuple(Candidate.from_json(c) for c in d["candidates"]), **rest)


@dataclass(frozen=True, eq=False)
class Plan:
    """What one request will sample: `plan()`'s output, the input of `sample`, `screen` and `rank`."""

    request: GenerateRequest
    interpretation: Interpretation | None  # None when the request gave weights and no prompt
    target: np.ndarray  # (138,) float32 target weight per label
    excluded: np.ndarray  # (138,) bool: labels the prompt negates (penalised by the odor match)
    n_samples: int  # strings to sample (oversample * n); 0 when no descriptor was read: nothing is sampled
    init: torch.Tensor | None  # (n_samples, L) start ids, MASK where to generate; None = all MASK
    constraint: Constraint | None  # applied after every sampler step ("more like this" scaffold tokens)
    notice: str | None  # told to the user whatever survives: why nothing is sampled, or a scaffold not held
    model_version: str
    start: float = 1.0  # diffusion time init is at (sampler.sample): 1 = all MASK; an edit re-masking a share m, time_at(m)


@dataclass(frozen=True)
class Kept:
    """A sampled molecule that passed the screen: novel, not blocked, inside the request's filters."""

    smiles: str  # canonical SMILES
    mol: Mol
    safety: SafetyReport
    properties: Properties | None  # computed here only when a note / MW filter needed them; None = not yet


@dataclass(frozen=True)
class Screened:
    """`screen()`'s output: the counts of each stage's survivors and the molecules left to rank."""

    n_sampled: int  # strings sampled
    n_valid: int  # decoded to an RDKit molecule
    n_unique: int  # distinct canonical SMILES among the valid
    n_novel: int  # unique molecules not in any data file
    n_blocked: int  # novel, sound molecules the safety screen blocked
    n_filtered: int  # novel, unblocked molecules dropped by note / MW / caution filters
    kept: tuple[Kept, ...]  # in sampling order
    n_unsound: int = 0  # novel molecules the soundness screen dropped (checked before safety)


def odor_match(probs: np.ndarray, target: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Returns the odor match (N,) of predicted probabilities (N, 138): the target-weighted mean probability of
    the target labels minus the mean probability of the excluded labels (0 when none is excluded)."""
    score = probs @ target / max(float(target.sum()), 1e-9)
    if excluded.any():
        score = score - probs[:, excluded].mean(axis=1)
    return score


def select_diverse(match: np.ndarray, mols: list[Mol], n: int, diversity: float) -> list[int]:
    """Returns the indices of at most n molecules, best odor match first, chosen greedily: each next one maximises
    match - diversity * its highest Tanimoto (Morgan r2) to those already chosen (maximal marginal relevance). With
    diversity 0 that is the n best matches (ties in sampling order), and no fingerprint is computed."""
    order = sorted(range(len(match)), key=lambda i: (-round(float(match[i]), 6), i))
    if diversity <= 0.0 or len(order) <= 1:
        return order[:n]
    fps = [morgan_fp(m) for m in mols]
    closest = np.zeros(len(match))  # (N,) highest similarity to a chosen molecule
    chosen: list[int] = []
    left = list(order)
    while left and len(chosen) < n:
        best = max(left, key=lambda i: float(match[i]) - diversity * closest[i])  # max keeps the first of ties: order
        chosen.append(best)
        left.remove(best)
        sims = tanimoto_many(fps[best], [fps[i] for i in left])
        for i, s in zip(left, sims):
            closest[i] = max(closest[i], s)
    return sorted(chosen, key=order.index)


def refill_seed(seed: int, round_: int) -> int:
    """Returns the sampler seed of a request's refill round (Pipeline.sample): apart from the request's own seed and
    from the re-masking stream (seed + 7919), and inside torch's seed range."""
    return (seed + 1_000_003 * round_) % (SEED_MAX - 7919)


def writings(smiles: str, copies: int, seed: int, vocab: Vocab, max_len: int, vary: bool = True) -> list[list[int]]:
    """Returns `copies` token sequences writing one molecule, for its edit starts (Pipeline._analogues): the SELFIES of
    `smiles` as given first, then, with `vary`, those of other atom orders (randomized SMILES from `random_smiles`,
    seeded) that the vocabulary can write, so that each copy's re-masked tokens fall on other parts of the molecule and
    copies give the same draw back less often; the first writing again where fewer distinct ones fit. [] when the
    vocabulary / length cannot write the molecule."""
    ids = vocab.encode_smiles(smiles, max_len)
    if ids is None:
        return []
    out = [ids]
    mol = to_mol(smiles) if vary and copies > 1 else None
    for alt in random_smiles(mol, 4 * copies, seed + 1) if mol is not None else ():  # + 1: seeds 0 and 1 apart
        if len(out) == copies:
            break
        alt_ids = vocab.encode_smiles(alt, max_len)
        if alt_ids is not None and alt_ids not in out:
            out.append(alt_ids)
    return out + [ids] * (copies - len(out))


def remask(base: torch.Tensor, share: float, seed: int, at_least: int = 0) -> torch.Tensor:
    """Returns base (m, L) with each position set to MASK with probability `share` (PAD positions too, so an
    edit can grow the molecule); the draw comes from a CPU generator seeded with seed + 7919, apart from the
    sampler's own stream for `seed`. With `at_least` > 0, each row also masks its molecule's own (non-PAD) positions
    with the lowest draws until at least that many of them are masked (all of them in a shorter molecule); 0 gives
    the plain draw."""
    gen = torch.Generator("cpu").manual_seed(seed + 7919)
    draw = torch.rand(base.shape, generator=gen)  # (m, L)
    hit = draw < share
    if at_least > 0:
        own = base != PAD_ID
        order = torch.where(own, draw, torch.full_like(draw, 2.0)).argsort(dim=1)  # own positions first, lowest draw first
        rank = torch.empty_like(order).scatter_(1, order, torch.arange(base.shape[1]).expand_as(order))
        hit |= rank < own.sum(dim=1, keepdim=True).clamp(max=at_least)
    return torch.where(hit, torch.full_like(base, MASK_ID), base)


@dataclass
class Pipeline:
    """Loaded generator + interpreter + scoring models. Read-only after load; share one per process."""

    generator: Generator
    interpreter: Interpreter
    reporter: Reporter  # predictor, safety screen, property models, known-odorant index
    sampler: SamplerConfig = field(default_factory=SamplerConfig)  # steps; its guidance is the evaluation's default
    oversample: int = GENERATION.oversample  # k: molecules sampled per candidate returned
    refill_rounds: int = GENERATION.refill_rounds  # rounds that redraw invalid / repeated / known samples (sample)
    diversity: float = GENERATION.diversity  # rank: odor match traded for distance to the chosen (select_diverse)
    retriever: Retriever | None = None  # known labelled odorants that exploration < 1 edits; None = de novo only
    known_scores: KnownScores | None = None  # known odorants' predicted profiles (fit percentile); None = not computed
    soundness: SoundnessScreen = field(default_factory=default_screen)  # unstable/implausible groups (soundness.py)
    labels: tuple[str, ...] = field(init=False)
    _interpret: Callable[[str], Interpretation] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = self.generator.labels
        self._interpret = functools.lru_cache(maxsize=INTERPRETATIONS_KEPT)(self.interpreter.interpret)
        if tuple(self.reporter.predictor.labels) != self.labels:
            raise ModelNotFound("The generator and the odor predictor use different label lists; retrain one of them "
                                "(`odordiff train generator` / `odordiff train predictor`).")

    @property
    def model_version(self) -> str:
        """Returns the versions of every model and table that shapes a result, "|"-joined: the generator, the odor
        predictor, the prompt interpreter, the safety screen, the soundness screen (its table's hash) and the sampling
        recipe. It is the Redis cache key's version, so a changed part must change it: add a new model or screen's
        version to `parts` below."""
        parts = (
            self.generator.version,
            self.reporter.predictor.version,
            self.interpreter.version,
            self.reporter.screen.version,
            self.soundness.version,
            self.sampling_version,
            # a new model or screen that changes generate()'s output adds its version here
        )
        return "|".join(parts)

    @property
    def sampling_version(self) -> str:
        """Returns the sampling recipe a request does not carry: steps, temperature, samples per candidate, starts per
        known odorant (and whether their writings vary), the fewest tokens an edit re-masks, refill rounds and
        diversity (a changed default changes the molecules a cached request returns)."""
        varied = "varied" if GENERATION.varied_copies else ""
        return (f"sampling-{self.sampler.steps}steps-{self.sampler.temperature:g}temp-{self.oversample}x-"
                f"{GENERATION.copies_per_known}{varied}copies{GENERATION.copied_known}best-{GENERATION.min_remasked}remasked-"
                f"{self.refill_rounds}refills-{self.diversity:g}diversity")

    def interpret(self, prompt: str) -> Interpretation:
        """Returns the interpreter's reading of the prompt (raises InvalidInput on an empty prompt).

        The last INTERPRETATIONS_KEPT readings are kept: the app reads a brief to show it and then generates from
        it, and plan() reads it again. Treat the result as read-only: the same object is returned for a prompt.
        """
        return self._interpret(prompt)

    def target_vector(self, weights: dict[str, float]) -> np.ndarray:
        """Returns the (138,) weight vector of a {label: weight} dict; raises InvalidInput on an unknown label."""
        w = np.zeros(len(self.labels), np.float32)
        idx = {lab: i for i, lab in enumerate(self.labels)}
        for lab, v in weights.items():
            if lab not in idx:
                raise InvalidInput(f"Unknown odor label {lab!r}; labels are the 138 GS-LF descriptors, e.g. "
                                   f"{', '.join(self.labels[:6])}.")
            w[idx[lab]] = max(float(v), 0.0)
        return w

    def sample_smiles(self, target: np.ndarray, n: int, seed: int, guidance: float, *,
                      init: torch.Tensor | None = None, constraint: Constraint | None = None,
                      start: float = 1.0) -> list[str | None]:
        """Returns n decoded canonical SMILES (None where a sample does not decode) for a target vector."""
        g = self.generator
        cond = torch.from_numpy(condition_vector(target))
        cfg = replace(self.sampler, guidance=guidance)
        x = sample(g.model, cond, n, cfg, g.schedule, seed=seed, init=init, constraint=constraint, start=start)
        return [decode_smiles(g.vocab.decode(row.tolist())) for row in x]

    def _start(self, req: GenerateRequest, m: int, target: np.ndarray,
               seeds: tuple[str, ...] = ()) -> tuple[torch.Tensor | None, Constraint | None, str | None, float]:
        """Returns (init, constraint, problem, share) for "more like this", edit and exploration < 1 requests; share is
        the part of init's tokens re-masked at random (1.0 for a scaffold template or no init), Plan.start's source.

        Precedence: keep_scaffold_of, then edit_of, then exploration; (None, None, None, 1.0) = de novo.
        """
        g = self.generator
        L = g.model.cfg.max_len
        if req.keep_scaffold_of:
            tpl = scaffold_template(canonical_smiles(parse_smiles(req.keep_scaffold_of)), g.vocab, L)
            if tpl is None:
                return None, None, (f"{req.keep_scaffold_of} has no ring scaffold the model can hold fixed (acyclic, "
                                    f"or longer than {L} tokens); generated freely instead."), 1.0
            ids, fixed = torch.tensor(tpl[0]), torch.tensor(tpl[1])
            init = torch.where(fixed, ids, torch.full_like(ids, MASK_ID))[None].repeat(m, 1)  # (m, L)
            return init, fix_tokens(ids, fixed), None, 1.0
        if req.edit_of:
            edit_ids = g.vocab.encode_smiles(canonical_smiles(parse_smiles(req.edit_of)), L)
            if edit_ids is None:
                raise InvalidInput(f"{req.edit_of} cannot be written in this model's {L}-token SELFIES vocabulary; "
                                   f"pick a smaller molecule to edit.")
            base = torch.tensor(edit_ids)[None].repeat(m, 1)  # (m, L)
            return remask(base, req.edit_strength, req.seed), None, None, req.edit_strength
        if req.exploration < 1.0:  # 1.0 re-masks everything: plain de-novo sampling, so it takes that path
            edits, problem = self._analogues(req, m, target, seeds)
            return edits, None, problem, req.exploration if edits is not None else 1.0
        return None, None, None, 1.0

    def _analogues(self, req: GenerateRequest, m: int, target: np.ndarray,
                   seeds: tuple[str, ...] = ()) -> tuple[torch.Tensor | None, str | None]:
        """Returns (init, problem): m starts, each a known odorant with a req.exploration share of its token
        positions re-masked, and at least GENERATION.min_remasked of its own tokens when exploration > 0. Materials
        the brief names (`seeds`, Interpretation.seed_smiles) come first, with `oversample` copies each: "like Hedione
        but greener" starts from Hedione. Then the known odorants best matching the target: the
        GENERATION.copied_known best with GENERATION.copies_per_known copies each, the next with one, until there
        are m. A molecule's copies are written in different atom orders (`writings`)."""
        if self.retriever is None:
            raise InvalidInput(f"exploration {req.exploration:g} edits retrieved known odorants, but this Pipeline was "
                               f"built without a retriever: build it with load_pipeline(settings) (or pass "
                               f"retriever=load_retriever(...)), or ask for exploration 1 (de novo).")
        g = self.generator
        L = g.model.cfg.max_len
        starts: list[list[int]] = []
        named = [(smi, self.oversample) for smi in seeds]
        best = GENERATION.copied_known
        ranked = ((smi, GENERATION.copies_per_known if best is None or i < best else 1)
                  for i, smi in enumerate(self.retriever.ranked(target)))
        for smi, copies in chain(named, ranked):  # skips molecules this vocabulary / length cannot write
            starts += writings(smi, copies, req.seed, g.vocab, L, GENERATION.varied_copies)
            if len(starts) >= m:
                break
        if not starts:
            return None, "No known odorant could be written in this model's vocabulary; generated de novo instead."
        base = torch.tensor(starts).repeat(-(-m // len(starts)), 1)[:m]  # (m, L); repeated only if too few were found
        problem = None if req.exploration > 0 else ("Exploration 0 changes no token: every sample is a known odorant, "
                                                    "and known molecules are never returned. Raise exploration.")
        floor = GENERATION.min_remasked if req.exploration > 0 else 0  # exploration 0 changes nothing, as it says
        return remask(base, req.exploration, req.seed, floor), problem

    def plan(self, req: GenerateRequest) -> Plan:
        """Returns what the request will sample: targets, exclusions, sample count, start and constraint.

        The request's fields were validated when it was built (`GenerateRequest.__post_init__`); this raises
        InvalidInput for an empty prompt without weights, unknown labels in weights, or an unparsable SMILES in
        keep_scaffold_of / edit_of. A request from which no descriptor can be read is not an error: its plan
        samples nothing. exploration < 1 starts from retrieved known odorants unless keep_scaffold_of / edit_of is set.
        """
        interp = self.interpret(req.prompt) if (req.prompt.strip() or req.weights is None) else None
        weights = req.weights if req.weights is not None else (interp.weights if interp else {})
        target = self.target_vector(weights)
        excluded = np.zeros(len(self.labels), bool)
        for lab in (interp.excluded if interp else ()):
            if lab in self.labels:
                excluded[self.labels.index(lab)] = True
        if target.sum() <= 0:
            why = (interp.message if interp and interp.message else
                   "No odor descriptor could be read from the prompt; name smells (e.g. citrus, woody, rose) or set weights.")
            return Plan(req, interp, target, excluded, 0, None, None, why, self.model_version)
        m = self.oversample * req.n
        init, constraint, problem, share = self._start(req, m, target, interp.seed_smiles if interp else ())
        return Plan(req, interp, target, excluded, m, init, constraint, problem, self.model_version,
                    self.generator.schedule.time_at(share))

    def sample(self, plan: Plan) -> list[str | None]:
        """Returns the decoded canonical SMILES (None where a sample does not decode) of every draw, in draw order.

        First plan.n_samples draws; then, for at most `refill_rounds` rounds, the draws that gave no new molecule
        (none, one drawn before, or a known one) are drawn again from their own start rows with another seed, so
        that the ranker gets up to n_samples distinct novel molecules, as the mutation baseline's does.
        """
        if plan.n_samples == 0:
            return []
        req = plan.request
        raw = self.sample_smiles(plan.target, plan.n_samples, req.seed, req.guidance, init=plan.init,
                                 constraint=plan.constraint, start=plan.start)
        seen: set[str] = set()
        redraw = self._spent(raw, seen)  # start rows (of plan.init) to draw again
        for r in range(1, self.refill_rounds + 1):
            if not redraw:
                break
            more = self.sample_smiles(plan.target, len(redraw), refill_seed(req.seed, r), req.guidance,
                                      init=None if plan.init is None else plan.init[torch.tensor(redraw)],
                                      constraint=plan.constraint, start=plan.start)
            redraw = [redraw[i] for i in self._spent(more, seen)]
            raw += more
        return raw

    def _spent(self, drawn: list[str | None], seen: set[str]) -> list[int]:
        """Returns the indices of the draws that gave no new molecule: undecodable, in `seen` or known. Adds every
        decoded draw to `seen`."""
        spent = []
        for i, s in enumerate(drawn):
            mol = to_mol(s) if s is not None and s not in seen else None
            if mol is None or self.reporter.known.is_known(mol):
                spent.append(i)
            if s is not None:
                seen.add(s)
        return spent

    def screen(self, plan: Plan, raw: list[str | None]) -> Screened:
        """Returns the molecules of `raw` that are valid, unique, novel, sound, not blocked and inside the filters.

        Checked in that order, each count of the survivors of the one before: novelty, then chemical soundness
        (one molecule — a sample that decodes to several disconnected fragments is not a candidate — and
        `soundness.py`'s rules; a sample that fails only because it is written as an unstable tautomer is replaced
        by its stable tautomer when that is sound, new and not among the samples), then safety, then the request's filters. Properties are computed only when a note / MW
        filter needs them (rank() computes the rest).
        """
        req = plan.request
        valid = [s for s in raw if s is not None]
        unique = list(dict.fromkeys(valid))
        mols = [to_mol(s) for s in unique]
        known = self.reporter.known
        novel = [(s, mol) for s, mol in zip(unique, mols) if mol is not None and not known.is_known(mol)]
        kept: list[Kept] = []
        n_unsound, n_blocked, n_filtered = 0, 0, 0
        seen = set(unique)
        for s, mol in novel:
            form = self.sound_form(s, mol, seen)
            if form is None:
                n_unsound += 1
                continue
            s, mol = form
            rep = self.reporter.screen.screen(mol)
            if rep.verdict == Verdict.BLOCKED:
                n_blocked += 1
                continue
            props = compute_properties(mol, self.reporter.prop_models) if (req.note or req.mw_range) else None
            if ((req.hide_caution and rep.verdict in (Verdict.CAUTION, Verdict.NOT_SCREENED))
                    or (req.note and props is not None and props.note != req.note)
                    or (req.mw_range and props is not None and not req.mw_range[0] <= props.mw <= req.mw_range[1])):
                n_filtered += 1
                continue
            kept.append(Kept(s, mol, rep, props))
        return Screened(len(raw), len(valid), len(unique), len(novel), n_blocked, n_filtered, tuple(kept), n_unsound)

    def sound_form(self, smiles: str, mol: Mol, seen: set[str]) -> tuple[str, Mol] | None:
        """Returns (SMILES, molecule) of a novel sample as a candidate may show it, or None when it is not sound.

        A candidate is one molecule (not disconnected fragments) that passes `soundness.py`'s rules. An enol /
        iminol / NH-enamine written instead of its stable tautomer is that tautomer: it counts as unsound only when
        that tautomer is unsound too, already known or in `seen` (the samples' SMILES; the tautomer's is added).
        """
        if len(Chem.GetMolFrags(mol)) != 1:
            return None
        report = self.soundness.check(mol)
        if report.sound:
            return smiles, mol
        stable = self.soundness.stable_tautomer(mol, report)
        s = canonical_smiles(stable) if stable is not None else ""
        parsed = to_mol(s) if s and s not in seen else None
        if parsed is None or self.reporter.known.is_known(parsed):
            return None
        seen.add(s)
        return s, parsed

    def rank(self, plan: Plan, screened: Screened) -> GenerationResult:
        """Returns the result: the kept molecules scored by odor match against the plan's targets, best n first.

        Each candidate also gets its fit percentile among the known odorants scored for the same targets
        (None without `known_scores`) and a confidence level (scores.py); neither changes the order.
        """
        req = plan.request
        cands: list[Candidate] = []
        if screened.kept:
            predictor = self.reporter.predictor
            probs, std, similarity = predictor.predict_with_domain([k.mol for k in screened.kept])
            match = odor_match(probs, plan.target, plan.excluded)
            pct = (fit_percentiles(odor_match(self.known_scores.probs, plan.target, plan.excluded), match)
                   if self.known_scores is not None else None)  # (N,): one (M, 138) @ (138,) + a sort of M
            conf = confidence_levels(probs, std, similarity)
            order = select_diverse(match, [k.mol for k in screened.kept], req.n, self.diversity)
            for rank, i in enumerate(order, 1):
                k = screened.kept[i]
                prof = OdorProfile(self.labels, tuple(map(float, probs[i])), tuple(map(float, std[i])),
                                   predictor.version)
                cands.append(Candidate(
                    rank=rank, smiles=k.smiles, odor_match=float(match[i]),
                    top_descriptors=tuple(lab for lab, _ in prof.top(5)), odor=prof, novel=True,
                    nearest=self.reporter.known.nearest(k.mol), safety=k.safety,
                    properties=k.properties if k.properties is not None
                    else compute_properties(k.mol, self.reporter.prop_models),
                    seed=req.seed, model_version=plan.model_version,
                    fit_percentile=float(pct[i]) if pct is not None else None, confidence=conf[i]))
        message = plan.notice
        if plan.n_samples and len(cands) < req.n:
            s = screened
            why = (f"Only {len(cands)} of {req.n} candidates: sampled {s.n_sampled}, {s.n_valid} valid, "
                   f"{s.n_unique} unique, {s.n_unique - s.n_novel} already known (left out), {s.n_unsound} chemically "
                   f"unsound (unstable or implausible groups), {s.n_blocked} blocked by the safety screen, "
                   f"{s.n_filtered} outside the note/MW/caution filters. Try another seed or a lower guidance.")
            message = f"{message} {why}" if message else why
        return GenerationResult(req, plan.interpretation, tuple(cands), screened.n_sampled, screened.n_valid,
                                screened.n_unique, screened.n_novel, screened.n_blocked, message, plan.model_version,
                                screened.n_filtered, screened.n_unsound)

    def generate(self, req: GenerateRequest) -> GenerationResult:
        """Returns up to req.n ranked, novel, sound, unblocked candidates. Same request + model => same result.

        rank(screen(sample(plan))); raises InvalidInput as `plan` does.
        """
        plan = self.plan(req)
        return self.rank(plan, self.screen(plan, self.sample(plan)))


def load_pipeline(settings: Settings, *, reporter: Reporter | None = None) -> Pipeline:
    """Returns the pipeline with the shipped models (generator from settings.generator_dir, else weights_dir/generator).

    reporter: an already-loaded `Reporter` to share (the app holds one per process); None loads it here.
    Raises ModelNotFound when any model's weights are missing: there is no generation without a checkpoint.
    """
    generator = load_generator(settings.generator_path)
    reporter = reporter if reporter is not None else load_reporter(settings)
    predictor = reporter.predictor
    return Pipeline(generator=generator,
                    interpreter=load_interpreter(settings),
                    reporter=reporter,
                    known_scores=load_known_scores(settings, predictor.version, len(predictor.labels)),
                    retriever=load_retriever(settings, generator.labels, (h["smiles"] for h in generator.heldout())))
