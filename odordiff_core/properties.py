"""Properties a perfumer judges a molecule by: RDKit descriptors, synthetic accessibility, volatility, substantivity.

- Descriptors: RDKit (Crippen cLogP, TPSA, Lipinski counts).
- Synthetic accessibility: RDKit Contrib SA_Score (Ertl & Schuffenhauer 2009), 1 (easy) .. 10 (hard).
- Boiling point: Joback & Reid (1987) group contribution, Tb = 198 K + sum of group increments, with the
  Stein & Brown (1994) correction for the known overestimate of large molecules; uncertainty = the error
  measured by `odordiff evaluate properties` on a literature table (stored with the weights).
- Note: top / heart / base from the boiling point (thresholds below).
- Substantivity: ridge regression on log(hours) of GoodScents "Substantivity (Hours)" on blotter, an
  ensemble of bootstrap fits stored as safetensors, fitted by `odordiff_core/train/properties.py`
  (`odordiff train properties`) and measured by `odordiff_core/eval/properties.py`; this module only loads it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors
from rdkit.Contrib.SA_Score import sascorer

from .chem import Mol
from .config import Settings
from .errors import ModelNotFound
from .types import Note

# Thresholds on the *estimated* boiling point. On GoodScents substantivity (`odordiff evaluate properties`) they
# split median blotter life into ~8 h (top), ~64 h (heart), ~270 h (base). Estimate error is ~16 C (MAE), so
# molecules near a threshold (vanillin: 285 C measured, 267 C estimated -> heart) can land one note off.
TOP_MAX_BP_C = 210.0  # below: top note (ethyl butyrate, limonene)
BASE_MIN_BP_C = 280.0  # at or above: base note (benzyl benzoate, hexyl cinnamal)
SA_EASY_MAX, SA_HARD_MIN = 3.5, 6.0  # SA score bands: <= 3.5 easy, >= 6 hard, between: moderate
MODEL_DIR = "properties"
FEATURES_VERSION = "bp,mw,logp,tpsa,hbd,hba,rotb,rings,arom,fsp3,heavy,nO/1"  # substantivity_features(), in order

# Joback Tb increments (K), Joback & Reid, Chem. Eng. Commun. 57 (1987) 233, Table: "Tb".
JOBACK_TB: dict[str, float] = {
    "CH3": 23.58, "CH2": 22.88, "CH": 21.74, "C": 18.25, "=CH2": 18.18, "=CH": 24.96, "=C": 24.14, "=C=": 26.15,
    "#CH": 9.20, "#C": 27.38, "rCH2": 27.15, "rCH": 21.78, "rC": 21.32, "r=CH": 26.73, "r=C": 31.01,
    "F": -0.03, "Cl": 38.13, "Br": 66.86, "I": 93.84, "OH": 92.88, "ArOH": 76.34, "O": 22.42, "rO": 31.22,
    "C=O": 76.75, "rC=O": 94.97, "CHO": 72.24, "COOH": 169.09, "COO": 81.10, "=O": -10.50,
    "NH2": 73.23, "NH": 50.17, "rNH": 52.82, "N": 11.74, "=N": 74.60, "r=N": 57.55, "=NH": 83.08,
    "CN": 125.66, "NO2": 152.54, "SH": 63.56, "S": 68.78, "rS": 52.10,
}
# Multi-atom groups, matched first (most specific first); each atom belongs to one group only.
_MULTI = [(name, Chem.MolFromSmarts(s)) for name, s in (
    ("NO2", "[$([N+](=O)[O-]),$(N(=O)=O)](~O)~O"), ("CN", "C#N"), ("COOH", "[#6X3](=O)[OX2H1]"),
    ("COO", "[#6X3](=O)[#8X2][#6]"), ("CHO", "[CX3H1]=O"), ("C=O", "[#6X3](=O)([#6])[#6]"),
)]


@dataclass(frozen=True, slots=True)
class Properties:
    """Computed properties of one molecule; None where a value cannot be computed for this structure."""

    mw: float  # g/mol (average)
    clogp: float  # Crippen logP
    tpsa: float  # A^2
    hbd: int
    hba: int
    rotatable_bonds: int
    heavy_atoms: int
    sa_score: float | None  # 1 easy .. 10 hard (Ertl & Schuffenhauer 2009)
    sa_class: str | None  # "easy" | "moderate" | "hard"
    boiling_point_c: float | None  # Joback + Stein-Brown estimate, deg C at 1 atm
    boiling_point_c_err: float | None  # typical absolute error of that estimate (deg C, measured)
    note: Note | None  # from the boiling point
    substantivity_h: float | None  # predicted hours on blotter (geometric mean of the ensemble)
    substantivity_h_std: float | None  # spread in hours: ensemble + cross-validated residual (log space, converted)
    substantivity_h_range: tuple[float, float] | None  # ~68% interval in hours (exp(mu +- sigma))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["note"] = str(self.note) if self.note is not None else None
        rng = self.substantivity_h_range
        d["substantivity_h_range"] = list(rng) if rng is not None else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Properties:
        """Returns the properties `to_json` wrote (JSON has lists, not tuples; the note is a Note again)."""
        rng = d["substantivity_h_range"]
        return cls(**{**d, "note": Note(d["note"]) if d["note"] is not None else None,
                      "substantivity_h_range": tuple(rng) if rng is not None else None})


@dataclass(frozen=True)
class PropertyModels:
    """The fitted substantivity ensemble and the boiling-point error, loaded from weights/properties."""

    coef: np.ndarray  # (E, F) ridge coefficients on standardised features, one row per bootstrap fit
    intercept: np.ndarray  # (E,)
    mean: np.ndarray  # (F,) feature means
    scale: np.ndarray  # (F,) feature standard deviations
    residual_sigma: float  # cross-validated residual std of log(hours)
    max_hours: float  # largest value in the training data (GoodScents caps most at 400 h)
    bp_error_c: float | None  # mean absolute error of the boiling point on the literature table
    version: str


def _group_of(atom: Chem.Atom) -> str | None:
    """Returns the Joback group of one heavy atom not covered by a multi-atom group, or None if unsupported."""
    z, h, ring = atom.GetAtomicNum(), atom.GetTotalNumHs(), atom.IsInRing()
    bonds = [b.GetBondType() for b in atom.GetBonds()]
    double = sum(b == Chem.BondType.DOUBLE for b in bonds)
    if atom.GetFormalCharge() or atom.GetNumRadicalElectrons():
        return None
    if z == 6:
        if Chem.BondType.TRIPLE in bonds:
            return "#CH" if h else "#C"
        if double == 2:
            return "=C="
        if double or atom.GetIsAromatic():
            prefix = "r=" if ring else "="
            return prefix + ("CH2" if h == 2 and not ring else "CH" if h == 1 else "C") if h < 3 else None
        base = {3: "CH3", 2: "CH2", 1: "CH", 0: "C"}.get(h)
        if base is None:
            return "CH3"  # methane: treated as a methyl group
        return ("r" + base) if ring and base != "CH3" else base
    if z == 8:
        if double:
            return "=O"
        if h == 1:
            return "ArOH" if any(n.GetIsAromatic() for n in atom.GetNeighbors()) else "OH"
        return "rO" if ring else "O"
    if z == 7:
        if double or atom.GetIsAromatic() and h == 0:
            return ("=NH" if h else "r=N" if ring else "=N")
        return {2: "NH2", 1: "rNH" if ring else "NH", 0: "N"}.get(h)
    if z == 16:
        if double or atom.GetDegree() > 2:
            return None
        return "SH" if h else ("rS" if ring else "S")
    return {9: "F", 17: "Cl", 35: "Br", 53: "I"}.get(z)


def joback_groups(mol: Mol) -> dict[str, int] | None:
    """Returns the count of each Joback group, or None when an atom has no Joback group (P, Si, ions, S=O ...)."""
    taken: set[int] = set()
    counts: dict[str, int] = {}
    for name, patt in _MULTI:
        for match in mol.GetSubstructMatches(patt):
            core = match[:3] if name in ("COO", "COOH", "NO2") else match[:2]
            if taken.isdisjoint(core):
                taken.update(core)
                in_ring = mol.GetBondBetweenAtoms(match[0], match[2]).IsInRing() if name == "COO" else \
                    mol.GetAtomWithIdx(match[0]).IsInRing()
                if name == "COO" and in_ring:  # lactone: Joback has no ring ester; ring C=O + ring O fits better
                    for key in ("rC=O", "rO"):
                        counts[key] = counts.get(key, 0) + 1
                    continue
                key = "rC=O" if name == "C=O" and in_ring else name
                counts[key] = counts.get(key, 0) + 1
    for atom in mol.GetAtoms():
        if atom.GetIdx() in taken or atom.GetAtomicNum() == 1:
            continue
        group = _group_of(atom)
        if group is None:
            return None
        counts[group] = counts.get(group, 0) + 1
    return counts


def boiling_point_c(mol: Mol) -> float | None:
    """Returns the normal boiling point in deg C (Joback Tb with the Stein & Brown 1994 correction), or None."""
    groups = joback_groups(mol)
    if not groups:
        return None
    tb = 198.0 + sum(JOBACK_TB[g] * n for g, n in groups.items())  # K, Joback & Reid 1987
    # Stein & Brown (1994): Joback overestimates high boilers; corrected Tb in K.
    tb = tb - 94.84 + 0.5577 * tb - 0.0007705 * tb**2 if tb <= 700 else tb + 282.7 - 0.5209 * tb
    return tb - 273.15


def note_from_bp(bp_c: float | None) -> Note | None:
    """Returns the note of a boiling point in deg C (thresholds TOP_MAX_BP_C, BASE_MIN_BP_C), None without one."""
    if bp_c is None:
        return None
    return Note.TOP if bp_c < TOP_MAX_BP_C else Note.BASE if bp_c >= BASE_MIN_BP_C else Note.HEART


def substantivity_features(mol: Mol) -> np.ndarray | None:
    """Returns the 12 substantivity features of one molecule (F,), or None when the boiling point is unknown."""
    return _features(mol, boiling_point_c(mol))


def _features(mol: Mol, bp: float | None) -> np.ndarray | None:
    """substantivity_features() with the boiling point already computed."""
    if bp is None:
        return None
    return np.array([
        bp, Descriptors.MolWt(mol), Crippen.MolLogP(mol), rdMolDescriptors.CalcTPSA(mol),  # type: ignore[attr-defined]  # rdkit-stubs lack it
        Lipinski.NumHDonors(mol), Lipinski.NumHAcceptors(mol), rdMolDescriptors.CalcNumRotatableBonds(mol),  # type: ignore[attr-defined]  # rdkit-stubs lack it
        rdMolDescriptors.CalcNumRings(mol), rdMolDescriptors.CalcNumAromaticRings(mol),
        rdMolDescriptors.CalcFractionCSP3(mol), mol.GetNumHeavyAtoms(),
        sum(a.GetAtomicNum() == 8 for a in mol.GetAtoms()),
    ], dtype=np.float64)


def predict_log_substantivity(features: np.ndarray, models: PropertyModels) -> tuple[np.ndarray, np.ndarray]:
    """Returns (mean, ensemble std) of log(hours) for features (N, F)."""
    z = (features - models.mean) / models.scale  # (N, F)
    preds = z @ models.coef.T + models.intercept  # (N, E)
    return preds.mean(axis=1), preds.std(axis=1)


def _sa(mol: Mol) -> tuple[float | None, str | None]:
    try:
        score = float(sascorer.calculateScore(mol))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return None, None
    return score, "easy" if score <= SA_EASY_MAX else "hard" if score >= SA_HARD_MIN else "moderate"


def compute_properties(mol: Mol, models: PropertyModels | None) -> Properties:
    """Returns every property of one molecule; the substantivity fields are None when models is None.

    Fast (about a millisecond per molecule): descriptors, SA score and the group contribution are closed-form.
    """
    bp = boiling_point_c(mol)
    sa, sa_class = _sa(mol)
    hours = std = interval = None
    if models is not None and (feats := _features(mol, bp)) is not None:
        mu, ens = predict_log_substantivity(feats[None, :], models)
        sigma = float(np.hypot(ens[0], models.residual_sigma))
        cap = models.max_hours
        hours = float(min(np.exp(mu[0]), cap))
        std = float(min(hours * np.sqrt(np.expm1(sigma**2)), cap))  # lognormal std around the median
        interval = (float(min(np.exp(mu[0] - sigma), cap)), float(min(np.exp(mu[0] + sigma), cap)))
    return Properties(
        mw=Descriptors.MolWt(mol), clogp=Crippen.MolLogP(mol), tpsa=rdMolDescriptors.CalcTPSA(mol),  # type: ignore[attr-defined]  # rdkit-stubs lack it
        hbd=Lipinski.NumHDonors(mol), hba=Lipinski.NumHAcceptors(mol),  # type: ignore[attr-defined]  # rdkit-stubs lack it
        rotatable_bonds=rdMolDescriptors.CalcNumRotatableBonds(mol), heavy_atoms=mol.GetNumHeavyAtoms(),
        sa_score=sa, sa_class=sa_class, boiling_point_c=bp,
        boiling_point_c_err=models.bp_error_c if (models is not None and bp is not None) else None,
        note=note_from_bp(bp), substantivity_h=hours, substantivity_h_std=std, substantivity_h_range=interval,
    )


def load_property_models(settings: Settings) -> PropertyModels:
    """Returns the substantivity ensemble from weights/properties (safetensors + JSON).

    Raises ModelNotFound when the files are missing or were fitted on other features.
    """
    from safetensors.numpy import load_file

    folder = settings.weights_dir / MODEL_DIR
    cfg_path, st_path = folder / "config.json", folder / "substantivity.safetensors"
    if not cfg_path.is_file() or not st_path.is_file():
        raise ModelNotFound(f"No property models in {folder}. Run `odordiff train properties`.")
    cfg = json.loads(cfg_path.read_text())
    t = load_file(str(st_path))
    if cfg.get("n_features") != t["mean"].shape[0] or cfg.get("features_version") != FEATURES_VERSION:
        raise ModelNotFound(f"{folder} was fitted on other features than this code computes. "
                            f"Run `odordiff train properties`.")
    return PropertyModels(coef=t["coef"], intercept=t["intercept"], mean=t["mean"], scale=t["scale"],
                          residual_sigma=float(cfg["residual_sigma"]), max_hours=float(cfg["max_hours"]),
                          bp_error_c=cfg.get("bp_mae_c"), version=cfg["version"])
