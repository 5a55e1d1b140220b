"""RDKit parsing and standardisation: the one place where text becomes a molecule.

Parse once at the edge (`parse_smiles`), then pass `Mol` objects around.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rdkit import Chem, rdBase
from rdkit.Chem import DataStructs, rdFingerprintGenerator

from .errors import InvalidSmiles

Mol = Chem.Mol
MAX_SMILES_CHARS = 1000  # odorants are small (<= ~40 heavy atoms); longer input is rejected before parsing

_MORGAN2 = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@contextlib.contextmanager
def without_rdkit_log() -> Iterator[None]:
    """Silences RDKit's log (parser warnings, standardiser notes) inside the block only.

    RDKit's own BlockLogs restores each level as it was: switching "rdApp.*" off and on again would also switch
    on the info and debug levels, which RDKit keeps off by default (the standardiser then prints every step).
    """
    with rdBase.BlockLogs():
        yield


def _has_inner_space(smiles: str) -> bool:
    return any(c.isspace() for c in smiles.strip())


def has_dummy_atom(mol: Mol) -> bool:
    """Returns True when the molecule holds a dummy atom (`*`, atomic number 0): a placeholder, not an atom."""
    return any(a.GetAtomicNum() == 0 for a in mol.GetAtoms())


def to_mol(smiles: str) -> Mol | None:
    """Returns the sanitized RDKit Mol for a SMILES string, or None when it cannot be parsed.

    Also None for a SMILES with a space inside it (RDKit would read only the part before the space), and for
    one with a dummy atom (`*`, atomic number 0): RDKit parses it, but it is a placeholder (attachment point,
    polymer end, unknown group), not a molecule, and InChI and the safety lists cannot identify it. The
    generator's SELFIES vocabulary has no `*` token, so decoded samples never contain one.
    """
    if not isinstance(smiles, str) or not smiles.strip() or len(smiles) > MAX_SMILES_CHARS:
        return None
    if not smiles.isascii():  # RDKit would stop at the first non-ASCII character and return a wrong molecule
        return None
    if _has_inner_space(smiles):  # RDKit would read only the part before it (the rest as a name)
        return None
    with without_rdkit_log():
        mol = Chem.MolFromSmiles(smiles.strip())
    return None if mol is None or has_dummy_atom(mol) else mol


def parse_smiles(smiles: str) -> Mol:
    """Returns the sanitized Mol for a SMILES string.

    Raises InvalidSmiles (a ValueError) naming the input and why: empty, too long, non-ASCII, a space inside it
    (RDKit would silently drop the rest), not valid SMILES, or holding a dummy atom (`*`), which is a placeholder
    rather than an atom.
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
    shown = smiles if len(smiles) <= 60 else smiles[:57] + "..."
    if _has_inner_space(smiles):
        raise InvalidSmiles(f"SMILES {shown!r} contains a space, tab or line break: RDKit would read only the part "
                            f"before it. Give one SMILES per line, and join the components of a salt or mixture "
                            f"with '.'.")
    with without_rdkit_log():
        mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None:
        raise InvalidSmiles(f"RDKit cannot parse {shown!r} as SMILES (check brackets, ring closures and valences).")
    if has_dummy_atom(mol):
        raise InvalidSmiles(f"SMILES {shown!r} contains a dummy atom `*` (atomic number 0): a placeholder for an "
                            f"attachment point or unknown group, not an atom. Replace it with the real atom or group.")
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
