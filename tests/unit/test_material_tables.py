"""The material tables (trade names, families/accords) are sound and their `verified` column is what the check
computes: every SMILES parses, CAS numbers are unique with valid check digits, most rows' CAS leads to the same
structure in a data file, family notes are GS-LF labels and their example materials are rows of the table."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from odordiff_core.chem import to_mol
from odordiff_core.cli import main
from odordiff_core.datasets import FAMILIES_TABLE, TRADE_NAMES_TABLE, read_labels, read_package_table
from odordiff_core.errors import DataError
from odordiff_core.eval.materials import (
    NOT_FOUND,
    TRADE_NAME_COLUMNS,
    evaluate_materials,
    is_valid_cas,
    split_list,
    write_verified,
)

MIN_VERIFIED_SHARE = 0.98  # measured 275/278 = 0.989 by `odordiff evaluate materials`, rounded down


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_package_table(TRADE_NAMES_TABLE)


@pytest.fixture(scope="module")
def evaluation(settings):
    return evaluate_materials(settings)


def _table_with(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "trade_names.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TRADE_NAME_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_trade_name_table_has_at_least_200_rows_each_with_a_source(rows):
    assert len(rows) >= 200
    assert tuple(rows[0]) == TRADE_NAME_COLUMNS
    assert [r["name"] for r in rows if not r["source"].strip() or not r["supplier"].strip()] == []


def test_every_trade_name_smiles_parses(rows):
    assert [r["name"] for r in rows if to_mol(r["smiles"]) is None] == []


def test_cas_numbers_are_unique_and_pass_their_check_digit(rows):
    assert [r["cas"] for r in rows if not is_valid_cas(r["cas"])] == []
    cas = [r["cas"] for r in rows]
    assert len(cas) == len(set(cas))


@pytest.mark.parametrize(("cas", "ok"), [
    ("24851-98-7", True),  # methyl dihydrojasmonate
    ("7732-18-5", True),  # water
    ("24851-98-6", False),  # wrong check digit
    ("6658-48-8", False),  # a transposition typo the check digit catches
    ("24851987", False),  # not written with hyphens
    ("1-23-4", False),  # first block shorter than 2 digits
])
def test_cas_check_digit_accepts_valid_numbers_and_rejects_typos(cas, ok):
    assert is_valid_cas(cas) is ok


def test_no_name_or_synonym_belongs_to_two_rows(rows):
    owner: dict[str, str] = {}
    clashes = []
    for r in rows:
        for term in {t.casefold() for t in [r["name"], *split_list(r["synonyms"])]}:
            if owner.setdefault(term, r["name"]) != r["name"]:
                clashes.append((term, owner[term], r["name"]))
    assert clashes == []


def test_verified_share_meets_the_measured_floor(evaluation):
    assert evaluation.n_rows >= 200
    assert evaluation.verified_share >= MIN_VERIFIED_SHARE
    assert evaluation.count("mismatch") == 0  # a row whose CAS leads to another structure is fixed or dropped


def test_verified_column_equals_what_the_verification_computes_now(evaluation):
    assert evaluation.stale == (), "run `odordiff evaluate materials --write` (never edit the column by hand)"


def test_tables_have_no_problems(evaluation):
    assert evaluation.problems == ()


def test_family_notes_are_gslf_labels_and_examples_are_table_rows(settings, rows):
    labels = set(read_labels(settings))
    names = {r["name"] for r in rows}
    families = read_package_table(FAMILIES_TABLE)
    assert len(families) >= 20
    for f in families:
        notes = split_list(f["defining_notes"])
        assert notes and set(notes) <= labels, f["family"]
        examples = split_list(f["example_materials"])
        assert examples and set(examples) <= names, f["family"]
        assert f["source"].strip(), f["family"]


def test_well_known_materials_resolve_to_the_structure_in_the_data(evaluation):
    verdicts = dict(evaluation.verified)
    for name in ("Hedione", "Iso E Super", "Calone", "Galaxolide", "Ambroxan", "Cashmeran", "Javanol"):
        assert verdicts[name].startswith("yes ("), name


def test_a_wrong_structure_is_reported_as_a_mismatch_and_an_unknown_cas_as_not_found(settings, rows, tmp_path):
    hedione = next(r for r in rows if r["name"] == "Hedione")
    wrong = dict(hedione, smiles="CCCCCCC1C(CC(=O)OC)CCC1=O")  # hexyl instead of pentyl: another molecule
    unknown = dict(hedione, name="Nowhere", synonyms="", cas="1234-56-6", smiles="O")  # valid check digit, in no data file
    table = _table_with(tmp_path, [wrong, unknown])
    ev = evaluate_materials(settings, table=table)
    assert dict(ev.verified)["Hedione"].startswith("mismatch (")
    assert dict(ev.verified)["Nowhere"] == NOT_FOUND


def test_table_errors_are_listed_not_raised(settings, rows, tmp_path):
    a, b = rows[0], rows[1]
    bad = [dict(a, smiles="C1CC"), dict(b, cas=a["cas"]), dict(b, name="Other", synonyms=a["name"], cas="7732-18-4")]
    ev = evaluate_materials(settings, table=_table_with(tmp_path, bad))
    text = "\n".join(ev.problems)
    assert "does not parse" in text
    assert f"CAS {a['cas']} is also the CAS of" in text
    assert "fails its check digit" in text
    assert "is also a name or synonym of" in text
    assert dict(ev.verified)[a["name"]] == "invalid SMILES"


def test_family_errors_are_listed_not_raised(settings, tmp_path):
    path = tmp_path / "families.csv"
    path.write_text("family,synonyms,defining_notes,example_materials,source\n"
                    "chypre,mossy woods,bergamot|oakmoss,Hedione|Nothing,a page\n"
                    "woody,mossy woods,woody,Cedrol,\n", encoding="utf-8")
    text = "\n".join(evaluate_materials(settings, families_table=path).problems)
    assert "'oakmoss' is not a GS-LF label" in text
    assert "example material 'Nothing' is not a row" in text
    assert "'mossy woods' is also a name or synonym of family chypre" in text
    assert "family woody: source is required" in text


def test_write_rewrites_only_the_verified_column(settings, tmp_path):
    table = tmp_path / "trade_names.csv"
    shutil.copy(TRADE_NAMES_TABLE, table)
    original = read_package_table(table)
    tampered = [dict(r, verified="yes (by hand)") for r in original]
    path = _table_with(tmp_path, tampered)
    ev = evaluate_materials(settings, table=path)
    assert len(ev.stale) == len(original)
    assert write_verified(ev, table=path) == len(original)
    assert read_package_table(path) == original


def test_a_missing_table_is_a_data_error_naming_the_file(settings, tmp_path):
    with pytest.raises(DataError, match="trade_names.csv is missing"):
        evaluate_materials(settings, table=tmp_path / "trade_names.csv")


def test_cli_prints_the_verified_share_and_exits_zero(capsys):
    assert main(["evaluate", "materials"]) == 0
    out = capsys.readouterr().out
    assert "trade names:" in out and "families:" in out
