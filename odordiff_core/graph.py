"""The odor predictor's message-passing member: molecular graphs and a directed message-passing network (D-MPNN).

A D-MPNN (Yang et al. 2019, the chemprop model) passes messages along directed bonds: each bond's hidden state starts
from its source atom's and its own features and, for `depth` - 1 rounds, adds what flows into its source atom from the
other bonds (not back from its own reverse). Atom states are then read out from the incoming bond states and averaged
over the molecule; a small feed-forward head gives one logit per label. It sees the molecule as a graph, not as hashed
fingerprint counts, and so errs differently from the MLP members: blended at a small weight it helps most away from the
training scaffolds (MODEL_CARD.md, "A message-passing member, shipped"). Trained by `train.predictor.train_graph_member`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from rdkit import Chem
from torch import nn

from .chem import Mol

_ELEMENTS = (6, 7, 8, 16, 9, 17, 35, 53, 15, 14, 5)  # C N O S F Cl Br I P Si B; any other element is one more slot
_HYBRIDISATION = {Chem.HybridizationType.SP: 0, Chem.HybridizationType.SP2: 1, Chem.HybridizationType.SP3: 2}
_BOND_TYPE = {1.0: 0, 2.0: 1, 3.0: 2, 1.5: 3}  # single, double, triple, aromatic (as GetBondTypeAsDouble gives them)
# One-hot widths: element (12), degree 0-5 (6), formal charge -1/0/+1 (3), hydrogens 0-4 (5), hybridisation (4); then
# aromatic, in ring, mass / 100.
_ONE_HOT = (len(_ELEMENTS) + 1, 6, 3, 5, 4)
N_ATOM_FEATURES = sum(_ONE_HOT) + 3
N_BOND_FEATURES = 6  # bond type one-hot (4), conjugated, in ring
_ELEMENT_INDEX = np.full(128, len(_ELEMENTS), np.int64)
_ELEMENT_INDEX[list(_ELEMENTS)] = np.arange(len(_ELEMENTS))
_OFFSETS = np.concatenate([[0], np.cumsum(_ONE_HOT)[:-1]])


class MolGraph(NamedTuple):
    """One molecule as arrays; bonds appear as two directed edges, 2b and 2b + 1, each the other's reverse."""

    atoms: np.ndarray  # (A, N_ATOM_FEATURES) float32
    src: np.ndarray  # (E,) int64 source atom of each directed edge
    dst: np.ndarray  # (E,) int64 target atom
    bonds: np.ndarray  # (E, N_BOND_FEATURES) float32


def mol_graph(mol: Mol) -> MolGraph:
    """Returns the graph of an RDKit molecule (heavy atoms; hydrogens as a count on each atom)."""
    # One pass over the atoms: the 5 one-hot codes, then aromatic, in ring, mass / 100 (A, 8).
    props = np.array([(min(a.GetAtomicNum(), 127), min(a.GetDegree(), 5), max(-1, min(1, a.GetFormalCharge())) + 1,
                       min(a.GetTotalNumHs(), 4), _HYBRIDISATION.get(a.GetHybridization(), 3),
                       a.GetIsAromatic(), a.IsInRing(), a.GetMass() / 100.0) for a in mol.GetAtoms()],
                     np.float64).reshape(-1, 8)
    codes = props[:, :5].astype(np.int64)  # (A, 5)
    codes[:, 0] = _ELEMENT_INDEX[codes[:, 0]]
    x = np.zeros((len(codes), N_ATOM_FEATURES), np.float32)
    x[np.arange(len(codes))[:, None], codes + _OFFSETS] = 1.0
    x[:, -3:] = props[:, 5:]
    ends, feats = [], []
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        ends += [(i, j), (j, i)]
        f = [0.0] * N_BOND_FEATURES
        f[_BOND_TYPE.get(b.GetBondTypeAsDouble(), 0)] = 1.0
        f[4], f[5] = float(b.GetIsConjugated()), float(b.IsInRing())
        feats += [f, f]
    e = np.array(ends, np.int64).reshape(-1, 2)
    return MolGraph(x, e[:, 0].copy(), e[:, 1].copy(), np.array(feats, np.float32).reshape(-1, N_BOND_FEATURES))


def mol_graphs(mols: Sequence[Mol]) -> list[MolGraph]:
    """Returns mol_graph of each molecule (about 0.15 ms per molecule)."""
    return [mol_graph(m) for m in mols]


class GraphBatch(NamedTuple):
    """Several MolGraphs as one disconnected graph."""

    atoms: torch.Tensor  # (A, N_ATOM_FEATURES)
    src: torch.Tensor  # (E,) int64
    dst: torch.Tensor  # (E,) int64
    bonds: torch.Tensor  # (E, N_BOND_FEATURES)
    reverse: torch.Tensor  # (E,) int64 index of each edge's reverse
    molecule: torch.Tensor  # (A,) int64 molecule of each atom
    n_molecules: int


def batch_graphs(graphs: Sequence[MolGraph]) -> GraphBatch:
    """Returns the graphs joined into one batch (atom indices offset; edges stay in pairs, so reverse = index ^ 1)."""
    sizes = np.array([len(g.atoms) for g in graphs], np.int64)
    offsets = np.repeat(np.cumsum(sizes) - sizes, [len(g.src) for g in graphs])
    src = np.concatenate([g.src for g in graphs]) + offsets if graphs else np.zeros(0, np.int64)
    dst = np.concatenate([g.dst for g in graphs]) + offsets if graphs else np.zeros(0, np.int64)
    atoms = np.concatenate([g.atoms for g in graphs]) if graphs else np.zeros((0, N_ATOM_FEATURES), np.float32)
    bonds = np.concatenate([g.bonds for g in graphs]) if graphs else np.zeros((0, N_BOND_FEATURES), np.float32)
    return GraphBatch(torch.from_numpy(atoms), torch.from_numpy(src), torch.from_numpy(dst), torch.from_numpy(bonds),
                      torch.arange(len(src)) ^ 1, torch.from_numpy(np.repeat(np.arange(len(graphs)), sizes)),
                      len(graphs))


class DMPNN(nn.Module):
    """Directed message passing over bonds, mean readout over atoms, a one-hidden-layer head: (batch) -> logits."""

    def __init__(self, n_out: int, hidden: int, depth: int, dropout: float):
        super().__init__()
        self.depth = depth
        self.n_out = n_out
        self.w_in = nn.Linear(N_ATOM_FEATURES + N_BOND_FEATURES, hidden, bias=False)
        self.w_message = nn.Linear(hidden, hidden, bias=False)
        self.w_atom = nn.Linear(N_ATOM_FEATURES + hidden, hidden)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, n_out))

    def forward(self, g: GraphBatch) -> torch.Tensor:
        n_atoms = len(g.atoms)
        h0 = torch.relu(self.w_in(torch.cat([g.atoms[g.src], g.bonds], 1)))  # (E, H)
        h = h0
        for _ in range(self.depth - 1):
            into = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, g.dst, h)  # (A, H) what flows into each atom
            h = torch.relu(h0 + self.w_message(into[g.src] - h[g.reverse]))  # not back along the edge's reverse
        into = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, g.dst, h)
        a = torch.relu(self.w_atom(torch.cat([g.atoms, into], 1)))  # (A, H)
        count = a.new_zeros(g.n_molecules).index_add_(0, g.molecule, a.new_ones(n_atoms)).clamp_min_(1.0)
        mol = a.new_zeros(g.n_molecules, a.shape[1]).index_add_(0, g.molecule, a) / count[:, None]  # (M, H)
        return self.head(mol)  # (M, n_out)


def graph_proba(net: DMPNN, graphs: Sequence[MolGraph], batch_size: int = 512) -> np.ndarray:
    """Returns (N, n_out) sigmoid probabilities of an eval-mode network."""
    with torch.inference_mode():
        parts = [torch.sigmoid(net(batch_graphs(graphs[i:i + batch_size]))) for i in range(0, len(graphs), batch_size)]
    return torch.cat(parts).numpy() if parts else np.zeros((0, net.n_out), np.float32)
