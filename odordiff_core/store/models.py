"""The saved-work tables (SQLAlchemy 2 ORM). The Alembic revisions in `migrations/versions/` create exactly these:
`tests/store/test_migrations.py` fails when the two drift apart.

Categories (role, status) are strings with a CHECK constraint, not database ENUM types, so adding a value is a
one-line migration on both SQLite and PostgreSQL. JSON documents (requests, results, shortlist items) are stored as
text written by `json.dumps`, so they come back byte for byte on both databases. Times are UTC.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..types import Role, ShortlistStatus

EMAIL_LEN = 320  # RFC 5321: 64 (local part) + 1 + 255 (domain)
NAME_LEN = 200  # project and user names
KEY_NAME_LEN = 100  # API key names
TEAM_NAME_LEN = 100  # team names

# Constraint names are fixed by this convention so that migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: type[Role] | type[ShortlistStatus]) -> str:
    return f"{column} IN ({', '.join(repr(str(v.value)) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    """Someone who signed in (or was named by an admin or the CLI). The email is stored lower-case."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("claimed_role", Role), name="claimed_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LEN), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    claimed_role: Mapped[str | None] = mapped_column(String(16))  # from the identity provider's claim at last sign-in
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoleRow(Base):
    """A role an admin gave (the table that wins over a claim). Keyed by email: a role can be given before sign-in."""

    __tablename__ = "roles"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    email: Mapped[str] = mapped_column(String(EMAIL_LEN), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    assigned_by: Mapped[str] = mapped_column(String(EMAIL_LEN))  # an admin's email, "first user" or "cli"
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ShareRow(Base):
    """The project is visible to the user with this email (whether or not they have signed in yet)."""

    __tablename__ = "project_shares"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LEN), primary_key=True, index=True)


class TeamRow(Base):
    """A named group of users (admins manage it) that a project can be shared with. The name is stored lower-case."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(TEAM_NAME_LEN), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamMemberRow(Base):
    """The user with this email (whether or not they have signed in yet) is a member of the team."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LEN), primary_key=True, index=True)


class TeamShareRow(Base):
    """The project is visible to every member of the team."""

    __tablename__ = "project_team_shares"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True)


class RunRow(Base):
    """One generation: the request (prompt, edited weights, settings, seed), the full result, the model versions."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prompt: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text)  # GenerateRequest.to_json() as JSON text
    result: Mapped[str | None] = mapped_column(Text)  # GenerationResult.to_json() as JSON text; None = not kept
    model_versions: Mapped[str] = mapped_column(Text)  # {"generator": ..., ...} as JSON text
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EntryRow(Base):
    """One kept molecule of a project's shortlist. `version` is the optimistic lock: +1 on every saved edit."""

    __tablename__ = "shortlist_entries"
    __table_args__ = (
        UniqueConstraint("project_id", "smiles"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
        CheckConstraint(_in("status", ShortlistStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    smiles: Mapped[str] = mapped_column(String(1000))
    item: Mapped[str] = mapped_column(Text)  # the ShortlistItem as JSON text
    note: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ShortlistStatus.TO_SMELL.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(EMAIL_LEN), default="")  # who saved the current version


class ApiKeyRow(Base):
    """An API key: only the sha256 of the key is stored; the key itself is shown once, when created."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(KEY_NAME_LEN), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the whole key
    prefix: Mapped[str] = mapped_column(String(8))  # the key's first 8 characters, shown in lists
    role: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
