"""Prompt -> ranked novel candidate molecules: the one entry point the CLI and the app use for generation.

prompt -> interpreter weights over the 138 GS-LF labels -> sample k*n SELFIES with the diffusion model ->
decode, canonicalise, de-duplicate -> drop known molecules (novelty test: connectivity key in any data file),
molecules the safety screen blocks and those outside the request's filters -> score each (odor match of the
predictor's probabilities against the targets) -> rank -> at most n. The list is never padded: when fewer
than n survive, `message` says where the others went.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from .chem import canonical_smiles, parse_smiles, to_mol
from .config import Settings
from .errors import InvalidInput, ModelNotFound
from .generator import Generator, condition_vector, load_generator
from .known import NearestKnown
from .properties import Properties, compute_properties
from .report import MoleculeReport, Reporter, load_reporter
from .safety import Flag, SafetyReport
from .sampler import SamplerConfig, fix_tokens, sample
from .text import Interpretation, load_interpreter
from .tokens import MASK_ID, decode_smiles, scaffold_template, to_selfies
from .types import OdorProfile

OVERSAMPLE = 4  # k: molecules sampled per candidate returned (GenMol/issue: k ~ 4)
MAX_N = 64  # most candidates one request may ask for
SAMPLER = SamplerConfig(steps=16, guidance=2.0)  # steps: CPU latency budget (p50 <= 2 s goal); see model card


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    n: int = 16
    seed: int = 0
    guidance: float = 2.0  # classifier-free guidance scale: 0 unconditional, 1 conditional, >1 stronger
    weights: dict[str, float] | None = None  # edited label weights; override the interpretation's
    note: str | None = None  # "top" | "heart" | "base": keep candidates whose estimated note matches
    mw_range: tuple[float, float] | None = None  # keep candidates with MW inside (g/mol)
    hide_caution: bool = False  # also drop candidates the safety screen marks "caution"
    keep_scaffold_of: str | None = None  # SMILES: "more like this", keep its ring scaffold, regenerate the rest
    edit_of: str | None = None  # SMILES: re-mask edit_strength of its tokens and denoise toward the prompt
    edit_strength: float = 0.5  # share of the edited molecule's tokens re-masked (0..1)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["mw_range"] = list(self.mw_range) if self.mw_range else None
        return d


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


@dataclass(frozen=True)
class GenerationResult:
    request: GenerateRequest
    interpretation: Interpretation | None  # None when the request gave weights and no prompt
    candidates: tuple[Candidate, ...]
    n_sampled: int  # strings sampled (k * n)
    n_valid: int  # decoded to an RDKit molecule
    n_unique: int  # distinct canonical SMILES among the valid
    n_novel: int  # unique molecules not in any data file
    n_blocked: int  # novel molecules the safety screen blocked
    message: str | None  # why fewer than n candidates, or why none
    model_version: str
    n_filtered: int = 0  # novel, unblocked molecules dropped by note / MW / caution filters

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["request"] = self.request.to_json()
        d["interpretation"] = self.interpretation.to_json() if self.interpretation else None
        d["candidates"] = [_candidate_json(c) for c in self.candidates]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "GenerationResult":
        req = dict(d["request"])
        req["mw_range"] = tuple(req["mw_range"]) if req.get("mw_range") else None
        it = d.get("interpretation")
        interp = None
        if it is not None:
            interp = Interpretation(prompt=it["prompt"], weights=dict(it["weights"]), excluded=tuple(it["excluded"]),
                                    note=it["note"], unmapped=tuple(it["unmapped"]),
                                    approximations={k: tuple(v) for k, v in it["approximations"].items()},
                                    truncated_chars=it["truncated_chars"], model_version=it["model_version"],
                                    message=it.get("message"))
        rest = {k: v for k, v in d.items() if k not in ("request", "interpretation", "candidates")}
        return cls(request=GenerateRequest(**req), interpretation=interp,
                   candidates=tuple(_candidate_from_json(c) for c in d["candidates"]), **rest)


def _candidate_json(c: Candidate) -> dict[str, Any]:
    return {"rank": c.rank, "smiles": c.smiles, "odor_match": c.odor_match, "top_descriptors": list(c.top_descriptors),
            "odor": {"labels": list(c.odor.labels), "probs": list(c.odor.probs), "std": list(c.odor.std),
                     "model_version": c.odor.model_version},
            "novel": c.novel, "nearest": asdict(c.nearest) if c.nearest else None, "safety": c.safety.to_json(),
            "properties": c.properties.to_json() if c.properties else None, "seed": c.seed,
            "model_version": c.model_version}


def _candidate_from_json(d: dict[str, Any]) -> Candidate:
    o = d["odor"]
    nearest = d["nearest"]
    props = d["properties"]
    if props is not None and props.get("substantivity_h_range") is not None:
        props = {**props, "substantivity_h_range": tuple(props["substantivity_h_range"])}
    s = d["safety"]
    return Candidate(
        rank=d["rank"], smiles=d["smiles"], odor_match=d["odor_match"], top_descriptors=tuple(d["top_descriptors"]),
        odor=OdorProfile(tuple(o["labels"]), tuple(o["probs"]), tuple(o["std"]), o["model_version"]),
        novel=d["novel"],
        nearest=NearestKnown(nearest["smiles"], nearest["name"], nearest["similarity"], tuple(nearest["descriptors"]))
        if nearest else None,
        safety=SafetyReport(s["verdict"], tuple(Flag(**f) for f in s["flags"]), s["version"]),
        properties=Properties(**props) if props is not None else None,
        seed=d["seed"], model_version=d["model_version"])


def odor_match(probs: np.ndarray, target: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Returns the odor match (N,) of predicted probabilities (N, 138): the target-weighted mean probability of
    the target labels minus the mean probability of the excluded labels (0 when none is excluded)."""
    score = probs @ target / max(float(target.sum()), 1e-9)
    if excluded.any():
        score = score - probs[:, excluded].mean(axis=1)
    return score


@dataclass
class Pipeline:
    """Loaded generator + interpreter + scoring models. Read-only after load; share one per process."""

    generator: Generator
    interpreter: Any  # text.Interpreter
    reporter: Reporter  # predictor, safety screen, property models, known-odorant index
    sampler: SamplerConfig = SAMPLER
    oversample: int = OVERSAMPLE
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.labels = self.generator.labels
        if tuple(self.reporter.predictor.labels) != self.labels:
            raise ModelNotFound("The generator and the odor predictor use different label lists; retrain one of them "
                                "(`odordiff train generator` / `odordiff train predictor`).")

    @property
    def model_version(self) -> str:
        return f"{self.generator.version}|{self.reporter.predictor.version}"

    def interpret(self, prompt: str) -> Interpretation:
        """Returns the interpreter's reading of the prompt (raises InvalidInput on an empty prompt)."""
        return self.interpreter.interpret(prompt)

    def analyze(self, smiles: str) -> MoleculeReport:
        """Returns the full report of one molecule (an unparsable SMILES gives a report with `error`)."""
        return self.reporter.report_smiles(smiles)

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
                      init: torch.Tensor | None = None, constraint=None) -> list[str | None]:
        """Returns n decoded canonical SMILES (None where a sample does not decode) for a target vector."""
        g = self.generator
        cond = torch.from_numpy(condition_vector(target))
        cfg = replace(self.sampler, guidance=guidance)
        x = sample(g.model, cond, n, cfg, g.schedule, seed=seed, init=init, constraint=constraint)
        return [decode_smiles(g.vocab.decode(row.tolist())) for row in x]

    def _start(self, req: GenerateRequest, m: int) -> tuple[torch.Tensor | None, Any, str | None]:
        """Returns (init, constraint, problem) for "more like this" / edit requests."""
        g = self.generator
        L = g.model.cfg.max_len
        if req.keep_scaffold_of:
            tpl = scaffold_template(canonical_smiles(parse_smiles(req.keep_scaffold_of)), g.vocab, L)
            if tpl is None:
                return None, None, (f"{req.keep_scaffold_of} has no ring scaffold the model can hold fixed (acyclic, "
                                    f"or longer than {L} tokens); generated freely instead.")
            ids, fixed = torch.tensor(tpl[0]), torch.tensor(tpl[1])
            init = torch.where(fixed, ids, torch.full_like(ids, MASK_ID))[None].repeat(m, 1)  # (m, L)
            return init, fix_tokens(ids, fixed), None
        if req.edit_of:
            if not 0.0 < req.edit_strength <= 1.0:
                raise InvalidInput(f"edit_strength must be in (0, 1], got {req.edit_strength}.")
            sf_str = to_selfies(canonical_smiles(parse_smiles(req.edit_of)))
            ids = g.vocab.encode(sf_str, L) if sf_str else None
            if ids is None:
                raise InvalidInput(f"{req.edit_of} cannot be written in this model's {L}-token SELFIES vocabulary; "
                                   f"pick a smaller molecule to edit.")
            base = torch.tensor(ids)[None].repeat(m, 1)  # (m, L)
            gen = torch.Generator("cpu").manual_seed(req.seed + 7919)
            remask = torch.rand(base.shape, generator=gen) < req.edit_strength
            return torch.where(remask, torch.full_like(base, MASK_ID), base), None, None
        return None, None, None

    def generate(self, req: GenerateRequest) -> GenerationResult:
        """Returns up to req.n ranked, novel, unblocked candidates. Same request + model => same result.

        Raises InvalidInput for n outside 1..64, a negative guidance, an empty prompt without weights,
        unknown labels in weights, or an unparsable SMILES in keep_scaffold_of / edit_of.
        """
        return self._generate(req)

    def _generate(self, req: GenerateRequest, raw: list[str | None] | None = None) -> GenerationResult:
        """generate(), optionally on samples already drawn for this request (the evaluation reuses them)."""
        if not 1 <= req.n <= MAX_N:
            raise InvalidInput(f"n must be between 1 and {MAX_N}, got {req.n}.")
        if not 0.0 <= req.guidance <= 10.0:
            raise InvalidInput(f"guidance must be between 0 and 10, got {req.guidance}.")
        if req.note not in (None, "top", "heart", "base"):
            raise InvalidInput(f"note must be top, heart or base, got {req.note!r}.")
        interp = self.interpret(req.prompt) if (req.prompt.strip() or req.weights is None) else None
        weights = req.weights if req.weights is not None else (interp.weights if interp else {})
        target = self.target_vector(weights)
        excluded = np.zeros(len(self.labels), bool)
        for lab in (interp.excluded if interp else ()):
            if lab in self.labels:
                excluded[self.labels.index(lab)] = True
        version = self.model_version
        if target.sum() <= 0:
            why = (interp.message if interp and interp.message else
                   "No odor descriptor could be read from the prompt; name smells (e.g. citrus, woody, rose) or set weights.")
            return GenerationResult(req, interp, (), 0, 0, 0, 0, 0, why, version)

        m = self.oversample * req.n
        init, constraint, problem = self._start(req, m)
        if raw is None:
            raw = self.sample_smiles(target, m, req.seed, req.guidance, init=init, constraint=constraint)
        valid = [s for s in raw if s is not None]
        unique = list(dict.fromkeys(valid))
        mols = [to_mol(s) for s in unique]
        known = self.reporter.known
        novel = [(s, mol) for s, mol in zip(unique, mols) if mol is not None and not known.is_known(mol)]
        screen = self.reporter.screen
        kept, n_blocked, n_filtered = [], 0, 0
        for s, mol in novel:
            rep = screen.screen(mol)
            if rep.verdict == "blocked":
                n_blocked += 1
                continue
            props = compute_properties(mol, self.reporter.prop_models) if (req.note or req.mw_range) else None
            if ((req.hide_caution and rep.verdict in ("caution", "not screened"))
                    or (req.note and props is not None and props.note != req.note)
                    or (req.mw_range and props is not None and not req.mw_range[0] <= props.mw <= req.mw_range[1])):
                n_filtered += 1
                continue
            kept.append((s, mol, rep, props))
        cands: list[Candidate] = []
        if kept:
            probs, std = self.reporter.predictor.predict_with_std([k[1] for k in kept])
            match = odor_match(probs, target, excluded)
            order = sorted(range(len(kept)), key=lambda i: (-round(float(match[i]), 6), i))[: req.n]
            for rank, i in enumerate(order, 1):
                s, mol, rep, props = kept[i]
                prof = OdorProfile(self.labels, tuple(map(float, probs[i])), tuple(map(float, std[i])),
                                   self.reporter.predictor.version)
                cands.append(Candidate(
                    rank=rank, smiles=s, odor_match=float(match[i]), top_descriptors=tuple(l for l, _ in prof.top(5)),
                    odor=prof, novel=True, nearest=known.nearest(mol), safety=rep,
                    properties=props if props is not None else compute_properties(mol, self.reporter.prop_models),
                    seed=req.seed, model_version=version))
        message = problem
        if len(cands) < req.n:
            why = (f"Only {len(cands)} of {req.n} candidates: sampled {m}, {len(valid)} valid, {len(unique)} unique, "
                   f"{len(unique) - len(novel)} already known (left out), {n_blocked} blocked by the safety screen, "
                   f"{n_filtered} outside the note/MW/caution filters. Try another seed or a lower guidance.")
            message = f"{problem} {why}" if problem else why
        return GenerationResult(req, interp, tuple(cands), m, len(valid), len(unique), len(novel), n_blocked, message,
                                version, n_filtered)


def load_pipeline(settings: Settings, *, reporter: Reporter | None = None) -> Pipeline:
    """Returns the pipeline with the shipped models (generator from settings.generator_dir, else weights_dir/generator).

    reporter: an already-loaded `Reporter` to share (the app holds one per process); None loads it here.
    Raises ModelNotFound when any model's weights are missing: there is no generation without a checkpoint.
    """
    return Pipeline(generator=load_generator(settings.generator_path),
                    interpreter=load_interpreter(settings),
                    reporter=reporter if reporter is not None else load_reporter(settings))
