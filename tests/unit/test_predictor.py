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


def test_label_mix_lends_probability_to_labels_that_co_occur_in_training():
    from odordiff_core.odor import label_cooccurrence, mix_labels

    Y = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)  # fruity, sweet, woody
    C = label_cooccurrence(Y)
    assert np.allclose(np.diag(C), 1) and C[0, 1] == pytest.approx(2 / 3) and C[1, 0] == 1 and C[0, 2] == 0
    p = np.array([[0.9, 0.1, 0.1], [0.0, 0.0, 0.0]], np.float32)
    mixed = mix_labels(p, C, 0.3)
    assert mixed[0, 1] > p[0, 1]  # likely fruity, and fruity molecules are often sweet
    assert mixed[0, 2] < p[0, 2]  # woody never comes with fruity
    assert np.array_equal(mixed[1], p[1])  # nothing probable: nothing to lend
    assert np.array_equal(mix_labels(p, C, 0.0), p)


def _ensemble_saved_without(keys: tuple[str, ...], tmp_path, settings):
    """Loads the shipped predictor from a copy whose config.json lacks the recipe `keys`, as older weights do."""
    import json
    import shutil
    from dataclasses import replace

    from odordiff_core.odor import PREDICTOR_DIR, load_predictor

    d = tmp_path / PREDICTOR_DIR
    shutil.copytree(settings.weights_dir / PREDICTOR_DIR, d)
    config = json.loads((d / "config.json").read_text())
    for key in keys:
        config["config"].pop(key, None)
    (d / "config.json").write_text(json.dumps(config))
    return load_predictor(replace(settings, weights_dir=tmp_path)).ensemble


def test_weights_saved_before_the_label_mix_load_without_it(tmp_path, settings):
    ens = _ensemble_saved_without(("label_mix", "label_mix_far", "knn_by_similarity"), tmp_path, settings)
    assert ens.label_mix == 0.0 and ens.label_mix_far is None


def test_weights_saved_before_the_similarity_shares_load_with_constant_shares(tmp_path, settings):
    ens = _ensemble_saved_without(("label_mix_far", "knn_by_similarity"), tmp_path, settings)
    w, share = ens.shares(np.array([0.2, 0.9], np.float32))
    assert w == ens.knn_weight and share == ens.label_mix


def test_far_from_the_training_molecules_the_vote_weighs_less_and_the_label_mix_more():
    from odordiff_core.odor import Neighbours, PredictorConfig, TrainedEnsemble

    cfg = PredictorConfig(graph_weight=0.0)
    nb = Neighbours.from_counts(np.zeros((1, 1024), np.float32), np.zeros((1, 3), np.float32), cfg)
    ens = TrainedEnsemble.from_config((), np.zeros(1), np.ones(1), nb, cfg)
    w, share = ens.shares(np.array([0.0, 0.5, 1.0], np.float32))
    assert np.allclose(np.ravel(w), [0.0, cfg.knn_weight / 2, cfg.knn_weight])
    assert np.allclose(np.ravel(share), [cfg.label_mix_far, (cfg.label_mix_far + cfg.label_mix) / 2, cfg.label_mix])


def test_the_label_mix_takes_one_share_per_molecule():
    from odordiff_core.odor import label_cooccurrence, mix_labels

    C = label_cooccurrence(np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32))
    p = np.array([[0.9, 0.1, 0.1], [0.9, 0.1, 0.1]], np.float32)
    rows = mix_labels(p, C, np.array([[0.3], [0.6]], np.float32))
    assert np.allclose(rows[0], mix_labels(p[:1], C, 0.3)[0]) and np.allclose(rows[1], mix_labels(p[1:], C, 0.6)[0])


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


def _tiny_set():
    from odordiff_core.features import featurize

    smiles = ["CCCCCCCCO", "CCCCCCO", "c1ccccc1C=O", "c1ccccc1CC=O", "CC(=O)OCC", "CCC(=O)OCC"]
    mols = [parse_smiles(s) for s in smiles]
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1]], np.float32)
    return mols, featurize(mols), Y


def test_extra_tasks_shape_training_but_the_members_keep_only_the_label_outputs():
    from odordiff_core.odor import PredictorConfig, ensemble_proba
    from odordiff_core.train.predictor import ExtraData, train_ensemble

    mols, X, Y = _tiny_set()
    extra = ExtraData(np.c_[np.zeros_like(Y), np.eye(6, 3)], X[:1], np.array([[1, 0, 1, 0, 0]], np.float32),
                      ("gs:a", "gs:b", "gs:c"))
    ens = train_ensemble(X, Y, PredictorConfig(hidden=8, epochs=2, members=2, knn_k=3, graph_weight=0.0), extra=extra)
    p, s = ensemble_proba(ens, X)
    assert p.shape == s.shape == (6, 2) and all(m.net[4].out_features == 2 for m in ens.members)


def test_the_graph_member_takes_its_share_of_the_members_mean_and_needs_the_graphs():
    from dataclasses import replace

    from odordiff_core.graph import graph_proba, mol_graphs
    from odordiff_core.odor import PredictorConfig, ensemble_proba
    from odordiff_core.train.predictor import train_ensemble

    mols, X, Y = _tiny_set()
    cfg = PredictorConfig(hidden=8, epochs=2, members=2, knn_k=3, knn_weight=0.0, label_mix=0.0, label_mix_far=None,
                          graph_hidden=8, graph_epochs=2)
    graphs = mol_graphs(mols)
    ens = train_ensemble(X, Y, cfg, graphs=graphs)
    with_graph, spread = ensemble_proba(ens, X, graphs)
    without = ensemble_proba(replace(ens, graph=None), X)[0]
    expected = (1 - cfg.graph_weight) * without + cfg.graph_weight * graph_proba(ens.graph, graphs)
    assert np.allclose(with_graph, expected, atol=1e-6)
    assert np.array_equal(spread, ensemble_proba(replace(ens, graph=None), X)[1])  # the spread stays the MLPs'
    with pytest.raises(ValueError, match="graph"):
        ensemble_proba(ens, X)
    with pytest.raises(ValueError, match="graph"):
        train_ensemble(X, Y, cfg)


def test_weights_saved_before_the_graph_member_load_without_it(tmp_path, settings):
    ens = _ensemble_saved_without(("graph_weight",), tmp_path, settings)
    assert ens.graph is None and ens.graph_weight == 0.0


def test_transfer_check_scores_the_ensemble_and_the_logistic_baseline_on_the_same_molecules():
    from odordiff_core.eval.predictor import transfer_check
    from odordiff_core.graph import mol_graphs
    from odordiff_core.odor import PredictorConfig

    mols, X, Y = _tiny_set()
    test = [parse_smiles(s) for s in ("CCCCCCCCCO", "c1ccccc1CCC=O", "CCCC(=O)OCC")]
    r = transfer_check("test", X, Y, mols, test, np.array([[1, 0], [0, 1], [1, 1]], np.float32),
                       PredictorConfig(hidden=8, epochs=3, members=1, knn_k=3, graph_hidden=8, graph_epochs=2),
                       graphs=mol_graphs(mols))
    assert r.n_molecules == 3 and r.n_labels_scored == 2
    assert 0.0 <= r.ensemble_auroc <= 1.0 and 0.0 <= r.baseline_auroc <= 1.0


def test_evaluate_refuses_a_fold_outside_the_split_without_a_traceback():
    out = _cli("evaluate", "predictor", "--only-folds", "7")
    assert out.returncode == 2 and "--only-folds must list fold numbers from 0 to 4" in out.stderr
    assert "Traceback" not in out.stderr
    out = _cli("evaluate", "predictor", "--extra-sources", "arctander", "--only-folds", "0")
    assert out.returncode == 2 and "Unknown label source" in out.stderr and "Traceback" not in out.stderr
