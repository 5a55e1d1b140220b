import json

import pytest
from rdkit import rdBase

from odordiff_core import chem
from odordiff_core.errors import InvalidSmiles, OdorDiffError


def test_canonical_smiles_is_the_same_for_two_spellings_of_vanillin():
    a = chem.canonical_smiles(chem.parse_smiles("COc1cc(C=O)ccc1O"))
    b = chem.canonical_smiles(chem.parse_smiles("O=Cc1ccc(O)c(OC)c1"))
    assert a == b


def test_connectivity_key_ignores_stereo_but_full_inchikey_does_not():
    r = chem.parse_smiles("CC1=CC[C@@H](CC1)C(C)=C")  # (R)-limonene
    s = chem.parse_smiles("CC1=CC[C@H](CC1)C(C)=C")  # (S)-limonene
    assert chem.inchikey(r) != chem.inchikey(s)
    assert chem.connectivity_key(r) == chem.connectivity_key(s) == "XMGQYMWWDOXHJM"


@pytest.mark.parametrize("bad", ["", "   ", "C1CC", "not a molecule", "C(C)(C)(C)(C)C"])
def test_parse_smiles_rejects_bad_input_with_a_message_naming_it(bad):
    with pytest.raises(InvalidSmiles) as exc:
        chem.parse_smiles(bad)
    assert isinstance(exc.value, OdorDiffError) and isinstance(exc.value, ValueError)
    assert str(exc.value)


def test_parse_smiles_rejects_a_huge_smiles_before_parsing_it():
    with pytest.raises(InvalidSmiles, match="longer than"):
        chem.parse_smiles("C" * 10_000)


def test_to_mol_returns_none_instead_of_raising():
    assert chem.to_mol("C1CC") is None
    assert chem.to_mol(None) is None  # type: ignore[arg-type]
    assert chem.to_mol("CCO") is not None


def test_parse_column_counts_and_locates_invalid_rows():
    parsed = chem.parse_column(["CCO", "C1CC", float("nan"), "c1ccccc1"])
    assert parsed.n_invalid == 2
    assert parsed.invalid_rows == (1, 2)
    assert parsed.mols[0] is not None and parsed.mols[1] is None


def test_unicode_smiles_is_rejected_cleanly():
    with pytest.raises(InvalidSmiles):
        chem.parse_smiles("CCO🌸")


def test_tanimoto_of_a_molecule_with_itself_is_one():
    fp = chem.morgan_fp(chem.parse_smiles("CCOC(=O)CCC"))
    assert chem.tanimoto_many(fp, [fp]) == [1.0]


@pytest.mark.parametrize("smiles", ["[Fe].*C", "*C", "[*:1]CCO", "CC*"])
def test_dummy_atom_is_refused_by_parse_smiles_and_to_mol(smiles):
    with pytest.raises(InvalidSmiles, match="dummy atom"):
        chem.parse_smiles(smiles)
    assert chem.to_mol(smiles) is None


@pytest.mark.parametrize("smiles", ["CCO CC(=O)C(=O)CC(C)C", "CCO\tCl", "CCO\nCC"])
def test_space_inside_a_smiles_is_refused_instead_of_dropping_the_rest(smiles):
    with pytest.raises(InvalidSmiles, match="space"):
        chem.parse_smiles(smiles)
    assert chem.to_mol(smiles) is None


def test_surrounding_whitespace_is_still_accepted():
    assert chem.canonical_smiles(chem.parse_smiles("  CCO\n")) == "CCO"


def test_without_rdkit_log_restores_the_log_levels_it_found():
    before = rdBase.LogStatus()
    with chem.without_rdkit_log():
        assert chem.to_mol("C1CC") is None
    assert rdBase.LogStatus() == before  # info and debug stay off: the standardiser does not print its steps


def test_generator_vocabulary_has_no_dummy_atom_token(settings):
    vocab = json.loads((settings.generator_path / "config.json").read_text())["vocab"]
    assert vocab and not any("*" in token for token in vocab)  # decoded samples never hold a `*`
