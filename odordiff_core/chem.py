"""RDKit parsing and standardisation: the one place where text becomes a molecule.

Parse once at the edge (`parse_smiles`), then pass `Mol` objects around.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rdkit import Chem, RDLogger
from rdkit.Chem import DataStructs, rdFingerprintGenerator

from .errors import InvalidSmiles

Mol = Chem.Mol
MAX_SMILES_CHARS = 1000  # odorants are small (<= ~40 heavy atoms); longer input is rejected before parsing

_MORGAN2 = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@contextlib.contextmanager
def without_rdkit_log() -> Iterator[None]:
    """Silences RDKit's parser warnings inside the block only."""
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # rdkit-stubs lack it
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")  # type: ignore[attr-defined]  # rdkit-stubs lack it


def to_mol(smiles: str) -> Mol | None:
    """Returns the sanitized RDKit Mol for a SMILES string, or None when it cannot be parsed."""
    if not isinstance(smiles, str) or not smiles.strip() or len(smiles) > MAX_SMILES_CHARS:
        return None
    if not smiles.isascii():  # RDKit would stop at the first non-ASCII character and return a wrong molecule
        return None
    with without_rdkit_log():
        return Chem.MolFromSmiles(smiles.strip())


def parse_smiles(smiles: str) -> Mol:
    """Returns the sanitized Mol for a SMILES string.

    Raises InvalidSmiles (a ValueError) naming the input and why: empty, too long, or not valid SMILES.
    """
    if not isinstance(smiles, str) or not smiles.strip():
        raise InvalidSmiles("Empty SMILES: paste a molecule such as CC(C)=CCCC(C)(O)C=C (linalool).")
    if len(smiles) > MAX_SMILES_CHARS:
        raise InvalidSmiles(f"SMILES of {len(smiles):,} characters is longer than the {MAX_SMILES_CHARS} "
                            f"allowed: odorants are small molecules. Paste one molecule at a time.")
    if not smiles.isascii():
        bad = next(c for c in smiles if not c.isascii())
        raise InvalidSmiles(f"SMILES contains the non-ASCII character {bad!r}: SMILES use ASCII letters, digits "
                            f"and symbols only. Check for pasted quotes, dashes or emoji.")
    mol = to_mol(smiles)
    if mol is None:
        shown = smiles if len(smiles) <= 60 else smiles[:57] + "..."
        raise InvalidSmiles(f"RDKit cannot parse {shown!r} as SMILES (check brackets, ring closures and valences).")
    return mol


def canonical_smiles(mol: Mol) -> str:
    """Returns RDKit's canonical isomeric SMILES."""
    return Chem.MolToSmiles(mol)


def inchikey(mol: Mol) -> str:
    """Returns the standard InChIKey, or '' when InChI cannot be computed for this molecule."""
    with without_rdkit_log():
        return Chem.MolToInchiKey(mol) or ""


def connectivity_key(mol: Mol) -> str:
    """Returns the first InChIKey block (skeleton without stereo or isotopes): the identity used to match lists."""
    return inchikey(mol).split("-")[0]


def morgan_fp(mol: Mol) -> DataStructs.ExplicitBitVect:
    """Returns the Morgan radius-2, 2048-bit fingerprint used for every similarity in OdorDiff."""
    return _MORGAN2.GetFingerprint(mol)


def tanimoto_many(query: DataStructs.ExplicitBitVect, fps: list) -> list[float]:
    """Returns the Tanimoto similarity of one fingerprint to each of a list."""
    return list(DataStructs.BulkTanimotoSimilarity(query, fps))


@dataclass(frozen=True)
class ParsedColumn:
    """The result of parsing a column of SMILES from a data file."""

    mols: tuple[Mol | None, ...]  # None where the row could not be parsed
    n_invalid: int  # rows RDKit rejected (reported, never silently dropped)
    invalid_rows: tuple[int, ...]  # 0-based row indices of the rejected rows


def parse_column(smiles: Iterable[str]) -> ParsedColumn:
    """Parses every SMILES of a column, keeping row alignment and counting the failures."""
    mols: list[Mol | None] = []
    bad: list[int] = []
    for i, s in enumerate(smiles):
        m = to_mol(s) if isinstance(s, str) else None
        mols.append(m)
        if m is None:
            bad.append(i)
    return ParsedColumn(tuple(mols), len(bad), tuple(bad))
