"""ResultCache against a real redis-server: hits, misses, outages, garbage, processes and threads."""
from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _redis_helpers import Computation, RedisServer, compute_result, free_port

from odordiff_core.cache import COMPRESS_ABOVE, ResultCache, cached_call, request_key

pytestmark = pytest.mark.redis

KIND, VERSION = "generate", "test-1"
HERE = Path(__file__).resolve().parent


def request(prompt: str = "a clean citrus top note", seed: int = 0, n: int = 16) -> dict:
    return {"prompt": prompt, "n": n, "seed": seed, "guidance": 2.0, "weights": None}


def run(cache: ResultCache, computation: Computation, req: dict, version: str = VERSION) -> dict:
    return cached_call(cache, KIND, version, req, lambda: computation(req))


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "odordiff_core.cache" and r.levelno == logging.WARNING]


def test_second_identical_request_is_served_from_redis_without_computing(redis_server: RedisServer, computation: Computation) -> None:
    cache = ResultCache(redis_server.url)
    req = request()
    first = run(cache, computation, req)
    assert redis_server.client().exists(request_key(KIND, VERSION, req)) == 1
    second = run(ResultCache(redis_server.url), computation, dict(reversed(list(req.items()))))  # new client, key order shuffled
    assert second == first == compute_result(req)
    assert computation.total == 1
    assert cache.status == "ok"


def test_a_different_seed_or_model_version_misses(redis_server: RedisServer, computation: Computation) -> None:
    cache = ResultCache(redis_server.url)
    base = run(cache, computation, request(seed=0))
    other_seed = run(cache, computation, request(seed=1))
    other_version = run(cache, computation, request(seed=0), version="test-2")
    assert computation.total == 3
    assert other_seed != base and other_seed == compute_result(request(seed=1))
    assert other_version == base  # same computation, but stored under its own version's key
    assert len(redis_server.client().keys("odordiff:v1:generate:*")) == 3


def test_requests_stay_correct_when_redis_dies_mid_run_and_hits_resume_after_restart(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="odordiff_core.cache")
    cache = ResultCache(redis_server.url)
    prompts = [f"prompt {i % 5}" for i in range(20)]  # repeats, so some requests are hits before the kill
    for i, prompt in enumerate(prompts):
        if i == 8:
            redis_server.kill()
        started = time.perf_counter()
        assert run(cache, computation, request(prompt)) == compute_result(request(prompt))
        assert time.perf_counter() - started < 1.0  # a dead server costs a refused connect, not a hang
    assert cache.status == "unavailable"
    assert len(cache_warnings(caplog)) == 1  # one warning for the whole outage

    redis_server.start()  # same port, empty (no persistence)
    before = computation.total
    assert run(cache, computation, request("after restart")) == compute_result(request("after restart"))
    assert cache.status == "ok"
    assert run(cache, computation, request("after restart")) == compute_result(request("after restart"))
    assert computation.total == before + 1  # the repeat was a hit: caching resumed without a new client
    assert len(cache_warnings(caplog)) == 1


def test_a_second_process_serves_what_the_first_process_computed(redis_server: RedisServer) -> None:
    req = json.dumps(request("a warm amber base with vanilla", seed=7))

    def worker() -> dict:
        out = subprocess.run([sys.executable, str(HERE / "_worker.py"), redis_server.url, req],
                             capture_output=True, text=True, timeout=60, check=True, cwd=HERE)
        return json.loads(out.stdout)

    first, second = worker(), worker()
    assert first["computed"] is True and second["computed"] is False
    assert first["status"] == second["status"] == "ok"
    assert second["result"] == first["result"] == compute_result(json.loads(req))


def test_eight_concurrent_threads_get_their_own_results(redis_server: RedisServer, computation: Computation) -> None:
    cache = ResultCache(redis_server.url)  # one client shared by all threads, as in the app
    requests = [request(f"prompt {i}", seed=i) for i in range(8)]
    barrier = threading.Barrier(8)

    def session(req: dict) -> tuple[dict, dict]:
        barrier.wait()
        return run(cache, computation, req), run(cache, computation, req)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(session, requests))
    for req, (first, repeat) in zip(requests, results):
        assert first == repeat == compute_result(req)
    assert sorted(computation.calls.values()) == [1] * 8  # each computed once, each repeat a hit


@pytest.mark.parametrize(
    "garbage",
    [b"not a cache value", b"Z" + b"not zlib", b"J{\"truncated\": ", b"J[1, 2, 3]", b"Z" + zlib.compress(b"\xff\xfe")],
    ids=["no-marker", "bad-zlib", "bad-json", "not-an-object", "bad-utf8"],
)
def test_a_garbage_value_is_a_miss_with_a_warning_and_is_overwritten(
    redis_server: RedisServer, computation: Computation, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    cache = ResultCache(redis_server.url)
    req = request()
    redis_server.client().set(request_key(KIND, VERSION, req), garbage)
    assert cache.get(KIND, VERSION, req) is None
    assert any("unreadable cache entry" in m for m in cache_warnings(caplog))
    assert run(cache, computation, req) == compute_result(req)
    assert cache.get(KIND, VERSION, req) == compute_result(req)
    assert cache.status == "ok"


def test_a_dead_redis_url_at_start_still_computes_without_hanging(computation: Computation, caplog: pytest.LogCaptureFixture) -> None:
    started = time.perf_counter()
    cache = ResultCache(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert cache.status == "unavailable"
    for seed in range(3):
        assert run(cache, computation, request(seed=seed)) == compute_result(request(seed=seed))
    assert time.perf_counter() - started < 2.0
    assert computation.total == 3
    assert len(cache_warnings(caplog)) == 1


def test_an_unresponsive_redis_costs_bounded_time_per_call(computation: Computation) -> None:
    # A socket that accepts connections and never answers: every read times out after 0.1 s. With one
    # retry, redis-py makes at most 4 attempts (command retry x connect retry), about 0.46 s per call.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        cache = ResultCache(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        assert cache.status == "unavailable"
        req = request()
        started = time.perf_counter()
        assert cache.get(KIND, VERSION, req) is None
        assert time.perf_counter() - started < 1.0
        assert run(cache, computation, req) == compute_result(req)


def test_no_url_means_status_off_and_nothing_is_cached(computation: Computation) -> None:
    cache = ResultCache(None)
    assert cache.status == "off"
    run(cache, computation, request())
    run(cache, computation, request())
    assert computation.total == 2
    assert cache.set(KIND, VERSION, request(), {"a": 1}) is False


def test_large_values_are_stored_compressed_and_round_trip(redis_server: RedisServer) -> None:
    cache = ResultCache(redis_server.url)
    big = compute_result(request(n=500))
    small = {"prompt": "x", "candidates": []}
    assert cache.set(KIND, VERSION, request(n=500), big) and cache.set(KIND, VERSION, request(n=0), small)
    raw_big = redis_server.client().get(request_key(KIND, VERSION, request(n=500)))
    raw_small = redis_server.client().get(request_key(KIND, VERSION, request(n=0)))
    assert raw_big[:1] == b"Z" and len(raw_big) < len(json.dumps(big))
    assert raw_small[:1] == b"J" and len(raw_small) <= COMPRESS_ABOVE + 1
    assert cache.get(KIND, VERSION, request(n=500)) == big
    assert cache.get(KIND, VERSION, request(n=0)) == small


def test_values_over_the_size_cap_are_not_stored(redis_server: RedisServer) -> None:
    cache = ResultCache(redis_server.url, max_bytes=200)
    assert cache.set(KIND, VERSION, request(n=500), compute_result(request(n=500))) is False
    assert cache.get(KIND, VERSION, request(n=500)) is None
    assert cache.status == "ok"


def test_entries_expire_after_the_configured_ttl(redis_server: RedisServer) -> None:
    cache = ResultCache(redis_server.url, ttl_s=60)
    cache.set(KIND, VERSION, request(), {"a": 1})
    assert 0 < redis_server.client().ttl(request_key(KIND, VERSION, request())) <= 60


def test_set_refuses_values_that_are_not_json_objects(redis_server: RedisServer) -> None:
    cache = ResultCache(redis_server.url)
    with pytest.raises(TypeError, match="dict"):
        cache.set(KIND, VERSION, request(), [1, 2, 3])  # type: ignore[arg-type]


def test_a_failed_computation_caches_nothing(redis_server: RedisServer) -> None:
    cache = ResultCache(redis_server.url)

    def fails() -> dict:
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError):
        cached_call(cache, KIND, VERSION, request(), fails)
    assert redis_server.client().exists(request_key(KIND, VERSION, request())) == 0


def test_the_key_ignores_request_key_order_and_names_kind_and_version() -> None:
    a = request_key("generate", "gen-3", {"seed": 0, "prompt": "p"})
    assert a == request_key("generate", "gen-3", {"prompt": "p", "seed": 0})
    assert a.startswith("odordiff:v1:generate:gen-3:") and len(a.rsplit(":", 1)[1]) == 64
    with pytest.raises(ValueError, match="model_version"):
        request_key("generate", "bad:version", {})
