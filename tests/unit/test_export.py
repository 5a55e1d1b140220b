"""CSV/SDF export of shortlisted molecules: every column present, formula injection escaped, SMILES intact."""
from __future__ import annotations

import csv
import io

from rdkit import Chem

from odordiff_core.chem import parse_smiles
from odordiff_core.export import COLUMNS, ShortlistItem, escape_cell, to_csv, to_sdf
from odordiff_core.known import NearestKnown
from odordiff_core.properties import compute_properties
from odordiff_core.safety import Flag, SafetyReport
from odordiff_core.types import OdorProfile

LABELS = ("citrus", "floral", "woody")


def _item(smiles: str = "CC(C)=CCCC(C)(O)C=C", prompt: str = "fresh lemon", note: str = "") -> ShortlistItem:
    mol = parse_smiles(smiles)
    return ShortlistItem(
        smiles=Chem.MolToSmiles(mol), source="generated", prompt=prompt, seed=7, generator_version="generator-1.0+abc",
        odor_match=0.81, odor=OdorProfile(LABELS, (0.9, 0.4, 0.1), (0.05, 0.1, 0.02), "predictor-1.0+x"),
        safety=SafetyReport("caution", (Flag("eu.allergen", "caution", "EU-listed allergen: label above 0.001%",
                                             "eu_fragrance_allergens.csv row 3"),), "safety-1+y"),
        properties=compute_properties(mol, None), novel=False, known=None,
        nearest=NearestKnown("CC(C)=CCCC(C)(O)C=C", "linalool", 1.0, ("floral",)), user_note=note,
    )


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_csv_has_every_column_and_one_row_per_item():
    rows = _rows(to_csv([_item(), _item("COc1cc(C=O)ccc1O")]))
    assert len(rows) == 2
    assert tuple(rows[0]) == COLUMNS
    r = rows[0]
    assert r["prompt"] == "fresh lemon" and r["seed"] == "7" and r["generator_version"] == "generator-1.0+abc"
    assert r["safety_verdict"] == "caution"
    assert "eu.allergen" in r["safety_flags"] and "eu_fragrance_allergens.csv row 3" in r["safety_flags"]
    assert r["top_descriptors"].startswith("citrus 0.90")
    assert r["nearest_name"] == "linalool" and r["nearest_similarity"] == "1.000"
    assert float(r["mw"]) > 100


def test_csv_smiles_parse_back_with_rdkit():
    items = [_item(), _item("COc1cc(C=O)ccc1O"), _item("CCC=CCC1=C(C)CCC1=O")]
    for row, it in zip(_rows(to_csv(items)), items):
        assert Chem.MolFromSmiles(row["smiles"]) is not None
        assert row["smiles"] == it.smiles


def test_csv_escapes_cells_a_spreadsheet_would_run_as_formulas():
    evil = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1"]
    rows = _rows(to_csv([_item(prompt=p, note=p) for p in evil]))
    for row, p in zip(rows, evil):
        assert row["prompt"] == "'" + p
        assert row["user_note"] == "'" + p


def test_csv_leaves_ordinary_text_and_negative_numbers_alone():
    assert escape_cell("fresh lemon") == "fresh lemon"
    row = _rows(to_csv([_item("OCCO")]))[0]  # ethylene glycol: negative cLogP
    assert row["clogp"].startswith("-")  # a number we formatted, not text: stays numeric


def test_missing_results_are_empty_cells_not_made_up_values():
    row = _rows(to_csv([ShortlistItem(smiles="CCO", source="analyzed")]))[0]
    assert row["odor_match"] == "" and row["mw"] == "" and row["top_descriptors"] == ""
    assert row["safety_verdict"] == "not screened"


def test_sdf_has_one_record_per_item_with_fields():
    data = to_sdf([_item(), _item("COc1cc(C=O)ccc1O", prompt="=cmd")]).decode("utf-8")
    supplier = Chem.SDMolSupplier()
    supplier.SetData(data)
    mols = [m for m in supplier]
    assert len(mols) == 2 and all(m is not None for m in mols)
    assert mols[0].GetProp("prompt") == "fresh lemon"
    assert mols[1].GetProp("smiles") == "COc1cc(C=O)ccc1O"
    assert mols[0].GetProp("safety_verdict") == "caution"


def test_csv_leads_with_fit_percentile_and_confidence_before_the_raw_odor_match():
    from dataclasses import replace

    from odordiff_core.scores import Confidence

    assert COLUMNS.index("fit_percentile") < COLUMNS.index("confidence") < COLUMNS.index("odor_match")
    row = _rows(to_csv([replace(_item(), fit_percentile=93.46, confidence=Confidence.HIGH)]))[0]
    assert row["fit_percentile"] == "93.5" and row["confidence"] == "high" and row["odor_match"] == "0.810"


def test_csv_leaves_fit_percentile_and_confidence_empty_when_not_computed():
    row = _rows(to_csv([_item(prompt="=cmd")]))[0]
    assert row["fit_percentile"] == "" and row["confidence"] == ""
    assert row["prompt"] == "'=cmd"  # the new columns do not disturb formula escaping
