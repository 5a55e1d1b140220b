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
- a word none of these knows borrows the labels of its **nearest** everyday word or lexicon term in the
  all-MiniLM-L6-v2 space (`vocabulary.safetensors`), shown as an approximation with the cosine.
`odordiff train text --vocabulary-only` rebuilds both files (`odordiff_core/train/text.py`).
"""
from __future__ import annotations

import csv
import difflib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PACKAGE_DATA_DIR
from ..errors import DataError, ModelNotFound
from .grammar import parse_prompt

VOCABULARY_NAME = "vocabulary.json"  # materials, everyday words, settings (in the text weights folder)
VOCABULARY_TENSORS = "vocabulary.safetensors"  # near_emb: everyday-word embeddings (W, 384)
VOCABULARY_FORMAT = 1  # bump when vocabulary.json's layout changes; the loader refuses other versions
FAMILIES_FILE = PACKAGE_DATA_DIR / "materials" / "families.csv"  # family,synonyms,defining_notes,example_materials,source
TRADE_NAMES_FILE = PACKAGE_DATA_DIR / "materials" / "trade_names.csv"  # name,synonyms,cas,smiles,supplier,source,verified
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
    EVERYDAY = "everyday"  # a word GoodScents/Leffingwell descriptions use, read from the molecules they describe
    NEAREST = "nearest"  # no evidence of its own: the nearest known word in the MiniLM space (approximation)
    MODEL = "model"  # no evidence of its own: the text head's reading of the word alone (approximation)


_APPROXIMATE = (ReadingKind.EVERYDAY, ReadingKind.NEAREST, ReadingKind.MODEL)


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


def load_vocabulary(wdir: Path, labels: tuple[str, ...], lexicon_terms: set[str]) -> Vocabulary | None:
    """Returns the vocabulary in `wdir` (None when `vocabulary.json` is absent: the reader then knows only the lexicon).

    Family keys that are lexicon label words are left to the lexicon. Raises ModelNotFound when the file has
    another format or uses labels outside `labels`, DataError when the families table is invalid.
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
    for word, e in cfg["everyday"].items():
        reading = NameReading(word, ReadingKind.EVERYDAY, f"{e['n']} {EVERYDAY_EVIDENCE}", tuple(e["labels"]))
        entries.setdefault(word, VocabEntry(tuple(e["labels"]), tuple(e["weights"]), reading))
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
                      len(cfg["everyday"]), str(cfg["version"]))
