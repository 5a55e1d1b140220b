"""The one owner of the data files' names, their CSV readers and the GoodScents id join.

Every module that reads a public data file names it through the constants below and reads it with
`read_rows` / `read_frame`, so a renamed or re-pinned file is changed here and in `data.MANIFEST` only.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .chem import Mol, canonical_smiles, parse_column
from .config import PACKAGE_DATA_DIR, Settings
from .data import data_path
from .errors import DataError

# odor data (pyrfume-data and OpenPOM, pinned in data.MANIFEST)
GSLF_FILE = "odor/curated_GS_LF_merged_4983.csv"  # OpenPOM's curated GoodScents/Leffingwell set: 138 labels
PYRFUME_CORPUS_FILE = "corpus/pyrfume_molecules.csv"  # every molecule pyrfume-data describes
IFRA_MOLECULES_FILE = "odor/ifra_2019/molecules.csv"  # IFRA 2019 glossary molecules
IFRA_GLOSSARY_FILE = "odor/ifra_2019/glossary.csv"
IFRA_STIMULI_FILE = "odor/ifra_2019/stimuli.csv"
IFRA_BEHAVIOR_FILE = "odor/ifra_2019/behavior.csv"
GS_DIR = "odor/goodscents/"
GS_ODOR_FILE = GS_DIR + "data_rw_odor.csv"  # GoodScents pages: Description, Tags, Substantivity (Hours)
GS_OPL_FILE = GS_DIR + "data_rw_opl.csv"  # GoodScents pages' own TGSC ID -> CID records
GS_STIMULI_FILE = GS_DIR + "stimuli.csv"  # TGSC ID -> CID
GS_MOLECULES_FILE = GS_DIR + "molecules.csv"  # CID -> IsomericSMILES, name
GS_BEHAVIOR_FILE = GS_DIR + "behavior.csv"
LEFFINGWELL_BEHAVIOR_FILE = "odor/leffingwell/behavior_sparse.csv"  # Raw Labels, Labels per stimulus
LEFFINGWELL_MOLECULES_FILE = "odor/leffingwell/molecules.csv"
LEFFINGWELL_STIMULI_FILE = "odor/leffingwell/stimuli.csv"
# safety data
IFRA_LIST_FILE = "safety/ifra_prohibited_restricted.csv"  # compiled for OdorDiff (package data)
EU_ALLERGENS_FILE = "safety/eu_fragrance_allergens.csv"  # compiled for OdorDiff (package data)
T3DB_FILE = "safety/t3db_molecules.csv"
GRAS_FILE = "safety/gras_molecules.csv"
# material tables compiled for OdorDiff (package_data/materials, README there); not checksummed in data.MANIFEST
# because `odordiff evaluate materials --write` rewrites their `verified` column
TRADE_NAMES_TABLE = PACKAGE_DATA_DIR / "materials" / "trade_names.csv"  # trade name -> synonyms, CAS, SMILES
FAMILIES_TABLE = PACKAGE_DATA_DIR / "materials" / "families.csv"  # family/accord -> defining GS-LF labels

# the generator's corpus: the labelled set first, then every other described structure
GENERATOR_CORPUS_FILES = (GSLF_FILE, PYRFUME_CORPUS_FILE, IFRA_MOLECULES_FILE)


def read_rows(name: str, settings: Settings) -> list[dict[str, str]]:
    """Returns the rows of a data file as dicts of strings (verified against its checksum).

    Raises DataError (with the fix: `make data`) when the file is missing or fails its checksum.
    """
    with open(data_path(name, settings), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_package_table(path: Path) -> list[dict[str, str]]:
    """Returns the rows of a table shipped in package_data (e.g. TRADE_NAMES_TABLE) as dicts of strings.

    Raises DataError naming the file when it is missing (a broken install: reinstall odordiff_core).
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        raise DataError(f"Package table {path} is missing; reinstall odordiff_core (it ships in package_data).") from None


def read_frame(name: str, settings: Settings) -> pd.DataFrame:
    """Returns a data file as a pandas DataFrame (verified against its checksum)."""
    return pd.read_csv(data_path(name, settings))


def goodscents_cids(settings: Settings, *, page_records_first: bool) -> dict[str, str]:
    """Returns the GoodScents join TGSC ID -> PubChem CID.

    From stimuli.csv (first CID per TGSC ID); with page_records_first, data_rw_opl.csv's own records (the
    page's CID, ".0" dropped) override it. The substantivity table uses the page records; the text
    examples use stimuli.csv alone (their figures were measured that way).
    """
    cid: dict[str, str] = {}
    for r in read_rows(GS_STIMULI_FILE, settings):
        cid.setdefault(r["TGSC ID"], r["CID"])
    if page_records_first:
        for r in read_rows(GS_OPL_FILE, settings):
            if r.get("CID"):
                cid[r["TGSC ID"]] = r["CID"].split(".")[0]
    return cid


@dataclass(frozen=True)
class LabelledSet:
    """The OpenPOM-curated GoodScents/Leffingwell set (4,983 molecules, 138 labels)."""

    smiles: tuple[str, ...]  # canonical RDKit SMILES of the rows that parsed
    mols: tuple[Mol, ...]
    labels: tuple[str, ...]  # the 138 odor labels, in file column order
    Y: np.ndarray  # (N, 138) float32, 1 = label recorded for the molecule
    n_rows: int  # rows in the file
    n_invalid: int  # rows RDKit could not parse (reported, not silently dropped)


def read_labels(settings: Settings) -> tuple[str, ...]:
    """Returns the 138 odor labels of the labelled set, in file column order (reads the header only)."""
    with open(data_path(GSLF_FILE, settings), newline="", encoding="utf-8") as fh:
        return tuple(next(csv.reader(fh))[2:])


def load_labelled(settings: Settings) -> LabelledSet:
    """Returns the labelled set; rows RDKit rejects are counted in n_invalid and left out."""
    df = read_frame(GSLF_FILE, settings)
    labels = tuple(df.columns[2:])
    parsed = parse_column(df["nonStereoSMILES"].tolist())
    keep = [i for i, m in enumerate(parsed.mols) if m is not None]
    mols: tuple[Mol, ...] = tuple(m for m in parsed.mols if m is not None)
    Y = df.iloc[keep, 2:].to_numpy(dtype=np.float32)  # (N, 138)
    return LabelledSet(
        smiles=tuple(canonical_smiles(m) for m in mols),
        mols=mols,
        labels=labels,
        Y=Y,
        n_rows=len(df),
        n_invalid=parsed.n_invalid,
    )


def raw_label_sources(settings: Settings) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Returns the raw odor terms of the other label sources as (SMILES, lower-case terms) per row.

    "ifra": the IFRA glossary's three descriptors (behavior.csv, stimulus -> CID -> molecules.csv);
    "goodscents": the `;`-joined GoodScents descriptors (behavior.csv, CAS -> CID via stimuli.csv);
    "leffingwell": the parsed Leffingwell labels (behavior_sparse.csv, stimulus = CID). Rows whose
    molecule is not in the source's molecule file are left out.
    """
    def smiles_by_cid(name: str) -> dict[str, str]:
        return {r["CID"]: r["IsomericSMILES"] for r in read_rows(name, settings)}

    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    ifra_smiles = smiles_by_cid(IFRA_MOLECULES_FILE)
    ifra_cid = {r["Stimulus"]: r["CID"] for r in read_rows(IFRA_STIMULI_FILE, settings)}
    out["ifra"] = [(ifra_smiles[ifra_cid[r["Stimulus"]]],
                    tuple(t.strip().lower() for k, t in r.items() if k.startswith("Descriptor") and t and t.strip()))
                   for r in read_rows(IFRA_BEHAVIOR_FILE, settings) if ifra_cid.get(r["Stimulus"]) in ifra_smiles]
    gs_smiles = smiles_by_cid(GS_MOLECULES_FILE)
    gs_cid = {r["Stimulus"]: r["CID"] for r in read_rows(GS_STIMULI_FILE, settings)}
    out["goodscents"] = [(gs_smiles[gs_cid[r["Stimulus"]]],
                          tuple(t.strip().lower() for t in r["Descriptors"].split(";") if t.strip()))
                         for r in read_rows(GS_BEHAVIOR_FILE, settings) if gs_cid.get(r["Stimulus"]) in gs_smiles]
    lf_smiles = smiles_by_cid(LEFFINGWELL_MOLECULES_FILE)
    out["leffingwell"] = [(lf_smiles[r["Stimulus"]], tuple(t.strip().lower() for t in re.findall(r"'([^']*)'", r["Labels"])))
                          for r in read_rows(LEFFINGWELL_BEHAVIOR_FILE, settings) if r["Stimulus"] in lf_smiles]
    return out
