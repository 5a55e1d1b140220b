"""Runs the store's Alembic migrations (shipped in `migrations/`) programmatically, on an open connection.

`Store.open` calls `upgrade(engine)`: every replica may call it at start; PostgreSQL serialises them with an advisory
lock and SQLite with BEGIN IMMEDIATE, so two replicas starting together do not both create the tables.
A new schema change is a new file in `migrations/versions/` (write it by hand or start from
`alembic revision --autogenerate` with an ini file whose script_location is that folder); rows must survive it
(`tests/store/test_migrations.py` checks the upgrade keeps rows and that models and migrations agree).
"""
from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from ..errors import StoreUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x0D0D1FF  # pg_advisory_xact_lock key held while migrating
SQLITE_TRIES = 3  # attempts of a migration that SQLite answers with an OperationalError (see upgrade)


def alembic_config(connection: Connection | None = None) -> Config:
    """Returns an Alembic Config for the shipped migrations, bound to `connection` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """Returns the newest shipped revision id."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head


def known_revisions() -> set[str]:
    """Returns the ids of every shipped revision."""
    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """Returns the revision the database is at; None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrates the database to `revision` (default: the newest) in one transaction; a no-op when already there.

    SQLite: three replicas opening the same new file together once failed in a clean clone's `make test` (an
    OperationalError whose text the log cut off; not reproduced in 600 local tries, with and without load), so on
    SQLite an OperationalError is tried again, SQLITE_TRIES attempts in all: the retry reads the revision afresh and is
    a no-op when another replica finished the migration meanwhile; a lasting error (read-only folder, full disk)
    reaches the caller after about 0.6 s.
    """
    for attempt in range(1, SQLITE_TRIES + 1):
        try:
            return _upgrade(engine, revision)
        except OperationalError:
            if engine.dialect.name != "sqlite" or attempt == SQLITE_TRIES:
                raise
            time.sleep(0.2 * attempt)


def _upgrade(engine: Engine, revision: str) -> None:
    target = head_revision() if revision == "head" else revision
    with engine.connect() as conn:
        current = current_revision(conn)
    if current == target:
        return
    if current is not None and current not in known_revisions():
        raise StoreUnavailable(
            f"The saved-work database is at schema revision {current!r}, which this OdorDiff does not know (its newest "
            f"is {head_revision()!r}): a newer OdorDiff wrote it. Nothing was changed; run that version or upgrade.")
    with engine.connect().execution_options(sqlite_begin="BEGIN IMMEDIATE") as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)
