"""Two real API replicas (`odordiff serve` subprocesses) behind Debian's nginx with the shipped
deploy/nginx/api_locations.conf, sharing one real redis-server (rate limits, result cache) and one SQLite store
(keys). Under a bounded load one replica is SIGKILLed: every request is still answered, and one key's rate limit is counted
across both replicas, not per replica.

What nginx can and cannot save: a request the killed replica had not begun to answer is retried by nginx on the other
replica (the client sees a 200). A response the replica had begun to send (its status line written, the body not yet)
cannot be retried by nginx, which has already passed the status line on: the client sees the connection cut
(httpx's RemoteProtocolError, or ReadError when it arrives as a reset). The routes are pure functions of their input, so a client sends such a request again —
the README's advice — and the test does the same, once; at most the requests in flight on the replica can be cut."""
from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _apitest import TINY_GENERATOR
from _servers import DEPLOY, Nginx, RedisServer, Replica, free_port, nginx_conf, redis_server_binary

from odordiff_api.models import MAX_BODY_BYTES

LIMIT = 200  # requests per key and hour on every replica
OVER = 30  # requests past the limit in the shared-limit phase
LOAD = 150  # requests in the kill phase
KILL_AFTER = 40  # answered requests before replica 0 is killed
THREADS = 4


def create_keys(work_dir: Path, names: tuple[str, ...]) -> dict[str, str]:
    """Creates the shared SQLite store (migrated once, before the replicas start) and a viewer key per name."""
    from odordiff_core.config import Settings
    from odordiff_core.store import Store
    from odordiff_core.types import Role

    store = Store.open(dataclasses.replace(Settings.from_env(), work_dir=work_dir, database_url=None))
    try:
        owner = store.ensure_user("ops@lab.test")
        return {name: store.create_api_key(owner, name, Role.VIEWER)[0] for name in names}
    finally:
        store.close()


def served(port: int) -> float:
    """Returns how many /v1/screen requests a replica answered, from its own /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(r'odordiff_http_requests_total\{[^}]*route="/v1/screen"[^}]*\} (\S+)', text))


@pytest.fixture
def cluster(tmp_path: Path):
    redis = RedisServer(redis_server_binary(), free_port(), tmp_path)
    redis.start()
    env = {**os.environ, "ODORDIFF_WORK_DIR": str(tmp_path / "work"), "ODORDIFF_REDIS_URL": redis.url,
           "ODORDIFF_GENERATOR_DIR": str(TINY_GENERATOR), "ODORDIFF_API_RATE_LIMIT": f"{LIMIT}/hour",
           "ODORDIFF_CACHE_SECRET": "replica-test-secret", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("ODORDIFF_DATABASE_URL", None)
    keys = create_keys(tmp_path / "work", ("limit", "load"))
    ports = [free_port(), free_port()]
    replicas = [Replica(p, env, tmp_path / f"replica{i}.log") for i, p in enumerate(ports)]
    nginx_port = free_port()
    upstream = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in ports)
    http_body = (f"    upstream odordiff_api {{\n{upstream}\n        keepalive 8;\n    }}\n"
                 f"    server {{\n        listen 127.0.0.1:{nginx_port};\n"
                 f"        location = /nginx-health {{ return 200; }}\n"
                 f"        include {DEPLOY / 'nginx' / 'api_locations.conf'};\n    }}")
    nginx = Nginx(nginx_conf(http_body, tmp_path), tmp_path)
    try:
        for r in replicas:
            r.wait_ready()
        nginx.start(nginx_port)
        yield f"http://127.0.0.1:{nginx_port}", replicas, keys
    finally:
        nginx.stop()
        for r in replicas:
            r.stop()
        redis.stop()


def test_a_killed_replica_loses_no_request_and_the_rate_limit_is_shared(cluster):
    base, replicas, keys = cluster
    body = {"smiles": ["CC(C)=CCCC(C)(O)C=C", "CCO"]}

    # 1. one key, both replicas alive: the limit is counted once for the pair (per replica it would allow 2 x LIMIT)
    h = {"Authorization": f"Bearer {keys['limit']}"}
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        shared = Counter(c.post("/v1/screen", json=body).status_code for _ in range(LIMIT + OVER))
    per_replica = [served(r.port) for r in replicas]
    big = httpx.post(f"{base}/v1/screen", content=b"x" * (MAX_BODY_BYTES + 1), headers=h, timeout=60)
    assert big.status_code == 413 and big.json()["status"] == 413  # nginx's own 413, as problem+json
    assert big.headers["content-type"] == "application/problem+json"
    print(f"\nshared limit: {dict(shared)} answered through nginx; per replica {per_replica}")
    assert shared == {200: LIMIT, 429: OVER}
    assert all(n > LIMIT / 4 for n in per_replica)  # round robin: both replicas answered a fair share

    # 2. bounded load with another key; replica 0 is SIGKILLed after KILL_AFTER answers
    h = {"Authorization": f"Bearer {keys['load']}"}
    statuses: list[int | str] = []
    with httpx.Client(base_url=base, headers=h, timeout=60) as c, ThreadPoolExecutor(THREADS) as pool:
        cut: list[str] = []

        def one(_: int) -> int | str:
            try:
                status: int | str = c.post("/v1/screen", json=body).status_code
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:  # cut mid-response: safe to send again, once
                cut.append(str(exc))
                try:
                    status = c.post("/v1/screen", json=body).status_code
                except httpx.HTTPError as again:  # a lost request: no answer at all
                    status = type(again).__name__
            except httpx.HTTPError as exc:  # a lost request: no answer at all
                status = type(exc).__name__
            statuses.append(status)
            if len(statuses) == KILL_AFTER:
                replicas[0].kill()
            return status

        results = list(pool.map(one, range(LOAD)))
    counts = Counter(results)
    print(f"replica kill under load: {LOAD} sent, {dict(counts)}; replica 0 killed after {KILL_AFTER} answers; "
          f"cut mid-response and sent again by the client: {len(cut)} {cut}")
    assert replicas[0].proc.returncode == -9
    assert counts == {200: LOAD}, counts  # every request answered, none lost, none failed
    assert len(cut) < THREADS, cut  # only a request in flight on the killed replica can be cut
    assert served(replicas[1].port) > per_replica[1]  # the survivor took the rest
