"""The saved-work store, against SQLite and a real PostgreSQL server (the `store` fixture runs each test on both)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from odordiff_core.errors import InvalidInput
from odordiff_core.store import (
    MAX_NOTE_BYTES,
    EditConflict,
    NotFound,
    PermissionDenied,
    Role,
    ShortlistStatus,
    Store,
    User,
)

ITEM = {"smiles": "CC(C)=CCCC(C)(O)C=C", "source": "generated", "prompt": "fresh lemon", "seed": 3,
        "generator_version": "generator-1.0+ab", "odor_match": 0.42, "user_note": ""}
REQUEST = {"prompt": "fresh lemon, no musk", "n": 8, "seed": 11, "guidance": 2.5, "weights": {"citrus": 1.0, "musk": 0.0},
           "note": "top", "mw_range": [120.0, 260.0], "hide_caution": True, "keep_scaffold_of": None, "edit_of": None,
           "edit_strength": 0.5, "exploration": 0.7}
RESULT = {"request": REQUEST, "candidates": [{"rank": 1, "smiles": "CCO", "odor_match": 0.125}], "n_sampled": 32,
          "message": None, "model_version": "g|p|t|s|u"}
VERSIONS = {"generator": "generator-1.0+ab", "predictor": "predictor-1.0+cd"}


def two_users(store: Store) -> tuple[User, User]:
    return store.ensure_user("ana@example.com", "Ana"), store.ensure_user("bob@example.com", "Bob")


# ---- users and roles ---------------------------------------------------------------------------------------------
def test_first_user_is_admin_later_users_perfumers_and_a_claim_gives_the_role(store: Store) -> None:
    ana, bob = two_users(store)
    assert (ana.role, bob.role) == (Role.ADMIN, Role.PERFUMER)
    assert store.ensure_user("Cy@Example.com ", claimed_role=Role.VIEWER).role is Role.VIEWER
    assert store.ensure_user("cy@example.com").role is Role.PERFUMER  # no claim at this sign-in: the claim is gone


def test_an_admin_named_before_anyone_signed_in_is_the_only_admin(store: Store) -> None:
    store.assign_role("boss@example.com", Role.ADMIN)
    assert store.ensure_user("early@example.com").role is Role.PERFUMER
    assert store.ensure_user("boss@example.com").role is Role.ADMIN


def test_the_admin_edited_role_wins_over_the_claim_and_only_an_admin_may_set_it(store: Store) -> None:
    ana, bob = two_users(store)
    with pytest.raises(PermissionDenied):
        store.set_role(bob, "ana@example.com", Role.VIEWER)
    assert store.set_role(ana, "bob@example.com", Role.VIEWER).role is Role.VIEWER
    assert store.ensure_user("bob@example.com", claimed_role=Role.ADMIN).role is Role.VIEWER
    with pytest.raises(PermissionDenied):
        store.users(bob)
    assert [u.email for u in store.users(ana)] == ["ana@example.com", "bob@example.com"]


def test_usage_counts_each_users_work_for_admins_only(store: Store) -> None:
    ana, bob = two_users(store)
    project = store.default_project(bob)
    store.save_run(bob, project.id, REQUEST, None, VERSIONS)
    store.keep(bob, project.id, "CCO", ITEM)
    with pytest.raises(PermissionDenied):
        store.usage(bob)
    rows = {u.email: (u.role, u.projects, u.runs, u.shortlisted, u.last_run_at is not None) for u in store.usage(ana)}
    assert rows == {"ana@example.com": (Role.ADMIN, 0, 0, 0, False), "bob@example.com": (Role.PERFUMER, 1, 1, 1, True)}


def test_a_demotion_applies_at_once_even_to_a_user_object_held_by_a_session(store: Store) -> None:
    ana, bob = two_users(store)
    project = store.default_project(bob)
    store.set_role(ana, "bob@example.com", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        store.keep(bob, project.id, "CCO", ITEM)  # `bob` still says perfumer: the database's role wins
    with pytest.raises(PermissionDenied):  # nor can a caller claim more than the database gives
        store.set_role(User(bob.id, bob.email, bob.name, Role.ADMIN), "ana@example.com", Role.VIEWER)


def test_the_last_admin_cannot_be_demoted(store: Store) -> None:
    ana, _ = two_users(store)
    with pytest.raises(InvalidInput, match="last admin"):
        store.set_role(ana, "ana@example.com", Role.PERFUMER)
    assert store.user_by_email("ana@example.com").role is Role.ADMIN


def test_a_forged_user_is_refused(store: Store) -> None:
    ana, bob = two_users(store)
    with pytest.raises(PermissionDenied):
        store.projects(User(ana.id, "mallory@example.com", "M", Role.ADMIN))
    with pytest.raises(PermissionDenied):
        store.projects(User(999, "ana@example.com", "A", Role.ADMIN))


# ---- projects, sharing and scoping -------------------------------------------------------------------------------
def test_default_project_is_created_once_and_projects_lists_own_and_shared(store: Store) -> None:
    ana, bob = two_users(store)
    first = store.default_project(ana)
    assert store.default_project(ana) == first and first.name == "My first project"
    other = store.create_project(ana, "Summer citrus")
    assert [p.id for p in store.projects(ana)] == [first.id, other.id]
    assert store.projects(bob) == []
    shared = store.share_project(ana, other.id, ["BOB@example.com", "cy@example.com"])
    assert shared.shared_with == ("bob@example.com", "cy@example.com")
    assert [p.id for p in store.projects(bob)] == [other.id]
    assert store.share_project(ana, other.id, ["cy@example.com"]).shared_with == ("cy@example.com",)  # replaces
    assert store.projects(bob) == []


def test_a_shared_perfumer_edits_a_shared_viewer_only_reads_and_only_the_owner_shares(store: Store) -> None:
    ana, bob = two_users(store)
    viewer = store.ensure_user("vi@example.com", claimed_role=Role.VIEWER)
    project = store.create_project(ana, "Shared")
    store.share_project(ana, project.id, [bob.email, viewer.email])
    entry = store.keep(bob, project.id, "CCO", ITEM)
    assert store.update_entry(bob, entry.id, entry.version, note="from Bob").note == "from Bob"
    assert [e.note for e in store.shortlist(viewer, project.id)] == ["from Bob"]
    for change in (lambda: store.keep(viewer, project.id, "CCC", ITEM),
                   lambda: store.update_entry(viewer, entry.id, 2, note="x"),
                   lambda: store.remove_entry(viewer, entry.id),
                   lambda: store.save_run(viewer, project.id, REQUEST, None, VERSIONS),
                   lambda: store.create_project(viewer, "mine"),
                   lambda: store.share_project(bob, project.id, [])):
        with pytest.raises(PermissionDenied):
            change()
    assert [(e.note, e.version) for e in store.shortlist(ana, project.id)] == [("from Bob", 2)]


def test_another_user_cannot_read_or_change_a_project_its_runs_or_entries_by_any_method(store: Store) -> None:
    ana, bob = two_users(store)
    admin_bob = store.set_role(ana, "bob@example.com", Role.ADMIN)  # an admin manages roles, not others' work
    project = store.default_project(ana)
    run = store.save_run(ana, project.id, REQUEST, RESULT, VERSIONS)
    entry = store.keep(ana, project.id, "CCO", ITEM)
    missing = 10_000
    for who in (bob, admin_bob):
        for pid, rid, eid in ((project.id, run.id, entry.id), (missing, missing, missing)):  # foreign == missing
            calls = [("project", pid), ("runs", pid), ("run", rid), ("shortlist", pid), ("keep", pid, "CCC", ITEM),
                     ("update_entry", eid, 1), ("remove_entry", eid), ("save_run", pid, REQUEST, None, VERSIONS),
                     ("export_project", pid), ("share_project", pid, [who.email])]
            for method, *args in calls:
                with pytest.raises(NotFound, match="does not exist or is not shared with you"):
                    getattr(store, method)(who, *args)
    for guess in (0, -1, True, "1", None, 1.0, 2**31, 2**70):
        for method in ("project", "run", "remove_entry"):
            with pytest.raises(NotFound):
                getattr(store, method)(bob, guess)
    assert [p.id for p in store.projects(bob)] == []
    assert [(e.note, e.version) for e in store.shortlist(ana, project.id)] == [("", 1)]
    assert [r.id for r in store.runs(ana, project.id)] == [run.id]


# ---- runs ----------------------------------------------------------------------------------------------------------
def test_runs_keep_the_exact_request_result_and_model_versions_newest_first(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    first = store.save_run(ana, project.id, REQUEST, RESULT, VERSIONS)
    second = store.save_run(ana, project.id, {**REQUEST, "seed": 12}, None, VERSIONS)
    runs = store.runs(ana, project.id)
    assert [r.id for r in runs] == [second.id, first.id]
    again = store.run(ana, first.id)
    assert (again.request, again.result, again.model_versions, again.prompt) == (REQUEST, RESULT, VERSIONS,
                                                                                 "fresh lemon, no musk")
    assert runs[0].result is None and again.created_at.tzinfo is not None


def test_a_prompt_with_nul_or_a_lone_surrogate_is_kept_exactly_in_the_request(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    request = {**REQUEST, "prompt": "lemon\x00 \ud800 peel"}  # PostgreSQL text cannot hold either character
    run = store.run(ana, store.save_run(ana, project.id, request, None, VERSIONS).id)
    assert run.request == request and run.prompt == "lemon\ufffd \ufffd peel"


def test_save_run_refuses_what_is_not_json_and_saves_nothing(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    with pytest.raises(InvalidInput, match="JSON"):
        store.save_run(ana, project.id, {"prompt": "x", "bad": object()}, None, VERSIONS)
    with pytest.raises(InvalidInput, match="model_versions"):
        store.save_run(ana, project.id, REQUEST, None, {"generator": 1})  # type: ignore[dict-item]
    assert store.runs(ana, project.id) == []


# ---- shortlist -----------------------------------------------------------------------------------------------------
def test_keep_is_idempotent_per_molecule_and_the_shortlist_keeps_the_order_kept(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    a = store.keep(ana, project.id, "CCO", {**ITEM, "user_note": "first note"})
    store.keep(ana, project.id, "CCCO", ITEM)
    edited = store.update_entry(ana, a.id, a.version, rating=5)
    again = store.keep(ana, project.id, "CCO", {**ITEM, "user_note": "ignored"})
    assert again == edited and again.note == "first note"
    assert [e.smiles for e in store.shortlist(ana, project.id)] == ["CCO", "CCCO"]
    assert (again.status, again.item) == (ShortlistStatus.TO_SMELL, {**ITEM, "user_note": "first note"})


def test_two_sessions_editing_the_same_note_the_second_gets_edit_conflict_and_nothing_is_lost(db_url: str) -> None:
    first, second = Store.open(url=db_url), Store.open(url=db_url)  # two app replicas / browser sessions
    try:
        ana = first.ensure_user("ana@example.com")
        project = first.default_project(ana)
        entry = first.keep(ana, project.id, "CCO", ITEM)
        seen_by_second = second.shortlist(ana, project.id)[0]
        saved = first.update_entry(ana, entry.id, entry.version, note="sweet, waxy")
        with pytest.raises(EditConflict, match="not saved"):
            second.update_entry(ana, seen_by_second.id, seen_by_second.version, note="sharp, green")
        reloaded = second.shortlist(ana, project.id)[0]
        assert (reloaded.note, reloaded.version) == ("sweet, waxy", saved.version)
        merged = second.update_entry(ana, reloaded.id, reloaded.version, note="sweet, waxy; sharp, green")
        assert first.shortlist(ana, project.id)[0] == merged and merged.version == 3
    finally:
        first.close()
        second.close()


def test_concurrent_edits_from_threads_save_exactly_one_per_version(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    entry = store.keep(ana, project.id, "CCO", ITEM)
    outcomes: list[str] = []

    def edit(i: int) -> None:
        try:
            store.update_entry(ana, entry.id, entry.version, note=f"edit {i}")
            outcomes.append("saved")
        except EditConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["saved"]
    assert store.shortlist(ana, project.id)[0].version == 2


def test_notes_of_100_kib_unicode_and_markup_are_stored_exactly(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    entry = store.keep(ana, project.id, "CCO", ITEM)
    unicode = "Zitrone 🍋, ambré, 香り, שמן, \u200b zero-width, <script>alert(1)</script> **bold** [x](javascript:y)\r\n"
    big = (unicode * (MAX_NOTE_BYTES // len(unicode.encode())))
    big += "x" * (MAX_NOTE_BYTES - len(big.encode()))
    assert len(big.encode()) == MAX_NOTE_BYTES
    for note in (unicode, big):
        entry = store.update_entry(ana, entry.id, entry.version, note=note)
        assert store.shortlist(ana, project.id)[0].note == note


@pytest.mark.parametrize("note, reason", [("x" * (MAX_NOTE_BYTES + 1), "at most 102,400"), ("é" * 60_000, "bytes"),
                                          ("nul\x00byte", "NUL"), ("lone \ud800 surrogate", "surrogate")])
def test_a_note_the_store_cannot_keep_exactly_is_refused_and_the_old_one_stays(store: Store, note: str,
                                                                               reason: str) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    entry = store.keep(ana, project.id, "CCO", ITEM)
    entry = store.update_entry(ana, entry.id, entry.version, note="kept")
    with pytest.raises(InvalidInput, match=reason):
        store.update_entry(ana, entry.id, entry.version, note=note)
    assert store.shortlist(ana, project.id)[0] == entry


def test_rating_and_status_are_checked_and_rating_zero_clears(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    entry = store.keep(ana, project.id, "CCO", ITEM)
    entry = store.update_entry(ana, entry.id, entry.version, rating=4, status=ShortlistStatus.ORDERED)
    assert (entry.rating, entry.status) == (4, ShortlistStatus.ORDERED)
    for bad in ({"rating": 6}, {"rating": -1}, {"rating": True}, {"status": "smelled"}):
        with pytest.raises(InvalidInput):
            store.update_entry(ana, entry.id, entry.version, **bad)  # type: ignore[arg-type]
    entry = store.update_entry(ana, entry.id, entry.version, rating=0, status="rejected")  # type: ignore[arg-type]
    assert (entry.rating, entry.status, entry.note) == (None, ShortlistStatus.REJECTED, "")


def test_remove_entry_removes_it_and_a_second_remove_is_not_found(store: Store) -> None:
    ana, _ = two_users(store)
    project = store.default_project(ana)
    entry = store.keep(ana, project.id, "CCO", ITEM)
    store.remove_entry(ana, entry.id)
    assert store.shortlist(ana, project.id) == []
    with pytest.raises(NotFound):
        store.remove_entry(ana, entry.id)


# ---- API keys ------------------------------------------------------------------------------------------------------
def test_api_keys_are_stored_as_sha256_only_verified_listed_and_revoked(store: Store) -> None:
    ana, bob = two_users(store)
    key, info = store.create_api_key(bob, "lims", Role.PERFUMER)
    assert key.startswith("odk_") and len(key) > 40 and info.prefix == key[:8]
    with store.engine.connect() as conn:
        stored = [tuple(map(str, row)) for row in conn.execute(text("SELECT * FROM api_keys"))]
    assert not any(key in cell or key[8:] in cell for row in stored for cell in row)
    assert store.verify_api_key(key) == info and store.user_for_key(info) == bob
    assert store.verify_api_key(key + "x") is None and store.verify_api_key("nope") is None
    with pytest.raises(PermissionDenied):
        store.create_api_key(bob, "too-strong", Role.ADMIN)  # a key never exceeds its owner's role
    with pytest.raises(InvalidInput, match="exists"):
        store.create_api_key(bob, "lims", Role.VIEWER)
    revoked = store.revoke_api_key(info.prefix)
    assert revoked.revoked_at is not None and store.verify_api_key(key) is None
    assert [k.revoked_at is not None for k in store.api_keys()] == [True]
    with pytest.raises(NotFound):
        store.revoke_api_key("lims")


def test_a_demoted_owners_key_is_demoted_too(store: Store) -> None:
    ana, bob = two_users(store)
    key, _ = store.create_api_key(bob, "lims", Role.PERFUMER)
    store.set_role(ana, bob.email, Role.VIEWER)
    info = store.verify_api_key(key)
    assert info is not None and info.role is Role.VIEWER and store.user_for_key(info).role is Role.VIEWER
