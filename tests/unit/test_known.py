"""Known-material index: lookup by connectivity, novelty test and nearest described odorant."""
import pytest

from odordiff_core.chem import parse_smiles
from odordiff_core.config import Settings
from odordiff_core.known import load_known_index


@pytest.fixture(scope="module")
def index():
    return load_known_index(Settings.from_env())


def test_linalool_is_known_with_name_cas_glossary_and_descriptors(index):
    m = index.lookup(parse_smiles("CC(C)=CCCC(C)(O)C=C"))
    assert m is not None
    assert "linalool" in m.names and "78-70-6" in m.cas
    assert m.in_ifra_glossary and "floral" in m.descriptors


def test_stereoisomer_counts_as_known(index):
    assert index.is_known(parse_smiles("C=C[C@](C)(O)CCC=C(C)C"))


def test_invented_molecule_is_novel_and_gets_a_nearest_odorant(index):
    mol = parse_smiles("CC(C)=CCCC(C)(O)C=CCCCCCCCN")
    assert not index.is_known(mol) and index.lookup(mol) is None
    near = index.nearest(mol)
    assert near is not None and 0 < near.similarity < 1 and near.descriptors


def test_nearest_of_a_known_molecule_is_itself_unless_excluded(index):
    hedione = parse_smiles("CCCCCC1C(CC(=O)OC)CCC1=O")
    assert index.nearest(hedione).similarity == 1.0
    other = index.nearest(hedione, exclude_identical=True)
    assert other.similarity < 1.0 and other.smiles != index.lookup(hedione).smiles


def test_names_never_hold_cas_numbers(index):
    m = index.lookup(parse_smiles("CC(C)=CCCC(C)(O)C=C"))
    assert not any(n[0].isdigit() and n.count("-") == 2 and n.replace("-", "").isdigit() for n in m.names)
