"""Property-based tests (hypothesis) of the SMILES parser and the safety screen.

Every test runs a fixed, derandomized set of examples (no example database), so CI sees the same cases on
every run; the whole file takes about 20 s on two cores. What must hold for any input:
- `parse_smiles` returns a Mol or raises InvalidSmiles with a message; `to_mol` returns None exactly then;
- `screen_smiles` never raises, keeps one row per input, and a block-level flag always means "blocked"
  ("not screened" never hides a block);
- every IFRA-prohibited or EU-banned molecule of the IFRA table stays blocked, by its list entry, as a hydrate,
  in ethanol or a perfumery solvent, with HCl, as a hydrochloride or sodium salt where it has a basic nitrogen
  or an acidic OH, in any order of components and any spelling of its SMILES.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem

from odordiff_core.chem import MAX_SMILES_CHARS, Mol, canonical_smiles, parse_smiles, to_mol, without_rdkit_log
from odordiff_core.config import Settings
from odordiff_core.datasets import IFRA_LIST_FILE, read_rows
from odordiff_core.errors import InvalidSmiles
from odordiff_core.safety import SafetyScreen, is_eu_banned, load_screen, screen_smiles
from odordiff_core.types import FlagLevel, Verdict

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
VERDICTS = {str(v) for v in Verdict} | {"invalid"}  # "invalid": screen_smiles' row for an unparsable input
LIST_BLOCKS = ("ifra.prohibited", "eu.banned")

# SMILES tokens, including the ones that broke the screen before: dummy atoms, metals, charges, spaces, dots.
TOKENS = ("C", "c", "N", "n", "O", "o", "S", "s", "P", "F", "Cl", "Br", "I", "B", "[nH]", "[NH4+]", "[O-]",
          "[Na+]", "[Fe]", "[Si]", "[2H]", "[13C]", "[C@@H]", "[C@H]", "*", "[*:1]", "(", ")", "=", "#", "-", ":",
          "/", "\\", ".", "1", "2", "3", "%10", "+", "@", "[", "]", " ", "~", "$", "\t", "é", "\x00")
SOLVENTS = ("O", "CCO", "Cl", "CC(C)O", "CC(O)COC(C)CO", "CCOC(=O)c1ccccc1C(=O)OCC", "OCC(O)CO")  # water, ethanol,
# HCl, isopropanol, dipropylene glycol, diethyl phthalate (larger than many parents), glycerol
_BASIC_N = Chem.MolFromSmarts("[NX3;H0,H1,H2;+0;!$(N-[#6]=[O,S,N]);!$(N-[!#6;!#1])]")  # amine / aniline
_ACIDIC_OH = Chem.MolFromSmarts("[OX2H1;+0]-[$(C=O),$(c)]")  # carboxylic acid or phenol


def _blocked_rows() -> list[dict[str, str]]:
    rows = read_rows(IFRA_LIST_FILE, Settings.from_env())
    return [r for r in rows if r["ifra_status"] == "prohibited" or is_eu_banned(r)]


BLOCKED_ROWS = _blocked_rows()


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return load_screen(Settings.from_env())


def _charged(mol: Mol, patt: Mol, charge: int) -> str | None:
    """Returns the SMILES with the first atom matching patt given this charge (RDKit refills the H), or None."""
    match = mol.GetSubstructMatch(patt)
    if not match:
        return None
    rw = Chem.RWMol(mol)
    rw.GetAtomWithIdx(match[0]).SetFormalCharge(charge)
    Chem.SanitizeMol(rw)
    return Chem.MolToSmiles(rw)


def salt_forms(parent: str) -> list[list[str]]:
    """Returns the component lists of a parent's salts where chemically sensible: hydrochloride, sodium salt."""
    mol = Chem.MolFromSmiles(parent)
    forms = []
    if (cation := _charged(mol, _BASIC_N, +1)) is not None:
        forms.append([cation, "[Cl-]"])
    if (anion := _charged(mol, _ACIDIC_OH, -1)) is not None:
        forms.append([anion, "[Na+]"])
    return forms


def variants(parent: str) -> list[str]:
    """Returns the supplier forms of one parent: solvates and solutions in both orders, salts, salt hydrates."""
    respelled = Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(parent), 1, randomSeed=7)[0]
    out = []
    for extra in ("O", "CCO", "Cl", "O.O", "CCO.O"):
        out += [f"{parent}.{extra}", f"{extra}.{respelled}"]
    for parts in salt_forms(parent):
        out += [".".join(parts), ".".join(reversed(parts)), ".".join([*parts, "O"])]
    return out


def assert_blocked_by_its_listing(report_row: dict, name: str) -> None:
    assert report_row["verdict"] == "blocked", (name, report_row["input"], report_row["flags"])
    assert any(f["rule"] in LIST_BLOCKS and f["level"] == "block" for f in report_row["flags"]), \
        (name, report_row["input"], "blocked, but not by its list entry")


def assert_row_is_consistent(row: dict, text: str) -> None:
    assert row["input"] == text
    assert row["verdict"] in VERDICTS
    levels = {f["level"] for f in row["flags"]}
    if row["verdict"] == "invalid":
        assert row["smiles"] is None
        assert [f["rule"] for f in row["flags"]] == ["input.invalid"] and row["flags"][0]["reason"]
        return
    assert isinstance(row["smiles"], str)
    if FlagLevel.BLOCK in levels:
        assert row["verdict"] == "blocked"  # "not screened" never hides a block
    elif any(f["rule"] == "screen.error" for f in row["flags"]):
        assert row["verdict"] == "not screened"
    else:
        assert row["verdict"] == Verdict.from_levels(levels)


# ---------------------------------------------------------------------------------------------------------
# the prohibited list in supplier forms


def test_every_prohibited_or_eu_banned_molecule_is_blocked_as_a_hydrate_solution_or_salt(screen):
    tried = 0
    for row in BLOCKED_ROWS:
        forms = variants(row["smiles"])
        for out in screen_smiles(forms, screen):
            assert_blocked_by_its_listing(out, row["name"])
        tried += len(forms)
    assert len(BLOCKED_ROWS) == 45
    assert tried >= 45 * 10  # every row has the ten solvate/solution forms; salts come on top where sensible
    print(f"\n{tried} prohibited supplier forms of {len(BLOCKED_ROWS)} molecules tried, all blocked")


def test_salt_forms_exist_where_chemically_sensible():
    names = {r["name"].split(" (")[0]: r["smiles"] for r in BLOCKED_ROWS}
    assert salt_forms(names["Diphenylamine"])[0][1] == "[Cl-]"
    assert salt_forms(names["Atranol"])[0][1] == "[Na+]"
    assert salt_forms(names["Safrole"]) == []


@FUZZ
@given(row=st.sampled_from(BLOCKED_ROWS), extras=st.lists(st.sampled_from(SOLVENTS), min_size=1, max_size=3),
       salt=st.booleans(), seed=st.integers(0, 1 << 30))
def test_prohibited_parent_is_blocked_in_any_mixture_order_and_spelling(screen, row, extras, salt, seed):
    rnd = random.Random(seed)  # the spellings and the order of components
    parent = row["smiles"]
    forms = salt_forms(parent)
    parts = [*forms[0], *extras] if salt and forms else [parent, *extras]
    parts = [Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(p), 1, randomSeed=rnd.randrange(1 << 30))[0]
             for p in parts]
    rnd.shuffle(parts)
    [out] = screen_smiles([".".join(parts)], screen)
    assert_blocked_by_its_listing(out, row["name"])


# ---------------------------------------------------------------------------------------------------------
# any text


smiles_like = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
huge = st.one_of(st.integers(MAX_SMILES_CHARS + 1, 50_000).map(lambda n: "C" * n),
                 st.text(min_size=MAX_SMILES_CHARS + 1, max_size=3 * MAX_SMILES_CHARS))


@st.composite
def mutated_smiles(draw: st.DrawFn) -> str:
    """Returns a real IFRA-list SMILES with a few characters inserted, deleted or replaced."""
    text = list(draw(st.sampled_from(BLOCKED_ROWS))["smiles"])
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(("insert", "delete", "replace")))
        token = draw(st.sampled_from(TOKENS))
        if op == "insert" or not text:
            text.insert(i, token)
        elif op == "delete":
            del text[min(i, len(text) - 1)]
        else:
            text[min(i, len(text) - 1)] = token
    return "".join(text)


any_text = st.one_of(st.text(), smiles_like, mutated_smiles(), huge)


@FUZZ
@given(text=any_text)
def test_parse_smiles_returns_a_molecule_or_a_clear_invalid_smiles_error(text):
    try:
        mol = parse_smiles(text)
    except InvalidSmiles as exc:
        assert len(str(exc)) > 20
        assert to_mol(text) is None
        return
    assert to_mol(text) is not None
    assert all(a.GetAtomicNum() > 0 for a in mol.GetAtoms())  # dummy atoms are refused
    assert not any(c.isspace() for c in text.strip())  # nothing after a space was silently dropped


@FUZZ
@given(texts=st.lists(any_text, min_size=1, max_size=4))
def test_screen_smiles_never_raises_and_answers_every_input_in_order(screen, texts):
    rows = screen_smiles(texts, screen)
    assert len(rows) == len(texts)
    for row, text in zip(rows, texts):
        assert_row_is_consistent(row, text)


@FUZZ
@given(smiles=st.one_of(smiles_like, mutated_smiles()))
def test_screen_of_any_parsable_molecule_gives_the_worst_verdict_of_its_flags(screen, smiles):
    with without_rdkit_log():
        mol = Chem.MolFromSmiles(smiles)  # the raw RDKit parse: dummy atoms and odd charges get through
    if mol is None:
        return
    report = screen.screen(mol)
    levels = {f.level for f in report.flags}
    if FlagLevel.BLOCK in levels:
        assert report.verdict == Verdict.BLOCKED
    elif any(f.rule == "screen.error" for f in report.flags):
        assert report.verdict == Verdict.NOT_SCREENED
    else:
        assert report.verdict == Verdict.from_levels(levels)


def test_large_valid_molecules_at_the_length_limit_are_screened(screen):
    texts = ["C" * MAX_SMILES_CHARS, "c1ccccc1" * (MAX_SMILES_CHARS // 8), ".".join(["CCO"] * 250)]
    for row, text in zip(screen_smiles(texts, screen), texts):
        assert_row_is_consistent(row, text)
        assert row["verdict"] != "invalid"
    assert canonical_smiles(parse_smiles("C" * MAX_SMILES_CHARS))

