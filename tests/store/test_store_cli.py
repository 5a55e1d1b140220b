"""`odordiff project export|import` and `odordiff users list|set-role` on the store ODORDIFF_WORK_DIR points to."""
from __future__ import annotations

from pathlib import Path

import pytest

from odordiff_core.cli import main
from odordiff_core.config import Settings
from odordiff_core.store import Role, Store


@pytest.fixture
def work_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("ODORDIFF_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.delenv("ODORDIFF_DATABASE_URL", raising=False)
    store = Store.open(Settings.from_env())
    assert Path(store.engine.url.database or "") == tmp_path / "work" / "work.db"
    return store


def test_users_list_and_set_role_from_the_shell(work_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    work_store.ensure_user("ana@example.com", "Ana")
    work_store.ensure_user("bob@example.com")
    assert main(["users", "set-role", "Bob@Example.com", "viewer"]) == 0
    assert main(["users", "set-role", "new@example.com", "admin"]) == 0
    assert "not signed in yet" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["admin     ana@example.com  Ana", "viewer    bob@example.com"]
    assert work_store.ensure_user("new@example.com").role is Role.ADMIN
    assert main(["users", "set-role", "x@example.com", "owner"]) == 2  # argparse names the choices


def test_project_export_then_import_moves_the_work(work_store: Store, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ana = work_store.ensure_user("ana@example.com")
    project = work_store.create_project(ana, "Citrus")
    work_store.keep(ana, project.id, "CCO", {"smiles": "CCO", "user_note": "soft"})
    out = tmp_path / "citrus.zip"
    assert main(["project", "export", "--project", str(project.id), "--user", "ana@example.com",
                 "--out", str(out)]) == 0
    assert main(["project", "import", str(out), "--user", "carl@example.com"]) == 0
    carl = work_store.user_by_email("carl@example.com")
    [imported] = work_store.projects(carl)
    assert imported.name == "Citrus" and [e.note for e in work_store.shortlist(carl, imported.id)] == ["soft"]


def test_project_commands_refuse_bad_input_with_a_message(work_store: Store, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    ana = work_store.ensure_user("ana@example.com")
    pid = work_store.default_project(ana).id
    work_store.ensure_user("bob@example.com")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    cases = [
        (["project", "export", "--project", str(pid), "--user", "bob@example.com", "--out", str(tmp_path / "x.zip")],
         "not shared with you"),
        (["project", "export", "--project", str(pid), "--user", "nobody@example.com", "--out", str(tmp_path / "x")],
         "not signed in"),
        (["project", "import", str(junk), "--user", "ana@example.com"], "not a readable zip"),
        (["project", "import", str(tmp_path / "missing.zip"), "--user", "ana@example.com"], "Cannot read"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        assert message in capsys.readouterr().err
    assert [p.id for p in work_store.projects(ana)] == [pid] and not (tmp_path / "x.zip").exists()
