"""Checks the material tables against the data files (`odordiff evaluate materials [--write]`).

`package_data/materials/trade_names.csv` names each trade name's CAS number and structure, both written by hand.
A row is verified when its CAS number leads, through a data file, to a structure with the same InChIKey
connectivity (first block: skeleton, no stereo) as the row's SMILES. The routes from a CAS number to a structure:

- ifra_2019: the IFRA 2019 glossary (CAS -> principal name) -> the glossary molecule of that name;
- goodscents: GoodScents stimuli.csv and data_rw_opl.csv (CAS -> PubChem CID) -> goodscents/molecules.csv, else
  the Pyrfume corpus (same CID);
- leffingwell: Leffingwell stimuli.csv (CAS -> SMILES);
- safety_lists: the two compiled safety tables (EU allergens, IFRA prohibited/restricted; CAS -> SMILES).

The `verified` column is what this module computes, written by `--write`, never by hand; a test keeps the two equal.
The table's own consistency (SMILES parse, CAS check digits, unique CAS, no name used twice) and the families
table (its notes are GS-LF labels, its example materials are rows of the trade-name table) are checked here too.
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..chem import connectivity_key, to_mol
from ..config import Settings
from ..datasets import (
    EU_ALLERGENS_FILE,
    FAMILIES_TABLE,
    GS_MOLECULES_FILE,
    GS_OPL_FILE,
    GS_STIMULI_FILE,
    IFRA_GLOSSARY_FILE,
    IFRA_LIST_FILE,
    IFRA_MOLECULES_FILE,
    LEFFINGWELL_STIMULI_FILE,
    PYRFUME_CORPUS_FILE,
    TRADE_NAMES_TABLE,
    read_labels,
    read_package_table,
    read_rows,
)
from ..errors import DataError

TRADE_NAME_COLUMNS = ("name", "synonyms", "cas", "smiles", "supplier", "source", "verified")
FAMILY_COLUMNS = ("family", "synonyms", "defining_notes", "example_materials", "source")
NOT_FOUND = "no CAS in data"
_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def is_valid_cas(cas: str) -> bool:
    """Returns True when `cas` is written NNNNNNN-NN-N and its last digit is the CAS check digit.

    The check digit is the sum of the other digits, each times its position counted from the right, modulo 10.
    """
    m = _CAS.match(cas)
    if not m:
        return False
    digits = (m.group(1) + m.group(2))[::-1]
    return sum(i * int(d) for i, d in enumerate(digits, start=1)) % 10 == int(m.group(3))


def split_list(cell: str) -> list[str]:
    """Returns the non-empty, stripped items of a `|`-separated cell."""
    return [s.strip() for s in cell.split("|") if s.strip()]


def _structures_by_cas(wanted: set[str], settings: Settings) -> dict[str, list[tuple[str, str]]]:
    """Returns CAS -> [(route, SMILES)] for the CAS numbers in `wanted`, from every route in the module docstring."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    ifra_smiles = {r["name"].casefold(): r["IsomericSMILES"] for r in read_rows(IFRA_MOLECULES_FILE, settings)}
    for r in read_rows(IFRA_GLOSSARY_FILE, settings):
        cas, name = r["CAS number"].strip(), r["Principal name"].strip().casefold()
        if cas in wanted and name in ifra_smiles:
            found[cas].append(("ifra_2019", ifra_smiles[name]))
    cids: dict[str, set[str]] = defaultdict(set)
    for r in read_rows(GS_STIMULI_FILE, settings):
        if r["Stimulus"] in wanted and r["CID"]:
            cids[r["Stimulus"]].add(r["CID"].split(".")[0])
    for r in read_rows(GS_OPL_FILE, settings):
        if r["CAS Number"] in wanted and r["CID"]:
            cids[r["CAS Number"]].add(r["CID"].split(".")[0])
    by_cid = {r["CID"]: r["IsomericSMILES"] for r in read_rows(PYRFUME_CORPUS_FILE, settings)}
    by_cid.update({r["CID"]: r["IsomericSMILES"] for r in read_rows(GS_MOLECULES_FILE, settings)})
    for cas, ids in cids.items():
        found[cas].extend(("goodscents", by_cid[c]) for c in sorted(ids) if c in by_cid)
    for r in read_rows(LEFFINGWELL_STIMULI_FILE, settings):
        if r["cas"] in wanted and r["IsomericSMILES"]:
            found[r["cas"]].append(("leffingwell", r["IsomericSMILES"]))
    for name in (EU_ALLERGENS_FILE, IFRA_LIST_FILE):
        for r in read_rows(name, settings):
            for cas in r["cas"].split(";"):
                if cas.strip() in wanted and r["smiles"]:
                    found[cas.strip()].append(("safety_lists", r["smiles"]))
    return found


def _verdict(key: str, structures: Iterable[tuple[str, str]]) -> str:
    """Returns 'yes (routes)' when a route's structure has connectivity `key`, 'mismatch (routes)' when routes
    lead only to other structures, NOT_FOUND when none leads anywhere."""
    agree: list[str] = []
    differ: list[str] = []
    for route, smiles in structures:
        mol = to_mol(smiles)
        if mol is None:
            continue
        (agree if connectivity_key(mol) == key else differ).append(route)
    if agree:
        return f"yes ({', '.join(dict.fromkeys(agree))})"
    if differ:
        return f"mismatch ({', '.join(dict.fromkeys(differ))})"
    return NOT_FOUND


@dataclass(frozen=True)
class MaterialsEvaluation:
    """The verification of the trade-name table and the consistency of both material tables."""

    n_rows: int  # rows of trade_names.csv
    verified: tuple[tuple[str, str], ...]  # (name, verdict computed now), in table order
    stored: tuple[tuple[str, str], ...]  # (name, the `verified` cell as written in the table)
    problems: tuple[str, ...]  # table errors: bad SMILES or CAS, duplicates, unknown labels or materials
    n_families: int  # rows of families.csv
    n_in_ifra_glossary: int  # rows whose CAS the IFRA 2019 glossary lists (ingredients in use in perfumery)

    def count(self, prefix: str) -> int:
        """Returns how many rows' computed verdict starts with `prefix` ('yes', 'mismatch', NOT_FOUND)."""
        return sum(v.startswith(prefix) for _, v in self.verified)

    @property
    def verified_share(self) -> float:
        """Share of rows whose CAS leads to the row's structure in a data file."""
        return self.count("yes") / max(self.n_rows, 1)

    @property
    def stale(self) -> tuple[str, ...]:
        """Names of rows whose stored `verified` cell differs from the verdict computed now."""
        return tuple(n for (n, v), (_, s) in zip(self.verified, self.stored, strict=True) if v != s)


def _table_problems(rows: list[dict[str, str]]) -> list[str]:
    problems: list[str] = []
    by_cas: dict[str, str] = {}
    owner: dict[str, str] = {}  # casefolded name or synonym -> the row that uses it
    for r in rows:
        name = r["name"]
        if not name.strip() or not r["source"].strip():
            problems.append(f"{name or '(no name)'}: name and source are required")
        if to_mol(r["smiles"]) is None:
            problems.append(f"{name}: SMILES {r['smiles']!r} does not parse")
        if not is_valid_cas(r["cas"]):
            problems.append(f"{name}: CAS {r['cas']!r} is malformed or fails its check digit")
        elif r["cas"] in by_cas:
            problems.append(f"{name}: CAS {r['cas']} is also the CAS of {by_cas[r['cas']]}")
        by_cas.setdefault(r["cas"], name)
        for term in dict.fromkeys(t.casefold() for t in [name, *split_list(r["synonyms"])]):
            if term in owner and owner[term] != name:
                problems.append(f"{name}: {term!r} is also a name or synonym of {owner[term]}")
            owner.setdefault(term, name)
    return problems


def _family_problems(families: list[dict[str, str]], names: set[str], labels: set[str]) -> list[str]:
    problems: list[str] = []
    owner: dict[str, str] = {}  # casefolded family name or synonym -> the family that uses it
    for f in families:
        fam = f["family"]
        for term in dict.fromkeys(t.casefold() for t in [fam, *split_list(f["synonyms"])]):
            if owner.setdefault(term, fam) != fam:
                problems.append(f"family {fam}: {term!r} is also a name or synonym of family {owner[term]}")
        if not f["source"].strip():
            problems.append(f"family {fam}: source is required")
        notes = split_list(f["defining_notes"])
        if not notes:
            problems.append(f"family {fam}: no defining notes")
        problems += [f"family {fam}: {n!r} is not a GS-LF label" for n in notes if n not in labels]
        problems += [f"family {fam}: example material {m!r} is not a row of trade_names.csv"
                     for m in split_list(f["example_materials"]) if m not in names]
    return problems


def _check_columns(rows: list[dict[str, str]], want: tuple[str, ...], path: Path) -> list[str]:
    have = tuple(rows[0]) if rows else ()
    return [] if have == want else [f"{path.name}: columns {have} should be {want}"]


def evaluate_materials(settings: Settings, *, table: Path = TRADE_NAMES_TABLE,
                       families_table: Path = FAMILIES_TABLE) -> MaterialsEvaluation:
    """Returns the verification of every trade-name row and the problems of both tables (a few seconds).

    Raises DataError (fix: `make data`) when a data file is missing or fails its checksum.
    """
    rows = read_package_table(table)
    families = read_package_table(families_table)
    structures = _structures_by_cas({r["cas"] for r in rows}, settings)
    glossary = {r["CAS number"].strip() for r in read_rows(IFRA_GLOSSARY_FILE, settings)}
    verified = []
    for r in rows:
        mol = to_mol(r["smiles"])
        verdict = "invalid SMILES" if mol is None else _verdict(connectivity_key(mol), structures.get(r["cas"], ()))
        verified.append((r["name"], verdict))
    problems = _check_columns(rows, TRADE_NAME_COLUMNS, table) + _check_columns(families, FAMILY_COLUMNS,
                                                                                families_table)
    problems += _table_problems(rows)
    problems += _family_problems(families, {r["name"] for r in rows}, set(read_labels(settings)))
    return MaterialsEvaluation(
        n_rows=len(rows),
        verified=tuple(verified),
        stored=tuple((r["name"], r["verified"]) for r in rows),
        problems=tuple(problems),
        n_families=len(families),
        n_in_ifra_glossary=len({r["cas"] for r in rows} & glossary),
    )


def write_verified(ev: MaterialsEvaluation, *, table: Path = TRADE_NAMES_TABLE) -> int:
    """Rewrites the table's `verified` column with the verdicts of `ev`; returns how many cells changed.

    Every other cell is written back unchanged (same column order, `\\n` line ends, minimal quoting). Raises
    DataError when the table's rows are no longer the ones `ev` checked.
    """
    rows = read_package_table(table)
    if [r["name"] for r in rows] != [name for name, _ in ev.verified]:
        raise DataError(f"{table} changed after it was checked; run `odordiff evaluate materials --write` again.")
    changed = 0
    for r, (_, verdict) in zip(rows, ev.verified, strict=True):
        changed += r["verified"] != verdict
        r["verified"] = verdict
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TRADE_NAME_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return changed
