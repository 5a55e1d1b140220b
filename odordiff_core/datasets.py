"""Loaders for the labelled odor set and the unlabelled odorant corpus, parsed once with RDKit."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .chem import Mol, canonical_smiles, parse_column
from .config import Settings
from .data import data_path

GSLF_FILE = "odor/curated_GS_LF_merged_4983.csv"


@dataclass(frozen=True)
class LabelledSet:
    """The OpenPOM-curated GoodScents/Leffingwell set (4,983 molecules, 138 labels)."""

    smiles: tuple[str, ...]  # canonical RDKit SMILES of the rows that parsed
    mols: tuple[Mol, ...]
    labels: tuple[str, ...]  # the 138 odor labels, in file column order
    Y: np.ndarray  # (N, 138) float32, 1 = label recorded for the molecule
    n_rows: int  # rows in the file
    n_invalid: int  # rows RDKit could not parse (reported, not silently dropped)


def load_labelled(settings: Settings) -> LabelledSet:
    """Returns the labelled set; rows RDKit rejects are counted in n_invalid and left out."""
    df = pd.read_csv(data_path(GSLF_FILE, settings))
    labels = tuple(df.columns[2:])
    parsed = parse_column(df["nonStereoSMILES"].tolist())
    keep = [i for i, m in enumerate(parsed.mols) if m is not None]
    mols = tuple(parsed.mols[i] for i in keep)  # type: ignore[misc]
    Y = df.iloc[keep, 2:].to_numpy(dtype=np.float32)  # (N, 138)
    return LabelledSet(
        smiles=tuple(canonical_smiles(m) for m in mols),
        mols=mols,
        labels=labels,
        Y=Y,
        n_rows=len(df),
        n_invalid=parsed.n_invalid,
    )
