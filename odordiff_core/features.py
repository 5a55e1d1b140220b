"""Molecule featurisation for the odor predictor: Morgan and atom-pair counts plus RDKit descriptors.

Fingerprint counts enter as log1p(count); descriptors as sign(x)·log1p(|x|) (many are heavy-tailed),
standardised later with the training statistics stored in the weights.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from .chem import Mol

FEATURES_VERSION = "morgan2c2048+apc1024+rdkit-desc/1"
# Left out for speed: each costs more than all the cheap descriptors together (qed, SPS) or is
# numerically unstable (Ipc); the predictor must score >= 1,000 molecules/s on 2 CPU cores.
_SLOW = {"qed", "SPS", "BertzCT", "Ipc", "AvgIpc"}
DESCRIPTORS: tuple[tuple[str, object], ...] = tuple((n, f) for n, f in Descriptors._descList if n not in _SLOW)
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
_ATOM_PAIR = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=1024)
N_FINGERPRINT = 2048 + 1024  # leading columns: log1p counts, not standardised
N_DESCRIPTORS = len(DESCRIPTORS)  # trailing columns: standardised


def featurize(mols: Sequence[Mol]) -> np.ndarray:
    """Returns the (N, N_FINGERPRINT + N_DESCRIPTORS) float32 feature matrix; NaN/inf descriptors become 0."""
    out = np.zeros((len(mols), N_FINGERPRINT + N_DESCRIPTORS), dtype=np.float32)
    for i, mol in enumerate(mols):
        out[i, :2048] = _MORGAN.GetCountFingerprintAsNumPy(mol)
        out[i, 2048:N_FINGERPRINT] = _ATOM_PAIR.GetCountFingerprintAsNumPy(mol)
        out[i, N_FINGERPRINT:] = [f(mol) for _, f in DESCRIPTORS]  # type: ignore[operator]
    fp = out[:, :N_FINGERPRINT]
    np.log1p(fp, out=fp)
    d = np.nan_to_num(out[:, N_FINGERPRINT:], nan=0.0, posinf=0.0, neginf=0.0)
    out[:, N_FINGERPRINT:] = np.sign(d) * np.log1p(np.abs(d))
    return out
