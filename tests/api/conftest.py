"""Fixtures of the API tests: one loaded pipeline per session (the tiny generator; ~10-30 s on a loaded machine),
a real SQLite store with one key per role, and an app per module (TestClient runs its lifespan)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from _apitest import RATE, TINY_GENERATOR, Keys, make_client


@pytest.fixture(scope="session")
def api_settings(settings, tmp_path_factory):
    """Settings with the tiny generator, a fresh work folder (SQLite) and no Redis."""
    return dataclasses.replace(settings, generator_dir=TINY_GENERATOR, redis_url=None, api_rate_limit=RATE,
                               work_dir=tmp_path_factory.mktemp("work"), database_url=None)


@pytest.fixture(scope="session")
def pipeline(api_settings):
    from odordiff_core.pipeline import load_pipeline

    return load_pipeline(api_settings)


@pytest.fixture(scope="session")
def store(api_settings) -> Iterator[Any]:
    from odordiff_core.store import Store

    s = Store.open(api_settings)
    yield s
    s.close()


@pytest.fixture(scope="session")
def keys(store) -> Keys:
    from odordiff_core.types import Role

    admin = store.ensure_user("admin@lab.test", "Admin")  # the first user of the empty database: admin
    made = {role: store.create_api_key(admin, f"test-{role}", Role(role))[0] for role in ("viewer", "perfumer", "admin")}
    revoked, _ = store.create_api_key(admin, "test-revoked", Role.PERFUMER)
    store.revoke_api_key("test-revoked")
    return Keys(revoked=revoked, **made)



@pytest.fixture(scope="module")
def client(api_settings, pipeline, store):
    with make_client(api_settings, pipeline, store) as c:
        yield c
