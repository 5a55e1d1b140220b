"""Golden tests of the shipped odor predictor: fixed molecules, fixed weights -> stable top labels."""
import subprocess
import sys

import numpy as np
import pytest

from odordiff_core.chem import parse_smiles
from odordiff_core.eval.predictor import calibration_error, mean_auroc, scaffold_folds

GOLDEN = {
    "COc1cc(C=O)ccc1O": "vanilla",  # vanillin
    "CC1=CCC(CC1)C(C)=C": "citrus",  # limonene
    "CCCC(=O)OCC": "fruity",  # ethyl butyrate
}


@pytest.mark.parametrize("smiles,label", GOLDEN.items())
def test_known_odorants_get_their_textbook_label_in_the_top_three(predictor, smiles, label):
    (profile,) = predictor.predict([parse_smiles(smiles)])
    assert label in [lab for lab, _ in profile.top(3)]


def test_predictions_cover_all_138_labels_as_probabilities_with_a_spread(predictor):
    p, s = predictor.predict_with_std([parse_smiles("CC(C)=CCCC(C)(O)C=C")])
    assert p.shape == s.shape == (1, 138) and len(predictor.labels) == 138
    assert np.all((p >= 0) & (p <= 1)) and np.all(s >= 0) and s.max() > 0


def test_predictions_are_deterministic_and_do_not_depend_on_the_batch(predictor):
    mols = [parse_smiles(s) for s in GOLDEN]
    together = predictor.predict_proba(mols)
    alone = np.concatenate([predictor.predict_proba([m]) for m in mols])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_array_equal(together, predictor.predict_proba(mols))


def test_empty_batch_gives_an_empty_result(predictor):
    assert predictor.predict_proba([]).shape == (0, 138)


def test_model_version_names_the_weights(predictor):
    assert predictor.version.startswith("predictor-1+")


def test_neighbour_part_follows_the_labels_of_the_most_similar_training_molecule():
    from odordiff_core.features import atom_pair_counts, featurize
    from odordiff_core.odor import Neighbours, PredictorConfig

    train = [parse_smiles(s) for s in ("CCCCCCCCO", "c1ccccc1C=O", "CC(=O)OCC")]
    Y = np.eye(3, dtype=np.float32)  # each training molecule has its own label
    nb = Neighbours.from_counts(atom_pair_counts(train), Y, PredictorConfig(knn_k=3))
    p = nb.proba(featurize([parse_smiles("CCCCCCCCCO"), parse_smiles("c1ccccc1C=O")]))
    assert p.argmax(1).tolist() == [0, 1]  # nonanol -> octanol's label; benzaldehyde -> its own
    assert p[1, 1] > 0.99 and np.allclose(p.sum(1), 1.0)


def test_mean_auroc_skips_labels_without_both_classes():
    Y = np.array([[1, 0], [0, 0], [1, 0]], dtype=np.float32)
    P = np.array([[0.9, 0.1], [0.2, 0.5], [0.8, 0.3]], dtype=np.float32)
    auc, n = mean_auroc(Y, P)
    assert n == 1 and auc == 1.0


def test_calibration_error_is_zero_for_perfectly_calibrated_bins():
    Y = np.array([[1], [0], [1], [0]], dtype=np.float32)
    P = np.full((4, 1), 0.5, dtype=np.float32)
    assert calibration_error(Y, P) == pytest.approx(0.0)


def test_scaffold_folds_never_split_a_scaffold():
    smiles = ["c1ccccc1CC", "c1ccccc1CCC", "c1ccccc1O", "C1CCCCC1C", "C1CCCCC1CC", "CCCCO", "CCCCCO", "CC=O"]
    mols = [parse_smiles(s) for s in smiles]
    folds = scaffold_folds(mols, 3, seed=0)
    assert len({folds[0], folds[1], folds[2]}) == 1  # the three benzenes
    assert folds[3] == folds[4]  # the two cyclohexanes
    assert sorted(set(folds.tolist())) == [0, 1, 2]


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "odordiff_core", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_predict_cli_json_keeps_input_order_and_reports_bad_rows():
    import json

    out = _cli("predict", "CCCC(=O)OCC", "not-a-smiles", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["input"] for r in rows] == ["CCCC(=O)OCC", "not-a-smiles"]
    assert rows[0]["error"] is None and len(rows[0]["descriptors"]) == 138
    assert rows[1]["smiles"] is None and rows[1]["descriptors"] is None and "not-a-smiles" in rows[1]["error"]
    assert rows[0]["safety"]["verdict"] in {"caution", "no known issue"}


def test_predict_cli_exits_2_when_every_input_is_invalid():
    out = _cli("predict", "C1CC", "")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_help_lists_every_command():
    out = _cli("--help")
    assert out.returncode == 0
    for cmd in ("predict", "screen", "interpret", "generate", "data", "train", "evaluate"):
        assert cmd in out.stdout


def test_core_imports_without_streamlit():
    code = "import sys, odordiff_core.report, odordiff_core.pipeline; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
