"""Evaluates the generator (`odordiff evaluate generator`): metrics, an independent oracle, and the baselines
it must beat.

Baselines (named for what they are; none of them is presented as the generator):
- RANDOM: n random training molecules.
- RETRIEVE+MUTATE: the n training molecules whose labels best match the targets (cosine), each changed by
  1-2 random SELFIES token edits (replace / insert / delete), keeping valid novel mutants.
- RETRIEVE+MUTATE+RERANK: the generator's sample budget (k*n) of such mutants of the best-matching
  molecules, ranked by the pipeline's own odor_match, keeping the n best novel ones.

Adherence is graded by an oracle the generator and the ranker never use: a Morgan-fingerprint logistic
regression per label, trained on the labelled molecules minus the generator's held-out set.

Distance from the known: mutating a known odorant by one or two tokens stays where any two predictors agree,
so one overall number rewards staying close. Every method's returned candidates are therefore also reported
per bin of nearest-known similarity (Morgan r2 Tanimoto to the closest molecule in any data file), pooled
across prompts within a bin, and each OdorDiff method is compared with RETRIEVE+MUTATE+RERANK bin by bin.
"""
from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import selfies as sf
from rdkit import DataStructs
from rdkit.Chem import Descriptors

from ..chem import Mol, morgan_fp, to_mol
from ..config import GENERATION
from ..retrieval import retrieve  # the runtime's retrieval (exploration < 1 edits what it returns)
from ..soundness import SoundnessScreen
from ..tokens import decode_smiles, to_selfies

ODORANT_ELEMENTS = {"C", "H", "O", "N", "S"}


# ----------------------------------------------------------------------------------------------------------
# baselines

def mutate_selfies(smiles: str, rng: np.random.Generator, alphabet: Sequence[str]) -> str | None:
    """Returns the canonical SMILES after 1-2 random SELFIES token edits, or None when it does not decode.

    New tokens are drawn uniformly from `alphabet`; repeat tokens in it to weight them.
    """
    s = to_selfies(smiles)
    if not s:
        return None
    toks = list(sf.split_selfies(s))
    for _ in range(int(rng.integers(1, 3))):
        op = rng.integers(3) if len(toks) > 1 else 1
        pos = int(rng.integers(len(toks) + (op == 1)))
        if op == 0:
            toks[pos] = alphabet[int(rng.integers(len(alphabet)))]
        elif op == 1:
            toks.insert(pos, alphabet[int(rng.integers(len(alphabet)))])
        else:
            del toks[pos]
    return decode_smiles("".join(toks))


def mutants(sources: Sequence[str], per_source: int, rng: np.random.Generator, alphabet: Sequence[str],
            is_known, max_tries: int = 20) -> list[str]:
    """Returns up to per_source distinct valid novel mutants of each source, in source order."""
    out: list[str] = []
    seen: set[str] = set()
    for src in sources:
        got = 0
        for _ in range(per_source * max_tries):
            if got >= per_source:
                break
            smi = mutate_selfies(src, rng, alphabet)
            if smi is None or smi in seen:
                continue
            mol = to_mol(smi)
            if mol is None or is_known(mol):
                continue
            seen.add(smi)
            out.append(smi)
            got += 1
    return out


# ----------------------------------------------------------------------------------------------------------
# metrics

def internal_diversity(mols: Sequence[Mol]) -> float | None:
    """Returns 1 - mean pairwise Tanimoto (Morgan r2) over distinct pairs (MOSES IntDiv1); None below 2 molecules."""
    if len(mols) < 2:
        return None
    fps = [morgan_fp(m) for m in mols]
    sims = [s for i in range(len(fps) - 1) for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:])]
    return 1.0 - float(np.mean(sims))


def is_odorant_like(mol: Mol) -> bool:
    """MW 80-350, only C/H/O/N/S, no formal charge, at most 25 heavy atoms (the issue's definition)."""
    return (80 <= Descriptors.MolWt(mol) <= 350 and mol.GetNumHeavyAtoms() <= 25  # type: ignore[attr-defined]  # rdkit-stubs lack it
            and all(a.GetSymbol() in ODORANT_ELEMENTS and a.GetFormalCharge() == 0 for a in mol.GetAtoms()))


def sa_score(mol: Mol) -> float | None:
    from ..properties import compute_properties

    return compute_properties(mol, None).sa_score


@dataclass
class Oracle:
    """Independent adherence grader: one Morgan logistic regression per label (not the pipeline's ranker)."""

    coef: np.ndarray  # (2048, 138)
    intercept: np.ndarray  # (138,)
    known_probs: np.ndarray  # (N_known, 138) oracle probabilities of the 4,983 labelled molecules

    def proba(self, mols: Sequence[Mol]) -> np.ndarray:
        X = _fp_matrix(mols)
        return 1.0 / (1.0 + np.exp(-(X @ self.coef + self.intercept)))  # (N, 138)

    def adherence(self, probs: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Returns per molecule the percentile (0..1) of its target-weighted oracle probability among known molecules."""
        w = target / target.sum()
        ref = np.sort(self.known_probs @ w)
        s = probs @ w
        return (np.searchsorted(ref, s, "left") + np.searchsorted(ref, s, "right")) / (2.0 * len(ref))

    @staticmethod
    def hit_at_5(probs: np.ndarray, target: np.ndarray) -> np.ndarray:
        top5 = np.argsort(-probs, axis=1)[:, :5]
        return (target[top5] > 0).any(axis=1).astype(float)


def _fp_matrix(mols: Sequence[Mol]) -> np.ndarray:
    X = np.zeros((len(mols), 2048), np.float32)
    for i, m in enumerate(mols):
        DataStructs.ConvertToNumpyArray(morgan_fp(m), X[i])
    return X


def train_oracle(train_mols: Sequence[Mol], train_Y: np.ndarray, all_mols: Sequence[Mol], C: float = 0.1) -> Oracle:
    """Fits the oracle on the training molecules only (the generator's held-out molecules are not in them)."""
    from sklearn.linear_model import LogisticRegression

    X = _fp_matrix(train_mols)
    coef = np.zeros((2048, train_Y.shape[1]), np.float32)
    icpt = np.zeros(train_Y.shape[1], np.float32)
    for j in range(train_Y.shape[1]):
        y = train_Y[:, j]
        if y.min() == y.max():  # a label with no positive in training: constant log-odds
            icpt[j] = -10.0 if y.max() == 0 else 10.0
            continue
        lr = LogisticRegression(C=C, solver="liblinear", max_iter=200).fit(X, y)
        coef[:, j], icpt[j] = lr.coef_[0], lr.intercept_[0]
    o = Oracle(coef, icpt, np.zeros((0, train_Y.shape[1])))
    o.known_probs = o.proba(all_mols)
    return o


# ----------------------------------------------------------------------------------------------------------
# distance from the known: figures per bin of nearest-known similarity

SIMILARITY_EDGES = (0.4, 0.6, 0.8)  # bin edges of nearest-known Tanimoto; a value on an edge goes to the upper bin
SIMILARITY_BINS = ("< 0.4", "0.4-0.6", "0.6-0.8", ">= 0.8")  # one name per bin, lowest similarity first
MIN_BIN_N = 50  # candidates each method needs in a bin before the bin's adherence is compared (the rule)
REFERENCE = "RETRIEVE+MUTATE+RERANK"  # the baseline every OdorDiff method is compared with, bin by bin
# The same mutants passed through the pipeline's own screen (novelty, soundness, safety) and rank stages, so
# both sides return only what a perfumer would be shown; OdorDiff is compared with this one too.
SCREENED_REFERENCE = "RETRIEVE+MUTATE+RERANK, same screens"


def similarity_bin(similarity: float) -> int:
    """Returns the index in SIMILARITY_BINS of a nearest-known similarity: [0, 0.4), [0.4, 0.6), [0.6, 0.8), [0.8, 1]."""
    return bisect.bisect_right(SIMILARITY_EDGES, similarity)


def fingerprints(smiles: Iterable[str]) -> list:
    """Returns the Morgan r2 2048-bit fingerprints of the SMILES RDKit parses (the others are skipped)."""
    return [morgan_fp(m) for m in (to_mol(s) for s in smiles) if m is not None]


def nearest_similarity(mol: Mol, fps: list) -> float:
    """Returns the Tanimoto (Morgan r2) of mol to its closest fingerprint in fps; 0.0 when fps is empty."""
    return max(DataStructs.BulkTanimotoSimilarity(morgan_fp(mol), fps), default=0.0)


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """One returned candidate, graded by the oracle, with its distance from the known."""

    nearest_similarity: float  # Morgan r2 Tanimoto to the closest molecule in any data file (1.0 = a known one)
    adherence: float  # oracle percentile (0..1) of its target-weighted probability among labelled molecules
    hit5: float  # 1.0 when the oracle's top-5 labels include a target, else 0.0
    odorant_like: bool  # is_odorant_like
    sound: bool | None = None  # passes the chemical-soundness screen (soundness.py); None = not checked
    prompt: int = 0  # which of the evaluation's prompts it answers (bin_margins resamples prompts)


@dataclass(frozen=True)
class GradedList:
    """One returned list graded once: its parsable molecules, the oracle's view of them and their soundness."""

    mols: tuple[Mol, ...]
    adherence: np.ndarray  # (N,) Oracle.adherence
    hit5: np.ndarray  # (N,) Oracle.hit_at_5
    odorant_like: tuple[bool, ...]  # is_odorant_like
    sound: tuple[bool, ...] | None  # passes the soundness screen as written; None = not checked
    sound_tautomer: tuple[bool, ...] | None  # ... as written or through its stable tautomer (the pipeline's screen)


def grade(smiles: Sequence[str], target: np.ndarray, oracle: Oracle,
          soundness: SoundnessScreen | None = None) -> GradedList:
    """Returns the grades of the parsable SMILES of one returned list: each molecule is parsed, scored by the oracle
    and (with `soundness`) checked by the rules once; the stable tautomer is tried only where the rules fail."""
    mols = tuple(m for m in (to_mol(s) for s in smiles) if m is not None)
    if not mols:
        empty = np.zeros(0)
        return GradedList(mols, empty, empty, (), None if soundness is None else (), None if soundness is None else ())
    probs = oracle.proba(mols)
    sound = taut = None
    if soundness is not None:
        reports = [soundness.check(m) for m in mols]
        sound = tuple(r.sound for r in reports)
        taut = tuple(r.sound or soundness.stable_tautomer(m, r) is not None for m, r in zip(mols, reports))
    return GradedList(mols, oracle.adherence(probs, target), oracle.hit_at_5(probs, target),
                      tuple(is_odorant_like(m) for m in mols), sound, taut)


def candidate_scores(graded: GradedList, nearest: Callable[[Mol], float], prompt: int = 0) -> list[CandidateScore]:
    """Returns one CandidateScore per graded molecule of a returned list (the molecules list_metrics averages)."""
    sound = graded.sound if graded.sound is not None else (None,) * len(graded.mols)
    return [CandidateScore(nearest(m), float(a), float(h), o, ok, prompt) for m, a, h, o, ok in
            zip(graded.mols, graded.adherence, graded.hit5, graded.odorant_like, sound)]


def bin_rows(scores: dict[str, Sequence[CandidateScore]]) -> list[dict[str, Any]]:
    """Returns one row per (similarity bin, method): candidates pooled across prompts within the bin.

    Row keys: bin, method, n (candidates in the bin), adherence, hit5, odorant_like, sound (means over those
    candidates; None when n = 0, sound also when none was checked). Bins in SIMILARITY_BINS order, methods in
    the order of `scores`.
    """
    rows = []
    for b, name in enumerate(SIMILARITY_BINS):
        for method, recs in scores.items():
            sel = [r for r in recs if similarity_bin(r.nearest_similarity) == b]
            row: dict[str, Any] = {"bin": name, "method": method, "n": len(sel)}
            for key in ("adherence", "hit5", "odorant_like"):
                row[key] = float(np.mean([getattr(r, key) for r in sel])) if sel else None
            checked = [r.sound for r in sel if r.sound is not None]
            row["sound"] = float(np.mean(checked)) if checked else None
            rows.append(row)
    return rows


def adherence_winner(a: dict[str, Any], b: dict[str, Any], min_n: int = MIN_BIN_N) -> str | None:
    """Returns the method of the row (bin_rows' shape) with the higher adherence, "tie" when equal, or None when
    either row has fewer than min_n candidates (too few to compare)."""
    if a["n"] < min_n or b["n"] < min_n:
        return None
    if a["adherence"] == b["adherence"]:
        return "tie"
    return a["method"] if a["adherence"] > b["adherence"] else b["method"]


def bin_margins(mine: Sequence[CandidateScore], theirs: Sequence[CandidateScore], n_prompts: int, seed: int,
                draws: int = 2000) -> dict[str, tuple[float, float, float]]:
    """Returns {bin name: (difference, low, high)} for the bins where both lists have candidates: `mine`'s mean
    adherence minus `theirs`', and its 95 % interval from a bootstrap that resamples the prompts (both methods'
    candidates of a drawn prompt together, as the candidates of one prompt are not independent); seeded by `seed`."""
    weights = np.random.default_rng(seed).multinomial(n_prompts, np.full(n_prompts, 1 / n_prompts), size=draws)
    sums = np.zeros((len(SIMILARITY_BINS), 2, n_prompts))  # adherence summed per bin, side and prompt
    counts = np.zeros_like(sums)
    for side, recs in enumerate((mine, theirs)):
        for r in recs:
            b = similarity_bin(r.nearest_similarity)
            sums[b, side, r.prompt] += r.adherence
            counts[b, side, r.prompt] += 1
    out = {}
    for (sum_b, count_b), name in zip(zip(sums, counts), SIMILARITY_BINS):
        if not count_b.sum(axis=1).all():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):  # a draw without candidates of one side in the bin
            diff = (weights @ sum_b[0]) / (weights @ count_b[0]) - (weights @ sum_b[1]) / (weights @ count_b[1])
        low, high = np.nanpercentile(diff, [2.5, 97.5])
        point = sum_b[0].sum() / count_b[0].sum() - sum_b[1].sum() / count_b[1].sum()
        out[name] = (float(point), float(low), float(high))
    return out


def compare_with_reference(rows: list[dict[str, Any]], overall: list[dict[str, Any]], method: str,
                           reference: str = REFERENCE, min_n: int = MIN_BIN_N,
                           margins: dict[str, tuple[float, float, float]] | None = None) -> dict[str, Any]:
    """Returns the issue's goal for one method: adherence >= the reference's overall and in every bin where both
    return >= min_n candidates.

    Keys: method, reference, overall (True / False; None when either has no adherence), bins ({bin name:
    winner as adherence_winner returns it}), met (overall is True and no compared bin is won by the reference),
    margins (bin_margins' (difference, low, high) for the compared bins, when `margins` is given; a bin whose
    interval spans 0 is level within the noise, whichever way `bins` calls it).
    """
    adh = {r["method"]: r.get("adherence") for r in overall}
    a, ref = adh.get(method), adh.get(reference)
    by_bin = {}
    for name in SIMILARITY_BINS:
        mine = next(r for r in rows if r["bin"] == name and r["method"] == method)
        theirs = next(r for r in rows if r["bin"] == name and r["method"] == reference)
        by_bin[name] = adherence_winner(mine, theirs, min_n)
    ok_overall = None if a is None or ref is None else a >= ref
    compared = {name: m for name, m in (margins or {}).items() if by_bin.get(name) is not None}
    return {"method": method, "reference": reference, "overall": ok_overall, "bins": by_bin, "margins": compared,
            "met": ok_overall is True and all(w != reference for w in by_bin.values())}


# ----------------------------------------------------------------------------------------------------------
# evaluation

EVOCATIVE_PROMPTS = (
    "a clean citrus top note", "warm amber and vanilla base", "fresh green leafy cut grass",
    "creamy sandalwood, soft and milky", "rosy floral heart with a honeyed touch", "smoky leather and birch tar",
    "juicy pear and apple", "marine ozonic sea breeze", "powdery violet and orris", "spicy clove and cinnamon",
    "earthy patchouli and moss", "coconut and tropical fruit", "jasmine, indolic and heady",
    "cool minty freshness", "roasted coffee and cocoa", "waxy aldehydic clean laundry",
    "fresh lavender herbal", "musky skin-like warmth", "sweet caramel gourmand", "peppery woody vetiver",
)


@dataclass
class MethodStats:
    sampled: int = 0
    valid: int = 0
    unique: int = 0
    unique_novel: int = 0
    rows: list[dict] = field(default_factory=list)  # per prompt: dict of metrics over the returned list
    scores: list[CandidateScore] = field(default_factory=list)  # every returned candidate, all prompts


def list_metrics(graded: GradedList, is_known) -> dict:
    """Returns the metrics of one graded returned list (novelty, diversity, odorant-likeness, SA, adherence, hit@5
    and, when its soundness was checked, the share that passes the screen as written and the share that passes it as
    written or through its stable tautomer, as the pipeline's screen takes them)."""
    mols = graded.mols
    if not mols:
        return {"n": 0}
    novel = [not is_known(m) for m in mols]
    sa = [x for x in (sa_score(m) for m in mols) if x is not None]
    adh = graded.adherence
    novel_idx = [i for i, v in enumerate(novel) if v]
    return {"n": len(mols), "novelty": float(np.mean(novel)), "intdiv": internal_diversity(mols),
            "odorant_like": float(np.mean(graded.odorant_like)),
            "sa_median": float(np.median(sa)) if sa else None, "adherence": float(adh.mean()),
            "hit5": float(graded.hit5.mean()),
            "adherence_novel": float(adh[novel_idx].mean()) if novel_idx else None,
            "odorant_like_novel": float(np.mean([graded.odorant_like[i] for i in novel_idx])) if novel_idx else None,
            "sound": float(np.mean(graded.sound)) if graded.sound is not None else None,
            "sound_tautomer": float(np.mean(graded.sound_tautomer)) if graded.sound_tautomer is not None else None}


def summarize(stats: dict[str, MethodStats]) -> list[dict]:
    """Returns one row per method: raw-sample validity/uniqueness plus list metrics averaged over prompts."""
    out = []
    for name, st in stats.items():
        row: dict = {"method": name}
        row["validity"] = st.valid / st.sampled if st.sampled else None
        row["uniqueness"] = st.unique / st.valid if st.valid else None
        row["sample_novelty"] = st.unique_novel / st.unique if st.unique else None
        for key in ("n", "novelty", "intdiv", "odorant_like", "sa_median", "adherence", "hit5", "adherence_novel",
                    "odorant_like_novel", "sound", "sound_tautomer"):
            vals = [r[key] for r in st.rows if r.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
        out.append(row)
    return out


def evaluate(pipeline, settings, *, n: int = GENERATION.n, seed: int = GENERATION.seed, n_heldout_prompts: int = 40,
             n_evocative: int = 10, guidance: float | None = None, exploration: Sequence[float] = (), log=print) -> dict:
    """Runs OdorDiff (direct and reranked pipeline) and the three baselines on the same prompts.

    Prompts: the label sets of n_heldout_prompts held-out molecules (fixed order from the seed) and the first
    n_evocative EVOCATIVE_PROMPTS read by the interpreter. exploration: one more OdorDiff method per value, the
    pipeline's public stages with GenerateRequest(exploration=x). Returns {"settings", "rows",
    "unconditional_intdiv", "by_similarity"}; by_similarity holds the per-bin rows (`bin_rows`) and, per OdorDiff
    method, the comparison with RETRIEVE+MUTATE+RERANK (`compare_with_reference`).
    Raises InvalidInput (before any work) for an exploration value the pipeline refuses.
    """
    import torch

    from ..datasets import load_labelled
    from ..pipeline import GenerateRequest, odor_match
    from ..tokens import MASK_ID

    t0 = time.time()
    g = guidance if guidance is not None else pipeline.sampler.guidance
    for x in exploration:  # fail before the oracle's minute of training: out of 0..1, or a pipeline without retriever
        pipeline.plan(GenerateRequest(prompt="", n=n, seed=seed, guidance=g, weights={pipeline.labels[0]: 1.0},
                                      exploration=x))
    lab = load_labelled(settings)
    held = {h["smiles"] for h in pipeline.generator.heldout()}
    tr = np.array([s not in held for s in lab.smiles])
    train_smiles = [s for s, k in zip(lab.smiles, tr) if k]
    train_mols = [m for m, k in zip(lab.mols, tr) if k]
    train_Y = lab.Y[tr]
    log(f"oracle: Morgan logistic regression on {len(train_mols)} training molecules "
        f"({int((~tr).sum())} held out) ...")
    oracle = train_oracle(train_mols, train_Y, lab.mols)
    known = pipeline.reporter.known
    is_known = known.is_known
    # nearest-known similarity against every molecule in any data file; KnownIndex.nearest searches only the
    # described odorants and KnownIndex exposes no public list of its entries, so read its table once here
    known_fps = fingerprints(m.smiles for m in known.materials())
    log(f"nearest-known similarity: Morgan r2 fingerprints of {len(known_fps)} molecules in the data files")
    # mutation tokens drawn with their frequency in the training SELFIES (uniform over the vocabulary would
    # favour rare charged atoms and metals and make the baselines look worse than they are)
    alphabet = [t for s in train_smiles for t in sf.split_selfies(to_selfies(s) or "")]
    rng = np.random.default_rng(seed)
    held_idx = [i for i, s in enumerate(lab.smiles) if s in held and lab.Y[i].sum() > 0]
    held_idx = [held_idx[i] for i in rng.permutation(len(held_idx))[:n_heldout_prompts]]
    prompts: list[tuple[str, np.ndarray, np.ndarray]] = []  # (name, target, excluded)
    for i in held_idx:
        prompts.append(("held-out:" + ";".join(l for l, y in zip(lab.labels, lab.Y[i]) if y), lab.Y[i].astype(np.float32),
                        np.zeros(len(lab.labels), bool)))
    for p in EVOCATIVE_PROMPTS[:n_evocative]:
        it = pipeline.interpret(p)
        if not it.weights:
            continue
        excl = np.array([l in it.excluded for l in lab.labels])
        prompts.append((p, pipeline.target_vector(it.weights), excl))
    x0 = GENERATION.exploration  # the shipped default, which the direct and pipeline rows run at
    at = f", exploration {x0:g}" if x0 != 1.0 else ""
    methods = ["RANDOM", "RETRIEVE+MUTATE", REFERENCE, SCREENED_REFERENCE, f"OdorDiff direct (g={g}{at})",
               f"OdorDiff pipeline (g={g}{at}, rerank {pipeline.oversample}x)",
               f"OdorDiff edit of retrieved (50% re-masked, g={g}, rerank)"]
    explore = {x: f"OdorDiff exploration {x:g} (g={g}, rerank {pipeline.oversample}x)" for x in exploration}
    methods += list(explore.values())
    stats = {m: MethodStats() for m in methods}
    k = pipeline.oversample
    nearest = lambda mol: nearest_similarity(mol, known_fps)

    def record(method: str, smiles: Sequence[str], target: np.ndarray, prompt: int) -> None:
        graded = grade(smiles, target, oracle, pipeline.soundness)  # the pipeline's own soundness screen
        stats[method].rows.append(list_metrics(graded, is_known))
        stats[method].scores.extend(candidate_scores(graded, nearest, prompt))
    for pi, (name, target, excluded) in enumerate(prompts):
        prng = np.random.default_rng(seed + pi)
        # RANDOM
        pick = [train_smiles[j] for j in prng.choice(len(train_smiles), n, replace=False)]
        record("RANDOM", pick, target, pi)
        # RETRIEVE+MUTATE
        top = [train_smiles[j] for j in retrieve(train_Y, target, n)]
        muts = mutants(top, 1, prng, alphabet, is_known)
        record("RETRIEVE+MUTATE", muts, target, pi)
        # RETRIEVE+MUTATE+RERANK: k*n mutants of the best-matching molecules, same ranker as OdorDiff
        pool = mutants(top, k, prng, alphabet, is_known)
        if pool:
            probs = pipeline.reporter.predictor.predict_proba([to_mol(s) for s in pool])
            score = odor_match(probs, target, excluded)
            best = [pool[j] for j in np.argsort(-score, kind="stable")[:n]]
        else:
            best = []
        record(REFERENCE, best, target, pi)
        # OdorDiff direct: the first n distinct valid samples of the same draw the pipeline ranks; its raw figures
        # (validity, uniqueness) are the model's k * n draws before the pipeline's refill rounds
        weights = {l: float(w) for l, w in zip(pipeline.labels, target) if w > 0}
        plan = pipeline.plan(GenerateRequest(prompt="", n=n, seed=seed, guidance=g, weights=weights))
        raw = pipeline.sample(plan)  # k * n samples of the target, then the refill rounds' draws (Pipeline.sample)
        # the reranked mutants through the pipeline's own screen and rank stages (same ranker, same screens)
        screened_ref = pipeline.rank(plan, pipeline.screen(plan, list(pool)))
        record(SCREENED_REFERENCE, [c.smiles for c in screened_ref.candidates], target, pi)
        valid = [s for s in raw[:plan.n_samples] if s]  # the model's k * n draws as drawn, before any refill
        uniq = list(dict.fromkeys(valid))
        st = stats[methods[4]]
        st.sampled += plan.n_samples
        st.valid += len(valid)
        st.unique += len(uniq)
        st.unique_novel += sum(not is_known(to_mol(s)) for s in uniq)
        record(methods[4], uniq[:n], target, pi)
        # OdorDiff pipeline: the same samples, then novelty/safety filter and rerank
        res = pipeline.rank(plan, pipeline.screen(plan, raw))
        st2 = stats[methods[5]]
        st2.sampled += res.n_sampled
        st2.valid += res.n_valid
        st2.unique += res.n_unique
        st2.unique_novel += res.n_novel
        record(methods[5], [c.smiles for c in res.candidates], target, pi)
        # OdorDiff edit mode from the best-matching training molecules: k copies of each, half re-masked
        L = pipeline.generator.model.cfg.max_len
        enc = [pipeline.generator.vocab.encode_smiles(s, L) for s in top]  # None: SELFIES cannot write it, left out
        base = torch.tensor([e for e in enc if e is not None]).repeat_interleave(k, 0)  # (m, L)
        gen = torch.Generator("cpu").manual_seed(seed + pi)
        init = torch.where(torch.rand(base.shape, generator=gen) < 0.5, torch.full_like(base, MASK_ID), base)
        plan_e = replace(plan, n_samples=len(init), init=init)
        raw_e = pipeline.sample(plan_e)
        res_e = pipeline.rank(plan_e, pipeline.screen(plan_e, raw_e))
        st3 = stats[methods[6]]
        st3.sampled += len(raw_e)
        st3.valid += res_e.n_valid
        st3.unique += res_e.n_unique
        st3.unique_novel += res_e.n_novel
        record(methods[6], [c.smiles for c in res_e.candidates], target, pi)
        # OdorDiff exploration: the runtime's own edits of retrieved known odorants, through the public stages
        for x, method in explore.items():
            plan_x = pipeline.plan(GenerateRequest(prompt="", n=n, seed=seed, guidance=g, weights=weights,
                                                   exploration=x))
            res_x = pipeline.rank(plan_x, pipeline.screen(plan_x, pipeline.sample(plan_x)))
            stx = stats[method]
            stx.sampled += res_x.n_sampled
            stx.valid += res_x.n_valid
            stx.unique += res_x.n_unique
            stx.unique_novel += res_x.n_novel
            record(method, [c.smiles for c in res_x.candidates], target, pi)
        log(f"[{pi + 1}/{len(prompts)}] {name[:60]}  ({time.time() - t0:.0f} s)")
    # unconditional diversity (guidance 0) on 4 * n samples
    unc = [s for s in pipeline.sample_smiles(np.ones(len(pipeline.labels), np.float32), k * n, seed, 0.0) if s]
    unc_div = internal_diversity([m for m in (to_mol(s) for s in dict.fromkeys(unc)) if m is not None])
    rows = summarize(stats)
    by_bin = bin_rows({m: st.scores for m, st in stats.items()})
    return {"settings": {"n": n, "seed": seed, "guidance": g, "steps": pipeline.sampler.steps, "oversample": k,
                         "n_prompts": len(prompts), "n_heldout_prompts": len(held_idx), "n_evocative": n_evocative,
                         "exploration": list(exploration),
                         "oracle": "Morgan r2 2048-bit logistic regression per label (C=0.1), trained without the held-out set",
                         "generator": pipeline.generator.version, "minutes": round((time.time() - t0) / 60, 1)},
            "methods": {"direct": methods[4], "pipeline": methods[5]},
            "rows": rows, "unconditional_intdiv": unc_div,
            "by_similarity": {
                "similarity": "Morgan r2 2048-bit Tanimoto to the closest molecule in any data file",
                "n_known": len(known_fps), "edges": list(SIMILARITY_EDGES), "bins": list(SIMILARITY_BINS),
                "pooling": "candidates pooled across prompts within a bin; means are over candidates",
                "min_n": MIN_BIN_N, "rows": by_bin,
                "margins": "each compared bin's adherence difference with a 95 % interval from 2,000 bootstrap draws of "
                           "the prompts (bin_margins, seeded by the evaluation's seed)",
                "comparisons": [compare_with_reference(by_bin, rows, m, ref, margins=bin_margins(
                                    stats[m].scores, stats[ref].scores, len(prompts), seed))
                                for ref in (REFERENCE, SCREENED_REFERENCE) for m in methods if m.startswith("OdorDiff")]}}


def seed_summary(runs: Sequence[dict]) -> dict[str, Any]:
    """Returns the figures the issue's goals name for each of several `evaluate` results (one per seed) and their
    mean: the shipped pipeline's adherence against RETRIEVE+MUTATE+RERANK through the same screens and unscreened
    (overall, and of the compared bins those it wins or ties), its IntDiv and odorant-likeness, and the raw draws'
    validity, uniqueness and soundness (the direct row). Keys: "seeds" (one dict per run, in order) and "mean" (the numeric
    fields averaged over the runs; None where a run has no value)."""
    per_seed = []
    for ev in runs:
        rows = {r["method"]: r for r in ev["rows"]}
        pipe, direct = rows[ev["methods"]["pipeline"]], rows[ev["methods"]["direct"]]
        row: dict[str, Any] = {"seed": ev["settings"]["seed"], "adherence": pipe["adherence"]}
        for key, ref in (("screened", SCREENED_REFERENCE), ("unscreened", REFERENCE)):
            goal = next(c for c in ev["by_similarity"]["comparisons"]
                        if c["method"] == ev["methods"]["pipeline"] and c["reference"] == ref)
            compared = [w for w in goal["bins"].values() if w is not None]
            row[f"{key}_reference"] = rows[ref]["adherence"]
            row[f"{key}_bins_won"] = sum(w != ref for w in compared)
            row[f"{key}_bins_compared"] = len(compared)
            row[f"{key}_met"] = goal["met"]
        row.update(intdiv=pipe["intdiv"], odorant_like=pipe["odorant_like"], raw_validity=direct["validity"],
                   raw_uniqueness=direct["uniqueness"], raw_sound=direct["sound"],
                   raw_sound_tautomer=direct["sound_tautomer"])
        per_seed.append(row)
    figures = [k for k in (per_seed[0] if per_seed else {}) if k != "seed" and not k.endswith("_met")]
    mean = {k: (float(np.mean([r[k] for r in per_seed])) if all(r[k] is not None for r in per_seed) else None)
            for k in figures}
    return {"seeds": per_seed, "mean": mean}
