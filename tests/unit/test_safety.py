"""Safety screen: each rule on known molecules, fail-closed behaviour and the CLI JSON contract."""
import json
import subprocess
import sys

import pytest
from rdkit import Chem

from odordiff_core.chem import parse_smiles
from odordiff_core.config import Settings
from odordiff_core.safety import Check, SafetyReport, load_screen, screen_smiles

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


def test_prohibited_material_as_a_hydrate_is_blocked_and_the_flag_names_the_component(screen):
    alone = screen.screen(parse_smiles("CC(=O)C(=O)CC(C)C"))
    hydrate = screen.screen(parse_smiles("CC(=O)C(=O)CC(C)C.O"))
    assert alone.verdict == hydrate.verdict == "blocked"
    flag = next(f for f in hydrate.flags if f.rule == "ifra.prohibited")
    assert flag.level == "block" and flag.reason.startswith("component 1 of 2 (CC(=O)C(=O)CC(C)C): Acetyl isovaleryl")
    assert "structure.mixture" in rules(hydrate)


@pytest.mark.parametrize("smiles", [
    "CCO.CC(C)(O)CCCC1=CCC(C=O)CC1",  # HICC in ethanol, solvent first
    "CC(C)(O)CCCC1=CCC(C=O)CC1.CCOC(=O)c1ccccc1C(=O)OCC",  # in diethyl phthalate, larger than HICC itself
    "Cc1cc([O-])c(C=O)c(O)c1.[Na+]",  # atranol sodium salt
    "c1ccc([NH2+]c2ccccc2)cc1.[Cl-].O",  # diphenylamine hydrochloride hydrate
])
def test_prohibited_material_in_a_solution_or_salt_is_blocked_by_its_listing(screen, smiles):
    report = screen.screen(parse_smiles(smiles))
    assert report.verdict == "blocked"
    assert any(f.rule in ("ifra.prohibited", "eu.banned") for f in report.flags)


def test_salt_is_also_screened_as_its_standardised_parent(screen):
    report = screen.screen(parse_smiles("CC[NH3+].[Cl-]"))  # ethylamine hydrochloride
    assert any(f.reason.startswith("standardised parent (CCN): ") for f in report.flags)
    assert "structure.charge" not in rules(report)  # the salt is neutral; its counter-ion's charge is by design


def test_one_component_molecule_is_screened_unlabelled_as_before(screen):
    report = screen.screen(parse_smiles(HICC))
    assert not any(f.reason.startswith(("component", "standardised parent")) for f in report.flags)


def test_failed_identity_rule_keeps_the_block_found_by_other_rules(screen):
    iron_and_dummy = Chem.MolFromSmiles("[Fe].*C")  # parse_smiles refuses `*`; a library caller may not
    report = screen.screen(iron_and_dummy)
    assert report.verdict == "blocked"
    assert "structure.metal" in rules(report) and "screen.error" in rules(report)


def test_one_failing_rule_keeps_the_other_flags_and_gives_not_screened(screen, monkeypatch):
    def broken(mol):
        raise RuntimeError("boom")

    monkeypatch.setitem(screen._checks, Check.PAINS, broken)
    linalool = screen.screen(parse_smiles(LINALOOL))
    assert linalool.verdict == "not screened"
    assert {"eu.allergen", "alert.autoxidation", "screen.error"} <= rules(linalool)
    error = next(f for f in linalool.flags if f.rule == "screen.error")
    assert "pains" in error.reason and "RuntimeError: boom" in error.reason
    assert screen.screen(parse_smiles(HICC)).verdict == "blocked"  # a failure never hides a block


def test_batch_continues_past_bad_inputs_in_order(screen):
    texts = ["CCCC(=O)OCC", "not a smiles", "", "C" * 10000, "[Fe]", "[2H]C([2H])([2H])O", LINALOOL, "[Fe].*C"]
    out = screen_smiles(texts, screen)
    assert [r["input"] for r in out] == texts
    assert [r["verdict"] for r in out][:5] == ["no known issue", "invalid", "invalid", "invalid", "blocked"]
    assert out[1]["smiles"] is None and out[6]["verdict"] == "caution"
    assert out[7]["verdict"] == "invalid" and "dummy atom" in out[7]["flags"][0]["reason"]


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
