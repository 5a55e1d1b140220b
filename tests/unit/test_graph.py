"""The message-passing member's graphs and network (odordiff_core/graph.py)."""
import numpy as np
import torch

from odordiff_core.chem import parse_smiles
from odordiff_core.graph import DMPNN, N_ATOM_FEATURES, batch_graphs, graph_proba, mol_graph, mol_graphs


def test_each_bond_becomes_two_directed_edges_that_reverse_each_other():
    g = mol_graph(parse_smiles("CC(=O)OC"))  # methyl acetate: 5 heavy atoms, 4 bonds
    assert g.atoms.shape == (5, N_ATOM_FEATURES) and len(g.src) == len(g.dst) == len(g.bonds) == 8
    assert np.array_equal(g.src[0::2], g.dst[1::2]) and np.array_equal(g.dst[0::2], g.src[1::2])
    assert g.bonds[:, :4].sum(1).tolist() == [1.0] * 8  # one bond type each


def test_atoms_carry_their_element_and_aromaticity():
    g = mol_graph(parse_smiles("c1ccccc1O"))  # phenol
    aromatic = g.atoms[:, -3]
    assert aromatic.tolist() == [1.0] * 6 + [0.0]
    assert g.atoms[6, 2] == 1.0 and g.atoms[0, 0] == 1.0  # oxygen slot (third element), carbon slot (first)


def test_an_unknown_element_takes_the_other_slot():
    g = mol_graph(parse_smiles("[Se]CC"))
    assert g.atoms[0, 11] == 1.0 and g.atoms[0, :11].sum() == 0


def test_graph_member_predictions_do_not_depend_on_the_batch():
    torch.manual_seed(0)
    net = DMPNN(n_out=4, hidden=16, depth=3, dropout=0.2).eval()
    graphs = mol_graphs([parse_smiles(s) for s in ("CCO", "c1ccccc1C=O", "CC(C)=CCCC(C)=CC=O", "[Na+].[Cl-]")])
    together = graph_proba(net, graphs)
    alone = np.concatenate([graph_proba(net, [g]) for g in graphs])
    assert together.shape == (4, 4) and np.allclose(together, alone, atol=1e-6)
    assert graph_proba(net, []).shape == (0, 4)


def test_batches_offset_the_atoms_of_each_molecule():
    b = batch_graphs(mol_graphs([parse_smiles("CCO"), parse_smiles("CC")]))
    assert b.n_molecules == 2 and b.molecule.tolist() == [0, 0, 0, 1, 1]
    assert b.src.tolist()[-2:] == [3, 4] and torch.equal(b.reverse[b.reverse], torch.arange(len(b.src)))


def test_a_molecule_without_atoms_gives_an_empty_graph_and_still_a_prediction():
    from rdkit import Chem

    g = mol_graph(Chem.MolFromSmiles(""))
    assert g.atoms.shape == (0, N_ATOM_FEATURES) and len(g.src) == 0
    net = DMPNN(n_out=3, hidden=8, depth=3, dropout=0.2).eval()
    p = graph_proba(net, [g, mol_graph(parse_smiles("C"))])
    assert p.shape == (2, 3) and np.isfinite(p).all()
