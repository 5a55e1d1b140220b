"""Properties: descriptors, SA score, Joback boiling point, note, and the committed substantivity model."""
import time

import pytest

from odordiff_core.chem import parse_smiles
from odordiff_core.config import Settings
from odordiff_core.errors import ModelNotFound
from odordiff_core.properties import (
    Properties,
    boiling_point_c,
    compute_properties,
    joback_groups,
    load_property_models,
    note_from_bp,
)


@pytest.fixture(scope="module")
def models():
    return load_property_models(Settings.from_env())


def test_descriptors_of_linalool_match_rdkit_values(models):
    p = compute_properties(parse_smiles("CC(C)=CCCC(C)(O)C=C"), models)
    assert isinstance(p, Properties)
    assert p.mw == pytest.approx(154.25, abs=0.01)
    assert (p.hbd, p.hba, p.heavy_atoms, p.rotatable_bonds) == (1, 1, 11, 4)
    assert p.sa_class in ("easy", "moderate", "hard") and 1 <= p.sa_score <= 10


def test_joback_groups_of_ethyl_butyrate_are_one_ester_two_methyls_three_methylenes():
    assert joback_groups(parse_smiles("CCCC(=O)OCC")) == {"COO": 1, "CH3": 2, "CH2": 3}


def test_boiling_point_is_close_to_literature_for_simple_esters_and_alcohols():
    assert boiling_point_c(parse_smiles("CCCC(=O)OCC")) == pytest.approx(121, abs=10)  # ethyl butyrate
    assert boiling_point_c(parse_smiles("OCCc1ccccc1")) == pytest.approx(219, abs=10)  # 2-phenylethanol


def test_notes_order_ethyl_butyrate_top_geraniol_heart_benzyl_benzoate_base(models):
    notes = [compute_properties(parse_smiles(s), models).note
             for s in ("CCCC(=O)OCC", "CC(C)=CCC/C(C)=C/CO", "O=C(OCc1ccccc1)c1ccccc1")]
    assert notes == ["top", "heart", "base"]


def test_note_thresholds_and_missing_boiling_point():
    assert note_from_bp(100.0) == "top" and note_from_bp(400.0) == "base" and note_from_bp(None) is None


def test_unsupported_atoms_give_no_boiling_point_and_no_substantivity(models):
    p = compute_properties(parse_smiles("CCOP(=O)(OCC)OCC"), models)  # phosphate: no Joback group for P
    assert p.boiling_point_c is None and p.note is None and p.substantivity_h is None
    assert p.mw > 0


def test_substantivity_is_longer_for_a_musk_than_for_an_ester_and_has_uncertainty(models):
    ester = compute_properties(parse_smiles("CCCC(=O)OCC"), models)
    musk = compute_properties(parse_smiles("O=C1CCCCCCCCCCCCCCC1"), models)  # exaltone-like macrocycle
    assert ester.substantivity_h < musk.substantivity_h
    lo, hi = musk.substantivity_h_range
    assert lo < musk.substantivity_h < hi and musk.substantivity_h_std > 0


def test_sixty_four_molecules_take_well_under_a_second(models):
    mols = [parse_smiles("CCCCCC1C(CC(=O)OC)CCC1=O")] * 64
    t0 = time.perf_counter()
    for m in mols:
        compute_properties(m, models)
    assert time.perf_counter() - t0 < 1.0


def test_missing_weights_raise_model_not_found(tmp_path):
    settings = Settings(data_dir=Settings.from_env().data_dir, weights_dir=tmp_path)
    with pytest.raises(ModelNotFound, match="odordiff train properties"):
        load_property_models(settings)
