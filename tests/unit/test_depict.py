"""2D depiction and 3D conformers for the app's viewers."""
from __future__ import annotations

from rdkit import Chem

from odordiff_core.chem import parse_smiles
from odordiff_core.depict import conformer_molblock, mol_svg


def test_mol_svg_is_inline_svg_without_xml_header():
    svg = mol_svg(parse_smiles("COc1cc(C=O)ccc1O"), 200, 150)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_conformer_molblock_is_3d_with_hydrogens_and_reproducible():
    mol = parse_smiles("CC(C)=CCCC(C)(O)C=C")  # linalool
    block = conformer_molblock(mol, seed=1)
    assert block is not None and block == conformer_molblock(mol, seed=1)
    back = Chem.MolFromMolBlock(block, removeHs=False)
    assert back.GetNumAtoms() == 29  # 11 heavy atoms + 18 H
    assert back.GetConformer().Is3D()
    flat = Chem.RemoveHs(back)
    Chem.RemoveStereochemistry(flat)  # the conformer fixes one enantiomer of the unspecified centre
    assert Chem.MolToSmiles(flat) == Chem.MolToSmiles(mol)
