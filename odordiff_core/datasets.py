"""The one owner of the data files' names, their CSV readers and the GoodScents id join.

Every module that reads a public data file names it through the constants below and reads it with
`read_rows` / `read_frame`, so a renamed or re-pinned file is changed here and in `data.MANIFEST` only.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .chem import Mol, canonical_smiles, parse_column
from .config import Settings
from .data import data_path

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

# the generator's corpus: the labelled set first, then every other described structure
GENERATOR_CORPUS_FILES = (GSLF_FILE, PYRFUME_CORPUS_FILE, IFRA_MOLECULES_FILE)


def read_rows(name: str, settings: Settings) -> list[dict[str, str]]:
    """Returns the rows of a data file as dicts of strings (verified against its checksum).

    Raises DataError (with the fix: `make data`) when the file is missing or fails its checksum.
    """
    with open(data_path(name, settings), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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
