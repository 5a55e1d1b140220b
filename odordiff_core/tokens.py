"""Molecule strings for the generator: SELFIES tokens, the vocabulary, encode/decode, PAD and MASK ids.

SELFIES (Krenn et al. 2020) is used because every token string decodes to a valid molecule, so the
masked diffusion model cannot produce unparsable output. Position 0 of the vocabulary is PAD (fills a
sequence after its last token; decodes to nothing) and position 1 is MASK (the absorbing state).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import selfies as sf
from rdkit import Chem

from .chem import Mol, to_mol, without_rdkit_log

PAD = "[PAD]"
MASK = "[MASK]"
PAD_ID = 0
MASK_ID = 1


@dataclass(frozen=True)
class Vocab:
    """The token list of one trained model; the model's output layer follows this order."""

    tokens: tuple[str, ...]  # tokens[0] = PAD, tokens[1] = MASK, then SELFIES symbols (sorted)

    def __post_init__(self) -> None:
        if self.tokens[:2] != (PAD, MASK):
            raise ValueError(f"vocab must start with {PAD}, {MASK}; got {self.tokens[:2]}")

    @property
    def size(self) -> int:
        return len(self.tokens)

    @cached_property
    def stoi(self) -> dict[str, int]:
        """Token -> id, built once per vocabulary (encode runs for every edit start of a request)."""
        return {t: i for i, t in enumerate(self.tokens)}

    def digest(self) -> str:
        """Returns a short SHA-256 of the token list: stored with weights, checked at load."""
        return hashlib.sha256("\n".join(self.tokens).encode()).hexdigest()[:16]

    def encode(self, selfies: str, max_len: int) -> list[int] | None:
        """Returns token ids padded with PAD to max_len, or None when too long or a symbol is not in the vocab."""
        stoi = self.stoi
        syms = list(sf.split_selfies(selfies))
        if len(syms) > max_len or any(s not in stoi for s in syms):
            return None
        return [stoi[s] for s in syms] + [PAD_ID] * (max_len - len(syms))

    def encode_smiles(self, smiles: str, max_len: int) -> list[int] | None:
        """Returns the token ids of a SMILES string's SELFIES (encode), or None when SELFIES cannot encode it or this
        vocabulary / length cannot write it."""
        selfies = to_selfies(smiles)
        return self.encode(selfies, max_len) if selfies else None

    def decode(self, ids: list[int] | np.ndarray) -> str:
        """Returns the SELFIES string of a token-id sequence; PAD and MASK are skipped."""
        return "".join(self.tokens[i] for i in ids if i > MASK_ID)


def build_vocab(selfies_strings: list[str]) -> Vocab:
    """Returns the vocabulary of every symbol in the strings, after PAD and MASK, sorted for stability."""
    symbols: set[str] = set()
    for s in selfies_strings:
        symbols.update(sf.split_selfies(s))
    return Vocab((PAD, MASK, *sorted(symbols)))


def to_selfies(smiles: str) -> str | None:
    """Returns the SELFIES of a SMILES string, or None when SELFIES cannot encode it (charges it does not know)."""
    try:
        return sf.encoder(smiles)
    except sf.EncoderError:
        return None


def decode_smiles(selfies: str) -> str | None:
    """Returns the canonical SMILES of a SELFIES string, or None when it is empty or RDKit rejects it."""
    if not selfies:
        return None
    try:
        smi = sf.decoder(selfies)
    except sf.DecoderError:
        return None
    mol = to_mol(smi) if smi else None
    return Chem.MolToSmiles(mol) if mol is not None and mol.GetNumAtoms() > 0 else None


def random_smiles(mol: Mol, n: int, seed: int) -> list[str]:
    """Returns up to n distinct randomized SMILES of a molecule (representation augmentation), stereo removed.

    The same seed gives the same strings. RDKit seeds its generator only for 1 <= seed < 2**31 (0 leaves it unseeded,
    so every call differs; larger seeds overflow), so a seed outside that range is folded into it (0 acts as 1)."""
    m = Chem.Mol(mol)
    Chem.RemoveStereochemistry(m)
    rdkit_seed = seed if 0 < seed < 2**31 else 1 + seed % (2**31 - 1)
    with without_rdkit_log():
        out = Chem.MolToRandomSmilesVect(m, n, randomSeed=rdkit_seed)
    canon = Chem.MolToSmiles(m)
    return list(dict.fromkeys([canon, *out]))[:n]


_SMILES_TOKEN = re.compile(r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])")


def scaffold_template(smiles: str, vocab: Vocab, max_len: int) -> tuple[list[int], list[bool]] | None:
    """Returns (token ids, fixed) for "more like this": fixed marks the SELFIES tokens that write the Murcko
    scaffold's atoms (by SELFIES attribution); the rest is free to regenerate.

    Returns None when the molecule has no ring scaffold, or its SELFIES does not fit the vocab or max_len.
    """
    from rdkit.Chem.Scaffolds import MurckoScaffold

    mol = to_mol(smiles)
    if mol is None:
        return None
    m = Chem.Mol(mol)
    Chem.RemoveStereochemistry(m)
    scaffold = MurckoScaffold.GetScaffoldForMol(m)
    if scaffold.GetNumAtoms() == 0:
        return None
    smi = Chem.MolToSmiles(m)
    order = list(m.GetPropsAsDict(True, True)["_smilesAtomOutputOrder"])
    scaffold_atoms = set(m.GetSubstructMatch(scaffold))
    # SMILES token index -> atom index (atom tokens appear in output order)
    tok_to_atom: dict[int, int] = {}
    k = 0
    for i, tok in enumerate(_SMILES_TOKEN.findall(smi)):
        if tok[0].isalpha() or tok[0] == "[":
            tok_to_atom[i] = order[k]
            k += 1
    try:
        selfies, attribution = sf.encoder(smi, attribute=True)
    except sf.EncoderError:
        return None
    ids = vocab.encode(selfies, max_len)
    if ids is None:
        return None
    syms = list(sf.split_selfies(selfies))
    fixed = [False] * max_len
    for amap in attribution:
        j = amap.index
        if j < len(syms) and syms[j] == amap.token and amap.attribution and any(
                tok_to_atom.get(a.index) in scaffold_atoms for a in amap.attribution):
            fixed[j] = True
    # a ring closure right after a scaffold atom closes a scaffold ring: keep it and its length symbol
    for j in range(1, len(syms) - 1):
        if syms[j].startswith(("[Ring", "[=Ring", "[#Ring")) and fixed[j - 1]:
            fixed[j] = fixed[j + 1] = True
    return ids, fixed
