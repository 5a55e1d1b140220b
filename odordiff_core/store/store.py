"""`Store`: users' saved work (projects, runs, shortlists, roles, API keys) in SQLite or PostgreSQL.

Every method that reads or changes work takes the acting `User` and scopes its query by them. Choices where the
contract left room (told to the app and API engineers):

- **Who sees what.** A project is visible to its owner, to the emails it is shared with and to the members of the
  teams it is shared with (as members are now: removing someone from a team removes their access at once); nobody
  else, admins included (admins manage roles and teams, not other people's work). Anything not visible raises `NotFound`, exactly as a
  missing id does, so ids cannot be probed.
- **Who changes what.** Runs and shortlist edits: the owner or a user it is shared with, unless a viewer
  (`PermissionDenied`). Sharing: the owner only. `share_project` *replaces* the lists of emails and teams (pass the
  whole lists; empty lists un-share).
- **Teams** are named by admins (`create_team`, `set_team_members`, `delete_team`; the CLI's `odordiff teams` uses the
  operator versions `add_team`, `assign_team_members`, `remove_team`, `list_teams`). A name is 1-100 letters, digits, `.`, `_` or `-`, stored lower-case (so `team:NAME` reads unambiguously
  in a list of emails); members are emails, whether or not they signed in yet. `teams(user)`: an admin sees every
  team, anyone else the teams they belong to. Deleting a team un-shares the projects shared with it.
- **Roles.** The admin-edited roles table wins, else the claim given to `ensure_user` at the latest sign-in (a claim
  of None clears the previous claim, so a role removed at the identity provider is removed here), else perfumer. The
  first user of an empty database is given admin in the roles table (unless an admin was already named with
  `odordiff users set-role`). Each call re-reads the acting user's role from
  the database and acts with the *lower* of that and `user.role`: a demotion applies at once, and a caller may act
  with less (an API key's role) but never more. The last admin cannot be demoted.
- **Notes** are stored exactly (any Unicode, HTML and Markdown kept as text) up to `MAX_NOTE_BYTES` = 100 KiB of
  UTF-8; a longer note, a NUL character or a lone surrogate (PostgreSQL cannot store either) is refused with
  `InvalidInput`, nothing saved. `update_entry(rating=0)` clears a rating (None leaves it unchanged).
- **Shortlist size.** At most `MAX_SHORTLIST` entries per project (keep and import refuse more).
- **API keys.** Only sha256(key) is stored. A key's role may not exceed its owner's, and acts with the lower of the
  two at verification (a demoted owner's keys are demoted too). Names are unique among unrevoked keys.
  `user_for_key(info)` is the User an API route acts as.
- **Added to the contract** (nothing renamed): `Store` is a context manager (`with Store.open() as store:`);
  `user_by_email` (NotFound if never signed in; use it rather than `ensure_user`, which resets the claim, when
  acting *for* someone), `list_users` / `assign_role` (operator use: the CLI on the server, no admin needed),
  `usage(admin)` (counts per user, never contents), `user_for_key`, `where` (the URL, password hidden),
  `MAX_NOTE_BYTES`, `MAX_SHORTLIST`, (a ShortlistItem as the entry's `item`: `ShortlistItem.to_json` / `from_json`).
- **Ids** that are not positive 32-bit integers (a guess, a string, True) read as NotFound, never a database error.
- **Database down.** Every database error that means "not reachable / not writable" becomes `StoreUnavailable`,
  whose message says the change was NOT saved; a call either saved everything or nothing (one transaction each).
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, create_engine, delete, event, exists, func, or_, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..errors import EditConflict, InvalidInput, NotFound, PermissionDenied, StoreUnavailable
from ..types import Role, ShortlistStatus
from . import migrate
from .models import (
    EMAIL_LEN,
    KEY_NAME_LEN,
    NAME_LEN,
    TEAM_NAME_LEN,
    ApiKeyRow,
    EntryRow,
    ProjectRow,
    RoleRow,
    RunRow,
    ShareRow,
    TeamMemberRow,
    TeamRow,
    TeamShareRow,
    UserRow,
    utcnow,
)

MAX_NOTE_BYTES = 100 * 1024  # a note's UTF-8 size limit (100 KiB): pages of tasting notes, not a document store
MAX_SHORTLIST = 5000  # entries per project: a perfumer smells tens to hundreds; an import beyond this is refused
MAX_SMILES_LEN = 1000  # characters; the column's size
DEFAULT_PROJECT = "My first project"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TEAM_NAME = re.compile(rf"[a-z0-9][a-z0-9._-]{{0,{TEAM_NAME_LEN - 1}}}")  # NUL and lone surrogates: no database text column holds them
SQLITE_FILE = "work.db"
SQLITE_BUSY_MS = 10_000  # a writer waits this long for another replica's write to finish
PG_CONNECT_TIMEOUT_S = 5  # an unreachable PostgreSQL host fails after this, instead of hanging the page


@dataclass(frozen=True)
class User:
    id: int
    email: str  # lower case
    name: str
    role: Role


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    owner_email: str
    shared_with: tuple[str, ...]  # emails, sorted
    created_at: datetime  # UTC
    shared_with_teams: tuple[str, ...] = ()  # team names, sorted


@dataclass(frozen=True)
class Team:
    id: int
    name: str  # lower case
    members: tuple[str, ...]  # emails, sorted


@dataclass(frozen=True)
class Run:
    id: int
    project_id: int
    request: dict[str, Any]  # GenerateRequest.to_json()
    result: dict[str, Any] | None  # GenerationResult.to_json(); None = not kept
    model_versions: dict[str, str]
    created_at: datetime  # UTC
    prompt: str


@dataclass(frozen=True)
class ShortlistEntry:
    id: int
    project_id: int
    smiles: str
    item: dict[str, Any]  # the ShortlistItem as JSON (`ShortlistItem.to_json`)
    note: str
    rating: int | None  # 1..5; None = not rated
    status: ShortlistStatus
    version: int  # pass it back to update_entry: the optimistic lock
    updated_at: datetime  # UTC


@dataclass(frozen=True)
class Usage:
    """How much saved work one user has (the admin's usage view): counts, never contents."""

    email: str
    role: Role
    projects: int  # projects they own
    runs: int  # generations they saved, in any project
    shortlisted: int  # shortlist entries in the projects they own
    last_run_at: datetime | None  # their latest saved generation; None = none yet


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    role: Role
    owner_email: str
    prefix: str  # the key's first 8 characters, shown in lists
    created_at: datetime
    revoked_at: datetime | None


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))  # ASCII: storable on any database
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not JSON-serialisable ({exc}); pass the object's to_json().") from exc


def _email(email: str) -> str:
    if not isinstance(email, str) or not email.strip():
        raise InvalidInput(f"An email is needed, got {email!r}.")
    e = email.strip().lower()
    if len(e) > EMAIL_LEN or any(c.isspace() or c == "\x00" for c in e):
        raise InvalidInput(f"{email[:80]!r} is not an email address (no spaces, at most {EMAIL_LEN} characters).")
    return e


def _text(value: str, what: str, limit_chars: int | None = None, limit_bytes: int | None = None) -> str:
    """Returns value unchanged when the database can store it exactly; raises InvalidInput saying why not."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}.")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL character (\\x00), which the database cannot store; remove it.")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{what} contains an invalid character (a lone surrogate at position {exc.start}); "
                           f"remove it.") from exc
    if limit_chars is not None and len(value) > limit_chars:
        raise InvalidInput(f"{what} is {len(value):,} characters; at most {limit_chars:,} are kept.")
    if limit_bytes is not None and size > limit_bytes:
        raise InvalidInput(f"{what} is {size:,} bytes of UTF-8; at most {limit_bytes:,} ({limit_bytes // 1024} KiB) "
                           f"are kept. Shorten it or split it; nothing was saved.")
    return value


def _storable(value: str) -> str:
    """Returns value with what no database column can hold (NUL, lone surrogates) replaced by U+FFFD: for
    convenience copies such as a run's prompt, whose exact text is kept in the request JSON."""
    return _UNSTORABLE.sub("\ufffd", value)


def _team_name(name: str) -> str:
    n = name.strip().lower() if isinstance(name, str) else ""
    if not _TEAM_NAME.fullmatch(n):
        raise InvalidInput(f"{str(name)[:80]!r} is not a team name: use 1-{TEAM_NAME_LEN} letters, digits, '.', '_' "
                           f"or '-', starting with a letter or digit (e.g. 'citrus-lab').")
    return n


def _role(value: Role | str, what: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"{what} must be one of {', '.join(r.value for r in Role)}, got {value!r}.") from None


def _lower(a: Role, b: Role) -> Role:
    return a if a.rank <= b.rank else b


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def database_url(settings: Settings) -> str:
    """Returns the store's database URL: settings.database_url, else SQLite `work.db` in settings.work_dir.

    A plain `postgresql://` or `postgres://` URL is read as `postgresql+psycopg://` (psycopg 3 is the installed
    driver)."""
    if not settings.database_url:
        return f"sqlite:///{settings.work_dir / SQLITE_FILE}"
    return _driver(settings.database_url)


def _driver(url: str) -> str:
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


class Store:
    """Saved work. Thread-safe: share one per process (each call opens its own short transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(sqlite_begin="BEGIN IMMEDIATE"), expire_on_commit=False)

    # ---- opening -------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings | None = None, url: str | None = None) -> Store:
        """Returns the store at `url`, else at `database_url(settings)` (settings default: Settings.from_env()),
        migrated to the newest schema. Raises StoreUnavailable when the database cannot be reached or written,
        InvalidInput for a URL that is not a database URL."""
        url = _driver(url) if url is not None else database_url(settings or Settings.from_env())
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise InvalidInput("ODORDIFF_DATABASE_URL is not a database URL; use e.g. "
                               "postgresql+psycopg://user:password@host:5432/odordiff, or unset it for SQLite.") from None
        engine = _engine(parsed)
        store = cls(engine)
        try:
            with store._unavailable("open the saved-work database"):
                migrate.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> bool:
        """Returns True when the database answers a query."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except (DBAPIError, PoolTimeout):
            return False

    @property
    def where(self) -> str:
        """Returns the database URL with any password hidden (for messages and the About page)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _unavailable(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, PoolTimeout) as exc:
            down = isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)) or exc.connection_invalidated
            if not down:  # a constraint or a bug: not the database's availability
                raise
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            if self.engine.dialect.name == "sqlite":
                fix = ("Check that the SQLite file's folder is writable and the disk not full (ODORDIFF_WORK_DIR "
                       "moves it), then try again.")
            else:
                fix = "Check that the database server is running and reachable (ODORDIFF_DATABASE_URL), then try again."
            raise StoreUnavailable(f"Could not {doing}: the saved-work database {self.where} is not available "
                                   f"({reason}). Nothing was saved. {fix}") from exc

    @contextmanager
    def _tx(self, doing: str, write: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error (nothing half-saved)."""
        with self._unavailable(doing), (self._write if write else self._read)() as s, s.begin():
            yield s

    # ---- users and roles -----------------------------------------------------------------------------------------
    def _role_of(self, s: Session, row: UserRow) -> Role:
        assigned = s.get(RoleRow, row.email)
        if assigned is not None:
            return Role(assigned.role)
        return Role(row.claimed_role) if row.claimed_role else Role.PERFUMER

    def _user(self, s: Session, row: UserRow) -> User:
        return User(row.id, row.email, row.name, self._role_of(s, row))

    def _actor(self, s: Session, user: User) -> tuple[UserRow, Role]:
        """Returns the acting user's row and the role to act with (the lower of the stored and the given role)."""
        row = s.get(UserRow, user.id) if isinstance(user, User) else None
        if row is None or row.email != str(user.email).lower():
            raise PermissionDenied("This user is not known to the saved-work database; sign in again.")
        return row, _lower(self._role_of(s, row), Role(user.role))

    def ensure_user(self, email: str, name: str = "", claimed_role: Role | None = None) -> User:
        """Returns the user with this email, created on first sight (the first user of an empty database is admin).

        The role: the admin-edited roles table, else `claimed_role` (stored; None clears an earlier claim), else
        perfumer. Writes only when something changed, so calling it on every page run is cheap."""
        e = _email(email)
        name = _text(name or "", "The name", limit_chars=NAME_LEN)
        claim = _role(claimed_role, "claimed_role").value if claimed_role is not None else None
        with self._tx("read the user") as s:
            s_row = s.scalar(select(UserRow).where(UserRow.email == e))
            if s_row is not None and s_row.claimed_role == claim and (not name or s_row.name == name):
                return self._user(s, s_row)
        for attempt in range(2):  # the same person signing in from two tabs at once: the second finds the row
            try:
                with self._tx("save the user", write=True) as s:
                    row = s.scalar(select(UserRow).where(UserRow.email == e))
                    if row is None:
                        first = s.scalar(select(func.count()).select_from(UserRow)) == 0 and s.scalar(
                            select(func.count()).select_from(RoleRow).where(RoleRow.role == Role.ADMIN.value)) == 0
                        row = UserRow(email=e, name=name, claimed_role=claim)
                        s.add(row)
                        if first and s.get(RoleRow, e) is None:
                            s.add(RoleRow(email=e, role=Role.ADMIN.value, assigned_by="first user"))
                    else:
                        row.claimed_role = claim
                        if name:
                            row.name = name
                    s.flush()
                    return self._user(s, row)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def user_by_email(self, email: str) -> User:
        """Returns the user with this email (for the CLI and API); NotFound when they never signed in."""
        e = _email(email)
        with self._tx("read the user") as s:
            row = s.scalar(select(UserRow).where(UserRow.email == e))
            if row is None:
                raise NotFound(f"No user {e}: they have not signed in yet.")
            return self._user(s, row)

    def user_for_operator(self, email: str) -> User:
        """Returns the user with this email, created (as `ensure_user` would) when new, without touching the role claim
        of someone who already signs in: for the CLI and the API acting on an admin's behalf."""
        try:
            return self.user_by_email(email)
        except NotFound:
            return self.ensure_user(email)

    def list_users(self) -> list[User]:
        """Returns every user, oldest first. Operator use (CLI on the server); the app calls `users(admin)`."""
        with self._tx("list users") as s:
            return [self._user(s, r) for r in s.scalars(select(UserRow).order_by(UserRow.id))]

    def assign_role(self, email: str, role: Role | str, assigned_by: str = "cli") -> User | None:
        """Records `role` for `email` in the roles table (it wins over any claim), whether or not they signed in
        yet; returns the user, or None when they have not signed in. Operator use; the app calls `set_role`.
        Raises InvalidInput when it would leave no admin."""
        e, r = _email(email), _role(role)
        with self._tx("save the role", write=True) as s:
            row = s.get(RoleRow, e)
            if row is None:
                s.add(RoleRow(email=e, role=r.value, assigned_by=assigned_by))
            else:
                row.role, row.assigned_by, row.assigned_at = r.value, assigned_by, utcnow()
            s.flush()
            users = list(s.scalars(select(UserRow)))
            if users and r is not Role.ADMIN and not any(self._role_of(s, u) is Role.ADMIN for u in users):
                raise InvalidInput(f"{e} is the last admin; make someone else admin first.")
            target = s.scalar(select(UserRow).where(UserRow.email == e))
            return self._user(s, target) if target is not None else None

    def set_role(self, admin: User, email: str, role: Role) -> User:
        """Gives `email` the role (admins only: PermissionDenied otherwise); NotFound when they never signed in."""
        self._admin(admin, "change roles")
        e = _email(email)
        self.user_by_email(e)
        changed = self.assign_role(e, role, assigned_by=admin.email)
        assert changed is not None
        return changed

    def _admin(self, admin: User, doing: str) -> None:
        with self._tx("check the admin") as s:
            _, acting = self._actor(s, admin)
        if acting is not Role.ADMIN:
            raise PermissionDenied(f"Only an admin can {doing}.")

    def users(self, admin: User) -> list[User]:
        """Returns every user (admins only: PermissionDenied otherwise)."""
        self._admin(admin, "list users")
        return self.list_users()

    def usage(self, admin: User) -> list[Usage]:
        """Returns each user's amount of saved work, oldest user first (admins only: PermissionDenied otherwise).
        Counts only: an admin sees how much, never what (no project names, prompts or notes)."""
        self._admin(admin, "see usage")
        with self._tx("count usage") as s:
            projects = dict(s.execute(select(ProjectRow.owner_id, func.count()).group_by(ProjectRow.owner_id)).all())
            runs = {uid: (n, last) for uid, n, last in s.execute(
                select(RunRow.created_by, func.count(), func.max(RunRow.created_at)).group_by(RunRow.created_by))}
            kept = dict(s.execute(select(ProjectRow.owner_id, func.count()).join(
                EntryRow, EntryRow.project_id == ProjectRow.id).group_by(ProjectRow.owner_id)).all())
            out = []
            for row in s.scalars(select(UserRow).order_by(UserRow.id)):
                n_runs, last = runs.get(row.id, (0, None))
                out.append(Usage(row.email, self._role_of(s, row), projects.get(row.id, 0), n_runs,
                                 kept.get(row.id, 0), _utc(last) if last is not None else None))
            return out

    # ---- projects ------------------------------------------------------------------------------------------------
    @staticmethod
    def _visible(row: UserRow) -> Any:
        """The one place visibility is decided: the owner, a named user, a member of a team it is shared with."""
        shared = exists().where(and_(ShareRow.project_id == ProjectRow.id, ShareRow.email == row.email))
        team = exists().where(and_(TeamShareRow.project_id == ProjectRow.id,
                                   TeamMemberRow.team_id == TeamShareRow.team_id, TeamMemberRow.email == row.email))
        return or_(ProjectRow.owner_id == row.id, shared, team)

    def _project(self, s: Session, row: ProjectRow) -> Project:
        owner = s.get(UserRow, row.owner_id)
        shares = s.scalars(select(ShareRow.email).where(ShareRow.project_id == row.id).order_by(ShareRow.email))
        teams = s.scalars(select(TeamRow.name).join(TeamShareRow, TeamShareRow.team_id == TeamRow.id)
                          .where(TeamShareRow.project_id == row.id).order_by(TeamRow.name))
        return Project(row.id, row.name, owner.email if owner else "", tuple(shares), _utc(row.created_at),
                       tuple(teams))

    def _find_project(self, s: Session, who: UserRow, project_id: int) -> ProjectRow:
        row = s.scalar(select(ProjectRow).where(ProjectRow.id == project_id, self._visible(who))) \
            if _is_id(project_id) else None
        if row is None:
            raise NotFound(f"No project {project_id!r} (it does not exist or is not shared with you).")
        return row

    @staticmethod
    def _may_edit(role: Role) -> None:
        if role.rank < Role.PERFUMER.rank:
            raise PermissionDenied("A viewer can read projects but not change them; ask an admin for the perfumer "
                                   "role.")

    def projects(self, user: User) -> list[Project]:
        """Returns the user's own projects and those shared with them, oldest first."""
        with self._tx("list projects") as s:
            who, _ = self._actor(s, user)
            rows = s.scalars(select(ProjectRow).where(self._visible(who)).order_by(ProjectRow.id))
            return [self._project(s, r) for r in rows]

    def create_project(self, user: User, name: str) -> Project:
        """Returns a new, empty project owned by the user (viewers: PermissionDenied)."""
        name = _text(name, "The project name", limit_chars=NAME_LEN).strip()
        if not name:
            raise InvalidInput("A project needs a name.")
        with self._tx("create the project", write=True) as s:
            who, role = self._actor(s, user)
            self._may_edit(role)
            row = ProjectRow(owner_id=who.id, name=name)
            s.add(row)
            s.flush()
            return self._project(s, row)

    def default_project(self, user: User) -> Project:
        """Returns the user's oldest own project, creating "My first project" on the first call (for any role:
        a viewer's stays empty)."""
        with self._tx("open the project") as s:
            who, _ = self._actor(s, user)
            row = s.scalar(select(ProjectRow).where(ProjectRow.owner_id == who.id).order_by(ProjectRow.id).limit(1))
            if row is not None:
                return self._project(s, row)
        with self._tx("create the project", write=True) as s:
            who, _ = self._actor(s, user)
            s.execute(select(UserRow.id).where(UserRow.id == who.id).with_for_update())  # PostgreSQL: one at a time
            row = s.scalar(select(ProjectRow).where(ProjectRow.owner_id == who.id).order_by(ProjectRow.id).limit(1))
            if row is None:
                row = ProjectRow(owner_id=who.id, name=DEFAULT_PROJECT)
                s.add(row)
                s.flush()
            return self._project(s, row)

    def project(self, user: User, project_id: int) -> Project:
        """Returns the project; NotFound when it does not exist or is not visible to the user."""
        with self._tx("read the project") as s:
            who, _ = self._actor(s, user)
            return self._project(s, self._find_project(s, who, project_id))

    def share_project(self, user: User, project_id: int, emails: list[str], teams: Iterable[str] = ()) -> Project:
        """Makes the project visible to exactly these emails and the members of these teams (replacing the previous
        lists; empty lists un-share). Owner only: PermissionDenied for others who can see it, NotFound for the rest;
        InvalidInput, nothing changed, for a team that does not exist."""
        wanted = sorted({_email(e) for e in emails})
        team_names = sorted({_team_name(t) for t in ([teams] if isinstance(teams, str) else teams)})
        with self._tx("share the project", write=True) as s:
            who, role = self._actor(s, user)
            row = self._find_project(s, who, project_id)
            if row.owner_id != who.id:
                raise PermissionDenied("Only the project's owner can change who it is shared with.")
            self._may_edit(role)
            team_ids = dict(s.execute(select(TeamRow.name, TeamRow.id).where(TeamRow.name.in_(team_names))).all())
            if missing := [t for t in team_names if t not in team_ids]:
                raise InvalidInput(f"No team named {', '.join(missing)}; nothing was shared. An admin creates teams "
                                   f"(`odordiff teams create NAME`).")
            s.execute(delete(ShareRow).where(ShareRow.project_id == row.id))
            s.execute(delete(TeamShareRow).where(TeamShareRow.project_id == row.id))
            s.add_all(ShareRow(project_id=row.id, email=e) for e in wanted if e != who.email)
            s.add_all(TeamShareRow(project_id=row.id, team_id=team_ids[t]) for t in team_names)
            s.flush()
            return self._project(s, row)

    # ---- teams ---------------------------------------------------------------------------------------------------
    @staticmethod
    def _team(s: Session, row: TeamRow) -> Team:
        members = s.scalars(select(TeamMemberRow.email).where(TeamMemberRow.team_id == row.id)
                            .order_by(TeamMemberRow.email))
        return Team(row.id, row.name, tuple(members))

    @staticmethod
    def _find_team(s: Session, name: str) -> TeamRow:
        row = s.scalar(select(TeamRow).where(TeamRow.name == name))
        if row is None:
            raise NotFound(f"No team named {name!r}; see `odordiff teams list`.")
        return row

    def list_teams(self) -> list[Team]:
        """Returns every team by name. Operator use (CLI on the server); the app calls `teams(user)`."""
        with self._tx("list teams") as s:
            return [self._team(s, r) for r in s.scalars(select(TeamRow).order_by(TeamRow.name))]

    def add_team(self, name: str) -> Team:
        """Returns a new team without members; InvalidInput when the name is taken or malformed. Operator use; the
        app calls `create_team`."""
        n = _team_name(name)
        try:
            with self._tx("create the team", write=True) as s:
                if s.scalar(select(TeamRow.id).where(TeamRow.name == n)) is not None:
                    raise InvalidInput(f"A team named {n!r} exists; choose another name.")
                row = TeamRow(name=n)
                s.add(row)
                s.flush()
                return self._team(s, row)
        except IntegrityError:  # created by someone else at the same moment
            raise InvalidInput(f"A team named {n!r} exists; choose another name.") from None

    def assign_team_members(self, name: str, emails: Iterable[str]) -> Team:
        """Makes these emails exactly the team's members (replacing the list; [] empties it) and returns the team;
        a removed member loses access to the team's projects at once. NotFound for an unknown team. Operator use;
        the app calls `set_team_members`."""
        n = _team_name(name)
        wanted = sorted({_email(e) for e in ([emails] if isinstance(emails, str) else emails)})
        with self._tx("save the team's members", write=True) as s:
            row = self._find_team(s, n)
            s.execute(delete(TeamMemberRow).where(TeamMemberRow.team_id == row.id))
            s.add_all(TeamMemberRow(team_id=row.id, email=e) for e in wanted)
            s.flush()
            return self._team(s, row)

    def remove_team(self, name: str) -> None:
        """Deletes the team, its members list and its shares (the projects stay, unshared from it). NotFound for an
        unknown team. Operator use; the app calls `delete_team`."""
        n = _team_name(name)
        with self._tx("delete the team", write=True) as s:
            row = self._find_team(s, n)
            s.execute(delete(TeamShareRow).where(TeamShareRow.team_id == row.id))
            s.execute(delete(TeamMemberRow).where(TeamMemberRow.team_id == row.id))
            s.delete(row)

    def create_team(self, admin: User, name: str) -> Team:
        """Returns a new team without members (admins only: PermissionDenied otherwise)."""
        self._admin(admin, "manage teams")
        return self.add_team(name)

    def set_team_members(self, admin: User, name: str, emails: Iterable[str]) -> Team:
        """Makes these emails exactly the team's members (admins only: PermissionDenied otherwise)."""
        self._admin(admin, "manage teams")
        return self.assign_team_members(name, emails)

    def delete_team(self, admin: User, name: str) -> None:
        """Deletes the team and un-shares its projects (admins only: PermissionDenied otherwise)."""
        self._admin(admin, "manage teams")
        self.remove_team(name)

    def teams(self, user: User) -> list[Team]:
        """Returns every team for an admin; for anyone else, the teams they are a member of. By name."""
        with self._tx("list teams") as s:
            who, role = self._actor(s, user)
            query = select(TeamRow).order_by(TeamRow.name)
            if role is not Role.ADMIN:
                query = query.where(exists().where(and_(TeamMemberRow.team_id == TeamRow.id,
                                                        TeamMemberRow.email == who.email)))
            return [self._team(s, r) for r in s.scalars(query)]

    # ---- runs ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _run(row: RunRow) -> Run:
        return Run(row.id, row.project_id, json.loads(row.request),
                   json.loads(row.result) if row.result is not None else None, json.loads(row.model_versions),
                   _utc(row.created_at), row.prompt)

    def save_run(self, user: User, project_id: int, request: dict[str, Any], result: dict[str, Any] | None,
                 model_versions: dict[str, str]) -> Run:
        """Saves one generation into the project and returns it (viewers: PermissionDenied)."""
        if not isinstance(request, dict):
            raise InvalidInput("request must be GenerateRequest.to_json() (a dict).")
        if result is not None and not isinstance(result, dict):
            raise InvalidInput("result must be GenerationResult.to_json() (a dict) or None.")
        if not isinstance(model_versions, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in model_versions.items()):
            raise InvalidInput("model_versions must be a dict of strings, e.g. {'generator': 'generator-1.0+ab12'}.")
        prompt = request.get("prompt")
        row_values = dict(prompt=_storable(prompt) if isinstance(prompt, str) else "", request=_dumps(request, "The request"),
                          result=_dumps(result, "The result") if result is not None else None,
                          model_versions=_dumps(model_versions, "model_versions"))
        with self._tx("save the run", write=True) as s:
            who, role = self._actor(s, user)
            self._may_edit(role)
            project = self._find_project(s, who, project_id)
            row = RunRow(project_id=project.id, created_by=who.id, **row_values)
            s.add(row)
            s.flush()
            return self._run(row)

    def runs(self, user: User, project_id: int) -> list[Run]:
        """Returns the project's runs, newest first."""
        with self._tx("read the history") as s:
            who, _ = self._actor(s, user)
            project = self._find_project(s, who, project_id)
            return [self._run(r) for r in s.scalars(
                select(RunRow).where(RunRow.project_id == project.id).order_by(RunRow.id.desc()))]

    def run(self, user: User, run_id: int) -> Run:
        """Returns one run; NotFound when it does not exist or its project is not visible to the user."""
        with self._tx("read the run") as s:
            who, _ = self._actor(s, user)
            row = s.scalar(select(RunRow).join(ProjectRow, ProjectRow.id == RunRow.project_id)
                           .where(RunRow.id == run_id, self._visible(who))) if _is_id(run_id) else None
            if row is None:
                raise NotFound(f"No run {run_id!r} (it does not exist or is not shared with you).")
            return self._run(row)

    # ---- shortlist -----------------------------------------------------------------------------------------------
    @staticmethod
    def _entry(row: EntryRow) -> ShortlistEntry:
        return ShortlistEntry(row.id, row.project_id, row.smiles, json.loads(row.item), row.note, row.rating,
                              ShortlistStatus(row.status), row.version, _utc(row.updated_at))

    def _find_entry(self, s: Session, who: UserRow, entry_id: int) -> EntryRow:
        row = s.scalar(select(EntryRow).join(ProjectRow, ProjectRow.id == EntryRow.project_id)
                       .where(EntryRow.id == entry_id, self._visible(who))) if _is_id(entry_id) else None
        if row is None:
            raise NotFound(f"No shortlist entry {entry_id!r} (it does not exist or is not shared with you).")
        return row

    def shortlist(self, user: User, project_id: int) -> list[ShortlistEntry]:
        """Returns the project's shortlist in the order the molecules were kept."""
        with self._tx("read the shortlist") as s:
            who, _ = self._actor(s, user)
            project = self._find_project(s, who, project_id)
            return [self._entry(r) for r in s.scalars(
                select(EntryRow).where(EntryRow.project_id == project.id).order_by(EntryRow.id))]

    def keep(self, user: User, project_id: int, smiles: str, item: dict[str, Any]) -> ShortlistEntry:
        """Adds the molecule to the project's shortlist and returns its entry; a molecule already kept returns the
        existing entry unchanged (its note, rating and status stay). The first note is item["user_note"] if any."""
        smiles = _text(smiles, "The SMILES", limit_chars=MAX_SMILES_LEN).strip()
        if not smiles:
            raise InvalidInput("A SMILES is needed to keep a molecule.")
        if not isinstance(item, dict):
            raise InvalidInput("item must be a dict (ShortlistItem.to_json()).")
        note = item["user_note"] if isinstance(item.get("user_note"), str) else ""
        values = dict(smiles=smiles, item=_dumps(item, "The item"), note=_text(note, "The note", limit_bytes=MAX_NOTE_BYTES))
        for attempt in range(2):  # a concurrent keep of the same molecule wins the race: return its entry
            try:
                with self._tx("keep the molecule", write=True) as s:
                    who, role = self._actor(s, user)
                    self._may_edit(role)
                    project = self._find_project(s, who, project_id)
                    row = s.scalar(select(EntryRow).where(EntryRow.project_id == project.id,
                                                          EntryRow.smiles == smiles))
                    if row is None:
                        count = s.scalar(select(func.count()).select_from(EntryRow)
                                         .where(EntryRow.project_id == project.id)) or 0
                        if count >= MAX_SHORTLIST:
                            raise InvalidInput(f"This shortlist holds {count:,} molecules, the most a project keeps "
                                               f"({MAX_SHORTLIST:,}); remove some or start a new project.")
                        row = EntryRow(project_id=project.id, updated_by=who.email, **values)
                        s.add(row)
                        s.flush()
                    return self._entry(row)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def update_entry(self, user: User, entry_id: int, expected_version: int, *, note: str | None = None,
                     rating: int | None = None, status: ShortlistStatus | None = None) -> ShortlistEntry:
        """Saves the given fields (None = unchanged; rating=0 clears the rating) if the entry is still at
        `expected_version`, and returns it at the next version. Raises EditConflict, saving nothing, when someone
        saved it first: reload the entry, re-apply the edit, pass the new version."""
        changes: dict[str, Any] = {}
        if note is not None:
            changes["note"] = _text(note, "The note", limit_bytes=MAX_NOTE_BYTES)
        if rating is not None:
            if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 5:
                raise InvalidInput(f"rating must be a whole number 1 to 5 (0 clears it), got {rating!r}.")
            changes["rating"] = rating or None
        if status is not None:
            try:
                changes["status"] = ShortlistStatus(status).value
            except ValueError:
                raise InvalidInput(f"status must be one of {', '.join(v.value for v in ShortlistStatus)}, "
                                   f"got {status!r}.") from None
        if not _is_id(expected_version):
            raise InvalidInput(f"expected_version must be the entry's version (an integer), got {expected_version!r}.")
        with self._tx("save the edit", write=True) as s:
            who, role = self._actor(s, user)
            self._may_edit(role)
            row = self._find_entry(s, who, entry_id)
            done = s.execute(update(EntryRow).where(EntryRow.id == row.id, EntryRow.version == expected_version)
                             .values(**changes, version=EntryRow.version + 1, updated_at=utcnow(),
                                     updated_by=who.email)
                             .execution_options(synchronize_session=False))
            s.expire(row)
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise EditConflict(
                    f"{row.updated_by or 'Someone'} saved this entry ({row.smiles}) at "
                    f"{_utc(row.updated_at):%H:%M:%S} UTC, after you opened it (it is at version {row.version}, "
                    f"you edited version {expected_version}). Your edit was not saved: reload it and apply it again.")
            return self._entry(row)

    def remove_entry(self, user: User, entry_id: int) -> None:
        """Removes the entry from its shortlist (viewers: PermissionDenied; not visible: NotFound)."""
        with self._tx("remove the entry", write=True) as s:
            who, role = self._actor(s, user)
            self._may_edit(role)
            row = self._find_entry(s, who, entry_id)
            s.delete(row)

    # ---- export / import -----------------------------------------------------------------------------------------
    def export_project(self, user: User, project_id: int) -> bytes:
        """Returns the project as a zip: project.json (runs and shortlist), shortlist.csv and shortlist.sdf."""
        from .archive import write_archive

        project = self.project(user, project_id)
        return write_archive(project, self.runs(user, project_id)[::-1], self.shortlist(user, project_id))

    def import_project(self, user: User, data: bytes) -> Project:
        """Returns a new project, owned by the user, holding the runs and shortlist of an exported zip. One
        transaction: ProjectImportError (saying why) and nothing saved when the file is not a valid export."""
        from .archive import read_archive

        doc = read_archive(data, max_entries=MAX_SHORTLIST)
        with self._tx("import the project", write=True) as s:
            who, role = self._actor(s, user)
            self._may_edit(role)
            row = ProjectRow(owner_id=who.id, name=doc.name)
            s.add(row)
            s.flush()
            s.add_all(RunRow(project_id=row.id, created_by=who.id, prompt=r.prompt, request=_dumps(r.request, "run"),
                             result=_dumps(r.result, "run") if r.result is not None else None,
                             model_versions=_dumps(r.model_versions, "run"), created_at=r.created_at)
                      for r in doc.runs)
            s.add_all(EntryRow(project_id=row.id, smiles=e.smiles, item=_dumps(e.item, "entry"), note=e.note,
                               rating=e.rating, status=e.status.value, updated_by=who.email)
                      for e in doc.shortlist)
            s.flush()
            return self._project(s, row)

    # ---- API keys ------------------------------------------------------------------------------------------------
    def _key(self, s: Session, row: ApiKeyRow) -> ApiKeyInfo:
        owner = s.get(UserRow, row.owner_id)
        assert owner is not None  # a foreign key
        role = _lower(Role(row.role), self._role_of(s, owner))
        return ApiKeyInfo(row.id, row.name, role, owner.email, row.prefix, _utc(row.created_at),
                          _utc(row.revoked_at) if row.revoked_at is not None else None)

    def create_api_key(self, owner: User, name: str, role: Role) -> tuple[str, ApiKeyInfo]:
        """Returns (key, info). Only sha256(key) is stored: show the key once. The role may not exceed the owner's
        (PermissionDenied); the name must be new among unrevoked keys (InvalidInput)."""
        name = _text(name, "The key name", limit_chars=KEY_NAME_LEN).strip()
        if not name:
            raise InvalidInput("An API key needs a name (what uses it, e.g. 'lims').")
        r = _role(role)
        key = "odk_" + secrets.token_urlsafe(32)
        with self._tx("create the API key", write=True) as s:
            who, acting = self._actor(s, owner)
            if r.rank > acting.rank:
                raise PermissionDenied(f"{who.email} is a {acting.value}: they cannot own a key with the {r.value} "
                                       f"role.")
            if s.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))):
                raise InvalidInput(f"An API key named {name!r} exists; revoke it first or choose another name.")
            row = ApiKeyRow(name=name, key_hash=_key_hash(key), prefix=key[:8], role=r.value, owner_id=who.id)
            s.add(row)
            s.flush()
            return key, self._key(s, row)

    def verify_api_key(self, key: str) -> ApiKeyInfo | None:
        """Returns the key's info, or None for an unknown or revoked key (raises StoreUnavailable when the database
        is down: the caller answers 503, not 401)."""
        if not isinstance(key, str) or not key.startswith("odk_") or len(key) > 200:
            return None
        with self._tx("check the API key") as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == _key_hash(key),
                                                   ApiKeyRow.revoked_at.is_(None)))
            return self._key(s, row) if row is not None else None

    def user_for_key(self, info: ApiKeyInfo) -> User:
        """Returns the User an API request with this key acts as: the owner, with the key's role."""
        owner = self.user_by_email(info.owner_email)
        return User(owner.id, owner.email, owner.name, _lower(owner.role, info.role))

    def api_keys(self) -> list[ApiKeyInfo]:
        """Returns every key, revoked ones included, oldest first (operator use)."""
        with self._tx("list API keys") as s:
            return [self._key(s, r) for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    def revoke_api_key(self, name_or_prefix: str) -> ApiKeyInfo:
        """Revokes the unrevoked key with this name, else with this prefix (first 8 characters) and returns it.
        NotFound when none matches; InvalidInput when a prefix matches several."""
        x = str(name_or_prefix).strip()
        with self._tx("revoke the API key", write=True) as s:
            active = ApiKeyRow.revoked_at.is_(None)
            rows = list(s.scalars(select(ApiKeyRow).where(ApiKeyRow.name == x, active)))
            if not rows:
                rows = list(s.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == x[:8], active))) if len(x) >= 8 else []
            if not rows:
                raise NotFound(f"No unrevoked API key named or starting with {x!r}; see `odordiff api-key list`.")
            if len(rows) > 1:
                raise InvalidInput(f"{len(rows)} keys start with {x!r}; revoke by name instead.")
            rows[0].revoked_at = utcnow()
            s.flush()
            return self._key(s, rows[0])


def _is_id(value: Any) -> bool:
    """Returns True for an int that can be a row id (1 .. 2**31 - 1, PostgreSQL's INTEGER); False for anything else,
    so a guessed or malformed id reads as not found instead of a database error."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**31 - 1


def _engine(url: URL) -> Engine:
    """Returns an engine for the URL: SQLite with WAL, foreign keys and a busy timeout; PostgreSQL with a connect
    timeout and a liveness check of pooled connections (a restarted server is reconnected to)."""
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        args = {"connect_timeout": PG_CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, connect_args=args)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise InvalidInput(f"Cannot use the database URL {url.render_as_string(hide_password=True)} ({exc}); use "
                           f"postgresql+psycopg://... or sqlite:///PATH.") from None


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        folder = Path(url.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"Cannot create the saved-work folder {folder} ({exc.strerror}). Nothing was saved. "
                                   f"Set ODORDIFF_WORK_DIR to a writable folder.") from None
    # isolation_level=None hands transaction control to the "begin" hook below (SQLAlchemy's documented recipe
    # for pysqlite), so DDL is transactional and writers take the lock at BEGIN IMMEDIATE, not mid-transaction.
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "isolation_level": None})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; replicas share the file
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

    return engine
