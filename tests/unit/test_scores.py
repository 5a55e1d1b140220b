"""Scores a perfumer can read: the fit percentile among known odorants and the confidence level (scores.py)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from safetensors.numpy import save_file

from odordiff_core.chem import parse_smiles
from odordiff_core.config import Settings
from odordiff_core.errors import ModelNotFound
from odordiff_core.export import item_from_candidate
from odordiff_core.known import NearestKnown
from odordiff_core.pipeline import Candidate, odor_match
from odordiff_core.safety import SafetyReport
from odordiff_core.scores import (
    KNOWN_SCORES_FILE,
    Confidence,
    confidence_levels,
    fit_percentiles,
    load_known_scores,
    percent_text,
)
from odordiff_core.types import OdorProfile


@pytest.fixture(scope="module")
def known_scores(predictor, settings):
    return load_known_scores(settings, predictor.version, len(predictor.labels))


@pytest.fixture(scope="module")
def labelled(settings):
    from odordiff_core.datasets import load_labelled

    return load_labelled(settings)


def _target(labels: tuple[str, ...], *names: str) -> np.ndarray:
    t = np.zeros(len(labels), np.float32)
    for n in names:
        t[labels.index(n)] = 1.0
    return t


def test_fit_percentile_is_monotone_in_odor_match_and_within_0_and_100(known_scores, predictor):
    target = _target(predictor.labels, "citrus", "fresh")
    excluded = np.zeros(len(predictor.labels), bool)
    excluded[predictor.labels.index("sweet")] = True
    known = odor_match(known_scores.probs, target, excluded)
    matches = np.linspace(-1.0, 1.0, 401)
    pct = fit_percentiles(known, matches)
    assert pct[0] == 0.0 and pct[-1] == 100.0 and np.all((pct >= 0) & (pct <= 100))
    assert np.all(np.diff(pct) >= 0)


def test_fit_percentile_counts_known_odorants_strictly_below():
    known = np.array([0.1, 0.2, 0.2, 0.3])
    np.testing.assert_allclose(fit_percentiles(known, np.array([0.05, 0.2, 0.25, 0.4])), [0, 25, 75, 100])


def test_percent_text_never_rounds_up():
    assert percent_text(93.9) == "93 %" and percent_text(99.96) == "99.9 %" and percent_text(100.0) == "100.0 %"


def test_known_odorant_scored_against_its_own_labels_fits_better_than_most(predictor, known_scores, labelled):
    """Each of 20 labelled odorants, with its recorded descriptors as the brief, beats most known odorants."""
    rows = [i for i in range(0, len(labelled.mols), 250) if 2 <= labelled.Y[i].sum() <= 6][:20]
    probs = predictor.predict_proba([labelled.mols[i] for i in rows])
    excluded = np.zeros(len(predictor.labels), bool)
    pcts = []
    for p, i in zip(probs, rows):
        target = labelled.Y[i].astype(np.float32)
        pcts.append(float(fit_percentiles(odor_match(known_scores.probs, target, excluded),
                                          odor_match(p[None], target, excluded))[0]))
    assert np.median(pcts) >= 95 and min(pcts) >= 80, pcts


def test_confidence_is_high_for_a_known_odorant_and_low_for_an_exotic_structure(predictor):
    mols = [parse_smiles(s) for s in ("CCCC(=O)OCC",  # ethyl butyrate, in the training set, members agree
                                      # (linalool is in it too, but the members disagree on "floral": medium)
                                      "FC(F)(F)C(F)(F)C(F)(F)C(F)(F)C(F)(F)C(F)(F)F",  # perfluorohexane
                                      "C12C3C4C1C5C2C3C45")]  # cubane
    probs, spread, similarity = predictor.predict_with_domain(mols)
    assert similarity[0] == pytest.approx(1.0, abs=1e-5) and max(similarity[1:]) < 0.55
    assert confidence_levels(probs, spread, similarity) == [Confidence.HIGH, Confidence.LOW, Confidence.LOW]


def test_predict_with_domain_gives_predict_with_std_numbers(predictor):
    mols = [parse_smiles(s) for s in ("COc1cc(C=O)ccc1O", "CCCC(=O)OCC")]
    p, s, _ = predictor.predict_with_domain(mols)
    p2, s2 = predictor.predict_with_std(mols)
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(s, s2)


def _candidate(**kw) -> Candidate:
    base = Candidate(rank=1, smiles="CCO", odor_match=0.12, top_descriptors=("alcoholic",),
                     odor=OdorProfile(("alcoholic",), (0.5,), (0.01,), "predictor-1+x"), novel=True,
                     nearest=NearestKnown("CCCO", "propanol", 0.5, ("alcoholic",)),
                     safety=SafetyReport("no known issue", (), "safety-1+y"), properties=None, seed=3,
                     model_version="g|p")
    return replace(base, **kw)


def test_candidate_json_round_trip_keeps_fit_percentile_and_confidence():
    c = _candidate(fit_percentile=93.4, confidence=Confidence.MEDIUM)
    back = Candidate.from_json(json.loads(json.dumps(c.to_json())))
    assert back == c and back.confidence is Confidence.MEDIUM


def test_candidate_json_cached_before_the_scores_loads_as_not_computed():
    old = _candidate(fit_percentile=50.0, confidence=Confidence.LOW).to_json()
    del old["fit_percentile"], old["confidence"]
    back = Candidate.from_json(old)
    assert back.fit_percentile is None and back.confidence is None and back.odor_match == 0.12


def test_shortlisting_a_candidate_keeps_its_scores():
    item = item_from_candidate(_candidate(fit_percentile=80.0, confidence=Confidence.HIGH), "citrus")
    assert item.fit_percentile == 80.0 and item.confidence is Confidence.HIGH and item.odor_match == 0.12


def test_known_scores_of_another_predictor_version_are_refused(tmp_path, predictor):
    folder = tmp_path / "predictor"
    folder.mkdir()
    save_file({"probs": np.zeros((3, 138), np.float16)}, str(folder / KNOWN_SCORES_FILE),
              metadata={"predictor_version": "predictor-1+old"})
    settings = Settings(data_dir=tmp_path, weights_dir=tmp_path)
    with pytest.raises(ModelNotFound, match="predictor-1\\+old.*--known-scores-only"):
        load_known_scores(settings, predictor.version, 138)
    with pytest.raises(ModelNotFound, match="No known-odorant scores.*--known-scores-only"):
        load_known_scores(Settings(data_dir=tmp_path, weights_dir=tmp_path / "none"), predictor.version, 138)


def test_shipped_known_scores_cover_every_labelled_odorant(known_scores, labelled):
    assert known_scores.probs.shape == (len(labelled.mols), len(labelled.labels))
    assert np.all((known_scores.probs >= 0) & (known_scores.probs <= 1))


def test_ranked_candidates_carry_scores_and_keep_the_odor_match_order(settings):
    from pathlib import Path

    from odordiff_core.generator import load_generator
    from odordiff_core.pipeline import GenerateRequest, Pipeline
    from odordiff_core.report import load_reporter
    from odordiff_core.text import load_interpreter

    tiny = Path(__file__).resolve().parents[1] / "data" / "tiny_generator"
    reporter = load_reporter(settings)
    pipe = Pipeline(generator=load_generator(tiny), interpreter=load_interpreter(settings), reporter=reporter)
    req = GenerateRequest("a clean citrus top note, not sweet", n=4, seed=0, exploration=1.0)
    plain = pipe.generate(req)
    scored = replace(pipe, known_scores=load_known_scores(settings, reporter.predictor.version, 138)).generate(req)
    assert [c.smiles for c in scored.candidates] == [c.smiles for c in plain.candidates] != []
    assert all(c.fit_percentile is None and c.confidence is not None for c in plain.candidates)
    pcts = [c.fit_percentile for c in scored.candidates]
    assert all(p is not None and 0 <= p <= 100 for p in pcts) and pcts == sorted(pcts, reverse=True)
