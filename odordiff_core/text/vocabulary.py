"""Perfumers' words -> GS-LF labels, each reading with its evidence: materials, families, everyday things.

Read in this order for each run of words in a clause (after the lexicon's direct label words):
- **families** (`package_data/materials/families.csv`, read at load): a family or accord name or synonym
  ("chypre", "fougère") -> its defining notes, with the table's source;
- **materials** (`weights/text/vocabulary.json`): a named molecule of the data files (GoodScents, Leffingwell,
  IFRA glossary) or a trade name of `package_data/materials/trade_names.csv` -> its structure -> the labels
  recorded for it (GS-LF set, else the data files' descriptors), or the odor predictor's profile when none are
  recorded; a material the safety screen blocks keeps a note that it is prohibited;
- **everyday words** (same file): words the training GoodScents descriptions and Leffingwell phrases use
  ("bread", "crust", "rind") -> the labels their molecules carry more often than chance, with the molecule count;
- **everyday things** (`package_data/materials/everyday.csv`, read at load): a composite thing whose smell comes
  from what it is made of ("Earl Grey", "mojito", "nail polish remover") -> the readings of its constituents
  (each a word this reader already knows), with the public page that defines the composition;
- a word none of these knows borrows the labels of its **nearest** everyday word or lexicon term in the
  all-MiniLM-L6-v2 space (`vocabulary.safetensors`), shown as an approximation with the cosine.
`odordiff train text --vocabulary-only` rebuilds both files (`odordiff_core/train/text.py`).
"""
from __future__ import annotations

import csv
import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from ..config import PACKAGE_DATA_DIR
from ..errors import DataError, ModelNotFound
from .grammar import fold_accents, parse_prompt, word_forms

VOCABULARY_NAME = "vocabulary.json"  # materials, everyday words, settings (in the text weights folder)
VOCABULARY_TENSORS = "vocabulary.safetensors"  # near_emb: everyday-word embeddings (W, 384)
VOCABULARY_FORMAT = 1  # bump when vocabulary.json's layout changes; the loader refuses other versions
FAMILIES_FILE = PACKAGE_DATA_DIR / "materials" / "families.csv"  # family,synonyms,defining_notes,example_materials,source
TRADE_NAMES_FILE = PACKAGE_DATA_DIR / "materials" / "trade_names.csv"  # name,synonyms,cas,smiles,supplier,source,verified
EVERYDAY_FILE = PACKAGE_DATA_DIR / "materials" / "everyday.csv"  # thing,synonyms,kind,constituents,source
EVERYDAY_COLUMNS = ("thing", "synonyms", "kind", "constituents", "source")  # the header, in this order
THING_SCALE = 0.8  # a thing's strongest label weighs this: a descriptor the brief names (1.0) still leads
THING_LABELS = 2  # labels taken from each constituent: its strongest ones, at >= half its best weight
MAX_THING_LABELS = 6  # labels a thing gives at most
MAX_NAME_WORDS = 6  # longest name looked up (words after the grammar's stopword removal)
FAMILY_STEP = 0.1  # a family's defining notes weigh 1.0, 0.9, ... in table order
FAMILY_MIN = 0.6  # ... never below this
NEGATED_NAME_LABELS = 2  # "not like Hedione" / "not a chypre" excludes the first two labels, not the whole profile
NEAR_K = 5  # an unknown word reads the labels of at most this many nearest known words ...
NEAR_BAND = 0.08  # ... those within this cosine of the nearest one
SOURCE_CHARS = 60  # a family's source is shown cut to its first clause, at most this long
SUGGESTIONS = 3  # closest known names offered for an unmapped word
SUGGEST_CUTOFF = 0.8  # difflib ratio a known name needs to be offered
EVERYDAY_EVIDENCE = "described molecules (GoodScents, Leffingwell)"  # an everyday word's evidence, after its count


class ReadingKind(StrEnum):
    """Where a reading of a word came from (each is shown with its evidence)."""

    MATERIAL = "material"  # a named molecule or trade name
    FAMILY = "family"  # a fragrance family or classic accord
    THING = "thing"  # a composite everyday thing of the everyday table, read through its constituents
    EVERYDAY = "everyday"  # a word GoodScents/Leffingwell descriptions use, read from the molecules they describe
    NEAREST = "nearest"  # no evidence of its own: the nearest known word in the MiniLM space (approximation)
    MODEL = "model"  # no evidence of its own: the text head's reading of the word alone (approximation)


_APPROXIMATE = (ReadingKind.EVERYDAY, ReadingKind.THING, ReadingKind.NEAREST, ReadingKind.MODEL)


class ThingKind(StrEnum):
    """What an everyday thing of the everyday table is (its `kind` column)."""

    DRINK = "drink"
    DESSERT = "dessert"
    DISH = "dish"
    FRUIT = "fruit"
    HOUSEHOLD = "household"
    PLACE = "place"
    OTHER = "other"


@dataclass(frozen=True)
class NameReading:
    """One name or word of a brief resolved to odor labels, with the evidence shown to the user."""

    term: str  # the name as listed ("Hedione") or the words of the brief ("bakery")
    kind: ReadingKind
    evidence: str  # what it was read through: "methyl dihydrojasmonate (GS-LF labels)", "21 described molecules (GoodScents, Leffingwell)"
    labels: tuple[str, ...]  # labels it gives, strongest first
    smiles: str | None = None  # the material's structure (materials only)
    negated: bool = False  # read in a negated clause ("not like Hedione"): its first labels are excluded
    note: str | None = None  # e.g. the safety screen's prohibition

    @property
    def approximate(self) -> bool:
        return self.kind in _APPROXIMATE

    def line(self) -> str:
        """Returns the one-line account shown by the CLI and the app, e.g.
        "Hedione → methyl dihydrojasmonate (GS-LF labels): read as jasmin, floral, citrus, fresh"."""
        arrow = "≈" if self.kind in (ReadingKind.NEAREST, ReadingKind.MODEL) else "→"
        verb = "excluded" if self.negated else "read as"
        note = f" — {self.note}" if self.note else ""
        return f"{self.term} {arrow} {self.evidence}: {verb} {', '.join(self.labels) or '-'}{note}"

    def with_use(self, term: str, negated: bool, labels: tuple[str, ...] | None = None) -> NameReading:
        """Returns this reading as used in a brief (display term, negation, the labels actually applied)."""
        return NameReading(term, self.kind, self.evidence, self.labels if labels is None else labels, self.smiles,
                           negated, self.note)

    def to_json(self) -> dict[str, Any]:
        return {"term": self.term, "kind": str(self.kind), "evidence": self.evidence, "labels": list(self.labels),
                "smiles": self.smiles, "negated": self.negated, "note": self.note}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NameReading:
        """Returns the reading `to_json` wrote. Raises ValueError for an unknown kind, KeyError for a missing key."""
        return cls(d["term"], ReadingKind(d["kind"]), d["evidence"], tuple(d["labels"]), d.get("smiles"),
                   bool(d.get("negated", False)), d.get("note"))


@dataclass(frozen=True)
class VocabEntry:
    """A known name or word: labels with weights (1.0 = as strong as a label word) and its reading."""

    labels: tuple[str, ...]
    weights: tuple[float, ...]
    reading: NameReading


def term_key(name: str) -> str | None:
    """Returns the words the grammar keeps of a name ("cis-3-Hexenol" -> "cis hexenol"), or None when the name
    would not reach the lookup as one run of words (it has a connector or negator, or only stopwords)."""
    try:
        clauses = parse_prompt(name).clauses
    except ValueError:  # InvalidInput: empty name
        return None
    if len(clauses) != 1 or clauses[0].negated or len(clauses[0].words) > MAX_NAME_WORDS:
        return None
    return clauses[0].text


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Families, materials and everyday words, plus the nearest-word table. Immutable after load."""

    entries: dict[str, VocabEntry]  # term key -> entry (families first, then materials, then everyday words)
    near_terms: tuple[str, ...]  # everyday words in the row order of near_emb
    near_emb: np.ndarray  # (W, 384) unit-norm embeddings of near_terms
    near_threshold: float  # cosine an unknown word needs to its nearest known word to borrow its labels
    names_by_letter: dict[str, tuple[str, ...]]  # first letter -> material display names (suggestions)
    n_materials: int
    n_families: int
    n_everyday: int
    version: str
    n_things: int = 0  # everyday-table things with at least one readable name
    unresolved: dict[str, tuple[str, ...]] = field(default_factory=dict)  # thing -> constituents no reading knows

    def get(self, key: str) -> VocabEntry | None:
        return self.entries.get(key)

    def suggest(self, word: str) -> tuple[str, ...]:
        """Returns up to SUGGESTIONS known material names spelled like `word` (same first letter), best first."""
        pool = self.names_by_letter.get(word[:1].lower(), ())
        lowered = {n.lower(): n for n in pool}
        return tuple(lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), SUGGESTIONS,
                                                                   SUGGEST_CUTOFF))


def read_families(labels: tuple[str, ...], path: Path = FAMILIES_FILE) -> dict[str, VocabEntry]:
    """Returns {term key: entry} for every family and synonym of the families table ({} when the table is absent).

    Raises DataError when a row names a defining note that is not one of the labels.
    """
    if not path.is_file():
        return {}
    out: dict[str, VocabEntry] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            notes = tuple(x.strip() for x in (row.get("defining_notes") or "").split("|") if x.strip())
            bad = [x for x in notes if x not in labels]
            if bad:
                raise DataError(f"{path} line {n}: defining notes {bad} are not GS-LF labels. Fix the row: use "
                                f"column names of odor/curated_GS_LF_merged_4983.csv, e.g. woody, citrus.")
            family = (row.get("family") or "").strip()
            if not family or not notes:
                continue
            weights = tuple(max(FAMILY_MIN, 1.0 - FAMILY_STEP * i) for i in range(len(notes)))
            source = re.split(r"[;(,]", row.get("source") or "no source")[0].strip()[:SOURCE_CHARS]
            reading = NameReading(family, ReadingKind.FAMILY, f"family {family} (source: {source})", notes)
            for name in [family, *(row.get("synonyms") or "").split("|")]:
                key = term_key(name.strip()) if name.strip() else None
                if key and key not in out:
                    out[key] = VocabEntry(notes, weights, reading)
    return out


@dataclass(frozen=True)
class EverydayThing:
    """One row of the everyday table: a composite thing and what a public page says it is made of."""

    thing: str  # the name as listed ("Earl Grey tea")
    synonyms: tuple[str, ...]  # other names of the same thing ("Earl Grey")
    kind: ThingKind
    constituents: tuple[str, ...]  # ingredient or smell words, most defining first ("tea", "bergamot")
    source: str  # the public page (URL) that defines its composition


def read_everyday_table(path: Path = EVERYDAY_FILE) -> tuple[EverydayThing, ...]:
    """Returns the rows of the everyday table (() when the table is absent).

    Raises DataError naming the line when the header differs from EVERYDAY_COLUMNS, a kind is not a ThingKind,
    a row has no constituents or no http(s) source, or two rows share a name or synonym (case-insensitive).
    """
    if not path.is_file():
        return ()
    out: list[EverydayThing] = []
    seen: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != EVERYDAY_COLUMNS:
            raise DataError(f"{path} has columns {reader.fieldnames}; it needs {','.join(EVERYDAY_COLUMNS)}.")
        for n, row in enumerate(reader, start=2):
            thing = (row["thing"] or "").strip()
            synonyms = tuple(x.strip() for x in (row["synonyms"] or "").split("|") if x.strip())
            constituents = tuple(x.strip().lower() for x in (row["constituents"] or "").split("|") if x.strip())
            source = (row["source"] or "").strip()
            try:
                kind = ThingKind((row["kind"] or "").strip())
            except ValueError:
                raise DataError(f"{path} line {n}: kind {row['kind']!r} is not one of "
                                f"{', '.join(k.value for k in ThingKind)}.") from None
            if not thing or not constituents or not source.startswith(("http://", "https://")):
                raise DataError(f"{path} line {n}: each row needs a thing, `|`-separated constituents and the URL of "
                                f"the public page that defines its composition.")
            for name in (thing, *synonyms):
                if (first := seen.setdefault(name.lower(), n)) != n:
                    raise DataError(f"{path} line {n}: {name!r} is already named on line {first}; merge the rows.")
            out.append(EverydayThing(thing, synonyms, kind, constituents, source))
    return tuple(out)


def source_title(url: str) -> str:
    """Returns a short name for a source page: "Wikipedia 'Earl Grey tea'" for a Wikipedia article, else the
    site and the page's last path segment ("iba-world.com 'mojito'")."""
    parts = urlparse(url)
    page = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]).replace("_", " ")
    site = "Wikipedia" if parts.netloc.endswith("wikipedia.org") else parts.netloc.removeprefix("www.")
    return f"{site} '{page}'" if page else site


Resolver = Callable[[str], tuple[tuple[str, ...], tuple[float, ...]] | None]  # constituent -> labels, weights


def everyday_entries(things: tuple[EverydayThing, ...], resolve: Resolver
                     ) -> tuple[dict[str, VocabEntry], dict[str, tuple[str, ...]]]:
    """Returns ({term key: entry} for every name, synonym and accent-free spelling of the things,
    {thing: constituents that `resolve` does not know}). A constituent that does not resolve is left out of
    the thing's reading; a thing with none that resolves gets no entry.

    A thing's labels: each constituent's strongest THING_LABELS labels (>= half its best weight), scaled by its
    place in the list (1.0, 0.9, ... >= FAMILY_MIN, like a family's notes) and by THING_SCALE; max over them.
    """
    entries: dict[str, VocabEntry] = {}
    unresolved: dict[str, tuple[str, ...]] = {}
    for t in things:
        support: dict[str, float] = {}
        used: list[str] = []
        for i, c in enumerate(t.constituents):
            if (got := resolve(c)) is None or not got[0]:
                unresolved[t.thing] = (*unresolved.get(t.thing, ()), c)
                continue
            used.append(c)
            top = max(got[1])
            place = THING_SCALE * max(FAMILY_MIN, 1.0 - FAMILY_STEP * i)
            ranked = sorted(zip(got[0], got[1]), key=lambda lw: -lw[1])[:THING_LABELS]
            for lab, w in ranked:
                if w >= 0.5 * top:
                    support[lab] = max(support.get(lab, 0.0), round(place * w / top, 3))
        if not support:
            continue
        labels = tuple(sorted(support, key=lambda lab: -support[lab])[:MAX_THING_LABELS])
        evidence = f"{', '.join(used)} (everyday table: {source_title(t.source)})"
        entry = VocabEntry(labels, tuple(support[lab] for lab in labels),
                           NameReading(t.thing, ReadingKind.THING, evidence, labels))
        for name in (t.thing, *t.synonyms):
            for spelling in dict.fromkeys((name, fold_accents(name))):
                if (key := term_key(spelling)) is not None:
                    entries.setdefault(key, entry)
    return entries, unresolved


def resolver(lexicon: Mapping[str, tuple[tuple[str, ...], tuple[float, ...], bool]],
             entries: Mapping[str, VocabEntry]) -> Resolver:
    """Returns the function that reads one constituent word the way the reader reads a brief's word: a label word
    of the lexicon first, then a family, material or everyday word, then a lexicon approximation; a single word
    also through its base forms ("almonds" -> almond). `lexicon`: term -> (labels, weights, is a direct label word)."""
    def resolve(word: str) -> tuple[tuple[str, ...], tuple[float, ...]] | None:
        key = term_key(word)
        if key is None:
            return None
        for form in word_forms(key) if " " not in key else [key]:
            lx = lexicon.get(form)
            if lx is not None and lx[2]:
                return lx[0], lx[1]
            if (e := entries.get(form)) is not None:
                return e.labels, e.weights
            if lx is not None:
                return lx[0], lx[1]
        return None
    return resolve


def load_vocabulary(wdir: Path, labels: tuple[str, ...],
                    lexicon: Mapping[str, tuple[tuple[str, ...], tuple[float, ...], bool]],
                    everyday_table: Path = EVERYDAY_FILE) -> Vocabulary | None:
    """Returns the vocabulary in `wdir` (None when `vocabulary.json` is absent: the reader then knows only the lexicon).

    `lexicon`: the reader's lexicon, term -> (labels, weights, is a direct label word). Family and thing keys that
    are lexicon label words are left to the lexicon; the everyday table's constituents are read through the
    lexicon and the other entries (`resolver`). Raises ModelNotFound when the file has another format or uses
    labels outside `labels`, DataError when the families or everyday table is invalid.
    """
    path = wdir / VOCABULARY_NAME
    if not path.is_file():
        return None
    from safetensors.numpy import load_file

    cfg = json.loads(path.read_text())
    if cfg.get("format_version") != VOCABULARY_FORMAT:
        raise ModelNotFound(f"{path} has format {cfg.get('format_version')}, this code reads {VOCABULARY_FORMAT}. "
                            f"Run `odordiff train text --vocabulary-only`.")
    label_set = set(labels)
    lexicon_terms = {t for t, (_, _, direct) in lexicon.items() if direct}
    entries: dict[str, VocabEntry] = {k: e for k, e in read_families(labels).items() if k not in lexicon_terms}
    n_families = len({id(e.reading) for e in entries.values()})
    materials = []
    for m in cfg["materials"]:
        reading = NameReading(m["name"], ReadingKind.MATERIAL, m["evidence"], tuple(m["labels"]), m["smiles"],
                              note=m.get("note"))
        materials.append(VocabEntry(tuple(m["labels"]), tuple(m["weights"]), reading))
    for key, (i, name) in cfg["names"].items():
        m = materials[i]
        entries.setdefault(key, VocabEntry(m.labels, m.weights, m.reading.with_use(name, False)))
    words: dict[str, VocabEntry] = {}
    for word, e in cfg["everyday"].items():
        reading = NameReading(word, ReadingKind.EVERYDAY, f"{e['n']} {EVERYDAY_EVIDENCE}", tuple(e["labels"]))
        words[word] = VocabEntry(tuple(e["labels"]), tuple(e["weights"]), reading)
    things, unresolved = everyday_entries(read_everyday_table(everyday_table), resolver(lexicon, {**words, **entries}))
    n_things = len({id(e.reading) for k, e in things.items() if k not in lexicon_terms and k not in entries})
    for key, e in [*things.items(), *words.items()]:  # a thing's reading before a word's own (its table is sourced)
        if key not in lexicon_terms:
            entries.setdefault(key, e)
    unknown = {lab for e in entries.values() for lab in e.labels} - label_set
    if unknown:
        raise ModelNotFound(f"{path} uses labels {sorted(unknown)[:5]} not in the label list. "
                            f"Run `odordiff train text --vocabulary-only`.")
    near_terms = tuple(cfg["near_terms"])
    near_emb = load_file(str(wdir / VOCABULARY_TENSORS))["near_emb"].astype(np.float32)  # (W, 384)
    if near_emb.shape[0] != len(near_terms):
        raise ModelNotFound(f"{wdir / VOCABULARY_TENSORS} does not match {path}. Run `odordiff train text --vocabulary-only`.")
    by_letter: dict[str, list[str]] = {}
    for m in cfg["materials"]:
        for name in m["display_names"]:
            by_letter.setdefault(name[:1].lower(), []).append(name)
    return Vocabulary(entries, near_terms, near_emb, float(cfg["near_threshold"]),
                      {k: tuple(dict.fromkeys(v)) for k, v in by_letter.items()}, len(materials), n_families,
                      len(cfg["everyday"]), str(cfg["version"]), n_things, unresolved)
