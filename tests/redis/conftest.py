"""Fixtures for tests against a real redis-server on a free loopback port (marker `redis`)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _redis_helpers import Computation, RedisServer, free_port, redis_server_binary


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty redis-server for one test; killed at the end even if the test killed it already."""
    server = RedisServer(redis_server_binary(), free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def computation() -> Computation:
    return Computation()
