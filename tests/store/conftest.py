"""Fixtures of the saved-work store tests: every `store` test runs against SQLite and against a real PostgreSQL
server (one throwaway cluster per test session, a fresh database per test)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pg import PgCluster, fresh_database

from odordiff_core.store import Store


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a SQLite file, or a new database in the session's PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'work.db'}"
    return fresh_database(request.getfixturevalue("pg_cluster"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(url=db_url)
    try:
        yield s
    finally:
        s.close()
