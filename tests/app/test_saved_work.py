"""AppTest: a perfumer's work is saved in the store and private (issue 15).

Each test has its own empty SQLite work.db (the `work_dir` fixture of conftest.py). A new `AppTest` is a new
browser session, so "a reload keeps everything" is a second AppTest on the same database. Signed-in users are
simulated with `AppTest.user` and an `[auth]` block in `AppTest.secrets`: the app reads them exactly as it reads
`st.user` and `st.secrets` after a real OpenID Connect sign-in (tests/e2e/test_signin.py does the real one).
"""
from __future__ import annotations

import dataclasses
import socket
from contextlib import closing
from pathlib import Path

from streamlit.testing.v1 import AppTest
from test_hostile_text import HOSTILE, _assert_inert, _shown  # tests/app is on sys.path (no __init__.py)

from app_ui.widgets import md_text
from odordiff_core.export import ShortlistItem
from odordiff_core.store import Store

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120  # first use loads the predictor, the safety tables and the known-odorant index
PROMPT = "juicy pink grapefruit, slightly bitter"
LINALOOL = "CC(C)=CCCC(C)(O)C=C"
LINALOOL_CANONICAL = "C=CC(C)(O)CCC=C(C)C"  # how the shortlist stores it
VANILLIN = "COc1cc(C=O)ccc1O"
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-only-cookie-secret",
                 "client_id": "odordiff", "client_secret": "test-only",
                 "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"},
        "odordiff": {"roles_claim": "odordiff_role"}}
HOSTILE_NOTE = ("<img src=x onerror=alert(1)> **bold** [link](http://example.com) :red[red] $x^2$ "
                "\u202eevil\u202c שלום 🧪 ñandú\n# heading")


def _session(email: str | None = None, role: str | None = None) -> AppTest:
    """A fresh browser session: the local user, or `email` signed in through the identity provider."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    if email is not None:
        at.secrets = AUTH
        at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0],
                   **({"odordiff_role": role} if role else {})}
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    kinds = (at.markdown, at.caption, at.error, at.warning, at.info, at.success)
    return "\n".join(str(e.value) for kind in kinds for e in kind)


def _keep_by_analyze(at: AppTest, smiles: str) -> None:
    at.switch_page("pages/analyze.py")
    at.run()
    at.text_input(key="analyze_smiles").input(smiles).run()
    at.button(key="analyze_add").click().run()
    assert not at.exception, at.exception
    assert not at.error, _texts(at)


def _generate(at: AppTest, n: int = 4) -> object:
    at.switch_page("pages/generate.py")
    at.run()
    at.text_area(key="gen_prompt").input(PROMPT).run()
    at.slider(key="gen_n").set_value(n).run()
    at.button(key="gen_go").click().run()
    assert not at.exception, at.exception
    result = at.session_state["gen_result"]
    assert result is not None and result.candidates, _texts(at)
    return result


def _open_store(work_dir: Path) -> Store:
    return Store.open(url=f"sqlite:///{work_dir / 'work.db'}")


def _edit_note(at: AppTest, row: int, note: str) -> None:
    """Types `note` into the shortlist editor's "your note" cell of `row` (as the grid sends it) and reruns."""
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {row: {"your note": note}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def test_kept_candidates_and_the_run_survive_a_reload_and_reopen_exactly(work_dir):
    at = _session()
    result = _generate(at)
    assert "Saved in the project “My first project”" in _texts(at)
    for cand in result.candidates[:2]:
        at.checkbox(key=f"sl_{cand.smiles}").check().run()
    assert not at.error, _texts(at)

    again = _session()  # a reload: a new session, nothing in its session state
    assert "Shortlist: 2 molecules" in [c.value for c in again.sidebar.caption]  # (AppTest shows the sidebar once)
    again.switch_page("pages/shortlist.py")
    again.run()
    assert list(again.session_state["shortlist"]) == [c.smiles for c in result.candidates[:2]]

    again.switch_page("pages/history.py")
    again.run()
    assert not again.exception, again.exception
    assert md_text(PROMPT) in _texts(again)
    assert "model changed" not in _texts(again)  # same models as when it was saved
    again.button(key=next(b.key for b in again.button if b.key.startswith("reopen_"))).click().run()
    assert not again.exception, again.exception
    reopened = again.session_state["gen_result"]
    assert reopened.to_json() == result.to_json()  # the exact result: same request, seed and candidates
    assert again.text_area(key="gen_prompt").value == PROMPT and again.session_state["gen_seed"] == result.request.seed


def test_history_says_the_model_changed_and_offers_to_regenerate(work_dir):
    at = _session()
    result = _generate(at)
    with closing(_open_store(work_dir)) as store:
        me = store.ensure_user("local@localhost")
        project = store.default_project(me)
        old = store.runs(me, project.id)[0]
        store.save_run(me, project.id, old.request, old.result, {**old.model_versions, "generator": "generator-v0-old"})
    at.switch_page("pages/history.py")
    at.run()
    assert "The model changed since" in _texts(at) and md_text("generator-v0-old") in _texts(at)
    regen = [b for b in at.button if b.key.startswith("regen_")]
    assert len(regen) == 1  # only the run whose models differ
    regen[0].click().run()
    assert not at.exception, at.exception
    assert at.session_state["gen_result"].request == result.request


def test_a_stale_note_edit_is_not_saved_and_the_page_says_it_reloaded(work_dir):
    a = _session()
    _keep_by_analyze(a, LINALOOL)
    b = _session()  # the same user in a second window
    for at in (a, b):
        at.switch_page("pages/shortlist.py")
        at.run()
    _edit_note(a, 0, "first: lemon peel")
    assert not a.error, _texts(a)
    _edit_note(b, 0, "second: soapy")  # made on the version b was shown, which a has replaced
    assert any("Not saved" in e.value and md_text("second: soapy") in e.value for e in b.error), _texts(b)
    with closing(_open_store(work_dir)) as store:
        me = store.ensure_user("local@localhost")
        entry = store.shortlist(me, store.default_project(me).id)[0]
    assert entry.note == "first: lemon peel" and entry.version == 2  # nothing overwritten
    assert b.data_editor[0].value["your note"].tolist() == ["first: lemon peel"]  # b shows the saved version now
    _edit_note(b, 0, "second: soapy")  # redone on the fresh version: saved
    assert not b.error, _texts(b)


def test_a_100_kB_unicode_html_note_is_saved_exactly_and_shown_as_text(work_dir):
    at = _session()
    _keep_by_analyze(at, LINALOOL)
    _keep_by_analyze(at, VANILLIN)
    at.switch_page("pages/shortlist.py")
    at.run()
    note = (HOSTILE_NOTE * (100 * 1024 // len(HOSTILE_NOTE.encode())))[:100 * 1024 // 4]
    _edit_note(at, 0, note)
    assert not at.error, _texts(at)[:500]
    with closing(_open_store(work_dir)) as store:
        me = store.ensure_user("local@localhost")
        assert store.shortlist(me, store.default_project(me).id)[0].note == note
    for page in ("pages/shortlist.py", "pages/compare.py", "pages/generate.py", "pages/history.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        assert "<img" not in _texts(at) and "[link](" not in _texts(at), page  # notes are never Markdown
    too_long = "é" * (60 * 1024)  # 120 KiB of UTF-8: over the store's 100 KiB limit
    at.switch_page("pages/shortlist.py")
    at.run()
    _edit_note(at, 1, too_long)
    assert any("Not saved" in e.value for e in at.error), _texts(at)[:500]


def test_hostile_prompts_and_notes_from_the_store_are_shown_as_plain_text(work_dir):
    """What tests/app/test_hostile_text.py checks for a session-state shortlist, for one read from the store."""
    at = _session()
    _keep_by_analyze(at, LINALOOL)
    _keep_by_analyze(at, VANILLIN)
    with closing(_open_store(work_dir)) as store:
        me = store.ensure_user("local@localhost")
        pid = store.default_project(me).id
        for n, entry in enumerate(store.shortlist(me, pid)):  # kept again with a hostile brief, then noted
            store.remove_entry(me, entry.id)
            item = dataclasses.replace(ShortlistItem.from_json(entry.item), prompt=HOSTILE[n], seed=0)
            kept = store.keep(me, pid, entry.smiles, item.to_json())
            store.update_entry(me, kept.id, kept.version, note=HOSTILE[n + 2])
    for page in ("pages/shortlist.py", "pages/compare.py", "pages/generate.py", "pages/history.py", "pages/about.py"):
        at.switch_page(page)
        at.run()
        _assert_inert(at)
    at.switch_page("pages/compare.py")
    at.run()
    assert any(f"for “{HOSTILE[0]}”" in _shown(c.value) for c in at.caption)


def test_a_project_exported_by_one_user_is_imported_by_another_and_a_corrupt_file_imports_nothing(work_dir):
    ana = _session("ana@example.com", role="perfumer")
    _keep_by_analyze(ana, LINALOOL)
    ana.switch_page("pages/shortlist.py")
    ana.run()
    ana.button(key="project_export").click().run()
    assert not ana.exception, ana.exception
    project_id, data = ana.session_state["project_file"]
    assert project_id == ana.session_state["work_project"] and data[:2] == b"PK"  # a zip

    ben = _session("ben@example.com", role="perfumer")
    ben.switch_page("pages/shortlist.py")
    ben.run()
    ben.file_uploader(key="project_import_file").set_value(("broken.zip", b"PK\x03\x04 not really a zip",
                                                             "application/zip"))
    ben.button(key="project_import").click().run()
    assert not ben.exception, ben.exception
    assert any("not a valid" in e.value or "zip" in e.value for e in ben.error), _texts(ben)  # a clear message
    assert not ben.success
    assert list(ben.session_state["shortlist"]) == []
    ben.file_uploader(key="project_import_file").set_value(("ana.zip", data, "application/zip"))
    ben.button(key="project_import").click().run()
    assert not ben.exception, ben.exception
    assert any(md_text("Imported ana.zip") in s.value for s in ben.success), _texts(ben)
    assert ben.session_state["work_project"] != project_id  # a new project of Ben's, now the current one
    assert list(ben.session_state["shortlist"]) == [LINALOOL_CANONICAL]


def test_a_viewer_can_read_and_analyze_but_not_generate_or_keep(work_dir):
    with closing(_open_store(work_dir)) as store:
        store.ensure_user("admin@example.com")  # the first user of a database is its admin
    at = _session("viewer@example.com", role="viewer")
    assert "Role: **viewer**" in [c.value for c in at.sidebar.caption]
    at.text_area(key="gen_prompt").input(PROMPT).run()
    assert at.button(key="gen_go").disabled
    at.switch_page("pages/analyze.py")
    at.run()
    at.text_input(key="analyze_smiles").input(LINALOOL).run()
    assert not at.exception and "safety:" in _texts(at)  # analyzing works
    assert at.button(key="analyze_add").disabled
    at.switch_page("pages/shortlist.py")
    at.run()
    assert at.button(key="project_import").disabled


def test_two_users_never_see_each_others_work_by_any_page_or_url_parameter(work_dir):
    ana = _session("ana@example.com", role="perfumer")
    _keep_by_analyze(ana, LINALOOL)
    ana_project = ana.session_state["work_project"]
    ben = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    ben.secrets, ben.user = AUTH, {"is_logged_in": True, "email": "ben@example.com", "odordiff_role": "perfumer"}
    ben.query_params["project"] = str(ana_project)  # a guessed id in the URL is not a way in
    ben.run()
    assert "ana@example.com" not in "\n".join(str(c.value) for c in ben.sidebar.caption)
    assert ben.selectbox(key="work_project_picker").options == ["My first project"]  # Ben's own project only
    assert ben.session_state["work_project"] != ana_project
    for page in ("pages/shortlist.py", "pages/compare.py", "pages/analyze.py", "pages/history.py"):
        ben.switch_page(page)
        ben.run()
        assert not ben.exception, (page, ben.exception)
        assert "ana@example.com" not in _texts(ben) and md_text(LINALOOL_CANONICAL) not in _texts(ben), page
        assert list(ben.session_state["shortlist"]) == [], page
    assert "No brief has been saved" in _texts(ben)


def test_a_project_shared_with_a_named_user_is_seen_by_them_and_nobody_else(work_dir):
    ana = _session("ana@example.com", role="perfumer")
    _keep_by_analyze(ana, LINALOOL)
    ana_project = ana.session_state["work_project"]
    ana = _session("ana@example.com", role="perfumer")  # (AppTest draws the sidebar on a session's first run only)
    share_box = next(t for t in ana.sidebar.text_area if t.key.startswith("work_share_"))
    share_box.input("ben@example.com")
    ana.button(key="work_share").click().run()
    assert not ana.exception, ana.exception

    ben = _session("ben@example.com", role="perfumer")
    picker = ben.selectbox(key="work_project_picker")
    assert "My first project (shared by ana@example.com)" in picker.options, picker.options
    picker.set_value(ana_project).run()
    ben.switch_page("pages/shortlist.py")
    ben.run()
    assert list(ben.session_state["shortlist"]) == [LINALOOL_CANONICAL]
    cyd = _session("cyd@example.com", role="perfumer")
    assert len(cyd.selectbox(key="work_project_picker").options) == 1  # only Cyd's own project


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_the_database_down_generation_works_and_nothing_is_reported_saved(monkeypatch):
    from app_ui import resources

    monkeypatch.setenv("ODORDIFF_DATABASE_URL", f"postgresql+psycopg://odordiff@127.0.0.1:{_dead_port()}/postgres")
    resources.get_settings.clear()
    resources.get_store.clear()
    at = _session()
    assert any("Saved work unavailable" in w.value and "Nothing was saved" in w.value for w in at.sidebar.warning)
    result = _generate(at)
    text = _texts(at)
    assert "This run was NOT saved" in text and "Saved in the project" not in text
    assert all(at.checkbox(key=f"sl_{c.smiles}").disabled for c in result.candidates)  # keeping needs the database
    for page in ("pages/shortlist.py", "pages/history.py", "pages/compare.py", "pages/about.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
    assert "unavailable" in _texts(at)  # About says so


def test_about_names_the_local_user_when_no_identity_provider_is_configured(work_dir):
    at = _session()
    at.switch_page("pages/about.py")
    at.run()
    text = _texts(at)
    assert "no identity provider is configured" in text and md_text("local@localhost") in text
    assert "answering" in text and str(work_dir / "work.db") in text.replace("\\", "")
