"""The generator evaluation's figures per bin of nearest-known similarity: binning, pooling, and the >= 50 rule."""
from __future__ import annotations

import numpy as np
import pytest

from odordiff_core.chem import to_mol
from odordiff_core.eval.generator import (
    MIN_BIN_N,
    REFERENCE,
    SCREENED_REFERENCE,
    SIMILARITY_BINS,
    CandidateScore,
    Oracle,
    adherence_winner,
    bin_margins,
    bin_rows,
    candidate_scores,
    compare_with_reference,
    fingerprints,
    grade,
    list_metrics,
    nearest_similarity,
    seed_summary,
    similarity_bin,
)
from odordiff_core.soundness import default_screen


@pytest.mark.parametrize(("similarity", "name"), [
    (0.0, "< 0.4"), (0.3999, "< 0.4"), (0.4, "0.4-0.6"), (0.5999, "0.4-0.6"), (0.6, "0.6-0.8"),
    (0.7999, "0.6-0.8"), (0.8, ">= 0.8"), (1.0, ">= 0.8"),
])
def test_similarity_on_a_bin_edge_goes_to_the_upper_bin(similarity, name):
    assert SIMILARITY_BINS[similarity_bin(similarity)] == name


def test_tanimoto_ratios_that_equal_an_edge_land_in_the_upper_bin():
    # Tanimoto is a ratio of bit counts: 2/5, 3/5 and 4/5 must not fall below their edge by rounding
    assert [similarity_bin(a / b) for a, b in ((2, 5), (3, 5), (4, 5), (12, 20), (8, 10))] == [1, 2, 3, 2, 3]


def test_nearest_similarity_is_one_for_a_known_molecule_and_zero_without_known_ones():
    fps = fingerprints(["CCO", "c1ccccc1", "not a smiles"])
    assert len(fps) == 2  # the unparsable one is skipped
    assert nearest_similarity(to_mol("OCC"), fps) == 1.0
    assert 0.0 < nearest_similarity(to_mol("Cc1ccccc1"), fps) < 1.0
    assert nearest_similarity(to_mol("CCO"), []) == 0.0


def _score(sim: float, adherence: float, hit5: float = 1.0, odorant_like: bool = True) -> CandidateScore:
    return CandidateScore(sim, adherence, hit5, odorant_like)


def test_bin_rows_pool_candidates_and_average_within_each_bin():
    scores = {
        "A": [_score(0.1, 0.2, 0.0, False), _score(0.3, 0.4, 1.0, True), _score(0.85, 0.9)],
        "B": [_score(0.5, 0.6), _score(1.0, 0.8, 0.0, False)],
    }
    rows = {(r["bin"], r["method"]): r for r in bin_rows(scores)}
    assert len(rows) == len(SIMILARITY_BINS) * 2
    low = rows[("< 0.4", "A")]
    assert low["n"] == 2 and low["adherence"] == pytest.approx(0.3) and low["hit5"] == pytest.approx(0.5)
    assert low["odorant_like"] == pytest.approx(0.5)
    assert rows[(">= 0.8", "A")]["n"] == 1 and rows[(">= 0.8", "A")]["adherence"] == pytest.approx(0.9)
    assert rows[("0.4-0.6", "B")]["n"] == 1 and rows[(">= 0.8", "B")]["odorant_like"] == 0.0
    empty = rows[("0.6-0.8", "A")]
    assert empty["n"] == 0 and empty["adherence"] is None and empty["hit5"] is None
    assert low["sound"] is None  # soundness not checked


def test_bin_rows_average_soundness_over_the_checked_candidates_only():
    recs = [CandidateScore(0.5, 0.5, 1.0, True, True), CandidateScore(0.5, 0.5, 1.0, True, False),
            CandidateScore(0.55, 0.5, 1.0, True, True), CandidateScore(0.45, 0.5, 1.0, True, None)]
    row = next(r for r in bin_rows({"A": recs}) if r["bin"] == "0.4-0.6")
    assert row["n"] == 4 and row["sound"] == pytest.approx(2 / 3)


def test_bin_rows_keep_bin_order_then_method_order():
    rows = bin_rows({"Z": [_score(0.9, 0.5)], "A": [_score(0.1, 0.5)]})
    assert [(r["bin"], r["method"]) for r in rows[:3]] == [("< 0.4", "Z"), ("< 0.4", "A"), ("0.4-0.6", "Z")]


def _row(method: str, n: int, adherence: float | None) -> dict:
    return {"bin": "< 0.4", "method": method, "n": n, "adherence": adherence}


def test_winner_needs_at_least_50_candidates_on_each_side():
    assert MIN_BIN_N == 50
    assert adherence_winner(_row("OdorDiff", 49, 0.9), _row(REFERENCE, 200, 0.5)) is None
    assert adherence_winner(_row("OdorDiff", 200, 0.9), _row(REFERENCE, 49, 0.5)) is None
    assert adherence_winner(_row("OdorDiff", 50, 0.9), _row(REFERENCE, 50, 0.5)) == "OdorDiff"
    assert adherence_winner(_row("OdorDiff", 50, 0.4), _row(REFERENCE, 50, 0.5)) == REFERENCE
    assert adherence_winner(_row("OdorDiff", 50, 0.5), _row(REFERENCE, 50, 0.5)) == "tie"


def test_goal_ignores_bins_with_too_few_candidates_and_fails_on_a_lost_compared_bin():
    scores = {
        "OdorDiff": [_score(0.2, 0.9)] * 60 + [_score(0.9, 0.1)] * 10,  # wins < 0.4; loses >= 0.8 but with 10
        REFERENCE: [_score(0.2, 0.5)] * 60 + [_score(0.9, 0.95)] * 300,
    }
    rows = bin_rows(scores)
    overall = [{"method": "OdorDiff", "adherence": 0.8}, {"method": REFERENCE, "adherence": 0.8}]
    goal = compare_with_reference(rows, overall, "OdorDiff")
    assert goal["bins"] == {"< 0.4": "OdorDiff", "0.4-0.6": None, "0.6-0.8": None, ">= 0.8": None}
    assert goal["overall"] is True and goal["met"] is True  # a tie overall meets ">="
    scores["OdorDiff"] += [_score(0.9, 0.1)] * 40  # now 50 in >= 0.8, lower adherence than the reference
    goal = compare_with_reference(bin_rows(scores), overall, "OdorDiff")
    assert goal["bins"][">= 0.8"] == REFERENCE and goal["met"] is False
    lower_overall = [{"method": "OdorDiff", "adherence": 0.7}, {"method": REFERENCE, "adherence": 0.8}]
    assert compare_with_reference(rows, lower_overall, "OdorDiff")["met"] is False


def _prompts(adherences: dict[int, list[float]], sim: float = 0.2) -> list[CandidateScore]:
    return [CandidateScore(sim, a, 1.0, True, None, p) for p, adh in adherences.items() for a in adh]


def test_a_bin_margin_is_the_difference_of_means_with_an_interval_from_resampled_prompts():
    # OdorDiff is 0.1 ahead on every prompt: the interval is tight around 0.1 however much the prompts differ
    mine = _prompts({p: [0.3 + 0.05 * p + 0.1] * 4 for p in range(10)})
    theirs = _prompts({p: [0.3 + 0.05 * p] * 4 for p in range(10)})
    (diff, low, high), = bin_margins(mine, theirs, 10, seed=0).values()
    assert diff == pytest.approx(0.1) and low == pytest.approx(0.1) and high == pytest.approx(0.1)
    # ahead on half the prompts and behind on the other half by more: the interval spans 0
    mixed = _prompts({p: [0.5 + (0.1 if p % 2 else -0.15)] * 4 for p in range(10)})
    level = _prompts({p: [0.5] * 4 for p in range(10)})
    diff, low, high = bin_margins(mixed, level, 10, seed=0)["< 0.4"]
    assert low < 0 < high and low <= diff <= high
    assert bin_margins(mixed, level, 10, seed=0) == bin_margins(mixed, level, 10, seed=0)  # seeded
    assert list(bin_margins(mine, _prompts({0: [0.5]}, sim=0.9), 10, seed=0)) == []  # no bin holds both


def test_the_goal_reports_margins_only_for_the_bins_it_compares():
    scores = {"OdorDiff": [_score(0.2, 0.7)] * 60 + [_score(0.9, 0.9)] * 10, REFERENCE: [_score(0.2, 0.6)] * 60
              + [_score(0.9, 0.95)] * 10}
    overall = [{"method": "OdorDiff", "adherence": 0.7}, {"method": REFERENCE, "adherence": 0.6}]
    margins = {"< 0.4": (0.1, 0.05, 0.15), ">= 0.8": (-0.05, -0.1, 0.0)}
    goal = compare_with_reference(bin_rows(scores), overall, "OdorDiff", margins=margins)
    assert goal["margins"] == {"< 0.4": (0.1, 0.05, 0.15)}  # >= 0.8 has 10 candidates a side: not compared
    assert compare_with_reference(bin_rows(scores), overall, "OdorDiff")["margins"] == {}


def test_the_printed_goal_gives_each_compared_bins_margin(capsys):
    from odordiff_core.cli.generator import _print_by_similarity

    scores = {"OdorDiff": [_score(0.2, 0.7)] * 60, REFERENCE: [_score(0.2, 0.65)] * 60}
    rows = bin_rows(scores)
    overall = [{"method": "OdorDiff", "adherence": 0.7}, {"method": REFERENCE, "adherence": 0.65}]
    goal = compare_with_reference(rows, overall, "OdorDiff", margins={"< 0.4": (0.05, 0.01, 0.09)})
    _print_by_similarity({"min_n": MIN_BIN_N, "similarity": "Tanimoto", "n_known": 3, "pooling": "pooled",
                          "rows": rows, "comparisons": [goal]})
    out = capsys.readouterr().out
    assert "goal MET: OdorDiff" in out and "< 0.4 +0.050 [+0.010, +0.090]" in out


def _flat_oracle(n_labels: int = 3) -> Oracle:
    """An oracle whose probabilities are 0.5 for every molecule, among known molecules scored 0.2 and 0.8."""
    return Oracle(np.zeros((2048, n_labels)), np.zeros(n_labels), np.array([[0.2] * n_labels, [0.8] * n_labels]))


def test_a_graded_list_counts_an_enol_sound_only_through_its_tautomer_and_skips_what_does_not_parse():
    # an enol written for its ketone, a cyclopropenol (no sound tautomer), a plain ester, and a broken SMILES
    graded = grade(["CC=C(O)CC", "CCCC1=C(O)C1", "CCOC(C)=O", "C1CC"], np.array([1.0, 0.0, 0.0]), _flat_oracle(),
                   default_screen())
    assert len(graded.mols) == 3
    assert graded.sound == (False, False, True) and graded.sound_tautomer == (True, False, True)
    metrics = list_metrics(graded, is_known=lambda mol: False)
    assert metrics["n"] == 3 and metrics["adherence"] == pytest.approx(0.5)  # between the two known scores
    assert metrics["sound"] == pytest.approx(1 / 3) and metrics["sound_tautomer"] == pytest.approx(2 / 3)
    scores = candidate_scores(graded, nearest=lambda mol: 0.5)
    assert [s.sound for s in scores] == [False, False, True] and {s.nearest_similarity for s in scores} == {0.5}


def test_a_list_graded_without_the_screen_leaves_soundness_unchecked_and_an_empty_list_has_no_metrics():
    graded = grade(["CCO"], np.array([1.0, 0.0, 0.0]), _flat_oracle())
    assert graded.sound is None and list_metrics(graded, lambda mol: False)["sound"] is None
    assert candidate_scores(graded, lambda mol: 0.0)[0].sound is None
    assert list_metrics(grade(["not a smiles"], np.array([1.0, 0.0, 0.0]), _flat_oracle()), lambda mol: False) == {"n": 0}


def _run(seed: int, adherence: float, raw_unique: float, lost: tuple[str, ...]) -> dict:
    """A minimal `evaluate` result: the shipped pipeline loses the named bins to the screened reference."""
    pipe, direct = "OdorDiff pipeline", "OdorDiff direct"
    rows = [{"method": pipe, "adherence": adherence, "intdiv": 0.82, "odorant_like": 0.99},
            {"method": direct, "validity": 1.0, "uniqueness": raw_unique, "sound": 0.86, "sound_tautomer": 0.90},
            {"method": SCREENED_REFERENCE, "adherence": 0.89}, {"method": REFERENCE, "adherence": 0.91}]
    goals = [{"method": pipe, "reference": ref, "met": not lost,
              "bins": {b: (ref if b in lost else pipe) for b in SIMILARITY_BINS}}
             for ref in (SCREENED_REFERENCE, REFERENCE)]
    return {"settings": {"seed": seed}, "methods": {"pipeline": pipe, "direct": direct}, "rows": rows,
            "by_similarity": {"comparisons": goals}}


def test_the_seed_summary_gives_each_seeds_goal_figures_and_their_mean():
    summary = seed_summary([_run(0, 0.91, 0.97, ()), _run(1, 0.89, 0.99, ("< 0.4",))])
    first, second = summary["seeds"]
    assert (first["seed"], first["screened_bins_won"], first["screened_bins_compared"], first["screened_met"]) == \
        (0, 4, 4, True)
    assert (second["screened_bins_won"], second["screened_met"], second["raw_uniqueness"]) == (3, False, 0.99)
    assert summary["mean"]["adherence"] == pytest.approx(0.90)
    assert summary["mean"]["raw_uniqueness"] == pytest.approx(0.98)
    assert summary["mean"]["screened_bins_won"] == pytest.approx(3.5)
    assert "screened_met" not in summary["mean"] and "seed" not in summary["mean"]  # only figures are averaged
