"""AppTest: every page runs; analyze -> shortlist -> export; errors are shown, never a traceback."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from rdkit import Chem
from streamlit.testing.v1 import AppTest

from app_ui.widgets import md_text
from odordiff_core.export import to_csv

REPO = Path(__file__).resolve().parents[2]
PAGES = ("pages/generate.py", "pages/compare.py", "pages/analyze.py", "pages/shortlist.py", "pages/about.py")
TIMEOUT_S = 120  # first use loads the predictor, the safety tables and the known-odorant index


def _clear_caches() -> None:
    from app_ui import resources
    from app_ui.widgets import structure_molblock, structure_svg

    for f in (resources.get_settings, resources.get_reporter, resources.get_pipeline, resources.get_result_cache):
        f.clear()
    structure_svg.clear()
    structure_molblock.clear()


@pytest.fixture()
def app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at


def _messages(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in (at.error, at.warning, at.info) for e in kind)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exception(app: AppTest, page: str):
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception


def test_about_page_says_in_process_cache_when_no_redis(monkeypatch, app: AppTest):
    monkeypatch.delenv("ODORDIFF_REDIS_URL", raising=False)
    _clear_caches()
    app.switch_page("pages/about.py")
    app.run()
    text = " ".join(m.value for m in app.markdown)
    assert "in-process cache only" in text
    assert "not regulatory" in text and "Predictions, not smells" in text


def test_analyze_page_reports_a_molecule_and_shortlist_exports_it(app: AppTest):
    app.switch_page("pages/analyze.py")
    app.run()
    app.text_input(key="analyze_smiles").input("CC(C)=CCCC(C)(O)C=C").run()
    assert not app.exception, app.exception
    assert not app.error, _messages(app)
    text = " ".join(m.value for m in app.markdown)  # st.badge renders as :color-badge[...] markdown
    assert "safety:" in text and "Nearest known" in text
    app.button(key="analyze_add").click().run()
    assert list(app.session_state["shortlist"]) == ["C=CC(C)(O)CCC=C(C)C"]

    app.switch_page("pages/shortlist.py")  # survives the page switch
    app.run()
    assert not app.exception
    assert len(app.session_state["shortlist"]) == 1
    rows = list(csv.DictReader(io.StringIO(to_csv(app.session_state["shortlist"].values()).decode())))
    assert Chem.MolFromSmiles(rows[0]["smiles"]) is not None
    assert rows[0]["source"] == "analyzed" and rows[0]["safety_verdict"]


def test_analyze_page_shows_invalid_smiles_as_a_message(app: AppTest):
    app.switch_page("pages/analyze.py")
    app.run()
    app.text_input(key="analyze_smiles").input("C1CC(").run()
    assert not app.exception
    assert app.error and md_text("C1CC(") in app.error[0].value  # shown as plain text, not Markdown


def test_compare_needs_two_shortlisted_molecules(app: AppTest):
    app.switch_page("pages/compare.py")
    app.run()
    assert not app.exception
    assert "at least two" in _messages(app)


PROMPT = "a fresh summer morning by the sea with a hint of lemon"


def test_generate_shortlist_compare_export_flow(app: AppTest):
    app.text_area(key="gen_prompt").input(PROMPT).run()
    assert not app.exception, app.exception
    app.button(key="gen_go").click().run()
    assert not app.exception, app.exception
    assert not app.error, _messages(app)
    result = app.session_state["gen_result"]
    assert result is not None and result.request.prompt == PROMPT
    assert len(result.candidates) >= 2, _messages(app)

    for cand in result.candidates[:2]:
        app.checkbox(key=f"sl_{cand.smiles}").check().run()
    assert list(app.session_state["shortlist"]) == [c.smiles for c in result.candidates[:2]]

    t0 = time.perf_counter()
    app.button(key="gen_go").click().run()  # same brief, same settings: the session answers
    assert app.session_state["gen_result"] is result
    assert len(app.session_state["gen_cache"]) == 1
    assert time.perf_counter() - t0 < 5  # a rerun of the page; no sampling

    app.switch_page("pages/compare.py")
    app.run()
    assert not app.exception, app.exception
    assert len(app.session_state["shortlist"]) == 2  # survived the page switch

    app.switch_page("pages/shortlist.py")
    app.run()
    assert not app.exception, app.exception
    rows = list(csv.DictReader(io.StringIO(to_csv(app.session_state["shortlist"].values()).decode())))
    assert [r["smiles"] for r in rows] == [c.smiles for c in result.candidates[:2]]
    for row, cand in zip(rows, result.candidates):
        assert Chem.MolFromSmiles(row["smiles"]) is not None
        assert row["prompt"] == PROMPT and row["seed"] == str(cand.seed)
        assert row["generator_version"] == cand.model_version

    app.button(key=f"rm_{result.candidates[0].smiles}").click().run()
    assert not app.exception, app.exception
    assert list(app.session_state["shortlist"]) == [result.candidates[1].smiles]


def test_more_like_this_regenerates_keeping_the_candidates_scaffold(app: AppTest):
    app.text_area(key="gen_prompt").input(PROMPT).run()
    app.button(key="gen_go").click().run()
    result = app.session_state["gen_result"]
    ringed = next((c for c in result.candidates if Chem.MolFromSmiles(c.smiles).GetRingInfo().NumRings()), None)
    pick = ringed or result.candidates[0]
    app.button(key=f"more_{pick.smiles}").click().run()
    assert not app.exception, app.exception
    again = app.session_state["gen_result"]
    assert again.request.keep_scaffold_of == pick.smiles and again.request.prompt == PROMPT
    assert any("keeping the scaffold" in i.value for i in app.info)


def test_generate_page_exploration_slider_generates_close_analogues(app: AppTest):
    app.text_area(key="gen_prompt").input(PROMPT).run()
    slider = app.slider(key="gen_exploration")
    assert "close analogues" in slider.label and "de novo" in slider.label and slider.help
    slider.set_value(0.2).run()
    app.button(key="gen_go").click().run()
    assert not app.exception, app.exception
    assert not app.error, _messages(app)
    result = app.session_state["gen_result"]
    assert result.request.exploration == 0.2 and result.candidates, _messages(app)
    assert any("nearest known" in c.value and "Tanimoto" in c.value for c in app.caption)


# These two swap in broken settings and clear the model caches: they run last, so the models load once.
def test_missing_weights_give_a_message_not_a_traceback(monkeypatch, tmp_path, app: AppTest):
    monkeypatch.setenv("ODORDIFF_WEIGHTS_DIR", str(tmp_path))  # an empty weights folder
    _clear_caches()
    try:
        app.switch_page("pages/analyze.py")
        app.run()
        app.text_input(key="analyze_smiles").input("CCO").run()
        assert not app.exception, app.exception
        assert app.error and "Cannot analyze" in app.error[0].value
    finally:
        monkeypatch.undo()
        _clear_caches()


def test_missing_generator_gives_a_message_not_a_traceback(monkeypatch, tmp_path, app: AppTest):
    monkeypatch.setenv("ODORDIFF_GENERATOR_DIR", str(tmp_path))  # no checkpoint there
    _clear_caches()
    try:
        app.text_area(key="gen_prompt").input(PROMPT).run()
        assert not app.exception, app.exception
        assert app.error and "Cannot generate" in app.error[0].value and "checkpoint" in app.error[0].value
    finally:
        monkeypatch.undo()
        _clear_caches()
