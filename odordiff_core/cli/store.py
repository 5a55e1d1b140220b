"""`odordiff project export|import`, `odordiff users list|set-role` and `odordiff teams list|create|members|delete`:
the saved-work store from the server's shell.

They act on the database `Store.open(Settings.from_env())` opens (ODORDIFF_DATABASE_URL, else work.db in
ODORDIFF_WORK_DIR). Whoever runs them has the database itself, so `users` and `teams` need no admin sign-in; `project export`
still acts as the named user and sees only what that user may see.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store


def register(sub: argparse._SubParsersAction) -> None:
    project = sub.add_parser("project", help="export or import a project (a zip with its runs and shortlist)")
    project_sub = project.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = project_sub.add_parser("export", help="write one project of a user to a zip file")
    export.add_argument("--project", type=int, required=True, help="the project's id")
    export.add_argument("--user", required=True, help="email of a user who may see the project")
    export.add_argument("--out", required=True, help="the zip file to write")
    export.set_defaults(func=_export)
    imp = project_sub.add_parser("import", help="add a project from an exported zip file, owned by a user")
    imp.add_argument("file", help="a zip written by `odordiff project export` or the app")
    imp.add_argument("--user", required=True, help="email of the new project's owner (created if new)")
    imp.set_defaults(func=_import)

    users = sub.add_parser("users", help="list users or set a user's role (viewer, perfumer, admin)")
    users_sub = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    users_sub.add_parser("list", help="every user with their role").set_defaults(func=_list)
    set_role = users_sub.add_parser("set-role", help="give a user a role; it wins over the identity provider's claim")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=["viewer", "perfumer", "admin"])
    set_role.set_defaults(func=_set_role)

    teams = sub.add_parser("teams", help="list, create, fill or delete the teams a project can be shared with")
    teams_sub = teams.add_subparsers(dest="action", metavar="ACTION", required=True)
    teams_sub.add_parser("list", help="every team with its members").set_defaults(func=_teams_list)
    create = teams_sub.add_parser("create", help="add a team without members")
    create.add_argument("name", help="letters, digits, '.', '_' or '-' (stored lower-case)")
    create.set_defaults(func=_teams_create)
    members = teams_sub.add_parser("members", help="make these emails exactly the team's members (none: empty it)")
    members.add_argument("name")
    members.add_argument("emails", nargs="*", metavar="EMAIL")
    members.set_defaults(func=_teams_members)
    drop = teams_sub.add_parser("delete", help="delete a team; projects shared with it are no longer shared with it")
    drop.add_argument("name")
    drop.set_defaults(func=_teams_delete)


def _open() -> Store:
    from ..config import Settings
    from ..store import Store

    return Store.open(Settings.from_env())


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .common import check_writable

    check_writable(args.out)
    with _open() as store:
        data = store.export_project(store.user_by_email(args.user), args.project)
    Path(args.out).write_bytes(data)
    print(f"wrote project {args.project} to {args.out} ({len(data):,} bytes)")
    return 0


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InvalidInput
    from ..store.archive import MAX_ARCHIVE_BYTES

    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_ARCHIVE_BYTES:
            raise InvalidInput(f"{path} is larger than {MAX_ARCHIVE_BYTES // 2**20} MiB, the most an import accepts.")
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}.") from None

    with _open() as store:
        owner = store.user_for_operator(args.user)
        project = store.import_project(owner, data)
    print(f"imported {path} as project {project.id} ({project.name!r}) of {project.owner_email}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _open() as store:
        users = store.list_users()
    for u in users:
        print(f"{u.role.value:<9} {u.email}  {u.name}".rstrip())
    if not users:
        print("no users yet: the first to sign in becomes admin")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    with _open() as store:
        user = store.assign_role(args.email, args.role, assigned_by="cli")
    who = "" if user is not None else " (not signed in yet: the role applies when they do)"
    print(f"{args.email.strip().lower()} is now {args.role}{who}")
    return 0


def _teams_list(args: argparse.Namespace) -> int:
    with _open() as store:
        teams = store.list_teams()
    for t in teams:
        print(f"{t.name}: {', '.join(t.members) or '(no members)'}")
    if not teams:
        print("no teams yet: `odordiff teams create NAME`")
    return 0


def _teams_create(args: argparse.Namespace) -> int:
    with _open() as store:
        team = store.add_team(args.name)
    print(f"created team {team.name}; add members with `odordiff teams members {team.name} EMAIL...`")
    return 0


def _teams_members(args: argparse.Namespace) -> int:
    with _open() as store:
        team = store.assign_team_members(args.name, args.emails)
    print(f"{team.name}: {', '.join(team.members) or '(no members)'}")
    return 0


def _teams_delete(args: argparse.Namespace) -> int:
    with _open() as store:
        store.remove_team(args.name)
    print(f"deleted team {args.name.strip().lower()}")
    return 0
