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
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import selfies as sf
from rdkit import DataStructs
from rdkit.Chem import Descriptors

from ..chem import Mol, morgan_fp, to_mol
from ..config import GENERATION
from ..tokens import decode_smiles, to_selfies

ODORANT_ELEMENTS = {"C", "H", "O", "N", "S"}


# ----------------------------------------------------------------------------------------------------------
# baselines

def retrieve(train_Y: np.ndarray, target: np.ndarray, m: int) -> np.ndarray:
    """Returns the indices of the m training molecules whose 0/1 labels best match the target (cosine)."""
    norms = np.linalg.norm(train_Y, axis=1) * max(float(np.linalg.norm(target)), 1e-9)
    cos = (train_Y @ target) / np.maximum(norms, 1e-9)
    return np.argsort(-cos, kind="stable")[:m]


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


def list_metrics(smiles: Sequence[str], target: np.ndarray, oracle: Oracle, is_known) -> dict:
    """Returns the metrics of one returned list (novelty, diversity, odorant-likeness, SA, adherence, hit@5)."""
    mols = [m for m in (to_mol(s) for s in smiles) if m is not None]
    if not mols:
        return {"n": 0}
    probs = oracle.proba(mols)
    novel = [not is_known(m) for m in mols]
    sa = [x for x in (sa_score(m) for m in mols) if x is not None]
    adh = oracle.adherence(probs, target)
    novel_idx = [i for i, v in enumerate(novel) if v]
    return {"n": len(mols), "novelty": float(np.mean(novel)), "intdiv": internal_diversity(mols),
            "odorant_like": float(np.mean([is_odorant_like(m) for m in mols])),
            "sa_median": float(np.median(sa)) if sa else None, "adherence": float(adh.mean()),
            "hit5": float(oracle.hit_at_5(probs, target).mean()),
            "adherence_novel": float(adh[novel_idx].mean()) if novel_idx else None,
            "odorant_like_novel": float(np.mean([is_odorant_like(mols[i]) for i in novel_idx])) if novel_idx else None}


def summarize(stats: dict[str, MethodStats]) -> list[dict]:
    """Returns one row per method: raw-sample validity/uniqueness plus list metrics averaged over prompts."""
    out = []
    for name, st in stats.items():
        row: dict = {"method": name}
        row["validity"] = st.valid / st.sampled if st.sampled else None
        row["uniqueness"] = st.unique / st.valid if st.valid else None
        row["sample_novelty"] = st.unique_novel / st.unique if st.unique else None
        for key in ("n", "novelty", "intdiv", "odorant_like", "sa_median", "adherence", "hit5", "adherence_novel",
                    "odorant_like_novel"):
            vals = [r[key] for r in st.rows if r.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
        out.append(row)
    return out


def evaluate(pipeline, settings, *, n: int = GENERATION.n, seed: int = GENERATION.seed, n_heldout_prompts: int = 40,
             n_evocative: int = 10, guidance: float | None = None, log=print) -> dict:
    """Runs OdorDiff (direct and reranked pipeline) and the three baselines on the same prompts.

    Prompts: the label sets of n_heldout_prompts held-out molecules (fixed order from the seed) and the first
    n_evocative EVOCATIVE_PROMPTS read by the interpreter. Returns {"settings", "rows", "unconditional_intdiv"}.
    """
    import torch

    from ..datasets import load_labelled
    from ..pipeline import GenerateRequest, odor_match
    from ..tokens import MASK_ID

    t0 = time.time()
    g = guidance if guidance is not None else pipeline.sampler.guidance
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
    methods = ["RANDOM", "RETRIEVE+MUTATE", "RETRIEVE+MUTATE+RERANK", f"OdorDiff direct (g={g})",
               f"OdorDiff pipeline (g={g}, rerank {pipeline.oversample}x)",
               f"OdorDiff edit of retrieved (50% re-masked, g={g}, rerank)"]
    stats = {m: MethodStats() for m in methods}
    k = pipeline.oversample
    for pi, (name, target, excluded) in enumerate(prompts):
        prng = np.random.default_rng(seed + pi)
        # RANDOM
        pick = [train_smiles[j] for j in prng.choice(len(train_smiles), n, replace=False)]
        stats["RANDOM"].rows.append(list_metrics(pick, target, oracle, is_known))
        # RETRIEVE+MUTATE
        top = [train_smiles[j] for j in retrieve(train_Y, target, n)]
        muts = mutants(top, 1, prng, alphabet, is_known)
        stats["RETRIEVE+MUTATE"].rows.append(list_metrics(muts, target, oracle, is_known))
        # RETRIEVE+MUTATE+RERANK: k*n mutants of the best-matching molecules, same ranker as OdorDiff
        pool = mutants(top, k, prng, alphabet, is_known)
        if pool:
            probs = pipeline.reporter.predictor.predict_proba([to_mol(s) for s in pool])
            score = odor_match(probs, target, excluded)
            best = [pool[j] for j in np.argsort(-score, kind="stable")[:n]]
        else:
            best = []
        stats["RETRIEVE+MUTATE+RERANK"].rows.append(list_metrics(best, target, oracle, is_known))
        # OdorDiff direct: the first n distinct valid samples of the same draw the pipeline ranks
        weights = {l: float(w) for l, w in zip(pipeline.labels, target) if w > 0}
        plan = pipeline.plan(GenerateRequest(prompt="", n=n, seed=seed, guidance=g, weights=weights))
        raw = pipeline.sample(plan)  # k * n samples of the target
        valid = [s for s in raw if s]
        uniq = list(dict.fromkeys(valid))
        st = stats[methods[3]]
        st.sampled += len(raw)
        st.valid += len(valid)
        st.unique += len(uniq)
        st.unique_novel += sum(not is_known(to_mol(s)) for s in uniq)
        st.rows.append(list_metrics(uniq[:n], target, oracle, is_known))
        # OdorDiff pipeline: the same samples, then novelty/safety filter and rerank
        res = pipeline.rank(plan, pipeline.screen(plan, raw))
        st2 = stats[methods[4]]
        st2.sampled += res.n_sampled
        st2.valid += res.n_valid
        st2.unique += res.n_unique
        st2.unique_novel += res.n_novel
        st2.rows.append(list_metrics([c.smiles for c in res.candidates], target, oracle, is_known))
        # OdorDiff edit mode from the best-matching training molecules: k copies of each, half re-masked
        L = pipeline.generator.model.cfg.max_len
        enc = [pipeline.generator.vocab.encode(to_selfies(s) or "", L) for s in top]
        base = torch.tensor([e for e in enc if e is not None]).repeat_interleave(k, 0)  # (m, L)
        gen = torch.Generator("cpu").manual_seed(seed + pi)
        init = torch.where(torch.rand(base.shape, generator=gen) < 0.5, torch.full_like(base, MASK_ID), base)
        plan_e = replace(plan, n_samples=len(init), init=init)
        raw_e = pipeline.sample(plan_e)
        res_e = pipeline.rank(plan_e, pipeline.screen(plan_e, raw_e))
        st3 = stats[methods[5]]
        st3.sampled += len(raw_e)
        st3.valid += res_e.n_valid
        st3.unique += res_e.n_unique
        st3.unique_novel += res_e.n_novel
        st3.rows.append(list_metrics([c.smiles for c in res_e.candidates], target, oracle, is_known))
        log(f"[{pi + 1}/{len(prompts)}] {name[:60]}  ({time.time() - t0:.0f} s)")
    # unconditional diversity (guidance 0) on 4 * n samples
    unc = [s for s in pipeline.sample_smiles(np.ones(len(pipeline.labels), np.float32), k * n, seed, 0.0) if s]
    unc_div = internal_diversity([m for m in (to_mol(s) for s in dict.fromkeys(unc)) if m is not None])
    return {"settings": {"n": n, "seed": seed, "guidance": g, "steps": pipeline.sampler.steps, "oversample": k,
                         "n_prompts": len(prompts), "n_heldout_prompts": len(held_idx), "n_evocative": n_evocative,
                         "oracle": "Morgan r2 2048-bit logistic regression per label (C=0.1), trained without the held-out set",
                         "generator": pipeline.generator.version, "minutes": round((time.time() - t0) / 60, 1)},
            "rows": summarize(stats), "unconditional_intdiv": unc_div}
