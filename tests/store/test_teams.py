"""Teams: a project shared with a team is seen and edited by its members only, as the members are now; only admins
(or the operator's `odordiff teams`) manage teams. Each store test runs on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

from pathlib import Path

import pytest

from odordiff_core.cli import main
from odordiff_core.config import Settings
from odordiff_core.errors import InvalidInput
from odordiff_core.store import NotFound, PermissionDenied, Role, Store, Team, User

ITEM = {"smiles": "CCO", "source": "generated", "user_note": "soft"}
VERSIONS = {"generator": "generator-1.0+ab"}


def citrus_team(store: Store) -> tuple[User, User, User, int]:
    """Ana (admin) owns a project shared with the team "citrus" of which Bob is a member; Cy is not a member."""
    ana = store.ensure_user("ana@example.com", "Ana")
    bob = store.ensure_user("bob@example.com", "Bob")
    cy = store.ensure_user("cy@example.com", "Cy")
    store.create_team(ana, "Citrus")
    store.set_team_members(ana, "citrus", ["Bob@Example.com"])
    project = store.create_project(ana, "Lemon study")
    shared = store.share_project(ana, project.id, [], teams=["citrus"])
    assert (shared.shared_with, shared.shared_with_teams) == ((), ("citrus",))
    return ana, bob, cy, project.id


def test_a_team_member_sees_and_edits_a_project_shared_with_the_team(store: Store) -> None:
    ana, bob, _, pid = citrus_team(store)
    assert [p.id for p in store.projects(bob)] == [pid]
    assert store.project(bob, pid).shared_with_teams == ("citrus",)
    run = store.save_run(bob, pid, {"prompt": "lemon"}, None, VERSIONS)
    assert [r.id for r in store.runs(bob, pid)] == [run.id] and store.run(bob, run.id).prompt == "lemon"
    entry = store.keep(bob, pid, "CCO", ITEM)
    edited = store.update_entry(bob, entry.id, entry.version, note="bright", rating=4)
    assert [(e.note, e.rating) for e in store.shortlist(ana, pid)] == [("bright", 4)]
    store.remove_entry(bob, edited.id)
    assert store.shortlist(ana, pid) == []


def test_someone_outside_the_team_gets_not_found_everywhere(store: Store) -> None:
    ana, _, cy, pid = citrus_team(store)
    run = store.save_run(ana, pid, {"prompt": "lemon"}, None, VERSIONS)
    entry = store.keep(ana, pid, "CCO", ITEM)
    assert store.projects(cy) == []
    for call in (lambda: store.project(cy, pid), lambda: store.runs(cy, pid), lambda: store.run(cy, run.id),
                 lambda: store.shortlist(cy, pid), lambda: store.keep(cy, pid, "CCCO", ITEM),
                 lambda: store.update_entry(cy, entry.id, entry.version, note="x"),
                 lambda: store.remove_entry(cy, entry.id), lambda: store.export_project(cy, pid),
                 lambda: store.save_run(cy, pid, {"prompt": "x"}, None, VERSIONS)):
        with pytest.raises(NotFound):
            call()
    assert [e.note for e in store.shortlist(ana, pid)] == ["soft"]


def test_removing_a_member_or_the_team_or_the_share_revokes_access_at_once(store: Store) -> None:
    ana, bob, _, pid = citrus_team(store)
    assert store.project(bob, pid).id == pid
    store.set_team_members(ana, "citrus", [])
    with pytest.raises(NotFound):
        store.project(bob, pid)
    store.set_team_members(ana, "citrus", ["bob@example.com"])
    store.share_project(ana, pid, [])  # the owner un-shares: teams=() replaces the team list too
    assert store.projects(bob) == [] and store.project(ana, pid).shared_with_teams == ()
    store.share_project(ana, pid, [], teams=["citrus"])
    store.delete_team(ana, "citrus")
    assert store.projects(bob) == [] and store.project(ana, pid).shared_with_teams == ()


def test_a_viewer_in_the_team_reads_but_cannot_edit(store: Store) -> None:
    ana, bob, _, pid = citrus_team(store)
    entry = store.keep(ana, pid, "CCO", ITEM)
    store.set_role(ana, "bob@example.com", Role.VIEWER)
    bob = store.user_by_email("bob@example.com")
    assert [e.smiles for e in store.shortlist(bob, pid)] == ["CCO"]
    for call in (lambda: store.keep(bob, pid, "CCCO", ITEM),
                 lambda: store.update_entry(bob, entry.id, entry.version, note="x"),
                 lambda: store.remove_entry(bob, entry.id),
                 lambda: store.save_run(bob, pid, {"prompt": "x"}, None, VERSIONS)):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(PermissionDenied):  # sharing stays the owner's
        store.share_project(bob, pid, ["bob@example.com"])


def test_only_an_admin_manages_teams_and_others_see_only_their_own(store: Store) -> None:
    ana, bob, cy, _ = citrus_team(store)
    store.create_team(ana, "woody")
    for call in (lambda: store.create_team(bob, "mine"), lambda: store.set_team_members(bob, "citrus", ["cy@x.org"]),
                 lambda: store.delete_team(bob, "citrus")):
        with pytest.raises(PermissionDenied):
            call()
    assert [t.name for t in store.teams(ana)] == ["citrus", "woody"]
    assert store.teams(bob) == [Team(store.teams(bob)[0].id, "citrus", ("bob@example.com",))]
    assert store.teams(cy) == []
    assert [t.members for t in store.list_teams()] == [("bob@example.com",), ()]


def test_bad_team_names_and_unknown_teams_are_refused_with_nothing_changed(store: Store) -> None:
    ana, _, _, pid = citrus_team(store)
    for bad in ("", "two words", "team:x", "x" * 101, "-lead"):
        with pytest.raises(InvalidInput, match="not a team name"):
            store.create_team(ana, bad)
    with pytest.raises(InvalidInput, match="exists"):
        store.create_team(ana, "CITRUS")
    with pytest.raises(InvalidInput, match="No team named ghost"):
        store.share_project(ana, pid, ["dan@example.com"], teams=["citrus", "ghost"])
    assert store.project(ana, pid).shared_with == () and store.project(ana, pid).shared_with_teams == ("citrus",)
    with pytest.raises(NotFound):
        store.set_team_members(ana, "ghost", ["dan@example.com"])
    with pytest.raises(NotFound):
        store.delete_team(ana, "ghost")


def test_a_member_exports_a_team_shared_project_and_imports_it_as_their_own(store: Store) -> None:
    ana, bob, cy, pid = citrus_team(store)
    store.save_run(ana, pid, {"prompt": "lemon"}, None, VERSIONS)
    store.keep(ana, pid, "CCO", ITEM)
    imported = store.import_project(bob, store.export_project(bob, pid))
    assert (imported.name, imported.owner_email, imported.shared_with_teams) == ("Lemon study", "bob@example.com", ())
    assert [e.note for e in store.shortlist(bob, imported.id)] == ["soft"]
    assert [r.prompt for r in store.runs(bob, imported.id)] == ["lemon"]
    with pytest.raises(NotFound):  # the copy is Bob's own, not shared with the team
        store.project(ana, imported.id)


def test_teams_commands_manage_teams_from_the_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ODORDIFF_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.delenv("ODORDIFF_DATABASE_URL", raising=False)
    with Store.open(Settings.from_env()) as store:
        ana = store.ensure_user("ana@example.com")
        bob = store.ensure_user("bob@example.com")
        pid = store.create_project(ana, "Lemon study").id
        assert main(["teams", "create", "Citrus"]) == 0
        assert main(["teams", "members", "citrus", "bob@example.com", "CY@example.com"]) == 0
        assert main(["teams", "create", "woody"]) == 0
        capsys.readouterr()
        assert main(["teams", "list"]) == 0
        assert capsys.readouterr().out.splitlines() == ["citrus: bob@example.com, cy@example.com",
                                                        "woody: (no members)"]
        store.share_project(ana, pid, [], teams=["citrus"])
        assert [p.id for p in store.projects(bob)] == [pid]
        assert main(["teams", "members", "citrus", "cy@example.com"]) == 0
        assert store.projects(bob) == []
        assert main(["teams", "delete", "citrus"]) == 0
        assert main(["teams", "delete", "citrus"]) == 2
        assert "No team named 'citrus'" in capsys.readouterr().err
        assert main(["teams", "create", "bad name"]) == 2
        assert "not a team name" in capsys.readouterr().err
        assert [t.name for t in store.list_teams()] == ["woody"]
