"""Chemical-soundness screen: the unstable groups issue 12 found in generated candidates are rejected with the right
rule, everyday odorants pass, and generate() drops and counts unsound molecules before ranking."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rdkit import Chem

from odordiff_core.chem import parse_smiles, to_mol
from odordiff_core.errors import DataError
from odordiff_core.generator import load_generator
from odordiff_core.pipeline import GenerateRequest, GenerationResult, Pipeline
from odordiff_core.report import load_reporter
from odordiff_core.soundness import (
    RULES_FILE,
    RuleKind,
    SoundnessRule,
    SoundnessScreen,
    check_soundness,
    default_screen,
    load_soundness_screen,
    read_rules,
)
from odordiff_core.text import load_interpreter

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"


def rules_fired(smiles: str) -> set[str]:
    return {f.rule for f in check_soundness(parse_smiles(smiles)).failures}


@pytest.mark.parametrize(("smiles", "rule"), [
    ("CCCCCCCSO", "bond.sulfenyl_oxygen"),  # sulfenic acid returned for "clean citrus ... green"
    ("CC(C)CCCC(C)CC(=N)O", "tautomer.iminol"),  # imidic acid written as its unstable tautomer
    ("CCCCCCCCCC1=C(O)C1", "ring.cyclopropene"),  # cyclopropenol
    ("CCCCCCCCCC1=C(O)C1", "tautomer.enol"),
    ("CCCC=C=CCC", "cumulene.allene"),
    ("CCC=C=O", "cumulene.ketene"),
    ("CC1CCOSC1", "bond.sulfenyl_oxygen"),  # ring O-S bond
    ("CCCCOOC(C)(C)C", "bond.peroxide"),
    ("CC(C)CCON(C)C", "bond.hydroxylamine"),
    ("CCCCCC(C)=CO", "tautomer.enol"),
    ("CCCCC(=N)CCC", "group.nh_imine"),
    ("CCCCCC(=O)Cl", "group.acyl_halide"),
    ("CCCC(=O)OC(=O)CCC", "group.anhydride"),
    ("CCCCC(O)OCC", "group.hemiacetal"),
    ("CC(O)(O)CCC1CCCC1", "group.gem_diol"),
    ("O=CCCCCCC1CC1=O", "ring.exocyclic_three"),  # cyclopropanone
    ("CCCCC(C=O)C1=CC=C1", "ring.cyclobutadiene"),
    ("CC1(C)C#CCCC1", "ring.small_alkyne"),
    ("CCC1=CS(C)(O)C(C)CCC1", "valence.hypervalent_sulfur"),
    ("CCCCCPCC", "group.trivalent_phosphorus"),
])
def test_unstable_group_is_rejected_with_its_rule(smiles, rule):
    report = check_soundness(parse_smiles(smiles))
    assert not report.sound
    assert rule in {f.rule for f in report.failures}
    assert all(f.reason for f in report.failures)


@pytest.mark.parametrize(("name", "smiles"), [
    ("linalool", "CC(C)=CCCC(C)(O)C=C"),
    ("vanillin", "COc1cc(C=O)ccc1O"),
    ("ethyl vanillin", "CCOc1cc(C=O)ccc1O"),
    ("hedione", "CCCCCC1C(=O)CCC1CC(=O)OC"),
    ("iso E super", "CC1CC2=C(CCCC2(C)C)CC1(C)C(C)=O"),
    ("galaxolide", "CC1COCc2cc3c(cc21)C(C)(C)C(C)C3(C)C"),
    ("ambroxan", "CC1(C)CCCC2(C)C1CCC1(C)OCCC12"),
    ("citral", "CC(C)=CCCC(C)=CC=O"),
    ("alpha-ionone", "CC(=O)/C=C/C1C(C)=CCCC1(C)C"),
    ("calone", "Cc1ccc2c(c1)OCC(=O)CO2"),
    ("grapefruit mercaptan", "CC1=CCC(C(C)(C)S)CC1"),
    ("methional (a sulfide)", "CSCCC=O"),
    ("dimethyl disulfide", "CSSC"),
    ("stemone (an oxime)", "CCC(CC(C)CC)=NO"),
    ("cyclotene (stable enol)", "CC1=C(O)C(=O)CC1"),
    ("furaneol (stable enol)", "CC1=C(O)C(=O)C(C)O1"),
    ("maltol", "CC1=C(O)C(=O)C=CO1"),
    ("6-acetyl-tetrahydropyridine (vinylogous amide)", "CC(=O)C1=CCCCN1"),
    ("aurantiol (Schiff base)", "COC(=O)c1ccccc1N=CCC(C)CCCC(C)(C)O"),
    ("rose oxide", "CC(C)=CC1CC(C)CCO1"),
    ("caryophyllene oxide (epoxide)", "C=C1CCC2OC2(C)CCC2C1CC2(C)C"),
    ("dimethyl sulfone", "CS(C)(=O)=O"),
    ("musk ketone (nitro)", "CC(=O)c1c(C)c([N+](=O)[O-])c(C(C)(C)C)c([N+](=O)[O-])c1C"),
])
def test_common_odorant_is_sound(name, smiles):
    report = check_soundness(parse_smiles(smiles))
    assert report.sound, f"{name}: {[f.rule for f in report.failures]}"
    assert report.failures == ()


def test_amide_passes_where_its_iminol_tautomer_fails():
    assert rules_fired("CC(C)CCCC(C)CC(N)=O") == set()
    assert rules_fired("CC(C)CCCC(C)CC(=N)O") == {"tautomer.iminol"}


def test_report_carries_the_table_version():
    report = check_soundness(parse_smiles("CCO"))
    assert report.version == default_screen().version
    assert report.version.startswith("soundness-")


def test_every_shipped_rule_has_a_reason_a_source_and_a_parsable_smarts():
    rules = read_rules()
    assert len(rules) >= 20 and len({r.id for r in rules}) == len(rules)
    assert {r.kind for r in rules} == {RuleKind.GROUP, RuleKind.TAUTOMER}
    assert all(r.reason and r.source for r in rules)


def test_version_changes_when_the_rule_table_changes(tmp_path):
    copy = tmp_path / "rules.csv"
    shutil.copy(RULES_FILE, copy)
    same = load_soundness_screen(copy)
    copy.write_text(copy.read_text() + 'group.test,group,[Se],selenium,"test row"\n')
    changed = load_soundness_screen(copy)
    assert same.version == default_screen().version != changed.version
    assert "group.test" in {r.id for r in changed.rules}


def test_a_table_with_a_bad_smarts_is_refused_naming_the_row(tmp_path):
    bad = tmp_path / "rules.csv"
    bad.write_text("id,kind,smarts,reason,source\nbond.x,group,[C,,],why,where\n")
    with pytest.raises(DataError, match=r"row 2 \('bond.x'\).*SMARTS"):
        read_rules(bad)


def test_a_molecule_the_rules_cannot_read_fails_closed():
    report = default_screen().check(None)  # type: ignore[arg-type]
    assert not report.sound and report.failures[0].rule == "soundness.error"


# ---------------------------------------------------------------------------------------------------------
# pipeline: novelty, then soundness, then safety; unsound molecules never reach ranking


@pytest.fixture(scope="module")
def tiny_pipeline(settings) -> Pipeline:
    return Pipeline(generator=load_generator(TINY), interpreter=load_interpreter(settings),
                    reporter=load_reporter(settings))


def test_generate_counts_unsound_molecules_and_returns_none(tiny_pipeline):
    req = GenerateRequest("a clean citrus top note with a hint of green", n=8, seed=0, exploration=1.0)
    plan = tiny_pipeline.plan(req)
    raw = tiny_pipeline.sample(plan)
    screened = tiny_pipeline.screen(plan, raw)
    res = tiny_pipeline.rank(plan, screened)
    novel = {s for s in raw if s and not tiny_pipeline.reporter.known.is_known(to_mol(s))}
    unsound = {s for s in novel if not check_soundness(to_mol(s)).sound}
    rescued = {s for s in unsound if default_screen().stable_tautomer(to_mol(s)) is not None}
    assert res.n_unsound == screened.n_unsound >= len(unsound - rescued)
    assert screened.n_unsound <= len(unsound)
    assert all(check_soundness(to_mol(c.smiles)).sound for c in res.candidates)
    assert not {c.smiles for c in res.candidates} & unsound


def test_stable_tautomer_gives_the_ketone_or_amide_and_never_repairs_an_unstable_group():
    screen = default_screen()
    stable = {s: screen.stable_tautomer(parse_smiles(s)) for s in (
        "CC=C(O)CC", "CC(C)CCCC(C)CC(=N)O",  # enol, iminol: only a tautomer rule fires
        "CCCCCCCCCC1=C(O)C1",  # cyclopropenol: the ring stays strained whatever the tautomer
        "CC(O)=COO",  # enol and peroxide
        "CCC(=O)CC", "CC1=C(O)C(=O)CC1")}  # sound as written (cyclotene's stable enol included)
    assert {s: Chem.MolToSmiles(m) if m is not None else None for s, m in stable.items()} == {
        "CC=C(O)CC": "CCC(=O)CC", "CC(C)CCCC(C)CC(=N)O": "CC(C)CCCC(C)CC(N)=O", "CCCCCCCCCC1=C(O)C1": None,
        "CC(O)=COO": None, "CCC(=O)CC": None, "CC1=C(O)C(=O)CC1": None}


def test_an_enol_sample_becomes_its_new_ketone_once_and_a_known_ketone_is_not_returned(tiny_pipeline):
    known = tiny_pipeline.reporter.known
    enol, ketone = "CC(C)(C)CC=C(O)C1CCCC1", "CC(C)(C)CCC(=O)C1CCCC1"
    assert not known.is_known(parse_smiles(ketone)) and known.is_known(parse_smiles("CCC(C)=O"))
    plan = tiny_pipeline.plan(GenerateRequest("a clean citrus top note", n=4, seed=0, exploration=1.0))
    screened = tiny_pipeline.screen(plan, [enol, "CC=C(C)O"])  # the second is butanone's enol: butanone is known
    assert [k.smiles for k in screened.kept] == [ketone] and screened.n_unsound == 1
    screened = tiny_pipeline.screen(plan, [ketone, enol])  # the ketone was sampled as well: one candidate
    assert [k.smiles for k in screened.kept] == [ketone] and screened.n_unsound == 1


def test_generate_says_how_many_were_unsound_when_fewer_than_n_survive(tiny_pipeline):
    reject_carbon = SoundnessScreen((SoundnessRule("test.carbon", RuleKind.GROUP, "[#6]", "has carbon", "test"),),
                                    "test")
    pipe = Pipeline(generator=tiny_pipeline.generator, interpreter=tiny_pipeline.interpreter,
                    reporter=tiny_pipeline.reporter, soundness=reject_carbon)
    res = pipe.generate(GenerateRequest("a clean citrus top note", n=4, seed=0, exploration=1.0))
    assert res.candidates == () and res.n_unsound == res.n_novel > 0
    assert f"{res.n_unsound} chemically unsound" in (res.message or "")


def test_model_version_changes_with_the_soundness_table(tiny_pipeline):
    assert tiny_pipeline.model_version.split("|")[4] == default_screen().version


def test_result_cached_before_the_screen_reads_zero_unsound(tiny_pipeline):
    res = tiny_pipeline.generate(GenerateRequest("fresh green apple", n=3, seed=2, exploration=1.0))
    old = res.to_json()
    del old["n_unsound"]
    back = GenerationResult.from_json(json.loads(json.dumps(old)))
    assert back.n_unsound == 0 and back.candidates == res.candidates
