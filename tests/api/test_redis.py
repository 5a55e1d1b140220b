"""The API with a real redis-server: rate limits shared by two app instances, generations served from the shared
result cache (counted by layer), and a Redis outage that answers every request anyway (limits fall back to this
process's memory; odordiff_redis_up and /readyz say so)."""
from __future__ import annotations

import pytest
from _apitest import make_client, metric
from _servers import RedisServer, free_port, redis_server_binary


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(redis_server_binary(), free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def test_two_apps_on_one_redis_share_a_keys_rate_limit(api_settings, pipeline, store, keys, redis_server):
    opts = dict(redis_url=redis_server.url, api_rate_limit="4/hour")
    h = keys.auth("viewer")
    with make_client(api_settings, pipeline, store, **opts) as a, make_client(api_settings, pipeline, store, **opts) as b:
        codes = [(a if i % 2 else b).post("/v1/interpret", json={"prompt": "rose"}, headers=h).status_code
                 for i in range(6)]
        assert codes == [200, 200, 200, 200, 429, 429]  # 4 in total, not 4 per app
        assert a.get("/readyz").json()["redis"] == "ok"


def test_a_repeated_generation_is_served_from_redis_and_counted(api_settings, pipeline, store, keys, redis_server):
    body = {"prompt": "green cut grass", "n": 2, "seed": 5}
    opts = dict(redis_url=redis_server.url, cache_secret="shared-by-replicas")
    with make_client(api_settings, pipeline, store, **opts) as a, make_client(api_settings, pipeline, store, **opts) as b:
        first = a.post("/v1/generate", json=body, headers=keys.auth("perfumer"))
        before = b.get("/metrics").text
        second = b.post("/v1/generate", json=body, headers=keys.auth("perfumer"))
        after = b.get("/metrics").text
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    hit = dict(layer="redis", outcome="hit")
    assert metric(after, "odordiff_cache_lookups_total", **hit) == \
        metric(before, "odordiff_cache_lookups_total", required=False, **hit) + 1
    assert metric(after, "odordiff_generation_duration_seconds_count") == \
        metric(before, "odordiff_generation_duration_seconds_count")  # the hit computed nothing


def test_a_redis_outage_still_answers_and_is_reported(api_settings, pipeline, store, keys, redis_server):
    with make_client(api_settings, pipeline, store, redis_url=redis_server.url, api_rate_limit="3/hour") as c:
        h = keys.auth("viewer")
        assert c.post("/v1/interpret", json={"prompt": "rose"}, headers=h).status_code == 200
        redis_server.kill()
        codes = [c.post("/v1/interpret", json={"prompt": "rose"}, headers=h).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]  # still limited, now counted in this process's memory
        assert metric(c.get("/metrics").text, "odordiff_redis_up") == 0
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["redis"] == "unavailable"
