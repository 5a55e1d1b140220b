"""The label map (other sources' raw odor terms -> the 138 GS-LF labels) and the extra training data built with it."""
import numpy as np
import pytest

from odordiff_core.chem import connectivity_key, parse_smiles
from odordiff_core.datasets import raw_label_sources, read_labels
from odordiff_core.errors import DataError
from odordiff_core.train.predictor import EXTRA_SOURCES, LabelMap, build_extra, load_label_map

LABELS = ("floral", "fruity", "mint", "woody")
ETHANOL, LINALOOL, MENTHOL = "CCO", "CC(C)=CCCC(C)(O)C=C", "CC(C)[C@@H]1CC[C@@H](C)C[C@H]1O"


def _map(*rows: tuple[str, str, str]) -> LabelMap:
    return LabelMap(LABELS, {(src, term): (label,) for src, term, label in rows})


def test_every_shipped_mapping_names_a_gslf_label_and_a_rationale(settings):
    label_map = load_label_map(read_labels(settings))  # raises DataError on any bad row
    assert len(label_map.synonyms) >= 50
    assert label_map.columns("ifra", ["minty", "camphoraceous"]) == {label_map.labels.index("mint"),
                                                                     label_map.labels.index("camphoreous")}


def test_a_term_equal_to_a_label_maps_to_it_and_unknown_terms_are_dropped():
    m = _map(("any", "minty", "mint"), ("ifra", "gourmand", "fruity"))
    assert m.columns("goodscents", ["woody", "minty", "no such term"]) == {3, 2}
    assert m.columns("ifra", ["gourmand"]) == {1}
    assert m.columns("leffingwell", ["gourmand"]) == set()  # a source-specific row applies to its source only


def test_a_bad_row_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "label_map.csv"
    path.write_text("source,term,label,rationale\nany,minty,mint,synonym\nany,smelly,not-a-label,oops\n")
    with pytest.raises(DataError, match="line 3"):
        load_label_map(LABELS, path)


def test_raw_sources_read_every_record_with_its_terms(settings):
    raw = raw_label_sources(settings)
    assert set(raw) == set(EXTRA_SOURCES)
    assert len(raw["ifra"]) == 1146 and all(len(terms) <= 3 for _, terms in raw["ifra"])
    assert len(raw["goodscents"]) > 4000 and len(raw["leffingwell"]) > 3000


def test_extra_data_adds_only_missing_positives_and_keeps_outside_molecules_apart():
    keys = [connectivity_key(parse_smiles(s)) for s in (ETHANOL, LINALOOL)]
    Y = np.array([[0, 1, 0, 0], [1, 0, 0, 0]], np.float32)  # ethanol fruity, linalool floral
    records = {"ifra": [(ETHANOL, ("fruity", "woody")), (MENTHOL, ("minty",)), ("CCCCO", ("unmapped",))],
               "goodscents": [("CC(C)=CCC[C@](C)(O)C=C", ("floral", "fresh-ish"))]}  # linalool, stereo given
    extra, mols, counts = build_extra(keys, Y, _map(("any", "minty", "mint")), records)
    assert extra.positives.tolist() == [[0, 0, 0, 1], [0, 0, 0, 0]]  # woody is new; fruity/floral were known
    assert len(mols) == 1 and extra.Y.tolist() == [[0, 0, 1, 0]]  # menthol outside the set; butanol maps to nothing
    assert [(c.source, c.new_positives, c.outside_molecules) for c in counts] == [("ifra", 1, 1), ("goodscents", 0, 0)]
    left_out, mols2, _ = build_extra(keys, Y, _map(("any", "minty", "mint")), records,
                                     leave_out=frozenset({connectivity_key(parse_smiles(MENTHOL))}))
    assert mols2 == [] and left_out.Y.shape == (0, 4)


def test_a_training_fold_never_gets_the_extra_labels_of_a_held_out_molecule():
    keys = [connectivity_key(parse_smiles(s)) for s in (ETHANOL, LINALOOL)]
    Y = np.zeros((2, 4), np.float32)
    extra, _, _ = build_extra(keys, Y, _map(), {"ifra": [(ETHANOL, ("woody",)), (LINALOOL, ("floral",))]})
    train_rows = np.array([False, True])  # ethanol held out
    assert extra.for_training(train_rows).positives.tolist() == [[1, 0, 0, 0]]


def test_unmapped_terms_of_enough_molecules_become_extra_tasks():
    keys = [connectivity_key(parse_smiles(s)) for s in (ETHANOL, LINALOOL)]
    records = {"goodscents": [(ETHANOL, ("bready", "odd")), (LINALOOL, ("bready", "woody"))]}
    extra, _, _ = build_extra(keys, np.zeros((2, 4), np.float32), _map(), records, aux_min=2)
    assert extra.tasks == ("goodscents:bready",)
    assert extra.positives[:, 4].tolist() == [1, 1] and extra.positives.shape == (2, 5)
