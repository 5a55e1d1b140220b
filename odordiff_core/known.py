"""Known materials: is a molecule already in the public data, what is it called, and which known odorant is nearest.

Built in memory (about 3 s, nothing written to disk) from: the GS-LF curated set (descriptors), GoodScents
(molecules, names and CAS via stimuli/data_rw_opl, descriptors via behavior), Leffingwell (molecules, CAS,
labels), the IFRA 2019 glossary molecules (in_ifra_glossary, top-3 descriptors) and the Pyrfume corpus.
Identity is the connectivity key (first InChIKey block), so stereoisomers and isotopologues count as known.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from .chem import (
    Mol,
    canonical_smiles,
    connectivity_key,
    morgan_fp,
    parse_smiles,
    tanimoto_many,
    to_mol,
    without_rdkit_log,
)
from .config import Settings
from .datasets import (
    GS_BEHAVIOR_FILE,
    GS_MOLECULES_FILE,
    GS_OPL_FILE,
    GS_STIMULI_FILE,
    GSLF_FILE,
    IFRA_BEHAVIOR_FILE,
    IFRA_MOLECULES_FILE,
    LEFFINGWELL_BEHAVIOR_FILE,
    LEFFINGWELL_STIMULI_FILE,
    PYRFUME_CORPUS_FILE,
    read_rows,
)

_CAS = re.compile(r"\d{2,7}-\d\d-\d")


@dataclass(frozen=True, slots=True)
class KnownMaterial:
    """A molecule found in the data files."""

    smiles: str  # canonical SMILES of the first record seen
    names: tuple[str, ...]  # every name the files give it, first file first
    cas: tuple[str, ...]
    in_ifra_glossary: bool  # in odor/ifra_2019/molecules.csv: an ingredient perfumers use
    descriptors: tuple[str, ...]  # recorded odor descriptors, lower case, de-duplicated
    sources: tuple[str, ...]  # data files that hold it

    def to_json(self) -> dict[str, Any]:
        return {"smiles": self.smiles, "names": list(self.names), "cas": list(self.cas),
                "in_ifra_glossary": self.in_ifra_glossary, "descriptors": list(self.descriptors),
                "sources": list(self.sources)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KnownMaterial:
        return cls(d["smiles"], tuple(d["names"]), tuple(d["cas"]), d["in_ifra_glossary"], tuple(d["descriptors"]),
                   tuple(d["sources"]))


@dataclass(frozen=True, slots=True)
class NearestKnown:
    """The most similar known odorant (with recorded descriptors)."""

    smiles: str
    name: str | None
    similarity: float  # Tanimoto on Morgan r2 2048 bits
    descriptors: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"smiles": self.smiles, "name": self.name, "similarity": self.similarity,
                "descriptors": list(self.descriptors)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NearestKnown:
        return cls(d["smiles"], d["name"], d["similarity"], tuple(d["descriptors"]))


@dataclass
class _Entry:
    smiles: str
    names: list[str] = field(default_factory=list)
    cas: list[str] = field(default_factory=list)
    descriptors: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    ifra: bool = False

    def add(self, source: str, name: str = "", cas: str = "", descriptors: list[str] | tuple[str, ...] = ()) -> None:
        if _CAS.fullmatch(name.strip()):  # some files put the CAS number in the name column
            name, cas = "", cas or name
        for target, values in ((self.names, [name]), (self.cas, [cas]), (self.descriptors, descriptors),
                               (self.sources, [source])):
            for v in values:
                v = v.strip()
                if v and not v.lstrip("-").isdigit() and v not in target:
                    target.append(v)

    def freeze(self) -> KnownMaterial:
        return KnownMaterial(self.smiles, tuple(self.names), tuple(self.cas), self.ifra, tuple(self.descriptors),
                             tuple(self.sources))


class KnownIndex:
    """Connectivity-key lookup plus a fingerprint table of the described odorants. Immutable after build."""

    def __init__(self, entries: dict[str, _Entry]) -> None:
        self._known = {k: e.freeze() for k, e in entries.items()}
        described = [m for m in self._known.values() if m.descriptors]
        self._described = described
        self._fps = [morgan_fp(parse_smiles(m.smiles)) for m in described]  # canonical SMILES RDKit wrote
        self._keys_described = [k for k, m in self._known.items() if m.descriptors]

    def __len__(self) -> int:
        return len(self._known)

    def materials(self) -> tuple[KnownMaterial, ...]:
        """Returns every known molecule (described or not), in index order."""
        return tuple(self._known.values())

    def is_known(self, mol: Mol) -> bool:
        """Returns True when the molecule's connectivity key is in any data file (the novelty test)."""
        key = connectivity_key(mol)
        return bool(key) and key in self._known

    def lookup(self, mol: Mol) -> KnownMaterial | None:
        """Returns the known material with this connectivity key, or None when it is in no data file."""
        key = connectivity_key(mol)
        return self._known.get(key) if key else None

    def nearest(self, mol: Mol, exclude_identical: bool = False) -> NearestKnown | None:
        """Returns the most similar described odorant (Tanimoto, Morgan r2), or None when the index is empty.

        exclude_identical skips the molecule itself (same connectivity key), for "what else is it like".
        """
        if not self._fps:
            return None
        sims = tanimoto_many(morgan_fp(mol), self._fps)
        if exclude_identical:
            key = connectivity_key(mol)
            sims = [-1.0 if k == key else s for k, s in zip(self._keys_described, sims)]
        best = max(range(len(sims)), key=sims.__getitem__)
        if sims[best] < 0:
            return None
        m = self._described[best]
        return NearestKnown(m.smiles, m.names[0] if m.names else None, float(sims[best]), m.descriptors)


def load_known_index(settings: Settings) -> KnownIndex:
    """Returns the index over every odor data file. Raises DataError when a file is missing or corrupted."""
    entries: dict[str, _Entry] = {}
    keys: dict[str, str | None] = {}  # SMILES text -> connectivity key (many files repeat SMILES)

    def entry(smiles: str) -> _Entry | None:
        if smiles not in keys:
            mol = to_mol(smiles)
            new_key = connectivity_key(mol) or None if mol is not None else None
            keys[smiles] = new_key
            if mol is not None and new_key and new_key not in entries:
                entries[new_key] = _Entry(canonical_smiles(mol))
        key = keys[smiles]
        return entries[key] if key else None

    with without_rdkit_log():
        _add_all(entry, settings)
    return KnownIndex(entries)


def _add_all(entry, settings: Settings) -> None:
    for r in read_rows(GSLF_FILE, settings):
        if (e := entry(r["nonStereoSMILES"])) is not None:
            e.add(GSLF_FILE, descriptors=r["descriptors"].lower().split(";"))
    cas_of_cid: dict[str, list[str]] = {}
    for r in read_rows(GS_STIMULI_FILE, settings):
        cas_of_cid.setdefault(r["CID"], []).append(r["Stimulus"])
    gs_desc = {r["Stimulus"]: r["Descriptors"].lower().split(";") for r in read_rows(GS_BEHAVIOR_FILE, settings)}
    opl_name: dict[str, str] = {}
    for r in read_rows(GS_OPL_FILE, settings):
        if r["CID"] and r["Name"]:
            opl_name.setdefault(r["CID"].split(".")[0], r["Name"])
    for r in read_rows(GS_MOLECULES_FILE, settings):
        if (e := entry(r["IsomericSMILES"])) is None:
            continue
        cas_list = cas_of_cid.get(r["CID"], [])
        e.add(GS_MOLECULES_FILE, name=r["name"])
        e.add(GS_OPL_FILE, name=opl_name.get(r["CID"], ""))
        for cas in cas_list:
            e.add(GS_STIMULI_FILE, cas=cas, descriptors=gs_desc.get(cas, []))
    lf_labels = {r["Stimulus"]: ast.literal_eval(r["Labels"]) for r in read_rows(LEFFINGWELL_BEHAVIOR_FILE, settings)}
    for r in read_rows(LEFFINGWELL_STIMULI_FILE, settings):
        if (e := entry(r["IsomericSMILES"])) is not None:
            e.add(LEFFINGWELL_STIMULI_FILE, name=r["name"], cas=r["cas"], descriptors=lf_labels.get(r["Stimulus"], []))
    ifra_desc = {r["Stimulus"]: [r[f"Descriptor {i}"].lower() for i in (1, 2, 3)]
                 for r in read_rows(IFRA_BEHAVIOR_FILE, settings)}
    for r in read_rows(IFRA_MOLECULES_FILE, settings):
        if (e := entry(r["IsomericSMILES"])) is not None:
            e.ifra = True
            e.add(IFRA_MOLECULES_FILE, name=r["name"], descriptors=ifra_desc.get(r["CID"], []))
    for r in read_rows(PYRFUME_CORPUS_FILE, settings):
        if (e := entry(r["IsomericSMILES"])) is not None:
            e.add(PYRFUME_CORPUS_FILE, name=r["name"])
