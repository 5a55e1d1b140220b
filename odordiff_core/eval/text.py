"""Evaluation of the prompt interpreter (`odordiff_core/text/`): `odordiff evaluate text`.

The shipped interpreter is scored against two baselines (keyword match, embedding similarity to the label
names) on the held-out GoodScents descriptions of `train.text.split_examples` (same seed, same molecules),
and on the evocative prompts in package_data/eval/evocative_prompts.jsonl (written before tuning).
Perfumers' words (text/vocabulary.py): the share of a briefs file (`--briefs`, e.g. the 40 briefs of
the repository's test data (perfumer_briefs_40.jsonl), written before tuning and kept fixed) with an expected label in the shown
top 5; the share of the trade-name table whose name reads as a material with a structure; and for the 24
materials of COMMON_MATERIALS, whether the brief "<name>" puts its defining note in the top 3.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PACKAGE_DATA_DIR, Settings
from ..text import Interpreter, MiniLMEncoder, load_interpreter
from ..train.text import TrainConfig, label_matrix, load_examples, split_examples

EVOCATIVE_FILE = PACKAGE_DATA_DIR / "eval" / "evocative_prompts.jsonl"  # {id, text, expected: [labels]} per line
LONG_BRIEF_CHARS = 2000  # the latency check's brief: material names repeated to this length (the app's max_chars)

# 24 materials every perfumer's palette holds, with the note that defines each (the perfumer's reading, given as
# GS-LF labels; two where the material is known for both). Written before the vocabulary was tuned.
COMMON_MATERIALS: dict[str, tuple[str, ...]] = {
    "Hedione": ("jasmin",), "Iso E Super": ("woody",), "Galaxolide": ("musk",), "Ambroxan": ("amber",),
    "Calone": ("ozone", "melon"), "linalool": ("floral",), "limonene": ("citrus",), "coumarin": ("coumarinic",),
    "vanillin": ("vanilla",), "ethyl vanillin": ("vanilla",), "Lilial": ("muguet",), "hydroxycitronellal": ("muguet",),
    "citral": ("lemon",), "geraniol": ("rose",), "phenylethyl alcohol": ("rose",), "eugenol": ("clove",),
    "cis-3-hexenol": ("green",), "benzyl acetate": ("jasmin",), "alpha-ionone": ("violet",), "Cashmeran": ("musk",),
    "Javanol": ("sandalwood",), "dihydromyrcenol": ("citrus",), "ethylene brassylate": ("musk",),
    "methyl anthranilate": ("orangeflower",),
}


def recall_at_k(scores: np.ndarray, Y: np.ndarray, k: int = 5) -> float:
    """Returns mean over rows of |true ∩ top-k| / |true| (rows with no true label are skipped)."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (N, k)
    hits = np.take_along_axis(Y, top, axis=1).sum(1)  # (N,)
    n = Y.sum(1)
    return float(np.mean(hits[n > 0] / n[n > 0]))


def mean_average_precision(scores: np.ndarray, Y: np.ndarray) -> float:
    """Returns the mean over rows of average precision of the full label ranking."""
    order = np.argsort(-scores, axis=1, kind="stable")  # (N, 138)
    rel = np.take_along_axis(Y, order, axis=1)  # (N, 138) 0/1 in rank order
    cum = np.cumsum(rel, axis=1)
    prec = cum / np.arange(1, Y.shape[1] + 1)
    n = rel.sum(1)
    ap = (prec * rel).sum(1)[n > 0] / n[n > 0]
    return float(np.mean(ap))


def keyword_scores(texts: list[str], labels: tuple[str, ...], prior: np.ndarray) -> np.ndarray:
    """Baseline: 1 for each label name found as a whole word in the text; ties broken by label frequency."""
    pats = [re.compile(r"(?<![\w])" + re.escape(l) + r"(?![\w])") for l in labels]
    S = np.zeros((len(texts), len(labels)))
    for r, t in enumerate(texts):
        low = t.lower()
        for j, p in enumerate(pats):
            if p.search(low):
                S[r, j] = 1.0
    return S + 1e-3 * prior / prior.max()


def similarity_scores(encoder: MiniLMEncoder, texts: list[str], label_emb: np.ndarray) -> np.ndarray:
    """Baseline: cosine similarity of the whole text's embedding to each label name's embedding."""
    return encoder.encode(texts) @ label_emb.T  # (N, 138)


def load_evocative(path: Path = EVOCATIVE_FILE) -> list[dict[str, Any]]:
    """Returns the evocative prompts ({id, text, expected: [labels]}) from a JSON Lines file (default: package data).

    Raises InvalidInput when the file is missing or a line is not such an object.
    """
    from ..errors import InvalidInput

    if not path.is_file():
        raise InvalidInput(f"No briefs file at {path}. Give a JSON Lines file with {{id, text, expected}} per line.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path} line {n} is not JSON ({exc.msg}).") from None
        if not (isinstance(obj, dict) and "id" in obj and isinstance(obj.get("text"), str)
                and isinstance(obj.get("expected"), list)):
            raise InvalidInput(f"{path} line {n} needs \"id\", a string \"text\" and an \"expected\" list of labels.")
        out.append(obj)
    return out


def shown_hits(it: Interpreter, prompts: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Returns (prompts with an expected label among the first 5 weights the reader shows, ids of the others)."""
    shown = [list(r.weights)[:5] for r in it.interpret_many([p["text"] for p in prompts])]
    misses = [p["id"] for p, top in zip(prompts, shown) if not set(top) & set(p["expected"])]
    return len(prompts) - len(misses), misses


@dataclass(frozen=True)
class VocabularyScore:
    """The perfumers'-words figures (None where not measured)."""

    briefs_hits: int | None  # briefs with an expected label in the shown top 5
    n_briefs: int
    briefs_misses: tuple[str, ...]
    trade_rows: int  # rows of package_data/materials/trade_names.csv
    trade_resolved: int  # rows whose name reads as a material with a structure
    common_hits: int  # COMMON_MATERIALS with their defining note in the shown top 3
    common_misses: tuple[str, ...]
    latency_ms_p50_cpu: float  # CPU time of interpret(), 1 thread, warm: evocative prompts + the long brief
    latency_ms_long_cpu: float  # CPU time of interpret() on the LONG_BRIEF_CHARS brief of material names (median of 5)
    everyday_things: int = 0  # things of package_data/materials/everyday.csv the reader knows
    everyday_unresolved: tuple[str, ...] = ()  # "thing: constituent" pairs no reading knows (dropped from the reading)


def evaluate_vocabulary(it: Interpreter, briefs: Path | None) -> VocabularyScore:
    """Measures the perfumers'-words readers of a loaded interpreter (see the module docstring)."""
    import csv

    import torch

    from ..text.vocabulary import TRADE_NAMES_FILE, ReadingKind

    hits: int | None = None
    misses: list[str] = []
    n = 0
    if briefs is not None:
        items = load_evocative(briefs)
        n = len(items)
        hits, misses = shown_hits(it, items)
    rows: list[dict[str, str]] = []
    if TRADE_NAMES_FILE.is_file():
        with TRADE_NAMES_FILE.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    read = it.interpret_many([r["name"] for r in rows]) if rows else []
    resolved = sum(any(x.kind == ReadingKind.MATERIAL and x.smiles for x in r.readings) for r in read)
    common = it.interpret_many(list(COMMON_MATERIALS))
    common_misses = [name for (name, notes), r in zip(COMMON_MATERIALS.items(), common)
                     if not set(list(r.weights)[:3]) & set(notes)]
    names = [r["name"] for r in rows] or list(COMMON_MATERIALS)
    long_brief = ""
    while len(long_brief) < LONG_BRIEF_CHARS:
        long_brief += ", ".join(names) + ", "
    long_brief = long_brief[:LONG_BRIEF_CHARS]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this evaluation process only
    texts = [p["text"] for p in load_evocative()] + [long_brief]
    times, long_times = [], []
    for rep in range(3):
        for t in texts:
            s = time.process_time()
            it.interpret(t)
            if rep:  # the first pass is the warm-up
                times.append((time.process_time() - s) * 1000)
    for _ in range(5):
        s = time.process_time()
        it.interpret(long_brief)
        long_times.append((time.process_time() - s) * 1000)
    torch.set_num_threads(threads)
    v = it.vocabulary
    unresolved = tuple(f"{t}: {c}" for t, cs in v.unresolved.items() for c in cs) if v is not None else ()
    return VocabularyScore(hits, n, tuple(misses), len(rows), resolved, len(COMMON_MATERIALS) - len(common_misses),
                           tuple(common_misses), float(np.median(times)), float(np.median(long_times)),
                           v.n_things if v is not None else 0, unresolved)


@dataclass(frozen=True)
class MethodScore:
    """One method's figures on the held-out descriptions and the evocative prompts."""

    recall_at_5: float  # held-out GoodScents: mean |true ∩ top-5| / |true|, full ranking
    map: float  # held-out GoodScents: mean average precision of the full 138-label ranking
    evocative_hits: int  # prompts with an expected label in the top 5 (model: the weights it shows)


@dataclass(frozen=True)
class TextEvaluation:
    """The figures `odordiff evaluate text` prints (and the model card quotes)."""

    n_heldout: int  # held-out GoodScents descriptions with >= 1 mapped label
    n_evocative: int
    model: MethodScore
    keyword: MethodScore
    similarity: MethodScore
    load_s: float  # load_interpreter wall time in this process
    torch_threads: int  # torch intra-op threads of the process (default: number of cores)
    latency_ms_mean: float  # interpret() of one prompt, warm, mean over the evocative prompts x 2 repeats
    latency_ms_p95: float
    latency_ms_mean_1thread: float  # the same with torch.set_num_threads(1)
    latency_ms_p95_1thread: float
    evocative_misses: tuple[str, ...]  # ids with no expected label in the model's shown top 5
    evocative_hits_ranking: int  # model hits counted on its full ranking, like the baselines
    model_version: str
    vocabulary: VocabularyScore | None = None  # perfumers' words (None: the interpreter has no vocabulary)


def evaluate(settings: Settings, cfg: TrainConfig = TrainConfig(), log: Callable[..., Any] = print,
             briefs: Path | None = None) -> TextEvaluation:
    """Measures the shipped interpreter against the two baselines on the same held-out descriptions, and its
    perfumers'-words readers (on `briefs` when given)."""
    t0 = time.perf_counter()
    it: Interpreter = load_interpreter(settings)
    load_s = time.perf_counter() - t0
    labels = it.labels
    examples = [e for e in load_examples(settings, labels) if e.labels]
    train_ex, test_ex = split_examples(examples, cfg.holdout, cfg.seed)
    test_gs = [e for e in test_ex if e.source == "goodscents"]
    texts = [e.text for e in test_gs]
    Y = label_matrix(test_gs, labels)
    prior = label_matrix([e for e in train_ex if e.source == "goodscents"], labels).sum(0) + 1.0
    log(f"held-out GoodScents descriptions: {len(test_gs)}")
    model_S = it.score(texts)
    kw_S = keyword_scores(texts, labels, prior)
    sim_S = similarity_scores(it.encoder, texts, it.label_emb)

    evo = load_evocative()
    idx = {l: i for i, l in enumerate(labels)}
    evo_texts = [p["text"] for p in evo]

    def hits(S: np.ndarray) -> tuple[int, list[str]]:
        top = np.argsort(-S, axis=1, kind="stable")[:, :5]
        miss = [p["id"] for p, t in zip(evo, top) if not any(idx[l] in t for l in p["expected"])]
        return len(evo) - len(miss), miss

    ranked_hits = hits(it.score(evo_texts))[0]
    model_hits, misses = shown_hits(it, evo)  # what the user sees
    scores = {
        "model": MethodScore(recall_at_k(model_S, Y), mean_average_precision(model_S, Y), model_hits),
        "keyword": MethodScore(recall_at_k(kw_S, Y), mean_average_precision(kw_S, Y), hits(keyword_scores(evo_texts, labels, prior))[0]),
        "similarity": MethodScore(recall_at_k(sim_S, Y), mean_average_precision(sim_S, Y),
                                  hits(similarity_scores(it.encoder, evo_texts, it.label_emb))[0]),
    }
    import torch

    lat = {}
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)  # this evaluation process only
        times = []
        for _ in range(3):
            for t in evo_texts:
                s = time.perf_counter()
                it.interpret(t)
                times.append((time.perf_counter() - s) * 1000)
        times = times[len(evo_texts):]  # first pass is the warm-up
        lat[threads] = (float(np.mean(times)), float(np.percentile(times, 95)))
    torch.set_num_threads(default_threads)
    return TextEvaluation(
        n_heldout=len(test_gs), n_evocative=len(evo), model=scores["model"], keyword=scores["keyword"],
        similarity=scores["similarity"], load_s=load_s, torch_threads=default_threads,
        latency_ms_mean=lat[default_threads][0], latency_ms_p95=lat[default_threads][1],
        latency_ms_mean_1thread=lat[1][0], latency_ms_p95_1thread=lat[1][1],
        evocative_misses=tuple(misses), evocative_hits_ranking=ranked_hits, model_version=it.version,
        vocabulary=evaluate_vocabulary(it, briefs) if it.vocabulary is not None else None,
    )
