"""The app's side of saved work: who is working, their current project, its shortlist and its history, in the store.

Every call goes through the process's one `Store` (`resources.get_store`), which scopes every query by the user:
a page can only name a project, run or entry, never read one the user may not see (the store raises NotFound).
Errors are the core's (`StoreUnavailable` when the database is down: the change was NOT saved; `EditConflict`;
`PermissionDenied`; `NotFound`) and reach the page, which says so. Nothing here reports a change as saved before
the store returned.

Session state keeps only ids and the user's record (`state.WORK_*`); the shortlist is read from the store on
every run and mirrored in `state.SHORTLIST` (SMILES -> ShortlistItem) for the pages that draw it. A role given by
an admin takes effect in the user's next session (the record is read once per session).
"""
from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from app_ui import auth, resources, state, widgets
from odordiff_core.errors import EditConflict, NotFound, OdorDiffError, PermissionDenied, StoreUnavailable
from odordiff_core.export import ShortlistItem
from odordiff_core.store import Project, Run, ShortlistEntry, Store, User
from odordiff_core.types import Role

EDITOR_COLUMNS = {"your note": "note", "rating": "rating", "status": "status"}  # Shortlist editor column -> field
VIEWER_REASON = "Viewers can read shared projects and analyze molecules, not generate or keep: ask an admin for " \
                "the perfumer role."


def store() -> Store:
    """Returns the process's Store. Raises StoreUnavailable when the database cannot be opened (retried next run)."""
    return resources.get_store()


def user() -> User:
    """Returns the store's record of who is working (created at their first sign-in). Raises StoreUnavailable.

    Call only once `auth.identity()` is not None (app.py shows the sign-in page until then).
    """
    ident = auth.identity()
    if ident is None:
        raise PermissionDenied("Nobody is signed in: sign in first.")
    cached = st.session_state.get(state.WORK_USER)
    if cached is not None and cached.email == ident.email:
        return cached
    record = store().ensure_user(ident.email, ident.name, ident.claimed_role)
    st.session_state[state.WORK_USER] = record
    return record


def role() -> Role:
    """Returns the role of who is working. While the store is unavailable and this session has not read it yet: the
    role the identity provider claims, else perfumer (generating needs no database, and keeping is refused anyway)."""
    try:
        return user().role
    except StoreUnavailable:
        ident = auth.identity()
        return (ident.claimed_role if ident else None) or Role.PERFUMER


def can_edit() -> bool:
    """Returns True when the user may generate, keep and edit (perfumer or admin)."""
    return role().rank >= Role.PERFUMER.rank


def project() -> Project:
    """Returns the current project: the one picked in the sidebar, else the user's default project (created on first
    use; a viewer's stays empty, they pick a project shared with them). Raises StoreUnavailable."""
    me, ss = user(), st.session_state
    picked = ss.get(state.WORK_PROJECT)
    if picked is not None:
        try:
            return store().project(me, picked)
        except NotFound:  # deleted or no longer shared: fall back to the user's own project
            pass
    current = store().default_project(me)
    ss[state.WORK_PROJECT] = current.id
    return current


def entries() -> list[ShortlistEntry]:
    """Returns the current project's shortlist entries in the order kept, read from the store now, and mirrors them
    in session state as ShortlistItems (`state.SHORTLIST`, same order). Raises OdorDiffError."""
    found = store().shortlist(user(), project().id)
    st.session_state[state.SHORTLIST] = {e.smiles: as_item(e) for e in found}
    return found


def as_item(entry: ShortlistEntry) -> ShortlistItem:
    """Returns the entry's molecule as a ShortlistItem whose `user_note` is the entry's saved note."""
    return dataclasses.replace(ShortlistItem.from_json(entry.item), user_note=entry.note)


def shortlist() -> dict[str, ShortlistItem]:
    """Returns the current project's shortlist (SMILES -> item, in the order kept), read from the store now.
    Raises OdorDiffError (StoreUnavailable when the database is down)."""
    entries()
    return st.session_state[state.SHORTLIST]


def keep(item: ShortlistItem) -> ShortlistEntry:
    """Saves `item` on the current project's shortlist (idempotent per molecule). Raises OdorDiffError."""
    return store().keep(user(), project().id, item.smiles, item.to_json())


def remove(smiles: str) -> None:
    """Removes the molecule from the current project's shortlist (nothing when it is not on it)."""
    for entry in entries():
        if entry.smiles == smiles:
            store().remove_entry(user(), entry.id)


def apply_edits(shown: Sequence[tuple[int, int, str]], edited_rows: dict[Any, dict[str, Any]]) -> tuple[bool, list[str]]:
    """Saves the Shortlist editor's cell edits (`edited_rows`: row -> {column: value}), each on the entry version the
    editor showed (`shown[row]` = (entry id, version, SMILES)), so an entry someone saved first is never overwritten.

    Returns (settled, problems). `settled` is False when the database was unavailable: nothing of that edit was
    saved and the page keeps it in the editor, to try again with the next change. `problems` are messages to show:
    an edit someone else saved first (quoting the note that was not saved), or one the store refused.
    """
    me, settled, problems = user(), True, []
    for row, change in edited_rows.items():
        entry_id, version, smiles = shown[int(row)]
        fields = {EDITOR_COLUMNS[c]: v for c, v in change.items() if c in EDITOR_COLUMNS}
        if "rating" in fields:  # a cleared cell is None; the store clears with 0 (None leaves it unchanged)
            fields["rating"] = 0 if fields["rating"] is None else int(fields["rating"])
        if "note" in fields:
            fields["note"] = fields["note"] or ""
        try:
            store().update_entry(me, entry_id, version, **fields)
        except EditConflict as e:
            typed = fields.get("note") or ""
            quote = f" Your note was: “{typed[:500]}{'…' if len(typed) > 500 else ''}”." if typed else ""
            problems.append(f"Not saved: {e}{quote} The list now shows the saved version.")
        except StoreUnavailable as e:
            settled = False
            problems.append(str(e))
        except OdorDiffError as e:  # refused: too long a note, a NUL character, a viewer
            problems.append(f"Not saved ({smiles}): {e}")
    return settled, problems


def model_versions(pipeline: Any) -> dict[str, str]:
    """Returns the version of each model and table that shapes a generation result, by name (saved with each run)."""
    return {"generator": pipeline.generator.version, "odor predictor": pipeline.reporter.predictor.version,
            "interpreter": pipeline.interpreter.version, "safety screen": pipeline.reporter.screen.version,
            "soundness screen": pipeline.soundness.version}


def save_run(result: Any) -> Run:
    """Saves a GenerationResult (its request, the full result and the model versions) into the current project.
    Raises OdorDiffError: the run was not saved."""
    return store().save_run(user(), project().id, result.request.to_json(), result.to_json(),
                            model_versions(resources.get_pipeline()))


def save_run_once(result: Any) -> Project:
    """Saves the run into the current project unless the last run this session saved there had the same request;
    returns the project. Raises OdorDiffError: the run was not saved."""
    current = project()
    key = (current.id, resources.request_key(result.request))
    if st.session_state.get(state.LAST_SAVED_RUN) != key:
        save_run(result)
        st.session_state[state.LAST_SAVED_RUN] = key
    return current


def changed_models(saved: dict[str, str], current: dict[str, str]) -> list[str]:
    """Returns "name: saved -> current" for every model whose version differs (empty: the same models)."""
    return [f"{name}: {saved.get(name, 'not recorded')} → {current.get(name, 'absent')}"
            for name in sorted(set(saved) | set(current)) if saved.get(name) != current.get(name)]


def attempt(action: Callable[..., Any], *args: Any, done: str = "") -> None:
    """Runs a store change from a widget callback; its outcome is shown once at the top of the next run
    (`show_outcome`): the store's message when it failed, else `done` (if any)."""
    try:
        action(*args)
    except OdorDiffError as e:
        st.session_state[state.WORK_OUTCOME] = ("error", str(e))
    else:
        if done:
            st.session_state[state.WORK_OUTCOME] = ("success", done)


def show_outcome() -> None:
    """Shows, once, the outcome a callback left with `attempt` (as plain text)."""
    outcome = st.session_state.pop(state.WORK_OUTCOME, None)
    if outcome is not None:
        kind, text = outcome
        (st.error if kind == "error" else st.success)(widgets.md_text(text))


def _pick_project(project_id: int) -> None:
    st.session_state[state.WORK_PROJECT] = project_id


def _picked() -> None:
    _pick_project(st.session_state[state.PROJECT_PICKER])


def _create_project() -> None:
    name = st.session_state.get("work_new_project", "").strip()
    if not name:
        st.session_state[state.WORK_OUTCOME] = ("error", "Give the new project a name.")
        return

    def create() -> None:
        _pick_project(store().create_project(user(), name).id)

    attempt(create, done=f"Created the project “{name}”.")
    st.session_state["work_new_project"] = ""


def _share_project(project_id: int, key: str) -> None:
    entries = sorted({e for e in re.split(r"[\s,;]+", st.session_state.get(key, "")) if e})
    emails = [e for e in entries if not e.lower().startswith("team:")]
    teams = [e[len("team:"):] for e in entries if e.lower().startswith("team:")]

    def share() -> None:
        store().share_project(user(), project_id, emails, teams=teams)

    attempt(share, done=f"Shared with {', '.join(entries)}." if entries else "The project is private again.")


def sidebar() -> None:
    """The sidebar's saved-work part: who is signed in, the project picker, the shortlist count, the store's state."""
    ident = auth.identity()
    if ident is None:
        return
    who = widgets.md_text(ident.name if ident.name != ident.email else ident.email)
    if ident.signed_in:
        st.caption(f"Signed in as **{who}** ({widgets.md_text(ident.email)})")
        auth.sign_out_button()
    else:
        st.caption("Local user: no sign-in is configured (see About).")
    try:
        me = user()
        current = project()
        projects = store().projects(me)
        items = shortlist()
    except OdorDiffError as e:
        st.warning(f"Saved work unavailable: {widgets.md_text(str(e))}")
        return
    st.caption(f"Role: **{me.role}**")
    labels = {p.id: p.name if p.owner_email == me.email else f"{p.name} (shared by {p.owner_email})"
              for p in projects}
    labels.setdefault(current.id, current.name)
    st.session_state[state.PROJECT_PICKER] = current.id  # widget state is transient; WORK_PROJECT is the choice
    st.selectbox("Project", list(labels), format_func=lambda i: labels.get(i, "—"), key=state.PROJECT_PICKER,
                 on_change=_picked)
    with st.popover("New project", disabled=me.role == Role.VIEWER, help=VIEWER_REASON if me.role == Role.VIEWER
                    else None):
        st.text_input("Name", key="work_new_project", max_chars=200)
        st.button("Create", key="work_create_project", on_click=_create_project)
    if current.owner_email == me.email:
        shared = ", ".join([*current.shared_with, *(f"team:{t}" for t in current.shared_with_teams)])
        with st.popover("Share", disabled=me.role == Role.VIEWER):
            key = f"work_share_{current.id}_{zlib.crc32(shared.encode())}"  # a fresh box once the list changed
            st.text_area("Emails of the people (or team:NAME of the teams) who may see and edit it", shared, key=key,
                         help="Separated by commas or spaces; `team:NAME` shares with every member of a team an "
                              "operator made (`odordiff teams`). Empty: only you.")
            st.button("Save", key="work_share", on_click=_share_project, args=(current.id, key))
        st.caption(f"Shared with {widgets.md_text(shared)}" if shared else "Private: only you see this project.")
    n = len(items)
    st.caption(f"Shortlist: {n} molecule{'s' if n != 1 else ''}")
