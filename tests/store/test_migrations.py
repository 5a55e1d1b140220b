"""The Alembic migrations shipped in odordiff_core/store/migrations, on SQLite and PostgreSQL: an upgrade keeps
every row, the models and the migrations describe the same schema, and replicas starting together migrate once."""
from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from odordiff_core.store import Store, StoreUnavailable, migrate
from odordiff_core.store.models import Base


def test_rows_written_at_the_first_revision_survive_the_upgrade_to_head(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        first = ScriptDirectory.from_config(migrate.alembic_config()).get_base()
        migrate.upgrade(engine, first)
        with engine.begin() as conn:
            assert migrate.current_revision(conn) == first
            conn.execute(text("INSERT INTO users (id, email, name, claimed_role, created_at) "
                              "VALUES (1, 'ana@example.com', 'Ana', NULL, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO roles VALUES ('ana@example.com', 'admin', 'first user', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO projects (id, owner_id, name, created_at) "
                              "VALUES (1, 1, 'Old work', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO runs (id, project_id, created_by, prompt, request, result, model_versions, "
                              "created_at) VALUES (1, 1, 1, 'lemon', '{\"prompt\":\"lemon\"}', NULL, '{}', "
                              "CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO shortlist_entries (id, project_id, smiles, item, note, rating, status, "
                              "version, created_at, updated_at, updated_by) VALUES (1, 1, 'CCO', '{}', 'keep me', 4, "
                              "'ordered', 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'ana@example.com')"))
    finally:
        engine.dispose()
    store = Store.open(url=db_url)  # upgrades to head
    try:
        with store.engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision() != first
        ana = store.user_by_email("ana@example.com")
        [project] = store.projects(ana)
        assert project.name == "Old work" and [r.prompt for r in store.runs(ana, project.id)] == ["lemon"]
        [entry] = store.shortlist(ana, project.id)
        assert (entry.note, entry.rating, entry.version) == ("keep me", 4, 3)
        assert store.keep(ana, project.id, "CCCO", {}).id != entry.id  # ids continue after the old rows
    finally:
        store.close()


def test_the_models_and_the_migrations_describe_the_same_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert drift == [], f"models and migrations differ; write a migration in store/migrations/versions: {drift}"


def test_replicas_opening_an_empty_database_together_migrate_it_once(db_url: str) -> None:
    stores: list[Store] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(Store.open(url=db_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(stores) == 3
        ana = stores[0].ensure_user("ana@example.com")
        assert stores[2].user_by_email("ana@example.com") == ana
    finally:
        for s in stores:
            s.close()


def test_a_database_written_by_a_newer_odordiff_is_refused_untouched(db_url: str) -> None:
    with Store.open(url=db_url) as store:
        store.ensure_user("ana@example.com")
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(StoreUnavailable, match="does not know"):
        Store.open(url=db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM users")).scalars().all() == ["ana@example.com"]
    engine.dispose()
