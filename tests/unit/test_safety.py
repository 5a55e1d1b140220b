"""Safety screen: each rule on known molecules, fail-closed behaviour and the CLI JSON contract."""
import json
import subprocess
import sys

import pytest
from rdkit import Chem

from odordiff_core.chem import parse_smiles
from odordiff_core.config import Settings
from odordiff_core.safety import SafetyReport, load_screen, screen_smiles

MUSK_AMBRETTE = "CC1=C(C=C(C(=C1[N+](=O)[O-])OC)C(C)(C)C)[N+](=O)[O-]"
HICC = "CC(C)(O)CCCC1=CCC(C=O)CC1"
ISOEUGENOL = "COc1cc(/C=C/C)ccc1O"
LINALOOL = "CC(C)=CCCC(C)(O)C=C"
NOT_BLOCKED = {
    "Iso E Super": "CC(=O)C1(C)CC2=C(CCCC2(C)C)CC1C",
    "Hedione": "CCCCCC1C(CC(=O)OC)CCC1=O",
    "ethyl butyrate": "CCCC(=O)OCC",
    "vanillin": "COc1cc(C=O)ccc1O",
    "limonene": "CC1=CCC(CC1)C(C)=C",
}


@pytest.fixture(scope="module")
def screen():
    return load_screen(Settings.from_env())


def rules(report: SafetyReport) -> set[str]:
    return {f.rule for f in report.flags}


def test_musk_ambrette_is_blocked_as_ifra_prohibited(screen):
    report = screen.screen(parse_smiles(MUSK_AMBRETTE))
    assert report.verdict == "blocked"
    assert "ifra.prohibited" in rules(report)


def test_hicc_lyral_is_blocked_and_named(screen):
    report = screen.screen(parse_smiles(HICC))
    assert report.verdict == "blocked"
    assert any("HICC" in f.reason and f.level == "block" for f in report.flags)


def test_isoeugenol_is_caution_for_allergen_and_sensitisation_alert(screen):
    report = screen.screen(parse_smiles(ISOEUGENOL))
    assert report.verdict == "caution"
    assert "eu.allergen" in rules(report)
    assert any(r.startswith("alert.") and r != "alert.autoxidation" for r in rules(report))


def test_linalool_is_caution_as_allergen_with_autoxidation_warning(screen):
    report = screen.screen(parse_smiles(LINALOOL))
    assert report.verdict == "caution"
    assert "eu.allergen" in rules(report)
    assert any(f.rule == "alert.autoxidation" and f.level == "warning" for f in report.flags)


def test_allergen_reason_states_labelling_thresholds(screen):
    flag = next(f for f in screen.screen(parse_smiles(LINALOOL)).flags if f.rule == "eu.allergen")
    assert "0.001%" in flag.reason and "0.01%" in flag.reason
    assert flag.source.startswith("safety/eu_fragrance_allergens.csv row")


@pytest.mark.parametrize("name", sorted(NOT_BLOCKED))
def test_everyday_aroma_chemicals_are_not_blocked(screen, name):
    assert screen.screen(parse_smiles(NOT_BLOCKED[name])).verdict != "blocked"


def test_stereo_variant_matches_list_by_connectivity(screen):
    z_isoeugenol = "COc1cc(/C=C\\C)ccc1O"
    assert "eu.allergen" in rules(screen.screen(parse_smiles(z_isoeugenol)))


def test_t3db_entry_alone_is_caution_not_block(screen):
    report = screen.screen(parse_smiles("O=c1ccc2ccccc2o1"))  # coumarin: in T3DB and the EU list
    assert report.verdict == "caution"
    assert all(f.level != "block" for f in report.flags)


@pytest.mark.parametrize("smiles,rule", [
    ("CC(=O)Cl", "reactive.acyl_halide"), ("CCN=C=O", "reactive.iso(thio)cyanate"),
    ("CCOOCC", "reactive.peroxide"), ("C[Si](C)(C)OCC", "structure.metal"), ("CC[Sn]CC", "structure.metal"),
    ("CC[NH3+]", "structure.charge"), ("C[CH2]", "structure.radical"),
])
def test_reactive_metal_charged_and_radical_structures_are_blocked(screen, smiles, rule):
    report = screen.screen(parse_smiles(smiles))
    assert report.verdict == "blocked"
    assert rule in rules(report)


def test_close_analogue_of_prohibited_molecule_is_caution_naming_it(screen):
    hexyl_cyclopentenone = "CCCCCCC1=CCCC1=O"  # one CH2 longer than prohibited amylcyclopentenone
    report = screen.screen(parse_smiles(hexyl_cyclopentenone))
    flag = next(f for f in report.flags if f.rule == "analogue.prohibited")
    assert flag.level == "caution" and "Amylcyclopentenone" in flag.reason


def test_halogen_is_caution(screen):
    assert "structure.halogen" in rules(screen.screen(parse_smiles("Clc1ccc(CCO)cc1")))


def test_isotope_label_is_screened_as_the_unlabelled_molecule(screen):
    report = screen.screen(parse_smiles("CC(C)=CCCC([13CH3])(O)C=C"))
    assert report.verdict == "caution"
    assert {"eu.allergen", "structure.isotope"} <= rules(report)


def test_rule_failure_gives_not_screened(screen):
    unsanitized = Chem.MolFromSmiles("CCOC(=O)C", sanitize=False)  # implicit valence never computed: rules raise
    report = screen.screen(unsanitized)
    assert report.verdict == "not screened"


def test_batch_continues_past_bad_inputs_in_order(screen):
    texts = ["CCCC(=O)OCC", "not a smiles", "", "C" * 10000, "[Fe]", "[2H]C([2H])([2H])O", LINALOOL]
    out = screen_smiles(texts, screen)
    assert [r["input"] for r in out] == texts
    assert [r["verdict"] for r in out][:5] == ["no known issue", "invalid", "invalid", "invalid", "blocked"]
    assert out[1]["smiles"] is None and out[6]["verdict"] == "caution"


def test_report_json_has_the_issue_shape(screen):
    data = screen.screen(parse_smiles(HICC)).to_json()
    assert data["verdict"] == "blocked"
    assert set(data["flags"][0]) == {"rule", "level", "reason", "source"}


def test_screen_command_prints_json_and_exits_2_when_all_invalid():
    cmd = [sys.executable, "-m", "odordiff_core", "screen", "--format", "json"]
    ok = subprocess.run(cmd + ["CCCC(=O)OCC", "xx"], capture_output=True, text=True, check=True)
    rows = json.loads(ok.stdout)
    assert [r["verdict"] for r in rows] == ["no known issue", "invalid"]
    bad = subprocess.run(cmd + ["xx"], capture_output=True, text=True)
    assert bad.returncode == 2
