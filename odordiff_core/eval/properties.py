"""Measures the property estimates: the boiling point against literature values, the note bands and the
substantivity model against GoodScents (`odordiff evaluate properties`, figures of the model card).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from ..chem import parse_smiles
from ..config import Settings
from ..properties import boiling_point_c, note_from_bp
from ..train.properties import fit_substantivity, load_substantivity_table
from ..types import Note

# Normal boiling points (deg C, 1 atm) of common aroma chemicals, hand-entered from the CRC Handbook of Chemistry
# and Physics / PubChem experimental properties, used only to measure the Joback estimate (not to fit it).
BP_REFERENCE: tuple[tuple[str, str, float], ...] = (
    ("ethyl acetate", "CCOC(C)=O", 77), ("ethyl butyrate", "CCCC(=O)OCC", 121), ("hexanal", "CCCCCC=O", 131),
    ("alpha-pinene", "CC1=CCC2CC1C2(C)C", 155), ("cis-3-hexenol", "CC/C=C\\CCO", 156),
    ("limonene", "CC1=CCC(CC1)C(C)=C", 176), ("1,8-cineole", "CC12CCC(CC1)C(C)(C)O2", 176),
    ("benzaldehyde", "O=Cc1ccccc1", 179), ("1-octanol", "CCCCCCCCO", 195), ("nonanal", "CCCCCCCCC=O", 195),
    ("phenylacetaldehyde", "O=CCc1ccccc1", 195), ("linalool", "CC(C)=CCCC(C)(O)C=C", 198),
    ("acetophenone", "CC(=O)c1ccccc1", 202), ("camphor", "CC1(C)C2CCC1(C)C(=O)C2", 204),
    ("benzyl alcohol", "OCc1ccccc1", 205), ("decanal", "CCCCCCCCCC=O", 208), ("menthol", "CC(C)C1CCC(C)CC1O", 212),
    ("benzyl acetate", "CC(=O)OCc1ccccc1", 212), ("2-phenylethanol", "OCCc1ccccc1", 219),
    ("methyl salicylate", "COC(=O)c1ccccc1O", 222), ("citronellol", "CC(CCO)CCC=C(C)C", 225),
    ("citral", "CC(C)=CCCC(C)=CC=O", 229), ("geraniol", "CC(C)=CCC/C(C)=C/CO", 230),
    ("carvone", "CC1=CCC(CC1=O)C(C)=C", 231), ("thymol", "CC(C)c1ccc(C)cc1O", 232),
    ("anethole", "C/C=C/c1ccc(OC)cc1", 234), ("cinnamaldehyde", "O=C/C=C/c1ccccc1", 248),
    ("indole", "c1ccc2[nH]ccc2c1", 253), ("eugenol", "C=CCc1ccc(O)c(OC)c1", 254),
    ("methyl anthranilate", "COC(=O)c1ccccc1N", 256), ("isoeugenol", "C/C=C/c1ccc(O)c(OC)c1", 266),
    ("beta-ionone", "CC(=O)/C=C/C1=C(C)CCCC1(C)C", 267), ("gamma-decalactone", "CCCCCCC1CCC(=O)O1", 281),
    ("vanillin", "COc1cc(C=O)ccc1O", 285), ("diethyl phthalate", "CCOC(=O)c1ccccc1C(=O)OCC", 298),
    ("coumarin", "O=c1ccc2ccccc2o1", 301), ("hexyl cinnamaldehyde", "CCCCCC/C(=C/c1ccccc1)C=O", 305),
    ("benzyl benzoate", "O=C(OCc1ccccc1)c1ccccc1", 323),
)


@dataclass(frozen=True)
class NoteBand:
    """GoodScents substantivity of the molecules whose estimated boiling point puts them in one note."""

    note: Note
    n: int
    median_h: float  # hours on blotter
    q25_h: float
    q75_h: float


@dataclass(frozen=True)
class PropertiesEvaluation:
    bp: dict[str, Any]  # bp_errors(): n, mae_c, bias_c, max_abs_c, worst (3 names)
    n_bp_substantivity: int  # GoodScents structures with an estimated boiling point
    bp_substantivity_spearman: float  # estimated boiling point vs substantivity hours
    notes: tuple[NoteBand, ...]  # top, heart, base
    cv: dict[str, Any]  # fit_substantivity()'s cross-validated figures (seed 0)


def bp_errors() -> dict[str, Any]:
    """Returns the Joback + Stein-Brown boiling point's errors on BP_REFERENCE (deg C) and its 3 worst molecules."""
    est = np.array([boiling_point_c(parse_smiles(s)) for _, s, _ in BP_REFERENCE])
    ref = np.array([bp for _, _, bp in BP_REFERENCE])
    return {"n": len(ref), "mae_c": float(np.abs(est - ref).mean()), "bias_c": float((est - ref).mean()),
            "max_abs_c": float(np.abs(est - ref).max()),
            "worst": [BP_REFERENCE[i][0] for i in np.argsort(-np.abs(est - ref))[:3]]}


def evaluate_properties(settings: Settings) -> PropertiesEvaluation:
    """Returns the boiling point, note and substantivity figures (about 3 s; reads the GoodScents files)."""
    bp = bp_errors()
    mols, hours, _ = load_substantivity_table(settings)
    est = [boiling_point_c(m) for m in mols]
    ok = [i for i, b in enumerate(est) if b is not None]
    rho = spearmanr([est[i] for i in ok], hours[ok]).statistic
    bands = []
    for note in Note:
        h = np.array([hours[i] for i in ok if note_from_bp(est[i]) == note])
        bands.append(NoteBand(note, len(h), np.median(h), np.percentile(h, 25), np.percentile(h, 75)))
    _, cv = fit_substantivity(mols, hours, seed=0)
    return PropertiesEvaluation(bp, len(ok), rho, tuple(bands), cv)
